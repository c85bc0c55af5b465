/// Training stopped because a NaN or ±∞ appeared in the loss or in a gradient. The update of
/// that step was not applied, so the parameters are those before the step.
public struct NonFiniteError: Error, Sendable, CustomStringConvertible {
    /// Where the value was found.
    public enum Kind: String, Sendable {
        /// The batch's inputs or targets.
        case input
        /// The loss.
        case loss
        /// A parameter's gradient (the loss was finite).
        case gradient
        /// Anomaly detection (``Trainer/detectAnomalies``) saw an operation produce it.
        case anomaly
    }

    /// What was non-finite.
    public var kind: Kind
    /// The offending value (NaN, +∞ or −∞).
    public var value: Double
    /// The 1-based number of the optimisation step (counting all epochs).
    public var step: Int
    /// The 1-based epoch, when training inside ``Trainer/fit(epochs:startEpoch:batchesPerEpoch:train:evaluate:patience:resume:onStep:onEpochEnd:)``.
    public var epoch: Int?
    /// The 1-based batch of that epoch.
    public var batch: Int?
    /// The layer where it appeared, as its dotted module path and type, e.g. `2 (Linear)` or
    /// `blocks.1.fc (Linear)`. Loss: the first layer whose output is non-finite, found by running
    /// the forward pass again layer by layer through ``Sequential``s at any depth (a layer of
    /// another kind is named as a whole). Gradient: the module that owns the first parameter in
    /// backward order with a non-finite gradient. Anomaly: the layer of the operation. Nil when
    /// the only module it could name is the model itself.
    public var layer: String?
    /// The parameters named in the message (`2.weight`): the first (in backward order) with a
    /// non-finite gradient, or the layer's parameters, comma-separated.
    public var parameter: String?
    /// Every parameter whose gradient was non-finite, in model order.
    public var nonFiniteGradients: [String]
    /// Parameters whose values are non-finite (a diverged run), in model order.
    public var nonFiniteParameters: [String]
    /// What anomaly detection found, when it was on.
    public var anomaly: Anomaly?

    /// One line: what, where (step, epoch, batch, layer, parameter) and what to do.
    public var description: String {
        var at = "at step \(step)"
        if let epoch, let batch { at += " (epoch \(epoch), batch \(batch))" }
        let v = NonFiniteError.text(value)
        var text: String
        switch kind {
        case .input:
            text = "the batch's inputs or targets contain \(v); check the data"
        case .loss:
            text = "the loss is \(v)"
            if let layer {
                text += "; it first appears in the output of layer \(layer)" + (parameter.map { "; parameters \($0)" } ?? "")
            }
        case .gradient:
            text = "the gradient of \(parameter ?? "a parameter") is \(v)"
            if let layer { text += " (layer \(layer))" }
            text += ", the first non-finite gradient in backward order"
            if nonFiniteGradients.count > 1 { text += " (\(nonFiniteGradients.count) parameters affected)" }
        case .anomaly:
            text = "anomaly detection: " + (anomaly?.description ?? "non-finite value")
            if let parameter { text += "; layer parameters \(parameter)" }
        }
        if let anomaly, kind != .anomaly { text += "; anomaly detection: \(anomaly.description)" }
        if !nonFiniteParameters.isEmpty {
            text += "; parameters \(nonFiniteParameters.prefix(4).joined(separator: ", ")) already hold non-finite values"
        }
        if kind != .input {
            text += "; lower the learning rate or clip gradients"
            if anomaly == nil { text += ", or turn on anomaly detection (--detect-anomalies) to find the operation" }
        }
        return "training stopped \(at): " + text
    }

    /// `NaN`, `+Inf` or `-Inf` (or the number).
    static func text(_ x: Double) -> String {
        x.isNaN ? "NaN" : x == .infinity ? "+Inf" : x == -.infinity ? "-Inf" : "\(x)"
    }
}

