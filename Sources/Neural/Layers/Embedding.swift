/// A lookup table of learned vectors, one per token id: the embedding operation with its
/// deterministic backward, and the `Embedding` module (PyTorch's `nn.Embedding`).

extension Tensor {
    /// Rows of `weight` (`[numEmbeddings, embeddingDim]`) picked by integer `indices` of any shape:
    /// `indices [...] → [..., embeddingDim]`, as `torch.nn.functional.embedding`. Every index must
    /// lie in `0..<numEmbeddings`.
    ///
    /// B: ∂weight[r] = Σ v[p] over the positions p with `indices[p] == r`, summed in increasing p
    /// (the indices are counting-sorted by row, then each row adds its positions in order, rows
    /// split between threads: the same bits at any thread count); the row `paddingIndex` gets zero.
    public static func embedding(_ indices: Tensor, weight: Tensor, paddingIndex: Int? = nil) -> Tensor {
        precondition(weight.rank == 2, "Neural: embedding weight must be [numEmbeddings, embeddingDim], got \(weight.shape)")
        precondition(weight.dtype.isFloatingPoint, "Neural: embedding needs a floating-point weight, got \(weight.dtype)")
        let rows = weight.shape[0], dim = weight.shape[1]
        let ids = indexValues(indices, op: "embedding", size: rows, axis: 0)
        let table = weight.detached().contiguous()
        let out = Tensor(uninitialized: indices.shape + [dim], dtype: weight.dtype)
        func copyRows<T: TensorScalar>(_: T.Type) {
            let s = SendablePointer(table.pointer(T.self)), d = SendablePointer(out.pointer(T.self))
            ids.withUnsafeBufferPointer { idb in
                let ip = SendablePointer(idb.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                Parallel.forRanges(count: ids.count, grain: Swift.max(1, (1 << 15) / Swift.max(dim, 1))) { r in
                    for p in r { (d.pointer + p * dim).update(from: s.pointer + ip.pointer[p] * dim, count: dim) }
                }
            }
        }
        withExtendedLifetime(table) {
            switch weight.dtype {
            case .float32: copyRows(Float.self)
            case .float64: copyRows(Double.self)
            case .int32, .int64: weight.dtype.floatOnly("embedding")
            }
        }
        let padding = paddingIndex.map { $0 < 0 ? $0 + rows : $0 }
        return record(out, op: "embedding", input: weight) { v in
            embeddingBackward(v.contiguous(), ids: ids, rows: rows, dim: dim, padding: padding)
        }
    }

    /// ∂weight `[rows, dim]` from v `[positions, dim]` (contiguous): a counting sort of `ids` by row,
    /// then each row sums its positions in increasing order.
    private static func embeddingBackward(_ v: Tensor, ids: [Int], rows: Int, dim: Int, padding: Int?) -> Tensor {
        // start[r]..<start[r + 1] in `order` are the positions with id r, increasing.
        var start = [Int](repeating: 0, count: rows + 1)
        for i in ids { start[i + 1] += 1 }
        for r in 0..<rows { start[r + 1] += start[r] }
        var next = start, order = [Int](repeating: 0, count: ids.count)
        for (p, i) in ids.enumerated() { order[next[i]] = p; next[i] += 1 }
        let g = Tensor(uninitialized: [rows, dim], dtype: v.dtype)
        func accumulate<T: TensorScalar>(_: T.Type) {
            let vp = SendablePointer(v.pointer(T.self)), gp = SendablePointer(g.pointer(T.self))
            start.withUnsafeBufferPointer { sb in
                order.withUnsafeBufferPointer { ob in
                    let sp = SendablePointer(sb.baseAddress!), op = SendablePointer(ob.baseAddress ?? UnsafePointer(bitPattern: 8)!)
                    Parallel.forRanges(count: rows, grain: Swift.max(1, (1 << 14) / Swift.max(dim, 1))) { range in
                        for r in range {
                            let row = gp.pointer + r * dim
                            row.update(repeating: 0, count: dim)
                            if r == padding { continue }
                            for k in sp.pointer[r]..<sp.pointer[r + 1] {
                                let src = vp.pointer + op.pointer[k] * dim
                                for j in 0..<dim { row[j] += src[j] }
                            }
                        }
                    }
                }
            }
        }
        withExtendedLifetime(v) {
            switch v.dtype {
            case .float32: accumulate(Float.self)
            case .float64: accumulate(Double.self)
            case .int32, .int64: v.dtype.floatOnly("embedding backward")
            }
        }
        return g
    }
}

/// A table of `numEmbeddings` learned vectors of size `embeddingDim`, looked up by integer id, like
/// `torch.nn.Embedding`: token ids `[batch, seq]` (``DType/int32`` or ``DType/int64``, any shape)
/// → `[batch, seq, embeddingDim]`.
///
/// Parameter, in PyTorch's name and layout: `weight` `[numEmbeddings, embeddingDim]`, drawn from
/// N(0, 1), with the row `paddingIndex` (if any) zero. That row's gradient is always zero, so it
/// stays as it is through training (torch's `padding_idx`). The backward is a deterministic
/// scatter-add (same bits at any thread count).
///
/// ```swift
/// let embed = Embedding(100, 16, paddingIndex: 0)
/// let vectors = embed(Tensor(integers: [[5, 7, 0], [1, 2, 3]].flatMap { $0 }, shape: [2, 3]))   // [2, 3, 16]
/// ```
public final class Embedding: Module, Layer, SummarizableLayer {
    /// The vectors, `[numEmbeddings, embeddingDim]`.
    public let weight: Parameter
    /// The id whose vector is held at zero gradient (non-negative; `nil` when none).
    public let paddingIndex: Int?

