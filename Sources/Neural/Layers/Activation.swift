/// The activations of eq. 7.24–7.28 as modules (each also exists as a tensor method, e.g. `x.relu()`).
/// They have no parameters and keep the input's shape: `[…] → […]`.

/// max(z, 0) elementwise (eq. 7.24).
public final class ReLU: Module, Layer, SummarizableLayer, ElementwiseActivation {
    /// A ReLU module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
    /// `ReLU`.
    package var summary: String { "ReLU" }
    /// 1{z > 0}.
    package func derivative(_ z: Tensor) -> Tensor { z .> 0 }
}

/// 1/(1 + e^−z) elementwise (eq. 7.25).
public final class Sigmoid: Module, Layer, SummarizableLayer, ElementwiseActivation {
    /// A sigmoid module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
    /// `Sigmoid`.
    package var summary: String { "Sigmoid" }
    /// s(1 − s) with s = sigmoid(z).
    package func derivative(_ z: Tensor) -> Tensor {
        let s = z.sigmoid()
        return s * (1 - s)
    }
}

/// tanh z elementwise (eq. 7.26).
public final class Tanh: Module, Layer, SummarizableLayer, ElementwiseActivation {
    /// A tanh module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
    /// `Tanh`.
    package var summary: String { "Tanh" }
    /// 1 − tanh²z.
    package func derivative(_ z: Tensor) -> Tensor {
        let t = z.tanh()
        return 1 - t * t
    }
}

/// z for z > 0, γz otherwise (eq. 7.27).
public final class LeakyReLU: Module, Layer, SummarizableLayer, ElementwiseActivation {
    /// γ, the slope for negative inputs (PyTorch's default 0.01).
    package let slope: Double
    /// A leaky ReLU with slope γ.
    public init(slope: Double = 0.01) { self.slope = slope; super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.leakyReLU(slope: slope) }
    /// `LeakyReLU(γ)`.
    package var summary: String { "LeakyReLU(\(ModelSpec.format(slope)))" }
    /// 1 for z > 0, γ otherwise.
    package func derivative(_ z: Tensor) -> Tensor { (z .> 0) * (1 - slope) + slope }
}

/// The exact GELU z·Φ(z) (eq. 7.28).
public final class GELU: Module, Layer, SummarizableLayer {
    /// A GELU module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.gelu() }
    /// `GELU`.
    package var summary: String { "GELU" }
}

/// log(1 + e^{βz})/β elementwise, linear above `threshold` like PyTorch's `nn.Softplus`.
public final class Softplus: Module, Layer, SummarizableLayer {
    /// β.
    package let beta: Double
    /// βz above which the output is z.
    package let threshold: Double
    /// A softplus with sharpness β.
    public init(beta: Double = 1, threshold: Double = 20) { self.beta = beta; self.threshold = threshold; super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.softplus(beta: beta, threshold: threshold) }
    /// `Softplus(β b)`.
    package var summary: String { "Softplus(β \(ModelSpec.format(beta)))" }
}

/// The identity z ↦ z (eq. 7.29: an MLP with identity activations collapses to one linear map).
public final class Identity: Module, Layer, SummarizableLayer, ElementwiseActivation {
    /// An identity module.
    public override init() { super.init() }
    /// Returns `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x }
    /// `Identity`.
    package var summary: String { "Identity" }
    /// Ones.
    package func derivative(_ z: Tensor) -> Tensor { Tensor.ones(like: z) }
}

extension LayerKind {
    /// `relu`: ``ReLU``.
    static let relu = LayerKind.elementwise("relu") { ReLU() }
    /// `sigmoid`: ``Sigmoid``.
    static let sigmoid = LayerKind.elementwise("sigmoid") { Sigmoid() }
    /// `tanh`: ``Tanh``.
    static let tanh = LayerKind.elementwise("tanh") { Tanh() }
    /// `gelu`: ``GELU``.
    static let gelu = LayerKind.elementwise("gelu") { GELU() }
    /// `identity`: ``Identity``.
    static let identity = LayerKind.elementwise("identity") { Identity() }

    /// `leakyrelu[(γ)]`: ``LeakyReLU`` with slope γ (default 0.01).
    static let leakyReLU = LayerKind(name: "leakyrelu", usage: "leakyrelu(slope)", parameters: [LeakyReLUToken.slope],
                                     form: "leakyrelu or leakyrelu(slope) (default 0.01)") { a in
        LeakyReLUToken(slope: a.number(LeakyReLUToken.slope) ?? 0.01)
    }

    /// `softplus[(β)]`: ``Softplus`` with sharpness β > 0 (default 1).
    static let softplus = LayerKind(name: "softplus", usage: "softplus(beta)", parameters: [SoftplusToken.beta],
                                    form: "softplus or softplus(beta) (default 1)") { a in
        SoftplusToken(beta: a.number(SoftplusToken.beta) ?? 1)
    }
}

/// `leakyrelu(γ)`.
struct LeakyReLUToken: LayerToken, Equatable {
    /// γ: any finite number.
    static let slope = SpecParameter.number("slope", "slope")
    /// γ.
    let slope: Double

    var description: String { "leakyrelu(\(ModelSpec.format(slope)))" }

    func plan(_ plan: inout LayerPlan) {
        let slope = slope
        plan.add(plan.shape) { _, _ in LeakyReLU(slope: slope) }
    }
}

/// `softplus(β)`.
struct SoftplusToken: LayerToken, Equatable {
    /// β: a positive number.
    static let beta = SpecParameter.number("beta", "beta", positive: true)
    /// β.
    let beta: Double

    var description: String { "softplus(\(ModelSpec.format(beta)))" }

    func plan(_ plan: inout LayerPlan) {
        let beta = beta
        plan.add(plan.shape) { _, _ in Softplus(beta: beta) }
    }
}
