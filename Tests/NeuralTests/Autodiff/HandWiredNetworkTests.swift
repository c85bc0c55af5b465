import Neural
import Testing

/// The house-price network of eq. 7.13: each hidden unit sees only the inputs it is wired to.
/// Columns of x: 0 size, 1 bedrooms, 2 zip code, 3 wealth, 4 an input no unit reads.
///
///   family size  a₁ = ReLU(x[size, bedrooms]·w₁ + b₁)
///   walkable     a₂ = ReLU(x[zip]·w₂ + b₂)
///   school       a₃ = ReLU(x[zip, wealth]·w₃ + b₃)
///   price        h  = [a₁, a₂, a₃]·w₄ + b₄
private struct HandWired {
    var w1: Tensor, b1: Tensor, w2: Tensor, b2: Tensor, w3: Tensor, b3: Tensor, w4: Tensor, b4: Tensor

    init(seed: UInt64) {
        let g = RandomGenerator(seed: seed)
        func p(_ shape: [Int]) -> Tensor {
            var t = Tensor.uniform(shape, low: 0.2, high: 1, dtype: .float64, generator: g)
            t.requiresGrad = true
            return t
        }
        (w1, b1, w2, b2, w3, b3, w4, b4) = (p([2, 1]), p([1]), p([1, 1]), p([1]), p([2, 1]), p([1]), p([3, 1]), p([1]))
    }

    var parameters: [Tensor] { [w1, b1, w2, b2, w3, b3, w4, b4] }

    static func predict(_ x: Tensor, _ p: [Tensor]) -> Tensor {
        let family = (x.indexSelect(axis: 1, [0, 1]).matmul(p[0]) + p[1]).relu()
        let walkable = (x.indexSelect(axis: 1, [2]).matmul(p[2]) + p[3]).relu()
        let school = (x.indexSelect(axis: 1, [2, 3]).matmul(p[4]) + p[5]).relu()
        return Tensor.concatenate([family, walkable, school], axis: 1).matmul(p[6]) + p[7]
    }

    func predict(_ x: Tensor) -> Tensor { HandWired.predict(x, parameters) }
}

@Suite("A hand-wired network (eq. 7.13, N2) trained by backprop")
struct HandWiredNetworkTests {
    static let x = Tensor.uniform([8, 5], low: 0.1, high: 1, dtype: .float64, generator: RandomGenerator(seed: 170))

    @Test func handWiredNetworkGradientsMatchFiniteDifferences_eq7_13() {
        let net = HandWired(seed: 171)
        let y = Tensor.uniform([8, 1], dtype: .float64, generator: RandomGenerator(seed: 172))
        expectGradientsMatch({ z in
            (HandWired.predict(z[0], Array(z[1...])) - y).square().mean()
        }, at: [Self.x] + net.parameters.map { $0.detached() })
    }

    @Test func inputsNoUnitReadsGetZeroGradient() {
        var x = Self.x
        x.requiresGrad = true
        HandWired(seed: 173).predict(x).sum().backward()
        let g = x.grad!
        #expect(g.shape == [8, 5])
        #expect(g.select(axis: 1, 4).scalars(as: Double.self).allSatisfy { $0 == 0 })
        #expect(g.select(axis: 1, 2).scalars(as: Double.self).allSatisfy { $0 != 0 })   // zip feeds two units
    }

    @Test func handWiredNetworkLearnsATeacherNetwork() {
        let teacher = HandWired(seed: 174)
        let x = Tensor.uniform([64, 5], low: 0.1, high: 1, dtype: .float64, generator: RandomGenerator(seed: 175))
        let y = withNoGrad { teacher.predict(x) }
        var student = HandWired(seed: 176)
        func loss() -> Tensor { (student.predict(x) - y).square().mean() }
        let initial = loss().item()
        for _ in 0..<300 {
            for p in student.parameters { p.zeroGrad() }
            loss().backward()
            withNoGrad {
                for kp in [\HandWired.w1, \.b1, \.w2, \.b2, \.w3, \.b3, \.w4, \.b4] as [WritableKeyPath<HandWired, Tensor>] {
                    let g = student[keyPath: kp].grad!
                    student[keyPath: kp].addInPlace(g, scale: -0.1)
                }
            }
        }
        let final = loss().item()
        #expect(final < initial * 0.05, "loss \(initial) → \(final)")
    }
}
