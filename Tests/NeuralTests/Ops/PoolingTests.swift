import Neural
import Testing

// Max and average pooling, 1-D and 2-D: PyTorch reference values, gradient checks (tie-free
// inputs for max), direct-loop references, and the routing of the backward pass.

/// Distinct values (a seeded permutation of 0.1, 0.2, …, shifted): no ties inside any window, and
/// steps of 0.1 keep the central differences (ε = 1e-6) from changing any argmax.
func tieFree(_ shape: [Int], seed: UInt64) -> Tensor {
    let n = shape.reduce(1, *)
    let g = RandomGenerator(seed: seed)
    var values = (0..<n).map { Double($0) * 0.1 - Double(n) * 0.05 }
    for i in stride(from: n - 1, to: 0, by: -1) {
        let j = Int(g.nextUniform() * Double(i + 1)) % (i + 1)
        values.swapAt(i, j)
    }
    return Tensor(values, shape: shape, dtype: .float64)
}

/// A pooling configuration (1-D when `h == nil`).
struct PoolCase: Sendable, CustomTestStringConvertible {
    let max: Bool
    let shape: [Int]
    let kernel: (Int, Int), stride: (Int, Int)?, padding: (Int, Int), dilation: (Int, Int)
    var is1D: Bool { shape.count == 3 }
    var testDescription: String {
        "\(max ? "max" : "avg")Pool\(is1D ? 1 : 2)d \(shape) k\(kernel) s\(stride.map { "\($0)" } ?? "default") p\(padding) d\(dilation)"
    }

    func apply(_ x: Tensor) -> Tensor {
        switch (max, is1D) {
        case (true, true): return x.maxPool1d(kernelSize: kernel.1, stride: stride?.1, padding: padding.1, dilation: dilation.1)
        case (false, true): return x.avgPool1d(kernelSize: kernel.1, stride: stride?.1, padding: padding.1)
        case (true, false): return x.maxPool2d(kernelSize: kernel, stride: stride, padding: padding, dilation: dilation)
        case (false, false): return x.avgPool2d(kernelSize: kernel, stride: stride, padding: padding)
        }
    }

    static func d1(max: Bool, _ shape: [Int], k: Int, stride: Int? = nil, padding: Int = 0, dilation: Int = 1) -> PoolCase {
        PoolCase(max: max, shape: shape, kernel: (1, k), stride: stride.map { (1, $0) }, padding: (0, padding),
                 dilation: (1, dilation))
    }

    static func d2(max: Bool, _ shape: [Int], k: (Int, Int), stride: (Int, Int)? = nil, padding: (Int, Int) = (0, 0),
                   dilation: (Int, Int) = (1, 1)) -> PoolCase {
        PoolCase(max: max, shape: shape, kernel: k, stride: stride, padding: padding, dilation: dilation)
    }

    static let cases: [PoolCase] = [true, false].flatMap { m in [
        PoolCase.d1(max: m, [2, 2, 9], k: 2),
        .d1(max: m, [2, 3, 11], k: 3, stride: 2, padding: 1),
        .d1(max: m, [1, 2, 10], k: 3, stride: 1, padding: 1, dilation: m ? 2 : 1),
        .d2(max: m, [2, 2, 6, 5], k: (2, 2)),
        .d2(max: m, [2, 2, 7, 6], k: (3, 2), stride: (2, 1), padding: (1, 1)),
        .d2(max: m, [1, 3, 9, 7], k: (3, 3), stride: (2, 2), padding: (1, 0), dilation: m ? (2, 1) : (1, 1)),
    ] }

    /// The pooling by direct loops (padding is −∞ for max, 0 for the average's sum).
    func naive(_ x: [Double]) -> (out: [Double], shape: [Int]) {
        let (h, w) = is1D ? (1, shape[2]) : (shape[2], shape[3])
        let planes = shape[0] * shape[1]
        let s = stride ?? kernel
        let oh = (h + 2 * padding.0 - dilation.0 * (kernel.0 - 1) - 1) / s.0 + 1
        let ow = (w + 2 * padding.1 - dilation.1 * (kernel.1 - 1) - 1) / s.1 + 1
        var out: [Double] = []
        for p in 0..<planes {
            for y in 0..<oh {
                for xo in 0..<ow {
                    var best = -Double.infinity, sum = 0.0
                    for r in 0..<kernel.0 {
                        for q in 0..<kernel.1 {
                            let iy = y * s.0 - padding.0 + r * dilation.0, ix = xo * s.1 - padding.1 + q * dilation.1
                            guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
                            let v = x[(p * h + iy) * w + ix]
                            best = Swift.max(best, v)
                            sum += v
                        }
                    }
                    out.append(max ? best : sum / Double(kernel.0 * kernel.1))
                }
            }
        }
        return (out, is1D ? [shape[0], shape[1], ow] : [shape[0], shape[1], oh, ow])
    }
}

