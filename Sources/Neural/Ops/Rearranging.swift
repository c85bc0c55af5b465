/// Rearranging elements as `torch.flip`, `torch.roll`, `Tensor.repeat`, `torch.split` and
/// `torch.chunk`. Flip and roll are per-axis gathers (as padding is): forward copies, backward
/// moves v back. Repeat is a broadcast view made contiguous (backward: v summed over the copies);
/// split and chunk return slice views (backward: each piece's v into its place).
extension Tensor {
    /// The elements in reverse order along each of `axes` (negative axes count from the end), as
    /// `torch.flip`. Same shape; a copy. B: v flipped back.
    ///
    /// ```swift
    /// Tensor([[1, 2, 3], [4, 5, 6]]).flipped([1])   // [[3, 2, 1], [6, 5, 4]]
    /// ```
    public func flipped(_ axes: [Int]) -> Tensor {
        var maps = [[Int]?](repeating: nil, count: rank)
        for a in axes {
            let d = Shape.normalize(a, rank: rank)
            precondition(maps[d] == nil, "Neural: flip axes \(axes) name dimension \(d) twice (shape \(shape))")
            let n = shape[d]
            maps[d] = (0..<n).map { n - 1 - $0 }
        }
        return AxisGather.apply(self, outShape: shape, maps: maps, fill: 0, op: "flip")
    }

    /// The elements shifted cyclically by `shifts[i]` positions along `axes[i]`, as `torch.roll`:
    /// out[…, (j + s) mod n, …] = x[…, j, …]. Same shape; a copy. B: v rolled back by −s.
    ///
    /// - Parameters:
    ///   - shifts: one shift per axis (any sign, any size).
    ///   - axes: the axes; `nil` rolls the flattened tensor (`shifts` then holds one value) and restores the shape.
    public func rolled(_ shifts: [Int], axes: [Int]? = nil) -> Tensor {
        guard let axes else {
            precondition(shifts.count == 1, "Neural: roll without axes takes one shift, got \(shifts)")
            return reshaped([count]).rolled(shifts, axes: [0]).reshaped(shape)
        }
        precondition(shifts.count == axes.count, "Neural: roll needs one shift per axis, got shifts \(shifts) for axes \(axes)")
        var total = [Int](repeating: 0, count: rank)
        for (s, a) in zip(shifts, axes) { total[Shape.normalize(a, rank: rank)] += s }
        var maps = [[Int]?](repeating: nil, count: rank)
        for d in 0..<rank where shape[d] > 0 {
            let n = shape[d], s = ((total[d] % n) + n) % n
            if s != 0 { maps[d] = (0..<n).map { (($0 - s) % n + n) % n } }
        }
        return AxisGather.apply(self, outShape: shape, maps: maps, fill: 0, op: "roll")
    }

    /// One shift along one axis: ``rolled(_:axes:)`` with `[shift]` and `[axis]`.
    public func rolled(_ shift: Int, axis: Int) -> Tensor { rolled([shift], axes: [axis]) }

    /// The tensor tiled `counts[i]` times along dimension i, as `Tensor.repeat` in PyTorch: `counts`
    /// has at least `rank` entries, and extra leading entries add leading dimensions.
    /// `[d₁, …, d_r]` with counts `[c₁, …, c_r]` gives `[c₁·d₁, …, c_r·d_r]`. B: v summed over the copies.
    ///
    /// ```swift
    /// Tensor([1, 2]).repeated([2, 3])   // [[1, 2, 1, 2, 1, 2], [1, 2, 1, 2, 1, 2]]
    /// ```
    public func repeated(_ counts: [Int]) -> Tensor {
        precondition(counts.count >= rank && counts.allSatisfy { $0 >= 0 },
                     "Neural: repeat needs at least \(rank) non-negative counts for shape \(shape), got \(counts)")
        let lead = counts.count - rank
        let padded = [Int](repeating: 1, count: lead) + shape
        // [1, d₁, 1, d₂, …] broadcast to [c₁, d₁, c₂, d₂, …], then merged pairwise.
        let interleaved = padded.flatMap { [1, $0] }
        let target = zip(counts, padded).flatMap { [$0, $1] }
        let outShape = zip(counts, padded).map { $0 * $1 }
        return reshaped(interleaved).broadcast(to: target).contiguous().reshaped(outShape)
    }

    /// Pieces of `size` elements along `axis` (the last one smaller when `size` does not divide the
    /// dimension), as `torch.split(x, size, dim)`. Views.
    public func split(size: Int, axis: Int = 0) -> [Tensor] {
        let a = Shape.normalize(axis, rank: rank), n = shape[a]
        precondition(size > 0, "Neural: split size must be positive, got \(size)")
        if n == 0 { return [self] }
        return stride(from: 0, to: n, by: size).map { slice(axis: a, $0..<Swift.min(n, $0 + size)) }
    }

    /// Pieces of the given sizes along `axis`, which must add up to the dimension, as
    /// `torch.split(x, [s₁, s₂, …], dim)`. Views.
    public func split(sizes: [Int], axis: Int = 0) -> [Tensor] {
        let a = Shape.normalize(axis, rank: rank)
        precondition(sizes.allSatisfy { $0 >= 0 } && sizes.reduce(0, +) == shape[a],
                     "Neural: split sizes \(sizes) must add up to dimension \(axis) of shape \(shape) (size \(shape[a]))")
        var start = 0
        return sizes.map { s in
            defer { start += s }
            return slice(axis: a, start..<(start + s))
        }
    }

    /// At most `chunks` pieces of ⌈n / chunks⌉ elements along `axis` (fewer when that size covers the
    /// dimension sooner), as `torch.chunk`. Views.
    public func chunked(_ chunks: Int, axis: Int = 0) -> [Tensor] {
        precondition(chunks > 0, "Neural: chunk count must be positive, got \(chunks)")
        let n = shape[Shape.normalize(axis, rank: rank)]
        return split(size: Swift.max(1, (n + chunks - 1) / chunks), axis: axis)
    }
}
