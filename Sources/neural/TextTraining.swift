import ArgumentParser
import Foundation
import Neural

/// `neural train` on text (`--data shakespeare`, `--data FILE.txt`): a character (or byte) GPT or LSTM
/// (any ``LanguageModel``: `--model "gpt(…)"` or `--model "charlstm(…)"`).
///
/// Progress is counted in steps; every `--eval-every` steps is one "epoch" of the trainer (an
/// evaluation on the validation split, a checkpoint), so progress, plots, checkpoints and exact
/// resume work as for the other data. Each epoch draws its windows from a generator seeded by
/// (seed, epoch): a resumed run redraws the same windows and skips those already trained on.
enum TextData {
    /// Where `--data shakespeare` looks without `--data-dir`, in order.
    static let shakespeareSearchPath = ["$NEURAL_DATA/shakespeare", "data/shakespeare", "../shared/data/shakespeare",
                                        "../../shared/data/shakespeare"]

    /// Whether `--data NAME` names text: `shakespeare`, or a `.txt` / `.txt.gz` file.
    static func isText(_ name: String) -> Bool {
        let n = name.lowercased()
        return n == "shakespeare" || n.hasSuffix(".txt") || n.hasSuffix(".txt.gz")
    }

    /// The file `--data NAME` names.
    static func path(_ name: String, dataDir: String?) -> String {
        guard name.lowercased() == "shakespeare" else { return name }
        if let dataDir { return (dataDir as NSString).appendingPathComponent("shakespeare.txt.gz") }
        let env = ProcessInfo.processInfo.environment["NEURAL_DATA"]
        for p in shakespeareSearchPath {
            let dir = p.replacingOccurrences(of: "$NEURAL_DATA", with: env ?? "\u{0}")
            let file = (dir as NSString).appendingPathComponent("shakespeare.txt.gz")
            if !dir.contains("\u{0}"), FileManager.default.fileExists(atPath: file) { return file }
        }
        return "data/shakespeare/shakespeare.txt.gz"
    }

    /// Loads the corpus `--data NAME` names, with the character (`char`) or byte tokenizer.
    static func load(_ name: String, dataDir: String?, tokenizer: String) throws -> TextCorpus {
        guard ["char", "byte"].contains(tokenizer.lowercased()) else {
            throw CLIError("unknown --tokenizer '\(tokenizer)'; use char (the text's sorted characters) or byte (UTF-8 bytes)")
        }
        let file = path(name, dataDir: dataDir)
        guard FileManager.default.fileExists(atPath: file) else {
            throw CLIError("--data \(name): no such file \(file)" + (name.lowercased() == "shakespeare" ? "; pass --data-dir DIR holding shakespeare.txt.gz" : ""))
        }
        if let size = (try? FileManager.default.attributesOfItem(atPath: file))?[.size] as? Int {
            try MemoryBudget.check(Double(size) * 24, for: "the text \(file) (\(MemoryBudget.format(size)), read whole and tokenized)",
                                   hint: "use a smaller file or free memory")
        }
        return try TextCorpus.load(path: file, bytes: tokenizer.lowercased() == "byte")
    }

    /// The default model for text.
    static let defaultModel = "gpt(layers=4,heads=4,dim=128,context=128)"
}

/// A text model as the trainer sees it: ids `[batch, context]` → logits `[batch · context, vocabulary]`,
/// one row per label of a ``TextBatch``; its parameters are the model's, under the same names.
final class NextTokenModel: Module, Layer {
    let model: any LanguageModel
    init(_ model: any LanguageModel) { self.model = model; super.init() }
    override var children: [(name: String, module: Module)] { model.children }
    override var localParameters: [(name: String, parameter: Parameter)] { model.localParameters }
    func callAsFunction(_ ids: Tensor) -> Tensor {
        model(ids).reshaped([ids.shape[0] * ids.shape[1], model.vocabularySize])
    }
}

/// The settings of a text run, saved in its checkpoints (`neural.config`): ``RunConfig``'s fields
/// and the step counts, compared on `--resume`.
struct TextRunConfig: Codable {
    var data: String, optimizer: String, lr: Double, loss: String, seed: UInt64
    var batchSize: Int, steps: Int, evalEvery: Int, tokenizer: String, schedule: String, warmup: Int

