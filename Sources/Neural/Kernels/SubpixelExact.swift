import CNeuralKernels

/// The sub-pixel backward at exact positions, for small input grids.
///
/// The phase grid has (H + T − 1)·(W + T − 1) positions per sample for the H·W that ∂x needs:
/// +27 % at 8 × 8, +13 % at 16 × 16 for a 4×4 / stride 2 kernel. On such grids the backward copies
/// Ṽ's patches at the H·W positions of each sample into an explicit matrix
/// P `[G·s²C′/G·T², n·H·W]` (rows as ``gradientRows(samples:)``, a run of W per input row), and
/// both GEMMs read it in place: ∂x = B · P (`[C/G, n·H·W]` per group) and ∂Bᵀ += P · xᵀ, where x
/// needs no padding at all. P is ~4× the size of Ṽ but every element of it feeds 2·C/G
/// multiply-adds in each GEMM, so the copy costs a few per cent where the gap cost 13–27 %.
/// The columns are computed alone and sum over k in the GEMM's fixed order, so ∂x has the same bits
/// for any grouping of the samples; ∂W's micro-batches depend on the shapes only.
extension SubpixelConvTranspose {
    /// Whether the exact positions pay: the phase grid has ≥ 20 % more positions than the input
    /// (up to about 10 × 10 for T = 2) and the channels are many (C/G ≥ 64, C′/G ≥ 32), so that
    /// each copied patch element feeds enough multiply-adds. Measured on 2 threads (Xeon, Emerald
    /// Rapids), forward + backward, gap form → exact: 512→256 at 4² 96 → 79 ms, 256→128 at 8²
    /// −8 to −12 %, 128→64 at 8² 16.5 → 15.0 ms, 64→32 at 8² even; slower with fewer channels
    /// (32→16 at 8²) or less gap (64→32 at 14², 15 %: 5.8 → 7.0 ms).
    var exactPays: Bool { gridCount * 10 >= h * w * 12 && cig >= 64 && cog >= 32 }

    /// Whether the backward reads Ṽ at exact positions (``exactPays``, or as
    /// ``Runtime/subpixelExactPositions`` forces).
    var exactBackward: Bool { Runtime.subpixelExactPositions ?? exactPays }

    /// Scratch per micro-batch of the exact backward, bytes. Larger than ``microBatchBytes``: the
    /// ∂W GEMM accumulates into a `[s²C′/G·T², C/G]` partial once per micro-batch, and a deeper k
    /// (more positions per micro-batch) reads and writes that partial fewer times.
    static let exactBatchBytes = 4 << 20

    /// Scratch bytes per sample of the exact backward: Ṽ, P, and x and ∂x in `[C, n·H·W]` layout
    /// where needed.
    func exactBytesPerSample(size: Int, dx: Bool, dw: Bool) -> Int {
        let hw = h * w
        return (groups * phases * cog * samplePitch + groups * backwardDepth * hw + (dx ? cin * hw : 0) + (dw ? cin * hw : 0)) * size
    }

    /// dst[r·ld + i·length + e] = src[rows[r] + runs[i] + e]; Float32 runs `nk_gather_runs_f32`.
    func gatherRuns<T: TensorScalar>(_ src: UnsafePointer<T>, rows: [Int], runs: [Int], length: Int,
                                     into dst: UnsafeMutablePointer<T>, ld: Int) {
        if T.self == Float.self {
            nk_gather_runs_f32(floatPointer(src), rows, rows.count, runs, runs.count, length, floatPointer(dst), ld)
            return
        }
        for (r, row) in rows.enumerated() {
            for (i, run) in runs.enumerated() { (dst + r * ld + i * length).update(from: src + row + run, count: length) }
        }
    }

