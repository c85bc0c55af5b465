/// Adaptive average pooling (`torch.nn.AdaptiveAvgPool1d/2d`) and global average pooling: the
/// operation with its backward, the modules and the spec tokens `adaptiveavgpool(h[,w])` and
/// `globalavgpool`.
///
/// Output cell i of n over an input dimension of size L averages input positions
/// ⌊i·L/n⌋ ..< ⌈(i+1)·L/n⌉ (torch's start/end rule: windows may overlap and differ in size by one).
/// Backward: each v spread evenly over its window.
extension Tensor {
    /// 1-D adaptive average pooling: `[N, C, L] → [N, C, outputSize]` (or `[C, L] → [C, outputSize]`),
    /// as `F.adaptive_avg_pool1d`.
    public func adaptiveAvgPool1d(_ outputSize: Int) -> Tensor {
        if rank == 2 { return unsqueezed(0).adaptiveAvgPool1d(outputSize).squeezed(0) }
        precondition(rank == 3, "Neural: adaptiveAvgPool1d needs an input of shape [N, C, L] (or [C, L]), got \(shape)")
        return unsqueezed(2).adaptivePool(outH: 1, outW: outputSize, op: "adaptiveAvgPool1d").squeezed(2)
    }

    /// 2-D adaptive average pooling: `[N, C, H, W] → [N, C, outH, outW]` (or unbatched `[C, H, W]`),
    /// as `F.adaptive_avg_pool2d`. A `nil` size keeps that input dimension. `(1, 1)` is global average pooling.
    public func adaptiveAvgPool2d(_ outputSize: (Int?, Int?)) -> Tensor {
        if rank == 3 { return unsqueezed(0).adaptiveAvgPool2d(outputSize).squeezed(0) }
        precondition(rank == 4, "Neural: adaptiveAvgPool2d needs an input of shape [N, C, H, W] (or [C, H, W]), got \(shape)")
        return adaptivePool(outH: outputSize.0 ?? shape[2], outW: outputSize.1 ?? shape[3], op: "adaptiveAvgPool2d")
    }

    /// 2-D adaptive average pooling to a square `outputSize × outputSize`.
    public func adaptiveAvgPool2d(_ outputSize: Int) -> Tensor { adaptiveAvgPool2d((outputSize, outputSize)) }

    /// The pooling of `[N, C, H, W]` to `[N, C, outH, outW]`.
    private func adaptivePool(outH: Int, outW: Int, op: String) -> Tensor {
        precondition(outH > 0 && outW > 0, "Neural: \(op) output size must be positive, got (\(outH), \(outW))")
        precondition(shape[2] > 0 && shape[3] > 0, "Neural: \(op) needs a non-empty input, got \(shape)")
        let planes = shape[0] * shape[1]
        let pool = AdaptivePoolKernel(height: shape[2], width: shape[3], outH: outH, outW: outW)
        let x = detached().contiguous()
        let out = Tensor(uninitialized: [shape[0], shape[1], outH, outW], dtype: dtype)
        withExtendedLifetime(x) {
            switch dtype {
            case .float32: pool.forward(x.pointer(Float.self), out.pointer(Float.self), planes: planes)
            case .float64: pool.forward(x.pointer(Double.self), out.pointer(Double.self), planes: planes)
            case .int32, .int64: dtype.floatOnly(op)
            }
        }
        let inShape = shape, dt = self.dtype
        return Tensor.record(out, op: op, input: self) { v0 in
            let v = v0.contiguous()
            let dx = Tensor.zeros(inShape, dtype: dt)
            withExtendedLifetime(v) {
                switch dt {
                case .float32: pool.backward(v.pointer(Float.self), dx.pointer(Float.self), planes: planes)
                case .float64: pool.backward(v.pointer(Double.self), dx.pointer(Double.self), planes: planes)
                case .int32, .int64: dt.floatOnly(op)
                }
            }
            return dx
        }
    }
}

