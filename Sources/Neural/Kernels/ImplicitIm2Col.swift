import CNeuralKernels

/// Implicit im2col for stride-1 windows: the convolution computed on the input-width grid.
///
/// With stride 1, output position (oh, ow) reads input (oh + i·dH, ow + j·dW) for tap (i, j).
/// Number the output positions on the grid of the (padded) *input* width Wp instead of the
/// output width, q = oh·Wp + ow. Then the im2col entry for row k = (c, i, j) and column q is
/// `x[c·Hp·Wp + i·dH·Wp + j·dW + q]`: row k of the patch matrix is a contiguous slice of the
/// image starting at `rows[k]`. The GEMM packs its B panels straight from the image through this
/// row table (``GEMMDriver/run``'s `bRows`), so no `[C·kH·kW, Ho·Wo]` matrix is written, read
/// or transposed, and col2im becomes one contiguous add per row.
///
/// The price: the grid has `Wp − Wo` extra columns per output row (q with ow ≥ Wo), computed and
/// then dropped: `count = (Ho − 1)·Wp + Wo` columns instead of Ho·Wo, about Wp/Wo times the work
/// (7% for a 3×3 window on 28×28). Gradients put zeros there, so they add nothing.
struct ImplicitIm2Col {
    let geometry: WindowGeometry
    /// The padded input's height and width (Hp = H + 2pH, Wp = W + 2pW).
    let paddedH: Int, paddedW: Int
    /// Grid columns per output channel: (Ho − 1)·Wp + Wo.
    let count: Int
    /// rows[k] for k = (c, i, j): the offset c·Hp·Wp + i·dH·Wp + j·dW of patch row k.
    let rows: [Int]

    /// The grid for `g`, or nil when the window has a stride (the grid needs stride 1), is
    /// pointwise (the input already is its patch matrix), or when the grid would waste more than
    /// a third of the work (narrow outputs of wide inputs).
    init?(_ g: WindowGeometry) {
        guard g.strideH == 1 && g.strideW == 1 && !g.isPointwise && g.outSpatial > 0 else { return nil }
        let hp = g.height + 2 * g.padH, wp = g.width + 2 * g.padW
        let count = (g.outH - 1) * wp + g.outW
        guard 3 * count <= 4 * g.outSpatial else { return nil }
        geometry = g
        paddedH = hp
        paddedW = wp
        self.count = count
        var rows: [Int] = []
        rows.reserveCapacity(g.patch)
        for c in 0..<g.channels {
            for i in 0..<g.kernelH {
                for j in 0..<g.kernelW { rows.append(c * hp * wp + i * g.dilationH * wp + j * g.dilationW) }
            }
        }
        self.rows = rows
    }

    /// Whether the input needs a zero-padded copy (padding > 0).
    var isPadded: Bool { geometry.padH > 0 || geometry.padW > 0 }
    /// Elements of one padded sample, C·Hp·Wp.
    var paddedSize: Int { geometry.channels * paddedH * paddedW }

    /// Copies one `[C, H, W]` sample into the interior of `dst` (`[C, Hp, Wp]`, borders already 0).
    func pad<T>(_ x: UnsafePointer<T>, into dst: UnsafeMutablePointer<T>) {
        let g = geometry
        for c in 0..<g.channels {
            for h in 0..<g.height {
                (dst + (c * paddedH + h + g.padH) * paddedW + g.padW)
                    .update(from: x + (c * g.height + h) * g.width, count: g.width)
            }
        }
    }

    /// The adjoint of ``pad(_:into:)``: copies the interior of `src` (`[C, Hp, Wp]`) into `dx`.
    func crop<T>(_ src: UnsafePointer<T>, into dx: UnsafeMutablePointer<T>) {
        let g = geometry
        for c in 0..<g.channels {
            for h in 0..<g.height {
                (dx + (c * g.height + h) * g.width)
                    .update(from: src + (c * paddedH + h + g.padH) * paddedW + g.padW, count: g.width)
            }
        }
    }

    /// out[o, oh, ow] = act(grid[o·count + oh·Wp + ow] + b[o]): keeps the grid's real columns.
    func gather<T: TensorScalar>(_ grid: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, channels: Int,
                                 bias b: UnsafePointer<T>?, relu: Bool) {
        let (outH, outW) = (geometry.outH, geometry.outW)
        if T.self == Float.self {
            nk_conv_gather_f32(floatPointer(out), floatPointer(grid), b.map { floatPointer($0) }, channels, outH, outW,
                               paddedW, count, relu ? 1 : 0)
            return
        }
        for o in 0..<channels {
            let bo: T = b?[o] ?? 0
            for oh in 0..<outH {
                let src = grid + o * count + oh * paddedW, dst = out + (o * outH + oh) * outW
                for ow in 0..<outW {
                    let z = b == nil ? src[ow] : src[ow] + bo
                    dst[ow] = relu ? (z > 0 ? z : 0) : z
                }
            }
        }
    }

