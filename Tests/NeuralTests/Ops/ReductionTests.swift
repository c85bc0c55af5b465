import Neural
import Testing

/// A naive reduction of `x` over `axes` (nil = all) by visiting every element: the reference.
private func naiveReduce(_ x: Tensor, axes: [Int]?, keepDims: Bool,
                         initial: Double, _ combine: (Double, Double) -> Double) -> (shape: [Int], values: [Double]) {
    let rank = x.rank
    let ax = Set((axes ?? Array(0..<rank)).map { $0 < 0 ? $0 + rank : $0 })
    let keptShape = x.shape.enumerated().map { ax.contains($0.offset) ? 1 : $0.element }
    var out = [Double](repeating: initial, count: keptShape.reduce(1, *))
    for index in allIndices(x.shape) {
        let target = index.enumerated().map { ax.contains($0.offset) ? 0 : $0.element }
        let p = linearIndex(target, keptShape)
        out[p] = combine(out[p], x.item(at: index))
    }
    let shape = keepDims ? keptShape : x.shape.enumerated().filter { !ax.contains($0.offset) }.map(\.element)
    return (shape, out)
}

@Suite("Reductions, softmax and log-softmax")
struct ReductionTests {
    static let x = seededUniform([2, 3, 4], seed: 50, low: -2, high: 2)

    // MARK: Forward against a naive reference

    @Test(arguments: AxesCase.rank3)
    func sumMeanMaxMinMatchNaiveReference(_ c: AxesCase) {
        let x = Self.x
        let sum = naiveReduce(x, axes: c.axes, keepDims: c.keepDims, initial: 0, +)
        expectValues(x.sum(axes: c.axes, keepDims: c.keepDims), sum.values, shape: sum.shape, tolerance: 1e-14)
        let n = Double(x.count / sum.values.count)
        expectValues(x.mean(axes: c.axes, keepDims: c.keepDims), sum.values.map { $0 / n }, shape: sum.shape, tolerance: 1e-14)
        let max = naiveReduce(x, axes: c.axes, keepDims: c.keepDims, initial: -.infinity) { Swift.max($0, $1) }
        expectValues(x.max(axes: c.axes, keepDims: c.keepDims), max.values, shape: max.shape, tolerance: 0)
        let min = naiveReduce(x, axes: c.axes, keepDims: c.keepDims, initial: .infinity) { Swift.min($0, $1) }
        expectValues(x.min(axes: c.axes, keepDims: c.keepDims), min.values, shape: min.shape, tolerance: 0)
    }

    @Test(arguments: AxesCase.rank3)
    func logsumexpMatchesNaiveLogOfSumOfExp(_ c: AxesCase) {
        let x = Self.x
        let naive = x.exp().sum(axes: c.axes, keepDims: c.keepDims).log()
        expectValues(x.logsumexp(axes: c.axes, keepDims: c.keepDims), naive.scalars(as: Double.self),
                     shape: naive.shape, tolerance: 1e-14)
    }

    @Test(arguments: AxesCase.rank3)
    func varianceIsPopulationVarianceDividingByN(_ c: AxesCase) {
        let x = Self.x
        let sum = naiveReduce(x, axes: c.axes, keepDims: true, initial: 0, +)
        let n = Double(x.count / sum.values.count)
        let mean = Tensor(sum.values.map { $0 / n }, shape: sum.shape, dtype: .float64)
        let sq = naiveReduce((x - mean) * (x - mean), axes: c.axes, keepDims: c.keepDims, initial: 0, +)
        expectValues(x.variance(axes: c.axes, keepDims: c.keepDims), sq.values.map { $0 / n },
                     shape: sq.shape, tolerance: 1e-14)
    }

