/// Transposed convolutions (`torch.nn.functional.conv_transpose1d/2d`): the adjoint of a
/// convolution with respect to its input, used to upsample (decoders, autoencoders). With
/// `conv` the convolution from C_out channels on the output's `[H_out, W_out]` grid to C_in
/// channels on the input's `[H, W]` grid, under the same weight, stride, padding, dilation and
/// groups, `convTranspose2d(x, W) = convᵀ(x)`, and the three products swap roles:
///
/// - forward: out[n] = col2im(Wᵀ x[n]) + b (the convolution's ∂J/∂input),
/// - B[convT, x](v) = conv(v, W) (the convolution's forward),
/// - B[convT, W](v) = Σₙ x[n] cols(v[n])ᵀ (the convolution's ∂J/∂W with input v and gradient x),
/// - B[convT, b](v) = v summed over the batch and the output positions.
///
/// So they run on the convolution's kernels (``ConvKernels``), implicit im2col included.
extension Tensor {
    /// 1-D transposed convolution, like `torch.nn.functional.conv_transpose1d`:
    /// `out[n, o, t] = b[o] + Σ_i Σ_r w[i, o, r] · x[n, i, s]` over the pairs with
    /// `t = s·stride − padding + r·dilation` (input channel i in o's group).
    ///
    /// - Parameters:
    ///   - weight: `[C_in, C_out/groups, k]`, PyTorch's layout for transposed convolutions.
    ///   - bias: `[C_out]`, or nil.
    ///   - stride: the output step per input position (the upsampling factor).
    ///   - padding: `dilation·(k − 1) − padding` zeros are implicitly added to both sides; the
    ///     output loses `padding` positions at each end.
    ///   - outputPadding: positions added at the end of the output (0 ≤ outputPadding < stride),
    ///     which picks among the output lengths a strided convolution maps to the same input length.
    ///   - groups: G: input channels j·C_in/G ..< (j+1)·C_in/G feed output channels j·C_out/G ..< (j+1)·C_out/G.
    ///   - dilation: spacing between the filter's taps.
    /// - Returns: `[N, C_out, L_out]` with L_out = (L − 1)·stride − 2·padding + dilation·(k − 1) +
    ///   outputPadding + 1, for `self` of shape `[N, C_in, L]` (unbatched `[C_in, L]` gives `[C_out, L_out]`).
    public func convTranspose1d(_ weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0,
                                outputPadding: Int = 0, groups: Int = 1, dilation: Int = 1) -> Tensor {
        if rank == 2 {
            return unsqueezed(0).convTranspose1d(weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                                                 groups: groups, dilation: dilation).squeezed(0)
        }
        precondition(rank == 3, "Neural: convTranspose1d needs an input of shape [N, C_in, L] (or [C_in, L]), got \(shape)")
        precondition(weight.rank == 3, "Neural: convTranspose1d needs a weight of shape [C_in, C_out/groups, k], got \(weight.shape)")
        let length = Tensor.transposedLength(shape[2], kernel: weight.shape[2], stride: stride, padding: padding,
                                             outputPadding: outputPadding, dilation: dilation, op: "convTranspose1d")
        let g = WindowGeometry(channels: weight.shape[1] * groups, height: 1, width: length, kernelH: 1, kernelW: weight.shape[2],
                               strideH: 1, strideW: stride, padH: 0, padW: padding, dilationH: 1, dilationW: dilation)
        return Tensor.transposedConvolution(self, weight, bias, geometry: g, groups: groups,
                                            outShape: [shape[0], g.channels, length], op: "convTranspose1d")
    }

