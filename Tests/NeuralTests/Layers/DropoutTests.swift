import Neural
import Testing

// Dropout: inverted dropout in training mode only, reproducible from a seeded generator.

@Suite("Dropout")
struct DropoutTests {
    @Test func evaluationModeIsTheIdentity() {
        let x = seededUniform([50, 20], seed: 1)
        let d = Dropout(0.5, generator: RandomGenerator(seed: 2)).eval()
        expectBitIdentical(d(x), x)
        #expect(d.parameterCount == 0 && d.stateDict().isEmpty)
    }

    @Test func zeroProbabilityIsTheIdentityInTraining() {
        let x = seededUniform([10, 10], seed: 3)
        expectBitIdentical(Dropout(0).train()(x), x)
    }

    @Test func probabilityOneZeroesEverything() {
        let x = seededUniform([10, 10], seed: 4)
        #expect(Dropout(1).train()(x).scalars(as: Double.self).allSatisfy { $0 == 0 })
    }

    @Test("drops about p of the elements and scales survivors by 1/(1 − p)", arguments: [0.1, 0.5, 0.8])
    func invertedDropout(p: Double) {
        let x = seededUniform([200, 100], seed: 5, low: 0.5, high: 1.5)
        let y = Dropout(p, generator: RandomGenerator(seed: 6))(x)
        let xs = x.scalars(as: Double.self), ys = y.scalars(as: Double.self)
        let dropped = ys.filter { $0 == 0 }.count
        let fraction = Double(dropped) / Double(xs.count)
        #expect(Swift.abs(fraction - p) < 0.02)
        for (a, b) in zip(xs, ys) where b != 0 {
            #expect(Swift.abs(b - a / (1 - p)) < 1e-15)
        }
        // E[y] = x: the mean is preserved (approximately, over 20,000 elements).
        let ratio: Double = ys.reduce(0, +) / xs.reduce(0, +)
        #expect(Swift.abs(ratio - 1) < 0.05)
    }

    @Test func seededGeneratorMakesMasksReproducible() {
        let x = seededUniform([30, 30], seed: 7, dtype: .float32)
        let a = Dropout(0.3, generator: RandomGenerator(seed: 11))(x)
        let b = Dropout(0.3, generator: RandomGenerator(seed: 11))(x)
        expectBitIdentical(a, b)
        let d = Dropout(0.3, generator: RandomGenerator(seed: 11))
        let first = d(x), second = d(x)     // a fresh mask per call
        #expect(first.scalars(as: Float.self) != second.scalars(as: Float.self))
    }

    @Test func gradientIsTheScaledMask() {
        var x = seededUniform([40, 5], seed: 8, low: 1, high: 2)
        x.requiresGrad = true
        let p = 0.25
        let y = Dropout(p, generator: RandomGenerator(seed: 9))(x)
        y.sum().backward()
        let kept = y.scalars(as: Double.self).map { $0 != 0 }
        let grad = x.grad!.scalars(as: Double.self)
        for (k, g) in zip(kept, grad) { #expect(g == (k ? 1 / (1 - p) : 0)) }
    }

    @Test func gradientCheckInTrainingAndEvaluationMode() {
        let generator = RandomGenerator(seed: 12)
        for training in [true, false] {
            let d = Dropout(0.4, generator: generator).train(training)
            // Reseed on every call so each evaluation of f sees the same mask.
            expectGradientsMatch({ xs in generator.seed(12); return d(xs[0]) }, at: [seededUniform([6, 7], seed: 13)])
        }
    }
}
