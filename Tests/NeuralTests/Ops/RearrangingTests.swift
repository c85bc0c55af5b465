import Neural
import Testing

// pad (every mode), flip, roll, repeat, split/chunk and clamp: torch reference values
// (Scripts/fixtures/ops_extra.py → ops_extra.json) for outputs and input gradients, in Float64
// (1e-10) and Float32 (1e-5), Float64 gradient checks, and the same bits at 1 and 2 threads.

/// J = Σₖ sum(outₖ ⊙ wₖ) backpropagated to each input (Float64 leaves).
func fixtureGradients(_ inputs: [Tensor], ws: [Tensor], _ f: ([Tensor]) -> [Tensor]) -> ([Tensor], [Tensor]) {
    let xs = inputs.map { t -> Tensor in var x = t; x.requiresGrad = true; return x }
    let outs = f(xs)
    zip(outs, ws).map { ($0 * $1.to($0.dtype)).sum() }.reduce(Tensor(0, dtype: outs[0].dtype), +).backward()
    return (outs.map { $0.detached() }, xs.map { $0.grad ?? Tensor.zeros(like: $0) })
}

/// Runs `f` on the case's inputs (named `names`) in Float64 and Float32 and compares the outputs
/// and the input gradients with torch's.
func expectFixture(_ c: TorchFixture.Case, inputs names: [String], sourceLocation: SourceLocation = #_sourceLocation,
                   _ f: ([Tensor]) -> [Tensor]) {
    let outputs = c.int("outputs")
    let outKeys = outputs == 1 ? ["out"] : (0..<outputs).map { "out\($0)" }
    let wKeys = outputs == 1 ? ["w"] : (0..<outputs).map { "w\($0)" }
    for (dtype, tolerance) in [(DType.float64, 1e-10), (.float32, 1e-5)] {
        let (outs, grads) = fixtureGradients(names.map { c.tensor($0).to(dtype) }, ws: wKeys.map { c.tensor($0) }, f)
        #expect(outs.count == outputs, "\(c.name): \(outs.count) outputs, torch \(outputs)", sourceLocation: sourceLocation)
        for (o, k) in zip(outs, outKeys) {
            #expect(o.dtype == dtype, sourceLocation: sourceLocation)
            expectNear(o.to(.float64), c.tensor(k), "\(c.name) \(k) \(dtype)", tolerance: tolerance, sourceLocation: sourceLocation)
        }
        for (g, n) in zip(grads, names) {
            expectNear(g.to(.float64), c.tensor("grad_" + n), "\(c.name) grad_\(n) \(dtype)", tolerance: tolerance,
                       sourceLocation: sourceLocation)
        }
    }
}

@Suite("pad, flip, roll, repeat, split, chunk, clamp match torch (ops_extra.json)")
struct RearrangingFixtureTests {
    let fixture = TorchFixture.load("ops_extra")

    private func cases(_ prefix: String) -> [TorchFixture.Case] {
        let c = fixture.cases.filter { $0.name.hasPrefix(prefix) }
        #expect(!c.isEmpty, "no fixture cases \(prefix)")
        return c
    }

    @Test func padMatchesTorchInEveryModeOverOneToThreeTrailingDimensions() {
        let all = cases("pad_")
        #expect(Set(all.map { $0.string("mode") }) == ["constant", "reflect", "replicate", "circular"])
        for c in all {
            let mode = PaddingMode(rawValue: c.string("mode"))!
            expectFixture(c, inputs: ["x"]) { [$0[0].padded(c.ints("pads"), mode: mode, value: c.double("value"))] }
        }
    }

    @Test func flipAndRollMatchTorch() {
        for c in cases("flip_") { expectFixture(c, inputs: ["x"]) { [$0[0].flipped(c.ints("dims"))] } }
        for c in cases("roll_") {
            let dims = c.ints("dims")
            expectFixture(c, inputs: ["x"]) { [$0[0].rolled(c.ints("shifts"), axes: dims.isEmpty ? nil : dims)] }
        }
    }

    @Test func repeatMatchesTorchIncludingNewLeadingDimensions() {
        for c in cases("repeat_") { expectFixture(c, inputs: ["x"]) { [$0[0].repeated(c.ints("repeats"))] } }
    }

    @Test func splitAndChunkMatchTorch() {
        expectFixture(fixture.case("split_size_2_dim1"), inputs: ["x"]) { $0[0].split(size: 2, axis: 1) }
        expectFixture(fixture.case("split_sizes_1_3_1_dim1"), inputs: ["x"]) { $0[0].split(sizes: [1, 3, 1], axis: 1) }
        expectFixture(fixture.case("chunk_3_dim0"), inputs: ["x"]) { $0[0].chunked(3, axis: 0) }
        expectFixture(fixture.case("chunk_4_dim1"), inputs: ["x"]) { $0[0].chunked(4, axis: 1) }
    }

