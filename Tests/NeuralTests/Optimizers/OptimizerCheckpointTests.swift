import Foundation
import Neural
import Testing

/// Lion (Chen et al. 2023, "Symbolic Discovery of Optimization Algorithms"), written against
/// Neural's public API only, as a user outside the module would: with gradient g and state m
/// (`exp_avg`),
///
///     c = β₁m + (1 − β₁)g,   θ := θ(1 − αλ) − α·sign(c),   m := β₂m + (1 − β₂)g
final class Lion: Optimizer {
    let beta1: Double, beta2: Double, weightDecay: Double

    init(_ parameters: [Parameter], learningRate: Double, beta1: Double = 0.9, beta2: Double = 0.99, weightDecay: Double = 0) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.weightDecay = weightDecay
        super.init(parameters, learningRate: learningRate)
    }

    override func update(_ value: inout Tensor, gradient: Tensor, state: inout ParameterState, learningRate: Double) {
        let m = state.tensors["exp_avg"] ?? Tensor.zeros(like: value)
        let c = beta1 * m + (1 - beta1) * gradient
        value = value * (1 - learningRate * weightDecay) - learningRate * c.sign()
        state.tensors["exp_avg"] = beta2 * m + (1 - beta2) * gradient
    }
}

/// A fresh, empty temporary directory.
private func temporaryDirectory(_ label: String) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("neural-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// Two-spirals points `[200, 2]` and their labels, the same on every call.
private let spirals = Synthetic.twoSpirals(pointsPerClass: 100, noise: 0.05, generator: RandomGenerator(seed: 3))

/// A 2-32-2 MLP, initialised from `seed`.
private func makeModel(seed: UInt64, dtype: DType = .float32) -> Sequential {
    Sequential.mlp([2, 32, 2], dtype: dtype, generator: RandomGenerator(seed: seed))
}

/// Mini-batch step `k` on the spirals: the loss of a fixed batch of 50 examples, then one optimiser step.
@discardableResult
private func trainStep(_ model: Sequential, _ optimizer: Optimizer, _ k: Int) -> Double {
    let rows = (0..<50).map { (k * 50 + $0 * 7) % 200 }
    let x = spirals.0.indexSelect(axis: 0, rows).to(model.parameters[0].value.dtype)
    optimizer.zeroGrad()
    let loss = crossEntropyLoss(logits: model(x), labels: rows.map { spirals.1[$0] })
    loss.backward()
    optimizer.step()
    return loss.item()
}

/// Every parameter of `a` and `b` bit-identical, by name; `false` when any differs.
private func sameWeights(_ a: Module, _ b: Module) -> Bool {
    zip(a.stateDict(), b.stateDict()).allSatisfy { x, y in
        x.name == y.name && x.tensor.scalars(as: Double.self).map(\.bitPattern) == y.tensor.scalars(as: Double.self).map(\.bitPattern)
    }
}

/// Optimizers defined outside the module keep their state through ``Checkpoint``, and the
/// built-ins' state survives a checkpoint's round trip exactly.
@Suite("Optimizer state in checkpoints")
struct OptimizerCheckpointTests {
    @Test func lionStepIsSignOfInterpolatedMomentum() {
        let p = Parameter(Tensor([1, -2], dtype: .float64))
        let lion = Lion([p], learningRate: 0.1, weightDecay: 0.5)
        p.value.grad = Tensor([0.5, -0.25], dtype: .float64)
        lion.step()
        // c = 0.1g: θ = 0.95θ − 0.1·(1, −1); m = 0.01g.
        expectValues(p.value, [0.85, -1.8], tolerance: 1e-15)
        expectValues(lion.state.parameters[0].tensors["exp_avg"]!, [0.005, -0.0025], tolerance: 1e-15)
        p.value.grad = Tensor([-1, 0.1], dtype: .float64)
        lion.step()
        // c = 0.9m + 0.1g = (−0.0955, 0.00775): its sign (−1, 1), not m's (1, −1), sets the direction.
        expectValues(p.value, [0.9075, -1.81], tolerance: 1e-15)
        #expect(lion.state.parameters[0].step == 2)
    }

    @Test func optimizerDefinedOutsideTheModuleResumesFromACheckpointBitForBit() throws {
        let steps = 30, checkpointAt = 12
        // Uninterrupted.
        let straight = makeModel(seed: 1)
        let lionA = Lion(straight.parameters, learningRate: 3e-3, weightDecay: 0.1)
        let losses = (0..<steps).map { trainStep(straight, lionA, $0) }
        #expect(losses.suffix(5).reduce(0, +) < losses.prefix(5).reduce(0, +), "Lion did not train: \(losses)")

        // Interrupted: a checkpoint after `checkpointAt` steps, then a fresh model and Lion restored from it.
        let dir = try temporaryDirectory("lion-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("lion.safetensors")
        do {
            let first = makeModel(seed: 1)
            let lionB = Lion(first.parameters, learningRate: 3e-3, weightDecay: 0.1)
            for k in 0..<checkpointAt { trainStep(first, lionB, k) }
            try Checkpoint.save(model: first, optimizer: lionB, to: url)
        }
        let checkpoint = try Checkpoint.load(from: url)
        #expect(checkpoint.optimizerType == "Lion")
        #expect(checkpoint.optimizerState?.parameters.map { $0.tensors.keys.sorted() } == Array(repeating: ["exp_avg"], count: 4))
        let resumed = makeModel(seed: 2)
        try checkpoint.apply(to: resumed)
        let lionC = Lion(resumed.parameters, learningRate: 3e-3, weightDecay: 0.1)
        try checkpoint.restore(optimizer: lionC)
        #expect(lionC.stepCount == checkpointAt)
        for k in checkpointAt..<steps { trainStep(resumed, lionC, k) }
        #expect(sameWeights(resumed, straight), "the resumed Lion run ends with other weights than the uninterrupted one")

        // Without the optimizer state (m restarts at 0) the same resume ends elsewhere: the state matters.
        let forgetful = makeModel(seed: 2)
        try checkpoint.apply(to: forgetful)
        let lionD = Lion(forgetful.parameters, learningRate: 3e-3, weightDecay: 0.1)
        for k in checkpointAt..<steps { trainStep(forgetful, lionD, k) }
        #expect(!sameWeights(forgetful, straight))
    }

    @Test(arguments: [DType.float32, .float64])
    func builtInOptimizerStateSurvivesACheckpointExactly(_ dtype: DType) throws {
        let makers: [(String, ([Parameter]) -> Optimizer)] = [
            ("SGD", { SGD($0, learningRate: 0.05, momentum: 0.9, dampening: 0.1, weightDecay: 0.01) }),
            ("SGD", { SGD($0, learningRate: 0.05, momentum: 0.9, nesterov: true) }),
            ("Adam", { Adam($0, learningRate: 0.01, weightDecay: 0.01) }),
            ("AdamW", { AdamW($0, learningRate: 0.01) }),
            ("RMSProp", { RMSProp($0, learningRate: 0.01, weightDecay: 0.01, momentum: 0.5, centered: true) }),
            ("Adam", { Adam($0, learningRate: 0.01, amsgrad: true, schedule: .multiStep(milestones: [2, 4])) }),
            ("AdamW", { AdamW(ParameterGroup.decayAndNoDecay($0), learningRate: 0.01, weightDecay: 0.1, amsgrad: true) }),
            ("Adagrad", { Adagrad($0, learningRate: 0.05, learningRateDecay: 0.01, weightDecay: 0.01, initialAccumulatorValue: 0.1) }),
            ("NAdam", { NAdam($0, learningRate: 0.01, weightDecay: 0.01, schedule: .oneCycle(totalSteps: 10)) }),
            ("RAdam", {
                RAdam(ParameterGroup.decayAndNoDecay($0), learningRate: 0.01, weightDecay: 0.1, decoupledWeightDecay: true,
                      schedule: .cosineWarmRestarts(period: 3, periodMultiplier: 2))
            }),
        ]
        let dir = try temporaryDirectory("optimizer-round-trip")
        defer { try? FileManager.default.removeItem(at: dir) }
        for (index, (type, make)) in makers.enumerated() {
            let model = makeModel(seed: 5, dtype: dtype)
            model.parameters[3].isFrozen = true   // the output bias: no update, empty state
            let optimizer = make(model.parameters)
            for k in 0..<4 { trainStep(model, optimizer, k) }
            let url = dir.appendingPathComponent("\(index).safetensors")
            try Checkpoint.save(model: model, optimizer: optimizer, to: url)
            let checkpoint = try Checkpoint.load(from: url)
            #expect(checkpoint.optimizerType == type)
            let saved = optimizer.state, loaded = try #require(checkpoint.optimizerState)
            #expect(loaded.step == saved.step)
            #expect(loaded.parameters.map(\.step) == [4, 4, 4, 0])
            #expect(loaded.parameters.map(\.step) == saved.parameters.map(\.step))
            #expect(loaded.parameters.last?.tensors.isEmpty == true)
            for (s, l) in zip(saved.parameters, loaded.parameters) {
                #expect(l.tensors.keys.sorted() == s.tensors.keys.sorted(), "\(type)")
                for (name, t) in s.tensors { expectBitIdentical(l.tensors[name]!, t) }
            }
            // Restored into a fresh optimizer over a fresh model, the next step is the same step.
            let copy = makeModel(seed: 6, dtype: dtype)
            try checkpoint.apply(to: copy)
            copy.parameters[3].isFrozen = true
            let restored = make(copy.parameters)
            try checkpoint.restore(optimizer: restored)
            trainStep(model, optimizer, 4)
            trainStep(copy, restored, 4)
            #expect(sameWeights(copy, model), "\(type) on \(dtype)")
        }
    }
}
