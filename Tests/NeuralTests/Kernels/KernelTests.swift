import CNeuralKernels
import Neural
import Testing

// The elementwise, reduction and copy kernels on inputs large enough to be split across
// threads and laid out as strided, offset and broadcast views, against per-element references.

@Suite("Elementwise, reduction and copy kernels on large and strided inputs")
struct KernelTests {
    @Test func binaryKernelOnLargeBroadcastAndStridedOperands() {
        let a = Tensor.randn([200, 300], dtype: .float64, generator: RandomGenerator(seed: 190))
        let col = Tensor.randn([200, 1], dtype: .float64, generator: RandomGenerator(seed: 191))
        let row = Tensor.randn([300], dtype: .float64, generator: RandomGenerator(seed: 192))
        let av = a.scalars(as: Double.self), cv = col.scalars(as: Double.self), rv = row.scalars(as: Double.self)
        expectValues(a + row, (0..<60_000).map { av[$0] + rv[$0 % 300] }, tolerance: 0)
        expectValues(a * col, (0..<60_000).map { av[$0] * cv[$0 / 300] }, tolerance: 0)
        expectValues(col - row, (0..<60_000).map { cv[$0 / 300] - rv[$0 % 300] }, shape: [200, 300], tolerance: 0)
        // Transposed left operand, broadcast right operand.
        let t = a.transposed()   // [300, 200]
        let quotient: [Double] = (0..<60_000).map { i in
            let num: Double = av[(i % 200) * 300 + i / 200]
            let den: Double = cv[i % 200].magnitude + 1
            return num / den
        }
        expectValues(t / (col.transposed().abs() + 1), quotient, tolerance: 0)
        // Sliced with a step and an offset.
        let s = a.slice(axis: 1, 1..<300, step: 7)[10..<190]
        let sv = allIndices(s.shape).map { av[($0[0] + 10) * 300 + 1 + 7 * $0[1]] }
        expectValues(s * 2, sv.map { $0 * 2 }, tolerance: 0)
    }

    @Test func streamingStoresWriteTheSameValuesAtEveryAlignmentAndLength() {
        // The non-temporal path peels a masked head up to a 64-byte boundary of y, then a masked tail.
        let n = 300
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n + 16)
        let plain = UnsafeMutablePointer<Float>.allocate(capacity: n + 32)
        let streamed = UnsafeMutablePointer<Float>.allocate(capacity: n + 32)
        defer { x.deallocate(); plain.deallocate(); streamed.deallocate() }
        for i in 0..<(n + 16) { x[i] = Float(i % 37) * 0.37 - 5 }
        x[5] = .nan
        for yOffset in 0..<16 {
            for count in [0, 1, 15, 16, 17, 31, 32, 33, 100, 257, n] {
                for relu: Int32 in [0, 1] {
                    plain.update(repeating: -1, count: n + 32)
                    streamed.update(repeating: -1, count: n + 32)
                    nk_axpb_act_f32(x + 3, plain + yOffset, count, 1.5, -0.25, relu, 0)
                    nk_axpb_act_f32(x + 3, streamed + yOffset, count, 1.5, -0.25, relu, 1)
                    let same = (0..<(n + 32)).allSatisfy { plain[$0].bitPattern == streamed[$0].bitPattern }
                    #expect(same, "y offset \(yOffset), count \(count), relu \(relu)")
                }
            }
        }
    }

    @Test func multiplyAddAboveTheStreamingSizeEqualsTheUnfusedExpression() {
        // 8M + 5 floats: the fused op writes its (32 MiB) result with non-temporal stores.
        let x = Tensor.randn([(32 << 20) / 4 + 5], generator: RandomGenerator(seed: 193))
        let fused = x.multiplyAdd(1.5, -0.25, activation: .relu), plain = (x * 1.5 - 0.25).relu()
        #expect(fused.scalars(as: Float.self).map(\.bitPattern) == plain.scalars(as: Float.self).map(\.bitPattern))
    }

    @Test func unaryKernelOnLargeViews() {
        let a = Tensor.randn([300, 250], dtype: .float64, generator: RandomGenerator(seed: 193))
        let av = a.scalars(as: Double.self)
        let t = a.transposed()
        expectValues(t.relu(), (0..<75_000).map { max(0, av[($0 % 300) * 250 + $0 / 300]) }, tolerance: 0)
        expectValues((-a).abs(), av.map(\.magnitude), tolerance: 0)
        expectValues(a.square(), av.map { $0 * $0 }, tolerance: 0)
    }

    @Test func longSumsMatchADoubleReference() {
        for n in [1, 7, 8, 9, 16_384, 16_385, 100_001, 1_000_000] {
            let x = Tensor.uniform([n], dtype: .float64, generator: RandomGenerator(seed: UInt64(n)))
            let reference = x.scalars(as: Double.self).reduce(0, +)
            #expect((x.sum().item() - reference).magnitude < 1e-9 * Double(n).squareRoot(), "n = \(n)")
        }
    }

    @Test func columnAndNonAdjacentReductionsMatchReferences() {
        let x = Tensor.uniform([40, 600, 3], dtype: .float64, generator: RandomGenerator(seed: 194))
        let xv = x.scalars(as: Double.self)
        var sum0 = [Double](repeating: 0, count: 1800), max1 = [Double](repeating: -.infinity, count: 120)
        var sum02 = [Double](repeating: 0, count: 600)
        for i in 0..<40 { for j in 0..<600 { for k in 0..<3 {
            let v = xv[(i * 600 + j) * 3 + k]
            sum0[j * 3 + k] += v
            max1[i * 3 + k] = max(max1[i * 3 + k], v)
            sum02[j] += v
        } } }
        expectValues(x.sum(axis: 0), sum0, shape: [600, 3], tolerance: 1e-13)
        expectValues(x.max(axis: 1), max1, shape: [40, 3], tolerance: 0)
        expectValues(x.sum(axes: [0, 2]), sum02, shape: [600], tolerance: 1e-13)
        expectValues(x.transposed(0, 1).sum(axis: 1), sum0, shape: [600, 3], tolerance: 1e-13)
    }

    @Test func reductionsPropagateNaN() {
        let x = Tensor([1, .nan, 3] as [Double])
        #expect(x.sum().item().isNaN)
        #expect(x.max().item().isNaN)
        #expect(x.min().item().isNaN)
        #expect(x.argmax().item() == 1)
        #expect(Tensor([[Double.nan, 1], [2, 3]]).max(axis: 0).item(at: [0]).isNaN)
    }

    @Test func reductionsOverAnEmptyAxis() {
        let e = Tensor.zeros([3, 0])
        expectValues(e.sum(axis: 1), [0, 0, 0], shape: [3])
        expectValues(e.max(axis: 1), [-.infinity, -.infinity, -.infinity], shape: [3])
        #expect(e.sum(axis: 0).shape == [0])
    }

    @Test func largeContiguousCopiesOfPermutedTensors() {
        let x = Tensor.arange(0, 240_000, dtype: .float64).reshaped([40, 60, 100])
        let p = x.permuted([2, 0, 1]).contiguous()
        #expect(p.shape == [100, 40, 60])
        for idx in [[0, 0, 0], [99, 39, 59], [17, 3, 42], [50, 20, 0]] {
            #expect(p.item(at: idx) == Double(idx[1] * 6000 + idx[2] * 100 + idx[0]))
        }
        let v = p.scalars(as: Double.self)
        #expect(Set(v).count == 240_000)
    }
}
