import Foundation
import Neural
import Testing

@Suite("neural embed and neural search", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct EmbedCLITests {
    /// Bad input: exit status 1 and exactly one `neural:` line naming the problem, no crash.
    private func expectCleanFailure(_ args: [String], mentions: [String], in dir: URL, environment: [String: String] = [:],
                                    sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try NeuralTool.run(program: NeuralTool.executable!, args, in: dir, environment: environment)
        #expect(r.status == 1, "exit status \(r.status) for \(args): \(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("neural: ") && mentions.allSatisfy { lines[0].contains($0) },
                "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// The words of ``tinyModelFolder(in:vocabulary:config:mutate:)``'s vocabulary (ids 5…).
    static let words = ["the", "cat", "sat", "on", "mat", "dog", "ran", "far", "a", "sofa", "stocks", "fell", "##s", "."]

    /// A sentence-transformers-less BERT folder (mean pooling, no normalisation) of a tiny random
    /// model, hidden 8: `config.json`, `model.safetensors` (through `mutate`) and `vocab.txt`.
    private func tinyModelFolder(in dir: URL, vocabulary: [String] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words,
                                 config: String? = nil, mutate: (inout [String: Tensor]) -> Void = { _ in }) throws -> String {
        let folder = dir.appendingPathComponent("tiny-bert")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let sizes = BertConfig(vocabSize: 19, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16, maxPositionEmbeddings: 16)
        let model = BertModel(config: sizes, pooler: false, generator: RandomGenerator(seed: 3))
        var tensors = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) })
        mutate(&tensors)
        try SafeTensors(tensors: tensors).write(to: folder.appendingPathComponent("model.safetensors"))
        let json = config ?? #"{"model_type": "bert", "vocab_size": 19, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 16, "max_position_embeddings": 16}"#
        try Data(json.utf8).write(to: folder.appendingPathComponent("config.json"))
        try Data((vocabulary.joined(separator: "\n") + "\n").utf8).write(to: folder.appendingPathComponent("vocab.txt"))
        return "tiny-bert"
    }

    @Test func embedWritesTheLibrarysEmbeddingsOneRowPerLine() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try tinyModelFolder(in: dir)
        let lines = ["The cat sat on the mat.", "", "A dog ran far", "stocks fell", "cats"]
        try Data((lines.joined(separator: "\r\n") + "\r\n").utf8).write(to: dir.appendingPathComponent("in.txt"))
        let r = try NeuralTool.run(["embed", "--model", model, "--input", "in.txt", "--output", "E.npy", "--batch-size", "2"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("wrote E.npy: [5, 8]"), "\(r.stdout)")
        let e = try NPY.read(dir.appendingPathComponent("E.npy"))
        #expect(e.dtype == .float32 && e.shape == [5, 8])
        let expected = try SentenceEncoder(modelDirectory: dir.appendingPathComponent(model)).encode(lines, batchSize: 2)
        #expect(e.scalars(as: Float.self) == expected.scalars(as: Float.self))
    }

    @Test func searchPrintsTheTopLinesByCosineBestFirst() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try tinyModelFolder(in: dir)
        let corpus = ["the cat sat on the mat", "", "stocks fell", "a dog ran far", "the cat sat on the mat"]
        try Data(corpus.joined(separator: "\n").utf8).write(to: dir.appendingPathComponent("docs.txt"))
        let r = try NeuralTool.run(["search", "--model", model, "--corpus", "docs.txt", "--query", "the cat sat on the mat", "--top", "3"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let out = r.stdout.split(separator: "\n").map(String.init)
        #expect(out.count == 3, "\(r.stdout)")
        // The query itself is in the corpus twice: cosine 1, earlier line first; then the next best.
        #expect(out.prefix(2) == ["1.0000  the cat sat on the mat", "1.0000  the cat sat on the mat"], "\(r.stdout)")
        let scores = out.compactMap { $0.split(separator: " ").first.flatMap { Double($0) } }
        #expect(scores.count == 3 && scores[2] < 1 && scores == scores.sorted(by: >), "\(r.stdout)")
        // --top past the corpus prints every non-blank line.
        let all = try NeuralTool.run(["search", "--model", model, "--corpus", "docs.txt", "--query", "dog", "--top", "50"], in: dir)
        #expect(all.status == 0 && all.stdout.split(separator: "\n").count == 4, "\(all.stdout)\(all.stderr)")
    }

    @Test func badInputIsOneNeuralLineNamingFileAndLine() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = try tinyModelFolder(in: dir)
        var latin1 = Data("first line\n".utf8)
        latin1.append(contentsOf: [0x63, 0x61, 0x66, 0xE9, 0x0A])                       // "café" in Latin-1
        try latin1.write(to: dir.appendingPathComponent("latin1.txt"))
        try Data().write(to: dir.appendingPathComponent("empty.txt"))
        try Data("\n  \n".utf8).write(to: dir.appendingPathComponent("blank.txt"))
        try Data("one sentence\n".utf8).write(to: dir.appendingPathComponent("one.txt"))
        let embed = ["embed", "--model", model, "--output", "E.npy", "--input"]
        try expectCleanFailure(embed + ["missing.txt"], mentions: ["--input missing.txt", "no such file"], in: dir)
        try expectCleanFailure(embed + ["."], mentions: ["--input .", "cannot read"], in: dir)
        try expectCleanFailure(embed + ["latin1.txt"], mentions: ["latin1.txt", "line 2 is not valid UTF-8", "0xE9", "byte 4"], in: dir)
        try expectCleanFailure(embed + ["empty.txt"], mentions: ["empty.txt", "no sentences"], in: dir)
        try expectCleanFailure(embed + ["blank.txt"], mentions: ["blank.txt", "no sentences"], in: dir)
        let search = ["search", "--model", model, "--query", "cat"]
        try expectCleanFailure(search + ["--corpus", "latin1.txt"], mentions: ["--corpus latin1.txt", "line 2"], in: dir)
        try expectCleanFailure(search + ["--corpus", "one.txt", "--top", "0"], mentions: ["--top must be at least 1, got 0"], in: dir)
        try expectCleanFailure(["search", "--model", model, "--corpus", "one.txt", "--query", " "], mentions: ["--query is empty"], in: dir)
        try expectCleanFailure(embed + ["one.txt", "--batch-size", "0"], mentions: ["--batch-size must be at least 1"], in: dir)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("E.npy").path))
    }

    @Test func badModelFoldersAreOneNeuralLineNamingTheFile() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("a sentence\n".utf8).write(to: dir.appendingPathComponent("in.txt"))
        let embed = ["embed", "--input", "in.txt", "--output", "E.npy", "--model"]
        // No default model where NEURAL_MODEL_CACHE points: say to fetch it.
        try expectCleanFailure(["embed", "--input", "in.txt", "--output", "E.npy"], mentions: ["all-MiniLM-L6-v2 is not fetched", "Scripts/fetch_minilm.sh"],
                               in: dir, environment: ["NEURAL_MODEL_CACHE": dir.path])
        try expectCleanFailure(embed + ["nowhere"], mentions: ["nowhere", "no such folder"], in: dir)
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("bare"), withIntermediateDirectories: true)
        try expectCleanFailure(embed + ["bare"], mentions: ["bare/config.json", "no such file"], in: dir)
        let gpt = try tinyModelFolder(in: dir.appendingPathComponent("gpt"), config: #"{"model_type": "gpt2"}"#)
        try expectCleanFailure(embed + ["gpt/" + gpt], mentions: ["config.json", "model_type", "gpt2", "not \"bert\""], in: dir)
        let shapes = try tinyModelFolder(in: dir.appendingPathComponent("shapes")) { tensors in
            tensors["encoder.layer.0.attention.self.key.bias"] = nil
            tensors["encoder.layer.0.output.dense.weight"] = .zeros([8, 15])
        }
        try expectCleanFailure(embed + ["shapes/" + shapes], mentions: ["encoder.layer.0.attention.self.key.bias", "encoder.layer.0.output.dense.weight"], in: dir)
        let noUnknown = try tinyModelFolder(in: dir.appendingPathComponent("vocab"), vocabulary: ["[PAD]", "[CLS]", "[SEP]", "[MASK]", "x"] + Self.words)
        try expectCleanFailure(embed + ["vocab/" + noUnknown], mentions: ["vocab.txt", "has no [UNK] token"], in: dir)
    }

    @Test(.enabled(if: MiniLM.directory != nil, MiniLM.missing))
    func embedAndSearchWithTheFetchedMiniLMByDefault() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let documents = ["The cat sleeps on the sofa.", "Stocks fell sharply on Monday.", "A kitten naps on the couch.", "How do I reset my password?"]
        try Data(documents.joined(separator: "\n").utf8).write(to: dir.appendingPathComponent("docs.txt"))
        // The default model: where NEURAL_MODEL_CACHE says, as Scripts/fetch_minilm.sh puts it.
        let environment = ["NEURAL_MODEL_CACHE": MiniLM.directory!.deletingLastPathComponent().path]
        let r = try NeuralTool.run(program: NeuralTool.executable!, ["embed", "--input", "docs.txt", "--output", "E.npy"], in: dir, environment: environment)
        #expect(r.status == 0, "\(r.stderr)")
        let e = try NPY.read(dir.appendingPathComponent("E.npy"))
        #expect(e.shape == [4, 384] && e.dtype == .float32)
        let expected = try SentenceEncoder(modelDirectory: MiniLM.directory!).encode(documents)
        #expect(e.scalars(as: Float.self) == expected.scalars(as: Float.self))
        let s = try NeuralTool.run(program: NeuralTool.executable!, ["search", "--corpus", "docs.txt", "--query", "Where is my cat resting?", "--top", "2"],
                                   in: dir, environment: environment)
        #expect(s.status == 0, "\(s.stderr)")
        let hits = s.stdout.split(separator: "\n").map { String($0.dropFirst(8)) }
        #expect(Set(hits) == ["The cat sleeps on the sofa.", "A kitten naps on the couch."], "\(s.stdout)")
    }
}
