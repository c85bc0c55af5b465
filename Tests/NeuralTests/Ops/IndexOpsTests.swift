import Neural
import Testing

/// `sum(out * w)` backpropagated to each input of `f`, Float64.
private func gradients(_ inputs: [Tensor], w: Tensor, _ f: ([Tensor]) -> Tensor) -> (Tensor, [Tensor]) {
    let xs = inputs.map { t -> Tensor in var x = t; x.requiresGrad = true; return x }
    let out = f(xs)
    (out * w).sum().backward()
    return (out.detached(), xs.map { $0.grad! })
}

private func expectMatches(_ a: Tensor, _ b: Tensor, _ what: String, tolerance: Double = 1e-10,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, "\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    if a.shape == b.shape {
        #expect(maxAbsDifference(a, b) <= tolerance, "\(what): differs by \(maxAbsDifference(a, b))", sourceLocation: sourceLocation)
    }
}

@Suite("Index ops match torch (index_ops.json)")
struct IndexOpsFixtureTests {
    let fixture = TorchFixture.load("index_ops")

    private func cases(_ prefix: String) -> [TorchFixture.Case] {
        let c = fixture.cases.filter { $0.name.hasPrefix(prefix) }
        #expect(!c.isEmpty)
        return c
    }

    @Test func argmaxAndArgminReturnInt64FirstPositionOnTies() {
        for c in cases("argmax_") {
            let x = c.tensor("x"), dim = c.int("dim"), keep = c.bool("keepdim")
            let am = x.argmax(axis: dim, keepDims: keep), an = x.argmin(axis: dim, keepDims: keep)
            #expect(am.dtype == .int64 && an.dtype == .int64)
            expectMatches(am.to(.float64), c.tensor("argmax"), c.name)
            expectMatches(an.to(.float64), c.tensor("argmin"), c.name)
            // Float32 and integer inputs give the same positions.
            expectMatches(x.to(.float32).argmax(axis: dim, keepDims: keep).to(.float64), c.tensor("argmax"), c.name)
            expectMatches(x.to(.int32).argmin(axis: dim, keepDims: keep).to(.float64), c.tensor("argmin"), c.name)
        }
    }

    @Test func sortIsStableLikeTorchWithTies() {
        for c in cases("sort_") {
            let x = c.tensor("x")
            for input in [x, x.to(.float32), x.to(.int64)] {
                let (v, i) = input.sort(axis: c.int("dim"), descending: c.bool("descending"), stable: true)
                #expect(i.dtype == .int64 && v.dtype == input.dtype)
                expectMatches(v.to(.float64), c.tensor("values"), c.name)
                expectMatches(i.to(.float64), c.tensor("indices"), c.name)
            }
        }
    }

    @Test func topkValuesIndicesAndGradient() {
        for c in cases("topk_") {
            let k = c.int("k"), dim = c.int("dim"), largest = c.bool("largest")
            var idx = Tensor(0)
            let (out, g) = gradients([c.tensor("x")], w: c.tensor("w")) { xs in
                let r = xs[0].topk(k, axis: dim, largest: largest)
                idx = r.indices
                return r.values
            }
            expectMatches(out, c.tensor("values"), c.name)
            expectMatches(idx.to(.float64), c.tensor("indices"), c.name)
            expectMatches(g[0], c.tensor("grad_x"), c.name)
        }
    }

    @Test func gatherAndItsGradient() {
        for c in cases("gather_") {
            let index = c.tensor("index").to(.int64)
            let (out, g) = gradients([c.tensor("x")], w: c.tensor("w")) { $0[0].gather(axis: c.int("dim"), index: index) }
            expectMatches(out, c.tensor("out"), c.name)
            expectMatches(g[0], c.tensor("grad_x"), c.name)
            // Float32 within 1e-5, int32 indices.
            let out32 = c.tensor("x").to(.float32).gather(axis: c.int("dim"), index: index.to(.int32))
            expectMatches(out32.to(.float64), c.tensor("out"), c.name, tolerance: 1e-5)
        }
    }

    @Test func scatterAddAndIndexAddWithRepeatedIndices() {
        for c in cases("scatter_add_") + cases("index_add_") {
            let index = c.tensor("index").to(.int64), dim = c.int("dim")
            let (out, g) = gradients([c.tensor("x"), c.tensor("src")], w: c.tensor("w")) { xs in
                c.name.hasPrefix("scatter") ? xs[0].scatterAdd(axis: dim, index: index, source: xs[1])
                                            : xs[0].indexAdd(axis: dim, index: index, source: xs[1])
            }
            expectMatches(out, c.tensor("out"), c.name)
            expectMatches(g[0], c.tensor("grad_x"), c.name)
            expectMatches(g[1], c.tensor("grad_src"), c.name)
        }
    }

