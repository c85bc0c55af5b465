import Foundation

/// Training progress on the terminal: on an interactive terminal, a progress bar with rate and
/// ETA redrawn in place; otherwise one plain line per epoch; with `quiet`, nothing.
public final class ConsoleProgress: TrainingObserver {
    /// Whether to draw a live bar (stdout is a terminal).
    package let interactive: Bool
    /// Print nothing per epoch.
    package let quiet: Bool
    private var lastDraw = 0.0

    /// A progress printer; `interactive` defaults to whether standard output is a terminal.
    public init(quiet: Bool = false, interactive: Bool = isatty(STDOUT_FILENO) == 1) {
        self.quiet = quiet
        self.interactive = interactive
    }

    /// Redraws the bar at most ten times a second.
    public func batchFinished(epoch: Int, epochs: Int, done: Int, total: Int, examples: Int, seconds: Double, loss: Double) {
        guard interactive && !quiet else { return }
        if seconds - lastDraw < 0.1 && done != total { return }
        lastDraw = seconds
        let width = 24
        let fraction = total > 0 ? Double(done) / Double(total) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        let rate = Double(examples) / Swift.max(seconds, 1e-9)
        let eta = total > 0 && done > 0 ? seconds / Double(done) * Double(total - done) : 0
        let line = String(format: "\repoch %d/%d %@ %d/%d  %.0f samples/s  ETA %@  loss %.4f",
                          epoch, epochs, bar, done, total, rate, ConsoleProgress.clock(eta), loss)
        FileHandle.standardOutput.write(line.data(using: .utf8)!)
    }

    /// Prints the epoch's line (replacing the bar on a terminal).
    public func epochFinished(_ record: EpochRecord, epochs: Int) {
        guard !quiet else { return }
        if interactive { lastDraw = 0; FileHandle.standardOutput.write("\r\u{1B}[2K".data(using: .utf8)!) }
        print(ConsoleProgress.line(record, epochs: epochs))
        fflush(nil)
    }

    /// `epoch 3/10  train_loss 0.1234  test_loss 0.1345  test_accuracy 97.85%  4.2 s  12345 samples/s`.
    package static func line(_ r: EpochRecord, epochs: Int) -> String {
        var s = String(format: "epoch %d/%d  train_loss %.4f", r.epoch, epochs, r.trainLoss)
        if let t = r.test {
            s += String(format: "  test_loss %.4f", t.loss)
            if let a = t.accuracy { s += String(format: "  test_accuracy %.2f%%", a * 100) }
            if let e = t.rmse { s += "  test_rmse \(formatNumber(e))" }
            if let e = t.mae { s += "  test_mae \(formatNumber(e))" }
        }
        s += String(format: "  %.1f s  %.0f samples/s", r.seconds, r.samplesPerSecond)
        return s
    }

    static func formatNumber(_ x: Double) -> String {
        Swift.abs(x) >= 1000 ? String(format: "%.0f", x) : String(format: "%.4g", x)
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }
}
