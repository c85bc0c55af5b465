/// + − × ÷, negation, powers, maximum/minimum with NumPy broadcasting (eq. 7.83).
/// Each operation's forward and its backward function B[g, z](v) sit side by side; gradients of
/// broadcast operands are summed back to the operand's shape.

struct AddF: BinaryFunctor {
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { a + b }
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64? { a &+ b }
}
struct SubF: BinaryFunctor {
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { a - b }
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64? { a &- b }
}
struct MulF: BinaryFunctor {
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { a * b }
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64? { a &* b }
}
struct DivF: BinaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { a / b } }
struct PowF: BinaryFunctor {
    static var grain: Int { 1 << 12 }
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { T.pow(a, b) }
}
struct MaxF: BinaryFunctor {
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { a.isNaN || a > b ? a : b }
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64? { Swift.max(a, b) }
}
struct MinF: BinaryFunctor {
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { a.isNaN || a < b ? a : b }
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64? { Swift.min(a, b) }
}
/// Share of the gradient of maximum/minimum that goes to `a`: 1 where a wins, ½ on ties.
struct WinShareF: BinaryFunctor {
    let larger: Bool
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T {
        a == b ? 0.5 : ((a > b) == larger ? 1 : 0)
    }
}
struct NegF: UnaryFunctor { @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T { -x } }
struct PowScalarF: UnaryFunctor {
    static var grain: Int { 1 << 12 }
    let p: Double
    @inline(__always) func apply<T: KernelScalar>(_ x: T) -> T {
        p == 2 ? x * x : (p == 1 ? x : (p == 0.5 ? x.squareRoot() : T.pow(x, T(p))))
    }
}

extension Tensor {
    /// Sums a gradient computed for the broadcast shape back to an operand's `shape` (eq. 7.83):
    /// over leading dimensions the operand lacks and over dimensions where it has size 1.
    package func sumToShape(_ shape: [Int]) -> Tensor {
        if self.shape == shape { return self }
        let lead = rank - shape.count
        precondition(lead >= 0, "Neural: cannot sum shape \(self.shape) down to \(shape)")
        var axes = Array(0..<lead)
        for i in 0..<shape.count where shape[i] == 1 && self.shape[lead + i] != 1 { axes.append(lead + i) }
        return sum(axes: axes, keepDims: true).reshaped(shape)
    }

    @inline(__always)
    static func binaryOp<F: BinaryFunctor>(_ a: consuming Tensor, _ b: consuming Tensor, _ f: F, _ name: String,
                                           backward: @escaping (Tensor, Tensor, Tensor, [Bool]) -> [Tensor?]) -> Tensor {
        // Without an autodiff record, write over an operand that nobody else holds (a temporary).
        if !(GradMode.enabled && (a.node != nil || b.node != nil)) && a.dtype == b.dtype {
            let shape = Shape.broadcast(a.shape, b.shape, op: name)
            if a.shape == shape && Elementwise.canOverwrite(&a) {
                return Elementwise.binary(a, b, f, op: name, into: a.detached())
            }
            if b.shape == shape && Elementwise.canOverwrite(&b) {
                return Elementwise.binary(a, b, f, op: name, into: b.detached())
            }
        }
        let out = Elementwise.binary(a, b, f, op: name)
        guard GradMode.enabled, a.node != nil || b.node != nil else { return out }
        let (sa, sb) = (a.detached(), b.detached())
        return record(out, op: name, inputs: [a, b]) { v, needs in backward(v, sa, sb, needs) }
    }

    /// Elementwise sum with broadcasting. B: v for both operands (summed to shape).
    public static func + (a: consuming Tensor, b: consuming Tensor) -> Tensor {
        binaryOp(a, b, AddF(), "add") { v, a, b, n in
            [n[0] ? v.sumToShape(a.shape) : nil, n[1] ? v.sumToShape(b.shape) : nil]
        }
    }

    /// Elementwise difference with broadcasting. B: v and −v.
    public static func - (a: consuming Tensor, b: consuming Tensor) -> Tensor {
        binaryOp(a, b, SubF(), "sub") { v, a, b, n in
            [n[0] ? v.sumToShape(a.shape) : nil, n[1] ? (-v).sumToShape(b.shape) : nil]
        }
    }

    /// Elementwise (Hadamard) product with broadcasting. B: v ⊙ b and v ⊙ a.
    public static func * (a: consuming Tensor, b: consuming Tensor) -> Tensor {
        binaryOp(a, b, MulF(), "mul") { v, a, b, n in
            [n[0] ? (v * b).sumToShape(a.shape) : nil, n[1] ? (v * a).sumToShape(b.shape) : nil]
        }
    }

    /// Elementwise quotient with broadcasting. B: v / b and −v ⊙ a / b².
    public static func / (a: consuming Tensor, b: consuming Tensor) -> Tensor {
        binaryOp(a, b, DivF(), "div") { v, a, b, n in
            [n[0] ? (v / b).sumToShape(a.shape) : nil, n[1] ? (-(v * a) / (b * b)).sumToShape(b.shape) : nil]
        }
    }

