import CNeuralKernels
import Synchronization

// Blocking, packing and threading of the GEMM; the register tiles are in CNeuralKernels.

/// Element types with GEMM micro-kernels.
protocol GEMMScalar: BinaryFloatingPoint, Sendable {
    /// 0 for Float, 1 for Double (selects the C kernel family).
    static var kernelFamily: Int32 { get }
    /// Depth of one K block; depends only on the element type so that the rounding of every
    /// element is the same for every kernel level and thread count.
    static var kcMax: Int { get }
    /// Target rows of one packed A block (L2-resident), before rounding to MR.
    static var mcMax: Int { get }
    /// Target columns of one packed B block (L3-resident), before rounding to NR.
    static var ncMax: Int { get }
    /// The micro-kernel of `level` (see `nk_gemm.h`).
    static func microKernel(level: Int, kc: Int, a: UnsafePointer<Self>, b: UnsafePointer<Self>,
                            c: UnsafeMutablePointer<Self>, ldc: Int, alpha: Self, beta: Self,
                            mr: Int, nr: Int)
}

extension Float: GEMMScalar {
    static var kernelFamily: Int32 { 0 }
    static var kcMax: Int { 256 }
    static var mcMax: Int { 192 }
    static var ncMax: Int { 4096 }
    @inline(__always)
    static func microKernel(level: Int, kc: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                            c: UnsafeMutablePointer<Float>, ldc: Int, alpha: Float, beta: Float,
                            mr: Int, nr: Int) {
        switch level {
        case 2: nk_sgemm_ukr_avx512(kc, a, b, c, ldc, alpha, beta, mr, nr)
        case 1: nk_sgemm_ukr_avx2(kc, a, b, c, ldc, alpha, beta, mr, nr)
        default: nk_sgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr)
        }
    }
}

extension Double: GEMMScalar {
    static var kernelFamily: Int32 { 1 }
    static var kcMax: Int { 256 }
    static var mcMax: Int { 96 }
    static var ncMax: Int { 2048 }
    @inline(__always)
    static func microKernel(level: Int, kc: Int, a: UnsafePointer<Double>, b: UnsafePointer<Double>,
                            c: UnsafeMutablePointer<Double>, ldc: Int, alpha: Double, beta: Double,
                            mr: Int, nr: Int) {
        switch level {
        case 2: nk_dgemm_ukr_avx512(kc, a, b, c, ldc, alpha, beta, mr, nr)
        case 1: nk_dgemm_ukr_avx2(kc, a, b, c, ldc, alpha, beta, mr, nr)
        default: nk_dgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr)
        }
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
    static let parallelThreshold = 1 << 18
}