    @Test func singleAxisOverloadsAgreeWithAxesForms() {
        let x = Self.x
        for axis in [0, 1, 2, -1] {
            for keep in [false, true] {
                expectBitIdentical(x.sum(axis: axis, keepDims: keep), x.sum(axes: [axis], keepDims: keep))
                expectBitIdentical(x.mean(axis: axis, keepDims: keep), x.mean(axes: [axis], keepDims: keep))
                expectBitIdentical(x.max(axis: axis, keepDims: keep), x.max(axes: [axis], keepDims: keep))
                expectBitIdentical(x.min(axis: axis, keepDims: keep), x.min(axes: [axis], keepDims: keep))
            }
        }
    }

    @Test func handComputedValues() {
        let m = Tensor([[1, 2, 3], [4, 5, 6]])
        expectValues(m.sum(), [21], shape: [])
        expectValues(m.sum(axis: 0), [5, 7, 9], shape: [3])
        expectValues(m.sum(axis: 1, keepDims: true), [6, 15], shape: [2, 1])
        expectValues(m.mean(axis: 1), [2, 5], shape: [2])
        expectValues(m.max(axis: 0), [4, 5, 6])
        expectValues(m.min(axis: 1), [1, 4])
        // Population variance: [1, 2, 3, 4] has mean 2.5 and variance (2.25+0.25+0.25+2.25)/4 = 1.25.
        expectValues(Tensor([1, 2, 3, 4] as [Double]).variance(), [1.25], shape: [])
        expectValues(m.variance(axes: [1]), [2.0 / 3, 2.0 / 3], tolerance: 1e-6)
    }

    // MARK: Gradient checks over every axis, axis pair and all axes

    @Test(arguments: AxesCase.rank3)
    func sumGradientBroadcastsVBack(_ c: AxesCase) {
        expectGradientsMatch({ $0[0].sum(axes: c.axes, keepDims: c.keepDims) }, at: [Self.x])
    }

    @Test(arguments: AxesCase.rank3)
    func meanGradientIsVOverN(_ c: AxesCase) {
        expectGradientsMatch({ $0[0].mean(axes: c.axes, keepDims: c.keepDims) }, at: [Self.x])
    }

    @Test(arguments: AxesCase.rank3)
    func maxGradientGoesToTheArgmax(_ c: AxesCase) {
        expectGradientsMatch({ $0[0].max(axes: c.axes, keepDims: c.keepDims) }, at: [Self.x])
    }

    @Test(arguments: AxesCase.rank3)
    func minGradientGoesToTheArgmin(_ c: AxesCase) {
        expectGradientsMatch({ $0[0].min(axes: c.axes, keepDims: c.keepDims) }, at: [Self.x])
    }

    @Test(arguments: AxesCase.rank3)
    func logsumexpGradientIsSoftmaxTimesV(_ c: AxesCase) {
        expectGradientsMatch({ $0[0].logsumexp(axes: c.axes, keepDims: c.keepDims) }, at: [Self.x])
    }

    @Test(arguments: AxesCase.rank3)
    func varianceGradient(_ c: AxesCase) {
        expectGradientsMatch({ $0[0].variance(axes: c.axes, keepDims: c.keepDims) }, at: [Self.x])
    }

    @Test(arguments: [0, 1, 2, -1])
    func softmaxAndLogSoftmaxGradients(axis: Int) {
        expectGradientsMatch({ $0[0].softmax(axis: axis) }, at: [Self.x])
        expectGradientsMatch({ $0[0].logSoftmax(axis: axis) }, at: [Self.x])
    }

    @Test func reductionsOfTransposedViewsHaveGradients() {
        expectGradientsMatch({ $0[0].transposed().sum(axis: 0) * $0[0].permuted([2, 0, 1]).max(axes: [1]) },
                             at: [seededUniform([2, 4, 3], seed: 51)])
    }

    @Test func maxSplitsGradientEvenlyAmongTiedMaxima() {
        var x = Tensor([[1, 3, 3], [5, 2, 5]] as [[Double]])
        x.requiresGrad = true
        x.max(axis: 1).sum().backward()
        expectValues(x.grad!, [0, 0.5, 0.5, 0.5, 0, 0.5])
    }