    enum CodingKeys: String, CodingKey {
        case data, optimizer, lr, loss, seed, steps, tokenizer, schedule, warmup
        case batchSize = "batch_size", evalEvery = "eval_every"
    }
}

/// Step lines: `step 250/5000: train 2.1034 nats/char, val 2.0521 nats/char (perplexity 7.79), …`.
final class TextProgress: TrainingObserver {
    let quiet: Bool, evalEvery: Int, totalSteps: Int, context: Int
    let interactive = isatty(STDOUT_FILENO) == 1
    private var lastDraw = 0.0

    init(quiet: Bool, evalEvery: Int, totalSteps: Int, context: Int) {
        self.quiet = quiet
        self.evalEvery = evalEvery
        self.totalSteps = totalSteps
        self.context = context
    }

    func batchFinished(epoch: Int, epochs: Int, done: Int, total: Int, examples: Int, seconds: Double, loss: Double) {
        guard interactive && !quiet, seconds - lastDraw >= 0.1 || done == total else { return }
        lastDraw = done == total ? 0 : seconds
        print(String(format: "\rstep %d/%d  train %.4f nats/char  %.0f tokens/s ", (epoch - 1) * evalEvery + done, totalSteps, loss,
                     Double(examples * context) / Swift.max(seconds, 1e-9)), terminator: "")
        fflush(nil)
    }

    func epochFinished(_ r: EpochRecord, epochs: Int) {
        lastDraw = 0
        guard !quiet else { return }
        var line = (interactive ? "\r" : "") + String(format: "step %d/%d: train %.4f nats/char", Swift.min(r.epoch * evalEvery, totalSteps),
                                                       totalSteps, r.trainLoss)
        if let t = r.test {
            line += String(format: ", val %.4f nats/char (perplexity %.2f, next-char accuracy %.1f%%)", t.loss, Foundation.exp(t.loss),
                           100 * (t.accuracy ?? 0))
        }
        print(line + String(format: ", %.1f s, %.0f tokens/s", r.seconds, r.samplesPerSecond * Double(context)))
    }
}

