/// Pooling and flattening layers (no parameters), matching `torch.nn.MaxPool1d/2d`,
/// `AvgPool1d/2d` (`count_include_pad=True`) and `Flatten`.

/// 1-D max pooling: `[N, C, L] → [N, C, L′]`, each output the maximum of its window of
/// `kernelSize` inputs; L′ = ⌊(L + 2·padding − dilation·(kernelSize − 1) − 1)/stride⌋ + 1.
public final class MaxPool1D: Module, Layer {
    /// Window length.
    public let kernelSize: Int
    /// Step between windows (defaults to `kernelSize`).
    public let stride: Int
    /// Implicit −∞ padding at each end (at most `kernelSize / 2`).
    public let padding: Int
    /// Spacing between the window's taps.
    public let dilation: Int

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
}

/// 2-D max pooling: `[N, C, H, W] → [N, C, H′, W′]`, each output the maximum of its `kH × kW`
/// window; H′ = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1, W′ likewise.
public final class MaxPool2D: Module, Layer {
    /// (kH, kW), the window size.
    public let kernelSize: (Int, Int)
    /// (height, width) step between windows (defaults to `kernelSize`).
    public let stride: (Int, Int)
    /// (height, width) implicit −∞ padding on each side (at most half the window).
    public let padding: (Int, Int)
    /// (height, width) spacing between the window's taps.
    public let dilation: (Int, Int)

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
}

/// 1-D average pooling: `[N, C, L] → [N, C, L′]`, each output the window's sum divided by
/// `kernelSize` (zero padding counted); L′ = ⌊(L + 2·padding − kernelSize)/stride⌋ + 1.
public final class AvgPool1D: Module, Layer {
    /// Window length.
    public let kernelSize: Int
    /// Step between windows (defaults to `kernelSize`).
    public let stride: Int
    /// Zeros added at each end (at most `kernelSize / 2`).
    public let padding: Int

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
}

/// 2-D average pooling: `[N, C, H, W] → [N, C, H′, W′]`, each output the sum of its `kH × kW`
/// window divided by kH·kW (zero padding counted); H′ = ⌊(H + 2pH − kH)/sH⌋ + 1, W′ likewise.
public final class AvgPool2D: Module, Layer {
    /// (kH, kW), the window size.
    public let kernelSize: (Int, Int)
    /// (height, width) step between windows (defaults to `kernelSize`).
    public let stride: (Int, Int)
    /// (height, width) zeros added on each side (at most half the window).
    public let padding: (Int, Int)

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
}

/// Flattens dimensions `startDim…endDim` into one, like `torch.nn.Flatten` (defaults 1 and −1:
/// `[N, d₁, d₂, …] → [N, d₁·d₂·…]`, e.g. between the convolutions and the linear head of a CNN).
public final class Flatten: Module, Layer {
    /// First dimension flattened (default 1: keep the batch dimension).
    public let startDim: Int
    /// Last dimension flattened (default −1: the last one).
    public let endDim: Int

    /// A flatten of dimensions `startDim…endDim`.
    public init(startDim: Int = 1, endDim: Int = -1) {
        self.startDim = startDim
        self.endDim = endDim
        super.init()
    }

    /// `[N, d₁, …, d_r] → [N, d₁·…·d_r]` (for the defaults); a view when the input is contiguous.
    public func callAsFunction(_ x: Tensor) -> Tensor { x.flattened(from: startDim, through: endDim) }
}
