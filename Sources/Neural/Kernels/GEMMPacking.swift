// Packing of GEMM operands into the micro-panel layout of the C micro-kernels:
// a micro-panel of width w (MR for A, NR for B) holds, for each depth p, w consecutive elements;
// lanes past the matrix edge are zero. Float32 panels are packed by the C routines of
// CNeuralKernels (gemm_pack.c, AVX-512, AVX2 or portable); Float64 by the Swift loops below.

extension GEMMDriver {
    /// Packs rows i0..<i0+rows, depths p0..<p0+kc of op(A) into MR-row micro-panels.
    @inline(__always)
    static func packA(level: Int, transA: Bool, a: UnsafePointer<T>, lda: Int, aRows: UnsafePointer<Int>? = nil,
                      i0: Int, rows: Int, p0: Int, kc: Int, mr: Int, dst: UnsafeMutablePointer<T>) {
        var start = 0
        var d = dst
        while start < rows {
            let r = min(mr, rows - start)
            if transA {
                // op(A)(i, p) = a[p * lda + i]: each depth is a contiguous run of rows.
                T.packRuns(level: level, src: a + p0 * lda + i0 + start, ld: lda, rows: nil, count: r, width: mr,
                           depth: kc, dst: d)
            } else {
                // op(A)(i, p) = a[i * lda + p]: each row is a contiguous run of depths. 8-row panels
                // go in pairs (the C routine fills two from one 16 × 16 transpose).
                let r2 = mr == 8 && T.kernelFamily == 0 ? min(2 * mr, rows - start) : r
                // With a row table, row i starts at a + aRows[i] (lda is ignored).
                T.packTransposed(level: level, src: aRows == nil ? a + (i0 + start) * lda + p0 : a + p0, ld: lda,
                                 rows: aRows.map { $0 + i0 + start }, count: r2, width: mr, depth: kc, dst: d)
                if r2 > mr {
                    d += mr * kc
                    start += mr
                }
            }
            d += mr * kc
            start += mr
        }
    }

    /// Packs depths p0..<p0+kc, columns j0..<j0+cols of op(B) into one NR-wide micro-panel.
    @inline(__always)
    static func packB(level: Int, transB: Bool, b: UnsafePointer<T>, ldb: Int, bRows: UnsafePointer<Int>?,
                      p0: Int, kc: Int, j0: Int, cols: Int, nr: Int, dst: UnsafeMutablePointer<T>) {
        if transB {
            // op(B)(p, j) = row j of b at depth p: each column is a contiguous run of depths.
            if let bRows {
                T.packTransposed(level: level, src: b + p0, ld: 0, rows: bRows + j0, count: cols, width: nr,
                                 depth: kc, dst: dst)
            } else {
                T.packTransposed(level: level, src: b + j0 * ldb + p0, ld: ldb, rows: nil, count: cols, width: nr,
                                 depth: kc, dst: dst)
            }
        } else {
            // op(B)(p, j) = row p of b at column j: each depth is a contiguous run of columns.
            if let bRows {
                T.packRuns(level: level, src: b + j0, ld: 0, rows: bRows + p0, count: cols, width: nr, depth: kc,
                           dst: dst)
            } else {
                T.packRuns(level: level, src: b + p0 * ldb + j0, ld: ldb, rows: nil, count: cols, width: nr,
                           depth: kc, dst: dst)
            }
        }
    }

    /// Row r of a packing source: `src + r * ld`, or `src + rows[r]` with a row table.
    @inline(__always)
    static func row(_ src: UnsafePointer<T>, _ ld: Int, _ rows: UnsafePointer<Int>?, _ r: Int) -> UnsafePointer<T> {
        if let rows { return src + rows[r] }
        return src + r * ld
    }

    /// dst[p * width + i] = row(p)[i] for i < count (0 for count <= i < width), p < depth.
    /// The generic Swift version (used for Float64).
    @inline(__always)
    static func packRunsSwift(src: UnsafePointer<T>, ld: Int, rows: UnsafePointer<Int>?, count: Int, width: Int,
                              depth: Int, dst: UnsafeMutablePointer<T>) {
        var d = dst
        let count4 = count & ~3
        for p in 0..<depth {
            let s = row(src, ld, rows, p)
            var i = 0
            while i < count4 {
                UnsafeMutableRawPointer(d + i).storeBytes(
                    of: UnsafeRawPointer(s + i).loadUnaligned(as: SIMD4<T>.self), as: SIMD4<T>.self)
                i += 4
            }
            while i < count { d[i] = s[i]; i += 1 }
            while i < width { d[i] = 0; i += 1 }
            d += width
        }
    }

    /// dst[p * width + i] = row(i)[p] for i < count (0 for count <= i < width), p < depth.
    /// Works on 4 × 4 blocks with SIMD transposes; edges element by element. The generic Swift
    /// version (used for Float64).
    @inline(__always)
    static func packTransposedSwift(src: UnsafePointer<T>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                                    width: Int, depth: Int, dst: UnsafeMutablePointer<T>) {
        let count4 = count & ~3, depth4 = depth & ~3
        var i = 0
        while i < count4 {
            let r0 = UnsafeRawPointer(row(src, ld, rows, i)), r1 = UnsafeRawPointer(row(src, ld, rows, i + 1))
            let r2 = UnsafeRawPointer(row(src, ld, rows, i + 2)), r3 = UnsafeRawPointer(row(src, ld, rows, i + 3))
            var p = 0
            while p < depth4 {
                let off = p * MemoryLayout<T>.stride
                let x0 = r0.loadUnaligned(fromByteOffset: off, as: SIMD4<T>.self)
                let x1 = r1.loadUnaligned(fromByteOffset: off, as: SIMD4<T>.self)
                let x2 = r2.loadUnaligned(fromByteOffset: off, as: SIMD4<T>.self)
                let x3 = r3.loadUnaligned(fromByteOffset: off, as: SIMD4<T>.self)
                let d = UnsafeMutableRawPointer(dst + p * width + i)
                let rowBytes = width * MemoryLayout<T>.stride
                d.storeBytes(of: SIMD4(x0[0], x1[0], x2[0], x3[0]), as: SIMD4<T>.self)
                d.storeBytes(of: SIMD4(x0[1], x1[1], x2[1], x3[1]), toByteOffset: rowBytes, as: SIMD4<T>.self)
                d.storeBytes(of: SIMD4(x0[2], x1[2], x2[2], x3[2]), toByteOffset: 2 * rowBytes, as: SIMD4<T>.self)
                d.storeBytes(of: SIMD4(x0[3], x1[3], x2[3], x3[3]), toByteOffset: 3 * rowBytes, as: SIMD4<T>.self)
                p += 4
            }
            while p < depth {
                let d = dst + p * width + i
                d[0] = r0.load(fromByteOffset: p * MemoryLayout<T>.stride, as: T.self)
                d[1] = r1.load(fromByteOffset: p * MemoryLayout<T>.stride, as: T.self)
                d[2] = r2.load(fromByteOffset: p * MemoryLayout<T>.stride, as: T.self)
                d[3] = r3.load(fromByteOffset: p * MemoryLayout<T>.stride, as: T.self)
                p += 1
            }
            i += 4
        }
        while i < count {
            let source = row(src, ld, rows, i)
            var d = dst + i
            for p in 0..<depth {
                d.pointee = source[p]
                d += width
            }
            i += 1
        }
        if count < width {
            var d = dst + count
            for _ in 0..<depth {
                d.update(repeating: 0, count: width - count)
                d += width
            }
        }
    }
}
