import Foundation
import Neural
import Testing

/// The loss of fixture case `c` (config "loss") on `inputs` (input first, then the target when there is one).
private func fixtureLoss(_ c: TorchFixture.Case, _ inputs: [Tensor]) -> Tensor {
    let red: Reduction = ["mean": .mean, "sum": .sum, "none": .none][c.string("reduction")] ?? .mean
    let weight = c.tensors["weight"], ignore = c.config["ignore_index"] == nil ? -100 : c.int("ignore_index")
    switch c.string("loss") {
    case "l1": return l1Loss(inputs[0], inputs[1], reduction: red)
    case "smooth_l1", "smooth_l1_beta0": return smoothL1Loss(inputs[0], inputs[1], beta: c.double("beta"), reduction: red)
    case "huber": return huberLoss(inputs[0], inputs[1], delta: c.double("delta"), reduction: red)
    case "bce", "bce_weight", "bce_target": return bceLoss(inputs[0], inputs[1], weight: weight, reduction: red)
    case "bce_logits", "bce_logits_weights":
        return bceWithLogitsLoss(inputs[0], inputs[1], weight: weight, posWeight: c.tensors["pos_weight"], reduction: red)
    case "kl", "kl_log_target", "kl_zero_target":
        let kr: KLDivReduction = ["mean": .mean, "batchmean": .batchMean, "sum": .sum, "none": .none][c.string("reduction")]!
        return klDivLoss(inputs[0], inputs[1], reduction: kr, logTarget: c.bool("log_target"))
    case "nll", "nll_weight", "nll_ignore2":
        return nllLoss(logProbabilities: inputs[0], labels: c.ints("labels"), weight: weight, ignoreIndex: ignore, reduction: red)
    case "ce_weight", "ce_smooth", "ce_weight_smooth", "ce_ignore2_smooth":
        return crossEntropyLoss(logits: inputs[0], labels: c.ints("labels"), weight: weight, ignoreIndex: ignore,
                                labelSmoothing: c.double("label_smoothing"), reduction: red)
    case "ce_prob", "ce_prob_weight_smooth":
        return crossEntropyLoss(logits: inputs[0], probabilities: inputs[1], weight: weight,
                                labelSmoothing: c.double("label_smoothing"), reduction: red)
    default: fatalError("unknown fixture loss \(c.string("loss"))")
    }
}

/// A loss and reduction for the Float64 gradient checks.
struct ExtraLossCase: Sendable, CustomTestStringConvertible {
    let name: String
    let reduction: String
    var testDescription: String { "\(name), \(reduction)" }

    static let labels = [2, 0, -100, 1, 3]
    static let weight = Tensor([0.5, 1.5, 2, 0.75] as [Double], dtype: .float64)

    func apply(_ z: [Tensor]) -> Tensor {
        let r: Reduction = ["mean": .mean, "sum": .sum, "none": .none][reduction] ?? .mean
        switch name {
        case "l1": return l1Loss(z[0], z[1], reduction: r)
        case "smoothL1": return smoothL1Loss(z[0], z[1], beta: 0.8, reduction: r)
        case "huber": return huberLoss(z[0], z[1], delta: 0.8, reduction: r)
        case "bce": return bceLoss(z[0], z[1], weight: Self.weight, reduction: r)
        case "bceWithLogits":
            return bceWithLogitsLoss(z[0], z[1], weight: Self.weight, posWeight: Tensor([2, 0.5, 1, 3] as [Double], dtype: .float64), reduction: r)
        case "klDiv", "klDivLogTarget":
            let kr: KLDivReduction = ["mean": .mean, "batchmean": .batchMean, "sum": .sum, "none": .none][reduction]!
            return klDivLoss(z[0].logSoftmax(), z[1], reduction: kr, logTarget: name == "klDivLogTarget")
        case "nll": return nllLoss(logProbabilities: z[0], labels: Self.labels, weight: Self.weight, reduction: r)
        case "crossEntropy":
            return crossEntropyLoss(logits: z[0], labels: Self.labels, weight: Self.weight, labelSmoothing: 0.2, reduction: r)
        default: return crossEntropyLoss(logits: z[0], probabilities: z[1], weight: Self.weight, labelSmoothing: 0.1, reduction: r)
        }
    }

    /// Float64 inputs away from the kinks (|h − y| ≠ 0, β, δ) and inside each loss's domain.
    var inputs: [Tensor] {
        let t = seededUniform([5, 4], seed: 401, low: -3, high: 3)
        switch name {
        case "l1", "smoothL1", "huber": return [t, t + awayFromZero([5, 4], seed: 402) * 0.6]   // |d| ∈ [0.12, 0.72) ∪ …
        case "bce": return [seededUniform([5, 4], seed: 403, low: 0.1, high: 0.9), seededUniform([5, 4], seed: 404, low: 0, high: 1)]
        case "bceWithLogits": return [t, seededUniform([5, 4], seed: 404, low: 0, high: 1)]
        case "klDiv": return [t, seededUniform([5, 4], seed: 405, low: 0.05, high: 1)]
        case "klDivLogTarget": return [t, seededUniform([5, 4], seed: 405, low: -3, high: 0)]
        case "nll", "crossEntropy": return [t]
        default: return [t, seededUniform([5, 4], seed: 406, low: 0, high: 1)]
        }
    }

