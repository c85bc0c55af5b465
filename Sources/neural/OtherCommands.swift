import ArgumentParser
import Foundation
import Neural

/// Rebuilding a model from a checkpoint (its spec in the metadata, or `--model`).
enum ModelLoading {
    /// Output size of the checkpoint's last layer: the first dimension of the highest-numbered `N.weight`.
    static func outputSize(of ck: Checkpoint) -> Int? {
        let weights = ck.tensors.filter { $0.key.hasSuffix(".weight") }
        let last = weights.compactMap { k, t -> (Int, Int)? in
            guard let i = Int(k.split(separator: ".").first ?? "") else { return nil }
            return (i, t.shape.first ?? 1)
        }.max { $0.0 < $1.0 }
        return last?.1
    }

    /// The weights and metadata of the checkpoint at `path` (given with `--checkpoint`; its resume
    /// state is not read); a missing file is a CLI error naming it.
    static func checkpoint(at path: String) throws -> Checkpoint {
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("--checkpoint \(path): no such file") }
        return try Checkpoint.load(from: URL(fileURLWithPath: path), resumeState: false)
    }

    /// The `seed` of the checkpoint's training configuration (`neural.config`), if it has one.
    ///
    /// - Throws: ``CLIError`` naming the file and the field when the configuration does not decode.
    static func trainingSeed(checkpoint path: String) throws -> UInt64? {
        /// The one field of the configuration `evaluate` needs (configurations saved through the
        /// library may hold other fields).
        struct Seed: Decodable { var seed: UInt64? }
        guard let config = try checkpoint(at: path).config else { return nil }
        do {
            return try JSONDecoder().decode(Seed.self, from: Data(config.utf8)).seed
        } catch {
            throw CLIError("--checkpoint \(path): __metadata__ \"\(Checkpoint.MetadataKey.config)\" has no valid \"seed\" (\(error)); pass --seed")
        }
    }

    static func load(checkpoint path: String, model: String?, inputShape: [Int]) throws -> (Sequential, Checkpoint, ModelSpec) {
        let ck = try checkpoint(at: path)
        guard let text = model ?? ck.modelSpec else {
            throw CLIError("\(path) carries no model spec in its metadata (e.g. written by PyTorch); pass --model SPEC")
        }
        let spec = try ModelSpec.parse(text)
        let net = try spec.build(inputShape: inputShape, outputSize: outputSize(of: ck))
        do {
            _ = try ck.apply(to: net)
        } catch {
            throw CLIError("\(path) does not fit the model \(spec) on inputs \(inputShape): \(error)")
        }
        return (net.eval(), ck, spec)
    }
}

/// `neural evaluate`: metrics of a checkpoint on a dataset's test split.
struct EvaluateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "evaluate", abstract: "Evaluate a checkpoint on a dataset's test split.")

    @Option(help: "A checkpoint written by neural train --checkpoint (or by PyTorch, with --model).")
    var checkpoint: String
    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Model spec, for checkpoints without one in their metadata.")
    var model: String?

    func run() throws {
        try reportingErrors {
            // The split and the standardisation depend on the seed: default to the training seed.
            let seed = try dataOptions.seedOption ?? ModelLoading.trainingSeed(checkpoint: checkpoint)
            let prepared = try dataOptions.load(seed: seed)
            let (net, _, _) = try ModelLoading.load(checkpoint: checkpoint, model: model, inputShape: prepared.inputShape)
            let objective = prepared.defaultObjective
            let m = evaluate(model: net, data: DataLoader(prepared.test, batchSize: 1000, shuffle: false), objective: objective,
                             targetScale: prepared.targetScaler.map { ($0.mean[0], $0.std[0]) } ?? (0, 1))
            var line = "\(prepared.name) test (\(m.count) examples): loss \(String(format: "%.4f", m.loss))"
            if let a = m.accuracy { line += String(format: ", accuracy %.2f%%", a * 100) }
            if let r = m.rmse { line += ", RMSE \(money(r))" }
            if let e = m.mae { line += ", MAE \(money(e))" }
            print(line)
        }
    }
}

