import CNeuralKernels

/// The activations of §7.2 (eq. 7.24–7.28, Figure 7.3) as tensor operations. Each backward is one
/// fused pass σ′(z) ⊙ v (eq. 7.68), computed from whichever of z or σ(z) is cheaper.

struct TanhF: UnaryFunctor {
    static var grain: Int { 1 << 14 }
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { T.tanh(x) }
    var floatKernel: FloatKernel? { { nk_s_tanh($0, $1, $2) } }
}
struct SigmoidF: UnaryFunctor {
    static var grain: Int { 1 << 14 }
    var floatKernel: FloatKernel? { { nk_s_sigmoid($0, $1, $2) } }
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T {
        // Stable on both sides: never exponentiates a large positive number.
        if x >= 0 { return 1 / (1 + T.exp(-x)) }
        let e = T.exp(x)
        return e / (1 + e)
    }
}
struct ReLUF: UnaryFunctor {
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { x > 0 ? x : 0 }
    var floatKernel: FloatKernel? { { nk_s_relu($0, $1, $2) } }
}
struct LeakyReLUF: UnaryFunctor {
    let slope: Double
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { x > 0 ? x : T(slope) * x }
}
struct GELUF: UnaryFunctor {
    static var grain: Int { 1 << 13 }
    var floatKernel: FloatKernel? { { nk_s_gelu($0, $1, $2) } }
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { x * (1 + T.erf(x * T(0.7071067811865476))) / 2 }
}
struct SoftplusF: UnaryFunctor {
    static var grain: Int { 1 << 13 }
    let beta: Double, threshold: Double
    var floatKernel: FloatKernel? {
        let (b, t) = (Float(beta), Float(threshold))
        return { nk_s_softplus($0, $1, $2, b, t) }
    }
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T {
        let bx = T(beta) * x
        if bx > T(threshold) { return x }
        // log(1 + e^{bx}) = Swift.max(bx, 0) + log1p(e^{-|bx|}), stable for large |bx|.
        return (Swift.max(bx, 0) + T.log1p(T.exp(-bx.magnitude))) / T(beta)
    }
}

/// B[tanh](v) = v ⊙ (1 − y²), from y = tanh z.
struct TanhGradF: BinaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ y: T, _ v: T) -> T { v * (1 - y * y) } }
/// B[sigmoid](v) = v ⊙ y(1 − y), from y = sigmoid z.
struct SigmoidGradF: BinaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ y: T, _ v: T) -> T { v * y * (1 - y) } }
/// B[ReLU](v) = v ⊙ 1{z > 0}.
struct ReLUGradF: BinaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ z: T, _ v: T) -> T { z > 0 ? v : 0 } }
/// act(a·x + b) for scalars a, b (``Tensor/multiplyAdd(_:_:activation:)``).
struct MultiplyAddF: UnaryFunctor {
    let a: Double, b: Double, relu: Bool
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T {
        let z = T(a) * x + T(b)
        return relu ? (z > 0 ? z : 0) : z
    }
    var floatKernel: FloatKernel? {
        let (a, b, relu) = (Float(a), Float(b), Int32(relu ? 1 : 0))
        return { nk_axpb_act_f32($0, $1, $2, a, b, relu, 0) }
    }
    var streamingFloatKernel: FloatKernel? {
        let (a, b, relu) = (Float(a), Float(b), Int32(relu ? 1 : 0))
        return { nk_axpb_act_f32($0, $1, $2, a, b, relu, 1) }
    }
}
/// B[relu(a·x + b), x](v) = a·v ⊙ 1{y > 0}, from the output y.
struct MultiplyAddGradF: BinaryFunctor {
    let a: Double
    @inline(__always) func apply<T: KernelScalar>(_ y: T, _ v: T) -> T { y > 0 ? T(a) * v : 0 }
}
/// B[LeakyReLU_γ](v) = v ⊙ (1{z > 0} + γ 1{z ≤ 0}).
struct LeakyReLUGradF: BinaryFunctor {
    let slope: Double
    @inline(__always) func apply<T: KernelScalar>(_ z: T, _ v: T) -> T { z > 0 ? v : T(slope) * v }
}
/// B[GELU](v) = v ⊙ (Φ(z) + z φ(z)).
struct GELUGradF: BinaryFunctor {
    static var grain: Int { 1 << 12 }
    @inline(__always) func apply<T: KernelScalar>(_ z: T, _ v: T) -> T {
        let cdf = (1 + T.erf(z * T(0.7071067811865476))) / 2
        let pdf = T.exp(-z * z / 2) * T(0.3989422804014327)
        return v * (cdf + z * pdf)
    }
}
/// B[softplus_β](v) = v ⊙ sigmoid(βz) (v where βz exceeds the threshold, matching the forward).
struct SoftplusGradF: BinaryFunctor {
    static var grain: Int { 1 << 12 }
    let beta: Double, threshold: Double
    @inline(__always) func apply<T: KernelScalar>(_ z: T, _ v: T) -> T {
        let bz = T(beta) * z
        if bz > T(threshold) { return v }
        return v * SigmoidF().apply(bz)
    }
}

