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
    package init(loss: Double, accuracy: Double? = nil, rmse: Double? = nil, mae: Double? = nil, count: Int) {
        self.loss = loss
        self.accuracy = accuracy
        self.rmse = rmse
        self.mae = mae
        self.count = count
    }
}

/// One epoch of training: what ``Trainer/fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``
/// returns and keeps in ``TrainingState/history``.
///
/// `neural train --metrics-json` writes each record as `{"epoch", "train_loss", "test_loss",
/// "test_accuracy", "seconds"}` (`"test_rmse"` and `"test_mae"` in place of `"test_accuracy"` for
/// regression; the `test_*` keys only when there is evaluation data); the run's rate goes in its
/// `"final"` entry as `"samples_per_second"`. In a checkpoint's ``TrainingState`` the record is
/// JSON under its property names (`trainLoss`, `samplesPerSecond`, …).
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
    package init(epoch: Int, trainLoss: Double, test: EvaluationMetrics?, seconds: Double, samplesPerSecond: Double) {
        self.epoch = epoch
        self.trainLoss = trainLoss
        self.test = test
        self.seconds = seconds
        self.samplesPerSecond = samplesPerSecond
    }
}

/// Where a ``Trainer/fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``
/// run is: everything besides the model, optimiser and random generators that decides what
/// happens next. Save it in a checkpoint (``Checkpoint/trainingState``) and pass it back as
/// `resume:` to continue the run exactly, even from the middle of an epoch.
public struct TrainingState: Sendable, Equatable, Codable {
    /// Completed epochs.
    public var epoch: Int
    /// Batches of the epoch in progress (number ``epoch`` + 1) already trained on.
    public var batch: Int
    /// Optimisation steps taken so far, over all epochs.
    public var step: Int
    /// Σ loss × examples over the batches of the epoch in progress (for its mean training loss).
    package var lossSum: Double
    /// Examples seen in the epoch in progress.
    package var examples: Int
    /// The best evaluation loss so far (early stopping); nil before the first evaluation.
    public var bestLoss: Double?
    /// Epochs since the best evaluation loss.
    public var epochsSinceBest: Int
    /// Whether early stopping has ended the run.
    public var stopped: Bool
    /// The records of the completed epochs.
    public var history: [EpochRecord]
    /// The ``Trainer/plateau`` schedule's state after the last epoch (nil without one).
    public var plateau: ReduceLROnPlateau.State?

    /// The state before the first step.
    package init() {
        epoch = 0
        batch = 0
        step = 0
        lossSum = 0
        examples = 0
        bestLoss = nil
        epochsSinceBest = 0
        stopped = false
        history = []
        plateau = nil
    }

    private enum CodingKeys: String, CodingKey {
        case epoch, batch, step, lossSum = "loss_sum_bits", examples, bestLoss = "best_loss_bits"
        case epochsSinceBest = "epochs_since_best", stopped, history, plateau
    }

    /// Decodes the JSON written by ``encode(to:)``.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func bits(_ key: CodingKeys) throws -> Double? {
            guard let text = try c.decodeIfPresent(String.self, forKey: key) else { return nil }
            guard let b = UInt64(text, radix: 16) else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not a hexadecimal bit pattern")
            }
            return Double(bitPattern: b)
        }
        epoch = try c.decode(Int.self, forKey: .epoch)
        batch = try c.decode(Int.self, forKey: .batch)
        step = try c.decode(Int.self, forKey: .step)
        lossSum = try bits(.lossSum) ?? 0
        examples = try c.decode(Int.self, forKey: .examples)
        bestLoss = try bits(.bestLoss)
        epochsSinceBest = try c.decode(Int.self, forKey: .epochsSinceBest)
        stopped = try c.decode(Bool.self, forKey: .stopped)
        history = try c.decode([EpochRecord].self, forKey: .history)
        plateau = try c.decodeIfPresent(ReduceLROnPlateau.State.self, forKey: .plateau)
        guard epoch >= 0, batch >= 0, step >= 0, examples >= 0, epochsSinceBest >= 0 else {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "negative counter"))
        }
    }

    /// Encodes the counters as JSON numbers and the floating-point accumulators as their exact
    /// bit patterns (hexadecimal), so that a resumed run continues with the very same bits.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(epoch, forKey: .epoch)
        try c.encode(batch, forKey: .batch)
        try c.encode(step, forKey: .step)
        try c.encode(String(lossSum.bitPattern, radix: 16), forKey: .lossSum)
        try c.encode(examples, forKey: .examples)
        try c.encodeIfPresent(bestLoss.map { String($0.bitPattern, radix: 16) }, forKey: .bestLoss)
        try c.encode(epochsSinceBest, forKey: .epochsSinceBest)
        try c.encode(stopped, forKey: .stopped)
        try c.encode(history, forKey: .history)
        try c.encodeIfPresent(plateau, forKey: .plateau)
    }
}
