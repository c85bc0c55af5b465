import ArgumentParser
import Foundation
import Neural

/// `neural search`: the lines of a text file closest in meaning to a query, by the cosine of their
/// sentence embeddings (all-MiniLM-L6-v2 by default).
struct SearchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Semantic search: the lines of a text file closest in meaning to a query (cosine of sentence embeddings).",
        discussion: """
        Prints the --top best lines, best first, one per line: the cosine similarity (4 decimals), two \
        spaces, the line. Blank lines of --corpus are not candidates; ties go to the earlier line.
        Example: neural search --corpus faq.txt --query "how do I reset my password" --top 5
        """)

    @OptionGroup var modelOptions: SentenceModelOptions
    @Option(help: "A UTF-8 text file, one document (sentence or paragraph) per line.")
    var corpus: String
    @Option(help: "What to look for.")
    var query: String
    @Option(help: "How many lines to print.")
    var top = 5

    func run() throws {
        try reportingErrors {
            guard top >= 1 else { throw CLIError("--top must be at least 1, got \(top)") }
            guard !query.allSatisfy(\.isWhitespace) else { throw CLIError("--query is empty; give the text to look for") }
            let documents = try SentenceFile.lines(of: corpus, option: "--corpus").filter { !$0.allSatisfy(\.isWhitespace) }
            let encoder = try modelOptions.prepare()
            let vectors = Self.unitRows(encoder.encode(documents, batchSize: modelOptions.batchSize))
            let q = Self.unitRows(encoder.encode([query], batchSize: 1))[0]
            let scores = vectors.map { v in zip(v, q).reduce(0.0) { $0 + $1.0 * $1.1 } }
            let best = scores.indices.sorted { (scores[$0], -$0) > (scores[$1], -$1) }.prefix(top)
            for i in best { print(String(format: "%.4f", scores[i]) + "  " + documents[i]) }
        }
    }

    /// The rows of `embeddings` `[n, d]` scaled to unit L2 norm, in Float64 (a zero row stays zero).
    static func unitRows(_ embeddings: Tensor) -> [[Double]] {
        let d = embeddings.shape[1], x = embeddings.scalars(as: Double.self)
        return (0..<embeddings.shape[0]).map { i in
            let row = Array(x[i * d..<(i + 1) * d])
            let norm = row.reduce(0.0) { $0 + $1 * $1 }.squareRoot()
            return norm > 0 ? row.map { $0 / norm } : row
        }
    }
}
