import CNeuralKernels
import Foundation
import Testing
import Neural

// The layer loops and LayerNorm shapes that have vector bodies at every level (nn_template.h,
// norm_template.h): each called at every level this machine has, on odd sizes (masked tails),
// with NaN, ±0 and ±inf among the inputs, and compared bit for bit with the portable level.

/// Float32 bit patterns.
private func levelBits(_ t: Tensor) -> [UInt32] { t.scalars(as: Float.self).map(\.bitPattern) }
private func levelBits(_ a: [Float]) -> [UInt32] { a.map(\.bitPattern) }

/// n values of a smooth signal with NaN, ±0 and ±inf planted at fixed places.
private func specialValues(_ n: Int, phase: Double = 0) -> [Float] {
    var x = (0..<n).map { Float(sin(Double($0) * 0.37 + phase) * 3) }
    for (i, v) in [(3, Float.nan), (5, -0.0), (7, .infinity), (11, -.infinity), (n - 2, .nan)] where i >= 0 && i < n { x[i] = v }
    return x
}

@Suite("Same bits at every kernel level: layer loops and LayerNorm shapes")
struct KernelLevelLoopTests {
    /// The transposing bias + activation epilogue (16 × 16 blocks in registers), the column and row sums,
    /// bias + activation by rows, on sizes around the 16-lane blocks.
    @Test func transposeEpilogueAndSumsOnOddShapes() {
        expectSameBitsAtEveryLevel("transpose and sums") {
            var out: [[UInt32]] = []
            for (rows, cols) in [(1, 1), (5, 3), (16, 16), (17, 33), (40, 10), (3, 70)] {
                let t = specialValues(rows * cols), b = specialValues(cols, phase: 1)
                for relu: Int32 in [0, 1] {
                    for bias in [true, false] {
                        var y = [Float](repeating: 9, count: rows * (cols + 2))
                        // y has row stride cols + 2: the two extra columns must stay untouched.
                        b.withUnsafeBufferPointer { bp in
                            nk_bias_act_transpose_f32(&y, cols + 2, t, rows, bias ? bp.baseAddress : nil, rows, cols, relu)
                        }
                        out.append(levelBits(y))
                    }
                }
                var colAcc = specialValues(cols, phase: 2), rowAcc = specialValues(rows, phase: 3)
                let finite = t.map { $0.isFinite ? $0 : 0.5 }
                nk_colsum_add_f32(&colAcc, finite, rows, cols)
                nk_rowsum_add_f32(&rowAcc, finite, rows, cols)
                var byRows = t
                nk_bias_act_rows_f32(&byRows, specialValues(rows), rows, cols, cols, 1)
                out += [levelBits(colAcc), levelBits(rowAcc), levelBits(byRows)]
            }
            return out
        }
    }

    /// The convolution's gather (bias + ReLU from the input-width grid), its adjoint scatter through the
    /// ReLU mask, and col2im by row table (overlapping rows, added in order).
    @Test func convolutionGatherScatterAndCol2im() {
        expectSameBitsAtEveryLevel("conv loops") {
            var out: [[UInt32]] = []
            for (channels, outH, outW, srcRow) in [(2, 3, 5, 7), (3, 4, 17, 19), (1, 2, 16, 16), (2, 5, 33, 35)] {
                let srcPlane = outH * srcRow + 1
                let src = specialValues(channels * srcPlane), bias = specialValues(channels, phase: 1)
                for relu: Int32 in [0, 1] {
                    var dst = [Float](repeating: 9, count: channels * outH * outW)
                    nk_conv_gather_f32(&dst, src, bias, channels, outH, outW, srcRow, srcPlane, relu)
                    out.append(levelBits(dst))
                }
                let v = specialValues(channels * outH * outW, phase: 2), y = specialValues(v.count, phase: 3)
                for mask in [true, false] {
                    var grid = [Float](repeating: 9, count: channels * outH * srcRow)   // the grid: outH rows of srcRow
                    y.withUnsafeBufferPointer { yp in
                        nk_conv_scatter_f32(&grid, v, mask ? yp.baseAddress : nil, channels, outH, outW, srcRow, outH * srcRow)
                    }
                    out.append(levelBits(grid))
                }
            }
            for n in [1, 7, 16, 23, 40] {
                let count = 9
                let rowStarts = (0..<count).map { ($0 * 5) % 13 }   // overlapping rows
                var dx = specialValues(13 + n, phase: 4).map { $0.isNaN ? 1 : $0 }
                let cols = specialValues(count * n, phase: 5)
                rowStarts.withUnsafeBufferPointer { nk_col2im_rows_f32(&dx, cols, $0.baseAddress!, count, n) }
                out.append(levelBits(dx))
            }
            return out
        }
    }

    /// 2 × 2 max pooling with argmax on widths around 32 (the two-vector loads), NaN and ties included.
    @Test func maxPoolingWithArgmaxOnOddWidths() {
        expectSameBitsAtEveryLevel("maxpool2x2") {
            var out: [[UInt32]] = []
            for (h, w) in [(2, 2), (5, 7), (4, 32), (6, 33), (3, 65)] {
                var x = specialValues(2 * h * w).map { ($0 * 2).rounded() / 2 }   // many ties
                x[1] = -.nan
                var y = [Float](repeating: 9, count: 2 * (h / 2) * (w / 2))
                var at = [Int32](repeating: -1, count: y.count)
                nk_maxpool2x2_f32(x, &y, &at, 2, h, w)
                out += [levelBits(y), at.map { UInt32(bitPattern: $0) }]
            }
            return out
        }
    }

