/// Pooling and flattening layers (no parameters), matching `torch.nn.MaxPool1d/2d`,
/// `AvgPool1d/2d` (`count_include_pad=True`) and `Flatten`.

/// 1-D max pooling: `[N, C, L] → [N, C, L′]`, each output the maximum of its window of
/// `kernelSize` inputs; L′ = ⌊(L + 2·padding − dilation·(kernelSize − 1) − 1)/stride⌋ + 1.
public final class MaxPool1D: Module, Layer, SummarizableLayer {
    /// Window length.
    package let kernelSize: Int
    /// Step between windows (defaults to `kernelSize`).
    package let stride: Int
    /// Implicit −∞ padding at each end (at most `kernelSize / 2`).
    package let padding: Int
    /// Spacing between the window's taps.
    package let dilation: Int

    /// Max pooling over windows of `kernelSize`.
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.dilation = dilation
        super.init()
    }

    /// `[N, C, L] → [N, C, L′]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.maxPool1d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation)
    }

    /// The per-example output shape `[C, L′]` for an input `[C, L]`; nil when the window is longer
    /// than the padded input.
    package func outputShape(for input: [Int]) -> [Int]? {
        SlidingWindow.outputShape(input, channels: input[0], kernel: (1, kernelSize), stride: (1, stride),
                                  padding: (0, padding), dilation: (1, dilation))
    }

    /// `MaxPool1D(k)` and the stride and padding that aren't the defaults.
    package var summary: String {
        "MaxPool1D(\(kernelSize)" + summaryOptions([("stride", "\(stride)", stride != kernelSize), ("padding", "\(padding)", padding != 0)]) + ")"
    }
}

/// 2-D max pooling: `[N, C, H, W] → [N, C, H′, W′]`, each output the maximum of its `kH × kW`
/// window; H′ = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1, W′ likewise.
public final class MaxPool2D: Module, Layer, SummarizableLayer {
    /// (kH, kW), the window size.
    package let kernelSize: (Int, Int)
    /// (height, width) step between windows (defaults to `kernelSize`).
    package let stride: (Int, Int)
    /// (height, width) implicit −∞ padding on each side (at most half the window).
    package let padding: (Int, Int)
    /// (height, width) spacing between the window's taps.
    package let dilation: (Int, Int)

    /// Max pooling over `kernelSize.0 × kernelSize.1` windows.
    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                dilation: (Int, Int) = (1, 1)) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        self.dilation = dilation
        super.init()
    }

    /// Max pooling over square `kernelSize × kernelSize` windows (e.g. `MaxPool2D(kernelSize: 2)`).
    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1) {
        let s = stride ?? kernelSize
        self.init(kernelSize: (kernelSize, kernelSize), stride: (s, s), padding: (padding, padding),
                  dilation: (dilation, dilation))
    }

    /// `[N, C, H, W] → [N, C, H′, W′]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.maxPool2d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation)
    }

    /// The per-example output shape `[C, H′, W′]` for an input `[C, H, W]`; nil when the window is
    /// larger than the padded input.
    package func outputShape(for input: [Int]) -> [Int]? {
        SlidingWindow.outputShape(input, channels: input[0], kernel: kernelSize, stride: stride, padding: padding, dilation: dilation)
    }

    /// `MaxPool2D(kH×kW)` and the stride and padding that aren't the defaults.
    package var summary: String {
        "MaxPool2D(\(kernelSize.0)×\(kernelSize.1)"
            + summaryOptions([("stride", summaryPair(stride), stride != kernelSize), ("padding", summaryPair(padding), padding != (0, 0))]) + ")"
    }
}

/// 1-D average pooling: `[N, C, L] → [N, C, L′]`, each output the window's sum divided by
/// `kernelSize` (zero padding counted); L′ = ⌊(L + 2·padding − kernelSize)/stride⌋ + 1.
public final class AvgPool1D: Module, Layer, SummarizableLayer {
    /// Window length.
    package let kernelSize: Int
    /// Step between windows (defaults to `kernelSize`).
    package let stride: Int
    /// Zeros added at each end (at most `kernelSize / 2`).
    package let padding: Int