    /// One micro-batch `mb` of the backward at exact positions on the calling thread: ∂x of its
    /// samples, and ∂Bᵀ = beta·∂Bᵀ + its samples' part where `dbt` is not nil.
    func backwardExact<T: TensorScalar>(_: T.Type, microBatch mb: Range<Int>, x: UnsafePointer<T>, v: UnsafePointer<T>,
                                        b bw: UnsafePointer<T>, ldb: Int, dx: UnsafeMutablePointer<T>?,
                                        dbt: UnsafeMutablePointer<T>?, beta: T) {
        let size = MemoryLayout<T>.size, cols = backwardDepth, channels = groups * phases * cog
        let nc = mb.count, hw = h * w, positions = nc * hw
        let vPlane = gradientPlane(samples: nc), vCount = channels * vPlane
        // P and the [C, n·H·W] copies of x and ∂x: rows a whole number of lines apart, not 4 KiB multiples.
        let ld = Self.weightStride(T.self, columns: positions)
        let pCount = groups * cols * ld
        // One sample: ∂x and x are read and written in place (rows H·W apart).
        let xCount = nc > 1 ? cin * ld : 0
        let dgCount = dx != nil ? xCount : 0, xcCount = dbt != nil ? xCount : 0
        let vBytes = (vCount * size + 63) / 64 * 64, pBytes = (pCount * size + 63) / 64 * 64
        let dgBytes = (dgCount * size + 63) / 64 * 64
        GEMMScratch.withBuffer(bytes: vBytes + pBytes + dgBytes + xcCount * size) { raw in
            let vt = raw.bindMemory(to: T.self, capacity: vCount)
            let p = (raw + vBytes).bindMemory(to: T.self, capacity: pCount)
            let dgrid = (raw + vBytes + pBytes).bindMemory(to: T.self, capacity: Swift.max(dgCount, 1))
            let xcopy = (raw + vBytes + pBytes + dgBytes).bindMemory(to: T.self, capacity: Swift.max(xcCount, 1))
            for s in 0..<nc {
                spaceToDepth(v + (mb.lowerBound + s) * cout * outH * outW, plane: vPlane, into: vt + s * samplePitch)
            }
            // P[(ch, ty, tx), (s, y, x)] = Ṽ[ch][s, y + ty, x + tx]: the last sample's taps reach past its grid.
            let gridCols = nc * samplePitch
            for ch in 0..<channels { (vt + ch * vPlane + gridCols).update(repeating: 0, count: vPlane - gridCols) }
            var runs: [Int] = []
            runs.reserveCapacity(nc * h)
            for s in 0..<nc { for y in 0..<h { runs.append(s * samplePitch + y * gridW) } }
            gatherRuns(UnsafePointer(vt), rows: gradientRows(samples: nc), runs: runs, length: w, into: p, ld: ld)
            let pp = UnsafePointer(p)
            if let dx {
                // ∂x [C/G, n·H·W] = B_γ · P_γ per group.
                let (c, ldc) = nc > 1 ? (dgrid, ld) : (dx + mb.lowerBound * cin * hw, hw)
                for gi in 0..<groups {
                    BLAS.gemm(T.self, transA: false, transB: false, m: cig, n: positions, k: cols,
                              a: bw + gi * cig * ldb, lda: ldb, b: pp + gi * cols * ld, ldb: ld,
                              beta: 0, c: c + gi * cig * ldc, ldc: ldc)
                }
                if nc > 1 {
                    for s in 0..<nc {
                        for ci in 0..<cin {
                            (dx + ((mb.lowerBound + s) * cin + ci) * hw).update(from: dgrid + ci * ld + s * hw, count: hw)
                        }
                    }
                }
            }
            if let dbt {
                // ∂Bᵀ_γ [s²C′/G·T², C/G] = beta·∂Bᵀ_γ + P_γ · x_γᵀ with x as [C, n·H·W].
                var (xb, ldx) = (x + mb.lowerBound * cin * hw, hw)
                if nc > 1 {
                    for s in 0..<nc {
                        for ci in 0..<cin { (xcopy + ci * ld + s * hw).update(from: x + ((mb.lowerBound + s) * cin + ci) * hw, count: hw) }
                    }
                    (xb, ldx) = (UnsafePointer(xcopy), ld)
                }
                for gi in 0..<groups {
                    BLAS.gemm(T.self, transA: false, transB: true, m: cols, n: cig, k: positions,
                              a: pp + gi * cols * ld, lda: ld, b: xb + gi * cig * ldx, ldb: ldx,
                              beta: beta, c: dbt + gi * cols * cig, ldc: cig)
                }
            }
        }
    }
}

extension SubpixelConvTranspose {
    /// The first phase-grid row (column) that phase r of an axis with stride s and padding p
    /// writes: ⌈(p − r)/s⌉, the smallest u with u·s + r − p ≥ 0.
    static func firstCell(phase r: Int, stride s: Int, padding p: Int) -> Int { (p - r + s - 1) / s }

    /// Whether the forward computes each phase at its H·W exact positions: where they pay (or are
    /// forced), when every phase writes exactly H × W outputs (`out = s·in` per axis, the 2×
    /// upsampler with k = 2p + s) that all lie on the phase grid.
    var exactForward: Bool {
        guard exactBackward, outH == sH * h, outW == sW * w else { return false }
        return (0..<sH).allSatisfy { Self.firstCell(phase: $0, stride: sH, padding: pH) <= tH - 1 }
            && (0..<sW).allSatisfy { Self.firstCell(phase: $0, stride: sW, padding: pW) <= tW - 1 }
    }

