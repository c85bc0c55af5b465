import ArgumentParser
import Neural

/// Mirrors the peers' `bench_layernorm.py`: `LayerNorm([1024])` (affine weight and bias, ε 1e-5) over
/// the last dimension of a 4096×1024 Float32 tensor of standard normals. Cases `fwd_4096x1024`
/// (forward, no graph) and `fwd+bwd_4096x1024` (forward, then backward of a fixed upstream gradient
/// dy to input, weight and bias; gradients reset between calls). Protocol: calibrate to ~0.1 s per
/// repeat, 1 warm-up repeat, 15 timed repeats (`--quick`: 3); median milliseconds per call.
struct LayerNormBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "layernorm", abstract: "LayerNorm 4096×1024 forward and forward+backward, as bench_layernorm.py.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        try options.apply()
        let (m, d) = (4096, 1024)
        let reps = options.quick ? 3 : 15
        let ln = LayerNorm([d])
        var x = Tensor.randn([m, d], generator: RandomGenerator(seed: 0))
        let dy = Tensor.randn([m, d], generator: RandomGenerator(seed: 1))
        x.requiresGrad = true

        func measure(_ name: String, _ body: () -> Void) {
            let inner = Bench.calibrate(target: 0.1, body)
            Bench.waitIdle()
            let (times, meter) = Bench.timeRepeats(reps: reps, warmup: 1) {
                for _ in 0..<inner { body() }
            }
            Bench.report(bench: "layernorm", threads: options.threads, case: name, times: times, meter: meter,
                         work: nil, perRepeat: Double(inner), unit: "ms", extra: "inner=\(inner)")
        }
        measure("fwd_4096x1024") {
            _ = withNoGrad { ln(x) }
        }
        measure("fwd+bwd_4096x1024") {
            x.zeroGrad()
            ln.zeroGrad()
            ln(x).backward(dy)
        }
    }
}
