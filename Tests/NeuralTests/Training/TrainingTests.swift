import Neural
import Testing

/// Fraction of rows whose argmax equals the label.
private func accuracy(_ logits: Tensor, _ labels: [Int]) -> Double {
    let predicted = logits.argmax(axis: 1).scalars(as: Double.self).map { Int($0) }
    return Double(zip(predicted, labels).filter { $0 == $1 }.count) / Double(labels.count)
}

/// Full-batch training with cross-entropy; returns the training accuracy.
private func trainClassifier(_ model: Sequential, _ x: Tensor, _ labels: [Int], steps: Int, learningRate: Double) -> Double {
    let opt = Adam(model.parameters, learningRate: learningRate,
                   schedule: .linearWarmup(steps: 50, startFactor: 0.1).then(.cosine(steps: steps - 50, minimum: learningRate / 20), after: 50))
    for _ in 0..<steps {
        opt.zeroGrad()
        crossEntropyLoss(logits: model(x), labels: labels).backward()
        opt.step()
    }
    return withNoGrad { accuracy(model(x), labels) }
}

@Suite("Training end to end")
struct TrainingTests {
    @Test func twoLayerMLPLearnsTwoSpiralsWhereALinearModelCannot() {
        let (x, labels) = Synthetic.twoSpirals(pointsPerClass: 200, generator: RandomGenerator(seed: 600))
        let mlp = Sequential.mlp([2, 128, 2], generator: RandomGenerator(seed: 601))
        let mlpAccuracy = trainClassifier(mlp, x, labels, steps: 1500, learningRate: 0.02)
        let linear = Sequential.mlp([2, 2], generator: RandomGenerator(seed: 602))
        let linearAccuracy = trainClassifier(linear, x, labels, steps: 1500, learningRate: 0.02)
        // Fresh points from the same spirals (different noise) measure generalisation.
        let (xTest, labelsTest) = Synthetic.twoSpirals(pointsPerClass: 200, generator: RandomGenerator(seed: 603))
        let testAccuracy = withNoGrad { accuracy(mlp(xTest), labelsTest) }
        print("two spirals: 2-layer MLP \(mlpAccuracy) (held out \(testAccuracy)), linear \(linearAccuracy)")
        #expect(mlpAccuracy >= 0.95)
        #expect(testAccuracy >= 0.9)
        #expect(linearAccuracy < 0.6)
    }

    @Test func singleReLUNeuronFitsTheKinkedHousePriceCurve_figure7_1() {
        let (size, price) = Synthetic.housePrices(count: 200, slope: 1, intercept: -0.5, noise: 0.02,
                                                  generator: RandomGenerator(seed: 610))
        let neuron = Linear(1, 1)                                      // h(x) = ReLU(wx + b) (eq. 7.11)
        neuron.weight.value = Tensor([0.3], shape: [1, 1])
        neuron.bias!.value = Tensor([0.1])
        let model = Sequential(neuron, ReLU())
        let opt = Adam(model.parameters, learningRate: 0.05)
        var sampler = ShuffledBatchSampler(count: 200, batchSize: 20, generator: RandomGenerator(seed: 611))
        for _ in 0..<1500 {
            let batch = sampler.nextBatch()
            opt.zeroGrad()
            halfMSELoss(model(size.indexSelect(axis: 0, batch)), price.indexSelect(axis: 0, batch)).backward()
            opt.step()
        }
        let w = neuron.weight.value.item(), b = neuron.bias!.value.item()
        let loss = withNoGrad { halfMSELoss(model(size), price).item() }
        print("house prices: w \(w), b \(b), loss \(loss)")
        #expect(abs(w - 1) < 0.05 && abs(b + 0.5) < 0.05)
        #expect(loss < 0.001)   // noise alone gives ½σ² = 0.0002
        // The kink: zero price below size −b/w, linear above.
        let predicted = withNoGrad { model(Tensor([0.1, 0.3, 1.5], shape: [3, 1])) }.scalars(as: Double.self)
        #expect(predicted[0] == 0 && predicted[1] == 0 && abs(predicted[2] - 1) < 0.05)
    }

    @Test(arguments: ["adam", "sgdMomentum"])
    func adamAndSGDWithMomentumBothReduceTheLoss(_ name: String) {
        let (x, labels) = Synthetic.twoSpirals(pointsPerClass: 100, turns: 1.25, generator: RandomGenerator(seed: 620))
        let model = Sequential.mlp([2, 32, 32, 2], generator: RandomGenerator(seed: 621))
        let opt: Optimizer = name == "adam" ? Adam(model.parameters, learningRate: 0.01)
                                            : SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        func fullLoss() -> Double { withNoGrad { crossEntropyLoss(logits: model(x), labels: labels).item() } }
        let before = fullLoss()
        var sampler = ShuffledBatchSampler(count: 200, batchSize: 32, generator: RandomGenerator(seed: 622))
        for _ in 0..<300 {
            let batch = sampler.nextBatch()
            opt.zeroGrad()
            crossEntropyLoss(logits: model(x.indexSelect(axis: 0, batch)), labels: batch.map { labels[$0] }).backward()
            opt.step()
        }
        let after = fullLoss()
        print("\(name): loss \(before) → \(after)")
        #expect(after < 0.75 * before)
    }

    @Test func frozenFeatureMapWithARefittedHeadTrainsOnlyTheHead_eq7_34() {
        let (x, labels) = Synthetic.twoSpirals(pointsPerClass: 100, turns: 1.25, generator: RandomGenerator(seed: 630))
        let model = Sequential.mlp([2, 32, 32, 2], generator: RandomGenerator(seed: 631))
        for layer in model.layers.dropLast() { layer.freeze() }           // φ_β fixed, refit θ (eq. 7.34)
        let frozenBefore = model.layers.dropLast().flatMap { $0.parameters }.map { $0.value.detached() }
        let headBefore = model.head!.parameters.map { $0.value.detached() }
        let opt = AdamW(model.parameters, learningRate: 0.01, weightDecay: 0.1)   // decay must not touch frozen ones either
        func loss() -> Tensor { crossEntropyLoss(logits: model(x), labels: labels) }
        let before = withNoGrad { loss().item() }
        for _ in 0..<100 {
            opt.zeroGrad()
            loss().backward()
            opt.step()
        }
        let after = withNoGrad { loss().item() }
        for (p, old) in zip(model.layers.dropLast().flatMap { $0.parameters }, frozenBefore) {
            expectBitIdentical(p.value.detached(), old)
        }
        for (p, old) in zip(model.head!.parameters, headBefore) {
            #expect(maxAbsDifference(p.value.detached(), old) > 0)
        }
        #expect(after < before)
    }
}
