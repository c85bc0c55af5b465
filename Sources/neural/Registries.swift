import Neural

/// An optimizer `--optimizer` can name: its default learning rates and how to build it.
struct OptimizerChoice: Sendable {
    /// The learning rate without `--lr`.
    let learningRate: Double
    /// The learning rate without `--lr` on the spirals data (its small problem takes larger Adam-family steps).
    let spiralsLearningRate: Double
    /// State tensors the optimizer keeps per parameter (Adam's two moments, momentum's velocity).
    var stateSlots = 0
    /// The optimizer over `groups` with learning rate `lr` and weight decay `weightDecay` (nil: the optimizer's default).
    let make: @Sendable (_ groups: [ParameterGroup], _ lr: Double, _ weightDecay: Double?) -> Optimizer

    /// The learning rate without `--lr` on the data named `data`.
    func defaultLearningRate(data: String) -> Double { data == "spirals" ? spiralsLearningRate : learningRate }
}

/// What a `--schedule` builds: a schedule of the step count, and/or a plateau schedule stepped
/// with the evaluation loss after every epoch.
struct ScheduleSetup {
    var schedule: LRSchedule?
    var plateau: ReduceLROnPlateau?
}

/// The run a `--schedule` is built for, and its `key=value` options.
struct ScheduleContext {
    /// Optimizer steps in the whole run.
    let steps: Int
    /// Optimizer steps per epoch.
    let batchesPerEpoch: Int
    /// The options after the schedule's name.
    var options: ScheduleOptions
    /// `--warmup`: warm-up steps of `warmup-cosine` (nil: its default).
    var warmup: Int? = nil
}

/// The `key=value` options after a `--schedule` name (PyTorch's parameter names), read by type;
/// an option that is given but never read is an error (``finish()``).
struct ScheduleOptions {
    let schedule: String
    private var values: [String: String]

    /// Parses `"name key=value key=value"`; returns the name and the options.
    ///
    /// - Throws: ``CLIError`` for an option without `=` or given twice.
    static func parse(_ text: String) throws -> (name: String, options: ScheduleOptions) {
        let words = text.split(whereSeparator: { $0 == " " || $0 == ":" }).map(String.init)
        guard let name = words.first else { throw CLIError("--schedule needs a name; use \(Registries.schedules.nameList)") }
        var values: [String: String] = [:]
        for word in words.dropFirst() {
            let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty else {
                throw CLIError("--schedule \(name): option '\(word)' is not key=value (e.g. --schedule \"multistep milestones=30,60 gamma=0.1\")")
            }
            guard values[parts[0]] == nil else { throw CLIError("--schedule \(name): option \(parts[0]) is given twice") }
            values[parts[0]] = parts[1]
        }
        return (name, ScheduleOptions(schedule: name, values: values))
    }

    private mutating func take<V>(_ key: String, _ kind: String, _ convert: (String) -> V?) throws -> V? {
        guard let text = values.removeValue(forKey: key) else { return nil }
        guard let v = convert(text) else { throw CLIError("--schedule \(schedule): \(key)=\(text) is not \(kind)") }
        return v
    }

    /// A real number option (finite).
    mutating func double(_ key: String) throws -> Double? {
        try take(key, "a number") { Double($0).flatMap { $0.isFinite ? $0 : nil } }
    }
    /// A whole-number option.
    mutating func int(_ key: String) throws -> Int? { try take(key, "a whole number") { Int($0) } }
    /// A comma-separated list of whole numbers.
    mutating func ints(_ key: String) throws -> [Int]? {
        try take(key, "a comma-separated list of whole numbers") { t in
            let items = t.split(separator: ",").map { Int($0) }
            return items.isEmpty || items.contains(nil) ? nil : items.map { $0! }
        }
    }
    /// One of `choices`.
    mutating func choice(_ key: String, _ choices: [String]) throws -> String? {
        try take(key, "one of \(choices.joined(separator: ", "))") { choices.contains($0) ? $0 : nil }
    }
    /// A true/false option.
    mutating func bool(_ key: String) throws -> Bool? { try take(key, "true or false") { Bool($0) } }

    /// - Throws: ``CLIError`` naming the options no one read.
    func finish(known: String) throws {
        if let key = values.keys.sorted().first {
            throw CLIError("--schedule \(schedule): unknown option \(key); it takes \(known)")
        }
    }
}

