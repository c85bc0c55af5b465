/// Root-mean-square normalisation (`torch.nn.RMSNorm`): the fused operation with its backward, the
/// module and its spec token `rmsnorm`.
///
/// Each slice x of m elements becomes y = x · r ⊙ γ with r = 1/√(mean(x²) + ε) (no centring, no
/// shift). Backward, with g = v ⊙ γ:
///
///     ∂J/∂x = r·g − x · r³ · mean(g ⊙ x),    ∂J/∂γ = Σ over slices of v ⊙ x · r
extension Tensor {
    /// RMS normalisation over the last `normalizedAxes` dimensions, as `torch.nn.functional.rms_norm`:
    /// each slice x of m = Π(last dims) elements becomes x / √(mean(x²) + ε) ⊙ weight.
    ///
    /// Shapes: `self` `[…, d₁, …, d_k]`; `weight` (optional) `[d₁, …, d_k]`; the result has `self`'s shape.
    ///
    /// - Parameters:
    ///   - normalizedAxes: k ≥ 1, the trailing dimensions that form one slice.
    ///   - weight: per-element scale γ, or `nil` for 1.
    ///   - eps: ε; `nil` uses the machine epsilon of the dtype (`torch.finfo(dtype).eps`), as torch does.
    public func rmsNorm(normalizedAxes: Int = 1, weight: Tensor? = nil, eps: Double? = nil) -> Tensor {
        precondition(normalizedAxes >= 1 && normalizedAxes <= rank,
                     "Neural: rmsNorm over the last \(normalizedAxes) dimensions of a tensor of shape \(shape)")
        let featureShape = Array(shape.suffix(normalizedAxes))
        if let weight {
            precondition(weight.shape == featureShape,
                         "Neural: rmsNorm weight has shape \(weight.shape); expected \(featureShape) (the last \(normalizedAxes) dimensions of \(shape))")
            precondition(weight.dtype == dtype, "Neural: rmsNorm weight is \(weight.dtype) but the input is \(dtype)")
        }
        let m = Shape.count(featureShape), rows = m == 0 ? 0 : count / m
        let epsilon = eps ?? (dtype == .float64 ? Double.ulpOfOne : Double(Float.ulpOfOne))
        let x = detached().contiguous(), w = weight?.detached().contiguous()
        let y = Tensor(uninitialized: shape, dtype: dtype)
        let rstd = Tensor(uninitialized: [rows], dtype: dtype)
        withExtendedLifetime((x, w)) {
            switch dtype {
            case .float32: RMSNormKernel.forward(x.pointer(Float.self), w?.pointer(Float.self), y.pointer(Float.self),
                                                 rstd.pointer(Float.self), rows: rows, m: m, eps: Float(epsilon))
            case .float64: RMSNormKernel.forward(x.pointer(Double.self), w?.pointer(Double.self), y.pointer(Double.self),
                                                 rstd.pointer(Double.self), rows: rows, m: m, eps: epsilon)
            case .int32, .int64: dtype.floatOnly("rmsNorm")
            }
        }
        let inputs = weight.map { [self, $0] } ?? [self]
        return Tensor.record(y, op: "rmsNorm", inputs: inputs) { v0, needs in
            let v = v0.detached().contiguous()
            let dx = needs[0] ? Tensor(uninitialized: x.shape, dtype: x.dtype) : nil
            let dw = needs.count > 1 && needs[1] ? Tensor(uninitialized: featureShape, dtype: x.dtype) : nil
            func run<T: KernelScalar>(_: T.Type) {
                RMSNormKernel.backward(v.pointer(T.self), x.pointer(T.self), w?.pointer(T.self), rstd.pointer(T.self),
                                       dx: dx?.pointer(T.self), dw: dw?.pointer(T.self), rows: rows, m: m)
            }
            withExtendedLifetime((v, x, w, rstd)) {
                switch x.dtype {
                case .float32: run(Float.self)
                case .float64: run(Double.self)
                case .int32, .int64: x.dtype.floatOnly("rmsNorm")
                }
            }
            return Array([dx, dw].prefix(needs.count))
        }
    }
}

