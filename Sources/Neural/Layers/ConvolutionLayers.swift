/// Convolution layers (§7.3): `Conv1D` (eq. 7.48–7.50) and `Conv2D` (eq. 7.51), in PyTorch's
/// parameter layouts and default initialisation, with `groups` (grouped and depthwise
/// convolutions) and `torch.nn.Conv2d`'s `padding_mode` (zeros, reflect, replicate, circular).

/// 1-D convolution with C input and C′ output channels (eq. 7.50): `[N, C, L] → [N, C′, L′]`
/// (or unbatched `[C, L] → [C′, L′]`), output channel i = Σⱼ Conv1D-S(wᵢⱼ, zⱼ) + bᵢ.
///
/// By default it is the notes' Conv1D-S (eq. 7.48–7.49) per channel pair: for an odd kernel
/// k = 2ℓ + 1 the input is zero-padded by ℓ at both ends (ℓ·dilation with dilation), so with
/// stride 1 the output length equals the input length. Even kernels need an explicit `padding`.
///
/// Parameters, as in `torch.nn.Conv1d`: `weight` `[C′, C/G, k]` (k·C·C′/G numbers for G groups,
/// eq. 7.50 when G = 1) and `bias` `[C′]`, both uniform in ±1/√(C/G·k) (PyTorch's kaiming-uniform
/// with a = √5, fan-in C/G·k).
public final class Conv1D: Module, Layer, SummarizableLayer {
    /// The filters wᵢⱼ ∈ ℝᵏ, `[outChannels, inChannels, kernelSize]`.
    public let weight: Parameter
    /// The per-output-channel offsets, `[outChannels]` (nil without bias).
    public let bias: Parameter?
    /// Step between output positions.
    package let stride: Int
    /// Zeros added at each end of the input.
    package let padding: Int
    /// Spacing between the filter's taps.
    package let dilation: Int
    /// G: channel blocks convolved separately (G = C: depthwise).
    package let groups: Int
    /// How the `padding` positions are filled (``PaddingMode/zeros`` = ``PaddingMode/constant``).
    package let paddingMode: PaddingMode

