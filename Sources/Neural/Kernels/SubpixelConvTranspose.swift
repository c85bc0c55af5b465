import CNeuralKernels

/// A strided transposed convolution as sH·sW stride-1 convolutions on the input grid ("sub-pixel"
/// form), for dilation 1 and kernels that are whole multiples of the stride (k = T·s per axis, e.g.
/// the 4×4 / stride 2 upsampler): no col2im, no overlapping scatter, and GEMMs with a deep k.
///
/// Per axis, output position o = u·s + r − p (phase r = (o + p) mod s, u = (o + p) div s) only
/// sees the taps κ = r + s·t (t < T) and the inputs i = u − t. So with x̃ the input zero-padded by
/// T − 1 on each side and U = H + T − 1 (V = W + T − 1),
///
/// - forward: Y[(r, c′), u] = Σ_{c, t′} A[(r, c′), (c, t′)] · x̃[c, u + t′] with
///   A[(r, c′), (c, t′)] = W[c, c′, r + s·(T − 1 − t′)], then out[c′, u·s + r − p] = Y[(r, c′), u] + b
///   (depth-to-space; positions past the grid get the bias alone);
/// - ∂J/∂x: with Ṽ[(r, c′), u] = v[c′, u·s + r − p] (zero outside the output), ∂x = the valid
///   stride-1 convolution of Ṽ with B[c, ((r, c′), t)] = W[c, c′, r + s·t];
/// - ∂J/∂W: that convolution's weight gradient (input Ṽ, output gradient x), read back into W's layout.
///
/// Each is one GEMM per group over a micro-batch of samples: the phase grids of the micro-batch's
/// samples lie side by side in one row per channel, U·V columns per sample, so the
/// GEMMs are `[s²C′/G, (C/G)·T²] · [(C/G)·T², n·U·V]` (forward), `[C/G, s²C′/G·T²] · [.., n·U·V]`
/// (∂x) and `[s²C′/G·T², n·U·V] · [n·U·V, C/G]` (∂W), their patch operands read in place through
/// row tables. The padded input has V columns per row and U rows per sample (T − 1 zero rows, then
/// the sample's H rows): the T − 1 zero columns at the end of a row are the left padding of the
/// next, a sample's first rows the bottom padding of the one before, so column j of a row-table
/// row is grid position j. Every output column of the forward and ∂x is computed alone, and ∂W's
/// chunks and micro-batches depend on the shapes only; every GEMM sums over k in one order, and
/// the GEMM driver's split does not change it: the bits do not depend on the thread count.
struct SubpixelConvTranspose {
    let cin: Int, cout: Int, groups: Int
    /// Input height and width (H, W) and output height and width.
    let h: Int, w: Int, outH: Int, outW: Int
    let sH: Int, sW: Int, pH: Int, pW: Int
    /// Taps per phase and axis: kH / sH, kW / sW.
    let tH: Int, tW: Int
    /// The phase grid: U = H + tH − 1 rows, V = W + tW − 1 columns.
    let gridH: Int, gridW: Int

    /// The sub-pixel form of the transposed convolution whose adjoint convolution has geometry `g`
    /// (`g.channels` = C′ on the output grid, `g.outH × g.outW` the input), or nil when it does
    /// not apply (dilation ≠ 1, a kernel that is not a multiple of its stride, or stride 1).
    init?(_ g: WindowGeometry, inChannels: Int, groups: Int) {
        guard g.dilationH == 1 && g.dilationW == 1 && g.strideH * g.strideW > 1,
              g.kernelH % g.strideH == 0 && g.kernelW % g.strideW == 0 else { return nil }
        cin = inChannels
        cout = g.channels
        self.groups = groups
        h = g.outH
        w = g.outW
        outH = g.height
        outW = g.width
        sH = g.strideH
        sW = g.strideW
        pH = g.padH
        pW = g.padW
        tH = g.kernelH / g.strideH
        tW = g.kernelW / g.strideW
        gridH = h + tH - 1
        gridW = w + tW - 1
    }

