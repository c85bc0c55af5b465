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
}