    /// A convolution `inChannels → outChannels` with filters of length `kernelSize`, seeded from
    /// `generator`.
    ///
    /// - Parameters:
    ///   - inChannels: C, the input's channels (`[batch, C, L]`).
    ///   - outChannels: C′, the output's channels (`[batch, C′, L′]`).
    ///   - kernelSize: k, the filter length.
    ///   - stride: step between output positions.
    ///   - padding: `nil` (default) means the notes' "same" padding ℓ·dilation for
    ///     `kernelSize` = 2ℓ + 1; an even `kernelSize` needs an explicit value.
    ///   - dilation: spacing between the filter's taps.
    ///   - groups: G, dividing both channel counts: input channels j·C/G ..< (j+1)·C/G feed output
    ///     channels j·C′/G ..< (j+1)·C′/G only; G = C is a depthwise convolution.
    ///   - bias: whether to add a learned per-channel offset `[C′]`.
    ///   - paddingMode: how the padding is filled: zeros (default), reflect, replicate or circular,
    ///     as `torch.nn.Conv1d`'s `padding_mode`.
    ///   - dtype: the parameters' element type.
    ///   - generator: the seeded source of the initial weights.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int? = nil,
                dilation: Int = 1, groups: Int = 1, bias: Bool = true, paddingMode: PaddingMode = .zeros,
                dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0,
                     "Neural: Conv1D(\(inChannels), \(outChannels), kernelSize: \(kernelSize)) needs positive sizes")
        precondition(stride > 0 && dilation > 0, "Neural: Conv1D needs positive stride and dilation")
        precondition(padding != nil || kernelSize % 2 == 1,
                     "Neural: Conv1D's default padding ℓ needs an odd kernelSize = 2ℓ + 1; pass padding: for kernelSize \(kernelSize)")
        checkLayerGroups(groups, inChannels, outChannels, layer: "Conv1D")
        let bound = 1 / Double(inChannels / groups * kernelSize).squareRoot()
        weight = Parameter(.uniform([outChannels, inChannels / groups, kernelSize], low: -bound, high: bound, dtype: dtype,
                                    generator: generator))
        self.bias = bias ? Parameter(.uniform([outChannels], low: -bound, high: bound, dtype: dtype, generator: generator)) : nil
        self.stride = stride
        self.padding = padding ?? dilation * (kernelSize - 1) / 2
        self.dilation = dilation
        self.groups = groups
        self.paddingMode = paddingMode
        super.init()
    }

    /// C, the input channels.
    public var inChannels: Int { weight.shape[1] * groups }
    /// C′, the output channels.
    public var outChannels: Int { weight.shape[0] }
    /// k, the filter length.
    package var kernelSize: Int { weight.shape[2] }

    /// `[N, C, L] → [N, C′, L′]` with L′ = ⌊(L + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        if paddingMode != .constant && padding > 0 {
            return x.padded([padding, padding], mode: paddingMode)
                .conv1d(weight.value, bias: bias?.value, stride: stride, padding: 0, dilation: dilation, groups: groups)
        }
        return x.conv1d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups)
    }

    /// The per-example output shape `[C′, L′]` for an input `[C, L]`; nil when the filter is
    /// longer than the padded input.
    package func outputShape(for input: [Int]) -> [Int]? {
        SlidingWindow.outputShape(input, channels: outChannels, kernel: (1, kernelSize), stride: (1, stride),
                                  padding: (0, padding), dilation: (1, dilation))
    }

    /// `Conv1D(C, C′, kernel k)` and the stride, padding and dilation that aren't the defaults.
    package var summary: String {
        "Conv1D(\(inChannels), \(outChannels), kernel \(kernelSize)"
            + summaryOptions([("stride", "\(stride)", stride != 1), ("padding", "\(padding)", padding != 0),
                              ("dilation", "\(dilation)", dilation != 1), ("groups", "\(groups)", groups != 1),
                              ("padding mode", paddingMode.convolutionName, paddingMode != .constant)]) + ")"
    }
}

/// 2-D convolution with C input and C′ output channels (eq. 7.51): `[N, C, H, W] → [N, C′, H′, W′]`
/// (or unbatched `[C, H, W]`), output channel i = Σⱼ Conv2D-S(wᵢⱼ, zⱼ) + bᵢ.
///
/// Parameters, as in `torch.nn.Conv2d`: `weight` `[C′, C/G, kH, kW]` (C·C′·k² numbers for a k×k
/// filter and G = 1, eq. 7.51) and `bias` `[C′]`, both uniform in ±1/√(C/G·kH·kW) (PyTorch's
/// kaiming-uniform with a = √5). Padding defaults to 0, like PyTorch.
public final class Conv2D: Module, Layer, SummarizableLayer {
    /// The filters, `[outChannels, inChannels, kH, kW]`.
    public let weight: Parameter
    /// The per-output-channel offsets, `[outChannels]` (nil without bias).
    public let bias: Parameter?
    /// (height, width) step between output positions.
    package let stride: (Int, Int)
    /// (height, width) zeros added on each side.
    package let padding: (Int, Int)
    /// (height, width) spacing between the filter's taps.
    package let dilation: (Int, Int)
    /// G: channel blocks convolved separately (G = C: depthwise).
    package let groups: Int
    /// How the `padding` positions are filled (``PaddingMode/zeros`` = ``PaddingMode/constant``).
    package let paddingMode: PaddingMode