    var phases: Int { sH * sW }
    var cig: Int { cin / groups }
    var cog: Int { cout / groups }
    var taps: Int { tH * tW }
    /// Depth of the forward GEMM: (C/G)·tH·tW.
    var depth: Int { cig * taps }
    /// Columns of ∂x's filter matrix B: s²·C′/G·T², which is also C′/G·kH·kW, the elements of one
    /// input channel's filters in W `[C, C′/G, kH, kW]`.
    var backwardDepth: Int { phases * cog * taps }

    /// The row stride of a weight matrix of `count` columns of `T`: a whole number of 64-byte lines,
    /// and not a multiple of 4 KiB, so that the GEMM reads it in place (rows a multiple of 4 KiB
    /// apart would share one L1 set, and the GEMM would pack them instead).
    static func weightStride<T>(_: T.Type, columns count: Int) -> Int {
        let perLine = 64 / MemoryLayout<T>.stride, rounded = (count + perLine - 1) / perLine * perLine
        return rounded * MemoryLayout<T>.stride % 4096 == 0 ? rounded + perLine : rounded
    }
    /// Columns of the phase grid: U·V.
    var gridCount: Int { gridH * gridW }
    /// Columns of one sample in a batched grid: U·V.
    var samplePitch: Int { gridH * gridW }
    /// Leading zeros before the first padded channel (the left padding of its first row).
    var lead: Int { tW - 1 }
    /// Elements of one channel of the padded input for `n` samples: n·U + T − 1 rows of V.
    func inputPlane(samples n: Int) -> Int { (n * gridH + tH - 1) * gridW }
    /// Elements of one channel of Ṽ for `n` samples: the grids plus the reach of the last taps.
    func gradientPlane(samples n: Int) -> Int { n * samplePitch + (tH - 1) * gridW + tW - 1 }

    /// The forward GEMM's row table for `n` samples: rows[(c, t′y, t′x)] = lead + c·plane + t′y·V + t′x − (tW − 1).
    func forwardRows(samples n: Int) -> [Int] {
        let plane = inputPlane(samples: n)
        var rows: [Int] = []
        rows.reserveCapacity(cin * taps)
        for c in 0..<cin {
            for i in 0..<tH {
                for j in 0..<tW { rows.append(lead + c * plane + i * gridW + j - (tW - 1)) }
            }
        }
        return rows
    }

    /// The row table of Ṽ's patches for `n` samples (∂x's B, ∂W's A): rows[(ch, ty, tx)] = ch·plane + ty·V + tx.
    func gradientRows(samples n: Int) -> [Int] {
        let plane = gradientPlane(samples: n)
        var rows: [Int] = []
        rows.reserveCapacity(groups * phases * cog * taps)
        for ch in 0..<(groups * phases * cog) {
            for i in 0..<tH {
                for j in 0..<tW { rows.append(ch * plane + i * gridW + j) }
            }
        }
        return rows
    }

    /// A `[G, s²·C′/G, (C/G)·T²]`, rows (γ, rH, rW, c′) `lda` apart, columns (c, t′y, t′x), from W `[C, C′/G, kH, kW]`.
    func forwardWeight<T>(_ wt: UnsafePointer<T>, into a: UnsafeMutablePointer<T>, lda: Int) {
        let (kH, kW) = (tH * sH, tW * sW), filter = kH * kW
        // source[(rH, rW, t′y, t′x)]: the filter element that row (rH, rW) of A reads at tap (t′y, t′x).
        var source: [Int] = []
        source.reserveCapacity(filter)
        for ry in 0..<sH {
            for rx in 0..<sW {
                for i in 0..<tH {
                    for j in 0..<tW { source.append((ry + sH * (tH - 1 - i)) * kW + rx + sW * (tW - 1 - j)) }
                }
            }
        }
        // Each input channel's filters (C′/G·kH·kW contiguous elements) are read once, in order;
        // blocks of 16 output channels (64 rows of A for 2 × 2 phases) go in parallel.
        let blocks = (cog + 15) / 16, phaseRows = cog * lda
        source.withUnsafeBufferPointer { table in
            let source = table.baseAddress!
            Self.forEachBlock(blocks, elements: cin * cog * filter) { blk in
                for gi in 0..<groups {
                    for c in 0..<cig {
                        for o in (blk * 16)..<Swift.min(cog, blk * 16 + 16) {
                            let src = wt + ((gi * cig + c) * cog + o) * filter
                            var row = a + (gi * phases * cog + o) * lda + c * taps, q = 0
                            for _ in 0..<phases {
                                for t in 0..<taps { row[t] = src[source[q + t]] }
                                row += phaseRows
                                q += taps
                            }
                        }
                    }
                }
            }
        }
    }