@Suite("Pooling ops")
struct PoolingTests {
    nonisolated(unsafe) static let fixture = TorchFixture.load("conv")

    static var poolCaseNames: [String] { fixture.cases.map(\.name).filter { $0.contains("Pool") } }

    @Test("forward and gradient match PyTorch (Float64, ≤ 1e-9)", arguments: poolCaseNames)
    func matchesTorch(_ name: String) {
        let c = Self.fixture.case(name)
        var x = c.tensor("x")
        x.requiresGrad = true
        let k = c.ints("kernel"), s = c.ints("stride"), p = c.ints("padding"), d = c.ints("dilation")
        let out: Tensor
        switch c.string("op") {
        case "maxPool1d": out = x.maxPool1d(kernelSize: k[0], stride: s.first, padding: p[0], dilation: d[0])
        case "avgPool1d": out = x.avgPool1d(kernelSize: k[0], stride: s.first, padding: p[0])
        case "maxPool2d":
            out = x.maxPool2d(kernelSize: (k[0], k.last!), stride: s.isEmpty ? nil : (s[0], s.last!),
                              padding: (p[0], p.last!), dilation: (d[0], d.last!))
        case "avgPool2d":
            out = x.avgPool2d(kernelSize: (k[0], k.last!), stride: s.isEmpty ? nil : (s[0], s.last!), padding: (p[0], p.last!))
        default: Issue.record("unknown op \(c.string("op"))"); return
        }
        #expect(out.shape == c.tensor("out").shape)
        #expect(maxAbsDifference(out, c.tensor("out")) <= 1e-9)
        (out * c.tensor("grad_out")).sum().backward()
        #expect(maxAbsDifference(x.grad!, c.tensor("grad_x")) <= 1e-9)
    }

    @Test("gradient matches central differences (tie-free inputs)", arguments: PoolCase.cases)
    func gradientCheck(_ k: PoolCase) {
        expectGradientsMatch({ v in k.apply(v[0]) }, at: [tieFree(k.shape, seed: 5)])
    }

    @Test("forward equals direct loops (Float64 and Float32)", arguments: PoolCase.cases)
    func matchesDirectLoops(_ k: PoolCase) {
        let x = seededUniform(k.shape, seed: 6)
        let ref = k.naive(x.scalars(as: Double.self))
        expectValues(k.apply(x), ref.out, shape: ref.shape, tolerance: 1e-14)
        expectValues(k.apply(x.to(.float32)), ref.out, shape: ref.shape, tolerance: 1e-6)
    }

    @Test("max pooling routes each gradient to its window's maximum, the first one on ties")
    func maxRoutesToArgmax() {
        var x = Tensor([1, 5, 2, 2, 3, 0, 7, 7], shape: [1, 1, 8], dtype: .float64)
        x.requiresGrad = true
        let y = x.maxPool1d(kernelSize: 2)
        expectValues(y, [5, 2, 3, 7], shape: [1, 1, 4])
        y.backward(Tensor([10, 20, 30, 40], shape: [1, 1, 4], dtype: .float64))
        expectValues(x.grad!, [0, 10, 20, 0, 30, 0, 40, 0])
    }

    @Test("overlapping max windows add their gradients at a shared maximum")
    func overlappingMaxAccumulates() {
        var x = Tensor([0, 9, 1, 2], shape: [1, 1, 4], dtype: .float64)
        x.requiresGrad = true
        let y = x.maxPool1d(kernelSize: 2, stride: 1)       // windows [0,9], [9,1], [1,2]
        expectValues(y, [9, 9, 2])
        y.sum().backward()
        expectValues(x.grad!, [0, 2, 0, 1])
    }

    @Test("average pooling counts the zero padding (count_include_pad) and spreads v evenly")
    func averageCountsPadding() {
        var x = Tensor([[[3, 6, 9]]], dtype: .float64)       // [1, 1, 3]
        x.requiresGrad = true
        let y = x.avgPool1d(kernelSize: 2, stride: 2, padding: 1)   // windows [0,3], [6,9]
        expectValues(y, [1.5, 7.5], shape: [1, 1, 2])
        y.backward(Tensor([[[2, 4]]], dtype: .float64))
        expectValues(x.grad!, [1, 2, 2])
    }