    /// 2-D transposed convolution, like `torch.nn.functional.conv_transpose2d`: the adjoint of
    /// ``conv2d(_:bias:stride:padding:dilation:groups:activation:)`` with respect to its input, plus a bias.
    /// Each input position scatters its C_in values, weighted by the `kH × kW` filters, into the
    /// output window at `(y·sH − pH, x·sW − pW)`; overlapping windows add up.
    ///
    /// - Parameters:
    ///   - weight: `[C_in, C_out/groups, kH, kW]`, PyTorch's layout for transposed convolutions.
    ///   - bias: `[C_out]`, or nil.
    ///   - stride: (height, width) output steps per input position.
    ///   - padding: (height, width) positions dropped at each end of the output.
    ///   - outputPadding: (height, width) positions added at the far end (each < its stride).
    ///   - groups: G, as in ``convTranspose1d(_:bias:stride:padding:outputPadding:groups:dilation:)``.
    ///   - dilation: (height, width) spacing between the filter's taps.
    /// - Returns: `[N, C_out, H_out, W_out]` with H_out = (H − 1)·sH − 2pH + dH·(kH − 1) + opH + 1
    ///   (W_out likewise), for `self` of shape `[N, C_in, H, W]` (unbatched `[C_in, H, W]` gives `[C_out, H_out, W_out]`).
    public func convTranspose2d(_ weight: Tensor, bias: Tensor? = nil, stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0),
                                outputPadding: (Int, Int) = (0, 0), groups: Int = 1, dilation: (Int, Int) = (1, 1)) -> Tensor {
        if rank == 3 {
            return unsqueezed(0).convTranspose2d(weight, bias: bias, stride: stride, padding: padding, outputPadding: outputPadding,
                                                 groups: groups, dilation: dilation).squeezed(0)
        }
        precondition(rank == 4, "Neural: convTranspose2d needs an input of shape [N, C_in, H, W] (or [C_in, H, W]), got \(shape)")
        precondition(weight.rank == 4, "Neural: convTranspose2d needs a weight of shape [C_in, C_out/groups, kH, kW], got \(weight.shape)")
        let height = Tensor.transposedLength(shape[2], kernel: weight.shape[2], stride: stride.0, padding: padding.0,
                                             outputPadding: outputPadding.0, dilation: dilation.0, op: "convTranspose2d")
        let width = Tensor.transposedLength(shape[3], kernel: weight.shape[3], stride: stride.1, padding: padding.1,
                                            outputPadding: outputPadding.1, dilation: dilation.1, op: "convTranspose2d")
        let g = WindowGeometry(channels: weight.shape[1] * groups, height: height, width: width,
                               kernelH: weight.shape[2], kernelW: weight.shape[3], strideH: stride.0, strideW: stride.1,
                               padH: padding.0, padW: padding.1, dilationH: dilation.0, dilationW: dilation.1)
        return Tensor.transposedConvolution(self, weight, bias, geometry: g, groups: groups,
                                            outShape: [shape[0], g.channels, height, width], op: "convTranspose2d")
    }

    /// The output length (L − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1, after
    /// checking the arguments with messages that name `op`.
    static func transposedLength(_ length: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int,
                                 dilation: Int, op: String) -> Int {
        precondition(stride > 0 && dilation > 0 && kernel > 0, "Neural: \(op) needs a positive stride, dilation and kernel size")
        precondition(padding >= 0, "Neural: \(op) needs non-negative padding, got \(padding)")
        precondition(outputPadding >= 0 && outputPadding < stride,
                     "Neural: \(op) needs 0 ≤ outputPadding < stride, got outputPadding \(outputPadding) with stride \(stride)")
        let out = (length - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
        precondition(out > 0, "Neural: \(op) output length (\(length) − 1)·\(stride) − 2·\(padding) + \(dilation)·(\(kernel) − 1) + \(outputPadding) + 1 = \(out) is not positive")
        return out
    }

    /// The shared forward and backward of the transposed convolutions: `input` `[N, C_in, …]` is
    /// the gradient of the convolution `g` (C_out = `g.channels` channels on the output grid →
    /// C_in channels on the input grid) with weight `[C_in, C_out/G, …]`.
    static func transposedConvolution(_ input: Tensor, _ weight: Tensor, _ bias: Tensor?, geometry g: WindowGeometry,
                                      groups: Int, outShape: [Int], op: String) -> Tensor {
        let cin = weight.shape[0], cout = g.channels, n = input.shape[0]
        precondition(groups > 0 && cin % groups == 0,
                     "Neural: \(op) groups \(groups) must divide the weight \(weight.shape)'s \(cin) input channels")
        precondition(input.shape[1] == cin,
                     "Neural: \(op) input \(input.shape) has \(input.shape[1]) channels but the weight \(weight.shape) expects \(cin)")
        precondition(input.dtype == weight.dtype && (bias == nil || bias!.dtype == input.dtype),
                     "Neural: \(op) dtypes differ (input \(input.dtype), weight \(weight.dtype)\(bias.map { ", bias \($0.dtype)" } ?? ""))")
        if let bias { precondition(bias.shape == [cout], "Neural: \(op) bias must have shape [\(cout)], got \(bias.shape)") }
        precondition(g.outH == (input.rank == 4 ? input.shape[2] : 1) && g.outW == input.shape[input.rank - 1],
                     "Neural: \(op) geometry does not invert for input \(input.shape) and weight \(weight.shape)")
        let x = input.detached().contiguous(), w = weight.detached().contiguous()
        let b = bias?.detached().contiguous()
        let grid = ImplicitIm2Col(g)
        // Strided windows whose kernel is a multiple of the stride: sH·sW stride-1 convolutions (no col2im).
        let subpixel = SubpixelConvTranspose(g, inChannels: cin, groups: groups)
        let out = Tensor(uninitialized: outShape, dtype: input.dtype)
        let outPlane = g.inSpatial
        func run<T: TensorScalar>(_: T.Type) {
            let xp = x.pointer(T.self), wp = w.pointer(T.self), op = out.pointer(T.self)
            if let subpixel {
                subpixel.forward(T.self, x: xp, w: wp, b: b.map { UnsafePointer($0.pointer(T.self)) }, out: op, batch: n)
                return
            }
            if let grid {
                ConvKernels.backward(T.self, x: xp, w: wp, v: xp, reluOutput: nil, dx: op, dw: nil, db: nil,
                                     batch: n, outChannels: cin, grid: grid, groups: groups)
            } else {
                ConvKernels.backward(T.self, x: xp, w: wp, v: xp, dx: op, dw: nil, db: nil, batch: n, outChannels: cin,
                                     geometry: g, groups: groups)
            }
            if let b {
                let bp = UnsafePointer(b.pointer(T.self))
                for s in 0..<n { ConvKernels.biasActivation(op + s * cout * outPlane, bp, rows: cout, cols: outPlane, relu: false) }
            }
        }
        // An empty batch has nothing to compute (every other size is positive here).
        if out.count > 0 {
            withExtendedLifetime((x, w, b)) {
                switch input.dtype {
                case .float32: run(Float.self)
                case .float64: run(Double.self)
                case .int32, .int64: input.dtype.floatOnly(op)
                }
            }
        }
        guard GradMode.enabled, input.node != nil || weight.node != nil || bias?.node != nil else { return out }
        let inputs = bias.map { [input, weight, $0] } ?? [input, weight]
        return Tensor.record(out, op: op, inputs: inputs) { v0, needs in
            let v = v0.contiguous()
            let dx = needs[0] ? Tensor(uninitialized: x.shape, dtype: x.dtype) : nil
            let dw = needs[1] ? Tensor.zeros(w.shape, dtype: w.dtype) : nil
            let db = needs.count > 2 && needs[2] ? Tensor.zeros([cout], dtype: x.dtype) : nil
            func runBackward<T: TensorScalar>(_: T.Type) {
                let vp = v.pointer(T.self), xp = x.pointer(T.self), wp = w.pointer(T.self)
                if let subpixel {
                    subpixel.backward(T.self, x: xp, w: wp, v: vp, dx: dx?.pointer(T.self), dw: dw?.pointer(T.self),
                                      db: db?.pointer(T.self), batch: n)
                    return
                }
                // ∂J/∂x = conv(v, W) and ∂J/∂W = Σₙ x[n] cols(v[n])ᵀ: the convolution's forward and weight gradient.
                if let dx {
                    if let grid {
                        ConvKernels.forward(T.self, x: vp, w: wp, b: nil, out: dx.pointer(T.self), batch: n, outChannels: cin,
                                            grid: grid, groups: groups, relu: false)
                    } else {
                        ConvKernels.forward(T.self, x: vp, w: wp, b: nil, out: dx.pointer(T.self), batch: n, outChannels: cin,
                                            geometry: g, groups: groups)
                    }
                }
                if let dw {
                    if let grid {
                        ConvKernels.backward(T.self, x: vp, w: wp, v: xp, reluOutput: nil, dx: nil, dw: dw.pointer(T.self), db: nil,
                                             batch: n, outChannels: cin, grid: grid, groups: groups)
                    } else {
                        ConvKernels.backward(T.self, x: vp, w: wp, v: xp, dx: nil, dw: dw.pointer(T.self), db: nil,
                                             batch: n, outChannels: cin, geometry: g, groups: groups)
                    }
                }
                if let db {
                    let dbp = db.pointer(T.self)
                    for s in 0..<n { ConvKernels.rowSumAdd(dbp, vp + s * cout * outPlane, rows: cout, cols: outPlane) }
                }
            }
            // An empty batch: dx is empty, dW and db stay zero.
            if v.count > 0 {
                withExtendedLifetime((x, w, v)) {
                    switch x.dtype {
                    case .float32: runBackward(Float.self)
                    case .float64: runBackward(Double.self)
                    case .int32, .int64: x.dtype.floatOnly(op)
                    }
                }
            }
            return Array([dx, dw, db].prefix(needs.count))
        }
    }
}
