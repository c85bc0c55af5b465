/// Row iteration over strided operands: the last (coalesced) dimension is the inner loop, every
/// other dimension is walked odometer-style without per-element division.
enum StridedLoop {
    /// Calls `body(offset0, offset1)` with the storage offset of the first element of each row in
    /// `rows` (a row spans the last dimension of `shape`), for two operands with strides `s0`, `s1`.
    @inline(__always)
    static func rows(shape: [Int], _ s0: [Int], _ s1: [Int], rows: Range<Int>, _ body: (Int, Int) -> Void) {
        let outer = shape.count - 1
        if outer == 0 {
            for _ in rows { body(0, 0) }
            return
        }
        var idx = [Int](repeating: 0, count: outer)
        var rem = rows.lowerBound
        var o0 = 0, o1 = 0
        for d in stride(from: outer - 1, through: 0, by: -1) {
            idx[d] = rem % shape[d]
            rem /= shape[d]
            o0 += idx[d] * s0[d]
            o1 += idx[d] * s1[d]
        }
        for _ in rows {
            body(o0, o1)
            var d = outer - 1
            while d >= 0 {
                idx[d] += 1
                o0 += s0[d]
                o1 += s1[d]
                if idx[d] < shape[d] { break }
                o0 -= s0[d] * shape[d]
                o1 -= s1[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// The three-operand version of ``rows(shape:_:_:rows:_:)``.
    @inline(__always)
    static func rows(shape: [Int], _ s0: [Int], _ s1: [Int], _ s2: [Int], rows: Range<Int>,
                     _ body: (Int, Int, Int) -> Void) {
        let outer = shape.count - 1
        if outer == 0 {
            for _ in rows { body(0, 0, 0) }
            return
        }
        var idx = [Int](repeating: 0, count: outer)
        var rem = rows.lowerBound
        var o0 = 0, o1 = 0, o2 = 0
        for d in stride(from: outer - 1, through: 0, by: -1) {
            idx[d] = rem % shape[d]
            rem /= shape[d]
            o0 += idx[d] * s0[d]
            o1 += idx[d] * s1[d]
            o2 += idx[d] * s2[d]
        }
        for _ in rows {
            body(o0, o1, o2)
            var d = outer - 1
            while d >= 0 {
                idx[d] += 1
                o0 += s0[d]; o1 += s1[d]; o2 += s2[d]
                if idx[d] < shape[d] { break }
                o0 -= s0[d] * shape[d]; o1 -= s1[d] * shape[d]; o2 -= s2[d] * shape[d]
                idx[d] = 0
                d -= 1
            }
        }
    }

    /// Number of rows (product of all dimensions but the last).
    @inline(__always) static func rowCount(_ shape: [Int]) -> Int {
        Shape.count(Array(shape.dropLast()))
    }
}

/// Copies between strided views of the same shape.
enum StridedCopy {
    /// Copies any strided view into fresh contiguous `dst` storage of the same element count.
    static func copy(from src: Tensor, into dst: Storage) {
        copy(src, Tensor(storage: dst, shape: src.shape, strides: Shape.contiguousStrides(src.shape)))
    }

    /// Copies the elements of `src` into the (possibly strided) view `dst` of the same shape.
    static func copy(_ src: Tensor, _ dst: Tensor) {
        precondition(src.shape == dst.shape && src.dtype == dst.dtype, "Neural: copy between \(src.shape) and \(dst.shape)")
        switch src.dtype {
        case .float32: copy(src, dst, Float.self)
        case .float64: copy(src, dst, Double.self)
        case .int32: copy(src, dst, Int32.self)
        case .int64: copy(src, dst, Int64.self)
        }
    }

    @inline(__always)
    private static func copy<T: TensorElement>(_ src: Tensor, _ dst: Tensor, _: T.Type) {
        let n = src.count
        if n == 0 { return }
        let (shape, strides) = Shape.coalesce(src.shape, [src.strides, dst.strides])
        let sp = SendablePointer(src.storage.pointer(T.self) + src.offset)
        let dp = SendablePointer(dst.storage.pointer(T.self) + dst.offset)
        let inner = shape.last!, si = strides[0].last!, di = strides[1].last!
        let rows = StridedLoop.rowCount(shape)
        let rowsPerTask = max(1, 65536 / max(inner, 1))
        withExtendedLifetime((src, dst)) {
            Parallel.forRanges(count: rows, grain: rowsPerTask) { range in
                StridedLoop.rows(shape: shape, strides[0], strides[1], rows: range) { o0, o1 in
                    let s = sp.pointer + o0, d = dp.pointer + o1
                    if si == 1 && di == 1 {
                        d.update(from: s, count: inner)
                    } else {
                        for j in 0..<inner { d[j * di] = s[j * si] }
                    }
                }
            }
        }
    }
}
