import Neural
import Testing

/// The README's code, run as written: if it stops compiling or stops learning, this fails.
@Suite struct ReadmeExampleTests {
    @Test func readmeSoftmaxRegressionLoopReducesTheLoss() {
        let g = RandomGenerator(seed: 0)
        var w = Tensor.randn([784, 10], std: 0.01, generator: g); w.requiresGrad = true
        var b = Tensor.zeros([10]);                              b.requiresGrad = true
        let x = Tensor.uniform([128, 784], generator: g)
        let labels = (0..<128).map { $0 % 10 }

        var losses: [Double] = []
        for _ in 0..<100 {
            let logits = x.matmul(w) + b
            let loss = -logits.logSoftmax(axis: 1).gather(labels).mean()
            w.zeroGrad(); b.zeroGrad()
            loss.backward()
            w.addInPlace(w.grad!, scale: -0.1)
            b.addInPlace(b.grad!, scale: -0.1)
            losses.append(loss.item())
        }
        // Starts near log 10 (uniform prediction) and must fall well below it.
        #expect(Swift.abs(losses[0] - 2.302585) < 0.05)
        #expect(losses.last! < 0.5 * losses[0])
        #expect(zip(losses, losses.dropFirst()).allSatisfy { $1 <= $0 + 1e-6 })
    }

    @Test func readmeCubeOpHasGradientThreeXSquared() {
        var x = Tensor([1, -2, 0.5]); x.requiresGrad = true
        let y = Tensor.differentiable("cube", x,
            forward: { z in z[0] * z[0] * z[0] },
            backward: { v, z, _, _ in [3 * z[0] * z[0] * v] })
        #expect(y.scalars() == [1, -8, 0.125])
        y.sum().backward()
        #expect(x.grad!.scalars() == [3, 12, 0.75])
    }
}
