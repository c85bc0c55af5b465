import Foundation
import Neural
import Testing

/// A model, an Adam optimizer that has taken one step (so it holds state tensors), and a generator.
private func trainedParts(seed: UInt64) -> (Sequential, Adam, RandomGenerator) {
    let g = RandomGenerator(seed: seed)
    let model = Sequential(Linear(3, 4, generator: g), BatchNorm1D(4), ReLU(), Linear(4, 2, generator: g))
    let adam = Adam(model.parameters, learningRate: 0.01)
    crossEntropyLoss(logits: model(Tensor.randn([6, 3], generator: g)), labels: [0, 1, 1, 0, 1, 0]).backward()
    adam.step()
    return (model, adam, g)
}

/// The names in `dir`, sorted.
private func listing(_ dir: URL) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
}

/// A checkpoint is a pair: the weights file (the model's tensors alone, as PyTorch's `state_dict`)
/// and a resume-state file beside it, committed by the weights file naming it; loading checks the pair.
@Suite("Checkpoint pair")
struct CheckpointPairTests {
    @Test func resumableSaveWritesModelOnlyWeightsAndAStateFileTheyName() throws {
        let dir = serializationTemporaryDirectory("pair-layout")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, adam, g) = trainedParts(seed: 1)
        let url = dir.appendingPathComponent("ck.safetensors")
        try Checkpoint.save(model: model, optimizer: adam, generator: g, modelSpec: "spec", epoch: 2, to: url)

        let names = try listing(dir)
        #expect(names.count == 2 && names[0] == "ck.safetensors", "\(names)")
        let stateName = names[1]
        #expect(stateName.hasPrefix("ck.state-") && stateName.hasSuffix(".safetensors") && stateName.count == "ck.state-.safetensors".count + 16)
        let weights = try SafeTensors.read(from: url)
        #expect(Set(weights.tensors.keys) == Set(model.stateDict().map(\.name)), "weights hold the state_dict keys and nothing else")
        #expect(weights.metadata["neural.state.file"] == stateName && weights.metadata["neural.optimizer"] == nil)
        let state = try SafeTensors.read(from: dir.appendingPathComponent(stateName))
        #expect(state.metadata["neural.state.id"] == weights.metadata["neural.state.id"])
        #expect(state.tensors.keys.allSatisfy { $0.hasPrefix("__optimizer__.") } && state.tensors.count == 2 * model.parameters.count)