    /// `body(block)` for blocks 0..<count, in parallel when the weight has at least 64 Ki
    /// `elements` (below that a thread's start costs more than the copy).
    @inline(__always)
    static func forEachBlock(_ count: Int, elements: Int, _ body: (Int) -> Void) {
        if elements < 1 << 16 || Runtime.threads == 1 {
            for blk in 0..<count { body(blk) }
        } else {
            Parallel.forEach(tasks: count, body)
        }
    }

    /// For every entry W[c, c′, rH + sH·ty, rW + sW·tx], 16 input channels c ∈ `cs` at a time:
    /// `body(cs, column, offset)` with `column` its column ((rH, rW, c′), ty, tx) in B
    /// `[C, s²·C′/G·T²]` and `c·C′/G·kH·kW + offset` its index in W. Input channels innermost (in
    /// `body`'s loop; one call per 16 entries): a column of the transposed gradient (16 consecutive c)
    /// is one cache line; output channels outermost: each c's kH·kW filter of one c′ is read or
    /// written whole before the next, and every cache line of W is touched in one pass.
    @inline(__always)
    func forEachBackwardEntry(_ body: (Range<Int>, Int, Int) -> Void) {
        let (kH, kW) = (tH * sH, tW * sW), filter = backwardDepth
        // Blocks of 16 input channels write disjoint entries: they go in parallel.
        Self.forEachBlock((cin + 15) / 16, elements: cin * filter) { blk in
            let cs = (blk * 16)..<Swift.min(cin, blk * 16 + 16)
            // One output channel's filters at a time: the 16 lines of W (one per c) are done before the next.
            for o in 0..<cog {
                for ry in 0..<sH {
                    for rx in 0..<sW {
                        let base = o * kH * kW + ry * kW + rx
                        var col = ((ry * sW + rx) * cog + o) * taps
                        for i in 0..<tH {
                            for j in 0..<tW {
                                let off = base + sH * i * kW + sW * j
                                body(cs, col, off)
                                col += 1
                            }
                        }
                    }
                }
            }
        }
    }
}

extension SubpixelConvTranspose {
    /// Scratch per micro-batch, bytes: a micro-batch's grids stay in the core's L2 cache between
    /// the layout copies and the GEMM that reads or writes them.
    static let microBatchBytes = 1400 << 10

    /// Samples per micro-batch (at least one), from the shapes alone: `bytesPerSample` of scratch each.
    func microBatch(bytesPerSample: Int) -> Int { Swift.max(1, Self.microBatchBytes / Swift.max(bytesPerSample, 1)) }

    /// `range` cut into micro-batches of `size` samples from its start.
    func microBatches(_ range: Range<Int>, size: Int) -> [Range<Int>] {
        stride(from: range.lowerBound, to: range.upperBound, by: size).map { $0..<Swift.min(range.upperBound, $0 + size) }
    }

