import CNeuralKernels

// The element types of the GEMM and their C register tiles and packing routines.

/// Element types with GEMM micro-kernels.
protocol GEMMScalar: BinaryFloatingPoint, SIMDScalar, Codable, Sendable {
    /// 0 for Float, 1 for Double (selects the C kernel family).
    static var kernelFamily: Int32 { get }
    /// Most depth of one K block for a product of depth `k`; a function of the element type and
    /// `k` only, so that the rounding of every element is the same for every kernel level, tile
    /// shape and thread count.
    static func kcMax(k: Int) -> Int
    /// Target rows of one packed A block (L2-resident), before rounding to MR.
    static var mcMax: Int { get }
    /// The same with several threads, where each chunk of C also covers fewer columns.
    static var mcMaxParallel: Int { get }
    /// The micro-kernel of `level` (see `nk_gemm.h`); `wide` picks the level's second tile shape
    /// (`nk_gemm_tile_wide`). While it runs, kernels that have it prefetch the `prefetchLines`
    /// cache lines from `prefetch` on into L2 (a slice of the next packed B micro-panel).
    static func microKernel(level: Int, wide: Bool, kc: Int, a: UnsafePointer<Self>, b: UnsafePointer<Self>,
                            c: UnsafeMutablePointer<Self>, ldc: Int, alpha: Self, beta: Self,
                            mr: Int, nr: Int, prefetch: UnsafePointer<CChar>?, prefetchLines: Int)
    /// Whether `level` has micro-kernels that read an untransposed A or B in place
    /// (``microKernelInPlace(level:wide:kc:a:aRows:b:bOffsets:c:ldc:alpha:beta:mr:nr:prefetch:prefetchLines:)``).
    static func hasInPlaceKernels(level: Int) -> Bool
    /// The micro-kernel of `level` with A and/or B read in place. A: from `aRows` when given
    /// (`aRows[i]` is the start of row i of the tile's A block, `kc` contiguous elements; rows
    /// i ≥ mr repeat a valid row), else the packed panel `a`. B: step p is the NR elements at
    /// `b + bOffsets[p]` when `bOffsets` is given, else `b` is the packed panel. The same bits as
    /// ``microKernel(level:wide:kc:a:b:c:ldc:alpha:beta:mr:nr:prefetch:prefetchLines:)`` on the
    /// packed operands; the prefetch as there, where B is packed.
    static func microKernelInPlace(level: Int, wide: Bool, kc: Int, a: UnsafePointer<Self>?,
                                   aRows: UnsafePointer<UnsafePointer<Self>?>?, b: UnsafePointer<Self>,
                                   bOffsets: UnsafePointer<Int>?, c: UnsafeMutablePointer<Self>, ldc: Int,
                                   alpha: Self, beta: Self, mr: Int, nr: Int, prefetch: UnsafePointer<CChar>?,
                                   prefetchLines: Int)
    /// Whether `level` has the narrow kernels of
    /// ``narrowNT(level:rows:n:k:a:lda:b:ldb:c:ldc:alpha:beta:)``.
    static func hasNarrowKernels(level: Int) -> Bool
    /// C = alpha A Bᵀ + beta C for C `[rows, n]` with n ≤ 16, A `[rows, k]` and B `[n, k]`
    /// row-major: one dot product of rows per element (`nk_sgemm_narrow_nt_*`), so rows are
    /// independent and any split of them gives the same bits.
    static func narrowNT(level: Int, rows: Int, n: Int, k: Int, a: UnsafePointer<Self>, lda: Int,
                         b: UnsafePointer<Self>, ldb: Int, c: UnsafeMutablePointer<Self>, ldc: Int,
                         alpha: Self, beta: Self)
    /// dst[p * width + i] = row(p)[i] for i < count (0 for count <= i < width), p < depth, with the
    /// packing routine of kernel `level`; row r starts at `src + r * ld`, or at `src + rows[r]`
    /// when a row table is given.
    static func packRuns(level: Int, src: UnsafePointer<Self>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                         width: Int, depth: Int, dst: UnsafeMutablePointer<Self>)
    /// dst[p * width + i] = row(i)[p] for i < count (0 for count <= i < width), p < depth; rows as
    /// in ``packRuns(level:src:ld:rows:count:width:depth:dst:)``. For Float, `count` may exceed
    /// `width`: the rows then fill consecutive panels (see `nk_pack.h`).
    static func packTransposed(level: Int, src: UnsafePointer<Self>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                               width: Int, depth: Int, dst: UnsafeMutablePointer<Self>)
}

