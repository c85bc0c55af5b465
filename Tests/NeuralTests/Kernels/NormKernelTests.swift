import CNeuralKernels
import Neural
import Testing

// The Float32 LayerNorm rows (norm_kernels.c): against the Float64 path, vector against portable
// body bit for bit, and the non-temporal stores used for large outputs.

/// Float32 layerNorm forward and backward of x [rows, m] with upstream g, optional weight and bias.
private func layerNormWithGradients(_ x: Tensor, _ g: Tensor, weight: Tensor?, bias: Tensor?)
    -> (y: Tensor, dx: Tensor, dw: Tensor?, db: Tensor?) {
    var x = x, w = weight, b = bias
    x.requiresGrad = true
    w?.requiresGrad = true
    b?.requiresGrad = true
    let y = x.layerNorm(weight: w, bias: b)
    y.backward(g)
    return (y.detached(), x.grad!, w?.grad, b?.grad)
}

@Suite("LayerNorm Float32 kernels")
struct NormKernelTests {
    @Test("Float32 rows agree with the Float64 path, with and without weight and bias",
          arguments: [1, 5, 16, 37, 64, 100, 1031])
    func float32LayerNormAgreesWithFloat64(m: Int) {
        let rows = 7
        let x = seededUniform([rows, m], seed: 300, low: -2, high: 3)
        let g = seededUniform([rows, m], seed: 301)
        let w = seededUniform([m], seed: 302, low: 0.5, high: 1.5), b = seededUniform([m], seed: 303)
        for (weight, bias) in [(w, b), (w, nil), (nil, b), (nil, nil)] as [(Tensor?, Tensor?)] {
            let ref = layerNormWithGradients(x, g, weight: weight, bias: bias)
            let f32 = layerNormWithGradients(x.to(.float32), g.to(.float32), weight: weight?.to(.float32),
                                             bias: bias?.to(.float32))
            let label = "m \(m), weight \(weight != nil), bias \(bias != nil)"
            expectNear(f32.y.to(.float64), ref.y, "\(label) y", tolerance: 2e-5)
            // m = 1: x̂ = 0 and dx = 0 exactly; otherwise dx is O(rstd · |g|).
            expectNear(f32.dx.to(.float64), ref.dx, "\(label) dx", tolerance: 5e-5)
            if let dw = ref.dw { expectNear(f32.dw?.to(.float64), dw, "\(label) dw", tolerance: 1e-4) }
            if let db = ref.db { expectNear(f32.db?.to(.float64), db, "\(label) db", tolerance: 1e-5) }
        }
    }

    // 1 to 3 rows are the pipelined bodies' (m a multiple of 64) edge cases: no row ahead, one
    // row ahead, two rows ahead.
    @Test("vector and portable bodies give the same bits",
          arguments: [1, 15, 16, 17, 63, 64, 65, 200, 1024], [1, 2, 3, 5])
    func vectorAndPortableBodiesAgreeBitForBit(m: Int, rows: Int) {
        let x = seededUniform([rows, m], seed: 310, low: -4, high: 4, dtype: .float32).scalars(as: Float.self)
        let g = seededUniform([rows, m], seed: 311, dtype: .float32).scalars(as: Float.self)
        let w = seededUniform([m], seed: 312, low: 0.5, high: 1.5, dtype: .float32).scalars(as: Float.self)
        let b = seededUniform([m], seed: 313, dtype: .float32).scalars(as: Float.self)
        for affine in [true, false] {
            var y1 = [Float](repeating: 0, count: rows * m), y2 = y1, dx1 = y1, dx2 = y1
            var mean1 = [Float](repeating: 0, count: rows), mean2 = mean1, rstd1 = mean1, rstd2 = mean1
            var pw1 = [Float](repeating: 0, count: m), pw2 = pw1, pb1 = pw1, pb2 = pw1
            x.withUnsafeBufferPointer { xp in
                w.withUnsafeBufferPointer { wp in
                    b.withUnsafeBufferPointer { bp in
                        let wq = affine ? wp.baseAddress : nil, bq = affine ? bp.baseAddress : nil
                        nk_layernorm_fwd_f32(xp.baseAddress, &y1, &mean1, &rstd1, 0, rows, m, 1e-5, wq, bq, 0)
                        nk_layernorm_fwd_f32_portable(xp.baseAddress, &y2, &mean2, &rstd2, 0, rows, m, 1e-5, wq, bq)
                        g.withUnsafeBufferPointer { gp in
                            nk_layernorm_bwd_f32(gp.baseAddress, xp.baseAddress, mean1, rstd1, wq, 0, rows, m,
                                                 &dx1, &pw1, &pb1, 0)
                            nk_layernorm_bwd_f32_portable(gp.baseAddress, xp.baseAddress, mean2, rstd2, wq, 0, rows, m,
                                                          &dx2, &pw2, &pb2)
                        }
                    }
                }
            }
            for (name, u, v) in [("y", y1, y2), ("mean", mean1, mean2), ("rstd", rstd1, rstd2), ("dx", dx1, dx2),
                                 ("Σ g x̂", pw1, pw2), ("Σ g", pb1, pb2)] {
                #expect(u.map(\.bitPattern) == v.map(\.bitPattern), "m \(m), rows \(rows), affine \(affine): \(name)")
            }
        }
    }

