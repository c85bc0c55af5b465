/// One Transformer encoder block (like `torch.nn.TransformerEncoderLayer`): self-attention and a
/// two-layer feed-forward network, each wrapped in a residual connection and a LayerNorm.
///
/// - post-norm (`normFirst: false`, BERT): x = norm1(x + SA(x)); x = norm2(x + FF(x))
/// - pre-norm (`normFirst: true`, GPT): x = x + SA(norm1(x)); x = x + FF(norm2(x))
///
/// with FF(x) = linear2(dropout(act(linear1(x)))) and dropout after SA and FF (`dropout1`,
/// `dropout2`) in training mode. Shapes: `[batch, seq, dModel] → [batch, seq, dModel]`
/// (`[seq, batch, dModel]` without `batchFirst`).
///
/// Parameters in torch's names and layouts (`self_attn.in_proj_weight`, `self_attn.in_proj_bias`,
/// `self_attn.out_proj.weight`/`.bias`, `linear1.*` `[dimFeedforward, dModel]`, `linear2.*`
/// `[dModel, dimFeedforward]`, `norm1.*`, `norm2.*` `[dModel]`), so a torch `state_dict` loads
/// strictly. `dropout` also drops attention weights, as torch's (see ``MultiheadAttention``).
public final class TransformerEncoderLayer: Module, Layer, SummarizableLayer {
    /// The feed-forward network's activation.
    public enum Activation: Sendable {
        /// max(x, 0) (torch's default), fused into `linear1`'s GEMM.
        case relu
        /// The exact (erf) GELU.
        case gelu
    }

    /// `self_attn`.
    public let selfAttention: MultiheadAttention
    /// `linear1`: `dModel → dimFeedforward`.
    public let linear1: Linear
    /// `linear2`: `dimFeedforward → dModel`.
    public let linear2: Linear
    /// `norm1`, `norm2`: LayerNorm over `dModel` (ε = `layerNormEps`).
    public let norm1: LayerNorm, norm2: LayerNorm
    /// Dropout inside the feed-forward network, after attention and after the feed-forward network.
    package let dropout: Dropout, dropout1: Dropout, dropout2: Dropout
    /// The feed-forward activation.
    public let activation: Activation
    /// Pre-norm (true) or post-norm (false).
    public let normFirst: Bool

    /// A block of width `dModel` with `nHead` heads (torch's defaults: 2048-wide feed-forward,
    /// dropout 0.1, ReLU, post-norm; `batchFirst` defaults to true here).
    public init(dModel: Int, nHead: Int, dimFeedforward: Int = 2048, dropout: Double = 0.1,
                activation: Activation = .relu, layerNormEps: Double = 1e-5, normFirst: Bool = false,
                batchFirst: Bool = true, bias: Bool = true, dtype: DType = .float32, generator: RandomGenerator = .default) {
        selfAttention = MultiheadAttention(embedDim: dModel, numHeads: nHead, dropout: dropout, bias: bias, batchFirst: batchFirst,
                                           dtype: dtype, generator: generator)
        linear1 = Linear(dModel, dimFeedforward, bias: bias, dtype: dtype, generator: generator)
        linear2 = Linear(dimFeedforward, dModel, bias: bias, dtype: dtype, generator: generator)
        norm1 = LayerNorm(dModel, eps: layerNormEps, bias: bias, dtype: dtype)
        norm2 = LayerNorm(dModel, eps: layerNormEps, bias: bias, dtype: dtype)
        self.dropout = Dropout(dropout, generator: generator)
        dropout1 = Dropout(dropout, generator: generator)
        dropout2 = Dropout(dropout, generator: generator)
        self.activation = activation
        self.normFirst = normFirst
        super.init()
    }

    /// torch's child names: `self_attn`, `linear1`, `dropout`, `linear2`, `norm1`, `norm2`, `dropout1`, `dropout2`.
    public override var children: [(name: String, module: Module)] {
        [("self_attn", selfAttention), ("linear1", linear1), ("dropout", dropout), ("linear2", linear2),
         ("norm1", norm1), ("norm2", norm2), ("dropout1", dropout1), ("dropout2", dropout2)]
    }

    /// `[batch, seq, dModel] → [batch, seq, dModel]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, keyPaddingMask: nil, causal: false) }

