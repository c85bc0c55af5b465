import Foundation

/// BERT's WordPiece tokenizer: text to token ids exactly as Hugging Face's `BertTokenizerFast` (the
/// `tokenizers` library's `BertNormalizer`, `BertPreTokenizer` and `WordPiece`) gives them for a
/// `vocab.txt`, with `[CLS]`/`[SEP]`, truncation and padding.
///
/// The basic tokenizer cleans the text (drops U+0000, U+FFFD and control characters, turns whitespace
/// into spaces), makes each CJK ideograph a word, strips accents (NFD, then drops nonspacing marks)
/// and lower-cases when asked, and splits at whitespace and around every punctuation character. Each
/// word then becomes the longest vocabulary entries that cover it left to right, later pieces spelled
/// with `##`; a word with no such cover, or longer than 100 characters, is one `[UNK]`.
///
/// ```swift
/// let tokenizer = try WordPieceTokenizer(modelDirectory: "all-MiniLM-L6-v2")
/// tokenizer.tokenize("Héllo, wörld!")          // ["hello", ",", "world", "!"]
/// tokenizer.encode("Héllo, wörld!")            // [101, 7592, 1010, 2088, 999, 102]
/// let (ids, mask) = tokenizer.encodeBatch(["a b", "c"])   // int64 [2, 4] each; mask 1 on tokens, 0 on padding
/// ```
public struct WordPieceTokenizer: Sendable {
    /// The vocabulary's tokens and lookup tables.
    let vocabulary: WordPieceVocabulary
    /// Normalization and pre-tokenization.
    let basic: BasicTokenizer
    /// The longest sequence ``encode(_:)`` returns, `[CLS]` and `[SEP]` included.
    public let maxLength: Int
    /// The id of `[UNK]`, the piece for a word the vocabulary cannot spell.
    public let unknownID: Int
    /// The id of `[CLS]`, first in every encoded sequence.
    public let classifierID: Int
    /// The id of `[SEP]`, last in every encoded sequence.
    public let separatorID: Int
    /// The id of `[PAD]`, which fills ``encodeBatch(_:)``'s rows past their sequence's end.
    public let padID: Int
    /// Words longer than this many characters (Unicode scalars, after normalization) become `[UNK]`.
    public let maxCharactersPerWord = 100

    /// The number of ids: the vocabulary file's lines.
    public var vocabularySize: Int { vocabulary.tokens.count }

    /// A tokenizer for the vocabulary in `vocabularyFile` (one token a line; its id is its 0-based
    /// line number), which must hold `[UNK]`, `[CLS]`, `[SEP]` and `[PAD]`.
    ///
    /// - Parameters:
    ///   - vocabularyFile: the path of `vocab.txt`.
    ///   - lowercase: lower-case the text (uncased models such as all-MiniLM-L6-v2).
    ///   - stripAccents: drop accents (NFD, then nonspacing marks); `nil` does it when `lowercase` is set.
    ///   - tokenizeChineseChars: make each CJK ideograph a word of its own.
    ///   - maxLength: the longest ``encode(_:)`` result, `[CLS]` and `[SEP]` included (at least 2).
    /// - Throws: ``TokenizerError`` naming the file when it is missing, unreadable, not UTF-8 or lacks
    ///   a special token.
    public init(vocabularyFile: String, lowercase: Bool = true, stripAccents: Bool? = nil,
                tokenizeChineseChars: Bool = true, maxLength: Int = 256) throws {
        precondition(maxLength >= 2, "Neural: WordPieceTokenizer maxLength \(maxLength) leaves no room for [CLS] and [SEP] (at least 2)")
        let vocabulary = try WordPieceVocabulary(file: vocabularyFile)
        func special(_ token: String) throws -> Int {
            guard let id = vocabulary.id(of: token) else {
                throw TokenizerError(.missingToken, path: vocabularyFile,
                                     "has no \(token) token (a BERT vocabulary needs [UNK], [CLS], [SEP] and [PAD], one a line); is this a WordPiece vocab.txt?")
            }
            return id
        }
        self.vocabulary = vocabulary
        unknownID = try special("[UNK]")
        classifierID = try special("[CLS]")
        separatorID = try special("[SEP]")
        padID = try special("[PAD]")
        basic = BasicTokenizer(lowercase: lowercase, stripAccents: stripAccents ?? lowercase,
                               tokenizeChineseChars: tokenizeChineseChars)
        self.maxLength = maxLength
    }

