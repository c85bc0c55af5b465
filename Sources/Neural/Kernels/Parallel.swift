import CNeuralKernels
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

    /// Most bytes of freed tensor memory Neural keeps for reuse (default 512 MiB; 0 turns the
    /// cache off). Tensors made at every training step then reuse the blocks of the previous step
    /// instead of fresh, page-faulting memory from the OS. Lowering it frees cached blocks at once.
    public static var bufferCacheLimit: Int {
        get { BufferCache.limit.load(ordering: .relaxed) }
        set { BufferCache.setLimit(max(0, newValue)) }
    }

    /// Bytes of freed tensor memory held for reuse now (at most ``bufferCacheLimit``).
    package static var bufferCacheBytes: Int { BufferCache.cachedBytes }

    /// Runs `body` with the kernels limited to `threads` threads (at least 1) in the current task,
    /// leaving the process-wide ``threads`` untouched for concurrently running code.
    public static func withThreads<R>(_ threads: Int, _ body: () throws -> R) rethrows -> R {
        try $threadOverride.withValue(max(1, threads)) { try body() }
    }
}

/// A pointer wrapper that may cross into parallel tasks. The caller guarantees that
/// concurrent tasks touch disjoint elements.
@usableFromInline
struct SendablePointer<T>: @unchecked Sendable {
    @usableFromInline let pointer: UnsafeMutablePointer<T>
    @inlinable init(_ pointer: UnsafeMutablePointer<T>) { self.pointer = pointer }
    @inlinable init(_ pointer: UnsafePointer<T>) { self.pointer = UnsafeMutablePointer(mutating: pointer) }
}

/// A pointer to a `TensorScalar` known to be `Float` (after a `T.self == Float.self` test), as the
/// C kernels take it.
@inline(__always) func floatPointer<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

/// The mutable form of ``floatPointer(_:)-(UnsafePointer<T>)``.
@inline(__always) func floatPointer<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

/// Splitting work across cores, on a persistent pool of worker threads (`nk_pool_run`): workers
/// spin briefly after each job, then park; the calling thread takes part. A call made while the pool
/// is busy — from another thread, or nested inside a task — runs its tasks inline, so concurrent
/// and nested calls are safe and never deadlock. Which thread runs a task never changes its result.
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
        // The pool runs one job per thread, and each claims task indices from a shared counter.
        // The closure is called through a borrowed reference to its box: a copy of it per call
        // would retain and release its context, an atomic the threads contend for.
        // Thread s (the caller is nearly always 0: it joins first) works through tasks
        // [s·tasks/threads, (s+1)·tasks/threads) before it helps the others, so that consecutive
        // loops over the same data (an optimizer update, then the next forward's row blocks of the
        // same weight) give each core the part it touched last, from its own L2.
        withoutActuallyEscaping(body) { body in
            withUnsafeTemporaryAllocation(of: Atomic<Int>.self, capacity: threads) { cursors in
                for o in 0..<threads { (cursors.baseAddress! + o).initialize(to: Atomic(tasks * o / threads)) }
                let job = ForEachJob(body: body, tasks: tasks, threads: threads, cursors: cursors.baseAddress!)
                withExtendedLifetime(job) {
                    nk_pool_run({ context, _ in
                        Unmanaged<ForEachJob>.fromOpaque(context.unsafelyUnwrapped)._withUnsafeGuaranteedRef { $0.runTasks() }
                    }, Unmanaged.passUnretained(job).toOpaque(), threads, Int32(clamping: threads))
                }
            }
        }
    }

    /// One ``forEach(tasks:_:)`` call as the pool's threads see it: thread s (in the order they
    /// join) claims tasks from its own share first, then from the others'.
    private final class ForEachJob: @unchecked Sendable {
        let body: (Int) -> Void
        let tasks: Int
        let threads: Int
        let cursors: UnsafeMutablePointer<Atomic<Int>>
        let slot = Atomic<Int>(0)

        init(body: @escaping (Int) -> Void, tasks: Int, threads: Int, cursors: UnsafeMutablePointer<Atomic<Int>>) {
            self.body = body
            self.tasks = tasks
            self.threads = threads
            self.cursors = cursors
        }

        func runTasks() {
            let s = slot.wrappingAdd(1, ordering: .relaxed).oldValue % threads
            for step in 0..<threads {
                let o = (s + step) % threads
                let hi = tasks * (o + 1) / threads
                while true {
                    let t = cursors[o].wrappingAdd(1, ordering: .relaxed).oldValue
                    if t >= hi { break }
                    body(t)
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