    /// With `keyPaddingMask` `[batch, seq]` (nonzero = padding; torch's `src_key_padding_mask`) and
    /// `causal` (torch's `is_causal=True` with the square subsequent mask).
    public func callAsFunction(_ x: Tensor, keyPaddingMask: Tensor?, causal: Bool = false) -> Tensor {
        func sa(_ z: Tensor) -> Tensor { dropout1(selfAttention(z, keyPaddingMask: keyPaddingMask, causal: causal)) }
        func ff(_ z: Tensor) -> Tensor {
            let hidden = activation == .relu ? linear1(z, activation: .relu) : linear1(z).gelu()
            return dropout2(linear2(dropout(hidden)))
        }
        if normFirst {
            let h = x + sa(norm1(x))
            return h + ff(norm2(h))
        }
        let h = norm1(x + sa(x))
        return norm2(h + ff(h))
    }

    /// `TransformerEncoderLayer(d, heads, ff, act, pre/post-norm)`.
    package var summary: String {
        "TransformerEncoderLayer(\(linear1.inFeatures), \(selfAttention.numHeads) heads, ff \(linear1.outFeatures), \(activation), \(normFirst ? "pre-norm" : "post-norm"))"
    }
}

/// A stack of encoder blocks (like `torch.nn.TransformerEncoder`): `layers.0`, `layers.1`, … and an
/// optional final `norm`. Shapes: the blocks' (`[batch, seq, dModel]` in and out).
public final class TransformerEncoder: Module, Layer, SummarizableLayer {
    /// The blocks, applied in order.
    public let layers: [TransformerEncoderLayer]
    /// A LayerNorm after the last block (pre-norm stacks use one), or nil.
    public let norm: LayerNorm?

    /// The given blocks and final norm.
    public init(layers: [TransformerEncoderLayer], norm: LayerNorm? = nil) {
        precondition(!layers.isEmpty, "Neural: TransformerEncoder needs at least one layer")
        self.layers = layers
        self.norm = norm
        super.init()
    }

    /// `numLayers` blocks made by `makeLayer` (called once per block, so each has its own weights).
    public convenience init(numLayers: Int, norm: LayerNorm? = nil, makeLayer: () -> TransformerEncoderLayer) {
        self.init(layers: (0..<numLayers).map { _ in makeLayer() }, norm: norm)
    }

    /// `[batch, seq, dModel] → [batch, seq, dModel]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { callAsFunction(x, keyPaddingMask: nil, causal: false) }

    /// Every block with the same masks (see ``TransformerEncoderLayer``), then `norm`.
    public func callAsFunction(_ x: Tensor, keyPaddingMask: Tensor?, causal: Bool = false) -> Tensor {
        var h = x
        for layer in layers { h = layer(h, keyPaddingMask: keyPaddingMask, causal: causal) }
        return norm.map { $0(h) } ?? h
    }

    /// `TransformerEncoder(n layers)`.
    package var summary: String { "TransformerEncoder(\(layers.count) layers)" }
}

extension LayerKind {
    /// `encoder(h[,ff])`: a post-norm ``TransformerEncoderLayer`` with h heads and feed-forward
    /// width ff (default 4·E) on a `[seq, E]` running shape (torch's defaults otherwise: ReLU, dropout 0.1).
    static let encoder = LayerKind(name: "encoder", usage: "encoder(h,ff)", parameters: [EncoderToken.heads, EncoderToken.feedforward],
                                   form: "encoder(h,ff), h heads dividing the embedding width, ff the feed-forward width (default 4x)") { a in
        EncoderToken(heads: a.integer(EncoderToken.heads)!, feedforward: a.integer(EncoderToken.feedforward))
    }
}

/// `encoder(h[,ff])`.
struct EncoderToken: LayerToken, Equatable {
    /// h.
    static let heads = SpecParameter.size("heads", "number of attention heads", required: true)
    /// ff.
    static let feedforward = SpecParameter.size("ff", "feed-forward width")
    /// h.
    let heads: Int
    /// ff; nil: 4·E.
    let feedforward: Int?

    var description: String { "encoder(\(heads)" + (feedforward.map { ",\($0)" } ?? "") + ")" }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape
        guard s.count == 2 else {
            throw plan.error("\(plan.word) needs a [seq, embed] input but the running shape is \(LayerPlan.text(s))")
        }
        let e = s[1], h = heads, ff = feedforward ?? 4 * s[1]
        guard e % h == 0 else {
            throw plan.error("\(plan.spelling): the embedding width \(e) of the running shape \(LayerPlan.text(s)) doesn't split into \(h) heads",
                             hint: "the number of heads must divide the last dimension")
        }
        plan.add(s) { d, g in TransformerEncoderLayer(dModel: e, nHead: h, dimFeedforward: ff, dtype: d, generator: g) }
    }
}
