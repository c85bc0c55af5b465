import Neural
import Testing

@Suite("Indexing: slice, select, indexSelect, concatenate, stack, gather, oneHot")
struct IndexingTests {
    static let x = seededUniform([3, 4, 5], seed: 120)
    static let grid = Tensor.arange(0, 60).reshaped([3, 4, 5])

    // MARK: Forward

    @Test func sliceWithStepIsAView() {
        let g = Self.grid
        let s = g.slice(axis: 2, 1..<5, step: 2)
        #expect(s.shape == [3, 4, 2])
        for idx in allIndices(s.shape) { #expect(s.item(at: idx) == g.item(at: [idx[0], idx[1], 1 + 2 * idx[2]])) }
        #expect(g.slice(axis: -2, 0..<3, step: 3).shape == [3, 1, 5])
        #expect(g.slice(axis: 0, 1..<1).shape == [0, 4, 5])
        #expect(g.slice(axis: 1, 0..<4, step: 5).shape == [3, 1, 5])
        let nested = g.slice(axis: 1, 1..<4).slice(axis: 1, 0..<3, step: 2)
        #expect(nested.item(at: [2, 1, 4]) == g.item(at: [2, 3, 4]))
    }

    @Test func selectAndSubscriptRemoveTheIndexedDimension() {
        let g = Self.grid
        let s = g.select(axis: 1, 2)
        #expect(s.shape == [3, 5])
        #expect(s.item(at: [2, 4]) == g.item(at: [2, 2, 4]))
        #expect(g.select(axis: -1, -1).item(at: [1, 1]) == g.item(at: [1, 1, 4]))
        #expect(g[1].shape == [4, 5])
        #expect(g[1].item(at: [3, 0]) == 35)
        #expect(g[-1].item(at: [0, 0]) == 40)
        let rows = g[1..<3]
        #expect(rows.shape == [2, 4, 5])
        #expect(rows.item(at: [0, 0, 0]) == 20)
        #expect(g[2][3].shape == [5])
        #expect(g[2][3].scalars(as: Double.self) == [55, 56, 57, 58, 59])
    }

    @Test func indexSelectPicksEntriesInOrderWithRepeats() {
        let m = Tensor([[1, 2, 3], [4, 5, 6]])
        expectValues(m.indexSelect(axis: 1, [2, 0, 2]), [3, 1, 3, 6, 4, 6], shape: [2, 3])
        expectValues(m.indexSelect(axis: 0, [1, 1]), [4, 5, 6, 4, 5, 6], shape: [2, 3])
        expectValues(m.indexSelect(axis: -1, [-1]), [3, 6], shape: [2, 1])
        let g = Self.grid.indexSelect(axis: 1, [3, 0])
        #expect(g.shape == [3, 2, 5])
        #expect(g.item(at: [2, 0, 1]) == Self.grid.item(at: [2, 3, 1]))
        // A view input is read in logical order.
        expectValues(m.transposed().indexSelect(axis: 0, [1]), [2, 5], shape: [1, 2])
    }

    @Test func concatenateJoinsAlongEachAxis() {
        let a = Tensor([[1, 2], [3, 4]]), b = Tensor([[5, 6]])
        expectValues(Tensor.concatenate([a, b]), [1, 2, 3, 4, 5, 6], shape: [3, 2])
        expectValues(Tensor.concatenate([a, b.transposed()], axis: 1), [1, 2, 5, 3, 4, 6], shape: [2, 3])
        expectValues(Tensor.concatenate([a, a], axis: -1), [1, 2, 1, 2, 3, 4, 3, 4], shape: [2, 4])
        let g = Self.grid
        for axis in 0..<3 {
            let parts = [g.slice(axis: axis, 0..<1), g.slice(axis: axis, 1..<g.shape[axis])]
            expectBitIdentical(Tensor.concatenate(parts, axis: axis), g)
        }
    }

    @Test func stackAddsANewDimension() {
        let a = Tensor([1, 2, 3] as [Double]), b = Tensor([4, 5, 6] as [Double])
        expectValues(Tensor.stack([a, b]), [1, 2, 3, 4, 5, 6], shape: [2, 3])
        expectValues(Tensor.stack([a, b], axis: 1), [1, 4, 2, 5, 3, 6], shape: [3, 2])
        expectValues(Tensor.stack([a, b], axis: -1), [1, 4, 2, 5, 3, 6], shape: [3, 2])
        let m = Tensor([[1, 2], [3, 4]])
        #expect(Tensor.stack([m, m, m], axis: 1).shape == [2, 3, 2])
        #expect(Tensor.stack([m, m, m], axis: -2).shape == [2, 3, 2])
    }

    @Test func gatherPicksOneEntryPerPosition() {
        let logits = Tensor([[1, 2, 3], [4, 5, 6]])
        expectValues(logits.gather([2, 0]), [3, 4], shape: [2])
        expectValues(logits.gather([1, 0, 1], axis: 0), [4, 2, 6], shape: [3])
        let g = Self.grid
        let indices = (0..<15).map { $0 % 4 }
        let r = g.gather(indices, axis: 1)
        #expect(r.shape == [3, 5])
        for i in 0..<3 { for k in 0..<5 { #expect(r.item(at: [i, k]) == g.item(at: [i, indices[i * 5 + k], k])) } }
        expectValues(logits.transposed().gather([1, 0, 1]), [4, 2, 6], shape: [3])
    }

    @Test func oneHotRowsHaveASingleOne() {
        expectValues(Tensor.oneHot([2, 0, 1], classes: 3), [0, 0, 1, 1, 0, 0, 0, 1, 0], shape: [3, 3])
        #expect(Tensor.oneHot([0], classes: 2, dtype: .float64).dtype == .float64)
        let logits = Tensor([[1, 2, 3], [4, 5, 6]])
        expectValues((logits * Tensor.oneHot([2, 0], classes: 3)).sum(axis: 1), logits.gather([2, 0]).scalars(as: Double.self))
    }

    // MARK: Gradient checks

    @Test func sliceGradientScattersIntoZeros() {
        expectGradientsMatch({ $0[0].slice(axis: 2, 1..<5, step: 2) }, at: [Self.x])
        expectGradientsMatch({ $0[0].slice(axis: 0, 1..<3) }, at: [Self.x])
        expectGradientsMatch({ $0[0].slice(axis: -2, 0..<4, step: 3).slice(axis: 2, 0..<5, step: 2) }, at: [Self.x])
        expectGradientsMatch({ $0[0].transposed().slice(axis: 1, 0..<5, step: 2) }, at: [Self.x])
    }

    @Test func selectAndSubscriptGradients() {
        expectGradientsMatch({ $0[0].select(axis: 1, 2) }, at: [Self.x])
        expectGradientsMatch({ $0[0].select(axis: -1, -1) }, at: [Self.x])
        expectGradientsMatch({ $0[0][1] * $0[0][2] }, at: [Self.x])
        expectGradientsMatch({ $0[0][1..<3] }, at: [Self.x])
    }

    @Test func indexSelectGradientAccumulatesRepeatedIndices() {
        expectGradientsMatch({ $0[0].indexSelect(axis: 1, [3, 0, 3, 3]) }, at: [Self.x])
        expectGradientsMatch({ $0[0].indexSelect(axis: 0, [2, 2]) }, at: [Self.x])
        expectGradientsMatch({ $0[0].indexSelect(axis: 2, [4, 1, -1]) }, at: [Self.x])
        var m = Tensor([[1, 2, 3]])
        m.requiresGrad = true
        m.indexSelect(axis: 1, [2, 0, 2, 2]).sum().backward()
        expectValues(m.grad!, [1, 0, 3], shape: [1, 3])
    }

    @Test(arguments: [0, 1, 2, -1])
    func concatenateGradientSplitsVAlongTheAxis(axis: Int) {
        var shapeB = [3, 4, 5]
        shapeB[axis < 0 ? axis + 3 : axis] = 2
        expectGradientsMatch({ Tensor.concatenate([$0[0], $0[1], $0[0]], axis: axis) },
                             at: [Self.x, seededUniform(shapeB, seed: 121)])
    }

    @Test func concatenateGradientWhenOnlySomeInputsRequireIt() {
        var a = Tensor([1, 2] as [Double])
        a.requiresGrad = true
        let c = Tensor([3] as [Double])
        Tensor.concatenate([c, a, c]).backward(Tensor([10, 20, 30, 40] as [Double]))
        expectValues(a.grad!, [20, 30])
    }

    @Test(arguments: [0, 1, 2, -1])
    func stackGradient(axis: Int) {
        expectGradientsMatch({ Tensor.stack([$0[0], $0[1].exp()], axis: axis) },
                             at: [seededUniform([2, 3], seed: 122), seededUniform([2, 3], seed: 123)])
    }

    @Test func gatherGradientScattersV() {
        expectGradientsMatch({ $0[0].gather([0, 3, 2]) }, at: [seededUniform([3, 4], seed: 124)])
        expectGradientsMatch({ $0[0].gather([2, 0, 1, 1], axis: 0) }, at: [seededUniform([3, 4], seed: 125)])
        expectGradientsMatch({ $0[0].gather((0..<15).map { $0 % 4 }, axis: 1) }, at: [Self.x])
        expectGradientsMatch({ $0[0].transposed().gather([1, 0, 2, 2]) }, at: [seededUniform([3, 4], seed: 126)])
    }
}
