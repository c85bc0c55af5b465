/// The losses of §7.1 (eq. 7.1–7.6) with their backward functions (eq. 7.70–7.71): each is one
/// fused forward pass and one fused backward pass in closed form, computed stably for any logit.
///
/// Every loss takes the model's raw output first (logits for the classification losses, never
/// probabilities) and reduces the per-example losses J⁽ⁱ⁾ with a ``Reduction``: by default their
/// mean J(θ) = (1/n) Σᵢ J⁽ⁱ⁾(θ) (eq. 7.2), as PyTorch does.

/// How per-element losses are combined into the returned tensor.
public enum Reduction: Sendable, Hashable {
    /// The mean over all elements (over the batch for cross-entropy): a scalar `[]` (eq. 7.2).
    case mean
    /// The sum over all elements: a scalar `[]`.
    case sum
    /// No reduction: the per-element losses, with the prediction's shape (`[batch]` for cross-entropy).
    case none
}

/// A per-element loss ℓ(p, y) with its two partial derivatives, evaluated in each dtype.
protocol PointwiseLoss {
    func loss<T: KernelScalar>(_ p: T, _ y: T) -> T
    /// ∂ℓ/∂p.
    func dp<T: KernelScalar>(_ p: T, _ y: T) -> T
    /// ∂ℓ/∂y.
    func dy<T: KernelScalar>(_ p: T, _ y: T) -> T
}

/// ½(p − y)² (eq. 7.1). B: (p − y)·v (B7).
struct HalfSquaredErrorL: PointwiseLoss {
    @inline(__always) func loss<T: KernelScalar>(_ p: T, _ y: T) -> T { (p - y) * (p - y) / 2 }
    @inline(__always) func dp<T: KernelScalar>(_ p: T, _ y: T) -> T { p - y }
    @inline(__always) func dy<T: KernelScalar>(_ p: T, _ y: T) -> T { y - p }
}

/// (p − y)² (PyTorch's `MSELoss`). B: 2(p − y)·v.
struct SquaredErrorL: PointwiseLoss {
    @inline(__always) func loss<T: KernelScalar>(_ p: T, _ y: T) -> T { (p - y) * (p - y) }
    @inline(__always) func dp<T: KernelScalar>(_ p: T, _ y: T) -> T { 2 * (p - y) }
    @inline(__always) func dy<T: KernelScalar>(_ p: T, _ y: T) -> T { 2 * (y - p) }
}

/// Logistic loss on a logit t (eq. 7.4): −y log σ(t) − (1 − y) log(1 − σ(t))
/// = max(t, 0) − t·y + log(1 + e^−|t|), which never exponentiates a positive number.
/// B: (σ(t) − y)·v (eq. 7.70); ∂/∂y = −t.
struct LogisticL: PointwiseLoss {
    @inline(__always) func loss<T: KernelScalar>(_ t: T, _ y: T) -> T {
        Swift.max(t, 0) - t * y + T.log1p(T.exp(-t.magnitude))
    }
    @inline(__always) func dp<T: KernelScalar>(_ t: T, _ y: T) -> T { SigmoidF().apply(t) - y }
    @inline(__always) func dy<T: KernelScalar>(_ t: T, _ y: T) -> T { -t }
}

/// Poisson negative log-likelihood with a log-rate η = log λ (the exponential-family recipe, S4):
/// e^η − y·η, dropping the constant log y!; with `full`, Stirling's approximation
/// y log y − y + ½ log(2πy) of log y! is added where y > 1 (as PyTorch's `full=True`).
struct PoissonL: PointwiseLoss {
    let full: Bool
    @inline(__always) func loss<T: KernelScalar>(_ eta: T, _ y: T) -> T {
        var l = T.exp(eta) - y * eta
        if full && y > 1 { l += y * T.log(y) - y + T.log(2 * T.pi * y) / 2 }
        return l
    }
    @inline(__always) func dp<T: KernelScalar>(_ eta: T, _ y: T) -> T { T.exp(eta) - y }
    @inline(__always) func dy<T: KernelScalar>(_ eta: T, _ y: T) -> T {
        full && y > 1 ? -eta + T.log(y) + 1 / (2 * y) : -eta
    }
}