    @Test func indexSelectWithAnIndexTensor() {
        for c in cases("index_select_") {
            let index = c.tensor("index").to(.int32)
            let (out, g) = gradients([c.tensor("x")], w: c.tensor("w")) { $0[0].indexSelect(axis: c.int("dim"), index: index) }
            expectMatches(out, c.tensor("out"), c.name)
            expectMatches(g[0], c.tensor("grad_x"), c.name)
        }
    }

    @Test func cumsumAndItsGradient() {
        for c in cases("cumsum_") {
            let (out, g) = gradients([c.tensor("x")], w: c.tensor("w")) { $0[0].cumsum(axis: c.int("dim")) }
            expectMatches(out, c.tensor("out"), c.name)
            expectMatches(g[0], c.tensor("grad_x"), c.name)
        }
        #expect(Tensor(integers: [1, 2, 3], dtype: .int32).cumsum(axis: 0).scalars(as: Int.self) == [1, 3, 6])
    }

    @Test func whereAndMaskedFillWithBroadcastMasks() {
        let w = fixture.case("where")
        let cond = w.tensor("cond").to(.int64)      // any dtype: non-zero is true
        let (out, g) = gradients([w.tensor("a"), w.tensor("b")], w: w.tensor("w")) { Tensor.where(cond, $0[0], $0[1]) }
        expectMatches(out, w.tensor("out"), "where")
        expectMatches(g[0], w.tensor("grad_a"), "where")
        expectMatches(g[1], w.tensor("grad_b"), "where")
        let m = fixture.case("masked_fill")
        let mask = m.tensor("mask").to(.float32)
        let (out2, g2) = gradients([m.tensor("x")], w: m.tensor("w")) { $0[0].maskedFill(mask, m.double("value")) }
        expectMatches(out2, m.tensor("out"), "masked_fill")
        expectMatches(g2[0], m.tensor("grad_x"), "masked_fill")
    }
}

@Suite("Index ops: gradient checks, determinism, integers, sampling")
struct IndexOpsTests {
    private let x = Tensor.randn([3, 4, 5], dtype: .float64, generator: RandomGenerator(seed: 230))

    @Test func float64GradientChecks() {
        let index = Tensor(integers: [0, 3, 3, 1, 2, 0, 1, 1, 3, 2, 0, 0], shape: [3, 2, 2])
        let source = Tensor.randn([3, 2, 2], dtype: .float64, generator: RandomGenerator(seed: 231))
        let mask = Tensor(integers: [1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1], shape: [4, 5])
        let checks: [(String, [Tensor], ([Tensor]) -> Tensor)] = [
            ("gather", [x], { $0[0].gather(axis: 1, index: index) }),
            ("scatterAdd", [x, source], { $0[0].scatterAdd(axis: 1, index: index, source: $0[1]) }),
            ("indexSelect", [x], { $0[0].indexSelect(axis: 2, index: Tensor(integers: [4, 0, 4])) }),
            ("indexAdd", [x, source.reshaped([3, 4, 1]).slice(axis: 1, 0..<2)],
             { $0[0].indexAdd(axis: 1, index: Tensor(integers: [2, 2]), source: $0[1].broadcast(to: [3, 2, 5])) }),
            ("topk", [x], { $0[0].topk(2, axis: 1).values }),
            ("sort", [x], { $0[0].sort(axis: 2, descending: true).values * Tensor.arange(5, dtype: .float64) }),
            ("cumsum", [x], { $0[0].cumsum(axis: 1).tanh() }),
            ("where", [x, x.slice(axis: 2, 0..<1) * 2], { Tensor.where(mask, $0[0], $0[1]) }),
            ("maskedFill", [x], { ($0[0] * $0[0]).maskedFill(mask, 3) }),
        ]
        for (name, inputs, f) in checks {
            let report = checkGradients(of: f, at: inputs)
            #expect(report.passed, "\(name): \(report)")
        }
    }

    @Test func accumulationsAreTheSameBitsAtOneAndTwoThreads() {
        let big = Tensor.randn([64, 300], generator: RandomGenerator(seed: 232))
        let index = Tensor.uniform([64, 2000], low: 0, high: 300, generator: RandomGenerator(seed: 233)).to(.int64)
        let source = Tensor.randn([64, 2000], generator: RandomGenerator(seed: 234))
        func run() -> [Tensor] {
            var b = big
            b.requiresGrad = true
            let out = b.scatterAdd(axis: 1, index: index, source: source).cumsum(axis: 1)
            out.sum().backward()
            return [out.detached(), b.grad!, big.gather(axis: 1, index: index).detached()]
        }
        let one = Runtime.withThreads(1) { run() }
        let two = Runtime.withThreads(2) { run() }
        for (a, b) in zip(one, two) { expectBitIdentical(a, b) }
    }

