import Neural
import Testing

// Conv1D, Conv2D, pooling layers and Flatten: the notes' equations (7.48–7.51) as tests,
// PyTorch's parameter names, layouts and initialisation, and gradient checks in train and eval mode.

@Suite("Convolution and pooling layers")
struct ConvolutionLayerTests {
    @Test("Conv1D-S on a vector equals multiplication by the banded m×m matrix Q (eq. 7.49)")
    func conv1dSEqualsBandedMatrixQ_eq7_49() {
        // Conv1D-S with filter w ∈ ℝᵏ, k = 2ℓ + 1, zero padding ℓ: Q[i, j] = w[j − i + ℓ] for |i − j| ≤ ℓ.
        for (k, m) in [(3, 7), (5, 11), (1, 4), (7, 7)] {
            let ell = (k - 1) / 2
            let conv = Conv1D(1, 1, kernelSize: k, bias: false, dtype: .float64, generator: RandomGenerator(seed: UInt64(k)))
            #expect(conv.padding == ell)
            let w = conv.weight.value.scalars(as: Double.self)
            var q = [Double](repeating: 0, count: m * m)
            for i in 0..<m {
                for j in 0..<m where abs(i - j) <= ell { q[i * m + j] = w[j - i + ell] }
            }
            let qMatrix = Tensor(q, shape: [m, m], dtype: .float64)
            let z = seededUniform([m], seed: 100 + UInt64(k))
            let conv1dS = conv(z.reshaped([1, 1, m])).reshaped([m])          // output length m (same padding)
            let banded = qMatrix.matmul(z)
            #expect(conv1dS.shape == [m])
            #expect(maxAbsDifference(conv1dS, banded) <= 1e-14)
            // O(km) work, k parameters: Q has at most k nonzeros per row.
            #expect(q.filter { $0 != 0 }.count <= k * m)
            #expect(conv.parameterCount == k)
        }
    }

    @Test("Conv1D with C → C′ channels has k·C·C′ weights (+ C′ biases) (eq. 7.50)")
    func conv1dParameterCountIsKCCprime_eq7_50() {
        for (c, cp, k) in [(1, 1, 3), (3, 5, 3), (4, 2, 5), (2, 6, 4)] {
            let withBias = Conv1D(c, cp, kernelSize: k, padding: k % 2 == 0 ? 1 : nil)
            let noBias = Conv1D(c, cp, kernelSize: k, padding: k % 2 == 0 ? 1 : nil, bias: false)
            #expect(noBias.parameterCount == k * c * cp)
            #expect(withBias.parameterCount == k * c * cp + cp)
            #expect(withBias.weight.shape == [cp, c, k])
            #expect(withBias.bias?.shape == [cp])
        }
    }

    @Test("Conv1D output channel i is Σⱼ Conv1D-S(wᵢⱼ, zⱼ) + bᵢ (eq. 7.50)")
    func conv1dIsSumOfSingleChannelConvolutions() {
        let conv = Conv1D(3, 2, kernelSize: 5, dtype: .float64, generator: RandomGenerator(seed: 7))
        let z = seededUniform([1, 3, 12], seed: 8)
        let out = conv(z)
        #expect(out.shape == [1, 2, 12])
        for i in 0..<2 {
            var acc = Tensor.full([12], conv.bias!.value.item(at: [i]), dtype: .float64)
            for j in 0..<3 {
                let wij = conv.weight.value.detached().reshaped([2, 3, 5]).scalars(as: Double.self)[(i * 3 + j) * 5..<(i * 3 + j + 1) * 5]
                let filter = Tensor(Array(wij), shape: [1, 1, 5], dtype: .float64)
                let zj = Tensor(Array(z.scalars(as: Double.self)[j * 12..<(j + 1) * 12]), shape: [1, 1, 12], dtype: .float64)
                acc = acc + zj.conv1d(filter, padding: 2).reshaped([12])
            }
            let row = Tensor(Array(out.scalars(as: Double.self)[i * 12..<(i + 1) * 12]), shape: [12], dtype: .float64)
            #expect(maxAbsDifference(row, acc) <= 1e-13)
        }
    }

    @Test("Conv2D with k×k filters has C·C′·k² weights (+ C′ biases) (eq. 7.51)")
    func conv2dParameterCountIsCCprimeK2_eq7_51() {
        for (c, cp, k) in [(1, 32, 3), (32, 64, 3), (3, 8, 5), (2, 2, 1)] {
            let conv = Conv2D(c, cp, kernelSize: k)
            #expect(Conv2D(c, cp, kernelSize: k, bias: false).parameterCount == c * cp * k * k)
            #expect(conv.parameterCount == c * cp * k * k + cp)
            #expect(conv.weight.shape == [cp, c, k, k])
        }
        #expect(Conv2D(3, 4, kernelSize: (2, 5)).weight.shape == [4, 3, 2, 5])
    }

