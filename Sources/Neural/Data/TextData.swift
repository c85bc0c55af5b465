import Foundation

/// Maps text to token ids and back: one id per Unicode scalar of a fixed vocabulary (a character
/// model, as nanoGPT's Shakespeare), or one id per UTF-8 byte (256 ids, any text).
///
/// ```swift
/// let tok = TextTokenizer(charactersOf: "hello world")      // vocabulary " dehlorw", sorted
/// let ids = try tok.encode("hold")                           // [3, 5, 4, 2]
/// tok.decode(ids)                                            // "hold"
/// ```
public enum TextTokenizer: Sendable, Equatable {
    /// One id per scalar of the vocabulary, in increasing scalar order (Python's `sorted(set(text))`).
    case characters([Unicode.Scalar])
    /// One id per UTF-8 byte: ids 0...255.
    case bytes

    /// The character tokenizer of `text`: its distinct Unicode scalars, sorted.
    public init(charactersOf text: String) {
        self = .characters(Set(text.unicodeScalars).sorted { $0.value < $1.value })
    }

    /// Ids: the vocabulary's size, or 256 bytes.
    public var vocabularySize: Int {
        switch self {
        case .characters(let v): return v.count
        case .bytes: return 256
        }
    }

    /// `"char"` or `"byte"`.
    public var kindName: String {
        if case .characters = self { return "char" }
        return "byte"
    }

    /// The ids of `text`.
    ///
    /// - Throws: ``TextTokenizerError`` naming the first character outside the vocabulary and its place.
    public func encode(_ text: String) throws(TextTokenizerError) -> [Int] {
        switch self {
        case .bytes:
            return text.utf8.map { Int($0) }
        case .characters(let vocabulary):
            var index: [UInt32: Int] = [:]
            for (i, s) in vocabulary.enumerated() { index[s.value] = i }
            var out: [Int] = []
            out.reserveCapacity(text.unicodeScalars.count)
            for (position, s) in text.unicodeScalars.enumerated() {
                guard let id = index[s.value] else { throw TextTokenizerError(scalar: s, position: position, vocabulary: vocabulary) }
                out.append(id)
            }
            return out
        }
    }

    /// The UTF-8 bytes of token `id` (one scalar, or one byte).
    public func utf8(of id: Int) -> [UInt8] {
        switch self {
        case .bytes: return [UInt8(truncatingIfNeeded: id)]
        case .characters(let v): return Array(String(Character(v[id])).utf8)
        }
    }

    /// The text of `ids` (bytes that do not form UTF-8 are replaced by U+FFFD).
    public func decode(_ ids: [Int]) -> String {
        String(decoding: ids.flatMap { utf8(of: $0) }, as: UTF8.self)
    }

    /// The form checkpoints store (`neural.tokenizer`): `{"kind":"char","vocabulary":"…"}` (the
    /// vocabulary as one string, in id order) or `{"kind":"byte"}`.
    public var json: String {
        struct Stored: Encodable { var kind: String; var vocabulary: String? }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var stored = Stored(kind: kindName, vocabulary: nil)
        if case .characters(let v) = self { stored.vocabulary = String(String.UnicodeScalarView(v)) }
        return String(decoding: (try? encoder.encode(stored)) ?? Data(), as: UTF8.self)
    }

    /// The tokenizer stored as ``json`` (nil when `text` is not that form).
    public init?(json text: String) {
        struct Stored: Decodable { var kind: String; var vocabulary: String? }
        guard let stored = try? JSONDecoder().decode(Stored.self, from: Data(text.utf8)) else { return nil }
        switch stored.kind {
        case "byte": self = .bytes
        case "char":
            guard let v = stored.vocabulary, !v.isEmpty else { return nil }
            let scalars = Array(v.unicodeScalars)
            guard zip(scalars, scalars.dropFirst()).allSatisfy({ $0.value < $1.value }) else { return nil }
            self = .characters(scalars)
        default: return nil
        }
    }
}

