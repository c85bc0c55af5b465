/// Upsampling (`torch.nn.Upsample`, `F.interpolate`): nearest-neighbour and (bi)linear resizing of
/// `[N, C, L]` and `[N, C, H, W]` inputs with PyTorch's index rules, the module and the spec tokens
/// `upsample(s)` and `upsamplebilinear(s)`.
///
/// Source positions, per dimension with input size `in` and output size `out` (scale s = 1/factor when a
/// scale factor is given, else in/out):
/// - nearest: ⌊o · s⌋ (in Float arithmetic, as torch), at most in − 1;
/// - linear, `alignCorners`: o · (in − 1)/(out − 1); otherwise (o + ½)·s − ½, at least 0; the two
///   neighbours ⌊src⌋ and ⌊src⌋ + 1 (clamped) get weights 1 − λ and λ.
/// Backward: v sent back to the source elements with the same weights (nearest: all of it).

/// How ``Tensor/upsampled(size:scaleFactor:mode:alignCorners:)`` interpolates.
public enum UpsampleMode: String, Sendable, CaseIterable {
    /// The nearest source element (torch's `'nearest'`): `[N, C, L]` or `[N, C, H, W]`.
    case nearest
    /// Linear interpolation along L (torch's `'linear'`): `[N, C, L]`.
    case linear
    /// Bilinear interpolation over H and W (torch's `'bilinear'`): `[N, C, H, W]`.
    case bilinear
}

extension Tensor {
    /// Resizes the positions of `[N, C, L]` or `[N, C, H, W]`, as `F.interpolate(x, size, scale_factor,
    /// mode, align_corners)`. Give exactly one of `size` (one entry per position dimension) and
    /// `scaleFactor` (one entry, or one per dimension; the output is ⌊in · factor⌋).
    ///
    /// - Parameters:
    ///   - size: the output's position dimensions.
    ///   - scaleFactor: the multipliers; with it, source positions use 1/factor (torch's
    ///     `recompute_scale_factor=None`).
    ///   - mode: ``UpsampleMode/nearest`` (default), ``UpsampleMode/linear`` or ``UpsampleMode/bilinear``.
    ///   - alignCorners: for the linear modes, whether the corner elements of input and output line up
    ///     (torch's `align_corners`, default false). Must be nil for nearest.
    public func upsampled(size: [Int]? = nil, scaleFactor: [Double]? = nil, mode: UpsampleMode = .nearest,
                          alignCorners: Bool? = nil) -> Tensor {
        let positions = rank - 2
        precondition(rank == 3 || rank == 4, "Neural: upsample needs [N, C, L] or [N, C, H, W], got \(shape)")
        precondition(mode == .nearest || (mode == .linear && rank == 3) || (mode == .bilinear && rank == 4),
                     "Neural: upsample mode \(mode) needs \(mode == .linear ? "[N, C, L]" : "[N, C, H, W]"), got \(shape)")
        precondition(mode != .nearest || alignCorners == nil, "Neural: alignCorners applies to the linear modes only")
        precondition((size == nil) != (scaleFactor == nil), "Neural: upsample takes either size or scaleFactor")
        let inSizes = Array(shape.suffix(positions))
        var outSizes = inSizes, factors: [Double?] = Array(repeating: nil, count: positions)
        if let size {
            precondition(size.count == positions && size.allSatisfy { $0 > 0 },
                         "Neural: upsample size \(size) needs \(positions) positive entries for shape \(shape)")
            outSizes = size
        } else if let scaleFactor {
            precondition((scaleFactor.count == 1 || scaleFactor.count == positions) && scaleFactor.allSatisfy { $0 > 0 },
                         "Neural: upsample scaleFactor \(scaleFactor) needs 1 or \(positions) positive entries for shape \(shape)")
            factors = (0..<positions).map { scaleFactor.count == 1 ? scaleFactor[0] : scaleFactor[$0] }
            outSizes = zip(inSizes, factors).map { Int((Double($0) * $1!).rounded(.down)) }
            precondition(outSizes.allSatisfy { $0 > 0 }, "Neural: upsample of \(shape) by \(scaleFactor) is empty")
        }
        if mode == .nearest {
            var maps = [[Int]?](repeating: nil, count: rank)
            for d in 0..<positions {
                let n = inSizes[d], m = outSizes[d]
                if n == m { continue }
                let scale = factors[d].map { Float(1 / $0) } ?? Float(n) / Float(m)
                maps[2 + d] = (0..<m).map { o in m == 2 * n ? o >> 1 : Swift.min(Int((Float(o) * scale).rounded(.down)), n - 1) }
            }
            return AxisGather.apply(self, outShape: Array(shape.prefix(2)) + outSizes, maps: maps, fill: 0, op: "upsampleNearest")
        }
        let align = alignCorners ?? false
        let (inH, outH) = positions == 2 ? (inSizes[0], outSizes[0]) : (1, 1)
        let kernel = BilinearKernel(
            inH: inH, inW: inSizes[positions - 1], outH: outH, outW: outSizes[positions - 1],
            rows: positions == 2 ? BilinearKernel.taps(inSizes[0], outSizes[0], factor: factors[0], align: align, dtype: dtype) : [(0, 0, 0)],
            cols: BilinearKernel.taps(inSizes[positions - 1], outSizes[positions - 1], factor: factors[positions - 1], align: align, dtype: dtype))
        let planes = shape[0] * shape[1]
        let x = detached().contiguous()
        let out = Tensor(uninitialized: Array(shape.prefix(2)) + outSizes, dtype: dtype)
        withExtendedLifetime(x) {
            switch dtype {
            case .float32: kernel.forward(x.pointer(Float.self), out.pointer(Float.self), planes: planes)
            case .float64: kernel.forward(x.pointer(Double.self), out.pointer(Double.self), planes: planes)
            case .int32, .int64: dtype.floatOnly("upsample")
            }
        }
        let inShape = shape, dt = self.dtype
        return Tensor.record(out, op: "upsample" + (mode == .linear ? "Linear" : "Bilinear"), input: self) { v0 in
            let v = v0.contiguous()
            let dx = Tensor.zeros(inShape, dtype: dt)
            withExtendedLifetime(v) {
                switch dt {
                case .float32: kernel.backward(v.pointer(Float.self), dx.pointer(Float.self), planes: planes)
                case .float64: kernel.backward(v.pointer(Double.self), dx.pointer(Double.self), planes: planes)
                case .int32, .int64: dt.floatOnly("upsample")
                }
            }
            return dx
        }
    }
}

