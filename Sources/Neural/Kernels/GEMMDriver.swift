import CNeuralKernels
import Synchronization

// Blocking, packing and threading of the GEMM as ``GEMMPlan`` decides them; the register tiles are
// in CNeuralKernels.

enum GEMMConfig {
    /// The kernel level in force on this thread (`Runtime.kernelLevel`: the CPU's, capped by NEURAL_ISA
    /// and the runtime caps).
    static var cpuLevel: Int { Int(nk_cpu_level()) }

    /// Bytes of one core's L2 cache as sysfs or cpuid tell (`nk_cache_bytes`), else 512 KiB.
    static let l2Bytes = { let b = Int(nk_cache_bytes(2)); return b > 0 ? b : 512 << 10 }()
    /// Bytes of the L3 cache as sysfs or cpuid tell, else 8 MiB.
    static let l3Bytes = { let b = Int(nk_cache_bytes(3)); return b > 0 ? b : 8 << 20 }()

    static var level: Int { cpuLevel }

    /// Below this many multiply-adds a product runs on the calling thread: waking the other threads
    /// costs more than they save.
    static let parallelThreshold = 1 << 18

    /// Most columns of a product that ``GEMMDriver/run`` computes as dot products of rows (A Bᵀ
    /// with both row-major) instead of with register tiles.
    static let narrowColumns = 16

    /// Most bytes of packed B held at once (all K blocks of one column block). Every column block
    /// packs all of A again (once per worker when the columns split), so fewer, larger blocks win
    /// up to N = 2048 in one block.
    static let packedBBytes = 32 << 20

    /// Whether an untransposed A is read in place by the micro-kernel instead of being packed
    /// (where the kernel level has such kernels): 0 packed; 1 in place; -1 (the default,
    /// `BLAS._readsAInPlace = nil`) in place unless A's rows are a multiple of 4 KiB apart (see
    /// ``GEMMPlan/readsAInPlace(_:level:lda:setting:)``). Results are the same bits either way.
    static let directA = Atomic<Int>(-1)

    /// The same for whole panels of an untransposed B (a row-major B or rows through a row table),
    /// when one row block reads them: 0 packed, -1 (the default) or 1 in place. Saves the B pack (a
    /// copy of kc × NR elements per panel) at the price of unaligned loads from rows `ldb` apart.
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

/// The operands of one product, as ``GEMMDriver/run`` receives them.
struct GEMMOperands<T: GEMMScalar> {
    let m: Int, n: Int, k: Int
    let transA: Bool, transB: Bool
    let alpha: T, beta: T
    let a: UnsafePointer<T>, lda: Int, aRows: UnsafePointer<Int>?
    let b: UnsafePointer<T>, ldb: Int, bRows: UnsafePointer<Int>?
    let c: UnsafeMutablePointer<T>, ldc: Int
    /// op(B) packed beforehand (read instead of packing B where it matches the plan), or nil.
    let packedB: GEMMPackedB<T>?
    /// Applied to C block by block after the last K block, or nil.
    let epilogue: GEMMEpilogue?
}

/// One pass of the workers over C: a column block, a group of K blocks, and the scratch memory
/// they share.
struct GEMMPass<T: GEMMScalar> {
    /// First column and columns of the column block.
    let jc: Int, nc: Int
    /// Its NR-wide panels.
    let ncPanels: Int
    /// The K blocks of the group.
    let kbGroup: Int, kbEnd: Int
    /// The group's packed B panels, K block by K block.
    let bPack: UnsafeMutablePointer<T>
    /// Each worker's `aBytes` of A scratch: a packed block of A, or the row starts of an A read in place.
    let aBase: UnsafeMutableRawPointer, aBytes: Int
    /// Panel states of the group (0: not packed, 1: being packed, 2: ready), K block by K block.
    let flags: UnsafeMutablePointer<Atomic<Int>>
    /// The next row block of each range.
    let nextRows: UnsafeMutablePointer<Atomic<Int>>
    /// Offsets of B's rows where B is read in place.
    let bOffsets: UnsafePointer<Int>?
    /// The product's packed B where it matches the plan: its panels are read instead of `bPack`'s.
    let prepacked: GEMMPackedB<T>?
}

enum GEMMDriver<T: GEMMScalar> {
    /// Whether an untransposed A (row-major with row stride `lda`, or rows through a row table:
    /// `lda` nil) is read in place by the micro-kernel of `level` rather than packed (one product
    /// reads the level once: a concurrent change of the kernel-level cap cannot pair an in-place
    /// decision with a level without such kernels). See ``GEMMConfig/directA``.
    static func readsAInPlace(level: Int, lda: Int?) -> Bool {
        GEMMPlan.readsAInPlace(T.self, level: level, lda: lda, setting: BLAS._readsAInPlace)
    }