    @Test("2-D max pooling of a known image")
    func maxPool2dKnown() {
        let x = Tensor.arange(16, dtype: .float64).reshaped([1, 1, 4, 4])
        expectValues(x.maxPool2d(kernelSize: 2), [5, 7, 13, 15], shape: [1, 1, 2, 2])
        expectValues(x.avgPool2d(kernelSize: 2), [2.5, 4.5, 10.5, 12.5], shape: [1, 1, 2, 2])
        expectValues(x.squeezed(0).maxPool2d(kernelSize: 2), [5, 7, 13, 15], shape: [1, 2, 2])
    }

    @Test("pooling results are bit-identical with 1 and 2 threads")
    func threadCountIndependent() {
        func run(_ threads: Int, max: Bool) -> [Tensor] {
            Runtime.withThreads(threads) {
                var x = seededUniform([16, 8, 20, 18], seed: 81, dtype: .float32)
                x.requiresGrad = true
                let y = max ? x.maxPool2d(kernelSize: 3, stride: 2, padding: 1) : x.avgPool2d(kernelSize: 3, stride: 2, padding: 1)
                (y * y).sum().backward()
                return [y.detached(), x.grad!]
            }
        }
        for m in [true, false] {
            for (a, b) in zip(run(1, max: m), run(2, max: m)) { expectBitIdentical(a, b) }
        }
    }

    @Test("pooling without gradients records nothing")
    func noGradient() {
        let x = seededUniform([1, 2, 6, 6], seed: 91)
        #expect(x.maxPool2d(kernelSize: 2).gradientFunctionName == nil)
        var z = x
        z.requiresGrad = true
        #expect(z.maxPool2d(kernelSize: 2).gradientFunctionName == "maxPool2d")
    }
}

@Suite("2×2 max pooling fast path (Float32)")
struct MaxPool2x2FastPathTests {
    /// Naive 2×2 / stride-2 max pooling with the library's rules: the first maximum in window
    /// order wins ties, a NaN wins (the last NaN of the window).
    private func naive(_ x: [Float], planes: Int, h: Int, w: Int) -> (out: [Float], arg: [Int]) {
        var out: [Float] = [], arg: [Int] = []
        for p in 0..<planes {
            for r in 0..<(h / 2) {
                for c in 0..<(w / 2) {
                    let idx = [2 * r * w + 2 * c, 2 * r * w + 2 * c + 1, (2 * r + 1) * w + 2 * c, (2 * r + 1) * w + 2 * c + 1]
                    var best = x[p * h * w + idx[0]], at = idx[0]
                    for i in idx.dropFirst() {
                        let v = x[p * h * w + i]
                        if v > best || v.isNaN { best = v; at = i }
                    }
                    out.append(best)
                    arg.append(p * h * w + at)
                }
            }
        }
        return (out, arg)
    }

    @Test("values, ties, NaN and gradient routing match direct loops", arguments: [(3, 24, 24), (2, 7, 41), (4, 5, 3), (1, 2, 34)])
    func matchesNaive(_ size: (Int, Int, Int)) {
        let (planes, h, w) = size
        let g = RandomGenerator(seed: 61)
        // Few distinct values (many ties), plus some NaNs.
        var values = (0..<(planes * h * w)).map { _ in Float(Int(g.nextUniform() * 4)) }
        for i in stride(from: 5, to: values.count, by: 17) { values[i] = .nan }
        var x = Tensor(values, shape: [planes, 1, h, w])
        x.requiresGrad = true
        let y = x.maxPool2d(kernelSize: 2)
        let ref = naive(values, planes: planes, h: h, w: w)
        #expect(y.shape == [planes, 1, h / 2, w / 2])
        let got = y.scalars(as: Float.self)
        #expect(got.count == ref.out.count)
        for (a, b) in zip(got, ref.out) { #expect(a == b || (a.isNaN && b.isNaN)) }
        let seed = (0..<ref.out.count).map { Float($0 + 1) }
        y.backward(Tensor(seed, shape: y.shape))
        var expected = [Float](repeating: 0, count: values.count)
        for (o, i) in ref.arg.enumerated() { expected[i] += seed[o] }
        #expect(x.grad!.scalars(as: Float.self) == expected)
    }
}