    /// Average pooling over windows of `kernelSize`.
    public init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        super.init()
    }

    /// `[N, C, L] → [N, C, L′]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.avgPool1d(kernelSize: kernelSize, stride: stride, padding: padding)
    }

    /// The per-example output shape `[C, L′]` for an input `[C, L]`; nil when the window is longer
    /// than the padded input.
    package func outputShape(for input: [Int]) -> [Int]? {
        SlidingWindow.outputShape(input, channels: input[0], kernel: (1, kernelSize), stride: (1, stride),
                                  padding: (0, padding), dilation: (1, 1))
    }

    /// `AvgPool1D(k)` and the stride and padding that aren't the defaults.
    package var summary: String {
        "AvgPool1D(\(kernelSize)" + summaryOptions([("stride", "\(stride)", stride != kernelSize), ("padding", "\(padding)", padding != 0)]) + ")"
    }
}

/// 2-D average pooling: `[N, C, H, W] → [N, C, H′, W′]`, each output the sum of its `kH × kW`
/// window divided by kH·kW (zero padding counted); H′ = ⌊(H + 2pH − kH)/sH⌋ + 1, W′ likewise.
public final class AvgPool2D: Module, Layer, SummarizableLayer {
    /// (kH, kW), the window size.
    package let kernelSize: (Int, Int)
    /// (height, width) step between windows (defaults to `kernelSize`).
    package let stride: (Int, Int)
    /// (height, width) zeros added on each side (at most half the window).
    package let padding: (Int, Int)

    /// Average pooling over `kernelSize.0 × kernelSize.1` windows.
    public init(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) {
        self.kernelSize = kernelSize
        self.stride = stride ?? kernelSize
        self.padding = padding
        super.init()
    }

    /// Average pooling over square `kernelSize × kernelSize` windows.
    public convenience init(kernelSize: Int, stride: Int? = nil, padding: Int = 0) {
        let s = stride ?? kernelSize
        self.init(kernelSize: (kernelSize, kernelSize), stride: (s, s), padding: (padding, padding))
    }

    /// `[N, C, H, W] → [N, C, H′, W′]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.avgPool2d(kernelSize: kernelSize, stride: stride, padding: padding)
    }

    /// The per-example output shape `[C, H′, W′]` for an input `[C, H, W]`; nil when the window is
    /// larger than the padded input.
    package func outputShape(for input: [Int]) -> [Int]? {
        SlidingWindow.outputShape(input, channels: input[0], kernel: kernelSize, stride: stride, padding: padding, dilation: (1, 1))
    }

    /// `AvgPool2D(kH×kW)` and the stride and padding that aren't the defaults.
    package var summary: String {
        "AvgPool2D(\(kernelSize.0)×\(kernelSize.1)"
            + summaryOptions([("stride", summaryPair(stride), stride != kernelSize), ("padding", summaryPair(padding), padding != (0, 0))]) + ")"
    }
}

/// Flattens dimensions `startDim…endDim` into one, like `torch.nn.Flatten` (defaults 1 and −1:
/// `[N, d₁, d₂, …] → [N, d₁·d₂·…]`, e.g. between the convolutions and the linear head of a CNN).
public final class Flatten: Module, Layer, SummarizableLayer {
    /// First dimension flattened (default 1: keep the batch dimension).
    package let startDim: Int
    /// Last dimension flattened (default −1: the last one).
    package let endDim: Int

    /// A flatten of dimensions `startDim…endDim`.
    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
        super.init()
    }

    /// `[N, d₁, …, d_r] → [N, d₁·…·d_r]` (for the defaults); a view when the input is contiguous.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.flattened(from: startDim, through: endDim) }

    /// `Flatten`.
    package var summary: String { "Flatten" }
}

extension LayerKind {
    /// `maxpool(k[,stride,padding])`: ``MaxPool1D`` on `[C, L]` or ``MaxPool2D`` on `[C, H, W]`
    /// (`maxpool1d`, `maxpool2d` force the kind); the stride defaults to k.
    static let maxPool = PoolToken.kind(.max)
    /// `avgpool(k[,stride,padding])`: ``AvgPool1D`` or ``AvgPool2D``, like `maxpool`.
    static let avgPool = PoolToken.kind(.average)
    /// `flatten`: ``Flatten``, `[d₁, d₂, …] → [d₁·d₂·…]`.
    static let flatten = LayerKind(name: "flatten", usage: "flatten", parameters: [], form: "flatten") { _ in FlattenToken() }
}

