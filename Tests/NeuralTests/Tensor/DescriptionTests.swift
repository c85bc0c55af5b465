import Neural
import Testing

@Suite("Printing tensors")
struct DescriptionTests {
    @Test func headerShowsShapeAndDtype() {
        #expect(Tensor([[1, 2, 3], [4, 5, 6]]).description == "Tensor([2, 3], float32)\n[[1, 2, 3],\n [4, 5, 6]]")
        #expect(Tensor([1, 2] as [Double], dtype: .float64).description == "Tensor([2], float64)\n[1, 2]")
        #expect(Tensor(3.5).description == "Tensor([], float32)\n3.5")
    }

    @Test func threeDimensionalTensorsSeparateBlocksByABlankLine() {
        let t = Tensor.arange(1, 9).reshaped([2, 2, 2])
        #expect(t.description == "Tensor([2, 2, 2], float32)\n[[[1, 2],\n  [3, 4]],\n\n [[5, 6],\n  [7, 8]]]")
    }

    @Test func longDimensionsAreElidedKeepingThreeAtEachEnd() {
        let v = Tensor.arange(0, 100)
        #expect(v.description == "Tensor([100], float32)\n[0, 1, 2, …, 97, 98, 99]")
        let m = Tensor.arange(0, 20).reshaped([10, 2])
        #expect(m.description == "Tensor([10, 2], float32)\n[[0, 1],\n [2, 3],\n [4, 5],\n …,\n [14, 15],\n [16, 17],\n [18, 19]]")
        // Exactly six entries are shown in full.
        #expect(Tensor.arange(0, 6).description == "Tensor([6], float32)\n[0, 1, 2, 3, 4, 5]")
        // A big tensor prints quickly and compactly.
        let big = Tensor.zeros([1000, 1000])
        #expect(big.description.count < 200)
        #expect(big.description.hasPrefix("Tensor([1000, 1000], float32)"))
    }

    @Test func nonIntegerValuesUpToFourDecimalsOrScientific() {
        let t = Tensor([0.5, -1.25, 1e-7, 1e10, 0.1] as [Double], dtype: .float64)
        #expect(t.description == "Tensor([5], float64)\n[0.5, -1.25, 1.0000e-07, 1.0000e+10, 0.1]")
        let special = Tensor([.nan, .infinity, -.infinity] as [Double])
        #expect(special.description.hasSuffix("[nan, inf, -inf]"))
    }

    @Test func viewsPrintInLogicalOrder() {
        let t = Tensor([[1, 2, 3], [4, 5, 6]]).transposed()
        #expect(t.description == "Tensor([3, 2], float32)\n[[1, 4],\n [2, 5],\n [3, 6]]")
    }

    @Test func autodiffStateAppearsInTheHeader() {
        var x = Tensor([1, 2] as [Double])
        x.requiresGrad = true
        #expect(x.description.hasPrefix("Tensor([2], float32, requiresGrad)"))
        #expect((x * x).description.hasPrefix("Tensor([2], float32, grad_fn: mul)"))
        #expect(String(reflecting: x) == x.description)
        #expect("\(x.detached())".hasPrefix("Tensor([2], float32)\n"))
    }
}
