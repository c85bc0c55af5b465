import Neural
import Testing

@Suite("Activations (eq. 7.24–7.28): forward values and gradient checks (B6)")
struct ActivationGradientTests {
    // MARK: Gradient checks

    @Test func tanhGradientIsOneMinusTanhSquaredTimesV() {
        expectGradientsMatch({ $0[0].tanh() }, at: [seededUniform([2, 3, 4], seed: 40, low: -3, high: 3)])
    }

    @Test func sigmoidGradientIsSigmoidTimesOneMinusSigmoidTimesV() {
        expectGradientsMatch({ $0[0].sigmoid() }, at: [seededUniform([2, 3, 4], seed: 41, low: -6, high: 6)])
    }

    @Test func reluGradientAwayFromZero() {
        expectGradientsMatch({ $0[0].relu() }, at: [awayFromZero([2, 3, 4], seed: 42)])
    }

    @Test(arguments: [0.01, 0.2, 1.5])
    func leakyReLUGradientAwayFromZero(slope: Double) {
        expectGradientsMatch({ $0[0].leakyReLU(slope: slope) }, at: [awayFromZero([2, 3, 4], seed: 43)])
    }

    @Test func geluGradientIsCdfPlusZTimesPdf() {
        expectGradientsMatch({ $0[0].gelu() }, at: [seededUniform([2, 3, 4], seed: 44, low: -4, high: 4)])
    }

    @Test(arguments: [1.0, 2.0, 0.5])
    func softplusGradientIsSigmoidOfBetaZ(beta: Double) {
        expectGradientsMatch({ $0[0].softplus(beta: beta) }, at: [seededUniform([2, 3, 4], seed: 45, low: -5, high: 5)])
    }

    @Test func softplusGradientBeyondTheThresholdIsV() {
        // βz > 20 returns z itself (gradient 1); values well inside and well beyond the threshold.
        let x = Tensor([25, 30, -30, 8, 11, 15] as [Double], dtype: .float64)
        expectGradientsMatch({ $0[0].softplus() }, at: [x])
        expectGradientsMatch({ $0[0].softplus(beta: 2) }, at: [x])
        expectGradientsMatch({ $0[0].softplus(beta: 2, threshold: 5) }, at: [x])
    }

    @Test(arguments: [FusedActivation.identity, .relu])
    func multiplyAddGradientIsAScaledStep(activation: FusedActivation) {
        // a·x + b = 1.5x stays ≥ 0.3 away from the ReLU's kink for these inputs.
        expectGradientsMatch({ $0[0].multiplyAdd(1.5, 0, activation: activation) }, at: [awayFromZero([2, 3, 4], seed: 46)])
        expectGradientsMatch({ $0[0].multiplyAdd(-0.7, 2.5, activation: activation) },
                             at: [seededUniform([5, 7], seed: 47, low: -1, high: 1)])
    }

    @Test(arguments: [DType.float32, .float64])
    func multiplyAddEqualsTheUnfusedExpressionBitForBit(dtype: DType) {
        // Odd length: SIMD tails; > 2¹⁵ elements: several parallel blocks.
        let x = seededUniform([70_001], seed: 48, low: -3, high: 3, dtype: dtype)
        for (a, b) in [(1.5, -0.25), (-2.0, 0.75)] {
            let fusedRelu = x.multiplyAdd(a, b, activation: .relu), plainRelu = (x * a + b).relu()
            #expect(fusedRelu.scalars(as: Double.self).map(\.bitPattern) == plainRelu.scalars(as: Double.self).map(\.bitPattern))
            let fused = x.multiplyAdd(a, b), plain = x * a + b
            #expect(fused.scalars(as: Double.self).map(\.bitPattern) == plain.scalars(as: Double.self).map(\.bitPattern))
        }
    }

    @Test func multiplyAddBackwardIsAVTimesTheStep() {
        var z = Tensor([-2, -0.5, 0.5, 2] as [Double], dtype: .float64)
        z.requiresGrad = true
        // relu(2z − 1) = [0, 0, 0, 3]: only the last input is past the kink.
        z.multiplyAdd(2, -1, activation: .relu).backward(Tensor([1, 2, 3, 4] as [Double], dtype: .float64))
        expectValues(z.grad!, [0, 0, 0, 8], tolerance: 0)
    }

    // MARK: The backward function B[σ, z](v) = σ′(z) ⊙ v

