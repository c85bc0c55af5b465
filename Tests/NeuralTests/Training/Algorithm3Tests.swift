import Neural
import Testing

@Suite("Algorithm 3: backprop for an r-layer MLP written out (eq. 7.72–7.80, B8)")
struct Algorithm3Tests {
    static func problem(_ activation: @escaping () -> any Layer, seed: UInt64) -> (Sequential, Tensor, Tensor) {
        let mlp = Sequential.mlp([3, 5, 4, 1], activation: activation, dtype: .float64, generator: RandomGenerator(seed: seed))
        let x = seededUniform([6, 3], seed: seed + 1, low: -2, high: 2)
        let y = Tensor([1, 0, 0, 1, 1, 0], dtype: .float64)
        return (mlp, x, y)
    }

    static let activations: [(String, @Sendable () -> any Layer)] = [
        ("sigmoid", { Sigmoid() }), ("relu", { ReLU() }), ("tanh", { Tanh() }), ("leakyReLU", { LeakyReLU(slope: 0.1) }),
        ("silu", { SiLU() }),
    ]

    @Test(arguments: 0..<5)
    func algorithm3GradientsEqualAutodiff_eq7_76_7_80(_ which: Int) {
        let (mlp, x, y) = Self.problem(Self.activations[which].1, seed: 500 + UInt64(which))
        let loss = logisticLoss(logits: mlp(x), targets: y.reshaped([6, 1]))
        mlp.zeroGrad()
        loss.backward()
        let result = Algorithm3.backprop(mlp, x: x, y: y)
        #expect(abs(result.loss - loss.item()) <= 1e-12)
        #expect(result.z.count == 3 && result.a.count == 3)
        var worst = 0.0
        for (p, g) in zip(mlp.parameters, result.parameterGradients) {
            #expect(g.shape == p.shape)
            worst = max(worst, maxAbsDifference(g, p.grad!))
        }
        #expect(worst <= 1e-9, "\(Self.activations[which].0): Algorithm 3 differs from autodiff by \(worst)")
        print("Algorithm 3 (\(Self.activations[which].0)) vs autodiff: max |difference| \(worst)")
    }

    @Test func algorithm3StoresGradientsForAnOptimizerAndTrains() {
        let (mlp, x, y) = Self.problem({ Tanh() }, seed: 510)
        let opt = SGD(mlp.parameters, learningRate: 0.5)
        let first = Algorithm3.backprop(mlp, x: x, y: y, storeGradients: true).loss
        for p in mlp.parameters { #expect(p.grad != nil) }
        opt.step()
        for _ in 0..<300 {
            _ = Algorithm3.backprop(mlp, x: x, y: y, storeGradients: true)
            opt.step()
        }
        let last = Algorithm3.backprop(mlp, x: x, y: y).loss
        #expect(last < 0.5 * first, "loss \(first) → \(last)")
    }
}
