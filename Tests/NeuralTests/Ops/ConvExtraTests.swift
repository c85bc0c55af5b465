import Neural
import Testing

// Grouped and depthwise convolutions, the convolutions' padding modes and transposed
// convolutions: PyTorch reference values (Scripts/fixtures/conv_extra.py) in Float64 and Float32,
// central-difference gradient checks in Float64, and the depthwise kernels' same bits at every
// kernel level and thread count.

/// Runs fixture case `c` in `dtype` through the layer it describes (`conv*d`: ``Conv1D``/``Conv2D``
/// with groups and padding mode, torch's nn.Conv*d) or the op (`convTranspose*d`), returning the
/// output and the gradients of Σ out ⊙ grad_out for x, the weight and the bias.
private func run(_ c: TorchFixture.Case, dtype: DType) -> (out: Tensor, grads: [Tensor]) {
    var x = c.tensor("x").to(dtype)
    x.requiresGrad = true
    let weight = c.tensor("weight").to(dtype), bias = c.bool("bias") ? c.tensor("bias").to(dtype) : nil
    // A single number stands for both sides of a 2-D window, as in torch.
    func both(_ key: String) -> [Int] { let v = c.ints(key); return v.count == 1 ? [v[0], v[0]] : v }
    let (s, p, d, groups) = (both("stride"), both("padding"), both("dilation"), c.int("groups"))
    let op = c.string("op")
    let out: Tensor, parameters: [Tensor]
    if op.hasPrefix("conv") && !op.hasPrefix("convTranspose") {
        let mode = c.string("padding_mode") == "zeros" ? PaddingMode.zeros : PaddingMode(rawValue: c.string("padding_mode"))!
        let (cin, cout) = (x.shape[1], weight.shape[0])
        if op == "conv1d" {
            let layer = Conv1D(cin, cout, kernelSize: weight.shape[2], stride: s[0], padding: p[0], dilation: d[0], groups: groups,
                               bias: bias != nil, paddingMode: mode, dtype: dtype)
            layer.weight.value = weight
            if let bias { layer.bias!.value = bias }
            out = layer(x)
            parameters = [layer.weight.value] + (layer.bias.map { [$0.value] } ?? [])
        } else {
            let layer = Conv2D(cin, cout, kernelSize: (weight.shape[2], weight.shape[3]), stride: (s[0], s[1]), padding: (p[0], p[1]),
                               dilation: (d[0], d[1]), groups: groups, bias: bias != nil, paddingMode: mode, dtype: dtype)
            layer.weight.value = weight
            if let bias { layer.bias!.value = bias }
            out = layer(x)
            parameters = [layer.weight.value] + (layer.bias.map { [$0.value] } ?? [])
        }
    } else {
        var w = weight, b = bias
        w.requiresGrad = true
        b?.requiresGrad = true
        let op_ = both("output_padding")
        out = op == "convTranspose1d"
            ? x.convTranspose1d(w, bias: b, stride: s[0], padding: p[0], outputPadding: op_[0], groups: groups, dilation: d[0])
            : x.convTranspose2d(w, bias: b, stride: (s[0], s[1]), padding: (p[0], p[1]), outputPadding: (op_[0], op_[1]),
                                groups: groups, dilation: (d[0], d[1]))
        parameters = [w] + (b.map { [$0] } ?? [])
    }
    (out * c.tensor("grad_out").to(dtype)).sum().backward()
    return (out, [x.grad!] + parameters.map { $0.grad! })
}

/// max |a − b| relative to the reference's scale (max(1, max |b|)).
private func scaledDifference(_ a: Tensor, _ b: Tensor) -> Double {
    let scale = Swift.max(1, b.scalars(as: Double.self).map(\.magnitude).max() ?? 0)
    return maxAbsDifference(a.to(.float64), b) / scale
}

@Suite("Grouped, depthwise, padding-mode and transposed convolutions")
struct ConvExtraTests {
    nonisolated(unsafe) static let fixture = TorchFixture.load("conv_extra")
    static var caseNames: [String] { fixture.cases.map(\.name) }