    /// C = alpha op(A) op(B) + beta C (see ``BLAS/gemm(transA:transB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``).
    /// With `bRows`, the stored B has no fixed row stride: its row r starts at `b + bRows[r]`
    /// (`ldb` is ignored), which lets a convolution read its im2col matrix straight from the image.
    /// `aRows` does the same for A when it is not transposed (row i of A at `a + aRows[i]`).
    /// `packedB`: op(B) packed beforehand, read instead of packing B when the plan's tiles match it
    /// (the same bits either way). `epilogue` (Float32 only): applied to every element of C after
    /// the product, within the product where C is computed by tiles.
    static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                    a: UnsafePointer<T>, lda: Int, aRows: UnsafePointer<Int>? = nil,
                    b: UnsafePointer<T>, ldb: Int, bRows: UnsafePointer<Int>? = nil,
                    beta: T, c: UnsafeMutablePointer<T>, ldc: Int,
                    packedB: GEMMPackedB<T>? = nil, epilogue: GEMMEpilogue? = nil) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        precondition(ldc >= max(1, n), "gemm: ldc < n")
        precondition(aRows == nil || !transA, "gemm: aRows needs an untransposed A")
        precondition(aRows != nil || lda >= max(1, transA ? m : k), "gemm: lda too small")
        precondition(bRows != nil || ldb >= max(1, transB ? k : n), "gemm: ldb too small")
        precondition(epilogue == nil || T.self == Float.self, "gemm: epilogues are Float32 only")
        let problem = GEMMProblem(m: m, n: n, k: k, transA: transA, transB: transB, lda: lda, aRowTable: aRows != nil,
                                  bRowTable: bRows != nil, alphaIsZero: alpha == 0)
        let machine = GEMMMachine.current
        switch GEMMPlan.make(T.self, problem, on: machine) {
        case .empty:
            return
        case .scale:
            scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
            epilogue?.apply(c, rows: m, cols: n, ldc: ldc, column: 0)
        case .gemv:
            gemv(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                 b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            epilogue?.apply(c, rows: m, cols: n, ldc: ldc, column: 0)
        case .narrow(let parallel):
            let level = machine.level
            let cp = SendablePointer(c)
            let body = { (r: Range<Int>) in
                let cr = cp.pointer + r.lowerBound * ldc
                T.narrowNT(level: level, rows: r.count, n: n, k: k, a: a + r.lowerBound * lda, lda: lda, b: b, ldb: ldb,
                           c: cr, ldc: ldc, alpha: alpha, beta: beta)
                epilogue?.apply(cr, rows: r.count, cols: n, ldc: ldc, column: 0)
            }
            if parallel { Parallel.forRanges(count: m, grain: 16, body) } else { body(0..<m) }
        case .tiles(let plan):
            runTiles(plan, GEMMOperands(m: m, n: n, k: k, transA: transA, transB: transB, alpha: alpha, beta: beta,
                                        a: a, lda: lda, aRows: aRows, b: b, ldb: ldb, bRows: bRows, c: c, ldc: ldc,
                                        packedB: packedB, epilogue: epilogue))
        }
    }

