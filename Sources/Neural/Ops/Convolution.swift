/// Convolutions (§7.3, eq. 7.48–7.51) with PyTorch's semantics and layouts: cross-correlation,
/// inputs `[N, C, L]` / `[N, C, H, W]`, filters `[C′, C/G, k]` / `[C′, C/G, kH, kW]`, zero padding,
/// stride, dilation and G groups (channel blocks convolved separately; G = C is depthwise). Each sample is one GEMM over its im2col patch matrix; the backward
/// functions sit next to the forward:
///
/// - B[conv, x](v) = col2im(Wᵀ v) per sample (overlapping windows accumulate),
/// - B[conv, W](v) = Σₙ v[n] cols(x[n])ᵀ,
/// - B[conv, b](v) = v summed over the batch and the output positions.
extension Tensor {
    /// 1-D convolution (eq. 7.50): output channel i is Σⱼ Conv1D-S(wᵢⱼ, zⱼ) + bᵢ (eq. 7.48–7.49,
    /// generalised by stride, padding and dilation). Like `torch.nn.functional.conv1d`, it
    /// computes the cross-correlation
    /// `out[n, i, t] = b[i] + Σⱼ Σ_r w[i, j, r] · x[n, j, t·stride − padding + r·dilation]`,
    /// with x zero outside `0..<L`.
    ///
    /// - Parameters:
    ///   - weight: the filters, `[C′, C, k]`.
    ///   - bias: `[C′]`, or nil.
    ///   - stride: step between output positions, as in PyTorch.
    ///   - padding: zeros added at both ends. The notes' Conv1D-S with k = 2ℓ + 1 is `padding: ℓ`
    ///     (output length = input length).
    ///   - dilation: spacing between the filter's taps.
    ///   - groups: G, as in PyTorch: input channels j·C/G ..< (j+1)·C/G feed output channels
    ///     j·C′/G ..< (j+1)·C′/G only (the weight is `[C′, C/G, k]`); G = C is a depthwise convolution.
    /// - Returns: `[N, C′, L′]` with L′ = ⌊(L + 2·padding − dilation·(k − 1) − 1)/stride⌋ + 1, for
    ///   `self` of shape `[N, C, L]` (an unbatched `[C, L]` gives `[C′, L′]`).
    public func conv1d(_ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                       dilation: Int = 1, groups: Int = 1) -> Tensor {
        if rank == 2 {
            return unsqueezed(0).conv1d(weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                                        groups: groups).squeezed(0)
        }
        precondition(rank == 3, "Neural: conv1d needs an input of shape [N, C, L] (or [C, L]), got \(shape)")
        precondition(weight.rank == 3, "Neural: conv1d needs a weight of shape [C′, C/groups, k], got \(weight.shape)")
        Tensor.checkGroups(groups, op: "conv1d", input: shape, weight: weight.shape)
        let g = WindowGeometry(channels: shape[1], height: 1, width: shape[2], kernelH: 1, kernelW: weight.shape[2],
                               strideH: 1, strideW: stride, padH: 0, padW: padding, dilationH: 1, dilationW: dilation)
        Tensor.checkConvolution(g, op: "conv1d", input: shape, weight: weight.shape)
        return Tensor.convolution(self, weight, bias, geometry: g, outShape: [shape[0], weight.shape[0], g.outW], op: "conv1d",
                                  groups: groups)
    }

