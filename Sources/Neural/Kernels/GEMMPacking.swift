// Packing of GEMM operands into the micro-panel layout of the C micro-kernels:
// a micro-panel of width w (MR for A, NR for B) holds, for each depth p, w consecutive elements;
// lanes past the matrix edge are zero. Float32 panels are packed by the C routines of
// CNeuralKernels (gemm_pack.c, AVX-512 or portable); Float64 by the Swift loops below.

extension GEMMDriver {
    /// Packs rows i0..<i0+rows, depths p0..<p0+kc of op(A) into MR-row micro-panels.
    @inline(__always)
    static func packA(level: Int, transA: Bool, a: UnsafePointer<T>, lda: Int, i0: Int, rows: Int,
                      p0: Int, kc: Int, mr: Int, dst: UnsafeMutablePointer<T>) {
        var start = 0
        var d = dst
        while start < rows {
            let r = min(mr, rows - start)
            if transA {
                // op(A)(i, p) = a[p * lda + i]: each depth is a contiguous run of rows.
                T.packRuns(level: level, src: a + p0 * lda + i0 + start, ld: lda, count: r, width: mr,
                           depth: kc, dst: d)
            } else {
                // op(A)(i, p) = a[i * lda + p]: each row is a contiguous run of depths.
                T.packTransposed(level: level, src: a + (i0 + start) * lda + p0, ld: lda, count: r,
                                 width: mr, depth: kc, dst: d)
            }
            d += mr * kc
            start += mr
        }
    }

    /// Packs depths p0..<p0+kc, columns j0..<j0+cols of op(B) into one NR-wide micro-panel.
    @inline(__always)
    static func packB(level: Int, transB: Bool, b: UnsafePointer<T>, ldb: Int, bRows: UnsafePointer<Int>?,
                      p0: Int, kc: Int, j0: Int, cols: Int, nr: Int, dst: UnsafeMutablePointer<T>) {
        if let bRows {
            // Row r of the stored B starts at b + bRows[r].
            if transB {
                T.packTransposedRows(level: level, base: b + p0, rows: bRows + j0, count: cols, width: nr,
                                     depth: kc, dst: dst)
            } else {
                T.packRunsRows(level: level, base: b + j0, rows: bRows + p0, count: cols, width: nr,
                               depth: kc, dst: dst)
            }
        } else if transB {
            // op(B)(p, j) = b[j * ldb + p]: each column is a contiguous run of depths.
            T.packTransposed(level: level, src: b + j0 * ldb + p0, ld: ldb, count: cols, width: nr,
                             depth: kc, dst: dst)
        } else {
            // op(B)(p, j) = b[p * ldb + j]: each depth is a contiguous run of columns.
            T.packRuns(level: level, src: b + p0 * ldb + j0, ld: ldb, count: cols, width: nr,
                       depth: kc, dst: dst)
        }
    }

    /// dst[p * width + i] = src[p * ld + i] for i < count (0 for count <= i < width), p < depth.
    /// The generic Swift version (used for Float64).
    @inline(__always)
    static func packRunsSwift(src: UnsafePointer<T>, ld: Int, count: Int, width: Int, depth: Int,
                         dst: UnsafeMutablePointer<T>) {
        var s = src
        var d = dst
        let count4 = count & ~3
        for _ in 0..<depth {
            var i = 0
            while i < count4 {
                UnsafeMutableRawPointer(d + i).storeBytes(
                    of: UnsafeRawPointer(s + i).loadUnaligned(as: SIMD4<T>.self), as: SIMD4<T>.self)
                i += 4
            }
            while i < count { d[i] = s[i]; i += 1 }
            while i < width { d[i] = 0; i += 1 }
            s += ld
            d += width
        }
    }

    /// dst[p * width + i] = src[i * ld + p] for i < count (0 for count <= i < width), p < depth.
    /// Works on 4 × 4 blocks with SIMD transposes; edges element by element. The generic Swift
    /// version (used for Float64).
    @inline(__always)
    static func packTransposedSwift(src: UnsafePointer<T>, ld: Int, count: Int, width: Int, depth: Int,
                               dst: UnsafeMutablePointer<T>) {
        let count4 = count & ~3, depth4 = depth & ~3
        var i = 0
        while i < count4 {
            let r0 = UnsafeRawPointer(src + i * ld), r1 = UnsafeRawPointer(src + (i + 1) * ld)
            let r2 = UnsafeRawPointer(src + (i + 2) * ld), r3 = UnsafeRawPointer(src + (i + 3) * ld)
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
                d[0] = src[i * ld + p]
                d[1] = src[(i + 1) * ld + p]
                d[2] = src[(i + 2) * ld + p]
                d[3] = src[(i + 3) * ld + p]
                p += 1
            }
            i += 4
        }
        while i < count {
            let row = src + i * ld
            var d = dst + i
            for p in 0..<depth {
                d.pointee = row[p]
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
