import Foundation

/// A BERT encoder (Hugging Face `transformers.BertModel`): word + position + token-type
/// embeddings, summed and layer-normalised, then ``BertConfig/numHiddenLayers`` post-norm
/// Transformer blocks, and optionally the `[CLS]` pooler.
///
/// Shapes: token ids `[batch, seq]` (integer), attention mask `[batch, seq]` (1 = token, 0 =
/// padding) → hidden states `[batch, seq, hidden]`.
///
/// The parameters carry Hugging Face's names and layouts (`embeddings.word_embeddings.weight`,
/// `encoder.layer.0.attention.self.query.weight`, …, `pooler.dense.weight`), so a BERT
/// `model.safetensors` loads strictly with ``load(safetensors:strict:)`` (which also accepts the
/// `bert.` prefix of checkpoints saved from a task model, and drops the `position_ids` buffer older
/// files hold). Attention runs fused (``scaledDotProductAttention(_:_:_:causal:keyPaddingMask:scale:)``)
/// with the padding as its key mask, so padded positions never influence real ones.
///
/// ```swift
/// let bert = try BertModel(modelDirectory: URL(fileURLWithPath: "all-MiniLM-L6-v2"))
/// let ids = Tensor(integers: [101, 7592, 2088, 102], shape: [1, 4])
/// let hidden = withNoGrad { bert(ids) }            // [1, 4, 384]
/// ```
public final class BertModel: Module {
    /// The sizes.
    public let config: BertConfig
    /// `embeddings.word_embeddings`: `[vocabSize, hidden]`.
    public let wordEmbeddings: Embedding
    /// `embeddings.position_embeddings`: `[maxPositionEmbeddings, hidden]`.
    public let positionEmbeddings: Embedding
    /// `embeddings.token_type_embeddings`: `[typeVocabSize, hidden]`.
    public let tokenTypeEmbeddings: Embedding
    /// `embeddings.LayerNorm`.
    public let embeddingNorm: LayerNorm
    /// `encoder.layer.N`.
    public let layers: [BertLayer]
    /// `pooler.dense` (applied with tanh to the `[CLS]` vector), or nil for a model without pooler.
    public let pooler: Linear?

    /// A model of `config`'s sizes. With a `generator`, weights are drawn as `transformers`
    /// initialises them (normal, σ = 0.02; biases zero; LayerNorms one and zero); without one
    /// (the default) every weight is zero, for weights loaded next.
    public init(config: BertConfig, pooler: Bool = true, generator: RandomGenerator? = nil) {
        self.config = config
        let e = config.hiddenSize
        func weight(_ shape: [Int]) -> Tensor {
            generator.map { Tensor.randn(shape, std: 0.02, generator: $0) } ?? .zeros(shape)
        }
        func linear(_ inF: Int, _ outF: Int) -> Linear { Linear(weight: weight([outF, inF]), bias: .zeros([outF])) }
        wordEmbeddings = Embedding(weight: weight([config.vocabSize, e]), paddingIndex: config.padTokenID < config.vocabSize ? config.padTokenID : nil)
        positionEmbeddings = Embedding(weight: weight([config.maxPositionEmbeddings, e]))
        tokenTypeEmbeddings = Embedding(weight: weight([config.typeVocabSize, e]))
        embeddingNorm = LayerNorm(e, eps: config.layerNormEps)
        layers = (0..<config.numHiddenLayers).map { _ in
            BertLayer(query: linear(e, e), key: linear(e, e), value: linear(e, e), heads: config.numAttentionHeads,
                      attentionOutput: linear(e, e), intermediate: linear(e, config.intermediateSize),
                      output: linear(config.intermediateSize, e), eps: config.layerNormEps)
        }
        self.pooler = pooler ? linear(e, e) : nil
        super.init()
        eval()
    }