extension Float: GEMMScalar {
    static var kernelFamily: Int32 { 0 }
    /// 512; 1024 from k = 1024 on, where K blocks of 512 would each sweep C again (docs/PERFORMANCE.md).
    static func kcMax(k: Int) -> Int { k >= 1024 ? 1024 : 512 }
    static var mcMax: Int { 96 }
    static var mcMaxParallel: Int { 192 }
    @inline(__always)
    static func microKernel(level: Int, wide: Bool, kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float,
                            mr: Int, nr: Int, prefetch: UnsafePointer<CChar>?, prefetchLines: Int) {
        switch level {
        case 2 where wide: nk_sgemm_ukr_avx512_wide(kc, a, b, c, ldc, alpha, beta, mr, nr, prefetch, prefetchLines)
        case 2: nk_sgemm_ukr_avx512(kc, a, b, c, ldc, alpha, beta, mr, nr, prefetch, prefetchLines)
        case 1: nk_sgemm_ukr_avx2(kc, a, b, c, ldc, alpha, beta, mr, nr, prefetch, prefetchLines)
        default: nk_sgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr)
        }
    }
    static func hasInPlaceKernels(level: Int) -> Bool { level >= 1 }
    @inline(__always)
    static func microKernelInPlace(level: Int, wide: Bool, kc: Int, a: UnsafePointer<Float>?,
                                   aRows: UnsafePointer<UnsafePointer<Float>?>?, b: UnsafePointer<Float>,
                                   bOffsets: UnsafePointer<Int>?, c: UnsafeMutablePointer<Float>, ldc: Int,
                                   alpha: Float, beta: Float, mr: Int, nr: Int, prefetch: UnsafePointer<CChar>?,
                                   prefetchLines: Int) {
        precondition(level >= 1 || (aRows == nil && bOffsets == nil), "gemm: no in-place kernels below AVX2")
        switch (aRows, bOffsets) {
        case let (rows?, offsets?) where level == 1:
            nk_sgemm_ukr_avx2_direct_ab(kc, rows, b, offsets, c, ldc, alpha, beta, mr, nr)
        case let (rows?, nil) where level == 1:
            nk_sgemm_ukr_avx2_direct(kc, rows, b, c, ldc, alpha, beta, mr, nr, prefetch, prefetchLines)
        case let (nil, offsets?) where level == 1:
            nk_sgemm_ukr_avx2_direct_b(kc, a!, b, offsets, c, ldc, alpha, beta, mr, nr)
        case let (rows?, offsets?):
            (wide ? nk_sgemm_ukr_avx512_wide_direct_ab : nk_sgemm_ukr_avx512_direct_ab)(kc, rows, b, offsets, c, ldc,
                                                                                      alpha, beta, mr, nr)
        case let (rows?, nil):
            (wide ? nk_sgemm_ukr_avx512_wide_direct : nk_sgemm_ukr_avx512_direct)(kc, rows, b, c, ldc, alpha, beta, mr, nr,
                                                                                  prefetch, prefetchLines)
        case let (nil, offsets?):
            (wide ? nk_sgemm_ukr_avx512_wide_direct_b : nk_sgemm_ukr_avx512_direct_b)(kc, a!, b, offsets, c, ldc,
                                                                                    alpha, beta, mr, nr)
        case (nil, nil):
            microKernel(level: level, wide: wide, kc: kc, a: a!, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta,
                        mr: mr, nr: nr, prefetch: prefetch, prefetchLines: prefetchLines)
        }
    }
    /// Every level: the portable kernel sums the same 16 lanes in the same order, so the choice
    /// between narrow kernels and tiles never depends on the level.
    static func hasNarrowKernels(level: Int) -> Bool { true }
    @inline(__always)
    static func narrowNT(level: Int, rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                         b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                         alpha: Float, beta: Float) {
        (level >= 2 ? nk_sgemm_narrow_nt_avx512 : level == 1 ? nk_sgemm_narrow_nt_avx2 : nk_sgemm_narrow_nt_portable)(
            rows, n, k, a, lda, b, ldb, c, ldc, alpha, beta)
    }
    @inline(__always)
    static func packRuns(level: Int, src: UnsafePointer<Float>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                         width: Int, depth: Int, dst: UnsafeMutablePointer<Float>) {
        (level >= 2 ? nk_spack_runs_avx512 : level == 1 ? nk_spack_runs_avx2 : nk_spack_runs_portable)(
            src, ld, rows, count, width, depth, dst)
    }
    @inline(__always)
    static func packTransposed(level: Int, src: UnsafePointer<Float>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                               width: Int, depth: Int, dst: UnsafeMutablePointer<Float>) {
        (level >= 2 ? nk_spack_transposed_avx512 : level == 1 ? nk_spack_transposed_avx2
            : nk_spack_transposed_portable)(src, ld, rows, count, width, depth, dst)
    }
}

