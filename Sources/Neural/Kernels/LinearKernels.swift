import CNeuralKernels

/// The raw loops of ``Tensor/linear(weight:bias:activation:)``; all buffers contiguous row-major.
enum LinearKernels {
    /// y = act(x Wᵀ + b): x `[rows, inFeatures]`, w `[outFeatures, inFeatures]`, y `[rows, outFeatures]`;
    /// `relu` (the ReLU) or `gelu` (the exact GELU of `nk_gelu_f32`, Float32 only) as act.
    /// `packedWeight` (Float32 only): given a plan's panel width and K block depth, Wᵀ packed for
    /// them (``GEMMPackedB``), read instead of packing W on every call: the same bits.
    static func forward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w: UnsafePointer<T>, b: UnsafePointer<T>?,
                                         y: UnsafeMutablePointer<T>, rows: Int, inFeatures inF: Int, outFeatures outF: Int,
                                         relu: Bool, gelu: Bool = false,
                                         packedWeight: ((_ nr: Int, _ kc: Int) -> GEMMPackedB<Float>)? = nil) {
        precondition(!gelu || (T.self == Float.self && !relu), "LinearKernels: the fused GELU is Float32 only")
        if rows == 0 { return }
        // yᵀ = W xᵀ only with more rows than the narrow kernels take as columns: the two forms then
        // both run the register tiles (the same chain per element), so the choice, which depends on
        // the kernel level, never changes the bits.
        if T.self == Float.self && rows > GEMMConfig.narrowColumns && 2 * rows <= outF
            && BLAS.readsAInPlace(T.self, lda: inF) {
            forwardTransposed(x: floatPointer(x), w: floatPointer(w), b: b.map { floatPointer($0) },
                              y: floatPointer(y), rows: rows, inFeatures: inF, outFeatures: outF,
                              activation: gelu ? 2 : relu ? 1 : 0)
            return
        }
        if T.self == Float.self {
            // The epilogue z + b, then the activation, inside the product (block by block of y).
            let epilogue = b == nil && !relu && !gelu ? nil
                : GEMMEpilogue(bias: b.map { floatPointer($0) }, activation: gelu ? 2 : relu ? 1 : 0)
            var packed: GEMMPackedB<Float>? = nil
            if let packedWeight,
               case .tiles(let plan) = GEMMPlan.make(Float.self, GEMMProblem(m: rows, n: outF, k: inF, transA: false,
                                                                             transB: true, lda: inF), on: .current),
               !plan.readsBInPlace {
                packed = packedWeight(plan.nr, plan.kc)
            }
            withExtendedLifetime(packed) {
                GEMMDriver<Float>.run(transA: false, transB: true, m: rows, n: outF, k: inF, alpha: 1, a: floatPointer(x),
                                      lda: inF, b: floatPointer(w), ldb: inF, beta: 0, c: floatPointer(y), ldc: outF,
                                      packedB: packed, epilogue: epilogue)
            }
            return
        }
        BLAS.gemm(T.self, transA: false, transB: true, m: rows, n: outF, k: inF, a: x, lda: inF, b: w, ldb: inF,
                  beta: 0, c: y, ldc: outF)
        if b == nil && !relu { return }
        // The epilogue: z + b, then max(·, 0) — the same two roundings as the unfused ops.
        let yp = SendablePointer(y), bp = b.map { SendablePointer($0) }
        Parallel.forRanges(count: rows, grain: Swift.max(1, (1 << 15) / Swift.max(outF, 1))) { r in
            for i in r {
                let row = yp.pointer + i * outF
                if let bp {
                    let bb = bp.pointer
                    if relu {
                        for j in 0..<outF { let z = row[j] + bb[j]; row[j] = z > 0 ? z : 0 }
                    } else {
                        for j in 0..<outF { row[j] += bb[j] }
                    }
                } else {
                    for j in 0..<outF { let z = row[j]; row[j] = z > 0 ? z : 0 }
                }
            }
        }
    }

    /// ``forward(_:x:w:b:y:rows:inFeatures:outFeatures:relu:gelu:packedWeight:)`` for a batch smaller than the layer
    /// (2·rows ≤ outFeatures), as yᵀ = W xᵀ: the kernel reads W `[outFeatures, inFeatures]` in place
    /// and only xᵀ is packed (rows·inFeatures elements instead of W's outFeatures·inFeatures), then
    /// the bias and activation are applied while yᵀ is transposed into y. Every element is the same
    /// multiply-add chain over the inputs, then the same two roundings: the same bits as the GEMM
    /// y = x Wᵀ followed by the epilogue.
    private static func forwardTransposed(x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>?,
                                          y: UnsafeMutablePointer<Float>, rows: Int, inFeatures inF: Int,
                                          outFeatures outF: Int, activation: Int32) {
        GEMMScratch.withBuffer(bytes: rows * outF * MemoryLayout<Float>.stride) { raw in
            let t = raw.bindMemory(to: Float.self, capacity: rows * outF)
            BLAS.gemm(Float.self, transA: false, transB: true, m: outF, n: rows, k: inF, a: w, lda: inF, b: x, ldb: inF,
                      beta: 0, c: t, ldc: rows)
            let yp = SendablePointer(y), tp = SendablePointer(UnsafePointer(t)), bp = b.map { SendablePointer($0) }
            Parallel.forRanges(count: rows, grain: Swift.max(16, (1 << 15) / Swift.max(outF, 1))) { r in
                nk_bias_act_transpose_f32(yp.pointer + r.lowerBound * outF, outF, tp.pointer + r.lowerBound, rows,
                                          bp.map { UnsafePointer($0.pointer) }, r.count, outF, activation)
            }
        }
    }

    /// Gradients of ``forward(_:x:w:b:y:rows:inFeatures:outFeatures:relu:gelu:packedWeight:)`` for v = ∂J/∂y; `y` is
    /// the forward output when the ReLU was applied (its mask), else nil. Nil outputs are skipped.
    static func backward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w: UnsafePointer<T>, y: UnsafePointer<T>?,
                                          v: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?, dw: UnsafeMutablePointer<T>?,
                                          db: UnsafeMutablePointer<T>?, rows: Int, inFeatures inF: Int, outFeatures outF: Int) {
        // g = v ⊙ 1{y > 0} (or v), and db = column sums of g in row order (independent of threads).
        var gBuffer: UnsafeMutablePointer<T>? = nil
        defer { gBuffer?.deallocate() }
        let g: UnsafePointer<T>
        if let y {
            let buf = UnsafeMutablePointer<T>.allocate(capacity: Swift.max(rows * outF, 1))
            gBuffer = buf
            let gp = SendablePointer(buf), vp = SendablePointer(v), yp = SendablePointer(y)
            Parallel.forRanges(count: rows, grain: Swift.max(1, (1 << 15) / Swift.max(outF, 1))) { r in
                if T.self == Float.self {
                    let o = r.lowerBound * outF
                    nk_relu_grad_f32(floatPointer(gp.pointer + o), floatPointer(vp.pointer + o),
                                     floatPointer(yp.pointer + o), r.count * outF)
                    return
                }
                for i in r {
                    let gi = gp.pointer + i * outF, vi = vp.pointer + i * outF, yi = yp.pointer + i * outF
                    for j in 0..<outF { gi[j] = yi[j] > 0 ? vi[j] : 0 }
                }
            }
            g = UnsafePointer(buf)
        } else {
            g = v
        }
        if let db {
            db.update(repeating: 0, count: outF)
            if T.self == Float.self {
                nk_colsum_add_f32(floatPointer(db), floatPointer(g), rows, outF)
            } else {
                for i in 0..<rows {
                    let gi = g + i * outF
                    for j in 0..<outF { db[j] += gi[j] }
                }
            }
        }
        if let dx {
            // dx = g W: [rows, outF] · [outF, inF].
            BLAS.gemm(T.self, transA: false, transB: false, m: rows, n: inF, k: outF, a: g, lda: outF, b: w, ldb: inF,
                      beta: 0, c: dx, ldc: inF)
        }
        if let dw {
            // dW = gᵀ x: [outF, rows] · [rows, inF].
            BLAS.gemm(T.self, transA: true, transB: false, m: outF, n: inF, k: rows, a: g, lda: outF, b: x, ldb: inF,
                      beta: 0, c: dw, ldc: inF)
        }
    }
}