/// The row loops of ``Tensor/rmsNorm(normalizedAxes:weight:eps:)``: rows in parallel, each row's
/// sums in index order, and ∂J/∂γ by column blocks that each walk every row in order (same bits at
/// any thread count).
enum RMSNormKernel {
    static func forward<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, _ w: UnsafeMutablePointer<T>?, _ y: UnsafeMutablePointer<T>,
                                         _ rstd: UnsafeMutablePointer<T>, rows: Int, m: Int, eps: T) {
        let xp = SendablePointer(x), yp = SendablePointer(y), rp = SendablePointer(rstd), wp = w.map { SendablePointer($0) }
        Parallel.forRanges(count: rows, grain: Swift.max(1, 16384 / Swift.max(m, 1))) { range in
            for i in range {
                let xr = xp.pointer + i * m, yr = yp.pointer + i * m
                var ss: T = 0
                for j in 0..<m { ss += xr[j] * xr[j] }
                let r = 1 / (ss / T(m) + eps).squareRoot()
                rp.pointer[i] = r
                if let wp {
                    for j in 0..<m { yr[j] = xr[j] * r * wp.pointer[j] }
                } else {
                    for j in 0..<m { yr[j] = xr[j] * r }
                }
            }
        }
    }

    static func backward<T: KernelScalar>(_ v: UnsafeMutablePointer<T>, _ x: UnsafeMutablePointer<T>, _ w: UnsafeMutablePointer<T>?,
                                          _ rstd: UnsafeMutablePointer<T>, dx: UnsafeMutablePointer<T>?, dw: UnsafeMutablePointer<T>?,
                                          rows: Int, m: Int) {
        let vp = SendablePointer(v), xp = SendablePointer(x), rp = SendablePointer(rstd), wp = w.map { SendablePointer($0) }
        if let dx {
            let dp = SendablePointer(dx)
            Parallel.forRanges(count: rows, grain: Swift.max(1, 8192 / Swift.max(m, 1))) { range in
                for i in range {
                    let vr = vp.pointer + i * m, xr = xp.pointer + i * m, dr = dp.pointer + i * m
                    let r = rp.pointer[i]
                    var dot: T = 0
                    if let wp {
                        for j in 0..<m { dot += vr[j] * wp.pointer[j] * xr[j] }
                        let c = r * r * r * dot / T(m)
                        for j in 0..<m { dr[j] = r * vr[j] * wp.pointer[j] - xr[j] * c }
                    } else {
                        for j in 0..<m { dot += vr[j] * xr[j] }
                        let c = r * r * r * dot / T(m)
                        for j in 0..<m { dr[j] = r * vr[j] - xr[j] * c }
                    }
                }
            }
        }
        if let dw {
            let dp = SendablePointer(dw)
            let block = 256
            Parallel.forRanges(count: (m + block - 1) / block, grain: Swift.max(1, 65536 / Swift.max(rows * block, 1))) { blocks in
                for b in blocks {
                    let lo = b * block, hi = Swift.min(m, lo + block)
                    for j in lo..<hi { dp.pointer[j] = 0 }
                    for i in 0..<rows {
                        let vr = vp.pointer + i * m, xr = xp.pointer + i * m, r = rp.pointer[i]
                        for j in lo..<hi { dp.pointer[j] += vr[j] * xr[j] * r }
                    }
                }
            }
        }
    }
}

/// Root-mean-square layer normalisation, like `torch.nn.RMSNorm`: each slice x over the last
/// dimensions `normalizedShape` becomes x / √(mean(x²) + ε) ⊙ γ.
///
/// Shapes: input `[…, normalizedShape…]`, output the same. Parameter `weight` (γ) of shape
/// `normalizedShape`, ones, when `elementwiseAffine` (the default).
public final class RMSNorm: Module, Layer, SummarizableLayer {
    /// γ: `normalizedShape` (ones); `nil` without elementwise affine.
    public let weight: Parameter?
    /// The trailing dimensions normalised together.
    public let normalizedShape: [Int]
    /// ε; `nil`: the input dtype's machine epsilon (`torch.finfo(x.dtype).eps`), torch's default.
    package let eps: Double?

    /// Normalises over trailing dimensions `normalizedShape`.
    ///
    /// - Parameters:
    ///   - normalizedShape: the last dimensions of the input, e.g. `[d]`.
    ///   - eps: ε; `nil` (default) is the input dtype's machine epsilon, as in PyTorch.
    ///   - elementwiseAffine: whether the learnable γ exists (PyTorch's default true).
    ///   - dtype: the parameter's dtype.
    public init(_ normalizedShape: [Int], eps: Double? = nil, elementwiseAffine: Bool = true, dtype: DType = .float32) {
        precondition(!normalizedShape.isEmpty && normalizedShape.allSatisfy { $0 > 0 },
                     "Neural: RMSNorm(\(normalizedShape)) needs a non-empty shape of positive sizes")
        precondition(eps.map { $0 >= 0 } ?? true, "Neural: RMSNorm eps must be ≥ 0, got \(eps!)")
        self.normalizedShape = normalizedShape
        self.eps = eps
        weight = elementwiseAffine ? Parameter(.ones(normalizedShape, dtype: dtype)) : nil
        super.init()
    }

    /// Normalises over the last dimension, of size `features`.
    public convenience init(_ features: Int, eps: Double? = nil, elementwiseAffine: Bool = true, dtype: DType = .float32) {
        self.init([features], eps: eps, elementwiseAffine: elementwiseAffine, dtype: dtype)
    }

    /// `[…, normalizedShape…] → […, normalizedShape…]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        precondition(x.rank >= normalizedShape.count && Array(x.shape.suffix(normalizedShape.count)) == normalizedShape,
                     "Neural: RMSNorm(\(normalizedShape)) got input of shape \(x.shape); its last dimensions must be \(normalizedShape)")
        return x.rmsNorm(normalizedAxes: normalizedShape.count, weight: weight?.value, eps: eps)
    }

    /// `RMSNorm([d₁, …])`.
    package var summary: String { "RMSNorm(\(normalizedShape))" }
}

extension LayerKind {
    /// `rmsnorm`: ``RMSNorm`` over the whole per-example shape (ε the dtype's machine epsilon).
    static let rmsNorm = LayerKind(name: "rmsnorm", usage: "rmsnorm", parameters: [], form: "rmsnorm") { _ in RMSNormToken() }
}

/// `rmsnorm`.
struct RMSNormToken: LayerToken, Equatable {
    var description: String { "rmsnorm" }

    func plan(_ plan: inout LayerPlan) {
        let s = plan.shape
        plan.add(s, parameters: s.reduce(1.0) { $0 * Double($1) }) { d, _ in RMSNorm(s, dtype: d) }
    }
}
