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
    @Option(help: "Write a checkpoint (safetensors) after every epoch (atomically: a kill never leaves a torn file).")
    var checkpoint: String?
    @Option(help: "Also write the checkpoint every N optimisation steps, inside epochs (needs --checkpoint or --resume).")
    var checkpointEvery: Int?
    @Option(help: "Resume exactly from a checkpoint written by --checkpoint (same data, seed and batch size); keeps checkpointing to it unless --checkpoint names another file.")
    var resume: String?
    @Flag(help: "Check every operation for NaN/Inf and name the first one that produces it (slower).")
    var detectAnomalies = false
    @Option(help: "Write the training curves as SVG.")
    var plot = "neural-train.svg"
    @Option(help: "Write per-epoch metrics as JSON.")
    var metricsJson: String?
    @Flag(help: "Print only the final summary.")
    var quiet = false

    func run() throws {
        // Under `mpirun` (built with the MPI trait) every rank runs this; an error on one rank
        // aborts all of them instead of leaving the others waiting in an allreduce.
        let group = ProcessGroup.world
        try reportingErrors { try group.abortingOnError { try train(group) } }
    }

    private func train(_ group: ProcessGroup) throws {
        if let lr, !(lr > 0 && lr.isFinite) { throw CLIError("--lr must be a positive number, got \(lr)") }
        if let epochs, epochs < 1 { throw CLIError("--epochs must be at least 1, got \(epochs)") }
        if let patience, patience < 1 { throw CLIError("--patience must be at least 1, got \(patience)") }
        if let batchSize, batchSize < 1 { throw CLIError("--batch-size must be at least 1, got \(batchSize)") }
        if let checkpointEvery {
            guard checkpointEvery >= 1 else { throw CLIError("--checkpoint-every must be at least 1, got \(checkpointEvery)") }
            guard checkpoint != nil || resume != nil else { throw CLIError("--checkpoint-every needs --checkpoint FILE (or --resume FILE) to write to") }
        }
        if let threads {
            guard threads >= 1 else { throw CLIError("--threads must be at least 1, got \(threads)") }
            Runtime.threads = threads
        } else if group.localSize > 1 {
            Runtime.threads = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount / group.localSize)
        }
        let root = group.isRoot
        let started = Date()
        let prepared = try dataOptions.load()
        let seed = dataOptions.seed
        let resumed = try resume.map { path -> Checkpoint in
            guard FileManager.default.fileExists(atPath: path) else { throw CLIError("--resume \(path): no such file") }
            do {
                return try Checkpoint.load(from: URL(fileURLWithPath: path))
            } catch {
                throw CLIError("--resume \(path): cannot resume from it: \(error)")
            }
        }
        let checkpointPath = checkpoint ?? resume
        if let checkpointPath { Self.removeStaleTemporaries(of: checkpointPath) }
        let specText = model ?? resumed?.modelSpec ?? Self.defaultModel(prepared.name)
        let spec = try ModelSpec.parse(specText)
        // Initialises the parameters, then draws the dropout masks: checkpointed as generator "model".
        let modelGenerator = RandomGenerator(seed: seed)
        let net = try spec.build(inputShape: prepared.inputShape, outputSize: prepared.outputSize,
                                 generator: modelGenerator)
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
        let globalBatch = batchSize ?? Self.defaultBatchSize(prepared.name)
        if globalBatch % group.size != 0 {
            throw CLIError("--batch-size \(globalBatch) is the global batch and must be divisible by the \(group.size) ranks (each takes batch/ranks examples per step); use e.g. \(Swift.max(1, globalBatch / group.size) * group.size)")
        }
        let loader = DataLoader(prepared.train, batchSize: globalBatch, generator: shuffling,
                                shard: group.size > 1 ? DataShard(rank: group.rank, count: group.size) : nil)
        let testLoader = DataLoader(prepared.test, batchSize: 1000, shuffle: false)

        switch schedule {
        case "cosine": opt.schedule = .cosine(steps: epochCount * loader.batchesPerEpoch, minimum: 0)
        case "constant": break
        default: throw CLIError("unknown --schedule '\(schedule)'; use cosine or constant")
        }
        let effectiveBatchSize = batchSize ?? Self.defaultBatchSize(prepared.name)
        let config = "{\"data\":\"\(prepared.name)\",\"optimizer\":\"\(optimizer)\",\"lr\":\(rate),\"loss\":\"\(objective)\",\"seed\":\(seed),\"batch_size\":\(effectiveBatchSize)}"
        var startEpoch = 1
        var resumeState: TrainingState?
        if let ck = resumed, let path = resume {
            try Self.checkSameRun(ck, path: path, current: config)
            _ = try ck.apply(to: net)
            try ck.restore(optimizer: opt)
            try ck.restore(generator: shuffling)
            if ck.generatorStates["model"] != nil { try ck.restore(generator: modelGenerator, name: "model") }
            if let s = ck.samplerState {
                guard s.permutation.count == prepared.train.count else {
                    throw CLIError("--resume \(path): saved for \(s.permutation.count) training examples, but \(prepared.name) has \(prepared.train.count); resume with the same --data and --seed")
                }
                loader.samplerState = s
            }
            startEpoch = (ck.epoch ?? 0) + 1
            resumeState = ck.trainingState
        }

        let trainer = Trainer(model: net, optimizer: opt, objective: objective)
        trainer.detectAnomalies = detectAnomalies
        if group.size > 1 { trainer.dataParallel = DataParallel(model: net, group: group) }
        if let t = prepared.targetScaler { trainer.targetScale = (t.mean[0], t.std[0]) }
        let progress = ConsoleProgress(quiet: quiet || !root)
        trainer.observer = progress
        if !quiet && root {
            if group.size > 1 { print("neural: data-parallel on \(group.size) ranks (\(group.backendName)), \(globalBatch / group.size) examples per rank per step, \(Runtime.threads) threads per rank") }
            print("neural: \(prepared.name) (\(prepared.train.count) train, \(prepared.test.count) test), model \(spec), "
                  + "\(net.parameterCount) parameters, \(optimizer) lr \(rate) (\(schedule)), \(objective), \(epochCount) epochs")
        }
        /// Everything that decides the rest of the run: weights and buffers, optimizer state (its
        /// step count drives the schedule), both generators, the sampler's place and the trainer's state.
        func writeCheckpoint(_ state: TrainingState, sampler: ShuffledBatchSampler.State?) throws {
            guard let checkpointPath, root else { return }
            var ck = Checkpoint(model: net, optimizer: opt, generator: shuffling, modelSpec: spec.description,
                                config: config, epoch: state.epoch)
            ck.generatorStates["model"] = modelGenerator.stateWords
            ck.samplerState = sampler
            ck.trainingState = state
            ck.setPreprocessing(prepared.preprocessing)
            try ck.write(to: URL(fileURLWithPath: checkpointPath))
        }
        let batchesPerEpoch = loader.batchesPerEpoch
        let records: [EpochRecord]
        do {
            records = try trainer.fit(
                epochs: epochCount, startEpoch: startEpoch, batchesPerEpoch: batchesPerEpoch,
                train: { _ in loader }, evaluate: { testLoader }, patience: patience, resume: resumeState,
                onStep: { state in
                    // Inside an epoch: the sampler has drawn the whole epoch's order; save the
                    // place of the next batch in it. (The epoch's end is saved below, after evaluation.)
                    guard let every = checkpointEvery, state.step % every == 0, state.batch < batchesPerEpoch else { return }
                    var sampler = loader.samplerState
                    sampler?.position = state.batch * loader.batchSize
                    try writeCheckpoint(state, sampler: sampler)
                },
                onEpochEnd: { _ in try writeCheckpoint(trainer.state, sampler: loader.samplerState) })
        } catch let e as NonFiniteError {
            throw CLIError(e.description + (checkpointPath.map { "; the last checkpoint \($0) holds the state before it" } ?? ""))
        }
        let history = trainer.state.history
        let total = Date().timeIntervalSince(started)
        let trainSeconds = records.reduce(0) { $0 + $1.seconds }
        let examples = Double(prepared.train.count * records.count)
        let final = history.last?.test ?? trainer.evaluate(testLoader)
        let resumedAt = resumeState.map { $0.batch > 0 ? "epoch \($0.epoch + 1), batch \($0.batch)" : "epoch \($0.epoch)" }
            ?? (resumed != nil ? "epoch \(startEpoch - 1)" : nil)
        var summary = "done: \(history.count) epochs" + (resumedAt.map { " (resumed after \($0))" } ?? "")
            + " in \(String(format: "%.1f", total)) s, "
            + "\(String(format: "%.0f", examples / Swift.max(trainSeconds, 1e-9))) samples/s; test loss \(String(format: "%.4f", final.loss))"
        if let a = final.accuracy { summary += String(format: ", test accuracy %.2f%%", a * 100) }
        if let r = final.rmse { summary += ", test RMSE \(money(r))" }
        if let m = final.mae { summary += ", test MAE \(money(m))" }
        guard root else { return }
        print(summary)
        if let dp = trainer.dataParallel, !quiet {
            let st = dp.statistics, steps = Double(Swift.max(st.steps, 1))
            print(String(format: "data-parallel: %d steps, %d buckets (%.2f MB/step), allreduce %.2f ms/step, %.1f%% of epoch time waiting for it",
                         st.steps, st.buckets, Double(st.bytesPerStep) / 1e6, st.allreduceSeconds / steps * 1e3,
                         100 * st.exposedSeconds / Swift.max(trainSeconds, 1e-9)))
        }

        if let metricsJson {
            try writeText(Self.metricsJSON(history, final: final, samplesPerSecond: examples / Swift.max(trainSeconds, 1e-9), totalSeconds: total),
                          to: metricsJson)
        }
        let points = history.map { r in
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

    /// Refuses to resume a run with settings that would change its course silently.
    static func checkSameRun(_ ck: Checkpoint, path: String, current: String) throws {
        func fields(_ json: String?) -> [String: String] {
            guard let data = json?.data(using: .utf8),
                  let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return [:] }
            return object.mapValues { "\($0)" }
        }
        let saved = fields(ck.config), now = fields(current)
        let options = ["data": "--data", "seed": "--seed", "batch_size": "--batch-size", "optimizer": "--optimizer", "loss": "--loss"]
        for key in options.keys.sorted() {
            guard let was = saved[key], let is_ = now[key], was != is_ else { continue }
            throw CLIError("--resume \(path): the run was started with \(options[key]!) \(was), not \(is_); pass the same \(options[key]!) to resume it")
        }
    }

    /// Removes `.NAME.tmp-*` files next to the checkpoint, left by a run killed while writing it.
    static func removeStaleTemporaries(of path: String) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        let prefix = "." + url.lastPathComponent + ".tmp-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
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
