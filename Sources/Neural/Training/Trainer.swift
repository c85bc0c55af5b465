import Foundation

/// Receives progress while a ``Trainer`` runs.
public protocol TrainingObserver: AnyObject {
    /// Called after each training batch: `done` of `total` batches (total may be 0 if unknown).
    func batchFinished(epoch: Int, epochs: Int, done: Int, total: Int, examples: Int, seconds: Double, loss: Double)
    /// Called after each epoch's evaluation.
    func epochFinished(_ record: EpochRecord, epochs: Int)
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
    /// Gradient clipping by global norm (nil: none), after ``clipValue``.
    public var clipNorm: Double?
    /// Gradient clipping by value: each element clamped to [−v, v] (nil: none; ``clipGradValue(_:maxValue:)``).
    public var clipValue: Double?
    /// Lowers the learning rates when the evaluation loss (the training loss without evaluation
    /// data) stops improving, stepped after every epoch; its state is kept in
    /// ``TrainingState/plateau`` and restored from `resume:`.
    public var plateau: ReduceLROnPlateau?
    /// Progress callbacks (e.g. ``ConsoleProgress``).
    public weak var observer: (any TrainingObserver)?
    /// Check every gradient for NaN/∞ after each backward pass (one pass over the gradients;
    /// default `true`). The loss is always checked.
    public var checkGradients = true
    /// Anomaly detection: every operation of each step checks its output and its backward
    /// gradients, and the first NaN/∞ stops training naming the operation and its layer (the
    /// layer's dotted path, through ``Sequential``s at any depth, e.g. `1.0 (Linear)`). Slower; off by default.
    public var detectAnomalies = false
    /// The run's progress; ``fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``
    /// keeps it current (checkpoint it to resume exactly).
    public private(set) var state = TrainingState()
    /// Data-parallel training: gradients are summed across the ranks between backward and the
    /// optimiser step (see ``DataParallel``), and steps report the loss over all ranks'
    /// examples. Feed each rank its shard of every batch (``DataLoader`` with a ``DataShard``).
    public var dataParallel: DataParallel?
    /// The stop request ``fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``
    /// watches at step boundaries (share one handle with the thread that may stop the run, or
    /// call ``cancel()``). A handle already cancelled when `fit` starts stops it before its first step.
    public var cancellation = TrainingCancellation()
    /// Whether the last `fit` call returned because of ``cancellation`` (at a step boundary, with
    /// ``state`` saying where: ``TrainingState/batch`` > 0 inside an epoch) rather than at its end.
    public private(set) var wasCancelled = false
    /// Data-parallel: whether any rank had asked to stop at the last step (agreed through its allreduce).
    private var stopAgreed = false

    /// Asks the running (or next) `fit` to stop at its next step boundary: the same as
    /// `cancellation.cancel()`; safe to call from any thread.
    public func cancel() { cancellation.cancel() }

