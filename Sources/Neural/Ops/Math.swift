import CNeuralKernels

/// Elementwise functions: exp, log, sqrt, abs, sin, cos. Each forward sits next to its backward
/// function B[σ, z](v) = σ′(z) ⊙ v (eq. 7.67–7.69): O(m) work, never an m×m Jacobian.

struct ExpF: UnaryFunctor {
    static var grain: Int { 1 << 14 }
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { T.exp(x) }
    var floatKernel: FloatKernel? { { nk_s_exp($0, $1, $2) } }
}
struct LogF: UnaryFunctor {
    static var grain: Int { 1 << 14 }
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { T.log(x) }
    var floatKernel: FloatKernel? { { nk_s_log($0, $1, $2) } }
}
struct SqrtF: UnaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { x.squareRoot() } }
struct AbsF: UnaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { x.magnitude } }
struct SignF: UnaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { x > 0 ? 1 : (x < 0 ? -1 : 0) } }
struct SinF: UnaryFunctor { static var grain: Int { 1 << 12 }; @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { T.sin(x) } }
struct CosF: UnaryFunctor { static var grain: Int { 1 << 12 }; @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { T.cos(x) } }

extension Tensor {
    /// eˣ elementwise. B: v ⊙ eˣ.
    public consuming func exp() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, ExpF()) { return out }
        let out = Elementwise.unary(self, ExpF())
        let y = out.detached()
        return Tensor.record(out, op: "exp", input: self) { v in v * y }
    }

    /// Natural logarithm elementwise. B: v / x.
    public consuming func log() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, LogF()) { return out }
        let x = detached()
        return Tensor.record(Elementwise.unary(self, LogF()), op: "log", input: self) { v in v / x }
    }

    /// √x elementwise. B: v / (2√x).
    public consuming func sqrt() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, SqrtF()) { return out }
        let out = Elementwise.unary(self, SqrtF())
        let y = out.detached()
        return Tensor.record(out, op: "sqrt", input: self) { v in v / (y * 2) }
    }

    /// |x| elementwise. B: v ⊙ sign(x) (0 at x = 0).
    public consuming func abs() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, AbsF()) { return out }
        let x = detached()
        return Tensor.record(Elementwise.unary(self, AbsF()), op: "abs", input: self) { v in v * x.sign() }
    }

    /// −1, 0 or 1 by the sign of each element (not differentiable: its derivative is 0 almost everywhere).
    public func sign() -> Tensor { Elementwise.unary(self, SignF()) }

    /// sin x elementwise. B: v ⊙ cos x.
    public consuming func sin() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, SinF()) { return out }
        let x = detached()
        return Tensor.record(Elementwise.unary(self, SinF()), op: "sin", input: self) { v in v * x.cos() }
    }

    /// cos x elementwise. B: −v ⊙ sin x.
    public consuming func cos() -> Tensor {
        if let out = Elementwise.unaryInPlace(&self, CosF()) { return out }
        let x = detached()
        return Tensor.record(Elementwise.unary(self, CosF()), op: "cos", input: self) { v in -(v * x.sin()) }
    }
}
