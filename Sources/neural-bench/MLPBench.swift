import ArgumentParser
import Neural

/// Mirrors the peers' `bench_mlp.py`: training throughput of a 784-512-512-10 ReLU MLP with softmax
/// cross-entropy (batch mean) and plain SGD (lr 0.1), batch 128, on synthetic 60000×784 uniform
/// [0, 1) data with labels uniform in 0…9, contiguous minibatches taken in order (468 per epoch).
/// Protocol: `warm` warm-up steps, then `reps` timed repeats of `steps` steps (default 20, 5 × 234;
/// `--quick`: 5, 3 × 40); `value` is the median samples/s.
struct MLPBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mlp", abstract: "MLP 784-512-512-10 training throughput (batch 128, SGD), as bench_mlp.py.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Steps per timed repeat.")
    var steps = 234

    @Option(help: "Timed repeats.")
    var reps = 5

    @Option(help: "Warm-up steps.")
    var warm = 20

    func run() throws {
        try options.apply()
        let (b, ntr, din, h, dout, lr) = (128, 60_000, 784, 512, 10, 0.1)
        let (nSteps, nReps, nWarm) = options.quick ? (40, 3, 5) : (steps, reps, warm)
        let g = RandomGenerator(seed: 0)
        let (x, y) = Bench.syntheticData([ntr, din], classes: dout, generator: g)
        let flopPerSample = Double(2 * (din * h + h * h + h * dout) * 2 + 2 * (h * h + h * dout))

        let model = Bench.mlp(din, hidden: h, outputs: dout, generator: g)
        Bench.trainingThroughput(bench: "mlp_train", case: "784-512-512-10_bs128", threads: options.threads, model: model,
                                 x: x, labels: y, batch: b, learningRate: lr, steps: nSteps, reps: nReps, warm: nWarm,
                                 flopPerSample: flopPerSample, mflopDigits: 2, abInPlace: options.abInPlace)
    }
}
