import Neural
import Testing

// Residual blocks (eq. 7.38), skip connections around any layer and ResNet-S (eq. 7.39).

@Suite("Residual")
struct ResidualTests {
    @Test func residualBlockIsZPlusSigmaMMSigmaMM_eq7_38() {
        let block = Residual(4, hidden: 6, dtype: .float64, generator: RandomGenerator(seed: 1))
        let z = seededUniform([5, 4], seed: 2)
        let w1 = block.fc1.weight.value, b1 = block.fc1.bias!.value
        let w2 = block.fc2.weight.value, b2 = block.fc2.bias!.value
        let expected = z + ((z.matmul(w1.transposed()) + b1).relu().matmul(w2.transposed()) + b2).relu()
        #expect(maxAbsDifference(block(z), expected) < 1e-14)
    }

    @Test func stateDictKeysAndShapesAreTorchs() {
        let block = Residual(4, hidden: 6)
        #expect(block.stateDict().map(\.name) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"])
        #expect(block.fc1.weight.shape == [6, 4] && block.fc2.weight.shape == [4, 6])
        #expect(block.parameterCount == 2 * 4 * 6 + 6 + 4)
        #expect(Residual(5).fc1.weight.shape == [5, 5])
    }

    @Test func zeroSecondLayerMakesTheBlockTheIdentity() {
        let block = Residual(3, dtype: .float64)
        block.fc2.weight.value = .zeros([3, 3], dtype: .float64)
        block.fc2.bias!.value = .zeros([3], dtype: .float64)
        let z = seededUniform([4, 3], seed: 3)
        expectBitIdentical(block(z), z)
    }

    @Test("gradient check, train and eval, with several activations", arguments: ["relu", "tanh", "gelu"])
    func gradientCheck(activation: String) {
        for training in [true, false] {
            let act: any Layer = activation == "relu" ? ReLU() : activation == "tanh" ? Tanh() : GELU()
            let block = Residual(4, hidden: 5, activation: act, generator: RandomGenerator(seed: 4)).to(.float64).train(training)
            expectModuleGradients(block, input: seededUniform([3, 4], seed: 5))
        }
    }

    @Test func residualConnectionAddsTheInputToAnyLayer() {
        let body = Sequential(Linear(3, 5, dtype: .float64), Tanh(), Linear(5, 3, dtype: .float64))
        let skip = ResidualConnection(body)
        #expect(skip.stateDict().map(\.name) == ["body.0.weight", "body.0.bias", "body.2.weight", "body.2.bias"])
        let z = seededUniform([4, 3], seed: 6)
        expectBitIdentical(skip(z), z + body(z))
        for training in [true, false] {
            skip.train(training)
            expectModuleGradients(skip, input: z)
        }
        // Around a normalisation layer too.
        let normed = ResidualConnection(LayerNorm(3, dtype: .float64))
        expectModuleGradients(normed, input: z)
    }

    @Test func resNetSIsMMAfterResidualBlocks_eq7_39() {
        let net = Sequential.resNetS(dim: 4, blocks: 3, outFeatures: 2, dtype: .float64, generator: RandomGenerator(seed: 7))
        #expect(net.layers.count == 4)
        let names: [String] = [
            "0.fc1.weight", "0.fc1.bias", "0.fc2.weight", "0.fc2.bias", "1.fc1.weight", "1.fc1.bias", "1.fc2.weight",
            "1.fc2.bias", "2.fc1.weight", "2.fc1.bias", "2.fc2.weight", "2.fc2.bias", "3.weight", "3.bias",
        ]
        #expect(net.stateDict().map(\.name) == names)
        #expect(net.parameterCount == 3 * (2 * (4 * 4 + 4)) + (4 + 1) * 2)
        let x = seededUniform([5, 4], seed: 8)
        var z = x
        for l in net.layers.prefix(3) {
            let block = l as! Residual
            z = z + block.act(block.fc2(block.act(block.fc1(z))))
        }
        let expected = (net.layers[3] as! Linear)(z)
        let out = net(x)
        #expect(out.shape == [5, 2])
        #expect(maxAbsDifference(out, expected) < 1e-14)
        // The features φ_β(x) are the last residual block's output (eq. 7.34).
        #expect(maxAbsDifference(net.features(x), z) < 1e-14)
        for training in [true, false] {
            net.train(training)
            expectModuleGradients(net, input: x)
        }
    }
}
