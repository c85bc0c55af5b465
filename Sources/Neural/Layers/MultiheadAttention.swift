/// Multi-head attention (like `torch.nn.MultiheadAttention`): the queries, keys and values are
/// projected, split into `numHeads` heads of `embedDim / numHeads` features, attended with the
/// fused ``scaledDotProductAttention(_:_:_:causal:keyPaddingMask:scale:)`` and projected back.
///
/// Shapes (`batchFirst`, the default): query `[batch, seqQ, embed]`, key and value
/// `[batch, seqK, embed]`, output `[batch, seqQ, embed]`; without `batchFirst` the first two
/// dimensions swap (`[seq, batch, embed]`, torch's default). The heads are strided views of the
/// projection, never copies.
///
/// Parameters, in torch's names, layouts and initialisation, so a torch `state_dict` loads strictly:
/// `in_proj_weight` `[3·embed, embed]` (rows: query, key, value projections; Xavier-uniform),
/// `in_proj_bias` `[3·embed]` (zeros), `out_proj.weight` `[embed, embed]` and `out_proj.bias`
/// `[embed]` (zeros).
///
/// With `dropout` > 0 in training mode, the attention weights are formed explicitly
/// (`[batch, heads, seqQ, seqK]`) so that each can be dropped, as torch does; otherwise (evaluation,
/// or `dropout` 0) the fused kernel runs and no weight matrix exists.
public final class MultiheadAttention: Module, Layer, SummarizableLayer {
    /// The stacked query, key and value projection weights, `[3·embed, embed]`.
    public let inProjWeight: Parameter
    /// The stacked projection biases, `[3·embed]` (nil without bias).
    public let inProjBias: Parameter?
    /// The output projection `embed → embed` (`out_proj`).
    public let outProj: Linear
    /// Heads.
    public let numHeads: Int
    /// Whether inputs are `[batch, seq, embed]` (true) or `[seq, batch, embed]`.
    public let batchFirst: Bool
    /// The probability of dropping an attention weight in training mode (torch's `dropout`).
    public let dropout: Double
    /// The source of the dropout masks.
    package let generator: RandomGenerator

    /// Attention over `embedDim` features with `numHeads` heads (`embedDim` must divide evenly).
    public init(embedDim: Int, numHeads: Int, dropout: Double = 0, bias: Bool = true, batchFirst: Bool = true,
                dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(embedDim > 0 && numHeads > 0 && embedDim % numHeads == 0,
                     "Neural: MultiheadAttention(embedDim: \(embedDim), numHeads: \(numHeads)) needs embedDim divisible by numHeads")
        precondition(dropout >= 0 && dropout < 1, "Neural: MultiheadAttention dropout must be in [0, 1), got \(dropout)")
        let bound = (6.0 / Double(4 * embedDim)).squareRoot()          // Xavier: fan_in = E, fan_out = 3E
        inProjWeight = Parameter(.uniform([3 * embedDim, embedDim], low: -bound, high: bound, dtype: dtype, generator: generator))
        inProjBias = bias ? Parameter(.zeros([3 * embedDim], dtype: dtype)) : nil
        outProj = Linear(embedDim, embedDim, bias: bias, dtype: dtype, generator: generator)
        outProj.bias?.value = .zeros([embedDim], dtype: dtype)
        self.numHeads = numHeads
        self.batchFirst = batchFirst
        self.dropout = dropout
        self.generator = generator
        super.init()
    }

    /// Features per token.
    public var embedDim: Int { outProj.inFeatures }

    /// `in_proj_weight`, `in_proj_bias`.
    public override var localParameters: [(name: String, parameter: Parameter)] {
        [("in_proj_weight", inProjWeight)] + (inProjBias.map { [("in_proj_bias", $0)] } ?? [])
    }

    /// `out_proj`.
    public override var children: [(name: String, module: Module)] { [("out_proj", outProj)] }

    /// Self-attention: `x` is query, key and value (`[batch, seq, embed]`). One projection GEMM.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, keyPaddingMask: nil, causal: false) }

    /// Self-attention with masks: `keyPaddingMask` `[batch, seq]` (nonzero = padding, ignored),
    /// `causal` hides later positions. Returns `x`'s shape.
    public func callAsFunction(_ x: Tensor, keyPaddingMask: Tensor?, causal: Bool = false) -> Tensor {
        let e = embedDim
        precondition(x.rank == 3 && x.shape[2] == e,
                     "Neural: MultiheadAttention(embedDim: \(e)) got input of shape \(x.shape); expected \(batchFirst ? "[batch, seq, \(e)]" : "[seq, batch, \(e)]")")
        let qkv = x.linear(weight: inProjWeight.value, bias: inProjBias?.value)
        let (d0, d1) = (x.shape[0], x.shape[1])
        // [d0, d1, 3, heads, headDim] → [3, batch, heads, seq, headDim] (views).
        let split = qkv.reshaped([d0, d1, 3, numHeads, e / numHeads])
            .permuted(batchFirst ? [2, 0, 3, 1, 4] : [2, 1, 3, 0, 4])
        return attend(split.select(axis: 0, 0), split.select(axis: 0, 1), split.select(axis: 0, 2),
                      keyPaddingMask: keyPaddingMask, causal: causal)
    }

