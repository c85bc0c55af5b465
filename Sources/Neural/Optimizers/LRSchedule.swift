import Foundation

/// A learning-rate schedule: the learning rate of optimiser step t (counting from 0) as a function
/// of t and the optimiser's base rate α. An ``Optimizer`` consults it at every ``Optimizer/step()``.
///
/// Schedules compose: ``then(_:after:)`` switches to another schedule (which restarts its own
/// count at 0) after a number of steps, like PyTorch's `SequentialLR`:
///
/// ```swift
/// let warmupThenCosine = LRSchedule.linearWarmup(steps: 100).then(.cosine(steps: 900), after: 100)
/// ```
public struct LRSchedule: Sendable {
    private let rate: @Sendable (_ step: Int, _ base: Double) -> Double

    /// A schedule from a function of the step t ≥ 0 and the base rate α.
    public init(_ rate: @escaping @Sendable (_ step: Int, _ base: Double) -> Double) { self.rate = rate }

    /// The learning rate at step `step` (≥ 0) for base rate `base`.
    public func learningRate(at step: Int, base: Double) -> Double { rate(Swift.max(step, 0), base) }

    /// The base rate at every step.
    public static let constant = LRSchedule { _, base in base }

    /// α·γ^⌊t / every⌋: multiply by `gamma` every `every` steps (PyTorch's `StepLR`).
    public static func step(every: Int, gamma: Double = 0.1) -> LRSchedule {
        precondition(every > 0, "Neural: LRSchedule.step(every:) needs every > 0, got \(every)")
        return LRSchedule { t, base in base * Foundation.pow(gamma, Double(t / every)) }
    }

    /// α·γᵗ (PyTorch's `ExponentialLR`).
    public static func exponential(gamma: Double) -> LRSchedule {
        LRSchedule { t, base in base * Foundation.pow(gamma, Double(t)) }
    }

    /// Cosine annealing from α down to `minimum` over `steps` steps:
    /// minimum + (α − minimum)(1 + cos(π t / steps))/2 for t ≤ steps, then `minimum`
    /// (PyTorch's `CosineAnnealingLR` with `T_max = steps`, `eta_min = minimum`, within its first period).
    public static func cosine(steps: Int, minimum: Double = 0) -> LRSchedule {
        precondition(steps > 0, "Neural: LRSchedule.cosine(steps:) needs steps > 0, got \(steps)")
        return LRSchedule { t, base in
            let u = Double(Swift.min(t, steps)) / Double(steps)
            return minimum + (base - minimum) * (1 + Foundation.cos(Double.pi * u)) / 2
        }
    }

    /// α times a factor moving linearly from `start` to `end` over `steps` steps, then `end`
    /// (PyTorch's `LinearLR(start_factor, end_factor, total_iters)`).
    public static func linear(from start: Double, to end: Double, steps: Int) -> LRSchedule {
        precondition(steps > 0, "Neural: LRSchedule.linear needs steps > 0, got \(steps)")
        return LRSchedule { t, base in
            base * (start + (end - start) * Double(Swift.min(t, steps)) / Double(steps))
        }
    }

    /// Linear warm-up from `startFactor`·α to α over `steps` steps, then α.
    public static func linearWarmup(steps: Int, startFactor: Double = 0) -> LRSchedule {
        linear(from: startFactor, to: 1, steps: steps)
    }

    /// This schedule for steps 0..<`after`, then `next` counted from 0 (PyTorch's `SequentialLR`
    /// with one milestone). Chain calls for more phases.
    public func then(_ next: LRSchedule, after: Int) -> LRSchedule {
        precondition(after >= 0, "Neural: LRSchedule.then(after:) needs after ≥ 0")
        let first = self
        return LRSchedule { t, base in
            t < after ? first.learningRate(at: t, base: base) : next.learningRate(at: t - after, base: base)
        }
    }

    /// The product of this schedule's factor and `other`'s (both relative to α), like PyTorch's
    /// `ChainedScheduler` of multiplicative schedules.
    public func combined(with other: LRSchedule) -> LRSchedule {
        let first = self
        return LRSchedule { t, base in
            base == 0 ? 0 : first.learningRate(at: t, base: base) * other.learningRate(at: t, base: base) / base
        }
    }
}
