import Foundation
import Neural
import Testing

@Suite("Text data")
struct TextDataTests {
    @Test func characterTokenizerIsTheSortedDistinctCharactersAndRoundTrips() throws {
        let tok = TextTokenizer(charactersOf: "hello world\n")
        #expect(tok == .characters(["\n", " ", "d", "e", "h", "l", "o", "r", "w"]))
        let ids = try tok.encode("hold\n")
        #expect(ids == [4, 6, 5, 2, 0])
        #expect(tok.decode(ids) == "hold\n")
        #expect(TextTokenizer(json: tok.json) == tok)
        #expect(TextTokenizer(json: TextTokenizer.bytes.json) == .bytes)
        #expect(TextTokenizer(json: "{\"kind\":\"char\",\"vocabulary\":\"ba\"}") == nil, "an unsorted vocabulary is refused")
    }

    @Test func unknownCharacterNamesItselfAndItsPlace() {
        let tok = TextTokenizer(charactersOf: "abc")
        #expect(throws: TextTokenizerError.self) { try tok.encode("abz") }
        do { _ = try tok.encode("ab\u{e9}") } catch {
            #expect(error.position == 2 && error.scalar == "\u{e9}" && error.description.contains("position 2") && error.description.contains("vocabulary of 3"))
        }
    }

    @Test func byteTokenizerCoversAnyText() throws {
        let ids = try TextTokenizer.bytes.encode("é!")
        #expect(ids == [0xC3, 0xA9, 0x21])
        #expect(TextTokenizer.bytes.decode(ids) == "é!" && TextTokenizer.bytes.vocabularySize == 256)
    }

    @Test func corpusSplitsTheLastTenthForValidationAndReadsGzip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("neural-text-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = String(repeating: "To be, or not to be.\n", count: 50)
        let plain = dir.appendingPathComponent("a.txt"), packed = dir.appendingPathComponent("a.txt.gz")
        try Data(text.utf8).write(to: plain)
        try Data(Gzip.compress(Array(text.utf8))).write(to: packed)
        let a = try TextCorpus.load(path: plain.path), b = try TextCorpus.load(path: packed.path)
        #expect(a.tokens == b.tokens && a.tokens.count == text.unicodeScalars.count)
        #expect(a.trainCount == Int(Double(text.count) * 0.9) && a.validationCount == text.count - a.trainCount)
        #expect(try TextCorpus.load(path: plain.path, bytes: true).tokenizer == .bytes)
    }

    @Test func emptyAndNonUTF8FilesAreTypedErrorsNamingTheFile() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("neural-text-bad-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let empty = dir.appendingPathComponent("empty.txt"), latin1 = dir.appendingPathComponent("latin1.txt")
        try Data().write(to: empty)
        try Data([0x61, 0x62, 0xE9, 0x63]).write(to: latin1)
        do { _ = try TextCorpus.load(path: empty.path); Issue.record("empty file accepted") } catch {
            #expect(error.kind == .badValue && error.path == empty.path && error.description.contains("empty"))
        }
        do { _ = try TextCorpus.load(path: latin1.path); Issue.record("Latin-1 file accepted") } catch {
            #expect(error.kind == .badValue && error.description.contains("not UTF-8") && error.description.contains("offset 2"))
        }
        do { _ = try TextCorpus.load(path: dir.appendingPathComponent("none.txt").path) } catch {
            #expect(error.kind == .missingFile)
        }
    }

    @Test func windowsAreNextTokenPairsDrawnPerEpochFromTheSeed() {
        let tokens = (0..<500).map { Int32($0 % 97) }
        let e1 = TextWindows(tokens: tokens, range: 0..<400, context: 16, batchSize: 4, batches: 5, seed: 9, epoch: 1)
        let again = TextWindows(tokens: tokens, range: 0..<400, context: 16, batchSize: 4, batches: 5, seed: 9, epoch: 1)
        let e2 = TextWindows(tokens: tokens, range: 0..<400, context: 16, batchSize: 4, batches: 5, seed: 9, epoch: 2)
        #expect(e1.offsets == again.offsets && e1.offsets != e2.offsets)
        #expect(e1.offsets.allSatisfy { $0 >= 0 && $0 + 16 < 400 })
        let batches = Array(e1)
        #expect(batches.count == 5 && batches[0].inputs.shape == [4, 16] && batches[0].labels!.count == 64)
        let x = batches[1].inputs.scalars(as: Int.self), y = batches[1].labels!
        for i in 0..<64 where i % 16 != 15 { #expect(y[i] == x[i + 1]) }
        #expect(x[0] == Int(tokens[e1.offsets[4]]) && y[15] == Int(tokens[e1.offsets[4] + 16]))
        // A resumed epoch yields the batches not yet trained on.
        let resumed = Array(TextWindows(tokens: tokens, range: 0..<400, context: 16, batchSize: 4, batches: 5, seed: 9, epoch: 1, firstBatch: 3))
        #expect(resumed.count == 2 && resumed[0].inputs.scalars(as: Int.self) == batches[3].inputs.scalars(as: Int.self))
    }

    @Test func validationOffsetsAreTorchLinspaceInFloat32() {
        // torch.linspace(0, 505729 - 130, 64).long() (the Shakespeare validation split, context 128).
        let o = TextWindows.evenlySpacedOffsets(count: 64, range: 0..<505_729, context: 128)
        #expect(Array(o.prefix(5)) == [0, 8025, 16050, 24076, 32101])
        #expect(Array(o[30..<34]) == [240_761, 248_786, 256_812, 264_837] && Array(o.suffix(3)) == [489_548, 497_573, 505_599])
        #expect(TextWindows.evenlySpacedOffsets(count: 7, range: 10..<1010, context: 8) == [0, 165, 330, 495, 660, 825, 990].map { $0 + 10 })
    }
}
