import Neural
import Testing

// Linear (eq. 7.35), the activation modules (eq. 7.24–7.28), Sequential and the MLP builder
// (eq. 7.22, 7.29–7.33) and the frozen feature map with a refitted head (eq. 7.34).

/// The activation module a fixture case names.
private func activation(_ c: TorchFixture.Case) -> any Layer {
    switch c.name {
    case "gelu": return GELU()
    case "softplus_beta1", "softplus_beta2": return Softplus(beta: c.double("beta"))
    case "sigmoid": return Sigmoid()
    case "tanh": return Tanh()
    case "leaky_relu": return LeakyReLU(slope: c.double("slope"))
    default: return ReLU()
    }
}

@Suite("Linear and activations")
struct LinearActivationTests {
    @Test("Linear matches torch.nn.Linear (output and gradients)", arguments: ["linear", "linear_3d"])
    func linearMatchesTorch(name: String) {
        let c = TorchFixture.load("linear_act").case(name)
        let linear = Linear(c.int("in"), c.int("out"), dtype: .float64)
        linear.weight.value = c.tensor("weight")
        linear.bias!.value = c.tensor("bias")
        var x = c.tensor("x")
        x.requiresGrad = true
        let out = linear(x)
        (out * c.tensor("g")).sum().backward()
        expectNear(out, c.tensor("out"), "\(name) out")
        expectNear(x.grad, c.tensor("grad_x"), "\(name) grad_x")
        expectNear(linear.weight.grad, c.tensor("grad_weight"), "\(name) grad_weight")
        expectNear(linear.bias!.grad, c.tensor("grad_bias"), "\(name) grad_bias")
    }

    @Test("activations match torch (output and gradient)", arguments: [
        "gelu", "softplus_beta1", "softplus_beta2", "sigmoid", "tanh", "leaky_relu", "relu",
    ])
    func activationMatchesTorch(name: String) {
        let c = TorchFixture.load("linear_act").case(name)
        var x = c.tensor("x")
        x.requiresGrad = true
        let module = activation(c)
        let out = module(x)
        (out * c.tensor("g")).sum().backward()
        expectNear(out, c.tensor("out"), "\(name) out")
        expectNear(x.grad, c.tensor("grad_x"), "\(name) grad_x")
    }

    @Test func linearGradientCheckInTrainingAndEvaluationMode() {
        for training in [true, false] {
            let linear = Linear(4, 3, generator: RandomGenerator(seed: 1)).to(.float64).train(training)
            expectModuleGradients(linear, input: seededUniform([5, 4], seed: 2))
            let noBias = Linear(4, 3, bias: false, generator: RandomGenerator(seed: 3)).to(.float64).train(training)
            expectModuleGradients(noBias, input: seededUniform([2, 3, 4], seed: 4))
        }
    }

    @Test("activation gradient check in training and evaluation mode", arguments: [
        "relu", "sigmoid", "tanh", "leakyReLU", "gelu", "softplus1", "softplus2", "identity",
    ])
    func activationGradientCheck(name: String) {
        let module: any Layer = switch name {
        case "relu": ReLU()
        case "sigmoid": Sigmoid()
        case "tanh": Tanh()
        case "leakyReLU": LeakyReLU(slope: 0.1)
        case "gelu": GELU()
        case "softplus1": Softplus()
        case "softplus2": Softplus(beta: 2)
        default: Identity()
        }
        for training in [true, false] {
            module.train(training)
            expectModuleGradients(module, input: awayFromZero([4, 6], seed: 5) * 3)
        }
    }

    @Test func linearLayoutAndInitializationAreTorchs() {
        let linear = Linear(16, 4, generator: RandomGenerator(seed: 6))
        #expect(linear.stateDict().map(\.name) == ["weight", "bias"])
        #expect(linear.weight.shape == [4, 16] && linear.bias!.shape == [4])
        let bound = 1 / 16.0.squareRoot()
        #expect(linear.weight.value.scalars(as: Double.self).allSatisfy { Swift.abs($0) <= bound })
        #expect(linear.bias!.value.scalars(as: Double.self).allSatisfy { Swift.abs($0) <= bound })
    }