    /// Runs the register tiles of `plan`: one pass of the workers per column block and group of K
    /// blocks, in one scratch buffer (packed B, each worker's A, the panel and row-block counters,
    /// B's row offsets).
    @inline(__always)
    private static func runTiles(_ plan: GEMMTiling, _ op: GEMMOperands<T>) {
        let stride = MemoryLayout<T>.stride
        let groupDepth = min(op.k, plan.kBlocksPerGroup * plan.kc)
        let prepacked = op.packedB.flatMap { $0.matches(plan, k: op.k, n: op.n) ? $0 : nil }
        let bBytes = prepacked != nil ? 0 : roundUp(groupDepth * plan.nc * stride, 64)
        let aBytes = roundUp(plan.readsAInPlace ? plan.mc * MemoryLayout<UnsafePointer<T>?>.stride
                                                : plan.kc * plan.mc * stride, 64)
        let flagCount = plan.kBlocksPerGroup * (plan.nc / plan.nr) + plan.ranges
        let flagBytes = roundUp(flagCount * MemoryLayout<Atomic<Int>>.stride, 64)
        let offsetBytes = plan.readsBInPlace && op.bRows == nil ? roundUp(op.k * MemoryLayout<Int>.stride, 64) : 0

        GEMMScratch.withBuffer(bytes: bBytes + plan.workers * aBytes + flagBytes + offsetBytes) { raw in
            let bPack = raw.bindMemory(to: T.self, capacity: bBytes / stride)
            let flags = (raw + bBytes + plan.workers * aBytes).bindMemory(to: Atomic<Int>.self, capacity: flagCount)
            var bOffsets: UnsafePointer<Int>? = nil
            if plan.readsBInPlace {
                if let bRows = op.bRows {
                    bOffsets = bRows
                } else {
                    let offsets = (raw + bBytes + plan.workers * aBytes + flagBytes).bindMemory(to: Int.self, capacity: op.k)
                    for p in 0..<op.k { offsets[p] = p * op.ldb }
                    bOffsets = UnsafePointer(offsets)
                }
            }
            var jc = 0
            while jc < op.n {
                let nc = min(plan.nc, op.n - jc)
                let ncPanels = ceilDiv(nc, plan.nr)
                var kbGroup = 0
                while kbGroup < plan.kBlocks {
                    let kbEnd = min(plan.kBlocks, kbGroup + plan.kBlocksPerGroup)
                    for i in 0..<(kbEnd - kbGroup) * ncPanels { (flags + i).initialize(to: Atomic(0)) }
                    let nextRows = flags + (kbEnd - kbGroup) * ncPanels
                    for r in 0..<plan.ranges {
                        (nextRows + r).initialize(to: Atomic(plan.rowBlocks * (r % plan.rowShares) / plan.rowShares))
                    }
                    let pass = GEMMPass(jc: jc, nc: nc, ncPanels: ncPanels, kbGroup: kbGroup, kbEnd: kbEnd,
                                        bPack: bPack, aBase: raw + bBytes,
                                        aBytes: aBytes, flags: flags, nextRows: nextRows, bOffsets: bOffsets,
                                        prepacked: prepacked)
                    Parallel.forEach(tasks: plan.workers) { w in work(w, plan, op, pass) }
                    kbGroup = kbEnd
                }
                jc += nc
            }
        }
    }

    /// Worker `w` of one pass: the row blocks of its own ranges (r % workers == w) first, then
    /// those left in the others.
    @inline(__always)
    private static func work(_ w: Int, _ plan: GEMMTiling, _ op: GEMMOperands<T>, _ pass: GEMMPass<T>) {
        let scratch = pass.aBase + w * pass.aBytes
        let aPack = plan.readsAInPlace ? nil : scratch.bindMemory(to: T.self, capacity: pass.aBytes / MemoryLayout<T>.stride)
        let aStarts = plan.readsAInPlace ? scratch.bindMemory(to: UnsafePointer<T>?.self, capacity: plan.mc) : nil
        let ranges = plan.ranges, rowShares = plan.rowShares
        for step in 0..<2 * ranges {
            let r = (w + step) % ranges
            if (r % plan.workers == w) != (step < ranges) { continue }
            let rowEnd = plan.rowBlocks * (r % rowShares + 1) / rowShares
            while true {
                let mi = pass.nextRows[r].add(1, ordering: .relaxed).oldValue
                if mi >= rowEnd { break }
                chunk(rowBlock: mi, columnRange: r / rowShares, worker: w, plan, op, pass, aPack: aPack, aStarts: aStarts)
            }
        }
    }

