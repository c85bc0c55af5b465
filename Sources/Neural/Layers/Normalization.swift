/// Normalisation layers: layer normalisation (eq. 7.40–7.41) in the notes' scalar form and
/// PyTorch's per-feature form, batch normalisation (1-D and 2-D, with running statistics) and
/// group normalisation. All standardise with the population variance (divide by m) plus ε, and
/// differentiate through μ̂ and σ̂ as functions of the input (fused kernels in `Ops/Normalization.swift`).

/// Layer normalisation over the last dimensions (eq. 7.40–7.41), like `torch.nn.LayerNorm`.
///
/// Each slice z of m = Π `normalizedShape` elements becomes LN(z) = β + γ ⊙ LN-S(z) with
/// LN-S(z) = (z − μ̂)/√(σ̂² + ε), μ̂ = mean(z), σ̂² = mean((z − μ̂)²) (population variance).
///
/// Shapes: input `[…, normalizedShape…]` (any leading dimensions), output the same.
///
/// Parameters, by ``Affine``:
/// - ``Affine/perFeature`` (PyTorch's `elementwise_affine=True`, the default): `weight` (γ) and
///   `bias` (β), each of shape `normalizedShape`, initialised to ones and zeros as in PyTorch.
/// - ``Affine/scalar`` (the notes' form, eq. 7.41): scalar `weight` (γ) and `bias` (β), shape `[]`,
///   initialised to 1 and 0.
/// - ``Affine/none``: no parameters, LN-S itself.
///
/// ```swift
/// let ln = LayerNorm(512)                       // per feature, as nn.LayerNorm(512)
/// let notes = LayerNorm([512], affine: .scalar) // β + γ·LN-S(z) with scalar β, γ
/// ```
public final class LayerNorm: Module, Layer, SummarizableLayer {
    /// Which learnable scale and shift follow the standardisation.
    public enum Affine: Sendable {
        /// γ and β per feature, of shape `normalizedShape` (PyTorch's `elementwise_affine=True`).
        case perFeature
        /// Scalar γ and β (the notes' LN, eq. 7.41).
        case scalar
        /// No scale or shift: LN-S (eq. 7.40).
        case none
    }

    /// γ: `normalizedShape` (per feature), `[]` (scalar) or `nil` (no affine). Initialised to ones.
    public let weight: Parameter?
    /// β: same shape as `weight`, or `nil` (no affine, or `bias: false`). Initialised to zeros.
    public let bias: Parameter?
    /// The trailing dimensions normalised together.
    public let normalizedShape: [Int]
    /// ε added to the variance (PyTorch's default 1e-5).
    package let eps: Double
    /// The kind of scale and shift.
    package let affine: Affine

    /// Normalises over trailing dimensions `normalizedShape`.
    ///
    /// - Parameters:
    ///   - normalizedShape: the last dimensions of the input, e.g. `[d]` or `[C, L]`.
    ///   - eps: ε (PyTorch's default 1e-5).
    ///   - affine: per-feature (default), scalar (notes' form) or none.
    ///   - bias: whether β exists (PyTorch's `bias=True`); ignored without affine.
    ///   - dtype: the parameters' dtype.
    public init(_ normalizedShape: [Int], eps: Double = 1e-5, affine: Affine = .perFeature, bias: Bool = true,
                dtype: DType = .float32) {
        precondition(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
                     "Neural: LayerNorm(\(normalizedShape)) needs a non-empty shape of positive sizes")
        precondition(eps >= 0, "Neural: LayerNorm eps must be ≥ 0, got \(eps)")
        self.normalizedShape = normalizedShape
        self.eps = eps
        self.affine = affine
        switch affine {
        case .perFeature:
            weight = Parameter(.ones(normalizedShape, dtype: dtype))
            self.bias = bias ? Parameter(.zeros(normalizedShape, dtype: dtype)) : nil
        case .scalar:
            weight = Parameter(Tensor(1, dtype: dtype))
            self.bias = bias ? Parameter(Tensor(0, dtype: dtype)) : nil
        case .none:
            weight = nil
            self.bias = nil
        }
        super.init()
    }

    /// Normalises over the last dimension, of size `features`.
    public convenience init(_ features: Int, eps: Double = 1e-5, affine: Affine = .perFeature, bias: Bool = true,
                            dtype: DType = .float32) {
        self.init([features], eps: eps, affine: affine, bias: bias, dtype: dtype)
    }