extension Double: GEMMScalar {
    static var kernelFamily: Int32 { 1 }
    static func kcMax(k: Int) -> Int { 256 }
    static var mcMax: Int { 48 }
    static var mcMaxParallel: Int { 96 }
    @inline(__always)
    static func microKernel(level: Int, wide: Bool, kc: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
                            c: UnsafeMutablePointer<Double>, ldc: Int, alpha: Double, beta: Double,
                            mr: Int, nr: Int, prefetch: UnsafePointer<CChar>?, prefetchLines: Int) {
        switch level {
        case 2: nk_dgemm_ukr_avx512(kc, a, b, c, ldc, alpha, beta, mr, nr)
        case 1: nk_dgemm_ukr_avx2(kc, a, b, c, ldc, alpha, beta, mr, nr)
        default: nk_dgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr)
        }
    }
    static func hasInPlaceKernels(level: Int) -> Bool { false }
    @inline(__always)
    static func microKernelInPlace(level: Int, wide: Bool, kc: Int, a: UnsafePointer<Double>?,
                                   aRows: UnsafePointer<UnsafePointer<Double>?>?, b: UnsafePointer<Double>,
                                   bOffsets: UnsafePointer<Int>?, c: UnsafeMutablePointer<Double>, ldc: Int,
                                   alpha: Double, beta: Double, mr: Int, nr: Int, prefetch: UnsafePointer<CChar>?,
                                   prefetchLines: Int) {
        precondition(aRows == nil && bOffsets == nil, "gemm: Float64 has no in-place kernels (hasInPlaceKernels is false)")
        microKernel(level: level, wide: wide, kc: kc, a: a!, b: b, c: c, ldc: ldc, alpha: alpha, beta: beta, mr: mr, nr: nr,
                    prefetch: prefetch, prefetchLines: prefetchLines)
    }
    static func hasNarrowKernels(level: Int) -> Bool { false }
    static func narrowNT(level: Int, rows: Int, n: Int, k: Int, a: UnsafePointer<Double>, lda: Int,
                         b: UnsafePointer<Double>, ldb: Int, c: UnsafeMutablePointer<Double>, ldc: Int,
                         alpha: Double, beta: Double) {
        preconditionFailure("gemm: Float64 has no narrow kernels (hasNarrowKernels is false)")
    }
    @inline(__always)
    static func packRuns(level: Int, src: UnsafePointer<Double>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                         width: Int, depth: Int, dst: UnsafeMutablePointer<Double>) {
        GEMMDriver<Double>.packRunsSwift(src: src, ld: ld, rows: rows, count: count, width: width, depth: depth,
                                         dst: dst)
    }
    @inline(__always)
    static func packTransposed(level: Int, src: UnsafePointer<Double>, ld: Int, rows: UnsafePointer<Int>?,
                               count: Int, width: Int, depth: Int, dst: UnsafeMutablePointer<Double>) {
        GEMMDriver<Double>.packTransposedSwift(src: src, ld: ld, rows: rows, count: count, width: width,
                                               depth: depth, dst: dst)
    }
}
