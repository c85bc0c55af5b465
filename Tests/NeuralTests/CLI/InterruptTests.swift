import Foundation
import Neural
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `neural train` stopped by SIGINT or SIGTERM at random steps saves where it stopped, exits with
/// 130 or 143, and the printed `--resume` command ends with exactly the bits of an uninterrupted run.
@Suite("Interrupt and resume", .serialized, .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct InterruptTests {
    /// 3 epochs of 50 steps with every kind of state (batch-norm statistics, dropout masks, Adam
    /// moments, the cosine schedule, the shuffling sampler, early-stopping counters).
    static let run = ["train", "--data", "spirals", "--epochs", "3", "--batch-size", "16", "--seed", "11", "--quiet",
                      "--model", "linear(32) batchnorm relu dropout(0.1) linear(32) relu", "--patience", "6", "--plot", "p.svg"]
    static let totalSteps = 150

    /// A finished launch: its exit status, its standard error's lines, the step at which the signal
    /// was sent (nil: none was). Standard output goes to `stdout.txt` in the run's directory.
    struct Launch {
        var status: Int32
        var signalled: Bool
        var lines: [String]
        var signalStep: Int?
        var stderr: String { lines.joined(separator: "\n") }
    }

    /// The words of a POSIX shell command made of bare words and single-quoted ones (what
    /// `neural` prints), as the shell would pass them.
    static func shellWords(_ command: String) -> [String] {
        var words: [String] = [], word = "", quoted = false, escaped = false, inWord = false
        for c in command {
            if escaped {
                word.append(c)
                escaped = false
            } else if quoted {
                if c == "'" { quoted = false } else { word.append(c) }
            } else if c == "'" || c == "\\" {
                quoted = c == "'"
                escaped = c == "\\"
                inWord = true
            } else if c == " " {
                if inWord { words.append(word) }
                word = ""
                inWord = false
            } else {
                word.append(c)
                inWord = true
            }
        }
        if inWord { words.append(word) }
        return words
    }

    /// Starts the shell command `command` (its program must be the built `neural`) or `neural
    /// arguments` in `dir` with the step hook on (each step reports itself and pauses `pauseMS`),
    /// sends `signals` (in order, `gapMS` apart) once it reports step `at` or later, and waits for it.
    static func launch(_ arguments: [String]? = nil, command: String? = nil, in dir: URL, pauseMS: Int = 2,
                       signalAt at: Int?, signals: [Int32], gapMS: Int = 0) throws -> Launch {
        let p = Process()
        p.executableURL = NeuralTool.executable!
        if let command {
            let words = Self.shellWords(command)
            #expect(words.first == NeuralTool.executable!.path, "\(command)")
            p.arguments = Array(words.dropFirst())
        } else {
            p.arguments = arguments!
        }
        p.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["NEURAL_TEST_STEP_REPORT_MS"] = "\(pauseMS)"
        p.environment = env
        let out = dir.appendingPathComponent("stdout.txt")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        p.standardOutput = try FileHandle(forWritingTo: out)
        let err = Pipe()
        p.standardError = err
        try p.run()
        var lines: [String] = [], signalStep: Int?
        Self.forEachLine(of: err.fileHandleForReading) { line in
            lines.append(line)
            if signalStep == nil, let at, line.hasPrefix("neural-test: step "), let s = Int(line.dropFirst(18)), s >= at {
                signalStep = s
                for (i, signal) in signals.enumerated() {
                    if i > 0 { usleep(UInt32(gapMS * 1000)) }
                    kill(p.processIdentifier, signal)
                }
            }
        }
        p.waitUntilExit()
        return Launch(status: p.terminationStatus, signalled: p.terminationReason == .uncaughtSignal,
                      lines: lines.filter { !$0.hasPrefix("neural-test: ") }, signalStep: signalStep)
    }

    /// Calls `body` with each line `reader` yields (without its newline) as it arrives, until end of file.
    static func forEachLine(of reader: FileHandle, _ body: (String) -> Void) {
        var buffer = Data()
        while true {
            let chunk = reader.availableData
            if chunk.isEmpty { break }
            buffer.append(chunk)
            while let newline = buffer.firstIndex(of: 10) {
                body(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                buffer.removeSubrange(buffer.startIndex...newline)
            }
        }
    }

    /// The final checkpoint at `ck` equals `reference` bit for bit (weights, buffers, optimizer
    /// state, generators, sampler, trainer state and per-epoch losses).
    static func expectSame(_ ck: URL, as reference: Checkpoint, _ context: String) throws {
        let b = try Checkpoint.load(from: ck)
        let (bitsA, bitsB) = (try KillResumeTests.bits(reference), try KillResumeTests.bits(b))
        #expect(Set(bitsA.keys) == Set(bitsB.keys))
        for name in bitsA.keys.sorted() { #expect(bitsA[name] == bitsB[name], "\(name) differs (\(context))") }
        #expect(reference.generatorStates == b.generatorStates && reference.samplerState == b.samplerState, "\(context)")
        let (ha, hb) = (try #require(reference.trainingState), try #require(b.trainingState))
        #expect(ha.epoch == hb.epoch && ha.step == hb.step && ha.stopped == hb.stopped && ha.bestLoss == hb.bestLoss, "\(context)")
        #expect(ha.history.map(\.trainLoss) == hb.history.map(\.trainLoss), "\(context)")
        #expect(ha.history.map { $0.test?.loss } == hb.history.map { $0.test?.loss }, "\(context)")
    }

    @Test func sigintAndSigtermAtRandomStepsSaveExitAndResumeToTheUninterruptedBits() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let uninterrupted = try NeuralTool.run(Self.run + ["--checkpoint", "reference.safetensors"], in: dir)
        try #require(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let reference = try Checkpoint.load(from: dir.appendingPathComponent("reference.safetensors"))
        let ck = dir.appendingPathComponent("ck.safetensors")

        let schedule = RandomGenerator(seed: 28)   // the signal schedule is fixed
        var sent: [Int32: Int] = [SIGINT: 0, SIGTERM: 0]
        var stoppedAt: [Int] = [], chains = 0, midEpoch = 0
        var command: String?   // nil: start a new run; else the printed resume command
        var step = 0
        while sent[SIGINT]! < 12 || sent[SIGTERM]! < 12 {
            let target = step + 1 + schedule.nextInt(below: 30)
            let signal = sent[SIGINT]! <= sent[SIGTERM]! ? SIGINT : SIGTERM
            let last = target > Self.totalSteps - 10   // too close to the end: let this launch finish
            let l = try Self.launch(command == nil ? Self.run + ["--checkpoint", "ck.safetensors"] : nil, command: command, in: dir,
                                    signalAt: last ? nil : target, signals: [signal])
            if last {
                #expect(l.status == 0 && !l.signalled, "\(l.stderr)")
                try Self.expectSame(ck, as: reference, "after \(stoppedAt.count) stops")
                chains += 1
                command = nil
                step = 0
                try FileManager.default.removeItem(at: ck)
                continue
            }
            let landed = try #require(l.signalStep, "no step reached \(target): \(l.stderr)")
            sent[signal]! += 1
            #expect(!l.signalled && l.status == 128 + signal, "exit status \(l.status) after \(signal): \(l.stderr)")
            let stops = l.lines.filter { $0.hasPrefix("neural: stopped by \(signal == SIGINT ? "SIGINT" : "SIGTERM") ") }
            #expect(stops.count == 1 && l.lines.count == 1, "one line: \(l.stderr)")
            let line = try #require(stops.first)
            let resume = try #require(line.range(of: "; continue with: ").map { String(line[$0.upperBound...]) })
            #expect(resume.hasPrefix(NeuralTool.executable!.path + " train ") && resume.hasSuffix(" --resume ck.safetensors"), "\(resume)")
            let state = try #require(try Checkpoint.load(from: ck).trainingState)
            #expect(state.step >= landed, "stopped at step \(state.step), before the signal was sent at \(landed)")
            #expect(line.contains("(step \(state.step))"), "\(line)")
            if state.batch > 0 { midEpoch += 1 }
            #expect(!(try FileManager.default.contentsOfDirectory(atPath: dir.path)).contains { $0.hasPrefix(".ck.") }, "no temporary file")
            stoppedAt.append(state.step)
            step = state.step
            command = resume
        }
        // The chain in progress runs to its end from its last stop.
        let l = try Self.launch(command: command, in: dir, signalAt: nil, signals: [])
        #expect(l.status == 0, "\(l.stderr)")
        try Self.expectSame(ck, as: reference, "after the last chain")
        print("interrupt/resume: 12 SIGINTs and 12 SIGTERMs at steps \(stoppedAt) over \(chains + 1) runs "
              + "(\(midEpoch) inside an epoch), each run bit-identical to the uninterrupted one")
        #expect(midEpoch >= 10, "only \(midEpoch) stops inside an epoch")
    }

    @Test func aSecondSignalExitsAtOnceWithoutSaving() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Each step pauses 30 s: the first signal alone would wait for the end of the pause.
        for (second, status) in [(SIGINT, Int32(130)), (SIGTERM, Int32(143))] {
            let l = try Self.launch(Self.run + ["--checkpoint", "ck.safetensors"], in: dir, pauseMS: 30_000,
                                    signalAt: 1, signals: [SIGINT, second], gapMS: 200)
            #expect(!l.signalled && l.status == status, "status \(l.status): \(l.stderr)")
            #expect(l.lines.count == 1 && l.lines[0].hasPrefix("neural: second signal: exiting at once"), "\(l.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("ck.safetensors").path), "nothing saved")
        }
    }

    @Test func aSignalAfterTheLastStepLeavesACompleteRunAndExitsZero() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // One epoch (50 steps), each pausing 150 ms: the signal lands in the last step's pause.
        var args = Self.run.filter { $0 != "--quiet" } + ["--checkpoint", "ck.safetensors"]
        args[args.firstIndex(of: "--epochs")! + 1] = "1"
        let l = try Self.launch(args, in: dir, pauseMS: 150, signalAt: Self.totalSteps / 3, signals: [SIGINT])
        #expect(l.signalStep == Self.totalSteps / 3, "signal sent at step \(String(describing: l.signalStep))")
        #expect(!l.signalled && l.status == 0, "status \(l.status): \(l.stderr)")
        #expect(l.lines == ["neural: SIGINT arrived after the last step; the run is complete"], "\(l.stderr)")
        let stdout = try String(contentsOf: dir.appendingPathComponent("stdout.txt"), encoding: .utf8)
        #expect(stdout.contains("done: 1 epochs"), "\(stdout)")
    }

    @Test func withoutCheckpointAStoppedRunPrintsItsSummaryAndWritesThePlots() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let args = Self.run.filter { $0 != "--quiet" }
        let l = try Self.launch(args, in: dir, signalAt: 60, signals: [SIGTERM])
        #expect(!l.signalled && l.status == 143, "\(l.stderr)")
        #expect(l.lines.count == 1 && l.lines[0].hasPrefix("neural: stopped by SIGTERM in epoch 2/3 after batch ")
                && l.lines[0].contains("nothing saved"), "\(l.stderr)")
        let stdout = try String(contentsOf: dir.appendingPathComponent("stdout.txt"), encoding: .utf8)
        #expect(stdout.contains("epoch 1/3  train_loss ") && !stdout.contains("epoch 2/3  train_loss "), "\(stdout)")
        #expect(stdout.contains("\nstopped: 1 epochs in ") && stdout.contains("test accuracy") && stdout.contains("plot: p.svg, p-regions.svg"),
                "the summary so far: \(stdout)")
        for f in ["p.svg", "p-regions.svg"] {
            #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent(f).path), "\(f) missing")
        }
    }
}
