/// Binary cross-entropy on probabilities and on logits (PyTorch's `BCELoss` and
/// `BCEWithLogitsLoss`), with per-element weights and, on logits, a positive-class weight.

/// −[y·max(log p, −100) + (1 − y)·max(log(1 − p), −100)], PyTorch's clamped logarithms.
/// B: (p − y)/max(p(1 − p), 10⁻¹²)·v; ∂/∂y = −logit(p).
struct ProbabilityBCEL: ElementLoss {
    @inline(__always) func loss<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T {
        precondition(p >= 0 && p <= 1, "Neural: bceLoss needs probabilities in [0, 1] as input, got \(p); use bceWithLogitsLoss for logits")
        return (y - 1) * Swift.max(T.log1p(-p), -100) - y * Swift.max(T.log(p), -100)
    }
    @inline(__always) func dp<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T {
        (p - y) / Swift.max((1 - p) * p, T(1e-12))
    }
    @inline(__always) func dy<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T { -T.log(p / (1 - p)) }
}

/// On a logit x with positive weight π (`hasPosWeight`; else π = 1) and l = (π − 1)y + 1:
/// (1 − y)x − l·log σ(x), with log σ(x) = min(x, 0) − log(1 + e^−|x|) (exact for any x).
/// B: (l·σ(x) − π·y)·v; ∂/∂y = log σ(−x) − π·log σ(x).
struct LogitsBCEL: ElementLoss {
    let hasPosWeight: Bool
    @inline(__always) func logSigmoid<T: KernelScalar>(_ x: T) -> T { Swift.min(x, 0) - T.log1p(T.exp(-x.magnitude)) }
    @inline(__always) func loss<T: KernelScalar>(_ x: T, _ y: T, _ pw: T) -> T {
        let l = hasPosWeight ? (pw - 1) * y + 1 : 1
        return (1 - y) * x - l * logSigmoid(x)
    }
    @inline(__always) func dp<T: KernelScalar>(_ x: T, _ y: T, _ pw: T) -> T {
        guard hasPosWeight else { return SigmoidF().apply(x) - y }
        let t = pw * y
        return (t + 1 - y) * SigmoidF().apply(x) - t
    }
    @inline(__always) func dy<T: KernelScalar>(_ x: T, _ y: T, _ pw: T) -> T {
        hasPosWeight ? logSigmoid(-x) - pw * logSigmoid(x) : -x
    }
}

/// Binary cross-entropy on probabilities p ∈ [0, 1] (PyTorch's `nn.BCELoss`):
/// ℓ = −w[y log p + (1 − y) log(1 − p)], each logarithm clamped at −100 as PyTorch does, so p = 0
/// or 1 gives a finite loss. Prefer ``bceWithLogitsLoss(_:_:weight:posWeight:reduction:)`` on
/// logits: it is exact for any logit. Gradient: w(p − y)/max(p(1 − p), 10⁻¹²)·v.
///
/// - Parameters:
///   - probabilities: p, any shape, e.g. `[batch, k]`, each in [0, 1] (stops otherwise).
///   - target: y ∈ [0, 1], the same shape (differentiable too: ∂ℓ/∂y = −w·logit p).
///   - weight: w, a constant broadcast to p's shape (e.g. `[k]`); nil: 1.
///   - reduction: `.mean` (over all elements, weighted or not; default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; p's shape for `.none`.
public func bceLoss(_ probabilities: Tensor, _ target: Tensor, weight: Tensor? = nil, reduction: Reduction = .mean) -> Tensor {
    Tensor.elementLoss("bceLoss", probabilities, target, ProbabilityBCEL(), weight: weight,
                       reduction: ElementReduction(reduction, count: probabilities.count))
}

/// Binary cross-entropy on logits (PyTorch's `nn.BCEWithLogitsLoss`): with l = (π − 1)y + 1,
/// ℓ = w[(1 − y)x − l·log σ(x)], evaluated through log σ(x) = min(x, 0) − log(1 + e^−|x|), which
/// never overflows (exact at x = ±1000). π weights the positive examples (π > 1 raises recall).
/// Without `weight` and `posWeight` it is ``logisticLoss(logits:targets:reduction:)``.
/// Gradient: w(l·σ(x) − π·y)·v.
///
/// - Parameters:
///   - logits: x, any shape, e.g. `[batch, k]`.
///   - target: y ∈ [0, 1], the same shape (differentiable too).
///   - weight: w, a constant broadcast to x's shape; nil: 1.
///   - posWeight: π, a constant broadcast to x's shape, typically one per class `[k]`; nil: 1.
///   - reduction: `.mean` (over all elements; default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; x's shape for `.none`.
public func bceWithLogitsLoss(_ logits: Tensor, _ target: Tensor, weight: Tensor? = nil, posWeight: Tensor? = nil,
                              reduction: Reduction = .mean) -> Tensor {
    Tensor.elementLoss("bceWithLogitsLoss", logits, target, LogitsBCEL(hasPosWeight: posWeight != nil), aux: posWeight,
                       weight: weight, reduction: ElementReduction(reduction, count: logits.count))
}