    /// The BERT model of a Hugging Face folder: `config.json` (see
    /// ``BertConfig/init(modelDirectory:)``) and `model.safetensors` loaded strictly (with a pooler
    /// when the file has one). In evaluation mode.
    ///
    /// - Throws: ``ModelFolderError`` (folder, `config.json`, missing `model.safetensors`),
    ///   ``CheckpointError`` (a malformed file; missing, unexpected or mis-shaped tensors, all listed).
    public convenience init(modelDirectory: URL) throws {
        let config = try BertConfig(modelDirectory: modelDirectory)
        let weights = modelDirectory.appendingPathComponent("model.safetensors")
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw ModelFolderError(.missing, file: weights.path,
                                   "no such file; a Hugging Face model folder holds its weights in model.safetensors (PyTorch .bin files are not read): fetch the model again")
        }
        let names = try Checkpoint.load(from: weights, resumeState: false).renamingKeys(BertModel.renaming).tensors.keys
        self.init(config: config, pooler: names.contains("pooler.dense.weight"))
        try load(safetensors: weights)
    }

    /// What ``load(safetensors:strict:)`` does to a Hugging Face BERT file's keys: drops a leading
    /// `bert.` (checkpoints of task models) and the `embeddings.position_ids` buffer, and renames
    /// the `gamma`/`beta` of old TensorFlow conversions to `weight`/`bias`.
    public static let renaming: [KeyRenaming] = [
        KeyRenaming("^bert\\.", ""),
        .drop("^embeddings\\.position_ids$"),
        KeyRenaming("LayerNorm\\.gamma$", "LayerNorm.weight"),
        KeyRenaming("LayerNorm\\.beta$", "LayerNorm.bias"),
    ]

    /// Loads a Hugging Face BERT `model.safetensors` with ``renaming``, strictly by default (every
    /// missing, unexpected or mis-shaped tensor listed in one ``CheckpointError``).
    @discardableResult
    public func load(safetensors url: URL, strict: Bool = true) throws(CheckpointError) -> Checkpoint.ApplyReport {
        try load(safetensors: url, renaming: BertModel.renaming, strict: strict)
    }

    /// Hugging Face's names: `embeddings.*`, `encoder.layer.N`, `pooler.dense`.
    public override var children: [(name: String, module: Module)] {
        var out: [(name: String, module: Module)] = [
            ("embeddings.word_embeddings", wordEmbeddings), ("embeddings.position_embeddings", positionEmbeddings),
            ("embeddings.token_type_embeddings", tokenTypeEmbeddings), ("embeddings.LayerNorm", embeddingNorm),
        ]
        out += layers.enumerated().map { ("encoder.layer.\($0.offset)", $0.element) }
        if let pooler { out.append(("pooler.dense", pooler)) }
        return out
    }

    /// The hidden states `[batch, seq, hidden]` of token ids `[batch, seq]`.
    ///
    /// - Parameters:
    ///   - ids: integer token ids `[batch, seq]`, each in `0..<vocabSize`; `seq` at most `maxPositionEmbeddings`.
    ///   - attentionMask: `[batch, seq]`, nonzero for tokens and zero for padding (Hugging Face's
    ///     `attention_mask`); nil: every position is a token.
    ///   - tokenTypeIDs: `[batch, seq]` segment ids; nil: all zero.
    public func callAsFunction(_ ids: Tensor, attentionMask: Tensor? = nil, tokenTypeIDs: Tensor? = nil) -> Tensor {
        precondition(ids.rank == 2, "Neural: BertModel needs token ids [batch, seq], got shape \(ids.shape)")
        let (b, t) = (ids.shape[0], ids.shape[1])
        precondition(t <= config.maxPositionEmbeddings,
                     "Neural: BertModel takes at most \(config.maxPositionEmbeddings) tokens per sequence, got \(t) (ids \(ids.shape))")
        for (name, m) in [("attentionMask", attentionMask), ("tokenTypeIDs", tokenTypeIDs)] {
            if let m { precondition(m.shape == [b, t], "Neural: BertModel \(name) has shape \(m.shape); expected the ids' [\(b), \(t)]") }
        }
        let positions = Tensor(integers: Array(0..<t), shape: [t])
        let types = tokenTypeIDs ?? Tensor(integers: [Int](repeating: 0, count: b * t), shape: [b, t])
        var h = embeddingNorm(wordEmbeddings(ids) + positionEmbeddings(positions) + tokenTypeEmbeddings(types))
        let padding = attentionMask.map { Tensor(integers: $0.scalars(as: Double.self).map { $0 == 0 ? 1 : 0 }, shape: [b, t]) }
        for layer in layers { h = layer(h, keyPaddingMask: padding) }
        return h
    }

    /// The pooler's output tanh(W h[CLS] + b) `[batch, hidden]` of hidden states `[batch, seq, hidden]`.
    public func pooled(_ hidden: Tensor) -> Tensor {
        guard let pooler else { preconditionFailure("Neural: this BertModel has no pooler (its checkpoint had no pooler.dense)") }
        return pooler(hidden.select(axis: 1, 0)).tanh()
    }
}

