import CNeuralKernels

// A B operand packed once, for products that reuse it (an inference layer's weight), and the
// bias + activation epilogue that the driver applies to C while it is still in cache.

/// op(B) `[k, n]` of a product packed whole into the micro-panels the register tiles read: K block
/// by K block (depth `kc`, the last within one of it), each block `panels` panels of `nr` columns
/// (the last zero-padded), in the layout ``GEMMDriver`` packs panel by panel. A plan whose tiles
/// have `nr` columns and K blocks of `kc` (``matches(_:k:n:)``) reads its panels here instead of
/// packing B: the panels hold the same values as the driver's own, so the product is the same
/// bits. Immutable once built; shared between threads.
final class GEMMPackedB<T: GEMMScalar>: @unchecked Sendable {
    /// Depth and columns of op(B).
    let k: Int, n: Int
    /// Panel width and K block depth of the tiles it serves.
    let nr: Int, kc: Int
    /// Panels per K block: ⌈n / nr⌉.
    let panels: Int
    /// 64-byte aligned panels.
    let base: UnsafeMutablePointer<T>

    /// Packs op(B) (`b` `[n, k]` row-major when `transB`, else `[k, n]`; row stride `ldb`) for tiles
    /// of `nr` columns and K blocks of `kc`.
    init(transB: Bool, b: UnsafePointer<T>, ldb: Int, k: Int, n: Int, nr: Int, kc: Int) {
        precondition(k > 0 && n > 0 && nr > 0 && kc > 0, "GEMMPackedB: empty operand")
        self.k = k
        self.n = n
        self.nr = nr
        self.kc = kc
        panels = ceilDiv(n, nr)
        let count = panels * nr * k
        base = UnsafeMutableRawPointer.allocate(byteCount: count * MemoryLayout<T>.stride, alignment: 64)
            .bindMemory(to: T.self, capacity: count)
        let level = GEMMConfig.level
        var pc = 0
        while pc < k {
            let depth = min(kc, k - pc)
            for p in 0..<panels {
                let j0 = p * nr
                GEMMDriver<T>.packB(level: level, transB: transB, b: b, ldb: ldb, bRows: nil, p0: pc, kc: depth,
                                    j0: j0, cols: min(nr, n - j0), nr: nr, dst: panel(pc: pc, kc: depth, index: p))
            }
            pc += depth
        }
    }

    deinit { UnsafeMutableRawPointer(base).deallocate() }

    /// Bytes held.
    var bytes: Int { panels * nr * k * MemoryLayout<T>.stride }

    /// Panel `index` (columns index·nr ..< index·nr + nr) of the K block at depth `pc` (of depth `kc`).
    @inline(__always)
    func panel(pc: Int, kc: Int, index: Int) -> UnsafeMutablePointer<T> { base + pc * panels * nr + index * nr * kc }

    /// Whether `plan`'s tiles, on a product of depth `k` and `n` columns, read these panels.
    @inline(__always)
    func matches(_ plan: GEMMTiling, k: Int, n: Int) -> Bool {
        plan.nr == nr && plan.kc == kc && k == self.k && n == self.n && !plan.readsBInPlace
    }
}

/// What the driver applies to C once its last K block is in: y = act(c + bias[column]), the
/// epilogue of `nk_bias_act_cols_f32` (Float32 products only), block by block while the block is
/// in cache. Elementwise, so the same bits as one pass over C after the product.
struct GEMMEpilogue: @unchecked Sendable {
    /// The bias, one per column of C (nil: none).
    let bias: UnsafePointer<Float>?
    /// 0 identity, 1 ReLU, 2 the exact GELU (`nk_gelu_f32`).
    let activation: Int32

    /// Applies it to rows `rows` × columns `column ..< column + cols` of C at `c` (row stride `ldc`;
    /// `c` points at the block's first element).
    @inline(__always)
    func apply<T>(_ c: UnsafeMutablePointer<T>, rows: Int, cols: Int, ldc: Int, column: Int) {
        precondition(T.self == Float.self, "gemm: epilogues are Float32 only")
        nk_bias_act_cols_f32(UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), bias.map { $0 + column },
                             rows, cols, ldc, activation)
    }
}
