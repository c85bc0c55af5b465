import Foundation
import Neural
import Testing

/// A directory holding a little MNIST in the real file format: 96 training and 20 test images of
/// pseudo-random strokes, labels i mod 10.
private func littleMNIST() throws -> URL {
    let dir = try NeuralTool.temporaryDirectory()
    func idx(_ magic: Int, _ dims: [Int], _ payload: [UInt8]) -> [UInt8] {
        func be(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
        return be(magic) + dims.flatMap(be) + payload
    }
    var state: UInt64 = 12345
    for (split, n) in [(MNIST.Split.train, 96), (.test, 20)] {
        let pixels = (0..<(n * 784)).map { k -> UInt8 in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            let (i, j) = (k % 784 / 28, k % 28)
            return (4..<24).contains(i) && (4..<24).contains(j) && state >> 62 == 0 ? UInt8(truncatingIfNeeded: state >> 33) : 0
        }
        try Data(Gzip.compress(idx(2051, [n, 28, 28], pixels))).write(to: dir.appendingPathComponent(split.imagesFile))
        try Data(Gzip.compress(idx(2049, [n], (0..<n).map { UInt8($0 % 10) }))).write(to: dir.appendingPathComponent(split.labelsFile))
    }
    return dir
}

/// The `--metrics-json` epochs' (train loss, test loss).
private func losses(_ file: URL) throws -> [(Double, Double)] {
    let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any])
    let epochs = try #require(root["epochs"] as? [[String: Any]])
    return epochs.map { (($0["train_loss"] as? NSNumber)?.doubleValue ?? .nan, ($0["test_loss"] as? NSNumber)?.doubleValue ?? .nan) }
}

struct AugmentCLITests {
    private let common = ["train", "--data", "mnist", "--model", "conv2d(4,3) relu maxpool(2) flatten", "--batch-size", "16", "--quiet"]

    @Test func augmentChangesTheTrainingBatchesButNotTheTestSet() throws {
        let dir = try littleMNIST()
        // A rate too small to move a Float32 weight: both runs keep the initial model, so the
        // losses differ only through the data each sees.
        let still = common + ["--data-dir", dir.path, "--optimizer", "sgd", "--lr", "1e-30", "--epochs", "2"]
        let plain = try NeuralTool.run(still + ["--metrics-json", "plain.json"], in: dir)
        #expect(plain.status == 0, "\(plain.stderr)")
        let augmented = try NeuralTool.run(still + ["--augment", "--metrics-json", "augmented.json"], in: dir)
        #expect(augmented.status == 0, "\(augmented.stderr)")
        let p = try losses(dir.appendingPathComponent("plain.json")), a = try losses(dir.appendingPathComponent("augmented.json"))
        #expect(p.count == 2 && a.count == 2)
        // Without --augment both epochs see the same examples (in another order: equal up to rounding).
        #expect(abs(p[0].0 - p[1].0) < 1e-5, "\(p)")
        #expect(abs(a[0].0 - p[0].0) > 1e-3 && abs(a[1].0 - p[1].0) > 1e-3 && abs(a[0].0 - a[1].0) > 1e-3,
                "--augment changes the batches, every epoch: \(a) vs \(p)")
        #expect(a.map(\.1) == p.map(\.1), "the test set is the same")
    }

    @Test func augmentedRunsResumeWithTheSameBits() throws {
        let dir = try littleMNIST()
        // A constant rate, so that the one-epoch run's schedule is the longer run's.
        let run = common + ["--data-dir", dir.path, "--augment", "--schedule", "constant"]
        #expect(try NeuralTool.run(run + ["--epochs", "3", "--checkpoint", "straight.safetensors"], in: dir).status == 0)
        // One epoch, then resumed to the end: epochs 2 and 3 draw the same augmentations.
        let first = try NeuralTool.run(run + ["--epochs", "1", "--checkpoint", "half.safetensors"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let resumed = try NeuralTool.run(run + ["--epochs", "3", "--resume", "half.safetensors"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Checkpoint.load(from: dir.appendingPathComponent("straight.safetensors"))
        let b = try Checkpoint.load(from: dir.appendingPathComponent("half.safetensors"))
        #expect(!a.tensors.isEmpty && a.tensors.keys.sorted() == b.tensors.keys.sorted())
        for (name, t) in a.tensors { expectBitIdentical(b.tensors[name]!, t) }
        let config = try #require(try JSONSerialization.jsonObject(with: Data((a.config ?? "").utf8)) as? [String: Any])
        #expect(config["augment"] as? Bool == true, "\(config)")

        // Resuming without --augment (or adding it to a plain run) is refused, naming the option.
        let changed = try NeuralTool.run(common + ["--data-dir", dir.path, "--schedule", "constant", "--epochs", "4",
                                                   "--resume", "straight.safetensors"], in: dir)
        #expect(changed.status != 0 && changed.stderr.contains("--augment on, not off"), "\(changed.stderr)")
        let other = try NeuralTool.run(["train", "--augment", "--epochs", "1"], in: dir)
        #expect(other.status != 0 && other.stderr.contains("--augment works on image data"), "\(other.stderr)")
    }
}