    @Test func identityActivationMLPEqualsSingleMapW2W1_eq7_29_7_33() {
        let mlp = Sequential.mlp([5, 7, 3], activation: { Identity() }, dtype: .float64, generator: RandomGenerator(seed: 7))
        let l1 = mlp.layers[0] as! Linear, l2 = mlp.layers[2] as! Linear
        let w1 = l1.weight.value, b1 = l1.bias!.value, w2 = l2.weight.value, b2 = l2.bias!.value
        // h(x) = W2(W1 x + b1) + b2 = (W2 W1) x + (W2 b1 + b2): one linear map W̃ = W2 W1, b̃ = W2 b1 + b2.
        let w = w2.matmul(w1), b = w2.matmul(b1) + b2
        let x = seededUniform([6, 5], seed: 8)
        #expect(w.shape == [3, 5])
        #expect(maxAbsDifference(mlp(x), x.matmul(w.transposed()) + b) < 1e-13)
        // Three layers collapse the same way.
        let deep = Sequential.mlp([4, 6, 5, 2], activation: { Identity() }, dtype: .float64, generator: RandomGenerator(seed: 9))
        let ls = deep.layers.compactMap { $0 as? Linear }
        var wTotal = ls[0].weight.value, bTotal = ls[0].bias!.value
        for l in ls.dropFirst() {
            wTotal = l.weight.value.matmul(wTotal)
            bTotal = l.weight.value.matmul(bTotal) + l.bias!.value
        }
        let x4 = seededUniform([3, 4], seed: 10)
        #expect(maxAbsDifference(deep(x4), x4.matmul(wTotal.transposed()) + bTotal) < 1e-13)
    }

    @Test("parameter count (d+1)m₁ + (m₁+1)m₂ + … of eq. 7.22", arguments: [[3, 1], [4, 8, 1], [784, 128, 64, 10], [2, 5, 5, 5, 3]])
    func mlpParameterCountMatchesEq7_22(sizes: [Int]) {
        let mlp = Sequential.mlp(sizes)
        let expected = zip(sizes, sizes.dropFirst()).reduce(0) { $0 + ($1.0 + 1) * $1.1 }
        #expect(mlp.parameterCount == expected)
        #expect(mlp.layers.count == 2 * (sizes.count - 1) - 1)
        #expect(mlp.head is Linear)   // the last layer is linear: no activation after it
        #expect(mlp.stateDict().map(\.name).last == "\(mlp.layers.count - 1).bias")
    }

    @Test func frozenFeatureMapWithRefittedHeadTrainsOnlyTheHead_eq7_34() {
        let g = RandomGenerator(seed: 11)
        let model = Sequential.mlp([3, 8, 8, 2], activation: { Tanh() }, dtype: .float64, generator: g)
        let body = model.layers.dropLast()
        for layer in body { layer.freeze() }
        let frozen = body.flatMap { $0.parameters }
        #expect(frozen.count == 4 && frozen.allSatisfy(\.isFrozen))
        #expect(model.trainableParameters.count == 2)
        let before = frozen.map { $0.value.detached() }
        let headBefore = model.head!.parameters.map { $0.value.detached() }

        let x = seededUniform([16, 3], seed: 12), y = seededUniform([16, 2], seed: 13)
        let phi = model.features(x)
        expectBitIdentical(model.head!(phi), model(x))      // the head is a linear model on φ_β(x)
        func loss() -> Tensor { (model(x) - y).square().mean() }
        let initialLoss = loss().item()
        for _ in 0..<50 {
            model.zeroGrad()
            loss().backward()
            for p in model.trainableParameters { p.value.addInPlace(p.grad!, scale: -0.5) }
        }
        #expect(loss().item() < initialLoss)
        for (p, v) in zip(frozen, before) {
            #expect(p.grad == nil)
            expectBitIdentical(p.value, v)
        }
        expectBitIdentical(model.features(x), phi)
        for (p, v) in zip(model.head!.parameters, headBefore) { #expect(maxAbsDifference(p.value, v) > 0) }
        // Unfreezing makes the whole network trainable again.
        model.unfreeze()
        #expect(model.trainableParameters.count == 6)
    }
}