    /// A table of `numEmbeddings` vectors of size `embeddingDim` drawn from N(0, 1) with `generator`;
    /// `paddingIndex` (negative counts from the end, as torch) names a row that starts at zero and
    /// gets no gradient.
    public init(_ numEmbeddings: Int, _ embeddingDim: Int, paddingIndex: Int? = nil, dtype: DType = .float32,
                generator: RandomGenerator = .default) {
        precondition(numEmbeddings > 0 && embeddingDim > 0,
                     "Neural: Embedding(\(numEmbeddings), \(embeddingDim)) needs positive sizes")
        precondition(dtype.isFloatingPoint, "Neural: Embedding needs a floating-point dtype, got \(dtype)")
        let padding = paddingIndex.map { $0 < 0 ? $0 + numEmbeddings : $0 }
        if let padding {
            precondition(padding >= 0 && padding < numEmbeddings,
                         "Neural: Embedding paddingIndex \(paddingIndex!) is out of range for \(numEmbeddings) embeddings")
        }
        var w = Tensor.randn([numEmbeddings, embeddingDim], dtype: dtype, generator: generator)
        if let padding {
            func zeroRow<T: TensorScalar>(_: T.Type) {
                w.withUnsafeMutableScalars(as: T.self) {
                    $0.baseAddress!.advanced(by: padding * embeddingDim).update(repeating: 0, count: embeddingDim)
                }
            }
            if dtype == .float32 { zeroRow(Float.self) } else { zeroRow(Double.self) }
        }
        weight = Parameter(w)
        self.paddingIndex = padding
        super.init()
    }

    /// A table holding `weight` `[numEmbeddings, embeddingDim]` as it is (no random draw: for
    /// models whose weights are loaded next); `paddingIndex` as in ``init(_:_:paddingIndex:dtype:generator:)``
    /// but the row is left as it is.
    package init(weight: Tensor, paddingIndex: Int? = nil) {
        precondition(weight.rank == 2 && weight.dtype.isFloatingPoint,
                     "Neural: Embedding(weight:) needs a floating-point [numEmbeddings, embeddingDim] tensor, got \(weight.dtype) \(weight.shape)")
        precondition(paddingIndex.map { $0 >= 0 && $0 < weight.shape[0] } ?? true,
                     "Neural: Embedding paddingIndex \(paddingIndex ?? 0) is out of range for \(weight.shape[0]) embeddings")
        self.weight = Parameter(weight)
        self.paddingIndex = paddingIndex
        super.init()
    }

    /// Number of vectors (rows of `weight`).
    public var numEmbeddings: Int { weight.shape[0] }
    /// Size of each vector (columns of `weight`).
    public var embeddingDim: Int { weight.shape[1] }

    /// Integer ids `[...]` → `[..., embeddingDim]`; every id must lie in `0..<numEmbeddings`.
    public func callAsFunction(_ indices: Tensor) -> Tensor {
        Tensor.embedding(indices, weight: weight.value, paddingIndex: paddingIndex)
    }

    /// `Embedding(numEmbeddings, embeddingDim)`, with the padding index when there is one.
    package var summary: String {
        "Embedding(\(numEmbeddings), \(embeddingDim)\(paddingIndex.map { ", padding \($0)" } ?? ""))"
    }
}
