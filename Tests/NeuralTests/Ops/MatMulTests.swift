import Neural
import Testing

/// C = A·B for row-major A [n, k] and B [k, m], with Double accumulation: the reference.
private func naiveMatmul(_ a: [Double], _ b: [Double], n: Int, k: Int, m: Int) -> [Double] {
    var c = [Double](repeating: 0, count: n * m)
    for i in 0..<n {
        for p in 0..<k {
            let aip = a[i * k + p]
            for j in 0..<m { c[i * m + j] += aip * b[p * m + j] }
        }
    }
    return c
}

/// Batched reference over explicit batch shapes with broadcasting.
private func naiveBatchedMatmul(_ a: Tensor, _ b: Tensor) -> (shape: [Int], values: [Double]) {
    let n = a.size(-2), k = a.size(-1), m = b.size(-1)
    let ba = Array(a.shape.dropLast(2)), bb = Array(b.shape.dropLast(2))
    let r = max(ba.count, bb.count)
    let pa = [Int](repeating: 1, count: r - ba.count) + ba, pb = [Int](repeating: 1, count: r - bb.count) + bb
    let batch = zip(pa, pb).map { max($0, $1) }
    let av = a.scalars(as: Double.self), bv = b.scalars(as: Double.self)
    var out: [Double] = []
    for index in allIndices(batch) {
        let ia = linearIndex(zip(index, pa).map { $1 == 1 ? 0 : $0 }, pa)
        let ib = linearIndex(zip(index, pb).map { $1 == 1 ? 0 : $0 }, pb)
        out += naiveMatmul(Array(av[(ia * n * k)..<((ia + 1) * n * k)]), Array(bv[(ib * k * m)..<((ib + 1) * k * m)]),
                           n: n, k: k, m: m)
    }
    return (batch + [n, m], out)
}

/// A [rows, cols] operand, stored directly or as the transposed view of a [cols, rows] tensor.
private func operand(_ rows: Int, _ cols: Int, transposed: Bool, seed: UInt64, dtype: DType) -> Tensor {
    transposed ? seededUniform([cols, rows], seed: seed, dtype: dtype).transposed()
               : seededUniform([rows, cols], seed: seed, dtype: dtype)
}

struct MatMulSize: Sendable, CustomTestStringConvertible {
    let n: Int, k: Int, m: Int
    var testDescription: String { "[\(n), \(k)]·[\(k), \(m)]" }
    static let all: [MatMulSize] = [1, 7, 33, 257].map { MatMulSize(n: $0, k: $0, m: $0) } + [
        .init(n: 7, k: 33, m: 257), .init(n: 257, k: 1, m: 7), .init(n: 33, k: 257, m: 1), .init(n: 1, k: 257, m: 33),
    ]
}

@Suite("Matrix products (MM, eq. 7.35, 7.62–7.66, 7.81–7.84)")
struct MatMulTests {
    // MARK: Forward against a naive reference