    /// Elementwise negation. B: −v.
    public static prefix func - (x: consuming Tensor) -> Tensor {
        if let out = Elementwise.unaryInPlace(&x, NegF()) { return out }
        return record(Elementwise.unary(x, NegF()), op: "neg", input: x) { v in -v }
    }

    /// `self` raised to `exponent` elementwise, with broadcasting.
    /// B: v ⊙ b·a^(b−1) for a, v ⊙ a^b·log a for b.
    public func pow(_ exponent: Tensor) -> Tensor {
        Tensor.binaryOp(self, exponent, PowF(), "pow") { v, a, b, n in
            [n[0] ? (v * b * a.pow(b - 1)).sumToShape(a.shape) : nil,
             n[1] ? (v * a.pow(b) * a.log()).sumToShape(b.shape) : nil]
        }
    }

    /// `self` raised to a constant power elementwise. B: v ⊙ p·x^(p−1).
    public func pow(_ p: Double) -> Tensor {
        let x = detached()
        return Tensor.record(Elementwise.unary(self, PowScalarF(p: p)), op: "pow", input: self) { v in
            p == 2 ? v * x * 2 : v * x.pow(p - 1) * p
        }
    }

    /// x² elementwise.
    public func square() -> Tensor { pow(2) }

    /// Elementwise maximum with broadcasting; on ties the gradient is split evenly.
    public static func maximum(_ a: Tensor, _ b: Tensor) -> Tensor {
        binaryOp(a, b, MaxF(), "maximum") { v, a, b, n in
            let share = Elementwise.binary(a, b, WinShareF(larger: true), op: "maximum")
            return [n[0] ? (v * share).sumToShape(a.shape) : nil, n[1] ? (v * (1 - share)).sumToShape(b.shape) : nil]
        }
    }

    /// Elementwise minimum with broadcasting; on ties the gradient is split evenly.
    public static func minimum(_ a: Tensor, _ b: Tensor) -> Tensor {
        binaryOp(a, b, MinF(), "minimum") { v, a, b, n in
            let share = Elementwise.binary(a, b, WinShareF(larger: false), op: "minimum")
            return [n[0] ? (v * share).sumToShape(a.shape) : nil, n[1] ? (v * (1 - share)).sumToShape(b.shape) : nil]
        }
    }

    // MARK: Tensor–scalar forms (the scalar is broadcast; it takes the tensor's dtype)

    /// `a + s` elementwise.
    public static func + (a: consuming Tensor, s: Double) -> Tensor {
        let d = a.dtype
        return (consume a) + Tensor(s, dtype: d)
    }
    /// `s + a` elementwise.
    public static func + (s: Double, a: consuming Tensor) -> Tensor {
        let d = a.dtype
        return Tensor(s, dtype: d) + (consume a)
    }
    /// `a − s` elementwise.
    public static func - (a: consuming Tensor, s: Double) -> Tensor {
        let d = a.dtype
        return (consume a) - Tensor(s, dtype: d)
    }
    /// `s − a` elementwise.
    public static func - (s: Double, a: consuming Tensor) -> Tensor {
        let d = a.dtype
        return Tensor(s, dtype: d) - (consume a)
    }
    /// `a · s` elementwise.
    public static func * (a: consuming Tensor, s: Double) -> Tensor {
        let d = a.dtype
        return (consume a) * Tensor(s, dtype: d)
    }
    /// `s · a` elementwise.
    public static func * (s: Double, a: consuming Tensor) -> Tensor {
        let d = a.dtype
        return Tensor(s, dtype: d) * (consume a)
    }
    /// `a / s` elementwise.
    public static func / (a: consuming Tensor, s: Double) -> Tensor {
        let d = a.dtype
        return (consume a) / Tensor(s, dtype: d)
    }
    /// `s / a` elementwise.
    public static func / (s: Double, a: consuming Tensor) -> Tensor {
        let d = a.dtype
        return Tensor(s, dtype: d) / (consume a)
    }

    /// `a += b` (records the addition when history is on).
    public static func += (a: inout Tensor, b: Tensor) { a = a + b }
    /// `a −= b`.
    public static func -= (a: inout Tensor, b: Tensor) { a = a - b }
    /// `a ·= b`.
    public static func *= (a: inout Tensor, b: Tensor) { a = a * b }
    /// `a /= b`.
    public static func /= (a: inout Tensor, b: Tensor) { a = a / b }

    /// Adds `other` (broadcast to this shape) into this tensor's storage in place, without
    /// recording history; copies first if the storage is shared.
    package mutating func addInPlace(_ other: Tensor, scale: Double = 1) {
        precondition(Shape.broadcast(shape, other.shape, op: "addInPlace") == shape,
                     "Neural: addInPlace: shape \(other.shape) does not broadcast to \(shape)")
        let keep = node
        makeUniqueContiguous()
        let o = other.dtype == dtype ? other : other.to(dtype)
        let rhs = scale == 1 ? o.detached() : withNoGrad { o.detached() * scale }
        _ = Elementwise.binary(detached(), rhs, AddF(), op: "addInPlace", into: detached())
        node = keep
    }
}
