/// Reduction kernels over any set of axes. The input is viewed as `[outer, reduced, inner]`
/// (a permuted copy is made only when the reduced axes are not adjacent). Summation order is
/// fixed by the problem size alone, so results are identical for any thread count.
enum Reduce {
    enum Kind { case sum, max }

    /// Block length of the deterministic partial sums of a long contiguous reduction.
    static let block = 1 << 14

    /// Reduces `x` over `axes` (already normalised); the result keeps reduced dims as size 1.
    static func reduce(_ x: Tensor, axes: [Int], kind: Kind) -> Tensor {
        let axes = Array(Set(axes)).sorted()
        var outShape = x.shape
        for a in axes { outShape[a] = 1 }
        let (src, o, r, i) = view(x, axes: axes)
        let out = Tensor(uninitialized: outShape, dtype: x.dtype)
        if out.count == 0 { return out }
        withExtendedLifetime(src) {
            switch x.dtype {
            case .float32: run(Float.self, src, out, o, r, i, kind)
            case .float64: run(Double.self, src, out, o, r, i, kind)
            case .int32, .int64: x.dtype.floatOnly("this reduction")
            }
        }
        return out
    }

    /// Index of the largest (or, with `smallest`, the smallest) element along `axis` (first one on
    /// ties; a NaN wins, as in PyTorch), as an Int64 tensor with `axis` kept as size 1.
    static func argmax(_ x: Tensor, axis: Int, smallest: Bool = false) -> Tensor {
        var outShape = x.shape
        outShape[axis] = 1
        precondition(x.shape[axis] > 0, "Neural: \(smallest ? "argmin" : "argmax") over an empty dimension \(axis) (shape \(x.shape))")
        let (src, o, r, i) = view(x, axes: [axis])
        let out = Tensor(uninitialized: outShape, dtype: .int64)
        withExtendedLifetime(src) {
            switch x.dtype {
            case .float32: argmaxLoop(Float.self, src, out, o, r, i, smallest, isNaN: { $0.isNaN })
            case .float64: argmaxLoop(Double.self, src, out, o, r, i, smallest, isNaN: { $0.isNaN })
            case .int32: argmaxLoop(Int32.self, src, out, o, r, i, smallest, isNaN: { _ in false })
            case .int64: argmaxLoop(Int64.self, src, out, o, r, i, smallest, isNaN: { _ in false })
            }
        }
        return out
    }

    /// A contiguous source and its `[outer, reduced, inner]` sizes.
    private static func view(_ x: Tensor, axes: [Int]) -> (Tensor, Int, Int, Int) {
        let shape = x.shape
        if axes.isEmpty { return (x.contiguous(), x.count, 1, 1) }
        let adjacent = axes.last! - axes.first! == axes.count - 1
        if adjacent {
            let o = Shape.count(Array(shape[..<axes.first!]))
            let r = Shape.count(axes.map { shape[$0] })
            let i = Shape.count(Array(shape[(axes.last! + 1)...]))
            return (x.contiguous(), o, r, i)
        }
        let kept = (0..<shape.count).filter { !axes.contains($0) }
        let permuted = x.withLayout(shape: (kept + axes).map { shape[$0] },
                                    strides: (kept + axes).map { x.strides[$0] }, offset: x.offset).contiguous()
        return (permuted, Shape.count(kept.map { shape[$0] }), Shape.count(axes.map { shape[$0] }), 1)
    }

