import Neural
import Testing

@Suite("Embedding matches torch.nn.Embedding (embedding.json)")
struct EmbeddingTests {
    let fixture = TorchFixture.load("embedding")

    @Test(arguments: [DType.float32, .float64], [DType.int64, .int32])
    func outputsAndWeightGradientsMatchTorch(dtype: DType, indexType: DType) {
        let tolerance = dtype == .float32 ? 1e-5 : 1e-10
        #expect(fixture.cases.count == 3)
        for c in fixture.cases {
            let padding: Int? = c.string("padding") == "none" ? nil : c.int("padding")
            let embed = Embedding(c.int("num"), c.int("dim"), paddingIndex: padding, dtype: dtype)
            embed.weight.value = c.tensor("weight").to(dtype)
            let out = embed(c.tensor("indices").to(indexType))
            #expect(out.dtype == dtype && out.shape == c.tensor("out").shape)
            (out * c.tensor("w").to(dtype)).sum().backward()
            #expect(maxAbsDifference(out.to(.float64), c.tensor("out")) <= tolerance, "\(c.name)")
            let g = embed.weight.grad!
            #expect(maxAbsDifference(g.to(.float64), c.tensor("grad_weight")) <= tolerance, "\(c.name)")
            if let p = embed.paddingIndex {
                #expect(g.select(axis: 0, p).scalars(as: Double.self).allSatisfy { $0 == 0 })
            }
        }
    }

    @Test func parameterNameShapesAndPaddingRowStartAtTorchsConventions() {
        let e = Embedding(10, 4, paddingIndex: -2, generator: RandomGenerator(seed: 5))
        #expect(e.stateDict().map(\.name) == ["weight"])
        #expect(e.weight.shape == [10, 4] && e.paddingIndex == 8)
        #expect(e.weight.value.select(axis: 0, 8).scalars().allSatisfy { $0 == 0 })
        #expect(e(Tensor(integers: [[1, 2, 3], [4, 5, 6]].flatMap { $0 }, shape: [2, 3])).shape == [2, 3, 4])
        #expect(e(Tensor(integers: [7], shape: [])).shape == [4])
    }

    @Test func backwardIsTheSameBitsAtOneAndTwoThreads() {
        let e = Embedding(1000, 64, generator: RandomGenerator(seed: 6))   // rows split between threads
        let ids = Tensor.uniform([32, 128], low: 0, high: 1000, generator: RandomGenerator(seed: 7)).to(.int64)
        let v = Tensor.randn([32, 128, 64], generator: RandomGenerator(seed: 8))
        func run() -> Tensor {
            e.weight.zeroGrad()
            (e(ids) * v).sum().backward()
            return e.weight.grad!
        }
        let one = Runtime.withThreads(1) { run() }
        let two = Runtime.withThreads(2) { run() }
        expectBitIdentical(one, two)
    }

    @Test func float64GradientCheckThroughTheLookup() {
        let ids = Tensor(integers: [0, 2, 2, 1, 0, 2], shape: [2, 3])
        let w = Tensor.randn([3, 4], dtype: .float64, generator: RandomGenerator(seed: 9))
        let report = checkGradients(of: { Tensor.embedding(ids, weight: $0[0]).tanh() }, at: [w])
        #expect(report.passed, "\(report)")
    }
}
