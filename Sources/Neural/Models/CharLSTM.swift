import Foundation

/// The size of a ``CharLSTM``: vocabulary, embedding width, LSTM depth and width, training window.
///
/// Its spec form, `charlstm(hidden=256,layers=2,embed=64,context=128)`, is what `neural train --model`
/// takes and what checkpoints record (`neural.model`); the vocabulary comes from the data.
public struct CharLSTMConfig: Sendable, Equatable, CustomStringConvertible {
    /// Token ids are in `0..<vocabularySize`.
    public var vocabularySize: Int
    /// Hidden (and cell) state features of every LSTM layer.
    public var hiddenSize: Int
    /// Stacked LSTM layers.
    public var layers: Int
    /// Token embedding width (the first layer's input features).
    public var embedDim: Int
    /// The training window: backpropagation through time spans this many characters. Generation is
    /// not limited by it (the state carries on).
    public var contextLength: Int

    /// A configuration; a 2-layer, 256-wide LSTM over 64-wide embeddings and 128-character windows by default.
    public init(vocabularySize: Int, hiddenSize: Int = 256, layers: Int = 2, embedDim: Int = 64, contextLength: Int = 128) {
        self.vocabularySize = vocabularySize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.embedDim = embedDim
        self.contextLength = contextLength
    }

    /// The spec form, `charlstm(hidden=256,layers=2,embed=64,context=128)` (the vocabulary is not part of it).
    public var description: String { "charlstm(hidden=\(hiddenSize),layers=\(layers),embed=\(embedDim),context=\(contextLength))" }

    /// The spec keys, in their canonical order.
    public static let specKeys = ["hidden", "layers", "embed", "context"]

    /// Whether `text` is a character-LSTM spec (`charlstm`, `charlstm(...)`, any case).
    public static func isSpec(_ text: String) -> Bool {
        let t = text.filter { !$0.isWhitespace }.lowercased()
        return t == "charlstm" || t.hasPrefix("charlstm(")
    }

    /// Parses `charlstm(hidden=H,layers=L,embed=E,context=T)`; omitted keys keep their defaults
    /// (256, 2, 64, 128), spaces are ignored.
    ///
    /// - Throws: ``CharLSTMSpecError`` naming the unknown key or the value that is not a positive integer.
    public static func parse(_ text: String, vocabularySize: Int) throws(CharLSTMSpecError) -> CharLSTMConfig {
        var config = CharLSTMConfig(vocabularySize: vocabularySize)
        switch LanguageModelSpec.keyValues(text, name: "charlstm", kind: "character-LSTM", keys: specKeys,
                                           example: config.description) {
        case .failure(let message): throw CharLSTMSpecError(message.text)
        case .success(let pairs):
            for (key, value) in pairs {
                switch key {
                case "hidden": config.hiddenSize = value
                case "layers": config.layers = value
                case "embed": config.embedDim = value
                default: config.contextLength = value
                }
            }
        }
        return config
    }
}

/// A character-LSTM spec that does not parse: the message names the spec, the key or value and the fix.
public struct CharLSTMSpecError: Error, CustomStringConvertible, Sendable {
    /// What is wrong and how to write it.
    public let description: String
    init(_ message: String) { description = message }
}

/// A character-level LSTM language model: token ids `[batch, seq]` → embedding `[batch, seq, embed]`
/// → multi-layer ``LSTM`` (batch first, zero initial state) `[batch, seq, hidden]` → linear head →
/// next-token logits `[batch, seq, vocabulary]`.
///
/// Parameters: `embed.weight` `[vocabulary, embed]`, `lstm.weight_ih_l0` `[4·hidden, embed]`,
/// `lstm.weight_hh_lN`, `lstm.bias_ih_lN`, `lstm.bias_hh_lN` (torch's ``LSTM`` names), `head.weight`
/// `[vocabulary, hidden]`, `head.bias` — the `state_dict` of the torch module
/// `Embedding → LSTM(batch_first=True) → Linear` with children `embed`, `lstm`, `head`.
///
/// Generation (``generate(prompt:count:temperature:topK:generator:onToken:)``) carries the LSTM's
/// (h, c) from token to token: a new token costs one step of each layer, whatever the length so far.
///
/// ```swift
/// let model = CharLSTM(CharLSTMConfig(vocabularySize: 65, hiddenSize: 32, layers: 2, embedDim: 16, contextLength: 32))
/// let logits = model(Tensor(integers: [1, 2, 3, 4], shape: [1, 4]))     // [1, 4, 65]
/// let text = model.generate(prompt: [1, 2], count: 10, temperature: 0)   // greedy: 10 new ids
/// ```
public final class CharLSTM: Module, LanguageModel {
    /// The sizes.
    public let config: CharLSTMConfig
    /// `embed`: token embeddings `[vocabulary, embed]`.
    public let embed: Embedding
    /// `lstm`: embed → hidden, ``CharLSTMConfig/layers`` layers, batch first.
    public let lstm: LSTM
    /// `head`: hidden → vocabulary, with a bias.
    public let head: Linear

