import Foundation
import Neural
import Testing

/// all-MiniLM-L6-v2 as Scripts/fetch_minilm.sh fetches it, and sentence-transformers' embeddings of
/// it as Scripts/fixtures/bert_embeddings.py computes them, for the tests that need the real model.
enum MiniLM {
    /// The repository's root.
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// The model folder: `$NEURAL_MODEL_CACHE/all-MiniLM-L6-v2`, else `.cache/models/all-MiniLM-L6-v2`
    /// in the repository, when it holds config.json and model.safetensors.
    static let directory: URL? = {
        var candidates: [URL] = []
        if let cache = ProcessInfo.processInfo.environment["NEURAL_MODEL_CACHE"], !cache.isEmpty {
            candidates.append(URL(fileURLWithPath: cache).appendingPathComponent("all-MiniLM-L6-v2"))
        }
        candidates.append(root.appendingPathComponent(".cache/models/all-MiniLM-L6-v2"))
        return candidates.first { dir in
            ["config.json", "model.safetensors"].allSatisfy { FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path) }
        }
    }()

    /// Why the model tests are skipped when ``directory`` is nil.
    static let missing: Comment = "skipped: all-MiniLM-L6-v2 is not fetched (run Scripts/fetch_minilm.sh, or set NEURAL_MODEL_CACHE)"

    /// What Scripts/fixtures/bert_embeddings.py writes.
    struct Reference: Decodable {
        var sentences: [String]
        var ids: [[Int]]
        var embeddings: [[Double]]
        var embeddings_one_by_one: [[Double]]
    }

    /// The reference embeddings: `.cache/reference/bert_embeddings.json`, written by the script with
    /// the peers' Python (sentence-transformers) when absent or older than the script; nil when the
    /// model or such a Python is missing.
    static let reference: Reference? = {
        guard let directory, let python = TorchPeers.python,
              (try? TorchPeers.run(python, ["-c", "import sentence_transformers"]))?.status == 0 else { return nil }
        let script = root.appendingPathComponent("Scripts/fixtures/bert_embeddings.py")
        let out = root.appendingPathComponent(".cache/reference/bert_embeddings.json")
        func modified(_ url: URL) -> Date? { (try? FileManager.default.attributesOfItem(atPath: url.path))?[.modificationDate] as? Date }
        if modified(out).map({ $0 < (modified(script) ?? .distantFuture) }) ?? true {
            guard let r = try? TorchPeers.run(python, [script.path, directory.path, out.path]), r.status == 0 else { return nil }
        }
        guard let data = FileManager.default.contents(atPath: out.path) else { return nil }
        return try? JSONDecoder().decode(Reference.self, from: data)
    }()

    /// Why the reference tests are skipped when ``reference`` is nil.
    static let noReference: Comment = "skipped: needs all-MiniLM-L6-v2 (Scripts/fetch_minilm.sh) and a Python with sentence-transformers at $PEERS_DIR/venv/bin/python or /tmp/neural-peers/venv/bin/python"

    /// The largest |a − b| and the smallest cosine between rows of `a` `[n, d]` and `b`.
    static func compare(_ a: Tensor, _ b: [[Double]]) -> (maxAbs: Double, minCosine: Double) {
        let d = a.shape[1], x = a.scalars(as: Double.self)
        var maxAbs = 0.0, minCosine = 1.0
        for (i, row) in b.enumerated() {
            var dot = 0.0, na = 0.0, nb = 0.0
            for j in 0..<d {
                let u = x[i * d + j], v = row[j]
                maxAbs = Swift.max(maxAbs, abs(u - v))
                dot += u * v; na += u * u; nb += v * v
            }
            minCosine = Swift.min(minCosine, dot / (na.squareRoot() * nb.squareRoot()))
        }
        return (maxAbs, minCosine)
    }
}
