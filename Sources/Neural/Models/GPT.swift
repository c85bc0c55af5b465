import Foundation

/// The size of a ``GPT``: vocabulary, context, depth, heads and width.
///
/// Its spec form, `gpt(layers=4,heads=4,dim=128,context=128)`, is what `neural train --model`
/// takes and what checkpoints record (`neural.model`); the vocabulary comes from the data.
public struct GPTConfig: Sendable, Equatable, CustomStringConvertible {
    /// Token ids are in `0..<vocabularySize`.
    public var vocabularySize: Int
    /// The longest sequence (rows of `wpe`).
    public var contextLength: Int
    /// Transformer blocks.
    public var layers: Int
    /// Attention heads per block (must divide ``embedDim``).
    public var heads: Int
    /// The model width d.
    public var embedDim: Int

    /// A configuration; nanoGPT's character-level Shakespeare sizes by default.
    public init(vocabularySize: Int, contextLength: Int = 128, layers: Int = 4, heads: Int = 4, embedDim: Int = 128) {
        self.vocabularySize = vocabularySize
        self.contextLength = contextLength
        self.layers = layers
        self.heads = heads
        self.embedDim = embedDim
    }

    /// The spec form, `gpt(layers=4,heads=4,dim=128,context=128)` (the vocabulary is not part of it).
    public var description: String { "gpt(layers=\(layers),heads=\(heads),dim=\(embedDim),context=\(contextLength))" }

    /// The spec keys, in their canonical order.
    public static let specKeys = ["layers", "heads", "dim", "context"]

    /// Whether `text` is a GPT spec (`gpt`, `gpt(...)`, any case).
    public static func isSpec(_ text: String) -> Bool {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        return t == "gpt" || t.hasPrefix("gpt(")
    }

    /// Parses `gpt(layers=L,heads=H,dim=D,context=T)`; omitted keys keep their defaults (4, 4, 128,
    /// 128), spaces are ignored.
    ///
    /// - Throws: ``GPTSpecError`` naming the unknown key, the value that is not a positive integer,
    ///   or `dim` not divisible by `heads`.
    public static func parse(_ text: String, vocabularySize: Int) throws(GPTSpecError) -> GPTConfig {
        var config = GPTConfig(vocabularySize: vocabularySize)
        let example = "gpt(layers=4,heads=4,dim=128,context=128)"
        switch LanguageModelSpec.keyValues(text, name: "gpt", kind: "GPT", keys: specKeys, example: example) {
        case .failure(let message): throw GPTSpecError(message.text)
        case .success(let pairs):
            for (key, value) in pairs {
                switch key {
                case "layers": config.layers = value
                case "heads": config.heads = value
                case "dim": config.embedDim = value
                default: config.contextLength = value
                }
            }
        }
        guard config.embedDim % config.heads == 0 else {
            throw GPTSpecError("'\(text)': dim=\(config.embedDim) must be divisible by heads=\(config.heads)")
        }
        return config
    }

    /// Parameters: embeddings, 12d² + 13d per block, the final LayerNorm and the head.
    public var parameterCount: Int {
        let d = embedDim, v = vocabularySize
        return (v + contextLength) * d + layers * (12 * d * d + 13 * d) + 2 * d + d * v + v
    }
}

/// A GPT spec that does not parse: the message names the spec, the key or value and the fix.
public struct GPTSpecError: Error, CustomStringConvertible, Sendable {
    /// What is wrong and how to write it.
    public let description: String
    init(_ message: String) { description = message }
}

/// One pre-norm GPT block (GPT-2 layout): x + proj(attention(ln_1(x))), then x + MLP(ln_2(x)) with
/// an exact-GELU MLP `d → 4d → d`. Shapes `[batch, seq, d] → [batch, seq, d]`; attention is causal.
///
/// Parameters in the reference's names: `ln_1`, `attn_qkv` (`[3d, d]`: query, key and value rows),
/// `attn_proj` `[d, d]`, `ln_2`, `mlp_fc` `[4d, d]`, `mlp_proj` `[d, 4d]`, each Linear with a bias.
public final class GPTBlock: Module, Layer {
    /// `ln_1`, `ln_2`: LayerNorm over d (ε 1e-5).
    public let ln1: LayerNorm, ln2: LayerNorm
    /// `attn_qkv`: d → 3d; `attn_proj`: d → d.
    public let attnQKV: Linear, attnProj: Linear
    /// `mlp_fc`: d → 4d; `mlp_proj`: 4d → d.
    public let mlpFC: Linear, mlpProj: Linear
    /// Attention heads.
    public let heads: Int

