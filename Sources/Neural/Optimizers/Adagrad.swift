/// Adagrad (PyTorch's `torch.optim.Adagrad`): with gradient g (plus λθ for weight decay λ), at
/// the parameter's t-th update
///
///     s := s + g²                                 (s starts at `initialAccumulatorValue`)
///     θ := θ − α/(1 + (t − 1)·η) · g / (√s + ε)   (η = `learningRateDecay`)
public final class Adagrad: Optimizer {
    /// η, the decay of the learning rate with the update count (PyTorch's `lr_decay`).
    package let learningRateDecay: Double
    /// The value the sum of squared gradients starts from (PyTorch's `initial_accumulator_value`).
    package let initialAccumulatorValue: Double
    /// ε, added to the denominator.
    package let epsilon: Double

    /// Adagrad over `parameters` (a `[Parameter]`, or a `[ParameterGroup]` with per-group learning
    /// rates and weight decay) with learning rate α, learning-rate decay η, weight decay λ (added
    /// to the gradient), the accumulator's initial value and ε; PyTorch's defaults.
    public init(_ parameters: [some ParameterGroupElement], learningRate: Double = 1e-2, learningRateDecay: Double = 0,
                weightDecay: Double = 0, initialAccumulatorValue: Double = 0, epsilon: Double = 1e-10,
                schedule: LRSchedule? = nil) {
        precondition(learningRateDecay >= 0 && initialAccumulatorValue >= 0,
                     "Neural: Adagrad needs learningRateDecay ≥ 0 and initialAccumulatorValue ≥ 0, got \(learningRateDecay), \(initialAccumulatorValue)")
        self.learningRateDecay = learningRateDecay
        self.initialAccumulatorValue = initialAccumulatorValue
        self.epsilon = epsilon
        super.init(parameters, learningRate: learningRate, weightDecay: weightDecay, schedule: schedule)
    }

    /// One Adagrad update of a parameter's value (state tensor `sum`: s).
    public override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        if state.tensors["sum"] == nil {
            state.tensors["sum"] = Tensor.zeros(like: value) + initialAccumulatorValue
        }
        dispatch(value.dtype, { self.run(Float.self, &value, gradient, &state, learningRate) },
                 { self.run(Double.self, &value, gradient, &state, learningRate) })
    }

    private func run<T: KernelScalar>(_: T.Type, _ value: inout Tensor, _ gradient: Tensor, _ state: inout ParameterState, _ alpha: Double) {
        let clr = T(alpha / (1 + Double(state.step - 1) * learningRateDecay))
        let wd = T(groupWeightDecay), decay = groupWeightDecay != 0, eps = T(epsilon)
        withBuffers(T.self, &value, gradient: gradient, state: &state, names: ["sum"]) { p, g, s, n in
            let sum = s[0]
            for i in 0..<n {
                let gi = decay ? g[i] + wd * p[i] : g[i]
                sum[i] += gi * gi
                p[i] -= clr * (gi / (sum[i].squareRoot() + eps))
            }
        }
    }
}
