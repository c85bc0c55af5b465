/// Instance normalisation (`torch.nn.InstanceNorm1d/2d`): each example's channel is standardised
/// over its own positions (population variance + ε), through the fused per-slice standardisation
/// of ``Tensor/standardized(axes:eps:)``; optional per-channel γ, β and running statistics.

/// Instance normalisation over the positions of each (example, channel) pair — the shared
/// implementation of ``InstanceNorm1D`` and ``InstanceNorm2D``, like PyTorch's `_InstanceNorm`.
///
/// With `trackRunningStats`, training mode also updates `running_mean` and `running_var` with the
/// batch average of the instances' means and unbiased variances (r ← (1 − momentum)·r + momentum·avg),
/// and evaluation mode standardises with them. Without it (PyTorch's default) both modes use the
/// instance statistics. `num_batches_tracked` exists for PyTorch's state dict and stays 0, as in PyTorch.
public class InstanceNorm: ChannelNormalization, Layer, SummarizableLayer {
    /// The running statistics' update weight (0.1).
    package let momentum: Double
    /// The rank of a batched input (3 for 1-D, 4 for 2-D); one less is an unbatched input.
    let batchedRank: Int

    init(numFeatures: Int, eps: Double, momentum: Double, affine: Bool, trackRunningStats: Bool, dtype: DType, batchedRank: Int) {
        self.momentum = momentum
        self.batchedRank = batchedRank
        super.init(kind: "InstanceNorm", numFeatures: numFeatures, eps: eps, affine: affine, trackRunningStats: trackRunningStats,
                   dtype: dtype)
    }

    /// `[N, C, …] → [N, C, …]`, or unbatched `[C, …] → [C, …]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition((x.rank == batchedRank || x.rank == batchedRank - 1) && x.shape[x.rank - batchedRank + 1] == numFeatures,
                     "Neural: \(type(of: self))(\(numFeatures)) got input of shape \(x.shape); expected rank \(batchedRank) (or \(batchedRank - 1) unbatched) with \(numFeatures) channels")
        if x.rank == batchedRank - 1 { return self(x.unsqueezed(0)).squeezed(0) }
        let n = x.shape[0], c = numFeatures, positions = x.count / Swift.max(n * c, 1)
        let statsShape = [1, c] + Array(repeating: 1, count: x.rank - 2)
        var y: Tensor
        if isTraining || runningMean == nil {
            precondition(!isTraining || positions > 1,
                         "Neural: \(type(of: self)) in training mode needs more than 1 position per channel, got input of shape \(x.shape)")
            let (standardized, mean, variance) = x.reshaped([n * c, positions]).standardizedWithStatistics(axes: [1], eps: eps)
            y = standardized.reshaped(x.shape)
            if isTraining, let runningMean, let runningVar {
                withNoGrad {
                    let unbiased = variance * (Double(positions) / Double(positions - 1))
                    let m = momentum, dt = runningMean.value.dtype
                    runningMean.value = runningMean.value * (1 - m) + mean.reshaped([n, c]).mean(axes: [0]).to(dt) * m
                    runningVar.value = runningVar.value * (1 - m) + unbiased.reshaped([n, c]).mean(axes: [0]).to(dt) * m
                }
            }
        } else {
            y = standardizedWithRunningStatistics(x, statsShape: statsShape)
        }
        return affine(y, statsShape: statsShape)
    }
}

/// Instance normalisation for `[N, C, L]` (or unbatched `[C, L]`) inputs, like `torch.nn.InstanceNorm1d`:
/// statistics per example and channel over L. Same shape out. See ``InstanceNorm``.
public final class InstanceNorm1D: InstanceNorm {
    /// A layer over `numFeatures` channels; PyTorch's defaults (eps 1e-5, momentum 0.1, no affine,
    /// no running statistics).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = false,
                trackRunningStats: Bool = false, dtype: DType = .float32) {
        super.init(numFeatures: numFeatures, eps: eps, momentum: momentum, affine: affine,
                   trackRunningStats: trackRunningStats, dtype: dtype, batchedRank: 3)
    }
}

/// Instance normalisation for `[N, C, H, W]` (or unbatched `[C, H, W]`) inputs, like
/// `torch.nn.InstanceNorm2d`: statistics per example and channel over H and W. Same shape out.
/// See ``InstanceNorm``.
public final class InstanceNorm2D: InstanceNorm {
    /// A layer over `numFeatures` channels; PyTorch's defaults (eps 1e-5, momentum 0.1, no affine,
    /// no running statistics).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double = 0.1, affine: Bool = false,
                trackRunningStats: Bool = false, dtype: DType = .float32) {
        super.init(numFeatures: numFeatures, eps: eps, momentum: momentum, affine: affine,
                   trackRunningStats: trackRunningStats, dtype: dtype, batchedRank: 4)
    }
}

extension LayerKind {
    /// `instancenorm`: ``InstanceNorm1D`` on `[C, L]`, ``InstanceNorm2D`` on `[C, H, W]`, with
    /// learnable γ, β per channel (`instancenorm1d`, `instancenorm2d` force the kind).
    static let instanceNorm = LayerKind(names: ["instancenorm", "instancenorm1d", "instancenorm2d"], usage: "instancenorm",
                                        parameters: [], form: { name in name }) { a in
        InstanceNormToken(dimensions: a.name.hasSuffix("1d") ? 1 : a.name.hasSuffix("2d") ? 2 : nil)
    }
}

/// `instancenorm`, `instancenorm1d` or `instancenorm2d`.
struct InstanceNormToken: LayerToken, Equatable {
    /// 1 or 2; nil: picked from the running shape.
    let dimensions: Int?

    var description: String { "instancenorm" + (dimensions.map { "\($0)d" } ?? "") }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape, c = s[0]
        switch (dimensions, s.count) {
        case (nil, 2), (1, 2): plan.add(s, parameters: 2 * Double(c)) { d, _ in InstanceNorm1D(c, affine: true, dtype: d) }
        case (nil, 3), (2, 3): plan.add(s, parameters: 2 * Double(c)) { d, _ in InstanceNorm2D(c, affine: true, dtype: d) }
        case (1, _): throw plan.error("\(plan.word) needs a [C, L] input but the running shape is \(LayerPlan.text(s))")
        case (2, _): throw plan.error("\(plan.word) needs a [C, H, W] input but the running shape is \(LayerPlan.text(s))")
        default: throw plan.error("\(plan.word) needs a [C, L] or [C, H, W] input but the running shape is \(LayerPlan.text(s))")
        }
    }
}