    /// Attention of `query` over `key`/`value` (torch's `forward(query, key, value, ...)` with
    /// `need_weights=False`): query `[batch, seqQ, embed]`, key and value `[batch, seqK, embed]`
    /// (`batchFirst`), `keyPaddingMask` `[batch, seqK]`. Returns `[batch, seqQ, embed]`.
    public func callAsFunction(query: Tensor, key: Tensor, value: Tensor, keyPaddingMask: Tensor? = nil,
                               causal: Bool = false) -> Tensor {
        let e = embedDim
        for (name, t) in [("query", query), ("key", key), ("value", value)] {
            precondition(t.rank == 3 && t.shape[2] == e,
                         "Neural: MultiheadAttention(embedDim: \(e)) got \(name) of shape \(t.shape); its last dimension must be \(e)")
        }
        precondition(key.shape == value.shape, "Neural: MultiheadAttention key \(key.shape) and value \(value.shape) differ")
        func project(_ t: Tensor, _ part: Int) -> Tensor {
            let w = inProjWeight.value.slice(axis: 0, (part * e)..<((part + 1) * e))
            let b = inProjBias.map { $0.value.slice(axis: 0, (part * e)..<((part + 1) * e)) }
            let y = t.linear(weight: w, bias: b).reshaped([t.shape[0], t.shape[1], numHeads, e / numHeads])
            return y.permuted(batchFirst ? [0, 2, 1, 3] : [1, 2, 0, 3])
        }
        return attend(project(query, 0), project(key, 1), project(value, 2), keyPaddingMask: keyPaddingMask, causal: causal)
    }

    /// Attends `[batch, heads, seq, headDim]` heads and projects the merged result.
    private func attend(_ q: Tensor, _ k: Tensor, _ v: Tensor, keyPaddingMask: Tensor?, causal: Bool) -> Tensor {
        let (b, t) = (q.shape[0], q.shape[2])
        let o = isTraining && dropout > 0
            ? droppedWeightsAttention(q, k, v, keyPaddingMask: keyPaddingMask, causal: causal)
            : scaledDotProductAttention(q, k, v, causal: causal, keyPaddingMask: keyPaddingMask)
        // The result is laid out [batch, seq, heads, headDim]: merging heads is a free reshape.
        let merged = batchFirst ? o.transposed(1, 2).reshaped([b, t, embedDim])
                                : o.permuted([2, 0, 1, 3]).reshaped([t, b, embedDim])
        return outProj(merged)
    }

    /// Attention with dropout on the explicit weights softmax(Q Kᵀ/√headDim + mask): hidden keys get
    /// −1e30 before the softmax and rows that see no key are zeroed (the fused op's convention).
    private func droppedWeightsAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, keyPaddingMask: Tensor?, causal: Bool) -> Tensor {
        let (b, h, tq, tk) = (q.shape[0], q.shape[1], q.shape[2], k.shape[2])
        let padding = keyPaddingMask?.scalars(as: Double.self)
        if let keyPaddingMask {
            precondition(keyPaddingMask.shape == [b, tk],
                         "Neural: MultiheadAttention keyPaddingMask has shape \(keyPaddingMask.shape); expected [batch, seqK] = [\(b), \(tk)]")
        }
        var hidden = [Double](repeating: 0, count: b * tq * tk), seen = [Double](repeating: 0, count: b * tq)
        for bi in 0..<b {
            for i in 0..<tq {
                for j in 0..<tk {
                    if (causal && j > i) || (padding.map { $0[bi * tk + j] != 0 } ?? false) {
                        hidden[(bi * tq + i) * tk + j] = 1
                    } else {
                        seen[bi * tq + i] = 1
                    }
                }
            }
        }
        let hide = Tensor(hidden, shape: [b, 1, tq, tk], dtype: q.dtype), rows = Tensor(seen, shape: [b, 1, tq, 1], dtype: q.dtype)
        let scores = q.matmul(k.transposed()) * (1 / Double(q.shape[3]).squareRoot()) - hide * 1e30
        let p = dropout
        let keep = withNoGrad {
            (Tensor.uniform([b, h, tq, tk], dtype: q.dtype, generator: generator) .>= p) * (1 / (1 - p))
        }
        return (scores.softmax(axis: -1) * rows * keep).matmul(v)
    }

    /// `MultiheadAttention(embed, heads)`.
    package var summary: String { "MultiheadAttention(\(embedDim), \(numHeads) heads)" }
}