    @Test func reluBackwardIsStepTimesV_eq7_68() {
        var z = Tensor([-2, -0.5, 0, 0.5, 2] as [Double])
        z.requiresGrad = true
        z.relu().backward(Tensor([1, 2, 3, 4, 5] as [Double]))
        // 1{z > 0} ⊙ v; the derivative at 0 is taken as 0.
        expectValues(z.grad!, [0, 0, 0, 4, 5])
    }

    @Test func leakyReLUBackwardUsesTheSlopeForNegativeInputs() {
        var z = Tensor([-2, 3] as [Double], dtype: .float64)
        z.requiresGrad = true
        z.leakyReLU(slope: 0.1).backward(Tensor([10, 10] as [Double]))
        expectValues(z.grad!, [1, 10], tolerance: 1e-15)
    }

    @Test func sigmoidBackwardIsYTimesOneMinusYTimesV() {
        var z = Tensor([0] as [Double], dtype: .float64)
        z.requiresGrad = true
        z.sigmoid().backward(Tensor([2] as [Double]))
        #expect(z.grad!.item() == 0.5)
    }

    // MARK: Forward values

    @Test func forwardValuesMatchHandComputedConstants() {
        let x = Tensor([-1, 0, 1] as [Double], dtype: .float64)
        expectValues(x.gelu(), [-0.15865525393145707, 0, 0.8413447460685429], tolerance: 1e-15)
        expectValues(x.tanh(), [-0.7615941559557649, 0, 0.7615941559557649], tolerance: 1e-15)
        expectValues(x.sigmoid(), [1 - 0.7310585786300049, 0.5, 0.7310585786300049], tolerance: 1e-15)
        expectValues(x.relu(), [0, 0, 1])
        expectValues(x.leakyReLU(), [-0.01, 0, 1], tolerance: 1e-15)
        expectValues(x.leakyReLU(slope: 0.2), [-0.2, 0, 1], tolerance: 1e-15)
        // softplus(z) = log(1 + e^z); softplus_β(z) = log(1 + e^{βz})/β.
        expectValues(x.softplus(), [1.3132616875182228 - 1, 0.6931471805599453, 1.3132616875182228], tolerance: 1e-15)
        #expect(Tensor(1, dtype: .float64).softplus(beta: 2).item() == 1.0634640055214863)
        #expect((Tensor(1).gelu().item() - 0.8413447460685429).magnitude < 1e-6)
    }

    @Test func softplusIsStableAndReturnsZBeyondTheThreshold() {
        let x = Tensor([100, 25, -100, -1000] as [Double], dtype: .float64)
        let y = x.softplus().scalars(as: Double.self)
        #expect(y[0] == 100 && y[1] == 25)
        #expect((y[2] - 3.720075976020836e-44).magnitude < 1e-58)
        #expect(y[3] == 0)
        // With β = 2 the threshold applies to βz: z = 11 gives βz = 22 > 20.
        #expect(Tensor(11, dtype: .float64).softplus(beta: 2).item() == 11)
        let f = Tensor([100, -100] as [Double]).softplus().scalars()
        #expect(f[0] == 100 && f[1] >= 0 && f[1].isFinite)
    }

    @Test func sigmoidOfLargeMagnitudesIsFinite() {
        for dtype in DType.floatingPointCases {
            var z = Tensor([100, -100, 1000, -1000] as [Double], dtype: dtype)
            z.requiresGrad = true
            let y = z.sigmoid()
            let v = y.scalars(as: Double.self)
            #expect(v.allSatisfy { $0.isFinite && $0 >= 0 && $0 <= 1 }, "\(dtype): \(v)")
            #expect(v[0] == 1 && v[2] == 1 && v[3] == 0)
            #expect(v[1] < 1e-40)
            y.sum().backward()
            #expect(z.grad!.scalars(as: Double.self).allSatisfy { $0.isFinite && $0 >= 0 })
        }
    }

    @Test func tanhSaturatesWithoutNaN() {
        expectValues(Tensor([-50, 50] as [Double]).tanh(), [-1, 1], tolerance: 0)
    }

    @Test func activationsOnAViewMatchActivationsOnACopy() {
        let x = seededUniform([4, 5], seed: 46, low: -3, high: 3).transposed()
        let c = x.contiguous()
        for f in [{ (t: Tensor) in t.gelu() }, { $0.tanh() }, { $0.sigmoid() }, { $0.relu() }, { $0.softplus() }] {
            expectBitIdentical(f(x), f(c))
        }
    }
}