extension TrainCommand {
    /// `neural train --data shakespeare | FILE.txt`: trains a GPT or a character LSTM; returns the exit status.
    func trainText(_ group: ProcessGroup) throws -> Int32 {
        guard group.size == 1 else { throw CLIError("text data trains on one process; run it without mpirun") }
        if epochs != nil { throw CLIError("text data counts optimizer steps: use --steps N (and --eval-every N), not --epochs") }
        if let steps, steps < 1 { throw CLIError("--steps must be at least 1, got \(steps)") }
        if let evalEvery, evalEvery < 1 { throw CLIError("--eval-every must be at least 1, got \(evalEvery)") }
        if let warmup, warmup < 0 { throw CLIError("--warmup must be at least 0, got \(warmup)") }
        if evalWindows < 1 { throw CLIError("--eval-windows must be at least 1, got \(evalWindows)") }
        let choices = try validateOptions(group, defaultOptimizer: "adamw", defaultSchedule: "warmup-cosine")
        let started = Date()
        let corpus = try TextData.load(dataOptions.data, dataDir: dataOptions.dataDir, tokenizer: tokenizer)
        let resumed = try loadResumeCheckpoint()
        let specText = model ?? resumed?.modelSpec ?? TextData.defaultModel
        guard LanguageModelSpec.isSpec(specText) else {
            throw CLIError("--model '\(specText)': text data trains a GPT or a character LSTM; use e.g. --model \"\(TextData.defaultModel)\" or --model \"\(CharLSTMConfig(vocabularySize: 1))\"")
        }
        let modelGenerator = RandomGenerator(seed: dataOptions.seed)
        let gpt = try LanguageModelSpec.make(specText, vocabularySize: corpus.tokenizer.vocabularySize, generator: modelGenerator)
        let config = gpt.spec
        let ctx = gpt.contextLength
        for (part, count) in [("training", corpus.trainCount), ("validation", corpus.validationCount)] where count < ctx + 2 {
            throw CLIError("--data \(dataOptions.data): the \(part) split has \(count) tokens, fewer than context+2 = \(ctx + 2); use a longer text or a smaller context (e.g. context=\(Swift.max(1, count / 2)) in --model)")
        }
        let seed = dataOptions.seed, batch = batchSize ?? 32
        let totalSteps = steps ?? 5000, every = Swift.min(evalEvery ?? 250, totalSteps)
        let epochCount = (totalSteps + every - 1) / every
        let net = NextTokenModel(gpt)
        let rate = lr ?? choices.optimizer.value.defaultLearningRate(data: corpus.name)
        let optimizer: Optimizer = choices.optimizer.name == "adamw"
            ? AdamW(net.trainableParameters, learningRate: rate, beta1: 0.9, beta2: 0.99, weightDecay: weightDecay ?? 0.01)
            : choices.optimizer.value.make([ParameterGroup(net.trainableParameters)], rate, weightDecay)
        let warmupSteps = warmup ?? Swift.min(100, totalSteps / 10)
        var context = ScheduleContext(steps: totalSteps, batchesPerEpoch: every, options: choices.scheduleOptions, warmup: warmupSteps)
        let setup = try choices.schedule.value(&context)
        try context.options.finish(known: choices.schedule.help)
        if setup.plateau != nil { throw CLIError("--schedule plateau steps on a test loss per epoch; text training takes a schedule over steps (e.g. warmup-cosine, cosine, onecycle)") }
        optimizer.schedule = setup.schedule
        let runConfig = TextRunConfig(data: corpus.name, optimizer: choices.optimizer.name, lr: rate, loss: "cross-entropy", seed: seed,
                                      batchSize: batch, steps: totalSteps, evalEvery: every, tokenizer: corpus.tokenizer.kindName,
                                      schedule: choices.schedule.name, warmup: warmupSteps)
        // Resume: the same run's weights, optimizer, generator and place.
        var resumeState: TrainingState?
        if let ck = resumed, let path = resume {
            let saved: TextRunConfig
            do { saved = try ck.decodeConfig(TextRunConfig.self) } catch {
                throw CLIError("--resume \(path): not a checkpoint of a text run (\(error)); resume with the options it was written with")
            }
            let pairs = [("--data", saved.data, runConfig.data), ("--batch-size", "\(saved.batchSize)", "\(batch)"),
                         ("--seed", "\(saved.seed)", "\(seed)"), ("--steps", "\(saved.steps)", "\(totalSteps)"),
                         ("--eval-every", "\(saved.evalEvery)", "\(every)"), ("--optimizer", saved.optimizer, runConfig.optimizer),
                         ("--tokenizer", saved.tokenizer, runConfig.tokenizer), ("--schedule", saved.schedule, runConfig.schedule),
                         ("--warmup", "\(saved.warmup)", "\(warmupSteps)")]
            if let (option, was, now) = pairs.first(where: { $0.1 != $0.2 }) {
                throw CLIError("--resume \(path): the run was started with \(option) \(was), not \(now); pass the same \(option) to resume it")
            }
            guard try ck.tokenizer() == corpus.tokenizer else {
                throw CLIError("--resume \(path): its tokenizer differs from \(corpus.name)'s; resume with the same --data")
            }
            do { _ = try ck.apply(to: net) } catch { throw CLIError("--resume \(path): does not fit \(config): \(error)") }
            try ck.restore(optimizer: optimizer)
            if ck.generatorStates["model"] != nil { try ck.restore(generator: modelGenerator, name: "model") }
            resumeState = ck.trainingState
        }
        let checkpointPath = checkpoint ?? resume
        func save(_ state: TrainingState) throws {
            guard let path = checkpointPath else { return }
            var ck = Checkpoint(model: gpt, optimizer: optimizer, modelSpec: config, epoch: state.epoch)
            ck.setConfig(runConfig)
            ck.generatorStates["model"] = modelGenerator.stateWords
            ck.trainingState = state
            ck.setTokenizer(corpus.tokenizer)
            do { try ck.write(to: URL(fileURLWithPath: path)) } catch {
                throw CLIError("cannot write the checkpoint \(path): \(error)")
            }
        }
        let validation = TextWindows.evenlySpacedOffsets(count: evalWindows, range: corpus.trainCount..<corpus.tokens.count, context: ctx)
        let valBatches = stride(from: 0, to: validation.count, by: 32).map {
            TextBatch(tokens: corpus.tokens, offsets: Array(validation[$0..<Swift.min($0 + 32, validation.count)]), context: ctx)
        }
        let trainer = Trainer(model: net, optimizer: optimizer, objective: .crossEntropy)
        trainer.cancellation = StopSignals.cancellation
        trainer.detectAnomalies = detectAnomalies
        let progress = TextProgress(quiet: quiet, evalEvery: every, totalSteps: totalSteps, context: ctx)
        trainer.observer = progress
        if !quiet {
            print("neural: \(corpus.name) (\(corpus.trainCount) train, \(corpus.validationCount) validation \(corpus.tokenizer.kindName)s, vocabulary \(gpt.vocabularySize)), "
                  + "model \(config) (\(gpt.parameterCount) parameters), \(choices.optimizer.name) lr \(rate) (\(choices.schedule.name)), "
                  + "\(totalSteps) steps of \(batch)×\(ctx), \(Runtime.kernelLevel) kernels")
        }
        var skip = resumeState?.batch ?? 0
        let records: [EpochRecord]
        do {
            records = try withExtendedLifetime(progress) {
                try trainer.fit(
                    epochs: epochCount, batchesPerEpoch: every,
                    train: { epoch in
                        defer { skip = 0 }
                        return TextWindows(tokens: corpus.tokens, range: 0..<corpus.trainCount, context: ctx, batchSize: batch,
                                           batches: Swift.min(every, totalSteps - (epoch - 1) * every), seed: seed &+ 2, epoch: epoch,
                                           firstBatch: skip)
                    },
                    evaluate: { valBatches }, resume: resumeState,
                    onStep: { state in
                        if let hook = Self.testStepHook { hook(state.step) }
                        guard let n = checkpointEvery, state.step % n == 0, state.batch < every else { return }
                        try save(state)
                    },
                    onEpochEnd: { _ in try save(trainer.state) })
            }
        } catch let e as NonFiniteError {
            throw CLIError(e.description + (checkpointPath.map { "; the last checkpoint \($0) holds the state before it" } ?? ""))
        }
        if trainer.wasCancelled {
            let state = trainer.state
            if checkpointPath != nil { try save(state) }
            let line = "neural: stopped by \(StopSignals.name(StopSignals.received)) at step \(state.step)"
                + (checkpointPath.map { "; saved \($0); continue with: \(Self.resumeCommand(checkpoint: $0))" } ?? "; nothing saved (without --checkpoint FILE a stopped run cannot be resumed)")
            FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
        }
        let history = trainer.state.history
        let final = history.last?.test ?? trainer.evaluate(valBatches)
        let trainSeconds = records.reduce(0) { $0 + $1.seconds }
        let stepsRun = records.reduce(0) { $0 + Swift.min(every, totalSteps - ($1.epoch - 1) * every) }
        let tokensPerSecond = Double(stepsRun * batch * ctx) / Swift.max(trainSeconds, 1e-9)
        print((trainer.wasCancelled ? "stopped: " : "done: ") + "\(trainer.state.step) steps in "
              + String(format: "%.1f s, %.0f tokens/s; val loss %.4f nats/char (perplexity %.2f)", Date().timeIntervalSince(started),
                       tokensPerSecond, final.loss, Foundation.exp(final.loss)))
        if let metricsJson {
            try writeText(MetricsDocument(history, final: final, samplesPerSecond: tokensPerSecond, totalSeconds: Date().timeIntervalSince(started)).json(),
                          to: metricsJson)
        }
        if !history.isEmpty {
            let points = history.map { r in
                HistoryPoint(epoch: Swift.min(r.epoch * every, totalSteps), trainLoss: r.trainLoss, testLoss: r.test?.loss,
                             testAccuracy: r.test?.accuracy, testRMSE: nil, seconds: r.seconds)
            }
            try Figures.history(points, title: "\(corpus.name): \(config) (x: steps, loss in nats/char)").write(to: URL(fileURLWithPath: plot))
            if !quiet { print("plot: \(plot)") }
        }
        let signal = StopSignals.received
        return signal == 0 ? 0 : 128 + signal
    }
}
