/// Element conversion between any two dtypes, as PyTorch's `Tensor.to(dtype)`: floats round to
/// the nearest representable value, integers to floats exactly where they fit, floats to integers
/// toward zero (a NaN, an infinity or a value outside the integer type's range stops with a message
/// naming it), integers to narrower integers by truncating the high bits (as torch does).
enum ElementConversion {
    /// Converts the `count` contiguous elements of `src` into the contiguous `dst` (any dtypes).
    static func convert(_ src: Tensor, into dst: Tensor, count n: Int) {
        func fromFloat<S: TensorScalar>(_: S.Type) {
            let s = UnsafePointer(src.pointer(S.self))
            switch dst.dtype {
            case .float32: floats(s, dst.pointer(Float.self), n)
            case .float64: floats(s, dst.pointer(Double.self), n)
            case .int32: truncating(s, dst.pointer(Int32.self), n)
            case .int64: truncating(s, dst.pointer(Int64.self), n)
            }
        }
        func fromInteger<S: TensorInteger>(_: S.Type) {
            let s = UnsafePointer(src.pointer(S.self))
            switch dst.dtype {
            case .float32: integersToFloats(s, dst.pointer(Float.self), n)
            case .float64: integersToFloats(s, dst.pointer(Double.self), n)
            case .int32: integers(s, dst.pointer(Int32.self), n)
            case .int64: integers(s, dst.pointer(Int64.self), n)
            }
        }
        switch src.dtype {
        case .float32: fromFloat(Float.self)
        case .float64: fromFloat(Double.self)
        case .int32: fromInteger(Int32.self)
        case .int64: fromInteger(Int64.self)
        }
    }

    @inline(__always)
    private static func floats<S: TensorScalar, D: TensorScalar>(_ s: UnsafePointer<S>, _ d: UnsafeMutablePointer<D>, _ n: Int) {
        for i in 0..<n { d[i] = D(s[i]) }
    }

    @inline(__always)
    private static func integersToFloats<S: TensorInteger, D: TensorScalar>(_ s: UnsafePointer<S>, _ d: UnsafeMutablePointer<D>, _ n: Int) {
        for i in 0..<n { d[i] = D(s[i]) }
    }

    @inline(__always)
    private static func integers<S: TensorInteger, D: TensorInteger>(_ s: UnsafePointer<S>, _ d: UnsafeMutablePointer<D>, _ n: Int) {
        for i in 0..<n { d[i] = D(truncatingIfNeeded: s[i]) }
    }

    @inline(__always)
    private static func truncating<S: TensorScalar, D: TensorInteger>(_ s: UnsafePointer<S>, _ d: UnsafeMutablePointer<D>, _ n: Int) {
        for i in 0..<n { d[i] = integer(s[i], position: i) }
    }

    /// `value` rounded toward zero as `D`; stops with a message naming the value when it is NaN,
    /// infinite or outside `D`'s range.
    @inline(__always)
    static func integer<S: BinaryFloatingPoint, D: TensorInteger>(_ value: S, position: Int) -> D {
        guard let v = D(exactly: value.rounded(.towardZero)) else {
            fatalError("Neural: value \(value) at position \(position) cannot be converted to \(D.dtype) (NaN, infinite or outside \(D.min)...\(D.max))")
        }
        return v
    }
}

extension Tensor {
    /// The same values as `dtype`, as PyTorch's `to(dtype)`: differentiable between ``DType/float32``
    /// and ``DType/float64``; a conversion to an integer type rounds toward zero (NaN, infinities and
    /// values outside the type's range stop with a message naming the value) and carries no
    /// gradient; integers to narrower integers keep the low bits. Returns `self` when the dtype
    /// already matches.
    public func to(_ dtype: DType) -> Tensor {
        if dtype == self.dtype { return self }
        let src = contiguous()
        let out = Tensor(uninitialized: shape, dtype: dtype)
        withExtendedLifetime(src) { ElementConversion.convert(src, into: out, count: count) }
        guard dtype.isFloatingPoint, self.dtype.isFloatingPoint else { return out }
        let from = self.dtype
        return Tensor.record(out, op: "to", input: self) { v in v.to(from) }
    }

    /// The elements in row-major order, converted to `T` as ``to(_:)`` converts (`Float`, `Double`,
    /// `Int32` or `Int64`).
    public func scalars<T: TensorElement>(as _: T.Type = Float.self) -> [T] {
        let c = T.dtype == dtype ? contiguous() : detached().to(T.dtype)
        return withExtendedLifetime(c) { Array(UnsafeBufferPointer(start: c.pointer(T.self), count: count)) }
    }

    /// The elements in row-major order as `Int` (integer tensors exactly; floats rounded toward zero),
    /// e.g. the class indices `argmax` returns.
    public func scalars(as _: Int.Type) -> [Int] {
        scalars(as: Int64.self).map { Int($0) }
    }
}
