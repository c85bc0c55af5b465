import Foundation

/// A Hugging Face model folder that cannot be used: the folder or a file in it is missing, a file
/// does not parse, or it describes a model Neural does not run. The message names the file, the
/// field and the fix.
public struct ModelFolderError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The kind of failure.
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// The folder, or a file it must hold, does not exist or cannot be read.
        case missing
        /// A file is not valid JSON, or a field has the wrong type or an impossible value.
        case malformed
        /// The folder holds a model (or a part of one) that Neural does not implement.
        case unsupported
    }

    /// The kind of failure.
    public let kind: Kind
    /// The file (or folder) involved, as a path.
    public let file: String
    /// The JSON field at fault, when there is one.
    public let field: String?
    /// What went wrong and how to fix it.
    public let message: String

    /// An error of `kind` about `file` and `field`, explained by `message`.
    package init(_ kind: Kind, file: String, field: String? = nil, _ message: String) {
        self.kind = kind
        self.file = file
        self.field = field
        self.message = message
    }

    /// `FILE: FIELD: message`.
    public var description: String { ([file] + (field.map { [$0] } ?? []) + [message]).joined(separator: ": ") }
}

/// Reading the JSON files of a model folder, with errors that name the file and field.
package struct ModelFolder: Sendable {
    /// The folder.
    package let url: URL

    /// The folder at `url`, which must exist and be a folder.
    ///
    /// - Throws: ``ModelFolderError`` (`.missing`).
    package init(_ url: URL) throws(ModelFolderError) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ModelFolderError(.missing, file: url.path,
                                   "no such folder; pass a Hugging Face model folder (config.json, model.safetensors, vocab.txt), e.g. the one Scripts/fetch_minilm.sh prints")
        }
        guard isDirectory.boolValue else {
            throw ModelFolderError(.missing, file: url.path, "is a file, not a folder; pass the folder that holds config.json and model.safetensors")
        }
        self.url = url
    }

    /// `name` inside the folder.
    package func file(_ name: String) -> URL { url.appendingPathComponent(name) }

    /// Whether `name` exists in the folder.
    package func has(_ name: String) -> Bool { FileManager.default.fileExists(atPath: file(name).path) }

    /// The JSON value in `name`, or nil when the file is absent and `required` is false.
    ///
    /// - Throws: ``ModelFolderError``: `.missing` (a required file), `.malformed` (not JSON).
    package func value(_ name: String, required: Bool = true, what: String) throws(ModelFolderError) -> JSONValue? {
        let path = file(name).path
        guard let data = FileManager.default.contents(atPath: path) else {
            if !required && !FileManager.default.fileExists(atPath: path) { return nil }
            throw ModelFolderError(.missing, file: path,
                                   FileManager.default.fileExists(atPath: path)
                                   ? "cannot be read; check its permissions"
                                   : "no such file; a Hugging Face model folder holds \(what); pass such a folder or fetch the model again")
        }
        guard let value = try? JSONDecoder().decode(JSONValue.self, from: data) else {
            throw ModelFolderError(.malformed, file: path, "is not valid JSON; fetch the model again")
        }
        return value
    }

    /// The JSON object in `name`, or nil when the file is absent and `required` is false.
    ///
    /// - Throws: ``ModelFolderError``: `.missing` (a required file), `.malformed` (not a JSON object).
    package func json(_ name: String, required: Bool = true, what: String) throws(ModelFolderError) -> JSONFields? {
        guard let value = try value(name, required: required, what: what) else { return nil }
        guard case .object(let fields) = value else {
            throw ModelFolderError(.malformed, file: file(name).path, "holds \(value), not a JSON object; fetch the model again")
        }
        return JSONFields(fields: fields, file: file(name).path)
    }
}

