import Neural
import Testing

// conv1d / conv2d (eq. 7.48–7.51): PyTorch reference values, central-difference gradient checks
// (input, weight, bias; padding, stride, dilation) and a direct-loop reference at odd sizes.

/// A convolution configuration for the parameterised tests (1-D when `h == nil`).
struct ConvCase: Sendable, CustomTestStringConvertible {
    let n: Int, c: Int, cout: Int
    let h: Int?, w: Int
    let kh: Int, kw: Int
    let stride: (Int, Int), padding: (Int, Int), dilation: (Int, Int)
    let bias: Bool
    var testDescription: String {
        let dims = h.map { "\($0)×\(w)" } ?? "\(w)"
        return "\(h == nil ? "1-D" : "2-D") N\(n) C\(c)→\(cout) in \(dims) k \(kh)×\(kw) s\(stride) p\(padding) d\(dilation)\(bias ? "" : " no bias")"
    }
    var inShape: [Int] { h.map { [n, c, $0, w] } ?? [n, c, w] }
    var weightShape: [Int] { h == nil ? [cout, c, kw] : [cout, c, kh, kw] }

    func apply(_ x: Tensor, _ weight: Tensor, _ b: Tensor?) -> Tensor {
        if h == nil { return x.conv1d(weight, bias: b, stride: stride.1, padding: padding.1, dilation: dilation.1) }
        return x.conv2d(weight, bias: b, stride: stride, padding: padding, dilation: dilation)
    }

    static func d1(n: Int = 2, c: Int, cout: Int, l: Int, k: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
                   bias: Bool = true) -> ConvCase {
        ConvCase(n: n, c: c, cout: cout, h: nil, w: l, kh: 1, kw: k, stride: (1, stride), padding: (0, padding),
                 dilation: (1, dilation), bias: bias)
    }

    static func d2(n: Int = 2, c: Int, cout: Int, h: Int, w: Int, k: (Int, Int), stride: (Int, Int) = (1, 1),
                   padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), bias: Bool = true) -> ConvCase {
        ConvCase(n: n, c: c, cout: cout, h: h, w: w, kh: k.0, kw: k.1, stride: stride, padding: padding,
                 dilation: dilation, bias: bias)
    }

    /// Small cases for central differences: padding, stride and dilation, alone and together.
    static let gradientCases: [ConvCase] = [
        .d1(c: 2, cout: 3, l: 7, k: 3, padding: 1),
        .d1(c: 2, cout: 2, l: 9, k: 3, stride: 2, padding: 1),
        .d1(c: 1, cout: 2, l: 10, k: 3, padding: 2, dilation: 2),
        .d1(n: 1, c: 3, cout: 2, l: 11, k: 4, stride: 3, padding: 1, dilation: 2, bias: false),
        .d2(c: 2, cout: 3, h: 5, w: 4, k: (3, 3), padding: (1, 1)),
        .d2(c: 2, cout: 2, h: 7, w: 6, k: (3, 2), stride: (2, 1), padding: (1, 0)),
        .d2(n: 1, c: 1, cout: 2, h: 7, w: 7, k: (2, 3), stride: (2, 3), padding: (1, 2), dilation: (2, 2)),
        .d2(c: 3, cout: 2, h: 3, w: 4, k: (1, 1)),
        .d2(n: 1, c: 2, cout: 2, h: 6, w: 5, k: (3, 3), dilation: (2, 1), bias: false),
        .d2(c: 1, cout: 11, h: 5, w: 6, k: (3, 3)),
    ]

    /// Odd, larger sizes for the direct-loop reference.
    static let referenceCases: [ConvCase] = [
        .d1(n: 3, c: 5, cout: 7, l: 37, k: 5, padding: 2),
        .d1(n: 5, c: 3, cout: 4, l: 41, k: 3, stride: 3, padding: 2, dilation: 3),
        .d2(n: 3, c: 3, cout: 5, h: 13, w: 11, k: (3, 3), padding: (1, 1)),
        .d2(n: 9, c: 4, cout: 6, h: 17, w: 15, k: (5, 3), stride: (2, 3), padding: (2, 1), dilation: (1, 2)),
        .d2(n: 2, c: 7, cout: 3, h: 9, w: 9, k: (1, 1)),
        .d2(n: 11, c: 2, cout: 3, h: 8, w: 10, k: (3, 3), stride: (2, 2), bias: false),
        // Fewer patch rows than output channels (K < C′): the weight gradient is computed transposed.
        .d2(n: 3, c: 1, cout: 12, h: 10, w: 9, k: (3, 3)),
        .d2(n: 2, c: 1, cout: 20, h: 9, w: 11, k: (3, 3), padding: (1, 1), bias: false),
        .d1(n: 3, c: 2, cout: 9, l: 30, k: 3, padding: 1),
    ]
}

