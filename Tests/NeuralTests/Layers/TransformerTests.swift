import Neural
import Testing

/// Loads the fixture case's `param.<name>` tensors into `module` by its torch names (every
/// parameter must be present: a strict load) and returns the named parameters.
private func loadStrict(_ module: Module, _ c: TorchFixture.Case, dtype: DType) -> [(name: String, parameter: Parameter)] {
    let named = module.namedParameters()
    let fixtureNames = c.tensors.keys.filter { $0.hasPrefix("param.") }.map { String($0.dropFirst(6)) }.sorted()
    #expect(named.map(\.name).sorted() == fixtureNames, "\(c.name): parameter names differ from torch's")
    for (name, p) in named { p.value = c.tensor("param." + name).to(dtype) }
    return named
}

/// Runs `forward` on the case's x in `dtype` and compares the output, the input gradient and every
/// parameter gradient with torch's.
private func expectMatchesTorch(_ module: Module, _ c: TorchFixture.Case, dtype: DType, _ forward: (Tensor, Tensor?) -> Tensor) {
    let tolerance = dtype == .float64 ? 1e-10 : 1e-5
    let named = loadStrict(module, c, dtype: dtype)
    var x = c.tensor("x").to(dtype)
    x.requiresGrad = true
    let mask = c.tensors["key_padding_mask"]
    let out = forward(x, mask)
    (out * c.tensor("g").to(dtype)).sum().backward()
    expectNear(out, c.tensor("out"), "\(c.name) \(dtype) out", tolerance: tolerance)
    expectNear(x.grad, c.tensor("grad_x"), "\(c.name) \(dtype) grad_x", tolerance: tolerance)
    for (name, p) in named {
        expectNear(p.grad, c.tensor("grad." + name), "\(c.name) \(dtype) grad.\(name)", tolerance: tolerance)
    }
}

@Suite("MultiheadAttention and Transformer layers")
struct TransformerTests {
    @Test func multiheadAttentionMatchesTorchWithKeyPaddingCausalAndBothLayouts() {
        let fixture = TorchFixture.load("attention")
        for c in fixture.cases where c.name.hasPrefix("mha_") {
            for dtype in [DType.float64, .float32] {
                let config = c.config
                let mha = MultiheadAttention(embedDim: c.int("embed"), numHeads: c.int("heads"),
                                             bias: (config["bias"] as? Bool) ?? true, batchFirst: c.bool("batch_first"), dtype: dtype)
                let causal = c.name.contains("causal")
                expectMatchesTorch(mha, c, dtype: dtype) { x, mask in mha(x, keyPaddingMask: mask, causal: causal) }
            }
        }
    }

    @Test func crossAttentionFormEqualsSelfAttentionForm() {
        let mha = MultiheadAttention(embedDim: 8, numHeads: 2, dtype: .float64, generator: RandomGenerator(seed: 2320))
        let x = seededUniform([2, 5, 8], seed: 2321)
        let mask = Tensor([[0, 0, 1, 0, 0], [0, 0, 0, 0, 1]], dtype: .float64)
        let a = mha(x, keyPaddingMask: mask, causal: true), b = mha(query: x, key: x, value: x, keyPaddingMask: mask, causal: true)
        #expect(maxAbsDifference(a, b) < 1e-13)
    }

    @Test func encoderLayerMatchesTorchPostNormAndPreNormReluAndGelu() {
        let fixture = TorchFixture.load("attention")
        for c in fixture.cases where c.name.hasPrefix("encoder_") {
            for dtype in [DType.float64, .float32] {
                let layer = TransformerEncoderLayer(dModel: c.int("d_model"), nHead: c.int("nhead"),
                                                    dimFeedforward: c.int("dim_feedforward"), dropout: 0,
                                                    activation: c.string("activation") == "gelu" ? .gelu : .relu,
                                                    normFirst: c.bool("norm_first"), dtype: dtype)
                let causal = c.bool("causal")
                expectMatchesTorch(layer, c, dtype: dtype) { x, mask in layer(x, keyPaddingMask: mask, causal: causal) }
            }
        }
    }