    /// A block of width `dim` with `heads` heads (torch's default initialisation).
    public init(dim: Int, heads: Int, dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(dim > 0 && heads > 0 && dim % heads == 0, "Neural: GPTBlock(dim: \(dim), heads: \(heads)) needs dim divisible by heads")
        ln1 = LayerNorm(dim, dtype: dtype)
        attnQKV = Linear(dim, 3 * dim, dtype: dtype, generator: generator)
        attnProj = Linear(dim, dim, dtype: dtype, generator: generator)
        ln2 = LayerNorm(dim, dtype: dtype)
        mlpFC = Linear(dim, 4 * dim, dtype: dtype, generator: generator)
        mlpProj = Linear(4 * dim, dim, dtype: dtype, generator: generator)
        self.heads = heads
        super.init()
    }

    /// The reference's child names.
    public override var children: [(name: String, module: Module)] {
        [("ln_1", ln1), ("attn_qkv", attnQKV), ("attn_proj", attnProj), ("ln_2", ln2), ("mlp_fc", mlpFC), ("mlp_proj", mlpProj)]
    }

    /// `[batch, seq, d] → [batch, seq, d]`, causal.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        mlp(x + attnProj(attnQKV(ln1(x)).packedCausalSelfAttention(heads: heads)))
    }

    /// h + mlp_proj(gelu(mlp_fc(ln_2(h)))).
    private func mlp(_ h: Tensor) -> Tensor { h + mlpProj(mlpFC(ln2(h)).gelu()) }

    /// The block on `n` new positions `start..<start + n` of one sequence (`x` `[1, n, d]`), attending
    /// to the keys and values of the earlier positions in `cache` and adding its own to it.
    /// `start` is 0 (a prompt, causal) or `n` is 1 (one new token, which sees every cached key).
    func callAsFunction(_ x: Tensor, cache: GPTCache.Layer, start: Int) -> Tensor {
        let (n, d) = (x.shape[1], x.shape[2]), hd = d / heads
        let qkv = attnQKV(ln1(x)).contiguous()                       // [1, n, 3d]
        cache.store(qkv, start: start, count: n, dim: d)
        let q = qkv.reshaped([1, n, 3, heads, hd]).permuted([2, 0, 3, 1, 4]).select(axis: 0, 0)
        let (k, v) = cache.view(count: start + n, heads: heads)
        let y = scaledDotProductAttention(q, k, v, causal: start == 0)
        return mlp(x + attnProj(y.transposed(1, 2).reshaped([1, n, d])))
    }
}

/// A decoder-only Transformer language model (GPT-2 layout, as nanoGPT and
/// `../shared/peers/train_gpt_shakespeare.py`): token ids `[batch, seq]` → next-token logits
/// `[batch, seq, vocabulary]`.
///
/// x = wte(ids) + wpe(0..<seq); pre-norm ``GPTBlock``s; logits = head(ln_f(x)). Parameter names
/// are the reference's (`wte.weight`, `wpe.weight`, `blocks.N.{ln_1,attn_qkv,attn_proj,ln_2,mlp_fc,mlp_proj}.*`,
/// `ln_f.*`, `head.*`), so its `state_dict` moves to and from PyTorch with `strict=True`.
///
/// Generation (``generate(prompt:count:temperature:topK:generator:onToken:)``) keeps every block's
/// keys and values in a ``GPTCache``: a new token costs one block pass over one position, O(context).
///
/// ```swift
/// let gpt = GPT(GPTConfig(vocabularySize: 65, contextLength: 32, layers: 2, heads: 2, embedDim: 32))
/// let logits = gpt(Tensor(integers: [1, 2, 3, 4], shape: [1, 4]))        // [1, 4, 65]
/// let text = gpt.generate(prompt: [1, 2], count: 10, temperature: 0)      // greedy: 10 new ids
/// ```
public final class GPT: Module, Layer {
    /// The sizes.
    public let config: GPTConfig
    /// `wte`: token embeddings `[vocabulary, d]`; `wpe`: position embeddings `[context, d]`.
    public let wte: Embedding, wpe: Embedding
    /// `blocks.0`, `blocks.1`, …
    public let blocks: [GPTBlock]
    /// `ln_f`: the final LayerNorm.
    public let lnF: LayerNorm
    /// `head`: d → vocabulary, with a bias (untied from `wte`).
    public let head: Linear

