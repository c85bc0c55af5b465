import Foundation
import Neural
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Checkpoints that cannot be written (a full disk, a read-only directory) leave the previous one
/// loadable and no temporary file; models, batches and data that cannot fit in memory are refused
/// before training with the bytes needed and available.
@Suite("Full disks and memory", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct FullDiskAndMemoryTests {
    static let run = ["train", "--data", "spirals", "--batch-size", "32", "--seed", "3", "--quiet", "--plot", "p.svg",
                      "--model", "linear(16) relu"]

    /// Runs `command` with `/bin/sh -c` in `dir`.
    static func sh(_ command: String, in dir: URL) throws -> NeuralTool.Result {
        try NeuralTool.run(program: URL(fileURLWithPath: "/bin/sh"), ["-c", command], in: dir)
    }

    /// A small tmpfs mounted at `dir/disk` (root only), or nil with the reason it cannot be.
    static func mountSmallDisk(in dir: URL) throws -> (URL?, String) {
        let disk = dir.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        guard getuid() == 0 else { return (nil, "not root, so no tmpfs can be mounted") }
        let m = try sh("mount -t tmpfs -o size=512k neural-test \(disk.path)", in: dir)
        guard m.status == 0 else { return (nil, "mount -t tmpfs is not permitted here: \(m.stderr)") }
        return (disk, "")
    }

    /// Trains one epoch with `--checkpoint disk/ck.safetensors`, applies `spoil` to the disk, then
    /// resumes for a second epoch: its checkpoint write must fail with one `neural:` line naming
    /// the checkpoint and `cause`, leaving the first checkpoint loadable, bit for bit, and no
    /// temporary file.
    static func expectPreviousCheckpointSurvives(_ disk: URL, in dir: URL, cause: String, spoil: () throws -> Void) throws {
        let first = try NeuralTool.run(Self.run + ["--epochs", "1", "--checkpoint", "disk/ck.safetensors"], in: dir)
        try #require(first.status == 0, "\(first.stderr)")
        let ck = disk.appendingPathComponent("ck.safetensors")
        let before = try KillResumeTests.bits(try Checkpoint.load(from: ck))
        let files = try FileManager.default.contentsOfDirectory(atPath: disk.path).sorted()
        try spoil()
        let r = try NeuralTool.run(Self.run + ["--epochs", "2", "--resume", "disk/ck.safetensors"], in: dir)
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("neural: ") && lines[0].contains("checkpoint disk/ck.safetensors")
                && lines[0].contains(cause), "\(r.stderr)")
        let after = try Checkpoint.load(from: ck)
        #expect(try KillResumeTests.bits(after) == before, "the previous checkpoint changed")
        #expect(after.trainingState?.epoch == 1)
        let left = try FileManager.default.contentsOfDirectory(atPath: disk.path).filter { $0 != "filler" }.sorted()
        #expect(left == files, "files before: \(files), after: \(left)")
        print("checkpoint write refused (\(cause)): \(r.stderr)", terminator: "")
    }

    @Test func aFullDiskLeavesThePreviousCheckpointLoadableAndNoTemporaryFile() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (mounted, reason) = try Self.mountSmallDisk(in: dir)
        guard let disk = mounted else { print("skipped the ENOSPC test: \(reason)"); return }
        defer { _ = try? Self.sh("umount \(disk.path)", in: dir) }
        try Self.expectPreviousCheckpointSurvives(disk, in: dir, cause: "No space left on device") {
            // Fill the disk to the last byte.
            let fd = open(disk.appendingPathComponent("filler").path, O_WRONLY | O_CREAT, 0o644)
            try #require(fd >= 0)
            let block = [UInt8](repeating: 1, count: 4096)
            while block.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) > 0 {}
            #expect(errno == ENOSPC)
            close(fd)
        }
    }

    @Test func aReadOnlyDirectoryLeavesThePreviousCheckpointLoadable() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (mounted, reason) = try Self.mountSmallDisk(in: dir)
        if let disk = mounted {
            defer { _ = try? Self.sh("umount \(disk.path)", in: dir) }
            try Self.expectPreviousCheckpointSurvives(disk, in: dir, cause: "Read-only file system") {
                let r = try Self.sh("mount -o remount,ro \(disk.path)", in: dir)
                try #require(r.status == 0, "\(r.stderr)")
            }
        } else if getuid() != 0 {
            let disk = dir.appendingPathComponent("disk")
            defer { chmod(disk.path, 0o755) }
            try Self.expectPreviousCheckpointSurvives(disk, in: dir, cause: "Permission denied") { chmod(disk.path, 0o555) }
        } else {
            print("skipped the read-only test: \(reason) (and root ignores file permissions)")
        }
    }

    @Test func anOversizedModelIsRefusedBeforeTrainingWithItsSize() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try NeuralTool.run(["train", "--model", "mlp(100000000000)", "--epochs", "1"], in: dir)
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        // 1e11 × 2 + 1e11 + 1e11 × 2 + 2 parameters; with gradients and Adam's two moments: × 16 bytes.
        #expect(lines.count == 1 && lines[0].hasPrefix("neural: ")
                && lines[0].contains("not enough memory for the model mlp(100000000000) (500000000002 parameters")
                && lines[0].contains("(8000000000032 bytes) but ") && lines[0].contains(" bytes) are available; use a smaller --model"),
                "\(r.stderr)")
        #expect(r.stdout.isEmpty, "nothing trained")
        print("oversized model: \(r.stderr)", terminator: "")
    }

    @Test func anOversizedBatchIsRefusedBeforeTrainingWithItsSize() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // 5 M parameters (80 MB with Adam) fit anywhere; 201 M activations per example (804 MB) × 800 examples do not.
        let model = "linear(1000000)" + String(repeating: " relu", count: 200)
        let r = try NeuralTool.run(["train", "--model", model, "--batch-size", "800", "--epochs", "1"], in: dir)
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("neural: ") && lines[0].contains("not enough memory for a batch of 800 examples")
                && lines[0].contains("(804.0 MB per example on top of 80.0 MB for the model)")
                && lines[0].contains("(\(80_000_032 + 800 * 804_000_016) bytes) but ")
                && lines[0].contains("use a smaller --batch-size"), "\(r.stderr)")
        print("oversized batch: \(r.stderr)", terminator: "")
    }

    @Test func aDataFileLargerThanTheMemoryAvailableIsRefusedBeforeReadingIt() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let available = try #require(MemoryBudget.availableBytes())
        let big = dir.appendingPathComponent("big.csv")
        try #require(FileManager.default.createFile(atPath: big.path, contents: Data("x,y\n".utf8)))
        guard truncate(big.path, off_t(available) * 2) == 0 else {   // sparse: no disk space used
            print("skipped the oversized-CSV test: cannot make a sparse file of \(available * 2) bytes here")
            return
        }
        let r = try NeuralTool.run(["train", "--data", "big.csv", "--epochs", "1"], in: dir)
        #expect(r.status == 1)
        #expect(r.stderr.split(separator: "\n").count == 1 && r.stderr.hasPrefix("neural: ")
                && r.stderr.contains("not enough memory for the data file big.csv") && r.stderr.contains("(\(available * 2) bytes) but "), "\(r.stderr)")
    }
}