/// Text with a character outside a tokenizer's vocabulary.
public struct TextTokenizerError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The character.
    public let scalar: Unicode.Scalar
    /// Its place in the text (0-based, in Unicode scalars).
    public let position: Int
    /// The vocabulary.
    public let vocabulary: [Unicode.Scalar]

    /// Names the character (escaped), its place and the vocabulary.
    public var description: String {
        let shown = vocabulary.map { $0.escaped(asASCII: true) }.joined()
        return "character \(scalar.escaped(asASCII: true).debugDescription) at position \(position) is not in the model's vocabulary of \(vocabulary.count) characters (\(shown.prefix(120)))"
    }
}

/// A text corpus as token ids, split into a training part (the first `trainFraction`) and a
/// validation part (the rest), as nanoGPT and `../shared/peers/train_gpt_shakespeare.py` split it.
public struct TextCorpus: Sendable {
    /// The file name (e.g. `shakespeare.txt.gz`).
    public let name: String
    /// How the text became ids.
    public let tokenizer: TextTokenizer
    /// Every token id, in order.
    public let tokens: [Int32]
    /// The first `trainCount` tokens train; the rest validate.
    public let trainCount: Int

    /// The tokens of `text` with `tokenizer`, the first ⌊`trainFraction` · count⌋ for training.
    public init(text: String, name: String, tokenizer: TextTokenizer? = nil, trainFraction: Double = 0.9) throws(TextTokenizerError) {
        let tok = tokenizer ?? TextTokenizer(charactersOf: text)
        self.name = name
        self.tokenizer = tok
        self.tokens = try tok.encode(text).map { Int32($0) }
        self.trainCount = Int(Double(tokens.count) * trainFraction)
    }

    /// Loads a UTF-8 text file (gzip-compressed when it ends in `.gz` or starts with the gzip signature).
    ///
    /// - Parameters:
    ///   - path: the file (`.txt` or `.txt.gz`).
    ///   - bytes: a byte-level tokenizer instead of the file's character vocabulary.
    ///   - trainFraction: the leading share of the tokens that trains; the rest validates.
    /// - Throws: ``DataError`` naming the file: missing (`.missingFile`), not gzip (`.corruptCompression`),
    ///   empty or not UTF-8 (`.badValue`).
    public static func load(path: String, bytes: Bool = false, trainFraction: Double = 0.9) throws(DataError) -> TextCorpus {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw DataError(.missingFile, path: path, "cannot read it (\(error.localizedDescription)); check the path")
        }
        var raw = [UInt8](data)
        if path.hasSuffix(".gz") || Gzip.isGzip(raw) {
            do { raw = try Gzip.decompress(data, file: path) } catch let e as DataError { throw e } catch {
                throw DataError(.corruptCompression, path: path, "\(error)")
            }
        }
        guard !raw.isEmpty else { throw DataError(.badValue, path: path, "the text is empty; a language model needs text to learn from") }
        guard let text = String(validating: raw, as: UTF8.self) else {
            let at = firstInvalidUTF8(raw)
            throw DataError(.badValue, path: path, "is not UTF-8 text (invalid byte 0x\(String(raw[at], radix: 16)) at offset \(at)); convert it, e.g. iconv -t UTF-8")
        }
        do {
            return try TextCorpus(text: text, name: (path as NSString).lastPathComponent, tokenizer: bytes ? .bytes : nil,
                                  trainFraction: trainFraction)
        } catch {
            throw DataError(.badValue, path: path, error.description)   // unreachable: the vocabulary is the text's own
        }
    }

    /// The offset of the first byte where `bytes` stops being UTF-8 (by lead byte and continuation bytes).
    private static func firstInvalidUTF8(_ b: [UInt8]) -> Int {
        var i = 0
        while i < b.count {
            let c = b[i]
            let n = c < 0x80 ? 1 : c >> 5 == 0b110 ? 2 : c >> 4 == 0b1110 ? 3 : c >> 3 == 0b11110 ? 4 : 0
            if n == 0 || i + n > b.count { return i }
            for j in 1..<n where b[i + j] & 0xC0 != 0x80 { return i }
            i += n
        }
        return 0
    }

    /// The validation tokens' count.
    public var validationCount: Int { tokens.count - trainCount }
}

