import CNeuralKernels
import Neural
import Testing

/// softmax(scale · Q Kᵀ + mask) V composed from ordinary differentiable ops (the reference the
/// fused op must equal); hidden scores get −1e30 and fully hidden rows are zeroed as torch does.
private func composedAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, causal: Bool, keyPaddingMask: Tensor?) -> Tensor {
    let (b, tq, tk, d) = (q.shape[0], q.shape[2], k.shape[2], q.shape[3])
    var hidden = [Double](repeating: 0, count: b * tq * tk)
    let padding = keyPaddingMask?.scalars(as: Double.self)
    for bi in 0..<b {
        for i in 0..<tq {
            for j in 0..<tk where (causal && j > i) || (padding.map { $0[bi * tk + j] != 0 } ?? false) {
                hidden[(bi * tq + i) * tk + j] = 1
            }
        }
    }
    let hide = Tensor(hidden, shape: [b, 1, tq, tk], dtype: q.dtype)
    let scores = q.matmul(k.transposed()) / Double(d).squareRoot() - hide * 1e30
    var p = scores.softmax(axis: -1)
    var rowSeen = [Double](repeating: 0, count: b * tq)
    for r in 0..<(b * tq) where (0..<tk).contains(where: { hidden[r * tk + $0] == 0 }) { rowSeen[r] = 1 }
    p = p * Tensor(rowSeen, shape: [b, 1, tq, 1], dtype: q.dtype)
    return p.matmul(v)
}

@Suite("Fused scaled-dot-product attention")
struct AttentionTests {
    @Test func gradientsPassFiniteDifferencesCausalAcrossKeyBlocks() {
        let q = seededUniform([1, 2, 67, 3], seed: 2301), k = seededUniform([1, 2, 67, 3], seed: 2302)
        let v = seededUniform([1, 2, 67, 3], seed: 2303)
        let report = checkGradients(of: { scaledDotProductAttention($0[0], $0[1], $0[2], causal: true) }, at: [q, k, v])
        #expect(report.passed, "\(report)")
    }

    @Test func gradientsPassFiniteDifferencesWithKeyPaddingAndFullyMaskedRows() {
        let q = seededUniform([2, 2, 5, 4], seed: 2304), k = seededUniform([2, 2, 6, 4], seed: 2305)
        let v = seededUniform([2, 2, 6, 4], seed: 2306)
        let mask = Tensor([0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 1] as [Double], shape: [2, 6])   // example 1: all hidden
        let report = checkGradients(of: { scaledDotProductAttention($0[0], $0[1], $0[2], keyPaddingMask: mask, scale: 0.7) },
                                    at: [q, k, v])
        #expect(report.passed, "\(report)")
        let causalMasked = Tensor([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1] as [Double], shape: [2, 6])
        let report2 = checkGradients(of: { scaledDotProductAttention($0[0], $0[1], $0[2], causal: true, keyPaddingMask: causalMasked) },
                                     at: [q, k, v])
        #expect(report2.passed, "\(report2)")
    }

    @Test func equalsComposedSoftmaxAttentionOnStridedHeadViews() {
        // Heads split off a [batch, seq, 3·embed] projection as views, as MultiheadAttention does.
        let x = seededUniform([2, 70, 3 * 2 * 8], seed: 2307)
        let qkv = x.reshaped([2, 70, 3, 2, 8]).permuted([2, 0, 3, 1, 4])
        let q = qkv.select(axis: 0, 0), k = qkv.select(axis: 0, 1), v = qkv.select(axis: 0, 2)
        let mask = Tensor((0..<140).map { $0 % 9 == 4 ? 1.0 : 0.0 }, shape: [2, 70])
        for causal in [false, true] {
            let fused = scaledDotProductAttention(q, k, v, causal: causal, keyPaddingMask: mask)
            let reference = composedAttention(q.contiguous(), k.contiguous(), v.contiguous(), causal: causal, keyPaddingMask: mask)
            #expect(maxAbsDifference(fused, reference) < 1e-12)
        }
    }

