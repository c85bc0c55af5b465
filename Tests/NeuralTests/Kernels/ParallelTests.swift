import CNeuralKernels
import Foundation
import Neural
import Synchronization
import Testing

/// Counts, per task index, how many times a job ran it.
private final class TaskCounts: @unchecked Sendable {
    let counts: UnsafeMutablePointer<Atomic<Int>>
    let n: Int
    init(_ n: Int) {
        self.n = n
        counts = .allocate(capacity: n)
        for i in 0..<n { (counts + i).initialize(to: Atomic(0)) }
    }
    deinit { counts.deinitialize(count: n); counts.deallocate() }
    func hit(_ i: Int) { counts[i].add(1, ordering: .relaxed) }
    var allOnce: Bool { (0..<n).allSatisfy { counts[$0].load(ordering: .relaxed) == 1 } }
}

/// Runs `body(t)` for `t` in `0..<tasks` through the worker pool with `threads` threads.
private func poolRun(tasks: Int, threads: Int, _ body: (Int) -> Void) {
    withoutActuallyEscaping(body) { body in
        var f = body
        withUnsafeMutablePointer(to: &f) { ctx in
            nk_pool_run({ ctx, t in ctx.unsafelyUnwrapped.assumingMemoryBound(to: ((Int) -> Void).self).pointee(t) },
                        ctx, tasks, Int32(threads))
        }
    }
}

/// The persistent worker pool behind every parallel kernel.
@Suite("Worker pool")
struct ParallelTests {
    @Test func everyTaskRunsExactlyOnce() {
        for (tasks, threads) in [(0, 2), (1, 2), (2, 2), (3, 2), (64, 2), (1000, 3), (7, 8), (5, 1)] {
            let c = TaskCounts(max(tasks, 1))
            poolRun(tasks: tasks, threads: threads) { c.hit($0) }
            if tasks > 0 { #expect(c.allOnce, "tasks \(tasks) threads \(threads)") }
        }
    }

    @Test func nestedCallsRunInlineWithoutDeadlock() {
        let outer = 8, inner = 50
        let c = TaskCounts(outer * inner)
        poolRun(tasks: outer, threads: 2) { o in
            poolRun(tasks: inner, threads: 2) { i in
                poolRun(tasks: 1, threads: 2) { _ in c.hit(o * inner + i) }
            }
        }
        #expect(c.allOnce)
    }

    @Test func concurrentCallersAllComplete() {
        let callers = 6, jobs = 200, tasks = 16
        let c = TaskCounts(callers * jobs * tasks)
        DispatchQueue.concurrentPerform(iterations: callers) { k in
            for j in 0..<jobs {
                poolRun(tasks: tasks, threads: 2) { t in c.hit((k * jobs + j) * tasks + t) }
            }
        }
        #expect(c.allOnce)
    }

    @Test func concurrentTensorOpsMatchSingleThreadedResults() async {
        let x = Tensor.randn([512, 300], generator: RandomGenerator(seed: 901))
        let w = Tensor.randn([300, 200], generator: RandomGenerator(seed: 902))
        func work() -> [Tensor] { [x.matmul(w), (x * 1.5 + 0.25).relu(), x.exp().sum(axis: 1), x.softmax(axis: 1)] }
        let reference = Runtime.withThreads(1) { work() }
        await withTaskGroup(of: [Tensor].self) { group in
            for k in 0..<6 {
                group.addTask { Runtime.withThreads(1 + k % 3) { (0..<5).map { _ in work() }.last! } }
            }
            for await got in group {
                for (a, b) in zip(reference, got) { #expect(a.scalars(as: Float.self) == b.scalars(as: Float.self)) }
            }
        }
    }

    @Test func moreThreadsThanCoresStillComputeIdenticalResults() {
        let x = Tensor.randn([1_000_000], generator: RandomGenerator(seed: 903))
        let one = Runtime.withThreads(1) { [x.sum(), x.exp(), x.tanh()] }
        let many = Runtime.withThreads(5) { [x.sum(), x.exp(), x.tanh()] }
        for (a, b) in zip(one, many) { #expect(a.scalars(as: Float.self) == b.scalars(as: Float.self)) }
    }
}