/// A batch of next-token windows: `inputs` `[batch, context]` ids (int64), `labels` the `batch · context`
/// next ids, row-major (position t of window b predicts label b · context + t).
public struct TextBatch: LabeledBatch, Sendable {
    /// Token ids `[batch, context]`, int64.
    public let inputs: Tensor
    /// The next token of every input position, `batch · context` ids.
    public let labels: [Int]?
    /// None (classification of the next token).
    public var targets: Tensor? { nil }

    /// The windows of `tokens` at `offsets`: inputs `tokens[o..<o + context]`, labels `tokens[o + 1...o + context]`.
    public init(tokens: [Int32], offsets: [Int], context: Int) {
        var ids = [Int](), next = [Int]()
        ids.reserveCapacity(offsets.count * context)
        next.reserveCapacity(offsets.count * context)
        for o in offsets {
            for t in 0..<context {
                ids.append(Int(tokens[o + t]))
                next.append(Int(tokens[o + t + 1]))
            }
        }
        inputs = Tensor(integers: ids, shape: [offsets.count, context])
        labels = next
    }
}

/// One epoch of training windows: `batches` batches of `batchSize` windows of `context + 1` tokens
/// at uniform random offsets in `tokens[range]`, drawn from a generator seeded by (seed, epoch), so
/// any epoch (and any batch of it) can be reproduced without stored state.
public struct TextWindows: Sequence, Sendable {
    /// The corpus tokens.
    public let tokens: [Int32]
    /// The part windows are drawn from (the training split).
    public let range: Range<Int>
    /// Input positions per window.
    public let context: Int
    /// Windows per batch.
    public let batchSize: Int
    /// Batches in this epoch.
    public let batches: Int
    /// The offsets of every window, batch after batch.
    public let offsets: [Int]
    /// The first batch to yield (a resumed epoch skips those already trained on).
    public let firstBatch: Int

    /// The epoch `epoch` (1-based) of a run seeded with `seed`; yields batches `firstBatch..<batches`.
    public init(tokens: [Int32], range: Range<Int>, context: Int, batchSize: Int, batches: Int, seed: UInt64, epoch: Int,
                firstBatch: Int = 0) {
        precondition(range.count > context + 1, "Neural: TextWindows needs more than \(context + 1) tokens, got \(range.count)")
        self.tokens = tokens
        self.range = range
        self.context = context
        self.batchSize = batchSize
        self.batches = batches
        self.firstBatch = firstBatch
        let g = RandomGenerator(seed: seed ^ (UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
        let span = range.count - context - 1   // offsets 0..<span: the last window ends at the range's last token
        offsets = (0..<(batches * batchSize)).map { _ in range.lowerBound + g.nextInt(below: span) }
    }

    /// `count` windows evenly spaced over `tokens[range]` (offsets as torch's
    /// `linspace(0, count - context - 2, count).long()` in float32), for a fixed validation set.
    public static func evenlySpacedOffsets(count: Int, range: Range<Int>, context: Int) -> [Int] {
        let end = Float(range.count - context - 2)
        guard count > 1 else { return [range.lowerBound] }
        let step = end / Float(count - 1), half = count / 2
        return (0..<count).map { i in
            let v = i < half ? step * Float(i) : end - step * Float(count - 1 - i)
            return range.lowerBound + Int(v)
        }
    }

    /// The batches.
    public func makeIterator() -> AnyIterator<TextBatch> {
        var b = firstBatch
        let (tokens, offsets, size, context, batches) = (self.tokens, self.offsets, batchSize, self.context, self.batches)
        return AnyIterator {
            guard b < batches else { return nil }
            defer { b += 1 }
            return TextBatch(tokens: tokens, offsets: Array(offsets[(b * size)..<((b + 1) * size)]), context: context)
        }
    }
}
