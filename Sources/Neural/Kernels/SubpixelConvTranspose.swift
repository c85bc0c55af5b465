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
///   A[(r, c′), (c, t′)] = W[c, c′, r + s·(T − 1 − t′)] — one GEMM `[s²C′/G, (C/G)·T²] · [(C/G)·T², U·V]`
///   per sample and group on an implicit patch matrix — then out[c′, u·s + r − p] = Y[(r, c′), u] + b
///   (depth-to-space; positions past the grid get the bias alone);
/// - ∂J/∂x: with Ṽ[(r, c′), u] = v[c′, u·s + r − p] (zero outside the output), ∂x = the valid
///   stride-1 convolution of Ṽ with B[c, ((r, c′), t)] = W[c, c′, r + s·t];
/// - ∂J/∂W: that convolution's weight gradient (input Ṽ, output gradient x), read back into W's layout.
///
/// The padded input is laid out with V columns per row: the T − 1 zero columns at the end of each
/// row are also the left padding of the next row, so the implicit patch matrix has exactly U·V
/// columns. Every GEMM sums over k in one order and the batch is split as in ``ConvKernels``, so the
/// results do not depend on the thread count.
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
    /// Columns of the phase grid: U·V.
    var gridCount: Int { gridH * gridW }
    /// Whether the input needs the padded copy (a phase reads more than one tap).
    var isPadded: Bool { taps > 1 }
    /// Elements of one padded input channel: (H + 2(tH − 1)) rows of V.
    var paddedPlane: Int { isPadded ? (h + 2 * (tH - 1)) * gridW : h * w }
    /// Leading zeros before the first padded channel (the left padding of its first row).
    var lead: Int { isPadded ? tW - 1 : 0 }
    var paddedSize: Int { lead + cin * paddedPlane }

    /// The forward GEMM's row table: rows[(c, t′y, t′x)] = lead + c·plane + t′y·V + t′x − (tW − 1).
    var forwardRows: [Int] {
        var rows: [Int] = []
        rows.reserveCapacity(cin * taps)
        for c in 0..<cin {
            for i in 0..<tH {
                for j in 0..<tW { rows.append(isPadded ? lead + c * paddedPlane + i * gridW + j - (tW - 1) : c * paddedPlane) }
            }
        }
        return rows
    }

    /// A `[G, s²·C′/G, (C/G)·T²]`, rows (γ, rH, rW, c′), columns (c, t′y, t′x), from W `[C, C′/G, kH, kW]`.
    func forwardWeight<T>(_ wt: UnsafePointer<T>, into a: UnsafeMutablePointer<T>) {
        let (kH, kW) = (tH * sH, tW * sW)
        for gi in 0..<groups {
            for ry in 0..<sH {
                for rx in 0..<sW {
                    for o in 0..<cog {
                        let row = a + ((gi * phases + ry * sW + rx) * cog + o) * depth
                        for c in 0..<cig {
                            let src = wt + ((gi * cig + c) * cog + o) * kH * kW
                            for i in 0..<tH {
                                for j in 0..<tW {
                                    row[(c * tH + i) * tW + j] = src[(ry + sH * (tH - 1 - i)) * kW + rx + sW * (tW - 1 - j)]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The index of W[c, c′, rH + sH·ty, rW + sW·tx] in B `[C, s²·C′/G·T²]` (columns ((rH, rW, c′), ty, tx))
    /// and in W, for every entry: `body(bIndex, wIndex)`.
    func forEachBackwardEntry(_ body: (Int, Int) -> Void) {
        let (kH, kW) = (tH * sH, tW * sW), cols = phases * cog * taps
        for c in 0..<cin {
            for ry in 0..<sH {
                for rx in 0..<sW {
                    for o in 0..<cog {
                        for i in 0..<tH {
                            for j in 0..<tW {
                                body(c * cols + (((ry * sW + rx) * cog + o) * tH + i) * tW + j,
                                     (c * cog + o) * kH * kW + (ry + sH * i) * kW + rx + sW * j)
                            }
                        }
                    }
                }
            }
        }
    }

    /// The stride-1 convolution of ``backward`` (Ṽ → ∂J/∂x): G·s²·C′/G channels on the U × V grid, T × T taps.
    var backwardGeometry: WindowGeometry {
        WindowGeometry(channels: groups * phases * cog, height: gridH, width: gridW, kernelH: tH, kernelW: tW,
                       strideH: 1, strideW: 1, padH: 0, padW: 0, dilationH: 1, dilationW: 1)
    }

    /// For each output column, the offset of its phase-grid value from the (rH = 0, rW = 0) row at
    /// grid column 0 of its row (rW·C′/G·U·V + v), or −1 past the grid.
    var columnOffsets: [Int] {
        (0..<outW).map { ox in
            let v = (ox + pW) / sW, rx = (ox + pW) % sW
            return v < gridW ? rx * cog * gridCount + v : -1
        }
    }
}

extension SubpixelConvTranspose {
    /// out = convTranspose(x, W) + b for x `[N, C, H, W]`, W `[C, C′/G, kH, kW]`, out `[N, C′, Ho, Wo]`.
    func forward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w wt: UnsafePointer<T>, b: UnsafePointer<T>?,
                                  out: UnsafeMutablePointer<T>, batch n: Int) {
        let aCount = groups * phases * cog * depth
        let stride = MemoryLayout<T>.stride
        let aBytes = (aCount * stride + 63) / 64 * 64, gridBytes = (cout * phases * gridCount * stride + 63) / 64 * 64
        let padBytes = isPadded ? (paddedSize * stride + 63) / 64 * 64 : 0
        let rows = forwardRows, offsets = columnOffsets
        GEMMScratch.withBuffer(bytes: aBytes) { raw in
            let a = raw.bindMemory(to: T.self, capacity: aCount)
            forwardWeight(wt, into: a)
            let ap = UnsafePointer(a)
            let chunks = ConvKernels.chunks(batch: n, weightCount: aCount)
            ConvKernels.forChunks(batch: n, chunks: chunks) { _, range in
                GEMMScratch.withBuffer(bytes: gridBytes + padBytes) { raw in
                    let grid = raw.bindMemory(to: T.self, capacity: cout * phases * gridCount)
                    let padded = (raw + gridBytes).bindMemory(to: T.self, capacity: Swift.max(paddedSize, 1))
                    if isPadded { padded.update(repeating: 0, count: paddedSize) }
                    rows.withUnsafeBufferPointer { r in
                        offsets.withUnsafeBufferPointer { off in
                            for s in range {
                                var xs = x + s * cin * h * w
                                if isPadded { pad(xs, into: padded); xs = UnsafePointer(padded) }
                                for gi in 0..<groups {
                                    BLAS.gemm(T.self, transA: false, transB: false, m: phases * cog, n: gridCount, k: depth,
                                              a: ap + gi * phases * cog * depth, lda: depth, b: xs, ldb: 0,
                                              bRows: r.baseAddress! + gi * depth, beta: 0,
                                              c: grid + gi * phases * cog * gridCount, ldc: gridCount)
                                }
                                depthToSpace(UnsafePointer(grid), offsets: off.baseAddress!, bias: b, into: out + s * cout * outH * outW)
                            }
                        }
                    }
                }
            }
        }
    }

    /// Copies one `[C, H, W]` sample into the padded layout (borders already zero).
    func pad<T>(_ x: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>) {
        for c in 0..<cin {
            for y in 0..<h {
                (dst + lead + c * paddedPlane + (y + tH - 1) * gridW).update(from: x + (c * h + y) * w, count: w)
            }
        }
    }

    /// The C-side geometry of the phase layout (nk_subpixel.h).
    var layout: nk_subpixel_geom {
        nk_subpixel_geom(cout: cout, cog: cog, sH: sH, sW: sW, outH: outH, outW: outW, pH: pH, pW: pW, gridH: gridH, gridW: gridW)
    }

    /// out[c′, o_y, o_x] = grid[(γ, rH, rW, c′), u·V + v] + b[c′] (0 + b[c′] past the grid); Float32
    /// runs `nk_subpixel_d2s_f32`.
    func depthToSpace<T: TensorScalar>(_ grid: UnsafePointer<T>, offsets: UnsafePointer<Int>, bias b: UnsafePointer<T>?,
                                       into out: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            var geom = layout
            nk_subpixel_d2s_f32(&geom, floatPointer(grid), b.map { floatPointer($0) }, floatPointer(out), 0, cout)
            return
        }
        for co in 0..<cout {
            let gi = co / cog, o = co % cog, bo: T = b?[co] ?? 0
            for oy in 0..<outH {
                let u = (oy + pH) / sH, ry = (oy + pH) % sH
                let dst = out + (co * outH + oy) * outW
                if u >= gridH {
                    dst.update(repeating: 0 + bo, count: outW)
                    continue
                }
                let src = grid + ((gi * phases + ry * sW) * cog + o) * gridCount + u * gridW
                for ox in 0..<outW {
                    let k = offsets[ox]
                    dst[ox] = (k >= 0 ? src[k] : 0) + bo
                }
            }
        }
    }

    /// Ṽ[(γ, rH, rW, c′), u, v] = v[γ·C′/G + c′, u·sH + rH − pH, v·sW + rW − pW] (0 outside) for one
    /// sample; Float32 runs `nk_subpixel_s2d_f32`.
    func spaceToDepth<T: TensorScalar>(_ v: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            var geom = layout
            nk_subpixel_s2d_f32(&geom, floatPointer(v), floatPointer(dst), 0, cout)
            return
        }
        for co in 0..<cout {
            let gi = co / cog, o = co % cog
            for ry in 0..<sH {
                for rx in 0..<sW {
                    let plane = dst + ((gi * phases + ry * sW + rx) * cog + o) * gridCount
                    for u in 0..<gridH {
                        let row = plane + u * gridW, oy = u * sH + ry - pH
                        guard oy >= 0 && oy < outH else { row.update(repeating: 0, count: gridW); continue }
                        let src = v + (co * outH + oy) * outW
                        for vv in 0..<gridW {
                            let ox = vv * sW + rx - pW
                            row[vv] = ox >= 0 && ox < outW ? src[ox] : 0
                        }
                    }
                }
            }
        }
    }

    /// ∂J/∂x and ∂J/∂W (where not nil; overwritten) for v = ∂J/∂out `[N, C′, Ho, Wo]`.
    func backward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w wt: UnsafePointer<T>, v: UnsafePointer<T>,
                                   dx: UnsafeMutablePointer<T>?, dw: UnsafeMutablePointer<T>?, batch n: Int) {
        let gB = backwardGeometry, grid = ImplicitIm2Col(gB)
        let vCount = n * cout * phases * gridCount, bCount = cin * phases * cog * taps
        let stride = MemoryLayout<T>.stride
        let vBytes = (vCount * stride + 63) / 64 * 64, bBytes = (bCount * stride + 63) / 64 * 64
        GEMMScratch.withBuffer(bytes: vBytes + 2 * bBytes) { raw in
            let vt = raw.bindMemory(to: T.self, capacity: vCount)
            let bw = (raw + vBytes).bindMemory(to: T.self, capacity: bCount)
            let db = (raw + vBytes + bBytes).bindMemory(to: T.self, capacity: bCount)
            let vts = SendablePointer(vt)
            let vs = SendablePointer(v)
            Parallel.forRanges(count: n, grain: 1) { r in
                for s in r { spaceToDepth(vs.pointer + s * cout * outH * outW, into: vts.pointer + s * cout * phases * gridCount) }
            }
            let vtp = UnsafePointer(vt)
            if let dx {
                forEachBackwardEntry { bi, wi in bw[bi] = wt[wi] }
                if let grid {
                    ConvKernels.forward(T.self, x: vtp, w: bw, b: nil, out: dx, batch: n, outChannels: cin, grid: grid,
                                        groups: groups, relu: false)
                } else {
                    ConvKernels.forward(T.self, x: vtp, w: bw, b: nil, out: dx, batch: n, outChannels: cin, geometry: gB,
                                        groups: groups)
                }
            }
            if let dw {
                if let grid {
                    ConvKernels.backward(T.self, x: vtp, w: bw, v: x, reluOutput: nil, dx: nil, dw: db, db: nil,
                                         batch: n, outChannels: cin, grid: grid, groups: groups)
                } else {
                    ConvKernels.backward(T.self, x: vtp, w: bw, v: x, dx: nil, dw: db, db: nil, batch: n, outChannels: cin,
                                         geometry: gB, groups: groups)
                }
                forEachBackwardEntry { bi, wi in dw[wi] = db[bi] }
            }
        }
    }
}