    @Test func encoderStackNamesLayersAsTorch() {
        let encoder = TransformerEncoder(numLayers: 2, norm: LayerNorm(8)) {
            TransformerEncoderLayer(dModel: 8, nHead: 2, dimFeedforward: 16, dropout: 0)
        }
        let names = encoder.namedParameters().map(\.name)
        #expect(names.first == "layers.0.self_attn.in_proj_weight")
        #expect(names.contains("layers.1.linear2.bias") && names.contains("norm.weight"))
        #expect(names.count == 2 * 12 + 2)
        let y = encoder(Tensor.randn([3, 4, 8], generator: RandomGenerator(seed: 2322)), keyPaddingMask: nil, causal: true)
        #expect(y.shape == [3, 4, 8])
    }

    @Test func positionalEncodingsAddTheTableOrTheLearnedRows() {
        let pe = SinusoidalPositionalEncoding(dModel: 4, maxLength: 10, dtype: .float64)
        let y = pe(Tensor.zeros([1, 3, 4], dtype: .float64))
        // Position 2: sin(2), cos(2), sin(2/100), cos(2/100).
        let expected: [Double] = [0, 1, 0, 1, 0.8414709848078965, 0.5403023058681398, 0.009999833334166664, 0.9999500004166653,
                                  0.9092974268256817, -0.4161468365471424, 0.01999866669333308, 0.9998000066665778]
        #expect(zip(y.scalars(as: Double.self), expected).allSatisfy { abs($0 - $1) < 1e-12 })
        #expect(pe.namedParameters().isEmpty && pe.stateDict().isEmpty)
        let learned = LearnedPositionalEmbedding(maxLength: 6, dModel: 4, batchFirst: false, dtype: .float64,
                                                 generator: RandomGenerator(seed: 2323))
        let x = seededUniform([3, 2, 4], seed: 2324)
        expectModuleGradients(learned, input: x)
        let out = learned(x)
        #expect(maxAbsDifference(out.select(axis: 1, 1) - x.select(axis: 1, 1), learned.weight.value.slice(axis: 0, 0..<3)) < 1e-15)
    }

    @Test func specTokenEncoderBuildsABlockOnASequenceShapeAndRejectsMisfits() throws {
        let model = try ModelSpec.parse("encoder(2,16) flatten linear(3)").build(inputShape: [5, 8], outputSize: 3)
        #expect(model(Tensor.randn([4, 5, 8], generator: RandomGenerator(seed: 2325))).shape == [4, 3])
        #expect(model.namedParameters().first?.name == "0.self_attn.in_proj_weight")
        #expect(throws: ModelSpecError.self) { try ModelSpec.parse("encoder(3)").build(inputShape: [5, 8], outputSize: nil) }
        #expect(throws: ModelSpecError.self) { try ModelSpec.parse("encoder(2)").build(inputShape: [8], outputSize: nil) }
    }

    @Test func attentionWeightDropoutActsOnlyInTrainingIsSeededAndKeepsTheMasks() {
        func make(_ dropout: Double) -> MultiheadAttention {
            MultiheadAttention(embedDim: 8, numHeads: 2, dropout: dropout, dtype: .float64, generator: RandomGenerator(seed: 2327))
        }
        let x = seededUniform([2, 5, 8], seed: 2326)
        let mask = Tensor([[0, 0, 0, 1, 1], [1, 1, 1, 1, 1]], dtype: .float64)   // example 1: every key hidden
        let a = make(0.5), b = make(0.5)
        let dropped = a(x, keyPaddingMask: mask, causal: true)
        expectBitIdentical(dropped, b(x, keyPaddingMask: mask, causal: true))
        let fused = a.eval()(x, keyPaddingMask: mask, causal: true)
        #expect(maxAbsDifference(dropped, fused) > 1e-3)
        // The explicit-weights path with (almost) nothing dropped equals the fused kernel.
        let explicit = make(1e-15)(x, keyPaddingMask: mask, causal: true)
        #expect(maxAbsDifference(explicit, fused) < 1e-12)
    }
}
