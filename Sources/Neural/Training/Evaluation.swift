/// A batch the trainer can learn from: inputs `[batch, …]` with either class labels or real targets.
public protocol LabeledBatch {
    /// Inputs, examples along dimension 0 (eq. 7.84): `[batch, …]`.
    var inputs: Tensor { get }
    /// Class labels, one per example (classification).
    var labels: [Int]? { get }
    /// Real-valued targets `[batch, k]` (regression).
    var targets: Tensor? { get }
    /// In data-parallel training, the examples of the global batch this batch is a shard of
    /// (nil: not a shard; each rank's batch then counts equally).
    var globalCount: Int? { get }
}

extension LabeledBatch {
    /// Not a shard of a global batch.
    public var globalCount: Int? { nil }
}

/// A ``DataLoader`` batch is something the trainer learns from.
extension Batch: LabeledBatch {}

/// Evaluates `model` on `data` in evaluation mode (Dropout off, BatchNorm's running statistics)
/// without autodiff history, then restores the model's mode. Needs no optimizer.
///
/// ```swift
/// let metrics = evaluate(model: model, data: DataLoader(test, batchSize: 1000, shuffle: false),
///                        objective: .crossEntropy)
/// print(metrics.loss, metrics.accuracy!)
/// ```
///
/// - Parameters:
///   - model: maps inputs `[batch, …]` to outputs `[batch, k]` (logits, or predictions).
///   - data: the batches; each has class labels (classification) or targets `[batch, k]`.
///   - objective: the loss, and whether accuracy or RMSE/MAE is reported.
///   - targetScale: regression targets are (y − mean)/std; RMSE and MAE are reported after undoing
///     it, in the target's original units (e.g. dollars). Default: the identity `(0, 1)`.
/// - Returns: the mean loss per example, accuracy (classification) or RMSE and MAE (regression),
///   and the number of examples.
public func evaluate<S: Sequence>(model: any Layer, data: S, objective: Objective,
                                  targetScale: (mean: Double, std: Double) = (0, 1)) -> EvaluationMetrics
where S.Element: LabeledBatch {
    evaluationMetrics(model: model, data: data, objective: objective, targetScale: targetScale)
}

/// ``evaluate(model:data:objective:targetScale:)`` under a name that no method shadows (``Trainer``
/// has an `evaluate` of its own that calls this).
func evaluationMetrics<S: Sequence>(model: any Layer, data: S, objective: Objective,
                                    targetScale: (mean: Double, std: Double)) -> EvaluationMetrics
where S.Element: LabeledBatch {
    let wasTraining = model.isTraining
    model.eval()
    defer { model.train(wasTraining) }
    var lossSum = 0.0, correct = 0, count = 0, sq = 0.0, abs = 0.0
    withNoGrad {
        for batch in data {
            let out = model(batch.inputs)
            // Examples are the loss's rows: one per label (a language model's batch has one per token).
            let n = batch.labels?.count ?? batch.inputs.shape.first ?? 1
            lossSum += objective.loss(out, labels: batch.labels, targets: batch.targets).item() * Double(n)
            count += n
            if objective.isClassification, let labels = batch.labels {
                correct += zip(objective.predictedLabels(out), labels).filter { $0 == $1 }.count
            } else if let targets = batch.targets {
                let p = out.scalars(as: Double.self), t = targets.scalars(as: Double.self)
                for (a, b) in zip(p, t) {
                    let e = (a - b) * targetScale.std
                    sq += e * e
                    abs += Swift.abs(e)
                }
            }
        }
    }
    let n = Double(Swift.max(count, 1))
    return EvaluationMetrics(loss: lossSum / n,
                             accuracy: objective.isClassification ? Double(correct) / n : nil,
                             rmse: objective.isClassification ? nil : (sq / n).squareRoot(),
                             mae: objective.isClassification ? nil : abs / n,
                             count: count)
}
