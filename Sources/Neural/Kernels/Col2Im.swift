import CNeuralKernels

// The adjoint side of the im2col convolution (Im2Col.swift): col2im, which scatters a patch
// matrix back onto the image it was read from, and the convolution's backward pass with its
// per-chunk partial sums of ∂J/∂W and ∂J/∂b (added in chunk order: the same bits at any thread
// count).

extension Im2Col {
    /// The adjoint of ``im2col(_:_:_:)``: adds each entry of `cols` into the input position it was
    /// read from (overlapping windows accumulate); positions in the padding are dropped. `dx`
    /// (one `[C, H, W]` sample) must be initialised by the caller.
    @inline(__always)
    static func col2im<T: TensorScalar>(_ cols: UnsafePointer<T>, _ dx: UnsafeMutablePointer<T>, _ g: WindowGeometry) {
        let (outH, outW, P) = (g.outH, g.outW, g.outSpatial)
        for c in 0..<g.channels {
            for i in 0..<g.kernelH {
                for j in 0..<g.kernelW {
                    let row = cols + ((c * g.kernelH + i) * g.kernelW + j) * P
                    let offW = j * g.dilationW - g.padW
                    let w = WindowGeometry.validRange(offset: offW, stride: g.strideW, size: g.width, count: outW)
                    for oh in 0..<outH {
                        let ih = oh * g.strideH - g.padH + i * g.dilationH
                        if ih < 0 || ih >= g.height { continue }
                        let src = row + (oh * outW + w.lowerBound)
                        let dst = dx + ((c * g.height + ih) * g.width + offW + w.lowerBound * g.strideW)
                        if g.strideW == 1 {
                            for t in 0..<w.count { dst[t] += src[t] }
                        } else {
                            for t in 0..<w.count { dst[t &* g.strideW] += src[t] }
                        }
                    }
                }
            }
        }
    }
}

extension ConvKernels {
    /// The backward of ``forward(_:x:w:b:out:batch:outChannels:geometry:groups:relu:)`` for v = ∂J/∂out
    /// `[N, C′, Ho·Wo]`: dx[n] = col2im(Wᵀ v[n]), dW = Σₙ v[n] cols(x[n])ᵀ, db = Σₙ Σ_p v[n, :, p]
    /// (per group γ: W_γᵀ v_γ and v_γ cols_γᵀ). Pass nil for the gradients that are not needed;
    /// the others are overwritten.
    static func backward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w: UnsafePointer<T>, v: UnsafePointer<T>,
                                          dx: UnsafeMutablePointer<T>?, dw: UnsafeMutablePointer<T>?,
                                          db: UnsafeMutablePointer<T>?, batch n: Int, outChannels co: Int,
                                          geometry g: WindowGeometry, groups: Int = 1) {
        let K = g.patch, P = g.outSpatial, inSize = g.channels * g.inSpatial
        let Kg = K / groups, cog = co / groups
        let chunks = chunks(batch: n, weightCount: co * Kg)
        PartialSums<T>.accumulate(chunks: chunks, dw: dw, dwCount: co * Kg, db: db, dbCount: co) { parts in
            forChunks(batch: n, chunks: chunks) { t, range in
                withPatchScratch(T.self, g) { scratch in
                    let dwT = parts.dw(chunk: t), dbT = parts.db(chunk: t)
                    var first = true
                    for s in range {
                        let xs = x + s * inSize, vs = v + s * co * P
                        if let dwT {
                            let colsS: UnsafePointer<T>
                            if let scratch { Im2Col.im2col(xs, scratch, g); colsS = UnsafePointer(scratch) } else { colsS = xs }
                            // dW_γ += v_γ[n] · cols_γ(x[n])ᵀ: [C′/G, P] · [P, K/G].
                            for gi in 0..<groups {
                                BLAS.gemm(T.self, transA: false, transB: true, m: cog, n: Kg, k: P, a: vs + gi * cog * P, lda: P,
                                          b: colsS + gi * Kg * P, ldb: P, beta: first ? 0 : 1, c: dwT + gi * cog * Kg, ldc: Kg)
                            }
                        }
                        if let dx {
                            let dxs = dx + s * inSize
                            // dcols_γ = W_γᵀ · v_γ[n]: [K/G, C′/G] · [C′/G, P], then scattered back by col2im.
                            let target = scratch ?? dxs
                            for gi in 0..<groups {
                                BLAS.gemm(T.self, transA: true, transB: false, m: Kg, n: P, k: cog, a: w + gi * cog * Kg, lda: Kg,
                                          b: vs + gi * cog * P, ldb: P, beta: 0, c: target + gi * Kg * P, ldc: P)
                            }
                            if let scratch {
                                dxs.update(repeating: 0, count: inSize)
                                Im2Col.col2im(UnsafePointer(scratch), dxs, g)
                            }
                        }
                        if let dbT { rowSumAdd(dbT, vs, rows: co, cols: P) }
                        first = false
                    }
                    if range.isEmpty, let dwT { dwT.update(repeating: 0, count: co * Kg) }
                }
            }
        }
    }

    /// v ⊙ 1{y > 0} for the backward of a convolution with a fused ReLU (`y` its output).
    static func reluMask(_ v: Tensor, output y: Tensor) -> Tensor {
        let g = Tensor(uninitialized: v.shape, dtype: v.dtype)
        let n = v.count
        withExtendedLifetime((v, y)) {
            switch v.dtype {
            case .float32:
                let gp = SendablePointer(g.pointer(Float.self)), vp = SendablePointer(v.pointer(Float.self))
                let yp = SendablePointer(y.pointer(Float.self))
                Parallel.forRanges(count: n, grain: 1 << 15) { r in
                    nk_relu_grad_f32(gp.pointer + r.lowerBound, vp.pointer + r.lowerBound, yp.pointer + r.lowerBound, r.count)
                }
            case .float64:
                let gp = g.pointer(Double.self), vp = v.pointer(Double.self), yp = y.pointer(Double.self)
                for i in 0..<n { gp[i] = yp[i] > 0 ? vp[i] : 0 }
            case .int32, .int64: v.dtype.floatOnly("conv2d")
            }
        }
        return g
    }
}