    @Test("parameter names and layouts equal PyTorch's state_dict for a small CNN")
    func stateDictNamesMatchTorch() {
        let model = Sequential(Conv2D(1, 4, kernelSize: 3), ReLU(), MaxPool2D(kernelSize: 2),
                               Conv2D(4, 8, kernelSize: 3, padding: 1), AvgPool2D(kernelSize: 2), Flatten(),
                               Linear(8 * 3 * 3, 10))
        let named = model.namedParameters()
        #expect(named.map(\.name) == ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias"])
        #expect(named.map(\.parameter.shape) == [[4, 1, 3, 3], [4], [8, 4, 3, 3], [8], [10, 72], [10]])
        let y = model(seededUniform([2, 1, 14, 14], seed: 3, dtype: .float32))
        #expect(y.shape == [2, 10])
        let c1 = Sequential(Conv1D(2, 3, kernelSize: 3), MaxPool1D(kernelSize: 2), AvgPool1D(kernelSize: 2))
        #expect(c1.namedParameters().map(\.name) == ["0.weight", "0.bias"])
        #expect(c1(seededUniform([5, 2, 12], seed: 4, dtype: .float32)).shape == [5, 3, 3])
    }

    @Test("initialisation: uniform in ±1/√(C·k·k) (kaiming-uniform a = √5), seeded and reproducible")
    func defaultInitialisation() {
        let conv = Conv2D(8, 16, kernelSize: 3, generator: RandomGenerator(seed: 1))
        let bound = 1 / Double(8 * 9).squareRoot()
        let w = conv.weight.value.scalars(as: Double.self), b = conv.bias!.value.scalars(as: Double.self)
        #expect(w.allSatisfy { abs($0) <= bound } && b.allSatisfy { abs($0) <= bound })
        #expect(w.max()! > 0.9 * bound && w.min()! < -0.9 * bound)     // fills the interval
        let again = Conv2D(8, 16, kernelSize: 3, generator: RandomGenerator(seed: 1))
        expectBitIdentical(conv.weight.value, again.weight.value)
        expectBitIdentical(conv.bias!.value, again.bias!.value)
        let c1 = Conv1D(4, 2, kernelSize: 5, generator: RandomGenerator(seed: 2))
        let bound1 = 1 / Double(4 * 5).squareRoot()
        #expect(c1.weight.value.scalars(as: Double.self).allSatisfy { abs($0) <= bound1 })
        #expect(conv.weight.value.dtype == .float32)
        #expect(Conv1D(1, 1, kernelSize: 3, dtype: .float64).weight.value.dtype == .float64)
    }

    @Test("Conv1D's default padding keeps the length (k = 2ℓ + 1, also with dilation); explicit padding for even k")
    func conv1dDefaultPadding() {
        let x = seededUniform([2, 3, 10], seed: 5, dtype: .float32)
        for k in [1, 3, 5, 7] {
            #expect(Conv1D(3, 4, kernelSize: k)(x).shape == [2, 4, 10])
            #expect(Conv1D(3, 4, kernelSize: k, dilation: 2)(x).shape == [2, 4, 10])
        }
        #expect(Conv1D(3, 4, kernelSize: 4, padding: 0)(x).shape == [2, 4, 7])
        #expect(Conv1D(3, 4, kernelSize: 3, stride: 2)(x).shape == [2, 4, 5])
        #expect(Conv2D(3, 4, kernelSize: 3)(seededUniform([1, 3, 8, 9], seed: 6, dtype: .float32)).shape == [1, 4, 6, 7])
    }

    @Test("Conv1D gradients (input, weight, bias) in train and eval mode", arguments: [true, false])
    func conv1dLayerGradients(_ training: Bool) {
        let conv = Conv1D(2, 3, kernelSize: 3, stride: 2, dilation: 2, dtype: .float64, generator: RandomGenerator(seed: 9))
        conv.train(training)
        expectGradientsMatch({ v in
            conv.weight.value = v[1]
            conv.bias!.value = v[2]
            return conv(v[0])
        }, at: [seededUniform([2, 2, 11], seed: 10), conv.weight.value, conv.bias!.value])
    }

    @Test("Conv2D gradients (input, weight, bias) in train and eval mode", arguments: [true, false])
    func conv2dLayerGradients(_ training: Bool) {
        let conv = Conv2D(2, 3, kernelSize: (3, 2), stride: (2, 1), padding: (1, 1), dilation: (1, 2),
                          dtype: .float64, generator: RandomGenerator(seed: 11))
        conv.train(training)
        expectGradientsMatch({ v in
            conv.weight.value = v[1]
            conv.bias!.value = v[2]
            return conv(v[0])
        }, at: [seededUniform([2, 2, 6, 5], seed: 12), conv.weight.value, conv.bias!.value])
    }

