import ArgumentParser
import Neural

/// Mirrors the peers' `bench_cnn.py`: training throughput of conv3×3(1→32, valid)-ReLU-conv3×3(32→64)
/// -ReLU-maxpool2-flatten(9216)-linear(9216→128)-ReLU-linear(128→10), softmax cross-entropy, plain
/// SGD (lr 0.01), batch 64, NCHW, on synthetic 60000×1×28×28 uniform [0, 1) images with labels
/// uniform in 0…9, contiguous minibatches in order. Protocol: `warm` warm-up steps, then `reps`
/// timed repeats of `steps` steps (default 5, 5 × 20; `--quick`: 2, 3 × 5); median samples/s.
struct CNNBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cnn", abstract: "Small CNN training throughput (batch 64, SGD), as bench_cnn.py.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Steps per timed repeat.")
    var steps = 20

    @Option(help: "Timed repeats.")
    var reps = 5

    @Option(help: "Warm-up steps.")
    var warm = 5

    func run() throws {
        try options.apply()
        let (b, ntr, lr) = (64, 60_000, 0.01)
        let (nSteps, nReps, nWarm) = options.quick ? (5, 3, 2) : (steps, reps, warm)
        let g = RandomGenerator(seed: 0)
        let (x, y) = Bench.syntheticData([ntr, 1, 28, 28], classes: 10, generator: g)
        // Forward FLOPs per sample; training ≈ 3 × forward minus conv1's input gradient (as the peer).
        let fc1 = 26 * 26 * 32 * 9 * 2, fc2 = 24 * 24 * 64 * 32 * 9 * 2
        let ffc = 2 * (9216 * 128 + 128 * 10)
        let flopPerSample = Double(3 * (fc1 + fc2 + ffc) - fc1)

        let model = Sequential(Conv2D(1, 32, kernelSize: 3, generator: g), ReLU(),
                               Conv2D(32, 64, kernelSize: 3, generator: g), ReLU(),
                               MaxPool2D(kernelSize: 2), Flatten(),
                               Linear(9216, 128, generator: g), ReLU(), Linear(128, 10, generator: g))
        Bench.trainingThroughput(bench: "cnn_train", case: "c32-c64-pool-fc128-fc10_bs64", threads: options.threads, model: model,
                                 x: x, labels: y, batch: b, learningRate: lr, steps: nSteps, reps: nReps, warm: nWarm,
                                 flopPerSample: flopPerSample, mflopDigits: 1, abInPlace: options.abInPlace)
    }
}
