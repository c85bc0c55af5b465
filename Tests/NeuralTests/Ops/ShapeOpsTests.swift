import Neural
import Testing

@Suite("Shape operations: reshape, permute, transpose, squeeze, broadcast")
struct ShapeOpsTests {
    static let x = seededUniform([2, 3, 4], seed: 110)

    // MARK: Forward

    @Test func reshapeKeepsRowMajorOrderAndInfersMinusOne() {
        let t = Tensor.arange(0, 24).reshaped([2, 3, 4])
        #expect(t.shape == [2, 3, 4])
        #expect(t.reshaped([-1, 4]).shape == [6, 4])
        #expect(t.reshaped([4, -1]).shape == [4, 6])
        #expect(t.reshaped([24]).scalars(as: Double.self) == (0..<24).map(Double.init))
        #expect(Tensor([5] as [Double]).reshaped([]).shape == [])
        // Reshaping a non-contiguous view reads its logical order.
        let tt = t.transposed(0, 2)   // [4, 3, 2]
        let expected = allIndices([4, 3, 2]).map { Double($0[2] * 12 + $0[1] * 4 + $0[0]) }
        #expect(tt.reshaped([-1]).scalars(as: Double.self) == expected)
    }

    @Test func permuteAndTransposeReorderDimensions() {
        let t = Tensor.arange(0, 24).reshaped([2, 3, 4])
        let p = t.permuted([1, 2, 0])
        #expect(p.shape == [3, 4, 2])
        for idx in allIndices([3, 4, 2]) {
            #expect(p.item(at: idx) == t.item(at: [idx[2], idx[0], idx[1]]))
        }
        #expect(t.permuted([-1, 0, 1]).shape == [4, 2, 3])
        let m = t.transposed()   // last two swapped
        #expect(m.shape == [2, 4, 3])
        #expect(m.item(at: [1, 3, 2]) == t.item(at: [1, 2, 3]))
        #expect(t.transposed(0, 1).shape == [3, 2, 4])
        #expect(t.transposed(0, -1).item(at: [3, 1, 0]) == t.item(at: [0, 1, 3]))
        #expect(!m.isContiguous)
        #expect(m.transposed().isContiguous)
        #expect(t.permuted([0, 1, 2]).isContiguous)
    }

    @Test func squeezeAndUnsqueezeAddAndRemoveSizeOneDimensions() {
        let t = Tensor.zeros([1, 3, 1, 2])
        #expect(t.squeezed().shape == [3, 2])
        #expect(t.squeezed(0).shape == [3, 1, 2])
        #expect(t.squeezed(-2).shape == [1, 3, 2])
        let v = Tensor([1, 2, 3] as [Double])
        #expect(v.unsqueezed(0).shape == [1, 3])
        #expect(v.unsqueezed(1).shape == [3, 1])
        #expect(v.unsqueezed(-1).shape == [3, 1])
        #expect(v.unsqueezed(0).scalars(as: Double.self) == [1, 2, 3])
        #expect(Tensor.ones([1, 1]).squeezed().shape == [])
    }

    @Test func flattenedCollapsesAllButTheBatchDimension() {
        let t = Tensor.arange(0, 24).reshaped([2, 3, 4])
        #expect(t.flattened().shape == [2, 12])
        #expect(t.flattened(from: 0).shape == [24])
        #expect(t.flattened(from: 0, through: 1).shape == [6, 4])
        #expect(Tensor(3).flattened().shape == [1])
        #expect(t.flattened().scalars() == t.scalars())
    }