/// A JSON value, decoded strictly (a Boolean is never a number).
package enum JSONValue: Decodable, Sendable, Equatable, CustomStringConvertible {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    package init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else if let s = try? c.decode(String.self) { self = .string(s) }
        else if let a = try? c.decode([JSONValue].self) { self = .array(a) }
        else { self = .object(try c.decode([String: JSONValue].self)) }
    }

    /// The value as JSON-like text, for messages (long values shortened).
    package var description: String {
        let text: String
        switch self {
        case .null: text = "null"
        case .bool(let b): text = String(b)
        case .number(let n): text = n.rounded() == n && abs(n) < 1e15 ? String(Int(n)) : String(n)
        case .string(let s): text = "\"\(s)\""
        case .array(let a): text = "[" + a.map(\.description).joined(separator: ", ") + "]"
        case .object(let o): text = "{" + o.keys.sorted().map { "\"\($0)\": \(o[$0]!)" }.joined(separator: ", ") + "}"
        }
        return text.count > 80 ? String(text.prefix(77)) + "..." : text
    }
}

/// The fields of one JSON object, read with errors naming the file and field.
package struct JSONFields: Sendable {
    /// The object's fields.
    package let fields: [String: JSONValue]
    /// The file it came from.
    package let file: String

    /// Whether `key` is present and not null.
    package func has(_ key: String) -> Bool { fields[key].map { $0 != .null } ?? false }

    /// An error about `key`.
    package func error(_ key: String, _ message: String, kind: ModelFolderError.Kind = .malformed) -> ModelFolderError {
        ModelFolderError(kind, file: file, field: key, message)
    }

    /// The integer `key` (`fallback` when absent), at least `minimum`.
    package func int(_ key: String, _ fallback: Int?, minimum: Int = 1) throws(ModelFolderError) -> Int {
        guard has(key) else {
            if let fallback { return fallback }
            throw error(key, "missing; it must be an integer ≥ \(minimum)")
        }
        guard case .number(let n) = fields[key]!, let v = Int(exactly: n), v >= minimum else {
            throw error(key, "is \(fields[key]!), not an integer ≥ \(minimum); fix the file or fetch the model again")
        }
        return v
    }

    /// The number `key` (`fallback` when absent), positive.
    package func positive(_ key: String, _ fallback: Double) throws(ModelFolderError) -> Double {
        guard has(key) else { return fallback }
        guard case .number(let n) = fields[key]!, n > 0, n.isFinite else {
            throw error(key, "is \(fields[key]!), not a positive number; fix the file or fetch the model again")
        }
        return n
    }

    /// The string `key` (`fallback` when absent; nil fallback: required).
    package func string(_ key: String, _ fallback: String?) throws(ModelFolderError) -> String {
        guard has(key) else {
            if let fallback { return fallback }
            throw error(key, "missing; it must be a string")
        }
        guard case .string(let s) = fields[key]! else {
            throw error(key, "is \(fields[key]!), not a string; fix the file or fetch the model again")
        }
        return s
    }

    /// The Boolean `key` (`fallback` when absent).
    package func bool(_ key: String, _ fallback: Bool) throws(ModelFolderError) -> Bool {
        guard has(key) else { return fallback }
        guard case .bool(let b) = fields[key]! else {
            throw error(key, "is \(fields[key]!), not true or false; fix the file or fetch the model again")
        }
        return b
    }
}

/// The sizes of a BERT encoder, from a Hugging Face `config.json` (`transformers.BertConfig`).
///
/// all-MiniLM-L6-v2's: vocabulary 30522, 512 positions, 2 token types, hidden 384, 6 layers, 12
/// heads, feed-forward 1536, exact GELU, LayerNorm ε 1e-12.
public struct BertConfig: Sendable, Equatable {
    /// `vocab_size`: token ids lie in `0..<vocabSize`.
    public var vocabSize: Int
    /// `hidden_size`: the width of every token's vector.
    public var hiddenSize: Int
    /// `num_hidden_layers`.
    public var numHiddenLayers: Int
    /// `num_attention_heads` (dividing `hiddenSize`).
    public var numAttentionHeads: Int
    /// `intermediate_size`: the feed-forward width.
    public var intermediateSize: Int
    /// `max_position_embeddings`: the longest sequence.
    public var maxPositionEmbeddings: Int
    /// `type_vocab_size`: the number of token types (segments).
    public var typeVocabSize: Int
    /// `layer_norm_eps`.
    public var layerNormEps: Double
    /// `pad_token_id`.
    public var padTokenID: Int

