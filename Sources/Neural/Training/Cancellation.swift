import Synchronization

/// A request to stop training, safe to make from any thread (a signal handler's dispatch queue,
/// a server's request handler) while ``Trainer/fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``
/// runs on another.
///
/// The trainer looks at the handle at step boundaries only (before a step inside an epoch, and
/// before an epoch starts), so a run stops between two optimisation steps with a consistent
/// ``Trainer/state`` that a checkpoint saves and `resume:` continues bit for bit. Under
/// data-parallel training the ranks agree on the request through the step's allreduce, so every
/// rank stops after the same step.
///
/// ```swift
/// let stop = TrainingCancellation()
/// trainer.cancellation = stop
/// // on another thread: stop.cancel()
/// _ = try trainer.fit(epochs: 10, train: { _ in loader }, evaluate: nil)
/// if trainer.wasCancelled { /* write a checkpoint of trainer.state */ }
/// ```
public final class TrainingCancellation: Sendable {
    private let requested = Atomic<Bool>(false)

    /// A handle that has not been cancelled.
    public init() {}

    /// Asks the trainers watching this handle to stop at their next step boundary. Idempotent.
    public func cancel() { requested.store(true, ordering: .releasing) }

    /// Whether ``cancel()`` has been called (and not ``reset()`` since).
    public var isCancelled: Bool { requested.load(ordering: .acquiring) }

    /// Withdraws the request, so that a later `fit` call on the same handle trains again.
    public func reset() { requested.store(false, ordering: .releasing) }
}
