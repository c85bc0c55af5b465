import Neural
import Testing

/// Two operand shapes for a broadcasting binary operation (eq. 7.83).
struct BroadcastCase: Sendable, CustomTestStringConvertible {
    let lhs: [Int], rhs: [Int]
    var testDescription: String { "\(lhs) ∘ \(rhs)" }

    static let all: [BroadcastCase] = [
        .init(lhs: [3, 4], rhs: [3, 4]),
        .init(lhs: [3, 4], rhs: [4]),
        .init(lhs: [4], rhs: [3, 4]),
        .init(lhs: [3, 1], rhs: [1, 4]),
        .init(lhs: [2, 3, 4], rhs: [3, 1]),
        .init(lhs: [2, 1, 4], rhs: [3, 1]),
        .init(lhs: [1, 3, 1], rhs: [2, 1, 4]),
        .init(lhs: [], rhs: [2, 3]),
        .init(lhs: [2, 3], rhs: []),
    ]
}

@Suite("Arithmetic: forward values and gradient checks")
struct ArithmeticGradientTests {
    // MARK: Gradient checks, tensor–tensor with broadcasting

    @Test(arguments: BroadcastCase.all)
    func addGradientSumsOverBroadcastDimensions(_ c: BroadcastCase) {
        expectGradientsMatch({ $0[0] + $0[1] }, at: [seededUniform(c.lhs, seed: 1), seededUniform(c.rhs, seed: 2)])
    }

    @Test(arguments: BroadcastCase.all)
    func subtractGradientIsVAndMinusV(_ c: BroadcastCase) {
        expectGradientsMatch({ $0[0] - $0[1] }, at: [seededUniform(c.lhs, seed: 3), seededUniform(c.rhs, seed: 4)])
    }

    @Test(arguments: BroadcastCase.all)
    func multiplyGradientIsVTimesOtherOperand(_ c: BroadcastCase) {
        expectGradientsMatch({ $0[0] * $0[1] }, at: [seededUniform(c.lhs, seed: 5), seededUniform(c.rhs, seed: 6)])
    }

    @Test(arguments: BroadcastCase.all)
    func divideGradientIsVOverBAndMinusVAOverBSquared(_ c: BroadcastCase) {
        expectGradientsMatch({ $0[0] / $0[1] },
                             at: [seededUniform(c.lhs, seed: 7), seededUniform(c.rhs, seed: 8, low: 0.5, high: 2)])
    }

    @Test func sameTensorOnBothSidesGetsBothContributions() {
        let x = seededUniform([3], seed: 9)
        expectGradientsMatch({ $0[0] * $0[0] + $0[0] / ($0[0] * $0[0] + 1) - $0[0] }, at: [x])
    }

    // MARK: Gradient checks, tensor–scalar forms and negation

    @Test func scalarFormsHaveTheRightGradients() {
        let x = seededUniform([2, 3], seed: 10, low: 0.5, high: 2)
        expectGradientsMatch({ $0[0] + 2 }, at: [x])
        expectGradientsMatch({ 2 + $0[0] }, at: [x])
        expectGradientsMatch({ $0[0] - 2 }, at: [x])
        expectGradientsMatch({ 2 - $0[0] }, at: [x])
        expectGradientsMatch({ $0[0] * 3 }, at: [x])
        expectGradientsMatch({ -3 * $0[0] }, at: [x])
        expectGradientsMatch({ $0[0] / 4 }, at: [x])
        expectGradientsMatch({ 4 / $0[0] }, at: [x])
    }

    @Test func compoundAssignmentRecordsTheOperation() {
        let x = seededUniform([2, 3], seed: 11, low: 0.5, high: 2)
        let y = seededUniform([3], seed: 12, low: 0.5, high: 2)
        expectGradientsMatch({ z in
            var t = z[0]
            t += z[1]
            t *= z[0]
            t -= z[1]
            t /= z[1]
            return t
        }, at: [x, y])
    }

    @Test func negationGradientIsMinusV() {
        expectGradientsMatch({ -$0[0] }, at: [seededUniform([2, 3, 4], seed: 13)])
        var x = Tensor([1, 2] as [Double])
        x.requiresGrad = true
        (-x).backward(Tensor([3, 5] as [Double]))
        expectValues(x.grad!, [-3, -5])
    }

    // MARK: Powers, maximum, minimum

    @Test(arguments: [2.0, 3, 0.5, -1, 1.5, 1, 0, -0.5])
    func scalarPowerGradientIsPTimesXToPMinusOne(p: Double) {
        expectGradientsMatch({ $0[0].pow(p) }, at: [seededUniform([2, 3], seed: 14, low: 0.5, high: 2)])
    }

    @Test func tensorPowerGradientsForBaseAndExponent() {
        let base = seededUniform([3, 4], seed: 15, low: 0.5, high: 2)
        expectGradientsMatch({ $0[0].pow($0[1]) }, at: [base, seededUniform([3, 4], seed: 16, low: -2, high: 2)])
        expectGradientsMatch({ $0[0].pow($0[1]) }, at: [base, seededUniform([4], seed: 17, low: -2, high: 2)])
        expectGradientsMatch({ $0[0].pow($0[1]) }, at: [seededUniform([3, 1], seed: 18, low: 0.5, high: 2),
                                                        seededUniform([1, 4], seed: 19)])
    }

