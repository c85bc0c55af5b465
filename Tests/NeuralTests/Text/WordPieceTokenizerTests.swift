import Foundation
import Neural
import Testing

/// all-MiniLM-L6-v2's folder as `Scripts/fetch_minilm.sh` leaves it (`$NEURAL_MODEL_CACHE` or the
/// repository's `.cache/models`), or nil when it has not been fetched.
enum MiniLMFolder {
    static let path: String? = {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let cache = ProcessInfo.processInfo.environment["NEURAL_MODEL_CACHE"].map { URL(fileURLWithPath: $0) }
            ?? repo.appendingPathComponent(".cache/models")
        let folder = cache.appendingPathComponent("all-MiniLM-L6-v2")
        return FileManager.default.fileExists(atPath: folder.appendingPathComponent("vocab.txt").path) ? folder.path : nil
    }()
    static let skipReason: Comment = "all-MiniLM-L6-v2 not fetched (run Scripts/fetch_minilm.sh): tokenizer test skipped"
}

/// Tests/NeuralTests/Fixtures/bert_tokenizer.json, written by Scripts/fixtures/bert_tokenizer.py.
enum BertTokenizerFixture {
    /// A run of code points the basic tokenizer treats alike in "a" + c + "b": kind `keep`, `drop`,
    /// `split`, `isolate`, or `map` with each code point's expected words.
    struct Run: Sendable {
        let first: Int, last: Int, kind: String, words: [[String]]
    }

    static func load() -> (cases: [(text: String, ids: [Int])], runs: [Run]) {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/bert_tokenizer.json")
        guard let data = try? Data(contentsOf: url),
              let root = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            fatalError("cannot read \(url.path); regenerate it with Scripts/fixtures/bert_tokenizer.py")
        }
        let cases = (root["cases"] as! [[String: Any]]).map {
            ($0["text"] as! String, ($0["ids"] as! [NSNumber]).map(\.intValue))
        }
        let runs = (root["code_points"] as! [[Any]]).map { run in
            let mapped = run.count > 3 ? run[3] as! [Any] : []
            return Run(first: (run[0] as! NSNumber).intValue, last: (run[1] as! NSNumber).intValue, kind: run[2] as! String,
                       words: mapped.map { value in (value as? String).map { ["a" + $0 + "b"] } ?? (value as! [String]) })
        }
        return (cases, runs)
    }
    static let fixture = load()
    /// Each text with Hugging Face's ids for it.
    static var cases: [(text: String, ids: [Int])] { fixture.cases }
    /// Every code point but the surrogates, in runs.
    static var runs: [Run] { fixture.runs }
}

/// A temporary folder holding `files` (name → contents), removed after `body`.
func withTokenizerFiles<R>(_ files: [String: Data], _ body: (String) throws -> R) throws -> R {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("wordpiece-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for (name, contents) in files { try contents.write(to: folder.appendingPathComponent(name)) }
    return try body(folder.path)
}

/// A small vocabulary: specials, then whole words and `##` pieces.
let smallVocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "una", "##ffa", "##ble",
                       "run", "##ning", "hello", "world", ",", "!", "a", "##a", "é", "中", "b", "##b"]
    .joined(separator: "\n") + "\n"

@Suite("WordPiece tokenizer")
struct WordPieceTokenizerTests {
    @Test(.enabled(if: MiniLMFolder.path != nil, MiniLMFolder.skipReason))
    func idsEqualHuggingFaceOnEveryFixtureText() throws {
        let tokenizer = try WordPieceTokenizer(modelDirectory: MiniLMFolder.path!)
        #expect(tokenizer.maxLength == 256)
        #expect(tokenizer.vocabularySize == 30522)
        #expect(BertTokenizerFixture.cases.count >= 200)
        var mismatches = [String]()
        for (text, ids) in BertTokenizerFixture.cases {
            let mine = tokenizer.encode(text)
            if mine != ids {
                mismatches.append("\(text.debugDescription.prefix(120)): Neural \(mine.prefix(40)) Hugging Face \(ids.prefix(40))")
            }
        }
        #expect(mismatches.count == 0, "\(mismatches.count) texts differ:\n\(mismatches.prefix(10).joined(separator: "\n"))")
    }