    /// `[…, normalizedShape…] → […, normalizedShape…]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank >= normalizedShape.count && Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
                     "Neural: LayerNorm(\(normalizedShape)) got input of shape \(x.shape); its last dimensions must be \(normalizedShape)")
        let k = normalizedShape.count
        switch affine {
        case .perFeature:
            return x.layerNorm(normalizedAxes: k, weight: weight?.value, bias: bias?.value, eps: eps)
        case .scalar:
            var y = x.layerNorm(normalizedAxes: k, eps: eps)
            if let weight { y = y * weight.value }
            if let bias { y = y + bias.value }
            return y
        case .none:
            return x.layerNorm(normalizedAxes: k, eps: eps)
        }
    }

    /// `LayerNorm([d₁, …])`.
    package var summary: String { "LayerNorm(\(normalizedShape))" }
}

/// The per-channel state that batch and instance normalisation share, with PyTorch's names and
/// initialisation: parameters `weight` `[C]` (ones) and `bias` `[C]` (zeros) when affine; buffers
/// `running_mean` `[C]` (zeros), `running_var` `[C]` (ones) and `num_batches_tracked` `[]` (0) when
/// tracking running statistics.
public class ChannelNormalization: Module {
    /// γ per channel, `[numFeatures]` (ones); `nil` without affine.
    public let weight: Parameter?
    /// β per channel, `[numFeatures]` (zeros); `nil` without affine.
    public let bias: Parameter?
    /// Running mean per channel, `[numFeatures]` (zeros); `nil` when not tracking.
    package let runningMean: Buffer?
    /// Running (unbiased) variance per channel, `[numFeatures]` (ones); `nil` when not tracking.
    package let runningVar: Buffer?
    /// Number of training batches seen, a scalar `[]` count (0); `nil` when not tracking.
    package let numBatchesTracked: Buffer?
    /// C, the channels (dimension 1 of a batched input).
    public let numFeatures: Int
    /// ε added to the variance (1e-5).
    package let eps: Double

    init(kind: String, numFeatures: Int, eps: Double, affine: Bool, trackRunningStats: Bool, dtype: DType) {
        precondition(numFeatures > 0, "Neural: \(kind) needs a positive number of features, got \(numFeatures)")
        self.numFeatures = numFeatures
        self.eps = eps
        weight = affine ? Parameter(.ones([numFeatures], dtype: dtype)) : nil
        bias = affine ? Parameter(.zeros([numFeatures], dtype: dtype)) : nil
        runningMean = trackRunningStats ? Buffer(.zeros([numFeatures], dtype: dtype)) : nil
        runningVar = trackRunningStats ? Buffer(.ones([numFeatures], dtype: dtype)) : nil
        numBatchesTracked = trackRunningStats ? Buffer(.zeros([], dtype: dtype)) : nil
        super.init()
    }

    /// PyTorch's buffer names: `running_mean`, `running_var`, `num_batches_tracked`.
    public override var localBuffers: [(name: String, buffer: Buffer)] {
        guard let runningMean, let runningVar, let numBatchesTracked else { return [] }
        return [("running_mean", runningMean), ("running_var", runningVar), ("num_batches_tracked", numBatchesTracked)]
    }

    /// `x` standardised with the running statistics (evaluation mode), which are reshaped to
    /// `statsShape` (`[1, C, 1, …]`).
    func standardizedWithRunningStatistics(_ x: Tensor, statsShape: [Int]) -> Tensor {
        let mean = runningMean!.value.to(x.dtype).reshaped(statsShape)
        let variance = runningVar!.value.to(x.dtype).reshaped(statsShape)
        return (x - mean) / (variance + eps).sqrt()
    }

    /// γ ⊙ y + β per channel (each reshaped to `statsShape`), or `y` as it is without affine.
    func affine(_ y: Tensor, statsShape: [Int]) -> Tensor {
        var y = y
        if let weight { y = y * weight.value.reshaped(statsShape) }
        if let bias { y = y + bias.value.reshaped(statsShape) }
        return y
    }

    /// `BatchNorm1D(C)`, `InstanceNorm2D(C)`, ….
    package var summary: String { "\(type(of: self))(\(numFeatures))" }
}

/// Batch normalisation over channel dimension 1 (the shared implementation of ``BatchNorm1D``
/// and ``BatchNorm2D``, like PyTorch's `_BatchNorm`).
///
/// Training mode standardises each channel with the batch's mean and biased variance over every
/// other dimension and updates the running statistics with the unbiased variance:
/// r ← (1 − momentum)·r + momentum·batch statistic. Evaluation mode uses the running statistics.
///
/// State, with PyTorch's names and initialisation: parameters `weight` `[C]` (ones) and `bias` `[C]`
/// (zeros) when affine; buffers `running_mean` `[C]` (zeros), `running_var` `[C]` (ones) and
/// `num_batches_tracked` `[]` (0, a count) when tracking running statistics.
public class BatchNorm: ChannelNormalization, Layer, SummarizableLayer {
    /// The running statistics' update weight (0.1); `nil` for a cumulative average over batches.
    package let momentum: Double?
    /// Input ranks the layer accepts.
    let acceptedRanks: [Int]

