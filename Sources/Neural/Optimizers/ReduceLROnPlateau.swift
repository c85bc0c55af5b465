/// Lowers the learning rates when a metric stops improving (PyTorch's `ReduceLROnPlateau`).
/// Call ``step(metric:optimizer:)`` once per evaluation (e.g. per epoch with the validation
/// loss): after more than `patience` evaluations without improvement, every group's base rate
/// (``Optimizer/groupLearningRates``) is multiplied by `factor`, never below `minimumLearningRate`,
/// and no further reduction happens during `cooldown` evaluations.
///
/// Its ``state`` (the best value, the counters and the rates it set) is `Codable` with exact
/// bits: ``Trainer`` keeps it in ``TrainingState/plateau``, so checkpoints resume it exactly.
///
/// ```swift
/// var plateau = ReduceLROnPlateau(factor: 0.5, patience: 2)
/// plateau.step(metric: validationLoss, optimizer: opt)   // after each epoch
/// ```
public struct ReduceLROnPlateau: Sendable {
    /// Whether smaller (`.min`, e.g. a loss) or larger (`.max`, e.g. accuracy) is better.
    public enum Mode: String, Sendable, Codable { case min, max }
    /// How `threshold` measures a significant improvement: relative to the best (`.rel`) or
    /// absolute (`.abs`).
    public enum ThresholdMode: String, Sendable, Codable { case rel, abs }

    /// Whether smaller or larger is better.
    public let mode: Mode
    /// The factor the rates are multiplied by (< 1).
    public let factor: Double
    /// Evaluations without improvement tolerated before reducing.
    public let patience: Int
    /// The least significant improvement.
    public let threshold: Double
    /// How `threshold` is measured.
    public let thresholdMode: ThresholdMode
    /// Evaluations to wait after a reduction before counting again.
    public let cooldown: Int
    /// The lowest rate of each group (one value for all groups).
    public let minimumLearningRate: Double
    /// A reduction smaller than this is not applied (PyTorch's `eps`).
    public let epsilon: Double
    /// Where the schedule is.
    public var state = State()

    /// What changes as metrics arrive; Codable with the Doubles as exact bit patterns.
    public struct State: Sendable, Equatable, Codable {
        /// The best metric so far (nil before the first).
        public var best: Double?
        /// Consecutive evaluations without significant improvement.
        public var badEvaluations = 0
        /// Evaluations of cooldown left.
        public var cooldownLeft = 0
        /// Evaluations seen.
        public var evaluations = 0
        /// The groups' base rates after the last evaluation (nil before the first).
        public var learningRates: [Double]?

        /// The state before the first metric.
        public init() {}

        private enum CodingKeys: String, CodingKey {
            case best = "best_bits", badEvaluations = "num_bad_epochs", cooldownLeft = "cooldown_counter"
            case evaluations = "last_epoch", learningRates = "lr_bits"
        }

        /// Decodes the JSON written by ``encode(to:)``.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            func double(_ text: String, _ key: CodingKeys) throws -> Double {
                guard let b = UInt64(text, radix: 16) else {
                    throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "not a hexadecimal bit pattern")
                }
                return Double(bitPattern: b)
            }
            best = try c.decodeIfPresent(String.self, forKey: .best).map { try double($0, .best) }
            badEvaluations = try c.decode(Int.self, forKey: .badEvaluations)
            cooldownLeft = try c.decode(Int.self, forKey: .cooldownLeft)
            evaluations = try c.decode(Int.self, forKey: .evaluations)
            learningRates = try c.decodeIfPresent([String].self, forKey: .learningRates)?.map { try double($0, .learningRates) }
            guard badEvaluations >= 0, cooldownLeft >= 0, evaluations >= 0 else {
                throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "negative counter"))
            }
        }

        /// Encodes the counters as numbers and the Doubles as hexadecimal bit patterns.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encodeIfPresent(best.map { String($0.bitPattern, radix: 16) }, forKey: .best)
            try c.encode(badEvaluations, forKey: .badEvaluations)
            try c.encode(cooldownLeft, forKey: .cooldownLeft)
            try c.encode(evaluations, forKey: .evaluations)
            try c.encodeIfPresent(learningRates?.map { String($0.bitPattern, radix: 16) }, forKey: .learningRates)
        }
    }

    /// A plateau schedule; PyTorch's defaults and parameter meanings (`min_lr` is
    /// `minimumLearningRate`).
    public init(mode: Mode = .min, factor: Double = 0.1, patience: Int = 10, threshold: Double = 1e-4,
                thresholdMode: ThresholdMode = .rel, cooldown: Int = 0, minimumLearningRate: Double = 0, epsilon: Double = 1e-8) {
        precondition(factor >= 0 && factor < 1, "Neural: ReduceLROnPlateau needs factor in [0, 1), got \(factor)")
        precondition(patience >= 0 && cooldown >= 0, "Neural: ReduceLROnPlateau needs patience ≥ 0 and cooldown ≥ 0, got \(patience), \(cooldown)")
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.thresholdMode = thresholdMode
        self.cooldown = cooldown
        self.minimumLearningRate = minimumLearningRate
        self.epsilon = epsilon
    }

    /// Whether `value` improves significantly on `best`.
    private func isBetter(_ value: Double, than best: Double?) -> Bool {
        guard let best else { return !value.isNaN }
        switch (mode, thresholdMode) {
        case (.min, .rel): return value < best * (1 - threshold)
        case (.min, .abs): return value < best - threshold
        case (.max, .rel): return value > best * (threshold + 1)
        case (.max, .abs): return value > best + threshold
        }
    }

    /// Takes one evaluation's `metric` and lowers `optimizer`'s group rates when it has not
    /// improved for more than `patience` evaluations.
    public mutating func step(metric: Double, optimizer: Optimizer) {
        state.evaluations += 1
        if isBetter(metric, than: state.best) {
            state.best = metric
            state.badEvaluations = 0
        } else {
            state.badEvaluations += 1
        }
        if state.cooldownLeft > 0 {
            state.cooldownLeft -= 1
            state.badEvaluations = 0
        }
        if state.badEvaluations > patience {
            optimizer.groupLearningRates = optimizer.groupLearningRates.map { old in
                let new = Swift.max(old * factor, minimumLearningRate)
                return old - new > epsilon ? new : old
            }
            state.cooldownLeft = cooldown
            state.badEvaluations = 0
        }
        state.learningRates = optimizer.groupLearningRates
    }

    /// Puts `state` back, with the rates it had set on `optimizer` (resuming a run).
    ///
    /// - Precondition: `state`'s rates, if any, are one per group of `optimizer`.
    public mutating func restore(_ state: State, optimizer: Optimizer) {
        self.state = state
        if let rates = state.learningRates { optimizer.groupLearningRates = rates }
    }
}
