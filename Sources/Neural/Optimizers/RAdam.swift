import Foundation

/// RAdam (PyTorch's `torch.optim.RAdam`): Adam whose adaptive step is switched on only once the
/// variance of the adaptive learning rate is tractable, and rectified. With gradient g (plus λθ,
/// or θ := (1 − αλ)θ when decoupled), at the t-th update
///
///     m := β₁m + (1 − β₁)g,  v := β₂v + (1 − β₂)g²,  m̂ = m/(1 − β₁ᵗ)
///     ρ∞ = 2/(1 − β₂) − 1,  ρₜ = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ)
///     ρₜ > 5: θ := θ − α·m̂·√(1 − β₂ᵗ)/(√v + ε)·rₜ,  rₜ = √((ρₜ − 4)(ρₜ − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρₜ))
///     otherwise: θ := θ − α·m̂
public final class RAdam: AdaptiveMomentOptimizer {

    /// RAdam over `parameters` (a `[Parameter]`, or a `[ParameterGroup]` with per-group learning
    /// rates and weight decay) with learning rate α, moment decays β₁ and β₂, ε and weight decay λ
    /// (added to the gradient, or decoupled); PyTorch's defaults.
    public init(_ parameters: [some ParameterGroupElement], learningRate: Double = 1e-3, beta1: Double = 0.9, beta2: Double = 0.999,
                epsilon: Double = 1e-8, weightDecay: Double = 0, decoupledWeightDecay: Bool = false, schedule: LRSchedule? = nil) {
        super.init(kind: "RAdam", parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, decoupled: decoupledWeightDecay, schedule: schedule)
    }

    /// One RAdam update of a parameter's value (state tensors `exp_avg`: m, `exp_avg_sq`: v).
    public override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        dispatch(value.dtype, { self.run(Float.self, &value, gradient, &state, learningRate) },
                 { self.run(Double.self, &value, gradient, &state, learningRate) })
    }

    private func run<T: KernelScalar>(_: T.Type, _ value: inout Tensor, _ gradient: Tensor, _ state: inout ParameterState, _ alpha: Double) {
        let t = Double(state.step)
        let bc1 = 1 - Foundation.pow(beta1, t), bc2 = 1 - Foundation.pow(beta2, t)
        let rhoInf = 2 / (1 - beta2) - 1
        let rhoT = rhoInf - 2 * t * Foundation.pow(beta2, t) / bc2
        let rectified = rhoT > 5
        let rect = rectified ? T(((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT)).squareRoot()) : 1
        let lr = T(alpha), c1 = T(bc1), sqrtBC2 = T(bc2.squareRoot())
        let b1 = T(1 - beta1), b2 = T(beta2), c2 = T(1 - beta2), eps = T(epsilon), wd = T(groupWeightDecay)
        let shrink = T(1 - alpha * groupWeightDecay), decoupled = decoupledWeightDecay, decay = groupWeightDecay != 0
        withBuffers(T.self, &value, gradient: gradient, state: &state, names: ["exp_avg", "exp_avg_sq"]) { p, g, s, n in
            let m = s[0], v = s[1]
            for i in 0..<n {
                var gi = g[i]
                if decay { if decoupled { p[i] *= shrink } else { gi += wd * p[i] } }
                m[i] += b1 * (gi - m[i])
                v[i] = b2 * v[i] + c2 * gi * gi
                let corrected = m[i] / c1
                if rectified {
                    p[i] -= corrected * lr * (sqrtBC2 / (v[i].squareRoot() + eps)) * rect
                } else {
                    p[i] -= corrected * lr
                }
            }
        }
    }
}
