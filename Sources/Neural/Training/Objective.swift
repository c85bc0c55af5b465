/// What a model is trained to minimise, with the metrics that go with it (§7.1): the loss of
/// eq. 7.1 / 7.4 / 7.6 (or Poisson, S4) on a batch, and accuracy for classifiers or RMSE/MAE
/// for regression.
public enum Objective: Sendable, CaseIterable, CustomStringConvertible {
    /// Softmax cross-entropy on logits `[batch, k]` with integer labels (eq. 7.6).
    case crossEntropy
    /// Logistic loss on one logit per example `[batch, 1]` with 0/1 labels (eq. 7.4).
    case logistic
    /// (h − y)² averaged (PyTorch's MSELoss), outputs and targets `[batch, k]`.
    case mse
    /// The notes' ½(h − y)² (eq. 7.1).
    case halfMSE
    /// Poisson negative log-likelihood with log-rate outputs, for counts (S4).
    case poisson
    /// Mean absolute error |h − y| (PyTorch's L1Loss), outputs and targets `[batch, k]`.
    case l1
    /// Smooth L1 with β = 1 (PyTorch's SmoothL1Loss), outputs and targets `[batch, k]`.
    case smoothL1
    /// Huber with δ = 1 (PyTorch's HuberLoss), outputs and targets `[batch, k]`.
    case huber

    /// The command line's loss names (`--loss`): one entry per objective.
    package static let registry = Registry<Objective>([
        .init(["cross-entropy"], help: "softmax cross-entropy on logits [batch, k] with class labels (eq. 7.6)", .crossEntropy),
        .init(["logistic"], help: "logistic loss on one logit [batch, 1] with 0/1 labels (eq. 7.4)", .logistic),
        .init(["mse"], help: "squared error (h − y)² averaged, outputs and targets [batch, k] (PyTorch's MSELoss)", .mse),
        .init(["half-mse"], help: "the notes' ½(h − y)² averaged (eq. 7.1)", .halfMSE),
        .init(["poisson"], help: "Poisson negative log-likelihood of log-rate outputs, for counts (S4)", .poisson),
        .init(["l1"], help: "absolute error |h − y| averaged (PyTorch's L1Loss)", .l1),
        .init(["smooth-l1"], help: "smooth L1 with beta 1: quadratic below 1, linear above (PyTorch's SmoothL1Loss)", .smoothL1),
        .init(["huber"], help: "Huber with delta 1 (PyTorch's HuberLoss)", .huber),
    ])

    /// The name used on the command line (its `registry` entry's canonical name).
    public var description: String {
        guard let entry = Objective.registry.entries.first(where: { $0.value == self }) else {
            preconditionFailure("Neural: an Objective case has no registry entry")
        }
        return entry.name
    }

    /// Whether examples carry class labels (accuracy is reported) rather than real targets.
    public var isClassification: Bool { self == .crossEntropy || self == .logistic }

    /// The batch-mean loss of `outputs` against a batch's labels or targets.
    ///
    /// - Precondition: classification objectives need `labels`, regression ones `targets`.
    public func loss(_ outputs: Tensor, labels: [Int]?, targets: Tensor?) -> Tensor {
        switch self {
        case .crossEntropy:
            return crossEntropyLoss(logits: outputs, labels: labels!)
        case .logistic:
            let y = Tensor(labels!.map(Double.init), shape: outputs.shape, dtype: outputs.dtype)
            return logisticLoss(logits: outputs, targets: y)
        case .mse:
            return mseLoss(outputs, targets!.reshaped(outputs.shape))
        case .halfMSE:
            return halfMSELoss(outputs, targets!.reshaped(outputs.shape))
        case .poisson:
            return poissonNLLLoss(logRate: outputs, counts: targets!.reshaped(outputs.shape))
        case .l1:
            return l1Loss(outputs, targets!.reshaped(outputs.shape))
        case .smoothL1:
            return smoothL1Loss(outputs, targets!.reshaped(outputs.shape))
        case .huber:
            return huberLoss(outputs, targets!.reshaped(outputs.shape))
        }
    }

    /// Predicted classes for a batch of outputs: argmax of the logits, or logit > 0 for logistic.
    public func predictedLabels(_ outputs: Tensor) -> [Int] {
        switch self {
        case .logistic: return outputs.scalars(as: Double.self).map { $0 > 0 ? 1 : 0 }
        default: return outputs.argmax(axis: -1).scalars(as: Double.self).map { Int($0) }
        }
    }
}
