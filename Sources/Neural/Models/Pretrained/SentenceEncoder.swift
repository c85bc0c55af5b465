import Foundation

/// Sentence embeddings from a sentence-transformers BERT model folder (such as
/// all-MiniLM-L6-v2): token ids → ``BertModel`` → ``SentencePooling`` (mean over the tokens, L2
/// normalised), the vectors `SentenceTransformer(folder).encode(sentences)` gives.
///
/// Inference only: no autodiff records are made, sequences are batched by similar length (the
/// results come back in the caller's order), attention runs fused with the padding as its key mask.
public final class SentenceEncoder: @unchecked Sendable {
    /// The encoder (evaluation mode).
    public let model: BertModel
    /// How token vectors become one vector, and the longest input.
    public let pooling: SentencePooling
    /// The folder it was loaded from, if any.
    public let modelDirectory: URL?
    /// The folder's WordPiece tokenizer (nil for an encoder made from a model alone).
    public let tokenizer: WordPieceTokenizer?

    /// The model and pooling of a sentence-transformers folder: `config.json` and
    /// `model.safetensors` (``BertModel/init(modelDirectory:)``), `modules.json`,
    /// `1_Pooling/config.json` and `sentence_bert_config.json` (``SentencePooling/init(modelDirectory:maxPositions:)``).
    ///
    /// - Throws: ``ModelFolderError`` or ``CheckpointError`` naming the file, the field and the fix.
    public init(modelDirectory: URL) throws {
        model = try BertModel(modelDirectory: modelDirectory)
        pooling = try SentencePooling(modelDirectory: modelDirectory, maxPositions: model.config.maxPositionEmbeddings)
        tokenizer = try WordPieceTokenizer(modelDirectory: modelDirectory.path)
        self.modelDirectory = modelDirectory
    }

    /// An encoder of `model` and `pooling` (e.g. a model with random weights, for benchmarks).
    public init(model: BertModel, pooling: SentencePooling = SentencePooling()) {
        self.model = model.eval()
        self.pooling = pooling
        self.modelDirectory = nil
        self.tokenizer = nil
    }

    /// The size of each embedding (`hidden_size`, 384 for all-MiniLM-L6-v2).
    public var dimension: Int { model.config.hiddenSize }

    /// The embeddings `[n, dimension]` of `sentences` (row i of `sentences[i]`): each is tokenized
    /// (``tokenizer``, truncated to ``SentencePooling/maxSequenceLength`` word pieces), then run as
    /// ``encode(tokenIDs:batchSize:)``.
    ///
    /// - Precondition: the encoder was loaded from a folder (it has a ``tokenizer``).
    public func encode(_ sentences: [String], batchSize: Int = 32) -> Tensor {
        guard let tokenizer else { preconditionFailure("Neural: SentenceEncoder.encode(_:) needs a tokenizer; load the encoder from a model folder or pass token ids") }
        let limit = pooling.maxSequenceLength
        return encode(tokenIDs: sentences.map { s in
            let ids = tokenizer.encode(s)
            return ids.count <= limit ? ids : Array(ids.prefix(limit - 1)) + [ids[ids.count - 1]]
        }, batchSize: batchSize)
    }

    /// The embeddings `[n, dimension]` of `n` token-id sequences (each `[CLS] … [SEP]` as the
    /// tokenizer makes them, at most ``SentencePooling/maxSequenceLength`` long, none empty).
    /// Sequences are sorted by length and run `batchSize` at a time, padded to the longest of
    /// their batch; row i of the result belongs to `tokenIDs[i]`.
    public func encode(tokenIDs: [[Int]], batchSize: Int = 32) -> Tensor {
        precondition(batchSize > 0, "Neural: SentenceEncoder.encode batchSize must be positive, got \(batchSize)")
        let maxLength = pooling.maxSequenceLength, vocab = model.config.vocabSize
        for (i, ids) in tokenIDs.enumerated() {
            precondition(!ids.isEmpty && ids.count <= maxLength,
                         "Neural: SentenceEncoder.encode sequence \(i) has \(ids.count) token ids; expected 1 to \(maxLength)")
            precondition(ids.allSatisfy { $0 >= 0 && $0 < vocab },
                         "Neural: SentenceEncoder.encode sequence \(i) holds a token id outside 0..<\(vocab)")
        }
        let n = tokenIDs.count, e = dimension
        var out = [Float](repeating: 0, count: n * e)
        // Longest first (sentence-transformers sorts the same way), so batches hold similar lengths.
        let order = tokenIDs.indices.sorted { (tokenIDs[$0].count, $0) > (tokenIDs[$1].count, $1) }
        withNoGrad {
            for start in stride(from: 0, to: n, by: batchSize) {
                let batch = Array(order[start..<Swift.min(start + batchSize, n)])
                let t = batch.map { tokenIDs[$0].count }.max()!
                var ids = [Int](repeating: model.config.padTokenID, count: batch.count * t)
                var mask = [Int](repeating: 0, count: batch.count * t)
                for (r, i) in batch.enumerated() {
                    for (j, id) in tokenIDs[i].enumerated() { ids[r * t + j] = id; mask[r * t + j] = 1 }
                }
                let idTensor = Tensor(integers: ids, shape: [batch.count, t])
                let maskTensor = Tensor(integers: mask, shape: [batch.count, t])
                let v = pooling(model(idTensor, attentionMask: maskTensor), attentionMask: maskTensor).to(.float32)
                v.withUnsafeScalars(as: Float.self) { rows in
                    for (r, i) in batch.enumerated() {
                        for j in 0..<e { out[i * e + j] = rows[r * e + j] }
                    }
                }
            }
        }
        return Tensor(out, shape: [n, e])
    }
}
