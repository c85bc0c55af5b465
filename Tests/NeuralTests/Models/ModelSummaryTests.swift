import Neural
import Testing

// ModelSummary: per-layer output shapes and parameter counts; totals agree with eq. 7.22 for MLPs
// and with k·C·C′ + C′ for convolutions (eq. 7.50–7.51).

@Suite("ModelSummary")
struct ModelSummaryTests {
    @Test func mlpCountsAreEq7_22() throws {
        let model = try ModelSpec.parse("mlp(512,512)").build(inputShape: [1, 28, 28], outputSize: 10)
        let summary = ModelSummary(model: model, inputShape: [1, 28, 28])
        let eq7_22 = 785 * 512 + 513 * 512 + 513 * 10   // (d+1)m₁ + (m₁+1)m₂ + (m₂+1)m₃
        #expect(summary.totalParameters == eq7_22)
        #expect(summary.totalParameters == model.parameterCount)
        #expect(summary.trainableParameters == eq7_22)
        #expect(summary.rows.map(\.parameterCount) == [0, 785 * 512, 0, 513 * 512, 0, 513 * 10])
        #expect(summary.rows.map(\.outputShape) == [[784], [512], [512], [512], [512], [10]])
        #expect(summary.rows.map(\.layer) == ["Flatten", "Linear(784, 512)", "ReLU", "Linear(512, 512)", "ReLU", "Linear(512, 10)"])
        #expect(summary.rows.map(\.index) == Array(0..<6))

        // Any depth: sizes [d, m₁, …, m_r].
        let sizes = [13, 7, 5, 3, 2]
        let deep = try ModelSpec.parse("mlp(7,5,3)").build(inputShape: [13], outputSize: 2)
        let formula = zip(sizes, sizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 }
        #expect(ModelSummary(model: deep, inputShape: [13]).totalParameters == formula)
        #expect(ModelSummary(model: Sequential.mlp(sizes), inputShape: [13]).totalParameters == formula)
    }

    @Test func convolutionCountsAreKCCPrimePlusBias() throws {
        let cnn = try ModelSpec.parse("conv2d(32,3) relu maxpool(2) conv2d(64,5,padding=2) flatten linear(10)")
            .build(inputShape: [3, 28, 28], outputSize: 10)
        let s = ModelSummary(model: cnn, inputShape: [3, 28, 28])
        #expect(s.rows[0].parameterCount == 3 * 3 * 3 * 32 + 32)        // k²·C·C′ + C′
        #expect(s.rows[3].parameterCount == 5 * 5 * 32 * 64 + 64)
        #expect(s.rows[5].parameterCount == 64 * 13 * 13 * 10 + 10)
        #expect(s.rows.map(\.outputShape) == [[32, 26, 26], [32, 26, 26], [32, 13, 13], [64, 13, 13], [64 * 13 * 13], [10]])
        #expect(s.rows[0].layer == "Conv2D(3, 32, kernel 3×3)" && s.rows[3].layer == "Conv2D(32, 64, kernel 5×5, padding 2)")
        #expect(s.rows[2].layer == "MaxPool2D(2×2)")

        let one = try ModelSpec.parse("conv1d(16,5) relu avgpool(2) conv1d(8,3,stride=2)").build(inputShape: [4, 40], outputSize: nil)
        let s1 = ModelSummary(model: one, inputShape: [4, 40])
        #expect(s1.rows[0].parameterCount == 5 * 4 * 16 + 16)                  // k·C·C′ + C′ (eq. 7.50)
        #expect(s1.rows[3].parameterCount == 3 * 16 * 8 + 8)
        #expect(s1.rows.map(\.outputShape) == [[16, 40], [16, 40], [16, 20], [8, 10]])
        #expect(s1.rows[0].layer == "Conv1D(4, 16, kernel 5, padding 2)" && s1.rows[3].layer == "Conv1D(16, 8, kernel 3, stride 2, padding 1)")
    }