/// The names `neural train` accepts for `--optimizer`, `--schedule` and `--loss`
/// (``Objective/registry``), with their help lines.
enum Registries {
    /// `--optimizer`: the built-in optimizers with the settings the CLI uses.
    static let optimizers = Registry<OptimizerChoice>([
        optimizer("sgd", "plain gradient descent θ := θ − α∇J (eq. 7.8)", lr: 0.05) { SGD($0, learningRate: $1, weightDecay: $2 ?? 0) },
        optimizer("momentum", "SGD with momentum 0.9", lr: 0.05, slots: 1) { SGD($0, learningRate: $1, momentum: 0.9, weightDecay: $2 ?? 0) },
        optimizer("nesterov", "SGD with Nesterov momentum 0.9", lr: 0.05, slots: 1) {
            SGD($0, learningRate: $1, momentum: 0.9, nesterov: true, weightDecay: $2 ?? 0)
        },
        optimizer("adam", "Adam, β = (0.9, 0.999)", lr: 1e-3, spirals: 0.01, slots: 2) { Adam($0, learningRate: $1, weightDecay: $2 ?? 0) },
        optimizer("adam-amsgrad", "Adam with AMSGrad's maximum of the second moments", lr: 1e-3, spirals: 0.01, slots: 3) {
            Adam($0, learningRate: $1, weightDecay: $2 ?? 0, amsgrad: true)
        },
        optimizer("adamw", "AdamW, decoupled weight decay 0.01", lr: 1e-3, spirals: 0.01, slots: 2) { AdamW($0, learningRate: $1, weightDecay: $2 ?? 0.01) },
        optimizer("adamw-amsgrad", "AdamW (decoupled weight decay 0.01) with AMSGrad", lr: 1e-3, spirals: 0.01, slots: 3) {
            AdamW($0, learningRate: $1, weightDecay: $2 ?? 0.01, amsgrad: true)
        },
        optimizer("rmsprop", "RMSProp, smoothing 0.99", lr: 1e-3, spirals: 0.01, slots: 1) { RMSProp($0, learningRate: $1, weightDecay: $2 ?? 0) },
        optimizer("adagrad", "Adagrad, ε = 1e-10", lr: 1e-2, spirals: 0.05, slots: 1) { Adagrad($0, learningRate: $1, weightDecay: $2 ?? 0) },
        optimizer("nadam", "NAdam (Nesterov Adam), momentum decay 0.004", lr: 2e-3, spirals: 0.01, slots: 2) {
            NAdam($0, learningRate: $1, weightDecay: $2 ?? 0)
        },
        optimizer("radam", "RAdam (rectified Adam)", lr: 1e-3, spirals: 0.01, slots: 2) { RAdam($0, learningRate: $1, weightDecay: $2 ?? 0) },
    ])