    /// LayerNorm without weight or bias, with weight only, on lengths that are not multiples of 64
    /// (and below 16), with a large mean.
    @Test(arguments: [[3, 1], [4, 15], [9, 17], [6, 100], [5, 130], [3, 1000]])
    func layerNormWithoutAffineAndOddLengths(shape: [Int]) {
        expectSameBitsAtEveryLevel("layerNorm \(shape)") {
            var out: [[UInt32]] = []
            for affine in 0..<3 {   // none, weight only, weight and bias
                var x = Tensor.randn(shape, mean: 100, std: 2, generator: RandomGenerator(seed: 11))
                var w = Tensor.randn([shape[1]], generator: RandomGenerator(seed: 12))
                var b = Tensor.randn([shape[1]], generator: RandomGenerator(seed: 13))
                let g = Tensor.randn(shape, generator: RandomGenerator(seed: 14))
                x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
                let y = x.layerNorm(weight: affine >= 1 ? w : nil, bias: affine == 2 ? b : nil)
                (y * g).sum().backward()
                out += [levelBits(y), levelBits(x.grad!)]
                if affine >= 1 { out.append(levelBits(w.grad!)) }
                if affine == 2 { out.append(levelBits(b.grad!)) }
            }
            return out
        }
    }

    /// A convolution with fused bias and ReLU (gather, scatter, col2im, row sums) and 2 × 2 pooling,
    /// forward and backward, on 1 and 2 threads.
    @Test func convolutionWithBiasReluAndPooling() {
        expectSameBitsAtEveryLevel("conv2d+relu+maxPool2d") {
            var out: [[UInt32]] = []
            for threads in [1, 2] {
                Runtime.withThreads(threads) {
                    var x = Tensor.randn([2, 3, 13, 21], generator: RandomGenerator(seed: 21))
                    var w = Tensor.randn([6, 3, 3, 3], std: 0.3, generator: RandomGenerator(seed: 22))
                    var b = Tensor.randn([6], generator: RandomGenerator(seed: 23))
                    x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
                    let y = x.conv2d(w, bias: b, padding: (1, 1), activation: .relu).maxPool2d(kernelSize: 2)
                    (y * Tensor.randn(y.shape, generator: RandomGenerator(seed: 24))).sum().backward()
                    out += [levelBits(y), levelBits(x.grad!), levelBits(w.grad!), levelBits(b.grad!)]
                }
            }
            return out
        }
    }
    /// A whole training run of a small CNN (conv + bias + ReLU, 2 × 2 pooling, a linear head, softmax
    /// cross-entropy, plain SGD and then Adam), one epoch on synthetic images with a shuffling loader on
    /// 2 threads: the final weights and optimizer state are the same bits at every level.
    @Test func everyLevelTrainsTheSameCNN() throws {
        func run() throws -> [[UInt32]] {
            try Runtime.withThreads(2) {
                let g = RandomGenerator(seed: 31)
                let x = Tensor.randn([96, 2, 14, 18], generator: g)
                let labels = (0..<96).map { _ in g.nextInt(below: 5) }
                let data = TensorDataset(inputs: x, labels: labels, classCount: 5)
                let model = Sequential(Conv2D(2, 8, kernelSize: (3, 3), padding: (1, 1), generator: g), ReLU(),
                                       MaxPool2D(kernelSize: (2, 2)), Conv2D(8, 12, kernelSize: (3, 3), generator: g), ReLU(),
                                       MaxPool2D(kernelSize: (2, 2)), Flatten(), Linear(12 * 2 * 3, 5, generator: g))
                var out: [[UInt32]] = []
                for optimizer in [SGD(model.trainableParameters, learningRate: 0.05, momentum: 0.9),
                                  Adam(model.trainableParameters, learningRate: 3e-3)] as [Optimizer] {
                    let loader = DataLoader(data, batchSize: 16, generator: RandomGenerator(seed: 32))
                    let trainer = Trainer(model: model, optimizer: optimizer, objective: .crossEntropy)
                    let records = try trainer.fit(epochs: 1, train: { _ in loader }, evaluate: nil as (() -> DataLoader)?)
                    #expect(records.allSatisfy { $0.trainLoss.isFinite })
                    for p in optimizer.state.parameters { for (_, t) in p.tensors.sorted(by: { $0.key < $1.key }) { out.append(levelBits(t)) } }
                }
                return out + model.stateDict().map { levelBits($0.tensor) }
            }
        }
        let reference = try Runtime.withKernelLevelCap(.portable) { try run() }
        #expect(reference.count > 8)
        for level in machineKernelLevels where level != .portable {
            let got = try Runtime.withKernelLevelCap(level) { try run() }
            #expect(got.count == reference.count)
            for (k, (a, b)) in zip(got, reference).enumerated() {
                #expect(a == b, "CNN run at \(level): state tensor \(k) differs from portable")
            }
        }
    }
}
