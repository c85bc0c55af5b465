import Neural
import Testing

// The sub-pixel (stride-decomposed) form of ConvTranspose2d — dilation 1, kernels that are whole
// multiples of the stride, stride > 1 (Sources/Neural/Kernels/SubpixelConvTranspose.swift and, for
// small grids, SubpixelExact.swift) — and the C layout changes it runs in Float32
// (nk_subpixel_d2s_f32 / nk_subpixel_s2d_f32 / nk_subpixel_d2s_exact_f32: vector bodies for a width
// stride of 2, portable loops otherwise; nk_gather_runs_f32): central differences in Float64, the
// Float32 path against the Float64 one, and the same bits at every kernel level and thread count.

/// The bit patterns of `t` (Float32).
private func bits(_ t: Tensor) -> [UInt32] { t.scalars(as: Float.self).map(\.bitPattern) }

@Suite("Sub-pixel transposed convolution")
struct SubpixelConvTransposeTests {
    /// (N, C_in, H, W, C_out, kH, kW, sH, sW, pH, pW, opH, opW, groups): the 4 × 4 / stride 2 upsampler
    /// on rows wider than 16 phase columns, odd padding and output padding, groups, a 2 × 2 / stride 2
    /// kernel (one tap per phase) with output past the phase grid, and stride (2, 3) (the portable
    /// loops along the width), each also (`exact`) in the exact-position forms of SubpixelExact.swift,
    /// which these few channels would not choose: the backward applies to all, the forward where the
    /// output is 2 × the input (the fifth and sixth).
    static let shapes: [[Int]] = [[2, 4, 5, 21, 6, 4, 4, 2, 2, 1, 1, 1, 1, 2], [3, 3, 4, 19, 2, 2, 2, 2, 2, 0, 0, 1, 1, 1],
                                  [2, 2, 3, 34, 4, 4, 4, 2, 2, 2, 3, 0, 1, 2], [2, 2, 4, 7, 3, 4, 6, 2, 3, 1, 2, 1, 2, 1],
                                  [2, 4, 5, 21, 6, 4, 4, 2, 2, 1, 1, 0, 0, 2], [2, 3, 12, 20, 4, 4, 4, 2, 2, 1, 1, 0, 0, 1]]

    /// convTranspose2d of shape `s` in `dtype`, and the gradients of Σ out ⊙ r for x, W and b.
    static func pass(_ s: [Int], dtype: DType, exact: Bool? = nil) -> [Tensor] {
        Runtime.$subpixelExactPositions.withValue(exact) { passWithDefaults(s, dtype: dtype) }
    }

