import Foundation

/// A reference-counted, 64-byte-aligned block of elements shared by tensors (and their views)
/// until one of them writes: writers copy first unless they hold the only reference.
final class Storage: @unchecked Sendable {
    let dtype: DType
    let count: Int
    let raw: UnsafeMutableRawPointer

    /// Uninitialised storage for `count` elements.
    init(count: Int, dtype: DType) {
        self.dtype = dtype
        self.count = count
        let bytes = Swift.max(count, 1) * dtype.byteSize
        var p: UnsafeMutableRawPointer?
        guard posix_memalign(&p, 64, bytes) == 0, let p else {
            fatalError("Neural: out of memory allocating \(bytes) bytes for a tensor")
        }
        raw = p
        switch dtype {
        case .float32: raw.bindMemory(to: Float.self, capacity: Swift.max(count, 1))
        case .float64: raw.bindMemory(to: Double.self, capacity: Swift.max(count, 1))
        }
    }

    deinit { free(raw) }

    @inline(__always) func pointer<T: TensorScalar>(_: T.Type) -> UnsafeMutablePointer<T> {
        raw.assumingMemoryBound(to: T.self)
    }

    /// A copy of the elements.
    func copy() -> Storage {
        let s = Storage(count: count, dtype: dtype)
        s.raw.copyMemory(from: raw, byteCount: count * dtype.byteSize)
        return s
    }
}