/// The cross-correlation by direct loops over Doubles (2-D geometry; 1-D has h = kh = 1).
func naiveConvolution(x: [Double], weight: [Double], bias: [Double]?, n: Int, c: Int, h: Int, w: Int,
                      cout: Int, kh: Int, kw: Int, stride: (Int, Int), padding: (Int, Int),
                      dilation: (Int, Int)) -> (out: [Double], oh: Int, ow: Int) {
    let oh = (h + 2 * padding.0 - dilation.0 * (kh - 1) - 1) / stride.0 + 1
    let ow = (w + 2 * padding.1 - dilation.1 * (kw - 1) - 1) / stride.1 + 1
    var out = [Double](repeating: 0, count: n * cout * oh * ow)
    for s in 0..<n {
        for o in 0..<cout {
            for y in 0..<oh {
                for xo in 0..<ow {
                    var acc = bias?[o] ?? 0
                    for j in 0..<c {
                        for r in 0..<kh {
                            for q in 0..<kw {
                                let iy = y * stride.0 - padding.0 + r * dilation.0
                                let ix = xo * stride.1 - padding.1 + q * dilation.1
                                guard iy >= 0 && iy < h && ix >= 0 && ix < w else { continue }
                                acc += weight[((o * c + j) * kh + r) * kw + q] * x[((s * c + j) * h + iy) * w + ix]
                            }
                        }
                    }
                    out[((s * cout + o) * oh + y) * ow + xo] = acc
                }
            }
        }
    }
    return (out, oh, ow)
}

@Suite("Convolution ops")
struct ConvolutionTests {
    nonisolated(unsafe) static let fixture = TorchFixture.load("conv")

    static var convCaseNames: [String] { fixture.cases.map(\.name).filter { $0.hasPrefix("conv") } }

