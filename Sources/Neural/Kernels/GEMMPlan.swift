import CNeuralKernels

// What the GEMM driver does for one product, decided before any element is touched: a pure
// function of the problem and the machine, so that the decisions can be tested without running a
// product. docs/PERFORMANCE.md gives the measurements behind each decision.

/// One product C = alpha op(A) op(B) + beta C, C `[m, n]`, op(A) `[m, k]`, op(B) `[k, n]`, as the
/// planner sees it: its sizes, transposes and how its operands are addressed.
package struct GEMMProblem: Equatable, Sendable {
    /// Rows of C and of op(A).
    package var m: Int
    /// Columns of C and of op(B).
    package var n: Int
    /// The depth: columns of op(A), rows of op(B).
    package var k: Int
    /// Whether A is stored `[k, m]` (op(A) = Aᵀ).
    package var transA: Bool
    /// Whether B is stored `[n, k]` (op(B) = Bᵀ).
    package var transB: Bool
    /// A's row stride in elements (ignored with `aRowTable`).
    package var lda: Int
    /// Whether A's rows are found through a row table instead of a stride.
    package var aRowTable: Bool
    /// Whether B's rows are found through a row table instead of a stride.
    package var bRowTable: Bool
    /// Whether alpha is 0 (then only C = beta C is computed).
    package var alphaIsZero: Bool

    /// A problem; `lda` defaults to the dense stride of the stored A (`m` when transposed, else `k`).
    package init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool, lda: Int? = nil, aRowTable: Bool = false,
                 bRowTable: Bool = false, alphaIsZero: Bool = false) {
        self.m = m
        self.n = n
        self.k = k
        self.transA = transA
        self.transB = transB
        self.lda = lda ?? (transA ? m : k)
        self.aRowTable = aRowTable
        self.bRowTable = bRowTable
        self.alphaIsZero = alphaIsZero
    }
}

/// The machine as the planner sees it: the kernel level, the threads, the caches and the in-place
/// settings.
package struct GEMMMachine: Equatable, Sendable {
    /// Kernel level (0 portable, 1 AVX2+FMA, 2 AVX-512F).
    package var level: Int
    /// Threads the product may use.
    package var threads: Int
    /// Whether an untransposed A is read in place (`nil`: unless its rows are a multiple of 4 KiB
    /// apart), where the level has in-place kernels.
    package var aInPlace: Bool?
    /// Whether whole panels of an untransposed B may be read in place.
    package var bInPlace: Bool
    /// Bytes of one core's L2 cache (bounds the rows of a block of A).
    package var l2Bytes: Int
    /// Bytes of the L3 cache (bounds the packed B of one pass).
    package var l3Bytes: Int

    /// A machine; the in-place settings default to the library's defaults, the caches to a
    /// reference machine (2 MiB L2, 32 MiB L3) so that a plan is the same wherever it is computed.
    package init(level: Int, threads: Int, aInPlace: Bool? = nil, bInPlace: Bool = true,
                 l2Bytes: Int = 2 << 20, l3Bytes: Int = 32 << 20) {
        self.level = level
        self.threads = threads
        self.aInPlace = aInPlace
        self.bInPlace = bInPlace
        self.l2Bytes = l2Bytes
        self.l3Bytes = l3Bytes
    }

    /// This process now: `GEMMConfig.level`, `Runtime.threads`, the `BLAS` in-place settings and
    /// the caches read at startup (`GEMMConfig.l2Bytes`, `GEMMConfig.l3Bytes`).
    static var current: GEMMMachine {
        GEMMMachine(level: GEMMConfig.level, threads: Runtime.threads, aInPlace: BLAS._readsAInPlace,
                    bInPlace: GEMMConfig.readsBInPlace, l2Bytes: GEMMConfig.l2Bytes, l3Bytes: GEMMConfig.l3Bytes)
    }
}

