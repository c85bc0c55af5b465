import Neural
import Testing

/// Freed tensor memory is kept for reuse, within a bound, and reuse never leaks old values.
@Suite("Buffer cache", .serialized)
struct BufferCacheTests {
    @Test func limitBoundsTheCachedBytesAndZeroTurnsTheCacheOff() {
        let saved = Runtime.bufferCacheLimit
        defer { Runtime.bufferCacheLimit = saved }
        Runtime.bufferCacheLimit = 0
        #expect(Runtime.bufferCacheBytes == 0)
        for _ in 0..<3 { _ = Tensor.ones([1000, 100]).sum() }
        #expect(Runtime.bufferCacheBytes == 0)
        Runtime.bufferCacheLimit = 1 << 20
        for n in [100, 10_000, 300_000, 1_000_000] { _ = (Tensor.ones([n]) * 2).sum() }
        #expect(Runtime.bufferCacheBytes <= 1 << 20)
        Runtime.bufferCacheLimit = -5
        #expect(Runtime.bufferCacheLimit == 0)
    }

    @Test func reusedBlocksCarryNoStaleValues() {
        // Fill blocks with garbage, free them, then make fresh tensors of the same sizes through
        // paths that must initialise every element.
        for n in [1, 7, 64, 1000, 65_537] {
            for _ in 0..<3 { _ = Tensor.full([n], .nan).sum() }
            #expect(Tensor.zeros([n]).scalars(as: Float.self).allSatisfy { $0 == 0 })
            #expect(Tensor.ones([n]).sum().item() == Double(n))
            let r = Tensor.arange(Double(n)).reshaped([n, 1]).sum(axis: 1)
            #expect(r.scalars(as: Float.self) == (0..<n).map(Float.init))
        }
    }

    @Test func aSteadyLoopReusesItsBlocks() {
        // After a warm-up step, repeating the same computation takes its blocks from the cache:
        // the cache does not grow step after step.
        let x = Tensor.randn([256, 128], generator: RandomGenerator(seed: 7))
        func step() -> Double { ((x * 1.5 + 0.5).relu().matmul(x.transposed()) - 1).square().mean().item() }
        let first = step()
        _ = step()
        let after = Runtime.bufferCacheBytes
        var last = 0.0
        for _ in 0..<20 { last = step() }
        #expect(last == first)
        #expect(Runtime.bufferCacheBytes <= after + (4 << 20))  // other tests may run concurrently
    }
}

/// A request the OS cannot meet stops the process with a message naming the size and the fix,
/// not a bare trap.
@Suite("Buffer cache: allocation failure")
struct AllocationFailureTests {
    @Test func anImpossibleTensorStopsWithTheSizeAndTheFix() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([1 << 48])   // 1.1 PB of Float
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("out of memory: a tensor needs 1.1 PB") && text.contains("smaller batch"), "\(text)")
    }
}
