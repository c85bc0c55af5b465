/// Output shapes of the sliding-window layers (convolutions and pooling), computed by the kernels'
/// own ``WindowGeometry`` so that the layers, the model-spec planner and the kernels share one
/// formula: L′ = ⌊(L + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1 per spatial dimension.
enum SlidingWindow {
    /// The per-example output shape `[channels, L′]` for an input `[C, L]`, or `[channels, H′, W′]`
    /// for `[C, H, W]` (`kernel`, `stride`, `padding` and `dilation` as (height, width); a 1-D
    /// window uses the width). Nil when the window is larger than the padded input.
    static func outputShape(_ input: [Int], channels: Int, kernel: (Int, Int), stride: (Int, Int),
                            padding: (Int, Int), dilation: (Int, Int)) -> [Int]? {
        precondition(input.count == 2 || input.count == 3, "Neural: a sliding window needs a [C, L] or [C, H, W] input, got \(input)")
        let planar = input.count == 3
        let g = WindowGeometry(channels: input[0], height: planar ? input[1] : 1, width: input[input.count - 1],
                               kernelH: planar ? kernel.0 : 1, kernelW: kernel.1,
                               strideH: planar ? stride.0 : 1, strideW: stride.1,
                               padH: planar ? padding.0 : 0, padW: padding.1,
                               dilationH: planar ? dilation.0 : 1, dilationW: dilation.1)
        guard g.isValid else { return nil }
        return planar ? [channels, g.outH, g.outW] : [channels, g.outW]
    }
}