    @Test("forward and gradients match PyTorch (Float64, ≤ 1e-9)", arguments: convCaseNames)
    func matchesTorch(_ name: String) {
        let c = Self.fixture.case(name)
        var x = c.tensor("x"), w = c.tensor("weight")
        x.requiresGrad = true
        w.requiresGrad = true
        var b: Tensor? = c.bool("bias") ? c.tensor("bias") : nil
        b?.requiresGrad = true
        let (s, p, d) = (c.ints("stride"), c.ints("padding"), c.ints("dilation"))
        let out = c.string("op") == "conv1d"
            ? x.conv1d(w, bias: b, stride: s[0], padding: p[0], dilation: d[0])
            : x.conv2d(w, bias: b, stride: (s[0], s[1]), padding: (p[0], p[1]), dilation: (d[0], d[1]))
        #expect(out.shape == c.tensor("out").shape)
        #expect(maxAbsDifference(out, c.tensor("out")) <= 1e-9)
        (out * c.tensor("grad_out")).sum().backward()
        #expect(maxAbsDifference(x.grad!, c.tensor("grad_x")) <= 1e-9)
        #expect(maxAbsDifference(w.grad!, c.tensor("grad_weight")) <= 1e-9)
        if let b { #expect(maxAbsDifference(b.grad!, c.tensor("grad_bias")) <= 1e-9) }
    }

    @Test("gradients for input, weight and bias match central differences", arguments: ConvCase.gradientCases)
    func gradientCheck(_ k: ConvCase) {
        let x = seededUniform(k.inShape, seed: 1), w = seededUniform(k.weightShape, seed: 2)
        if k.bias {
            let b = seededUniform([k.cout], seed: 3)
            expectGradientsMatch({ v in k.apply(v[0], v[1], v[2]) }, at: [x, w, b])
        } else {
            expectGradientsMatch({ v in k.apply(v[0], v[1], nil) }, at: [x, w])
        }
    }

    @Test("forward equals direct loops at odd sizes (Float64 and Float32)", arguments: ConvCase.referenceCases)
    func matchesDirectLoops(_ k: ConvCase) {
        let x = seededUniform(k.inShape, seed: 11), w = seededUniform(k.weightShape, seed: 12)
        let b = k.bias ? seededUniform([k.cout], seed: 13) : nil
        let ref = naiveConvolution(x: x.scalars(as: Double.self), weight: w.scalars(as: Double.self),
                                   bias: b?.scalars(as: Double.self), n: k.n, c: k.c, h: k.h ?? 1, w: k.w, cout: k.cout,
                                   kh: k.kh, kw: k.kw, stride: k.stride, padding: k.padding, dilation: k.dilation)
        let expectedShape = k.h == nil ? [k.n, k.cout, ref.ow] : [k.n, k.cout, ref.oh, ref.ow]
        let out64 = k.apply(x, w, b)
        expectValues(out64, ref.out, shape: expectedShape, tolerance: 1e-12)
        let out32 = k.apply(x.to(.float32), w.to(.float32), b?.to(.float32))
        #expect(out32.dtype == .float32)
        expectValues(out32, ref.out, shape: expectedShape, tolerance: 1e-5)
    }

    @Test("backward equals the adjoint computed by direct loops", arguments: ConvCase.referenceCases)
    func backwardMatchesDirectLoops(_ k: ConvCase) {
        // ⟨conv(x), v⟩ is linear in x and in W: its gradients are the adjoints, which the direct
        // loops give by accumulating v into every (input, weight) pair that met in the forward.
        var x = seededUniform(k.inShape, seed: 21), w = seededUniform(k.weightShape, seed: 22)
        var b = k.bias ? seededUniform([k.cout], seed: 23) : nil
        x.requiresGrad = true; w.requiresGrad = true; b?.requiresGrad = true
        let out = k.apply(x, w, b)
        let v = seededUniform(out.shape, seed: 24)
        (out * v).sum().backward()

        let (h, kh) = (k.h ?? 1, k.kh)
        let xs = x.scalars(as: Double.self), ws = w.scalars(as: Double.self), vs = v.scalars(as: Double.self)
        let oh = k.h == nil ? 1 : out.shape[2], ow = out.shape[out.rank - 1]
        var gx = [Double](repeating: 0, count: xs.count), gw = [Double](repeating: 0, count: ws.count)
        var gb = [Double](repeating: 0, count: k.cout)
        for s in 0..<k.n {
            for o in 0..<k.cout {
                for y in 0..<oh {
                    for xo in 0..<ow {
                        let g = vs[((s * k.cout + o) * oh + y) * ow + xo]
                        gb[o] += g
                        for j in 0..<k.c {
                            for r in 0..<kh {
                                for q in 0..<k.kw {
                                    let iy = y * k.stride.0 - k.padding.0 + r * k.dilation.0
                                    let ix = xo * k.stride.1 - k.padding.1 + q * k.dilation.1
                                    guard iy >= 0 && iy < h && ix >= 0 && ix < k.w else { continue }
                                    let xi = ((s * k.c + j) * h + iy) * k.w + ix, wi = ((o * k.c + j) * kh + r) * k.kw + q
                                    gx[xi] += ws[wi] * g
                                    gw[wi] += xs[xi] * g
                                }
                            }
                        }
                    }
                }
            }
        }
        expectValues(x.grad!, gx, shape: k.inShape, tolerance: 1e-11)
        expectValues(w.grad!, gw, shape: k.weightShape, tolerance: 1e-11)
        if let b { expectValues(b.grad!, gb, shape: [k.cout], tolerance: 1e-11) }
    }

    @Test("a 1×1 convolution is a matmul over channels")
    func pointwiseIsMatmul() {
        let x = seededUniform([3, 4, 5, 6], seed: 31), w = seededUniform([7, 4, 1, 1], seed: 32)
        let out = x.conv2d(w)
        // [N, C, H, W] → [N, H, W, C] · Wᵀ [C, C′] → [N, C′, H, W].
        let ref = x.permuted([0, 2, 3, 1]).matmul(w.reshaped([7, 4]).transposed()).permuted([0, 3, 1, 2])
        #expect(maxAbsDifference(out, ref) <= 1e-12)
    }

    @Test("unbatched inputs [C, L] and [C, H, W] give unbatched outputs")
    func unbatched() {
        let x1 = seededUniform([3, 9], seed: 41), w1 = seededUniform([2, 3, 3], seed: 42)
        let y1 = x1.conv1d(w1, padding: 1)
        #expect(y1.shape == [2, 9])
        #expect(maxAbsDifference(y1, x1.unsqueezed(0).conv1d(w1, padding: 1).squeezed(0)) == 0)
        let x2 = seededUniform([3, 6, 5], seed: 43), w2 = seededUniform([4, 3, 3, 3], seed: 44)
        let y2 = x2.conv2d(w2, stride: (2, 1))
        #expect(y2.shape == [4, 2, 3])
        #expect(maxAbsDifference(y2, x2.unsqueezed(0).conv2d(w2, stride: (2, 1)).squeezed(0)) == 0)
    }

    @Test("results are bit-identical with 1 and 2 threads (forward and all gradients)")
    func threadCountIndependent() {
        func run(_ threads: Int) -> [Tensor] {
            Runtime.withThreads(threads) {
                var x = seededUniform([13, 3, 12, 11], seed: 51, dtype: .float32)
                var w = seededUniform([8, 3, 3, 3], seed: 52, dtype: .float32)
                var b = seededUniform([8], seed: 53, dtype: .float32)
                x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
                let y = x.conv2d(w, bias: b, stride: (1, 2), padding: (1, 1))
                (y * y).sum().backward()
                return [y.detached(), x.grad!, w.grad!, b.grad!]
            }
        }
        for (a, b) in zip(run(1), run(2)) { expectBitIdentical(a, b) }
    }

    @Test("Float32 outputs and gradients: patches read in place (dWᵀ = cols(x)·vᵀ) and packed (dW = v·cols(x)ᵀ) agree bit for bit and match direct loops",
          .serialized, arguments: ConvCase.referenceCases)
    func float32GradientsAgreeAcrossPatchLayouts(_ k: ConvCase) {
        func grads(inPlace: Bool?) -> [Tensor] {
            let saved = (BLAS._readsAInPlace, BLAS._readsBInPlace)
            (BLAS._readsAInPlace, BLAS._readsBInPlace) = (inPlace, inPlace)
            defer { (BLAS._readsAInPlace, BLAS._readsBInPlace) = saved }
            var x = seededUniform(k.inShape, seed: 61, dtype: .float32), w = seededUniform(k.weightShape, seed: 62, dtype: .float32)
            var b = k.bias ? seededUniform([k.cout], seed: 63, dtype: .float32) : nil
            x.requiresGrad = true; w.requiresGrad = true; b?.requiresGrad = true
            let out = k.apply(x, w, b)
            (out * seededUniform(out.shape, seed: 64, dtype: .float32)).sum().backward()
            return [out.detached(), x.grad!, w.grad!] + (b.map { [$0.grad!] } ?? [])
        }
        let packed = grads(inPlace: false), inPlace = grads(inPlace: true)
        for (p, q) in zip(packed, inPlace) { expectBitIdentical(p, q) }
        // And both are the Float64 gradients to Float32 accuracy.
        var x = seededUniform(k.inShape, seed: 61, dtype: .float32).to(.float64)
        var w = seededUniform(k.weightShape, seed: 62, dtype: .float32).to(.float64)
        x.requiresGrad = true; w.requiresGrad = true
        let b = k.bias ? seededUniform([k.cout], seed: 63, dtype: .float32).to(.float64) : nil
        let out = k.apply(x, w, b)
        (out * seededUniform(out.shape, seed: 64, dtype: .float32).to(.float64)).sum().backward()
        #expect(maxAbsDifference(inPlace[1].to(.float64), x.grad!) <= 1e-4)
        #expect(maxAbsDifference(inPlace[2].to(.float64), w.grad!) <= 2e-3)
    }

    @Test("a non-contiguous input (transposed view) gives the same result as its copy")
    func nonContiguousInput() {
        let base = seededUniform([2, 3, 7, 5], seed: 61)
        let view = base.transposed(2, 3)          // [2, 3, 5, 7], not contiguous
        let w = seededUniform([2, 3, 3, 3], seed: 62)
        #expect(maxAbsDifference(view.conv2d(w, padding: (1, 1)), view.contiguous().conv2d(w, padding: (1, 1))) == 0)
    }

    @Test("gradients flow only to the inputs that require them")
    func partialGradients() {
        let x = seededUniform([2, 2, 8], seed: 71)
        var w = seededUniform([3, 2, 3], seed: 72)
        w.requiresGrad = true
        let y = x.conv1d(w, padding: 1)
        y.sum().backward()
        #expect(w.grad != nil)
        #expect(x.grad == nil)
        #expect(y.gradientFunctionName == "conv1d")
    }
}
