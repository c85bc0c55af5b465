import Neural
import Testing

/// log(x): NaN for the negative inputs it receives (a fault in the forward pass).
private final class Log: Module, Layer {
    func callAsFunction(_ x: Tensor) -> Tensor { x.log() }
}

/// The identity forward, whose backward returns NaN (a fault in the backward pass only).
private final class NaNBackward: Module, Layer {
    func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.differentiable("faulty", x, forward: { $0[0] }, backward: { v, _, _, _ in [v * Double.nan] })
    }
}

/// A custom module: `act(fc(x))`, `[batch, 4]` → `[batch, 4]`.
private final class Block: Module, Layer {
    let fc: Linear
    let act: any Layer
    init(_ act: any Layer, generator: RandomGenerator) {
        fc = Linear(4, 4, generator: generator)
        self.act = act
        super.init()
    }
    func callAsFunction(_ x: Tensor) -> Tensor { act(fc(x)) }
}

/// A custom model whose layers sit in properties and an array: `stem`, `blocks.0`, `blocks.1`, `head`.
private final class Net: Module, Layer {
    let stem: Linear
    let blocks: [Block]
    let head: Linear
    init(lastActivation: any Layer, generator g: RandomGenerator) {
        stem = Linear(3, 4, generator: g)
        blocks = [Block(ReLU(), generator: g), Block(lastActivation, generator: g)]
        head = Linear(4, 2, generator: g)
        super.init()
    }
    func callAsFunction(_ x: Tensor) -> Tensor { head(blocks.reduce(stem(x)) { $1($0) }) }
}

private struct MemoryBatch: LabeledBatch {
    var inputs: Tensor
    var labels: [Int]?
    var targets: Tensor?
}

/// Non-finite diagnostics name modules by their dotted paths in any module tree: nested
/// ``Sequential``s are searched layer by layer, custom modules are named as a whole, and a
/// gradient's owner is the deepest module whose path prefixes the parameter's name.
@Suite("Diagnostics through the module tree")
struct ModuleTreeDiagnosticsTests {
    private let batch = MemoryBatch(inputs: Tensor.randn([8, 3], generator: RandomGenerator(seed: 50)),
                                    labels: [0, 1, 0, 1, 1, 0, 1, 0], targets: nil)

    private func stepError(_ model: any Layer, anomalies: Bool = false) -> NonFiniteError? {
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
        trainer.detectAnomalies = anomalies
        do {
            try trainer.step(batch)
            return nil
        } catch {
            return error
        }
    }

    @Test func nanLossInANestedSequentialNamesTheInnermostLayer() throws {
        let g = RandomGenerator(seed: 51)
        let model = Sequential(Linear(3, 4, generator: g), Sequential(Linear(4, 4, generator: g), Log()), Linear(4, 2, generator: g))
        let e = try #require(stepError(model))
        #expect(e.kind == .loss && e.value.isNaN)
        #expect(e.layer == "1.1 (Log)", "\(e)")
        #expect(e.description.contains("it first appears in the output of layer 1.1 (Log)"), "\(e)")
    }

    @Test func nanLossInACustomModuleNamesItWithItsParameters() throws {
        let g = RandomGenerator(seed: 52)
        let model = Sequential(Linear(3, 4, generator: g), Block(Log(), generator: g), Linear(4, 2, generator: g))
        let e = try #require(stepError(model))
        #expect(e.layer == "1 (Block)" && e.parameter == "1.fc.weight, 1.fc.bias", "\(e)")
    }

    @Test func nanGradientInACustomModelNamesTheOwningModuleByDottedPath() throws {
        let model = Net(lastActivation: NaNBackward(), generator: RandomGenerator(seed: 53))
        let before = model.parameters.map { $0.value.scalars(as: Float.self) }
        let e = try #require(stepError(model))
        #expect(e.kind == .gradient)
        // Everything before blocks.1.act gets NaN gradients; blocks.1.fc.bias comes first in backward order.
        #expect(e.parameter == "blocks.1.fc.bias" && e.layer == "blocks.1.fc (Linear)", "\(e)")
        #expect(e.nonFiniteGradients == ["stem.weight", "stem.bias", "blocks.0.fc.weight", "blocks.0.fc.bias",
                                         "blocks.1.fc.weight", "blocks.1.fc.bias"])
        #expect(e.description.contains("the gradient of blocks.1.fc.bias is NaN (layer blocks.1.fc (Linear))"), "\(e)")
        #expect(model.parameters.map { $0.value.scalars(as: Float.self) } == before, "no update may be applied")
    }

    @Test func anomalyModeNamesLayersInNestedSequentialsAndCustomModules() throws {
        let g = RandomGenerator(seed: 54)
        let nested = Sequential(Linear(3, 4, generator: g), Sequential(Linear(4, 4, generator: g), NaNBackward()), Linear(4, 2, generator: g))
        let e = try #require(stepError(nested, anomalies: true))
        let a = try #require(e.anomaly)
        #expect(a.pass == .backward && a.module == "1.1" && a.moduleType == "NaNBackward", "\(a)")
        #expect(e.description.contains("the backward of 'faulty' in layer 1.1 (NaNBackward)"), "\(e)")

        let custom = Sequential(Linear(3, 4, generator: g), Block(Log(), generator: g), Linear(4, 2, generator: g))
        let e2 = try #require(stepError(custom, anomalies: true))
        let a2 = try #require(e2.anomaly)
        #expect(a2.pass == .forward && a2.operation == "log" && a2.module == "1" && a2.moduleType == "Block", "\(a2)")
        #expect(e2.layer == "1 (Block)" && e2.parameter == "1.fc.weight, 1.fc.bias", "\(e2)")
    }

    @Test func nanLossInACustomModelIsReportedWithoutALayer() throws {
        let model = Net(lastActivation: Log(), generator: RandomGenerator(seed: 55))
        let e = try #require(stepError(model))
        #expect(e.kind == .loss && e.value.isNaN && e.layer == nil, "\(e)")
        #expect(e.description.hasPrefix("training stopped at step 1: the loss is NaN;"), "\(e)")
    }

    @Test func stepKeepsTheModesTheCallerSetOnSubmodules() throws {
        let g = RandomGenerator(seed: 56)
        let dropout = Dropout(0.5, generator: g)
        let model = Sequential(Linear(3, 4, generator: g), dropout, Linear(4, 2, generator: g))
        dropout.eval()
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
        try trainer.step(batch)
        #expect(model.isTraining && !dropout.isTraining, "a model already training is left as it is")
        model.eval()
        try trainer.step(batch)
        #expect(model.isTraining && dropout.isTraining, "a model in evaluation mode is switched to training mode")
    }
}
