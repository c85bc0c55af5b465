import Foundation

/// The milestone and cyclic schedules: PyTorch's `MultiStepLR`, `CosineAnnealingWarmRestarts` and
/// `OneCycleLR`. Each is a function of the optimiser's step count, so a checkpoint (which saves
/// the step count) resumes them exactly.
extension LRSchedule {
    /// α·γ^(number of milestones ≤ t): multiply by `gamma` at each milestone step (PyTorch's
    /// `MultiStepLR`; a milestone listed twice multiplies twice).
    ///
    /// - Parameters:
    ///   - milestones: the steps at which the rate drops, each ≥ 0 (any order).
    ///   - gamma: γ (PyTorch's default 0.1).
    public static func multiStep(milestones: [Int], gamma: Double = 0.1) -> LRSchedule {
        precondition(milestones.allSatisfy { $0 >= 0 }, "Neural: LRSchedule.multiStep needs milestones ≥ 0, got \(milestones)")
        let sorted = milestones.sorted()
        return LRSchedule { t, base in base * Foundation.pow(gamma, Double(sorted.count(where: { $0 <= t }))) }
    }

    /// Cosine annealing with warm restarts (SGDR; PyTorch's `CosineAnnealingWarmRestarts`):
    /// η_min + (α − η_min)(1 + cos(π·T_cur/T_i))/2, where the i-th period lasts T_i = T₀·T_multⁱ
    /// steps and T_cur counts the steps since the last restart.
    ///
    /// - Parameters:
    ///   - period: T₀ > 0, the first period in steps (PyTorch's `T_0`).
    ///   - periodMultiplier: T_mult ≥ 1, the growth of each period (PyTorch's `T_mult`, default 1).
    ///   - minimum: η_min (PyTorch's `eta_min`, default 0).
    public static func cosineWarmRestarts(period: Int, periodMultiplier: Int = 1, minimum: Double = 0) -> LRSchedule {
        precondition(period > 0 && periodMultiplier >= 1,
                     "Neural: LRSchedule.cosineWarmRestarts needs period > 0 and periodMultiplier ≥ 1, got \(period), \(periodMultiplier)")
        return LRSchedule { t, base in
            var current = t, length = period
            if periodMultiplier == 1 {
                current = t % period
            } else {
                while current >= length { current -= length; length *= periodMultiplier }
            }
            return minimum + (base - minimum) * (1 + Foundation.cos(Double.pi * Double(current) / Double(length))) / 2
        }
    }

    /// How ``oneCycle(totalSteps:maxLearningRate:pctStart:annealStrategy:divFactor:finalDivFactor:threePhase:)``
    /// moves between two rates (PyTorch's `anneal_strategy`).
    public enum Anneal: Sendable, Hashable {
        /// Half a cosine: end + (start − end)(1 + cos πu)/2.
        case cos
        /// A straight line: start + (end − start)u.
        case linear
    }

    /// The 1cycle policy (PyTorch's `OneCycleLR`, without its momentum cycling): from
    /// max/`divFactor` up to the maximum over the first `pctStart` of the run, then down to
    /// max/(`divFactor`·`finalDivFactor`) at step `totalSteps`; with `threePhase`, back down to
    /// max/`divFactor` over a second phase as long as the first, then to the minimum. After
    /// `totalSteps` (where PyTorch stops with an error) the rate stays at its last value.
    ///
    /// - Parameters:
    ///   - totalSteps: the run's length in steps (> 0).
    ///   - maxLearningRate: the peak (PyTorch's `max_lr`); nil: each group's base rate.
    ///   - pctStart: the fraction of the run spent increasing (default 0.3).
    ///   - annealStrategy: `.cos` (default) or `.linear`.
    ///   - divFactor: initial rate = max/`divFactor` (default 25).
    ///   - finalDivFactor: final rate = initial/`finalDivFactor` (default 10⁴).
    ///   - threePhase: use the three-phase schedule (default false).
    public static func oneCycle(totalSteps: Int, maxLearningRate: Double? = nil, pctStart: Double = 0.3,
                                annealStrategy: Anneal = .cos, divFactor: Double = 25, finalDivFactor: Double = 1e4,
                                threePhase: Bool = false) -> LRSchedule {
        precondition(totalSteps > 0, "Neural: LRSchedule.oneCycle needs totalSteps > 0, got \(totalSteps)")
        precondition(pctStart > 0 && pctStart < 1, "Neural: LRSchedule.oneCycle needs pctStart in (0, 1), got \(pctStart)")
        let total = Double(totalSteps)
        @Sendable func anneal(_ start: Double, _ end: Double, _ u: Double) -> Double {
            switch annealStrategy {
            case .cos: return end + (start - end) / 2 * (Foundation.cos(Double.pi * u) + 1)
            case .linear: return (end - start) * u + start
            }
        }
        return LRSchedule { t, base in
            let peak = maxLearningRate ?? base
            let initial = peak / divFactor, minimum = initial / finalDivFactor
            // (end step, start rate, end rate) per phase, as PyTorch's _schedule_phases.
            let phases: [(Double, Double, Double)] = threePhase
                ? [(pctStart * total - 1, initial, peak), (2 * pctStart * total - 2, peak, initial), (total - 1, initial, minimum)]
                : [(pctStart * total - 1, initial, peak), (total - 1, peak, minimum)]
            let step = Double(Swift.min(t, totalSteps))
            var start = 0.0
            for (i, phase) in phases.enumerated() {
                if step <= phase.0 || i == phases.count - 1 {
                    return anneal(phase.1, phase.2, (step - start) / (phase.0 - start))
                }
                start = phase.0
            }
            return minimum
        }
    }
}
