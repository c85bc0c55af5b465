import Foundation
import Neural
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// SIGTERM and SIGINT sent to `mpirun` (what a batch scheduler or Ctrl-C does) stop every rank at
/// the same step; rank 0 writes the checkpoint and prints the `mpirun -np N … --resume` command,
/// which ends with the bits of an uninterrupted run.
@Suite("Interrupting data-parallel training under mpirun", .serialized,
       .enabled(if: ProcessGroup.isMPICompiled && MPIRun.executable != nil && NeuralTool.executable != nil,
                "needs the MPI trait, mpirun and the built neural tool"))
struct MPIInterruptTests {
    /// 2 epochs of 25 steps (spirals, global batch 32) with Adam moments and the cosine schedule.
    static let run = ["train", "--lr", "0.01", "--batch-size", "32", "--epochs", "2", "--threads", "1",
                      "--quiet", "--plot", "p.svg", "--model", "linear(32) relu linear(32) relu", "--seed", "5"]

    /// What a launch of `mpirun` left: its exit status and standard error's lines (the step
    /// reports of the test hook removed), and the step at which the signal went out.
    struct Launch {
        var status: Int32
        var lines: [String]
        var signalStep: Int?
        var stderr: String { lines.joined(separator: "\n") }
    }

    /// Starts `mpirun -np ranks neural arguments` in `dir` with every signal unblocked and at its
    /// default action (a test runner's threads may block signals, and `mpirun` keeps the mask it
    /// inherits, so a plain `Process` would never see the signal), the step hook on, sends `signal`
    /// once a rank reports step `at`, and waits for it.
    static func launch(ranks: Int, _ arguments: [String], in dir: URL, signalAt at: Int, signal: Int32) throws -> Launch {
        let argv = [MPIRun.executable!.path, "--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "--wdir", dir.path,
                    "-np", "\(ranks)", NeuralTool.executable!.path] + arguments
        var environment = ProcessInfo.processInfo.environment
        environment["NEURAL_TEST_STEP_REPORT_MS"] = "40"
        let envp = environment.map { "\($0.key)=\($0.value)" }

        var pipeFDs: [Int32] = [0, 0]
        try #require(pipe(&pipeFDs) == 0)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, pipeFDs[1], 2)
        posix_spawn_file_actions_addclose(&actions, pipeFDs[0])
        posix_spawn_file_actions_addopen(&actions, 1, dir.appendingPathComponent("stdout.txt").path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var none = sigset_t(), defaults = sigset_t()
        sigemptyset(&none)
        sigemptyset(&defaults)
        for s in [SIGINT, SIGTERM, SIGUSR1, SIGPIPE, SIGCHLD] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigmask(&attributes, &none)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var pid: pid_t = 0
        let cArgs = argv.map { strdup($0) } + [nil], cEnv = envp.map { strdup($0) } + [nil]
        defer { (cArgs + cEnv).forEach { free($0) } }
        let spawned = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        close(pipeFDs[1])
        try #require(spawned == 0, "posix_spawn mpirun: \(String(cString: strerror(spawned)))")

        let reader = FileHandle(fileDescriptor: pipeFDs[0], closeOnDealloc: true)
        var lines: [String] = [], signalStep: Int?
        InterruptTests.forEachLine(of: reader) { line in
            if line.hasPrefix("neural-test: step ") {
                if signalStep == nil, let s = Int(line.dropFirst(18)), s >= at {
                    signalStep = s
                    kill(pid, signal)
                }
            } else {
                lines.append(line)
            }
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        return Launch(status: exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), lines: lines, signalStep: signalStep)
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func aSignalToMpirunStopsEveryRankAtOneStepAndResumesToTheUninterruptedBits(signal: Int32) throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let uninterrupted = try MPIRun.run(ranks: 2, Self.run + ["--checkpoint", "reference.safetensors"], in: dir)
        try #require(uninterrupted.status == 0, "\(uninterrupted.stderr)")
        let reference = try Checkpoint.load(from: dir.appendingPathComponent("reference.safetensors"))

        // mpirun forwards SIGTERM as it is and turns SIGINT into SIGTERM for its ranks.
        let name = signal == SIGINT ? "SIGINT" : "SIGTERM"
        let stopped = try Self.launch(ranks: 2, Self.run + ["--checkpoint", "ck.safetensors"], in: dir, signalAt: 10, signal: signal)
        let landed = try #require(stopped.signalStep, "no rank reached step 10: \(stopped.stderr)")
        #expect(stopped.status != 0, "mpirun exits non-zero when its ranks stop by a signal: \(stopped.stderr)")
        let stops = stopped.lines.filter { $0.hasPrefix("neural: stopped by SIG") }
        #expect(stops.count == 1, "rank 0 alone says where it stopped: \(stopped.stderr)")
        let line = try #require(stops.first)
        let resume = try #require(line.range(of: "; continue with: ").map { String(line[$0.upperBound...]) })
        #expect(resume.hasPrefix("mpirun -np 2 "), "the resume command relaunches 2 ranks: \(resume)")
        #expect(resume.hasSuffix(" --resume ck.safetensors"), "\(resume)")
        let state = try #require(try Checkpoint.load(from: dir.appendingPathComponent("ck.safetensors")).trainingState)
        #expect(state.step >= landed && state.step < 50, "stopped at step \(state.step); the signal went out at step \(landed)")
        #expect(state.batch > 0, "the stop fell inside an epoch (batch \(state.batch))")
        #expect(line.contains("(step \(state.step))"), "\(line)")

        let resumed = try MPIRun.run(ranks: 2, Self.run + ["--checkpoint", "ck.safetensors", "--resume", "ck.safetensors"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        try InterruptTests.expectSame(dir.appendingPathComponent("ck.safetensors"), as: reference, "2 ranks, \(name) at step \(state.step)")
    }
}
