import CNeuralKernels

/// Matrix products: MM_{W,b}(z) = Wz + b's core (eq. 7.35), for 2-D and batched operands, with
/// transposed views read in place by the GEMM kernel (no copy). Backward per eq. 7.62–7.66:
/// ∂J/∂A = v Bᵀ and ∂J/∂B = Aᵀ v, both O(mnk) like the forward.
extension Tensor {
    /// How GEMM reads the last two dimensions: row-major (`trans == false`, `ld` = row stride) or
    /// as the transpose of a row-major matrix (`trans == true`); `nil` if neither (copy first).
    private static func matrixLayout(_ t: Tensor) -> (trans: Bool, ld: Int)? {
        let r = t.shape[t.rank - 2], c = t.shape[t.rank - 1]
        let rs = t.strides[t.rank - 2], cs = t.strides[t.rank - 1]
        if (cs == 1 || c <= 1) && (r <= 1 || rs >= Swift.max(c, 1)) { return (false, r <= 1 ? Swift.max(c, 1) : rs) }
        if (rs == 1 || r <= 1) && (c <= 1 || cs >= Swift.max(r, 1)) { return (true, c <= 1 ? Swift.max(r, 1) : cs) }
        return nil
    }

    /// Matrix product with NumPy/PyTorch semantics: `[…, n, k] · […, k, m] → […, n, m]`, batch
    /// dimensions broadcast; a 1-D left operand is a row vector and a 1-D right operand a column
    /// vector (their dimension is dropped from the result). Transposed views (``transposed()``)
    /// are multiplied without copying.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 1 && other.rank >= 1, "Neural: matmul needs operands with at least one dimension, got \(shape) and \(other.shape)")
        // 1-D · 1-D is the dot product, a scalar (both dropped dimensions removed at once).
        if rank == 1 && other.rank == 1 { return unsqueezed(0).matmul(other.unsqueezed(1)).reshaped([]) }
        if rank == 1 { return unsqueezed(0).matmul(other).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(1)).squeezed(-1) }
        precondition(shape[rank - 1] == other.shape[other.rank - 2],
                     "Neural: matmul shapes \(shape) and \(other.shape) do not agree (inner dimensions \(shape[rank - 1]) vs \(other.shape[other.rank - 2]))")
        precondition(dtype == other.dtype, "Neural: matmul dtypes differ (\(dtype) vs \(other.dtype))")
        // A batch of inputs times one matrix is a single GEMM over the stacked rows (eq. 7.81–7.84).
        if rank > 2 && other.rank == 2 && isContiguous {
            let n = shape[rank - 2], m = other.shape[1]
            return reshaped([-1, shape[rank - 1]]).matmul(other).reshaped(Array(shape.dropLast(2)) + [n, m])
        }
        let out = Tensor.matmulForward(self, other)
        guard GradMode.enabled, node != nil || other.node != nil else { return out }
        let a = detached(), b = other.detached()
        return Tensor.record(out, op: "matmul", inputs: [self, other]) { v, needs in
            [needs[0] ? v.matmul(b.transposed()).sumToShape(a.shape) : nil,   // B[MM, A](v) = v Bᵀ
             needs[1] ? a.transposed().matmul(v).sumToShape(b.shape) : nil]   // B[MM, B](v) = Aᵀ v
        }
    }

    private static func matmulForward(_ a0: Tensor, _ b0: Tensor) -> Tensor {
        let a = matrixLayout(a0) == nil ? a0.contiguous() : a0
        let b = matrixLayout(b0) == nil ? b0.contiguous() : b0
        let (la, lb) = (matrixLayout(a)!, matrixLayout(b)!)
        let n = a.shape[a.rank - 2], k = a.shape[a.rank - 1], m = b.shape[b.rank - 1]
        let batchA = Array(a.shape.dropLast(2)), batchB = Array(b.shape.dropLast(2))
        let batch = Shape.broadcast(batchA, batchB, op: "matmul")
        let sa = Shape.broadcastStrides(shape: batchA, strides: Array(a.strides.dropLast(2)), to: batch)
        let sb = Shape.broadcastStrides(shape: batchB, strides: Array(b.strides.dropLast(2)), to: batch)
        let out = Tensor(uninitialized: batch + [n, m], dtype: a.dtype)
        let batches = Shape.count(batch)
        if out.count == 0 { return out }
        withExtendedLifetime((a, b)) {
            let (bs, bsa, bsb) = batch.isEmpty ? ([1], [0], [0]) : (batch, sa, sb)
            // Offsets of each batch's matrices, walked odometer-style.
            var idx = [Int](repeating: 0, count: bs.count)
            for t in 0..<batches {
                var oa = a.offset, ob = b.offset
                for d in 0..<bs.count { oa += idx[d] * bsa[d]; ob += idx[d] * bsb[d] }
                let oc = t * n * m
                switch a.dtype {
                case .float32:
                    BLAS.gemm(transA: la.trans, transB: lb.trans, m: n, n: m, k: k, alpha: 1,
                              a: a.storage.pointer(Float.self) + oa, lda: la.ld,
                              b: b.storage.pointer(Float.self) + ob, ldb: lb.ld,
                              beta: 0, c: out.pointer(Float.self) + oc, ldc: m)
                case .float64:
                    BLAS.gemm(transA: la.trans, transB: lb.trans, m: n, n: m, k: k, alpha: 1,
                              a: a.storage.pointer(Double.self) + oa, lda: la.ld,
                              b: b.storage.pointer(Double.self) + ob, ldb: lb.ld,
                              beta: 0, c: out.pointer(Double.self) + oc, ldc: m)
                }
                var d = bs.count - 1
                while d >= 0 {
                    idx[d] += 1
                    if idx[d] < bs[d] { break }
                    idx[d] = 0
                    d -= 1
                }
            }
        }
        return out
    }
}