    @Test(.enabled(if: MiniLMFolder.path != nil, MiniLMFolder.skipReason))
    func batchRowsAreTheEncodingsPaddedWithPadIDAndMasked() throws {
        let tokenizer = try WordPieceTokenizer(modelDirectory: MiniLMFolder.path!)
        let cases = Array(BertTokenizerFixture.cases.prefix(40))
        let (ids, mask) = tokenizer.encodeBatch(cases.map(\.text))
        let width = cases.map(\.ids.count).max()!
        #expect(ids.shape == [cases.count, width] && mask.shape == [cases.count, width])
        #expect(ids.dtype == .int64 && mask.dtype == .int64)
        let idValues = ids.scalars(as: Int.self), maskValues = mask.scalars(as: Int.self)
        for (row, c) in cases.enumerated() {
            let padded = c.ids + [Int](repeating: tokenizer.padID, count: width - c.ids.count)
            #expect(Array(idValues[row * width..<(row + 1) * width]) == padded, "row \(row)")
            let ones = [Int](repeating: 1, count: c.ids.count) + [Int](repeating: 0, count: width - c.ids.count)
            #expect(Array(maskValues[row * width..<(row + 1) * width]) == ones, "row \(row)")
        }
        #expect(tokenizer.padID == 0)
    }

    @Test func basicTokenizerMatchesHuggingFaceOnEveryCodePoint() throws {
        let basic = BasicTokenizer(lowercase: true, stripAccents: true, tokenizeChineseChars: true)
        var mismatches = [String]()
        var checked = 0
        for run in BertTokenizerFixture.runs {
            for v in run.first...run.last {
                let c = String(Unicode.Scalar(UInt32(v))!)
                let expected: [String]
                switch run.kind {
                case "keep": expected = ["a" + c + "b"]
                case "drop": expected = ["ab"]
                case "split": expected = ["a", "b"]
                case "isolate": expected = ["a", c, "b"]
                default: expected = run.words[v - run.first]
                }
                let words = basic.words("a" + c + "b")
                if words != expected {
                    mismatches.append(String(format: "U+%04X", v) + ": Neural \(words.map(\.unicodeScalars).map { $0.map { String($0.value, radix: 16) } }) Hugging Face \(expected.map(\.unicodeScalars).map { $0.map { String($0.value, radix: 16) } })")
                }
                checked += 1
            }
        }
        #expect(checked == 0x110000 - 0x800)
        #expect(mismatches.count == 0, "\(mismatches.count) code points differ:\n\(mismatches.prefix(30).joined(separator: "\n"))")
    }

    @Test func greedyLongestMatchFirstWithContinuations() throws {
        try withTokenizerFiles(["vocab.txt": Data(smallVocabulary.utf8)]) { folder in
            let t = try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt")
            #expect(t.tokenize("unaffable") == ["una", "##ffa", "##ble"])   // "una" is longer than "un"
            #expect(t.tokenize("Running, HELLO world!") == ["run", "##ning", ",", "hello", "world", "!"])
            #expect(t.tokenize("runx") == ["[UNK]"])                         // no piece covers "x": the whole word
            #expect(t.tokenize("É 中中") == ["[UNK]", "中", "中"])   // É → E + U+0301 → "e", not in this vocabulary
            #expect(t.tokenize(String(repeating: "a", count: 100)) == ["a"] + [String](repeating: "##a", count: 99))
            #expect(t.tokenize(String(repeating: "a", count: 101)) == ["[UNK]"])
            #expect(t.encode("") == [2, 3])
            #expect(t.vocabularySize == 23 && t.padID == 0 && t.id(of: "##ble") == 10 && t.token(of: 9) == "##ffa")
        }
    }

    @Test func encodeTruncatesToMaxLengthWithClassifierAndSeparator() throws {
        try withTokenizerFiles(["vocab.txt": Data(smallVocabulary.utf8)]) { folder in
            let t = try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt", maxLength: 5)
            #expect(t.encode("a b a b a b") == [2, 17, 21, 17, 3])
            #expect(t.encode("ab") == [2, 17, 22, 3])
            let (ids, mask) = t.encodeBatch(["a b a b a b", "", "ab"])
            #expect(ids.shape == [3, 5])
            #expect(ids.scalars(as: Int.self) == [2, 17, 21, 17, 3, 2, 3, 0, 0, 0, 2, 17, 22, 3, 0])
            #expect(mask.scalars(as: Int.self) == [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 0])
            #expect(t.encodeBatch([]).ids.shape == [0, 0])
        }
    }