/// Per-chunk partial sums of ∂J/∂W and ∂J/∂b over a batch, added up in chunk order so that the
/// result does not depend on which thread ran which chunk. The partials live in reused scratch
/// memory (no fresh pages per backward pass).
struct PartialSums<T: TensorScalar>: @unchecked Sendable {
    let dwCount: Int, dbCount: Int
    private let dwParts: UnsafeMutablePointer<T>?, dbParts: UnsafeMutablePointer<T>?

    /// Runs `body` with room for `chunks` partials of `dw` (`dwCount` elements) and `db`
    /// (`dbCount`), then writes their chunk-ordered sums into `dw` and `db` (nil: not needed).
    /// A bias partial starts at zero; a weight partial must be overwritten by its chunk.
    static func accumulate(chunks: Int, dw: UnsafeMutablePointer<T>?, dwCount: Int, db: UnsafeMutablePointer<T>?,
                           dbCount: Int, _ body: (PartialSums<T>) -> Void) {
        let dwN = dw == nil ? 0 : dwCount, dbN = db == nil ? 0 : dbCount
        GEMMScratch.withBuffer(bytes: chunks * (dwN + dbN) * MemoryLayout<T>.stride + 64) { raw in
            let base = raw.bindMemory(to: T.self, capacity: chunks * (dwN + dbN))
            let parts = PartialSums(dwCount: dwN, dbCount: dbN, dwParts: dw == nil ? nil : base,
                                    dbParts: db == nil ? nil : base + chunks * dwN)
            parts.dbParts?.update(repeating: 0, count: chunks * dbN)
            body(parts)
            for (out, partials, count) in [(dw, parts.dwParts, dwN), (db, parts.dbParts, dbN)] {
                guard let out, let partials else { continue }
                // Blocks of 16 Ki elements in parallel, each summing the chunks in chunk order.
                let block = 1 << 14, blocks = (count + block - 1) / block
                let sum = { (b: Int) in
                    let range = (b * block)..<Swift.min(count, b * block + block)
                    (out + range.lowerBound).update(from: partials + range.lowerBound, count: range.count)
                    for t in 1..<Swift.max(chunks, 1) {
                        let part = partials + t * count
                        for e in range { out[e] += part[e] }
                    }
                }
                if blocks > 1 { Parallel.forEach(tasks: blocks, sum) } else { sum(0) }
            }
        }
    }

    /// The ∂J/∂W partial of chunk `t`, or nil.
    func dw(chunk t: Int) -> UnsafeMutablePointer<T>? { dwParts.map { $0 + t * dwCount } }
    /// The ∂J/∂b partial of chunk `t`, or nil.
    func db(chunk t: Int) -> UnsafeMutablePointer<T>? { dbParts.map { $0 + t * dbCount } }
}
