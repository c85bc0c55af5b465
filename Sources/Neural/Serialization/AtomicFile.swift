import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Musl)
private let systemWrite = Musl.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif

/// Crash-safe file replacement: readers of the destination see either the old file or the
/// complete new one, never a partial write.
package enum AtomicFile {
    /// Test hook: when the environment variable `NEURAL_TEST_SLOW_WRITE_MS` is set to a number of
    /// milliseconds, every write pauses that long halfway through the data and again before the
    /// rename, so that a test can kill the process while a write is in progress.
    static let testPause: UInt32 = {
        guard let text = ProcessInfo.processInfo.environment["NEURAL_TEST_SLOW_WRITE_MS"], let ms = UInt32(text) else { return 0 }
        return ms * 1000
    }()

    /// Writes `data` to `url` atomically: into a new temporary file `.NAME.tmp-PID-RANDOM` in the
    /// same directory, fsync it, rename it over `url`, fsync the directory. On failure the
    /// temporary file is removed and any existing file at `url` is left as it was.
    ///
    /// - Throws: ``CheckpointError`` (`.io`) naming the path, the step that failed and the system's reason.
    package static func write(_ data: Data, to url: URL) throws(CheckpointError) {
        let path = url.path
        let directory = url.deletingLastPathComponent().path
        let temporary = directory + "/." + url.lastPathComponent + ".tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        func failure(_ step: String, _ code: Int32) -> CheckpointError {
            let reason = String(cString: strerror(code))
            return CheckpointError(.io, file: path,
                                   "\(step) failed (\(reason)); check that the directory \(directory) exists and is writable and that the disk has space")
        }

        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure("creating a temporary file", errno) }
        var done = false
        defer { if !done { unlink(temporary) } }

        var writeError: Int32 = 0
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var written = 0
            var paused = testPause == 0
            while written < raw.count {
                if !paused && written >= raw.count / 2 { usleep(testPause); paused = true }
                let end = paused ? raw.count : raw.count / 2
                let n = systemWrite(fd, raw.baseAddress! + written, end - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    writeError = errno
                    return
                }
                written += n
            }
        }
        if writeError != 0 { close(fd); throw failure("writing", writeError) }
        if fsync(fd) != 0 { let e = errno; close(fd); throw failure("fsync", e) }
        if close(fd) != 0 { throw failure("closing the temporary file", errno) }
        if testPause > 0 { usleep(testPause) }
        if rename(temporary, path) != 0 { throw failure("renaming the temporary file over the destination", errno) }
        done = true
        let dirFD = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirFD >= 0 {
            defer { close(dirFD) }
            if fsync(dirFD) != 0 { throw failure("fsync of the directory", errno) }
        }
    }
}