    @Test func normalisationAndResidualCounts() throws {
        let model = try ModelSpec.parse("conv2d(8,3) batchnorm groupnorm(2) flatten layernorm linear(16) residual(4) dropout(0.1)")
            .build(inputShape: [1, 6, 6], outputSize: 3)
        let s = ModelSummary(model: model, inputShape: [1, 6, 6])
        #expect(s.rows.map(\.parameterCount) == [9 * 8 + 8, 16, 16, 0, 2 * 128, 129 * 16, 16 * 4 + 4 + 4 * 16 + 16, 0, 17 * 3])
        #expect(s.rows[1].layer == "BatchNorm2D(8)" && s.rows[2].layer == "GroupNorm(2, 8)" && s.rows[4].layer == "LayerNorm([128])")
        #expect(s.rows[6].layer == "Residual(16, hidden 4, ReLU)" && s.rows[7].layer == "Dropout(0.1)")
        #expect(s.totalParameters == model.parameterCount)
    }

    @Test func summaryRunsInEvalModeAndRestoresTheMode() throws {
        let model = try ModelSpec.parse("linear(8) batchnorm dropout(0.5)").build(inputShape: [4], outputSize: 2)
        let bn = try #require(model.layers[1] as? BatchNorm1D)
        let before = bn.runningMean!.value
        model.train()
        model.layers[2].eval()   // a mixed tree: the summary must give it back as it was
        _ = ModelSummary(model: model, inputShape: [4])
        #expect(model.isTraining && bn.isTraining && !model.layers[2].isTraining)
        expectBitIdentical(bn.runningMean!.value, before)    // eval mode: running statistics untouched
        #expect(model.parameters.allSatisfy { $0.grad == nil })
    }

    @Test func frozenParametersAreCountedApart() throws {
        let model = try ModelSpec.parse("linear(8) relu").build(inputShape: [4], outputSize: 2)
        model.layers[0].freeze()
        let s = ModelSummary(model: model, inputShape: [4])
        #expect(s.totalParameters == 5 * 8 + 9 * 2 && s.trainableParameters == 9 * 2)
        #expect(s.description.contains("Trainable"))
    }

    @Test func tableLayout() throws {
        let model = try ModelSpec.parse("mlp(512,512)").build(inputShape: [1, 28, 28], outputSize: 10)
        let table = ModelSummary(model: model, inputShape: [1, 28, 28]).description
        #expect(table == """
            #  Layer             Output shape  Parameters
            ---------------------------------------------
               Input             [1, 28, 28]
            0  Flatten           [784]                  0
            1  Linear(784, 512)  [512]            401,920
            2  ReLU              [512]                  0
            3  Linear(512, 512)  [512]            262,656
            4  ReLU              [512]                  0
            5  Linear(512, 10)   [10]               5,130
            ---------------------------------------------
               Total                              669,706
            """)
    }

    @Test func describesEveryLayerKind() {
        let layers: [(any Layer, String)] = [
            (Linear(3, 4, bias: false), "Linear(3, 4, no bias)"),
            (MaxPool1D(kernelSize: 3, stride: 1), "MaxPool1D(3, stride 1)"),
            (AvgPool1D(kernelSize: 2), "AvgPool1D(2)"),
            (AvgPool2D(kernelSize: 2, padding: 1), "AvgPool2D(2×2, padding 1)"),
            (Conv2D(1, 2, kernelSize: (3, 5), stride: (1, 2)), "Conv2D(1, 2, kernel 3×5, stride 1×2)"),
            (Sigmoid(), "Sigmoid"), (Tanh(), "Tanh"), (GELU(), "GELU"), (Identity(), "Identity"),
            (LeakyReLU(slope: 0.2), "LeakyReLU(0.2)"), (Softplus(beta: 2), "Softplus(β 2)"),
            (ResidualConnection(Sequential(Linear(2, 2), ReLU())), "ResidualConnection(Sequential(2 layers))"),
        ]
        for (layer, text) in layers { #expect(ModelSummary.describe(layer) == text) }
    }
}