/// `maxpool…(…)` or `avgpool…(…)`.
struct PoolToken: LayerToken, Equatable {
    /// The window's maximum or mean.
    enum Reduction: String, Sendable {
        /// `maxpool`.
        case max = "maxpool"
        /// `avgpool`.
        case average = "avgpool"
    }

    /// k.
    static let kernel = SpecParameter.size("kernel", "window size", required: true)
    /// The stride (default k).
    static let stride = SpecParameter.size("stride", "stride")
    /// The padding (default 0, at most k/2).
    static let padding = SpecParameter.padding

    /// Max or average.
    let reduction: Reduction
    /// 1 or 2; nil: picked from the running shape.
    let dimensions: Int?
    /// k.
    let kernelSize: Int
    /// nil: k.
    let stride: Int?
    /// The padding.
    let padding: Int

    /// The kind `maxpool`/`avgpool` with its `1d` and `2d` names.
    static func kind(_ reduction: Reduction) -> LayerKind {
        let family = reduction.rawValue
        return LayerKind(names: [family, family + "1d", family + "2d"], usage: "\(family)(k)", parameters: [kernel, stride, padding],
                         form: { name in "\(name)(k) with optional stride= and padding=" }) { (a) throws(ModelSpecError) in
            let dimensions: Int? = a.name.hasSuffix("1d") ? 1 : a.name.hasSuffix("2d") ? 2 : nil
            let k = a.integer(Self.kernel)!
            let stride = a.integer(Self.stride)
            let padding = a.integer(Self.padding) ?? 0
            if 2 * padding > k {
                throw a.error("\(a.name): the padding must be at most half the window (\(k / 2)), got \(padding)", at: Self.padding)
            }
            return PoolToken(reduction: reduction, dimensions: dimensions, kernelSize: k, stride: stride == k ? nil : stride, padding: padding)
        }
    }

    var description: String {
        var args = ["\(kernelSize)"]
        if let stride { args.append("stride=\(stride)") }
        if padding != 0 { args.append("padding=\(padding)") }
        return reduction.rawValue + (dimensions.map { "\($0)d" } ?? "") + "(\(args.joined(separator: ",")))"
    }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let shape = plan.shape
        guard let dims = dimensions ?? (shape.count == 2 ? 1 : shape.count == 3 ? 2 : nil) else {
            throw plan.error("\(plan.word) needs a [C, L] or [C, H, W] input but the running shape is \(LayerPlan.text(shape))")
        }
        guard shape.count == dims + 1 else {
            throw plan.error("\(plan.word) needs a \(dims == 1 ? "[C, L]" : "[C, H, W]") input but the running shape is \(LayerPlan.text(shape))",
                             hint: "write \(reduction.rawValue) to pick the 1-D or 2-D kind from the running shape")
        }
        let (k, s, p) = (kernelSize, stride ?? kernelSize, padding)
        guard let outShape = SlidingWindow.outputShape(shape, channels: shape[0], kernel: (k, k), stride: (s, s),
                                                       padding: (p, p), dilation: (1, 1)) else {
            throw plan.error("\(plan.spelling): the window \(k) is larger than the padded input: the running shape is \(LayerPlan.text(shape))")
        }
        switch (reduction, dims) {
        case (.max, 1): plan.add(outShape) { _, _ in MaxPool1D(kernelSize: k, stride: s, padding: p) }
        case (.max, _): plan.add(outShape) { _, _ in MaxPool2D(kernelSize: k, stride: s, padding: p) }
        case (.average, 1): plan.add(outShape) { _, _ in AvgPool1D(kernelSize: k, stride: s, padding: p) }
        case (.average, _): plan.add(outShape) { _, _ in AvgPool2D(kernelSize: k, stride: s, padding: p) }
        }
    }
}

/// `flatten`.
struct FlattenToken: LayerToken, Equatable {
    var description: String { "flatten" }

    func plan(_ plan: inout LayerPlan) {
        plan.add([plan.shape.reduce(1, *)]) { _, _ in Flatten() }
    }
}
