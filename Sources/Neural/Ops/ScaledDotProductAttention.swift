import CNeuralKernels

/// Scaled dot-product attention, fused: softmax(scale · Q Kᵀ + mask) V without ever holding the
/// `[seq, seq]` score matrix. Like `torch.nn.functional.scaled_dot_product_attention`.
///
/// Shapes: `q` `[batch, heads, seqQ, headDim]`, `k` and `v` `[batch, heads, seqK, headDim]`, the
/// result `[batch, heads, seqQ, headDim]`. Views with any strides over batch, heads and sequence
/// (such as the heads split off a projection by `reshaped` and `transposed`) are read in place
/// as long as `headDim` is contiguous; the result is laid out `[batch, seqQ, heads, headDim]` in
/// memory, so `transposed(1, 2).reshaped([batch, seqQ, heads · headDim])` needs no copy.
///
/// The forward pass walks the keys in blocks of 64 with an online softmax (flash attention) and
/// keeps the row log-sum-exp; the backward pass recomputes each block's scores from it. Work is
/// split over (batch · head, query block) forward and over batch · head backward, with every sum
/// in a fixed order, so results do not depend on ``Runtime/threads``.
///
/// Masks: with `causal`, query i sees keys j ≤ i (torch's `is_causal=True`, top-left aligned);
/// `keyPaddingMask` `[batch, seqK]` hides key j of example b where it is nonzero (torch's boolean
/// `key_padding_mask`, True = padding; any dtype, read as "nonzero"). A query row that sees no key
/// at all gives zeros and passes back zero gradients, as torch 2.13's
/// `scaled_dot_product_attention` does.
///
/// - Parameters:
///   - q: queries `[batch, heads, seqQ, headDim]`.
///   - k: keys `[batch, heads, seqK, headDim]`.
///   - v: values `[batch, heads, seqK, headDim]`.
///   - causal: hide keys after each query's position.
///   - keyPaddingMask: `[batch, seqK]`, nonzero = ignore this key; `nil` for none.
///   - scale: the factor on Q Kᵀ; `nil` for 1/√headDim.
/// - Returns: `[batch, heads, seqQ, headDim]`.
public func scaledDotProductAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool = false,
                                      keyPaddingMask: Tensor? = nil, scale: Double? = nil) -> Tensor {
    precondition(q.rank == 4 && k.rank == 4 && v.rank == 4,
                 "Neural: scaledDotProductAttention needs [batch, heads, seq, headDim] tensors, got q \(q.shape), k \(k.shape), v \(v.shape)")
    let (b, h, tq, d) = (q.shape[0], q.shape[1], q.shape[2], q.shape[3])
    let tk = k.shape[2]
    precondition(k.shape == [b, h, tk, d] && v.shape == k.shape,
                 "Neural: scaledDotProductAttention shapes do not fit: q \(q.shape), k \(k.shape), v \(v.shape) (k and v must be [\(b), \(h), seqK, \(d)])")
    precondition(k.dtype == q.dtype && v.dtype == q.dtype,
                 "Neural: scaledDotProductAttention needs one dtype, got q \(q.dtype), k \(k.dtype), v \(v.dtype)")
    var mask: [UInt8]?
    if let keyPaddingMask {
        precondition(keyPaddingMask.shape == [b, tk],
                     "Neural: scaledDotProductAttention keyPaddingMask has shape \(keyPaddingMask.shape); expected [batch, seqK] = [\(b), \(tk)]")
        mask = keyPaddingMask.scalars(as: Double.self).map { $0 != 0 ? 1 : 0 }
    }
    let scale = scale ?? 1 / Double(d).squareRoot()
    let qd = AttentionKernels.rowContiguous(q), kd = AttentionKernels.rowContiguous(k), vd = AttentionKernels.rowContiguous(v)
    let out = AttentionKernels.headsLast(b, h, tq, d, dtype: q.dtype)
    let lse = Tensor(uninitialized: [b * h, tq], dtype: q.dtype)
    AttentionKernels.forward(q: qd, k: kd, v: vd, out: out, lse: lse, causal: causal, mask: mask, scale: scale)
    return Tensor.record(out, op: "scaledDotProductAttention", inputs: [q, k, v]) { g, needs in
        let gd = AttentionKernels.rowContiguous(g.detached())
        let dq = needs[0] ? AttentionKernels.headsLast(b, h, tq, d, dtype: qd.dtype) : nil
        let dk = needs[1] ? AttentionKernels.headsLast(b, h, tk, d, dtype: qd.dtype) : nil
        let dv = needs[2] ? AttentionKernels.headsLast(b, h, tk, d, dtype: qd.dtype) : nil
        AttentionKernels.backward(q: qd, k: kd, v: vd, out: out, lse: lse, g: gd, dq: dq, dk: dk, dv: dv,
                                  causal: causal, mask: mask, scale: scale)
        return [dq, dk, dv]
    }
}