    /// A model of size `config`, initialised as torch initialises the reference (N(0, 1)
    /// embeddings, uniform ±1/√fan-in Linear layers, unit LayerNorms) from `generator`.
    public init(_ config: GPTConfig, dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(config.vocabularySize > 0 && config.contextLength > 0 && config.layers > 0,
                     "Neural: GPT needs a positive vocabulary, context and layer count, got \(config) with vocabulary \(config.vocabularySize)")
        self.config = config
        wte = Embedding(config.vocabularySize, config.embedDim, dtype: dtype, generator: generator)
        wpe = Embedding(config.contextLength, config.embedDim, dtype: dtype, generator: generator)
        blocks = (0..<config.layers).map { _ in GPTBlock(dim: config.embedDim, heads: config.heads, dtype: dtype, generator: generator) }
        lnF = LayerNorm(config.embedDim, dtype: dtype)
        head = Linear(config.embedDim, config.vocabularySize, dtype: dtype, generator: generator)
        super.init()
    }

    /// The reference's child names.
    public override var children: [(name: String, module: Module)] {
        [("wte", wte), ("wpe", wpe)] + blocks.enumerated().map { ("blocks.\($0.offset)", $0.element) } + [("ln_f", lnF), ("head", head)]
    }

    /// Token ids `[batch, seq]` (int32 or int64, seq ≤ context) → logits `[batch, seq, vocabulary]`.
    public func callAsFunction(_ ids: Tensor) -> Tensor {
        checkIDs(ids)
        var x = wte(ids) + wpe.weight.value.slice(axis: 0, 0..<ids.shape[1])
        for block in blocks { x = block(x) }
        return head(lnF(x))
    }

    private func checkIDs(_ ids: Tensor) {
        precondition(ids.rank == 2 && ids.dtype.isInteger,
                     "Neural: GPT takes integer token ids [batch, seq], got \(ids.dtype) \(ids.shape)")
        precondition(ids.shape[1] >= 1 && ids.shape[1] <= config.contextLength,
                     "Neural: GPT got a sequence of \(ids.shape[1]) tokens; its context is 1...\(config.contextLength)")
    }

    /// The logits of `ids` (`[1, n]`, positions `cache.count..<cache.count + n`) through the cached
    /// blocks: `[1, n, vocabulary]`. Either the cache is empty (a prompt) or `n` is 1.
    public func callAsFunction(_ ids: Tensor, cache: GPTCache) -> Tensor {
        checkIDs(ids)
        let start = cache.count, n = ids.shape[1]
        precondition(ids.shape[0] == 1, "Neural: a GPTCache holds one sequence; got a batch of \(ids.shape[0])")
        precondition(start == 0 || n == 1, "Neural: after the prompt, a GPTCache takes one token at a time, got \(n)")
        precondition(start + n <= config.contextLength, "Neural: the GPTCache is full (\(start) of \(config.contextLength) positions); start a new one")
        precondition(cache.layers.count == blocks.count, "Neural: a GPTCache for \(cache.layers.count) blocks given to a GPT of \(blocks.count)")
        var x = wte(ids) + wpe.weight.value.slice(axis: 0, start..<(start + n))
        for (block, layer) in zip(blocks, cache.layers) { x = block(x, cache: layer, start: start) }
        cache.count = start + n
        return head(lnF(x))
    }

