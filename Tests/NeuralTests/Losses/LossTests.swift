import Foundation
import Neural
import Testing

/// A loss under test: a name and how to evaluate it on inputs (prediction first).
struct LossCase: Sendable, CustomTestStringConvertible {
    let name: String
    let reduction: Reduction
    var testDescription: String { "\(name), \(reduction)" }

    static let labels = [2, 0, 3, 1, 1]

    /// The loss of `z[0]` (prediction/logits) and, except for cross-entropy, `z[1]` (target).
    func apply(_ z: [Tensor]) -> Tensor {
        switch name {
        case "halfMSE": return halfMSELoss(z[0], z[1], reduction: reduction)
        case "mse": return mseLoss(z[0], z[1], reduction: reduction)
        case "logistic": return logisticLoss(logits: z[0], targets: z[1], reduction: reduction)
        case "poisson": return poissonNLLLoss(logRate: z[0], counts: z[1], reduction: reduction)
        case "poissonFull": return poissonNLLLoss(logRate: z[0], counts: z[1], full: true, reduction: reduction)
        default: return crossEntropyLoss(logits: z[0], labels: LossCase.labels, reduction: reduction)
        }
    }

    /// Float64 inputs away from non-differentiable points.
    var inputs: [Tensor] {
        let t = seededUniform([5, 4], seed: 301, low: -3, high: 3)
        switch name {
        case "crossEntropy": return [t]
        case "logistic": return [t, seededUniform([5, 4], seed: 302, low: 0, high: 1)]
        case "poisson": return [t, seededUniform([5, 4], seed: 303, low: 0, high: 6)]
        case "poissonFull": return [t, seededUniform([5, 4], seed: 303, low: 1.5, high: 6)]   // Stirling's term where y > 1
        default: return [t, seededUniform([5, 4], seed: 304, low: -2, high: 2)]
        }
    }

    static let all: [LossCase] = ["halfMSE", "mse", "logistic", "crossEntropy", "poisson", "poissonFull"]
        .flatMap { n in [Reduction.mean, .sum, .none].map { LossCase(name: n, reduction: $0) } }
}

@Suite("Losses (eq. 7.1–7.6, 7.70–7.71; S1–S4, B7)")
struct LossTests {
    @Test(arguments: LossCase.all)
    func lossGradientsMatchFiniteDifferences(_ c: LossCase) {
        expectGradientsMatch(c.apply, at: c.inputs)
    }

    @Test(arguments: [Reduction.mean, .sum, .none])
    func reductionsGiveTheRightShapes(_ r: Reduction) {
        let h = seededUniform([5, 4], seed: 310)
        let expected: [Int] = r == .none ? [5, 4] : []
        #expect(mseLoss(h, h, reduction: r).shape == expected)
        #expect(logisticLoss(logits: h, targets: h, reduction: r).shape == expected)
        #expect(crossEntropyLoss(logits: h, labels: LossCase.labels, reduction: r).shape == (r == .none ? [5] : []))
    }

    @Test func halfMSEIsHalfTheSquaredErrorMeanOverExamples_eq7_1() {
        let h = Tensor([1, 2, 4], dtype: .float64), y = Tensor([0, 2, 1], dtype: .float64)
        #expect(halfMSELoss(h, y).item() == (0.5 + 0 + 4.5) / 3)
        #expect(halfMSELoss(h, y, reduction: .sum).item() == 5)
        #expect(mseLoss(h, y).item() == 10.0 / 3)
        expectValues(halfMSELoss(h, y, reduction: .none), [0.5, 0, 4.5])
    }

    @Test func logisticLossGradientIsSigmoidMinusY_eq7_70() {
        var t = seededUniform([7], seed: 320, low: -5, high: 5)
        t.requiresGrad = true
        let y = Tensor([1, 0, 1, 0.3, 0, 1, 0], dtype: .float64)
        logisticLoss(logits: t, targets: y, reduction: .sum).backward()
        let expected = (t.detached().sigmoid() - y).scalars(as: Double.self)
        expectValues(t.grad!, expected, tolerance: 1e-15)
    }

    @Test func crossEntropyGradientIsSoftmaxMinusOneHot_eq7_71() {
        var t = seededUniform([5, 4], seed: 321, low: -4, high: 4)
        t.requiresGrad = true
        crossEntropyLoss(logits: t, labels: LossCase.labels, reduction: .sum).backward()
        let expected = (t.detached().softmax(axis: 1) - Tensor.oneHot(LossCase.labels, classes: 4, dtype: .float64))
        expectValues(t.grad!, expected.scalars(as: Double.self), tolerance: 1e-15)
    }