/// Launches the C attention kernels (Sources/CNeuralKernels/attention_kernels.c).
enum AttentionKernels {
    /// `t` detached, with unit stride along the last dimension (a copy only when it is not).
    static func rowContiguous(_ t: Tensor) -> Tensor {
        let x = t.detached()
        return x.strides[3] == 1 || x.shape[3] == 1 ? x : x.contiguous()
    }

    /// An uninitialised `[b, h, t, d]` view of a `[b, t, h, d]` buffer.
    static func headsLast(_ b: Int, _ h: Int, _ t: Int, _ d: Int, dtype: DType) -> Tensor {
        let buffer = Tensor(uninitialized: [b, t, h, d], dtype: dtype)
        return buffer.withLayout(shape: [b, h, t, d], strides: [t * h * d, d, h * d, 1], offset: buffer.offset)
    }

    private static func strides(_ t: Tensor?) -> nk_attn_strides {
        guard let t else { return nk_attn_strides(b: 0, h: 0, t: 0) }
        return nk_attn_strides(b: t.strides[0], h: t.strides[1], t: t.strides[2])
    }

    /// The argument block of one call over q, k, v (pointers filled by the caller).
    private static func arguments(q: Tensor, k: Tensor, causal: Bool, scale: Double) -> nk_attn_args {
        var a = nk_attn_args()
        a.batch = q.shape[0]; a.heads = q.shape[1]; a.tq = q.shape[2]; a.tk = k.shape[2]; a.d = q.shape[3]
        a.scale = scale
        a.causal = causal ? 1 : 0
        return a
    }

    /// Raw pointer to the first element of `t`'s view.
    private static func raw(_ t: Tensor) -> UnsafeMutableRawPointer {
        t.storage.raw + t.offset * t.dtype.byteSize
    }

    static func forward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, causal: Bool, mask: [UInt8]?, scale: Double) {
        var a = arguments(q: q, k: k, causal: causal, scale: scale)
        a.qs = strides(q); a.ks = strides(k); a.vs = strides(v); a.os = strides(out)
        a.q = UnsafeRawPointer(raw(q)); a.k = UnsafeRawPointer(raw(k)); a.v = UnsafeRawPointer(raw(v))
        a.o = raw(out); a.lse = raw(lse)
        let f64 = q.dtype == .float64
        withExtendedLifetime((q, k, v, out, lse)) {
            run(&a, mask: mask) { args in
                let tasks = nk_attn_fwd_tasks(args.pointer)
                Parallel.forEach(tasks: tasks) { t in
                    if f64 { nk_attn_fwd_f64(args.pointer, t) } else { nk_attn_fwd_f32(args.pointer, t) }
                }
            }
        }
    }

    static func backward(q: Tensor, k: Tensor, v: Tensor, out: Tensor, lse: Tensor, g: Tensor,
                         dq: Tensor?, dk: Tensor?, dv: Tensor?, causal: Bool, mask: [UInt8]?, scale: Double) {
        var a = arguments(q: q, k: k, causal: causal, scale: scale)
        a.qs = strides(q); a.ks = strides(k); a.vs = strides(v); a.os = strides(out); a.gs = strides(g)
        a.dqs = strides(dq); a.dks = strides(dk); a.dvs = strides(dv)
        a.q = UnsafeRawPointer(raw(q)); a.k = UnsafeRawPointer(raw(k)); a.v = UnsafeRawPointer(raw(v))
        a.o = raw(out); a.lse = raw(lse); a.g = UnsafeRawPointer(raw(g))
        a.dq = dq.map(raw); a.dk = dk.map(raw); a.dv = dv.map(raw)
        let f64 = q.dtype == .float64
        let pairs = a.batch * a.heads
        withExtendedLifetime((q, k, v, out, lse, g, dq, dk, dv)) {
            run(&a, mask: mask) { args in
                Parallel.forEach(tasks: pairs) { t in
                    if f64 { nk_attn_bwd_f64(args.pointer, t) } else { nk_attn_bwd_f32(args.pointer, t) }
                }
            }
        }
    }

    /// Calls `body` with `a` (its key mask pointing into `mask`) at a stable address.
    private static func run(_ a: inout nk_attn_args, mask: [UInt8]?, _ body: (SendablePointer<nk_attn_args>) -> Void) {
        func go(_ a: inout nk_attn_args) {
            withUnsafeMutablePointer(to: &a) { body(SendablePointer($0)) }
        }
        if let mask {
            mask.withUnsafeBufferPointer { m in
                a.key_mask = m.baseAddress
                go(&a)
                a.key_mask = nil
            }
        } else {
            go(&a)
        }
    }
}
