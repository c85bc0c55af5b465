import ArgumentParser
import Foundation
import Neural

/// `neural train`'s checks before anything runs: the numeric options and the registry entries they
/// name, the memory a model and batch need, and whether a `--resume` checkpoint comes from the same run.
extension TrainCommand {
    /// The registry entries the options name.
    struct Choices {
        var optimizer: Registry<OptimizerChoice>.Entry
        var schedule: Registry<@Sendable (inout ScheduleContext) throws -> ScheduleSetup>.Entry
        var scheduleOptions: ScheduleOptions
        var loss: Objective?
    }

    /// Checks the numeric options, sets the kernels' thread count and looks up the named choices.
    func validateOptions(_ group: ProcessGroup, defaultOptimizer: String = "adam", defaultSchedule: String = "cosine") throws -> Choices {
        guard ["predict", "autoencode"].contains(task.lowercased()) else {
            throw CLIError("unknown --task '\(task)'; use predict or autoencode")
        }
        if let lr, !(lr > 0 && lr.isFinite) { throw CLIError("--lr must be a positive number, got \(lr)") }
        if let epochs, epochs < 1 { throw CLIError("--epochs must be at least 1, got \(epochs)") }
        if let patience, patience < 1 { throw CLIError("--patience must be at least 1, got \(patience)") }
        if let batchSize, batchSize < 1 { throw CLIError("--batch-size must be at least 1, got \(batchSize)") }
        if let weightDecay, !(weightDecay >= 0 && weightDecay.isFinite) { throw CLIError("--weight-decay must be a number ≥ 0, got \(weightDecay)") }
        if let clipValue, !(clipValue > 0 && clipValue.isFinite) { throw CLIError("--clip-value must be a positive number, got \(clipValue)") }
        if let clipNorm, !(clipNorm > 0 && clipNorm.isFinite) { throw CLIError("--clip-norm must be a positive number, got \(clipNorm)") }
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
        let (scheduleName, scheduleOptions) = try ScheduleOptions.parse(schedule ?? defaultSchedule)
        return Choices(optimizer: try Registries.optimizers.entry(named: optimizer ?? defaultOptimizer, option: "--optimizer"),
                       schedule: try Registries.schedules.entry(named: scheduleName, option: "--schedule"),
                       scheduleOptions: scheduleOptions,
                       loss: try loss.map { try Objective.registry.entry(named: $0, option: "--loss").value })
    }

    /// Refuses, before anything is allocated, a model whose parameters, gradients and optimizer
    /// state, or a batch whose activations on top of them, exceed the memory available (lower
    /// bounds: ``MemoryEstimate``).
    static func checkMemory(_ spec: ModelSpec, _ data: PreparedData, batch: Int, optimizer: Registry<OptimizerChoice>.Entry) throws {
        let estimate = try spec.memoryEstimate(inputShape: data.inputShape, outputSize: data.modelOutputSize)
        let model = estimate.modelBytes(optimizerSlots: optimizer.value.stateSlots)
        let parameters = estimate.parameters < 1e15 ? "\(Int(estimate.parameters))" : "\(estimate.parameters)"
        try MemoryBudget.check(model, for: "the model \(spec) (\(parameters) parameters, with their gradients and \(optimizer.name)'s state)",
                               hint: "use a smaller --model")
        let perExample = estimate.batchBytes(batchSize: 1)
        try MemoryBudget.check(model + estimate.batchBytes(batchSize: batch),
                               for: "a batch of \(batch) examples through the model \(spec) (\(MemoryBudget.format(Int(Swift.min(perExample, 1e18)))) per example on top of \(MemoryBudget.format(Int(Swift.min(model, 1e18)))) for the model)",
                               hint: "use a smaller --batch-size")
    }

    /// The checkpoint `--resume` names, if given.
    func loadResumeCheckpoint() throws -> Checkpoint? {
        guard let path = resume else { return nil }
        guard FileManager.default.fileExists(atPath: path) else { throw CLIError("--resume \(path): no such file") }
        do {
            return try Checkpoint.load(from: URL(fileURLWithPath: path))
        } catch {
            throw CLIError("--resume \(path): cannot resume from it: \(error)")
        }
    }

    /// Refuses to resume a run with settings that would change its course silently.
    ///
    /// - Throws: ``CLIError`` naming the first differing option, or the file and field of a
    ///   saved configuration that does not decode.
    static func checkSameRun(_ ck: Checkpoint, path: String, current: RunConfig) throws {
        guard let saved = try RunConfig.saved(in: ck, path: path) else { return }
        let options = [
            ("--batch-size", "\(saved.batchSize)", "\(current.batchSize)"),
            ("--data", saved.data, current.data),
            ("--loss", Objective.registry.entry(named: saved.loss)?.name ?? saved.loss, current.loss),
            ("--optimizer", Registries.optimizers.entry(named: saved.optimizer)?.name ?? saved.optimizer, current.optimizer),
            ("--seed", "\(saved.seed)", "\(current.seed)"),
            ("--no-decay-norms-and-biases", saved.noDecayNormsAndBiases == true ? "on" : "off", current.noDecayNormsAndBiases == true ? "on" : "off"),
            ("--augment", saved.augment == true ? "on" : "off", current.augment == true ? "on" : "off"),
        ]
        if let (option, was, now) = options.first(where: { $0.1 != $0.2 }) {
            throw CLIError("--resume \(path): the run was started with \(option) \(was), not \(now); pass the same \(option) to resume it")
        }
    }
}
