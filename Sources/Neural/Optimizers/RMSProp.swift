/// RMSProp (PyTorch's `torch.optim.RMSprop`): with gradient g (plus λθ for weight decay λ),
///
///     s := αₛs + (1 − αₛ)g²                      (αₛ = `smoothing`)
///     centered: ḡ := αₛḡ + (1 − αₛ)g,  d = √(s − ḡ²) + ε;  otherwise d = √s + ε
///     momentum μ > 0: b := μb + g/d, θ := θ − αb;  otherwise θ := θ − α g/d
public final class RMSProp: Optimizer {
    /// αₛ, the decay of the squared-gradient average (PyTorch's `alpha`).
    public let smoothing: Double
    /// ε, added to the denominator.
    public let epsilon: Double
    /// λ, the L2 penalty coefficient added to the gradient.
    public let weightDecay: Double
    /// μ, momentum on the normalised step.
    public let momentum: Double
    /// Whether to normalise by the estimated variance instead of the raw second moment.
    public let centered: Bool

    /// RMSProp over `parameters`; PyTorch's defaults.
    public init(_ parameters: [Parameter], learningRate: Double = 1e-2, smoothing: Double = 0.99, epsilon: Double = 1e-8,
                weightDecay: Double = 0, momentum: Double = 0, centered: Bool = false, schedule: LRSchedule? = nil) {
        self.smoothing = smoothing
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.momentum = momentum
        self.centered = centered
        super.init(parameters, learningRate: learningRate, schedule: schedule)
    }

    /// One RMSProp update of `parameter` (slots: s, then b when μ > 0, then ḡ when centered).
    public override func update(_ parameter: Parameter, index: Int, gradient: Tensor, learningRate: Double) {
        dispatch(parameter, { self.run(Float.self, parameter, index, gradient, learningRate) },
                 { self.run(Double.self, parameter, index, gradient, learningRate) })
    }

    private func run<T: KernelScalar>(_: T.Type, _ parameter: Parameter, _ index: Int, _ gradient: Tensor, _ alpha: Double) {
        let lr = T(alpha), a = T(smoothing), c = T(1 - smoothing), eps = T(epsilon), wd = T(weightDecay), mu = T(momentum)
        let useMomentum = momentum > 0, centered = self.centered
        let count = 1 + (useMomentum ? 1 : 0) + (centered ? 1 : 0)
        withBuffers(T.self, parameter, index: index, gradient: gradient, slotCount: count) { p, g, s, n in
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