extension Tensor {
    /// Applies a ``PointwiseLoss`` to same-shape `p` and `y`, reduces, and records one backward
    /// function computing ∂ℓ/∂p ⊙ v and ∂ℓ/∂y ⊙ v in a single pass each.
    static func pointwiseLoss<L: PointwiseLoss>(_ name: String, _ p: Tensor, _ y: Tensor, _ l: L,
                                                reduction: Reduction) -> Tensor {
        precondition(p.shape == y.shape,
                     "Neural: \(name): prediction of shape \(p.shape) and target of shape \(y.shape) must have the same shape")
        let y = y.dtype == p.dtype ? y : y.to(p.dtype)
        let pc = p.detached().contiguous(), yc = y.detached().contiguous()
        let n = pc.count
        let perElement = Tensor(uninitialized: pc.shape, dtype: pc.dtype)
        var total = 0.0
        func forward<T: KernelScalar>(_: T.Type) {
            let a = pc.pointer(T.self), b = yc.pointer(T.self), o = perElement.pointer(T.self)
            for i in 0..<n { o[i] = l.loss(a[i], b[i]); total += Double(o[i]) }
        }
        withExtendedLifetime((pc, yc)) {
            switch pc.dtype {
            case .float32: forward(Float.self)
            case .float64: forward(Double.self)
            case .int32, .int64: pc.dtype.floatOnly("this loss")
            }
        }
        let out: Tensor
        switch reduction {
        case .none: out = perElement
        case .sum: out = Tensor(total, dtype: pc.dtype)
        case .mean: out = Tensor(total / Double(Swift.max(n, 1)), dtype: pc.dtype)
        }
        let scale = reduction == .mean ? 1 / Double(Swift.max(n, 1)) : 1
        return record(out, op: name, inputs: [p, y]) { v, needs in
            let vc = v.contiguous()
            func grad(_ wrtPrediction: Bool) -> Tensor {
                let g = Tensor(uninitialized: pc.shape, dtype: pc.dtype)
                func run<T: KernelScalar>(_: T.Type) {
                    let a = pc.pointer(T.self), b = yc.pointer(T.self), d = g.pointer(T.self), w = vc.pointer(T.self)
                    let perElementSeed = vc.count == n && reduction == .none
                    let s = T(scale)
                    for i in 0..<n {
                        let vi = perElementSeed ? w[i] : w[0] * s
                        d[i] = (wrtPrediction ? l.dp(a[i], b[i]) : l.dy(a[i], b[i])) * vi
                    }
                }
                withExtendedLifetime((pc, yc, vc)) {
                    switch pc.dtype {
                    case .float32: run(Float.self)
                    case .float64: run(Double.self)
                    case .int32, .int64: pc.dtype.floatOnly("this loss")
                    }
                }
                return g
            }
            return [needs[0] ? grad(true) : nil, needs[1] ? grad(false) : nil]
        }
    }
}

/// Squared error in the notes' form ½(h − y)² (eq. 7.1; S1), reduced by `reduction` (mean by
/// default, giving J(θ) of eq. 7.2). Its gradient is (h − y)·v (B7).
///
/// - Parameters:
///   - prediction: h(x), any shape, e.g. `[batch, 1]` or `[batch, k]`.
///   - target: y, the same shape.
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; the prediction's shape for `.none`.
public func halfMSELoss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    Tensor.pointwiseLoss("halfMSELoss", prediction, target, HalfSquaredErrorL(), reduction: reduction)
}

/// Mean squared error in the usual form (h − y)², as PyTorch's `nn.MSELoss`: twice
/// ``halfMSELoss(_:_:reduction:)``.
///
/// - Parameters:
///   - prediction: h(x), any shape.
///   - target: y, the same shape.
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; the prediction's shape for `.none`.
public func mseLoss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    Tensor.pointwiseLoss("mseLoss", prediction, target, SquaredErrorL(), reduction: reduction)
}

/// Logistic loss on logits (eq. 7.4; S2): ℓ(t, y) = −y log σ(t) − (1 − y) log(1 − σ(t)) with
/// σ(t) = 1/(1 + e^−t), evaluated as max(t, 0) − t·y + log(1 + e^−|t|) so that it is exact for
/// any |t| (no overflow at t = ±1000). Same as PyTorch's `BCEWithLogitsLoss`. Its gradient is
/// (σ(t) − y)·v (eq. 7.70).
///
/// - Parameters:
///   - logits: t = h̄(x), any shape (typically `[batch]` or `[batch, 1]`).
///   - targets: y ∈ [0, 1] (labels 0/1 or soft targets), the same shape. Differentiable too (∂ℓ/∂y = −t).
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; the logits' shape for `.none`.
public func logisticLoss(logits: Tensor, targets: Tensor, reduction: Reduction = .mean) -> Tensor {
    Tensor.pointwiseLoss("logisticLoss", logits, targets, LogisticL(), reduction: reduction)
}

/// Poisson negative log-likelihood for counts (S4: the exponential-family recipe after eq. 7.6),
/// with the model predicting the log-rate η = log λ: ℓ(η, y) = e^η − y·η, as PyTorch's
/// `PoissonNLLLoss(log_input=True, full=False)`. With `full`, Stirling's approximation of log y!
/// (y log y − y + ½ log 2πy, for y > 1) is added. Gradient: (e^η − y)·v.
///
/// - Parameters:
///   - logRate: η, any shape.
///   - counts: y ≥ 0, the same shape.
///   - full: add Stirling's approximation of log y!.
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; `logRate`'s shape for `.none`.
public func poissonNLLLoss(logRate: Tensor, counts: Tensor, full: Bool = false, reduction: Reduction = .mean) -> Tensor {
    Tensor.pointwiseLoss("poissonNLLLoss", logRate, counts, PoissonL(full: full), reduction: reduction)
}
