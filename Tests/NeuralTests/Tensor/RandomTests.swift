import Neural
import Testing

@Suite("Random generation")
struct RandomTests {
    @Test func sameSeedGivesSameNumbers() {
        let a = Tensor.randn([1000], generator: RandomGenerator(seed: 42))
        let b = Tensor.randn([1000], generator: RandomGenerator(seed: 42))
        expectBitIdentical(a, b)
        let u1 = Tensor.uniform([257], dtype: .float64, generator: RandomGenerator(seed: 9))
        let u2 = Tensor.uniform([257], dtype: .float64, generator: RandomGenerator(seed: 9))
        expectBitIdentical(u1, u2)
        #expect(RandomGenerator(seed: 5).permutation(50) == RandomGenerator(seed: 5).permutation(50))
    }

    @Test func differentSeedsGiveDifferentNumbers() {
        let a = Tensor.randn([100], generator: RandomGenerator(seed: 1)).scalars()
        let b = Tensor.randn([100], generator: RandomGenerator(seed: 2)).scalars()
        #expect(a != b)
    }

    @Test func reseedingRestartsTheSequence() {
        let g = RandomGenerator(seed: 11)
        let first = (0..<10).map { _ in g.next() }
        g.seed(11)
        let again = (0..<10).map { _ in g.next() }
        #expect(first == again)
    }

    @Test func stateWordsResumeTheSequenceExactly() {
        let g = RandomGenerator(seed: 77)
        _ = Tensor.randn([13], generator: g)
        let saved = g.stateWords
        #expect(saved.count == 4)
        let expected = Tensor.randn([100], generator: g)
        let h = RandomGenerator(seed: 0)
        h.stateWords = saved
        expectBitIdentical(Tensor.randn([100], generator: h), expected)
    }

    @Test func aSharedGeneratorIsDrawnInTurn() {
        let g = RandomGenerator(seed: 21)
        let a = Tensor.uniform([10], dtype: .float64, generator: g)
        let b = Tensor.uniform([10], dtype: .float64, generator: g)
        let both = Tensor.uniform([20], dtype: .float64, generator: RandomGenerator(seed: 21))
        #expect(a.scalars(as: Double.self) + b.scalars(as: Double.self) == both.scalars(as: Double.self))
    }

    @Test func float32NormalsAreRoundedFloat64Normals() {
        let d = Tensor.randn([99], dtype: .float64, generator: RandomGenerator(seed: 8))
        let f = Tensor.randn([99], dtype: .float32, generator: RandomGenerator(seed: 8))
        #expect(f.scalars(as: Float.self) == d.scalars(as: Double.self).map { Float($0) })
    }

    @Test func largeFloat32DrawsAreRoundedFloat64DrawsAcrossChunks() {
        // Float32 tensors are drawn through a 4096-element buffer: more than one chunk, odd size.
        for n in [4095, 4096, 4097, 10_001] {
            let d = Tensor.randn([n], dtype: .float64, generator: RandomGenerator(seed: 9))
            let f = Tensor.randn([n], dtype: .float32, generator: RandomGenerator(seed: 9))
            #expect(f.scalars(as: Float.self) == d.scalars(as: Double.self).map { Float($0) })
            let du = Tensor.uniform([n], low: -2, high: 3, dtype: .float64, generator: RandomGenerator(seed: 10))
            let fu = Tensor.uniform([n], low: -2, high: 3, dtype: .float32, generator: RandomGenerator(seed: 10))
            #expect(fu.scalars(as: Float.self) == du.scalars(as: Double.self).map { Float($0) })
        }
    }

    @Test func randnMeanAndStdAreRoughlyRightOver100kDraws() {
        let n = 100_000
        for (mean, std) in [(0.0, 1.0), (3.0, 0.5)] {
            let x = Tensor.randn([n], mean: mean, std: std, dtype: .float64, generator: RandomGenerator(seed: 123))
            let v = x.scalars(as: Double.self)
            let m = v.reduce(0, +) / Double(n)
            let s = (v.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Double(n)).squareRoot()
            // Standard error of the mean is std/√n ≈ 0.003·std: 0.02·std is over 6 standard errors.
            #expect((m - mean).magnitude < 0.02 * std, "mean \(m)")
            #expect((s - std).magnitude < 0.02 * std, "std \(s)")
            // About 68.3% within one standard deviation.
            let within = Double(v.filter { ($0 - mean).magnitude < std }.count) / Double(n)
            #expect((within - 0.6827).magnitude < 0.01, "fraction within 1σ: \(within)")
        }
    }

    @Test func uniformMeanIsMidpoint() {
        let v = Tensor.uniform([100_000], low: 2, high: 4, dtype: .float64, generator: RandomGenerator(seed: 5)).scalars(as: Double.self)
        let m = v.reduce(0, +) / Double(v.count)
        #expect((m - 3).magnitude < 0.01)
        #expect(v.allSatisfy { $0 >= 2 && $0 < 4 })
    }

    @Test func nextUniformIsInUnitInterval() {
        let g = RandomGenerator(seed: 4)
        let v = (0..<10_000).map { _ in g.nextUniform() }
        #expect(v.allSatisfy { $0 >= 0 && $0 < 1 })
        #expect(v.min()! < 0.01 && v.max()! > 0.99)
    }

    @Test func nextIntStaysBelowBoundAndCoversIt() {
        let g = RandomGenerator(seed: 6)
        var counts = [Int](repeating: 0, count: 7)
        for _ in 0..<7000 { counts[g.nextInt(below: 7)] += 1 }
        #expect(counts.allSatisfy { $0 > 850 && $0 < 1150 }, "\(counts)")
        #expect((0..<100).allSatisfy { _ in g.nextInt(below: 1) == 0 })
    }

    @Test(arguments: [0, 1, 2, 10, 1000])
    func permutationIsAPermutation(n: Int) {
        let p = RandomGenerator(seed: UInt64(n) + 1).permutation(n)
        #expect(p.count == n)
        #expect(p.sorted() == Array(0..<n))
        if n >= 10 { #expect(p != Array(0..<n)) }
    }

    @Test func permutationsAreRoughlyUniform() {
        // Each of the 6 orders of 3 elements should come up about 1/6 of the time.
        let g = RandomGenerator(seed: 10)
        var counts: [[Int]: Int] = [:]
        for _ in 0..<6000 { counts[g.permutation(3), default: 0] += 1 }
        #expect(counts.count == 6)
        #expect(counts.values.allSatisfy { $0 > 850 && $0 < 1150 }, "\(counts)")
    }
}