    @Test func casedTokenizerKeepsCaseAndAccents() throws {
        let vocabulary = smallVocabulary + "Hello\nÉ\n"
        try withTokenizerFiles(["vocab.txt": Data(vocabulary.utf8)]) { folder in
            let t = try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt", lowercase: false)
            #expect(t.tokenize("Hello hello É") == ["Hello", "hello", "É"])
            let stripped = try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt", lowercase: true, stripAccents: false)
            #expect(stripped.tokenize("É") == ["é"])
        }
    }

    @Test func modelDirectoryReadsTheTokenizerAndSentenceConfigs() throws {
        let files = ["vocab.txt": Data((smallVocabulary + "Hello\n").utf8),
                     "tokenizer_config.json": Data(#"{"do_lower_case": false, "strip_accents": null, "model_max_length": 1000000000000000019884624838656}"#.utf8),
                     "sentence_bert_config.json": Data(#"{"max_seq_length": 4, "do_lower_case": false}"#.utf8)]
        try withTokenizerFiles(files) { folder in
            let t = try WordPieceTokenizer(modelDirectory: folder)
            #expect(t.maxLength == 4)
            #expect(t.tokenize("Hello hello") == ["Hello", "hello"])
            #expect(t.encode("hello world !") == [2, 13, 14, 3])
        }
        try withTokenizerFiles(["vocab.txt": Data(smallVocabulary.utf8)]) { folder in
            let t = try WordPieceTokenizer(modelDirectory: folder)   // no configs: uncased, 512
            #expect(t.maxLength == 512)
            #expect(t.tokenize("HELLO") == ["hello"])
        }
    }

    @Test func vocabularyWithoutUnknownTokenIsRefusedNamingTheFile() throws {
        let vocabulary = smallVocabulary.replacingOccurrences(of: "[UNK]\n", with: "")
        try withTokenizerFiles(["vocab.txt": Data(vocabulary.utf8)]) { folder in
            let path = folder + "/vocab.txt"
            let error = #expect(throws: TokenizerError.self) { try WordPieceTokenizer(vocabularyFile: path) }
            #expect(error?.kind == .missingToken)
            #expect(error?.description.hasPrefix(path + ": has no [UNK] token") == true, "\(String(describing: error))")
            #expect(error?.description.contains("\n") == false)
        }
    }

    @Test func missingVocabularyFileIsOneMessageNamingTheFile() throws {
        let error = #expect(throws: TokenizerError.self) { try WordPieceTokenizer(vocabularyFile: "/nonexistent/vocab.txt") }
        #expect(error?.description == "/nonexistent/vocab.txt: no such file")
        try withTokenizerFiles([:]) { folder in
            let error = #expect(throws: TokenizerError.self) { try WordPieceTokenizer(modelDirectory: folder) }
            #expect(error?.kind == .missingFile)
            #expect(error?.description == folder + "/vocab.txt: no such file")
        }
    }

    @Test func malformedFilesAreRefusedWithTheirLine() throws {
        var bytes = Data(smallVocabulary.utf8)
        bytes.append(contentsOf: [0x66, 0xFF, 0x0A])   // line 24: not UTF-8
        try withTokenizerFiles(["vocab.txt": bytes, "tokenizer_config.json": Data("[1, 2]".utf8)]) { folder in
            let error = #expect(throws: TokenizerError.self) { try WordPieceTokenizer(vocabularyFile: folder + "/vocab.txt") }
            #expect(error?.kind == .notUTF8 && error?.line == 24)
            #expect(error?.description.hasPrefix(folder + "/vocab.txt line 24: is not valid UTF-8") == true)
            let config = #expect(throws: TokenizerError.self) { try WordPieceTokenizer(modelDirectory: folder) }
            #expect(config?.kind == .badConfig && config?.path == folder + "/tokenizer_config.json")
        }
        try withTokenizerFiles(["vocab.txt": Data(smallVocabulary.utf8),
                                "tokenizer_config.json": Data(#"{"do_lower_case": "yes"}"#.utf8)]) { folder in
            let config = #expect(throws: TokenizerError.self) { try WordPieceTokenizer(modelDirectory: folder) }
            #expect(config?.description.contains("do_lower_case") == true, "\(String(describing: config))")
        }
    }
}