    @inline(__always)
    private static func run<T: KernelScalar>(_: T.Type, _ src: Tensor, _ out: Tensor, _ o: Int, _ r: Int, _ i: Int,
                                             _ kind: Kind) {
        let x = src.pointer(T.self), y = out.pointer(T.self)
        let xs = SendablePointer(x), ys = SendablePointer(y)
        if r == 0 {
            let v: T = kind == .sum ? 0 : -.infinity
            y.update(repeating: v, count: o * i)
            return
        }
        if i == 1 {
            if o == 1 && r > block {
                // One long reduction: fixed-size blocks reduced in parallel, combined in order.
                let blocks = (r + block - 1) / block
                var partial = [T](repeating: 0, count: blocks)
                partial.withUnsafeMutableBufferPointer { pb in
                    let ps = SendablePointer(pb.baseAddress!)
                    Parallel.forEach(tasks: blocks) { b in
                        let lo = b * block, hi = min(r, lo + block)
                        ps.pointer[b] = reduceRow(xs.pointer + lo, hi - lo, kind)
                    }
                    y[0] = reduceRow(pb.baseAddress!, blocks, kind)
                }
                return
            }
            Parallel.forRanges(count: o, grain: max(1, (1 << 15) / r)) { range in
                for row in range { ys.pointer[row] = reduceRow(xs.pointer + row * r, r, kind) }
            }
            return
        }
        // Columns: out[o, j] = reduce_k x[o, k, j]; each output's order is k ascending.
        let colBlock = 256
        let colTasks = (i + colBlock - 1) / colBlock
        let tasks = o * colTasks
        let grain = max(1, (1 << 15) / max(1, r * min(i, colBlock)))
        Parallel.forRanges(count: tasks, grain: grain) { range in
            for t in range {
                let row = t / colTasks, c0 = (t % colTasks) * colBlock, c1 = min(i, c0 + colBlock)
                let dst = ys.pointer + row * i
                let base = xs.pointer + row * r * i
                for j in c0..<c1 { dst[j] = base[j] }
                for k in 1..<r {
                    let src = base + k * i
                    switch kind {
                    case .sum: for j in c0..<c1 { dst[j] += src[j] }
                    case .max: for j in c0..<c1 where src[j] > dst[j] || src[j].isNaN { dst[j] = src[j] }
                    }
                }
            }
        }
    }

    /// Reduces `n` contiguous values with eight interleaved accumulators (fixed order).
    @inline(__always)
    private static func reduceRow<T: KernelScalar>(_ p: UnsafeMutablePointer<T>, _ n: Int, _ kind: Kind) -> T {
        switch kind {
        case .sum:
            var a0: T = 0, a1: T = 0, a2: T = 0, a3: T = 0, a4: T = 0, a5: T = 0, a6: T = 0, a7: T = 0
            var k = 0
            while k + 8 <= n {
                a0 += p[k]; a1 += p[k + 1]; a2 += p[k + 2]; a3 += p[k + 3]
                a4 += p[k + 4]; a5 += p[k + 5]; a6 += p[k + 6]; a7 += p[k + 7]
                k += 8
            }
            var s = ((a0 + a4) + (a1 + a5)) + ((a2 + a6) + (a3 + a7))
            while k < n { s += p[k]; k += 1 }
            return s
        case .max:
            var m = p[0]
            for k in 1..<max(n, 1) where p[k] > m || p[k].isNaN { m = p[k] }
            return m
        }
    }

    @inline(__always)
    private static func argmaxLoop<T: TensorElement>(_: T.Type, _ src: Tensor, _ out: Tensor, _ o: Int, _ r: Int,
                                                     _ i: Int, _ smallest: Bool, isNaN: @escaping @Sendable (T) -> Bool) {
        let xs = SendablePointer(src.pointer(T.self)), ys = SendablePointer(out.pointer(Int64.self))
        Parallel.forRanges(count: o * i, grain: max(1, (1 << 14) / r)) { range in
            for t in range {
                let row = t / i, col = t % i
                let base = xs.pointer + row * r * i + col
                var best = base[0], arg = 0
                if !isNaN(best) {
                    for k in 1..<r {
                        let v = base[k * i]
                        if isNaN(v) { arg = k; break }
                        if smallest ? v < best : v > best { best = v; arg = k }
                    }
                }
                ys.pointer[t] = Int64(arg)
            }
        }
    }
}
