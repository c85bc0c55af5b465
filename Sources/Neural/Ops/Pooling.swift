/// Max and average pooling, 1-D and 2-D, with PyTorch's semantics (`max_pool1d/2d`,
/// `avg_pool1d/2d` with `ceil_mode=False`; average pooling counts the zero padding, PyTorch's
/// default `count_include_pad=True`). Channels are pooled independently. Backward functions:
///
/// - B[maxpool](v): each v routed to the position of its window's maximum (the first one on ties),
/// - B[avgpool](v): each v spread evenly, v/(kH·kW), over its window.
extension Tensor {
    /// 1-D max pooling: `[N, C, L] → [N, C, L′]` (or `[C, L] → [C, L′]`), out[n, c, t] = max over
    /// x[n, c, t·stride − padding + r·dilation], r < kernelSize, with
    /// L′ = ⌊(L + 2·padding − dilation·(kernelSize − 1) − 1)/stride⌋ + 1.
    ///
    /// - Parameters:
    ///   - kernelSize: the window length.
    ///   - stride: defaults to `kernelSize` (non-overlapping windows).
    ///   - padding: implicit −∞ at both ends, at most `kernelSize / 2`.
    ///   - dilation: spacing between a window's elements.
    public func maxPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1) -> Tensor {
        pool1d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation, max: true)
    }

    /// 1-D average pooling: `[N, C, L] → [N, C, L′]` (or `[C, L] → [C, L′]`), out[n, c, t] = the
    /// sum of x[n, c, t·stride − padding + r], r < kernelSize, divided by kernelSize (zero
    /// padding included), with L′ = ⌊(L + 2·padding − kernelSize)/stride⌋ + 1.
    ///
    /// - Parameters:
    ///   - kernelSize: the window length.
    ///   - stride: defaults to `kernelSize`.
    ///   - padding: zeros at both ends, at most `kernelSize / 2`.
    public func avgPool1d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        pool1d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: 1, max: false)
    }

    /// 2-D max pooling: `[N, C, H, W] → [N, C, H′, W′]` (or unbatched `[C, H, W]`), each output the
    /// maximum of its `kH × kW` window; H′ = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1, W′ likewise.
    ///
    /// - Parameters:
    ///   - kernelSize: (kH, kW).
    ///   - stride: defaults to `kernelSize`.
    ///   - padding: implicit −∞ on each side, at most half the kernel size.
    ///   - dilation: spacing of the window's taps.
    public func maxPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                          dilation: (Int, Int) = (1, 1)) -> Tensor {
        pool2d(kernelSize: kernelSize, stride: stride ?? kernelSize, padding: padding, dilation: dilation, max: true)
    }

    /// 2-D max pooling with a square `kernelSize × kernelSize` window (same stride, padding and
    /// dilation in both directions): `[N, C, H, W] → [N, C, H′, W′]`.
    public func maxPool2d(kernelSize: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1) -> Tensor {
        let s = stride ?? kernelSize
        return pool2d(kernelSize: (kernelSize, kernelSize), stride: (s, s), padding: (padding, padding),
                      dilation: (dilation, dilation), max: true)
    }

    /// 2-D average pooling: `[N, C, H, W] → [N, C, H′, W′]` (or unbatched `[C, H, W]`), each output
    /// the sum over its `kH × kW` window divided by kH·kW (zero padding included);
    /// H′ = ⌊(H + 2pH − kH)/sH⌋ + 1, W′ likewise.
    ///
    /// - Parameters:
    ///   - kernelSize: (kH, kW).
    ///   - stride: defaults to `kernelSize`.
    ///   - padding: zeros on each side, at most half the kernel size.
    public func avgPool2d(kernelSize: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0)) -> Tensor {
        pool2d(kernelSize: kernelSize, stride: stride ?? kernelSize, padding: padding, dilation: (1, 1), max: false)
    }

    /// 2-D average pooling with a square window: `[N, C, H, W] → [N, C, H′, W′]`.
    public func avgPool2d(kernelSize: Int, stride: Int? = nil, padding: Int = 0) -> Tensor {
        let s = stride ?? kernelSize
        return pool2d(kernelSize: (kernelSize, kernelSize), stride: (s, s), padding: (padding, padding),
                      dilation: (1, 1), max: false)
    }

    private func pool1d(kernelSize: Int, stride: Int?, padding: Int, dilation: Int, max: Bool) -> Tensor {
        let op = max ? "maxPool1d" : "avgPool1d"
        if rank == 2 {
            return unsqueezed(0).pool1d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation, max: max).squeezed(0)
        }
        precondition(rank == 3, "Neural: \(op) needs an input of shape [N, C, L] (or [C, L]), got \(shape)")
        let g = WindowGeometry(channels: 1, height: 1, width: shape[2], kernelH: 1, kernelW: kernelSize,
                               strideH: 1, strideW: stride ?? kernelSize, padH: 0, padW: padding,
                               dilationH: 1, dilationW: dilation)
        return Tensor.pooling(self, geometry: g, planes: shape[0] * shape[1], outShape: [shape[0], shape[1], g.outW],
                              max: max, op: op)
    }

    private func pool2d(kernelSize: (Int, Int), stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int),
                        max: Bool) -> Tensor {
        let op = max ? "maxPool2d" : "avgPool2d"
        if rank == 3 {
            return unsqueezed(0).pool2d(kernelSize: kernelSize, stride: stride, padding: padding, dilation: dilation, max: max).squeezed(0)
        }
        precondition(rank == 4, "Neural: \(op) needs an input of shape [N, C, H, W] (or [C, H, W]), got \(shape)")
        let g = WindowGeometry(channels: 1, height: shape[2], width: shape[3], kernelH: kernelSize.0, kernelW: kernelSize.1,
                               strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1,
                               dilationH: dilation.0, dilationW: dilation.1)
        return Tensor.pooling(self, geometry: g, planes: shape[0] * shape[1], outShape: [shape[0], shape[1], g.outH, g.outW],
                              max: max, op: op)
    }

    /// The shared forward and backward of the pooling operations over `planes` contiguous
    /// `[H, W]` planes of geometry `g`.
    private static func pooling(_ input: Tensor, geometry g: WindowGeometry, planes: Int, outShape: [Int],
                                max: Bool, op: String) -> Tensor {
        precondition(g.kernelH > 0 && g.kernelW > 0, "Neural: \(op) needs a positive kernel size")
        precondition(g.strideH > 0 && g.strideW > 0, "Neural: \(op) needs a positive stride")
        precondition(g.dilationH > 0 && g.dilationW > 0, "Neural: \(op) needs a positive dilation")
        precondition(g.padH >= 0 && g.padW >= 0 && 2 * g.padH <= g.kernelH && 2 * g.padW <= g.kernelW,
                     "Neural: \(op) padding must be between 0 and half the kernel size, got (\(g.padH), \(g.padW)) for kernel (\(g.kernelH), \(g.kernelW))")
        precondition(g.isValid, "Neural: \(op) input \(input.shape) (with padding) is smaller than the window")
        let x = input.detached().contiguous()
        let out = Tensor(uninitialized: outShape, dtype: input.dtype)
        let outCount = out.count
        // Positions of the maxima (within each plane), kept for the backward pass.
        let needsBackward = GradMode.enabled && input.node != nil
        var argmax: [Int32] = []
        if max && needsBackward {
            precondition(g.inSpatial <= Int(Int32.max), "Neural: \(op) plane too large")
            argmax = [Int32](repeating: -1, count: outCount)
        }
        if outCount > 0 {
            withExtendedLifetime(x) {
                argmax.withUnsafeMutableBufferPointer { am in
                    func forward<T: KernelScalar>(_: T.Type) {
                        if max {
                            PoolKernels.maxForward(T.self, x: x.pointer(T.self), out: out.pointer(T.self),
                                                   argmax: am.isEmpty ? nil : am.baseAddress, planes: planes, geometry: g)
                        } else {
                            PoolKernels.avgForward(T.self, x: x.pointer(T.self), out: out.pointer(T.self), planes: planes, geometry: g)
                        }
                    }
                    switch x.dtype {
                    case .float32: forward(Float.self)
                    case .float64: forward(Double.self)
                    case .int32, .int64: x.dtype.floatOnly("pooling")
                    }
                }
            }
        }
        guard needsBackward else { return out }
        let inShape = input.shape, dtype = input.dtype
        let indices = argmax
        return Tensor.record(out, op: op, input: input) { v0 in
            let v = v0.contiguous()
            let dx = Tensor(uninitialized: inShape, dtype: dtype)
            if dx.count == 0 { return dx }
            if outCount == 0 { return Tensor.zeros(inShape, dtype: dtype) }
            withExtendedLifetime(v) {
                indices.withUnsafeBufferPointer { am in
                    func backward<T: KernelScalar>(_: T.Type) {
                        if max {
                            PoolKernels.maxBackward(T.self, v: v.pointer(T.self), argmax: am.baseAddress!, dx: dx.pointer(T.self),
                                                    planes: planes, geometry: g)
                        } else {
                            PoolKernels.avgBackward(T.self, v: v.pointer(T.self), dx: dx.pointer(T.self), planes: planes, geometry: g)
                        }
                    }
                    switch dtype {
                    case .float32: backward(Float.self)
                    case .float64: backward(Double.self)
                    case .int32, .int64: dtype.floatOnly("pooling")
                    }
                }
            }
            return dx
        }
    }
}
