import CNeuralKernels
import Foundation
import Neural
import Testing

/// The bit patterns of a Float32 tensor.
private func bits(_ t: Tensor) -> [UInt32] { t.scalars(as: Float.self).map(\.bitPattern) }

/// A Linear layer's output with autodiff records (W packed inside every product, never cached).
private func recorded(_ layer: Linear, _ x: Tensor) -> Tensor { layer(x).detached() }

/// Inference reads a Linear layer's Wᵀ packed once (PackedWeightCache) instead of packing it in
/// every product; the exact GELU runs in the product's epilogue in Float32 (nk_gelu_f32).
@Suite("Packed weights and the fused GELU in inference")
struct PackedWeightTests {
    /// Shapes: row counts of one row (gemv), narrow batches, one and several row blocks; features
    /// that are and are not multiples of the panel widths (16, 32, 48), one K block and two
    /// (k ≥ 1024), and the yᵀ = W xᵀ form (2·rows ≤ out).
    static let shapes: [(rows: Int, inF: Int, outF: Int)] = [
        (1, 37, 53), (5, 64, 48), (16, 384, 384), (17, 40, 200), (100, 384, 1536), (300, 1536, 384), (64, 1100, 70),
    ]

    @Test("cached packed weights give the bits of packing in the product, at every level and thread count")
    func cachedWeightsGiveTheSameBits() {
        for (i, s) in Self.shapes.enumerated() {
            let g = RandomGenerator(seed: UInt64(10 + i))
            let layer = Linear(s.inF, s.outF, generator: g)
            let x = Tensor.randn([s.rows, s.inF], generator: g)
            for level in machineKernelLevels {
                for threads in [1, 2] {
                    Runtime.withKernelLevelCap(level) {
                        Runtime.withThreads(threads) {
                            let reference = bits(recorded(layer, x))
                            let first = withNoGrad { layer(x) }        // packs Wᵀ
                            let second = withNoGrad { layer(x) }       // reads the cached panels
                            #expect(bits(first) == reference, "\(s) at \(level), \(threads) threads: first call")
                            #expect(bits(second) == reference, "\(s) at \(level), \(threads) threads: cached call")
                        }
                    }
                }
            }
        }
    }

    @Test("an optimizer step after a cached call is seen by the next call")
    func optimizerStepInvalidatesTheCache() {
        let g = RandomGenerator(seed: 3)
        let layer = Linear(96, 160, generator: g)
        let x = Tensor.randn([64, 96], generator: g)
        let before = withNoGrad { layer(x) }
        _ = withNoGrad { layer(x) }
        let optimizer = SGD(layer.parameters, learningRate: 0.5)
        optimizer.zeroGrad()
        (layer(x) * layer(x)).sum().backward()
        optimizer.step()
        let after = withNoGrad { layer(x) }
        #expect(bits(after) != bits(before), "the step changed nothing")
        #expect(bits(after) == bits(recorded(layer, x)))
    }

    @Test("assigning or writing the weight in place after a cached call is seen by the next call")
    func assignmentAndInPlaceWritesInvalidateTheCache() {
        let g = RandomGenerator(seed: 4)
        let layer = Linear(50, 70, generator: g)
        let x = Tensor.randn([40, 50], generator: g)
        let before = withNoGrad { layer(x) }
        layer.weight.value.withUnsafeMutableScalars(as: Float.self) { w in
            for i in stride(from: 0, to: w.count, by: 7) { w[i] += 1 }
        }
        let written = withNoGrad { layer(x) }
        #expect(bits(written) != bits(before))
        #expect(bits(written) == bits(recorded(layer, x)))
        layer.weight.value = Tensor.randn([70, 50], generator: g)
        let assigned = withNoGrad { layer(x) }
        #expect(bits(assigned) != bits(written))
        #expect(bits(assigned) == bits(recorded(layer, x)))
    }

