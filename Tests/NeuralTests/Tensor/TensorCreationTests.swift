import Neural
import Testing

@Suite("Tensor creation and value access")
struct TensorCreationTests {
    @Test func scalarHasEmptyShapeAndOneElement() {
        let s = Tensor(3.5)
        #expect(s.shape == [])
        #expect(s.rank == 0)
        #expect(s.count == 1)
        #expect(s.dtype == .float32)
        #expect(s.item() == 3.5)
        #expect(Tensor(2.25, dtype: .float64).dtype == .float64)
    }

    @Test func valuesFillShapeRowMajor() {
        let t = Tensor([1, 2, 3, 4, 5, 6] as [Double], shape: [2, 3])
        #expect(t.shape == [2, 3])
        #expect(t.rank == 2)
        #expect(t.count == 6)
        #expect(t.size(0) == 2 && t.size(1) == 3 && t.size(-1) == 3)
        #expect(t.item(at: [1, 0]) == 4)
        #expect(t.item(at: [-1, -1]) == 6)
        #expect(t.scalars(as: Double.self) == [1, 2, 3, 4, 5, 6])
        #expect(t.isContiguous)
    }

    @Test func oneDimensionalByDefault() {
        let t = Tensor([1.5, 2.5] as [Double])
        #expect(t.shape == [2])
        let f = Tensor([1.5, 2.5] as [Float])
        #expect(f.shape == [2])
        #expect(f.dtype == .float32)
        #expect(f.scalars() == [1.5, 2.5] as [Float])
    }

    @Test func nestedArraysGiveMatricesAndThreeDimensionalTensors() {
        let m = Tensor([[1, 2, 3], [4, 5, 6]], dtype: .float64)
        #expect(m.shape == [2, 3])
        #expect(m.dtype == .float64)
        #expect(m.item(at: [1, 2]) == 6)
        let b = Tensor([[[1, 2], [3, 4], [5, 6]], [[7, 8], [9, 10], [11, 12]]])
        #expect(b.shape == [2, 3, 2])
        #expect(b.item(at: [1, 2, 0]) == 11)
        #expect(b.scalars(as: Double.self) == (1...12).map(Double.init))
    }

    @Test func float32StorageRoundsToNearestFloat() {
        let t = Tensor([0.1, 1e-3] as [Double])
        #expect(t.scalars() == [Float(0.1), Float(1e-3)])
        #expect(t.item(at: [0]) == Double(Float(0.1)))
        let d = Tensor([0.1] as [Double], dtype: .float64)
        #expect(d.item() == 0.1)
    }

    @Test func constantsFillEveryElement() {
        #expect(Tensor.zeros([2, 3]).scalars(as: Double.self) == [Double](repeating: 0, count: 6))
        #expect(Tensor.ones([4]).scalars(as: Double.self) == [1, 1, 1, 1])
        let f = Tensor.full([2, 2], -7.5, dtype: .float64)
        #expect(f.dtype == .float64)
        #expect(f.scalars(as: Double.self) == [-7.5, -7.5, -7.5, -7.5])
        let like = Tensor.ones(like: f)
        #expect(like.shape == [2, 2] && like.dtype == .float64)
        #expect(Tensor.zeros(like: Tensor.ones([3, 1])).shape == [3, 1])
        // Large enough for the parallel fill path.
        let big = Tensor.full([300_000], 2)
        #expect(big.scalars().allSatisfy { $0 == 2 })
    }

    @Test func emptyShapesHaveNoElements() {
        let e = Tensor.zeros([0, 3])
        #expect(e.count == 0)
        #expect(e.scalars().isEmpty)
        #expect(Tensor.arange(5, 5).shape == [0])
    }

    @Test func arangeExcludesEnd() {
        #expect(Tensor.arange(0, 5).scalars(as: Double.self) == [0, 1, 2, 3, 4])
        #expect(Tensor.arange(1, 2, step: 0.25, dtype: .float64).scalars(as: Double.self) == [1, 1.25, 1.5, 1.75])
        #expect(Tensor.arange(3, 0, step: -1).scalars(as: Double.self) == [3, 2, 1])
    }

