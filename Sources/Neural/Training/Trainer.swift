import Foundation

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
    public var lossSum: Double
    /// Examples seen in the epoch in progress.
    public var examples: Int
    /// The best evaluation loss so far (early stopping); nil before the first evaluation.
    public var bestLoss: Double?
    /// Epochs since the best evaluation loss.
    public var epochsSinceBest: Int
    /// Whether early stopping has ended the run.
    public var stopped: Bool
    /// The records of the completed epochs.
    public var history: [EpochRecord]

    /// The state before the first step.
    public init() {
        epoch = 0
        batch = 0
        step = 0
        lossSum = 0
        examples = 0
        bestLoss = nil
        epochsSinceBest = 0
        stopped = false
        history = []
    }

    private enum CodingKeys: String, CodingKey {
        case epoch, batch, step, lossSum = "loss_sum_bits", examples, bestLoss = "best_loss_bits"
        case epochsSinceBest = "epochs_since_best", stopped, history
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
    }
}

/// Training stopped because a NaN or ±∞ appeared in the loss or in a gradient. The update of
/// that step was not applied, so the parameters are those before the step.
public struct NonFiniteError: Error, Sendable, CustomStringConvertible {
    /// Where the value was found.
    public enum Kind: String, Sendable {
        /// The batch's inputs or targets.
        case input
        /// The loss.
        case loss
        /// A parameter's gradient (the loss was finite).
        case gradient
        /// Anomaly detection (``Trainer/detectAnomalies``) saw an operation produce it.
        case anomaly
    }

    /// What was non-finite.
    public var kind: Kind
    /// The offending value (NaN, +∞ or −∞).
    public var value: Double
    /// The 1-based number of the optimisation step (counting all epochs).
    public var step: Int
    /// The 1-based epoch, when training inside ``Trainer/fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``.
    public var epoch: Int?
    /// The 1-based batch of that epoch.
    public var batch: Int?
    /// The first layer where it appeared, e.g. `2 (Linear)`: the first layer of a ``Sequential``
    /// whose output is non-finite (loss), the layer of the first parameter in backward order
    /// with a non-finite gradient (gradient), or the layer of the operation (anomaly).
    public var layer: String?
    /// The parameter named in the message (`2.weight`): the first (in backward order) with a
    /// non-finite gradient, or the layer's first parameter.
    public var parameter: String?
    /// Every parameter whose gradient was non-finite, in model order.
    public var nonFiniteGradients: [String]
    /// Parameters whose values are non-finite (a diverged run), in model order.
    public var nonFiniteParameters: [String]
    /// What anomaly detection found, when it was on.
    public var anomaly: Anomaly?

    /// One line: what, where (step, epoch, batch, layer, parameter) and what to do.
    public var description: String {
        var at = "at step \(step)"
        if let epoch, let batch { at += " (epoch \(epoch), batch \(batch))" }
        let v = NonFiniteError.text(value)
        var text: String
        switch kind {
        case .input:
            text = "the batch's inputs or targets contain \(v); check the data"
        case .loss:
            text = "the loss is \(v)"
            if let layer {
                text += "; it first appears in the output of layer \(layer)" + (parameter.map { "; parameters \($0)" } ?? "")
            }
        case .gradient:
            text = "the gradient of \(parameter ?? "a parameter") is \(v)"
            if let layer { text += " (layer \(layer))" }
            text += ", the first non-finite gradient in backward order"
            if nonFiniteGradients.count > 1 { text += " (\(nonFiniteGradients.count) parameters affected)" }
        case .anomaly:
            text = "anomaly detection: " + (anomaly?.description ?? "non-finite value")
            if let parameter { text += "; layer parameters \(parameter)" }
        }
        if let anomaly, kind != .anomaly { text += "; anomaly detection: \(anomaly.description)" }
        if !nonFiniteParameters.isEmpty {
            text += "; parameters \(nonFiniteParameters.prefix(4).joined(separator: ", ")) already hold non-finite values"
        }
        if kind != .input {
            text += "; lower the learning rate or clip gradients"
            if anomaly == nil { text += ", or turn on anomaly detection (--detect-anomalies) to find the operation" }
        }
        return "training stopped \(at): " + text
    }

    /// `NaN`, `+Inf` or `-Inf` (or the number).
    static func text(_ x: Double) -> String {
        x.isNaN ? "NaN" : x == .infinity ? "+Inf" : x == -.infinity ? "-Inf" : "\(x)"
    }
}

