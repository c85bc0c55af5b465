import Foundation
import Neural
import Testing

/// The README's code, run as written: if it stops compiling or stops learning, this fails.
@Suite struct ReadmeExampleTests {
    static let mnist = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("shared/data/mnist").path

    /// The README's MNIST loop, on the first 6,000 training images for one epoch.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: mnist), "MNIST is not in ../shared/data"))
    func readmeMNISTLoopLearns() throws {
        let train = try MNIST.load(directory: Self.mnist, split: .train, normalize: true).subset(Array(0..<6000))
        let test = try MNIST.load(directory: Self.mnist, split: .test, normalize: true)
        let model = Sequential(Flatten(), Linear(784, 512), ReLU(), Linear(512, 512), ReLU(), Linear(512, 10))
        let optimizer = SGD(model.parameters, learningRate: 0.1, momentum: 0.9)
        let loader = DataLoader(train, batchSize: 128)

        for _ in 1...1 {
            for batch in loader {
                optimizer.zeroGrad()
                let loss = crossEntropyLoss(logits: model(batch.inputs), labels: batch.labels!)
                loss.backward()
                optimizer.step()
            }
        }
        let trainer = Trainer(model: model, optimizer: optimizer, objective: .crossEntropy)
        let metrics = trainer.evaluate(DataLoader(test, batchSize: 1000, shuffle: false))
        #expect(metrics.count == 10_000)
        #expect(metrics.accuracy! > 0.85, "accuracy \(metrics.accuracy!)")
    }

    @Test func readmeCubeOpHasGradientThreeXSquared() {
        var x = Tensor([1, -2, 0.5]); x.requiresGrad = true
        let y = Tensor.differentiable("cube", x,
            forward: { z in z[0] * z[0] * z[0] },
            backward: { v, z, _, _ in [3 * z[0] * z[0] * v] })
        #expect(y.scalars() == [1, -8, 0.125])
        y.sum().backward()
        #expect(x.grad!.scalars() == [3, 12, 0.75])
    }
}