    @Test(arguments: MatMulSize.all, [DType.float32, .float64])
    func matmulMatchesNaiveReferenceWithTransposedViewsOnEitherSide(_ s: MatMulSize, dtype: DType) {
        for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
            let a = operand(s.n, s.k, transposed: ta, seed: 60, dtype: dtype)
            let b = operand(s.k, s.m, transposed: tb, seed: 61, dtype: dtype)
            let c = a.matmul(b)
            let expected = naiveMatmul(a.scalars(as: Double.self), b.scalars(as: Double.self), n: s.n, k: s.k, m: s.m)
            #expect(c.shape == [s.n, s.m])
            #expect(c.dtype == dtype)
            // Float32 rounding grows like √k·ε per element for values in [-1, 1).
            let tol = dtype == .float32 ? 2e-6 * Double(s.k).squareRoot() : 1e-14 * Double(s.k)
            #expect(isClose(c.scalars(as: Double.self), expected, tolerance: tol), "transA \(ta), transB \(tb)")
        }
    }

    @Test func matmulOfSlicedAndBroadcastViewsMatchesReference() {
        let big = seededUniform([10, 12], seed: 62)
        let a = big.slice(axis: 1, 1..<12, step: 2)      // [10, 6], column stride 2
        let b = Tensor([1, 2, 3, 4, 5, 6] as [Double], shape: [6, 1], dtype: .float64).broadcast(to: [6, 5])
        let expected = naiveMatmul(a.scalars(as: Double.self), b.scalars(as: Double.self), n: 10, k: 6, m: 5)
        expectValues(a.matmul(b), expected, shape: [10, 5], tolerance: 1e-14)
        let rows = big[2..<7]                              // offset view
        let w = seededUniform([12, 3], seed: 63)
        expectValues(rows.matmul(w), naiveMatmul(rows.scalars(as: Double.self), w.scalars(as: Double.self), n: 5, k: 12, m: 3),
                     shape: [5, 3], tolerance: 1e-14)
    }

    @Test func batchedMatmulMatchesReferenceIncludingBroadcastBatchDimensions() {
        let cases: [([Int], [Int])] = [
            ([3, 5, 6], [3, 6, 4]), ([2, 1, 5, 6], [3, 6, 4]), ([3, 5, 6], [6, 4]), ([5, 6], [2, 6, 4]),
            ([4, 1, 17, 9], [1, 3, 9, 13]),
        ]
        for (sa, sb) in cases {
            for dtype in DType.floatingPointCases {
                let a = seededUniform(sa, seed: 64, dtype: dtype), b = seededUniform(sb, seed: 65, dtype: dtype)
                let ref = naiveBatchedMatmul(a, b)
                expectValues(a.matmul(b), ref.values, shape: ref.shape, tolerance: dtype == .float32 ? 1e-5 : 1e-14)
            }
        }
        // Batched transposed views on both sides.
        let at = seededUniform([3, 6, 5], seed: 66).transposed(), bt = seededUniform([3, 4, 6], seed: 67).transposed()
        let ref = naiveBatchedMatmul(at.contiguous(), bt.contiguous())
        expectValues(at.matmul(bt), ref.values, shape: [3, 5, 4], tolerance: 1e-14)
        // A permuted batch (batch stride smaller than the matrix strides).
        let ap = seededUniform([5, 3, 6], seed: 68).permuted([1, 0, 2])
        let refP = naiveBatchedMatmul(ap.contiguous(), seededUniform([3, 6, 4], seed: 69))
        expectValues(ap.matmul(seededUniform([3, 6, 4], seed: 69)), refP.values, shape: [3, 5, 4], tolerance: 1e-14)
    }

    @Test func oneDimensionalOperandsDropTheirDimension() {
        let m = Tensor([[1, 2], [3, 4], [5, 6]])
        expectValues(Tensor([1, 1, 1] as [Double]).matmul(m), [9, 12], shape: [2])
        expectValues(m.matmul(Tensor([1, -1] as [Double])), [-1, -1, -1], shape: [3])
        expectValues(Tensor([1, 2, 3] as [Double]).matmul(Tensor([4, 5, 6] as [Double])), [32], shape: [])
        let batch = Tensor.arange(0, 12).reshaped([2, 3, 2])
        expectValues(batch.matmul(Tensor([1, 1] as [Double])), [1, 5, 9, 13, 17, 21], shape: [2, 3])
        expectValues(Tensor([1, 0, 1] as [Double]).matmul(batch), [4, 6, 16, 18], shape: [2, 2])
    }

    @Test func emptyInnerDimensionGivesZeros() {
        let c = Tensor.zeros([3, 0]).matmul(Tensor.zeros([0, 2]))
        expectValues(c, [0, 0, 0, 0, 0, 0], shape: [3, 2])
        #expect(Tensor.zeros([0, 4]).matmul(Tensor.zeros([4, 2])).shape == [0, 2])
    }

    // MARK: Gradient checks

    @Test func matmulGradient2D() {
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([3, 4], seed: 70), seededUniform([4, 5], seed: 71)])
    }

    @Test func matmulGradientWithOneDimensionalOperands() {
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([4], seed: 72), seededUniform([4, 5], seed: 73)])
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([3, 4], seed: 74), seededUniform([4], seed: 75)])
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([4], seed: 76), seededUniform([4], seed: 77)])
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([4], seed: 78), seededUniform([2, 4, 3], seed: 79)])
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([2, 3, 4], seed: 80), seededUniform([4], seed: 81)])
    }

    @Test func matmulGradientBatched() {
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([2, 3, 4], seed: 82), seededUniform([2, 4, 5], seed: 83)])
        // A batch of inputs times one weight matrix (the stacked-rows path, eq. 7.84).
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([2, 3, 4], seed: 84), seededUniform([4, 5], seed: 85)])
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([3, 4], seed: 86), seededUniform([2, 4, 5], seed: 87)])
    }

    @Test func matmulGradientWithBroadcastBatchDimensions() {
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([2, 1, 3, 4], seed: 88), seededUniform([3, 4, 2], seed: 89)])
        expectGradientsMatch({ $0[0].matmul($0[1]) }, at: [seededUniform([1, 3, 4], seed: 90), seededUniform([2, 1, 4, 2], seed: 91)])
    }

    @Test func matmulGradientWithTransposedOperands() {
        let a = seededUniform([4, 3], seed: 92), b = seededUniform([5, 4], seed: 93)
        expectGradientsMatch({ $0[0].transposed().matmul($0[1]) }, at: [a, seededUniform([4, 5], seed: 94)])
        expectGradientsMatch({ $0[0].matmul($0[1].transposed()) }, at: [seededUniform([3, 4], seed: 95), b])
        expectGradientsMatch({ $0[0].transposed().matmul($0[1].transposed()) }, at: [a, b])
        // Batched, transposed on both sides, and Xᵀ X (the same tensor twice).
        expectGradientsMatch({ $0[0].transposed().matmul($0[1].transposed()) },
                             at: [seededUniform([2, 4, 3], seed: 96), seededUniform([2, 5, 4], seed: 97)])
        expectGradientsMatch({ $0[0].transposed().matmul($0[0]) }, at: [seededUniform([4, 3], seed: 98)])
    }

    @Test func matmulGradientThroughSlicedAndContiguousViews() {
        expectGradientsMatch({ $0[0].slice(axis: 1, 0..<6, step: 2).matmul($0[1]) },
                             at: [seededUniform([4, 6], seed: 99), seededUniform([3, 2], seed: 100)])
        expectGradientsMatch({ $0[0].transposed().contiguous().matmul($0[1]) },
                             at: [seededUniform([3, 4], seed: 101), seededUniform([3, 2], seed: 102)])
    }

    // MARK: The backward functions of MM

    @Test func mmBackwardIsVWTransposedAndXTransposedV_eq7_63_7_64() {
        // Z = X·W with X [B, d], W [d, m]; for seed V = ∂J/∂Z: ∂J/∂X = V Wᵀ, ∂J/∂W = Xᵀ V.
        let (bs, d, m) = (5, 4, 3)
        var x = seededUniform([bs, d], seed: 103), w = seededUniform([d, m], seed: 104)
        x.requiresGrad = true
        w.requiresGrad = true
        let v = seededUniform([bs, m], seed: 105)
        x.matmul(w).backward(v)
        let xv = x.scalars(as: Double.self), wv = w.scalars(as: Double.self), vv = v.scalars(as: Double.self)
        let wT = (0..<(m * d)).map { wv[($0 % d) * m + $0 / d] }   // [m, d]
        let xT = (0..<(d * bs)).map { xv[($0 % bs) * d + $0 / bs] } // [d, B]
        expectValues(x.grad!, naiveMatmul(vv, wT, n: bs, k: m, m: d), shape: [bs, d], tolerance: 1e-14)
        expectValues(w.grad!, naiveMatmul(xT, vv, n: d, k: bs, m: m), shape: [d, m], tolerance: 1e-14)
    }

    @Test func batchedLinearLayerGradientMatchesPerExampleSum_eq7_81_7_82() {
        // Vectorised over the batch, ∂J/∂W equals the sum of the per-example gradients.
        let x = seededUniform([6, 4], seed: 106), w0 = seededUniform([4, 3], seed: 107), b0 = seededUniform([3], seed: 108)
        func grads(_ rows: Tensor) -> (Tensor, Tensor) {
            var w = w0, b = b0
            w.requiresGrad = true
            b.requiresGrad = true
            (rows.matmul(w) + b).tanh().sum().backward()
            return (w.grad!, b.grad!)
        }
        let (gw, gb) = grads(x)
        var sw = Tensor.zeros([4, 3], dtype: .float64), sb = Tensor.zeros([3], dtype: .float64)
        for i in 0..<6 {
            let (w, b) = grads(x[i..<(i + 1)])
            sw = sw + w
            sb = sb + b
        }
        expectValues(gw, sw.scalars(as: Double.self), tolerance: 1e-14)
        expectValues(gb, sb.scalars(as: Double.self), tolerance: 1e-14)
    }
}