    /// The forward at exact positions, per micro-batch and phase: P_r `[(C/G)·T², n·H·W]` gathers
    /// the padded input's patches at the H·W grid positions phase r writes, Y_r = A_r · P_r
    /// (`[C′/G, n·H·W]` per group, A_r the phase's rows of the forward weight), then depth to space
    /// adds the bias. Each output pixel's sum is the gap form's (same rows of A, same patch values,
    /// same k order): only the grid positions no output reads are skipped.
    func forwardExact<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, a ap: UnsafePointer<T>, lda: Int,
                                       b: UnsafePointer<T>?, out: UnsafeMutablePointer<T>, batch n: Int) {
        let size = MemoryLayout<T>.size, hw = h * w
        let perSample = (cin * samplePitch + cin * taps * hw + phases * cout * hw) * size
        let nb = Swift.min(microBatch(bytesPerSample: perSample), Swift.max(1, n / (4 * Runtime.threads)))
        let batches = microBatches(0..<n, size: nb)
        let ua = (0..<sH).map { Self.firstCell(phase: $0, stride: sH, padding: pH) }
        let va = (0..<sW).map { Self.firstCell(phase: $0, stride: sW, padding: pW) }
        // The GEMM reads P in place when one block of A's rows covers all of them; taller phases
        // are split into that many products (the same sums, element by element).
        let rowParts = (cog + 95) / 96, partRows = (cog + rowParts - 1) / rowParts
        ConvKernels.forChunks(batch: batches.count, chunks: batches.count) { t, _ in
            let mb = batches[t], nc = mb.count, positions = nc * hw
            let ld = Self.weightStride(T.self, columns: positions)
            let padCount = lead + cin * inputPlane(samples: nc), pCount = cin * taps * ld, yCount = phases * cout * ld
            let padBytes = (padCount * size + 63) / 64 * 64, pBytes = (pCount * size + 63) / 64 * 64
            GEMMScratch.withBuffer(bytes: padBytes + pBytes + yCount * size) { raw in
                let padded = raw.bindMemory(to: T.self, capacity: padCount)
                let p = (raw + padBytes).bindMemory(to: T.self, capacity: pCount)
                let y = (raw + padBytes + pBytes).bindMemory(to: T.self, capacity: yCount)
                padInput(x + mb.lowerBound * cin * hw, samples: nc, into: padded)
                let rows = forwardRows(samples: nc)
                var runs = [Int](repeating: 0, count: nc * h)
                for ry in 0..<sH {
                    for rx in 0..<sW {
                        let ph = ry * sW + rx
                        for s in 0..<nc { for i in 0..<h { runs[s * h + i] = s * samplePitch + (ua[ry] + i) * gridW + va[rx] } }
                        gatherRuns(UnsafePointer(padded), rows: rows, runs: runs, length: w, into: p, ld: ld)
                        for gi in 0..<groups {
                            for r0 in stride(from: 0, to: cog, by: partRows) {
                                let row = gi * cog + r0
                                BLAS.gemm(T.self, transA: false, transB: false, m: Swift.min(partRows, cog - r0),
                                          n: positions, k: depth, a: ap + (gi * phases * cog + ph * cog + r0) * lda,
                                          lda: lda, b: p + gi * depth * ld, ldb: ld, beta: 0,
                                          c: y + (ph * cout + row) * ld, ldc: ld)
                            }
                        }
                    }
                }
                for s in 0..<nc {
                    depthToSpaceExact(UnsafePointer(y + s * hw), ld: ld, ua: ua, va: va, bias: b,
                                      into: out + (mb.lowerBound + s) * cout * outH * outW)
                }
            }
        }
    }

    /// out[c′, o_y, o_x] = Y[((rH·sW + rW)·C′ + c′)·ld + (u − ua[rH])·W + v − va[rW]] + b[c′] for one
    /// sample, (u, rH) = divmod(o_y + pH, sH), (v, rW) = divmod(o_x + pW, sW); Float32 runs
    /// `nk_subpixel_d2s_exact_f32`.
    private func depthToSpaceExact<T: TensorScalar>(_ y: UnsafePointer<T>, ld: Int, ua: [Int], va: [Int],
                                                    bias b: UnsafePointer<T>?, into out: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            var geom = layout(plane: ld)
            nk_subpixel_d2s_exact_f32(&geom, h, w, ua, va, floatPointer(y), b.map { floatPointer($0) }, floatPointer(out), 0, cout)
            return
        }
        for co in 0..<cout {
            let bo: T = b?[co] ?? 0
            for oy in 0..<outH {
                let u = (oy + pH) / sH, ry = (oy + pH) % sH
                let row = y + (ry * sW * cout + co) * ld + (u - ua[ry]) * w, dst = out + (co * outH + oy) * outW
                for ox in 0..<outW {
                    let v = (ox + pW) / sW, rx = (ox + pW) % sW
                    dst[ox] = row[rx * cout * ld + v - va[rx]] + bo
                }
            }
        }
    }
}

extension Runtime {
    /// Forces the exact-position forms of the sub-pixel transposed convolution on (true) or off
    /// (false) wherever their layout applies, in the current task; nil (the default) chooses by
    /// shape. For tests, which compare the two forms on small shapes.
    @TaskLocal package static var subpixelExactPositions: Bool?
}