    @Test("forward and gradients match PyTorch in Float64 (≤ 1e-10 of scale) and Float32 (≤ 1e-5)", arguments: caseNames)
    func matchesTorch(_ name: String) {
        let c = Self.fixture.case(name)
        let references = ["grad_x", "grad_weight"] + (c.bool("bias") ? ["grad_bias"] : [])
        for (dtype, tolerance) in [(DType.float64, 1e-10), (.float32, 1e-5)] {
            let (out, grads) = run(c, dtype: dtype)
            #expect(out.shape == c.tensor("out").shape, "\(dtype)")
            #expect(scaledDifference(out, c.tensor("out")) <= tolerance, "\(name) \(dtype) output")
            for (g, key) in zip(grads, references) {
                #expect(g.shape == c.tensor(key).shape, "\(name) \(dtype) \(key)")
                #expect(scaledDifference(g, c.tensor(key)) <= tolerance, "\(name) \(dtype) \(key)")
            }
        }
    }

    /// Small Float64 cases for central differences (input, weight and bias gradients).
    @Test("grouped and depthwise convolutions: gradients match central differences (Float64)")
    func groupedGradients() {
        expectGradientsMatch({ $0[0].conv2d($0[1], bias: $0[2], padding: (1, 1), groups: 2) },
                             at: [seededUniform([2, 4, 4, 5], seed: 1), seededUniform([6, 2, 3, 3], seed: 2), seededUniform([6], seed: 3)])
        expectGradientsMatch({ $0[0].conv2d($0[1], bias: $0[2], stride: (2, 1), padding: (1, 0), dilation: (1, 2), groups: 3) },
                             at: [seededUniform([2, 3, 6, 6], seed: 4), seededUniform([6, 1, 2, 2], seed: 5), seededUniform([6], seed: 6)])
        expectGradientsMatch({ $0[0].conv1d($0[1], bias: $0[2], stride: 2, padding: 2, groups: 2) },
                             at: [seededUniform([2, 4, 9], seed: 7), seededUniform([4, 2, 3], seed: 8), seededUniform([4], seed: 9)])
    }

    /// Stride-1 convolutions with few output channels per group take ∂x as the convolution of v with
    /// the flipped filters (padding d·(k − 1) − p): dilation with no padding, odd padding per axis,
    /// the fused ReLU's mask, and 1-D.
    /// Only the input needs a gradient (frozen filters and bias): the backward returns one gradient
    /// per input all the same, and ∂x is the one computed when everything needs a gradient.
    @Test(arguments: [FusedActivation.identity, .relu])
    func inputGradientWithFrozenFiltersAndBias(_ activation: FusedActivation) throws {
        var x = seededUniform([2, 4, 6, 5], seed: 51, dtype: .float32)
        let w = seededUniform([6, 2, 3, 3], seed: 52, dtype: .float32), b = seededUniform([6], seed: 53, dtype: .float32)
        x.requiresGrad = true
        x.conv2d(w, bias: b, padding: (1, 1), groups: 2, activation: activation).sum().backward()
        let frozen = try #require(x.grad)
        var x2 = x.detached(), w2 = w, b2 = b
        x2.requiresGrad = true; w2.requiresGrad = true; b2.requiresGrad = true
        x2.conv2d(w2, bias: b2, padding: (1, 1), groups: 2, activation: activation).sum().backward()
        #expect(frozen.scalars(as: Float.self) == (try #require(x2.grad)).scalars(as: Float.self))
    }

    @Test("∂x as a convolution with the flipped filters: gradients match central differences (Float64)")
    func inputGradientAsFlippedConvolution() {
        expectGradientsMatch({ $0[0].conv2d($0[1], bias: $0[2], dilation: (2, 1), groups: 2) },
                             at: [seededUniform([2, 4, 7, 5], seed: 41), seededUniform([6, 2, 3, 2], seed: 42), seededUniform([6], seed: 43)])
        expectGradientsMatch({ $0[0].conv2d($0[1], bias: $0[2], padding: (0, 1), groups: 1, activation: .relu) },
                             at: [seededUniform([2, 3, 5, 6], seed: 44), seededUniform([4, 3, 2, 3], seed: 45),
                                  seededUniform([4], seed: 46)])
        expectGradientsMatch({ $0[0].conv1d($0[1], bias: $0[2], padding: 1, dilation: 2, groups: 2) },
                             at: [seededUniform([2, 4, 9], seed: 47), seededUniform([4, 2, 3], seed: 48), seededUniform([4], seed: 49)])
    }