    /// `--schedule NAME [key=value ...]`: the learning-rate schedule of a run (keys are PyTorch's
    /// parameter names; counts of epochs where PyTorch users step per epoch).
    static let schedules = Registry<@Sendable (_ run: inout ScheduleContext) throws -> ScheduleSetup>([
        .init(["cosine"], help: "cosine decay from the learning rate to 0 over the run") { run in
            ScheduleSetup(schedule: .cosine(steps: run.steps, minimum: 0))
        },
        .init(["constant"], help: "the same learning rate at every step") { _ in ScheduleSetup() },
        .init(["multistep"], help: "× gamma at each milestone; options milestones=E1,E2,… (epochs, required) gamma=0.1") { run in
            guard let milestones = try run.options.ints("milestones") else {
                throw CLIError("--schedule multistep needs milestones=E1,E2,… (epochs), e.g. --schedule \"multistep milestones=30,60 gamma=0.1\"")
            }
            guard milestones.allSatisfy({ $0 >= 0 }) else { throw CLIError("--schedule multistep: milestones must be ≥ 0, got \(milestones)") }
            let gamma = try run.options.double("gamma") ?? 0.1
            return ScheduleSetup(schedule: .multiStep(milestones: milestones.map { $0 * run.batchesPerEpoch }, gamma: gamma))
        },
        .init(["cosine-restarts"], help: "cosine annealing with warm restarts (SGDR); options T_0=epochs (default 1) T_mult=1 eta_min=0") { run in
            let t0 = try run.options.int("T_0") ?? 1, mult = try run.options.int("T_mult") ?? 1
            guard t0 >= 1, mult >= 1 else { throw CLIError("--schedule cosine-restarts needs T_0 ≥ 1 and T_mult ≥ 1, got \(t0), \(mult)") }
            let eta = try run.options.double("eta_min") ?? 0
            return ScheduleSetup(schedule: .cosineWarmRestarts(period: t0 * run.batchesPerEpoch, periodMultiplier: mult, minimum: eta))
        },
        .init(["onecycle"], help: "the 1cycle policy over the run (no momentum cycling); options max_lr (default --lr) pct_start=0.3 anneal_strategy=cos|linear div_factor=25 final_div_factor=1e4 three_phase=false") { run in
            let pct = try run.options.double("pct_start") ?? 0.3
            guard pct > 0 && pct < 1 else { throw CLIError("--schedule onecycle needs pct_start in (0, 1), got \(pct)") }
            let maxLR = try run.options.double("max_lr")
            if let maxLR, maxLR <= 0 { throw CLIError("--schedule onecycle needs max_lr > 0, got \(maxLR)") }
            let anneal: LRSchedule.Anneal = try run.options.choice("anneal_strategy", ["cos", "linear"]) == "linear" ? .linear : .cos
            return ScheduleSetup(schedule: .oneCycle(
                totalSteps: run.steps, maxLearningRate: maxLR, pctStart: pct, annealStrategy: anneal,
                divFactor: try run.options.double("div_factor") ?? 25, finalDivFactor: try run.options.double("final_div_factor") ?? 1e4,
                threePhase: try run.options.bool("three_phase") ?? false))
        },
        .init(["plateau"], help: "× factor when the test loss (the training loss without test data) stops improving, checked after every epoch; options mode=min|max factor=0.1 patience=10 threshold=1e-4 threshold_mode=rel|abs cooldown=0 min_lr=0") { run in
            let factor = try run.options.double("factor") ?? 0.1
            let patience = try run.options.int("patience") ?? 10, cooldown = try run.options.int("cooldown") ?? 0
            guard factor >= 0 && factor < 1, patience >= 0, cooldown >= 0 else {
                throw CLIError("--schedule plateau needs factor in [0, 1), patience ≥ 0 and cooldown ≥ 0, got \(factor), \(patience), \(cooldown)")
            }
            return ScheduleSetup(plateau: ReduceLROnPlateau(
                mode: try run.options.choice("mode", ["min", "max"]) == "max" ? .max : .min, factor: factor, patience: patience,
                threshold: try run.options.double("threshold") ?? 1e-4,
                thresholdMode: try run.options.choice("threshold_mode", ["rel", "abs"]) == "abs" ? .abs : .rel,
                cooldown: cooldown, minimumLearningRate: try run.options.double("min_lr") ?? 0))
        },
        .init(["warmup-cosine"], help: "linear warm-up (--warmup steps, default 100 or a tenth of the run), then cosine decay to a tenth of the learning rate (nanoGPT)") { run in
            ScheduleSetup(schedule: .warmupCosine(warmup: run.warmup ?? Swift.min(100, run.steps / 10), total: run.steps, minimumFactor: 0.1))
        },
    ])

    /// An optimizer entry whose help line ends with its default learning rates.
    private static func optimizer(_ name: String, _ help: String, lr: Double, spirals: Double? = nil, slots: Int = 0,
                                  _ make: @escaping @Sendable ([ParameterGroup], Double, Double?) -> Optimizer) -> Registry<OptimizerChoice>.Entry {
        let defaults = "default lr \(lr)" + (spirals.map { ", \($0) on spirals" } ?? "")
        return .init([name], help: "\(help) (\(defaults))",
                     OptimizerChoice(learningRate: lr, spiralsLearningRate: spirals ?? lr, stateSlots: slots, make: make))
    }
}

extension Registry {
    /// The entry named `name` (ignoring case) for command-line option `option`.
    ///
    /// - Throws: ``CLIError`` naming the option, the unknown name and the known ones.
    func entry(named name: String, option: String) throws -> Entry {
        guard let entry = entry(named: name) else { throw CLIError("unknown \(option) '\(name)'; use \(nameList)") }
        return entry
    }
}