/// `neural predict`: raw model outputs (or probabilities, or labels) for inputs in .npy or .csv.
struct PredictCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "predict", abstract: "Run a checkpoint on inputs from .npy or .csv and write the outputs as .npy.")

    @Option(help: "A checkpoint written by neural train --checkpoint (or by PyTorch, with --model).")
    var checkpoint: String
    @Option(help: "Inputs: X.npy ([n, …]) or X.csv (a header row with the training file's feature columns, then rows).")
    var input: String
    @Option(help: "Where to write the outputs (.npy).")
    var output: String
    @Option(help: "Model spec, for checkpoints without one in their metadata.")
    var model: String?
    @Flag(help: "Write softmax probabilities instead of logits (regression: outputs are in the target's units).")
    var probabilities = false
    @Flag(help: "Write predicted class indices instead of logits.")
    var labels = false

    func run() throws {
        try reportingErrors {
            if probabilities && labels { throw CLIError("choose one of --probabilities and --labels") }
            // Inputs go through the training data's encoding and standardisation, outputs back to
            // the target's units (both stored in the checkpoint by `neural train`).
            let prep = try ModelLoading.checkpoint(at: checkpoint).preprocessing() ?? Preprocessing()
            let x: Tensor
            if input.lowercased().hasSuffix(".csv") {
                x = try prep.inputs(CSVTable.read(path: input))
            } else {
                x = try prep.inputs(NPY.read(URL(fileURLWithPath: input)).to(.float32), source: input)
            }
            guard x.rank >= 1 else { throw CLIError("\(input): expected a batch [n, …], got a scalar") }
            let (net, _, _) = try ModelLoading.load(checkpoint: checkpoint, model: model, inputShape: Array(x.shape.dropFirst()))
            var y = withNoGrad { net(x) }
            if probabilities { y = y.softmax(axis: -1) }
            else if labels { y = y.argmax(axis: -1) }
            else { y = prep.outputs(y) }
            try NPY.write(y, to: URL(fileURLWithPath: output))
            print("wrote \(output): \(y.shape)")
        }
    }
}

/// `neural summary`: layers, output shapes and parameter counts of a model spec.
struct SummaryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "summary", abstract: "Show a model's layers, output shapes and parameter counts.")

    @Option(help: "Model spec, e.g. \"mlp(512,512)\".")
    var model: String
    @Option(help: "Shape of one example, e.g. 784 or 1,28,28.")
    var inputShape: String
    @Option(help: "Output size appended when the spec does not end in a linear layer.")
    var outputs: Int?

    func run() throws {
        try reportingErrors {
            let shape = inputShape.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !shape.isEmpty, shape.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw CLIError("--input-shape '\(inputShape)': give positive sizes separated by commas, e.g. 1,28,28")
            }
            let dims = shape.map { $0! }
            let net = try ModelSpec.parse(model).build(inputShape: dims, outputSize: outputs)
            print(ModelSummary(model: net, inputShape: dims))
        }
    }
}

/// `neural plot`: figures as SVG.
struct PlotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "plot", abstract: "Draw figures as SVG.",
                                                    subcommands: [Activations.self, History.self])

    /// Figure 7.3: the activation functions.
    struct Activations: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "activations", abstract: "Figure 7.3: ReLU, sigmoid, tanh, leaky ReLU, GELU, softplus.")
        @Option(help: "Output SVG file.")
        var output = "activations.svg"
        func run() throws {
            try reportingErrors {
                try Figures.activations().write(to: URL(fileURLWithPath: output))
                print("wrote \(output)")
            }
        }
    }

    /// Loss and accuracy/RMSE curves from --metrics-json.
    struct History: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "history", abstract: "Training curves from a --metrics-json file.")
        @Option(help: "A file written by neural train --metrics-json.")
        var metricsJson: String
        @Option(help: "Output SVG file.")
        var output = "history.svg"
        func run() throws {
            try reportingErrors {
                guard let data = FileManager.default.contents(atPath: metricsJson) else { throw CLIError("--metrics-json \(metricsJson): cannot read the file") }
                try Figures.history(metricsJSON: data).write(to: URL(fileURLWithPath: output))
                print("wrote \(output)")
            }
        }
    }
}