    /// The adjoint of ``gather(_:into:channels:bias:relu:)`` for the gradient `v` `[C′, Ho, Wo]`:
    /// grid[o·count + oh·Wp + ow] = v[o, oh, ow] (times 1{y > 0} when the ReLU output `y` is
    /// given), zeros in the extra columns.
    func scatter<T: TensorScalar>(_ v: UnsafePointer<T>, reluOutput y: UnsafePointer<T>?,
                                  into grid: UnsafeMutablePointer<T>, channels: Int) {
        let (outH, outW) = (geometry.outH, geometry.outW)
        if T.self == Float.self {
            nk_conv_scatter_f32(floatPointer(grid), floatPointer(v), y.map { floatPointer($0) }, channels, outH, outW,
                                paddedW, count)
            return
        }
        grid.update(repeating: 0, count: channels * count)
        for o in 0..<channels {
            for oh in 0..<outH {
                let src = o * outH * outW + oh * outW, dst = grid + o * count + oh * paddedW
                for ow in 0..<outW where y == nil || y![src + ow] > 0 { dst[ow] = v[src + ow] }
            }
        }
    }

    /// dx[rows[k] + q] += cols[k·count + q]: col2im of the grid's patch-gradient matrix
    /// `[C·kH·kW, count]` into one (padded) sample.
    func col2im<T: TensorScalar>(_ cols: UnsafePointer<T>, into dx: UnsafeMutablePointer<T>) {
        rows.withUnsafeBufferPointer { r in
            if T.self == Float.self {
                nk_col2im_rows_f32(floatPointer(dx), floatPointer(cols), r.baseAddress!, r.count, count)
                return
            }
            for k in 0..<r.count {
                let d = dx + r[k], s = cols + k * count
                for q in 0..<count { d[q] += s[q] }
            }
        }
    }
}

