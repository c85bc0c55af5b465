import ArgumentParser
import Neural

/// Mirrors the peers' `bench_bert.py`: a BERT encoder of all-MiniLM-L6-v2's shape (vocabulary 30522,
/// 512 positions, 2 token types, hidden 384, 6 post-norm layers, 12 heads, feed-forward 1536, exact
/// GELU, LayerNorm ε 1e-12) with random weights (seed 0), mean pooling and L2 normalisation, run by
/// ``SentenceEncoder/encode(tokenIDs:batchSize:)`` (inference, no autodiff records). Token ids uniform
/// in 1000..<30000 (seed 0), no padding. Cases `embed_bs32_T128` (32 sequences of 128 tokens per
/// call; sentences/s) and `embed_bs1_T16` (one 16-token query per call; ms). Protocol: calibrate to
/// ~0.2 s per repeat, 1 warm-up repeat, 7 timed repeats (`--quick`: 3); the median.
struct BertBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bert", abstract: "all-MiniLM-L6-v2-shaped sentence embeddings, as bench_bert.py.")

    @OptionGroup var options: BenchOptions

    func run() throws {
        try options.apply()
        let config = BertConfig(vocabSize: 30522, hiddenSize: 384, numHiddenLayers: 6, numAttentionHeads: 12,
                                intermediateSize: 1536, maxPositionEmbeddings: 512, typeVocabSize: 2, layerNormEps: 1e-12)
        let encoder = SentenceEncoder(model: BertModel(config: config, pooler: false, generator: RandomGenerator(seed: 0)),
                                      pooling: SentencePooling(mode: .mean, normalize: true, maxSequenceLength: 512))
        var random = BenchRandom(seed: 0)
        for (name, bs, t) in [("embed_bs32_T128", 32, 128), ("embed_bs1_T16", 1, 16)] {
            let ids = (0..<bs).map { _ in (0..<t).map { _ in 1000 + Int(random.next() % 29000) } }
            let body = { _ = encoder.encode(tokenIDs: ids, batchSize: bs) }
            let inner = Bench.calibrate(target: 0.2, body)
            Bench.waitIdle()
            let (times, meter) = Bench.timeRepeats(reps: options.reps, warmup: 1) {
                for _ in 0..<inner { body() }
            }
            if bs == 1 {
                Bench.report(bench: "bert", threads: options.threads, case: name, times: times, meter: meter,
                             work: nil, perRepeat: Double(inner), unit: "ms", extra: "inner=\(inner)")
            } else {
                Bench.report(bench: "bert", threads: options.threads, case: name, times: times, meter: meter,
                             work: Double(bs * inner), unit: "sentences/s", extra: "inner=\(inner)")
            }
        }
    }
}