    /// The tokenizer of a Hugging Face model folder: `vocab.txt`, the options of
    /// `tokenizer_config.json` (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars`,
    /// `model_max_length`; each optional, defaults true, null, true, 512) and, when present,
    /// sentence-transformers' `sentence_bert_config.json` `max_seq_length`, which takes precedence
    /// over `model_max_length` (256 for all-MiniLM-L6-v2).
    ///
    /// - Throws: ``TokenizerError`` naming the file that is missing, unreadable or malformed.
    public init(modelDirectory: String) throws {
        let directory = URL(fileURLWithPath: modelDirectory)
        let vocab = directory.appendingPathComponent("vocab.txt").path
        let tokenizerPath = directory.appendingPathComponent("tokenizer_config.json").path
        let sentencePath = directory.appendingPathComponent("sentence_bert_config.json").path
        let tokenizerConfig = try Self.config(tokenizerPath)
        let sentenceConfig = try Self.config(sentencePath)
        var maxLength = 512
        // Hugging Face writes a huge number (1e30) for "no limit"; keep 512 then.
        if let length = tokenizerConfig.model_max_length, length.rounded() == length, length >= 0, length < 1e9 {
            maxLength = Int(length)
        }
        if let length = sentenceConfig.max_seq_length { maxLength = length }
        guard maxLength >= 2 else {
            throw TokenizerError(.badConfig, path: sentenceConfig.max_seq_length != nil ? sentencePath : tokenizerPath,
                                 "maximum sequence length \(maxLength) leaves no room for [CLS] and [SEP]; it must be at least 2")
        }
        let lowercase = tokenizerConfig.do_lower_case ?? true
        let stripAccents = tokenizerConfig.strip_accents
        let chinese = tokenizerConfig.tokenize_chinese_chars ?? true
        try self.init(vocabularyFile: vocab, lowercase: lowercase, stripAccents: stripAccents,
                      tokenizeChineseChars: chinese, maxLength: maxLength)
    }

    /// The word pieces of `text`, without `[CLS]`, `[SEP]` or truncation: `"unaffable"` →
    /// `["una", "##ffa", "##ble"]`.
    public func tokenize(_ text: String) -> [String] {
        var ids = [Int32]()
        pieces(of: text, limit: Int.max, into: &ids)
        return ids.map { vocabulary.tokens[Int($0)] }
    }

    /// The ids of `text` as the model reads them: `[CLS]`, the word pieces (the first
    /// `maxLength - 2` of them), `[SEP]`.
    public func encode(_ text: String) -> [Int] {
        var ids = [Int32]()
        ids.reserveCapacity(64)
        pieces(of: text, limit: maxLength - 2, into: &ids)
        var result = [Int]()
        result.reserveCapacity(ids.count + 2)
        result.append(classifierID)
        for id in ids { result.append(Int(id)) }
        result.append(separatorID)
        return result
    }

    /// ``encode(_:)`` of each text, as a batch: `ids` (int64 `[n, T]`, `T` the longest encoding, rows
    /// padded with ``padID``) and `attentionMask` (int64 `[n, T]`, 1 on tokens, 0 on padding). No
    /// texts give two `[0, 0]` tensors.
    public func encodeBatch(_ texts: [String]) -> (ids: Tensor, attentionMask: Tensor) {
        let encoded = texts.map(encode)
        let width = encoded.map(\.count).max() ?? 0
        var ids = [Int64](repeating: Int64(padID), count: texts.count * width)
        var mask = [Int64](repeating: 0, count: texts.count * width)
        for (row, sequence) in encoded.enumerated() {
            for (column, id) in sequence.enumerated() {
                ids[row * width + column] = Int64(id)
                mask[row * width + column] = 1
            }
        }
        return (Tensor(integers: ids, shape: [texts.count, width]),
                Tensor(integers: mask, shape: [texts.count, width]))
    }

