/// SiLU (swish), z·sigmoid(z): the tensor operation with its backward, the module, its spec token
/// `silu`, its summary line and the derivative Algorithm 3 uses.

/// σ′(z) of SiLU, s(1 + z(1 − s)) from z and s = sigmoid(z).
struct SiLUDerivativeF: BinaryFunctor {
    @inline(__always) func apply<T: KernelScalar>(_ z: T, _ s: T) -> T { s * (1 + z * (1 - s)) }
}

extension Tensor {
    /// SiLU z·sigmoid(z) elementwise (PyTorch's `silu`, the swish with β = 1): `[…] → […]`, the
    /// shape of `self`. Backward: B[SiLU](v) = v ⊙ s(1 + z(1 − s)) with s = sigmoid(z).
    public func silu() -> Tensor {
        let z = detached()
        let s = Elementwise.unary(z, SigmoidF())
        return Tensor.record(Elementwise.binary(z, s, MulF(), op: "silu"), op: "silu", input: self) { v in
            Elementwise.binary(Elementwise.binary(z, s, SiLUDerivativeF(), op: "silu backward"), v, MulF(), op: "silu backward")
        }
    }

    /// σ′(z) = s(1 + z(1 − s)) of SiLU elementwise, s = sigmoid(z): `[…] → […]`.
    func siluDerivative() -> Tensor {
        let z = detached()
        return Elementwise.binary(z, Elementwise.unary(z, SigmoidF()), SiLUDerivativeF(), op: "silu derivative")
    }
}

/// SiLU z·sigmoid(z) elementwise, like `torch.nn.SiLU`. No parameters; same shape in and out.
public final class SiLU: Module, Layer, SummarizableLayer, ElementwiseActivation {
    /// A SiLU module.
    public override init() { super.init() }
    /// Same shape in and out.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.silu() }
    /// `SiLU`.
    package var summary: String { "SiLU" }
    /// s(1 + z(1 − s)), s = sigmoid(z).
    package func derivative(_ z: Tensor) -> Tensor { z.siluDerivative() }
}

extension LayerKind {
    /// `silu`: ``SiLU``.
    static let silu = LayerKind.elementwise("silu") { SiLU() }
}
