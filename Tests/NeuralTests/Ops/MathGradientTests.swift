import Neural
import Testing

@Suite("Elementwise math: forward values and gradient checks (B6, eq. 7.67–7.69)")
struct MathGradientTests {
    @Test func expGradientIsExpTimesV() {
        expectGradientsMatch({ $0[0].exp() }, at: [seededUniform([2, 3, 4], seed: 30, low: -2, high: 2)])
    }

    @Test func logGradientIsVOverX() {
        expectGradientsMatch({ $0[0].log() }, at: [seededUniform([2, 3, 4], seed: 31, low: 0.3, high: 3)])
    }

    @Test func sqrtGradientIsVOverTwoSqrtX() {
        expectGradientsMatch({ $0[0].sqrt() }, at: [seededUniform([2, 3, 4], seed: 32, low: 0.3, high: 3)])
    }

    @Test func absGradientIsSignTimesVAwayFromZero() {
        expectGradientsMatch({ $0[0].abs() }, at: [awayFromZero([2, 3, 4], seed: 33)])
    }

    @Test func sinAndCosGradients() {
        let x = seededUniform([2, 3, 4], seed: 34, low: -4, high: 4)
        expectGradientsMatch({ $0[0].sin() }, at: [x])
        expectGradientsMatch({ $0[0].cos() }, at: [x])
    }

    @Test func compositionOfElementwiseFunctions() {
        expectGradientsMatch({ ($0[0].sin() * $0[0].exp() + 1).log().sqrt() },
                             at: [seededUniform([5], seed: 35, low: 0.1, high: 1)])
    }

    @Test func forwardValuesMatchHandComputedConstants() {
        let one = Tensor([1] as [Double], dtype: .float64)
        #expect(one.exp().item() == 2.718281828459045)
        #expect(Tensor([2] as [Double], dtype: .float64).log().item() == 0.6931471805599453)
        #expect(Tensor([2] as [Double], dtype: .float64).sqrt().item() == 1.4142135623730951)
        #expect(one.sin().item() == 0.8414709848078965)
        #expect(one.cos().item() == 0.5403023058681398)
        expectValues(Tensor([-2, 0, 3.5] as [Double]).abs(), [2, 0, 3.5])
        expectValues(Tensor([-2, 0, 3.5] as [Double]).sign(), [-1, 0, 1])
        // Float32 agrees to float precision.
        #expect((Tensor(1).exp().item() - 2.718281828459045).magnitude < 1e-6)
    }

    @Test func specialValuesFollowIEEE() {
        let x = Tensor([0, -1] as [Double], dtype: .float64)
        let l = x.log().scalars(as: Double.self)
        #expect(l[0] == -.infinity)
        #expect(l[1].isNaN)
        #expect(Tensor([-1] as [Double]).sqrt().item().isNaN)
        #expect(Tensor([1000] as [Double]).exp().item() == .infinity)
        #expect(Tensor([-1000] as [Double]).exp().item() == 0)
    }

    @Test func absHasZeroGradientAtZero() {
        var x = Tensor([0, -2, 2] as [Double])
        x.requiresGrad = true
        x.abs().sum().backward()
        expectValues(x.grad!, [0, -1, 1])
    }

    @Test func signIsNotDifferentiable() {
        var x = Tensor([1, -2] as [Double])
        x.requiresGrad = true
        #expect(!x.sign().requiresGrad)
    }
}