/// 64-byte aligned scratch memory, reused across calls (first touch of fresh pages is costly).
struct GEMMScratch: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let bytes: Int

    private static let pool = Mutex<[GEMMScratch]>([])
    private static let keep = 6

    static func withBuffer<R>(bytes: Int, _ body: (UnsafeMutableRawPointer) -> R) -> R {
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
    static func run(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: T,
                    a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int,
                    beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0, "gemm: negative dimension")
        precondition(ldc >= max(1, n), "gemm: ldc < n")
        precondition(lda >= max(1, transA ? m : k), "gemm: lda too small")
        precondition(ldb >= max(1, transB ? k : n), "gemm: ldb too small")
        if m == 0 || n == 0 { return }
        if k == 0 || alpha == 0 {
            scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
            return
        }

        let level = GEMMConfig.level
        var mrL = 0, nrL = 0
        nk_gemm_tile(Int32(level), T.kernelFamily, &mrL, &nrL)
        let mr = mrL, nr = nrL

        // K blocks: equal depths, a function of k only.
        let kBlocks = ceilDiv(k, T.kcMax)
        let kcStep = ceilDiv(k, kBlocks)

        // Threads, and how they split C: tm row groups × tn column groups.
        var threads = Runtime.threads
        if m * n * k < GEMMConfig.parallelThreshold { threads = 1 }
        let mPanels = ceilDiv(m, mr)
        let nPanelsAll = ceilDiv(n, nr)
        threads = min(threads, max(1, mPanels * nPanelsAll / 2))
        let tm = min(threads, max(1, mPanels / 4))
        let tn = max(1, min(threads / tm, nPanelsAll))
        let workers = tm * tn

        // Column blocks of B (shared, packed once per K block).
        let ncBlocks = ceilDiv(n, T.ncMax)
        let ncStep = roundUp(ceilDiv(n, ncBlocks), nr)
        // Rows per worker, then MC blocks within.
        let rowsPerWorkerMax = roundUp(ceilDiv(mPanels, tm), 1) * mr
        let mcBlocksPerWorker = ceilDiv(rowsPerWorkerMax, T.mcMax)
        let mcStep = roundUp(ceilDiv(rowsPerWorkerMax, mcBlocksPerWorker), mr)

        let stride = MemoryLayout<T>.stride
        let bBytes = roundUp(kcStep * min(ncStep, roundUp(n, nr)) * stride, 64)
        let aBytes = roundUp(kcStep * mcStep * stride, 64)

        GEMMScratch.withBuffer(bytes: bBytes + workers * aBytes) { raw in
            let bPack = SendablePointer((raw).bindMemory(to: T.self, capacity: bBytes / stride))
            let aBase = raw + bBytes
            let ap = SendablePointer(a), bp = SendablePointer(b), cp = SendablePointer(c)

            var jc = 0
            while jc < n {
                let nc = min(ncStep, n - jc)
                let ncPanels = ceilDiv(nc, nr)
                for kb in 0..<kBlocks {
                    let pc = kb * kcStep
                    let kc = min(kcStep, k - pc)
                    let betaK: T = kb == 0 ? beta : 1

                    // Pack B[pc..<pc+kc, jc..<jc+nc] into NR-wide micro-panels, split over workers.
                    Parallel.forEach(tasks: min(workers, ncPanels)) { w in
                        let tasks = min(workers, ncPanels)
                        let lo = ncPanels * w / tasks, hi = ncPanels * (w + 1) / tasks
                        for panel in lo..<hi {
                            let j0 = panel * nr
                            packB(transB: transB, b: bp.pointer, ldb: ldb, p0: pc, kc: kc,
                                  j0: jc + j0, cols: min(nr, nc - j0), nr: nr,
                                  dst: bPack.pointer + panel * nr * kc)
                        }
                    }

                    // Each worker: its rows × its columns of this block of C.
                    Parallel.forEach(tasks: workers) { w in
                        let wm = w / tn, wn = w % tn
                        let rowLo = mPanels * wm / tm * mr, rowHi = min(m, mPanels * (wm + 1) / tm * mr)
                        let panLo = ncPanels * wn / tn, panHi = ncPanels * (wn + 1) / tn
                        if rowLo >= rowHi || panLo >= panHi { return }
                        let aPack = (aBase + w * aBytes).bindMemory(to: T.self, capacity: aBytes / stride)
                        var ic = rowLo
                        while ic < rowHi {
                            let mc = min(mcStep, rowHi - ic)
                            packA(transA: transA, a: ap.pointer, lda: lda, i0: ic, rows: mc, p0: pc,
                                  kc: kc, mr: mr, dst: aPack)
                            macroKernel(level: level, mc: mc, panLo: panLo, panHi: panHi, nc: nc, kc: kc,
                                        mr: mr, nr: nr, aPack: aPack, bPack: bPack.pointer,
                                        c: cp.pointer + ic * ldc + jc, ldc: ldc, alpha: alpha, beta: betaK)
                            ic += mc
                        }
                    }
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

    @inline(__always)
    static func macroKernel(level: Int, mc: Int, panLo: Int, panHi: Int, nc: Int, kc: Int,
                            mr: Int, nr: Int, aPack: UnsafePointer<T>, bPack: UnsafePointer<T>,
                            c: UnsafeMutablePointer<T>, ldc: Int, alpha: T, beta: T) {
        let mPanels = ceilDiv(mc, mr)
        for panel in panLo..<panHi {
            let j0 = panel * nr
            let cols = min(nr, nc - j0)
            let bPanel = bPack + panel * nr * kc
            for ip in 0..<mPanels {
                let i0 = ip * mr
                T.microKernel(level: level, kc: kc, a: aPack + ip * mr * kc, b: bPanel,
                              c: c + i0 * ldc + j0, ldc: ldc, alpha: alpha, beta: beta,
                              mr: min(mr, mc - i0), nr: cols)
            }
        }
    }

    /// Packs rows i0..<i0+rows, depths p0..<p0+kc of op(A) into MR-row micro-panels (k-major,
    /// zero rows past the edge).
    @inline(__always)
    static func packA(transA: Bool, a: UnsafePointer<T>, lda: Int, i0: Int, rows: Int, p0: Int,
                      kc: Int, mr: Int, dst: UnsafeMutablePointer<T>) {
        var panelStart = 0
        var d = dst
        while panelStart < rows {
            let r = min(mr, rows - panelStart)
            if transA {
                // op(A)(i, p) = a[p * lda + i]: each depth is a contiguous run of rows.
                var src = a + p0 * lda + i0 + panelStart
                for _ in 0..<kc {
                    for i in 0..<r { d[i] = src[i] }
                    for i in r..<mr { d[i] = 0 }
                    src += lda
                    d += mr
                }
            } else {
                // op(A)(i, p) = a[i * lda + p]: each row is a contiguous run of depths.
                for i in 0..<r {
                    let src = a + (i0 + panelStart + i) * lda + p0
                    var q = d + i
                    for p in 0..<kc {
                        q.pointee = src[p]
                        q += mr
                    }
                }
                if r < mr {
                    for p in 0..<kc { for i in r..<mr { d[p * mr + i] = 0 } }
                }
                d += mr * kc
            }
            panelStart += mr
        }
    }

    /// Packs depths p0..<p0+kc, columns j0..<j0+cols of op(B) into one NR-wide micro-panel
    /// (k-major, zero columns past the edge).
    @inline(__always)
    static func packB(transB: Bool, b: UnsafePointer<T>, ldb: Int, p0: Int, kc: Int, j0: Int,
                      cols: Int, nr: Int, dst: UnsafeMutablePointer<T>) {
        if !transB {
            // op(B)(p, j) = b[p * ldb + j]: contiguous columns per depth.
            var src = b + p0 * ldb + j0
            var d = dst
            for _ in 0..<kc {
                for j in 0..<cols { d[j] = src[j] }
                for j in cols..<nr { d[j] = 0 }
                src += ldb
                d += nr
            }
        } else {
            // op(B)(p, j) = b[j * ldb + p]: contiguous depths per column.
            for j in 0..<cols {
                let src = b + (j0 + j) * ldb + p0
                var q = dst + j
                for p in 0..<kc {
                    q.pointee = src[p]
                    q += nr
                }
            }
            if cols < nr {
                for p in 0..<kc { for j in cols..<nr { dst[p * nr + j] = 0 } }
            }
        }
    }
}
