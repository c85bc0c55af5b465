/// Transposed convolution layers (`torch.nn.ConvTranspose1d/2d`): the upsampling halves of
/// decoders and autoencoders, in PyTorch's parameter layout and default initialisation.

/// 1-D transposed convolution `[N, C_in, L] → [N, C_out, L_out]` (or unbatched `[C_in, L]`), with
/// L_out = (L − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1: the adjoint of a
/// ``Conv1D`` from C_out to C_in channels (see ``Tensor/convTranspose1d(_:bias:stride:padding:outputPadding:groups:dilation:)``).
///
/// Parameters, as in `torch.nn.ConvTranspose1d`: `weight` `[C_in, C_out/G, k]` and `bias` `[C_out]`,
/// both uniform in ±1/√(C_out/G·k) (PyTorch's kaiming-uniform with a = √5 on that layout).
public final class ConvTranspose1D: Module, Layer, SummarizableLayer {
    /// The filters, `[inChannels, outChannels/groups, kernelSize]`.
    public let weight: Parameter
    /// The per-output-channel offsets, `[outChannels]` (nil without bias).
    public let bias: Parameter?
    /// Output step per input position.
    package let stride: Int
    /// Positions dropped at each end of the output.
    package let padding: Int
    /// Positions added at the far end of the output (< stride).
    package let outputPadding: Int
    /// G: channel blocks transposed separately.
    package let groups: Int
    /// Spacing between the filter's taps.
    package let dilation: Int

    /// A transposed convolution `inChannels → outChannels` with filters of length `kernelSize`,
    /// seeded from `generator`; the arguments are `torch.nn.ConvTranspose1d`'s, in its order.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, dilation: Int = 1,
                dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0,
                     "Neural: ConvTranspose1D(\(inChannels), \(outChannels), kernelSize: \(kernelSize)) needs positive sizes")
        precondition(stride > 0 && dilation > 0 && padding >= 0, "Neural: ConvTranspose1D needs positive stride and dilation, padding ≥ 0")
        precondition(outputPadding >= 0 && outputPadding < stride,
                     "Neural: ConvTranspose1D needs 0 ≤ outputPadding < stride, got \(outputPadding) with stride \(stride)")
        checkLayerGroups(groups, inChannels, outChannels, layer: "ConvTranspose1D")
        let bound = 1 / Double(outChannels / groups * kernelSize).squareRoot()
        weight = Parameter(.uniform([inChannels, outChannels / groups, kernelSize], low: -bound, high: bound, dtype: dtype,
                                    generator: generator))
        self.bias = bias ? Parameter(.uniform([outChannels], low: -bound, high: bound, dtype: dtype, generator: generator)) : nil
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.groups = groups
        self.dilation = dilation
        super.init()
    }

    /// C_in, the input channels.
    public var inChannels: Int { weight.shape[0] }
    /// C_out, the output channels.
    public var outChannels: Int { weight.shape[1] * groups }
    /// k, the filter length.
    package var kernelSize: Int { weight.shape[2] }

    /// `[N, C_in, L] → [N, C_out, L_out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.convTranspose1d(weight.value, bias: bias?.value, stride: stride, padding: padding, outputPadding: outputPadding,
                          groups: groups, dilation: dilation)
    }

    /// The per-example output shape `[C_out, L_out]` for an input `[C_in, L]`; nil when L_out < 1.
    package func outputShape(for input: [Int]) -> [Int]? {
        let l = transposedOutputLength(input[1], kernel: kernelSize, stride: stride, padding: padding,
                                       outputPadding: outputPadding, dilation: dilation)
        return l > 0 ? [outChannels, l] : nil
    }

    /// `ConvTranspose1D(C_in, C_out, kernel k)` and the options that aren't the defaults.
    package var summary: String {
        "ConvTranspose1D(\(inChannels), \(outChannels), kernel \(kernelSize)"
            + summaryOptions([("stride", "\(stride)", stride != 1), ("padding", "\(padding)", padding != 0),
                              ("output padding", "\(outputPadding)", outputPadding != 0), ("groups", "\(groups)", groups != 1),
                              ("dilation", "\(dilation)", dilation != 1)]) + ")"
    }
}

/// 2-D transposed convolution `[N, C_in, H, W] → [N, C_out, H_out, W_out]` (or unbatched), with
/// H_out = (H − 1)·sH − 2pH + dH·(kH − 1) + opH + 1 (W_out likewise): the adjoint of a ``Conv2D``
/// from C_out to C_in channels (see ``Tensor/convTranspose2d(_:bias:stride:padding:outputPadding:groups:dilation:)``).
/// `ConvTranspose2D(C, C′, kernelSize: 2, stride: 2)` doubles the height and width.
///
/// Parameters, as in `torch.nn.ConvTranspose2d`: `weight` `[C_in, C_out/G, kH, kW]` and `bias`
/// `[C_out]`, both uniform in ±1/√(C_out/G·kH·kW).
public final class ConvTranspose2D: Module, Layer, SummarizableLayer {
    /// The filters, `[inChannels, outChannels/groups, kH, kW]`.
    public let weight: Parameter
    /// The per-output-channel offsets, `[outChannels]` (nil without bias).
    public let bias: Parameter?
    /// (height, width) output steps per input position.
    package let stride: (Int, Int)
    /// (height, width) positions dropped at each end of the output.
    package let padding: (Int, Int)
    /// (height, width) positions added at the far end of the output.
    package let outputPadding: (Int, Int)
    /// G: channel blocks transposed separately.
    package let groups: Int
    /// (height, width) spacing between the filter's taps.
    package let dilation: (Int, Int)

