import Foundation

/// What Adam, NAdam and RAdam share: the moment decays β₁ and β₂, ε, and whether weight decay is
/// decoupled (θ := (1 − αλ)θ) or added to the gradient (g + λθ).
public class AdaptiveMomentOptimizer: Optimizer {
    /// β₁, the decay of the first-moment estimate m.
    package let beta1: Double
    /// β₂, the decay of the second-moment estimate v.
    package let beta2: Double
    /// ε, added to the denominator.
    package let epsilon: Double
    /// Whether weight decay is decoupled from the gradient (AdamW-style).
    package let decoupledWeightDecay: Bool

    /// Checks that both betas lie in [0, 1) (naming `kind` otherwise).
    init(kind: String, _ parameters: [some ParameterGroupElement], learningRate: Double, beta1: Double, beta2: Double,
         epsilon: Double, weightDecay: Double, decoupled: Bool, schedule: LRSchedule?) {
        precondition((0..<1).contains(beta1) && (0..<1).contains(beta2), "Neural: \(kind) needs betas in [0, 1), got \(beta1), \(beta2)")
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.decoupledWeightDecay = decoupled
        super.init(parameters, learningRate: learningRate, weightDecay: weightDecay, schedule: schedule)
    }
}
