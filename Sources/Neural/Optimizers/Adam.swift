import Foundation

/// Adam (PyTorch's `torch.optim.Adam`): with gradient g (plus λθ when `weightDecay` λ > 0), at the
/// parameter's t-th update
///
///     m := β₁m + (1 − β₁)g,   v := β₂v + (1 − β₂)g²
///     amsgrad: v̂ := max(v̂, v), otherwise v̂ = v
///     θ := θ − α/(1 − β₁ᵗ) · m / (√v̂ / √(1 − β₂ᵗ) + ε)
public class Adam: AdaptiveMomentOptimizer {
    /// Whether the denominator uses the running maximum of v (AMSGrad; state `max_exp_avg_sq`).
    package let amsgrad: Bool

    /// Adam over `parameters` (a `[Parameter]`, or a `[ParameterGroup]` with per-group learning
    /// rates and weight decay) with learning rate α, moment decays β₁ and β₂, ε, weight decay λ
    /// (added to the gradient as λθ) and, with `amsgrad`, the maximum of the second moments in
    /// the denominator; PyTorch's defaults.
    public convenience init(_ parameters: [some ParameterGroupElement], learningRate: Double = 1e-3, beta1: Double = 0.9,
                            beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0, amsgrad: Bool = false,
                            schedule: LRSchedule? = nil) {
        self.init(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                  weightDecay: weightDecay, decoupled: false, amsgrad: amsgrad, schedule: schedule)
    }

    init(_ parameters: [some ParameterGroupElement], learningRate: Double, beta1: Double, beta2: Double, epsilon: Double,
         weightDecay: Double, decoupled: Bool, amsgrad: Bool, schedule: LRSchedule?) {
        self.amsgrad = amsgrad
        super.init(kind: "Adam", parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, decoupled: decoupled, schedule: schedule)
    }

    /// One Adam update of a parameter's value (state tensors `exp_avg`: m, `exp_avg_sq`: v,
    /// `max_exp_avg_sq`: v̂ with AMSGrad).
    public override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        dispatch(value.dtype, { self.run(Float.self, &value, gradient, &state, learningRate) },
                 { self.run(Double.self, &value, gradient, &state, learningRate) })
    }

    private func run<T: KernelScalar>(_: T.Type, _ value: inout Tensor, _ gradient: Tensor, _ state: inout ParameterState, _ alpha: Double) {
        let t = Double(state.step)
        let stepSize = T(alpha / (1 - Foundation.pow(beta1, t)))
        let correction2 = T((1 - Foundation.pow(beta2, t)).squareRoot())
        let b1 = T(1 - beta1), b2 = T(beta2), c2 = T(1 - beta2), eps = T(epsilon), wd = T(groupWeightDecay)
        let shrink = T(1 - alpha * groupWeightDecay), decoupled = decoupledWeightDecay, amsgrad = self.amsgrad
        let names = ["exp_avg", "exp_avg_sq"] + (amsgrad ? ["max_exp_avg_sq"] : [])
        withBuffers(T.self, &value, gradient: gradient, state: &state, names: names) { p, g, s, n in
            let m = s[0], v = s[1], vmax = s[amsgrad ? 2 : 1]
            for i in 0..<n {
                var gi = g[i]
                if decoupled { p[i] *= shrink } else { gi += wd * p[i] }
                m[i] += b1 * (gi - m[i])
                v[i] = b2 * v[i] + c2 * gi * gi
                if amsgrad { vmax[i] = Swift.max(vmax[i], v[i]) }
                p[i] -= stepSize * (m[i] / (vmax[i].squareRoot() / correction2 + eps))
            }
        }
    }
}

/// AdamW (PyTorch's `torch.optim.AdamW`): Adam with decoupled weight decay, θ := (1 − αλ)θ before
/// the Adam step, instead of adding λθ to the gradient. PyTorch's default λ = 0.01.
public final class AdamW: Adam {
    /// AdamW over `parameters` (a `[Parameter]`, or a `[ParameterGroup]` with per-group learning
    /// rates and weight decay) with learning rate α, moment decays β₁ and β₂, ε, decoupled weight
    /// decay λ and AMSGrad when `amsgrad`; PyTorch's defaults.
    public init(_ parameters: [some ParameterGroupElement], learningRate: Double = 1e-3, beta1: Double = 0.9,
                beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0.01, amsgrad: Bool = false,
                schedule: LRSchedule? = nil) {
        super.init(parameters, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                   weightDecay: weightDecay, decoupled: true, amsgrad: amsgrad, schedule: schedule)
    }
}
