import CNeuralKernels

/// Stochastic gradient descent, θ := θ − α∇J (eq. 7.8–7.10), with PyTorch's `torch.optim.SGD`
/// options. With gradient g, weight decay λ, momentum μ and dampening τ, each step computes
///
///     d = g + λθ
///     b = d on the first step, else μb + (1 − τ)d     (only when μ ≠ 0)
///     d = d + μb (Nesterov) or b
///     θ := θ − αd
///
/// Which examples the gradient comes from (full batch, Algorithm 1 or 2) is the sampler's business:
/// see ``FullBatchSampler``, ``UniformSampler`` and ``ShuffledBatchSampler``.
public final class SGD: Optimizer {
    /// μ (0: plain gradient descent).
    package let momentum: Double
    /// τ, the fraction of the new gradient left out of the momentum buffer.
    package let dampening: Double
    /// Whether to use Nesterov momentum (needs μ > 0 and τ = 0).
    package let nesterov: Bool

    /// SGD over `parameters` with step size `learningRate` (α), momentum μ, dampening τ, Nesterov
    /// momentum (needs μ > 0 and τ = 0) and weight decay λ (the L2 penalty coefficient).
    /// `parameters`: a `[Parameter]` or a `[ParameterGroup]` (per-group learning rate and λ).
    public init(_ parameters: [some ParameterGroupElement], learningRate: Double, momentum: Double = 0, dampening: Double = 0,
                nesterov: Bool = false, weightDecay: Double = 0, schedule: LRSchedule? = nil) {
        precondition(!nesterov || (momentum > 0 && dampening == 0), "Neural: Nesterov momentum needs momentum > 0 and dampening 0")
        self.momentum = momentum
        self.dampening = dampening
        self.nesterov = nesterov
        super.init(parameters, learningRate: learningRate, weightDecay: weightDecay, schedule: schedule)
    }

    /// One SGD update of a parameter's value (state tensor `momentum_buffer`: b, when μ ≠ 0).
    public override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        dispatch(value.dtype, { self.run(Float.self, &value, gradient, &state, learningRate) },
                 { self.run(Double.self, &value, gradient, &state, learningRate) })
    }

    private func run<T: KernelScalar>(_: T.Type, _ value: inout Tensor, _ gradient: Tensor, _ state: inout ParameterState, _ alpha: Double) {
        let first = state.tensors["momentum_buffer"] == nil
        let lr = T(alpha), wd = T(groupWeightDecay), mu = T(momentum), keep = T(1 - dampening)
        let useMomentum = momentum != 0, nesterov = self.nesterov
        let decay = groupWeightDecay != 0
        withBuffers(T.self, &value, gradient: gradient, state: &state, names: useMomentum ? ["momentum_buffer"] : []) { p, g, s, n in
            // Branch-free loops per configuration (they vectorise); same arithmetic as the general one.
            if !useMomentum {
                if decay {
                    for i in 0..<n { p[i] -= lr * (g[i] + wd * p[i]) }
                } else if T.self == Float.self {
                    nk_sgd_f32(UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self),
                               UnsafeRawPointer(g).assumingMemoryBound(to: Float.self), Float(alpha), n)
                } else {
                    for i in 0..<n { p[i] -= lr * g[i] }
                }
                return
            }
            let buf = s[0]
            for i in 0..<n {
                let d = decay ? g[i] + wd * p[i] : g[i]
                let b = first ? d : mu * buf[i] + keep * d
                buf[i] = b
                p[i] -= lr * (nesterov ? d + mu * b : b)
            }
        }
    }
}