    @Test func clampWithScalarBoundsMatchesTorchIncludingTheGradientOnTheBounds() {
        for c in cases("clamp_scalar_") {
            let lo: Double? = c.config["min"] == nil ? nil : c.double("min")
            let hi: Double? = c.config["max"] == nil ? nil : c.double("max")
            expectFixture(c, inputs: ["x"]) { [$0[0].clamped(min: lo, max: hi)] }
        }
    }

    @Test func clampWithTensorBoundsMatchesTorchForInputAndBoundGradients() {
        expectFixture(fixture.case("clamp_tensor_both"), inputs: ["x", "min", "max"]) { [$0[0].clamped(min: $0[1], max: $0[2])] }
        expectFixture(fixture.case("clamp_tensor_min"), inputs: ["x", "min"]) { [$0[0].clamped(min: $0[1], max: nil)] }
        expectFixture(fixture.case("clamp_tensor_max"), inputs: ["x", "max"]) { [$0[0].clamped(min: nil, max: $0[1])] }
    }
}

@Suite("pad, flip, roll, repeat, split, clamp: gradient checks and determinism")
struct RearrangingGradientTests {
    @Test("pad gradient check", arguments: PaddingMode.allCases)
    func padGradientCheck(mode: PaddingMode) {
        let x = seededUniform([2, 3, 4, 5], seed: 1)
        expectGradientsMatch({ $0[0].padded([2, 3, 1, 3], mode: mode) }, at: [x])
        expectGradientsMatch({ $0[0].padded([1, 0, 0, 2, 1, 1], mode: mode) }, at: [x])
    }

    @Test func flipRollRepeatSplitGradientChecks() {
        let x = seededUniform([3, 4, 5], seed: 2)
        expectGradientsMatch({ $0[0].flipped([0, 2]) }, at: [x])
        expectGradientsMatch({ $0[0].rolled([3, -7], axes: [1, 2]) }, at: [x])
        expectGradientsMatch({ $0[0].rolled([4], axes: nil) }, at: [x])
        expectGradientsMatch({ $0[0].repeated([2, 1, 3, 2]) }, at: [x])
        expectGradientsMatch({ xs in
            let p = xs[0].split(sizes: [1, 3], axis: 1)
            return p[0].sum() * 2 + (p[1] * p[1]).sum()
        }, at: [x])
        expectGradientsMatch({ xs in
            let p = xs[0].chunked(2, axis: 2)
            return (p[0] * p[0]).sum() - p[1].sum() * 3
        }, at: [x])
    }

    @Test func clampGradientCheckAwayFromTheBounds() {
        let x = awayFromZero([4, 5], seed: 3)
        expectGradientsMatch({ $0[0].clamped(min: -0.5, max: 0.7) }, at: [x])
        let lo = Tensor([-0.1, 0.05, -0.3, 0.15, -0.7], dtype: .float64), hi = Tensor([[0.5], [0.9], [0.1], [-0.05]], dtype: .float64)
        expectGradientsMatch({ $0[0].clamped(min: $0[1], max: $0[2]) }, at: [x, lo, hi])
    }

    @Test func padExamplesAndCrop() {
        let x = Tensor([[1, 2, 3, 4]])
        #expect(x.padded([2, 2], mode: .reflect).scalars(as: Double.self) == [3, 2, 1, 2, 3, 4, 3, 2])
        #expect(x.padded([2, 2], mode: .replicate).scalars(as: Double.self) == [1, 1, 1, 2, 3, 4, 4, 4])
        #expect(x.padded([2, 2], mode: .circular).scalars(as: Double.self) == [3, 4, 1, 2, 3, 4, 1, 2])
        #expect(x.padded([1, -2], value: 9).scalars(as: Double.self) == [9, 1, 2])
        #expect(Tensor(integers: [1, 2, 3]).padded([1, 1], mode: .reflect).scalars(as: Int64.self) == [2, 1, 2, 3, 2])
        #expect(x.padded([0, 0, 1, 1]).shape == [3, 4])
    }

    @Test func sameBitsAtOneAndTwoThreads() {
        let x = seededUniform([8, 16, 40, 40], seed: 4, dtype: .float32)
        func run() -> [Tensor] {
            var leaf = x
            leaf.requiresGrad = true
            let y = leaf.padded([3, 3, 3, 3], mode: .reflect).flipped([3]).rolled([5], axes: [2]).clamped(min: -0.5, max: 0.5)
            (y * y).sum().backward()
            return [y.detached(), leaf.grad!]
        }
        let one = Runtime.withThreads(1) { run() }, two = Runtime.withThreads(2) { run() }
        for (a, b) in zip(one, two) { expectBitIdentical(a, b) }
    }
}