/// Bilinear (and, with one row, linear) interpolation of `[inH, inW]` planes to `[outH, outW]`:
/// planes in parallel, each output a fixed expression of its four taps (same bits at any thread count).
struct BilinearKernel: Sendable {
    let inH: Int, inW: Int, outH: Int, outW: Int
    /// Per output row / column: the lower source index, the offset to the upper one (0 or 1) and λ,
    /// the upper one's weight.
    let rows: [(Int, Int, Double)], cols: [(Int, Int, Double)]

    /// torch's source indices and weights for one dimension, computed in the tensor's precision.
    static func taps(_ n: Int, _ m: Int, factor: Double?, align: Bool, dtype: DType) -> [(Int, Int, Double)] {
        func compute<T: BinaryFloatingPoint>(_: T.Type) -> [(Int, Int, Double)] {
            let scale: T = align ? (m > 1 ? T(n - 1) / T(m - 1) : 0) : (factor.map { T(1 / $0) } ?? T(n) / T(m))
            return (0..<m).map { o in
                let src: T = align ? scale * T(o) : Swift.max(scale * (T(o) + T(0.5)) - T(0.5), 0)
                let i0 = Int(src)
                let lambda = Swift.min(Swift.max(src - T(i0), 0), 1)
                return (i0, i0 < n - 1 ? 1 : 0, Double(lambda))
            }
        }
        return dtype == .float64 ? compute(Double.self) : compute(Float.self)
    }

    func forward<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, planes: Int) {
        let xp = SendablePointer(x), yp = SendablePointer(y)
        let inPlane = inH * inW, outPlane = outH * outW
        Parallel.forRanges(count: planes, grain: Swift.max(1, 16384 / Swift.max(outPlane, 1))) { range in
            for p in range {
                let xq = xp.pointer + p * inPlane, yq = yp.pointer + p * outPlane
                for (i, (h0, dh, lh)) in rows.enumerated() {
                    let a = xq + h0 * inW, b = a + dh * inW
                    let l1 = T(lh), l0 = 1 - l1
                    for (j, (w0, dw, lw)) in cols.enumerated() {
                        let m1 = T(lw), m0 = 1 - m1
                        let top = m0 * a[w0] + m1 * a[w0 + dw]
                        yq[i * outW + j] = lh == 0 ? top : l0 * top + l1 * (m0 * b[w0] + m1 * b[w0 + dw])
                    }
                }
            }
        }
    }

    /// dx (zeroed) += v distributed over each output's taps.
    func backward<T: KernelScalar>(_ v: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>, planes: Int) {
        let vp = SendablePointer(v), dp = SendablePointer(dx)
        let inPlane = inH * inW, outPlane = outH * outW
        Parallel.forRanges(count: planes, grain: Swift.max(1, 16384 / Swift.max(outPlane, 1))) { range in
            for p in range {
                let vq = vp.pointer + p * outPlane, dq = dp.pointer + p * inPlane
                for (i, (h0, dh, lh)) in rows.enumerated() {
                    let a = dq + h0 * inW, b = a + dh * inW
                    let l1 = T(lh), l0 = 1 - l1
                    for (j, (w0, dw, lw)) in cols.enumerated() {
                        let m1 = T(lw), m0 = 1 - m1
                        let g = vq[i * outW + j]
                        let gt = lh == 0 ? g : l0 * g
                        a[w0] += m0 * gt
                        a[w0 + dw] += m1 * gt
                        if lh != 0 {
                            let gb = l1 * g
                            b[w0] += m0 * gb
                            b[w0 + dw] += m1 * gb
                        }
                    }
                }
            }
        }
    }
}