    /// out = convTranspose(x, W) + b for x `[N, C, H, W]`, W `[C, C′/G, kH, kW]`, out `[N, C′, Ho, Wo]`.
    func forward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w wt: UnsafePointer<T>, b: UnsafePointer<T>?,
                                  out: UnsafeMutablePointer<T>, batch n: Int) {
        let lda = Self.weightStride(T.self, columns: depth)
        let aCount = groups * phases * cog * lda, size = MemoryLayout<T>.size
        // At least four micro-batches per thread, for balance (each column is computed alone, so
        // the grouping does not change the bits).
        let nb = Swift.min(microBatch(bytesPerSample: (cin + phases * cout) * samplePitch * size),
                           Swift.max(1, n / (4 * Runtime.threads)))
        let batches = microBatches(0..<n, size: nb)
        GEMMScratch.withBuffer(bytes: aCount * size) { raw in
            let a = raw.bindMemory(to: T.self, capacity: aCount)
            forwardWeight(wt, into: a, lda: lda)
            let ap = UnsafePointer(a)
            if exactForward {
                forwardExact(T.self, x: x, a: ap, lda: lda, b: b, out: out, batch: n)
                return
            }
            // Each micro-batch's columns are its own: the bits do not depend on how samples are grouped.
            ConvKernels.forChunks(batch: batches.count, chunks: batches.count) { t, _ in
                let mb = batches[t], nc = mb.count, cols = nc * samplePitch
                let padCount = lead + cin * inputPlane(samples: nc), gridCount = phases * cout * cols
                let padBytes = (padCount * size + 63) / 64 * 64
                GEMMScratch.withBuffer(bytes: padBytes + gridCount * size) { raw in
                    let padded = raw.bindMemory(to: T.self, capacity: padCount)
                    let grid = (raw + padBytes).bindMemory(to: T.self, capacity: gridCount)
                    padInput(x + mb.lowerBound * cin * h * w, samples: nc, into: padded)
                    forwardRows(samples: nc).withUnsafeBufferPointer { r in
                        for gi in 0..<groups {
                            BLAS.gemm(T.self, transA: false, transB: false, m: phases * cog, n: cols, k: depth,
                                      a: ap + gi * phases * cog * lda, lda: lda, b: padded, ldb: 0,
                                      bRows: r.baseAddress! + gi * depth, beta: 0,
                                      c: grid + gi * phases * cog * cols, ldc: cols)
                        }
                    }
                    for s in 0..<nc {
                        depthToSpace(UnsafePointer(grid + s * samplePitch), plane: cols, bias: b,
                                     into: out + (mb.lowerBound + s) * cout * outH * outW)
                    }
                }
            }
        }
    }

    /// Copies `n` samples `[n, C, H, W]` into the padded layout `[C, n·U + T − 1, V]` after `lead`
    /// zeros: sample s's row y at row s·U + T − 1 + y, every other element zero.
    func padInput<T: TensorScalar>(_ x: UnsafePointer<T>, samples n: Int, into dst: UnsafeMutablePointer<T>) {
        let plane = inputPlane(samples: n), gap = tW - 1
        dst.update(repeating: 0, count: lead)
        for c in 0..<cin {
            var row = dst + lead + c * plane
            for s in 0..<n {
                row.update(repeating: 0, count: (tH - 1) * gridW)
                row += (tH - 1) * gridW
                for y in 0..<h {
                    row.update(from: x + ((s * cin + c) * h + y) * w, count: w)
                    (row + w).update(repeating: 0, count: gap)
                    row += gridW
                }
            }
            row.update(repeating: 0, count: (tH - 1) * gridW)
        }
    }

    /// The C-side geometry of the phase layout (nk_subpixel.h), phase planes `plane` elements apart.
    func layout(plane: Int) -> nk_subpixel_geom {
        nk_subpixel_geom(cout: cout, cog: cog, sH: sH, sW: sW, outH: outH, outW: outW, pH: pH, pW: pW, gridH: gridH,
                         gridW: gridW, plane: plane)
    }

    /// out[c′, o_y, o_x] = grid[(γ, rH, rW, c′)·plane + u·V + v] + b[c′] (0 + b[c′] past the grid) for
    /// one sample; Float32 runs `nk_subpixel_d2s_f32`.
    func depthToSpace<T: TensorScalar>(_ grid: UnsafePointer<T>, plane: Int, bias b: UnsafePointer<T>?,
                                       into out: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            var geom = layout(plane: plane)
            nk_subpixel_d2s_f32(&geom, floatPointer(grid), b.map { floatPointer($0) }, floatPointer(out), 0, cout)
            return
        }
        for co in 0..<cout {
            let gi = co / cog, o = co % cog, bo: T = b?[co] ?? 0
            for oy in 0..<outH {
                let u = (oy + pH) / sH, ry = (oy + pH) % sH
                let dst = out + (co * outH + oy) * outW
                for ox in 0..<outW {
                    let v = (ox + pW) / sW, rx = (ox + pW) % sW
                    let src = grid + ((gi * phases + ry * sW + rx) * cog + o) * plane + u * gridW + v
                    dst[ox] = (u < gridH && v < gridW ? src[0] : 0) + bo
                }
            }
        }
    }

    /// Ṽ[(γ, rH, rW, c′)·plane + u·V + v] = v[γ·C′/G + c′, u·sH + rH − pH, v·sW + rW − pW] (0 outside)
    /// for one sample; Float32 runs `nk_subpixel_s2d_f32`.
    func spaceToDepth<T: TensorScalar>(_ v: UnsafePointer<T>, plane: Int, into dst: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            var geom = layout(plane: plane)
            nk_subpixel_s2d_f32(&geom, floatPointer(v), floatPointer(dst), 0, cout)
            return
        }
        for co in 0..<cout {
            let gi = co / cog, o = co % cog
            for ry in 0..<sH {
                for rx in 0..<sW {
                    let row0 = dst + ((gi * phases + ry * sW + rx) * cog + o) * plane
                    for u in 0..<gridH {
                        let row = row0 + u * gridW, oy = u * sH + ry - pH
                        for q in 0..<gridW {
                            let ox = q * sW + rx - pW
                            row[q] = oy >= 0 && oy < outH && ox >= 0 && ox < outW ? v[(co * outH + oy) * outW + ox] : 0
                        }
                    }
                }
            }
        }
    }

    /// ∂J/∂x, ∂J/∂W and ∂J/∂b (where not nil; overwritten) for v = ∂J/∂out `[N, C′, Ho, Wo]`.
    ///
    /// The batch splits into ``ConvKernels/chunks(batch:weightCount:)`` chunks (in parallel), each
    /// into micro-batches: Ṽ of a micro-batch, its ∂x GEMM and its ∂W GEMM (accumulated into the
    /// chunk's partial) run while Ṽ is in cache; the partials are summed in chunk order.
    func backward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w wt: UnsafePointer<T>, v: UnsafePointer<T>,
                                   dx: UnsafeMutablePointer<T>?, dw: UnsafeMutablePointer<T>?,
                                   db: UnsafeMutablePointer<T>?, batch n: Int) {
        let size = MemoryLayout<T>.size, cols = backwardDepth, bCount = cin * cols
        let ldb = Self.weightStride(T.self, columns: cols), bwCount = cin * ldb
        let channels = groups * phases * cog
        let exact = exactBackward
        let nb = exact ? Swift.max(1, Self.exactBatchBytes / exactBytesPerSample(size: size, dx: dx != nil, dw: dw != nil))
            : microBatch(bytesPerSample: (channels + (dw != nil ? cin : 0) + (dx != nil ? cin : 0)) * samplePitch * size)
        let chunks = ConvKernels.chunks(batch: n, weightCount: bCount)
        let bwBytes = (bwCount * size + 63) / 64 * 64
        GEMMScratch.withBuffer(bytes: bwBytes + bCount * size) { raw in
            // B [C, s²C′/G·T²] (∂x's filters, rows ldb apart) and the transposed weight gradient [G, s²C′/G·T², C/G].
            let bw = raw.bindMemory(to: T.self, capacity: bwCount)
            let dbt = (raw + bwBytes).bindMemory(to: T.self, capacity: bCount)
            let filter = backwardDepth
            if dx != nil { forEachBackwardEntry { cs, col, off in for c in cs { bw[c * ldb + col] = wt[c * filter + off] } } }
            let bwp = UnsafePointer(bw)
            PartialSums<T>.accumulate(chunks: chunks, dw: dw != nil ? dbt : nil, dwCount: bCount, db: db, dbCount: cout) { parts in
                ConvKernels.forChunks(batch: n, chunks: chunks) { t, range in
                    let dwT = parts.dw(chunk: t), dbT = parts.db(chunk: t)
                    if range.isEmpty { dwT?.update(repeating: 0, count: bCount) }
                    for (index, mb) in microBatches(range, size: nb).enumerated() {
                        if exact {
                            backwardExact(T.self, microBatch: mb, x: x, v: v, b: bwp, ldb: ldb, dx: dx, dbt: dwT,
                                          beta: index == 0 ? 0 : 1)
                        } else {
                            backward(T.self, microBatch: mb, x: x, v: v, b: bwp, ldb: ldb, dx: dx, dbt: dwT,
                                     beta: index == 0 ? 0 : 1)
                        }
                        if let dbT {
                            for s in mb { ConvKernels.rowSumAdd(dbT, v + s * cout * outH * outW, rows: cout, cols: outH * outW) }
                        }
                    }
                }
            }
            if let dw {
                // dW[c, c′, rH + sH·ty, rW + sW·tx] = ∂Bᵀ_γ[((rH, rW, c′), ty, tx), c − γ·C/G].
                let channelBase = (0..<cin).map { ($0 / cig) * cols * cig + $0 % cig }
                channelBase.withUnsafeBufferPointer { base in
                    let base = base.baseAddress!
                    forEachBackwardEntry { cs, col, off in
                        for c in cs { dw[c * filter + off] = dbt[base[c] + col * cig] }
                    }
                }
            }
        }
    }

    /// One micro-batch `mb` of ``backward(_:x:w:v:dx:dw:db:batch:)`` on the calling thread: ∂x of its
    /// samples, and ∂Bᵀ = beta·∂Bᵀ + its samples' part where `dbt` is not nil.
    private func backward<T: TensorScalar>(_: T.Type, microBatch mb: Range<Int>, x: UnsafePointer<T>, v: UnsafePointer<T>,
                                           b bw: UnsafePointer<T>, ldb: Int, dx: UnsafeMutablePointer<T>?,
                                           dbt: UnsafeMutablePointer<T>?, beta: T) {
        let size = MemoryLayout<T>.size, cols = backwardDepth, channels = groups * phases * cog
        let nc = mb.count, gridCols = nc * samplePitch
        let vPlane = gradientPlane(samples: nc), vCount = channels * vPlane
        let padCount = dbt != nil ? lead + cin * inputPlane(samples: nc) : 0
        // The ∂x GEMM's rows: every grid position up to the last sample's last valid one.
        let positions = (nc - 1) * samplePitch + (h - 1) * gridW + w
        let dgCount = dx != nil ? positions * cin : 0
        let vBytes = (vCount * size + 63) / 64 * 64, padBytes = (padCount * size + 63) / 64 * 64
        GEMMScratch.withBuffer(bytes: vBytes + padBytes + dgCount * size) { raw in
            let vt = raw.bindMemory(to: T.self, capacity: vCount)
            let padded = (raw + vBytes).bindMemory(to: T.self, capacity: Swift.max(padCount, 1))
            let dgrid = (raw + vBytes + padBytes).bindMemory(to: T.self, capacity: Swift.max(dgCount, 1))
            for s in 0..<nc {
                spaceToDepth(v + (mb.lowerBound + s) * cout * outH * outW, plane: vPlane, into: vt + s * samplePitch)
            }
            for ch in 0..<channels { (vt + ch * vPlane + gridCols).update(repeating: 0, count: vPlane - gridCols) }
            gradientRows(samples: nc).withUnsafeBufferPointer { r in
                if let dx {
                    // ∂x grid [C, positions] = B · patches(Ṽ), valid where u < H and v < W.
                    for gi in 0..<groups {
                        BLAS.gemm(T.self, transA: false, transB: false, m: cig, n: positions, k: cols,
                                  a: bw + gi * cig * ldb, lda: ldb, b: vt, ldb: 0, bRows: r.baseAddress! + gi * cols,
                                  beta: 0, c: dgrid + gi * cig * positions, ldc: positions)
                    }
                    for s in 0..<nc {
                        for c in 0..<cin {
                            for y in 0..<h {
                                (dx + (((mb.lowerBound + s) * cin + c) * h + y) * w)
                                    .update(from: dgrid + c * positions + s * samplePitch + y * gridW, count: w)
                            }
                        }
                    }
                }
                if let dbt {
                    // ∂Bᵀ [s²C′/G·T², C/G] = beta·∂Bᵀ + patches(Ṽ) · x̃ᵀ, x̃ = x on the same grid (zeros elsewhere).
                    padInput(x + mb.lowerBound * cin * h * w, samples: nc, into: padded)
                    let xPlane = inputPlane(samples: nc), xg = padded + lead + (tH - 1) * gridW
                    for gi in 0..<groups {
                        BLAS.gemm(T.self, transA: false, transB: true, m: cols, n: cig, k: positions,
                                  a: vt, lda: 0, aRows: r.baseAddress! + gi * cols,
                                  b: xg + gi * cig * xPlane, ldb: xPlane, beta: beta, c: dbt + gi * cols * cig, ldc: cig)
                    }
                }
            }
        }
    }
}
