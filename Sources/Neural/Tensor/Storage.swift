import Foundation
import Synchronization

/// A reference-counted, 64-byte-aligned block of elements shared by tensors (and their views)
/// until one of them writes: writers copy first unless they hold the only reference.
///
/// Blocks come from and return to ``BufferCache``, so a training loop that makes the same tensors
/// every step reuses the same memory instead of asking the OS for fresh (page-faulting) pages.
final class Storage: @unchecked Sendable {
    let dtype: DType
    let count: Int
    let raw: UnsafeMutableRawPointer

    /// Uninitialised storage for `count` elements.
    init(count: Int, dtype: DType) {
        self.dtype = dtype
        self.count = count
        let (bytes, overflow) = Swift.max(count, 1).multipliedReportingOverflow(by: dtype.byteSize)
        if overflow || count < 0 {
            fatalError("Neural: a tensor of \(count) \(dtype) elements cannot be allocated (its size in bytes overflows)")
        }
        let raw = BufferCache.allocate(bytes: bytes)
        func bind<T: TensorElement>(_: T.Type) { raw.bindMemory(to: T.self, capacity: Swift.max(count, 1)) }
        switch dtype {
        case .float32: bind(Float.self)
        case .float64: bind(Double.self)
        case .int32: bind(Int32.self)
        case .int64: bind(Int64.self)
        }
        self.raw = raw
    }

    deinit { BufferCache.release(raw, bytes: Swift.max(count, 1) * dtype.byteSize) }

    @inline(__always) func pointer<T: TensorElement>(_: T.Type) -> UnsafeMutablePointer<T> {
        raw.assumingMemoryBound(to: T.self)
    }
}

/// A process-wide cache of freed tensor buffers, in size classes (four per power of two, so at
/// most 25% slack), bounded by ``Runtime/bufferCacheLimit`` bytes. Thread-safe.
///
/// Blocks of 4 MiB and more are 2 MiB-aligned and advised to use transparent huge pages, which cuts
/// the first-touch page faults of a fresh block by 512×.
enum BufferCache {
    private struct State {
        /// Free blocks (addresses) per size-class index.
        var free: [[UInt]] = Array(repeating: [], count: 4 * 64)
        /// Bytes held in `free`.
        var bytes = 0
    }

    private static let state = Mutex(State())
    static let limit = Atomic<Int>(512 << 20)
    private static let hugeThreshold = 4 << 20
    /// Set NEURAL_POISON_BUFFERS=1 to fill every handed-out block with NaNs (finds reads of
    /// uninitialised memory in tests).
    private static let poison = ProcessInfo.processInfo.environment["NEURAL_POISON_BUFFERS"] == "1"

    /// The size class of a request: its index and the rounded-up size in bytes.
    @inline(__always)
    static func sizeClass(_ bytes: Int) -> (index: Int, size: Int) {
        if bytes <= 64 { return (0, 64) }
        let k = Int.bitWidth - 1 - (bytes - 1).leadingZeroBitCount  // 2^k < bytes ≤ 2^(k+1)
        let base = 1 << k, quarter = base >> 2
        let q = (bytes - base + quarter - 1) / quarter               // 1...4
        return (4 * k + q, base + q * quarter)
    }

    /// The size in bytes of the blocks of size-class `index` (inverse of ``sizeClass(_:)``).
    static func classSize(_ index: Int) -> Int {
        if index == 0 { return 64 }
        let k = (index - 1) / 4, q = index - 4 * k
        return (1 << k) + q * (1 << (k - 2))
    }

    /// Bytes held by the cache now.
    static var cachedBytes: Int { state.withLock { $0.bytes } }

    /// A block of at least `bytes` bytes, 64-byte aligned (from the cache when one is free).
    static func allocate(bytes: Int) -> UnsafeMutableRawPointer {
        let (index, size) = sizeClass(bytes)
        let cached: UInt? = state.withLock { s in
            guard let p = s.free[index].popLast() else { return nil }
            s.bytes -= size
            return p
        }
        let p = cached.flatMap { UnsafeMutableRawPointer(bitPattern: $0) } ?? fresh(size)
        if poison { p.initializeMemory(as: UInt8.self, repeating: 0xFF, count: size) }
        return p
    }

    /// Returns a block from ``allocate(bytes:)`` (same `bytes`) to the cache, or to the OS when the
    /// cache is full.
    static func release(_ p: UnsafeMutableRawPointer, bytes: Int) {
        let (index, size) = sizeClass(bytes)
        let address = UInt(bitPattern: p)
        let kept = state.withLock { s in
            // Read under the lock, so that once ``setLimit(_:)`` returns no block is kept above it.
            guard s.bytes + size <= limit.load(ordering: .relaxed) else { return false }
            s.free[index].append(address)
            s.bytes += size
            return true
        }
        if !kept { free(p) }
    }

    /// Sets the bound and frees cached blocks until at most `newLimit` bytes remain.
    static func setLimit(_ newLimit: Int) {
        let blocks: [UInt] = state.withLock { s in
            limit.store(newLimit, ordering: .relaxed)
            var out: [UInt] = []
            var index = s.free.count - 1
            while s.bytes > newLimit && index >= 0 {
                if let p = s.free[index].popLast() {
                    out.append(p)
                    s.bytes -= classSize(index)
                } else {
                    index -= 1
                }
            }
            return out
        }
        for p in blocks { free(UnsafeMutableRawPointer(bitPattern: p)) }
    }

    /// A new block from the OS. When the OS refuses, the cached blocks are given back and the
    /// request tried once more; a second refusal stops the process with a message naming the size,
    /// the memory available and what to do (an operator on tensors cannot throw: callers that load
    /// sizes from outside check them first with ``MemoryBudget``).
    private static func fresh(_ size: Int) -> UnsafeMutableRawPointer {
        let huge = size >= hugeThreshold
        func attempt() -> UnsafeMutableRawPointer? {
            var p: UnsafeMutableRawPointer?
            return posix_memalign(&p, huge ? 2 << 20 : 64, size) == 0 ? p : nil
        }
        let block: UnsafeMutableRawPointer? = attempt() ?? {
            let kept = limit.load(ordering: .relaxed)
            setLimit(0)
            setLimit(kept)
            return attempt()
        }()
        guard let p = block else {
            let available = MemoryBudget.availableBytes().map { MemoryBudget.format($0) + " available" } ?? "available memory unknown"
            fatalError("Neural: out of memory: a tensor needs \(MemoryBudget.format(size)) (\(available)); "
                       + "use a smaller batch or model, or free memory")
        }
        #if os(Linux)
        if huge { _ = madvise(p, size, MADV_HUGEPAGE) }
        #endif
        return p
    }
}