    /// 2-D convolution (eq. 7.51): output channel i is Σⱼ Conv2D-S(wᵢⱼ, zⱼ) + bᵢ, computed like
    /// `torch.nn.functional.conv2d` as the cross-correlation
    /// `out[n, i, y, x] = b[i] + Σⱼ Σ_{r,s} w[i, j, r, s] · in[n, j, y·sH − pH + r·dH, x·sW − pW + s·dW]`,
    /// with the input zero outside its `H × W` extent.
    ///
    /// - Parameters:
    ///   - weight: the filters, `[C′, C, kH, kW]` (C·C′·kH·kW parameters).
    ///   - bias: `[C′]`, or nil.
    ///   - stride: (height, width) steps between output positions, as in PyTorch.
    ///   - padding: (height, width) zeros added at both ends.
    ///   - dilation: (height, width) spacing between the filter's taps.
    ///   - groups: G, as in PyTorch: input channels j·C/G ..< (j+1)·C/G feed output channels
    ///     j·C′/G ..< (j+1)·C′/G only (the weight is `[C′, C/G, kH, kW]`); G = C is depthwise.
    ///   - activation: applied in the same pass as the bias (``FusedActivation/relu`` gives the
    ///     values of `conv2d(…).relu()` with one pass less forward and backward).
    /// - Returns: `[N, C′, H′, W′]` with H′ = ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1 (W′ likewise), for
    ///   `self` of shape `[N, C, H, W]` (an unbatched `[C, H, W]` gives `[C′, H′, W′]`).
    public func conv2d(_ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1),
                       padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1,
                       activation: FusedActivation = .identity) -> Tensor {
        if rank == 3 {
            return unsqueezed(0).conv2d(weight, bias: bias, stride: stride, padding: padding, dilation: dilation,
                                        groups: groups, activation: activation).squeezed(0)
        }
        precondition(rank == 4, "Neural: conv2d needs an input of shape [N, C, H, W] (or [C, H, W]), got \(shape)")
        precondition(weight.rank == 4, "Neural: conv2d needs a weight of shape [C′, C/groups, kH, kW], got \(weight.shape)")
        Tensor.checkGroups(groups, op: "conv2d", input: shape, weight: weight.shape)
        let g = WindowGeometry(channels: shape[1], height: shape[2], width: shape[3],
                               kernelH: weight.shape[2], kernelW: weight.shape[3],
                               strideH: stride.0, strideW: stride.1, padH: padding.0, padW: padding.1,
                               dilationH: dilation.0, dilationW: dilation.1)
        Tensor.checkConvolution(g, op: "conv2d", input: shape, weight: weight.shape)
        return Tensor.convolution(self, weight, bias, geometry: g, outShape: [shape[0], weight.shape[0], g.outH, g.outW],
                                  op: activation == .relu ? "conv2d+relu" : "conv2d", groups: groups, relu: activation == .relu)
    }

    /// Checks that `groups` divides both channel counts and that the weight's second dimension is
    /// C/groups, with messages that show both shapes.
    static func checkGroups(_ groups: Int, op: String, input: [Int], weight: [Int]) {
        precondition(groups > 0, "Neural: \(op) needs groups ≥ 1, got \(groups)")
        precondition(input[1] % groups == 0 && weight[0] % groups == 0,
                     "Neural: \(op) groups \(groups) must divide the input's \(input[1]) channels and the weight \(weight)'s \(weight[0]) output channels")
        precondition(input[1] == weight[1] * groups,
                     "Neural: \(op) input \(input) has \(input[1]) channels but the weight \(weight) with groups \(groups) expects \(weight[1] * groups)")
    }

    /// Validates strides, padding, dilation and sizes with messages that name the operation.
    static func checkConvolution(_ g: WindowGeometry, op: String, input: [Int], weight: [Int]) {
        precondition(g.strideH > 0 && g.strideW > 0, "Neural: \(op) needs a positive stride")
        precondition(g.dilationH > 0 && g.dilationW > 0, "Neural: \(op) needs a positive dilation")
        precondition(g.padH >= 0 && g.padW >= 0, "Neural: \(op) needs non-negative padding")
        precondition(g.kernelH > 0 && g.kernelW > 0 && g.channels > 0, "Neural: \(op) got an empty weight \(weight)")
        precondition(g.isValid,
                     "Neural: \(op) input \(input) (with padding) is smaller than the dilated kernel of weight \(weight)")
    }

    /// The shared forward and backward of ``conv1d(_:bias:stride:padding:dilation:groups:)`` and
    /// ``conv2d(_:bias:stride:padding:dilation:groups:activation:)``: `input` is `[N, C, …]`, `weight` `[C′, C, …]`,
    /// both read as contiguous buffers of the 2-D geometry `g`.
    static func convolution(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?, geometry g: WindowGeometry,
                            outShape: [Int], op: String, groups: Int = 1, relu: Bool = false) -> Tensor {
        let co = weight.shape[0], n = input.shape[0]
        precondition(input.dtype == weight.dtype && (bias == nil || bias!.dtype == input.dtype),
                     "Neural: \(op) dtypes differ (input \(input.dtype), weight \(weight.dtype)\(bias.map { ", bias \($0.dtype)" } ?? ""))")
        if let bias {
            precondition(bias.shape == [co], "Neural: \(op) bias must have shape [\(co)], got \(bias.shape)")
        }
        let x = input.detached().contiguous(), w = weight.detached().contiguous()
        let b = bias?.detached().contiguous()
        if DepthwiseKernels.applies(dtype: input.dtype, geometry: g, groups: groups, outChannels: co) {
            return depthwise(input, weight, bias, x: x, w: w, b: b, geometry: g, outShape: outShape, op: op, relu: relu)
        }
        // Stride-1 windows read their patches straight from the image (ImplicitIm2Col.swift).
        let grid = ImplicitIm2Col(g)
        let out = Tensor(uninitialized: outShape, dtype: input.dtype)
        func run<T: TensorScalar>(_: T.Type) {
            let bp = b.map { UnsafePointer($0.pointer(T.self)) }
            if let grid {
                ConvKernels.forward(T.self, x: x.pointer(T.self), w: w.pointer(T.self), b: bp, out: out.pointer(T.self),
                                    batch: n, outChannels: co, grid: grid, groups: groups, relu: relu)
            } else {
                ConvKernels.forward(T.self, x: x.pointer(T.self), w: w.pointer(T.self), b: bp, out: out.pointer(T.self),
                                    batch: n, outChannels: co, geometry: g, groups: groups, relu: relu)
            }
        }
        if out.count > 0 {
            withExtendedLifetime((x, w, b)) {
                switch input.dtype {
                case .float32: run(Float.self)
                case .float64: run(Double.self)
                case .int32, .int64: input.dtype.floatOnly("conv2d")
                }
            }
        }
        guard GradMode.enabled, input.node != nil || weight.node != nil || bias?.node != nil else { return out }
        let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
        let saved = relu ? out.detached() : nil
        return Tensor.record(out, op: op, inputs: inputs) { v0, needs in
            var v = v0.contiguous()
            // Through the fused ReLU first: v ⊙ 1{y > 0} (the grid path applies it while it lays v out).
            if let saved, grid == nil { v = ConvKernels.reluMask(v, output: saved) }
            // Shallow groups (few output channels per group) on stride-1 windows: ∂x as the forward
            // convolution of v with the flipped filters instead of Wᵀ·v (only C′/G deep) and a col2im.
            let flipped = needs[0] && grid != nil && v.count > 0 && co / groups <= 32 ? flippedGeometry(g, outChannels: co) : nil
            if flipped != nil, let saved { v = ConvKernels.reluMask(v, output: saved) }
            let dxConv = flipped.map {
                convolution(v, flippedFilters(w, groups: groups), nil, geometry: $0, outShape: x.shape, op: op, groups: groups)
            }
            let dx = needs[0] && dxConv == nil ? Tensor(uninitialized: x.shape, dtype: x.dtype) : nil
            let dw = needs[1] ? Tensor(uninitialized: w.shape, dtype: w.dtype) : nil
            let db = needs.count > 2 && needs[2] ? Tensor(uninitialized: [co], dtype: x.dtype) : nil
            func runBackward<T: TensorScalar>(_: T.Type) {
                if let grid {
                    ConvKernels.backward(T.self, x: x.pointer(T.self), w: w.pointer(T.self), v: v.pointer(T.self),
                                         reluOutput: flipped != nil ? nil : saved.map { UnsafePointer($0.pointer(T.self)) },
                                         dx: dx?.pointer(T.self), dw: dw?.pointer(T.self), db: db?.pointer(T.self),
                                         batch: n, outChannels: co, grid: grid, groups: groups)
                } else {
                    ConvKernels.backward(T.self, x: x.pointer(T.self), w: w.pointer(T.self), v: v.pointer(T.self),
                                         dx: dx?.pointer(T.self), dw: dw?.pointer(T.self), db: db?.pointer(T.self),
                                         batch: n, outChannels: co, geometry: g, groups: groups)
                }
            }
            if v.count > 0 {
                if dx == nil, dw == nil, db == nil { return Array([dxConv, nil, nil].prefix(needs.count)) }
                withExtendedLifetime((x, w, v, saved)) {
                    switch x.dtype {
                    case .float32: runBackward(Float.self)
                    case .float64: runBackward(Double.self)
                    case .int32, .int64: x.dtype.floatOnly("conv2d")
                    }
                }
            } else {
                // No output positions (an empty batch): every gradient is zero.
                return [dx.map { _ in Tensor.zeros(x.shape, dtype: x.dtype) }, dw.map { _ in Tensor.zeros(w.shape, dtype: w.dtype) },
                        db.map { _ in Tensor.zeros([co], dtype: x.dtype) }].prefix(needs.count).map { $0 }
            }
            return Array([dxConv ?? dx, dw, db].prefix(needs.count))
        }
    }

    /// The geometry of ∂x as a convolution of v (`[N, C′, Ho, Wo]`) when `g` has stride 1: the same
    /// window and dilation, padding d·(k − 1) − p, so that its output is the input's size; nil where
    /// that padding would be negative or the stride is not 1.
    static func flippedGeometry(_ g: WindowGeometry, outChannels co: Int) -> WindowGeometry? {
        let pH = g.dilationH * (g.kernelH - 1) - g.padH, pW = g.dilationW * (g.kernelW - 1) - g.padW
        guard g.strideH == 1, g.strideW == 1, pH >= 0, pW >= 0 else { return nil }
        return WindowGeometry(channels: co, height: g.outH, width: g.outW, kernelH: g.kernelH, kernelW: g.kernelW,
                              strideH: 1, strideW: 1, padH: pH, padW: pW, dilationH: g.dilationH, dilationW: g.dilationW)
    }

    /// W′[γ·C/G + c, o, i, j] = W[γ·C′/G + o, c, kH − 1 − i, kW − 1 − j]: the filters of ∂x as a
    /// convolution, `[C, C′/G, kH, kW]` (or `[C, C′/G, k]`) from `w` `[C′, C/G, kH, kW]` (`[C′, C/G, k]`).
    static func flippedFilters(_ w: Tensor, groups: Int) -> Tensor {
        let co = w.shape[0], cg = w.shape[1], kk = w.shape.dropFirst(2).reduce(1, *), cog = co / groups
        var shape = w.shape
        (shape[0], shape[1]) = (cg * groups, cog)
        let out = Tensor(uninitialized: shape, dtype: w.dtype)
        func flip<T: TensorScalar>(_: T.Type) {
            let src = w.pointer(T.self), dst = out.pointer(T.self)
            for gi in 0..<groups {
                for o in 0..<cog {
                    for c in 0..<cg {
                        let s = src + ((gi * cog + o) * cg + c) * kk, d = dst + ((gi * cg + c) * cog + o) * kk
                        for t in 0..<kk { d[t] = s[kk - 1 - t] }
                    }
                }
            }
        }
        withExtendedLifetime(w) {
            switch w.dtype {
            case .float32: flip(Float.self)
            case .float64: flip(Double.self)
            case .int32, .int64: w.dtype.floatOnly("conv2d")
            }
        }
        return out
    }

    /// ``convolution(_:_:_:geometry:outShape:op:groups:relu:)`` for a Float32 depthwise window
    /// (groups = input channels) on the direct kernels of ``DepthwiseKernels``.
    static func depthwise(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?, x: Tensor, w: Tensor, b: Tensor?,
                          geometry g: WindowGeometry, outShape: [Int], op: String, relu: Bool) -> Tensor {
        let co = weight.shape[0], n = input.shape[0]
        let out = Tensor(uninitialized: outShape, dtype: .float32)
        if out.count > 0 {
            withExtendedLifetime((x, w, b)) {
                DepthwiseKernels.forward(x: x.pointer(Float.self), w: w.pointer(Float.self), b: b.map { UnsafePointer($0.pointer(Float.self)) },
                                         out: out.pointer(Float.self), batch: n, outChannels: co, geometry: g, relu: relu)
            }
        }
        guard GradMode.enabled, input.node != nil || weight.node != nil || bias?.node != nil else { return out }
        let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
        let saved = relu ? out.detached() : nil
        return Tensor.record(out, op: op, inputs: inputs) { v0, needs in
            var v = v0.contiguous()
            if let saved { v = ConvKernels.reluMask(v, output: saved) }
            let dx = needs[0] ? Tensor(uninitialized: x.shape, dtype: .float32) : nil
            let dw = needs[1] ? Tensor.zeros(w.shape, dtype: .float32) : nil
            let db = needs.count > 2 && needs[2] ? Tensor.zeros([co], dtype: .float32) : nil
            // An empty batch: dx is empty, dW and db stay zero.
            if v.count > 0 {
                withExtendedLifetime((x, w, v)) {
                    DepthwiseKernels.backward(x: x.pointer(Float.self), w: w.pointer(Float.self), v: v.pointer(Float.self),
                                              dx: dx?.pointer(Float.self), dw: dw?.pointer(Float.self), db: db?.pointer(Float.self),
                                              batch: n, outChannels: co, geometry: g)
                }
            }
            return Array([dx, dw, db].prefix(needs.count))
        }
    }
}