    /// A convolution `inChannels → outChannels` with `kernelSize.0 × kernelSize.1` filters, seeded
    /// from `generator`; `groups` and `paddingMode` as in ``Conv1D/init(_:_:kernelSize:stride:padding:dilation:groups:bias:paddingMode:dtype:generator:)``.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1, bias: Bool = true,
                paddingMode: PaddingMode = .zeros, dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize.0 > 0 && kernelSize.1 > 0,
                     "Neural: Conv2D(\(inChannels), \(outChannels), kernelSize: \(kernelSize)) needs positive sizes")
        precondition(stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0,
                     "Neural: Conv2D needs positive stride and dilation")
        precondition(padding.0 >= 0 && padding.1 >= 0, "Neural: Conv2D needs non-negative padding")
        checkLayerGroups(groups, inChannels, outChannels, layer: "Conv2D")
        let bound = 1 / Double(inChannels / groups * kernelSize.0 * kernelSize.1).squareRoot()
        weight = Parameter(.uniform([outChannels, inChannels / groups, kernelSize.0, kernelSize.1], low: -bound, high: bound,
                                    dtype: dtype, generator: generator))
        self.bias = bias ? Parameter(.uniform([outChannels], low: -bound, high: bound, dtype: dtype, generator: generator)) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        self.groups = groups
        self.paddingMode = paddingMode
        super.init()
    }

    /// A convolution with square `kernelSize × kernelSize` filters and the same stride, padding
    /// and dilation in both directions.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, groups: Int = 1, bias: Bool = true, paddingMode: PaddingMode = .zeros,
                            dtype: DType = .float32, generator: RandomGenerator = .default) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), groups: groups, bias: bias,
                  paddingMode: paddingMode, dtype: dtype, generator: generator)
    }

    /// C, the input channels.
    public var inChannels: Int { weight.shape[1] * groups }
    /// C′, the output channels.
    public var outChannels: Int { weight.shape[0] }
    /// (kH, kW), the filter size.
    package var kernelSize: (Int, Int) { (weight.shape[2], weight.shape[3]) }

    /// `[N, C, H, W] → [N, C′, H′, W′]` with H′ = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1, W′ likewise.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        callAsFunction(x, activation: .identity)
    }

    /// The convolution followed by `activation`, fused into its epilogue and backward; ``Sequential``
    /// uses it for a `Conv2D` directly followed by a `ReLU`.
    package func callAsFunction(_ x: Tensor, activation: FusedActivation) -> Tensor {
        if paddingMode != .constant && padding != (0, 0) {
            return x.padded([padding.1, padding.1, padding.0, padding.0], mode: paddingMode)
                .conv2d(weight.value, bias: bias?.value, stride: stride, dilation: dilation, groups: groups, activation: activation)
        }
        return x.conv2d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, groups: groups,
                        activation: activation)
    }

    /// The per-example output shape `[C′, H′, W′]` for an input `[C, H, W]`; nil when the filter is
    /// larger than the padded input.
    package func outputShape(for input: [Int]) -> [Int]? {
        SlidingWindow.outputShape(input, channels: outChannels, kernel: kernelSize, stride: stride, padding: padding, dilation: dilation)
    }

    /// `Conv2D(C, C′, kernel kH×kW)` and the stride, padding and dilation that aren't the defaults.
    package var summary: String {
        "Conv2D(\(inChannels), \(outChannels), kernel \(kernelSize.0)×\(kernelSize.1)"
            + summaryOptions([("stride", summaryPair(stride), stride != (1, 1)), ("padding", summaryPair(padding), padding != (0, 0)),
                              ("dilation", summaryPair(dilation), dilation != (1, 1)), ("groups", "\(groups)", groups != 1),
                              ("padding mode", paddingMode.convolutionName, paddingMode != .constant)]) + ")"
    }
}

/// Checks a layer's `groups` against its channel counts (PyTorch's rule: G divides both).
func checkLayerGroups(_ groups: Int, _ inChannels: Int, _ outChannels: Int, layer: String) {
    precondition(groups > 0 && inChannels % groups == 0 && outChannels % groups == 0,
                 "Neural: \(layer)(\(inChannels), \(outChannels), groups: \(groups)) needs groups ≥ 1 dividing both channel counts")
}

