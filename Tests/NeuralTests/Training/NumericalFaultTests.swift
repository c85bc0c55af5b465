import Foundation
import Neural
import Testing

/// log(x): NaN for the negative inputs its layer receives (a fault in the forward pass).
private final class LogLayer: Module, Layer {
    func callAsFunction(_ x: Tensor) -> Tensor { x.log() }
}

/// The identity forward, whose backward returns NaN (a fault in the backward pass only: the loss stays finite).
private final class FaultyBackward: Module, Layer {
    func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.differentiable("faulty", x, forward: { $0[0] }, backward: { v, _, _, _ in [v * Double.nan] })
    }
}

private struct MemoryBatch: LabeledBatch {
    var inputs: Tensor
    var labels: [Int]?
    var targets: Tensor?
}

/// A NaN or ±Inf in the loss or a gradient stops training with a ``NonFiniteError`` that names
/// the step and the first layer where it appeared, before any parameter changes.
@Suite("Numerical faults")
struct NumericalFaultTests {
    private let x = Tensor.randn([8, 3], generator: RandomGenerator(seed: 40))
    private let labels = [0, 1, 0, 1, 1, 0, 1, 0]

    private func batches(_ count: Int) -> [MemoryBatch] {
        Array(repeating: MemoryBatch(inputs: x, labels: labels, targets: nil), count: count)
    }

    private func bits(_ m: Module) -> [[Float]] { m.parameters.map { $0.value.scalars(as: Float.self) } }

    /// The error that stops one SGD step of `model` with anomaly detection on (nil, recorded as an
    /// issue, when the step completes).
    private func anomalyModeStepError(_ model: Sequential, sourceLocation: SourceLocation = #_sourceLocation) -> NonFiniteError? {
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
        trainer.detectAnomalies = true
        do {
            try trainer.step(MemoryBatch(inputs: x, labels: labels, targets: nil))
            Issue.record("anomaly mode should stop the step", sourceLocation: sourceLocation)
            return nil
        } catch {
            return error
        }
    }

    @Test func nanLossNamesStepAndFirstLayerWithNonFiniteOutput() throws {
        let g = RandomGenerator(seed: 41)
        // Layer 1's log turns the negative outputs of layer 0 into NaN.
        let model = Sequential(Linear(3, 4, generator: g), LogLayer(), Linear(4, 2, generator: g))
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
        let before = bits(model)
        do {
            _ = try trainer.fit(epochs: 2, train: { _ in self.batches(3) }, evaluate: nil as (() -> [MemoryBatch])?)
            Issue.record("training should have stopped")
        } catch let e as NonFiniteError {
            #expect(e.kind == .loss && e.value.isNaN)
            #expect(e.step == 1 && e.epoch == 1 && e.batch == 1)
            #expect(e.layer == "1 (LogLayer)")
            #expect(e.description.contains("at step 1 (epoch 1, batch 1)") && e.description.contains("layer 1 (LogLayer)"), "\(e)")
        }
        #expect(bits(model) == before, "no update may be applied")
    }

    @Test func nanGradientNamesTheParameterFirstInBackwardOrder() throws {
        let g = RandomGenerator(seed: 42)
        let model = Sequential(Linear(3, 4, generator: g), ReLU(), Linear(4, 4, generator: g), FaultyBackward(), Linear(4, 2, generator: g))
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 0.01), objective: .crossEntropy)
        let before = bits(model)
        #expect(throws: NonFiniteError.self) { try trainer.step(MemoryBatch(inputs: x, labels: labels, targets: nil)) }
        do {
            try trainer.step(MemoryBatch(inputs: x, labels: labels, targets: nil))
        } catch {
            #expect(error.kind == .gradient && error.value.isNaN)
            #expect(error.step == 1)
            // Layers 2 and 0 get NaN gradients; 2 comes first in the backward pass. Layer 4's are finite.
            #expect(error.parameter == "2.bias" && error.layer == "2 (Linear)", "\(error)")
            #expect(error.nonFiniteGradients == ["0.weight", "0.bias", "2.weight", "2.bias"])
            #expect(error.description.contains("gradient of 2.bias is NaN"), "\(error)")
        }
        #expect(bits(model) == before)
    }

    @Test func anomalyModeNamesTheOperationAndLayer() throws {
        let g = RandomGenerator(seed: 43)
        let model = Sequential(Linear(3, 4, generator: g), ReLU(), Linear(4, 4, generator: g), FaultyBackward(), Linear(4, 2, generator: g))
        let error = try #require(anomalyModeStepError(model))
        #expect(error.kind == .anomaly)
        let a = try #require(error.anomaly)
        #expect(a.pass == .backward && a.operation == "faulty" && a.module == "3" && a.moduleType == "FaultyBackward", "\(a)")
        #expect(error.description.contains("the backward of 'faulty' in layer 3 (FaultyBackward) produced NaN"), "\(error)")

        // Forward: the log of layer 1.
        let model2 = Sequential(Linear(3, 4, generator: g), LogLayer(), Linear(4, 2, generator: g))
        let error2 = try #require(anomalyModeStepError(model2))
        let a2 = try #require(error2.anomaly)
        #expect(a2.pass == .forward && a2.operation == "log" && a2.module == "1", "\(a2)")
        print("anomaly mode: \(error2)")
    }

    @Test func anomalyModeLeavesHealthyTrainingUnchanged() throws {
        func train(_ detect: Bool) throws -> [[Float]] {
            let g = RandomGenerator(seed: 44)
            let model = Sequential(Linear(3, 8, generator: g), ReLU(), Linear(8, 2, generator: g))
            let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 0.01), objective: .crossEntropy)
            trainer.detectAnomalies = detect
            _ = try trainer.fit(epochs: 3, train: { _ in self.batches(4) }, evaluate: nil as (() -> [MemoryBatch])?)
            return bits(model)
        }
        #expect(try train(true) == train(false))
    }

    @Test func nonFiniteInputIsReportedAsData() throws {
        let g = RandomGenerator(seed: 45)
        let model = Sequential(Linear(3, 2, generator: g))
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
        let bad = Tensor([1, 2, Double.infinity, 0, 0, 0], shape: [2, 3])
        do {
            try trainer.step(MemoryBatch(inputs: bad, labels: [0, 1], targets: nil))
            Issue.record("an Inf input must stop the step")
        } catch {
            #expect(error.kind == .input && error.value == .infinity, "\(error)")
        }
    }

    @Test func withAnomalyDetectionThrowsTheFirstNonFiniteOperation() throws {
        var x = Tensor([1, -1, 4])
        x.requiresGrad = true
        do {
            try withAnomalyDetection { (x.sqrt() * 2).sum().backward() }
            Issue.record("sqrt(-1) must be reported")
        } catch let a as Anomaly {
            #expect(a.pass == .forward && a.operation == "sqrt" && a.shape == [3], "\(a)")
        }
        // Backward only: sqrt at 0 is finite, its derivative is +Inf.
        var z = Tensor([0, 1])
        z.requiresGrad = true
        do {
            try withAnomalyDetection { z.sqrt().sum().backward() }
            Issue.record("the Inf derivative of sqrt at 0 must be reported")
        } catch let a as Anomaly {
            #expect(a.pass == .backward && a.operation == "sqrt" && a.input == 0 && a.value == .infinity, "\(a)")
        }
        // Finite everything: no error, the result comes back.
        let y = try withAnomalyDetection { (z * 3).sum().item() }
        #expect(y == 3)
    }
}
