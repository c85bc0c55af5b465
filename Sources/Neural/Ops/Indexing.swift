/// Slicing and indexing along any axis, index selection (eq. 7.13 wires hidden units to chosen
/// inputs), concatenation and stacking, gather and one-hot for class labels.
extension Tensor {
    /// Elements `range` (with `step`) along `axis`. A view. B: v scattered into zeros of this shape.
    public func slice(axis: Int, _ range: Range<Int>, step: Int = 1) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(step > 0, "Neural: slice step must be positive, got \(step)")
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a],
                     "Neural: slice \(range) out of bounds for dimension \(axis) of size \(shape[a]) (shape \(shape))")
        var s = shape, st = strides
        s[a] = (range.count + step - 1) / step
        st[a] = strides[a] * step
        let out = withLayout(shape: s, strides: st, offset: offset + range.lowerBound * strides[a])
        let original = shape, dtype = self.dtype
        return Tensor.record(out, op: "slice", input: self) { v in
            let g = Tensor.zeros(original, dtype: dtype)
            StridedCopy.copy(v, g.slice(axis: a, range, step: step))
            return g
        }
    }

    /// The sub-tensor at `index` along `axis`, with that dimension removed (negative counts from the end). A view.
    public func select(axis: Int, _ index: Int) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let i = index < 0 ? index + shape[a] : index
        precondition(i >= 0 && i < shape[a], "Neural: index \(index) out of range for dimension \(axis) of size \(shape[a]) (shape \(shape))")
        return slice(axis: a, i..<(i + 1)).squeezed(a)
    }

    /// `x[i]`: the sub-tensor at index `i` of dimension 0 (e.g. one example of a batch).
    public subscript(_ index: Int) -> Tensor { select(axis: 0, index) }

    /// `x[a..<b]`: rows `a..<b` of dimension 0. A view.
    public subscript(_ range: Range<Int>) -> Tensor { slice(axis: 0, range) }

    /// The entries at `indices` along `axis`, in that order (repeats allowed): e.g. columns
    /// `[0, 1]` of a `[batch, 4]` input feed a hidden unit that sees only those features (eq. 7.13).
    /// B: v added back at those positions (repeated indices accumulate).
    public func indexSelect(axis: Int, _ indices: [Int]) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let n = shape[a]
        let idx = indices.map { $0 < 0 ? $0 + n : $0 }
        for (k, i) in idx.enumerated() {
            precondition(i >= 0 && i < n, "Neural: indexSelect index \(indices[k]) out of range for dimension \(axis) of size \(n) (shape \(shape))")
        }
        let src = contiguous()
        let o = Shape.count(Array(shape[..<a])), inner = Shape.count(Array(shape[(a + 1)...]))
        var outShape = shape
        outShape[a] = idx.count
        let out = Tensor(uninitialized: outShape, dtype: dtype)
        withExtendedLifetime(src) {
            Tensor.indexRows(from: src, to: out, o: o, n: n, m: idx.count, inner: inner, idx: idx, accumulate: false)
        }
        let original = shape, dtype = self.dtype
        return Tensor.record(out, op: "indexSelect", input: self) { v in
            let g = Tensor.zeros(original, dtype: dtype)
            let vc = v.contiguous()
            withExtendedLifetime(vc) {
                Tensor.indexRows(from: vc, to: g, o: o, n: n, m: idx.count, inner: inner, idx: idx, accumulate: true)
            }
            return g
        }
    }

    /// Copies row blocks between `[o, n, inner]` (`big`) and `[o, m, inner]` (`small`) views:
    /// forward `small[:, k] = big[:, idx[k]]`; with `accumulate`, `big[:, idx[k]] += small[:, k]`.
    private static func indexRows(from src: Tensor, to dst: Tensor, o: Int, n: Int, m: Int, inner: Int,
                                  idx: [Int], accumulate: Bool) {
        func run<T: TensorElement>(_: T.Type) {
            let s = src.pointer(T.self), d = dst.pointer(T.self)
            for b in 0..<o {
                for (k, i) in idx.enumerated() {
                    if accumulate {
                        let from = s + (b * m + k) * inner, to = d + (b * n + i) * inner
                        for j in 0..<inner { to[j] += from[j] }
                    } else {
                        (d + (b * m + k) * inner).update(from: s + (b * n + i) * inner, count: inner)
                    }
                }
            }
        }
        switch src.dtype {
        case .float32: run(Float.self)
        case .float64: run(Double.self)
        case .int32: run(Int32.self)
        case .int64: run(Int64.self)
        }
    }

    /// Joins tensors along `axis`; all other dimensions must agree. B: the matching slices of v.
    public static func concatenate(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "Neural: concatenate needs at least one tensor")
        let first = tensors[0]
        let a = Shape.normalize(axis, rank: first.rank)
        for t in tensors {
            precondition(t.dtype == first.dtype, "Neural: concatenate: dtypes differ (\(first.dtype) vs \(t.dtype))")
            precondition(t.rank == first.rank && (0..<t.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "Neural: concatenate along axis \(axis): shape \(t.shape) does not match \(first.shape)")
        }
        var shape = first.shape
        shape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        let out = Tensor(uninitialized: shape, dtype: first.dtype)
        var start = 0
        var ranges: [Range<Int>] = []
        for t in tensors {
            let r = start..<(start + t.shape[a])
            StridedCopy.copy(t, out.slice(axis: a, r))
            ranges.append(r)
            start = r.upperBound
        }
        return record(out, op: "concatenate", inputs: tensors) { v, needs in
            ranges.enumerated().map { i, r in needs[i] ? v.slice(axis: a, r).contiguous() : nil }
        }
    }

    /// Stacks same-shape tensors along a new dimension `axis`.
    public static func stack(_ tensors: [Tensor], axis: Int = 0) -> Tensor {
        precondition(!tensors.isEmpty, "Neural: stack needs at least one tensor")
        for t in tensors {
            precondition(t.shape == tensors[0].shape, "Neural: stack: shape \(t.shape) differs from \(tensors[0].shape)")
        }
        return concatenate(tensors.map { $0.unsqueezed(axis) }, axis: axis)
    }

    /// For each position along every dimension but `axis`, the entry at `indices[position]` along
    /// `axis`; the result drops `axis`. For logits `[batch, classes]` and integer labels this picks
    /// each example's logit of its class: shape `[batch]`. B: v scattered into zeros at those entries.
    public func gather(_ indices: [Int], axis: Int = -1) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let moved = a == rank - 1 ? self : self.transposed(a, rank - 1)
        let k = moved.shape.last!
        let rows = moved.count / Swift.max(k, 1)
        precondition(indices.count == rows,
                     "Neural: gather along axis \(axis) of shape \(shape) needs \(rows) indices, got \(indices.count)")
        for (i, j) in indices.enumerated() {
            precondition(j >= 0 && j < k, "Neural: gather index \(j) at position \(i) out of range 0..<\(k)")
        }
        let flat = moved.detached().contiguous().reshaped([rows, k])   // a view of shape [rows, k] would stay strided
        let out = Tensor(uninitialized: [rows], dtype: dtype)
        func pick<T: TensorElement>(_: T.Type) {
            let s = flat.pointer(T.self), d = out.pointer(T.self)
            for i in 0..<rows { d[i] = s[i * k + indices[i]] }
        }
        withExtendedLifetime(flat) {
            switch dtype {
            case .float32: pick(Float.self)
            case .float64: pick(Double.self)
            case .int32: pick(Int32.self)
            case .int64: pick(Int64.self)
            }
        }
        var outShape = moved.shape
        outShape.removeLast()
        let result = out.reshaped(outShape)
        let movedShape = moved.shape, dt = self.dtype, r = self.rank
        return Tensor.record(result, op: "gather", input: self) { v in
            let g = Tensor.zeros([rows, k], dtype: dt)
            let vc = v.contiguous()
            func scatter<T: KernelScalar>(_: T.Type) {
                let s = vc.pointer(T.self), d = g.pointer(T.self)
                for i in 0..<rows { d[i * k + indices[i]] += s[i] }
            }
            withExtendedLifetime(vc) {
                switch dt {
                case .float32: scatter(Float.self)
                case .float64: scatter(Double.self)
                case .int32, .int64: dt.floatOnly("gather's backward")
                }
            }
            let back = g.reshaped(movedShape)
            return (a == r - 1 ? back : back.transposed(a, r - 1)).contiguous()
        }
    }

    /// One-hot rows for integer class labels: shape `[labels.count, classes]`, row i has a 1 in column `labels[i]`.
    public static func oneHot(_ labels: [Int], classes: Int, dtype: DType = .float32) -> Tensor {
        let out = Tensor.zeros([labels.count, classes], dtype: dtype)
        func mark<T: TensorElement>(_: T.Type) {
            let p = out.pointer(T.self)
            for (i, y) in labels.enumerated() {
                precondition(y >= 0 && y < classes, "Neural: label \(y) at position \(i) is outside 0..<\(classes)")
                p[i * classes + y] = 1
            }
        }
        switch dtype {
        case .float32: mark(Float.self)
        case .float64: mark(Double.self)
        case .int32: mark(Int32.self)
        case .int64: mark(Int64.self)
        }
        return out
    }
}
