import ArgumentParser
import Foundation
import Neural

/// The `neural` command-line tool.
@main
struct NeuralCLI: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "neural",
        abstract: "Train and run neural networks from the command line.",
        discussion: """
        Start with `neural train`: it trains a small network on built-in data, shows progress and
        writes a plot. Datasets: spirals and house are generated; mnist reads the four MNIST .gz
        files from --data-dir; housing and FILE.csv read CSV.
        """,
        version: Neural.version,
        subcommands: [TrainCommand.self, GenerateCommand.self, EmbedCommand.self, SearchCommand.self, EvaluateCommand.self, PredictCommand.self, SummaryCommand.self, PlotCommand.self])
}

/// An error for the user: printed as one line on stderr, exit status 1.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Runs `body`, turning any error into one line on stderr and exit status 1 (never a stack trace).
/// A `NEURAL_ISA` that names no kernel level is such an error, before `body` runs.
/// Standard output is line-buffered whatever it is, so each progress line reaches a log file or a
/// pipe (`neural train … | tee log`, a batch scheduler's log) when it is printed, not at exit.
func reportingErrors(_ body: () throws -> Void) throws {
    lineBufferStandardOutput()
    do {
        _ = try Runtime.environmentKernelLevelCap()
        try body()
    } catch let e as ExitCode {
        throw e
    } catch let e as ModelSpecError {
        FileHandle.standardError.write(("neural: " + e.description + "\n").data(using: .utf8)!)
        throw ExitCode(1)
    } catch {
        let text = String(describing: error).split(separator: "\n").joined(separator: " ")
        FileHandle.standardError.write("neural: error: \(text)\n".data(using: .utf8)!)
        throw ExitCode(1)
    }
}

/// Writes `text` to `path` atomically.
func writeText(_ text: String, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
    do {
        try text.data(using: .utf8)!.write(to: tmp)
        guard rename(tmp.path, url.path) == 0 else { throw CLIError(String(cString: strerror(errno))) }
    } catch {
        try? FileManager.default.removeItem(at: tmp)
        throw CLIError("cannot write \(path): \(error.localizedDescription)")
    }
}

/// A regression error for people: whole units from 1,000 up (dollars for housing), 4 digits below.
func money(_ x: Double) -> String {
    Swift.abs(x) >= 1000 ? String(format: "%.0f", x) : String(format: "%.4g", x)
}
