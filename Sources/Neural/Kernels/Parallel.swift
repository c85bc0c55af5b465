import Dispatch
import Foundation
import Synchronization

/// Run-time settings of Neural's CPU kernels.
public enum Runtime {
    private static let threadCount = Atomic<Int>(max(1, ProcessInfo.processInfo.activeProcessorCount))

    /// Number of threads the kernels may use (default: the cores this process may run on).
    ///
    /// Results never depend on this value: work is split into blocks whose boundaries depend only
    /// on the problem size, and partial results are combined in a fixed order.
    ///
    /// Setting it changes the process-wide default; ``withThreads(_:_:)`` overrides it for one
    /// scope of the current task only.
    public static var threads: Int {
        get { threadOverride ?? threadCount.load(ordering: .relaxed) }
        set { threadCount.store(max(1, newValue), ordering: .relaxed) }
    }

    @TaskLocal private static var threadOverride: Int?

    /// Runs `body` with the kernels limited to `threads` threads (at least 1) in the current task,
    /// leaving the process-wide ``threads`` untouched for concurrently running code.
    public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        try $threadOverride.withValue(max(1, threads)) { try body() }
    }
}

/// A pointer wrapper that may cross into `concurrentPerform` closures. The caller guarantees that
/// concurrent tasks touch disjoint elements.
@usableFromInline
struct SendablePointer<T>: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutablePointer<T>
    @inlinable init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    @inlinable init(_ pointer: UnsafePointer<T>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}

/// Splitting work across cores.
enum Parallel {
    /// Calls `body(taskIndex)` for every task in `0..<tasks`, spread over at most
    /// `Runtime.threads` threads. Runs inline when there is one task or one thread.
    @inline(__always)
    static func forEach(tasks: Int, _ body: (Int) -> Void) {
        let threads = min(Runtime.threads, tasks)
        if threads <= 1 {
            for t in 0..<tasks { body(t) }
            return
        }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedBox(body)
            if threads >= tasks {
                DispatchQueue.concurrentPerform(iterations: tasks) { box.value($0) }
            } else {
                // Contiguous runs of tasks per thread keep each thread's memory local.
                DispatchQueue.concurrentPerform(iterations: threads) { w in
                    let lo = tasks * w / threads, hi = tasks * (w + 1) / threads
                    for t in lo..<hi { box.value(t) }
                }
            }
        }
    }

    /// Splits `0..<count` into blocks of at least `grain` elements and calls `body` on each
    /// range, in parallel when there is more than one block. Block boundaries depend only on
    /// `count` and `grain`, never on the thread count.
    @inline(__always)
    static func forRanges(count: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        if count <= grain || Runtime.threads == 1 {
            if count > 0 { body(0..<count) }
            return
        }
        let blocks = min((count + grain - 1) / grain, 64)
        forEach(tasks: blocks) { b in
            let lo = count * b / blocks, hi = count * (b + 1) / blocks
            if lo < hi { body(lo..<hi) }
        }
    }
}

/// Holds a non-Sendable value for a closure whose caller guarantees data-race freedom.
struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
