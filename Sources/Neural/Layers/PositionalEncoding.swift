import Foundation

/// Fixed sinusoidal positional encodings ("Attention Is All You Need"): adds
/// PE[pos, 2i] = sin(pos / 10000^(2i/d)) and PE[pos, 2i+1] = cos(pos / 10000^(2i/d)) to a
/// `[batch, seq, dModel]` input (`[seq, batch, dModel]` without `batchFirst`). No parameters and
/// no state-dict entries: the table is a constant built once.
public final class SinusoidalPositionalEncoding: Module, Layer, SummarizableLayer {
    /// The table, `[maxLength, dModel]`.
    package let table: Tensor
    /// Whether inputs are `[batch, seq, dModel]`.
    public let batchFirst: Bool

    /// Encodings for positions `0..<maxLength` of `dModel` features.
    public init(dModel: Int, maxLength: Int = 5000, batchFirst: Bool = true, dtype: DType = .float32) {
        precondition(dModel > 0 && maxLength > 0, "Neural: SinusoidalPositionalEncoding(dModel: \(dModel), maxLength: \(maxLength)) needs positive sizes")
        var values = [Double](repeating: 0, count: maxLength * dModel)
        for pos in 0..<maxLength {
            for i in stride(from: 0, to: dModel, by: 2) {
                let angle = Double(pos) * Foundation.exp(-Double(i) * Foundation.log(10000.0) / Double(dModel))
                values[pos * dModel + i] = Foundation.sin(angle)
                if i + 1 < dModel { values[pos * dModel + i + 1] = Foundation.cos(angle) }
            }
        }
        table = Tensor(values, shape: [maxLength, dModel], dtype: dtype)
        self.batchFirst = batchFirst
        super.init()
    }

    /// `x + PE[:seq]`, same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        addPositions(table, to: x, batchFirst: batchFirst, layer: "SinusoidalPositionalEncoding")
    }

    /// `SinusoidalPositionalEncoding(d)`.
    package var summary: String { "SinusoidalPositionalEncoding(\(table.shape[1]))" }
}

/// Learned absolute positional embeddings (as GPT-2's `wpe`): adds row `pos` of `weight` to the
/// token at position `pos` of a `[batch, seq, dModel]` input (`[seq, batch, dModel]` without
/// `batchFirst`). Parameter: `weight` `[maxLength, dModel]`, initialised N(0, 1) as `nn.Embedding`.
public final class LearnedPositionalEmbedding: Module, Layer, SummarizableLayer {
    /// The embeddings, `[maxLength, dModel]`.
    public let weight: Parameter
    /// Whether inputs are `[batch, seq, dModel]`.
    public let batchFirst: Bool

    /// Embeddings for positions `0..<maxLength` of `dModel` features.
    public init(maxLength: Int, dModel: Int, batchFirst: Bool = true, dtype: DType = .float32,
                generator: RandomGenerator = .default) {
        precondition(dModel > 0 && maxLength > 0, "Neural: LearnedPositionalEmbedding(maxLength: \(maxLength), dModel: \(dModel)) needs positive sizes")
        weight = Parameter(.randn([maxLength, dModel], dtype: dtype, generator: generator))
        self.batchFirst = batchFirst
        super.init()
    }

    /// `x + weight[:seq]`, same shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        addPositions(weight.value, to: x, batchFirst: batchFirst, layer: "LearnedPositionalEmbedding")
    }

    /// `LearnedPositionalEmbedding(max, d)`.
    package var summary: String { "LearnedPositionalEmbedding(\(weight.shape[0]), \(weight.shape[1]))" }
}

/// x + table[:seq], the rows of a `[maxLength, dModel]` table broadcast over the batch of a
/// `[batch, seq, dModel]` (`batchFirst`) or `[seq, batch, dModel]` input.
private func addPositions(_ table: Tensor, to x: Tensor, batchFirst: Bool, layer: String) -> Tensor {
    let seqAxis = batchFirst ? 1 : 0
    precondition(x.rank == 3 && x.shape[2] == table.shape[1] && x.shape[seqAxis] <= table.shape[0],
                 "Neural: \(layer)(maxLength: \(table.shape[0]), dModel: \(table.shape[1])) got input of shape \(x.shape); expected \(batchFirst ? "[batch, seq, \(table.shape[1])]" : "[seq, batch, \(table.shape[1])]") with seq ≤ \(table.shape[0])")
    let pe = table.slice(axis: 0, 0..<x.shape[seqAxis]).to(x.dtype)
    return x + (batchFirst ? pe : pe.unsqueezed(1))
}
