/// Reshaping and re-viewing: reshape, permute/transpose, squeeze/unsqueeze, broadcast. Views share
/// storage (no copy); the backward of each maps v back to the input's layout.
extension Tensor {
    /// The same elements with a new shape (one entry may be −1, inferred). A view when the tensor
    /// is contiguous, a copy otherwise. B: v reshaped back.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var shape = newShape
        let known = shape.filter { $0 != -1 }.reduce(1, *)
        if let i = shape.firstIndex(of: -1) {
            precondition(shape.filter({ $0 == -1 }).count == 1 && known > 0 && count % known == 0,
                         "Neural: cannot reshape \(self.shape) (\(count) elements) to \(newShape)")
            shape[i] = count / known
        }
        precondition(Shape.count(shape) == count, "Neural: cannot reshape \(self.shape) (\(count) elements) to \(newShape)")
        if shape == self.shape { return self }
        let src = contiguous()
        let out = src.withLayout(shape: shape, strides: Shape.contiguousStrides(shape), offset: src.offset)
        let original = self.shape
        return Tensor.record(out, op: "reshape", input: self) { v in v.reshaped(original) }
    }

    /// Flattens dimensions `start...end` into one (defaults: all but the batch dimension 0, like `nn.Flatten`).
    public func flattened(from start: Int = 1, through end: Int = -1) -> Tensor {
        if rank == 0 { return reshaped([1]) }
        let s = Shape.normalize(start, rank: rank), e = Shape.normalize(end, rank: rank)
        if s >= e { return self }
        return reshaped(Array(shape[..<s]) + [Shape.count(Array(shape[s...e]))] + Array(shape[(e + 1)...]))
    }

    /// Reorders dimensions: result dimension i is input dimension `dims[i]`. A view. B: v permuted back.
    public func permuted(_ dims: [Int]) -> Tensor {
        let dims = dims.map { Shape.normalize($0, rank: rank) }
        precondition(dims.count == rank && Set(dims).count == rank,
                     "Neural: permutation \(dims) does not fit a tensor of shape \(shape)")
        if dims == Array(0..<rank) { return self }
        let out = withLayout(shape: dims.map { shape[$0] }, strides: dims.map { strides[$0] }, offset: offset)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, d) in dims.enumerated() { inverse[d] = i }
        return Tensor.record(out, op: "permute", input: self) { v in v.permuted(inverse) }
    }

    /// Swaps dimensions `a` and `b`. A view.
    public func transposed(_ a: Int, _ b: Int) -> Tensor {
        var dims = Array(0..<rank)
        dims.swapAt(Shape.normalize(a, rank: rank), Shape.normalize(b, rank: rank))
        return permuted(dims)
    }

    /// The matrix transpose: swaps the last two dimensions (a batch of matrices stays a batch).
    /// A view: `matmul` reads it without copying.
    public func transposed() -> Tensor {
        precondition(rank >= 2, "Neural: transposed() needs at least 2 dimensions, got shape \(shape)")
        return transposed(-1, -2)
    }

    /// Removes dimension `axis`, which must have size 1; with no axis, every size-1 dimension.
    public func squeezed(_ axis: Int? = nil) -> Tensor {
        if let axis {
            let a = Shape.normalize(axis, rank: rank)
            precondition(shape[a] == 1, "Neural: cannot squeeze dimension \(axis) of size \(shape[a]) (shape \(shape))")
            var s = shape
            s.remove(at: a)
            return reshaped(s)
        }
        return reshaped(shape.filter { $0 != 1 })
    }

    /// Inserts a size-1 dimension at `axis` (−1 appends).
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        precondition(a >= 0 && a <= rank, "Neural: unsqueeze axis \(axis) out of range for shape \(shape)")
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// A view that repeats size-1 (and missing leading) dimensions to `target` without copying
    /// (stride 0), as broadcasting does (eq. 7.83). B: v summed back to this shape.
    public func broadcast(to target: [Int]) -> Tensor {
        if target == shape { return self }
        precondition(Shape.broadcast(shape, target, op: "broadcast(to:)") == target,
                     "Neural: cannot broadcast shape \(shape) to \(target)")
        let out = withLayout(shape: target, strides: Shape.broadcastStrides(shape: shape, strides: strides, to: target), offset: offset)
        let original = shape
        return Tensor.record(out, op: "broadcast", input: self) { v in v.sumToShape(original) }
    }
}