    /// Continues `prompt` (token ids, at least one) by `count` tokens and returns the new ones,
    /// calling `onToken` with each as soon as it is chosen.
    ///
    /// - `temperature` 0: greedy (the first largest logit, as torch's `argmax`); otherwise a draw
    ///   from softmax(logits / temperature), restricted to the `topK` largest logits when given,
    ///   with `generator` (the same seed gives the same text).
    /// - Within the context the keys and values of earlier positions are cached (a new token costs
    ///   O(context)); once the sequence is longer than the context, each new token sees the last
    ///   `context` tokens (re-encoded from position 0, as the reference's crop `idx[:, -context:]`).
    public func generate(prompt: [Int], count: Int, temperature: Double = 1, topK: Int? = nil,
                         generator: RandomGenerator = .default, onToken: (Int) -> Void = { _ in }) -> [Int] {
        precondition(!prompt.isEmpty, "Neural: GPT.generate needs a prompt of at least one token")
        precondition(temperature >= 0 && temperature.isFinite, "Neural: GPT.generate temperature must be ≥ 0, got \(temperature)")
        precondition(topK.map { $0 > 0 } ?? true, "Neural: GPT.generate topK must be positive, got \(topK!)")
        let wasTraining = isTraining
        eval()
        defer { if wasTraining { train() } }
        let context = config.contextLength, dtype = head.weight.value.dtype
        var sequence = prompt, produced: [Int] = []
        produced.reserveCapacity(count)
        withNoGrad {
            let cache = GPTCache(self)
            var logits = self(Self.ids(sequence.suffix(context)), cache: cache)
            for _ in 0..<count {
                let last = logits.select(axis: 1, logits.shape[1] - 1).reshaped([config.vocabularySize])
                let next = Self.choose(last, temperature: temperature, topK: topK, generator: generator, dtype: dtype)
                sequence.append(next)
                produced.append(next)
                onToken(next)
                if produced.count == count { break }
                if cache.count < context {
                    logits = self(Self.ids([next]), cache: cache)
                } else {
                    cache.count = 0
                    logits = self(Self.ids(sequence.suffix(context)), cache: cache)
                }
            }
        }
        return produced
    }

    private static func ids<C: Collection<Int>>(_ tokens: C) -> Tensor { Tensor(integers: Array(tokens), shape: [1, tokens.count]) }

    /// The next token from one row of logits `[vocabulary]`.
    static func choose(_ logits: Tensor, temperature: Double, topK: Int?, generator: RandomGenerator, dtype: DType) -> Int {
        if temperature == 0 {
            let values = logits.scalars(as: Double.self)
            var best = 0
            for (i, v) in values.enumerated() where v > values[best] || (values[best].isNaN && !v.isNaN) { best = i }
            return best
        }
        var scaled = logits / temperature
        if let topK { scaled = scaled.topKFiltered(topK) }
        return scaled.softmax().multinomial(numSamples: 1, generator: generator).scalars(as: Int.self)[0]
    }
}

/// The keys and values of one sequence's earlier positions in every block of a ``GPT`` (up to
/// its context), so that a new token attends to them instead of recomputing them.
public final class GPTCache {
    /// One block's keys and values, `[1, context, heads, headDim]` buffers, and their views.
    final class Layer {
        let keys: Tensor, values: Tensor

        init(context: Int, dim: Int, dtype: DType) {
            keys = .zeros([1, context, dim], dtype: dtype)
            values = .zeros([1, context, dim], dtype: dtype)
        }

        /// Copies the key and value columns of `qkv` (`[1, n, 3d]`, contiguous) into positions `start..<start + count`.
        func store(_ qkv: Tensor, start: Int, count: Int, dim d: Int) {
            func copy<T: TensorScalar>(_: T.Type) {
                let src = qkv.pointer(T.self), k = keys.pointer(T.self), v = values.pointer(T.self)
                for i in 0..<count {
                    (k + (start + i) * d).update(from: src + i * 3 * d + d, count: d)
                    (v + (start + i) * d).update(from: src + i * 3 * d + 2 * d, count: d)
                }
            }
            withExtendedLifetime(qkv) { qkv.dtype == .float64 ? copy(Double.self) : copy(Float.self) }
        }

        /// Keys and values of positions `0..<count` as `[1, heads, count, headDim]` views.
        func view(count: Int, heads: Int) -> (Tensor, Tensor) {
            let d = keys.shape[2]
            func split(_ t: Tensor) -> Tensor {
                t.slice(axis: 1, 0..<count).reshaped([1, count, heads, d / heads]).transposed(1, 2)
            }
            return (split(keys), split(values))
        }
    }

    let layers: [Layer]
    /// Positions held (the next token's position).
    public internal(set) var count = 0

    /// An empty cache for `model` (one sequence, up to its context length).
    public init(_ model: GPT) {
        let c = model.config
        layers = (0..<c.layers).map { _ in Layer(context: c.contextLength, dim: c.embedDim, dtype: model.head.weight.value.dtype) }
    }
}
