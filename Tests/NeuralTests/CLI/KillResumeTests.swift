import Foundation
import Neural
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `neural train` killed with SIGKILL at random moments (some inside checkpoint writes) and resumed
/// each time ends with exactly the weights of an uninterrupted run; no checkpoint is ever torn.
@Suite("Kill and resume", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct KillResumeTests {
    /// A small model with every kind of state: batch-norm running statistics, dropout masks from
    /// the model's generator, Adam moments, the cosine schedule's position, the shuffling sampler,
    /// early-stopping counters and the epoch's loss accumulators.
    static let run = ["train", "--data", "spirals", "--epochs", "14", "--batch-size", "16", "--seed", "7", "--quiet",
                      "--model", "linear(64) batchnorm relu dropout(0.1) linear(64) relu", "--patience", "6",
                      "--plot", "p.svg"]

    /// Starts `neural` with `arguments`; `slowWrites` makes every checkpoint write pause mid-file and before its rename.
    private static func start(_ arguments: [String], in dir: URL, slowWrites: Bool) throws -> Process {
        let p = Process()
        p.executableURL = NeuralTool.executable!
        p.arguments = arguments
        p.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["NEURAL_TEST_SLOW_WRITE_MS"] = slowWrites ? "4" : nil
        p.environment = env
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: {
            let u = dir.appendingPathComponent("stderr.txt")
            _ = FileManager.default.createFile(atPath: u.path, contents: nil)
            return u
        }())
        try p.run()
        return p
    }

    /// Every tensor's bits by name: the model's state and the optimizer's state tensors (`opt.<parameter>.<name>`).
    static func bits(_ c: Checkpoint) throws -> [String: [UInt64]] {
        var all = c.tensors
        for (i, p) in try #require(c.optimizerState).parameters.enumerated() {
            for (name, t) in p.tensors { all["opt.\(i).\(name)"] = t }
        }
        return all.mapValues { t in
            switch t.dtype {
            case .float32: return t.scalars(as: Float.self).map { UInt64($0.bitPattern) }
            case .float64: return t.scalars(as: Double.self).map(\.bitPattern)
            case .int32, .int64: return t.scalars(as: Int64.self).map { UInt64(bitPattern: $0) }
            }
        }
    }

    /// Files of `ck.safetensors` in `dir` that a completed save leaves none of: temporaries of
    /// atomic writes, and state files other than the one the weights file names.
    private static func strayFiles(in dir: URL) throws -> [String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        let ck = dir.appendingPathComponent("ck.safetensors")
        let named = FileManager.default.fileExists(atPath: ck.path)
            ? try SafeTensors.read(from: ck).metadata["neural.state.file"] : nil
        return names.filter { name in
            name.hasPrefix(".ck.safetensors.tmp-") || name.hasPrefix(".ck.state-")
                || (name.hasPrefix("ck.state-") && name != named)
        }
    }

    @Test func sigkillAtRandomMomentsThenResumeGivesBitIdenticalWeights() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let uninterrupted = try NeuralTool.run(Self.run + ["--checkpoint", "reference.safetensors"], in: dir)
        try #require(uninterrupted.status == 0, "\(uninterrupted.stderr)")

        let reference = try Checkpoint.load(from: dir.appendingPathComponent("reference.safetensors"))
        let referenceBits = try Self.bits(reference)
        let ck = dir.appendingPathComponent("ck.safetensors")

        /// The interrupted run's final checkpoint must equal the reference bit for bit.
        func expectSameAsReference(_ kills: Int) throws {
            let b = try Checkpoint.load(from: ck)
            let bitsB = try Self.bits(b)
            #expect(Set(referenceBits.keys) == Set(bitsB.keys))
            for name in referenceBits.keys.sorted() {
                #expect(referenceBits[name] == bitsB[name], "\(name) differs after \(kills) kills")
            }
            #expect(reference.generatorStates == b.generatorStates)
            #expect(reference.samplerState == b.samplerState)
            let (ha, hb) = (try #require(reference.trainingState), try #require(b.trainingState))
            #expect(ha.epoch == hb.epoch && ha.step == hb.step && ha.stopped == hb.stopped && ha.bestLoss == hb.bestLoss)
            #expect(ha.history.map(\.trainLoss) == hb.history.map(\.trainLoss), "per-epoch training losses match")
            #expect(ha.history.map { $0.test?.loss } == hb.history.map { $0.test?.loss })
        }

        let schedule = RandomGenerator(seed: 2024)       // the kill schedule is fixed
        var kills = 0, killsDuringWrites = 0, killsBeforeFirstCheckpoint = 0, launches = 0, midEpochResumes = 0
        var completedRuns = 0, killsThisRun = 0
        // Kill at random moments; resume each time. Should a run complete before 24 kills (a fast
        // machine), it is compared and a new interrupted run starts, so every kill counts.
        while kills < 24 {
            let exists = FileManager.default.fileExists(atPath: ck.path)
            var args = Self.run + ["--checkpoint", "ck.safetensors", "--checkpoint-every", "3", "--threads", launches % 2 == 0 ? "1" : "2"]
            if exists {
                args += ["--resume", "ck.safetensors"]
                if let state = try Checkpoint.load(from: ck).trainingState, state.batch > 0 { midEpochResumes += 1 }
            }
            let p = try Self.start(args, in: dir, slowWrites: launches % 2 == 1)
            launches += 1
            usleep(UInt32(20_000 + schedule.nextInt(below: 260_000)))   // 20–280 ms
            if p.isRunning { kill(p.processIdentifier, SIGKILL) }
            p.waitUntilExit()
            if p.terminationReason == .uncaughtSignal {
                kills += 1
                killsThisRun += 1
                if !exists { killsBeforeFirstCheckpoint += 1 }
            } else {
                let stderr = (try? String(contentsOf: dir.appendingPathComponent("stderr.txt"), encoding: .utf8)) ?? ""
                #expect(p.terminationStatus == 0, "run \(launches) failed: \(stderr)")
                try expectSameAsReference(killsThisRun)
                completedRuns += 1
                killsThisRun = 0
                if let state = try SafeTensors.read(from: ck).metadata["neural.state.file"] {
                    try FileManager.default.removeItem(at: dir.appendingPathComponent(state))
                }
                try FileManager.default.removeItem(at: ck)
            }
            // Never torn: whatever the kill interrupted, the weights file (if any) names a complete
            // state file of the same save (Checkpoint.load checks the pair).
            if FileManager.default.fileExists(atPath: ck.path) {
                let c = try Checkpoint.load(from: ck)
                #expect(c.trainingState != nil && c.samplerState != nil && c.optimizerState != nil)
            }
            // A kill inside a save leaves a temporary file, or a state file the weights do not name
            // (written before the weights' commit, or not yet deleted after it).
            if try !Self.strayFiles(in: dir).isEmpty { killsDuringWrites += 1 }
        }
        let unfinished = try FileManager.default.fileExists(atPath: ck.path)
            ? Checkpoint.load(from: ck).trainingState.map { !$0.stopped && $0.epoch < 14 } ?? true : true
        let last = try NeuralTool.run(Self.run + ["--checkpoint", "ck.safetensors"]
                                      + (FileManager.default.fileExists(atPath: ck.path) ? ["--resume", "ck.safetensors"] : []), in: dir)
        #expect(last.status == 0, "\(last.stderr)")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: dir.path)).contains { $0.hasPrefix(".ck.safetensors.tmp-") },
                "stale temporary files are removed on start")
        if unfinished {
            #expect(try Self.strayFiles(in: dir).isEmpty, "a save deletes earlier state files and temporaries")
        }
        try expectSameAsReference(killsThisRun)
        print("kill/resume: \(kills) SIGKILLs over \(launches) launches (\(killsDuringWrites) during a checkpoint write, "
              + "\(killsBeforeFirstCheckpoint) before the first checkpoint; \(midEpochResumes) resumes from the middle of an epoch; "
              + "\(completedRuns + 1) interrupted run(s), each bit-identical to the uninterrupted one)")
        #expect(killsDuringWrites >= 1, "no kill landed inside a checkpoint write")
        #expect(midEpochResumes >= 5, "only \(midEpochResumes) resumes started inside an epoch")
    }

    @Test func resumingFromATornOrMissingFileIsAClearError() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(try NeuralTool.run(["train", "--epochs", "1", "--quiet", "--checkpoint", "c.safetensors"], in: dir).status == 0)
        let whole = try Data(contentsOf: dir.appendingPathComponent("c.safetensors"))
        try whole.prefix(whole.count / 2).write(to: dir.appendingPathComponent("torn.safetensors"))
        for (file, mention) in [("torn.safetensors", "torn.safetensors"), ("missing.safetensors", "no such file")] {
            let r = try NeuralTool.run(["train", "--epochs", "2", "--quiet", "--resume", file], in: dir)
            #expect(r.status == 1)
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 1 && lines[0].hasPrefix("neural: ") && lines[0].contains(mention), "\(r.stderr)")
        }
        // The weights file without its state file: resuming names both files and the fix; the
        // weights alone still evaluate.
        let state = try #require(try SafeTensors.read(from: dir.appendingPathComponent("c.safetensors")).metadata["neural.state.file"])
        try FileManager.default.copyItem(at: dir.appendingPathComponent("c.safetensors"), to: dir.appendingPathComponent("alone.safetensors"))
        try FileManager.default.copyItem(at: dir.appendingPathComponent(state), to: dir.appendingPathComponent("kept-\(state)"))
        try FileManager.default.removeItem(at: dir.appendingPathComponent(state))
        let torn = try NeuralTool.run(["train", "--epochs", "2", "--quiet", "--resume", "alone.safetensors"], in: dir)
        let tornLines = torn.stderr.split(separator: "\n")
        #expect(torn.status == 1 && tornLines.count == 1 && tornLines[0].hasPrefix("neural: ") && tornLines[0].contains("--resume alone.safetensors"), "\(torn.stderr)")
        #expect(torn.stderr.contains("alone.safetensors") && torn.stderr.contains(state) && torn.stderr.contains("is missing: the pair is torn"),
                "\(torn.stderr)")
        let evaluated = try NeuralTool.run(["evaluate", "--checkpoint", "alone.safetensors"], in: dir)
        #expect(evaluated.status == 0 && evaluated.stdout.contains("accuracy"), "\(evaluated.stderr)")
        try FileManager.default.moveItem(at: dir.appendingPathComponent("kept-\(state)"), to: dir.appendingPathComponent(state))

        // Resuming with a different batch size would silently change the run: refused.
        let r = try NeuralTool.run(["train", "--epochs", "2", "--quiet", "--resume", "c.safetensors", "--batch-size", "8"], in: dir)
        #expect(r.status == 1 && r.stderr.hasPrefix("neural: ") && r.stderr.contains("--batch-size"), "\(r.stderr)")
    }

    @Test func divergingRunStopsWithOneLineNamingStepAndLayer() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try NeuralTool.run(["train", "--epochs", "5", "--quiet", "--optimizer", "sgd", "--lr", "1e6"], in: dir)
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n")
        #expect(lines.count == 1 && lines[0].hasPrefix("neural: ") && lines[0].contains("at step ") && lines[0].contains("layer "), "\(r.stderr)")
        let a = try NeuralTool.run(["train", "--epochs", "5", "--quiet", "--optimizer", "sgd", "--lr", "1e6", "--detect-anomalies"], in: dir)
        #expect(a.status == 1)
        #expect(a.stderr.hasPrefix("neural: ") && a.stderr.contains("anomaly detection: the ") && a.stderr.contains("in layer "), "\(a.stderr)")
        print("neural train --lr 1e6: \(r.stderr)neural train --lr 1e6 --detect-anomalies: \(a.stderr)")
    }
}
