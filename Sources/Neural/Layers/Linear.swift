/// MM_{W,b}(z) = Wz + b (eq. 7.35) on a batch: `[batch, inFeatures] → [batch, outFeatures]`,
/// computed as Z = X Wᵀ + b with examples along dimension 0 (eq. 7.84) and b broadcast (eq. 7.83).
/// Any leading dimensions are batch dimensions.
///
/// Parameters, in PyTorch's layout and initialisation (`nn.Linear`): `weight` `[outFeatures,
/// inFeatures]` and `bias` `[outFeatures]`, both uniform in ±1/√inFeatures.
public final class Linear: Module, Layer, SummarizableLayer {
    /// W, `[outFeatures, inFeatures]`.
    public let weight: Parameter
    /// b, `[outFeatures]` (nil without bias).
    public let bias: Parameter?

    /// A layer `inFeatures → outFeatures`, seeded from `generator`.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true, dtype: DType = .float32,
                generator: RandomGenerator = .default) {
        precondition(inFeatures > 0 && outFeatures > 0, "Neural: Linear(\(inFeatures), \(outFeatures)) needs positive sizes")
        let bound = 1 / Double(inFeatures).squareRoot()
        weight = Parameter(.uniform([outFeatures, inFeatures], low: -bound, high: bound, dtype: dtype, generator: generator))
        self.bias = bias ? Parameter(.uniform([outFeatures], low: -bound, high: bound, dtype: dtype, generator: generator)) : nil
        super.init()
    }

    /// A layer holding `weight` `[outFeatures, inFeatures]` and `bias` `[outFeatures]` as they are
    /// (no random draw: for models whose weights are loaded next).
    package init(weight: Tensor, bias: Tensor?) {
        precondition(weight.rank == 2 && bias.map { $0.shape == [weight.shape[0]] } ?? true,
                     "Neural: Linear(weight:bias:) needs weight [out, in] and bias [out], got \(weight.shape) and \(bias?.shape ?? [])")
        self.weight = Parameter(weight)
        self.bias = bias.map { Parameter($0) }
        super.init()
    }

    /// Input features (columns of `weight`).
    public var inFeatures: Int { weight.shape[1] }
    /// Output features (rows of `weight`).
    public var outFeatures: Int { weight.shape[0] }

    /// Wᵀ packed for the GEMM, kept between calls without autodiff records (inference).
    let packedWeights = PackedWeightCache()

    /// `[…, inFeatures] → […, outFeatures]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        forward(x, activation: .identity, gelu: false)
    }

    /// `[…, inFeatures] → […, outFeatures]` followed by `activation`, fused into the layer's GEMM
    /// epilogue and backward (``Tensor/linear(weight:bias:activation:)``); ``Sequential`` uses it
    /// for a `Linear` directly followed by a `ReLU`.
    package func callAsFunction(_ x: Tensor, activation: FusedActivation) -> Tensor {
        forward(x, activation: activation, gelu: false)
    }

    /// `self(x).gelu()`, `[…, inFeatures] → […, outFeatures]`. Without autodiff records (inference)
    /// the exact GELU runs in the GEMM's epilogue in Float32 arithmetic (`nk_gelu_f32`: within
    /// 2.4e-7 of x·Φ(x)); with them, and for Float64, it is ``Tensor/gelu()`` (within one ulp).
    package func gelu(_ x: Tensor) -> Tensor {
        forward(x, activation: .identity, gelu: true)
    }

    /// The layer; without autodiff records, with its packed Wᵀ (``PackedWeightCache``), which
    /// calls that record drop.
    private func forward(_ x: Tensor, activation: FusedActivation, gelu: Bool) -> Tensor {
        precondition(x.shape.last == inFeatures,
                     "Neural: Linear(\(inFeatures), \(outFeatures)) got input of shape \(x.shape); its last dimension must be \(inFeatures)")
        let w = weight.value
        var packed: ((Int, Int) -> GEMMPackedB<Float>)? = nil
        if !GradMode.enabled && w.dtype == .float32 && w.isContiguous {
            let cache = packedWeights, version = weight.version
            packed = { nr, kc in cache.packed(weight: w, version: version, nr: nr, kc: kc) }
        } else {
            packedWeights.clear()
        }
        return x.linear(weight: w, bias: bias?.value, activation: activation, gelu: gelu, packedWeight: packed)
    }

    /// `Linear(in, out)`, with `, no bias` when there is none.
    package var summary: String { "Linear(\(inFeatures), \(outFeatures)\(bias == nil ? ", no bias" : ""))" }
}

extension LayerKind {
    /// `linear(k)`: a ``Linear`` layer `F → k` on a `[F]` running shape.
    static let linear = LayerKind(name: "linear", usage: "linear(k)", parameters: [LinearToken.out],
                                  form: "linear(k), k the output features") { a in
        LinearToken(outFeatures: a.integer(LinearToken.out)!)
    }
}

/// `linear(k)`: the one token that can be the output layer.
struct LinearToken: LayerToken, Equatable {
    /// k.
    static let out = SpecParameter.size("out", "output size", required: true)
    /// k.
    let outFeatures: Int

    var description: String { "linear(\(outFeatures))" }
    var outputWidth: Int? { outFeatures }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let f = try plan.features(), k = outFeatures
        plan.add([k], parameters: Double(f + 1) * Double(k)) { d, g in Linear(f, k, dtype: d, generator: g) }
    }
}
