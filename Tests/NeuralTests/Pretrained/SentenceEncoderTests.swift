import Foundation
import Neural
import Testing

@Suite("Sentence embeddings of all-MiniLM-L6-v2")
struct SentenceEncoderTests {
    /// The encoder gives sentence-transformers' embeddings on the reference sentences' token ids,
    /// 32 sequences a batch (padded to the longest of each batch).
    @Test(.enabled(if: MiniLM.reference != nil, MiniLM.noReference))
    func embeddingsMatchSentenceTransformersInBatches() throws {
        let reference = try #require(MiniLM.reference), directory = try #require(MiniLM.directory)
        let encoder = try SentenceEncoder(modelDirectory: directory)
        #expect(reference.sentences.count >= 200)
        let e = encoder.encode(tokenIDs: reference.ids, batchSize: 32)
        #expect(e.shape == [reference.sentences.count, 384])
        let (maxAbs, minCosine) = MiniLM.compare(e, reference.embeddings)
        print("batched: max |diff| \(maxAbs), min cosine \(minCosine)")
        #expect(maxAbs <= 1e-5)
        #expect(minCosine >= 0.99999)
    }

    /// One sequence a call (no padding) gives the same embeddings.
    @Test(.enabled(if: MiniLM.reference != nil, MiniLM.noReference))
    func embeddingsMatchSentenceTransformersOneByOne() throws {
        let reference = try #require(MiniLM.reference), directory = try #require(MiniLM.directory)
        let encoder = try SentenceEncoder(modelDirectory: directory)
        let e = encoder.encode(tokenIDs: reference.ids, batchSize: 1)
        let (maxAbs, minCosine) = MiniLM.compare(e, reference.embeddings_one_by_one)
        print("one by one: max |diff| \(maxAbs), min cosine \(minCosine)")
        #expect(maxAbs <= 1e-5)
        #expect(minCosine >= 0.99999)
    }

    /// From the sentences themselves (the WordPiece tokenizer, then the model), batched.
    @Test(.enabled(if: MiniLM.reference != nil, MiniLM.noReference))
    func sentencesEncodeToSentenceTransformersEmbeddings() throws {
        let reference = try #require(MiniLM.reference), directory = try #require(MiniLM.directory)
        let encoder = try SentenceEncoder(modelDirectory: directory)
        let e = encoder.encode(reference.sentences)
        let (maxAbs, minCosine) = MiniLM.compare(e, reference.embeddings)
        print("from sentences: max |diff| \(maxAbs), min cosine \(minCosine)")
        #expect(maxAbs <= 1e-5)
        #expect(minCosine >= 0.99999)
    }

    /// Bad folders fail with one error naming the file and the field: no folder, no config.json,
    /// a config that is not BERT.
    @Test func badModelFoldersNameTheFileAndField() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("neural-bert-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(throws: ModelFolderError.self) { _ = try BertConfig(modelDirectory: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        do {
            _ = try BertConfig(modelDirectory: dir)
            Issue.record("no error without config.json")
        } catch let e {
            #expect(e.kind == .missing && e.file.hasSuffix("config.json"), "\(e)")
        }
        try Data(#"{"model_type": "gpt2", "hidden_size": 8}"#.utf8).write(to: dir.appendingPathComponent("config.json"))
        do {
            _ = try BertConfig(modelDirectory: dir)
            Issue.record("no error for a GPT-2 config")
        } catch let e {
            #expect(e.kind == .unsupported && e.field == "model_type" && e.description.contains("gpt2"), "\(e)")
        }
    }

    /// A safetensors file with a missing and a mis-shaped tensor is one error listing both.
    @Test func safetensorsWithMissingAndMisshapedTensorsListsBoth() throws {
        let config = BertConfig(vocabSize: 10, hiddenSize: 8, numHiddenLayers: 1, numAttentionHeads: 2, intermediateSize: 16,
                                maxPositionEmbeddings: 8)
        let model = BertModel(config: config, pooler: false, generator: RandomGenerator(seed: 1))
        var tensors = Dictionary(uniqueKeysWithValues: model.stateDict().map { ($0.name, $0.tensor) })
        tensors["encoder.layer.0.attention.self.key.bias"] = nil
        tensors["encoder.layer.0.output.dense.weight"] = .zeros([8, 15])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("neural-bert-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try SafeTensors(tensors: tensors).write(to: url)
        let other = BertModel(config: config, pooler: false)
        do {
            try other.load(safetensors: url)
            Issue.record("no error")
        } catch {
            #expect(error.kind == .stateMismatch)
            #expect(error.description.contains("encoder.layer.0.attention.self.key.bias"), "\(error)")
            #expect(error.description.contains("encoder.layer.0.output.dense.weight (checkpoint [8, 15], model [8, 16])"), "\(error)")
        }
        // The complete file loads, renamed from a task model's "bert." keys, and gives the same outputs.
        var prefixed: [String: Tensor] = [:]
        for (name, t) in model.stateDict() { prefixed["bert." + name] = t }
        try SafeTensors(tensors: prefixed).write(to: url)
        try other.load(safetensors: url)
        let ids = Tensor(integers: [1, 5, 9, 2, 0, 0], shape: [1, 6]), mask = Tensor(integers: [1, 1, 1, 1, 0, 0], shape: [1, 6])
        let a = withNoGrad { model(ids, attentionMask: mask) }, b = withNoGrad { other(ids, attentionMask: mask) }
        #expect(a.scalars(as: Float.self) == b.scalars(as: Float.self))
    }
}
