import Neural

/// An optimizer `--optimizer` can name: its default learning rates and how to build it.
struct OptimizerChoice: Sendable {
    /// The learning rate without `--lr`.
    let learningRate: Double
    /// The learning rate without `--lr` on the spirals data (its small problem takes larger Adam-family steps).
    let spiralsLearningRate: Double
    /// State tensors the optimizer keeps per parameter (Adam's two moments, momentum's velocity).
    var stateSlots = 0
    /// The optimizer over `parameters` with learning rate `lr`.
    let make: @Sendable (_ parameters: [Parameter], _ lr: Double) -> Optimizer

    /// The learning rate without `--lr` on the data named `data`.
    func defaultLearningRate(data: String) -> Double { data == "spirals" ? spiralsLearningRate : learningRate }
}

/// The names `neural train` accepts for `--optimizer`, `--schedule` and `--loss`
/// (``Objective/registry``), with their help lines.
enum Registries {
    /// `--optimizer`: the built-in optimizers with the settings the CLI uses.
    static let optimizers = Registry<OptimizerChoice>([
        optimizer("sgd", "plain gradient descent θ := θ − α∇J (eq. 7.8)", lr: 0.05) { SGD($0, learningRate: $1) },
        optimizer("momentum", "SGD with momentum 0.9", lr: 0.05, slots: 1) { SGD($0, learningRate: $1, momentum: 0.9) },
        optimizer("nesterov", "SGD with Nesterov momentum 0.9", lr: 0.05, slots: 1) { SGD($0, learningRate: $1, momentum: 0.9, nesterov: true) },
        optimizer("adam", "Adam, β = (0.9, 0.999)", lr: 1e-3, spirals: 0.01, slots: 2) { Adam($0, learningRate: $1) },
        optimizer("adamw", "AdamW, decoupled weight decay 0.01", lr: 1e-3, spirals: 0.01, slots: 2) { AdamW($0, learningRate: $1) },
        optimizer("rmsprop", "RMSProp, smoothing 0.99", lr: 1e-3, spirals: 0.01, slots: 1) { RMSProp($0, learningRate: $1) },
    ])

    /// `--schedule`: the learning-rate schedule of a run of `steps` optimizer steps (`nil`: constant).
    static let schedules = Registry<@Sendable (_ steps: Int) -> LRSchedule?>([
        .init(["cosine"], help: "cosine decay from the learning rate to 0 over the run") { .cosine(steps: $0, minimum: 0) },
        .init(["constant"], help: "the same learning rate at every step") { _ in nil },
        .init(["warmup-cosine"], help: "linear warm-up (--warmup steps, default 100 or a tenth of the run), then cosine decay to a tenth of the learning rate (nanoGPT)") {
            .warmupCosine(warmup: Swift.min(100, $0 / 10), total: $0, minimumFactor: 0.1)
        },
    ])

    /// An optimizer entry whose help line ends with its default learning rates.
    private static func optimizer(_ name: String, _ help: String, lr: Double, spirals: Double? = nil, slots: Int = 0,
                                  _ make: @escaping @Sendable ([Parameter], Double) -> Optimizer) -> Registry<OptimizerChoice>.Entry {
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
