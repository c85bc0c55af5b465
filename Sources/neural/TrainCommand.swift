import ArgumentParser
import Foundation
import Neural

/// `neural train`: trains a model on a dataset, with progress, checkpoints, metrics and a plot.
///
/// A run takes five steps: `validateOptions`, `buildDataAndModel`, `resumeIfAsked`, `runTraining`
/// and `report`.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model (defaults: an MLP on generated two spirals, in a few seconds).",
        discussion: "Model spec tokens: \(ModelSpec.tokenNames.joined(separator: " ")). Example: --model \"conv2d(32,3) relu maxpool(2) flatten linear(128) relu linear(10)\"")

    @OptionGroup var dataOptions: DataOptions
    @Option(help: "Model spec, e.g. \"mlp(512,512)\" (default depends on the data).")
    var model: String?
    @Option(help: ArgumentHelp("predict | autoencode.", discussion: """
        predict (default): learn the data's labels or targets; an output layer sized from the data is appended to --model.
        autoencode: learn to reconstruct each input (targets = inputs, --loss mse by default); --model must map the input's shape to itself (no output layer is appended), e.g. on MNIST "\(TrainCommand.defaultAutoencoder)"; the reconstructions of test images are drawn beside --plot (…-reconstructions.svg).
        """))
    var task = "predict"
    @Option(help: ArgumentHelp("\(Objective.registry.names.joined(separator: " | ")) (default: cross-entropy for labels, mse for values).",
                               discussion: Objective.registry.helpLines))
    var loss: String?
    @Option(help: ArgumentHelp(Registries.optimizers.names.joined(separator: " | ") + " (default adam; text: adamw with β₂ 0.99)",
                               discussion: Registries.optimizers.helpLines))
    var optimizer: String?
    @Option(parsing: .unconditional, help: "Learning rate (default: the optimizer's, listed under --optimizer).")
    var lr: Double?
    @Option(help: ArgumentHelp("Learning-rate schedule: \(Registries.schedules.names.joined(separator: " | ")), optionally followed by key=value options (PyTorch's names), e.g. \"multistep milestones=30,60 gamma=0.1\" (default cosine; text: warmup-cosine).",
                               discussion: Registries.schedules.helpLines))
    var schedule: String?
    @Option(help: "Weight decay λ (default: the optimizer's: 0.01 for adamw, 0 for the others).")
    var weightDecay: Double?
    @Flag(help: "No weight decay on biases and normalisation scales/shifts (parameters of rank ≤ 1): two parameter groups, the weight matrices and kernels keeping --weight-decay.")
    var noDecayNormsAndBiases = false
    @Flag(help: ArgumentHelp("Augment the training images (MNIST) with random transforms, drawn anew every epoch from the seed, the epoch and the example; the test images are left as they are.",
                             discussion: "mnist: \(DataChoice.mnistAugmentation)."))
    var augment = false
    @Option(help: "Clip each gradient element to [-v, v] before the step (PyTorch's clip_grad_value_).")
    var clipValue: Double?
    @Option(help: "Clip the gradients' global L2 norm to this value before the step, after --clip-value (PyTorch's clip_grad_norm_).")
    var clipNorm: Double?
    @Option(help: "Examples per mini-batch.")
    var batchSize: Int?
    @Option(help: "Epochs (default depends on the data).")
    var epochs: Int?
    @Option(help: "Stop early when the test loss has not improved for this many epochs.")
    var patience: Int?
    @Option(help: "Threads for the kernels (default: all cores).")
    var threads: Int?
    @Option(help: "Write a checkpoint (safetensors) after every epoch (atomically: a kill never leaves a torn file), and where Ctrl-C, SIGTERM or SIGUSR1 (mpirun forwards it to every rank) stops the run.")
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
    @Option(help: "Text data: optimizer steps in all (default 5000).")
    var steps: Int?
    @Option(help: "Text data: steps between evaluations on the validation split and checkpoints (default 250).")
    var evalEvery: Int?
    @Option(help: "Text data: windows of the validation split each evaluation reads (evenly spaced).")
    var evalWindows = 256
    @Option(help: "Text data: char (the text's sorted distinct characters) or byte (UTF-8 bytes).")
    var tokenizer = "char"
    @Option(help: "Warm-up steps of --schedule warmup-cosine (default: 100, or a tenth of a shorter run).")
    var warmup: Int?

    func run() throws {
        // Under `mpirun` (built with the MPI trait) every rank runs this; an error on one rank
        // aborts all of them instead of leaving the others waiting in an allreduce.
        let group = ProcessGroup.world
        StopSignals.install()
        var status: Int32 = 0
        try reportingErrors { status = try group.abortingOnError { try train(group) } }
        if status != 0 { throw ExitCode(status) }
    }

    /// Trains; returns the exit status: 0, or 128 + the number of the signal that stopped the run.
    private func train(_ group: ProcessGroup) throws -> Int32 {
        if TextData.isText(dataOptions.data) { return try trainText(group) }
        let choices = try validateOptions(group)
        let started = Date()
        let run = try buildDataAndModel(choices, group: group)
        let point = try resumeIfAsked(run)
        let (trainer, records) = try runTraining(run, from: point, group: group)
        if trainer.wasCancelled, let path = run.checkpointPath {
            try stopWithCheckpoint(run, trainer: trainer, path: path, group: group)
        } else {
            if trainer.wasCancelled && group.isRoot { printStop(run, trainer.state, saved: nil, ranks: group.size) }
            try report(run, trainer: trainer, records: records, from: point, started: started, root: group.isRoot,
                       stopped: trainer.wasCancelled)
        }
        let signal = StopSignals.received
        if signal != 0 && !trainer.wasCancelled {
            // The signal came after the last step: the run is complete and saved, nothing to resume.
            if group.isRoot {
                FileHandle.standardError.write("neural: \(StopSignals.name(signal)) arrived after the last step; the run is complete\n".data(using: .utf8)!)
            }
            return 0
        }
        return signal == 0 ? 0 : 128 + signal
    }

    // MARK: Step 1: options (TrainOptions.swift)

    // MARK: Step 2: data and model

    /// What a run trains and with what: the data, the model and its generator, the objective, the
    /// optimizer (with its schedule), the loaders, and the configuration its checkpoints record.
    private struct Run {
        var prepared: PreparedData
        var spec: ModelSpec
        var net: Sequential
        /// Initialises the parameters, then draws the dropout masks: checkpointed as generator "model".
        var modelGenerator: RandomGenerator
        var objective: Objective
        var optimizer: Optimizer
        var scheduleName: String
        /// The `--schedule plateau` schedule, stepped by the trainer after every epoch.
        var plateau: ReduceLROnPlateau?
        var epochCount: Int
        /// Shuffles the training examples: checkpointed as the default generator.
        var shuffling: RandomGenerator
        var loader: DataLoader
        var testLoader: DataLoader
        var config: RunConfig
        var resumed: Checkpoint?
        var checkpointPath: String?
    }

    /// Loads the data and the `--resume` checkpoint, builds the model, the optimizer and the loaders.
    private func buildDataAndModel(_ choices: Choices, group: ProcessGroup) throws -> Run {
        if augment && isAutoencoder {
            throw CLIError("--augment transforms the inputs of --task predict; --task autoencode learns to reconstruct its inputs, so leave --augment out")
        }
        var prepared = try DataChoice.load(dataOptions.data, dataDir: dataOptions.dataDir, target: dataOptions.target,
                                           seed: dataOptions.seed, augment: augment)
        if isAutoencoder { prepared = prepared.autoencoding() }
        let seed = dataOptions.seed
        let resumed = try loadResumeCheckpoint()
        let checkpointPath = checkpoint ?? resume
        let spec = try ModelSpec.parse(model ?? resumed?.modelSpec
                                       ?? (isAutoencoder ? Self.defaultAutoencoder : Self.defaultModel(prepared.name)))
        let globalBatch = batchSize ?? Self.defaultBatchSize(prepared.name)
        try Self.checkMemory(spec, prepared, batch: Swift.min(globalBatch / Swift.max(group.size, 1), prepared.train.count),
                             optimizer: choices.optimizer)
        let modelGenerator = RandomGenerator(seed: seed)
        if isAutoencoder {
            let out = try spec.outputShape(inputShape: prepared.inputShape, outputSize: nil)
            guard out.reduce(1, *) == prepared.inputShape.reduce(1, *) else {
                throw CLIError("--task autoencode needs a model whose output has the input's shape \(prepared.inputShape), but \(spec) gives \(out); end it with e.g. convtranspose2d(\(prepared.inputShape.first ?? 1),3,stride=2,padding=1,output_padding=1)")
            }
        }
        let net = try spec.build(inputShape: prepared.inputShape, outputSize: prepared.modelOutputSize, generator: modelGenerator)
        let objective = choices.loss ?? prepared.defaultObjective
        if objective.isClassification != prepared.train.isClassification {
            throw CLIError("--loss \(objective) needs \(objective.isClassification ? "class labels" : "real-valued targets") but \(prepared.name) has \(prepared.train.isClassification ? "class labels" : "real-valued targets")")
        }
        let rate = lr ?? choices.optimizer.value.defaultLearningRate(data: prepared.name)
        let parameters = net.trainableParameters
        let groups = noDecayNormsAndBiases ? ParameterGroup.decayAndNoDecay(parameters) : [ParameterGroup(parameters)]
        let optimizer = choices.optimizer.value.make(groups, rate, weightDecay)
        let epochCount = epochs ?? Self.defaultEpochs(prepared.name)
        let shuffling = RandomGenerator(seed: seed &+ 2)
        if globalBatch % group.size != 0 {
            throw CLIError("--batch-size \(globalBatch) is the global batch and must be divisible by the \(group.size) ranks (each takes batch/ranks examples per step); use e.g. \(Swift.max(1, globalBatch / group.size) * group.size)")
        }
        // The transforms' randomness is a function of (seed, epoch, example): nothing to checkpoint
        // beyond the sampler, whose state holds the epoch.
        let loader = DataLoader(prepared.train, batchSize: globalBatch, generator: shuffling,
                                shard: group.size > 1 ? DataShard(rank: group.rank, count: group.size) : nil,
                                transform: prepared.trainTransform, transformSeed: seed &+ 3)
        var context = ScheduleContext(steps: epochCount * loader.batchesPerEpoch, batchesPerEpoch: loader.batchesPerEpoch,
                                      options: choices.scheduleOptions, warmup: warmup)
        let setup = try choices.schedule.value(&context)
        try context.options.finish(known: choices.schedule.help)
        optimizer.schedule = setup.schedule
        let config = RunConfig(data: prepared.name, optimizer: choices.optimizer.name, lr: rate, loss: objective.description,
                               seed: seed, batchSize: globalBatch, noDecayNormsAndBiases: noDecayNormsAndBiases ? true : nil,
                               augment: augment ? true : nil)
        return Run(prepared: prepared, spec: spec, net: net, modelGenerator: modelGenerator, objective: objective,
                   optimizer: optimizer, scheduleName: choices.schedule.name, plateau: setup.plateau, epochCount: epochCount, shuffling: shuffling,
                   loader: loader, testLoader: DataLoader(prepared.test, batchSize: 1000, shuffle: false),
                   config: config, resumed: resumed, checkpointPath: checkpointPath)
    }

    // MARK: Step 3: resume

    /// Where training starts: the first epoch, the trainer's saved state, and the point the
    /// summary names ("epoch 3" or "epoch 4, batch 2"; `nil` for a fresh run).
    private struct ResumePoint {
        var startEpoch = 1
        var state: TrainingState?
        var description: String?
    }

    /// Restores the `--resume` checkpoint's weights, optimizer state, generators and sampler
    /// after checking that it comes from a run with the same settings.
    private func resumeIfAsked(_ run: Run) throws -> ResumePoint {
        guard let ck = run.resumed, let path = resume else { return ResumePoint() }
        try Self.checkSameRun(ck, path: path, current: run.config)
        _ = try ck.apply(to: run.net)
        try ck.restore(optimizer: run.optimizer)
        try ck.restore(generator: run.shuffling)
        if ck.generatorStates["model"] != nil { try ck.restore(generator: run.modelGenerator, name: "model") }
        if let s = ck.samplerState {
            guard s.permutation.count == run.prepared.train.count else {
                throw CLIError("--resume \(path): saved for \(s.permutation.count) training examples, but \(run.prepared.name) has \(run.prepared.train.count); resume with the same --data and --seed")
            }
            run.loader.samplerState = s
        }
        let startEpoch = (ck.epoch ?? 0) + 1
        let state = ck.trainingState
        let at = state.map { $0.batch > 0 ? "epoch \($0.epoch + 1), batch \($0.batch)" : "epoch \($0.epoch)" } ?? "epoch \(startEpoch - 1)"
        return ResumePoint(startEpoch: startEpoch, state: state, description: at)
    }

    // MARK: Step 4: training

    /// Trains from `point` to the last epoch (or early stopping), writing checkpoints as asked.
    private func runTraining(_ run: Run, from point: ResumePoint, group: ProcessGroup) throws -> (Trainer, [EpochRecord]) {
        let trainer = Trainer(model: run.net, optimizer: run.optimizer, objective: run.objective)
        trainer.cancellation = StopSignals.cancellation
        trainer.detectAnomalies = detectAnomalies
        trainer.clipValue = clipValue
        trainer.clipNorm = clipNorm
        trainer.plateau = run.plateau
        if group.size > 1 { trainer.dataParallel = DataParallel(model: run.net, group: group) }
        if let t = run.prepared.targetScaler { trainer.targetScale = (t.mean[0], t.std[0]) }
        let progress = ConsoleProgress(quiet: quiet || !group.isRoot)
        trainer.observer = progress
        if !quiet && group.isRoot { printHeader(run, group: group) }
        let loader = run.loader, batchesPerEpoch = loader.batchesPerEpoch, root = group.isRoot
        do {
            let records = try withExtendedLifetime(progress) {
                try trainer.fit(
                    epochs: run.epochCount, startEpoch: point.startEpoch, batchesPerEpoch: batchesPerEpoch,
                    train: { _ in loader }, evaluate: { run.testLoader }, patience: patience, resume: point.state,
                    onStep: { state in
                        if let hook = Self.testStepHook { hook(state.step) }
                        // Inside an epoch: the sampler has drawn the whole epoch's order; save the
                        // place of the next batch in it. (The epoch's end is saved after evaluation.)
                        guard let every = checkpointEvery, state.step % every == 0, state.batch < batchesPerEpoch else { return }
                        var sampler = loader.samplerState
                        sampler?.position = state.batch * loader.batchSize
                        try writeCheckpoint(run, state, sampler: sampler, root: root)
                    },
                    onEpochEnd: { _ in try writeCheckpoint(run, trainer.state, sampler: loader.samplerState, root: root) })
            }
            return (trainer, records)
        } catch let e as NonFiniteError {
            throw CLIError(e.description + (run.checkpointPath.map { "; the last checkpoint \($0) holds the state before it" } ?? ""))
        }
    }

    /// Test hook: with `NEURAL_TEST_STEP_REPORT_MS=N` in the environment, every step prints
    /// `neural-test: step S` on standard error and then pauses N ms, so a test can send a signal
    /// while training is at a known step.
    static let testStepHook: (@Sendable (Int) -> Void)? = {
        guard let text = ProcessInfo.processInfo.environment["NEURAL_TEST_STEP_REPORT_MS"], let ms = UInt32(text) else { return nil }
        return { step in
            FileHandle.standardError.write("neural-test: step \(step)\n".data(using: .utf8)!)
            let end = Date().addingTimeInterval(Double(ms) / 1000)   // the whole pause, even when a signal interrupts it
            while case let left = end.timeIntervalSinceNow, left > 0 { usleep(UInt32(left * 1e6) + 1) }
        }
    }()

    /// A run stopped by a signal with `--checkpoint`: saves where it stopped (rank 0; the other
    /// ranks wait for it), and prints the line that says where and how to continue.
    private func stopWithCheckpoint(_ run: Run, trainer: Trainer, path: String, group: ProcessGroup) throws {
        let state = trainer.state
        var sampler = run.loader.samplerState
        // Inside an epoch the sampler has drawn the epoch's whole order: save the next batch's place.
        if state.batch > 0 { sampler?.position = state.batch * run.loader.batchSize }
        try writeCheckpoint(run, state, sampler: sampler, root: group.isRoot)
        group.barrier()
        if group.isRoot { printStop(run, state, saved: path, ranks: group.size) }
    }

    /// The one line of a run a signal stopped: where, and the checkpoint with the exact command that
    /// continues it (under `mpirun`, prefixed with `mpirun -np RANKS`), or that nothing was saved.
    private func printStop(_ run: Run, _ state: TrainingState, saved path: String?, ranks: Int) {
        let signal = StopSignals.name(StopSignals.received)
        let at = state.batch > 0
            ? "in epoch \(state.epoch + 1)/\(run.epochCount) after batch \(state.batch) of \(run.loader.batchesPerEpoch) (step \(state.step))"
            : "after epoch \(state.epoch)/\(run.epochCount) (step \(state.step))"
        let line = path.map { "neural: stopped by \(signal) \(at); saved \($0); continue with: \(ranks > 1 ? "mpirun -np \(ranks) " : "")\(Self.resumeCommand(checkpoint: $0))" }
            ?? "neural: stopped by \(signal) \(at); nothing saved (without --checkpoint FILE a stopped run cannot be resumed)"
        FileHandle.standardError.write((line + "\n").data(using: .utf8)!)
    }

    /// The run's header line (and the data-parallel line under `mpirun`).
    private func printHeader(_ run: Run, group: ProcessGroup) {
        if group.size > 1 {
            print("neural: data-parallel on \(group.size) ranks (\(group.backendName)), \(run.config.batchSize / group.size) examples per rank per step, \(Runtime.threads) threads per rank")
        }
        let p = run.prepared
        print("neural: \(p.name) (\(p.train.count) train, \(p.test.count) test), model \(run.spec), "
              + "\(run.net.parameterCount) parameters, \(run.config.optimizer) lr \(run.config.lr) (\(run.scheduleName)), "
              + "\(run.objective), \(run.epochCount) epochs, \(Runtime.kernelLevel) kernels")
    }

    /// Writes everything that decides the rest of the run (root only): weights and buffers,
    /// optimizer state (its step count drives the schedule), both generators, the sampler's place
    /// and the trainer's state.
    private func writeCheckpoint(_ run: Run, _ state: TrainingState, sampler: ShuffledBatchSampler.State?, root: Bool) throws {
        guard let path = run.checkpointPath, root else { return }
        var ck = Checkpoint(model: run.net, optimizer: run.optimizer, generator: run.shuffling, modelSpec: run.spec.description,
                            epoch: state.epoch)
        ck.setConfig(run.config)
        ck.generatorStates["model"] = run.modelGenerator.stateWords
        ck.samplerState = sampler
        ck.trainingState = state
        ck.setPreprocessing(run.prepared.preprocessing)
        do {
            try ck.write(to: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("cannot write the checkpoint \(path): \(error)")
        }
    }

    // MARK: Step 5: report

    /// Prints the summary (root only) and writes the metrics JSON and the plots; `stopped`: a
    /// signal ended the run early (the summary starts "stopped:" instead of "done:").
    private func report(_ run: Run, trainer: Trainer, records: [EpochRecord], from point: ResumePoint, started: Date, root: Bool,
                        stopped: Bool = false) throws {
        let history = trainer.state.history
        let total = Date().timeIntervalSince(started)
        let trainSeconds = records.reduce(0) { $0 + $1.seconds }
        let samplesPerSecond = Double(run.prepared.train.count * records.count) / Swift.max(trainSeconds, 1e-9)
        let final = history.last?.test ?? trainer.evaluate(run.testLoader)
        guard root else { return }
        var summary = (stopped ? "stopped: " : "done: ") + "\(history.count) epochs" + (point.description.map { " (resumed after \($0))" } ?? "")
            + " in \(String(format: "%.1f", total)) s, "
            + "\(String(format: "%.0f", samplesPerSecond)) samples/s; test loss \(String(format: "%.4f", final.loss))"
        if let a = final.accuracy { summary += String(format: ", test accuracy %.2f%%", a * 100) }
        if let r = final.rmse { summary += ", test RMSE \(money(r))" }
        if let m = final.mae { summary += ", test MAE \(money(m))" }
        print(summary)
        if let dp = trainer.dataParallel, !quiet {
            let st = dp.statistics, steps = Double(Swift.max(st.steps, 1))
            print(String(format: "data-parallel: %d steps, %d buckets (%.2f MB/step), allreduce %.2f ms/step, %.1f%% of epoch time waiting for it",
                         st.steps, st.buckets, Double(st.bytesPerStep) / 1e6, st.allreduceSeconds / steps * 1e3,
                         100 * st.exposedSeconds / Swift.max(trainSeconds, 1e-9)))
        }
        if let metricsJson {
            try writeText(MetricsDocument(history, final: final, samplesPerSecond: samplesPerSecond, totalSeconds: total).json(), to: metricsJson)
        }
        try writePlots(run, history: history)
    }

    /// The training curves (and, on 2-D data, the decision regions) as SVG.
    private func writePlots(_ run: Run, history: [EpochRecord]) throws {
        guard !history.isEmpty else { return }
        let points = history.map { r in
            HistoryPoint(epoch: r.epoch, trainLoss: r.trainLoss, testLoss: r.test?.loss,
                         testAccuracy: r.test?.accuracy, testRMSE: r.test?.rmse, seconds: r.seconds)
        }
        try Figures.history(points, title: "\(run.prepared.name): \(run.spec)").write(to: URL(fileURLWithPath: plot))
        var written = [plot]
        if run.prepared.isAutoencoder && run.prepared.inputShape.count >= 2 {
            let grid = (plot as NSString).deletingPathExtension + "-reconstructions.svg"
            try Figures.reconstructions(model: run.net, inputs: run.prepared.test.inputs,
                                        title: "\(run.prepared.name) test images and their reconstructions: \(run.spec)")
                .write(to: URL(fileURLWithPath: grid))
            written.append(grid)
        }
        if let (x, y) = run.prepared.points {
            let regions = (plot as NSString).deletingPathExtension + "-regions.svg"
            try Figures.decisionRegions(model: run.net, points: x, labels: y).write(to: URL(fileURLWithPath: regions))
            written.append(regions)
        }
        if !quiet { print("plot: \(written.joined(separator: ", "))") }
    }

    // MARK: Defaults

    /// Whether `--task autoencode` was given.
    private var isAutoencoder: Bool { task.lowercased() == "autoencode" }

    /// The default model of `--task autoencode` (for [1, 28, 28] images): two stride-2 convolutions
    /// down to 32 × 7 × 7, two transposed convolutions back up to 1 × 28 × 28.
    static let defaultAutoencoder = "conv2d(16,3,stride=2,padding=1) relu conv2d(32,3,stride=2,padding=1) relu "
        + "convtranspose2d(16,3,stride=2,padding=1,output_padding=1) relu convtranspose2d(1,3,stride=2,padding=1,output_padding=1)"

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
}