/// An activation applied in the same pass as a layer's bias (``Tensor/linear(weight:bias:activation:)``).
public enum FusedActivation: Sendable, Equatable {
    /// No activation: y = z.
    case identity
    /// y = max(z, 0) (eq. 7.24), derivative 0 at z ≤ 0 as in ``Tensor/relu()``.
    case relu
}

extension Tensor {
    /// The fused affine map of a ``Linear`` layer, y = act(x Wᵀ + b) (eq. 7.35 with examples along
    /// dimension 0, eq. 7.84): `[…, inFeatures] → […, outFeatures]` for `weight` `[outFeatures,
    /// inFeatures]` and `bias` `[outFeatures]`. Gives the same values as
    /// `x.matmul(weight.transposed()) + bias` followed by the activation, in one GEMM and one pass
    /// over the output; the backward pass is three GEMM-sized steps in one node:
    ///
    /// - g = v ⊙ act′ (the ReLU mask read from y), and ∂J/∂b = Σ over the batch of g (same pass),
    /// - ∂J/∂x = g W (`[batch, outFeatures] · [outFeatures, inFeatures]`),
    /// - ∂J/∂W = gᵀ x (`[outFeatures, batch] · [batch, inFeatures]`), contiguous in W's layout.
    public func linear(weight: Tensor, bias: Tensor? = nil, activation: FusedActivation = .identity) -> Tensor {
        precondition(weight.rank == 2, "Neural: linear needs a weight of shape [outFeatures, inFeatures], got \(weight.shape)")
        let outF = weight.shape[0], inF = weight.shape[1]
        precondition(rank >= 1 && shape[rank - 1] == inF,
                     "Neural: linear input of shape \(shape) does not match weight \(weight.shape); its last dimension must be \(inF)")
        precondition(dtype == weight.dtype && (bias == nil || bias!.dtype == dtype),
                     "Neural: linear dtypes differ (input \(dtype), weight \(weight.dtype)\(bias.map { ", bias \($0.dtype)" } ?? ""))")
        if let bias { precondition(bias.shape == [outF], "Neural: linear bias must have shape [\(outF)], got \(bias.shape)") }
        if rank != 2 {
            let lead = Array(shape.dropLast())
            return reshaped([-1, inF]).linear(weight: weight, bias: bias, activation: activation).reshaped(lead + [outF])
        }
        let rows = shape[0]
        let x = detached().contiguous(), w = weight.detached().contiguous(), b = bias?.detached().contiguous()
        let y = Tensor(uninitialized: [rows, outF], dtype: dtype)
        withExtendedLifetime((x, w, b)) {
            switch dtype {
            case .float32:
                LinearKernels.forward(Float.self, x: x.pointer(Float.self), w: w.pointer(Float.self),
                                      b: b.map { UnsafePointer($0.pointer(Float.self)) }, y: y.pointer(Float.self),
                                      rows: rows, inFeatures: inF, outFeatures: outF, relu: activation == .relu)
            case .float64:
                LinearKernels.forward(Double.self, x: x.pointer(Double.self), w: w.pointer(Double.self),
                                      b: b.map { UnsafePointer($0.pointer(Double.self)) }, y: y.pointer(Double.self),
                                      rows: rows, inFeatures: inF, outFeatures: outF, relu: activation == .relu)
            }
        }
        guard GradMode.enabled, node != nil || weight.node != nil || bias?.node != nil else { return y }
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        let relu = activation == .relu
        let saved = y.detached()
        return Tensor.record(y, op: relu ? "linear+relu" : "linear", inputs: inputs) { v0, needs in
            let v = v0.contiguous()
            let dx = needs[0] ? Tensor(uninitialized: [rows, inF], dtype: x.dtype) : nil
            let dw = needs[1] ? Tensor(uninitialized: [outF, inF], dtype: x.dtype) : nil
            let db = needs.count > 2 && needs[2] ? Tensor(uninitialized: [outF], dtype: x.dtype) : nil
            withExtendedLifetime((x, w, v, saved)) {
                switch x.dtype {
                case .float32:
                    LinearKernels.backward(Float.self, x: x.pointer(Float.self), w: w.pointer(Float.self),
                                           y: relu ? UnsafePointer(saved.pointer(Float.self)) : nil, v: v.pointer(Float.self),
                                           dx: dx?.pointer(Float.self), dw: dw?.pointer(Float.self), db: db?.pointer(Float.self),
                                           rows: rows, inFeatures: inF, outFeatures: outF)
                case .float64:
                    LinearKernels.backward(Double.self, x: x.pointer(Double.self), w: w.pointer(Double.self),
                                           y: relu ? UnsafePointer(saved.pointer(Double.self)) : nil, v: v.pointer(Double.self),
                                           dx: dx?.pointer(Double.self), dw: dw?.pointer(Double.self), db: db?.pointer(Double.self),
                                           rows: rows, inFeatures: inF, outFeatures: outF)
                }
            }
            return Array([dx, dw, db].prefix(needs.count))
        }
    }
}