    /// A configuration (the defaults are `transformers.BertConfig`'s, bert-base).
    public init(vocabSize: Int = 30522, hiddenSize: Int = 768, numHiddenLayers: Int = 12, numAttentionHeads: Int = 12,
                intermediateSize: Int = 3072, maxPositionEmbeddings: Int = 512, typeVocabSize: Int = 2,
                layerNormEps: Double = 1e-12, padTokenID: Int = 0) {
        precondition(hiddenSize > 0 && numAttentionHeads > 0 && hiddenSize % numAttentionHeads == 0,
                     "Neural: BertConfig hiddenSize \(hiddenSize) must split into numAttentionHeads \(numAttentionHeads) heads")
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numHiddenLayers = numHiddenLayers
        self.numAttentionHeads = numAttentionHeads
        self.intermediateSize = intermediateSize
        self.maxPositionEmbeddings = maxPositionEmbeddings
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.padTokenID = padTokenID
    }

    /// The configuration in `config.json` of the model folder `modelDirectory`. Absent fields take
    /// `transformers`' defaults; `model_type` must be `"bert"`, `hidden_act` `"gelu"` and
    /// `position_embedding_type` `"absolute"` (when present).
    ///
    /// - Throws: ``ModelFolderError``: `.missing` (no folder, no `config.json`), `.malformed` (not
    ///   JSON, a field of the wrong type), `.unsupported` (not a BERT model, another activation or
    ///   position embedding), each naming the file, the field and the fix.
    public init(modelDirectory: URL) throws(ModelFolderError) {
        let folder = try ModelFolder(modelDirectory)
        let c = try folder.json("config.json", what: "config.json beside model.safetensors")!
        let type = try c.string("model_type", nil)
        guard type == "bert" else {
            throw c.error("model_type", "is \"\(type)\", not \"bert\"; Neural loads BERT encoders (such as sentence-transformers/all-MiniLM-L6-v2): pass a BERT model's folder",
                          kind: .unsupported)
        }
        let activation = try c.string("hidden_act", "gelu")
        guard activation == "gelu" else {
            throw c.error("hidden_act", "is \"\(activation)\"; only \"gelu\" (the exact, erf GELU) is supported: pass a model that uses it", kind: .unsupported)
        }
        let positions = try c.string("position_embedding_type", "absolute")
        guard positions == "absolute" else {
            throw c.error("position_embedding_type", "is \"\(positions)\"; only \"absolute\" is supported: pass a model that uses it", kind: .unsupported)
        }
        let hidden = try c.int("hidden_size", 768), heads = try c.int("num_attention_heads", 12)
        guard hidden % heads == 0 else {
            throw c.error("num_attention_heads", "is \(heads), which does not divide hidden_size \(hidden); fix the file or fetch the model again")
        }
        self.init(vocabSize: try c.int("vocab_size", 30522), hiddenSize: hidden, numHiddenLayers: try c.int("num_hidden_layers", 12),
                  numAttentionHeads: heads, intermediateSize: try c.int("intermediate_size", 3072),
                  maxPositionEmbeddings: try c.int("max_position_embeddings", 512), typeVocabSize: try c.int("type_vocab_size", 2),
                  layerNormEps: try c.positive("layer_norm_eps", 1e-12), padTokenID: try c.int("pad_token_id", 0, minimum: 0))
    }
}

