import Neural
import Testing

/// A minimal in-memory batch for driving the trainer.
private struct MemoryBatch: LabeledBatch {
    var inputs: Tensor
    var labels: [Int]?
    var targets: Tensor?
}

private final class RecordingObserver: TrainingObserver {
    var batches = 0, epochs: [Int] = []
    func batchFinished(epoch: Int, epochs: Int, done: Int, total: Int, examples: Int, seconds: Double, loss: Double) { batches += 1 }
    func epochFinished(_ record: EpochRecord, epochs: Int) { self.epochs.append(record.epoch) }
}

@Suite struct TrainerTests {
    /// Splits rows of `x` into batches of `size` in order.
    private func batches(_ x: Tensor, labels: [Int]? = nil, targets: Tensor? = nil, size: Int) -> [MemoryBatch] {
        stride(from: 0, to: x.shape[0], by: size).map { s in
            let e = Swift.min(s + size, x.shape[0])
            return MemoryBatch(inputs: x[s..<e], labels: labels.map { Array($0[s..<e]) }, targets: targets?[s..<e])
        }
    }

    @Test func trainerLearnsTwoSpiralsAndReportsAccuracy() throws {
        let g = RandomGenerator(seed: 3)
        let (x, y) = Synthetic.twoSpirals(pointsPerClass: 200, noise: 0.05, generator: g)
        let model = Sequential.mlp([2, 64, 64, 2], generator: g)
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 0.01), objective: .crossEntropy)
        let observer = RecordingObserver()
        trainer.observer = observer
        let train = batches(x, labels: y, size: 400)
        let records = try trainer.fit(epochs: 400, train: { _ in train }, evaluate: { train })
        #expect(records.count == 400)
        #expect(observer.epochs == Array(1...400))
        #expect(observer.batches == 400)
        #expect(records.last!.test!.accuracy! >= 0.95, "accuracy \(records.last!.test!.accuracy!)")
        #expect(records.last!.trainLoss < records.first!.trainLoss)
    }

    @Test func regressionMetricsAreInOriginalUnits() throws {
        // y = 3x + noise, standardised for training; RMSE must come back in y's units.
        let g = RandomGenerator(seed: 4)
        let x = Tensor.uniform([256, 1], low: -1, high: 1, generator: g)
        let y = x * 3 + Tensor.randn([256, 1], std: 0.1, generator: g)
        let (mean, std) = (y.mean().item(), y.variance().item().squareRoot())
        let yz = (y - mean) / std
        let model = Linear(1, 1, generator: g)
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .mse)
        trainer.targetScale = (mean, std)
        let data = batches(x, targets: yz, size: 32)
        _ = try trainer.fit(epochs: 30, train: { _ in data }, evaluate: { data })
        let m = trainer.evaluate(data)
        #expect(m.rmse! > 0.07 && m.rmse! < 0.13, "rmse \(m.rmse!) should be near the noise std 0.1")
        #expect(m.accuracy == nil)
    }

    @Test func evaluateNeedsNoOptimizerAndRestoresTheModelsMode() throws {
        let g = RandomGenerator(seed: 6)
        let x = Tensor.randn([40, 3], generator: g)
        let labels = (0..<40).map { $0 % 3 }
        let dropout = Dropout(0.5, generator: g)
        let model = Sequential(Linear(3, 8, generator: g), dropout, Linear(8, 3, generator: g))
        let data = batches(x, labels: labels, size: 16)
        let m = evaluate(model: model, data: data, objective: .crossEntropy)
        #expect(model.isTraining && dropout.isTraining, "the mode is restored")
        // Evaluation mode: Dropout is the identity, so the metrics are those of the plain forward pass.
        let logits = withNoGrad { model.eval()(x) }
        model.train()
        let loss = crossEntropyLoss(logits: logits, labels: labels).item()
        let correct = zip(logits.argmax(axis: -1).scalars(as: Double.self), labels).filter { Int($0) == $1 }.count
        #expect(m.count == 40 && abs(m.loss - loss) < 1e-6, "\(m.loss) vs \(loss)")
        #expect(m.accuracy == Double(correct) / 40 && m.rmse == nil)
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
        #expect(trainer.evaluate(data) == m)
    }

    @Test func evaluateReportsRegressionErrorsInTheTargetsUnits() {
        // Predictions 0 against standardised targets ±1 with std 10: every error is 10 units.
        let model = Linear(1, 1, bias: false)
        model.weight.value = Tensor([0], shape: [1, 1])
        let data = [MemoryBatch(inputs: Tensor([1, 2, 3, 4], shape: [4, 1]), labels: nil, targets: Tensor([1, -1, 1, -1], shape: [4, 1]))]
        let m = evaluate(model: model, data: data, objective: .mse, targetScale: (mean: 50, std: 10))
        #expect(m.rmse == 10 && m.mae == 10 && m.loss == 1 && m.accuracy == nil, "\(m)")
    }

    @Test func earlyStoppingStopsWhenEvaluationLossStalls() throws {
        let g = RandomGenerator(seed: 5)
        let x = Tensor.randn([64, 3], generator: g)
        let model = Linear(3, 2, generator: g)
        // Learning rate 0: the loss never improves, so training stops after `patience` epochs.
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0), objective: .crossEntropy)
        let data = batches(x, labels: (0..<64).map { $0 % 2 }, size: 16)
        let records = try trainer.fit(epochs: 50, train: { _ in data }, evaluate: { data }, patience: 3)
        #expect(records.count == 4)
    }

    @Test func epochLineShowsLossAccuracyAndRate() {
        let r = EpochRecord(epoch: 3, trainLoss: 0.12345, test: EvaluationMetrics(loss: 0.2, accuracy: 0.9785, rmse: nil, mae: nil, count: 10),
                            seconds: 4.2, samplesPerSecond: 12345)
        let line = ConsoleProgress.line(r, epochs: 10)
        #expect(line == "epoch 3/10  train_loss 0.1235  test_loss 0.2000  test_accuracy 97.85%  4.2 s  12345 samples/s")
    }
}