extension PaddingMode {
    /// The name `torch.nn.Conv2d`'s `padding_mode` uses: `zeros` for ``constant``, else the raw value.
    var convolutionName: String { self == .constant ? "zeros" : rawValue }

    /// The spec words for `padding_mode=`, in `torch.nn.Conv2d`'s spelling.
    static let convolutionNames = ["zeros", "reflect", "replicate", "circular"]

    /// The mode `torch.nn.Conv2d`'s `padding_mode` word names.
    init?(convolutionName name: String) {
        if name == "zeros" { self = .constant } else if let mode = PaddingMode(rawValue: name), mode != .constant { self = mode } else { return nil }
    }
}

/// `n` for a pair (n, n), `a×b` otherwise, as summaries print window sizes.
func summaryPair(_ p: (Int, Int)) -> String { p.0 == p.1 ? "\(p.0)" : "\(p.0)×\(p.1)" }

/// `, name value` for each option whose flag is set, as summaries list non-default settings.
func summaryOptions(_ items: [(name: String, value: String, isSet: Bool)]) -> String {
    items.filter(\.isSet).map { ", \($0.name) \($0.value)" }.joined()
}

extension LayerKind {
    /// `conv1d(C′,k[,stride,padding,dilation,groups,padding_mode])`: ``Conv1D`` on `[C, L]`, "same" padding by default.
    static let conv1d = ConvolutionToken.kind(dimensions: 1, usage: "conv1d(c,k)")
    /// `conv2d(C′,k[,stride,padding,dilation,groups,padding_mode])`: ``Conv2D`` on `[C, H, W]`, padding 0 by default.
    static let conv2d = ConvolutionToken.kind(dimensions: 2, usage: "conv2d(c,k,stride=s,padding=p)")
}

/// `conv1d(…)` or `conv2d(…)`.
struct ConvolutionToken: LayerToken, Equatable {
    /// C′.
    static let out = SpecParameter.size("out", "number of output channels", required: true)
    /// k.
    static let kernel = SpecParameter.size("kernel", "kernel size", required: true)
    /// The stride (default 1).
    static let stride = SpecParameter.size("stride", "stride")
    /// A padding ≥ 0 or `same` (odd kernels: dilation·(k − 1)/2).
    static let padding = SpecParameter(name: "padding", meaning: "padding", type: .integerOrSame, isRequired: false)
    /// The dilation (default 1).
    static let dilation = SpecParameter.size("dilation", "dilation")
    /// The groups (default 1).
    static let groups = SpecParameter.size("groups", "number of groups")
    /// `zeros` (default), `reflect`, `replicate` or `circular`.
    static let paddingMode = SpecParameter(name: "padding_mode", meaning: "padding mode",
                                           type: .word(PaddingMode.convolutionNames), isRequired: false)

    /// 1 or 2.
    let dimensions: Int
    /// C′.
    let outChannels: Int
    /// k.
    let kernelSize: Int
    /// The stride.
    let stride: Int
    /// nil: the layer's default ("same" for Conv1D, 0 for Conv2D).
    let padding: Int?
    /// The dilation.
    let dilation: Int
    /// The groups.
    let groups: Int
    /// How the padding is filled.
    let paddingMode: PaddingMode

