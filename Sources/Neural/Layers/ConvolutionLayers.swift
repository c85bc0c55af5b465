/// Convolution layers (§7.3): `Conv1D` (eq. 7.48–7.50) and `Conv2D` (eq. 7.51), in PyTorch's
/// parameter layouts and default initialisation.

/// 1-D convolution with C input and C′ output channels (eq. 7.50): `[N, C, L] → [N, C′, L′]`
/// (or unbatched `[C, L] → [C′, L′]`), output channel i = Σⱼ Conv1D-S(wᵢⱼ, zⱼ) + bᵢ.
///
/// By default it is the notes' Conv1D-S (eq. 7.48–7.49) per channel pair: for an odd kernel
/// k = 2ℓ + 1 the input is zero-padded by ℓ at both ends (ℓ·dilation with dilation), so with
/// stride 1 the output length equals the input length. Even kernels need an explicit `padding`.
///
/// Parameters, as in `torch.nn.Conv1d`: `weight` `[C′, C, k]` (k·C·C′ numbers, eq. 7.50) and
/// `bias` `[C′]`, both uniform in ±1/√(C·k) (PyTorch's kaiming-uniform with a = √5, fan-in C·k).
public final class Conv1D: Module, Layer {
    /// The filters wᵢⱼ ∈ ℝᵏ, `[outChannels, inChannels, kernelSize]`.
    public let weight: Parameter
    /// The per-output-channel offsets, `[outChannels]` (nil without bias).
    public let bias: Parameter?
    /// Step between output positions.
    public let stride: Int
    /// Zeros added at each end of the input.
    public let padding: Int
    /// Spacing between the filter's taps.
    public let dilation: Int

    /// A convolution `inChannels → outChannels` with filters of length `kernelSize`, seeded from
    /// `generator`.
    ///
    /// - Parameters:
    ///   - padding: `nil` (default) means the notes' "same" padding ℓ·dilation for
    ///     `kernelSize` = 2ℓ + 1; an even `kernelSize` needs an explicit value.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int? = nil,
                dilation: Int = 1, bias: Bool = true, dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize > 0,
                     "Neural: Conv1D(\(inChannels), \(outChannels), kernelSize: \(kernelSize)) needs positive sizes")
        precondition(stride > 0 && dilation > 0, "Neural: Conv1D needs positive stride and dilation")
        precondition(padding != nil || kernelSize % 2 == 1,
                     "Neural: Conv1D's default padding ℓ needs an odd kernelSize = 2ℓ + 1; pass padding: for kernelSize \(kernelSize)")
        let bound = 1 / Double(inChannels * kernelSize).squareRoot()
        weight = Parameter(.uniform([outChannels, inChannels, kernelSize], low: -bound, high: bound, dtype: dtype, generator: generator))
        self.bias = bias ? Parameter(.uniform([outChannels], low: -bound, high: bound, dtype: dtype, generator: generator)) : nil
        self.stride = stride
        self.padding = padding ?? dilation * (kernelSize - 1) / 2
        self.dilation = dilation
        super.init()
    }

    /// C, the input channels.
    public var inChannels: Int { weight.shape[1] }
    /// C′, the output channels.
    public var outChannels: Int { weight.shape[0] }
    /// k, the filter length.
    public var kernelSize: Int { weight.shape[2] }

    /// `[N, C, L] → [N, C′, L′]` with L′ = ⌊(L + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv1d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation)
    }
}

/// 2-D convolution with C input and C′ output channels (eq. 7.51): `[N, C, H, W] → [N, C′, H′, W′]`
/// (or unbatched `[C, H, W]`), output channel i = Σⱼ Conv2D-S(wᵢⱼ, zⱼ) + bᵢ.
///
/// Parameters, as in `torch.nn.Conv2d`: `weight` `[C′, C, kH, kW]` (C·C′·k² numbers for a k×k
/// filter, eq. 7.51) and `bias` `[C′]`, both uniform in ±1/√(C·kH·kW) (PyTorch's kaiming-uniform
/// with a = √5). Padding defaults to 0, like PyTorch.
public final class Conv2D: Module, Layer {
    /// The filters, `[outChannels, inChannels, kH, kW]`.
    public let weight: Parameter
    /// The per-output-channel offsets, `[outChannels]` (nil without bias).
    public let bias: Parameter?
    /// (height, width) step between output positions.
    public let stride: (Int, Int)
    /// (height, width) zeros added on each side.
    public let padding: (Int, Int)
    /// (height, width) spacing between the filter's taps.
    public let dilation: (Int, Int)

    /// A convolution `inChannels → outChannels` with `kernelSize.0 × kernelSize.1` filters, seeded
    /// from `generator`.
    public init(_ inChannels: Int, _ outChannels: Int, kernelSize: (Int, Int), stride: (Int, Int) = (1, 1),
                padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), bias: Bool = true,
                dtype: DType = .float32, generator: RandomGenerator = .default) {
        precondition(inChannels > 0 && outChannels > 0 && kernelSize.0 > 0 && kernelSize.1 > 0,
                     "Neural: Conv2D(\(inChannels), \(outChannels), kernelSize: \(kernelSize)) needs positive sizes")
        precondition(stride.0 > 0 && stride.1 > 0 && dilation.0 > 0 && dilation.1 > 0,
                     "Neural: Conv2D needs positive stride and dilation")
        precondition(padding.0 >= 0 && padding.1 >= 0, "Neural: Conv2D needs non-negative padding")
        let bound = 1 / Double(inChannels * kernelSize.0 * kernelSize.1).squareRoot()
        weight = Parameter(.uniform([outChannels, inChannels, kernelSize.0, kernelSize.1], low: -bound, high: bound,
                                    dtype: dtype, generator: generator))
        self.bias = bias ? Parameter(.uniform([outChannels], low: -bound, high: bound, dtype: dtype, generator: generator)) : nil
        self.stride = stride
        self.padding = padding
        self.dilation = dilation
        super.init()
    }

    /// A convolution with square `kernelSize × kernelSize` filters and the same stride, padding
    /// and dilation in both directions.
    public convenience init(_ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
                            dilation: Int = 1, bias: Bool = true, dtype: DType = .float32,
                            generator: RandomGenerator = .default) {
        self.init(inChannels, outChannels, kernelSize: (kernelSize, kernelSize), stride: (stride, stride),
                  padding: (padding, padding), dilation: (dilation, dilation), bias: bias, dtype: dtype, generator: generator)
    }

    /// C, the input channels.
    public var inChannels: Int { weight.shape[1] }
    /// C′, the output channels.
    public var outChannels: Int { weight.shape[0] }
    /// (kH, kW), the filter size.
    public var kernelSize: (Int, Int) { (weight.shape[2], weight.shape[3]) }

    /// `[N, C, H, W] → [N, C′, H′, W′]` with H′ = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1, W′ likewise.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x.conv2d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation)
    }

    /// The convolution followed by `activation`, fused into its epilogue and backward; ``Sequential``
    /// uses it for a `Conv2D` directly followed by a `ReLU`.
    public func callAsFunction(_ x: Tensor, activation: FusedActivation) -> Tensor {
        x.conv2d(weight.value, bias: bias?.value, stride: stride, padding: padding, dilation: dilation, activation: activation)
    }
}
