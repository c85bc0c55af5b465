import Neural
import Testing

/// Same seed → the same bits: training an MLP and a CNN (with dropout, batch norm, a shuffling
/// prefetching loader and Adam) twice at 1 thread and twice at 2 threads gives four bitwise
/// identical sets of weights, running statistics and optimizer moments.
@Suite("Training determinism")
struct TrainingDeterminismTests {
    /// Every state tensor's bits, by name: the model's state dict and the optimizer's slot tensors.
    private static func fingerprint(_ model: Module, _ optimizer: Optimizer) -> [String: [UInt64]] {
        var out: [String: [UInt64]] = [:]
        func bits(_ t: Tensor) -> [UInt64] {
            switch t.dtype {
            case .float32: return t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
            case .float64: return t.scalars(as: Double.self).map(\.bitPattern)
            case .int32, .int64: return t.scalars(as: Int64.self).map { UInt64(bitPattern: $0) }
            }
        }
        for (name, t) in model.stateDict() { out[name] = bits(t) }
        for (i, p) in optimizer.state.parameters.enumerated() {
            for (name, t) in p.tensors { out["opt.\(i).\(name)"] = bits(t) }
        }
        return out
    }

    /// Trains a freshly built model for `epochs` epochs from `seed` on `threads` threads.
    private static func train(threads: Int, seed: UInt64, epochs: Int, build: (RandomGenerator) -> Sequential,
                              data: (RandomGenerator) -> TensorDataset) throws -> [String: [UInt64]] {
        try Runtime.withThreads(threads) {
            let g = RandomGenerator(seed: seed)
            let dataset = data(g)
            let model = build(g)
            let optimizer = Adam(model.trainableParameters, learningRate: 3e-3)
            let loader = DataLoader(dataset, batchSize: 32, generator: RandomGenerator(seed: seed &+ 1))
            let trainer = Trainer(model: model, optimizer: optimizer, objective: .crossEntropy)
            let records = try trainer.fit(epochs: epochs, train: { _ in loader }, evaluate: nil as (() -> DataLoader)?)
            #expect(!records.contains { !$0.trainLoss.isFinite })
            return fingerprint(model, optimizer)
        }
    }

    private static func expectIdentical(_ runs: [[String: [UInt64]]], _ what: String) {
        let reference = runs[0]
        #expect(!reference.isEmpty)
        for (r, run) in runs.enumerated().dropFirst() {
            #expect(Set(run.keys) == Set(reference.keys))
            for (name, bits) in reference {
                let differing = zip(bits, run[name] ?? []).filter { $0 != $1 }.count
                #expect(run[name]?.count == bits.count && differing == 0,
                        "\(what): run \(r) differs from run 0 in \(name) (\(differing) of \(bits.count) elements)")
            }
        }
    }

    @Test func mlpTrainingIsBitwiseReproducibleAcrossRunsAndThreadCounts() throws {
        let data = { (g: RandomGenerator) -> TensorDataset in
            let x = Tensor.randn([320, 48], generator: g)
            let labels = (0..<320).map { _ in g.nextInt(below: 10) }
            return TensorDataset(inputs: x, labels: labels, classCount: 10)
        }
        let build = { (g: RandomGenerator) -> Sequential in
            Sequential(Linear(48, 256, generator: g), BatchNorm1D(256), ReLU(), Dropout(0.2, generator: g),
                       Linear(256, 256, generator: g), ReLU(), Linear(256, 10, generator: g))
        }
        let runs = try [1, 2, 1, 2].map { try Self.train(threads: $0, seed: 11, epochs: 3, build: build, data: data) }
        Self.expectIdentical(runs, "MLP (threads 1, 2, 1, 2)")
        // A different seed must give different weights, or the comparison proves nothing.
        let other = try Self.train(threads: 2, seed: 12, epochs: 3, build: build, data: data)
        #expect(other["0.weight"] != runs[0]["0.weight"])
    }

    @Test func cnnTrainingIsBitwiseReproducibleAcrossRunsAndThreadCounts() throws {
        let data = { (g: RandomGenerator) -> TensorDataset in
            let x = Tensor.randn([128, 1, 14, 14], generator: g)
            let labels = (0..<128).map { _ in g.nextInt(below: 4) }
            return TensorDataset(inputs: x, labels: labels, classCount: 4)
        }
        let build = { (g: RandomGenerator) -> Sequential in
            Sequential(Conv2D(1, 16, kernelSize: (3, 3), generator: g), BatchNorm2D(16), ReLU(),
                       MaxPool2D(kernelSize: (2, 2)), Conv2D(16, 32, kernelSize: (3, 3), generator: g), ReLU(),
                       Flatten(), Dropout(0.25, generator: g), Linear(32 * 4 * 4, 4, generator: g))
        }
        let runs = try [1, 2, 1, 2].map { try Self.train(threads: $0, seed: 21, epochs: 2, build: build, data: data) }
        Self.expectIdentical(runs, "CNN (threads 1, 2, 1, 2)")
        let other = try Self.train(threads: 2, seed: 22, epochs: 2, build: build, data: data)
        #expect(other["0.weight"] != runs[0]["0.weight"])
    }
}