    /// The kind `conv<dimensions>d`.
    static func kind(dimensions: Int, usage: String) -> LayerKind {
        let name = "conv\(dimensions)d"
        return LayerKind(name: name, usage: usage, parameters: [out, kernel, stride, padding, dilation, groups, paddingMode],
                         form: "\(name)(c,k) with optional stride=, padding= (a number or \"same\"), dilation=, groups= and padding_mode= (zeros, reflect, replicate or circular)") {
            (a) throws(ModelSpecError) in
            let out = a.integer(Self.out)!, k = a.integer(Self.kernel)!
            let dilation = a.integer(Self.dilation) ?? 1
            var padding = a.integer(Self.padding)
            if a.isSame(Self.padding) {
                guard k % 2 == 1 else {
                    throw a.error("\(name): padding=same needs an odd kernel size, got \(k)", at: Self.padding)
                }
                padding = dilation * (k - 1) / 2
            } else if padding == nil && dimensions == 1 && k % 2 == 0 {
                throw a.error("conv1d's default \"same\" padding needs an odd kernel size, got \(k)",
                              hint: "give the padding, e.g. conv1d(\(out),\(k),padding=0)")
            }
            let groups = a.integer(Self.groups) ?? 1
            guard out % groups == 0 else {
                throw a.error("\(name): groups=\(groups) must divide the \(out) output channels", at: Self.groups)
            }
            let mode = a.word(Self.paddingMode).flatMap { PaddingMode(convolutionName: $0) } ?? .constant
            return ConvolutionToken(dimensions: dimensions, outChannels: out, kernelSize: k, stride: a.integer(Self.stride) ?? 1,
                                    padding: padding, dilation: dilation, groups: groups, paddingMode: mode)
        }
    }

    var description: String {
        var args = ["\(outChannels)", "\(kernelSize)"]
        if stride != 1 { args.append("stride=\(stride)") }
        if let padding { args.append("padding=\(padding)") }
        if dilation != 1 { args.append("dilation=\(dilation)") }
        if groups != 1 { args.append("groups=\(groups)") }
        if paddingMode != .constant { args.append("padding_mode=\(paddingMode.convolutionName)") }
        return "conv\(dimensions)d(\(args.joined(separator: ",")))"
    }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let shape = plan.shape
        guard shape.count == dimensions + 1 else {
            let wanted = dimensions == 1 ? "[C, L]" : "[C, H, W]"
            var hint: String? = nil
            if shape.count == dimensions { hint = "give the input shape a channel dimension, e.g. \(LayerPlan.text([1] + shape))" }
            throw plan.error("\(plan.word) needs a \(wanted) input but the running shape is \(LayerPlan.text(shape))", hint: hint)
        }
        let (c, out, k, stride, dilation, groups, mode) = (shape[0], outChannels, kernelSize, stride, dilation, groups, paddingMode)
        let pad = padding ?? (dimensions == 1 ? dilation * (k - 1) / 2 : 0)
        guard c % groups == 0 else {
            throw plan.error("\(plan.spelling): groups=\(groups) must divide the \(c) input channels of the running shape \(LayerPlan.text(shape))")
        }
        let smallest = shape.dropFirst().min()!
        if (mode == .reflect && pad >= smallest) || (mode == .circular && pad > smallest) {
            throw plan.error("\(plan.spelling): \(mode.rawValue) padding \(pad) must be \(mode == .reflect ? "smaller than" : "at most") each spatial size of the running shape \(LayerPlan.text(shape))")
        }
        guard let outShape = SlidingWindow.outputShape(shape, channels: out, kernel: (k, k), stride: (stride, stride),
                                                       padding: (pad, pad), dilation: (dilation, dilation)) else {
            throw plan.error("\(plan.spelling): the kernel (\(k), dilation \(dilation)) is larger than the padded input: the running shape is \(LayerPlan.text(shape)) with padding \(pad)")
        }
        let weights = (Double(c / groups) * Double(k) * (dimensions == 1 ? 1 : Double(k)) + 1) * Double(out)
        if dimensions == 1 {
            plan.add(outShape, parameters: weights) { d, g in
                Conv1D(c, out, kernelSize: k, stride: stride, padding: pad, dilation: dilation, groups: groups, paddingMode: mode,
                       dtype: d, generator: g)
            }
        } else {
            plan.add(outShape, parameters: weights) { d, g in
                Conv2D(c, out, kernelSize: k, stride: stride, padding: pad, dilation: dilation, groups: groups, paddingMode: mode,
                       dtype: d, generator: g)
            }
        }
    }
}