    @Test("pooling layers and Flatten: gradients in train and eval mode", arguments: [true, false])
    func poolingLayerGradients(_ training: Bool) {
        let x2 = tieFree([2, 2, 6, 6], seed: 13), x1 = tieFree([2, 3, 9], seed: 14)
        let layers2: [any Layer] = [MaxPool2D(kernelSize: 2), MaxPool2D(kernelSize: (3, 2), stride: (1, 2), padding: (1, 1)),
                                    AvgPool2D(kernelSize: 3, stride: 2, padding: 1), Flatten(), Flatten(startDim: 2)]
        for layer in layers2 {
            layer.train(training)
            expectGradientsMatch({ v in layer(v[0]) }, at: [x2])
        }
        let layers1: [any Layer] = [MaxPool1D(kernelSize: 2), MaxPool1D(kernelSize: 3, stride: 2, padding: 1),
                                    AvgPool1D(kernelSize: 3, stride: 1, padding: 1)]
        for layer in layers1 {
            layer.train(training)
            expectGradientsMatch({ v in layer(v[0]) }, at: [x1])
        }
    }

    @Test("pooling layers default the stride to the kernel size; Flatten flattens dims 1…")
    func poolingShapes() {
        let x = seededUniform([2, 3, 8, 6], seed: 15, dtype: .float32)
        #expect(MaxPool2D(kernelSize: 2)(x).shape == [2, 3, 4, 3])
        #expect(AvgPool2D(kernelSize: (4, 3))(x).shape == [2, 3, 2, 2])
        #expect(MaxPool2D(kernelSize: 3, stride: 1, padding: 1)(x).shape == [2, 3, 8, 6])
        #expect(MaxPool1D(kernelSize: 3)(seededUniform([2, 3, 10], seed: 16, dtype: .float32)).shape == [2, 3, 3])
        #expect(AvgPool1D(kernelSize: 2, stride: 1)(seededUniform([2, 3, 10], seed: 16, dtype: .float32)).shape == [2, 3, 9])
        #expect(Flatten()(x).shape == [2, 144])
        #expect(Flatten(startDim: 2)(x).shape == [2, 3, 48])
        #expect(Flatten(startDim: 0, endDim: 1)(x).shape == [6, 8, 6])
        #expect(MaxPool2D(kernelSize: 2).parameterCount == 0 && Flatten().parameterCount == 0)
    }

    @Test("a small CNN trains: conv → relu → pool → flatten → linear reduces the loss")
    func smallCNNLearns() {
        let g = RandomGenerator(seed: 21)
        let model = Sequential(Conv2D(1, 4, kernelSize: 3, padding: 1, generator: g), ReLU(), MaxPool2D(kernelSize: 2),
                               Flatten(), Linear(4 * 4 * 4, 2, generator: g))
        // Two classes: a bright top half or a bright bottom half.
        let n = 16
        var values: [Double] = []
        for i in 0..<n {
            for r in 0..<8 { for _ in 0..<8 { values.append((r < 4) == (i % 2 == 0) ? 1 : 0) } }
        }
        let x = Tensor(values, shape: [n, 1, 8, 8])
        let labels = (0..<n).map { $0 % 2 }
        func loss() -> Tensor { -model(x).logSoftmax(axis: 1).gather(labels).mean() }
        let first = loss().item()
        for _ in 0..<30 {
            model.zeroGrad()
            loss().backward()
            for p in model.parameters { p.value = p.value.detached() - 0.5 * p.grad! }
        }
        #expect(loss().item() < 0.5 * first)
    }

    @Test func slidingWindowLayersPredictTheShapesTheyCompute() {
        // (layer, per-example input shape): strides, paddings, dilations and windows that don't tile the input.
        let cases: [(any Layer, [Int])] = [
            (Conv1D(2, 3, kernelSize: 3, stride: 2, padding: 0, dilation: 2), [2, 11]),
            (Conv1D(2, 3, kernelSize: 5), [2, 7]),
            (Conv2D(3, 4, kernelSize: (3, 2), stride: (2, 1), padding: (1, 0), dilation: (1, 2)), [3, 9, 8]),
            (MaxPool1D(kernelSize: 3, stride: 2, padding: 1, dilation: 2), [2, 10]),
            (MaxPool2D(kernelSize: 3, stride: 2, padding: 1), [2, 7, 9]),
            (AvgPool1D(kernelSize: 2, stride: 3), [1, 8]),
            (AvgPool2D(kernelSize: (2, 3), stride: (1, 2), padding: (1, 1)), [2, 5, 6]),
        ]
        for (layer, input) in cases {
            let measured = Array(layer(Tensor.zeros([2] + input)).shape.dropFirst())
            let predicted: [Int]? = switch layer {
            case let l as Conv1D: l.outputShape(for: input)
            case let l as Conv2D: l.outputShape(for: input)
            case let l as MaxPool1D: l.outputShape(for: input)
            case let l as MaxPool2D: l.outputShape(for: input)
            case let l as AvgPool1D: l.outputShape(for: input)
            case let l as AvgPool2D: l.outputShape(for: input)
            default: nil
            }
            #expect(predicted == measured, "\(type(of: layer)) on \(input)")
        }
        // A window larger than the padded input has no output shape.
        #expect(Conv2D(1, 1, kernelSize: 5).outputShape(for: [1, 4, 4]) == nil)
        #expect(MaxPool1D(kernelSize: 4).outputShape(for: [1, 3]) == nil)
    }
}

