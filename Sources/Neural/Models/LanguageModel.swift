import Foundation

/// A next-token model over token ids: what `neural train` on text trains and `neural generate`
/// samples from. ``GPT`` and ``CharLSTM`` conform.
///
/// Token ids `[batch, seq]` (seq ≤ ``contextLength`` in training) → logits `[batch, seq, vocabulary]`,
/// the logits at position t scoring the token at t + 1.
public protocol LanguageModel: Layer {
    /// Token ids are in `0..<vocabularySize`.
    var vocabularySize: Int { get }
    /// The window length the model trains on (and, for a ``GPT``, the longest sequence it reads).
    var contextLength: Int { get }
    /// The spec form (`gpt(…)`, `charlstm(…)`) that checkpoints record as `neural.model`.
    var spec: String { get }
    /// Continues `prompt` (at least one token) by `count` tokens, calling `onToken` with each as it
    /// is chosen; `temperature` 0 is greedy, otherwise a draw from softmax(logits / temperature)
    /// among the `topK` largest logits (all when nil) with `generator`.
    func generate(prompt: [Int], count: Int, temperature: Double, topK: Int?, generator: RandomGenerator,
                  onToken: (Int) -> Void) -> [Int]
}

extension GPT: LanguageModel {
    /// The vocabulary of ``config``.
    public var vocabularySize: Int { config.vocabularySize }
    /// The context of ``config``.
    public var contextLength: Int { config.contextLength }
    /// `gpt(layers=…,heads=…,dim=…,context=…)`.
    public var spec: String { config.description }
}

/// Which text model a spec names, and its parsing: `gpt(…)` or `charlstm(…)`.
public enum LanguageModelSpec {
    /// Whether `text` is a spec of a ``LanguageModel`` (a GPT or a character LSTM).
    public static func isSpec(_ text: String) -> Bool { GPTConfig.isSpec(text) || CharLSTMConfig.isSpec(text) }

    /// The model `text` specifies, for `vocabularySize` tokens, initialised from `generator`.
    ///
    /// - Throws: ``GPTSpecError`` or ``CharLSTMSpecError`` naming the bad key or value; a
    ///   ``CharLSTMSpecError`` when `text` is neither form.
    public static func make(_ text: String, vocabularySize: Int, generator: RandomGenerator = .default) throws -> any LanguageModel {
        if GPTConfig.isSpec(text) { return GPT(try GPTConfig.parse(text, vocabularySize: vocabularySize), generator: generator) }
        if CharLSTMConfig.isSpec(text) {
            return CharLSTM(try CharLSTMConfig.parse(text, vocabularySize: vocabularySize), generator: generator)
        }
        throw CharLSTMSpecError("'\(text)' is not a text model spec; write e.g. \(GPTConfig(vocabularySize: 1).description) or \(CharLSTMConfig(vocabularySize: 1).description)")
    }

    /// The positive `key=value` integers of `name(key=v,…)` (spaces ignored, any case; none for
    /// the bare `name`) in order, or the message of the first problem (`kind` names the model in it).
    static func keyValues(_ text: String, name: String, kind: String, keys: [String], example: String) -> Result<[(String, Int)], SpecMessage> {
        let t = text.filter { !$0.isWhitespace }.lowercased()
        guard t == name || t.hasPrefix(name + "(") else { return .failure(SpecMessage("'\(text)' is not a \(kind) spec; write \(example)")) }
        guard t != name else { return .success([]) }
        guard t.hasSuffix(")") else { return .failure(SpecMessage("'\(text)': missing ')'; write \(example)")) }
        var pairs: [(String, Int)] = []
        for item in t.dropFirst(name.count + 1).dropLast().split(separator: ",", omittingEmptySubsequences: true) {
            let parts = item.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2 else { return .failure(SpecMessage("'\(text)': '\(item)' is not key=value; keys: \(keys.joined(separator: ", "))")) }
            guard let value = Int(parts[1]), value > 0 else {
                return .failure(SpecMessage("'\(text)': \(parts[0]) must be a positive integer, got '\(parts[1])'"))
            }
            guard keys.contains(String(parts[0])) else {
                return .failure(SpecMessage("'\(text)': unknown key '\(parts[0])'; keys: \(keys.joined(separator: ", "))"))
            }
            pairs.append((String(parts[0]), value))
        }
        return .success(pairs)
    }

    /// A spec problem's message.
    struct SpecMessage: Error { let text: String; init(_ text: String) { self.text = text } }
}
