/// RMSProp (PyTorch's `torch.optim.RMSprop`): with gradient g (plus λθ for weight decay λ),
///
///     s := αₛs + (1 − αₛ)g²                      (αₛ = `smoothing`)
///     centered: ḡ := αₛḡ + (1 − αₛ)g,  d = √(s − ḡ²) + ε;  otherwise d = √s + ε
///     momentum μ > 0: b := μb + g/d, θ := θ − αb;  otherwise θ := θ − α g/d
public final class RMSProp: Optimizer {
    /// αₛ, the decay of the squared-gradient average (PyTorch's `alpha`).
    package let smoothing: Double
    /// ε, added to the denominator.
    package let epsilon: Double
    /// μ, momentum on the normalised step.
    package let momentum: Double
    /// Whether to normalise by the estimated variance instead of the raw second moment.
    package let centered: Bool

    /// RMSProp over `parameters` with learning rate α, smoothing αₛ, ε, weight decay λ (added to
    /// the gradient), momentum μ and, when `centered`, normalisation by the estimated variance;
    /// PyTorch's defaults.
    ///
    /// `parameters`: a `[Parameter]` or a `[ParameterGroup]` (per-group learning rate and λ).
    public init(_ parameters: [some ParameterGroupElement], learningRate: Double = 1e-2, smoothing: Double = 0.99, epsilon: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, schedule: LRSchedule? = nil) {
        self.smoothing = smoothing
        self.epsilon = epsilon
        self.momentum = momentum
        self.centered = centered
        super.init(parameters, learningRate: learningRate, weightDecay: weightDecay, schedule: schedule)
    }

    /// One RMSProp update of a parameter's value (state tensors `square_avg`: s, `momentum_buffer`:
    /// b when μ > 0, `grad_avg`: ḡ when centered).
    public override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        dispatch(value.dtype, { self.run(Float.self, &value, gradient, &state, learningRate) },
                 { self.run(Double.self, &value, gradient, &state, learningRate) })
    }

    private func run<T: KernelScalar>(_: T.Type, _ value: inout Tensor, _ gradient: Tensor, _ state: inout ParameterState, _ alpha: Double) {
        let lr = T(alpha), a = T(smoothing), c = T(1 - smoothing), eps = T(epsilon), wd = T(groupWeightDecay), mu = T(momentum)
        let useMomentum = momentum > 0, centered = self.centered
        let names = ["square_avg"] + (useMomentum ? ["momentum_buffer"] : []) + (centered ? ["grad_avg"] : [])
        let count = names.count
        withBuffers(T.self, &value, gradient: gradient, state: &state, names: names) { p, g, s, n in
            let sq = s[0], buf = useMomentum ? s[1] : s[0], avg = centered ? s[count - 1] : s[0]
            for i in 0..<n {
                let gi = g[i] + wd * p[i]
                sq[i] = a * sq[i] + c * gi * gi
                var d: T
                if centered {
                    avg[i] = a * avg[i] + c * gi
                    d = (sq[i] - avg[i] * avg[i]).squareRoot() + eps
                } else {
                    d = sq[i].squareRoot() + eps
                }
                if useMomentum {
                    buf[i] = mu * buf[i] + gi / d
                    p[i] -= lr * buf[i]
                } else {
                    p[i] -= lr * gi / d
                }
            }
        }
    }
}