extension ConvKernels {
    /// ``forward(_:x:w:b:out:batch:outChannels:geometry:groups:relu:)`` on the input-width grid
    /// (group γ reads its patch rows through `rows[γ·K/G ..< (γ+1)·K/G]`).
    static func forward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w: UnsafePointer<T>, b: UnsafePointer<T>?,
                                         out: UnsafeMutablePointer<T>, batch n: Int, outChannels co: Int,
                                         grid: ImplicitIm2Col, groups: Int = 1, relu: Bool) {
        let g = grid.geometry
        let K = g.patch, P = g.outSpatial, inSize = g.channels * g.inSpatial
        let Kg = K / groups, cog = co / groups
        let gridBytes = co * grid.count * MemoryLayout<T>.stride
        let padBytes = grid.isPadded ? grid.paddedSize * MemoryLayout<T>.stride : 0
        forChunks(batch: n, chunks: chunks(batch: n, weightCount: co * Kg)) { _, range in
            GEMMScratch.withBuffer(bytes: gridBytes + padBytes + 64) { raw in
                let cgrid = raw.bindMemory(to: T.self, capacity: co * grid.count)
                let padded = (raw + (gridBytes + 63) / 64 * 64).bindMemory(to: T.self, capacity: grid.paddedSize)
                if grid.isPadded { padded.update(repeating: 0, count: grid.paddedSize) }
                grid.rows.withUnsafeBufferPointer { rows in
                    for s in range {
                        var xs = x + s * inSize
                        if grid.isPadded { grid.pad(xs, into: padded); xs = UnsafePointer(padded) }
                        for gi in 0..<groups {
                            BLAS.gemm(T.self, transA: false, transB: false, m: cog, n: grid.count, k: Kg, a: w + gi * cog * Kg,
                                      lda: Kg, b: xs, ldb: 0, bRows: rows.baseAddress! + gi * Kg, beta: 0,
                                      c: cgrid + gi * cog * grid.count, ldc: grid.count)
                        }
                        grid.gather(cgrid, into: out + s * co * P, channels: co, bias: b, relu: relu)
                    }
                }
            }
        }
    }

    /// ``backward(_:x:w:v:dx:dw:db:batch:outChannels:geometry:groups:)`` on the input-width grid; `y`
    /// is the forward output when the convolution had a fused ReLU (the mask is applied here).
    static func backward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w: UnsafePointer<T>, v: UnsafePointer<T>,
                                          reluOutput y: UnsafePointer<T>?, dx: UnsafeMutablePointer<T>?,
                                          dw: UnsafeMutablePointer<T>?, db: UnsafeMutablePointer<T>?,
                                          batch n: Int, outChannels co: Int, grid: ImplicitIm2Col, groups: Int = 1) {
        let g = grid.geometry
        let K = g.patch, P = g.outSpatial, inSize = g.channels * g.inSpatial, Q = grid.count
        let Kg = K / groups, cog = co / groups
        let chunks = chunks(batch: n, weightCount: co * Kg)
        let stride = MemoryLayout<T>.stride
        // Scratch per chunk: the masked gradient on the grid, the patch gradients, padded x and dx.
        let vBytes = (co * Q * stride + 63) / 64 * 64
        let colBytes = dx == nil ? 0 : (K * Q * stride + 63) / 64 * 64
        let padBytes = grid.isPadded ? (grid.paddedSize * stride + 63) / 64 * 64 : 0
        // dWᵀ = cols(x)·vᵀ ([K, Q]·[Q, C′]) instead of dW = v·cols(x)ᵀ ([C′, Q]·[Q, K]) when there are
        // fewer patch rows than output channels (e.g. one input channel: K = 9 fills a 32-wide tile
        // to 28% in dW's layout), or when the kernel reads the patch rows in place as A: then only
        // v is packed (C′·Q elements, transposed) instead of the patches (K·Q). Same products, same
        // order over Q: the same bits.
        let transposedDW = dw != nil && (Kg < cog || BLAS.readsAInPlace(T.self, lda: nil))
        let dwtBytes = transposedDW ? (Kg * co * stride + 63) / 64 * 64 : 0
        PartialSums<T>.accumulate(chunks: chunks, dw: dw, dwCount: co * Kg, db: db, dbCount: co) { parts in
            forChunks(batch: n, chunks: chunks) { t, range in
                GEMMScratch.withBuffer(bytes: vBytes + colBytes + 2 * padBytes + dwtBytes) { raw in
                    let vgrid = raw.bindMemory(to: T.self, capacity: co * Q)
                    let dcols = (raw + vBytes).bindMemory(to: T.self, capacity: K * Q)
                    let xpad = (raw + vBytes + colBytes).bindMemory(to: T.self, capacity: grid.paddedSize)
                    let dxpad = (raw + vBytes + colBytes + padBytes).bindMemory(to: T.self, capacity: grid.paddedSize)
                    let dwt = (raw + vBytes + colBytes + 2 * padBytes).bindMemory(to: T.self, capacity: Kg * co)
                    if grid.isPadded { xpad.update(repeating: 0, count: grid.paddedSize) }
                    let dwT = parts.dw(chunk: t), dbT = parts.db(chunk: t)
                    grid.rows.withUnsafeBufferPointer { rows in
                        for (index, s) in range.enumerated() {
                            grid.scatter(v + s * co * P, reluOutput: y.map { $0 + s * co * P }, into: vgrid, channels: co)
                            if let dwT {
                                var xs = x + s * inSize
                                if grid.isPadded { grid.pad(xs, into: xpad); xs = UnsafePointer(xpad) }
                                // dW += v[n] · cols(x[n])ᵀ: [C′, Q] · [Q, K], cols read through the row table
                                // (or its transpose, into dwt).
                                for gi in 0..<groups {
                                    let rowsG = rows.baseAddress! + gi * Kg, vG = vgrid + gi * cog * Q
                                    if transposedDW {
                                        BLAS.gemm(T.self, transA: false, transB: true, m: Kg, n: cog, k: Q, a: xs, lda: 0,
                                                  aRows: rowsG, b: vG, ldb: Q, beta: index == 0 ? 0 : 1,
                                                  c: dwt + gi * Kg * cog, ldc: cog)
                                    } else {
                                        BLAS.gemm(T.self, transA: false, transB: true, m: cog, n: Kg, k: Q, a: vG, lda: Q,
                                                  b: xs, ldb: 0, bRows: rowsG, beta: index == 0 ? 0 : 1,
                                                  c: dwT + gi * cog * Kg, ldc: Kg)
                                    }
                                }
                            }
                            if let dx {
                                // dcols = Wᵀ · v[n]: [K, C′] · [C′, Q], then one contiguous add per patch row.
                                for gi in 0..<groups {
                                    BLAS.gemm(T.self, transA: true, transB: false, m: Kg, n: Q, k: cog, a: w + gi * cog * Kg,
                                              lda: Kg, b: vgrid + gi * cog * Q, ldb: Q, beta: 0, c: dcols + gi * Kg * Q, ldc: Q)
                                }
                                let dxs = dx + s * inSize
                                let target = grid.isPadded ? dxpad : dxs
                                target.update(repeating: 0, count: grid.isPadded ? grid.paddedSize : inSize)
                                grid.col2im(dcols, into: target)
                                if grid.isPadded { grid.crop(dxpad, into: dxs) }
                            }
                            if let dbT { rowSumAdd(dbT, vgrid, rows: co, cols: Q) }
                        }
                        if range.isEmpty { dwT?.update(repeating: 0, count: co * Kg) }
                        if let dwT, transposedDW, !range.isEmpty {
                            // Per group: dwT[γ·C′/G + o, kk] = dwt_γ[kk, o].
                            for gi in 0..<groups {
                                let src = dwt + gi * Kg * cog, dst = dwT + gi * cog * Kg
                                for o in 0..<cog { for kk in 0..<Kg { dst[o * Kg + kk] = src[kk * cog + o] } }
                            }
                        }
                    }
                }
            }
        }
    }
}