    @Test func crossEntropyIsMinusLogSoftmaxOfTheLabel_eq7_6() {
        let t = seededUniform([5, 4], seed: 322, low: -4, high: 4)
        let direct = -t.logSoftmax(axis: 1).gather(LossCase.labels)
        expectValues(crossEntropyLoss(logits: t, labels: LossCase.labels, reduction: .none), direct.scalars(as: Double.self),
                     tolerance: 1e-14)
    }

    @Test(arguments: [DType.float32, .float64])
    func logisticLossIsStableAtLogitsPlusMinus1000(_ dtype: DType) {
        var t = Tensor([1000, -1000, 1000, -1000, 150, -150], dtype: dtype)
        t.requiresGrad = true
        let y = Tensor([1, 0, 0, 1, 1, 0], dtype: dtype)
        let l = logisticLoss(logits: t, targets: y, reduction: .none)
        expectValues(l, [0, 0, 1000, 1000, 0, 0], tolerance: 1e-6)
        l.sum().backward()
        expectValues(t.grad!, [0, 0, 1, -1, 0, 0], tolerance: 1e-6)
    }

    @Test(arguments: [DType.float32, .float64])
    func crossEntropyIsStableAtLogitsPlusMinus1000(_ dtype: DType) {
        var t = Tensor([[1000, -1000, 0], [-1000, -1000, -1000], [1000, 1000, -1000]], dtype: dtype)
        t.requiresGrad = true
        let l = crossEntropyLoss(logits: t, labels: [1, 2, 0], reduction: .none)
        expectValues(l, [2000, Foundation.log(3.0), Foundation.log(2.0)], tolerance: 1e-6)
        l.sum().backward()
        let third = 1.0 / 3
        expectValues(t.grad!, [1, -1, 0, third, third, third - 1, -0.5, 0.5, 0], tolerance: 1e-6)
        #expect(t.grad!.scalars(as: Double.self).allSatisfy { $0.isFinite })
    }

    @Test func poissonLossGradientIsRateMinusCount() {
        var eta = seededUniform([6], seed: 330, low: -2, high: 2)
        eta.requiresGrad = true
        let y = Tensor([0, 1, 2, 3, 4, 5], dtype: .float64)
        poissonNLLLoss(logRate: eta, counts: y, reduction: .sum).backward()
        expectValues(eta.grad!, (eta.detached().exp() - y).scalars(as: Double.self), tolerance: 1e-15)
    }

    @Test func lossesMatchPyTorch() {
        let fixture = TorchFixture.load("losses")
        var worst = 0.0
        for c in fixture.cases {
            let red: Reduction = ["mean": .mean, "sum": .sum, "none": .none][c.string("reduction")]!
            var inputs = [c.tensor("in0")]
            if c.tensors["in1"] != nil { inputs.append(c.tensor("in1")) }
            for i in inputs.indices where c.tensors["grad\(i)"] != nil { inputs[i].requiresGrad = true }
            let out: Tensor
            switch c.name.split(separator: "_").dropLast().joined(separator: "_") {
            case "mse": out = mseLoss(inputs[0], inputs[1], reduction: red)
            case "half_mse": out = halfMSELoss(inputs[0], inputs[1], reduction: red)
            case "logistic": out = logisticLoss(logits: inputs[0], targets: inputs[1], reduction: red)
            case "cross_entropy": out = crossEntropyLoss(logits: inputs[0], labels: c.ints("labels"), reduction: red)
            case "poisson", "poisson_full": out = poissonNLLLoss(logRate: inputs[0], counts: inputs[1], full: c.bool("full"), reduction: red)
            default: Issue.record("unknown fixture case \(c.name)"); continue
            }
            let d = maxAbsDifference(out, c.tensor("out"))
            #expect(d <= 1e-9, "\(c.name): forward differs from torch by \(d)")
            worst = max(worst, d)
            out.backward(c.tensor("v").reshaped(out.shape))
            for i in inputs.indices where c.tensors["grad\(i)"] != nil {
                let g = maxAbsDifference(inputs[i].grad!, c.tensor("grad\(i)"))
                #expect(g <= 1e-9, "\(c.name): gradient \(i) differs from torch by \(g)")
                worst = max(worst, g)
            }
        }
        #expect(fixture.cases.count == 18)
        print("losses vs torch: max |difference| \(worst)")
    }
}