    /// A transposed convolution `inChannels → outChannels` with `kernelSize.0 × kernelSize.1`
    /// filters, seeded from `generator`; the arguments are `torch.nn.ConvTranspose2d`'s, in its order.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), outputPadding: (Int, Int) = (0, 0), groups: Int = 1, bias: Bool = true,
                dilation: (Int, Int) = (1, 1), dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize.0 > 0 && kernelSize.1 > 0,
                     "Neural: ConvTranspose2D(\(inChannels), \(outChannels), kernelSize: \(kernelSize)) needs positive sizes")
        precondition(stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0 && padding.0 >= 0 && padding.1 >= 0,
                     "Neural: ConvTranspose2D needs positive stride and dilation, padding ≥ 0")
        precondition(outputPadding.0 >= 0 && outputPadding.0 < stride.0 && outputPadding.1 >= 0 && outputPadding.1 < stride.1,
                     "Neural: ConvTranspose2D needs 0 ≤ outputPadding < stride, got \(outputPadding) with stride \(stride)")
        checkLayerGroups(groups, inChannels, outChannels, layer: "ConvTranspose2D")
        let bound = 1 / Double(outChannels / groups * kernelSize.0 * kernelSize.1).squareRoot()
        weight = Parameter(.uniform([inChannels, outChannels / groups, kernelSize.0, kernelSize.1], low: -bound, high: bound,
                                    dtype: dtype, generator: generator))
        self.bias = bias ? Parameter(.uniform([outChannels], low: -bound, high: bound, dtype: dtype, generator: generator)) : nil
        self.stride = stride
        self.padding = padding
        self.outputPadding = outputPadding
        self.groups = groups
        self.dilation = dilation
        super.init()
    }

    /// A transposed convolution with square filters and the same options in both directions.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            outputPadding: Int = 0, groups: Int = 1, bias: Bool = true, dilation: Int = 1,
                            dtype: DType = .float32, generator: RandomGenerator = .default) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), outputPadding: (outputPadding, outputPadding), groups: groups, bias: bias,
                  dilation: (dilation, dilation), dtype: dtype, generator: generator)
    }

    /// C_in, the input channels.
    public var inChannels: Int { weight.shape[0] }
    /// C_out, the output channels.
    public var outChannels: Int { weight.shape[1] * groups }
    /// (kH, kW), the filter size.
    package var kernelSize: (Int, Int) { (weight.shape[2], weight.shape[3]) }

    /// `[N, C_in, H, W] → [N, C_out, H_out, W_out]`.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.convTranspose2d(weight.value, bias: bias?.value, stride: stride, padding: padding, outputPadding: outputPadding,
                          groups: groups, dilation: dilation)
    }

    /// The per-example output shape `[C_out, H_out, W_out]` for an input `[C_in, H, W]`; nil when
    /// a side would be < 1.
    package func outputShape(for input: [Int]) -> [Int]? {
        let h = transposedOutputLength(input[1], kernel: kernelSize.0, stride: stride.0, padding: padding.0,
                                       outputPadding: outputPadding.0, dilation: dilation.0)
        let w = transposedOutputLength(input[2], kernel: kernelSize.1, stride: stride.1, padding: padding.1,
                                       outputPadding: outputPadding.1, dilation: dilation.1)
        return h > 0 && w > 0 ? [outChannels, h, w] : nil
    }

    /// `ConvTranspose2D(C_in, C_out, kernel kH×kW)` and the options that aren't the defaults.
    package var summary: String {
        "ConvTranspose2D(\(inChannels), \(outChannels), kernel \(kernelSize.0)×\(kernelSize.1)"
            + summaryOptions([("stride", summaryPair(stride), stride != (1, 1)), ("padding", summaryPair(padding), padding != (0, 0)),
                              ("output padding", summaryPair(outputPadding), outputPadding != (0, 0)),
                              ("groups", "\(groups)", groups != 1), ("dilation", summaryPair(dilation), dilation != (1, 1))]) + ")"
    }
}

