import Foundation
import Neural
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The Shakespeare corpus of ../shared/data (nil where it is not present).
private let shakespeare: String? = {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    for dir in ["../shared/data/shakespeare", "../../shared/data/shakespeare"] {
        let file = root.appendingPathComponent(dir).appendingPathComponent("shakespeare.txt.gz").standardizedFileURL.path
        if FileManager.default.fileExists(atPath: file) { return (file as NSString).deletingLastPathComponent }
    }
    return nil
}()

@Suite("neural train and generate on text", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct TextCLITests {
    /// Bad input: exit status 1 and one `neural:` line naming the problem, no crash.
    private func expectCleanFailure(_ args: [String], mentions: String, in dir: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try NeuralTool.run(args, in: dir)
        #expect(r.status == 1, "exit status \(r.status) for \(args): \(r.stderr)", sourceLocation: sourceLocation)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("neural: ") && lines[0].contains(mentions), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
    }

    /// A small text file of `repeats` lines in `dir`.
    private func writeText(_ dir: URL, repeats: Int = 200) throws -> String {
        let text = (0..<repeats).map { "Line \($0 % 10): to be, or not to be, that is the question.\n" }.joined()
        try Data(text.utf8).write(to: dir.appendingPathComponent("play.txt"))
        return "play.txt"
    }

    @Test(arguments: ["gpt(layers=1,heads=2,dim=16,context=16)", "charlstm(hidden=16,layers=2,embed=8,context=16)"])
    func trainsOnATextFileResumesExactlyAndGenerates(model: String) throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try writeText(dir)
        let common = ["train", "--data", file, "--model", model, "--batch-size", "4",
                      "--steps", "12", "--eval-every", "4", "--eval-windows", "8"]
        let full = try NeuralTool.run(common + ["--checkpoint", "full.safetensors", "--metrics-json", "m.json"], in: dir)
        #expect(full.status == 0, "\(full.stderr)")
        #expect(full.stdout.contains("step 4/12: train") && full.stdout.contains("nats/char") && full.stdout.contains("perplexity"), "\(full.stdout)")
        #expect(full.stdout.contains("done: 12 steps"), "\(full.stdout)")
        // Stop with SIGINT at step 6 (inside the second evaluation interval), then resume: the same weights, bit for bit.
        let part = try InterruptTests.launch(common + ["--checkpoint", "part.safetensors", "--quiet"], in: dir, signalAt: 6, signals: [SIGINT])
        #expect(part.stderr.contains("stopped by SIGINT") && part.stderr.contains("--resume part.safetensors"), "\(part.stderr)")
        let resumed = try NeuralTool.run(common + ["--resume", "part.safetensors"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Checkpoint.load(from: dir.appendingPathComponent("full.safetensors"), resumeState: false)
        let b = try Checkpoint.load(from: dir.appendingPathComponent("part.safetensors"), resumeState: false)
        #expect(a.tensors.keys.sorted() == b.tensors.keys.sorted())
        for (k, t) in a.tensors { #expect(t.scalars(as: Double.self) == b.tensors[k]!.scalars(as: Double.self), "\(k) differs after resume") }
        #expect(a.modelSpec == model)
        #expect(try a.tokenizer() == TextTokenizer(charactersOf: String(decoding: Data(contentsOf: dir.appendingPathComponent(file)), as: UTF8.self)))

        let greedy = try NeuralTool.run(["generate", "--checkpoint", "full.safetensors", "--prompt", "Line", "--length", "30",
                                         "--temperature", "0"], in: dir)
        #expect(greedy.status == 0, "\(greedy.stderr)")
        #expect(greedy.stdout.hasPrefix("Line") && greedy.stdout.unicodeScalars.count == 4 + 30 + 1, "\(greedy.stdout.debugDescription)")
        let again = try NeuralTool.run(["generate", "--checkpoint", "full.safetensors", "--prompt", "Line", "--length", "30",
                                        "--temperature", "0"], in: dir)
        #expect(again.stdout == greedy.stdout)
        let s1 = try NeuralTool.run(["generate", "--checkpoint", "full.safetensors", "--prompt", "to", "--length", "40", "--top-k", "5", "--seed", "3"], in: dir)
        let s2 = try NeuralTool.run(["generate", "--checkpoint", "full.safetensors", "--prompt", "to", "--length", "40", "--top-k", "5", "--seed", "3"], in: dir)
        #expect(s1.status == 0 && s1.stdout == s2.stdout, "\(s1.stderr)")
    }

    @Test func badInputIsOneLineEach() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = try writeText(dir)
        try Data().write(to: dir.appendingPathComponent("empty.txt"))
        try Data([0x61, 0xFF, 0x62]).write(to: dir.appendingPathComponent("binary.txt"))
        try expectCleanFailure(["train", "--data", "empty.txt"], mentions: "empty.txt", in: dir)
        try expectCleanFailure(["train", "--data", "binary.txt"], mentions: "not UTF-8", in: dir)
        try expectCleanFailure(["train", "--data", file, "--model", "gpt(heads=3)"], mentions: "divisible by heads=3", in: dir)
        try expectCleanFailure(["train", "--data", file, "--model", "mlp(8)"], mentions: "text data trains a GPT", in: dir)
        try expectCleanFailure(["train", "--data", file, "--model", "charlstm(hidden=0)"], mentions: "hidden must be a positive integer", in: dir)
        try expectCleanFailure(["train", "--data", file, "--model", "charlstm(size=8)"], mentions: "unknown key 'size'", in: dir)
        try expectCleanFailure(["train", "--data", file, "--model", "gpt(context=100000)"], mentions: "smaller context", in: dir)
        let small = try NeuralTool.run(["train", "--data", file, "--model", "gpt(layers=1,heads=1,dim=8,context=8)", "--steps", "1",
                                        "--eval-windows", "2", "--batch-size", "2", "--checkpoint", "t.safetensors", "--quiet"], in: dir)
        #expect(small.status == 0, "\(small.stderr)")
        try expectCleanFailure(["generate", "--checkpoint", "t.safetensors", "--prompt", "ROMEO!"], mentions: "not in the model's vocabulary", in: dir)
        try expectCleanFailure(["generate", "--checkpoint", "t.safetensors", "--length", "0"], mentions: "--length must be at least 1", in: dir)
        try expectCleanFailure(["generate", "--checkpoint", "t.safetensors", "--prompt", ""], mentions: "--prompt is empty", in: dir)
        try expectCleanFailure(["generate", "--checkpoint", "none.safetensors"], mentions: "no such file", in: dir)
        let mlp = try NeuralTool.run(["train", "--epochs", "1", "--checkpoint", "mlp.safetensors", "--quiet"], in: dir)
        #expect(mlp.status == 0, "\(mlp.stderr)")
        try expectCleanFailure(["generate", "--checkpoint", "mlp.safetensors"], mentions: "is not a text model", in: dir)
    }

    @Test(.enabled(if: TorchPeers.python != nil && shakespeare != nil,
                   "skipped: needs ../shared/data/shakespeare and a Python with torch and safetensors at $PEERS_DIR/venv/bin/python or /tmp/neural-peers/venv/bin/python"))
    func shakespeareWeightsLoadStrictlyInTheReferenceGPTAndGreedyTextMatchesTorch() throws {
        let python = try #require(TorchPeers.python), dataDir = try #require(shakespeare)
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let train = try NeuralTool.run(["train", "--data", "shakespeare", "--data-dir", dataDir, "--steps", "30", "--eval-every", "30",
                                        "--batch-size", "8", "--eval-windows", "8", "--checkpoint", "gpt.safetensors", "--quiet"], in: dir)
        try #require(train.status == 0, "\(train.stderr)")
        let script = URL(fileURLWithPath: TorchPeers.script).deletingLastPathComponent().appendingPathComponent("gpt_interop.py").path
        let torch = try TorchPeers.run(python, [script, dir.appendingPathComponent("gpt.safetensors").path, dir.path])
        try #require(torch.status == 0, "gpt_interop.py failed:\n\(torch.output)")
        #expect(torch.output.contains("strict=ok"))
        // The same logits within 1e-4.
        let io = try SafeTensors.read(from: dir.appendingPathComponent("torch_logits.safetensors"))
        let (gpt, _) = try loadGPT(dir.appendingPathComponent("gpt.safetensors"))
        let ids = try #require(io.tensors["ids"]), expected = try #require(io.tensors["logits"])
        let logits = withNoGrad { gpt(ids) }
        #expect(logits.shape == expected.shape)
        #expect(maxAbsDifference(logits.to(.float64), expected.to(.float64)) < 1e-4)
        // Greedy: 100 characters after "ROMEO:", as torch continues them.
        let line = try #require(torch.output.split(separator: "\n").first { $0.hasPrefix("greedy=") })
        let torchText = try JSONDecoder().decode(String.self, from: Data(line.dropFirst(7).utf8))
        let ours = try NeuralTool.run(["generate", "--checkpoint", "gpt.safetensors", "--prompt", "ROMEO:", "--length", "100",
                                       "--temperature", "0"], in: dir)
        #expect(ours.status == 0, "\(ours.stderr)")
        #expect(ours.stdout == "ROMEO:" + torchText + "\n", "neural: \(ours.stdout.debugDescription)\ntorch: \(torchText.debugDescription)")
    }

    /// The GPT of a checkpoint written by `neural train` on text.
    private func loadGPT(_ url: URL) throws -> (GPT, TextTokenizer) {
        let ck = try Checkpoint.load(from: url, resumeState: false)
        let tokenizer = try #require(try ck.tokenizer())
        let gpt = GPT(try GPTConfig.parse(try #require(ck.modelSpec), vocabularySize: tokenizer.vocabularySize))
        _ = try ck.apply(to: gpt)
        return (gpt.eval(), tokenizer)
    }
}