    @Test func squareGradientIsTwoXV() {
        expectGradientsMatch({ $0[0].square() }, at: [seededUniform([2, 3, 4], seed: 20)])
        var x = Tensor([-1.5, 2] as [Double])
        x.requiresGrad = true
        x.square().sum().backward()
        expectValues(x.grad!, [-3, 4])
    }

    @Test(arguments: BroadcastCase.all)
    func maximumAndMinimumRouteGradientToTheWinner(_ c: BroadcastCase) {
        // Continuous random data: no ties.
        let a = seededUniform(c.lhs, seed: 21), b = seededUniform(c.rhs, seed: 22)
        expectGradientsMatch({ Tensor.maximum($0[0], $0[1]) }, at: [a, b])
        expectGradientsMatch({ Tensor.minimum($0[0], $0[1]) }, at: [a, b])
    }

    // MARK: Forward values

    @Test func broadcastingForwardValues() {
        let m = Tensor([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]])
        let row = Tensor([10, 20, 30, 40] as [Double])
        expectValues(m + row, [11, 22, 33, 44, 15, 26, 37, 48, 19, 30, 41, 52], shape: [3, 4])
        let col = Tensor([1, 2, 3] as [Double], shape: [3, 1]), r = Tensor([1, 10, 100, 1000] as [Double], shape: [1, 4])
        expectValues(col * r, [1, 10, 100, 1000, 2, 20, 200, 2000, 3, 30, 300, 3000], shape: [3, 4])
        let t = Tensor.arange(1, 25).reshaped([2, 3, 4])
        let d = Tensor([1, 2, 4] as [Double], shape: [3, 1])
        let q = t / d
        #expect(q.shape == [2, 3, 4])
        #expect(q.item(at: [1, 2, 3]) == 24.0 / 4)
        #expect(q.item(at: [0, 1, 0]) == 5.0 / 2)
        expectValues(m - 1, (0..<12).map(Double.init), shape: [3, 4])
        expectValues(1 - Tensor([1, 2] as [Double]), [0, -1])
        expectValues(Tensor([1, 2, 4] as [Double]) / 8, [0.125, 0.25, 0.5])
        expectValues(8 / Tensor([1, 2, 4] as [Double]), [8, 4, 2])
    }

    @Test func powerForwardValues() {
        let x = Tensor([1, 4, 9] as [Double], dtype: .float64)
        expectValues(x.pow(0.5), [1, 2, 3], tolerance: 1e-15)
        expectValues(x.pow(2), [1, 16, 81])
        expectValues(x.pow(-1), [1, 0.25, 1.0 / 9], tolerance: 1e-15)
        expectValues(x.pow(0), [1, 1, 1])
        expectValues(Tensor([2, 3] as [Double]).pow(Tensor([3, 2] as [Double])), [8, 9])
        expectValues(Tensor([-2, 3] as [Double]).square(), [4, 9])
    }

    @Test func maximumAndMinimumForwardWithBroadcasting() {
        let a = Tensor([[1, 5], [3, -2]]), b = Tensor([2, 0] as [Double])
        expectValues(Tensor.maximum(a, b), [2, 5, 3, 0], shape: [2, 2])
        expectValues(Tensor.minimum(a, b), [1, 0, 2, -2], shape: [2, 2])
    }

    @Test func maximumSplitsTheGradientEvenlyOnTies() {
        var a = Tensor([1, 2, 3] as [Double]), b = Tensor([1, 3, 2] as [Double])
        a.requiresGrad = true
        b.requiresGrad = true
        Tensor.maximum(a, b).sum().backward()
        expectValues(a.grad!, [0.5, 0, 1])
        expectValues(b.grad!, [0.5, 1, 0])
    }

    @Test func sumToShapeSumsLeadingAndSizeOneDimensions() {
        let g = Tensor.arange(0, 24).reshaped([2, 3, 4])
        expectValues(g.sumToShape([4]), [60, 66, 72, 78], shape: [4])
        expectValues(g.sumToShape([3, 1]), [60, 92, 124], shape: [3, 1])
        expectValues(g.sumToShape([]), [276], shape: [])
        #expect(g.sumToShape([2, 3, 4]).scalars() == g.scalars())
    }

    @Test func addInPlaceBroadcastsAndRecordsNothing() {
        var x = Tensor([[1, 2], [3, 4]])
        let snapshot = x
        x.addInPlace(Tensor([10, 20] as [Double]))
        expectValues(x, [11, 22, 13, 24])
        x.addInPlace(Tensor([1, 1, 1, 1] as [Double], shape: [2, 2], dtype: .float64), scale: -2)
        expectValues(x, [9, 20, 11, 22])
        #expect(x.dtype == .float32)
        expectValues(snapshot, [1, 2, 3, 4])   // copy-on-write

        var w = Tensor([1, 2] as [Double])
        w.requiresGrad = true
        w.addInPlace(Tensor([1, 1] as [Double]))
        #expect(w.isLeaf && w.requiresGrad)
        expectValues(w, [2, 3])
    }

    @Test func float64ArithmeticIsExact() {
        let a = Tensor([0.1, 0.2] as [Double], dtype: .float64)
        let b = Tensor([0.2, 0.1] as [Double], dtype: .float64)
        #expect((a + b).scalars(as: Double.self) == [0.1 + 0.2, 0.2 + 0.1])
        #expect((a * b).scalars(as: Double.self) == [0.1 * 0.2, 0.2 * 0.1])
        #expect((a / b).scalars(as: Double.self) == [0.1 / 0.2, 0.2 / 0.1])
    }
}