        let back = try Checkpoint.load(from: url)
        #expect(back.modelSpec == "spec" && back.epoch == 2 && back.metadata.isEmpty)
        #expect(back.optimizerType == "Adam" && back.generatorStates["default"] == g.stateWords)
        let restored = Adam(model.parameters, learningRate: 0.01)
        try back.restore(optimizer: restored)
        for (a, b) in zip(adam.state.parameters, restored.state.parameters) {
            for (name, t) in a.tensors { expectBitIdentical(t, b.tensors[name]!) }
        }
    }

    @Test func eachSaveDeletesEarlierStateFilesAndStaleTemporaries() throws {
        let dir = serializationTemporaryDirectory("pair-sweep")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, adam, g) = trainedParts(seed: 2)
        let url = dir.appendingPathComponent("ck.safetensors")
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: url)
        let first = try #require(try listing(dir).first { $0.hasPrefix("ck.state-") })
        // Left by interrupted saves: a state file never committed and temporaries of both files.
        // Files of other checkpoints and other names are not touched.
        let stale = ["ck.state-0123456789abcdef.safetensors", ".ck.safetensors.tmp-12-34", ".ck.state-00000000000000ff.safetensors.tmp-5-6"]
        let unrelated = ["ck.state-notes.txt", "other.state-0123456789abcdef.safetensors", ".other.safetensors.tmp-1-2", "ck.safetensors.bak"]
        for name in stale + unrelated { try Data([1]).write(to: dir.appendingPathComponent(name)) }

        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: url)
        let second = try #require(try listing(dir).first { $0.hasPrefix("ck.state-") && $0.hasSuffix(".safetensors") })
        #expect(second != first, "every save writes a new state file")
        #expect(try listing(dir) == (["ck.safetensors", second] + unrelated).sorted())
        #expect(try Checkpoint.load(from: url).optimizerState != nil)

        // A weights-only save names no state file and deletes the one before it.
        try Checkpoint.save(model: model, to: url)
        #expect(try listing(dir) == (["ck.safetensors"] + unrelated).sorted())
        #expect(try SafeTensors.read(from: url).metadata["neural.state.file"] == nil)
        #expect(try Checkpoint.load(from: url).optimizerState == nil)
    }

    @Test func savesKeepTheStateFilesOfCopiesAndOfNamesSharingTheStem() throws {
        let dir = serializationTemporaryDirectory("pair-copies")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, adam, g) = trainedParts(seed: 5)
        let url = dir.appendingPathComponent("ck.safetensors")
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: url)
        // A copy of the weights file (as `cp ck.safetensors best.safetensors` makes) names the first state file.
        let best = dir.appendingPathComponent("best.safetensors")
        try FileManager.default.copyItem(at: url, to: best)
        // `ck` without the suffix shares the state files' name with `ck.safetensors`.
        let bare = dir.appendingPathComponent("ck")
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: bare)
        adam.step()
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: url)
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: url)

        let names = try listing(dir)
        #expect(names.filter { $0.hasPrefix("ck.state-") }.count == 3, "\(names)")
        #expect(try Checkpoint.load(from: best).optimizerState?.parameters.first?.step == 1)
        #expect(try Checkpoint.load(from: bare).optimizerState?.parameters.first?.step == 1)
        #expect(try Checkpoint.load(from: url).optimizerState?.parameters.first?.step == 2)
        // A symbolic link to a weights file finds the state file beside the file it points to.
        let elsewhere = serializationTemporaryDirectory("pair-link")
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let link = elsewhere.appendingPathComponent("latest.safetensors")
        try FileManager.default.createSymbolicLink(at: link, withDestinationURL: url)
        #expect(try Checkpoint.load(from: link).optimizerState?.parameters.first?.step == 2)
    }

    @Test func deletedStateFileIsATornPairNamingBothFiles() throws {
        let dir = serializationTemporaryDirectory("pair-deleted")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, adam, g) = trainedParts(seed: 3)
        let url = dir.appendingPathComponent("ck.safetensors")
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: url)
        let state = dir.appendingPathComponent(try #require(try listing(dir).first { $0.hasPrefix("ck.state-") }))
        try FileManager.default.removeItem(at: state)

        let e = #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url) }
        #expect(e?.kind == .tornPair && e?.file == url.path, "\(String(describing: e))")
        let text = e?.description ?? ""
        print("deleted state file:", text)
        #expect(text.hasPrefix(url.path + ": resume state " + state.path + ": is missing: the pair is torn"), "\(text)")
        #expect(text.contains("copy the weights file and its state file together") && text.contains("resumeState: false"))
        // The weights alone still load.
        let weights = try Checkpoint.load(from: url, resumeState: false)
        #expect(weights.optimizerState == nil)
        try weights.apply(to: trainedParts(seed: 9).0)
    }

    @Test func stateFileOfAnotherSaveIsATornPair() throws {
        let dir = serializationTemporaryDirectory("pair-foreign")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, adam, g) = trainedParts(seed: 4)
        let a = dir.appendingPathComponent("a.safetensors"), b = dir.appendingPathComponent("b.safetensors")
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: a)
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: b)
        let stateA = try #require(try SafeTensors.read(from: a).metadata["neural.state.file"])
        let stateB = try #require(try SafeTensors.read(from: b).metadata["neural.state.file"])
        // b's state file put in place of a's: complete and well-formed, but from another save.
        try FileManager.default.removeItem(at: dir.appendingPathComponent(stateA))
        try FileManager.default.copyItem(at: dir.appendingPathComponent(stateB), to: dir.appendingPathComponent(stateA))
        let e = #expect(throws: CheckpointError.self) { try Checkpoint.load(from: a) }
        #expect(e?.kind == .tornPair, "\(String(describing: e))")
        let text = e?.description ?? ""
        #expect(text.contains(a.path) && text.contains(stateA) && text.contains("belongs to another save"), "\(text)")
    }

    @Test func truncatedStateFileIsATornPair() throws {
        let dir = serializationTemporaryDirectory("pair-truncated")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, adam, g) = trainedParts(seed: 5)
        let url = dir.appendingPathComponent("ck.safetensors")
        try Checkpoint.save(model: model, optimizer: adam, generator: g, to: url)
        let state = dir.appendingPathComponent(try #require(try SafeTensors.read(from: url).metadata["neural.state.file"]))
        let bytes = try Data(contentsOf: state)
        try bytes.prefix(bytes.count - 9).write(to: state)
        let e = #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url) }
        #expect(e?.kind == .tornPair && e?.description.contains("cannot be read") == true, "\(String(describing: e))")
    }

    @Test func stateFileNameOutsideTheDirectoryIsRejected() throws {
        let dir = serializationTemporaryDirectory("pair-escape")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("ck.safetensors")
        for name in ["../ck.state-0000000000000001.safetensors", "/etc/passwd", ".."] {
            try SafeTensors(tensors: ["w": Tensor.ones([1])], metadata: ["neural.state.file": name, "neural.state.id": "1"]).write(to: url)
            let e = #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url) }
            #expect(e?.kind == .malformedMetadata && e?.description.contains("neural.state.file") == true, "\(String(describing: e))")
        }
    }

    @Test func singleFileCheckpointsOfEarlierVersionsLoadAndResume() throws {
        let dir = serializationTemporaryDirectory("pair-legacy")
        defer { try? FileManager.default.removeItem(at: dir) }
        let (model, adam, g) = trainedParts(seed: 6)
        let ck = Checkpoint(model: model, optimizer: adam, generator: g, modelSpec: "spec")
        // The earlier layout: the state's tensors and entries inside the weights file.
        let weights = try ck.weightsFile(), state = ck.resumeStateFile(id: "0")
        let url = dir.appendingPathComponent("old.safetensors")
        try SafeTensors(tensors: weights.tensors.merging(state.tensors) { a, _ in a },
                        metadata: weights.metadata.merging(state.metadata.filter { $0.key != "neural.state.id" }) { a, _ in a }).write(to: url)
        let back = try Checkpoint.load(from: url)
        #expect(back.modelSpec == "spec" && back.generatorStates["default"] == g.stateWords)
        #expect(Set(back.tensors.keys) == Set(model.stateDict().map(\.name)))
        let restored = Adam(model.parameters, learningRate: 0.01)
        try back.restore(optimizer: restored)
        #expect(restored.state.parameters.map(\.step) == adam.state.parameters.map(\.step))

        // Older still: state tensors numbered per parameter in each optimizer's fixed order (Adam: m, v).
        var numbered = weights.tensors
        for (i, p) in adam.state.parameters.enumerated() {
            numbered["__optimizer__.\(i).0"] = p.tensors["exp_avg"]
            numbered["__optimizer__.\(i).1"] = p.tensors["exp_avg_sq"]
        }
        let steps = adam.state.parameters.map { String($0.step) }.joined(separator: ",")
        let slots = Array(repeating: "2", count: adam.state.parameters.count).joined(separator: ",")
        try SafeTensors(tensors: numbered, metadata: weights.metadata.merging(
            ["neural.optimizer": #"{"parameter_steps":[\#(steps)],"slots":[\#(slots)],"step":1,"type":"Adam"}"#]) { a, _ in a })
            .write(to: url)
        let slotted = Adam(model.parameters, learningRate: 0.01)
        try Checkpoint.load(from: url).restore(optimizer: slotted)
        #expect(slotted.stepCount == 1)
        for (a, b) in zip(adam.state.parameters, slotted.state.parameters) {
            #expect(a.step == b.step && a.tensors.keys.sorted() == b.tensors.keys.sorted())
            for (name, t) in a.tensors { expectBitIdentical(t, b.tensors[name]!) }
        }

        // Two numbered RMSProp slots are momentum or centered: not resumable, said so; the weights load.
        try SafeTensors(tensors: weights.tensors.merging(["__optimizer__.0.0": Tensor.zeros([4, 3]), "__optimizer__.0.1": Tensor.zeros([4, 3])]) { a, _ in a },
                        metadata: weights.metadata.merging(["neural.optimizer": #"{"parameter_steps":[1],"slots":[2],"step":1,"type":"RMSProp"}"#]) { a, _ in a })
            .write(to: url)
        let e = #expect(throws: CheckpointError.self) { try Checkpoint.load(from: url) }
        #expect(e?.description.contains("an earlier Neural version") == true && e?.description.contains("resumeState: false") == true,
                "\(String(describing: e))")
        let weightsOnly = try Checkpoint.load(from: url, resumeState: false)
        #expect(weightsOnly.optimizerState == nil && Set(weightsOnly.tensors.keys) == Set(model.stateDict().map(\.name)))
    }
}