/// Trains a model with an optimiser on an objective: mini-batch SGD (Algorithm 2) and its
/// descendants, with evaluation each epoch, early stopping, checkpoints and resuming exactly.
///
/// Every step checks the loss and the gradients: a NaN or ±∞ stops training with a
/// ``NonFiniteError`` naming the step and the first layer where it appeared, before the
/// parameters are updated. With ``detectAnomalies`` every operation is checked as well.
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
    /// Check every gradient for NaN/∞ after each backward pass (one pass over the gradients;
    /// default `true`). The loss is always checked.
    public var checkGradients = true
    /// Anomaly detection: every operation of each step checks its output and its backward
    /// gradients, and the first NaN/∞ stops training naming the operation and its layer (the
    /// top-level layer of a ``Sequential`` model). Slower; off by default.
    public var detectAnomalies = false
    /// The run's progress; ``fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``
    /// keeps it current (checkpoint it to resume exactly).
    public private(set) var state = TrainingState()
    /// Data-parallel training: gradients are summed across the ranks between backward and the
    /// optimiser step (see ``DataParallel``), and steps report the loss over all ranks'
    /// examples. Feed each rank its shard of every batch (``DataLoader`` with a ``DataShard``).
    public var dataParallel: DataParallel?

    /// The model's parameters with their names, looked up once (the per-step gradient check uses them).
    private lazy var parameterNames: [(name: String, parameter: Parameter)] = model.namedParameters()

    /// A trainer for `model`; pass the model's trainable parameters to the optimiser.
    public init(model: any Layer, optimizer: Optimizer, objective: Objective) {
        self.model = model
        self.optimizer = optimizer
        self.objective = objective
    }

    /// One optimisation step on a batch: forward, loss, backward (§7.4), checks, update.
    ///
    /// - Returns: the batch loss.
    /// - Throws: ``NonFiniteError`` when the inputs, the loss or a gradient is NaN or ±∞ (or, with
    ///   ``detectAnomalies``, any operation's output or gradient is); the parameters are then not updated.
    @discardableResult
    public func step(_ batch: some LabeledBatch) throws(NonFiniteError) -> Double {
        model.train()
        optimizer.zeroGrad()
        if let dataParallel {
            lastGlobalCount = nil
            return try dataParallelStep(batch, dataParallel)
        }
        let stepNumber = state.step + 1
        let loss: Double
        if detectAnomalies {
            let (value, anomaly) = AnomalyDetection.run { () -> Double in
                let out = forwardByLayer(batch.inputs)
                let l = objective.loss(out, labels: batch.labels, targets: batch.targets)
                l.backward()
                return l.item()
            }
            if let anomaly {
                var e = failure(.anomaly, anomaly.value, step: stepNumber)
                e.anomaly = anomaly
                e.layer = anomaly.module.map { m in anomaly.moduleType.map { "\(m) (\($0))" } ?? m }
                if let m = anomaly.module {
                    let names = model.namedParameters().map(\.name).filter { $0.hasPrefix(m + ".") }
                    if !names.isEmpty { e.parameter = names.joined(separator: ", ") }
                }
                throw e
            }
            loss = value
            guard loss.isFinite else { throw failure(.loss, loss, step: stepNumber, locating: batch) }
        } else {
            let l = objective.loss(model(batch.inputs), labels: batch.labels, targets: batch.targets)
            loss = l.item()
            guard loss.isFinite else { throw failure(.loss, loss, step: stepNumber, locating: batch) }
            l.backward()
        }
        if checkGradients || detectAnomalies { try checkGradientsAreFinite(step: stepNumber) }
        if let clipNorm { clipGradNorm(optimizer.parameters, maxNorm: clipNorm) }
        optimizer.step()
        state.step = stepNumber
        return loss
    }

    /// Throws ``NonFiniteError`` naming the parameters whose gradients hold NaN or ±∞.
    private func checkGradientsAreFinite(step stepNumber: Int) throws(NonFiniteError) {
        let named = parameterNames
        var bad: [(String, Double)] = []
        for (name, p) in named {
            if let g = p.grad, let v = AnomalyDetection.firstNonFinite(g) { bad.append((name, v)) }
        }
        if let last = bad.last {
            var e = failure(.gradient, last.1, step: stepNumber)
            e.parameter = last.0
            e.layer = Self.layerName(of: last.0, in: model)
            e.nonFiniteGradients = bad.map(\.0)
            throw e
        }
    }

    /// Examples of the last data-parallel step over all ranks.
    private var lastGlobalCount: Int?

    /// ``step(_:)`` on this rank's shard: local forward and backward, gradients summed over the
    /// ranks with weight n_r/n (so the step is the one-process step on the global batch), then the
    /// same checks and update on every rank. Returns the loss over the global batch; the checks
    /// see the same loss and gradients everywhere, so all ranks stop together. (Anomaly detection
    /// is not applied per operation here.)
    private func dataParallelStep(_ batch: some LabeledBatch, _ dp: DataParallel) throws(NonFiniteError) -> Double {
        let stepNumber = state.step + 1
        let n = batch.inputs.shape.first ?? 0
        let weight = batch.globalCount.map { Double(n) / Double(Swift.max($0, 1)) } ?? 1 / Double(dp.group.size)
        var local = 0.0
        if n > 0 {
            let l = objective.loss(model(batch.inputs), labels: batch.labels, targets: batch.targets)
            local = l.item()
            if local.isFinite { dp.backward(l, weight: weight) }
        }
        dp.synchronize(weight: weight)
        let sums = dp.group.allreduceSum([n > 0 ? local * Double(n) : 0, Double(n)])
        lastGlobalCount = Int(sums[1])
        let loss = sums[0] / Swift.max(sums[1], 1)
        guard loss.isFinite else { throw failure(.loss, loss, step: stepNumber, locating: batch) }
        if checkGradients || detectAnomalies { try checkGradientsAreFinite(step: stepNumber) }
        if let clipNorm { clipGradNorm(optimizer.parameters, maxNorm: clipNorm) }
        optimizer.step()
        state.step = stepNumber
        return loss
    }

    /// The model's forward pass, one top-level layer at a time when it is a ``Sequential`` (so
    /// anomaly detection can name the layer); the same result as `model(x)`.
    private func forwardByLayer(_ x: Tensor) -> Tensor {
        guard let sequential = model as? Sequential else { return model(x) }
        var h = x
        for (i, layer) in sequential.layers.enumerated() {
            let l = layer
            h = AnomalyDetection.inModule(String(i), type: String(describing: type(of: l))) { l(h) }
        }
        return h
    }

    /// `2 (Linear)` for parameter `2.weight` of a ``Sequential``.
    private static func layerName(of parameter: String, in model: any Layer) -> String? {
        guard let sequential = model as? Sequential, let first = parameter.split(separator: ".").first,
              let i = Int(first), sequential.layers.indices.contains(i) else { return nil }
        return "\(i) (\(String(describing: type(of: sequential.layers[i]))))"
    }

    /// A ``NonFiniteError`` for this step, listing the parameters that hold non-finite values.
    private func failure(_ kind: NonFiniteError.Kind, _ value: Double, step: Int) -> NonFiniteError {
        var e = NonFiniteError(kind: kind, value: value, step: step, epoch: nil, batch: nil, layer: nil, parameter: nil,
                               nonFiniteGradients: [], nonFiniteParameters: [], anomaly: nil)
        e.nonFiniteParameters = model.namedParameters().filter { AnomalyDetection.firstNonFinite($0.parameter.value) != nil }.map(\.name)
        return e
    }

    /// A ``NonFiniteError`` for a non-finite loss on `batch`: non-finite data, or the first layer
    /// whose output is non-finite (re-running the forward pass layer by layer without side effects).
    private func failure(_ kind: NonFiniteError.Kind, _ value: Double, step: Int, locating batch: some LabeledBatch) -> NonFiniteError {
        var e = failure(kind, value, step: step)
        if let v = AnomalyDetection.firstNonFinite(batch.inputs) ?? batch.targets.flatMap({ AnomalyDetection.firstNonFinite($0) }) {
            e.kind = .input
            e.value = v
            return e
        }
        if let (index, layer) = firstNonFiniteLayer(batch.inputs) {
            e.layer = "\(index) (\(String(describing: type(of: layer))))"
            let names = layer.namedParameters().map { "\(index).\($0.name)" }
            if !names.isEmpty { e.parameter = names.joined(separator: ", ") }
        }
        return e
    }

    /// The first top-level layer of a ``Sequential`` model whose output on `x` (in training mode)
    /// has a NaN or ±∞. Buffers (running statistics) and dropout generators are restored after, so
    /// the diagnosis changes nothing.
    private func firstNonFiniteLayer(_ x: Tensor) -> (Int, any Layer)? {
        guard let sequential = model as? Sequential else { return nil }
        let buffers = model.namedBuffers().map { ($0.buffer, $0.buffer.value) }
        let generators = model.namedModules().compactMap { ($0.module as? Dropout)?.generator }.map { ($0, $0.stateWords) }
        defer {
            for (b, v) in buffers { b.value = v }
            for (g, w) in generators { g.stateWords = w }
        }
        return withNoGrad {
            var h = x
            for (i, layer) in sequential.layers.enumerated() {
                let l = layer
                h = l(h)
                if AnomalyDetection.firstNonFinite(h) != nil { return (i, l) }
            }
            return nil
        }
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

    /// Trains for epochs `startEpoch…epochs` (1-based; > 1 when resuming), or continues a saved
    /// run from `resume` (then `startEpoch` is ignored), possibly in the middle of an epoch.
    ///
    /// To resume exactly, restore the model, the optimiser, every random generator and the
    /// loader's sampler state saved with the ``TrainingState``; `train(epoch)` must then yield
    /// only the batches of that epoch not yet trained on (a ``DataLoader`` with a restored
    /// ``DataLoader/samplerState`` does).
    ///
    /// - Parameters:
    ///   - train: the batches of an epoch (reshuffled per epoch by the loader, Algorithm 2).
    ///   - batchesPerEpoch: for the progress display (0 if unknown).
    ///   - evaluate: the evaluation batches, run after every epoch (nil: none).
    ///   - patience: stop when the evaluation loss has not improved for this many epochs.
    ///   - resume: the ``state`` of an interrupted run (from a checkpoint).
    ///   - onStep: called after every step with the current ``state`` (write mid-epoch checkpoints here).
    ///   - onEpochEnd: called after each epoch, once ``state`` includes it (write a checkpoint here); throwing stops training.
    /// - Returns: one record per epoch completed by this call.
    /// - Throws: ``NonFiniteError`` (see ``step(_:)``), or what the callbacks throw.
    public func fit<Train: Sequence, Eval: Sequence>(
        epochs: Int, startEpoch: Int = 1, batchesPerEpoch: Int = 0,
        train: (Int) -> Train, evaluate: (() -> Eval)?, patience: Int? = nil,
        resume: TrainingState? = nil,
        onStep: (TrainingState) throws -> Void = { _ in },
        onEpochEnd: (EpochRecord) throws -> Void = { _ in }
    ) throws -> [EpochRecord] where Train.Element: LabeledBatch, Eval.Element: LabeledBatch {
        if let resume {
            state = resume
        } else {
            state = TrainingState()
            state.epoch = startEpoch - 1
        }
        var records: [EpochRecord] = []
        while !state.stopped && state.epoch < epochs {
            let epoch = state.epoch + 1
            let t0 = Date()
            var examplesThisCall = 0
            for batch in train(epoch) {
                let loss: Double
                do throws(NonFiniteError) {
                    loss = try step(batch)
                } catch {
                    var e = error
                    e.epoch = epoch
                    e.batch = state.batch + 1
                    throw e
                }
                let n = lastGlobalCount ?? batch.inputs.shape.first ?? 1   // data-parallel: all ranks' examples
                state.lossSum += loss * Double(n)
                state.examples += n
                state.batch += 1
                examplesThisCall += n
                observer?.batchFinished(epoch: epoch, epochs: epochs, done: state.batch, total: batchesPerEpoch,
                                        examples: examplesThisCall, seconds: Date().timeIntervalSince(t0),
                                        loss: state.lossSum / Double(state.examples))
                try onStep(state)
            }
            dataParallel?.broadcastBuffers()
            let trainSeconds = Date().timeIntervalSince(t0)
            let test = evaluate.map { self.evaluate($0()) }
            let record = EpochRecord(epoch: epoch, trainLoss: state.lossSum / Double(Swift.max(state.examples, 1)), test: test,
                                     seconds: Date().timeIntervalSince(t0),
                                     samplesPerSecond: Double(examplesThisCall) / Swift.max(trainSeconds, 1e-9))
            records.append(record)
            state.history.append(record)
            state.epoch = epoch
            state.batch = 0
            state.lossSum = 0
            state.examples = 0
            if let patience, let loss = test?.loss {
                if loss < (state.bestLoss ?? .infinity) - 1e-12 {
                    state.bestLoss = loss
                    state.epochsSinceBest = 0
                } else {
                    state.epochsSinceBest += 1
                }
                if state.epochsSinceBest >= patience { state.stopped = true }
            }
            observer?.epochFinished(record, epochs: epochs)
            try onEpochEnd(record)
        }
        return records
    }
}

/// A ``DataLoader`` batch is something the trainer learns from.
extension Batch: LabeledBatch {}