    @Test func integerTensorsGatherSelectAndSelect() {
        let ids = Tensor(integers: [10, 11, 12, 13, 14, 15], shape: [2, 3])
        #expect(ids.gather(axis: 1, index: Tensor(integers: [2, 0], shape: [2, 1])).scalars(as: Int.self) == [12, 13])
        #expect(Tensor.where(Tensor([1, 0, 1]), ids, Tensor(integers: [0])).scalars(as: Int.self) == [10, 0, 12, 13, 0, 15])
        #expect(ids.maskedFill(Tensor(integers: [0, 1, 0]), -1).scalars(as: Int.self) == [10, -1, 12, 13, -1, 15])
        #expect(ids.topk(1, axis: 1).values.scalars(as: Int.self) == [12, 15])
    }

    @Test func nanSortsLastAscendingAndFirstDescending() {
        let x = Tensor([3, .nan, 1, 2] as [Double])
        #expect(x.sort().indices.scalars(as: Int.self) == [2, 3, 0, 1])
        #expect(x.sort(descending: true).indices.scalars(as: Int.self) == [1, 0, 3, 2])
        #expect(x.argmax().item() == 1 && x.argmin().item() == 1)
    }

    @Test func multinomialIsSeededAndFollowsTheWeights() {
        let p = Tensor([0.1, 0.0, 0.6, 0.3] as [Double])
        let a = p.multinomial(numSamples: 4000, replacement: true, generator: RandomGenerator(seed: 9))
        let b = p.multinomial(numSamples: 4000, replacement: true, generator: RandomGenerator(seed: 9))
        #expect(a.dtype == .int64 && a.shape == [4000])
        #expect(a.scalars(as: Int.self) == b.scalars(as: Int.self))
        let counts = (0..<4).map { k in a.scalars(as: Int.self).filter { $0 == k }.count }
        #expect(counts[1] == 0)
        #expect(abs(Double(counts[2]) / 4000 - 0.6) < 0.04 && abs(Double(counts[0]) / 4000 - 0.1) < 0.03)
        // Without replacement each category appears once; rows draw independently.
        let rows = Tensor([[1, 1, 1, 0], [0, 2, 0, 5]] as [[Double]])
        let draws = rows.multinomial(numSamples: 2, generator: RandomGenerator(seed: 1))
        #expect(draws.shape == [2, 2])
        let r = draws.scalars(as: Int.self)
        #expect(r[0] != r[1] && r[0] < 3 && r[1] < 3 && Set(r[2...]) == [1, 3])
    }

    @Test func topKAndTopPFilters() {
        let logits = Tensor([[2.0, 1.0, 0.5, -1.0, 1.0]], dtype: .float64)
        let k = logits.topKFiltered(2).scalars(as: Double.self)
        #expect(k == [2, 1, -.infinity, -.infinity, 1])     // ties with the k-th stay
        // Softmax of [3, 2, 1, 0] ≈ [0.644, 0.237, 0.087, 0.032]: p = 0.8 keeps the first two.
        let p = Tensor([0.0, 3, 1, 2] as [Double]).topPFiltered(0.8).scalars(as: Double.self)
        #expect(p == [-.infinity, 3, -.infinity, 2])
        #expect(Tensor([5.0, 1] as [Double]).topPFiltered(0.01).scalars(as: Double.self) == [5, -.infinity])
    }
}

@Suite("Index ops: out-of-range indices stop with a message")
struct IndexOpsRangeTests {
    @Test func outOfRangeGatherIndexNamesTheIndexAndTheSize() async {
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor.zeros([2, 5]).gather(axis: 1, index: Tensor(integers: [1, 7], shape: [2, 1]))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("gather index 7") && text.contains("of size 5"), "\(text)")
    }

    @Test func embeddingIdOutOfRangeAndFloatOnlyOpsOnIntegersStop() async {
        await #expect(processExitsWith: .failure) {
            _ = Embedding(4, 2)(Tensor(integers: [4]))
        }
        let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
            _ = Tensor(integers: [1, 2], shape: [1, 2]).matmul(Tensor(integers: [1, 2], shape: [2, 1]))
        }
        let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
        #expect(text.contains("needs a floating-point tensor, got int64"), "\(text)")
    }
}
