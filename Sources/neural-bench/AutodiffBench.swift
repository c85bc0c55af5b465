import ArgumentParser
import Neural

/// Theorem 7.4.1 measured: the backward pass costs a small constant times the forward pass.
/// (a) a 784-512-512-10 ReLU MLP with softmax cross-entropy on a batch of 128;
/// (b) a chain of N scalar operations, N = 10³, 10⁴, 10⁵: backward time must grow linearly in N.
/// Each figure is the median over repeats; `value` is backward time / forward time.
struct AutodiffBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "autodiff", abstract: "Backward/forward time ratio: MLP 784-512-512-10 (batch 128) and scalar chains of N ops.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        try options.apply()
        mlp()
        for n in [1_000, 10_000, 100_000] { chain(n) }
    }

    /// Times forward and backward separately over repeats of `inner` steps each.
    private func measure(inner: Int, _ forward: () -> Tensor) -> (fwd: [Double], bwd: [Double], meter: Bench.Meter) {
        for _ in 0..<2 { forward().backward() }   // warm-up: caches, allocator
        Bench.waitIdle()
        var fwd: [Double] = [], bwd: [Double] = []
        let (_, meter) = Bench.timeRepeats(reps: options.reps, warmup: 0) {
            var tf = 0.0, tb = 0.0
            for _ in 0..<inner {
                let t0 = Bench.now()
                let loss = forward()
                let t1 = Bench.now()
                loss.backward()
                tb += Bench.now() - t1
                tf += t1 - t0
            }
            fwd.append(tf / Double(inner))
            bwd.append(tb / Double(inner))
        }
        return (fwd, bwd, meter)
    }

    private func report(_ name: String, ops: Int, _ r: (fwd: [Double], bwd: [Double], meter: Bench.Meter)) {
        let f = Bench.median(r.fwd), b = Bench.median(r.bwd)
        let ratios = zip(r.bwd, r.fwd).map { $0 / $1 }
        // value = median of the per-repeat ratios (work: nil reports the times themselves, ×1e3/perRepeat).
        Bench.report(bench: "autodiff", threads: options.threads, case: name, times: ratios, meter: r.meter,
                     work: nil, perRepeat: 1e3, unit: "bwd/fwd",
                     extra: String(format: "fwd_ms=%.4g bwd_ms=%.4g bwd_us_per_op=%.4g", f * 1e3, b * 1e3, b * 1e6 / Double(ops)))
    }

    private func mlp() {
        let g = RandomGenerator(seed: 0)
        func layer(_ i: Int, _ o: Int) -> (Tensor, Tensor) {
            let bound = 1 / Double(i).squareRoot()
            var w = Tensor.uniform([i, o], low: -bound, high: bound, generator: g)
            var b = Tensor.uniform([o], low: -bound, high: bound, generator: g)
            w.requiresGrad = true
            b.requiresGrad = true
            return (w, b)
        }
        let (w1, b1) = layer(784, 512), (w2, b2) = layer(512, 512), (w3, b3) = layer(512, 10)
        let x = Tensor.uniform([128, 784], generator: g)
        let labels = (0..<128).map { $0 % 10 }
        let params = [w1, b1, w2, b2, w3, b3]
        let r = measure(inner: 20) {
            for p in params { p.zeroGrad() }
            let h1 = (x.matmul(w1) + b1).relu()
            let h2 = (h1.matmul(w2) + b2).relu()
            let logits = h2.matmul(w3) + b3
            return -logits.logSoftmax(axis: 1).gather(labels).mean()
        }
        report("mlp-784-512-512-10-b128", ops: 13, r)
    }

    private func chain(_ n: Int) {
        var x = Tensor(0.3, dtype: .float32)
        x.requiresGrad = true
        let r = measure(inner: Swift.max(1, 100_000 / n)) {
            x.zeroGrad()
            var z = x
            var k = 0
            while k < n {
                // Three scalar ops per step: ×, sin, + (bounded, so the chain never overflows).
                z = (z * 0.9).sin() + 0.1
                k += 3
            }
            return z
        }
        report("chain-N=\(n)", ops: n, r)
    }
}
