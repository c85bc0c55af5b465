/// `torch.clamp` with scalar or tensor bounds, and its gradients as PyTorch defines them at the
/// bounds: the input's gradient passes where min ≤ x ≤ max (bounds included), a tensor bound's
/// gradient is v where it is the value taken (x < min, resp. x > max) — and when min > max every
/// output is max, whose gradient takes all of v.
extension Tensor {
    /// Each element limited to [min, max], as `torch.clamp(x, min, max)`: min(max(x, min), max), so
    /// max wins where min > max; NaN stays NaN. Either bound may be `nil` (no limit). Same shape.
    /// B: v where min ≤ x ≤ max, 0 elsewhere (torch's rule: the bounds themselves pass the gradient).
    ///
    /// ```swift
    /// Tensor([-2, 0.5, 3]).clamped(min: 0, max: 1)   // [0, 0.5, 1]
    /// ```
    public func clamped(min lower: Double? = nil, max upper: Double? = nil) -> Tensor {
        precondition(lower != nil || upper != nil, "Neural: clamp needs a min or a max")
        let x = detached().contiguous()
        let out = Tensor(uninitialized: shape, dtype: dtype)
        func run<T: TensorElement>(_: T.Type, _ lo: T, _ hi: T, _ hasLo: Bool, _ hasHi: Bool) {
            let n = count
            let xp = SendablePointer(x.pointer(T.self)), yp = SendablePointer(out.pointer(T.self))
            Parallel.forRanges(count: n, grain: 1 << 16) { r in
                for i in r {
                    var v = xp.pointer[i]
                    if v == v {   // NaN passes through
                        if hasLo && v < lo { v = lo }
                        if hasHi && v > hi { v = hi }
                    }
                    yp.pointer[i] = v
                }
            }
        }
        let (l, h) = (lower ?? 0, upper ?? 0)
        withExtendedLifetime(x) {
            switch dtype {
            case .float32: run(Float.self, Float(l), Float(h), lower != nil, upper != nil)
            case .float64: run(Double.self, l, h, lower != nil, upper != nil)
            case .int32: run(Int32.self, Int32(l.rounded(.up)), Int32(h.rounded(.down)), lower != nil, upper != nil)
            case .int64: run(Int64.self, Int64(l.rounded(.up)), Int64(h.rounded(.down)), lower != nil, upper != nil)
            }
        }
        guard GradMode.enabled, node != nil else { return out }
        return Tensor.record(out, op: "clamp", input: self) { v in
            var mask: Tensor?
            if let lower { mask = x .>= lower }
            if let upper { mask = mask.map { $0 * (x .<= upper) } ?? (x .<= upper) }
            return v * mask!
        }
    }

    /// Each element limited by tensor bounds (broadcast against `self`), as
    /// `torch.clamp(x, min, max)` with tensors: min(max(x, min), max). The result has the broadcast
    /// shape. Gradients, as PyTorch's: x gets v where min ≤ x ≤ max; min gets v where x < min < max;
    /// max gets v where x > max or max < min (each summed to its operand's shape).
    public func clamped(min lower: Tensor?, max upper: Tensor?) -> Tensor {
        precondition(lower != nil || upper != nil, "Neural: clamp needs a min or a max")
        for b in [lower, upper].compactMap({ $0 }) {
            precondition(b.dtype == dtype, "Neural: clamp bound is \(b.dtype) but the input is \(dtype)")
        }
        let x = detached(), lo = lower?.detached(), hi = upper?.detached()
        let out: Tensor = withNoGrad {
            var y = x
            if let lo { y = Tensor.where(y .< lo, lo, y) }
            if let hi { y = Tensor.where(y .> hi, hi, y) }
            return y
        }
        let inputs = [self] + [lower, upper].compactMap { $0 }
        let hasLower = lower != nil, shapes = inputs.map(\.shape)
        return Tensor.record(out, op: "clamp", inputs: inputs) { v, needs in
            var gx: Tensor?, glo: Tensor?, ghi: Tensor?
            if needs[0] {
                var mask = Tensor.ones(like: v)
                if let lo { mask = mask * (x .>= lo) }
                if let hi { mask = mask * (x .<= hi) }
                gx = (v * mask).sumToShape(shapes[0])
            }
            if let lo, needs[1] {
                var mask = x .< lo
                if let hi { mask = mask * (lo .< hi) }
                glo = (v * mask).sumToShape(lo.shape)
            }
            if let hi, needs[hasLower ? 2 : 1] {
                var mask = x .> hi
                if let lo { mask = Tensor.where(hi .< lo, Tensor.ones(like: mask), mask) }
                ghi = (v * mask).sumToShape(hi.shape)
            }
            return [gx] + (hasLower ? [glo] : []) + (upper != nil ? [ghi] : [])
        }
    }
}
