import Neural
import Testing

/// Runs `body` with the kernels limited to `n` threads in this task only (other tests running
/// concurrently keep the process-wide setting).
private func withThreads<R>(_ n: Int, _ body: () -> R) -> R {
    Runtime.withThreads(n, body)
}

/// Runs `body` with 1, 2 and 3 threads and expects bit-identical tensors each time.
private func expectThreadCountIndependent(_ body: () -> [Tensor], sourceLocation: SourceLocation = #_sourceLocation) {
    let one = withThreads(1, body)
    for n in [2, 3] {
        let many = withThreads(n, body)
        #expect(one.count == many.count, sourceLocation: sourceLocation)
        for (a, b) in zip(one, many) { expectBitIdentical(a, b, sourceLocation: sourceLocation) }
    }
}

/// Results must not depend on the thread count.
@Suite("Identical results for any thread count")
struct DeterminismTests {
    @Test func threadsSettingIsClampedToAtLeastOne() {
        withThreads(0) { #expect(Runtime.threads == 1) }
        withThreads(-3) { #expect(Runtime.threads == 1) }
        withThreads(2) { #expect(Runtime.threads == 2) }
    }

    @Test func largeSumIsBitIdenticalWithOneAndTwoThreads() {
        let x = Tensor.randn([1_000_000], generator: RandomGenerator(seed: 180))
        let d = x.to(.float64)
        expectThreadCountIndependent { [x.sum(), x.mean(), d.sum(), x.max(), x.logsumexp()] }
        // …and it is accurate: compare with a Double sum of the same Float values.
        let reference = x.scalars(as: Double.self).reduce(0, +)
        #expect((x.sum().item() - reference).magnitude < 0.05)
        #expect((d.sum().item() - reference).magnitude < 1e-8)
    }

    @Test func axisReductionsAreThreadCountIndependent() {
        let x = Tensor.randn([300, 200, 7], generator: RandomGenerator(seed: 181))
        expectThreadCountIndependent {
            [x.sum(axis: 0), x.sum(axis: 1), x.sum(axis: 2), x.sum(axes: [0, 2]), x.max(axis: 1),
             x.mean(axes: [1, 2]), x.variance(axes: [0]), x.argmax(axis: 1), x.softmax(axis: 1)]
        }
    }

    @Test func elementwiseKernelsAreThreadCountIndependent() {
        let x = Tensor.randn([400, 700], generator: RandomGenerator(seed: 182))
        let y = Tensor.randn([400, 700], generator: RandomGenerator(seed: 183))
        expectThreadCountIndependent {
            [x.exp(), x.tanh(), x.sigmoid(), x.gelu(), x.softplus(), x.relu(), x * y, x / (y.abs() + 1), x.pow(2),
             Tensor.maximum(x, y), Tensor.where(x .> y, x, y)]
        }
    }

    @Test func broadcastingAndViewsAreThreadCountIndependent() {
        let x = Tensor.randn([300, 500], generator: RandomGenerator(seed: 184))
        let row = Tensor.randn([500], generator: RandomGenerator(seed: 185))
        let col = Tensor.randn([300, 1], generator: RandomGenerator(seed: 186))
        expectThreadCountIndependent {
            [x + row, x * col, col - row, x.transposed() + col.transposed(), x.transposed().contiguous(),
             x.slice(axis: 1, 0..<500, step: 3).exp(), row.broadcast(to: [300, 500]).contiguous()]
        }
    }

    @Test func mlpForwardAndBackwardAreThreadCountIndependent() {
        // A two-layer MLP on a batch large enough for every kernel to split its work.
        let g = RandomGenerator(seed: 187)
        let x = Tensor.randn([256, 300], generator: g)
        let w1 = Tensor.randn([300, 200], std: 0.05, generator: g), b1 = Tensor.randn([200], generator: g)
        let w2 = Tensor.randn([200, 10], std: 0.05, generator: g), b2 = Tensor.randn([10], generator: g)
        let labels = (0..<256).map { $0 % 10 }
        expectThreadCountIndependent {
            var p = [w1, b1, w2, b2]
            for i in p.indices { p[i].requiresGrad = true }
            let hidden = (x.matmul(p[0]) + p[1]).relu()
            let logits = hidden.matmul(p[2]) + p[3]
            let loss = -logits.logSoftmax(axis: 1).gather(labels, axis: 1).mean()
            loss.backward()
            return [loss.detached(), logits.detached()] + p.map { $0.grad! }
        }
    }

    @Test func float64MatmulIsThreadCountIndependent() {
        let a = Tensor.randn([130, 170], dtype: .float64, generator: RandomGenerator(seed: 188))
        let b = Tensor.randn([170, 90], dtype: .float64, generator: RandomGenerator(seed: 189))
        expectThreadCountIndependent { [a.matmul(b), a.transposed().transposed().matmul(b), b.transposed().matmul(a.transposed())] }
    }
}
