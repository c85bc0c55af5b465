import Synchronization

/// A layer's weight W `[outFeatures, inFeatures]` packed as the B operand Wᵀ of its products
/// (``GEMMPackedB``), kept between calls that record no autodiff history (inference), so that
/// only the first call packs it.
///
/// An entry belongs to one weight: the storage it was packed from (held, so that its identity
/// cannot pass to another tensor, and so that any write through a tensor that shares it copies
/// first: copy-on-write sees it shared), its offset, and the ``Parameter/version`` counter (which
/// every assignment to ``Parameter/value``, in-place optimizer updates and `load` included,
/// advances). Any change gives a miss and a fresh pack; stale entries go then. Thread-safe.
final class PackedWeightCache: Sendable {
    private struct Entry: Sendable {
        let storage: Storage
        let offset: Int
        let version: Int
        let packed: GEMMPackedB<Float>
    }

    private let entries = Mutex<[Entry]>([])

    /// Wᵀ packed for panels `nr` wide and K blocks `kc` deep, from W `w` (Float32, contiguous,
    /// `[outFeatures, inFeatures]`) at parameter version `version`: the cached copy, or a new one.
    func packed(weight w: Tensor, version: Int, nr: Int, kc: Int) -> GEMMPackedB<Float> {
        precondition(w.dtype == .float32 && w.rank == 2 && w.isContiguous, "PackedWeightCache: needs a contiguous Float32 [out, in] weight")
        let storage = w.storage, offset = w.offset
        let hit = entries.withLock { list in
            list.first { $0.storage === storage && $0.offset == offset && $0.version == version
                && $0.packed.nr == nr && $0.packed.kc == kc }?.packed
        }
        if let hit { return hit }
        let (outF, inF) = (w.shape[0], w.shape[1])
        let packed = GEMMPackedB<Float>(transB: true, b: w.pointer(Float.self), ldb: inF, k: inF, n: outF, nr: nr, kc: kc)
        entries.withLock { list in
            list.removeAll { $0.storage !== storage || $0.offset != offset || $0.version != version
                || ($0.packed.nr == nr && $0.packed.kc == kc) }
            list.append(Entry(storage: storage, offset: offset, version: version, packed: packed))
        }
        return packed
    }

    /// Drops every entry (and the weight storage it holds).
    func clear() {
        entries.withLock { if !$0.isEmpty { $0.removeAll() } }
    }

    /// Entries held (for tests).
    var count: Int { entries.withLock { $0.count } }
}
