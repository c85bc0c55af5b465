import Neural
import Testing

// einsum: torch reference values (ops_extra.json) for products, traces, diagonals, implicit
// outputs, ellipses and three operands, with input gradients; Float64 gradient checks; and the
// identities it must keep with matmul.

@Suite("einsum")
struct EinsumTests {
    let fixture = TorchFixture.load("ops_extra")

    @Test func matchesTorchOnEveryEquationWithGradients() {
        let cases = fixture.cases.filter { $0.name.hasPrefix("einsum_") }
        #expect(cases.count >= 20)
        for c in cases {
            let names = c.tensors.keys.filter { $0.hasPrefix("x") }.sorted()
            expectFixture(c, inputs: names) { [Tensor.einsum(c.string("equation"), $0)] }
        }
    }

    @Test("gradient check", arguments: [
        ("ij,jk->ik", [[3, 4], [4, 5]]), ("bij,bkj->bki", [[2, 3, 4], [2, 5, 4]]), ("ii->i", [[4, 4]]),
        ("iji->j", [[3, 2, 3]]), ("...ij,...jk", [[2, 3, 4], [1, 4, 2]]), ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]]),
        ("ii,ij->j", [[3, 3], [3, 4]]), ("i,j->ij", [[3], [4]]), ("abc,cd,a->bd", [[2, 3, 4], [4, 5], [2]]),
    ])
    func gradientCheck(equation: String, shapes: [[Int]]) {
        let xs = shapes.enumerated().map { seededUniform($1, seed: UInt64(10 + $0)) }
        expectGradientsMatch({ Tensor.einsum(equation, $0) }, at: xs)
    }

    @Test func equalsMatmulAndBatchedMatmulBitForBit() {
        let a = seededUniform([4, 6, 7], seed: 1, dtype: .float32), b = seededUniform([4, 7, 5], seed: 2, dtype: .float32)
        expectBitIdentical(Tensor.einsum("bij,bjk->bik", a, b), a.matmul(b))
        expectBitIdentical(Tensor.einsum("ij,jk", a[0], b[0]), a[0].matmul(b[0]))
        // A transposed operand is read in place: "ik,jk" is x·yᵀ.
        let y = seededUniform([5, 7], seed: 3, dtype: .float32)
        expectBitIdentical(Tensor.einsum("ik,jk->ij", a[0], y), a[0].matmul(y.transposed()))
    }

    @Test func implicitOutputIsTheSingleLettersInAlphabeticalOrderUpperCaseFirst() {
        let x = seededUniform([2, 3], seed: 4), y = seededUniform([3, 4], seed: 5)
        #expect(Tensor.einsum("ba,aC", x, y).shape == [4, 2])   // C before b
        #expect(Tensor.einsum("ii", seededUniform([3, 3], seed: 6)).shape == [])
        let m = Tensor([[1, 2], [3, 4]], dtype: .float64)
        #expect(Tensor.einsum("ii", m).item() == 5)
        #expect(Tensor.einsum("ii->i", m).scalars(as: Double.self) == [1, 4])
    }
}
