import CNeuralKernels
import Synchronization

// Blocking, packing and threading of the GEMM; the register tiles are in CNeuralKernels.

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
    /// 512; 1024 from k = 1024 on, where K blocks of 512 would each sweep C again. With the row
    /// split for a large A (see `GEMMDriver.run`), 2 threads, in-process A/B, 40 pairs: 2048²
    /// 1.04–1.06× and 1024² 1.02–1.05× (blocks of 1024 alone: 2048² 1.02×, 1024² 0.99–1.01×).
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
        case 1: nk_sgemm_ukr_avx2(kc, a, b, c, ldc, alpha, beta, mr, nr)
        default: nk_sgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr)
        }
    }
    static func hasInPlaceKernels(level: Int) -> Bool { level >= 2 }
    @inline(__always)
    static func microKernelInPlace(level: Int, wide: Bool, kc: Int, a: UnsafePointer<Float>?,
                                   aRows: UnsafePointer<UnsafePointer<Float>?>?, b: UnsafePointer<Float>,
                                   bOffsets: UnsafePointer<Int>?, c: UnsafeMutablePointer<Float>, ldc: Int,
                                   alpha: Float, beta: Float, mr: Int, nr: Int, prefetch: UnsafePointer<CChar>?,
                                   prefetchLines: Int) {
        precondition(level >= 2 || (aRows == nil && bOffsets == nil), "gemm: no in-place kernels below AVX-512")
        switch (aRows, bOffsets) {
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
    static func hasNarrowKernels(level: Int) -> Bool { level >= 1 }
    @inline(__always)
    static func narrowNT(level: Int, rows: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
                         b: UnsafePointer<Float>, ldb: Int, c: UnsafeMutablePointer<Float>, ldc: Int,
                         alpha: Float, beta: Float) {
        (level >= 2 ? nk_sgemm_narrow_nt_avx512 : nk_sgemm_narrow_nt_avx2)(rows, n, k, a, lda, b, ldb, c, ldc, alpha, beta)
    }
    @inline(__always)
    static func packRuns(level: Int, src: UnsafePointer<Float>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                         width: Int, depth: Int, dst: UnsafeMutablePointer<Float>) {
        (level >= 2 ? nk_spack_runs_avx512 : nk_spack_runs_portable)(src, ld, rows, count, width, depth, dst)
    }
    @inline(__always)
    static func packTransposed(level: Int, src: UnsafePointer<Float>, ld: Int, rows: UnsafePointer<Int>?, count: Int,
                               width: Int, depth: Int, dst: UnsafeMutablePointer<Float>) {
        (level >= 2 ? nk_spack_transposed_avx512 : nk_spack_transposed_portable)(src, ld, rows, count, width, depth, dst)
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

enum GEMMConfig {
    /// Upper bound on the kernel level (-1: none). See `BLAS._kernelLevelCap`.
    static let levelCap = Atomic<Int>(-1)
    /// Detected CPU level.
    static let cpuLevel = Int(nk_cpu_level())

    static var level: Int {
        let cap = levelCap.load(ordering: .relaxed)
        return cap < 0 ? cpuLevel : min(cap, cpuLevel)
    }

    /// Below this many multiply-adds a product runs on the calling thread.
    /// (The MLP's three 10-wide products, 0.65 M each, ran on one core while the other waited; on
    /// two threads: logits 61 → 41 µs, their ∂x 42 → 33 µs, their ∂W 20 → 26 µs; the step 1.01×.)
    static let parallelThreshold = 1 << 18

    /// Most columns of a product that ``GEMMDriver/run`` computes as dot products of rows (A Bᵀ
    /// with both row-major) instead of with register tiles.
    static let narrowColumns = 16

    /// Most bytes of packed B held at once (all K blocks of one column block). Every column block
    /// packs all of A again (once per worker when the columns split): 8 MiB, two column blocks for
    /// N = 2048, ran 0.95–0.97× one block of 16 MiB (2 threads, in-process A/B, 40 pairs).
    static let packedBBytes = 32 << 20

    /// Whether an untransposed A is read in place by the micro-kernel instead of being packed
    /// (where the kernel level has such kernels): 0 packed; 1 in place; -1 (the default,
    /// `BLAS._readsAInPlace = nil`) in place unless A's rows are a multiple of 4 KiB apart (see
    /// ``GEMMDriver/readsAInPlace(level:lda:)``). Results are the same bits either way (tests and
    /// benchmarks compare).
    ///
    /// In place saves A's transposed packing (a 16 × 16 transpose per 256 elements, ~10 GB/s per
    /// core). Measured with `neural-bench sgemm --ab-in-place --b-in-place off` (1 thread, adjacent pairs):
    /// 1.13× on 512x128x512, 1.10× on 128x128x9216, 1.05× on 256x256x1024, 1.02–1.04× on the MLP's
    /// 128-row products. Rows a multiple of 4 KiB apart put the tile's 12 row streams in one L1
    /// set: on 2 threads in place ran 0.91–0.96× packed on 1024² and 0.98× on 2048² (6 and 2 runs of
    /// 40 pairs; 0.99× on 1024² on 1 thread in a quiet phase), so the default packs such an A.
    static let directA = Atomic<Int>(-1)

    /// The same for whole panels of an untransposed B (a row-major B or rows through a row table),
    /// when one row block reads them: 0 packed, -1 (the default) or 1 in place. Saves the B pack (a copy of kc × NR elements
    /// per panel) at the price of unaligned loads from rows `ldb` apart.
    static let directB = Atomic<Int>(-1)

    /// See ``directB``.
    static var readsBInPlace: Bool { directB.load(ordering: .relaxed) != 0 }
}

/// 64-byte aligned scratch memory, reused across calls (first touch of fresh pages is costly).
struct GEMMScratch: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let bytes: Int

    private static let pool = Mutex<[GEMMScratch]>([])
    private static let keep = 8
    /// Small problems use the stack instead of the pool.
    private static let stackLimit = 32 << 10

    static func withBuffer<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
        if bytes <= stackLimit {
            return withUnsafeTemporaryAllocation(byteCount: bytes, alignment: 64) { body($0.baseAddress!) }
        }
        let buffer = acquire(bytes: bytes)
        defer { release(buffer) }
        return body(buffer.base)
    }

    private static func acquire(bytes: Int) -> GEMMScratch {
        let found: GEMMScratch? = pool.withLock { free in
            var best = -1
            for (i, f) in free.enumerated() where f.bytes >= bytes {
                if best < 0 || f.bytes < free[best].bytes { best = i }
            }
            return best >= 0 ? free.remove(at: best) : nil
        }
        if let found { return found }
        let size = max(bytes, 4096 - 64) + 64
        return GEMMScratch(base: .allocate(byteCount: size, alignment: 64), bytes: size)
    }

    private static func release(_ buffer: GEMMScratch) {
        let dropped: GEMMScratch? = pool.withLock { free in
            free.append(buffer)
            guard free.count > keep else { return nil }
            var smallest = 0
            for i in free.indices where free[i].bytes < free[smallest].bytes { smallest = i }
            return free.remove(at: smallest)
        }
        dropped?.base.deallocate()
    }
}

@inline(__always) private func roundUp(_ x: Int, _ to: Int) -> Int { (x + to - 1) / to * to }
@inline(__always) private func ceilDiv(_ x: Int, _ y: Int) -> Int { (x + y - 1) / y }

enum GEMMDriver<T: GEMMScalar> {
    /// Whether an untransposed A (row-major with row stride `lda`, or rows through a row table:
    /// `lda` nil) is read in place by the micro-kernel of `level` rather than packed (one product
    /// reads the level once: a concurrent change of `BLAS._kernelLevelCap` cannot pair an in-place
    /// decision with a level without such kernels). See ``GEMMConfig/directA``.
    static func readsAInPlace(level: Int, lda: Int?) -> Bool {
        guard T.hasInPlaceKernels(level: level) else { return false }
        switch GEMMConfig.directA.load(ordering: .relaxed) {
        case 0: return false
        case 1: return true
        default: return lda.map { $0 * MemoryLayout<T>.stride % 4096 != 0 } ?? true
        }
    }

    /// C = alpha op(A) op(B) + beta C (see ``BLAS/gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``).
    /// With `bRows`, the stored B has no fixed row stride: its row r starts at `b + bRows[r]`
    /// (`ldb` is ignored), which lets a convolution read its im2col matrix straight from the image.
    /// `aRows` does the same for A when it is not transposed (row i of A at `a + aRows[i]`).
    static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                    a: UnsafePointer<T>, lda: Int, aRows: UnsafePointer<Int>? = nil,
                    b: UnsafePointer<T>, ldb: Int, bRows: UnsafePointer<Int>? = nil,
                    beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        precondition(ldc >= max(1, n), "gemm: ldc < n")
        precondition(aRows == nil || !transA, "gemm: aRows needs an untransposed A")
        precondition(aRows != nil || lda >= max(1, transA ? m : k), "gemm: lda too small")
        precondition(bRows != nil || ldb >= max(1, transB ? k : n), "gemm: ldb too small")
        if m == 0 || n == 0 { return }
        if k == 0 || alpha == 0 {
            scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
            return
        }
        if (m == 1 || n == 1) && bRows == nil && aRows == nil {
            gemv(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }

        let level = GEMMConfig.level
        // At most 16 columns of A Bᵀ (a layer's few outputs): dot products of rows, which read each
        // row of A once; the register tiles would compute 32 columns and stream 12 rows of A at
        // once (logits 128 × 10 × 512, in-process A/B, 40 pairs: 26 → 57 GFLOP/s on one thread,
        // 26 → 74 on two; in the MLP step 50–59 → 25–26 µs). Shallower products (k < 16) keep the tiles.
        if n <= GEMMConfig.narrowColumns && k >= 16 && !transA && transB && aRows == nil && bRows == nil
            && T.hasNarrowKernels(level: level) {
            let cp = SendablePointer(c)
            let body = { (r: Range<Int>) in
                T.narrowNT(level: level, rows: r.count, n: n, k: k, a: a + r.lowerBound * lda, lda: lda, b: b, ldb: ldb,
                           c: cp.pointer + r.lowerBound * ldc, ldc: ldc, alpha: alpha, beta: beta)
            }
            if m * n * k < GEMMConfig.parallelThreshold { body(0..<m) } else { Parallel.forRanges(count: m, grain: 16, body) }
            return
        }
        var mrL = 0, nrL = 0, mrW = 0, nrW = 0
        nk_gemm_tile(Int32(level), T.kernelFamily, &mrL, &nrL)
        // The second tile shape when it covers C with less padding (e.g. 64 rows: 8 × 48 tiles
        // are all used, 12 × 32 tiles waste 1/9). Per-element arithmetic is the same for both.
        var wide = false
        if nk_gemm_tile_wide(Int32(level), T.kernelFamily, &mrW, &nrW) != 0
            && roundUp(m, mrW) * roundUp(n, nrW) < roundUp(m, mrL) * roundUp(n, nrL) {
            wide = true
            (mrL, nrL) = (mrW, nrW)
        }
        let mr = mrL, nr = nrL
        // A read in place by the kernel (no A packing) where the level has such kernels.
        let directA = !transA && readsAInPlace(level: level, lda: aRows == nil ? lda : nil)

        // K blocks: equal depths, a function of k only (this fixes the rounding of every element).
        let kBlocks = ceilDiv(k, T.kcMax(k: k))
        let kcStep = ceilDiv(k, kBlocks)

        let stride = MemoryLayout<T>.stride
        let nPanelsAll = ceilDiv(n, nr)
        var threads = Runtime.threads
        if m * n * k < GEMMConfig.parallelThreshold { threads = 1 }

        // Column blocks × groups of K blocks: one group of K blocks of one column block of op(B)
        // is packed (by whichever worker needs a micro-panel first) into one buffer of at most
        // `packedBBytes`. Groups span all of k unless k is very deep.
        let bLimit = GEMMConfig.packedBBytes
        let minCols = min(roundUp(n, nr), 8 * nr)
        let groupBlocks = max(1, min(kBlocks, bLimit / (kcStep * minCols * stride)))
        let groupDepth = min(k, groupBlocks * kcStep)
        let ncFit = max(nr, bLimit / (groupDepth * stride) / nr * nr)
        let ncBlocks = ceilDiv(n, ncFit)
        let ncStep = roundUp(ceilDiv(n, ncBlocks), nr)
        let ncPanelsMax = ncStep / nr

        // Chunks of C (row blocks × column ranges), claimed dynamically. With several threads the
        // columns split into one range per thread and rows into blocks of at most `mcMaxParallel`,
        // at least four per range. Worker w works through range w first, so that each worker mostly
        // packs and reads its own B panels (they stay in its core's L2; panels shared across cores
        // cost up to 2× on 128-row products), then takes the row blocks left in the others (a
        // worker that starts late holds no one up; four blocks rather than two: MLP step 1.01×).
        // Only rows split, in blocks of about m / (8 · threads) rows, when A is the larger operand
        // (m ≥ 2n, e.g. yᵀ = W xᵀ of a linear layer), or when A is transposed, m ≥ n / 2 and B is
        // small (≤ 1 MiB: a weight gradient ∂W = gᵀ x): the workers share the small B panels and
        // each packs or reads only its own rows of A (split by columns, every worker packs all of a
        // transposed A), and a worker on a slower core holds the other up by little. Measured on
        // 2 threads: 512 × 128 × 784 190 → 215–240 GFLOP/s against 2 blocks per thread; the MLP
        // step 1.02–1.03× for ∂W split by rows, 1.01× for 8 blocks per thread instead of 4. Square
        // products keep the column split unless A is large (≥ 4 MiB, e.g. 1024², and m ≥ n): then
        // packing all of A once per worker costs more than sharing the B panels (rows only, K blocks of
        // 512: 2048² 1.01–1.02×, 1024² 1.00–1.03×; with the K blocks of 1024, 1.04–1.06× and
        // 1.02–1.05×).
        var nChunks = 1, mcTarget = T.mcMax
        var ownRows = false
        if threads > 1 {
            let smallB = k * n * stride <= 1 << 20
            let largeA = m * k * stride >= 4 << 20 && m >= n
            ownRows = m >= 2 * n || (transA && 2 * m >= n && smallB)
            let rowsOnly = ownRows || largeA
            nChunks = rowsOnly ? 1 : min(threads, ceilDiv(nPanelsAll, ncBlocks))
            let blocksPerRange = (rowsOnly ? 8 : 4) * ceilDiv(threads, nChunks)
            mcTarget = min(T.mcMaxParallel, max(mr, ceilDiv(m, blocksPerRange)))
        }
        let mChunks0 = ceilDiv(m, mcTarget)
        let mcStep = roundUp(ceilDiv(m, mChunks0), mr)
        let mChunks = ceilDiv(m, mcStep)
        // B read in place (whole NR-column panels of an untransposed B; edge panels are packed), only
        // where each panel is read by one row block (read once instead of packed once and read
        // once); panels read by several row blocks are packed.
        let directB = !transB && mChunks == 1 && T.hasInPlaceKernels(level: level) && GEMMConfig.readsBInPlace
        let workers = min(threads, mChunks * nChunks)
        // Split by rows for a small A (not for the large-A case), each worker starts on its own
        // share of the row blocks, [w·mChunks/workers, (w+1)·mChunks/workers), and then helps with
        // the rest: the rows of a weight (yᵀ = W xᵀ) or of its gradient (∂W = gᵀ x) then go to the
        // core that updates them in the optimizer (``Parallel/forEach(tasks:_:)`` splits the same
        // way). MLP step 1.011–1.018× with that split (2 threads, in-process A/B, 50 pairs); for
        // the large A of 1024² and 2048² 0.98× (all from one counter: unchanged).
        let rowParts = ownRows ? workers : 1
        // C's ranges, each with its own counter of row blocks: the column ranges, or the row shares
        // (at most one of nChunks and rowParts is above 1).
        let ranges = nChunks * rowParts

        let bBytes = roundUp(groupDepth * ncStep * stride, 64)
        // A packed block, or the row starts of an A read in place.
        let aBytes = roundUp(directA ? mcStep * MemoryLayout<UnsafePointer<T>?>.stride : kcStep * mcStep * stride, 64)
        let flagCount = groupBlocks * ncPanelsMax + ranges
        let flagBytes = roundUp(flagCount * MemoryLayout<Atomic<Int>>.stride, 64)
        // B read in place: the offset of each of its rows (the row table itself, or p · ldb).
        let offsetBytes = directB && bRows == nil ? roundUp(k * MemoryLayout<Int>.stride, 64) : 0

        GEMMScratch.withBuffer(bytes: bBytes + workers * aBytes + flagBytes + offsetBytes) { raw in
            let bPack = raw.bindMemory(to: T.self, capacity: bBytes / stride)
            let aBase = raw + bBytes
            let flags = (raw + bBytes + workers * aBytes).bindMemory(to: Atomic<Int>.self, capacity: flagCount)
            var bOffsets: UnsafePointer<Int>? = nil
            if directB {
                if let bRows {
                    bOffsets = bRows
                } else {
                    let offsets = (raw + bBytes + workers * aBytes + flagBytes).bindMemory(to: Int.self, capacity: k)
                    for p in 0..<k { offsets[p] = p * ldb }
                    bOffsets = UnsafePointer(offsets)
                }
            }

            var jc = 0
            while jc < n {
                let nc = min(ncStep, n - jc)
                let ncPanels = ceilDiv(nc, nr)
                var kbGroup = 0
                while kbGroup < kBlocks {
                    let kbEnd = min(kBlocks, kbGroup + groupBlocks)
                    let pcGroup = kbGroup * kcStep
                    // Micro-panel states, 0: not packed, 1: being packed, 2: ready. Then the next row
                    // block of each range.
                    for i in 0..<(kbEnd - kbGroup) * ncPanels { (flags + i).initialize(to: Atomic(0)) }
                    let nextRows = flags + (kbEnd - kbGroup) * ncPanels
                    for r in 0..<ranges { (nextRows + r).initialize(to: Atomic(mChunks * (r % rowParts) / rowParts)) }

                    Parallel.forEach(tasks: workers) { w in
                        let aPack = directA ? nil : (aBase + w * aBytes).bindMemory(to: T.self, capacity: aBytes / stride)
                        let aStarts = directA
                            ? (aBase + w * aBytes).bindMemory(to: UnsafePointer<T>?.self, capacity: mcStep) : nil
                        // Own ranges first (r % workers == w), then the row blocks left in the others.
                        for step in 0..<2 * ranges {
                            let r = (w + step) % ranges
                            if (r % workers == w) != (step < ranges) { continue }
                            let ni = r / rowParts, rowEnd = mChunks * (r % rowParts + 1) / rowParts
                            while true {
                                let mi = nextRows[r].add(1, ordering: .relaxed).oldValue
                                if mi >= rowEnd { break }
                                let ic = mi * mcStep
                                let mc = min(mcStep, m - ic)
                                let mcPanels = ceilDiv(mc, mr)
                                let panLo = ncPanels * ni / nChunks, panHi = ncPanels * (ni + 1) / nChunks
                                let panCount = panHi - panLo
                                if panCount <= 0 { continue }
                                // Chunks start at different micro-panels, so that concurrent workers
                                // pack different parts of B first.
                                let rotate = panCount * w / workers
                                // The q-th panel this chunk visits.
                                let panelAt = { (q: Int) in panLo + (q + rotate) % panCount }
                                for kb in kbGroup..<kbEnd {
                                    let pc = kb * kcStep
                                    let kc = min(kcStep, k - pc)
                                    let betaK: T = kb == 0 ? beta : 1
                                    let bBlock = bPack + (pc - pcGroup) * ncPanels * nr
                                    let kbFlags = flags + (kb - kbGroup) * ncPanels
                                    if let aStarts {
                                        // Row i of the block, at depth pc; tile rows past the edge repeat
                                        // the block's last row (read, never stored).
                                        for i in 0..<mcPanels * mr {
                                            let r = ic + Swift.min(i, mc - 1)
                                            aStarts[i] = (aRows.map { a + $0[r] } ?? a + r * lda) + pc
                                        }
                                    } else {
                                        packA(level: level, transA: transA, a: a, lda: lda, aRows: aRows, i0: ic, rows: mc,
                                              p0: pc, kc: kc, mr: mr, dst: aPack!)
                                    }
                                    for q in 0..<panCount {
                                        let panel = panelAt(q)
                                        let j0 = panel * nr
                                        let cols = min(nr, nc - j0)
                                        // A whole panel of B read in place needs no packing.
                                        let bInPlace = cols == nr ? bOffsets.map { $0 + pc } : nil
                                        let bPanel = bBlock + panel * nr * kc
                                        let flag = kbFlags + panel
                                        if bInPlace == nil && flag.pointee.load(ordering: .acquiring) != 2 {
                                            if flag.pointee.compareExchange(expected: 0, desired: 1,
                                                                            ordering: .relaxed).exchanged {
                                                packB(level: level, transB: transB, b: b, ldb: ldb, bRows: bRows, p0: pc, kc: kc,
                                                      j0: jc + j0, cols: cols, nr: nr, dst: bPanel)
                                                flag.pointee.store(2, ordering: .releasing)
                                            } else {
                                                // Another worker is packing it right now.
                                                while flag.pointee.load(ordering: .acquiring) != 2 {}
                                            }
                                        }
                                        let cBlock = c + ic * ldc + jc + j0
                                        let bKernel = bInPlace == nil ? UnsafePointer(bPanel) : b + jc + j0
                                        // The row block's tiles prefetch the next packed panel of this K block
                                        // into L2, a slice each: it was packed for an earlier row block (or by
                                        // the other worker) and has left L2, and the first tile to read it from
                                        // L3 runs far below the others (1.02–1.07× on N = 1024, 2048).
                                        var nextPanel: UnsafePointer<CChar>? = nil
                                        var nextLines = 0, slice = 0
                                        if bInPlace == nil && q + 1 < panCount {
                                            let next = panelAt(q + 1)
                                            if (kbFlags + next).pointee.load(ordering: .relaxed) == 2 {
                                                nextPanel = UnsafeRawPointer(bBlock + next * nr * kc).assumingMemoryBound(to: CChar.self)
                                                nextLines = nr * kc * stride / 64
                                                slice = ceilDiv(nextLines, mcPanels)
                                            }
                                        }
                                        for ip in 0..<mcPanels {
                                            let i0 = ip * mr
                                            T.microKernelInPlace(level: level, wide: wide, kc: kc, a: aPack.map { UnsafePointer($0 + ip * mr * kc) },
                                                                 aRows: aStarts.map { UnsafePointer($0 + i0) }, b: bKernel,
                                                                 bOffsets: bInPlace, c: cBlock + i0 * ldc, ldc: ldc, alpha: alpha,
                                                                 beta: betaK, mr: min(mr, mc - i0), nr: cols,
                                                                 prefetch: nextPanel.map { $0 + ip * slice * 64 },
                                                                 prefetchLines: max(0, min(slice, nextLines - ip * slice)))
                                        }
                                    }
                                }
                            }
                        }
                    }
                    kbGroup = kbEnd
                }
                jc += nc
            }
        }
    }

    /// C = beta * C (beta == 0 writes zeros without reading C).
    static func scale(m: Int, n: Int, beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        if beta == 1 { return }
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 {
                row.update(repeating: 0, count: n)
            } else {
                for j in 0..<n { row[j] *= beta }
            }
        }
    }
}
