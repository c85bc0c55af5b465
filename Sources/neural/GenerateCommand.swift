import ArgumentParser
import Foundation
import Neural

/// `neural generate`: continues a prompt with a text-model checkpoint (GPT or character LSTM)
/// written by `neural train` on text, streaming each character as it is produced.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a prompt with a text model (a checkpoint of neural train --data shakespeare or FILE.txt).",
        discussion: "Example: neural generate --checkpoint gpt.safetensors --prompt \"ROMEO:\" --length 500 --temperature 0.8 --top-k 40 --seed 1")

    @Option(help: "A checkpoint written by neural train --data shakespeare (or FILE.txt) --checkpoint FILE.")
    var checkpoint: String
    @Option(help: "The text to continue (every character must be in the model's vocabulary).")
    var prompt = "\n"
    @Option(help: "Characters (tokens) to generate.")
    var length = 500
    @Option(help: "Sampling temperature; 0 is greedy (always the most likely character).")
    var temperature = 0.8
    @Option(help: "Sample only among the k most likely characters (default: all).")
    var topK: Int?
    @Option(help: "Seed of the sampling generator (the same seed gives the same text).")
    var seed: UInt64 = 1
    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?

    func run() throws {
        try reportingErrors {
            guard length >= 1 else { throw CLIError("--length must be at least 1, got \(length)") }
            guard temperature >= 0 && temperature.isFinite else { throw CLIError("--temperature must be 0 (greedy) or positive, got \(temperature)") }
            if let topK, topK < 1 { throw CLIError("--top-k must be at least 1, got \(topK)") }
            if let threads {
                guard threads >= 1 else { throw CLIError("--threads must be at least 1, got \(threads)") }
                Runtime.threads = threads
            }
            guard !prompt.isEmpty else { throw CLIError("--prompt is empty; give at least one character to continue") }
            let (gpt, tokenizer) = try Self.load(checkpoint)
            let ids: [Int]
            do { ids = try tokenizer.encode(prompt) } catch { throw CLIError("--prompt: \(error)") }
            FileHandle.standardOutput.write(Data(prompt.utf8))
            var pending: [UInt8] = []
            _ = gpt.generate(prompt: ids, count: length, temperature: temperature, topK: topK,
                             generator: RandomGenerator(seed: seed)) { id in
                pending += tokenizer.utf8(of: id)
                // Byte tokens: hold back an incomplete UTF-8 sequence until its last byte arrives.
                if String(validating: pending, as: UTF8.self) != nil || pending.count >= 4 {
                    FileHandle.standardOutput.write(Data(pending))
                    pending.removeAll()
                }
            }
            FileHandle.standardOutput.write(Data(pending + [0x0A]))
        }
    }

    /// The text model (GPT or character LSTM) and tokenizer of the checkpoint at `path`.
    ///
    /// - Throws: ``CLIError`` when the file is missing, is not a text model's checkpoint, or does not fit its spec.
    static func load(_ path: String) throws -> (any LanguageModel, TextTokenizer) {
        let ck = try ModelLoading.checkpoint(at: path)
        guard let tokenizer = try ck.tokenizer() else {
            throw CLIError("--checkpoint \(path) is not a text model (no \"neural.tokenizer\" in its metadata\(ck.modelSpec.map { "; its model is \($0)" } ?? "")); generate needs a checkpoint of neural train --data shakespeare or --data FILE.txt")
        }
        guard let spec = ck.modelSpec, LanguageModelSpec.isSpec(spec) else {
            throw CLIError("--checkpoint \(path): its model \(ck.modelSpec ?? "(none)") is not a GPT or character-LSTM spec; generate needs a checkpoint of neural train on text")
        }
        let model = try LanguageModelSpec.make(spec, vocabularySize: tokenizer.vocabularySize)
        do { _ = try ck.apply(to: model) } catch { throw CLIError("--checkpoint \(path) does not fit \(spec) with vocabulary \(tokenizer.vocabularySize): \(error)") }
        model.eval()
        return (model, tokenizer)
    }
}
