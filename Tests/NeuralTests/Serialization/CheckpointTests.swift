import Foundation
import Neural
import Testing

/// Every parameter and buffer of `a` and `b` bit-identical, by name.
private func expectSameState(_ a: Module, _ b: Module, sourceLocation: SourceLocation = #_sourceLocation) {
    let sa = a.stateDict(), sb = b.stateDict()
    #expect(sa.map(\.name) == sb.map(\.name), sourceLocation: sourceLocation)
    for (x, y) in zip(sa, sb) { expectBitIdentical(x.tensor, y.tensor, sourceLocation: sourceLocation) }
}

/// A small classifier with dropout (so the generator's state matters) and BatchNorm (buffers).
private func makeModel(seed: UInt64, dropoutGenerator: RandomGenerator) -> Sequential {
    let g = RandomGenerator(seed: seed)
    return Sequential(Linear(4, 16, generator: g), BatchNorm1D(16), ReLU(), Dropout(0.25, generator: dropoutGenerator),
                      Linear(16, 3, generator: g))
}

@Suite("Checkpoint")
struct CheckpointTests {
    @Test func savesAndLoadsWeightsMetadataAndBatchNormBuffers() throws {
        let dir = serializationTemporaryDirectory("ckpt-basic")
        defer { try? FileManager.default.removeItem(at: dir) }
        let model = Sequential(Conv2D(1, 3, kernelSize: 3, generator: RandomGenerator(seed: 1)), BatchNorm2D(3), ReLU(),
                               Flatten(), Linear(12, 2, generator: RandomGenerator(seed: 2)))
        _ = model(Tensor.randn([4, 1, 4, 4], generator: RandomGenerator(seed: 3)))   // training step: running stats move
        _ = model(Tensor.randn([4, 1, 4, 4], generator: RandomGenerator(seed: 4)))
        let url = dir.appendingPathComponent("model.safetensors")
        try Checkpoint.save(model: model, modelSpec: "conv2d(3,3) batchnorm relu flatten linear(2)",
                            config: #"{"lr":0.01}"#, epoch: 4, metadata: ["user.note": "hi"], to: url)

        let ckpt = try Checkpoint.load(from: url)
        #expect(ckpt.modelSpec == "conv2d(3,3) batchnorm relu flatten linear(2)")
        #expect(ckpt.config == #"{"lr":0.01}"#)
        #expect(ckpt.epoch == 4)
        #expect(ckpt.metadata == ["user.note": "hi"])
        #expect(ckpt.optimizerState == nil && ckpt.generatorStates.isEmpty && ckpt.samplerState == nil)
        #expect(Set(ckpt.tensors.keys) == Set(model.stateDict().map(\.name)))
        #expect(try SafeTensors.read(from: url).storedDTypes["1.num_batches_tracked"] == "I64")

        let fresh = Sequential(Conv2D(1, 3, kernelSize: 3, generator: RandomGenerator(seed: 9)), BatchNorm2D(3), ReLU(),
                               Flatten(), Linear(12, 2, generator: RandomGenerator(seed: 9)))
        fresh.parameters[0].isFrozen = true
        let report = try ckpt.apply(to: fresh)
        #expect(report.missing.isEmpty && report.unexpected.isEmpty && report.loaded.count == 9)
        expectSameState(model, fresh)
        #expect(fresh.parameters[0].isFrozen && !fresh.parameters[0].value.requiresGrad)
        #expect(fresh.parameters[1].value.requiresGrad)
        #expect(fresh.namedBuffers().first { $0.name == "1.num_batches_tracked" }!.buffer.value.item() == 2)
        let x = Tensor.randn([2, 1, 4, 4], generator: RandomGenerator(seed: 5))
        expectBitIdentical(model.eval()(x), fresh.eval()(x))
    }

    @Test func configHelpersEncodeAndDecode() throws {
        struct Config: Codable, Equatable { var lr: Double; var batchSize: Int; var optimizer: String }
        var ckpt = Checkpoint(tensors: ["w": Tensor.ones([1])])
        ckpt.setConfig(Config(lr: 0.5, batchSize: 32, optimizer: "adam"))
        #expect(ckpt.config == #"{"batchSize":32,"lr":0.5,"optimizer":"adam"}"#)
        let back = try Checkpoint(SafeTensors.decode(try ckpt.weightsFile().encoded()))
        #expect(try back.decodeConfig(Config.self) == Config(lr: 0.5, batchSize: 32, optimizer: "adam"))
        #expect(throws: CheckpointError.self) { try Checkpoint(tensors: [:]).decodeConfig(Config.self) }
    }

    @Test func strictApplyListsMissingUnexpectedAndMisShapedKeys() throws {
        let saved = Sequential(Linear(4, 8), ReLU(), Linear(8, 3), ReLU(), Linear(3, 1))
        var ckpt = Checkpoint(model: saved, modelSpec: "mlp(8,3)")
        ckpt.tensors["0.bias"] = nil
        let target = Sequential(Linear(4, 8), ReLU(), Linear(8, 2))
        let before = target.stateDict()
        let error = #expect(throws: CheckpointError.self) { try ckpt.apply(to: target) }
        let text = error?.description ?? ""
        print("strict apply:", text)
        #expect(error?.kind == .stateMismatch)
        #expect(text.contains("missing keys (in the model, not in the checkpoint): 0.bias"))
        #expect(text.contains("unexpected keys (in the checkpoint, not in the model): 4.bias, 4.weight"))
        #expect(text.contains("2.weight (checkpoint [3, 8], model [2, 8])"))
        #expect(text.contains("2.bias (checkpoint [3], model [2])"))
        #expect(text.contains("mlp(8,3)"))
        // Nothing was changed.
        for (a, b) in zip(before, target.stateDict()) { expectBitIdentical(a.tensor, b.tensor) }

        // Non-strict: shape mismatches still throw; without them the matching keys load.
        #expect(throws: CheckpointError.self) { try ckpt.apply(to: target, strict: false) }
        ckpt.tensors["2.weight"] = nil
        ckpt.tensors["2.bias"] = nil
        let report = try ckpt.apply(to: target, strict: false)
        #expect(report.loaded == ["0.weight"])
        #expect(report.missing == ["0.bias", "2.weight", "2.bias"])
        #expect(report.unexpected == ["4.bias", "4.weight"])
        expectBitIdentical(target.parameters[0].value, saved.parameters[0].value)

        // The file name appears in errors about a loaded checkpoint.
        let dir = serializationTemporaryDirectory("ckpt-strict")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("wrong.safetensors")
        try Checkpoint.save(model: saved, to: url)
        let e2 = #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url).apply(to: target) }
        #expect(e2?.description.hasPrefix(url.path + ": the checkpoint does not fit the model") == true)
    }

    @Test func optimizerGeneratorAndSamplerRestoreContinueBitIdentically() throws {
        let data = Tensor.randn([20, 4], generator: RandomGenerator(seed: 50))
        let labels = (0..<20).map { ($0 * 7) % 3 }
        func step(_ model: Sequential, _ opt: Optimizer, _ sampler: inout ShuffledBatchSampler) {
            let batch = sampler.nextBatch()
            let loss = crossEntropyLoss(logits: model(data.indexSelect(axis: 0, batch)), labels: batch.map { labels[$0] })
            opt.zeroGrad()
            loss.backward()
            opt.step()
        }

        // Six uninterrupted steps.
        let gA = RandomGenerator(seed: 7)
        let modelA = makeModel(seed: 1, dropoutGenerator: gA)
        let optA = Adam(modelA.parameters, learningRate: 0.05, schedule: .linearWarmup(steps: 4))
        var samplerA = ShuffledBatchSampler(count: 20, batchSize: 8, generator: gA)   // 3 batches per epoch
        for _ in 0..<6 { step(modelA, optA, &samplerA) }

        // Three steps, a checkpoint, then three more in fresh objects restored from it.
        let dir = serializationTemporaryDirectory("ckpt-resume")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("resume.safetensors")
        do {
            let gB = RandomGenerator(seed: 7)
            let modelB = makeModel(seed: 1, dropoutGenerator: gB)
            let optB = Adam(modelB.parameters, learningRate: 0.05, schedule: .linearWarmup(steps: 4))
            var samplerB = ShuffledBatchSampler(count: 20, batchSize: 8, generator: gB)
            for _ in 0..<3 { step(modelB, optB, &samplerB) }
            try Checkpoint.save(model: modelB, optimizer: optB, generator: gB, sampler: samplerB, epoch: 1, to: url)
        }
        let gC = RandomGenerator(seed: 999)
        let modelC = makeModel(seed: 2, dropoutGenerator: gC)
        let optC = Adam(modelC.parameters, learningRate: 0.05, schedule: .linearWarmup(steps: 4))
        var samplerC = ShuffledBatchSampler(count: 20, batchSize: 8, generator: gC)
        let ckpt = try Checkpoint.load(from: url)
        try ckpt.apply(to: modelC)
        try ckpt.restore(optimizer: optC)
        try ckpt.restore(generator: gC)
        try ckpt.restore(sampler: &samplerC)
        #expect(ckpt.optimizerType == "Adam")
        #expect(optC.stepCount == 3)
        #expect(ckpt.epoch == 1)
        for _ in 0..<3 { step(modelC, optC, &samplerC) }

        expectSameState(modelA, modelC)
        for (a, c) in zip(optA.state.parameters, optC.state.parameters) {
            #expect(a.step == c.step && a.tensors.keys.sorted() == c.tensors.keys.sorted())
            for (name, t) in a.tensors { expectBitIdentical(t, c.tensors[name]!) }
        }
        #expect(gA.stateWords == gC.stateWords)
        #expect(samplerA.state == samplerC.state)
    }

    @Test func restoreErrorsAreTypedAndNameTheProblem() throws {
        let model = Sequential(Linear(2, 3), ReLU(), Linear(3, 1))
        let sgd = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        for p in model.parameters { p.value.grad = Tensor.ones(like: p.value) }
        sgd.step()
        let dir = serializationTemporaryDirectory("ckpt-restore-errors")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("sgd.safetensors")
        try Checkpoint.save(model: model, optimizer: sgd, to: url)
        let withState = try Checkpoint.load(from: url)
        #expect(withState.optimizerType == "SGD")
        #expect(withState.optimizerState?.parameters.map { $0.tensors.keys.sorted() } == Array(repeating: ["momentum_buffer"], count: 4))

        let adam = Adam(model.parameters)
        let e1 = #expect(throws: CheckpointError.self) { try withState.restore(optimizer: adam) }
        #expect(e1?.kind == .stateMismatch)
        #expect(e1?.description.contains("SGD cannot resume a Adam") == true)
        let other = SGD(Sequential(Linear(2, 3)).parameters, learningRate: 0.1, momentum: 0.9)
        #expect(throws: CheckpointError.self) { try withState.restore(optimizer: other) }
        let wrongShapes = SGD(Sequential(Linear(2, 4), ReLU(), Linear(4, 1)).parameters, learningRate: 0.1, momentum: 0.9)
        let e2 = #expect(throws: CheckpointError.self) { try withState.restore(optimizer: wrongShapes) }
        #expect(e2?.description.contains("__optimizer__.0.momentum_buffer") == true)
        #expect(e2?.file?.contains("sgd.state-") == true, "errors about the optimizer state name the state file")

        let bare = Checkpoint(model: model)
        let e3 = #expect(throws: CheckpointError.self) { try bare.restore(optimizer: sgd) }
        #expect(e3?.kind == .missingState)
        #expect(throws: CheckpointError.self) { try bare.restore(generator: RandomGenerator(seed: 0)) }
        var sampler = ShuffledBatchSampler(count: 5, batchSize: 2, generator: RandomGenerator(seed: 0))
        #expect(throws: CheckpointError.self) { try bare.restore(sampler: &sampler) }

        // The weights file holds the model's keys alone: a strict apply takes them.
        #expect(Set(try SafeTensors.read(from: url).tensors.keys) == Set(model.stateDict().map(\.name)))
        try withState.apply(to: model)
    }

    @Test func malformedNeuralMetadataThrows() throws {
        func decode(_ meta: [String: String], tensors: [String: Tensor] = ["w": Tensor.ones([1])]) -> CheckpointError? {
            let file = try! SafeTensors.decode(try! SafeTensors(tensors: tensors, metadata: meta).encoded())
            return #expect(throws: CheckpointError.self) { try Checkpoint(file, file: "m.safetensors") }
        }
        #expect(decode(["neural.epoch": "three"])?.description
                == "m.safetensors: __metadata__ \"neural.epoch\": \"three\" is not a non-negative integer; re-save the checkpoint with Neural or remove the entry")
        #expect(decode(["neural.optimizer": "{"])?.kind == .malformedMetadata)
        #expect(decode(["neural.optimizer": #"{"step":1,"parameters":[{"step":1,"tensors":["exp_avg"]}]}"#])?.description
                    .contains("tensor '__optimizer__.0.exp_avg'") == true)
        #expect(decode(["neural.generator": "1,2,3"])?.kind == .malformedMetadata)
        #expect(decode(["neural.sampler": #"{"epoch":0,"position":9,"permutation":[1,0]}"#])?.kind == .malformedMetadata)
        #expect(decode([:], tensors: ["__optimizer__.x": Tensor.ones([1])])?.kind == .malformedMetadata)
    }
}
