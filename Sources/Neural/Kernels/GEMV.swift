// Matrix–vector shapes of the GEMM (m == 1 or n == 1): memory-bound, so no packing and no
// register tiles, just streaming dot products or row updates. Every output element is computed
// by the same instruction sequence whatever the thread count.

extension GEMMDriver {
    /// C = alpha * op(A) op(B) + beta * C when m == 1 or n == 1.
    static func gemv(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                     a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                     beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        // y[i] (i < len, stride yStride) = alpha * Σ_p M(i, p) x[p] + beta * y[i], where M's
        // rows are contiguous in p (rowsContiguous) or its columns are contiguous in i.
        let len: Int, yStride: Int
        let x: UnsafePointer<T>, xStride: Int
        let mat: UnsafePointer<T>, ld: Int, rowsContiguous: Bool
        if m == 1 {
            // c[0, j] = Σ_p op(A)(0, p) op(B)(p, j)
            len = n; yStride = 1
            x = a; xStride = transA ? lda : 1
            mat = b; ld = ldb; rowsContiguous = transB
        } else {
            // c[i, 0] = Σ_p op(A)(i, p) op(B)(p, 0)
            len = m; yStride = ldc
            x = b; xStride = transB ? 1 : ldb
            mat = a; ld = lda; rowsContiguous = !transA
        }
        let parallel = len * k >= GEMMConfig.parallelThreshold

        withContiguous(x, count: k, stride: xStride) { x in
            let cp = SendablePointer(c)
            if rowsContiguous {
                // Dot products: y[i] = dot(M[i, 0..<k], x).
                let body = { (range: Range<Int>) in
                    for i in range {
                        let s = dot(mat + i * ld, x, k)
                        let y = cp.pointer + i * yStride
                        y.pointee = beta == 0 ? alpha * s : alpha * s + beta * y.pointee
                    }
                }
                if parallel { Parallel.forRanges(count: len, grain: 64, body) } else { body(0..<len) }
            } else {
                // Row updates: acc[i] += x[p] * M[p, i], over blocks of outputs that stay in L1.
                // One thread: it streams M row by row, which two threads splitting the columns
                // of each row do not beat.
                let block = 16384 / MemoryLayout<T>.stride
                let body = { (range: Range<Int>) in
                    withUnsafeTemporaryAllocation(of: T.self, capacity: block) { accBuf in
                        let acc = accBuf.baseAddress!
                        var lo = range.lowerBound
                        while lo < range.upperBound {
                            let cnt = min(block, range.upperBound - lo)
                            acc.update(repeating: 0, count: cnt)
                            for p in 0..<k { axpy(x[p], mat + p * ld + lo, acc, cnt) }
                            for i in 0..<cnt {
                                let y = cp.pointer + (lo + i) * yStride
                                y.pointee = beta == 0 ? alpha * acc[i] : alpha * acc[i] + beta * y.pointee
                            }
                            lo += cnt
                        }
                    }
                }
                body(0..<len)
            }
        }
    }

    /// Calls `body` with x[0], x[stride], … as a contiguous buffer.
    @inline(__always)
    static func withContiguous<R>(_ x: UnsafePointer<T>, count: Int, stride: Int,
                                  _ body: (UnsafePointer<T>) -> R) -> R {
        if stride == 1 { return body(x) }
        return withUnsafeTemporaryAllocation(of: T.self, capacity: count) { buf in
            let d = buf.baseAddress!
            for p in 0..<count { d[p] = x[p * stride] }
            return body(d)
        }
    }

    /// Σ a[p] b[p] with two 8-lane accumulators (a fixed summation order).
    @inline(__always)
    static func dot(_ a: UnsafePointer<T>, _ b: UnsafePointer<T>, _ k: Int) -> T {
        let ra = UnsafeRawPointer(a), rb = UnsafeRawPointer(b)
        let w = MemoryLayout<T>.stride
        var s0 = SIMD8<T>(), s1 = SIMD8<T>()
        var p = 0
        while p + 16 <= k {
            s0 += ra.loadUnaligned(fromByteOffset: p * w, as: SIMD8<T>.self)
                * rb.loadUnaligned(fromByteOffset: p * w, as: SIMD8<T>.self)
            s1 += ra.loadUnaligned(fromByteOffset: (p + 8) * w, as: SIMD8<T>.self)
                * rb.loadUnaligned(fromByteOffset: (p + 8) * w, as: SIMD8<T>.self)
            p += 16
        }
        if p + 8 <= k {
            s0 += ra.loadUnaligned(fromByteOffset: p * w, as: SIMD8<T>.self)
                * rb.loadUnaligned(fromByteOffset: p * w, as: SIMD8<T>.self)
            p += 8
        }
        var s = (s0 + s1).sum()
        while p < k {
            s += a[p] * b[p]
            p += 1
        }
        return s
    }

    /// y[i] += s * x[i] for i < count.
    @inline(__always)
    static func axpy(_ s: T, _ x: UnsafePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let w = MemoryLayout<T>.stride
        let sv = SIMD8<T>(repeating: s)
        var i = 0
        while i + 8 <= count {
            let v = ry.loadUnaligned(fromByteOffset: i * w, as: SIMD8<T>.self)
                + sv * rx.loadUnaligned(fromByteOffset: i * w, as: SIMD8<T>.self)
            ry.storeBytes(of: v, toByteOffset: i * w, as: SIMD8<T>.self)
            i += 8
        }
        while i < count {
            y[i] += s * x[i]
            i += 1
        }
    }
}