/// The windows of adaptive pooling over `[H, W]` planes, planes in parallel (each plane's sums in
/// a fixed order: same bits at any thread count).
struct AdaptivePoolKernel: Sendable {
    let height: Int, width: Int, outH: Int, outW: Int
    /// Window bounds per output row and column: start ⌊i·L/n⌋, end ⌈(i+1)·L/n⌉.
    let rows: [(Int, Int)], cols: [(Int, Int)]

    init(height: Int, width: Int, outH: Int, outW: Int) {
        self.height = height
        self.width = width
        self.outH = outH
        self.outW = outW
        func windows(_ n: Int, _ size: Int) -> [(Int, Int)] {
            (0..<n).map { i in (i * size / n, ((i + 1) * size + n - 1) / n) }
        }
        rows = windows(outH, height)
        cols = windows(outW, width)
    }

    func forward<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, planes: Int) {
        let xp = SendablePointer(x), yp = SendablePointer(y)
        let inPlane = height * width, outPlane = outH * outW
        Parallel.forRanges(count: planes, grain: Swift.max(1, 32768 / Swift.max(inPlane, 1))) { range in
            for p in range {
                let xq = xp.pointer + p * inPlane, yq = yp.pointer + p * outPlane
                for (i, (h0, h1)) in rows.enumerated() {
                    for (j, (w0, w1)) in cols.enumerated() {
                        var s: T = 0
                        for h in h0..<h1 {
                            for w in w0..<w1 { s += xq[h * width + w] }
                        }
                        yq[i * outW + j] = s / T((h1 - h0) * (w1 - w0))
                    }
                }
            }
        }
    }

    /// dx (zeroed) += each v / window size over its window.
    func backward<T: KernelScalar>(_ v: UnsafeMutablePointer<T>, _ dx: UnsafeMutablePointer<T>, planes: Int) {
        let vp = SendablePointer(v), dp = SendablePointer(dx)
        let inPlane = height * width, outPlane = outH * outW
        Parallel.forRanges(count: planes, grain: Swift.max(1, 32768 / Swift.max(inPlane, 1))) { range in
            for p in range {
                let vq = vp.pointer + p * outPlane, dq = dp.pointer + p * inPlane
                for (i, (h0, h1)) in rows.enumerated() {
                    for (j, (w0, w1)) in cols.enumerated() {
                        let g = vq[i * outW + j] / T((h1 - h0) * (w1 - w0))
                        for h in h0..<h1 {
                            for w in w0..<w1 { dq[h * width + w] += g }
                        }
                    }
                }
            }
        }
    }
}

/// 1-D adaptive average pooling, like `torch.nn.AdaptiveAvgPool1d`: `[N, C, L] → [N, C, outputSize]`
/// (or unbatched `[C, L]`), whatever L is. No parameters.
public final class AdaptiveAvgPool1D: Module, Layer, SummarizableLayer {
    /// The output length.
    public let outputSize: Int

    /// Pools any length down (or up) to `outputSize`.
    public init(_ outputSize: Int) {
        precondition(outputSize > 0, "Neural: AdaptiveAvgPool1D output size must be positive, got \(outputSize)")
        self.outputSize = outputSize
        super.init()
    }

    /// `[N, C, L] → [N, C, outputSize]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.adaptiveAvgPool1d(outputSize) }

    /// `AdaptiveAvgPool1D(n)`.
    package var summary: String { "AdaptiveAvgPool1D(\(outputSize))" }
}

/// 2-D adaptive average pooling, like `torch.nn.AdaptiveAvgPool2d`: `[N, C, H, W] → [N, C, outH, outW]`
/// (or unbatched `[C, H, W]`), whatever H and W are; `nil` keeps that dimension. `(1, 1)` is global
/// average pooling. No parameters.
public final class AdaptiveAvgPool2D: Module, Layer, SummarizableLayer {
    /// (outH, outW); `nil` keeps the input's size.
    public let outputSize: (Int?, Int?)

