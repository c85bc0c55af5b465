import Foundation
import Neural
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// SIGINT (Ctrl-C), SIGTERM (a batch scheduler's notice) and SIGUSR1 (what `mpirun` forwards to
/// every rank, and what SLURM's `--signal=USR1@SECONDS` sends before a time limit) during
/// `neural train`: the first asks the trainer to stop at its next step boundary (``cancellation``),
/// where `train` saves the checkpoint and exits with 128 + the signal's number (130, 143, 138);
/// a second one exits at once
/// with that status for its own signal, leaving the last checkpoint written as it was (every
/// write is atomic).
enum StopSignals {
    /// The handle the trainer watches; cancelled by the first signal.
    static let cancellation = TrainingCancellation()

    /// The first signal received (0: none).
    static var received: Int32 { firstSignal.load(ordering: .acquiring) }

    /// The signal's name for messages.
    static func name(_ signal: Int32) -> String {
        switch signal {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(signal)"
        }
    }

    /// The signals that stop training gracefully.
    static let stopping: [Int32] = [SIGINT, SIGTERM, SIGUSR1]

    /// Installs the handlers for SIGINT, SIGTERM and SIGUSR1 (once per process, before any other thread
    /// starts, so that the threads made later inherit the unblocked mask).
    static func install() {
        _ = cancellation.isCancelled   // initialise the handle before any handler can run
        for sig in stopping { _ = signal(sig, onStopSignal) }
        // A blocked signal is inherited across exec (a parent that blocked them for its own
        // threads would otherwise silence them here): unblock them in this thread.
        var set = sigset_t()
        sigemptyset(&set)
        for sig in stopping { sigaddset(&set, sig) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }
}

/// The first signal number received, 0 before any.
private let firstSignal = Atomic<Int32>(0)

/// The handler: only async-signal-safe work (an atomic exchange, an atomic store, `write`, `_exit`).
private func onStopSignal(_ signal: Int32) {
    if firstSignal.compareExchange(expected: 0, desired: signal, ordering: .acquiringAndReleasing).exchanged {
        StopSignals.cancellation.cancel()
        return
    }
    let message: StaticString = "neural: second signal: exiting at once; the last checkpoint written is intact\n"
    message.withUTF8Buffer { _ = write(STDERR_FILENO, $0.baseAddress, $0.count) }
    _exit(128 + signal)
}

extension TrainCommand {
    /// The command line that continues a stopped run from `checkpoint`: this one with any
    /// `--resume` replaced by `--resume CHECKPOINT`, quoted for a POSIX shell.
    static func resumeCommand(arguments: [String] = CommandLine.arguments, checkpoint: String) -> String {
        var kept: [String] = []
        var skipNext = false
        for a in arguments {
            if skipNext { skipNext = false; continue }
            if a == "--resume" { skipNext = true; continue }
            if a.hasPrefix("--resume=") { continue }
            kept.append(a)
        }
        return (kept + ["--resume", checkpoint]).map(shellQuoted).joined(separator: " ")
    }

    /// `word` as a POSIX shell word: unchanged when it has only safe characters, else in single quotes.
    static func shellQuoted(_ word: String) -> String {
        let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:,+@%")
        if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
        return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
