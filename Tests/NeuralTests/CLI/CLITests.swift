import Foundation
import Neural
import Testing

/// Runs the `neural` executable built beside the test bundle.
enum NeuralTool {
    static var executable: URL? {
        var candidates: [URL] = []
        if let dir = Bundle.main.executableURL?.deletingLastPathComponent() { candidates.append(dir.appendingPathComponent("neural")) }
        candidates.append(URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("neural"))
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        for config in ["release", "debug"] { candidates.append(root.appendingPathComponent(".build/\(config)/neural")) }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    struct Result { var status: Int32; var stdout: String; var stderr: String }

    static func run(_ arguments: [String], in directory: URL) throws -> Result {
        struct NotBuilt: Error {}
        guard let tool = executable else { throw NotBuilt() }
        return try run(program: tool, arguments, in: directory)
    }

    /// Runs `program` with `arguments` in `directory` and collects its exit status and output.
    /// `environment` entries are set on top of this process's environment.
    static func run(program: URL, _ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Result {
        let p = Process()
        p.executableURL = program
        p.arguments = arguments
        p.currentDirectoryURL = directory
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }

    static func temporaryDirectory() throws -> URL {
        let d = FileManager.default.temporaryDirectory.appendingPathComponent("neural-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
        return d
    }
}

@Suite("The neural tool", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct CLITests {
    /// Bad input: a non-zero exit, one `neural:` line on stderr naming the problem, no crash.
    private func expectCleanFailure(_ args: [String], mentions: String, in dir: URL, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let r = try NeuralTool.run(args, in: dir)
        #expect(r.status == 1, "exit status \(r.status) for \(args)", sourceLocation: sourceLocation)
        let first = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
        #expect(first.hasPrefix("neural: ") && first.contains(mentions), "stderr: \(r.stderr)", sourceLocation: sourceLocation)
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"), sourceLocation: sourceLocation)
    }

    @Test func trainOnDefaultsEndsWithSummaryAndPlots() throws {
        let dir = try NeuralTool.temporaryDirectory()
        let r = try NeuralTool.run(["train", "--epochs", "20", "--metrics-json", "m.json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("done: 20 epochs"))
        #expect(r.stdout.contains("test accuracy"))
        for f in ["neural-train.svg", "neural-train-regions.svg", "m.json"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f) missing")
        }
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("m.json"))) as? [String: Any]
        let epochs = try #require(json?["epochs"] as? [[String: Any]])
        #expect(epochs.count == 20)
        #expect(Set(epochs[0].keys) == ["epoch", "train_loss", "test_loss", "test_accuracy", "seconds"])
        let final = try #require(json?["final"] as? [String: Any])
        #expect(Set(final.keys) == ["epoch", "train_loss", "test_loss", "test_accuracy", "seconds", "samples_per_second", "total_seconds"])
        #expect(final["epoch"] as? Int == 20)
    }

    @Test func regressionMetricsJSONHasRMSEAndMAE() throws {
        let dir = try NeuralTool.temporaryDirectory()
        let r = try NeuralTool.run(["train", "--data", "house", "--epochs", "2", "--quiet", "--metrics-json", "m.json"], in: dir)
        #expect(r.status == 0, "\(r.stderr)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("m.json"))) as? [String: Any]
        let epochs = try #require(json?["epochs"] as? [[String: Any]])
        #expect(epochs.map { Set($0.keys) } == Array(repeating: ["epoch", "train_loss", "test_loss", "test_rmse", "test_mae", "seconds"], count: 2))
        let final = try #require(json?["final"] as? [String: Any])
        #expect(Set(final.keys) == ["epoch", "train_loss", "test_loss", "test_rmse", "test_mae", "seconds", "samples_per_second", "total_seconds"])
    }

    @Test func optimizerNamesIgnoreCaseAndBringTheirDefaultLearningRate() throws {
        let dir = try NeuralTool.temporaryDirectory()
        let sgd = try NeuralTool.run(["train", "--optimizer", "SGD", "--epochs", "1", "--checkpoint", "c.safetensors"], in: dir)
        #expect(sgd.status == 0, "\(sgd.stderr)")
        #expect(sgd.stdout.contains(", sgd lr 0.05 (cosine), "), "\(sgd.stdout)")
        // The saved configuration holds the canonical name: resuming with another spelling is the same run.
        let resumed = try NeuralTool.run(["train", "--optimizer", "sgd", "--epochs", "2", "--quiet", "--resume", "c.safetensors"], in: dir)
        #expect(resumed.status == 0 && resumed.stdout.contains("resumed after epoch 1"), "\(resumed.stdout)\(resumed.stderr)")
        let adam = try NeuralTool.run(["train", "--optimizer", "AdamW", "--schedule", "Constant", "--loss", "Cross-Entropy", "--epochs", "1"], in: dir)
        #expect(adam.stdout.contains(", adamw lr 0.01 (constant), cross-entropy, "), "\(adam.stdout)\(adam.stderr)")
    }

    @Test func unknownNamesListTheKnownOnes() throws {
        let dir = try NeuralTool.temporaryDirectory()
        try expectCleanFailure(["train", "--optimizer", "lion"], mentions: "unknown --optimizer 'lion'; use sgd, momentum, nesterov, adam, adam-amsgrad, adamw, adamw-amsgrad, rmsprop, adagrad, nadam or radam", in: dir)
        try expectCleanFailure(["train", "--loss", "hinge"], mentions: "unknown --loss 'hinge'; use cross-entropy, logistic, mse, half-mse, poisson, l1, smooth-l1 or huber", in: dir)
        try expectCleanFailure(["train", "--schedule", "step"], mentions: "unknown --schedule 'step'; use cosine, constant, multistep, cosine-restarts, onecycle, plateau or warmup-cosine", in: dir)
    }

    @Test func trainHelpListsEveryRegisteredName() throws {
        let r = try NeuralTool.run(["train", "--help"], in: NeuralTool.temporaryDirectory())
        #expect(r.status == 0)
        let help = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        let losses = Objective.registry.entries.map { "\($0.name): \($0.help)" }
        for line in ["sgd: plain gradient descent", "momentum: SGD with momentum 0.9", "nesterov: SGD with Nesterov momentum 0.9",
                     "adam: Adam, β = (0.9, 0.999) (default lr 0.001, 0.01 on spirals)", "adamw: AdamW", "rmsprop: RMSProp",
                     "cosine: cosine decay", "constant: the same learning rate"] + losses {
            #expect(help.contains(line), "--help lacks \"\(line)\": \(r.stdout)")
        }
    }

    @Test func resumeFromAMalformedConfigurationNamesFileAndField() throws {
        let dir = try NeuralTool.temporaryDirectory()
        #expect(try NeuralTool.run(["train", "--epochs", "1", "--quiet", "--checkpoint", "c.safetensors"], in: dir).status == 0)
        let url = dir.appendingPathComponent("c.safetensors")
        var ck = try Checkpoint.load(from: url)
        ck.config = #"{"data":"spirals","optimizer":"adam","lr":0.01,"loss":"cross-entropy","seed":"zero","batch_size":64}"#
        try ck.write(to: url)
        try expectCleanFailure(["train", "--epochs", "2", "--resume", "c.safetensors"],
                               mentions: "--resume c.safetensors: __metadata__ \"neural.config\" field \"seed\"", in: dir)
        ck.config = #"{"data":"spirals","optimizer":"adam","lr":0.01,"loss":"cross-entropy","seed":0}"#
        try ck.write(to: url)
        try expectCleanFailure(["train", "--epochs", "2", "--resume", "c.safetensors"], mentions: "has no field \"batch_size\"", in: dir)
        ck.config = #"{"data":"spirals","optimizer":"adam","lr":0.01,"loss":"cross-entropy","seed":0,"batch_size":32}"#
        try ck.write(to: url)
        try expectCleanFailure(["train", "--epochs", "2", "--resume", "c.safetensors"],
                               mentions: "the run was started with --batch-size 32, not 64", in: dir)
    }

    @Test func everyObjectiveHasOneRegistryEntryAndLookupIgnoresCase() {
        for objective in Objective.allCases {
            #expect(Objective.registry.entries.filter { $0.value == objective }.count == 1, "\(objective)")
            #expect(Objective.registry.entry(named: objective.description.uppercased())?.value == objective)
        }
        #expect(Objective.registry.entry(named: "hinge") == nil)
        #expect(Objective.halfMSE.description == "half-mse")
    }

    @Test func checkpointResumeAndEvaluateRoundTrip() throws {
        let dir = try NeuralTool.temporaryDirectory()
        #expect(try NeuralTool.run(["train", "--epochs", "2", "--quiet", "--checkpoint", "c.safetensors"], in: dir).status == 0)
        let resumed = try NeuralTool.run(["train", "--epochs", "4", "--quiet", "--resume", "c.safetensors", "--checkpoint", "c.safetensors"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("done: 4 epochs (resumed after epoch 2)"), "resumed at epoch 3: \(resumed.stdout)")
        let eval = try NeuralTool.run(["evaluate", "--checkpoint", "c.safetensors"], in: dir)
        #expect(eval.status == 0 && eval.stdout.contains("accuracy"), "\(eval.stdout)\(eval.stderr)")
    }

    @Test func negativeLearningRateIsRejected() throws {
        try expectCleanFailure(["train", "--lr", "-1"], mentions: "--lr", in: NeuralTool.temporaryDirectory())
    }

    @Test func unknownSpecTokenIsPointedAt() throws {
        let r = try NeuralTool.run(["train", "--model", "mlp(64) foo"], in: NeuralTool.temporaryDirectory())
        #expect(r.status == 1)
        #expect(r.stderr.contains("unknown layer \"foo\"") && r.stderr.contains("^^^"), "\(r.stderr)")
    }

    @Test func missingDataDirectoryIsReported() throws {
        try expectCleanFailure(["train", "--data", "mnist", "--data-dir", "/nonexistent/mnist"], mentions: "/nonexistent/mnist",
                               in: NeuralTool.temporaryDirectory())
    }

    /// Writes the four MNIST file names into `dir`, with `images` as the training images.
    private func fakeMNIST(_ dir: URL, images: Data) throws {
        for name in ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try Data().write(to: dir.appendingPathComponent(name))
        }
        try images.write(to: dir.appendingPathComponent("train-images-idx3-ubyte.gz"))
    }

    @Test func truncatedGzipIsReported() throws {
        let dir = try NeuralTool.temporaryDirectory()
        let real = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("shared/data/mnist/train-labels-idx1-ubyte.gz")
        let bytes = (try? Data(contentsOf: real)) ?? Data([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3, 0x63, 0x60])
        try fakeMNIST(dir, images: bytes.prefix(bytes.count / 2))
        try expectCleanFailure(["train", "--data", "mnist", "--data-dir", dir.path], mentions: "train-images-idx3-ubyte.gz", in: dir)
    }

    @Test func wrongIDXMagicIsReported() throws {
        let dir = try NeuralTool.temporaryDirectory()
        // A valid gzip stream whose content starts with the labels magic 2049 instead of 2051.
        let raw = Data([0, 0, 8, 1, 0, 0, 0, 1, 5])
        let gz = try gzip(raw, in: dir)
        try fakeMNIST(dir, images: gz)
        try expectCleanFailure(["train", "--data", "mnist", "--data-dir", dir.path], mentions: "magic", in: dir)
    }

    @Test func nonNumericCSVCellIsReported() throws {
        let dir = try NeuralTool.temporaryDirectory()
        try "a,b,y\n1,2,3\n4,x5,6\n7,8,9\n".write(to: dir.appendingPathComponent("bad.csv"), atomically: true, encoding: .utf8)
        try expectCleanFailure(["train", "--data", "bad.csv"], mentions: "bad.csv", in: dir)
    }

    @Test func checkpointThatDoesNotFitTheSpecIsReported() throws {
        let dir = try NeuralTool.temporaryDirectory()
        #expect(try NeuralTool.run(["train", "--epochs", "1", "--quiet", "--checkpoint", "c.safetensors"], in: dir).status == 0)
        try expectCleanFailure(["evaluate", "--checkpoint", "c.safetensors", "--model", "mlp(32)"], mentions: "does not fit", in: dir)
    }

    @Test func summaryCountsMatchEq7_22() throws {
        let r = try NeuralTool.run(["summary", "--model", "mlp(512,512)", "--input-shape", "784", "--outputs", "10"],
                                   in: NeuralTool.temporaryDirectory())
        #expect(r.status == 0)
        #expect(r.stdout.contains("669,706"), "\(r.stdout)")   // 785·512 + 513·512 + 513·10
    }

    /// gzip via the system tool (present wherever the tests run; zlib is what the reader uses).
    private func gzip(_ data: Data, in dir: URL) throws -> Data {
        let f = dir.appendingPathComponent("raw.bin")
        try data.write(to: f)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["gzip", "-kf", f.path]
        try p.run()
        p.waitUntilExit()
        return try Data(contentsOf: dir.appendingPathComponent("raw.bin.gz"))
    }
}
