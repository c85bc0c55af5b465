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
                func multiply<T: KernelScalar>(_: T.Type) {
                    BLAS.gemm(T.self, transA: la.trans, transB: lb.trans, m: n, n: m, k: k,
                              a: a.storage.pointer(T.self) + oa, lda: la.ld, b: b.storage.pointer(T.self) + ob, ldb: lb.ld,
                              beta: 0, c: out.pointer(T.self) + oc, ldc: m)
                }
                switch a.dtype {
                case .float32: multiply(Float.self)
                case .float64: multiply(Double.self)
                case .int32, .int64: a.dtype.floatOnly("matmul")
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
        linear(weight: weight, bias: bias, activation: activation, gelu: false, packedWeight: nil)
    }

    /// ``linear(weight:bias:activation:)`` with the exact GELU as the activation when `gelu`: for
    /// Float32 without autodiff records in the product's epilogue, in Float32 arithmetic
    /// (`nk_gelu_f32`, within 2.4e-7 of x·Φ(x)); else `linear(…).gelu()`. For Float32,
    /// `packedWeight` gives Wᵀ packed for a plan's panel width and K block depth (``GEMMPackedB``:
    /// the same bits as packing it in the product).
    func linear(weight: Tensor, bias: Tensor?, activation: FusedActivation, gelu: Bool,
                packedWeight: ((_ nr: Int, _ kc: Int) -> GEMMPackedB<Float>)?) -> Tensor {
        precondition(weight.rank == 2, "Neural: linear needs a weight of shape [outFeatures, inFeatures], got \(weight.shape)")
        let outF = weight.shape[0], inF = weight.shape[1]
        precondition(rank >= 1 && shape[rank - 1] == inF,
                     "Neural: linear input of shape \(shape) does not match weight \(weight.shape); its last dimension must be \(inF)")
        precondition(dtype == weight.dtype && (bias == nil || bias!.dtype == dtype),
                     "Neural: linear dtypes differ (input \(dtype), weight \(weight.dtype)\(bias.map { ", bias \($0.dtype)" } ?? ""))")
        if let bias { precondition(bias.shape == [outF], "Neural: linear bias must have shape [\(outF)], got \(bias.shape)") }
        if rank != 2 {
            let lead = Array(shape.dropLast())
            return reshaped([-1, inF]).linear(weight: weight, bias: bias, activation: activation, gelu: gelu,
                                              packedWeight: packedWeight).reshaped(lead + [outF])
        }
        let records = GradMode.enabled && (node != nil || weight.node != nil || bias?.node != nil)
        if gelu && (records || dtype != .float32 || activation != .identity) {
            precondition(activation == .identity, "Neural: linear takes one activation")
            return linear(weight: weight, bias: bias, activation: .identity, gelu: false, packedWeight: packedWeight).gelu()
        }
        let rows = shape[0]
        let x = detached().contiguous(), w = weight.detached().contiguous(), b = bias?.detached().contiguous()
        let y = Tensor(uninitialized: [rows, outF], dtype: dtype)
        func forward<T: KernelScalar>(_: T.Type) {
            LinearKernels.forward(T.self, x: x.pointer(T.self), w: w.pointer(T.self), b: b.map { UnsafePointer($0.pointer(T.self)) },
                                  y: y.pointer(T.self), rows: rows, inFeatures: inF, outFeatures: outF,
                                  relu: activation == .relu, gelu: gelu, packedWeight: packedWeight)
        }
        withExtendedLifetime((x, w, b)) {
            switch dtype {
            case .float32: forward(Float.self)
            case .float64: forward(Double.self)
            case .int32, .int64: dtype.floatOnly("linear")
            }
        }
        guard records else { return y }
        let inputs = bias.map { [self, weight, $0] } ?? [self, weight]
        let relu = activation == .relu
        let saved = y.detached()
        return Tensor.record(y, op: relu ? "linear+relu" : "linear", inputs: inputs) { v0, needs in
            let v = v0.contiguous()
            let dx = needs[0] ? Tensor(uninitialized: [rows, inF], dtype: x.dtype) : nil
            let dw = needs[1] ? Tensor(uninitialized: [outF, inF], dtype: x.dtype) : nil
            let db = needs.count > 2 && needs[2] ? Tensor(uninitialized: [outF], dtype: x.dtype) : nil
            func backward<T: KernelScalar>(_: T.Type) {
                LinearKernels.backward(T.self, x: x.pointer(T.self), w: w.pointer(T.self),
                                       y: relu ? UnsafePointer(saved.pointer(T.self)) : nil, v: v.pointer(T.self),
                                       dx: dx?.pointer(T.self), dw: dw?.pointer(T.self), db: db?.pointer(T.self),
                                       rows: rows, inFeatures: inF, outFeatures: outF)
            }
            withExtendedLifetime((x, w, v, saved)) {
                switch x.dtype {
                case .float32: backward(Float.self)
                case .float64: backward(Double.self)
                case .int32, .int64: x.dtype.floatOnly("linear")
                }
            }
            return Array([dx, dw, db].prefix(needs.count))
        }
    }
}
