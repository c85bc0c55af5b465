/// The robust regression losses: absolute error, smooth L1 and Huber (PyTorch's `L1Loss`,
/// `SmoothL1Loss` and `HuberLoss`), on a difference d = p − y.

/// |d|. B: sign(d)·v (0 at d = 0, as PyTorch).
struct AbsoluteErrorL: ElementLoss {
    @inline(__always) func loss<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T { (p - y).magnitude }
    @inline(__always) func dp<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T { p > y ? 1 : (p < y ? -1 : 0) }
    @inline(__always) func dy<T: KernelScalar>(_ p: T, _ y: T, _ a: T) -> T { -dp(p, y, a) }
}

/// Smooth L1 with threshold β: ½d²/β where |d| < β, else |d| − ½β (β = 0: |d|).
struct SmoothL1L: ElementLoss {
    let beta: Double
    @inline(__always) func loss<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T {
        let d = p - y, b = T(beta)
        return d.magnitude < b ? d * d / 2 / b : d.magnitude - b / 2
    }
    @inline(__always) func dp<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T {
        let d = p - y, b = T(beta)
        return d.magnitude < b ? d / b : (d > 0 ? 1 : (d < 0 ? -1 : 0))
    }
    @inline(__always) func dy<T: KernelScalar>(_ p: T, _ y: T, _ a: T) -> T { -dp(p, y, a) }
}

/// Huber with threshold δ: ½d² where |d| < δ, else δ(|d| − ½δ).
struct HuberL: ElementLoss {
    let delta: Double
    @inline(__always) func loss<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T {
        let d = p - y, c = T(delta)
        return d.magnitude < c ? d * d / 2 : c * (d.magnitude - c / 2)
    }
    @inline(__always) func dp<T: KernelScalar>(_ p: T, _ y: T, _: T) -> T {
        let d = p - y, c = T(delta)
        return d < -c ? -c : (d > c ? c : d)
    }
    @inline(__always) func dy<T: KernelScalar>(_ p: T, _ y: T, _ a: T) -> T { -dp(p, y, a) }
}

/// Mean absolute error |h − y| (PyTorch's `nn.L1Loss`). Its gradient is sign(h − y)·v, 0 where
/// h = y.
///
/// - Parameters:
///   - prediction: h, any shape, e.g. `[batch, k]`.
///   - target: y, the same shape (differentiable too).
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; the prediction's shape for `.none`.
public func l1Loss(_ prediction: Tensor, _ target: Tensor, reduction: Reduction = .mean) -> Tensor {
    Tensor.elementLoss("l1Loss", prediction, target, AbsoluteErrorL(),
                       reduction: ElementReduction(reduction, count: prediction.count))
}

/// Smooth L1 loss (PyTorch's `nn.SmoothL1Loss`): with d = h − y, ½d²/β where |d| < β and
/// |d| − ½β elsewhere; β = 0 gives ``l1Loss(_:_:reduction:)``. Gradient: d/β or sign(d), times v.
///
/// - Parameters:
///   - prediction: h, any shape.
///   - target: y, the same shape (differentiable too).
///   - beta: β ≥ 0, where the quadratic part ends (PyTorch's default 1).
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; the prediction's shape for `.none`.
public func smoothL1Loss(_ prediction: Tensor, _ target: Tensor, beta: Double = 1, reduction: Reduction = .mean) -> Tensor {
    precondition(beta >= 0, "Neural: smoothL1Loss needs beta ≥ 0, got \(beta)")
    if beta == 0 { return l1Loss(prediction, target, reduction: reduction) }
    return Tensor.elementLoss("smoothL1Loss", prediction, target, SmoothL1L(beta: beta),
                              reduction: ElementReduction(reduction, count: prediction.count))
}

/// Huber loss (PyTorch's `nn.HuberLoss`): with d = h − y, ½d² where |d| < δ and δ(|d| − ½δ)
/// elsewhere, i.e. δ times ``smoothL1Loss(_:_:beta:reduction:)`` with β = δ. Gradient: d clamped
/// to [−δ, δ], times v.
///
/// - Parameters:
///   - prediction: h, any shape.
///   - target: y, the same shape (differentiable too).
///   - delta: δ > 0, where the quadratic part ends (PyTorch's default 1).
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; the prediction's shape for `.none`.
public func huberLoss(_ prediction: Tensor, _ target: Tensor, delta: Double = 1, reduction: Reduction = .mean) -> Tensor {
    precondition(delta > 0, "Neural: huberLoss needs delta > 0, got \(delta)")
    return Tensor.elementLoss("huberLoss", prediction, target, HuberL(delta: delta),
                              reduction: ElementReduction(reduction, count: prediction.count))
}