    @Test("the fused GELU equals nk_gelu_f32 after the layer, and the recorded path Tensor.gelu()")
    func fusedGELUIsTheFloat32KernelAfterTheLayer() {
        for (i, s) in Self.shapes.enumerated() {
            let g = RandomGenerator(seed: UInt64(30 + i))
            let layer = Linear(s.inF, s.outF, generator: g)
            let x = Tensor.randn([s.rows, s.inF], std: 3, generator: g)
            for level in machineKernelLevels {
                Runtime.withKernelLevelCap(level) {
                    let z = withNoGrad { layer(x) }.scalars(as: Float.self)
                    var expected = [Float](repeating: 0, count: z.count)
                    nk_gelu_f32(z, &expected, z.count)
                    let fused = withNoGrad { layer.gelu(x) }
                    #expect(bits(fused) == expected.map(\.bitPattern), "\(s) at \(level)")
                    #expect(bits(layer.gelu(x).detached()) == bits(layer(x).gelu()), "\(s) at \(level): recorded path")
                }
            }
        }
    }
}

/// The Float32 exact GELU of the fused epilogue (gelu_f32.h).
@Suite("Float32 GELU kernel")
struct GELUKernelTests {
    /// x·Φ(x) in Double.
    static func reference(_ x: Double) -> Double { 0.5 * x * erfc(-x / 2.0.squareRoot()) }

    /// Every float of [-20, 20] on a 2⁻¹² grid (163,841 values, and the values just off it), then
    /// the edges: ±0, around ±40, huge, infinite, NaN.
    static let sweep: [Float] = {
        var xs: [Float] = []
        for i in -81920...81920 {
            let x = Float(i) / 4096
            xs += [x, x.nextUp, x.nextDown]
        }
        return xs + [0, -0, 39.9, 40, 40.1, -39.9, -40, -40.1, 1e30, -1e30, .infinity, -.infinity, .nan]
    }()

    static func run(_ xs: [Float]) -> [Float] {
        var y = [Float](repeating: 0, count: xs.count)
        nk_gelu_f32(xs, &y, xs.count)
        return y
    }

    @Test("within 2.4e-7 of x·Φ(x) (half an ulp of 4) on a dense sweep; exact at the edges")
    func accurateOnADenseSweep() {
        let y = Self.run(Self.sweep)
        var worst = 0.0, worstX: Float = 0
        for (x, v) in zip(Self.sweep, y) where x.isFinite && abs(x) <= 20 {
            let e = abs(Double(v) - Self.reference(Double(x)))
            if e > worst { worst = e; worstX = x }
        }
        #expect(worst <= 2.4e-7, "max |error| \(worst) at x = \(worstX)")
        // Where erf runs on its polynomial branch (|x/√2| < 1, |y| < 1.3) the error is below 1.5e-7.
        var small = 0.0
        for (x, v) in zip(Self.sweep, y) where abs(x) < 1.4 { small = max(small, abs(Double(v) - Self.reference(Double(x)))) }
        #expect(small <= 1.5e-7, "max |error| \(small) for |x| < 1.4")
        // 0, -0, 39.9, 40, 40.1, -39.9, -40, -40.1, 1e30, -1e30, inf, -inf, NaN: above 40 x, below -40 -0.
        let edges = Array(y.suffix(13))
        #expect(edges[0] == 0 && edges[1] == 0 && edges[4] == 40.1 && edges[7] == 0 && edges[8] == 1e30)
        #expect(edges[9] == 0 && edges[10] == .infinity && edges[11] == 0 && edges[12].isNaN)
        #expect(abs(Double(edges[2]) - 39.9) < 1e-5 && edges[5] <= 0 && edges[5] > -1e-30)
    }

    @Test("the same bits at every kernel level, tails included")
    func sameBitsAtEveryLevel() {
        let xs = Array(Self.sweep.prefix(100_003)) + Self.sweep.suffix(13)
        let reference = Runtime.withKernelLevelCap(.portable) { Self.run(xs) }.map(\.bitPattern)
        for level in machineKernelLevels where level != .portable {
            let got = Runtime.withKernelLevelCap(level) { Self.run(xs) }.map(\.bitPattern)
            #expect(got == reference, "\(level): first difference at \(got.indices.first { got[$0] != reference[$0] }.map(String.init) ?? "-")")
        }
    }
}
