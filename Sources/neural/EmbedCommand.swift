import ArgumentParser
import Foundation
import Neural

/// `neural embed`: sentence embeddings of a text file's lines with a pretrained sentence-transformers
/// model (all-MiniLM-L6-v2 by default), written as a float32 `.npy` `[lines, dimension]`.
struct EmbedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed each line of a text file with a pretrained sentence encoder (all-MiniLM-L6-v2) and write them as .npy.",
        discussion: """
        Row i of the output is the L2-normalised embedding of line i + 1 of --input (blank lines \
        included, so rows and lines stay aligned). Fetch the default model with Scripts/fetch_minilm.sh.
        Example: neural embed --input sentences.txt --output embeddings.npy
        """)

    @OptionGroup var modelOptions: SentenceModelOptions
    @Option(help: "A UTF-8 text file, one sentence per line.")
    var input: String
    @Option(help: "Where to write the embeddings: a float32 .npy [lines, dimension] (384 for all-MiniLM-L6-v2).")
    var output: String

    func run() throws {
        try reportingErrors {
            let lines = try SentenceFile.lines(of: input, option: "--input")
            let encoder = try modelOptions.prepare()
            let embeddings = encoder.encode(lines, batchSize: modelOptions.batchSize)
            try NPY.write(embeddings, to: URL(fileURLWithPath: output))
            print("wrote \(output): \(embeddings.shape) float32, one row per line of \(input)")
        }
    }
}

/// The options `neural embed` and `neural search` share: the model folder, the batch size and threads.
struct SentenceModelOptions: ParsableArguments {
    @Option(help: "A sentence-transformers BERT model folder (config.json, model.safetensors, vocab.txt, modules.json); default: all-MiniLM-L6-v2 as Scripts/fetch_minilm.sh fetches it ($NEURAL_MODEL_CACHE/all-MiniLM-L6-v2, else .cache/models/all-MiniLM-L6-v2 of the repository).")
    var model: String?
    @Option(help: "Sentences run through the model at a time.")
    var batchSize = 32
    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    /// Checks the options, sets the threads and loads the encoder.
    ///
    /// - Throws: ``CLIError`` for a bad option or an absent default model; the library's errors
    ///   (naming the file and field) for a model folder that cannot be used.
    func prepare() throws -> SentenceEncoder {
        guard batchSize >= 1 else { throw CLIError("--batch-size must be at least 1, got \(batchSize)") }
        if let threads {
            guard threads >= 1 else { throw CLIError("--threads must be at least 1, got \(threads)") }
            Runtime.threads = threads
        }
        let directory = try model.map { URL(fileURLWithPath: $0) } ?? Self.defaultModelDirectory()
        return try SentenceEncoder(modelDirectory: directory)
    }

    /// The folder Scripts/fetch_minilm.sh fetches all-MiniLM-L6-v2 into: `$NEURAL_MODEL_CACHE/all-MiniLM-L6-v2`
    /// when that variable is set, else `.cache/models/all-MiniLM-L6-v2` in the nearest folder above the
    /// current directory or above this executable (the repository it was built in) that has one.
    ///
    /// - Throws: ``CLIError`` saying where it looked and to run Scripts/fetch_minilm.sh.
    static func defaultModelDirectory() throws -> URL {
        let name = "all-MiniLM-L6-v2"
        var candidates: [URL] = []
        if let cache = ProcessInfo.processInfo.environment["NEURAL_MODEL_CACHE"], !cache.isEmpty {
            candidates.append(URL(fileURLWithPath: cache).appendingPathComponent(name))
        } else {
            var starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
            if let executable = Bundle.main.executableURL { starts.append(executable.resolvingSymlinksInPath().deletingLastPathComponent()) }
            for start in starts {
                var dir = start.standardizedFileURL
                while true {
                    candidates.append(dir.appendingPathComponent(".cache/models/\(name)"))
                    let parent = dir.deletingLastPathComponent()
                    if parent.path == dir.path { break }
                    dir = parent
                }
            }
        }
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }) {
            return found
        }
        let looked = ProcessInfo.processInfo.environment["NEURAL_MODEL_CACHE"].flatMap { $0.isEmpty ? nil : candidates.first?.path }
            ?? ".cache/models/\(name) above the current folder and above the neural executable"
        throw CLIError("no --model given and \(name) is not fetched (looked in \(looked)); run Scripts/fetch_minilm.sh (it prints the folder), or pass --model DIR")
    }
}

/// Reading a text file of one sentence per line, with errors naming the file and the line.
enum SentenceFile {
    /// The lines of the UTF-8 file at `path` (without their `\n` or `\r\n`; a byte-order mark is
    /// dropped; a last line without `\n` counts), given with `option`.
    ///
    /// - Throws: ``CLIError`` when the file is missing or unreadable, when a line is not UTF-8 (naming
    ///   the line number), or when it holds no non-blank line.
    static func lines(of path: String, option: String) throws -> [String] {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("\(option) \(path): no such file") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("\(option) \(path): cannot read the file; check that it is a file and its permissions")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        var lines: [String] = []
        var pieces = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
        if pieces.last?.isEmpty == true { pieces.removeLast() }
        for (i, piece) in pieces.enumerated() {
            let line = piece.last == 0x0D ? piece.dropLast() : piece
            guard let text = String(validating: line, as: UTF8.self) else {
                let column = firstInvalidByte(in: line)
                throw CLIError("\(option) \(path): line \(i + 1) is not valid UTF-8 (byte 0x\(String(line[line.startIndex + column], radix: 16, uppercase: true)) at byte \(column + 1) of the line); save the file as UTF-8")
            }
            lines.append(text)
        }
        guard lines.contains(where: { !$0.allSatisfy(\.isWhitespace) }) else {
            throw CLIError("\(option) \(path): the file has no sentences (it is empty or blank); give one sentence per line")
        }
        return lines
    }

    /// The offset of the first byte of `bytes` that does not start or continue a valid UTF-8 sequence.
    private static func firstInvalidByte(in bytes: ArraySlice<UInt8>) -> Int {
        var iterator = bytes.makeIterator(), parser = Unicode.UTF8.ForwardParser(), offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
        return Swift.min(offset, bytes.count - 1)
    }
}
