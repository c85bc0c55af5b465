/// A table of a ``Sequential`` network's layers: each layer's description, its output shape per
/// example and its number of parameters, with the total (eq. 7.22 for an MLP:
/// (d+1)m₁ + (m₁+1)m₂ + … + (m_{r−1}+1)m_r).
///
/// Output shapes are measured, not predicted: a zero batch of one example runs through the layers
/// one at a time, without gradients and in evaluation mode (each module's mode is restored after).
///
/// ```swift
/// let model = try ModelSpec.parse("mlp(512,512)").build(inputShape: [1, 28, 28], outputSize: 10)
/// print(ModelSummary(model: model, inputShape: [1, 28, 28]))
/// ```
public struct ModelSummary: Sendable, CustomStringConvertible {
    /// One layer of the table.
    public struct Row: Sendable, Equatable {
        /// The layer's index in the ``Sequential`` (its parameters' name prefix, `0.weight`).
        public let index: Int
        /// A short description, e.g. `Linear(784, 512)` or `Conv2D(1, 32, kernel 3×3)`.
        public let layer: String
        /// The output shape per example (without the batch dimension).
        public let outputShape: [Int]
        /// Scalar parameters in the layer (trainable or not).
        public let parameterCount: Int
        /// Scalar parameters in the layer that are not frozen.
        public let trainableCount: Int
    }

    /// The input shape per example.
    public let inputShape: [Int]
    /// The layers, in order.
    public let rows: [Row]

    /// All parameters of the network.
    public var totalParameters: Int { rows.reduce(0) { $0 + $1.parameterCount } }
    /// The parameters that training would change.
    public var trainableParameters: Int { rows.reduce(0) { $0 + $1.trainableCount } }
    /// The network's output shape per example (the input shape for an empty network).
    public var outputShape: [Int] { rows.last?.outputShape ?? inputShape }

    /// Summarises `model` on examples of shape `inputShape` (without the batch dimension, e.g.
    /// `[1, 28, 28]`). The input must fit the model (its layers' preconditions apply).
    public init(model: Sequential, inputShape: [Int]) {
        self.inputShape = inputShape
        let dtype = model.parameters.first?.value.dtype ?? .float32
        let modes = model.namedModules().map { ($0.module, $0.module.isTraining) }
        model.eval()
        defer { for (module, training) in modes { module.train(training) } }   // parents first, so children win
        var x = Tensor.zeros([1] + inputShape, dtype: dtype)
        var rows: [Row] = []
        withNoGrad {
            for (i, layer) in model.layers.enumerated() {
                x = layer(x)
                let parameters = layer.parameters
                rows.append(Row(index: i, layer: ModelSummary.describe(layer), outputShape: Array(x.shape.dropFirst()),
                                parameterCount: parameters.reduce(0) { $0 + $1.value.count },
                                trainableCount: parameters.filter { !$0.isFrozen }.reduce(0) { $0 + $1.value.count }))
            }
        }
        self.rows = rows
    }

    /// A one-line description of a layer: its ``SummarizableLayer/summary`` (e.g. `Linear(784, 512)`,
    /// `Conv2D(1, 32, kernel 3×3, stride 2, padding 1)`, `MaxPool2D(2×2)`, `Dropout(0.5)`), or its type's
    /// name for a layer that gives none.
    package static func describe(_ layer: any Layer) -> String {
        (layer as? any SummarizableLayer)?.summary ?? String(describing: type(of: layer))
    }

    /// `n` with thousands separators: 669,706.
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n.magnitude))
        var out = ""
        for (i, d) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(d)
        }
        return (n < 0 ? "-" : "") + out
    }

    /// The table: one line per layer (index, layer, output shape, parameters), the input shape
    /// first, and the total (and the trainable count when some parameters are frozen).
    public var description: String {
        func shape(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
        let header = ["#", "Layer", "Output shape", "Parameters"]
        var body: [[String]] = [["", "Input", shape(inputShape), ""]]
        body += rows.map { ["\($0.index)", $0.layer, shape($0.outputShape), ModelSummary.grouped($0.parameterCount)] }
        var footer: [[String]] = [["", "Total", "", ModelSummary.grouped(totalParameters)]]
        if trainableParameters != totalParameters {
            footer.append(["", "Trainable", "", ModelSummary.grouped(trainableParameters)])
        }
        let all = [header] + body + footer
        let widths = (0..<4).map { c in all.map { $0[c].count }.max()! }
        func line(_ r: [String]) -> String {
            let cells = [String(repeating: " ", count: widths[0] - r[0].count) + r[0],
                         r[1] + String(repeating: " ", count: widths[1] - r[1].count),
                         r[2] + String(repeating: " ", count: widths[2] - r[2].count),
                         String(repeating: " ", count: widths[3] - r[3].count) + r[3]]
            var text = cells.joined(separator: "  ")
            while text.last == " " { text.removeLast() }
            return text
        }
        let rule = String(repeating: "-", count: widths.reduce(0, +) + 6)
        return ([line(header), rule] + body.map(line) + [rule] + footer.map(line)).joined(separator: "\n")
    }
}