/// (L − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1, PyTorch's output length of a
/// transposed convolution.
func transposedOutputLength(_ length: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int, dilation: Int) -> Int {
    (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
}

extension LayerKind {
    /// `convtranspose1d(C_out,k[,stride,padding,output_padding,groups,dilation])`: ``ConvTranspose1D`` on `[C, L]`.
    static let convTranspose1d = ConvTransposeToken.kind(dimensions: 1)
    /// `convtranspose2d(C_out,k[,stride,padding,output_padding,groups,dilation])`: ``ConvTranspose2D`` on `[C, H, W]`.
    static let convTranspose2d = ConvTransposeToken.kind(dimensions: 2)
}

/// `convtranspose1d(…)` or `convtranspose2d(…)`: arguments in `torch.nn.ConvTranspose2d`'s order
/// after the input channels (which come from the running shape).
struct ConvTransposeToken: LayerToken, Equatable {
    /// C_out.
    static let out = SpecParameter.size("out", "number of output channels", required: true)
    /// k.
    static let kernel = SpecParameter.size("kernel", "kernel size", required: true)
    /// The stride (default 1).
    static let stride = SpecParameter.size("stride", "stride")
    /// The padding (default 0).
    static let padding = SpecParameter.padding
    /// The output padding (default 0, < stride).
    static let outputPadding = SpecParameter(name: "output_padding", meaning: "output padding", type: .integer(minimum: 0),
                                             isRequired: false)
    /// The groups (default 1).
    static let groups = SpecParameter.size("groups", "number of groups")
    /// The dilation (default 1).
    static let dilation = SpecParameter.size("dilation", "dilation")

    /// 1 or 2.
    let dimensions: Int
    /// C_out.
    let outChannels: Int
    /// k.
    let kernelSize: Int
    /// The stride, padding, output padding, groups and dilation.
    let stride: Int, padding: Int, outputPadding: Int, groups: Int, dilation: Int

    /// The kind `convtranspose<dimensions>d`.
    static func kind(dimensions: Int) -> LayerKind {
        let name = "convtranspose\(dimensions)d"
        return LayerKind(name: name, usage: "\(name)(c,k,stride=s)",
                         parameters: [out, kernel, stride, padding, outputPadding, groups, dilation],
                         form: "\(name)(c,k) with optional stride=, padding=, output_padding= (< stride), groups= and dilation=") {
            (a) throws(ModelSpecError) in
            let out = a.integer(Self.out)!, stride = a.integer(Self.stride) ?? 1
            let outputPadding = a.integer(Self.outputPadding) ?? 0, groups = a.integer(Self.groups) ?? 1
            guard outputPadding < stride else {
                throw a.error("\(name): output_padding=\(outputPadding) must be smaller than the stride \(stride)", at: Self.outputPadding)
            }
            guard out % groups == 0 else {
                throw a.error("\(name): groups=\(groups) must divide the \(out) output channels", at: Self.groups)
            }
            return ConvTransposeToken(dimensions: dimensions, outChannels: out, kernelSize: a.integer(Self.kernel)!, stride: stride,
                                      padding: a.integer(Self.padding) ?? 0, outputPadding: outputPadding, groups: groups,
                                      dilation: a.integer(Self.dilation) ?? 1)
        }
    }

    var description: String {
        var args = ["\(outChannels)", "\(kernelSize)"]
        if stride != 1 { args.append("stride=\(stride)") }
        if padding != 0 { args.append("padding=\(padding)") }
        if outputPadding != 0 { args.append("output_padding=\(outputPadding)") }
        if groups != 1 { args.append("groups=\(groups)") }
        if dilation != 1 { args.append("dilation=\(dilation)") }
        return "convtranspose\(dimensions)d(\(args.joined(separator: ",")))"
    }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let shape = plan.shape
        guard shape.count == dimensions + 1 else {
            let wanted = dimensions == 1 ? "[C, L]" : "[C, H, W]"
            throw plan.error("\(plan.word) needs a \(wanted) input but the running shape is \(LayerPlan.text(shape))",
                             hint: shape.count == dimensions + 2 || shape.count == 1 ? nil : "give the input a channel dimension")
        }
        let (c, out, k, s, p, op, groups, d) = (shape[0], outChannels, kernelSize, stride, padding, outputPadding, groups, dilation)
        guard c % groups == 0 else {
            throw plan.error("\(plan.spelling): groups=\(groups) must divide the \(c) input channels of the running shape \(LayerPlan.text(shape))")
        }
        let sides = shape.dropFirst().map { transposedOutputLength($0, kernel: k, stride: s, padding: p, outputPadding: op, dilation: d) }
        guard sides.allSatisfy({ $0 > 0 }) else {
            throw plan.error("\(plan.spelling): the padding \(p) leaves no output for the running shape \(LayerPlan.text(shape))")
        }
        let weights = (Double(out / groups) * Double(k) * (dimensions == 1 ? 1 : Double(k))) * Double(c) + Double(out)
        if dimensions == 1 {
            plan.add([out] + sides, parameters: weights) { dt, g in
                ConvTranspose1D(c, out, kernelSize: k, stride: s, padding: p, outputPadding: op, groups: groups, dilation: d,
                                dtype: dt, generator: g)
            }
        } else {
            plan.add([out] + sides, parameters: weights) { dt, g in
                ConvTranspose2D(c, out, kernelSize: k, stride: s, padding: p, outputPadding: op, groups: groups, dilation: d,
                                dtype: dt, generator: g)
            }
        }
    }
}
