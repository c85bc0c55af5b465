// Its own file, importing only the C library: with Foundation imported too, Swift 6 refuses any
// reference to C's `stdout` (a mutable global); `@preconcurrency` lets this one call through.
#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

/// Makes standard output line-buffered, whatever it is connected to (a terminal, a file, a pipe),
/// so each line `print` writes is delivered when it is printed. Called once, before any output.
func lineBufferStandardOutput() {
    setvbuf(stdout, nil, _IOLBF, 0)
}