    static let all: [ExtraLossCase] = {
        let plain = ["l1", "smoothL1", "huber", "bce", "bceWithLogits", "nll", "crossEntropy", "crossEntropyProbabilities"]
        return plain.flatMap { n in ["mean", "sum", "none"].map { ExtraLossCase(name: n, reduction: $0) } }
            + ["klDiv", "klDivLogTarget"].flatMap { n in ["mean", "batchmean", "sum", "none"].map { ExtraLossCase(name: n, reduction: $0) } }
    }()
}

@Suite("PyTorch-parity losses: L1, smooth L1, Huber, BCE, BCE with logits, KL, NLL, weighted and smoothed cross-entropy")
struct PyTorchParityLossTests {
    @Test(arguments: ExtraLossCase.all)
    func lossGradientsMatchFiniteDifferences(_ c: ExtraLossCase) {
        expectGradientsMatch(c.apply, at: c.inputs)
    }

    @Test func lossesAndGradientsMatchPyTorchInEveryReduction() {
        let fixture = TorchFixture.load("losses_extra")
        var worst = 0.0
        for c in fixture.cases {
            var inputs = [c.tensor("in0")]
            if c.tensors["in1"] != nil { inputs.append(c.tensor("in1")) }
            for i in inputs.indices where c.tensors["grad\(i)"] != nil { inputs[i].requiresGrad = true }
            let out = fixtureLoss(c, inputs)
            let d = maxAbsDifference(out, c.tensor("out"))
            #expect(d <= 1e-10, "\(c.name): forward differs from torch by \(d)")
            worst = max(worst, d)
            out.backward(c.tensor("v").reshaped(out.shape))
            for i in inputs.indices where c.tensors["grad\(i)"] != nil {
                let g = maxAbsDifference(inputs[i].grad!, c.tensor("grad\(i)"))
                #expect(g <= 1e-10, "\(c.name): gradient \(i) differs from torch by \(g)")
                worst = max(worst, g)
            }
        }
        #expect(fixture.cases.count == 66)
        print("PyTorch-parity losses vs torch: max |difference| \(worst)")
    }

    @Test func float32LossesAgreeWithFloat64() {
        for c in ExtraLossCase.all where c.reduction == "mean" {
            let z64 = c.inputs
            let a = c.apply(z64).item(), b = c.apply(z64.map { $0.to(.float32) }).item()
            #expect(abs(a - b) <= 1e-5 * (1 + abs(a)), "\(c.name): Float32 \(b) vs Float64 \(a)")
        }
    }

    @Test func plainCrossEntropyKeepsItsBitsAndWeightedMeanDividesByTheLabelWeights() {
        let logits = seededUniform([5, 4], seed: 410, low: -3, high: 3), labels = [2, 0, 3, 1, 1]
        let manual = logits.logSoftmax().scalars(as: Double.self)
        let nll = labels.enumerated().map { -manual[$0 * 4 + $1] }
        #expect(abs(crossEntropyLoss(logits: logits, labels: labels).item() - nll.reduce(0, +) / 5) < 1e-14)
        // Class weights: Σ w_y ℓ / Σ w_y; an ignored row counts in neither sum.
        let w = [0.5, 1.5, 2, 0.75]
        var ignoring = labels
        ignoring[3] = -100
        let kept = [0, 1, 2, 4]
        let expected = kept.map { w[labels[$0]] * nll[$0] }.reduce(0, +) / kept.map { w[labels[$0]] }.reduce(0, +)
        let got = crossEntropyLoss(logits: logits, labels: ignoring, weight: Tensor(w, dtype: .float64)).item()
        #expect(abs(got - expected) < 1e-14)
        #expect(crossEntropyLoss(logits: logits, labels: ignoring, reduction: .none).scalars(as: Double.self)[3] == 0)
    }

    @Test func bceWithLogitsIsExactForExtremeLogits() {
        let x = Tensor([-1000, 1000, 0] as [Double], dtype: .float64), y = Tensor([1, 0, 1] as [Double], dtype: .float64)
        let l = bceWithLogitsLoss(x, y, posWeight: Tensor([2] as [Double], dtype: .float64), reduction: .none).scalars(as: Double.self)
        #expect(l[0] == 2000 && l[1] == 1000)
        #expect(abs(l[2] - 2 * log(2.0)) < 1e-15)
    }
}