/// Upsampling, like `torch.nn.Upsample`: resizes `[N, C, L]` (nearest, linear) or `[N, C, H, W]`
/// (nearest, bilinear) by a scale factor or to a size. No parameters.
///
/// ```swift
/// let up = Upsample(scaleFactor: 2)                                  // nearest, ×2
/// let smooth = Upsample(scaleFactor: 2, mode: .bilinear, alignCorners: false)
/// ```
public final class Upsample: Module, Layer, SummarizableLayer {
    /// The output's position dimensions, or `nil` when a scale factor is used.
    public let size: [Int]?
    /// The multiplier per position dimension (one entry: all), or `nil` when a size is used.
    public let scaleFactor: [Double]?
    /// The interpolation.
    public let mode: UpsampleMode
    /// For the linear modes, torch's `align_corners` (nil: false).
    public let alignCorners: Bool?

    /// Upsampling to `size` or by `scaleFactor` (exactly one of them).
    public init(size: [Int]? = nil, scaleFactor: [Double]? = nil, mode: UpsampleMode = .nearest, alignCorners: Bool? = nil) {
        precondition((size == nil) != (scaleFactor == nil), "Neural: Upsample takes either size or scaleFactor")
        precondition(mode != .nearest || alignCorners == nil, "Neural: Upsample alignCorners applies to the linear modes only")
        self.size = size
        self.scaleFactor = scaleFactor
        self.mode = mode
        self.alignCorners = alignCorners
        super.init()
    }

    /// Upsampling by one `scaleFactor` in every position dimension.
    public convenience init(scaleFactor: Double, mode: UpsampleMode = .nearest, alignCorners: Bool? = nil) {
        self.init(size: nil, scaleFactor: [scaleFactor], mode: mode, alignCorners: alignCorners)
    }

    /// `[N, C, L] → [N, C, L′]` or `[N, C, H, W] → [N, C, H′, W′]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.upsampled(size: size, scaleFactor: scaleFactor, mode: mode, alignCorners: alignCorners)
    }

    /// `Upsample(×2, nearest)` or `Upsample([h, w], bilinear)`.
    package var summary: String {
        let how = size.map { "\($0)" } ?? "×" + scaleFactor!.map { $0 == $0.rounded() ? "\(Int($0))" : "\($0)" }.joined(separator: "×")
        return "Upsample(\(how), \(mode.rawValue)\(alignCorners == true ? ", align corners" : ""))"
    }
}

extension LayerKind {
    /// `upsample(s)`: nearest ``Upsample`` by the factor s, on `[C, L]` or `[C, H, W]`.
    static let upsample = UpsampleToken.kind(bilinear: false)
    /// `upsamplebilinear(s)`: bilinear (on `[C, H, W]`) or linear (on `[C, L]`) ``Upsample`` by s,
    /// corners not aligned (torch's default).
    static let upsampleBilinear = UpsampleToken.kind(bilinear: true)
}

/// `upsample(s)` or `upsamplebilinear(s)`.
struct UpsampleToken: LayerToken, Equatable {
    /// s.
    static let factor = SpecParameter.size("scale", "scale factor", required: true)
    /// Linear rather than nearest.
    let bilinear: Bool
    /// s.
    let factor: Int

    static func kind(bilinear: Bool) -> LayerKind {
        let name = bilinear ? "upsamplebilinear" : "upsample"
        return LayerKind(name: name, usage: "\(name)(s)", parameters: [UpsampleToken.factor],
                         form: "\(name)(s), s the integer scale factor") { a in
            UpsampleToken(bilinear: bilinear, factor: a.integer(UpsampleToken.factor)!)
        }
    }

    var description: String { (bilinear ? "upsamplebilinear" : "upsample") + "(\(factor))" }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape, f = factor
        guard s.count == 2 || s.count == 3 else {
            throw plan.error("\(plan.word) needs a [C, L] or [C, H, W] input but the running shape is \(LayerPlan.text(s))")
        }
        let mode: UpsampleMode = !bilinear ? .nearest : s.count == 2 ? .linear : .bilinear
        plan.add([s[0]] + s.dropFirst().map { $0 * f }) { _, _ in
            Upsample(scaleFactor: Double(f), mode: mode, alignCorners: mode == .nearest ? nil : false)
        }
    }
}
