import Foundation
import Testing

/// The `neural-bench` executable built beside `neural`.
private enum BenchTool {
    static var executable: URL? {
        NeuralTool.executable.map { $0.deletingLastPathComponent().appendingPathComponent("neural-bench") }
            .flatMap { FileManager.default.isExecutableFile(atPath: $0.path) ? $0 : nil }
    }
}

/// Resident memory stays flat over 10,000 training steps of an MLP (measured in a process of its
/// own, `neural-bench rss`, so that concurrently running tests do not disturb the figure).
@Suite("No leaks", .enabled(if: BenchTool.executable != nil, "neural-bench is not built"))
struct NoLeakTests {
    @Test func rssStaysFlatOverTenThousandTrainingSteps() throws {
        let p = Process()
        p.executableURL = BenchTool.executable!
        p.arguments = ["rss", "--threads", "2", "--steps", "10000", "--every", "1000", "--features", "64", "--hidden", "64", "--batch", "32"]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let result = try #require(text.split(separator: "\n").first { $0.hasPrefix("RESULT bench=rss") })
        print(result)
        var fields: [String: String] = [:]
        for f in result.split(separator: " ") {
            let kv = f.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        let curve = try #require(fields["curve"]).split(separator: ",").compactMap { Double($0.split(separator: ":").last ?? "") }
        #expect(curve.count == 11, "one sample per 1000 steps: \(result)")
        // From step 1000 (caches warm) to step 10000: growth below 2 MiB, i.e. < 230 bytes per step.
        let growth = (curve.last ?? .nan) - (curve.dropFirst().first ?? .nan)
        #expect(growth < 2, "RSS grew by \(growth) MiB over 9000 steps: \(result)")
    }
}