    /// Whether to stop at this step boundary: this process's request, or under data-parallel
    /// training the request of any rank as of the last step (the same answer on every rank).
    private var stopRequested: Bool { dataParallel == nil ? cancellation.isCancelled : stopAgreed }

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
    /// A model in evaluation mode is switched to training mode first (the whole tree); one already
    /// in training mode is left as it is, so no per-step walk of the module tree, and a sub-module
    /// the caller put in evaluation mode (e.g. a frozen BatchNorm) stays so.
    ///
    /// - Returns: the batch loss.
    /// - Throws: ``NonFiniteError`` when the inputs, the loss or a gradient is NaN or ±∞ (or, with
    ///   ``detectAnomalies``, any operation's output or gradient is); the parameters are then not updated.
    @discardableResult
    public func step(_ batch: some LabeledBatch) throws(NonFiniteError) -> Double {
        if !model.isTraining { model.train() }
        optimizer.zeroGrad()
        if let dataParallel {
            lastGlobalCount = nil
            return try dataParallelStep(batch, dataParallel)
        }
        let stepNumber = state.step + 1
        let loss: Double
        if detectAnomalies {
            let (value, anomaly) = AnomalyDetection.run { () -> Double in
                let out = NonFiniteDiagnosis.forwardNamingLayers(model, batch.inputs)
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
        clipGradients()
        optimizer.step()
        state.step = stepNumber
        return loss
    }

    /// Throws ``NonFiniteError`` naming the parameters whose gradients hold NaN or ±∞.
    /// Applies ``clipValue`` and then ``clipNorm``.
    private func clipGradients() {
        if let clipValue { clipGradValue(optimizer.parameters, maxValue: clipValue) }
        if let clipNorm { clipGradNorm(optimizer.parameters, maxNorm: clipNorm) }
    }

    private func checkGradientsAreFinite(step stepNumber: Int) throws(NonFiniteError) {
        let named = parameterNames
        var bad: [(String, Double)] = []
        for (name, p) in named {
            if let g = p.grad, let v = AnomalyDetection.firstNonFinite(g) { bad.append((name, v)) }
        }
        if let last = bad.last {
            var e = failure(.gradient, last.1, step: stepNumber)
            e.parameter = last.0
            e.layer = NonFiniteDiagnosis.owner(ofParameter: last.0, in: model)
            e.nonFiniteGradients = bad.map(\.0)
            throw e
        }
    }

    /// Refuses to start when the gradients not allocated yet (one per trainable parameter without
    /// one) exceed the memory available, instead of failing in the middle of the first step.
    private func checkMemoryForGradients() throws(InsufficientMemoryError) {
        let missing = optimizer.parameters.filter { $0.grad == nil }
        let bytes = missing.reduce(0.0) { $0 + Double($1.value.count * $1.value.dtype.byteSize) }
        guard bytes > 0 else { return }
        try MemoryBudget.check(bytes, for: "the gradients of \(missing.reduce(0) { $0 + $1.value.count }) parameters",
                               hint: "train a smaller model")
    }

    /// Examples of the last data-parallel step over all ranks.
    private var lastGlobalCount: Int?

    /// ``step(_:)`` on this rank's shard: local forward and backward, gradients summed over the
    /// ranks with weight n_r/n (so the step is the one-process step on the global batch), then the
    /// same checks and update on every rank. The same allreduce carries every rank's stop request
    /// (``cancellation``), so the ranks agree on where to stop at no extra cost. Returns the loss over the global batch; the checks
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
        let sums = dp.group.allreduceSum([n > 0 ? local * Double(n) : 0, Double(n), cancellation.isCancelled ? 1 : 0])
        lastGlobalCount = Int(sums[1])
        stopAgreed = sums[2] > 0
        let loss = sums[0] / Swift.max(sums[1], 1)
        guard loss.isFinite else { throw failure(.loss, loss, step: stepNumber, locating: batch) }
        if checkGradients || detectAnomalies { try checkGradientsAreFinite(step: stepNumber) }
        clipGradients()
        optimizer.step()
        state.step = stepNumber
        return loss
    }

    /// A ``NonFiniteError`` for this step, listing the parameters that hold non-finite values.
    private func failure(_ kind: NonFiniteError.Kind, _ value: Double, step: Int) -> NonFiniteError {
        NonFiniteError(kind, value, step: step, model: model)
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
        if let (path, layer) = NonFiniteDiagnosis.firstNonFiniteLayer(in: model, input: batch.inputs) {
            e.layer = NonFiniteDiagnosis.label(path, layer)
            let names = layer.namedParameters().map { "\(path).\($0.name)" }
            if !names.isEmpty { e.parameter = names.joined(separator: ", ") }
        }
        return e
    }

    /// Evaluates the model on `batches` with this trainer's objective and ``targetScale``
    /// (``evaluate(model:data:objective:targetScale:)``).
    public func evaluate<S: Sequence>(_ batches: S) -> EvaluationMetrics where S.Element: LabeledBatch {
        evaluationMetrics(model: model, data: batches, objective: objective, targetScale: targetScale)
    }

    /// Trains for epochs `startEpoch…epochs` (1-based; > 1 when resuming), or continues a saved
    /// run from `resume` (then `startEpoch` is ignored), possibly in the middle of an epoch.
    ///
    /// To resume exactly, restore the model, the optimiser, every random generator and the
    /// loader's sampler state saved with the ``TrainingState``; `train(epoch)` must then yield
    /// only the batches of that epoch not yet trained on (a ``DataLoader`` with a restored
    /// `DataLoader.samplerState` does).
    ///
    /// - Parameters:
    ///   - epochs: train until this epoch (the total; epochs are numbered from 1).
    ///   - startEpoch: the first epoch to train when not resuming (default 1; `resume` knows its own).
    ///   - train: the batches of an epoch (reshuffled per epoch by the loader, Algorithm 2).
    ///   - batchesPerEpoch: for the progress display (0 if unknown).
    ///   - evaluate: the evaluation batches, run after every epoch (nil: none).
    ///   - patience: stop when the evaluation loss has not improved for this many epochs.
    ///   - resume: the ``state`` of an interrupted run (from a checkpoint).
    ///   - onStep: called after every step with the current ``state`` (write mid-epoch checkpoints here).
    ///   - onEpochEnd: called after each epoch, once ``state`` includes it (write a checkpoint here); throwing stops training.
    /// - Returns: one record per epoch completed by this call. When ``cancellation`` stops the run
    ///   it returns early, between two steps, with ``wasCancelled`` set and ``state`` saying where
    ///   (inside an epoch when ``TrainingState/batch`` > 0); a checkpoint written then (with a
    ///   ``DataLoader``'s sampler placed at ``TrainingState/batch`` × batch size) resumes exactly.
    /// - Throws: ``InsufficientMemoryError`` before the first step when the gradients the run will
    ///   allocate (one per trainable parameter) exceed the memory available
    ///   (``MemoryBudget/availableBytes()``); ``NonFiniteError`` (see ``step(_:)``), or what the callbacks throw.
    public func fit<Train: Sequence, Eval: Sequence>(
        epochs: Int, startEpoch: Int = 1, batchesPerEpoch: Int = 0,
        train: (Int) -> Train, evaluate: (() -> Eval)?, patience: Int? = nil,
        resume: TrainingState? = nil,
        onStep: (TrainingState) throws -> Void = { _ in },
        onEpochEnd: (EpochRecord) throws -> Void = { _ in }
    ) throws -> [EpochRecord] where Train.Element: LabeledBatch, Eval.Element: LabeledBatch {
        if let resume {
            state = resume
            if let saved = resume.plateau { plateau?.restore(saved, optimizer: optimizer) }
        } else {
            state = TrainingState()
            state.epoch = startEpoch - 1
        }
        try checkMemoryForGradients()
        var records: [EpochRecord] = []
        wasCancelled = false
        stopAgreed = false
        while !state.stopped && state.epoch < epochs {
            // Step boundaries: before an epoch starts (before its batches are drawn) and before
            // each step but an epoch's first (so a stop inside an epoch always has batches done).
            if stopRequested { wasCancelled = true; return records }
            let epoch = state.epoch + 1
            let t0 = Date()
            var examplesThisCall = 0
            for batch in train(epoch) {
                if state.batch > 0 && stopRequested { wasCancelled = true; return records }
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
            if var p = plateau {
                p.step(metric: test?.loss ?? record.trainLoss, optimizer: optimizer)
                plateau = p
                state.plateau = p.state
            }
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