    /// The id of `token` (spelled as in the vocabulary file, `##` included), or nil.
    public func id(of token: String) -> Int? { vocabulary.id(of: token) }

    /// The token with id `id` (as written in the vocabulary file).
    ///
    /// - Precondition: `0 <= id < vocabularySize`.
    public func token(of id: Int) -> String {
        precondition(id >= 0 && id < vocabularySize, "Neural: token id \(id) is outside the vocabulary 0..<\(vocabularySize)")
        return vocabulary.tokens[id]
    }

    /// Appends the word-piece ids of `text` to `ids`, stopping once it holds `limit` of them.
    func pieces(of text: String, limit: Int, into ids: inout [Int32]) {
        var bytes = [UInt8](), words = [BasicTokenizer.Word]()
        bytes.reserveCapacity(text.utf8.count + 16)
        basic.split(text, bytes: &bytes, words: &words)
        bytes.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return }
            for word in words {
                if ids.count >= limit { return }
                wordPieces(base + word.start, word.count, characters: word.characters, into: &ids)
            }
        }
        if ids.count > limit { ids.removeLast(ids.count - limit) }
    }

    /// Appends the pieces of one word (`count` UTF-8 bytes at `word`): greedy longest match first,
    /// or one `[UNK]` when the word is too long or some position has no match.
    private func wordPieces(_ word: UnsafePointer<UInt8>, _ count: Int, characters: Int, into ids: inout [Int32]) {
        if characters > maxCharactersPerWord {
            ids.append(Int32(unknownID))
            return
        }
        let first = ids.count
        var start = 0
        // hashes[k]: the hash of bytes start..<start+k+1 (filled up to the word's end).
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: count) { hashes in
            while start < count {
                let table = start == 0 ? vocabulary.wordStarts : vocabulary.continuations
                var h = TokenTable.seed
                for k in 0..<(count - start) {
                    h = TokenTable.step(h, word[start + k])
                    hashes[k] = h
                }
                var end = count
                var found: Int32 = -1
                while end > start {
                    found = table.lookup(word + start, end - start, hash: hashes[end - start - 1])
                    if found >= 0 { break }
                    // Step back one character: skip UTF-8 continuation bytes.
                    end -= 1
                    while end > start && word[end] & 0xC0 == 0x80 { end -= 1 }
                }
                if found < 0 {
                    ids.removeLast(ids.count - first)
                    ids.append(Int32(unknownID))
                    return
                }
                ids.append(found)
                start = end
            }
        }
    }
}

extension WordPieceTokenizer {
    /// The fields of `tokenizer_config.json` and `sentence_bert_config.json` the tokenizer reads.
    struct Config: Decodable {
        var do_lower_case: Bool?
        var strip_accents: Bool?
        var tokenize_chinese_chars: Bool?
        /// A number: Hugging Face writes 1e30 for "no limit".
        var model_max_length: Double?
        var max_seq_length: Int?
    }

    /// Reads the JSON object in `path`; an absent file gives no fields.
    static func config(_ path: String) throws -> Config {
        guard FileManager.default.fileExists(atPath: path) else { return Config() }
        let data = try TokenizerError.readFile(path)
        do {
            return try JSONDecoder().decode(Config.self, from: data)
        } catch let DecodingError.typeMismatch(type, context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw TokenizerError(.badConfig, path: path, "field \"\(field)\" is not a \(type) (\(context.debugDescription))")
        } catch {
            throw TokenizerError(.badConfig, path: path, "is not a valid JSON object (\(error))")
        }
    }
}