    @Test("padding modes: gradients through the padded convolution match central differences (Float64)",
          arguments: [PaddingMode.reflect, .replicate, .circular])
    func paddingModeGradients(_ mode: PaddingMode) {
        let conv2 = Conv2D(2, 2, kernelSize: 3, padding: 2, paddingMode: mode, dtype: .float64, generator: RandomGenerator(seed: 10))
        expectGradientsMatch({ v in
            conv2.weight.value = v[1]
            conv2.bias!.value = v[2]
            return conv2(v[0])
        }, at: [seededUniform([1, 2, 4, 5], seed: 11), conv2.weight.value, conv2.bias!.value])
        let conv1 = Conv1D(2, 3, kernelSize: 3, padding: 1, groups: 1, paddingMode: mode, dtype: .float64,
                           generator: RandomGenerator(seed: 12))
        expectGradientsMatch({ v in
            conv1.weight.value = v[1]
            return conv1(v[0])
        }, at: [seededUniform([2, 2, 5], seed: 13), conv1.weight.value])
    }

    @Test("transposed convolutions: gradients match central differences (Float64)")
    func transposedGradients() {
        expectGradientsMatch({ $0[0].convTranspose2d($0[1], bias: $0[2], stride: (2, 2), padding: (1, 1), outputPadding: (1, 1)) },
                             at: [seededUniform([2, 3, 3, 3], seed: 14), seededUniform([3, 2, 3, 3], seed: 15), seededUniform([2], seed: 16)])
        expectGradientsMatch({ $0[0].convTranspose2d($0[1], bias: $0[2], stride: (1, 2), padding: (0, 1), groups: 2, dilation: (2, 1)) },
                             at: [seededUniform([1, 4, 3, 3], seed: 17), seededUniform([4, 1, 2, 3], seed: 18), seededUniform([2], seed: 19)])
        expectGradientsMatch({ $0[0].convTranspose2d($0[1], padding: (1, 1)) },   // stride 1: the implicit-im2col grid
                             at: [seededUniform([2, 2, 4, 4], seed: 20), seededUniform([2, 3, 3, 3], seed: 21)])
        expectGradientsMatch({ $0[0].convTranspose1d($0[1], bias: $0[2], stride: 3, padding: 1, outputPadding: 2, groups: 1) },
                             at: [seededUniform([2, 2, 4], seed: 22), seededUniform([2, 3, 4], seed: 23), seededUniform([3], seed: 24)])
    }

    @Test("a transposed convolution is the adjoint of the convolution: ⟨conv(y), x⟩ = ⟨y, convT(x)⟩")
    func transposeIsTheAdjoint() {
        let w = seededUniform([4, 3, 3, 2], seed: 25)   // conv: 3 → 4 channels; convT: 4 → 3
        let y = seededUniform([2, 3, 9, 8], seed: 26)
        let conv = y.conv2d(w, stride: (2, 3), padding: (1, 1), dilation: (1, 2))
        let x = seededUniform(conv.shape, seed: 27)
        // Width (3 − 1)·3 − 2 + 2·1 + 1 = 7 and output padding 1: 8 again (stride 3 maps widths 8, 9, 10 to 3).
        let back = x.convTranspose2d(w, stride: (2, 3), padding: (1, 1), outputPadding: (0, 1), dilation: (1, 2))
        #expect(back.shape == y.shape)
        let lhs = (conv * x).sum().item()
        let rhs = (y * back).sum().item()
        #expect(abs(lhs - rhs) <= 1e-12 * (1 + abs(lhs)))
    }

