import Foundation
import Neural
import Testing

/// The peers' Python with torch and safetensors, if this machine has one:
/// `$PEERS_DIR/venv/bin/python`, then `/tmp/neural-peers/venv/bin/python`, used only when
/// `import torch, safetensors` succeeds in it.
enum TorchPeers {
    static let python: String? = {
        var candidates: [String] = []
        if let peers = ProcessInfo.processInfo.environment["PEERS_DIR"], !peers.isEmpty {
            candidates.append(peers + "/venv/bin/python")
        }
        candidates.append("/tmp/neural-peers/venv/bin/python")
        for path in candidates where FileManager.default.isExecutableFile(atPath: path) {
            if (try? run(path, ["-c", "import torch, safetensors"]))?.status == 0 { return path }
        }
        return nil
    }()

    /// `Scripts/torch_roundtrip.py` in this repository.
    static let script: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Scripts/torch_roundtrip.py").path

    /// Runs `executable` with `arguments`; returns its exit status and its stdout and stderr together.
    static func run(_ executable: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}

/// The architectures both sides build, in the script's `layers` JSON (see Scripts/torch_roundtrip.py).
private let architectures: [(name: String, layers: String, input: [Int])] = [
    ("mlp", #"[{"type":"Linear","in":6,"out":32},{"type":"ReLU"},{"type":"Linear","in":32,"out":16},{"type":"ReLU"},{"type":"Linear","in":16,"out":3}]"#,
     [5, 6]),
    ("cnn", #"[{"type":"Conv2d","in":1,"out":4,"kernel":3,"stride":1,"padding":1},{"type":"BatchNorm2d","features":4},{"type":"ReLU"},{"type":"MaxPool2d","kernel":2,"stride":2},{"type":"Conv2d","in":4,"out":6,"kernel":3,"stride":1,"padding":0},{"type":"ReLU"},{"type":"Flatten"},{"type":"Linear","in":24,"out":10}]"#,
     [3, 1, 8, 8]),
]

/// The Neural `Sequential` for a `layers` JSON list.
private func buildNeural(_ layersJSON: String, generator g: RandomGenerator) throws -> Sequential {
    let specs = try #require(try JSONSerialization.jsonObject(with: Data(layersJSON.utf8)) as? [[String: Any]])
    var layers: [any Layer] = []
    for s in specs {
        func int(_ key: String, _ fallback: Int? = nil) throws -> Int { try #require((s[key] as? Int) ?? fallback) }
        switch s["type"] as? String {
        case "Linear": layers.append(Linear(try int("in"), try int("out"), generator: g))
        case "ReLU": layers.append(ReLU())
        case "Conv2d":
            layers.append(Conv2D(try int("in"), try int("out"), kernelSize: try int("kernel"), stride: try int("stride", 1),
                                 padding: try int("padding", 0), generator: g))
        case "BatchNorm2d": layers.append(BatchNorm2D(try int("features")))
        case "MaxPool2d": layers.append(MaxPool2D(kernelSize: try int("kernel"), stride: s["stride"] as? Int))
        case "Flatten": layers.append(Flatten())
        default: Issue.record("unknown layer \(s)")
        }
    }
    return Sequential(layers)
}

private func torchMaxAbsDifference(_ a: Tensor, _ b: Tensor) -> Double {
    zip(a.scalars(as: Double.self), b.scalars(as: Double.self)).map { abs($0 - $1) }.max() ?? 0
}

@Suite("TorchRoundTrip")
struct TorchRoundTripTests {
    /// The checkpoint `neural train --checkpoint` writes loads into torch with
    /// `load_state_dict(strict=True)` as it is, and torch's outputs equal `neural predict`'s.
    @Test(.enabled(if: TorchPeers.python != nil && NeuralTool.executable != nil && sharedDataDirectory("mnist") != nil,
                   "skipped: needs a Python with torch and safetensors, the neural executable and ../shared/data/mnist"))
    func cliCheckpointLoadsStrictlyIntoTorchAndMatchesPredict() throws {
        let python = try #require(TorchPeers.python), neural = try #require(NeuralTool.executable)
        let mnist = try #require(sharedDataDirectory("mnist"))
        let dir = serializationTemporaryDirectory("torch-cli")
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try TorchPeers.run(python, [TorchPeers.script, "cli", neural.path, mnist, dir.path])
        print(r.output, terminator: "")
        #expect(r.status == 0, "torch_roundtrip.py cli failed:\n\(r.output)")
        #expect(r.output.contains("load_state_dict=strict") && r.output.contains("tolerance=1e-05 PASS"), "\(r.output)")
    }

    // Runs only where the peers' Python can import torch and safetensors; elsewhere Swift Testing
    // reports it as skipped with this reason (it never fails for lack of torch).
    @Test(.enabled(if: TorchPeers.python != nil,
                   "skipped: no Python with torch and safetensors at $PEERS_DIR/venv/bin/python or /tmp/neural-peers/venv/bin/python"))
    func neuralCheckpointsLoadInTorchAndTorchCheckpointsLoadInNeural() throws {
        let python = try #require(TorchPeers.python)
        let dir = serializationTemporaryDirectory("torch-roundtrip")
        defer { try? FileManager.default.removeItem(at: dir) }

        // Neural → torch: checkpoints, inputs and eval-mode outputs for the script to compare.
        for (i, arch) in architectures.enumerated() {
            let model = try buildNeural(arch.layers, generator: RandomGenerator(seed: 100 + UInt64(i)))
            let g = RandomGenerator(seed: 200 + UInt64(i))
            for _ in 0..<3 {   // training-mode passes move BatchNorm's running statistics off their defaults
                _ = model(Tensor.randn([8] + arch.input.dropFirst(), mean: 0.5, std: 2, generator: g))
            }
            model.eval()
            let x = Tensor.randn(arch.input, generator: g)
            let y = withNoGrad { model(x) }
            try Checkpoint.save(model: model, modelSpec: arch.name, epoch: 0,
                                to: dir.appendingPathComponent("\(arch.name).model.safetensors"))
            try SafeTensors(tensors: ["input": x, "output": y], metadata: ["layers": arch.layers])
                .write(to: dir.appendingPathComponent("\(arch.name).io.safetensors"))
        }
        let forward = try TorchPeers.run(python, [TorchPeers.script, "neural-to-torch", dir.path])
        print(forward.output, terminator: "")
        #expect(forward.status == 0, "torch_roundtrip.py neural-to-torch failed:\n\(forward.output)")
        #expect(forward.output.contains("direction=neural->torch max_abs_diff="))

        // torch → Neural: the script writes torch checkpoints; load them strictly and compare.
        let backward = try TorchPeers.run(python, [TorchPeers.script, "torch-to-neural", dir.path])
        print(backward.output, terminator: "")
        try #require(backward.status == 0, "torch_roundtrip.py torch-to-neural failed:\n\(backward.output)")
        for arch in architectures {
            let io = try SafeTensors.read(from: dir.appendingPathComponent("torch_\(arch.name).io.safetensors"))
            let layers = try #require(io.metadata["layers"])
            let model = try buildNeural(layers, generator: RandomGenerator(seed: 999))
            let ckpt = try Checkpoint.load(from: dir.appendingPathComponent("torch_\(arch.name).model.safetensors"))
            #expect(ckpt.modelSpec == nil && ckpt.optimizerState == nil)
            let report = try ckpt.apply(to: model)   // strict
            #expect(report.loaded.count == model.stateDict().count)
            model.eval()
            let x = try #require(io.tensors["input"]), expected = try #require(io.tensors["output"])
            let y = withNoGrad { model(x) }
            #expect(y.shape == expected.shape)
            let diff = torchMaxAbsDifference(y, expected)
            print("RESULT direction=torch->neural model=\(arch.name) keys=\(ckpt.tensors.count) max_abs_diff=\(diff)")
            #expect(diff <= 1e-5)
        }
    }
}