extension NonFiniteError {
    /// An error of `kind` at `step` that lists the parameters of `model` holding non-finite values.
    init(_ kind: Kind, _ value: Double, step: Int, model: Module) {
        self.init(kind: kind, value: value, step: step, epoch: nil, batch: nil, layer: nil, parameter: nil,
                  nonFiniteGradients: [], nonFiniteParameters: [], anomaly: nil)
        nonFiniteParameters = model.namedParameters().filter { AnomalyDetection.firstNonFinite($0.parameter.value) != nil }.map(\.name)
    }
}

/// Locates a NaN or ±∞ in a model's module tree: the module owning a parameter, the first layer
/// whose output is non-finite, and the module each operation runs in for anomaly detection.
/// Modules are named by their dotted paths from ``Module/namedModules()`` (`blocks.1.fc`).
enum NonFiniteDiagnosis {
    /// `path (Type)`, e.g. `blocks.1.fc (Linear)`.
    static func label(_ path: String, _ module: Module) -> String {
        "\(path) (\(typeName(module)))"
    }

    /// The module's class name, e.g. `Linear`.
    static func typeName(_ module: Module) -> String { String(describing: type(of: module)) }

    /// The label of the deepest module of `model` that owns the parameter with dotted name
    /// `parameter` (the longest module path that prefixes it); nil when the model itself owns it.
    static func owner(ofParameter parameter: String, in model: Module) -> String? {
        var best: (name: String, module: Module)?
        for (name, module) in model.namedModules() where !name.isEmpty && parameter.hasPrefix(name + ".") {
            if name.count > (best?.name.count ?? 0) { best = (name, module) }
        }
        return best.map { label($0.name, $0.module) }
    }

    /// The first layer whose output on `x` (in the model's current mode, without autodiff history)
    /// holds a NaN or ±∞, with its dotted path: the forward pass runs layer by layer through
    /// ``Sequential``s at any depth, and a layer of another kind counts as one step. Nil when the
    /// model is not a ``Sequential`` or every layer's output is finite. Buffers (running
    /// statistics) and dropout generators are restored after, so the diagnosis changes nothing.
    static func firstNonFiniteLayer(in model: any Layer, input x: Tensor) -> (path: String, layer: any Layer)? {
        guard model is Sequential else { return nil }
        let buffers = model.namedBuffers().map { ($0.buffer, $0.buffer.value) }
        let generators = model.namedModules().compactMap { ($0.module as? Dropout)?.generator }.map { ($0, $0.stateWords) }
        defer {
            for (b, v) in buffers { b.value = v }
            for (g, w) in generators { g.stateWords = w }
        }
        return withNoGrad {
            var h = x
            return firstNonFinite(model, path: "", &h)
        }
    }

    /// Runs `layer` on `h` (replacing it with the output) and returns the first layer, at `path`
    /// or below it inside ``Sequential``s, whose output is non-finite.
    private static func firstNonFinite(_ layer: any Layer, path: String, _ h: inout Tensor) -> (path: String, layer: any Layer)? {
        guard let sequential = layer as? Sequential else {
            h = layer(h)
            return AnomalyDetection.firstNonFinite(h) == nil ? nil : (path, layer)
        }
        for (i, child) in sequential.layers.enumerated() {
            if let found = firstNonFinite(child, path: join(path, i), &h) { return found }
        }
        return nil
    }

    /// `model(x)` with each operation attributed to its layer for anomaly detection
    /// (``AnomalyDetection/inModule(_:type:_:)``): ``Sequential``s at any depth run layer by
    /// layer, each layer of another kind under its dotted path and type. The same values as `model(x)`.
    static func forwardNamingLayers(_ model: any Layer, _ x: Tensor) -> Tensor {
        forward(model, path: "", x)
    }

    private static func forward(_ layer: any Layer, path: String, _ x: Tensor) -> Tensor {
        guard let sequential = layer as? Sequential else {
            if path.isEmpty { return layer(x) }
            return AnomalyDetection.inModule(path, type: typeName(layer)) { layer(x) }
        }
        var h = x
        for (i, child) in sequential.layers.enumerated() { h = forward(child, path: join(path, i), h) }
        return h
    }

    /// The dotted path of child `index` of the module at `path` (`""` is the model).
    private static func join(_ path: String, _ index: Int) -> String {
        path.isEmpty ? String(index) : "\(path).\(index)"
    }
}