    @Test("layers: parameter shapes in torch's layouts, output shapes and summaries")
    func layerShapes() {
        let depthwise = Conv2D(8, 16, kernelSize: 3, padding: 1, groups: 8)
        #expect(depthwise.weight.shape == [16, 1, 3, 3] && depthwise.inChannels == 8 && depthwise.outChannels == 16)
        #expect(depthwise(Tensor.zeros([2, 8, 5, 5])).shape == [2, 16, 5, 5])
        let up = ConvTranspose2D(8, 4, kernelSize: 4, stride: 2, padding: 1)
        #expect(up.weight.shape == [8, 4, 4, 4] && up.bias!.shape == [4] && up.inChannels == 8 && up.outChannels == 4)
        #expect(up(Tensor.zeros([2, 8, 7, 7])).shape == [2, 4, 14, 14])
        #expect(up(Tensor.zeros([8, 7, 7])).shape == [4, 14, 14])
        let grouped = ConvTranspose1D(4, 6, kernelSize: 3, stride: 2, outputPadding: 1, groups: 2)
        #expect(grouped.weight.shape == [4, 3, 3])
        #expect(grouped(Tensor.zeros([1, 4, 5])).shape == [1, 6, 12])
        let reflect = Conv1D(2, 2, kernelSize: 3, paddingMode: .reflect)
        #expect(reflect(Tensor.zeros([1, 2, 6])).shape == [1, 2, 6])
    }
}

/// The bit patterns of `t` (Float32).
private func bits(_ t: Tensor) -> [UInt32] { t.scalars(as: Float.self).map(\.bitPattern) }

@Suite("Depthwise kernels: same bits")
struct DepthwiseBitsTests {
    /// (channels, multiplier, H, W, kernel, stride, padding, dilation) for odd widths, borders and
    /// strided rows (the portable loops at every level); widths 56 and 75 run the 3 × 3 forward's
    /// groups of four 16-column chunks (a whole group, a partial one).
    static let shapes: [[Int]] = [[4, 1, 13, 37, 3, 1, 1, 1], [3, 2, 9, 18, 5, 1, 2, 1], [2, 1, 11, 21, 3, 2, 1, 1],
                                  [3, 1, 8, 40, 3, 1, 2, 2], [2, 1, 6, 56, 3, 1, 1, 1], [2, 2, 5, 75, 3, 1, 0, 1]]

    /// Forward (with bias and fused ReLU) and all three gradients on 2 threads.
    static func pass(_ s: [Int]) -> [[UInt32]] {
        let (c, m, h, w, k, stride, pad, dil) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
        var x = Tensor.randn([3, c, h, w], generator: RandomGenerator(seed: 1))
        var weight = Tensor.randn([c * m, 1, k, k], generator: RandomGenerator(seed: 2))
        var b = Tensor.randn([c * m], generator: RandomGenerator(seed: 3))
        x.requiresGrad = true; weight.requiresGrad = true; b.requiresGrad = true
        let y = x.conv2d(weight, bias: b, stride: (stride, stride), padding: (pad, pad), dilation: (dil, dil), groups: c,
                         activation: .relu)
        (y * Tensor.randn(y.shape, generator: RandomGenerator(seed: 4))).sum().backward()
        return [bits(y), bits(x.grad!), bits(weight.grad!), bits(b.grad!)]
    }

    @Test("every kernel level and thread count gives the portable level's bits", arguments: shapes)
    func sameBits(_ shape: [Int]) {
        let reference = Runtime.withKernelLevelCap(.portable) { Runtime.withThreads(1) { Self.pass(shape) } }
        for level in KernelLevel.allCases where level <= Runtime.cpuKernelLevel {
            for threads in [1, 2, 3] {
                let got = Runtime.withKernelLevelCap(level) { Runtime.withThreads(threads) { Self.pass(shape) } }
                #expect(got == reference, "\(shape) at \(level) on \(threads) threads")
            }
        }
    }

    @Test("the Float32 depthwise kernels agree with the grouped GEMM path in Float64", arguments: shapes)
    func matchesGEMMPath(_ s: [Int]) {
        let (c, m, h, w, k, stride, pad, dil) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7])
        let x = Tensor.randn([2, c, h, w], dtype: .float64, generator: RandomGenerator(seed: 5))
        let weight = Tensor.randn([c * m, 1, k, k], dtype: .float64, generator: RandomGenerator(seed: 6))
        let reference = x.conv2d(weight, stride: (stride, stride), padding: (pad, pad), dilation: (dil, dil), groups: c)
        let got = x.to(.float32).conv2d(weight.to(.float32), stride: (stride, stride), padding: (pad, pad), dilation: (dil, dil),
                                        groups: c)
        #expect(maxAbsDifference(got.to(.float64), reference) <= 1e-5 * 10)
    }
}