    @Test func linspaceIncludesBothEnds() {
        #expect(Tensor.linspace(0, 1, count: 5, dtype: .float64).scalars(as: Double.self) == [0, 0.25, 0.5, 0.75, 1])
        #expect(Tensor.linspace(2, 3, count: 1).scalars(as: Double.self) == [2])
        #expect(Tensor.linspace(0, 1, count: 0).count == 0)
        #expect(Tensor.linspace(-1, 0.3, count: 7, dtype: .float64).item(at: [6]) == 0.3)
    }

    @Test func toConvertsDtypeBothWays() {
        let d = Tensor([0.1, -2.5, 3] as [Double], dtype: .float64)
        let f = d.to(.float32)
        #expect(f.dtype == .float32)
        #expect(f.scalars() == [Float(0.1), -2.5, 3])
        let back = f.to(.float64)
        #expect(back.dtype == .float64)
        #expect(back.scalars(as: Double.self) == [Double(Float(0.1)), -2.5, 3])
        // Converting a transposed view converts its logical (row-major) order.
        let m = Tensor([[1, 2], [3, 4]]).transposed().to(.float64)
        #expect(m.scalars(as: Double.self) == [1, 3, 2, 4])
    }

    @Test func scalarsConvertBetweenFloatAndDouble() {
        let f = Tensor([1.5, 2.5] as [Double])
        #expect(f.scalars(as: Double.self) == [1.5, 2.5])
        let d = Tensor([1.5, 2.5] as [Double], dtype: .float64)
        #expect(d.scalars(as: Float.self) == [1.5, 2.5])
    }

    @Test func copiesHaveValueSemanticsCopyOnWrite() {
        let a = Tensor([1, 2, 3] as [Double])
        var b = a
        b.withUnsafeMutableScalars(as: Float.self) { $0[0] = 100 }
        #expect(a.scalars() == [1, 2, 3])
        #expect(b.scalars() == [100, 2, 3])
    }

    @Test func writingThroughAViewCopyDoesNotChangeTheBase() {
        let base = Tensor([[1, 2, 3], [4, 5, 6]])
        var view = base.transposed()
        #expect(!view.isContiguous)
        view.withUnsafeMutableScalars(as: Float.self) { buffer in
            for i in buffer.indices { buffer[i] *= 10 }
        }
        #expect(view.isContiguous)
        #expect(view.scalars() == [10, 40, 20, 50, 30, 60])
        #expect(base.scalars() == [1, 2, 3, 4, 5, 6])
    }

    @Test func withUnsafeScalarsReadsRowMajorLogicalOrder() {
        let t = Tensor([[1, 2, 3], [4, 5, 6]], dtype: .float64).transposed()
        let values = t.withUnsafeScalars(as: Double.self) { Array($0) }
        #expect(values == [1, 4, 2, 5, 3, 6])
    }

    @Test func contiguousCopiesAViewIntoRowMajorOrder() {
        let t = Tensor.arange(0, 24).reshaped([2, 3, 4]).permuted([2, 0, 1])
        #expect(t.shape == [4, 2, 3])
        #expect(!t.isContiguous)
        let c = t.contiguous()
        #expect(c.isContiguous)
        var expected: [Double] = []
        for k in 0..<4 { for i in 0..<2 { for j in 0..<3 { expected.append(Double(i * 12 + j * 4 + k)) } } }
        #expect(c.scalars(as: Double.self) == expected)
        #expect(t.item(at: [3, 1, 2]) == 23)
    }

    @Test func uniformStaysInRange() {
        let u = Tensor.uniform([10_000], low: -2, high: 3, generator: RandomGenerator(seed: 3))
        let v = u.scalars(as: Double.self)
        #expect(v.allSatisfy { $0 >= -2 && $0 <= 3 })
        #expect(v.min()! < -1.9 && v.max()! > 2.9)
    }

    @Test func dtypeByteSizesAndNames() {
        #expect(DType.float32.byteSize == 4)
        #expect(DType.float64.byteSize == 8)
        #expect(DType.float32.description == "float32")
        #expect(Float.dtype == .float32 && Double.dtype == .float64)
    }
}
