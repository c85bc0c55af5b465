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

    /// Position of the largest element along `axis` (first on ties), as values of this dtype; not
    /// differentiable. For logits `[batch, classes]`, `argmax(axis: 1)` is the predicted class, `[batch]`.
    public func argmax(axis: Int = -1, keepDims: Bool = false) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let kept = Reduce.argmax(self, axis: a)
        return keepDims ? kept : kept.reshaped(reducedShape([a], keepDims: false))
    }

    /// log Σ exp over `axes` (all when `nil`), computed stably by shifting by the maximum.
    /// B: v ⊙ softmax over the reduced axes.
    public func logsumexp(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let (lse, keptShape) = withNoGrad { () -> (Tensor, [Int]) in
            var m = Reduce.reduce(self, axes: ax, kind: .max)
            // All −∞ (or +∞) rows: shift by 0 so the result is −∞ (or +∞), not NaN.
            m = Tensor.where(m.abs() .== .infinity, Tensor(0, dtype: dtype), m)
            let s = Reduce.reduce((self - m).exp(), axes: ax, kind: .sum)
            return (s.log() + m, m.shape)
        }
        let outShape = reducedShape(ax, keepDims: keepDims)
        let out = lse.reshaped(outShape)
        let x = detached()
        return Tensor.record(out, op: "logsumexp", input: self) { v in
            v.reshaped(keptShape) * (x - lse).exp()
        }
    }

    /// Population variance (divide by n, as in LN-S, eq. 7.40) over `axes` (all when `nil`).
    public func variance(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let centered = self - mean(axes: ax, keepDims: true)
        return (centered * centered).mean(axes: ax, keepDims: keepDims)
    }

    /// softmax along `axis`: exp(x − logsumexp(x)), each slice sums to 1 (eq. 7.5).
    public func softmax(axis: Int = -1) -> Tensor { (self - logsumexp(axes: [axis], keepDims: true)).exp() }

    /// log softmax along `axis`: x − logsumexp(x), computed stably.
    public func logSoftmax(axis: Int = -1) -> Tensor { self - logsumexp(axes: [axis], keepDims: true) }
}
