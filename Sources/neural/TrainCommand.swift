import ArgumentParser
import Foundation
import Neural

/// `neural train`: trains a model on a dataset, with progress, checkpoints, metrics and a plot.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (defaults: an MLP on generated two spirals, in a few seconds).",
        discussion: "Model spec tokens: \(ModelSpec.tokenNames.joined(separator: " ")). Example: --model \"conv2d(32,3) relu maxpool(2) flatten linear(128) relu linear(10)\"")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Model spec, e.g. \"mlp(512,512)\" (default depends on the data).")
    var model: String?
    @Option(help: "cross-entropy | logistic | mse | half-mse | poisson (default: cross-entropy for labels, mse for values).")
    var loss: String?
    @Option(help: "sgd | momentum | nesterov | adam | adamw | rmsprop")
    var optimizer = "adam"
    @Option(parsing: .unconditional, help: "Learning rate (default: 0.001 for adam/adamw/rmsprop, 0.05 for sgd; 0.01 with adam on spirals).")
    var lr: Double?
    @Option(help: "Learning-rate schedule: cosine (decay to 0 over the run) or constant.")
    var schedule = "cosine"
    @Option(help: "Examples per mini-batch.")
    var batchSize: Int?
    @Option(help: "Epochs (default depends on the data).")
    var epochs: Int?
    @Option(help: "Stop early when the test loss has not improved for this many epochs.")
    var patience: Int?
    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?
    @Option(help: "Write a checkpoint (safetensors) after every epoch.")
    var checkpoint: String?
    @Option(help: "Resume from a checkpoint written by --checkpoint.")
    var resume: String?
    @Option(help: "Write the training curves as SVG.")
    var plot = "neural-train.svg"
    @Option(help: "Write per-epoch metrics as JSON.")
    var metricsJson: String?
    @Flag(help: "Print only the final summary.")
    var quiet = false

    func run() throws {
        try reportingErrors { try train() }
    }

    private func train() throws {
        if let lr, !(lr > 0 && lr.isFinite) { throw CLIError("--lr must be a positive number, got \(lr)") }
        if let epochs, epochs < 1 { throw CLIError("--epochs must be at least 1, got \(epochs)") }
        if let patience, patience < 1 { throw CLIError("--patience must be at least 1, got \(patience)") }
        if let batchSize, batchSize < 1 { throw CLIError("--batch-size must be at least 1, got \(batchSize)") }
        if let threads {
            guard threads >= 1 else { throw CLIError("--threads must be at least 1, got \(threads)") }
            Runtime.threads = threads
        }
        let started = Date()
        let prepared = try dataOptions.load()
        let seed = dataOptions.seed
        let resumed = try resume.map { path -> Checkpoint in
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError("--resume \(path): no such file") }
            return try Checkpoint.load(from: URL(fileURLWithPath: path))
        }
        let specText = model ?? resumed?.modelSpec ?? Self.defaultModel(prepared.name)
        let spec = try ModelSpec.parse(specText)
        let net = try spec.build(inputShape: prepared.inputShape, outputSize: prepared.outputSize,
                                 generator: RandomGenerator(seed: seed))
        let objective = try loss.map { name -> Objective in
            guard let o = Objective(rawValue: name) else {
                throw CLIError("unknown --loss '\(name)'; use \(Objective.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return o
        } ?? prepared.defaultObjective
        if objective.isClassification != prepared.train.isClassification {
            throw CLIError("--loss \(objective) needs \(objective.isClassification ? "class labels" : "real-valued targets") but \(prepared.name) has \(prepared.train.isClassification ? "class labels" : "real-valued targets")")
        }
        let rate = lr ?? Self.defaultLearningRate(optimizer, data: prepared.name)
        let opt = try Self.makeOptimizer(optimizer, parameters: net.trainableParameters, lr: rate)
        let epochCount = epochs ?? Self.defaultEpochs(prepared.name)
        let shuffling = RandomGenerator(seed: seed &+ 2)
        let loader = DataLoader(prepared.train, batchSize: batchSize ?? Self.defaultBatchSize(prepared.name), generator: shuffling)
        let testLoader = DataLoader(prepared.test, batchSize: 1000, shuffle: false)

        switch schedule {
        case "cosine": opt.schedule = .cosine(steps: epochCount * loader.batchesPerEpoch, minimum: 0)
        case "constant": break
        default: throw CLIError("unknown --schedule '\(schedule)'; use cosine or constant")
        }
        var startEpoch = 1
        if let ck = resumed {
            _ = try ck.apply(to: net)
            try ck.restore(optimizer: opt)
            try ck.restore(generator: shuffling)
            if let s = ck.samplerState { loader.samplerState = s }
            startEpoch = (ck.epoch ?? 0) + 1
        }

        let trainer = Trainer(model: net, optimizer: opt, objective: objective)
        if let t = prepared.targetScaler { trainer.targetScale = (t.mean[0], t.std[0]) }
        let progress = ConsoleProgress(quiet: quiet)
        trainer.observer = progress
        if !quiet {
            print("neural: \(prepared.name) (\(prepared.train.count) train, \(prepared.test.count) test), model \(spec), "
                  + "\(net.parameterCount) parameters, \(optimizer) lr \(rate) (\(schedule)), \(objective), \(epochCount) epochs")
        }
        let config = "{\"data\":\"\(prepared.name)\",\"optimizer\":\"\(optimizer)\",\"lr\":\(rate),\"loss\":\"\(objective)\",\"seed\":\(seed)}"
        let records = try trainer.fit(
            epochs: epochCount, startEpoch: startEpoch, batchesPerEpoch: loader.batchesPerEpoch,
            train: { _ in loader }, evaluate: { testLoader }, patience: patience,
            onEpochEnd: { record in
                if let checkpoint {
                    var ck = Checkpoint(model: net, optimizer: opt, generator: shuffling, modelSpec: spec.description,
                                        config: config, epoch: record.epoch)
                    ck.samplerState = loader.samplerState
                    ck.setPreprocessing(prepared.preprocessing)
                    try ck.write(to: URL(fileURLWithPath: checkpoint))
                }
            })
        let total = Date().timeIntervalSince(started)
        let trainSeconds = records.reduce(0) { $0 + $1.seconds }
        let examples = Double(prepared.train.count * records.count)
        let final = records.last?.test ?? trainer.evaluate(testLoader)
        var summary = "done: \(records.count) epochs in \(String(format: "%.1f", total)) s, "
            + "\(String(format: "%.0f", examples / Swift.max(trainSeconds, 1e-9))) samples/s; test loss \(String(format: "%.4f", final.loss))"
        if let a = final.accuracy { summary += String(format: ", test accuracy %.2f%%", a * 100) }
        if let r = final.rmse { summary += ", test RMSE \(money(r))" }
        if let m = final.mae { summary += ", test MAE \(money(m))" }
        print(summary)

        if let metricsJson {
            try writeText(Self.metricsJSON(records, final: final, samplesPerSecond: examples / Swift.max(trainSeconds, 1e-9), totalSeconds: total),
                          to: metricsJson)
        }
        let points = records.map { r in
            HistoryPoint(epoch: r.epoch, trainLoss: r.trainLoss, testLoss: r.test?.loss,
                         testAccuracy: r.test?.accuracy, testRMSE: r.test?.rmse, seconds: r.seconds)
        }
        if !points.isEmpty {
            try Figures.history(points, title: "\(prepared.name): \(spec)").write(to: URL(fileURLWithPath: plot))
            var written = [plot]
            if let (x, y) = prepared.points {
                let regions = (plot as NSString).deletingPathExtension + "-regions.svg"
                try Figures.decisionRegions(model: net, points: x, labels: y).write(to: URL(fileURLWithPath: regions))
                written.append(regions)
            }
            if !quiet { print("plot: \(written.joined(separator: ", "))") }
        }
    }

    static func defaultModel(_ data: String) -> String {
        switch data {
        case "spirals": return "mlp(64,64)"
        case "mnist": return "mlp(512,512)"
        default: return "mlp(64,64)"
        }
    }

    static func defaultEpochs(_ data: String) -> Int {
        switch data {
        case "spirals": return 200
        case "mnist": return 10
        case "house": return 100
        default: return 30
        }
    }

    static func defaultBatchSize(_ data: String) -> Int { data == "mnist" ? 128 : 64 }

    static func defaultLearningRate(_ optimizer: String, data: String) -> Double {
        switch optimizer {
        case "sgd", "momentum", "nesterov": return 0.05
        default: return data == "spirals" ? 0.01 : 1e-3
        }
    }

    static func makeOptimizer(_ name: String, parameters: [Parameter], lr: Double) throws -> Optimizer {
        switch name.lowercased() {
        case "sgd": return SGD(parameters, learningRate: lr)
        case "momentum": return SGD(parameters, learningRate: lr, momentum: 0.9)
        case "nesterov": return SGD(parameters, learningRate: lr, momentum: 0.9, nesterov: true)
        case "adam": return Adam(parameters, learningRate: lr)
        case "adamw": return AdamW(parameters, learningRate: lr)
        case "rmsprop": return RMSProp(parameters, learningRate: lr)
        default: throw CLIError("unknown --optimizer '\(name)'; use sgd, momentum, nesterov, adam, adamw or rmsprop")
        }
    }

    /// `{"epochs": [{"epoch", "train_loss", "test_loss", "test_accuracy"|"test_rmse", "seconds"}…], "final": {…}}`.
    static func metricsJSON(_ records: [EpochRecord], final: EvaluationMetrics, samplesPerSecond: Double, totalSeconds: Double) -> String {
        func num(_ x: Double) -> String { x.isFinite ? "\(x)" : "null" }
        func metrics(_ m: EvaluationMetrics?) -> [String] {
            guard let m else { return [] }
            var f = ["\"test_loss\": \(num(m.loss))"]
            if let a = m.accuracy { f.append("\"test_accuracy\": \(num(a))") }
            if let r = m.rmse { f.append("\"test_rmse\": \(num(r))") }
            if let e = m.mae { f.append("\"test_mae\": \(num(e))") }
            return f
        }
        let epochs = records.map { r in
            "    {" + (["\"epoch\": \(r.epoch)", "\"train_loss\": \(num(r.trainLoss))"] + metrics(r.test) + ["\"seconds\": \(num(r.seconds))"]).joined(separator: ", ") + "}"
        }
        var final = ["\"epoch\": \(records.last?.epoch ?? 0)", "\"train_loss\": \(num(records.last?.trainLoss ?? .nan))"] + metrics(final)
        final += ["\"seconds\": \(num(records.last?.seconds ?? 0))", "\"samples_per_second\": \(num(samplesPerSecond))", "\"total_seconds\": \(num(totalSeconds))"]
        return "{\n  \"epochs\": [\n" + epochs.joined(separator: ",\n") + "\n  ],\n  \"final\": {" + final.joined(separator: ", ") + "}\n}\n"
    }
}
