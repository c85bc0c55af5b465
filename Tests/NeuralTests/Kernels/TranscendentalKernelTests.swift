import Foundation
import Neural
import Testing

/// Distance in units in the last place between two Floats (0 for equal values or two NaNs).
private func ulpDistance(_ a: Float, _ b: Float) -> Int {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN ? 0 : Int.max }
    if a == b { return 0 }
    func ordered(_ f: Float) -> Int {
        let i = Int(Int32(bitPattern: f.bitPattern))
        return i < 0 ? Int(Int32.min) - i : i
    }
    return abs(ordered(a) - ordered(b))
}

/// Float32 inputs covering the interesting ranges: small, moderate, large, near overflow and
/// underflow, subnormal, zero, infinities and NaN; 100,003 values so the SIMD tail is exercised.
private let inputs: [Float] = {
    let g = RandomGenerator(seed: 77)
    var xs = Tensor.randn([100_000], generator: g).scalars(as: Float.self).enumerated().map { i, v in
        v * [0.001, 0.3, 1, 3, 10, 30, 90][i % 7]
    }
    xs += [0, -0, .leastNonzeroMagnitude, -.leastNonzeroMagnitude, 1e-38, 1e-30, 1e-8, -1e-8, 3e-4, 88.7, 88.8, -103.9, -104, 20, 20.5, -20, -40, 41,
           .infinity, -.infinity, .nan]
    return xs
}()

/// The SIMD Float32 kernels agree with the Double libm reference rounded to Float.
@Suite("Float32 transcendental kernels against libm")
struct TranscendentalKernelTests {
    private func check(_ name: String, maxULP: Int, _ op: (Tensor) -> Tensor, _ reference: (Double) -> Double,
                       where include: (Float) -> Bool = { _ in true }) {
        let got = op(Tensor(inputs)).scalars(as: Float.self)
        var worst = 0, worstX: Float = 0
        for (x, y) in zip(inputs, got) where include(x) {
            let d = ulpDistance(y, Float(reference(Double(x))))
            if d > worst { worst = d; worstX = x }
        }
        #expect(worst <= maxULP, "\(name): \(worst) ulp at x = \(worstX)")
    }

    @Test func expLogTanhSigmoidAreWithinOneULP() {
        check("exp", maxULP: 1, { $0.exp() }, Foundation.exp)
        check("log", maxULP: 1, { $0.log() }, Foundation.log)
        check("tanh", maxULP: 1, { $0.tanh() }, Foundation.tanh)
        check("sigmoid", maxULP: 1, { $0.sigmoid() }, { 1 / (1 + Foundation.exp(-$0)) })
    }

    @Test func geluAndSoftplusAreWithinOneULP() {
        let phi = { (x: Double) in 0.5 * erfc(-x / 2.0.squareRoot()) }
        check("gelu", maxULP: 1, { $0.gelu() }, { $0 * phi($0) }, where: { $0.isFinite })
        check("softplus", maxULP: 1, { $0.softplus() }, { $0 > 20 ? $0 : Swift.max($0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs($0))) })
        check("softplus β=2", maxULP: 1, { $0.softplus(beta: 2, threshold: 10) }, {
            2 * $0 > 10 ? $0 : (Swift.max(2 * $0, 0) + Foundation.log1p(Foundation.exp(-Swift.abs(2 * $0)))) / 2
        })
    }

    @Test func geluBackwardIsWithinOneULP() {
        var x = Tensor(inputs.filter(\.isFinite))
        x.requiresGrad = true
        let v = Tensor.randn([x.count], generator: RandomGenerator(seed: 78))
        x.gelu().backward(v)
        let xs = x.detached().scalars(as: Float.self), vs = v.scalars(as: Float.self)
        let got = x.grad!.scalars(as: Float.self)
        var worst = 0
        for i in 0..<xs.count {
            let z = Double(xs[i])
            let ref = Double(vs[i]) * (0.5 * erfc(-z / 2.0.squareRoot()) + z * Foundation.exp(-z * z / 2) / (2 * Double.pi).squareRoot())
            worst = max(worst, ulpDistance(got[i], Float(ref)))
        }
        #expect(worst <= 1)
    }

    @Test func specialValuesFollowLibm() {
        let x = Tensor([0, -1, .infinity, -.infinity, .nan] as [Float])
        #expect(x.log().scalars(as: Float.self).map { $0.isNaN ? 999 : $0 } == [-.infinity, 999, .infinity, 999, 999])
        #expect(x.exp().scalars(as: Float.self).map { $0.isNaN ? 999 : $0 } == [1, Float(Foundation.exp(-1.0)), .infinity, 0, 999])
        #expect(x.tanh().scalars(as: Float.self).map { $0.isNaN ? 999 : $0 } == [0, Float(Foundation.tanh(-1.0)), 1, -1, 999])
        #expect(x.relu().scalars(as: Float.self) == [0, 0, .infinity, 0, 0])
    }
}

/// Ops write over temporaries nobody else holds, and never over a value someone can still see.
@Suite("In-place reuse of temporaries")
struct InPlaceReuseTests {
    @Test func chainedOpsOnTemporariesGiveTheSameValues() {
        let x = Tensor.randn([10_000], generator: RandomGenerator(seed: 79))
        let keep = x.scalars(as: Float.self)
        let y = (x * 1.5 + -0.25).relu()
        let z = ((x * 2).exp().log() - x * 2).abs()
        #expect(x.scalars(as: Float.self) == keep)  // the input is untouched
        for (xi, yi) in zip(keep, y.scalars(as: Float.self)) { #expect(yi == max(0, xi * 1.5 - 0.25)) }
        #expect(z.max().item() < 1e-5)
    }

    @Test func sharedValuesAreNeverOverwritten() {
        let a = Tensor.randn([4096], generator: RandomGenerator(seed: 80)) * 1   // a temporary bound to a name
        let b = a                                                                  // shares a's storage
        let c = a.relu() + 1
        _ = b.exp()
        let d = -b
        #expect(a.scalars(as: Float.self) == b.scalars(as: Float.self))
        #expect(zip(a.scalars(as: Float.self), c.scalars(as: Float.self)).allSatisfy { $1 == max($0, 0) + 1 })
        #expect(zip(a.scalars(as: Float.self), d.scalars(as: Float.self)).allSatisfy { $1 == -$0 })
        // Views of a temporary are never overwritten either.
        let row = (Tensor.ones([4, 8]) * 3).slice(axis: 0, 1..<2)
        #expect(row.exp().scalars(as: Float.self).allSatisfy { $0 == Float(Foundation.exp(3.0)) })
    }

    @Test func gradientsStillFlowThroughTemporaries() {
        var x = Tensor.randn([64], generator: RandomGenerator(seed: 81))
        x.requiresGrad = true
        ((x * 2 + 1).tanh().sigmoid() * 3).sum().backward()
        let xs = x.detached().scalars(as: Double.self)
        for (i, g) in x.grad!.scalars(as: Double.self).enumerated() {
            let t = Foundation.tanh(2 * xs[i] + 1), s = 1 / (1 + Foundation.exp(-t))
            #expect(abs(g - 3 * s * (1 - s) * (1 - t * t) * 2) < 1e-5)
        }
    }
}
