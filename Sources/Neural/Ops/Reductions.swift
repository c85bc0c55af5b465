/// Reductions over any set of axes, with or without keeping the reduced dimensions (as size 1):
/// sum, mean, max/min/argmax, logsumexp, population variance; softmax and log-softmax.
extension Tensor {
    private func reducedShape(_ axes: [Int], keepDims: Bool) -> [Int] {
        keepDims ? shape.enumerated().map { axes.contains($0.offset) ? 1 : $0.element }
                 : shape.enumerated().filter { !axes.contains($0.offset) }.map(\.element)
    }

    private func normalizedAxes(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { Shape.normalize($0, rank: rank) })).sorted()
    }

    /// Sum over `axes` (all axes when `nil`). B: v broadcast back over the reduced axes.
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let kept = Reduce.reduce(self, axes: ax, kind: .sum)
        let out = keepDims ? kept : kept.withLayout(shape: reducedShape(ax, keepDims: false),
                                                    strides: Shape.contiguousStrides(reducedShape(ax, keepDims: false)), offset: 0)
        let shape = self.shape, keptShape = kept.shape
        return Tensor.record(out, op: "sum", input: self) { v in
            v.reshaped(keptShape).broadcast(to: shape).contiguous()
        }
    }

    /// Sum over one axis.
    public func sum(axis: Int, keepDims: Bool = false) -> Tensor { sum(axes: [axis], keepDims: keepDims) }

    /// Mean over `axes` (all axes when `nil`). B: v / n broadcast back.
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let n = ax.reduce(1) { $0 * shape[$1] }
        return sum(axes: ax, keepDims: keepDims) / Double(Swift.max(n, 1))
    }

    /// Mean over one axis.
    public func mean(axis: Int, keepDims: Bool = false) -> Tensor { mean(axes: [axis], keepDims: keepDims) }

    /// Largest element over `axes` (all when `nil`); NaN propagates. B: v shared evenly among the
    /// elements that attain the maximum.
    public func max(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let kept = Reduce.reduce(self, axes: ax, kind: .max)
        let outShape = reducedShape(ax, keepDims: keepDims)
        let out = kept.withLayout(shape: outShape, strides: Shape.contiguousStrides(outShape), offset: 0)
        let x = detached(), m = kept
        return Tensor.record(out, op: "max", input: self) { v in
            let mask = x .== m
            let ties = mask.sum(axes: ax, keepDims: true)
            return mask * (v.reshaped(m.shape) / ties)
        }
    }

    /// Largest element along one axis.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor { max(axes: [axis], keepDims: keepDims) }

    /// Smallest element over `axes` (all when `nil`).
    public func min(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor { -((-self).max(axes: axes, keepDims: keepDims)) }

    /// Smallest element along one axis.
    public func min(axis: Int, keepDims: Bool = false) -> Tensor { min(axes: [axis], keepDims: keepDims) }

    /// Position of the largest element along `axis` (first on ties; a NaN counts as largest), as an
    /// ``DType/int64`` tensor, as `torch.argmax`; not differentiable. For logits `[batch, classes]`,
    /// `argmax(axis: 1)` is the predicted class, `[batch]` (`[batch, 1]` with `keepDims`).
    public func argmax(axis: Int = -1, keepDims: Bool = false) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let kept = Reduce.argmax(self, axis: a)
        return keepDims ? kept : kept.reshaped(reducedShape([a], keepDims: false))
    }

    /// Position of the smallest element along `axis` (first on ties; a NaN counts as smallest), as an
    /// ``DType/int64`` tensor, as `torch.argmin`; not differentiable. `[..., n, ...]` → the shape
    /// without `axis` (size 1 there with `keepDims`).
    public func argmin(axis: Int = -1, keepDims: Bool = false) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let kept = Reduce.argmax(self, axis: a, smallest: true)
        return keepDims ? kept : kept.reshaped(reducedShape([a], keepDims: false))
    }

    /// The maximum over `axes` (kept as size 1) with ±∞ replaced by 0: the shift that makes
    /// exp(x − m) safe. All −∞ (or +∞) slices are shifted by 0 so results are −∞ (or +∞), not NaN.
    /// A constant: no history.
    private func stableShift(_ axes: [Int]) -> Tensor {
        withNoGrad {
            let m = Reduce.reduce(self, axes: axes, kind: .max)
            return Tensor.where(m.abs() .== .infinity, Tensor(0, dtype: dtype), m)
        }
    }

    /// log Σ exp over `axes` (all when `nil`), computed stably by shifting by the maximum.
    /// B: v ⊙ softmax over the reduced axes, formed as exp(x − m) / Σ exp(x − m) so that it is
    /// accurate even when the result is large (in Float32, exp(x − lse) loses |lse|·ε).
    public func logsumexp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let m = stableShift(ax)
        let (lse, e, s) = withNoGrad { () -> (Tensor, Tensor, Tensor) in
            let e = (self - m).exp()
            let s = Reduce.reduce(e, axes: ax, kind: .sum)
            return (s.log() + m, e, s)
        }
        let out = lse.reshaped(reducedShape(ax, keepDims: keepDims))
        return Tensor.record(out, op: "logsumexp", input: self) { v in
            v.reshaped(s.shape) * (e / s)
        }
    }

    /// Population variance (divide by n, as in LN-S, eq. 7.40) over `axes` (all when `nil`).
    public func variance(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let centered = self - mean(axes: ax, keepDims: true)
        return (centered * centered).mean(axes: ax, keepDims: keepDims)
    }

    /// Population variance along one axis.
    public func variance(axis: Int, keepDims: Bool = false) -> Tensor { variance(axes: [axis], keepDims: keepDims) }

    /// softmax along `axis`: exp(log softmax(x)), each slice sums to 1 (eq. 7.5).
    public func softmax(axis: Int = -1) -> Tensor { logSoftmax(axis: axis).exp() }

    /// log softmax along `axis`: (x − m) − log Σ exp(x − m) with m the (constant) maximum along
    /// `axis`, computed stably and accurately: after the shift no exponent exceeds 0 and the log
    /// term is small, so large logits lose no precision. The shift cancels, so gradients are exact.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let shifted = self - stableShift([a])
        return shifted - shifted.exp().sum(axes: [a], keepDims: true).log()
    }
}