    @Test func matchesTorchInFloat64AndFloat32() {
        let fixture = TorchFixture.load("attention")
        for c in fixture.cases where c.name.hasPrefix("sdpa_") {
            for dtype in [DType.float64, .float32] {
                let tolerance = dtype == .float64 ? 1e-10 : 1e-5
                var q = c.tensor("q").to(dtype), k = c.tensor("k").to(dtype), v = c.tensor("v").to(dtype)
                q.requiresGrad = true; k.requiresGrad = true; v.requiresGrad = true
                let mask = c.bool("padded") ? c.tensor("key_padding_mask") : nil
                let out = scaledDotProductAttention(q, k, v, causal: c.bool("causal"), keyPaddingMask: mask)
                (out * c.tensor("g").to(dtype)).sum().backward()
                #expect(maxAbsDifference(out, c.tensor("out")) < tolerance, "\(c.name) \(dtype) out")
                #expect(maxAbsDifference(q.grad!, c.tensor("grad_q")) < tolerance, "\(c.name) \(dtype) grad_q")
                #expect(maxAbsDifference(k.grad!, c.tensor("grad_k")) < tolerance, "\(c.name) \(dtype) grad_k")
                #expect(maxAbsDifference(v.grad!, c.tensor("grad_v")) < tolerance, "\(c.name) \(dtype) grad_v")
            }
        }
    }

    @Test func fullyMaskedRowsGiveZerosAndZeroGradients() {
        var q = seededUniform([1, 1, 3, 4], seed: 2308), k = seededUniform([1, 1, 3, 4], seed: 2309)
        k.requiresGrad = true; q.requiresGrad = true
        let v = seededUniform([1, 1, 3, 4], seed: 2310)
        let out = scaledDotProductAttention(q, k, v, causal: true, keyPaddingMask: Tensor([[1, 0, 0]]))
        out.sum().backward()
        #expect(Array(out.scalars(as: Double.self)[0..<4]) == [0, 0, 0, 0])
        #expect(out.scalars(as: Double.self)[4..<12].allSatisfy { $0 != 0 && $0.isFinite })
        #expect(Array(q.grad!.scalars(as: Double.self)[0..<4]) == [0, 0, 0, 0])
    }

    private func run(_ dtype: DType) -> [Tensor] {
        var q = Tensor.randn([2, 3, 150, 32], dtype: dtype, generator: RandomGenerator(seed: 2311))
        var k = Tensor.randn([2, 3, 150, 32], dtype: dtype, generator: RandomGenerator(seed: 2312))
        var v = Tensor.randn([2, 3, 150, 32], dtype: dtype, generator: RandomGenerator(seed: 2313))
        q.requiresGrad = true; k.requiresGrad = true; v.requiresGrad = true
        let g = Tensor.randn([2, 3, 150, 32], dtype: dtype, generator: RandomGenerator(seed: 2314))
        let mask = Tensor((0..<300).map { $0 % 7 == 3 || $0 == 150 ? 1.0 : 0.0 }, shape: [2, 150])
        let out = scaledDotProductAttention(q, k, v, causal: true, keyPaddingMask: mask)
        (out * g).sum().backward()
        return [out, q.grad!, k.grad!, v.grad!]
    }

    @Test func sameBitsAtOneAndTwoThreads() {
        for dtype in [DType.float32, .float64] {
            let one = Runtime.withThreads(1) { run(dtype) }, two = Runtime.withThreads(2) { run(dtype) }
            for (a, b) in zip(one, two) { expectBitIdentical(a, b) }
        }
    }

    @Test func sameBitsAtEveryKernelLevel() {
        let top = Int(nk_cpu_level())
        for dtype in [DType.float32, .float64] {
            let reference = run(dtype)
            for level in 0..<top {
                let capped = Runtime.withKernelLevelCap(KernelLevel(rawValue: level)!) { run(dtype) }
                for (a, b) in zip(reference, capped) { expectBitIdentical(a, b) }
            }
        }
    }
}
