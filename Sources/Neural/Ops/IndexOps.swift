/// Index-tensor operations as PyTorch has them: `gather`, `scatterAdd`, `indexAdd` and
/// `indexSelect` along a dimension, with ``DType/int32`` or ``DType/int64`` index tensors.
///
/// Accumulations run in one fixed order (row-major over the index tensor) on one thread, so their
/// results are the same bits at any thread count. An index out of range stops the program with a
/// message naming the index value, its position and the dimension's size (`fatalError`, so the
/// message is printed in release builds too).
extension Tensor {
    /// The values of an integer index tensor as `Int`, each checked against `size` (negative values
    /// are out of range, as in `torch.gather`; `indexSelect` also rejects them).
    static func indexValues(_ index: Tensor, op: String, size: Int, axis: Int) -> [Int] {
        guard index.dtype.isInteger else {
            fatalError("Neural: \(op) needs an int32 or int64 index tensor, got \(index.dtype); convert it with .to(.int64)")
        }
        let values = index.scalars(as: Int.self)
        for (position, i) in values.enumerated() where i < 0 || i >= size {
            fatalError("Neural: \(op) index \(i) at position \(position) is out of range for dimension \(axis) of size \(size)")
        }
        return values
    }

    /// For a contiguous target of `targetShape` and an index tensor of `indexShape` (same rank), the
    /// target offset of each index element in row-major order: `Σ_{d≠axis} i_d · stride_d + index ·
    /// stride_axis`.
    private static func scatterOffsets(targetShape: [Int], indexShape: [Int], axis: Int, values: [Int]) -> [Int] {
        let strides = Shape.contiguousStrides(targetShape)
        var offsets = [Int](repeating: 0, count: values.count)
        var idx = [Int](repeating: 0, count: indexShape.count)
        var base = 0
        for p in 0..<values.count {
            offsets[p] = base + values[p] * strides[axis]
            var d = indexShape.count - 1
            while d >= 0 {
                idx[d] += 1
                if d != axis { base += strides[d] }
                if idx[d] < indexShape[d] { break }
                if d != axis { base -= strides[d] * indexShape[d] }
                idx[d] = 0
                d -= 1
            }
        }
        return offsets
    }

    /// Checks torch's shape rule for `gather`/`scatterAdd`: same rank, and `index.size(d) ≤ size(d)`
    /// for every `d ≠ axis`.
    private static func checkIndexShape(_ op: String, index: [Int], target: [Int], axis: Int) {
        precondition(index.count == target.count && (0..<index.count).allSatisfy { $0 == axis || index[$0] <= target[$0] },
                     "Neural: \(op) along dimension \(axis): index of shape \(index) does not fit a tensor of shape \(target) (same rank, each other dimension at most the tensor's)")
    }

