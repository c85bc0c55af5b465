/// Sorting along a dimension (`sort`, `topk`) and running sums (`cumsum`), as PyTorch has them.
/// Indices come back as ``DType/int64`` tensors; values are gathered from the input, so their
/// gradient flows back to the positions they came from.
extension Tensor {
    /// Per row of the `[rows, n]` view with `axis` last: the order of its elements — ascending, or
    /// descending — with ties kept in their original order (stable) and NaN larger than every number
    /// (last ascending, first descending, as torch). Returns the Int64 positions, `[rows, n]`.
    private static func rowOrders(_ x: Tensor, descending: Bool) -> (orders: [Int64], rows: Int, n: Int) {
        let n = x.shape.last ?? 1, rows = n == 0 ? 0 : x.count / n
        var orders = [Int64](repeating: 0, count: rows * n)
        func run<T: TensorElement>(_: T.Type, isNaN: (T) -> Bool) {
            let p = x.pointer(T.self)
            var perm = [Int](repeating: 0, count: n)
            for r in 0..<rows {
                let row = p + r * n
                for i in 0..<n { perm[i] = i }
                perm.sort { i, j in
                    let a = row[i], b = row[j]
                    let an = isNaN(a), bn = isNaN(b)
                    if an || bn {
                        if an == bn { return i < j }
                        return descending ? an : bn        // NaN is the largest
                    }
                    if a == b { return i < j }
                    return descending ? a > b : a < b
                }
                for i in 0..<n { orders[r * n + i] = Int64(perm[i]) }
            }
        }
        withExtendedLifetime(x) {
            switch x.dtype {
            case .float32: run(Float.self) { $0.isNaN }
            case .float64: run(Double.self) { $0.isNaN }
            case .int32: run(Int32.self) { _ in false }
            case .int64: run(Int64.self) { _ in false }
            }
        }
        return (orders, rows, n)
    }

    /// The positions along `axis` that sort each slice, kept to the first `k` of each.
    private func sortedIndices(axis a: Int, descending: Bool, keep k: Int) -> Tensor {
        let last = rank - 1
        let moved = (a == last ? detached() : detached().transposed(a, last)).contiguous()
        let (orders, rows, n) = withExtendedLifetime(moved) { Tensor.rowOrders(moved, descending: descending) }
        var kept = orders
        if k < n {
            kept = []
            kept.reserveCapacity(rows * k)
            for r in 0..<rows { kept.append(contentsOf: orders[(r * n)..<(r * n + k)]) }
        }
        var shape = moved.shape
        shape[last] = k
        let idx = Tensor(integers: kept, shape: shape)
        return a == last ? idx : idx.transposed(a, last).contiguous()
    }

    /// This tensor sorted along `axis`, as `torch.sort(stable=True)`: ascending unless `descending`,
    /// equal elements in their original order, NaN last ascending (first descending). Returns the
    /// sorted values (this shape; B: v scattered back to where each value came from) and their
    /// original positions as an ``DType/int64`` tensor of the same shape. The sort is always stable
    /// (`stable: false` is accepted for PyTorch's signature and gives the same result).
    public func sort(axis: Int = -1, descending: Bool = false, stable: Bool = true) -> (values: Tensor, indices: Tensor) {
        if rank == 0 { return (self, Tensor.zeros([], dtype: .int64)) }
        let a = Shape.normalize(axis, rank: rank)
        let indices = sortedIndices(axis: a, descending: descending, keep: shape[a])
        return (gather(axis: a, index: indices), indices)
    }

    /// The positions that sort this tensor along `axis` (stable), as ``DType/int64``: `sort(…).indices`.
    public func argsort(axis: Int = -1, descending: Bool = false) -> Tensor {
        sort(axis: axis, descending: descending).indices
    }

    /// The `k` largest (or, with `largest: false`, smallest) elements along `axis`, as `torch.topk`:
    /// values and their positions (``DType/int64``), each of this shape with `k` along `axis`, in
    /// order from the largest (smallest); ties keep the lower position first. The result is always
    /// sorted (`sorted: false` is accepted for PyTorch's signature). B: v scattered back to the
    /// chosen positions.
    public func topk(_ k: Int, axis: Int = -1, largest: Bool = true, sorted: Bool = true) -> (values: Tensor, indices: Tensor) {
        let a = Shape.normalize(axis, rank: Swift.max(rank, 1))
        let n = rank == 0 ? 1 : shape[a]
        precondition(k >= 0 && k <= n, "Neural: topk: k = \(k) is out of range for dimension \(axis) of size \(n)")
        if rank == 0 { return (self, Tensor.zeros([], dtype: .int64)) }
        let indices = sortedIndices(axis: a, descending: largest, keep: k)
        return (gather(axis: a, index: indices), indices)
    }

    /// Running sums along `axis`, as `torch.cumsum`: `out[..., i, ...] = Σ_{j ≤ i} x[..., j, ...]`,
    /// this shape, each summed from the front in order (the same bits at any thread count).
    /// Integer tensors give ``DType/int64`` sums. B: v's running sums from the back.
    public func cumsum(axis: Int) -> Tensor {
        let a = Shape.normalize(axis, rank: Swift.max(rank, 1))
        if rank == 0 { return dtype.isInteger ? to(.int64) : self }
        let src = (dtype == .int32 ? detached().to(.int64) : detached()).contiguous()
        let out = Tensor.runningSums(src, axis: a, reverse: false)
        return Tensor.record(out, op: "cumsum", input: self) { v in
            Tensor.runningSums(v.contiguous(), axis: a, reverse: true)
        }
    }

    /// Running sums of contiguous `x` along `axis`, from the front or (`reverse`) from the back.
    private static func runningSums(_ x: Tensor, axis a: Int, reverse: Bool) -> Tensor {
        let out = Tensor(uninitialized: x.shape, dtype: x.dtype)
        let n = x.shape[a], inner = Shape.count(Array(x.shape[(a + 1)...])), outer = Shape.count(Array(x.shape[..<a]))
        func run<T: TensorElement>(_: T.Type) {
            let s = x.pointer(T.self), d = out.pointer(T.self)
            for o in 0..<outer {
                for j in 0..<inner {
                    let base = o * n * inner + j
                    var acc: T = 0
                    for t in 0..<n {
                        let i = reverse ? n - 1 - t : t
                        acc += s[base + i * inner]
                        d[base + i * inner] = acc
                    }
                }
            }
        }
        withExtendedLifetime(x) {
            switch x.dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            case .int32: run(Int32.self)
            case .int64: run(Int64.self)
            }
        }
        return out
    }
}