/// The raw loops of ``Tensor/linear(weight:bias:activation:)``; all buffers contiguous row-major.
enum LinearKernels {
    /// y = act(x Wᵀ + b): x `[rows, inFeatures]`, w `[outFeatures, inFeatures]`, y `[rows, outFeatures]`.
    static func forward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w: UnsafePointer<T>, b: UnsafePointer<T>?,
                                         y: UnsafeMutablePointer<T>, rows: Int, inFeatures inF: Int, outFeatures outF: Int,
                                         relu: Bool) {
        if rows == 0 { return }
        if T.self == Float.self && rows >= 16 && 2 * rows <= outF && BLAS.readsAInPlace(T.self, lda: inF) {
            forwardTransposed(x: floatPointer(x), w: floatPointer(w), b: b.map { floatPointer($0) },
                              y: floatPointer(y), rows: rows, inFeatures: inF, outFeatures: outF, relu: relu)
            return
        }
        BLAS.gemm(T.self, transA: false, transB: true, m: rows, n: outF, k: inF, a: x, lda: inF, b: w, ldb: inF,
                  beta: 0, c: y, ldc: outF)
        if b == nil && !relu { return }
        // The epilogue: z + b, then max(·, 0) — the same two roundings as the unfused ops.
        let yp = SendablePointer(y), bp = b.map { SendablePointer($0) }
        Parallel.forRanges(count: rows, grain: Swift.max(1, (1 << 15) / Swift.max(outF, 1))) { r in
            if T.self == Float.self {
                nk_bias_act_cols_f32(floatPointer(yp.pointer + r.lowerBound * outF),
                                     bp.map { floatPointer(UnsafePointer($0.pointer)) },
                                     r.count, outF, outF, relu ? 1 : 0)
                return
            }
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

    /// ``forward(_:x:w:b:y:rows:inFeatures:outFeatures:relu:)`` for a batch smaller than the layer
    /// (2·rows ≤ outFeatures), as yᵀ = W xᵀ: the kernel reads W `[outFeatures, inFeatures]` in place
    /// and only xᵀ is packed (rows·inFeatures elements instead of W's outFeatures·inFeatures), then
    /// the bias and activation are applied while yᵀ is transposed into y. Every element is the same
    /// multiply-add chain over the inputs, then the same two roundings: the same bits as the GEMM
    /// y = x Wᵀ followed by the epilogue.
    private static func forwardTransposed(x: UnsafePointer<Float>, w: UnsafePointer<Float>, b: UnsafePointer<Float>?,
                                          y: UnsafeMutablePointer<Float>, rows: Int, inFeatures inF: Int,
                                          outFeatures outF: Int, relu: Bool) {
        GEMMScratch.withBuffer(bytes: rows * outF * MemoryLayout<Float>.stride) { raw in
            let t = raw.bindMemory(to: Float.self, capacity: rows * outF)
            BLAS.gemm(Float.self, transA: false, transB: true, m: outF, n: rows, k: inF, a: w, lda: inF, b: x, ldb: inF,
                      beta: 0, c: t, ldc: rows)
            let yp = SendablePointer(y), tp = SendablePointer(UnsafePointer(t)), bp = b.map { SendablePointer($0) }
            Parallel.forRanges(count: rows, grain: Swift.max(16, (1 << 15) / Swift.max(outF, 1))) { r in
                nk_bias_act_transpose_f32(yp.pointer + r.lowerBound * outF, outF, tp.pointer + r.lowerBound, rows,
                                          bp.map { UnsafePointer($0.pointer) }, r.count, outF, relu ? 1 : 0)
            }
        }
    }

    /// Gradients of ``forward(_:x:w:b:y:rows:inFeatures:outFeatures:relu:)`` for v = ∂J/∂y; `y` is
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
