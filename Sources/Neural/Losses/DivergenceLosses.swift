/// The Kullback–Leibler divergence loss (PyTorch's `nn.KLDivLoss`).

/// How ``klDivLoss(_:_:reduction:logTarget:)`` combines its per-element terms (PyTorch's
/// `reduction` of `KLDivLoss`, which adds `batchmean`).
public enum KLDivReduction: Sendable, Hashable {
    /// The sum divided by the batch size (the first dimension): the true KL divergence per
    /// example, PyTorch's `batchmean`. A scalar `[]`.
    case batchMean
    /// The mean over all elements (PyTorch's default `mean`, which is not the KL divergence
    /// unless there is one class). A scalar `[]`.
    case mean
    /// The sum over all elements: a scalar `[]`.
    case sum
    /// No reduction: the per-element terms, with the input's shape.
    case none
}

/// y(log y − x) (0 where y = 0), or with a log-target u = log y: eᵘ(u − x).
/// B: −y·v or −eᵘ·v; ∂/∂y = log y + 1 − x, or eᵘ(u − x + 1).
struct KLDivL: ElementLoss {
    let logTarget: Bool
    @inline(__always) func loss<T: KernelScalar>(_ x: T, _ y: T, _: T) -> T {
        if logTarget { return T.exp(y) * (y - x) }
        return (y == 0 ? 0 : y * T.log(y)) - y * x
    }
    @inline(__always) func dp<T: KernelScalar>(_ x: T, _ y: T, _: T) -> T { logTarget ? -T.exp(y) : -y }
    @inline(__always) func dy<T: KernelScalar>(_ x: T, _ y: T, _: T) -> T {
        logTarget ? T.exp(y) * (y - x + 1) : T.log(y) + 1 - x
    }
}

/// Kullback–Leibler divergence loss (PyTorch's `nn.KLDivLoss` and `F.kl_div`): the input is
/// log-probabilities x = log q, the target probabilities y (or their logarithms with
/// `logTarget`), and each element contributes y(log y − x) — so that with ``KLDivReduction/batchMean``
/// the result is KL(y ‖ q) per example. Terms with y = 0 contribute 0. Gradient: −y·v.
///
/// - Parameters:
///   - logProbabilities: x = log q, e.g. `[batch, k]` from ``Tensor/logSoftmax(axis:)``.
///   - target: y (or log y with `logTarget`), the same shape (differentiable too).
///   - reduction: `.mean` (PyTorch's default: over all elements), `.batchMean` (over the first
///     dimension: the KL divergence), `.sum` or `.none`.
///   - logTarget: whether `target` holds log-probabilities (PyTorch's `log_target`).
/// - Returns: `[]`, or x's shape for `.none`.
public func klDivLoss(_ logProbabilities: Tensor, _ target: Tensor, reduction: KLDivReduction = .mean,
                      logTarget: Bool = false) -> Tensor {
    let r: ElementReduction
    switch reduction {
    case .none: r = .none
    case .sum: r = .sum
    case .mean: r = .mean(divisor: logProbabilities.count)
    case .batchMean: r = .mean(divisor: logProbabilities.rank == 0 ? 1 : logProbabilities.shape[0])
    }
    return Tensor.elementLoss("klDivLoss", logProbabilities, target, KLDivL(logTarget: logTarget), reduction: r)
}
