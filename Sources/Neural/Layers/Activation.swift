/// The activations of eq. 7.24–7.28 as modules (each also exists as a tensor method, e.g. `x.relu()`).
/// They have no parameters and keep the input's shape.

/// max(z, 0) elementwise (eq. 7.24).
public final class ReLU: Module, Layer {
    /// A ReLU module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.relu() }
}

/// 1/(1 + e^−z) elementwise (eq. 7.25).
public final class Sigmoid: Module, Layer {
    /// A sigmoid module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.sigmoid() }
}

/// tanh z elementwise (eq. 7.26).
public final class Tanh: Module, Layer {
    /// A tanh module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.tanh() }
}

/// z for z > 0, γz otherwise (eq. 7.27).
public final class LeakyReLU: Module, Layer {
    /// γ, the slope for negative inputs (PyTorch's default 0.01).
    public let slope: Double
    /// A leaky ReLU with slope γ.
    public init(slope: Double = 0.01) { self.slope = slope; super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.leakyReLU(slope: slope) }
}

/// The exact GELU z·Φ(z) (eq. 7.28).
public final class GELU: Module, Layer {
    /// A GELU module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.gelu() }
}

/// log(1 + e^{βz})/β elementwise, linear above `threshold` like PyTorch's `nn.Softplus`.
public final class Softplus: Module, Layer {
    /// β.
    public let beta: Double
    /// βz above which the output is z.
    public let threshold: Double
    /// A softplus with sharpness β.
    public init(beta: Double = 1, threshold: Double = 20) { self.beta = beta; self.threshold = threshold; super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.softplus(beta: beta, threshold: threshold) }
}

/// The identity z ↦ z (eq. 7.29: an MLP with identity activations collapses to one linear map).
public final class Identity: Module, Layer {
    /// An identity module.
    public override init() { super.init() }
    /// Returns `x`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x }
}