    private static func passWithDefaults(_ s: [Int], dtype: DType) -> [Tensor] {
        let (n, cin, h, w, cout, kH, kW) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6])
        let (sH, sW, pH, pW, opH, opW, groups) = (s[7], s[8], s[9], s[10], s[11], s[12], s[13])
        var x = Tensor.randn([n, cin, h, w], dtype: dtype, generator: RandomGenerator(seed: 1))
        var weight = Tensor.randn([cin, cout / groups, kH, kW], dtype: dtype, generator: RandomGenerator(seed: 2))
        var b = Tensor.randn([cout], dtype: dtype, generator: RandomGenerator(seed: 3))
        x.requiresGrad = true; weight.requiresGrad = true; b.requiresGrad = true
        let y = x.convTranspose2d(weight, bias: b, stride: (sH, sW), padding: (pH, pW), outputPadding: (opH, opW), groups: groups)
        (y * Tensor.randn(y.shape, dtype: dtype, generator: RandomGenerator(seed: 4))).sum().backward()
        return [y, x.grad!, weight.grad!, b.grad!]
    }

    @Test("every kernel level and thread count gives the portable level's bits", arguments: shapes, [false, true])
    func sameBits(_ shape: [Int], exact: Bool) {
        let reference = Runtime.withKernelLevelCap(.portable) {
            Runtime.withThreads(1) { Self.pass(shape, dtype: .float32, exact: exact).map(bits) }
        }
        for level in KernelLevel.allCases where level <= Runtime.cpuKernelLevel {
            for threads in [1, 2, 3] {
                let got = Runtime.withKernelLevelCap(level) {
                    Runtime.withThreads(threads) { Self.pass(shape, dtype: .float32, exact: exact).map(bits) }
                }
                #expect(got == reference, "\(shape) exact \(exact) at \(level) on \(threads) threads")
            }
        }
    }

    @Test("the Float32 path (C layout changes) agrees with the Float64 path (Swift loops)", arguments: shapes, [false, true])
    func float32MatchesFloat64(_ shape: [Int], exact: Bool) {
        let single = Self.pass(shape, dtype: .float32, exact: exact), double = Self.pass(shape, dtype: .float64, exact: exact)
        for (name, (a, b)) in zip(["out", "dx", "dW", "db"], zip(single, double)) {
            #expect(a.shape == b.shape, "\(shape) \(name)")
            let scale = Swift.max(1, b.scalars(as: Double.self).map(\.magnitude).max() ?? 0)
            #expect(maxAbsDifference(a.to(.float64), b) <= 1e-5 * scale, "\(shape) exact \(exact) \(name)")
        }
    }

    /// The exact-position forms compute each output and ∂x element from the same products in the
    /// same order as the gap form (only the unused grid positions are skipped); ∂W sums the
    /// positions in other blocks, and with one input channel per group (C/G = 1) the exact ∂x is a
    /// matrix-vector product (the GEMM's own order). The last shape (64 → 32 channels on 4 × 4)
    /// picks the exact forms by itself.
    @Test("exact positions agree with the phase-grid form: out and ∂x bit for bit (C/G > 1), ∂W and ∂b to rounding",
          arguments: shapes + [[2, 64, 4, 4, 32, 4, 4, 2, 2, 1, 1, 0, 0, 1]])
    func exactMatchesGapForm(_ shape: [Int]) {
        let gap = Self.pass(shape, dtype: .float32, exact: false)
        let exactBits = shape[1] / shape[13] > 1 ? 2 : 1
        for exact in [true, nil] as [Bool?] {
            let got = Self.pass(shape, dtype: .float32, exact: exact)
            for (name, (a, b)) in zip(["out", "dx"], zip(got, gap)).prefix(exactBits) {
                #expect(bits(a) == bits(b), "\(shape) \(name) exact \(String(describing: exact))")
            }
            for (name, (a, b)) in zip(["out", "dx", "dW", "db"], zip(got, gap)).dropFirst(exactBits) {
                let scale = Swift.max(1, b.scalars(as: Float.self).map(\.magnitude).max() ?? 0)
                #expect(maxAbsDifference(a.to(.float64), b.to(.float64)) <= 1e-5 * Double(scale),
                        "\(shape) \(name) exact \(String(describing: exact))")
            }
        }
    }

    /// The batch of 40 of `shape` in one call against its samples one call each: the micro-batches
    /// (several samples side by side in one GEMM) and the chunked weight-gradient sums.
    @Test("a batch of 40 agrees with its samples one at a time (out and ∂x bit for bit, ∂W and ∂b to rounding) on 1, 2 and 3 threads",
          arguments: [shapes[0], shapes[2], shapes[3], shapes[4], shapes[5]], [false, true])
    func batchMatchesSamplesOneAtATime(_ shape: [Int], exact: Bool) {
        Runtime.$subpixelExactPositions.withValue(exact) { batchMatchesSamplesOneAtATime(shape) }
    }

    private func batchMatchesSamplesOneAtATime(_ shape: [Int]) {
        var s = shape
        s[0] = 40
        let (n, cin, h, w, cout, kH, kW) = (s[0], s[1], s[2], s[3], s[4], s[5], s[6])
        let (sH, sW, pH, pW, opH, opW, groups) = (s[7], s[8], s[9], s[10], s[11], s[12], s[13])
        let x = Tensor.randn([n, cin, h, w], generator: RandomGenerator(seed: 5))
        let weight = Tensor.randn([cin, cout / groups, kH, kW], generator: RandomGenerator(seed: 6))
        let b = Tensor.randn([cout], generator: RandomGenerator(seed: 7))
        func run(_ x0: Tensor, _ r: Tensor?) -> [Tensor] {
            var (x, weight, b) = (x0, weight, b)
            x.requiresGrad = true; weight.requiresGrad = true; b.requiresGrad = true
            let y = x.convTranspose2d(weight, bias: b, stride: (sH, sW), padding: (pH, pW), outputPadding: (opH, opW),
                                      groups: groups)
            let r = r ?? Tensor.randn(y.shape, generator: RandomGenerator(seed: 8))
            (y * r).sum().backward()
            return [y, x.grad!, weight.grad!, b.grad!, r]
        }
        let whole = run(x, nil)
        for threads in [1, 3] {
            let again = Runtime.withThreads(threads) { run(x, whole[4]) }
            #expect(again.prefix(4).map(bits) == whole.prefix(4).map(bits), "\(s) on \(threads) threads")
        }
        var dW = Tensor.zeros(weight.shape, dtype: .float64), db = Tensor.zeros([cout], dtype: .float64)
        for i in 0..<n {
            let one = run(x[i ..< i + 1], whole[4][i ..< i + 1])
            #expect(bits(one[0]) == bits(whole[0][i ..< i + 1].contiguous()), "\(s) out of sample \(i)")
            #expect(bits(one[1]) == bits(whole[1][i ..< i + 1].contiguous()), "\(s) ∂x of sample \(i)")
            dW = dW + one[2].to(.float64)
            db = db + one[3].to(.float64)
        }
        for (name, got, want) in [("∂W", whole[2], dW), ("∂b", whole[3], db)] {
            let scale = Swift.max(1, want.scalars(as: Double.self).map(\.magnitude).max() ?? 0)
            #expect(maxAbsDifference(got.to(.float64), want) <= 1e-4 * scale, "\(s) \(name)")
        }
    }

    @Test("4 × 4 / stride 2 / padding 1, groups 2, output padding 1 and 0, both forms: gradients match central differences (Float64)",
          arguments: [1, 0], [false, true])
    func gradients(outputPadding: Int, exact: Bool) {
        Runtime.$subpixelExactPositions.withValue(exact) {
            expectGradientsMatch({ $0[0].convTranspose2d($0[1], bias: $0[2], stride: (2, 2), padding: (1, 1),
                                                         outputPadding: (outputPadding, outputPadding), groups: 2) },
                                 at: [seededUniform([2, 4, 3, 4], seed: 31), seededUniform([4, 3, 4, 4], seed: 32),
                                      seededUniform([6], seed: 33)])
        }
    }
}