/// How the register tiles cover C: blocking, packing and the split between threads.
///
/// C is computed in passes, one per column block of `nc` columns and group of `kBlocksPerGroup`
/// K blocks; in each pass the `workers` threads claim chunks of C (a row block of `mc` rows of
/// one range) from `columnRanges × rowShares` ranges, each worker its own ranges first.
package struct GEMMTiling: Equatable, Sendable {
    /// Kernel level of the tiles.
    package var level: Int
    /// Rows of a register tile.
    package var mr: Int
    /// Columns of a register tile (the width of a B micro-panel).
    package var nr: Int
    /// Whether the tile is the level's second shape (`nk_gemm_tile_wide`).
    package var wide: Bool
    /// Whether the kernels read A's rows where they lie instead of a packed copy.
    package var readsAInPlace: Bool
    /// Whether the kernels read whole panels of B where they lie (edge panels are still packed).
    package var readsBInPlace: Bool
    /// Depth of each K block but the last (all blocks are within one element of it).
    package var kc: Int
    /// Number of K blocks; a function of k and the scalar type only.
    package var kBlocks: Int
    /// K blocks whose B panels are packed at once, in one buffer.
    package var kBlocksPerGroup: Int
    /// Columns of a column block (a multiple of `nr`).
    package var nc: Int
    /// Rows of a row block (a multiple of `mr`).
    package var mc: Int
    /// Number of row blocks.
    package var rowBlocks: Int
    /// Threads that take part.
    package var workers: Int
    /// Column ranges of C, each one thread's own (1: no column split).
    package var columnRanges: Int
    /// Shares of the row blocks, each one thread's own (1: all row blocks from one counter).
    package var rowShares: Int
    /// Whether each tile prefetches into L2 its slice of the next packed B panel.
    package var prefetchesNextPanel: Bool

    /// Ranges of C with their own counter of row blocks (at most one of `columnRanges` and
    /// `rowShares` is above 1).
    var ranges: Int { columnRanges * rowShares }
}

