import Neural
import Testing

@Suite("Comparison masks and where")
struct ComparisonTests {
    @Test func masksAreOneWhereTrueAndZeroElsewhere() {
        let a = Tensor([1, 2, 3] as [Double]), b = Tensor([2, 2, 2] as [Double])
        expectValues(a .< b, [1, 0, 0])
        expectValues(a .<= b, [1, 1, 0])
        expectValues(a .> b, [0, 0, 1])
        expectValues(a .>= b, [0, 1, 1])
        expectValues(a .== b, [0, 1, 0])
        expectValues(a .!= b, [1, 0, 1])
        expectValues(a .> 1.5, [0, 1, 1])
        expectValues(a .< 1.5, [1, 0, 0])
        expectValues(a .<= 2, [1, 1, 0])
        expectValues(a .>= 2, [0, 1, 1])
        expectValues(a .== 3, [0, 0, 1])
        expectValues(a .!= 3, [1, 1, 0])
        let m = Tensor([[1], [3]]) .> Tensor([0, 2, 4] as [Double])
        expectValues(m, [1, 0, 0, 1, 1, 0], shape: [2, 3])
        #expect((Tensor([1, 2], dtype: .float64) .> 1).dtype == .float64)
    }

    @Test func masksCarryNoGradient() {
        var x = Tensor([1, 2] as [Double])
        x.requiresGrad = true
        #expect(!(x .> 1).requiresGrad)
        #expect(!(x .== x).requiresGrad)
    }

    @Test func wherePicksWithBroadcasting() {
        let c = Tensor([1, 0, 1] as [Double])
        expectValues(Tensor.where(c, Tensor([1, 2, 3] as [Double]), Tensor(-1)), [1, -1, 3])
        let rows = Tensor([[1], [0]])
        expectValues(Tensor.where(rows, Tensor([10, 20] as [Double]), Tensor([[1, 2], [3, 4]])), [10, 20, 3, 4], shape: [2, 2])
    }

    @Test func whereGradientGoesToTheChosenBranch() {
        let a = seededUniform([3, 4], seed: 130), b = seededUniform([3, 4], seed: 131)
        expectGradientsMatch({ Tensor.where($0[0] .> $0[1], $0[0] * 2, $0[1].exp()) }, at: [a, b])
        // Broadcast branches: gradients are summed back to each branch's shape.
        expectGradientsMatch({ Tensor.where($0[0] .> 0, $0[0], $0[1]) }, at: [a, seededUniform([4], seed: 132)])
        expectGradientsMatch({ Tensor.where($0[1] .> 0, $0[0], $0[1].square()) },
                             at: [seededUniform([], seed: 133), seededUniform([3, 1], seed: 134)])
        var x = Tensor([1, 2, 3] as [Double])
        x.requiresGrad = true
        Tensor.where(Tensor([1, 0, 1] as [Double]), x, Tensor(0)).backward(Tensor([5, 6, 7] as [Double]))
        expectValues(x.grad!, [5, 0, 7])
    }
}