    @Test("rows in blocks give the bits of one call (the pipelined bodies restart per block)",
          arguments: [64, 1024])
    func rowBlocksGiveTheBitsOfOneCall(m: Int) {
        let rows = 9
        let x = seededUniform([rows, m], seed: 330, low: -3, high: 3, dtype: .float32).scalars(as: Float.self)
        let g = seededUniform([rows, m], seed: 331, dtype: .float32).scalars(as: Float.self)
        let w = seededUniform([m], seed: 332, low: 0.5, high: 1.5, dtype: .float32).scalars(as: Float.self)
        let b = seededUniform([m], seed: 333, dtype: .float32).scalars(as: Float.self)
        var y1 = [Float](repeating: 0, count: rows * m), y2 = y1, dx1 = y1, dx2 = y1
        var mean1 = [Float](repeating: 0, count: rows), mean2 = mean1, rstd1 = mean1, rstd2 = mean1
        var pw1 = [Float](repeating: 0, count: m), pw2 = pw1, pb1 = pw1, pb2 = pw1
        let blocks = [0..<1, 1..<3, 3..<6, 6..<9]
        x.withUnsafeBufferPointer { xp in
            w.withUnsafeBufferPointer { wp in
                b.withUnsafeBufferPointer { bp in
                    g.withUnsafeBufferPointer { gp in
                        nk_layernorm_fwd_f32(xp.baseAddress, &y1, &mean1, &rstd1, 0, rows, m, 1e-5, wp.baseAddress, bp.baseAddress, 0)
                        nk_layernorm_bwd_f32(gp.baseAddress, xp.baseAddress, mean1, rstd1, wp.baseAddress, 0, rows, m,
                                             &dx1, &pw1, &pb1, 0)
                        for r in blocks {
                            nk_layernorm_fwd_f32(xp.baseAddress, &y2, &mean2, &rstd2, r.lowerBound, r.upperBound, m, 1e-5,
                                                 wp.baseAddress, bp.baseAddress, 0)
                        }
                        // The same partial sums in the same row order: the same bits.
                        for r in blocks {
                            nk_layernorm_bwd_f32(gp.baseAddress, xp.baseAddress, mean2, rstd2, wp.baseAddress, r.lowerBound,
                                                 r.upperBound, m, &dx2, &pw2, &pb2, 0)
                        }
                    }
                }
            }
        }
        for (name, u, v) in [("y", y1, y2), ("mean", mean1, mean2), ("rstd", rstd1, rstd2), ("dx", dx1, dx2),
                             ("Σ g x̂", pw1, pw2), ("Σ g", pb1, pb2)] {
            #expect(u.map(\.bitPattern) == v.map(\.bitPattern), "m \(m): \(name)")
        }
    }

    @Test func rowsWrittenWithNonTemporalStoresEqualTheSameRowsAlone() {
        // [4096, 1024] Float32 is 16 MiB: y and dx are streamed. Rows are independent, so the first
        // rows alone (a small, cached output) must come out bit for bit the same.
        let (rows, m) = (4096, 1024)
        let x = seededUniform([rows, m], seed: 320, low: -2, high: 2, dtype: .float32)
        let g = seededUniform([rows, m], seed: 321, dtype: .float32)
        let w = seededUniform([m], seed: 322, low: 0.5, high: 1.5, dtype: .float32)
        let b = seededUniform([m], seed: 323, dtype: .float32)
        let big = layerNormWithGradients(x, g, weight: w, bias: b)
        let few = layerNormWithGradients(x[0..<3].contiguous(), g[0..<3].contiguous(), weight: w, bias: b)
        expectBitIdentical(big.y[0..<3].contiguous(), few.y)
        expectBitIdentical(big.dx[0..<3].contiguous(), few.dx)
    }
}