    @Test func broadcastToRepeatsWithoutCopying() {
        let col = Tensor([1, 2, 3] as [Double], shape: [3, 1])
        let b = col.broadcast(to: [2, 3, 4])
        #expect(b.shape == [2, 3, 4])
        #expect(!b.isContiguous)
        for idx in allIndices([2, 3, 4]) { #expect(b.item(at: idx) == Double(idx[1] + 1)) }
        expectValues(Tensor(7).broadcast(to: [2, 2]), [7, 7, 7, 7], shape: [2, 2])
    }

    // MARK: Gradient checks

    @Test func reshapeGradient() {
        expectGradientsMatch({ $0[0].reshaped([4, -1]) }, at: [Self.x])
        expectGradientsMatch({ $0[0].transposed().reshaped([6, 4]) }, at: [Self.x])
    }

    @Test func permuteAndTransposeGradients() {
        expectGradientsMatch({ $0[0].permuted([2, 0, 1]) }, at: [Self.x])
        expectGradientsMatch({ $0[0].permuted([1, 2, 0]) * 2 }, at: [Self.x])
        expectGradientsMatch({ $0[0].transposed() }, at: [Self.x])
        expectGradientsMatch({ $0[0].transposed(0, 2) }, at: [Self.x])
    }

    @Test func squeezeUnsqueezeAndFlattenGradients() {
        expectGradientsMatch({ $0[0].unsqueezed(1).unsqueezed(-1) }, at: [Self.x])
        expectGradientsMatch({ $0[0].squeezed() }, at: [seededUniform([1, 3, 1, 2], seed: 111)])
        expectGradientsMatch({ $0[0].squeezed(2) }, at: [seededUniform([2, 3, 1], seed: 112)])
        expectGradientsMatch({ $0[0].flattened() }, at: [Self.x])
        expectGradientsMatch({ $0[0].transposed().flattened(from: 0) }, at: [Self.x])
    }

    @Test func broadcastGradientSumsBackToTheOriginalShape() {
        expectGradientsMatch({ $0[0].broadcast(to: [2, 3, 4]) }, at: [seededUniform([3, 1], seed: 113)])
        expectGradientsMatch({ $0[0].broadcast(to: [2, 3, 4]) }, at: [seededUniform([4], seed: 114)])
        expectGradientsMatch({ $0[0].broadcast(to: [3, 2]) }, at: [seededUniform([], seed: 115)])
    }

    @Test func contiguousOfATransposedViewPassesGradientThrough() {
        expectGradientsMatch({ $0[0].transposed().contiguous() }, at: [Self.x])
        expectGradientsMatch({ $0[0].permuted([2, 1, 0]).contiguous().exp() }, at: [Self.x])
    }

    @Test func toDtypeGradientConvertsBack() {
        // A detour through Float32: with inputs and a step that Float32 represents exactly, the
        // central differences are exact and the check is as strict as for any other op.
        let exact = Tensor([0.5, -1.25, 2, 0.75, -3.5, 1] as [Double], shape: [2, 3], dtype: .float64)
        let report = checkGradients(of: { ($0[0].to(.float32) * 3).to(.float64).square() }, at: [exact],
                                    epsilon: 1.0 / 1024)
        #expect(report.passed, "\(report)")
        var x = Tensor([1, 2] as [Double])
        x.requiresGrad = true
        (x.to(.float64) * Tensor([3, 4] as [Double], dtype: .float64)).sum().backward()
        #expect(x.grad!.dtype == .float32)
        expectValues(x.grad!, [3, 4])
        var d = Tensor([1, 2] as [Double], dtype: .float64)
        d.requiresGrad = true
        d.to(.float32).square().sum().backward()
        #expect(d.grad!.dtype == .float64)
        expectValues(d.grad!, [2, 4])
    }

    @Test func viewsRecordTheirOperationNames() {
        var x = Tensor.zeros([2, 3])
        x.requiresGrad = true
        #expect(x.gradientFunctionName == "leaf")
        #expect(x.reshaped([3, 2]).gradientFunctionName == "reshape")
        #expect(x.transposed().gradientFunctionName == "permute")
        #expect(x.broadcast(to: [4, 2, 3]).gradientFunctionName == "broadcast")
        #expect(x.to(.float64).gradientFunctionName == "to")
    }
}
