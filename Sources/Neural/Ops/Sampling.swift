import Foundation

/// Drawing token ids from a distribution, and the top-k / top-p (nucleus) filters applied to
/// logits before sampling. All draws come from a seeded ``RandomGenerator``: the same seed gives the
/// same samples.
///
/// ```swift
/// let logits = Tensor([2.0, 1.0, 0.5, -1.0])                                    // [vocab]
/// let probabilities = logits.topKFiltered(3).topPFiltered(0.9).softmax()
/// let next = probabilities.multinomial(numSamples: 1, generator: RandomGenerator(seed: 7))   // [1], int64
/// ```
extension Tensor {
    /// `numSamples` category indices per row drawn with probabilities proportional to this
    /// tensor's non-negative weights (`[categories]` or `[rows, categories]`; they need not sum to
    /// 1), as `torch.multinomial`: ``DType/int64``, `[numSamples]` or `[rows, numSamples]`. Without
    /// `replacement` each category is drawn at most once (a row then needs at least `numSamples`
    /// non-zero weights). Rows draw in order from `generator`, one uniform number per sample.
    public func multinomial(numSamples: Int, replacement: Bool = false,
                            generator: RandomGenerator = .default) -> Tensor {
        precondition(rank == 1 || rank == 2, "Neural: multinomial needs weights of shape [categories] or [rows, categories], got \(shape)")
        precondition(dtype.isFloatingPoint, "Neural: multinomial needs floating-point weights, got \(dtype)")
        let n = shape.last!, rows = rank == 1 ? 1 : shape[0]
        precondition(numSamples > 0, "Neural: multinomial needs numSamples > 0, got \(numSamples)")
        let w = scalars(as: Double.self)
        var out: [Int64] = []
        out.reserveCapacity(rows * numSamples)
        for r in 0..<rows {
            var weights = Array(w[(r * n)..<(r * n + n)])
            for (i, x) in weights.enumerated() where !(x >= 0 && x.isFinite) {
                fatalError("Neural: multinomial weight \(x) at row \(r), category \(i) is negative, infinite or NaN")
            }
            let positive = weights.filter { $0 > 0 }.count
            precondition(positive > 0, "Neural: multinomial: row \(r) has no positive weight")
            precondition(replacement || numSamples <= positive,
                         "Neural: multinomial without replacement: \(numSamples) samples from row \(r) with only \(positive) non-zero weights")
            for _ in 0..<numSamples {
                let total = weights.reduce(0, +)
                let u = generator.nextUniform() * total
                var acc = 0.0, pick = -1
                for (i, x) in weights.enumerated() where x > 0 {
                    acc += x
                    pick = i
                    if u < acc { break }
                }
                out.append(Int64(pick))
                if !replacement { weights[pick] = 0 }
            }
        }
        return Tensor(integers: out, shape: rank == 1 ? [numSamples] : [rows, numSamples])
    }

    /// These logits (`[..., vocab]`) with every entry below the `k`-th largest of its row set to
    /// −∞ (entries equal to it stay), as the top-k filter of text generation. Not differentiable.
    public func topKFiltered(_ k: Int) -> Tensor {
        let n = shape.last ?? 1
        precondition(k > 0, "Neural: topKFiltered needs k > 0, got \(k)")
        if k >= n { return detached() }
        return withNoGrad {
            let kth = topk(k, axis: -1).values.slice(axis: -1, (k - 1)..<k)
            return maskedFill(self .< kth, -.infinity)
        }
    }

    /// These logits (`[..., vocab]`) keeping, per row, the smallest set of most probable entries
    /// whose softmax probabilities sum to at least `p` (nucleus sampling; the most probable entry
    /// always stays), the others set to −∞. Ties are taken in order of position. Not differentiable.
    public func topPFiltered(_ p: Double) -> Tensor {
        precondition(p > 0 && p <= 1, "Neural: topPFiltered needs 0 < p ≤ 1, got \(p)")
        if p >= 1 { return detached() }
        return withNoGrad {
            let n = shape.last ?? 1
            let (sortedValues, order) = sort(axis: -1, descending: true)
            let probabilities = sortedValues.to(.float64).softmax(axis: -1).scalars(as: Double.self)
            let positions = order.scalars(as: Int.self)
            var remove = [Double](repeating: 0, count: count)
            for r in 0..<(n == 0 ? 0 : count / n) {
                var cumulative = 0.0
                for j in 0..<n {
                    if cumulative >= p { remove[r * n + positions[r * n + j]] = 1 }
                    cumulative += probabilities[r * n + j]
                }
            }
            return maskedFill(Tensor(remove, shape: shape), -.infinity)
        }
    }
}