    /// One chunk of C: row block `mi` of column range `ni`, through all K blocks of the pass. Its
    /// block of A is packed (or its row starts noted) once per K block; each panel of B is packed
    /// by whichever worker needs it first.
    @inline(__always)
    private static func chunk(rowBlock mi: Int, columnRange ni: Int, worker w: Int, _ plan: GEMMTiling,
                              _ op: GEMMOperands<T>, _ pass: GEMMPass<T>, aPack: UnsafeMutablePointer<T>?,
                              aStarts: UnsafeMutablePointer<UnsafePointer<T>?>?) {
        let mr = plan.mr, nr = plan.nr
        let ic = mi * plan.mc
        let mc = min(plan.mc, op.m - ic)
        let mcPanels = ceilDiv(mc, mr)
        let panLo = pass.ncPanels * ni / plan.columnRanges, panHi = pass.ncPanels * (ni + 1) / plan.columnRanges
        let panCount = panHi - panLo
        if panCount <= 0 { return }
        // Chunks start at different panels, so that concurrent workers pack different parts of B first.
        let rotate = panCount * w / plan.workers
        // The q-th panel this chunk visits.
        let panelAt = { (q: Int) in panLo + (q + rotate) % panCount }
        for kb in pass.kbGroup..<pass.kbEnd {
            let pc = kb * plan.kc
            let kc = min(plan.kc, op.k - pc)
            let betaK: T = kb == 0 ? op.beta : 1
            let bBlock = pass.bPack + (pc - pass.kbGroup * plan.kc) * pass.ncPanels * nr
            let kbFlags = pass.flags + (kb - pass.kbGroup) * pass.ncPanels
            if let aStarts {
                // Row i of the block at depth pc; tile rows past the edge repeat the block's last
                // row (read, never stored).
                for i in 0..<mcPanels * mr {
                    let r = ic + Swift.min(i, mc - 1)
                    aStarts[i] = (op.aRows.map { op.a + $0[r] } ?? op.a + r * op.lda) + pc
                }
            } else {
                packA(level: plan.level, transA: op.transA, a: op.a, lda: op.lda, aRows: op.aRows, i0: ic, rows: mc,
                      p0: pc, kc: kc, mr: mr, dst: aPack!)
            }
            for q in 0..<panCount {
                let panel = panelAt(q)
                let j0 = panel * nr
                let cols = min(nr, pass.nc - j0)
                // A whole panel of B read in place needs no packing, nor one packed beforehand.
                let bInPlace = cols == nr ? pass.bOffsets.map { $0 + pc } : nil
                let bPanel: UnsafeMutablePointer<T>
                if let pre = pass.prepacked {
                    bPanel = pre.panel(pc: pc, kc: kc, index: pass.jc / nr + panel)
                } else {
                    bPanel = bBlock + panel * nr * kc
                    if bInPlace == nil {
                        ensurePacked(kbFlags + panel, plan, op, pc: pc, kc: kc, j0: pass.jc + j0, cols: cols, dst: bPanel)
                    }
                }
                let cBlock = op.c + ic * op.ldc + pass.jc + j0
                let bKernel = bInPlace == nil ? UnsafePointer(bPanel) : op.b + pass.jc + j0
                // The row block's tiles prefetch the next packed panel of this K block into L2, a
                // slice each: it was packed for an earlier row block (or by another worker) and
                // has left L2; the first tile to read it from L3 would run far below the others.
                var nextPanel: UnsafePointer<CChar>? = nil
                var nextLines = 0, slice = 0
                if plan.prefetchesNextPanel && bInPlace == nil && q + 1 < panCount {
                    let next = panelAt(q + 1)
                    if let pre = pass.prepacked {
                        nextPanel = UnsafeRawPointer(pre.panel(pc: pc, kc: kc, index: pass.jc / nr + next))
                            .assumingMemoryBound(to: CChar.self)
                        nextLines = nr * kc * MemoryLayout<T>.stride / 64
                        slice = ceilDiv(nextLines, mcPanels)
                    } else if (kbFlags + next).pointee.load(ordering: .relaxed) == 2 {
                        nextPanel = UnsafeRawPointer(bBlock + next * nr * kc).assumingMemoryBound(to: CChar.self)
                        nextLines = nr * kc * MemoryLayout<T>.stride / 64
                        slice = ceilDiv(nextLines, mcPanels)
                    }
                }
                for ip in 0..<mcPanels {
                    let i0 = ip * mr
                    T.microKernelInPlace(level: plan.level, wide: plan.wide, kc: kc,
                                         a: aPack.map { UnsafePointer($0 + ip * mr * kc) },
                                         aRows: aStarts.map { UnsafePointer($0 + i0) }, b: bKernel,
                                         bOffsets: bInPlace, c: cBlock + i0 * op.ldc, ldc: op.ldc, alpha: op.alpha,
                                         beta: betaK, mr: min(mr, mc - i0), nr: cols,
                                         prefetch: nextPanel.map { $0 + ip * slice * 64 },
                                         prefetchLines: max(0, min(slice, nextLines - ip * slice)))
                }
                // The block of C is complete after the last K block: its epilogue runs while it is in cache.
                if kb == plan.kBlocks - 1, let epilogue = op.epilogue {
                    epilogue.apply(cBlock, rows: mc, cols: cols, ldc: op.ldc, column: pass.jc + j0)
                }
            }
        }
    }

    /// Packs one panel of B unless it is ready: the first worker to claim its `flag` packs it, a
    /// worker that finds it being packed waits for it.
    @inline(__always)
    private static func ensurePacked(_ flag: UnsafeMutablePointer<Atomic<Int>>, _ plan: GEMMTiling,
                                     _ op: GEMMOperands<T>, pc: Int, kc: Int, j0: Int, cols: Int,
                                     dst: UnsafeMutablePointer<T>) {
        if flag.pointee.load(ordering: .acquiring) == 2 { return }
        if flag.pointee.compareExchange(expected: 0, desired: 1, ordering: .relaxed).exchanged {
            packB(level: plan.level, transB: op.transB, b: op.b, ldb: op.ldb, bRows: op.bRows, p0: pc, kc: kc,
                  j0: j0, cols: cols, nr: plan.nr, dst: dst)
            flag.pointee.store(2, ordering: .releasing)
        } else {
            while flag.pointee.load(ordering: .acquiring) != 2 {}
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