    /// `out[i][j][k] = self[i][index[i][j][k]][k]` for `axis` 1 (likewise for any axis), as
    /// `torch.gather`: `index` (int32/int64) has this tensor's rank, each dimension other than
    /// `axis` at most this tensor's; the result has `index`'s shape. B: v scatter-added into zeros of
    /// this shape (repeated indices accumulate, in index order).
    public func gather(axis: Int, index: Tensor) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        Tensor.checkIndexShape("gather", index: index.shape, target: shape, axis: a)
        let values = Tensor.indexValues(index, op: "gather", size: shape[a], axis: a)
        let offsets = Tensor.scatterOffsets(targetShape: shape, indexShape: index.shape, axis: a, values: values)
        let src = contiguous()
        let out = Tensor(uninitialized: index.shape, dtype: dtype)
        func pick<T: TensorElement>(_: T.Type) {
            let s = src.pointer(T.self), d = out.pointer(T.self)
            for p in offsets.indices { d[p] = s[offsets[p]] }
        }
        withExtendedLifetime(src) {
            switch dtype {
            case .float32: pick(Float.self)
            case .float64: pick(Double.self)
            case .int32: pick(Int32.self)
            case .int64: pick(Int64.self)
            }
        }
        let original = shape
        return Tensor.record(out, op: "gather", input: self) { v in
            Tensor.scatterAccumulate(into: Tensor.zeros(original, dtype: v.dtype), v, offsets: offsets)
        }
    }

    /// A copy of `target` with `source[p]` added at `offsets[p]`, in order p = 0, 1, ….
    private static func scatterAccumulate(into target: Tensor, _ source: Tensor, offsets: [Int]) -> Tensor {
        var out = target
        out.makeUniqueContiguous()
        let s = source.contiguous()
        func add<T: TensorElement>(_: T.Type) {
            let sp = s.pointer(T.self), d = out.pointer(T.self)
            for p in offsets.indices { d[offsets[p]] += sp[p] }
        }
        withExtendedLifetime(s) {
            switch out.dtype {
            case .float32: add(Float.self)
            case .float64: add(Double.self)
            case .int32: add(Int32.self)
            case .int64: add(Int64.self)
            }
        }
        return out
    }

    /// This tensor with `source[i][j][k]` added at `[i][index[i][j][k]][k]` for `axis` 1 (likewise
    /// for any axis), as `torch.scatter_add`: `index` and `source` have one shape, of this tensor's
    /// rank, each dimension other than `axis` at most this tensor's. Repeated indices accumulate in
    /// row-major order of `index` (the same bits at any thread count).
    /// B: v for this tensor; `v.gather(axis, index)` for `source`.
    public func scatterAdd(axis: Int, index: Tensor, source: Tensor) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(source.shape == index.shape && source.dtype == dtype,
                     "Neural: scatterAdd: source \(source.shape) \(source.dtype) must have the index's shape \(index.shape) and this tensor's dtype \(dtype)")
        Tensor.checkIndexShape("scatterAdd", index: index.shape, target: shape, axis: a)
        let values = Tensor.indexValues(index, op: "scatterAdd", size: shape[a], axis: a)
        let offsets = Tensor.scatterOffsets(targetShape: shape, indexShape: index.shape, axis: a, values: values)
        let out = Tensor.scatterAccumulate(into: self.detached(), source.detached(), offsets: offsets)
        let idx = index
        return Tensor.record(out, op: "scatterAdd", inputs: [self, source]) { v, needs in
            [needs[0] ? v : nil, needs[1] ? v.gather(axis: a, index: idx) : nil]
        }
    }

    /// `x.indexSelect(axis: a, index: ids)`: the slices at `index` (a 1-D int32/int64 tensor, repeats
    /// allowed) along `axis`, in that order: `[..., n, ...]` → `[..., index.count, ...]`.
    /// B: v added back at those positions (repeated indices accumulate in index order).
    public func indexSelect(axis: Int, index: Tensor) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(index.rank <= 1, "Neural: indexSelect needs a 1-D index tensor, got shape \(index.shape)")
        return indexSelect(axis: a, Tensor.indexValues(index, op: "indexSelect", size: shape[a], axis: a))
    }

    /// This tensor with `source`'s slice k added to slice `index[k]` along `axis`, as
    /// `torch.index_add`: `index` is 1-D (int32/int64), `source` has this shape except
    /// `index.count` along `axis`. Repeated indices accumulate in index order.
    /// B: v for this tensor; `v.indexSelect(axis, index)` for `source`.
    public func indexAdd(axis: Int, index: Tensor, source: Tensor) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(index.rank <= 1, "Neural: indexAdd needs a 1-D index tensor, got shape \(index.shape)")
        var expected = shape
        expected[a] = index.count
        precondition(source.shape == expected && source.dtype == dtype,
                     "Neural: indexAdd: source \(source.shape) \(source.dtype) must be \(expected) \(dtype)")
        let values = Tensor.indexValues(index, op: "indexAdd", size: shape[a], axis: a)
        // Every source element's target offset, in source row-major order.
        let strides = Shape.contiguousStrides(shape)
        let inner = Shape.count(Array(shape[(a + 1)...])), outer = Shape.count(Array(shape[..<a]))
        var offsets: [Int] = []
        offsets.reserveCapacity(source.count)
        for o in 0..<outer {
            for i in values {
                let start = o * (a == 0 ? 0 : strides[a - 1]) + i * strides[a]
                for j in 0..<inner { offsets.append(start + j) }
            }
        }
        let out = Tensor.scatterAccumulate(into: self.detached(), source.detached(), offsets: offsets)
        return Tensor.record(out, op: "indexAdd", inputs: [self, source]) { v, needs in
            [needs[0] ? v : nil, needs[1] ? v.indexSelect(axis: a, values) : nil]
        }
    }
}
