import ArgumentParser
import Foundation
import Neural

/// Mirrors the peers' `bench_attention.py`: causal `scaledDotProductAttention`
/// on Float32 q, k, v `[batch, heads, T, headSize]` of standard normals (seed 0), scale 1/√headSize.
/// Cases `fwd_b32_h4_t128_d32`, `fwdbwd_b32_h4_t128_d32`, `fwd_b8_h4_t2048_d32`,
/// `fwdbwd_b8_h4_t2048_d32`: the forward without a graph, and the forward then the backward of
/// sum(out ⊙ g) for a fixed g (gradients of q, k, v reset between calls). Protocol: calibrate to
/// ~0.2 s per repeat, 1 warm-up repeat, 9 timed repeats (`--quick`: 3); median milliseconds per
/// call. Each fwdbwd line also reports `rss_mib` (resident memory after the timed calls),
/// `rss_start_mib` (before any tensor was made) and `qkv_grads_mib` (the bytes of q, k, v and
/// their gradients), for the memory target.
struct AttentionBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention", abstract: "Causal fused attention forward and forward+backward, as bench_attention.py.")

    @OptionGroup var options: BenchOptions

    @Option(help: "Only shapes with this T (128 or 2048; default both).")
    var t: Int?

    func run() throws {
        try options.apply()
        let baseline = RSSBench.residentMiB()
        let reps = options.quick ? 3 : 9
        let generator = RandomGenerator(seed: 0)
        for (b, h, t, d) in [(32, 4, 128, 32), (8, 4, 2048, 32)] where self.t == nil || self.t == t {
            let tag = "b\(b)_h\(h)_t\(t)_d\(d)"
            var q = Tensor.randn([b, h, t, d], generator: generator), k = Tensor.randn([b, h, t, d], generator: generator)
            var v = Tensor.randn([b, h, t, d], generator: generator)
            let g = Tensor.randn([b, h, t, d], generator: generator)
            q.requiresGrad = true; k.requiresGrad = true; v.requiresGrad = true
            func measure(_ name: String, _ body: () -> Void) {
                let inner = Bench.calibrate(target: 0.2, body)
                Bench.waitIdle()
                let (times, meter) = Bench.timeRepeats(reps: reps, warmup: 1) {
                    for _ in 0..<inner { body() }
                }
                var extra = "inner=\(inner)"
                if name.hasPrefix("fwdbwd") {
                    let mib = Double(6 * b * h * t * d * 4) / 1_048_576
                    extra += String(format: " rss_mib=%.1f rss_start_mib=%.1f qkv_grads_mib=%.1f", RSSBench.residentMiB(), baseline, mib)
                }
                Bench.report(bench: "attention", threads: options.threads, case: name, times: times, meter: meter,
                             work: nil, perRepeat: Double(inner), unit: "ms", extra: extra)
            }
            measure("fwd_\(tag)") {
                _ = withNoGrad { scaledDotProductAttention(q, k, v, causal: true) }
            }
            measure("fwdbwd_\(tag)") {
                q.zeroGrad(); k.zeroGrad(); v.zeroGrad()
                scaledDotProductAttention(q, k, v, causal: true).backward(g)
            }
        }
    }
}
