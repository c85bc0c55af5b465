import Foundation

/// A batch the trainer can learn from: inputs `[batch, …]` with either class labels or real targets.
public protocol LabeledBatch {
    /// Inputs, examples along dimension 0 (eq. 7.84): `[batch, …]`.
    var inputs: Tensor { get }
    /// Class labels, one per example (classification).
    var labels: [Int]? { get }
    /// Real-valued targets `[batch, k]` (regression).
    var targets: Tensor? { get }
}

/// Metrics of one pass over a dataset.
public struct EvaluationMetrics: Sendable, Codable, Equatable {
    /// Mean loss per example.
    public var loss: Double
    /// Fraction of correctly classified examples (classification only).
    public var accuracy: Double?
    /// Root-mean-square error in the target's original units (regression only).
    public var rmse: Double?
    /// Mean absolute error in the target's original units (regression only).
    public var mae: Double?
    /// Examples seen.
    public var count: Int

    /// Metrics from their values.
    public init(loss: Double, accuracy: Double? = nil, rmse: Double? = nil, mae: Double? = nil, count: Int) {
        self.loss = loss
        self.accuracy = accuracy
        self.rmse = rmse
        self.mae = mae
        self.count = count
    }
}

/// One epoch of training, as written to `--metrics-json`.
public struct EpochRecord: Sendable, Codable, Equatable {
    /// 1-based epoch number.
    public var epoch: Int
    /// Mean training loss over the epoch's batches.
    public var trainLoss: Double
    /// Metrics on the evaluation data after the epoch (nil when there is none).
    public var test: EvaluationMetrics?
    /// Wall time of the epoch (training and evaluation), seconds.
    public var seconds: Double
    /// Training examples per second during the epoch.
    public var samplesPerSecond: Double

    /// A record from its values.
    public init(epoch: Int, trainLoss: Double, test: EvaluationMetrics?, seconds: Double, samplesPerSecond: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.test = test
        self.seconds = seconds
        self.samplesPerSecond = samplesPerSecond
    }
}

/// Receives progress while a ``Trainer`` runs.
public protocol TrainingObserver: AnyObject {
    /// Called after each training batch: `done` of `total` batches (total may be 0 if unknown).
    func batchFinished(epoch: Int, epochs: Int, done: Int, total: Int, examples: Int, seconds: Double, loss: Double)
    /// Called after each epoch's evaluation.
    func epochFinished(_ record: EpochRecord, epochs: Int)
}

/// Trains a model with an optimiser on an objective: mini-batch SGD (Algorithm 2) and its
/// descendants, with evaluation each epoch, early stopping and a hook for checkpoints.
///
/// ```swift
/// let model = Sequential.mlp([784, 512, 512, 10])
/// let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1),
///                       objective: .crossEntropy)
/// let history = try trainer.fit(epochs: 5, train: { _ in trainLoader }, evaluate: { testLoader })
/// ```
public final class Trainer {
    /// The model being trained.
    public let model: any Layer
    /// The optimiser updating the model's trainable parameters.
    public let optimizer: Optimizer
    /// The loss and metrics.
    public let objective: Objective
    /// Regression targets are standardised as (y − mean)/std for training; RMSE/MAE are reported
    /// after undoing it, in the target's original units (e.g. dollars). Identity by default.
    public var targetScale: (mean: Double, std: Double) = (0, 1)
    /// Gradient clipping by global norm (nil: none).
    public var clipNorm: Double?
    /// Progress callbacks (e.g. ``ConsoleProgress``).
    public weak var observer: (any TrainingObserver)?

    /// A trainer for `model`; pass the model's trainable parameters to the optimiser.
    public init(model: any Layer, optimizer: Optimizer, objective: Objective) {
        self.model = model
        self.optimizer = optimizer
        self.objective = objective
    }

    /// One optimisation step on a batch: forward, loss, backward (§7.4), update. Returns the batch loss.
    @discardableResult
    public func step(_ batch: some LabeledBatch) -> Double {
        model.train()
        optimizer.zeroGrad()
        let loss = objective.loss(model(batch.inputs), labels: batch.labels, targets: batch.targets)
        loss.backward()
        if let clipNorm { clipGradNorm(optimizer.parameters, maxNorm: clipNorm) }
        optimizer.step()
        return loss.item()
    }

    /// Evaluates the model (eval mode, no autodiff history) over `batches`.
    public func evaluate<S: Sequence>(_ batches: S) -> EvaluationMetrics where S.Element: LabeledBatch {
        let wasTraining = model.isTraining
        model.eval()
        defer { model.train(wasTraining) }
        var lossSum = 0.0, correct = 0, count = 0, sq = 0.0, abs = 0.0
        withNoGrad {
            for batch in batches {
                let out = model(batch.inputs)
                let n = batch.inputs.shape.first ?? 1
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

    /// Trains for epochs `startEpoch…epochs` (1-based; > 1 when resuming).
    ///
    /// - Parameters:
    ///   - train: the batches of an epoch (reshuffled per epoch by the loader, Algorithm 2).
    ///   - batchesPerEpoch: for the progress display (0 if unknown).
    ///   - evaluate: the evaluation batches, run after every epoch (nil: none).
    ///   - patience: stop when the evaluation loss has not improved for this many epochs.
    ///   - onEpochEnd: called after each epoch (write a checkpoint here); throwing stops training.
    /// - Returns: one record per epoch run.
    public func fit<Train: Sequence, Eval: Sequence>(
        epochs: Int, startEpoch: Int = 1, batchesPerEpoch: Int = 0,
        train: (Int) -> Train, evaluate: (() -> Eval)?, patience: Int? = nil,
        onEpochEnd: (EpochRecord) throws -> Void = { _ in }
    ) throws -> [EpochRecord] where Train.Element: LabeledBatch, Eval.Element: LabeledBatch {
        var records: [EpochRecord] = []
        var best = Double.infinity, sinceBest = 0
        guard startEpoch <= epochs else { return [] }
        for epoch in startEpoch...epochs {
            let t0 = Date()
            var lossSum = 0.0, examples = 0, done = 0
            for batch in train(epoch) {
                let n = batch.inputs.shape.first ?? 1
                let loss = step(batch)
                lossSum += loss * Double(n)
                examples += n
                done += 1
                observer?.batchFinished(epoch: epoch, epochs: epochs, done: done, total: batchesPerEpoch,
                                        examples: examples, seconds: Date().timeIntervalSince(t0), loss: lossSum / Double(examples))
            }
            let trainSeconds = Date().timeIntervalSince(t0)
            let test = evaluate.map { self.evaluate($0()) }
            let record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(Swift.max(examples, 1)), test: test,
                                     seconds: Date().timeIntervalSince(t0),
                                     samplesPerSecond: Double(examples) / Swift.max(trainSeconds, 1e-9))
            records.append(record)
            observer?.epochFinished(record, epochs: epochs)
            try onEpochEnd(record)
            if let patience, let loss = test?.loss {
                if loss < best - 1e-12 { best = loss; sinceBest = 0 } else { sinceBest += 1 }
                if sinceBest >= patience { break }
            }
        }
        return records
    }
}

/// A ``DataLoader`` batch is something the trainer learns from.
extension Batch: LabeledBatch {}