    init(numFeatures: Int, eps: Double, momentum: Double?, affine: Bool, trackRunningStats: Bool, dtype: DType, ranks: [Int]) {
        self.momentum = momentum
        self.acceptedRanks = ranks
        super.init(kind: "BatchNorm", numFeatures: numFeatures, eps: eps, affine: affine, trackRunningStats: trackRunningStats, dtype: dtype)
    }

    /// `[N, C, …] → [N, C, …]` (ranks as the subclass documents).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(acceptedRanks.contains(x.rank) && x.shape[1] == numFeatures,
                     "Neural: \(type(of: self))(\(numFeatures)) got input of shape \(x.shape); expected rank \(acceptedRanks.map(String.init).joined(separator: " or ")) with \(numFeatures) channels in dimension 1")
        let axes = [0] + Array(2..<x.rank)
        let statsShape = [1, numFeatures] + Array(repeating: 1, count: x.rank - 2)
        var y: Tensor
        if isTraining || runningMean == nil {
            let perChannel = x.count / numFeatures
            precondition(!isTraining || perChannel > 1,
                         "Neural: \(type(of: self)) in training mode needs more than 1 value per channel, got input of shape \(x.shape)")
            let (standardized, mean, variance) = x.standardizedWithStatistics(axes: axes, eps: eps)
            y = standardized
            if isTraining, let runningMean, let runningVar, let numBatchesTracked {
                withNoGrad {
                    let count = numBatchesTracked.value.item() + 1
                    numBatchesTracked.value = Tensor(count, dtype: numBatchesTracked.value.dtype)
                    let f = momentum ?? 1 / count
                    let unbiased = variance * (Double(perChannel) / Double(perChannel - 1))
                    runningMean.value = runningMean.value * (1 - f) + mean.to(runningMean.value.dtype) * f
                    runningVar.value = runningVar.value * (1 - f) + unbiased.to(runningVar.value.dtype) * f
                }
            }
        } else {
            y = standardizedWithRunningStatistics(x, statsShape: statsShape)
        }
        return affine(y, statsShape: statsShape)
    }
}

/// Batch normalisation for `[N, C]` or `[N, C, L]` inputs (like `torch.nn.BatchNorm1d`): statistics
/// per channel over N (and L). Same shape out. See ``BatchNorm`` for state and modes.
public final class BatchNorm1D: BatchNorm {
    /// A layer over `numFeatures` channels; PyTorch's defaults (eps 1e-5, momentum 0.1, affine,
    /// tracking running statistics).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, dtype: DType = .float32) {
        super.init(numFeatures: numFeatures, eps: eps, momentum: momentum, affine: affine,
                   trackRunningStats: trackRunningStats, dtype: dtype, ranks: [2, 3])
    }
}

/// Batch normalisation for `[N, C, H, W]` inputs (like `torch.nn.BatchNorm2d`): statistics per
/// channel over N, H and W. Same shape out. See ``BatchNorm`` for state and modes.
public final class BatchNorm2D: BatchNorm {
    /// A layer over `numFeatures` channels; PyTorch's defaults (eps 1e-5, momentum 0.1, affine,
    /// tracking running statistics).
    public init(_ numFeatures: Int, eps: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStats: Bool = true, dtype: DType = .float32) {
        super.init(numFeatures: numFeatures, eps: eps, momentum: momentum, affine: affine,
                   trackRunningStats: trackRunningStats, dtype: dtype, ranks: [4])
    }
}

/// Group normalisation (like `torch.nn.GroupNorm`): the C channels are split into `numGroups`
/// groups of C/G consecutive channels, and each example's group is standardised over its channels
/// and spatial positions together (population variance + ε); then a per-channel γ, β apply.
/// The same in training and evaluation mode. G = 1 is layer norm over `[C, …]`; G = C is
/// instance norm.
///
/// Shapes: input `[N, C, …]` (any number of trailing dimensions, including none), output the same.
/// Parameters (PyTorch's initialisation): `weight` `[C]` ones and `bias` `[C]` zeros, when affine.
public final class GroupNorm: Module, Layer, SummarizableLayer {
    /// γ per channel, `[numChannels]` (ones); `nil` without affine.
    public let weight: Parameter?
    /// β per channel, `[numChannels]` (zeros); `nil` without affine.
    public let bias: Parameter?
    /// G.
    package let numGroups: Int
    /// C.
    package let numChannels: Int
    /// ε added to the variance (1e-5).
    package let eps: Double

