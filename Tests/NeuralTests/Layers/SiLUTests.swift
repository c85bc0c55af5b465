import Neural
import Testing

// SiLU z·sigmoid(z), added as one source file and one registry line: the operation's gradient,
// torch.nn.SiLU's values, and the spec token, summary line and canonical spelling.

@Suite("SiLU")
struct SiLUTests {
    @Test func siluGradientIsSigmoidTimesOnePlusZTimesOneMinusSigmoid() {
        expectGradientsMatch({ $0[0].silu() }, at: [seededUniform([2, 3, 4], seed: 60, low: -6, high: 6)])
    }

    @Test func siluModuleGradientCheckInTrainingAndEvaluationMode() {
        let module = SiLU()
        for training in [true, false] {
            module.train(training)
            expectModuleGradients(module, input: awayFromZero([4, 6], seed: 61) * 3)
        }
    }

    @Test func siluMatchesTorch() {
        let c = TorchFixture.load("linear_act").case("silu")
        var x = c.tensor("x")
        x.requiresGrad = true
        let out = SiLU()(x)
        (out * c.tensor("g")).sum().backward()
        expectNear(out, c.tensor("out"), "silu out")
        expectNear(x.grad, c.tensor("grad_x"), "silu grad_x")
    }

    @Test func siluTokenParsesBuildsSummarisesAndRoundTrips() throws {
        let spec = try ModelSpec.parse("linear(8) SiLU linear(4) silu()")
        #expect(spec.description == "linear(8) silu linear(4) silu")
        #expect(try ModelSpec.parse(spec.description) == spec)
        let model = try spec.build(inputShape: [3], outputSize: 2, generator: RandomGenerator(seed: 62))
        #expect(model.layers[1] is SiLU && model.layers[3] is SiLU && model.layers.count == 5)
        let summary = ModelSummary(model: model, inputShape: [3])
        #expect(summary.rows.map(\.layer) == ["Linear(3, 8)", "SiLU", "Linear(8, 4)", "SiLU", "Linear(4, 2)"])
        #expect(summary.outputShape == [2])
        #expect(ModelSpec.tokenNames.contains("silu") && ModelSpec.usage.hasSuffix(" silu"))
        let e = #expect(throws: ModelSpecError.self) { try ModelSpec.parse("sliu") }
        #expect(e?.message == "unknown layer \"sliu\"; did you mean silu?")
    }
}