    /// A model of size `config`, initialised as torch initialises its modules (N(0, 1) embeddings,
    /// uniform ±1/√hidden LSTM parameters, uniform ±1/√fan-in head) from `generator`.
    public init(_ config: CharLSTMConfig, dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(config.vocabularySize > 0 && config.hiddenSize > 0 && config.layers > 0 && config.embedDim > 0 && config.contextLength > 0,
                     "Neural: CharLSTM needs positive sizes, got \(config) with vocabulary \(config.vocabularySize)")
        self.config = config
        embed = Embedding(config.vocabularySize, config.embedDim, dtype: dtype, generator: generator)
        lstm = LSTM(inputSize: config.embedDim, hiddenSize: config.hiddenSize, numLayers: config.layers, batchFirst: true,
                    dtype: dtype, generator: generator)
        head = Linear(config.hiddenSize, config.vocabularySize, dtype: dtype, generator: generator)
        super.init()
    }

    /// The children `embed`, `lstm`, `head`.
    public override var children: [(name: String, module: Module)] { [("embed", embed), ("lstm", lstm), ("head", head)] }

    /// The vocabulary of ``config``.
    public var vocabularySize: Int { config.vocabularySize }
    /// The training window of ``config``.
    public var contextLength: Int { config.contextLength }
    /// `charlstm(hidden=…,layers=…,embed=…,context=…)`.
    public var spec: String { config.description }

    /// Token ids `[batch, seq]` (int32 or int64) → logits `[batch, seq, vocabulary]`, from zero states.
    public func callAsFunction(_ ids: Tensor) -> Tensor { callAsFunction(ids, state: nil).logits }

    /// Token ids `[batch, seq]` → logits `[batch, seq, vocabulary]` and the LSTM's final state
    /// (h, c) `[layers, batch, hidden]`, starting from `state` (nil: zeros). Feeding a sequence in
    /// pieces, each with the state the previous piece returned, gives the logits of the whole.
    public func callAsFunction(_ ids: Tensor, state: (h: Tensor, c: Tensor)?) -> (logits: Tensor, state: (h: Tensor, c: Tensor)) {
        precondition(ids.rank == 2 && ids.dtype.isInteger && ids.shape[1] >= 1,
                     "Neural: CharLSTM takes integer token ids [batch, seq] with seq ≥ 1, got \(ids.dtype) \(ids.shape)")
        let (y, next) = lstm(embed(ids), initialState: state)
        return (head(y), next)
    }

    /// Continues `prompt` (token ids, at least one) by `count` tokens and returns the new ones,
    /// calling `onToken` with each as soon as it is chosen.
    ///
    /// - `temperature` 0: greedy (the first largest logit, as torch's `argmax`); otherwise a draw
    ///   from softmax(logits / temperature), restricted to the `topK` largest logits when given,
    ///   with `generator` (the same seed gives the same text).
    /// - The prompt runs through the LSTM once; each new token is then one step from the carried
    ///   state (O(1) per token; the text is not limited to ``contextLength``).
    public func generate(prompt: [Int], count: Int, temperature: Double = 1, topK: Int? = nil,
                         generator: RandomGenerator = .default, onToken: (Int) -> Void = { _ in }) -> [Int] {
        precondition(!prompt.isEmpty, "Neural: CharLSTM.generate needs a prompt of at least one token")
        precondition(temperature >= 0 && temperature.isFinite, "Neural: CharLSTM.generate temperature must be ≥ 0, got \(temperature)")
        precondition(topK.map { $0 > 0 } ?? true, "Neural: CharLSTM.generate topK must be positive, got \(topK!)")
        let wasTraining = isTraining
        eval()
        defer { if wasTraining { train() } }
        let dtype = head.weight.value.dtype
        var produced: [Int] = []
        produced.reserveCapacity(count)
        withNoGrad {
            var (logits, state) = self(Tensor(integers: prompt, shape: [1, prompt.count]), state: nil)
            for _ in 0..<count {
                let last = logits.select(axis: 1, logits.shape[1] - 1).reshaped([config.vocabularySize])
                let next = GPT.choose(last, temperature: temperature, topK: topK, generator: generator, dtype: dtype)
                produced.append(next)
                onToken(next)
                if produced.count == count { break }
                (logits, state) = self(Tensor(integers: [next], shape: [1, 1]), state: state)
            }
        }
        return produced
    }
}