    /// `numGroups` groups over `numChannels` channels (`numChannels` divisible by `numGroups`).
    public init(_ numGroups: Int, _ numChannels: Int, eps: Double = 1e-5, affine: Bool = true, dtype: DType = .float32) {
        precondition(numGroups > 0 && numChannels > 0 && numChannels % numGroups == 0,
                     "Neural: GroupNorm(\(numGroups), \(numChannels)): the channels must split evenly into the groups")
        self.numGroups = numGroups
        self.numChannels = numChannels
        self.eps = eps
        weight = affine ? Parameter(.ones([numChannels], dtype: dtype)) : nil
        bias = affine ? Parameter(.zeros([numChannels], dtype: dtype)) : nil
        super.init()
    }

    /// `[N, C, …] → [N, C, …]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank >= 2 && x.shape[1] == numChannels,
                     "Neural: GroupNorm(\(numGroups), \(numChannels)) got input of shape \(x.shape); expected [N, \(numChannels), …]")
        let perGroup = numChannels / numGroups * x.shape[2...].reduce(1, *)
        var y = x.reshaped([x.shape[0], numGroups, perGroup]).standardized(axes: [2], eps: eps).reshaped(x.shape)
        let statsShape = [1, numChannels] + Array(repeating: 1, count: x.rank - 2)
        if let weight { y = y * weight.value.reshaped(statsShape) }
        if let bias { y = y + bias.value.reshaped(statsShape) }
        return y
    }

    /// `GroupNorm(G, C)`.
    package var summary: String { "GroupNorm(\(numGroups), \(numChannels))" }
}

extension LayerKind {
    /// `batchnorm`: ``BatchNorm1D`` on `[F]` or `[C, L]`, ``BatchNorm2D`` on `[C, H, W]`
    /// (`batchnorm1d`, `batchnorm2d` force the kind).
    static let batchNorm = LayerKind(names: ["batchnorm", "batchnorm1d", "batchnorm2d"], usage: "batchnorm", parameters: [],
                                     form: { name in name }) { a in
        BatchNormToken(dimensions: a.name.hasSuffix("1d") ? 1 : a.name.hasSuffix("2d") ? 2 : nil)
    }
    /// `layernorm`: ``LayerNorm`` over the whole per-example shape.
    static let layerNorm = LayerKind(name: "layernorm", usage: "layernorm", parameters: [], form: "layernorm") { _ in LayerNormToken() }
    /// `groupnorm(G)`: ``GroupNorm`` `(G, C)`, C the first running dimension.
    static let groupNorm = LayerKind(name: "groupnorm", usage: "groupnorm(g)", parameters: [GroupNormToken.groups],
                                     form: "groupnorm(g), g the number of groups") { a in
        GroupNormToken(groups: a.integer(GroupNormToken.groups)!)
    }
}

/// `batchnorm`, `batchnorm1d` or `batchnorm2d`.
struct BatchNormToken: LayerToken, Equatable {
    /// 1 or 2; nil: picked from the running shape.
    let dimensions: Int?

    var description: String { "batchnorm" + (dimensions.map { "\($0)d" } ?? "") }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape, c = s[0]
        switch (dimensions, s.count) {
        case (nil, 1), (nil, 2), (1, 1), (1, 2): plan.add(s, parameters: 4 * Double(c) + 1) { d, _ in BatchNorm1D(c, dtype: d) }
        case (nil, 3), (2, 3): plan.add(s, parameters: 4 * Double(c) + 1) { d, _ in BatchNorm2D(c, dtype: d) }
        case (2, _):
            throw plan.error("\(plan.word) needs a [C, H, W] input but the running shape is \(LayerPlan.text(s))")
        case (1, _):
            throw plan.error("\(plan.word) needs a [F] or [C, L] input but the running shape is \(LayerPlan.text(s))")
        default:
            throw plan.error("\(plan.word) needs a [F], [C, L] or [C, H, W] input but the running shape is \(LayerPlan.text(s))")
        }
    }
}

/// `layernorm`.
struct LayerNormToken: LayerToken, Equatable {
    var description: String { "layernorm" }

    func plan(_ plan: inout LayerPlan) {
        let s = plan.shape
        plan.add(s, parameters: 2 * s.reduce(1.0) { $0 * Double($1) }) { d, _ in LayerNorm(s, dtype: d) }
    }
}

/// `groupnorm(G)`.
struct GroupNormToken: LayerToken, Equatable {
    /// G.
    static let groups = SpecParameter.size("groups", "number of groups", required: true)
    /// G.
    let groups: Int

    var description: String { "groupnorm(\(groups))" }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape, c = s[0], groups = groups
        guard c % groups == 0 else {
            throw plan.error("\(plan.spelling): the \(c) channels of the running shape \(LayerPlan.text(s)) don't split into \(groups) groups",
                             hint: "the number of groups must divide the channels")
        }
        plan.add(s, parameters: 2 * Double(c)) { d, _ in GroupNorm(groups, c, dtype: d) }
    }
}