/// How a sentence-transformers model turns token vectors into one sentence vector: its
/// `modules.json` (Transformer, Pooling, optionally Normalize), `1_Pooling/config.json` and
/// `sentence_bert_config.json`.
public struct SentencePooling: Sendable, Equatable {
    /// How token vectors are combined.
    public enum Mode: String, Sendable, Equatable {
        /// The mean over the tokens the attention mask keeps (`pooling_mode_mean_tokens`).
        case mean
        /// The first token's vector, `[CLS]` (`pooling_mode_cls_token`).
        case cls
        /// The elementwise maximum over the kept tokens (`pooling_mode_max_tokens`).
        case max
    }

    /// The pooling.
    public var mode: Mode
    /// Whether the pooled vector is scaled to unit L2 norm (a `Normalize` module).
    public var normalize: Bool
    /// The longest input in word pieces (`max_seq_length`); longer inputs are truncated.
    public var maxSequenceLength: Int

    /// A pooling.
    public init(mode: Mode = .mean, normalize: Bool = true, maxSequenceLength: Int = 256) {
        self.mode = mode
        self.normalize = normalize
        self.maxSequenceLength = maxSequenceLength
    }

    /// The pooling a sentence-transformers folder describes. Without `modules.json` (a plain
    /// Hugging Face model), mean pooling without normalisation, as sentence-transformers does;
    /// `maxSequenceLength` is `max_seq_length` of `sentence_bert_config.json`, else `maxPositions`.
    ///
    /// - Throws: ``ModelFolderError``: `.malformed` or `.unsupported` (a module other than
    ///   Transformer, Pooling and Normalize, or a pooling other than one of mean, CLS and max).
    public init(modelDirectory: URL, maxPositions: Int) throws(ModelFolderError) {
        let folder = try ModelFolder(modelDirectory)
        var mode = Mode.mean, normalize = false
        let modulesPath = folder.file("modules.json").path
        if let value = try folder.value("modules.json", required: false, what: "modules.json") {
            guard case .array(let items) = value else {
                throw ModelFolderError(.malformed, file: modulesPath, "is not a JSON list of modules; fetch the model again")
            }
            let list = items.map { item -> [String: JSONValue] in if case .object(let o) = item { return o } else { return [:] } }
            for (i, m) in list.enumerated() {
                func text(_ key: String) -> String { if case .string(let s)? = m[key] { return s } else { return "" } }
                let type = text("type"), path = text("path")
                switch type.split(separator: ".").last.map(String.init) ?? "" {
                case "Transformer": continue
                case "Normalize": normalize = true
                case "Pooling":
                    let p = try folder.json(path + "/config.json", what: "\(path)/config.json for the Pooling module of modules.json")!
                    let modes: [(String, Mode)] = [("pooling_mode_mean_tokens", .mean), ("pooling_mode_cls_token", .cls),
                                                   ("pooling_mode_max_tokens", .max)]
                    var chosen: [Mode] = []
                    for (key, m) in modes where try p.bool(key, false) { chosen.append(m) }
                    for key in ["pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"]
                    where try p.bool(key, false) {
                        throw p.error(key, "is true; Neural pools by mean, CLS token or max only: pass a model that does", kind: .unsupported)
                    }
                    guard chosen.count == 1 else {
                        throw ModelFolderError(.unsupported, file: p.file,
                                               "sets \(chosen.count) pooling modes; Neural needs exactly one of pooling_mode_mean_tokens, pooling_mode_cls_token, pooling_mode_max_tokens")
                    }
                    mode = chosen[0]
                default:
                    throw ModelFolderError(.unsupported, file: modulesPath, field: "[\(i)].type",
                                           "is \"\(type)\"; Neural runs Transformer, Pooling and Normalize modules only: pass a model made of those")
                }
            }
        }
        var length = maxPositions
        if let s = try folder.json("sentence_bert_config.json", required: false, what: "sentence_bert_config.json") {
            length = Swift.min(try s.int("max_seq_length", maxPositions), maxPositions)
        }
        self.init(mode: mode, normalize: normalize, maxSequenceLength: length)
    }
}
