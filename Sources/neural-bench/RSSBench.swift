import ArgumentParser
import Foundation
import Neural

/// `neural-bench rss`: memory over a long training run. Trains an MLP (features-hidden-hidden-10,
/// ReLU, Adam, cross-entropy) through the library's ordinary path — a shuffling, prefetching
/// ``DataLoader`` and ``Trainer/step(_:)`` with its NaN checks — for `--steps` steps, reading the
/// resident set size from `/proc/self/statm` every `--every` steps. A leak shows as growth that
/// keeps rising with the step count; caches (buffers, the worker pool) fill during the first steps
/// and then stay put.
///
/// Prints `# rss step=… mib=…` lines (the curve) and
/// `RESULT bench=rss … case=… value=<growth after the first sample, MiB> unit=MiB rss_first=… rss_last=… rss_max=… curve=…`.
struct RSSBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rss", abstract: "Resident memory over 10,000 MLP training steps (flat = no leak).")

    @OptionGroup var options: BenchOptions

    @Option(help: "Training steps.")
    var steps = 10_000

    @Option(help: "Sample the RSS every N steps.")
    var every = 1000

    @Option(help: "Input features.")
    var features = 784

    @Option(help: "Hidden units per layer.")
    var hidden = 256

    @Option(help: "Examples per batch.")
    var batch = 64

    @Flag(help: "Turn off the trainer's per-step gradient NaN/Inf check (to measure its cost).")
    var noGradientCheck = false

    /// The resident set size in MiB (`/proc/self/statm`, field 2, in pages).
    static func residentMiB() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return .nan }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Double(fields[1]) else { return .nan }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    func run() throws {
        try options.apply()
        guard steps >= 1, every >= 1, features >= 1, hidden >= 1, batch >= 1 else {
            throw ValidationError("--steps, --every, --features, --hidden and --batch must be positive")
        }
        let g = RandomGenerator(seed: 0)
        let n = 32 * batch
        let x = Tensor.uniform([n, features], generator: g)
        let labels = (0..<n).map { _ in g.nextInt(below: 10) }
        let loader = DataLoader(TensorDataset(inputs: x, labels: labels, classCount: 10), batchSize: batch,
                                generator: RandomGenerator(seed: 1))
        let model = Bench.mlp(features, hidden: hidden, outputs: 10, generator: g)
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 1e-3), objective: .crossEntropy)
        trainer.checkGradients = !noGradientCheck

        var curve: [(step: Int, mib: Double)] = [(0, Self.residentMiB())]
        print("# rss step=0 mib=\(String(format: "%.2f", curve[0].mib))")
        var done = 0
        var lastLoss = 0.0
        let t0 = Bench.now()
        while done < steps {
            for b in loader {
                lastLoss = try trainer.step(b)
                done += 1
                if done % every == 0 || done == steps {
                    let mib = Self.residentMiB()
                    curve.append((done, mib))
                    print("# rss step=\(done) mib=\(String(format: "%.2f", mib))")
                    fflush(nil)
                }
                if done == steps { break }
            }
        }
        let seconds = Bench.now() - t0
        let first = curve.count > 1 ? curve[1].mib : curve[0].mib
        let last = curve.last!.mib
        let peak = curve.map(\.mib).max()!
        func f(_ x: Double) -> String { String(format: "%.2f", x) }
        print("RESULT bench=rss lib=neural threads=\(options.threads) case=mlp\(features)-\(hidden)-\(hidden)-10_bs\(batch)_\(steps)steps "
              + "value=\(f(last - first)) unit=MiB rss_start=\(f(curve[0].mib)) rss_first=\(f(first)) rss_last=\(f(last)) "
              + "rss_max=\(f(peak)) seconds=\(f(seconds)) gradient_check=\(!noGradientCheck) loss_end=\(String(format: "%.4f", lastLoss)) "
              + "isa=\(Runtime.kernelLevel) curve=\(curve.map { "\($0.step):\(f($0.mib))" }.joined(separator: ","))")
    }
}