/// One BERT block (`encoder.layer.N`), post-norm:
///
///     a = LayerNorm(x + dense(attention(query(x), key(x), value(x))))
///     y = LayerNorm(a + output(GELU(intermediate(a))))
///
/// `[batch, seq, hidden] → [batch, seq, hidden]`, with Hugging Face's names: `attention.self.query`,
/// `attention.self.key`, `attention.self.value`, `attention.output.dense`,
/// `attention.output.LayerNorm`, `intermediate.dense`, `output.dense`, `output.LayerNorm`.
public final class BertLayer: Module {
    /// `attention.self.query`, `.key`, `.value`: `hidden → hidden`.
    public let query: Linear, key: Linear, value: Linear
    /// `attention.output.dense`: `hidden → hidden`.
    public let attentionOutput: Linear
    /// `attention.output.LayerNorm`.
    public let attentionNorm: LayerNorm
    /// `intermediate.dense`: `hidden → intermediate` (followed by the exact GELU).
    public let intermediate: Linear
    /// `output.dense`: `intermediate → hidden`.
    public let output: Linear
    /// `output.LayerNorm`.
    public let outputNorm: LayerNorm
    /// Attention heads.
    public let heads: Int

    /// A block of the given projections; the LayerNorms start at one and zero.
    init(query: Linear, key: Linear, value: Linear, heads: Int, attentionOutput: Linear, intermediate: Linear,
         output: Linear, eps: Double) {
        self.query = query
        self.key = key
        self.value = value
        self.heads = heads
        self.attentionOutput = attentionOutput
        self.attentionNorm = LayerNorm(attentionOutput.outFeatures, eps: eps)
        self.intermediate = intermediate
        self.output = output
        self.outputNorm = LayerNorm(output.outFeatures, eps: eps)
        super.init()
    }

    /// Hugging Face's names.
    public override var children: [(name: String, module: Module)] {
        [("attention.self.query", query), ("attention.self.key", key), ("attention.self.value", value),
         ("attention.output.dense", attentionOutput), ("attention.output.LayerNorm", attentionNorm),
         ("intermediate.dense", intermediate), ("output.dense", output), ("output.LayerNorm", outputNorm)]
    }

    /// `[batch, seq, hidden] → [batch, seq, hidden]`; `keyPaddingMask` `[batch, seq]` nonzero at padding.
    public func callAsFunction(_ x: Tensor, keyPaddingMask: Tensor? = nil) -> Tensor {
        let (b, t, e) = (x.shape[0], x.shape[1], x.shape[2])
        func heads(_ p: Linear) -> Tensor { p(x).reshaped([b, t, self.heads, e / self.heads]).transposed(1, 2) }
        let o = scaledDotProductAttention(heads(query), heads(key), heads(value), keyPaddingMask: keyPaddingMask)
        let a = attentionNorm(x + attentionOutput(o.transposed(1, 2).reshaped([b, t, e])))
        return outputNorm(a + output(intermediate.gelu(a)))
    }
}

extension SentencePooling {
    /// One vector per sequence, `[batch, hidden]`, from hidden states `[batch, seq, hidden]` and the
    /// attention mask `[batch, seq]` (nonzero = token): the mean, `[CLS]` or max as ``mode`` says
    /// (sentence-transformers' `Pooling`), then scaled to unit L2 norm when ``normalize``
    /// (`Normalize`: x / max(‖x‖, 1e-12)).
    public func callAsFunction(_ hidden: Tensor, attentionMask: Tensor) -> Tensor {
        precondition(hidden.rank == 3 && attentionMask.shape == Array(hidden.shape.prefix(2)),
                     "Neural: SentencePooling needs hidden [batch, seq, hidden] and mask [batch, seq], got \(hidden.shape) and \(attentionMask.shape)")
        let mask = attentionMask.to(hidden.dtype).unsqueezed(2)                       // [b, t, 1]
        var v: Tensor
        switch mode {
        case .mean:
            let counts = Tensor.maximum(mask.sum(axis: 1), Tensor(1e-9, dtype: hidden.dtype))   // [b, 1]
            v = (hidden * mask).sum(axis: 1) / counts
        case .cls:
            v = hidden.select(axis: 1, 0)
        case .max:
            v = (hidden - (1 - mask) * 1e9).max(axis: 1)                              // sentence-transformers' −1e9 fill
        }
        if normalize {
            let norm = Tensor.maximum((v * v).sum(axis: 1, keepDims: true).sqrt(), Tensor(1e-12, dtype: v.dtype))
            v = v / norm
        }
        return v
    }
}