/// What ``GEMMDriver/run`` does for one product.
package enum GEMMPlan: Equatable, Sendable {
    /// C is empty (m or n is 0): nothing.
    case empty
    /// k is 0 or alpha is 0: C = beta C, without reading A or B.
    case scale
    /// One row or one column (no row tables): a matrix-vector product.
    case gemv
    /// At most ``GEMMConfig/narrowColumns`` columns of A Bᵀ: one dot product of rows per element,
    /// which reads each row of A once; the register tiles would compute 32 columns and stream 12 rows
    /// of A at once. `parallel`: rows split between threads in blocks of at least 16.
    case narrow(parallel: Bool)
    /// Register tiles.
    case tiles(GEMMTiling)

    /// The plan for `problem` on `machine` with elements of `dtype`.
    package init(_ problem: GEMMProblem, dtype: DType, on machine: GEMMMachine) {
        switch dtype {
        case .float32: self = .make(Float.self, problem, on: machine)
        case .float64: self = .make(Double.self, problem, on: machine)
        case .int32, .int64: dtype.floatOnly("matmul")
        }
    }

    /// The plan for `p` on `machine` with elements of type `T`.
    @inline(__always)
    static func make<T: GEMMScalar>(_: T.Type, _ p: GEMMProblem, on machine: GEMMMachine) -> GEMMPlan {
        if p.m == 0 || p.n == 0 { return .empty }
        if p.k == 0 || p.alphaIsZero { return .scale }
        if (p.m == 1 || p.n == 1) && !p.aRowTable && !p.bRowTable { return .gemv }
        let parallel = p.m * p.n * p.k >= GEMMConfig.parallelThreshold
        // Shallower products (k < 16) keep the tiles.
        if p.n <= GEMMConfig.narrowColumns && p.k >= 16 && !p.transA && p.transB && !p.aRowTable && !p.bRowTable
            && T.hasNarrowKernels(level: machine.level) {
            return .narrow(parallel: parallel && machine.threads > 1)
        }
        return .tiles(tiling(T.self, p, threads: parallel ? machine.threads : 1, machine))
    }

    /// Whether an untransposed A (row stride `lda`, or rows through a row table: `lda` nil) is read
    /// in place by the kernels of `level` rather than packed. By default it is, unless its rows are
    /// a multiple of 4 KiB apart: the tile's rows would then share one L1 set.
    @inline(__always)
    static func readsAInPlace<T: GEMMScalar>(_: T.Type, level: Int, lda: Int?, setting: Bool?) -> Bool {
        guard T.hasInPlaceKernels(level: level) else { return false }
        if let setting { return setting }
        return lda.map { $0 * MemoryLayout<T>.stride % 4096 != 0 } ?? true
    }

    @inline(__always)
    private static func tiling<T: GEMMScalar>(_: T.Type, _ p: GEMMProblem, threads: Int,
                                              _ machine: GEMMMachine) -> GEMMTiling {
        let (m, n, k) = (p.m, p.n, p.k)
        let level = machine.level
        var mr = 0, nr = 0, mrW = 0, nrW = 0
        nk_gemm_tile(Int32(level), T.kernelFamily, &mr, &nr)
        // The second tile shape where it covers C with less padding (64 rows: 8 × 48 tiles are all
        // used, 12 × 32 tiles waste 1/9). Per-element arithmetic is the same for both.
        var wide = false
        if nk_gemm_tile_wide(Int32(level), T.kernelFamily, &mrW, &nrW) != 0
            && roundUp(m, mrW) * roundUp(n, nrW) < roundUp(m, mr) * roundUp(n, nr) {
            wide = true
            (mr, nr) = (mrW, nrW)
        }
        let directA = !p.transA && readsAInPlace(T.self, level: level, lda: p.aRowTable ? nil : p.lda,
                                                  setting: machine.aInPlace)
        // Equal K blocks, a function of k only (never of the level, its tile or the caches): this
        // fixes the rounding of every element.
        let kBlocks = ceilDiv(k, T.kcMax(k: k))
        let kc = ceilDiv(k, kBlocks)

        // One group of K blocks of one column block of op(B) is packed into one buffer of at most
        // `packedBBytes`, or the L3 cache where it is smaller (not below 8 MiB); groups span all of k
        // unless k is very deep.
        let stride = MemoryLayout<T>.stride
        let bLimit = min(GEMMConfig.packedBBytes, max(8 << 20, machine.l3Bytes))
        let minCols = min(roundUp(n, nr), 8 * nr)
        let groupBlocks = max(1, min(kBlocks, bLimit / (kc * minCols * stride)))
        let groupDepth = min(k, groupBlocks * kc)
        let ncFit = max(nr, bLimit / (groupDepth * stride) / nr * nr)
        let ncBlocks = ceilDiv(n, ncFit)
        let nc = roundUp(ceilDiv(n, ncBlocks), nr)

        // With several threads, C splits into one column range per thread (each thread then packs
        // and reads mostly its own B panels, which stay in its core's L2), with at least four row
        // blocks per range. Only rows split, in blocks of about m / (8 · threads) rows, when A is
        // the larger operand (m ≥ 2n), or is transposed with m ≥ n / 2 and B small (≤ 1 MiB: a
        // weight gradient ∂W = gᵀ x), or is large (≥ 4 MiB, m ≥ n): the threads then share the B
        // panels and each packs or reads only its own rows of A. In the first two cases each
        // thread starts on its own share of the row blocks, the rows that the same thread touches
        // in the loops before and after (a weight's rows, its gradient's, their update).
        var columnRanges = 1, mcTarget = T.mcMax
        var ownRows = false
        if threads > 1 {
            let smallB = k * n * stride <= 1 << 20
            let largeA = m * k * stride >= 4 << 20 && m >= n
            ownRows = m >= 2 * n || (p.transA && 2 * m >= n && smallB)
            let rowsOnly = ownRows || largeA
            columnRanges = rowsOnly ? 1 : min(threads, ceilDiv(ceilDiv(n, nr), ncBlocks))
            let blocksPerRange = (rowsOnly ? 8 : 4) * ceilDiv(threads, columnRanges)
            mcTarget = min(T.mcMaxParallel, max(mr, ceilDiv(m, blocksPerRange)))
        }
        // A block of A (mc × kc) keeps to 3/4 of one core's L2, beside the B micro-panel and C.
        mcTarget = min(mcTarget, max(mr, machine.l2Bytes * 3 / 4 / (kc * stride)))
        let mc = roundUp(ceilDiv(m, ceilDiv(m, mcTarget)), mr)
        let rowBlocks = ceilDiv(m, mc)
        // B is read in place only where each panel is read by one row block (read once instead of
        // packed once and read once); panels read by several row blocks are packed.
        let directB = !p.transB && rowBlocks == 1 && T.hasInPlaceKernels(level: level) && machine.bInPlace
        let workers = min(threads, rowBlocks * columnRanges)
        return GEMMTiling(level: level, mr: mr, nr: nr, wide: wide, readsAInPlace: directA, readsBInPlace: directB,
                          kc: kc, kBlocks: kBlocks, kBlocksPerGroup: groupBlocks, nc: nc, mc: mc, rowBlocks: rowBlocks,
                          workers: workers, columnRanges: columnRanges, rowShares: ownRows ? workers : 1,
                          prefetchesNextPanel: !directB)
    }
}

@inline(__always) func roundUp(_ x: Int, _ to: Int) -> Int { (x + to - 1) / to * to }
@inline(__always) func ceilDiv(_ x: Int, _ y: Int) -> Int { (x + y - 1) / y }
