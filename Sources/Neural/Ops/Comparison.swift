/// Comparisons to masks (1 where true, 0 where false, in the operands' dtype; integer tensors
/// compare too, e.g. `ids .== padId`), `where` and `maskedFill`. Masks carry no gradient.

struct CompareF: BinaryFunctor {
    enum Kind { case lt, le, gt, ge, eq, ne }
    let kind: Kind
    /// Whether `a kind b` holds, for any comparable scalar (integer or floating-point).
    @inline(__always) func holds<T: Comparable>(_ a: T, _ b: T) -> Bool {
        switch kind {
        case .lt: return a < b
        case .le: return a <= b
        case .gt: return a > b
        case .ge: return a >= b
        case .eq: return a == b
        case .ne: return a != b
        }
    }
    func applyInteger(_ a: Int64, _ b: Int64) -> Int64? { holds(a, b) ? 1 : 0 }
    @inline(__always) func apply<T: KernelScalar>(_ a: T, _ b: T) -> T { holds(a, b) ? 1 : 0 }
}

extension Tensor {
    private static func compare(_ a: Tensor, _ b: Tensor, _ kind: CompareF.Kind) -> Tensor {
        Elementwise.binary(a, b, CompareF(kind: kind), op: "compare")
    }

    /// Mask of `a < b` (broadcasting).
    public static func .< (a: Tensor, b: Tensor) -> Tensor { compare(a, b, .lt) }
    /// Mask of `a <= b` (broadcasting).
    public static func .<= (a: Tensor, b: Tensor) -> Tensor { compare(a, b, .le) }
    /// Mask of `a > b` (broadcasting).
    public static func .> (a: Tensor, b: Tensor) -> Tensor { compare(a, b, .gt) }
    /// Mask of `a >= b` (broadcasting).
    public static func .>= (a: Tensor, b: Tensor) -> Tensor { compare(a, b, .ge) }
    /// Mask of `a == b` (broadcasting).
    public static func .== (a: Tensor, b: Tensor) -> Tensor { compare(a, b, .eq) }
    /// Mask of `a != b` (broadcasting).
    public static func .!= (a: Tensor, b: Tensor) -> Tensor { compare(a, b, .ne) }
    /// Mask of `a < s`.
    public static func .< (a: Tensor, s: Double) -> Tensor { compare(a, Tensor(s, dtype: a.dtype), .lt) }
    /// Mask of `a <= s`.
    public static func .<= (a: Tensor, s: Double) -> Tensor { compare(a, Tensor(s, dtype: a.dtype), .le) }
    /// Mask of `a > s`.
    public static func .> (a: Tensor, s: Double) -> Tensor { compare(a, Tensor(s, dtype: a.dtype), .gt) }
    /// Mask of `a >= s`.
    public static func .>= (a: Tensor, s: Double) -> Tensor { compare(a, Tensor(s, dtype: a.dtype), .ge) }
    /// Mask of `a == s`.
    public static func .== (a: Tensor, s: Double) -> Tensor { compare(a, Tensor(s, dtype: a.dtype), .eq) }
    /// Mask of `a != s`.
    public static func .!= (a: Tensor, s: Double) -> Tensor { compare(a, Tensor(s, dtype: a.dtype), .ne) }

    /// Picks `a` where `condition` is non-zero and `b` elsewhere, broadcasting all three, as
    /// `torch.where`: `condition` may have any dtype (a mask from a comparison, or an integer
    /// tensor); `a` and `b` share a dtype (integers too). B: v where the condition holds for `a`, v
    /// elsewhere for `b` (each summed to its shape).
    public static func `where`(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let out = Elementwise.select(condition, a, b)
        guard GradMode.enabled, a.node != nil || b.node != nil else { return out }
        let c = condition.detached(), (sa, sb) = (a.shape, b.shape)
        return record(out, op: "where", inputs: [a, b]) { v, n in
            let zero = Tensor(0, dtype: v.dtype)
            return [n[0] ? Elementwise.select(c, v, zero).sumToShape(sa) : nil,
                    n[1] ? Elementwise.select(c, zero, v).sumToShape(sb) : nil]
        }
    }
}

extension Tensor {
    /// This tensor with `value` wherever `mask` is non-zero, as `torch.Tensor.masked_fill`: `mask`
    /// (any dtype) broadcasts to this tensor's shape, which the result keeps; e.g. a causal mask
    /// `[T, T]` on scores `[batch, heads, T, T]`. B: v where the mask is zero, 0 where it is set.
    public func maskedFill(_ mask: Tensor, _ value: Double) -> Tensor {
        precondition(Shape.broadcast(mask.shape, shape, op: "maskedFill") == shape,
                     "Neural: maskedFill: mask of shape \(mask.shape) does not broadcast to the tensor's shape \(shape)")
        return Tensor.where(mask, Tensor(value, dtype: dtype), self)
    }
}
