import Foundation
import Testing

/// `neural train`'s progress reaches a pipe or a log file line by line, as it is printed — not in
/// one block when the run ends (standard output to a pipe is block-buffered by default).
@Suite("Progress lines stream to pipes", .enabled(if: NeuralTool.executable != nil, "the neural executable is not built"))
struct ProgressStreamingTests {
    /// Standard output and standard error share one pipe, and the step hook reports every step on
    /// standard error (unbuffered). The epoch-1 line is printed after step 50 and before step 51
    /// starts, so it must arrive right after the report of step 50 and before that of step 51.
    @Test func eachEpochLineArrivesBeforeTheNextEpochsFirstStep() throws {
        let dir = try NeuralTool.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let p = Process()
        p.executableURL = NeuralTool.executable!
        p.arguments = ["train", "--data", "spirals", "--epochs", "3", "--batch-size", "16", "--seed", "11",
                       "--model", "linear(32) relu", "--plot", "p.svg"]
        p.currentDirectoryURL = dir
        var env = ProcessInfo.processInfo.environment
        env["NEURAL_TEST_STEP_REPORT_MS"] = "0"
        p.environment = env
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        var lastStep = 0, stepsBeforeEpochLine: [Int] = []
        InterruptTests.forEachLine(of: pipe.fileHandleForReading) { line in
            if line.hasPrefix("neural-test: step "), let s = Int(line.dropFirst(18)) { lastStep = s }
            if line.hasPrefix("epoch ") { stepsBeforeEpochLine.append(lastStep) }
        }
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        // 800 training points in batches of 16: 50 steps an epoch (as InterruptTests.totalSteps says).
        #expect(stepsBeforeEpochLine == [50, 100, 150], "the step reported last before each epoch line")
    }
}