extension Tensor {
    /// tanh z elementwise (eq. 7.26).
    public consuming func tanh() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, TanhF()) { return out }
        let out = Elementwise.unary(self, TanhF())
        let y = out.detached()
        return Tensor.record(out, op: "tanh", input: self) { v in Elementwise.binary(y, v, TanhGradF(), op: "tanh backward") }
    }

    /// The logistic function 1/(1 + e^−z) elementwise (eq. 7.3, 7.25), stable for large |z|.
    public consuming func sigmoid() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, SigmoidF()) { return out }
        let out = Elementwise.unary(self, SigmoidF())
        let y = out.detached()
        return Tensor.record(out, op: "sigmoid", input: self) { v in Elementwise.binary(y, v, SigmoidGradF(), op: "sigmoid backward") }
    }

    /// act(a·x + b) elementwise in one pass over memory: with `.relu`, the values of
    /// `(x * a + b).relu()` (same roundings: a multiply, then an add) without the two intermediate
    /// passes. Like PyTorch's `torch.add(b, x, alpha=a, out=y); y.relu_()` or a jit-fused
    /// `relu(a*x + b)`; the result overwrites `x`'s storage when nothing else uses it.
    /// Any shape; the result has `x`'s shape. Differentiable in `x` (a and b are constants).
    public consuming func multiplyAdd(_ a: Double, _ b: Double, activation: FusedActivation = .identity) -> Tensor {
        let f = MultiplyAddF(a: a, b: b, relu: activation == .relu)
        if let out = Elementwise.unaryInPlace(&self, f) { return out }
        let out = Elementwise.unary(self, f)
        guard f.relu else { return Tensor.record(out, op: "multiplyAdd", input: self) { v in v * a } }
        let y = out.detached()
        return Tensor.record(out, op: "multiplyAdd+relu", input: self) { v in
            Elementwise.binary(y, v, MultiplyAddGradF(a: a), op: "multiplyAdd backward")
        }
    }

    /// Swift.max(z, 0) elementwise (eq. 7.11, 7.24). The derivative at 0 is taken as 0, as in PyTorch.
    public consuming func relu() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, ReLUF()) { return out }
        let z = detached()
        return Tensor.record(Elementwise.unary(self, ReLUF()), op: "relu", input: self) { v in
            Elementwise.binary(z, v, ReLUGradF(), op: "relu backward")
        }
    }

    /// z for z > 0, γz otherwise (eq. 7.27); γ defaults to PyTorch's 0.01.
    public consuming func leakyReLU(slope: Double = 0.01) -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, LeakyReLUF(slope: slope)) { return out }
        let z = detached()
        return Tensor.record(Elementwise.unary(self, LeakyReLUF(slope: slope)), op: "leakyReLU", input: self) { v in
            Elementwise.binary(z, v, LeakyReLUGradF(slope: slope), op: "leakyReLU backward")
        }
    }

    /// The exact GELU z·Φ(z) = z(1 + erf(z/√2))/2 elementwise (eq. 7.28).
    public consuming func gelu() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, GELUF()) { return out }
        let z = detached()
        return Tensor.record(Elementwise.unary(self, GELUF()), op: "gelu", input: self) { v in
            if z.dtype == .float32, v.dtype == .float32, v.shape == z.shape { return Elementwise.geluGrad(z, v) }
            return Elementwise.binary(z, v, GELUGradF(), op: "gelu backward")
        }
    }

    /// softplus_β(z) = log(1 + e^{βz})/β elementwise (eq. 7.28's smooth ReLU), computed stably;
    /// like PyTorch it returns z where βz > `threshold`.
    public func softplus(beta: Double = 1, threshold: Double = 20) -> Tensor {
        precondition(beta > 0, "Neural: softplus needs beta > 0, got \(beta)")
        let z = detached()
        return Tensor.record(Elementwise.unary(self, SoftplusF(beta: beta, threshold: threshold)), op: "softplus", input: self) { v in
            Elementwise.binary(z, v, SoftplusGradF(beta: beta, threshold: threshold), op: "softplus backward")
        }
    }
}
