import ArgumentParser
import Foundation
import Neural

/// LSTM and GRU training steps, as `Scripts/bench_recurrent.py` times torch: a 2-layer
/// (`--bidirectional`: bidirectional) network with batch_first Float32 input `[batch, seq, input]`
/// of standard normals (seed 0); `fwd` is the forward without a graph, `fwdbwd` the forward then
/// the backward of sum(out ⊙ g) for a fixed g (parameter gradients reset between calls). Protocol:
/// calibrate to ~0.2 s per repeat, 1 warm-up repeat, 9 timed repeats (`--quick`: 3); median
/// milliseconds per call.
struct RecurrentBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recurrent", abstract: "LSTM and GRU forward and forward+backward (BPTT), as Scripts/bench_recurrent.py.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Batch size.") var batch = 64
    @Option(help: "Sequence length.") var seq = 100
    @Option(help: "Input features.") var input = 128
    @Option(help: "Hidden size.") var hidden = 256
    @Flag(help: "Bidirectional layers.") var bidirectional = false

    func run() throws {
        try options.apply()
        let reps = options.quick ? 3 : 9
        let generator = RandomGenerator(seed: 0)
        var x = Tensor.randn([batch, seq, input], generator: generator)
        x.requiresGrad = false
        for kind in ["lstm", "gru"] {
            let model: Module & Layer = kind == "lstm"
                ? LSTM(inputSize: input, hiddenSize: hidden, numLayers: 2, batchFirst: true, bidirectional: bidirectional, generator: generator)
                : GRU(inputSize: input, hiddenSize: hidden, numLayers: 2, batchFirst: true, bidirectional: bidirectional, generator: generator)
            let g = Tensor.randn([batch, seq, (bidirectional ? 2 : 1) * hidden], generator: generator)
            let tag = "\(kind)_b\(batch)_t\(seq)_i\(input)_h\(hidden)_l2" + (bidirectional ? "_bi" : "")
            func measure(_ name: String, _ body: () -> Void) {
                let inner = Bench.calibrate(target: 0.2, body)
                Bench.waitIdle()
                let (times, meter) = Bench.timeRepeats(reps: reps, warmup: 1) {
                    for _ in 0..<inner { body() }
                }
                Bench.report(bench: "recurrent", threads: options.threads, case: name, times: times, meter: meter,
                             work: nil, perRepeat: Double(inner), unit: "ms", extra: "inner=\(inner)")
            }
            measure("fwd_\(tag)") { _ = withNoGrad { model(x) } }
            measure("fwdbwd_\(tag)") {
                model.zeroGrad()
                (model(x) * g).sum().backward()
            }
        }
    }
}
