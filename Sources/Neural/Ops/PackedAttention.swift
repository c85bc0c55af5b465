/// Causal self-attention straight from a packed query-key-value projection, as a GPT block uses it:
/// the forward reads the heads in place from the projection, and the backward writes ∂q, ∂k and ∂v
/// into one `[batch, seq, 3·embed]` gradient (no per-head gradient buffers to scatter and add).

extension Tensor {
    /// softmax(Q Kᵀ/√headDim + causal mask) V for the heads packed in `self` `[batch, seq, 3·embed]`
    /// (columns: the query, key and value projections, each `heads` × headDim, as
    /// `qkv.split(embed, dim=2)` followed by `view(b, t, heads, headDim)` in torch), merged back to
    /// `[batch, seq, embed]`. The same values as ``scaledDotProductAttention(_:_:_:causal:keyPaddingMask:scale:)``
    /// on the three views with `causal: true`, whose fused kernels it runs.
    ///
    /// B: ∂self is `[batch, seq, 3·embed]`, ∂q, ∂k and ∂v written in place by the attention backward kernel.
    public func packedCausalSelfAttention(heads: Int) -> Tensor {
        precondition(rank == 3 && shape[2] % (3 * heads) == 0,
                     "Neural: packedCausalSelfAttention needs [batch, seq, 3·embed] with embed divisible by \(heads) heads, got \(shape)")
        let (b, t, e) = (shape[0], shape[1], shape[2] / 3), hd = e / heads
        let qkv = detached().contiguous()
        /// Part `part` (0: q, 1: k, 2: v) of a `[b, t, 3, heads, hd]` buffer as a `[b, heads, t, hd]` view.
        func part(_ x: Tensor, _ p: Int) -> Tensor {
            x.withLayout(shape: [b, heads, t, hd], strides: [t * 3 * e, hd, 3 * e, 1], offset: x.offset + p * e)
        }
        let q = part(qkv, 0), k = part(qkv, 1), v = part(qkv, 2)
        let out = AttentionKernels.headsLast(b, heads, t, hd, dtype: dtype)
        let lse = Tensor(uninitialized: [b * heads, t], dtype: dtype)
        let scale = 1 / Double(hd).squareRoot()
        AttentionKernels.forward(q: q, k: k, v: v, out: out, lse: lse, causal: true, mask: nil, scale: scale)
        let merged = out.withLayout(shape: [b, t, e], strides: [t * e, e, 1], offset: out.offset)
        return Tensor.record(merged, op: "packedCausalSelfAttention", input: self) { g in
            let gc = g.detached().contiguous()
            let gv = gc.withLayout(shape: [b, heads, t, hd], strides: [t * e, hd, e, 1], offset: gc.offset)
            let d = Tensor(uninitialized: [b, t, 3 * e], dtype: qkv.dtype)
            AttentionKernels.backward(q: q, k: k, v: v, out: out, lse: lse, g: gv, dq: part(d, 0), dk: part(d, 1), dv: part(d, 2),
                                      causal: true, mask: nil, scale: scale)
            return d
        }
    }
}
