import Foundation

/// NAdam (PyTorch's `torch.optim.NAdam`): Adam with Nesterov momentum and Dozat's momentum
/// schedule. With gradient g (plus λθ, or θ := (1 − αλ)θ when decoupled), at the t-th update
///
///     μₜ = β₁(1 − ½·0.96^(tψ)),  Πₜ = μ₁⋯μₜ          (ψ = `momentumDecay`)
///     m := β₁m + (1 − β₁)g,  v := β₂v + (1 − β₂)g²,  d = √(v / (1 − β₂ᵗ)) + ε
///     θ := θ − α(1 − μₜ)/(1 − Πₜ) · g/d − αμₜ₊₁/(1 − Πₜμₜ₊₁) · m/d
///
/// Πₜ (PyTorch's `mu_product`) is a function of t, so it is recomputed from the update count
/// (with PyTorch's sequence of roundings) rather than stored.
public final class NAdam: AdaptiveMomentOptimizer {
    /// ψ, the momentum schedule's decay (PyTorch's `momentum_decay`).
    package let momentumDecay: Double
    /// Πₜ for t = 0, 1, …, extended as updates need them.
    private var muProducts: [Double] = [1]

    /// NAdam over `parameters` (a `[Parameter]`, or a `[ParameterGroup]` with per-group learning
    /// rates and weight decay) with learning rate α, moment decays β₁ and β₂, ε, weight decay λ
    /// (added to the gradient, or decoupled), and momentum decay ψ; PyTorch's defaults.
    public init(_ parameters: [some ParameterGroupElement], learningRate: Double = 2e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Double = 0, momentumDecay: Double = 4e-3,
                decoupledWeightDecay: Bool = false, schedule: LRSchedule? = nil) {
        precondition(momentumDecay >= 0, "Neural: NAdam needs momentumDecay ≥ 0, got \(momentumDecay)")
        self.momentumDecay = momentumDecay
        super.init(kind: "NAdam", parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, decoupled: decoupledWeightDecay, schedule: schedule)
    }

    /// μₜ.
    private func mu(_ t: Int) -> Double { beta1 * (1 - 0.5 * Foundation.pow(0.96, Double(t) * momentumDecay)) }

    /// Πₜ.
    private func muProduct(_ t: Int) -> Double {
        while muProducts.count <= t { muProducts.append(muProducts[muProducts.count - 1] * mu(muProducts.count)) }
        return muProducts[t]
    }

    /// One NAdam update of a parameter's value (state tensors `exp_avg`: m, `exp_avg_sq`: v).
    public override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        dispatch(value.dtype, { self.run(Float.self, &value, gradient, &state, learningRate) },
                 { self.run(Double.self, &value, gradient, &state, learningRate) })
    }

    private func run<T: KernelScalar>(_: T.Type, _ value: inout Tensor, _ gradient: Tensor, _ state: inout ParameterState, _ alpha: Double) {
        let t = state.step
        let correction2 = T(1 - Foundation.pow(beta2, Double(t)))
        let mu = self.mu(t), muNext = self.mu(t + 1), product = muProduct(t)
        let gradStep = T(-alpha * (1 - mu) / (1 - product)), avgStep = T((-alpha * muNext) / (1 - product * muNext))
        let b1 = T(1 - beta1), b2 = T(beta2), c2 = T(1 - beta2), eps = T(epsilon), wd = T(groupWeightDecay)
        let shrink = T(1 - alpha * groupWeightDecay), decoupled = decoupledWeightDecay, decay = groupWeightDecay != 0
        withBuffers(T.self, &value, gradient: gradient, state: &state, names: ["exp_avg", "exp_avg_sq"]) { p, g, s, n in
            let m = s[0], v = s[1]
            for i in 0..<n {
                var gi = g[i]
                if decay { if decoupled { p[i] *= shrink } else { gi += wd * p[i] } }
                m[i] += b1 * (gi - m[i])
                v[i] = b2 * v[i] + c2 * gi * gi
                let d = (v[i] / correction2).squareRoot() + eps
                p[i] += gradStep * (gi / d)
                p[i] += avgStep * (m[i] / d)
            }
        }
    }
}