    /// Pools any `H × W` to `outputSize`.
    public init(_ outputSize: (Int?, Int?)) {
        precondition((outputSize.0 ?? 1) > 0 && (outputSize.1 ?? 1) > 0,
                     "Neural: AdaptiveAvgPool2D output size must be positive, got \(outputSize)")
        self.outputSize = outputSize
        super.init()
    }

    /// Pools to a square `outputSize × outputSize` (1: global average pooling).
    public convenience init(_ outputSize: Int) { self.init((outputSize, outputSize)) }

    /// `[N, C, H, W] → [N, C, outH, outW]`.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.adaptiveAvgPool2d(outputSize) }

    /// `AdaptiveAvgPool2D(h×w)`.
    package var summary: String {
        "AdaptiveAvgPool2D(\(outputSize.0.map(String.init) ?? "None")×\(outputSize.1.map(String.init) ?? "None"))"
    }
}

extension LayerKind {
    /// `adaptiveavgpool(h[,w])`: ``AdaptiveAvgPool1D`` `(h)` on `[C, L]`, ``AdaptiveAvgPool2D`` `(h, w)`
    /// on `[C, H, W]` (w defaults to h).
    static let adaptiveAvgPool = LayerKind(name: "adaptiveavgpool", usage: "adaptiveavgpool(h[,w])",
                                           parameters: [AdaptivePoolToken.height, AdaptivePoolToken.width],
                                           form: "adaptiveavgpool(h) or adaptiveavgpool(h,w), the output size") { a in
        AdaptivePoolToken(height: a.integer(AdaptivePoolToken.height)!, width: a.integer(AdaptivePoolToken.width))
    }
    /// `globalavgpool`: the mean over every position of each channel, `[C, …] → [C]`
    /// (``AdaptiveAvgPool1D``/``AdaptiveAvgPool2D`` of size 1, then ``Flatten``).
    static let globalAvgPool = LayerKind(name: "globalavgpool", usage: "globalavgpool", parameters: [], form: "globalavgpool") { _ in
        GlobalAvgPoolToken()
    }
}

/// `adaptiveavgpool(h[,w])`.
struct AdaptivePoolToken: LayerToken, Equatable {
    /// The output height (or length).
    static let height = SpecParameter.size("h", "output size", required: true)
    /// The output width (default h).
    static let width = SpecParameter.size("w", "output width")
    /// h.
    let height: Int
    /// w; nil: h.
    let width: Int?

    var description: String { "adaptiveavgpool(\(height)" + (width.map { ",\($0)" } ?? "") + ")" }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape, (h, w) = (height, width)
        switch s.count {
        case 2 where w == nil: plan.add([s[0], h]) { _, _ in AdaptiveAvgPool1D(h) }
        case 3: plan.add([s[0], h, w ?? h]) { _, _ in AdaptiveAvgPool2D((h, w ?? h)) }
        case 2: throw plan.error("\(plan.spelling) has two sizes but the running shape \(LayerPlan.text(s)) has one position dimension",
                                 hint: "write adaptiveavgpool(\(h)) for a [C, L] input")
        default: throw plan.error("\(plan.word) needs a [C, L] or [C, H, W] input but the running shape is \(LayerPlan.text(s))")
        }
    }
}

/// `globalavgpool`.
struct GlobalAvgPoolToken: LayerToken, Equatable {
    var description: String { "globalavgpool" }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let s = plan.shape
        switch s.count {
        case 2: plan.add([s[0], 1]) { _, _ in AdaptiveAvgPool1D(1) }
        case 3: plan.add([s[0], 1, 1]) { _, _ in AdaptiveAvgPool2D(1) }
        default: throw plan.error("\(plan.word) needs a [C, L] or [C, H, W] input but the running shape is \(LayerPlan.text(s))")
        }
        plan.add([s[0]]) { _, _ in Flatten() }
    }
}
