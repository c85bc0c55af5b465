import ArgumentParser
import Neural

/// Mirrors the peers' `bench_elementwise.py`: y = max(0, a·x + b) over N = 2²⁴ Float32 elements
/// (a = 1.5, b = −0.25), reported as effective bandwidth (N·4 bytes read + N·4 bytes written) / time,
/// the traffic of a perfectly fused kernel. Protocol: 2 warm-up calls, 9 timed calls (`--quick`: 3),
/// median; `ms` is the median time.
///
/// Two cases:
/// - `relu_axpb_naive_16M`: the plain expression `(x * a + b).relu()`, like the peers' case of that
///   name (torch `torch.relu(x*a+b)`): three passes over memory. `x * a` allocates its result (a
///   block from the buffer cache, so no fresh page faults after the first calls); `+ b` and
///   `relu()` then write over that temporary in place, since nothing else references it and no
///   autodiff record is made (`x` does not require grad).
/// - `relu_axpb_fused_16M`: the fused op `x.multiplyAdd(a, b, activation: .relu)`, one pass, like
///   JAX's jit-fused case of that name and torch's `out=` form (two passes, no allocation).
/// The result `y` of the previous call stays alive until the new one is assigned, as in Python.
struct ElementwiseBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "elementwise", abstract: "relu(a·x + b) over 16M Float32 (GB/s), as bench_elementwise.py.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        try options.apply()
        let n = 1 << 24
        let (a, b) = (1.5, -0.25)
        let reps = options.quick ? 3 : 9
        let x = Tensor.randn([n], generator: RandomGenerator(seed: 0))
        var y = x
        for fused in [false, true] {
            Bench.waitIdle()
            let (times, meter) = Bench.timeRepeats(reps: reps, warmup: 2) {
                y = fused ? x.multiplyAdd(a, b, activation: .relu) : (x * a + b).relu()
            }
            // Spot check against the scalar formula.
            let xs = x.slice(axis: 0, 0..<1000).scalars(as: Float.self)
            let ys = y.slice(axis: 0, 0..<1000).scalars(as: Float.self)
            for (xi, yi) in zip(xs, ys) where abs(max(0, xi * Float(a) + Float(b)) - yi) > 1e-6 {
                print("# elementwise: wrong result \(yi) for x = \(xi)")
                throw ExitCode.failure
            }
            let ms = times.sorted()[times.count / 2] * 1e3
            Bench.report(bench: "elementwise", threads: options.threads,
                         case: fused ? "relu_axpb_fused_16M" : "relu_axpb_naive_16M", times: times,
                         meter: meter, work: Double(2 * n * 4) / 1e9, unit: "GB/s",
                         extra: "ms=\(String(format: "%.3f", ms))")
        }
    }
}