    // MARK: Numerical stability

    @Test func logsumexpIsStableForHugeValues() {
        for dtype in DType.floatingPointCases {
            let l = Tensor([1000, 1000] as [Double], dtype: dtype).logsumexp().item()
            #expect((l - 1000.6931471805599).magnitude < (dtype == .float32 ? 1e-4 : 1e-12), "\(dtype): \(l)")
            let small = Tensor([-1000, -1000] as [Double], dtype: dtype).logsumexp().item()
            #expect((small - (-1000 + 0.6931471805599453)).magnitude < (dtype == .float32 ? 1e-4 : 1e-12))
        }
        #expect(Tensor([-Double.infinity, -.infinity] as [Double]).logsumexp().item() == -.infinity)
        #expect(Tensor([Double.infinity, 0] as [Double]).logsumexp().item() == .infinity)
        let rows = Tensor([[1000, 1000], [0, -.infinity]], dtype: .float64).logsumexp(axes: [1])
        expectValues(rows, [1000.6931471805599, 0], shape: [2], tolerance: 1e-15)
    }

    @Test func logsumexpGradientOfHugeValuesIsFinite() {
        var x = Tensor([1000, 1000, -1000] as [Double])
        x.requiresGrad = true
        x.logsumexp().backward()
        expectValues(x.grad!, [0.5, 0.5, 0])
    }

    @Test func softmaxRowsSumToOneAndAreShiftInvariant() {
        let x = seededUniform([5, 7], seed: 52, low: -5, high: 5)
        let p = x.softmax(axis: 1)
        expectValues(p.sum(axis: 1), [Double](repeating: 1, count: 5), tolerance: 1e-15)
        #expect(p.scalars(as: Double.self).allSatisfy { $0 > 0 && $0 < 1 })
        expectValues((x + 100).softmax(axis: 1), p.scalars(as: Double.self), tolerance: 1e-13)
        expectValues(x.softmax(axis: 0).sum(axis: 0), [Double](repeating: 1, count: 7), tolerance: 1e-15)
        expectValues(x.logSoftmax(axis: 1), p.log().scalars(as: Double.self), tolerance: 1e-13)
        expectValues(Tensor([1000, 1000, 1000] as [Double]).softmax(), [1.0 / 3, 1.0 / 3, 1.0 / 3])
    }

    @Test func logSoftmaxOfHugeLogitsIsFinite() {
        for dtype in DType.floatingPointCases {
            var z = Tensor([[1e4, 0, -1e4], [1e30, -1e30, 0]], dtype: dtype)
            z.requiresGrad = true
            let l = z.logSoftmax(axis: 1)
            let v = l.scalars(as: Double.self)
            #expect(v.allSatisfy { $0.isFinite }, "\(dtype): \(v)")
            #expect(v[0] == 0 && v[1] == -1e4 && v[2] == -2e4)
            #expect(v[3] == 0 && v[5] == -v[4].magnitude / 2)
            l.gather([0, 2], axis: 1).sum().backward()
            #expect(z.grad!.scalars(as: Double.self).allSatisfy { $0.isFinite })
        }
    }

    @Test func argmaxPicksTheFirstLargestAlongAnAxis() {
        let m = Tensor([[1, 7, 7], [9, 2, 9]])
        expectValues(m.argmax(axis: 1), [1, 0], shape: [2])
        expectValues(m.argmax(axis: 0), [1, 0, 1], shape: [3])
        expectValues(m.argmax(axis: 1, keepDims: true), [1, 0], shape: [2, 1])
        expectValues(m.argmax(), [1, 0])
        #expect(!m.argmax().requiresGrad)
    }

    @Test func meanAndSumOfFloat32AreAccurateForLongRows() {
        // 100,003 ones: the blocked reduction handles lengths that are not multiples of its blocks.
        let x = Tensor.ones([100_003])
        #expect(x.sum().item() == 100_003)
        #expect(x.mean().item() == 1)
    }
}
