/// A model spec: a network written as a line of text a person can type, e.g.
/// `conv2d(32,3) relu maxpool(2) flatten linear(128) relu linear(10)` or `mlp(512,512)`.
///
/// ## Grammar
///
/// A spec is a sequence of layer tokens separated by whitespace. A token is a name
/// (case-insensitive), optionally followed by arguments in parentheses: positional values first,
/// then `key=value` pairs, separated by commas (spaces inside the parentheses are allowed).
///
/// | token | layer(s) | notes |
/// |---|---|---|
/// | `linear(k)` | ``Linear`` `F → k` | needs a `[F]` running shape (write `flatten` first after convolutions) |
/// | `mlp(m₁,…,m_r)` | `linear(m₁) relu … linear(m_r) relu` | flattens a multi-dimensional input first; the output layer is appended from the data |
/// | `conv1d(C′,k[,stride,padding,dilation])` | ``Conv1D`` on `[C, L]` | default padding "same" for odd k (the notes' Conv1D-S); an even k needs `padding=` |
/// | `conv2d(C′,k[,stride,padding,dilation])` | ``Conv2D`` on `[C, H, W]` | default padding 0 (PyTorch's); `padding=same` for odd k |
/// | `maxpool(k[,stride,padding])`, `avgpool(…)` | ``MaxPool1D``/``MaxPool2D``, ``AvgPool1D``/``AvgPool2D`` | 1-D on `[C, L]`, 2-D on `[C, H, W]`; `maxpool1d`, `maxpool2d`, `avgpool1d`, `avgpool2d` force the kind; stride defaults to k |
/// | `flatten` | ``Flatten`` | `[d₁, d₂, …] → [d₁·d₂·…]` |
/// | `batchnorm` | ``BatchNorm1D`` on `[F]` or `[C, L]`, ``BatchNorm2D`` on `[C, H, W]` | `batchnorm1d`, `batchnorm2d` force the kind |
/// | `layernorm` | ``LayerNorm`` over the whole per-example shape | eq. 7.40–7.41 (per-feature affine) |
/// | `groupnorm(G)` | ``GroupNorm`` `(G, C)` | C, the first running dimension, must split into G groups |
/// | `dropout[(p)]` | ``Dropout`` | p defaults to 0.5; masks drawn from the build's generator |
/// | `residual[(h)]` | ``Residual`` of the running width F, hidden width h (default F) | eq. 7.38; needs `[F]` |
/// | `resnet(w,n)` | `linear(w)` (only when the running width isn't w), then n × `residual` | ResNet-S (eq. 7.39) once the head is appended; flattens like `mlp` |
/// | `relu`, `sigmoid`, `tanh`, `gelu`, `identity` | the activations of eq. 7.24–7.29 | |
/// | `leakyrelu[(γ)]`, `softplus[(β)]` | ``LeakyReLU`` (γ = 0.01), ``Softplus`` (β = 1) | |
///
/// ## Sizes
///
/// ``build(inputShape:outputSize:dtype:generator:)`` infers every layer's input features or
/// channels from the running per-example shape, starting at `inputShape` (e.g. `[1, 28, 28]` for
/// MNIST or `[8]` for eight features). Nothing is inserted implicitly except:
/// - `mlp` and `resnet` flatten a multi-dimensional running shape first (they are shorthands for
///   fully connected networks); a plain `linear` or `residual` after a multi-dimensional shape is an
///   error that asks for `flatten`;
/// - the output layer: with an `outputSize`, a spec whose last token is not `linear(k)` gets
///   `linear(outputSize)` appended (preceded by `flatten` if the running shape is multi-dimensional);
///   a last `linear(k)` with k ≠ `outputSize` is an error.
///
/// ## Round trip
///
/// ``description`` is a canonical spelling (lower case, no spaces inside parentheses, defaults
/// left out, e.g. `conv2d(32,3,stride=2,padding=1)`), meant for checkpoint metadata: parsing it gives
/// an equal spec, and building equal specs on the same input shape and output size gives models
/// with identical parameter names and shapes. Parameter names are those of a flat
/// `torch.nn.Sequential` of the same layers (`0.weight`, `0.bias`, `2.weight`, …; `k.fc1.weight` for a
/// residual block).
///
/// ```swift
/// let spec = try ModelSpec.parse("conv2d(32,3) relu maxpool(2) flatten linear(128) relu")
/// let model = try spec.build(inputShape: [1, 28, 28], outputSize: 10, generator: RandomGenerator(seed: 0))
/// model(Tensor.zeros([64, 1, 28, 28])).shape   // [64, 10]
/// ```
public struct ModelSpec: Sendable, Equatable, CustomStringConvertible {
    /// An activation function token.
    public enum Activation: Sendable, Equatable {
        /// `relu`: max(z, 0) (eq. 7.24).
        case relu
        /// `sigmoid` (eq. 7.25).
        case sigmoid
        /// `tanh` (eq. 7.26).
        case tanh
        /// `leakyrelu(γ)` (eq. 7.27).
        case leakyReLU(slope: Double)
        /// `gelu` (eq. 7.28).
        case gelu
        /// `softplus(β)`.
        case softplus(beta: Double)
        /// `identity`.
        case identity
    }

    /// Max or average pooling.
    public enum PoolKind: String, Sendable, Equatable {
        /// `maxpool`.
        case max
        /// `avgpool`.
        case average
    }

    /// One token of a spec, parsed and checked on its own (sizes that depend on the running shape
    /// are filled in by ``ModelSpec/build(inputShape:outputSize:dtype:generator:)``).
    public enum LayerSpec: Sendable, Equatable, CustomStringConvertible {
        /// `linear(k)`: a fully connected layer with k outputs.
        case linear(outFeatures: Int)
        /// `mlp(m₁,…)`: linear + ReLU for each hidden width.
        case mlp(hidden: [Int])
        /// `conv1d(…)` (`dimensions` 1) or `conv2d(…)` (`dimensions` 2); `padding` nil is the
        /// layer's default ("same" for Conv1D, 0 for Conv2D).
        case convolution(dimensions: Int, outChannels: Int, kernelSize: Int, stride: Int, padding: Int?, dilation: Int)
        /// `maxpool`/`avgpool` (`dimensions` nil: picked from the running shape); `stride` nil is the kernel size.
        case pool(PoolKind, dimensions: Int?, kernelSize: Int, stride: Int?, padding: Int)
        /// `flatten`.
        case flatten
        /// `batchnorm` (`dimensions` nil: picked from the running shape), `batchnorm1d`, `batchnorm2d`.
        case batchNorm(dimensions: Int?)
        /// `layernorm`: over the whole per-example shape.
        case layerNorm
        /// `groupnorm(G)`.
        case groupNorm(groups: Int)
        /// `dropout(p)`.
        case dropout(p: Double)
        /// `residual(h)`: a residual block (eq. 7.38) of the running width; `hidden` nil is that width.
        case residual(hidden: Int?)
        /// `resnet(w,n)`: a projection to width w when needed, then n residual blocks.
        case resNet(width: Int, blocks: Int)
        /// An activation token.
        case activation(Activation)

        /// The canonical spelling of the token.
        public var description: String {
            switch self {
            case .linear(let k): return "linear(\(k))"
            case .mlp(let hidden): return "mlp(\(hidden.map(String.init).joined(separator: ",")))"
            case let .convolution(dims, out, k, stride, padding, dilation):
                var args = ["\(out)", "\(k)"]
                if stride != 1 { args.append("stride=\(stride)") }
                if let padding { args.append("padding=\(padding)") }
                if dilation != 1 { args.append("dilation=\(dilation)") }
                return "conv\(dims)d(\(args.joined(separator: ",")))"
            case let .pool(kind, dims, k, stride, padding):
                var args = ["\(k)"]
                if let stride { args.append("stride=\(stride)") }
                if padding != 0 { args.append("padding=\(padding)") }
                let name = (kind == .max ? "maxpool" : "avgpool") + (dims.map { "\($0)d" } ?? "")
                return "\(name)(\(args.joined(separator: ",")))"
            case .flatten: return "flatten"
            case .batchNorm(let dims): return "batchnorm" + (dims.map { "\($0)d" } ?? "")
            case .layerNorm: return "layernorm"
            case .groupNorm(let g): return "groupnorm(\(g))"
            case .dropout(let p): return "dropout(\(ModelSpec.format(p)))"
            case .residual(let hidden): return hidden.map { "residual(\($0))" } ?? "residual"
            case let .resNet(width, blocks): return "resnet(\(width),\(blocks))"
            case .activation(let a):
                switch a {
                case .relu: return "relu"
                case .sigmoid: return "sigmoid"
                case .tanh: return "tanh"
                case .leakyReLU(let slope): return "leakyrelu(\(ModelSpec.format(slope)))"
                case .gelu: return "gelu"
                case .softplus(let beta): return "softplus(\(ModelSpec.format(beta)))"
                case .identity: return "identity"
                }
            }
        }
    }

    /// The tokens, in order.
    public let layers: [LayerSpec]
    /// The text the spec was parsed from (the canonical text for a spec made from ``layers``).
    public let source: String
    /// Each token's character range in ``source`` (offsets in `Character`s), for error carets.
    public let ranges: [Range<Int>]

    /// A spec made of `layers` directly (its ``source`` is the canonical text).
    public init(layers: [LayerSpec]) {
        var ranges: [Range<Int>] = []
        var offset = 0
        for layer in layers {
            let n = layer.description.count
            ranges.append(offset..<(offset + n))
            offset += n + 1
        }
        self.layers = layers
        self.ranges = ranges
        self.source = layers.map(\.description).joined(separator: " ")
    }

    private init(layers: [LayerSpec], source: String, ranges: [Range<Int>]) {
        self.layers = layers
        self.source = source
        self.ranges = ranges
    }

    /// Parses `text` (see the grammar above); throws a ``ModelSpecError`` that points at the
    /// offending token.
    public static func parse(_ text: String) throws(ModelSpecError) -> ModelSpec {
        var tokenizer = Tokenizer(text)
        let tokens = try tokenizer.tokens()
        if tokens.isEmpty {
            throw ModelSpecError("the model spec is empty", spec: text, range: nil,
                                 hint: "write layers separated by spaces, e.g. \"mlp(128)\" or \"conv2d(32,3) relu maxpool(2) flatten linear(128) relu\"")
        }
        var layers: [LayerSpec] = []
        for token in tokens { layers.append(try token.interpret(spec: text)) }
        return ModelSpec(layers: layers, source: text, ranges: tokens.map { $0.range })
    }

    /// Parses `text`, like ``parse(_:)``.
    public init(_ text: String) throws(ModelSpecError) { self = try ModelSpec.parse(text) }

    /// The canonical text: each token's canonical spelling separated by single spaces.
    public var description: String { layers.map(\.description).joined(separator: " ") }

    /// Specs are equal when their tokens are (spelling and spacing of the source don't matter).
    public static func == (a: ModelSpec, b: ModelSpec) -> Bool { a.layers == b.layers }

    /// Every token name the parser knows, for suggestions and help texts.
    public static let tokenNames: [String] = [
        "linear", "mlp", "conv1d", "conv2d", "maxpool", "maxpool1d", "maxpool2d", "avgpool", "avgpool1d", "avgpool2d",
        "flatten", "batchnorm", "batchnorm1d", "batchnorm2d", "layernorm", "groupnorm", "dropout", "residual", "resnet",
        "relu", "sigmoid", "tanh", "leakyrelu", "gelu", "softplus", "identity",
    ]

    /// A short grammar reminder, one token form per entry, for error hints and `--help`.
    public static let usage = "linear(k) mlp(m1,m2,...) conv1d(c,k) conv2d(c,k,stride=s,padding=p) maxpool(k) avgpool(k) flatten "
        + "batchnorm layernorm groupnorm(g) dropout(p) residual(h) resnet(w,n) relu sigmoid tanh leakyrelu(slope) gelu softplus(beta) identity"

    /// `x` as the shortest text that reads back to the same Double (`2` rather than `2.0`).
    static func format(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return "\(x)"
    }

    // MARK: Building

    /// Builds the network for examples of shape `inputShape` (per example, without the batch
    /// dimension: `[1, 28, 28]`, `[8]`), with `outputSize` outputs (nil: no output layer appended),
    /// initialising parameters from `generator` in token order.
    ///
    /// Throws a ``ModelSpecError`` pointing at the token when a layer doesn't fit the running shape
    /// (e.g. `conv2d` on `[784]`), or at the last token when it is a `linear(k)` with k ≠ `outputSize`.
    public func build(inputShape: [Int], outputSize: Int?, dtype: DType = .float32,
                      generator: RandomGenerator = .default) throws(ModelSpecError) -> Sequential {
        try Sequential(plan(inputShape: inputShape, outputSize: outputSize).map { $0.make(dtype, generator) })
    }

    /// The per-example output shape of the network ``build(inputShape:outputSize:dtype:generator:)``
    /// would make, without making it.
    public func outputShape(inputShape: [Int], outputSize: Int?) throws(ModelSpecError) -> [Int] {
        try plan(inputShape: inputShape, outputSize: outputSize).last?.shape ?? inputShape
    }

    /// A layer to make (deferred, so a spec is checked completely before any parameter is drawn)
    /// and the running shape after it.
    private struct Step {
        let make: (DType, RandomGenerator) -> any Layer
        let shape: [Int]
    }

    private func error(_ message: String, at index: Int?, hint: String? = nil) -> ModelSpecError {
        ModelSpecError(message, spec: source, range: index.map { ranges[$0] }, hint: hint)
    }

    private func plan(inputShape: [Int], outputSize: Int?) throws(ModelSpecError) -> [Step] {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw error("the input shape \(inputShape) must be a non-empty list of positive sizes (per example, e.g. [1, 28, 28] or [8])",
                        at: nil)
        }
        if let outputSize, outputSize <= 0 {
            throw error("the output size must be positive, got \(outputSize)", at: nil)
        }
        var steps: [Step] = []
        var shape = inputShape
        func add(_ newShape: [Int], _ make: @escaping (DType, RandomGenerator) -> any Layer) {
            steps.append(Step(make: make, shape: newShape))
            shape = newShape
        }
        func flattenIfNeeded() {
            if shape.count > 1 { add([shape.reduce(1, *)]) { _, _ in Flatten() } }
        }
        func shapeText(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

        for (i, layer) in layers.enumerated() {
            let name = layer.description
            let word = String(name.prefix { $0 != "(" })
            switch layer {
            case .linear(let k):
                guard shape.count == 1 else {
                    throw error("\(word) needs a [features] input but the running shape is \(shapeText(shape))", at: i,
                                hint: "insert flatten before it: \"flatten \(name)\"")
                }
                let f = shape[0]
                add([k]) { d, g in Linear(f, k, dtype: d, generator: g) }
            case .mlp(let hidden):
                flattenIfNeeded()
                for h in hidden {
                    let f = shape[0]
                    add([h]) { d, g in Linear(f, h, dtype: d, generator: g) }
                    add([h]) { _, _ in ReLU() }
                }
            case let .convolution(dims, out, k, stride, padding, dilation):
                guard shape.count == dims + 1 else {
                    let wanted = dims == 1 ? "[C, L]" : "[C, H, W]"
                    var hint: String? = nil
                    if shape.count == dims { hint = "give the input shape a channel dimension, e.g. \(shapeText([1] + shape))" }
                    throw error("\(word) needs a \(wanted) input but the running shape is \(shapeText(shape))", at: i, hint: hint)
                }
                let c = shape[0]
                let pad = padding ?? (dims == 1 ? dilation * (k - 1) / 2 : 0)
                var outShape = [out]
                for n in shape.dropFirst() {
                    let span = n + 2 * pad - dilation * (k - 1) - 1
                    guard span >= 0 else {
                        throw error("\(name): the kernel (\(k), dilation \(dilation)) is larger than the padded input: the running shape is \(shapeText(shape)) with padding \(pad)", at: i)
                    }
                    outShape.append(span / stride + 1)
                }
                if dims == 1 {
                    add(outShape) { d, g in Conv1D(c, out, kernelSize: k, stride: stride, padding: pad, dilation: dilation, dtype: d, generator: g) }
                } else {
                    add(outShape) { d, g in Conv2D(c, out, kernelSize: k, stride: stride, padding: pad, dilation: dilation, dtype: d, generator: g) }
                }
            case let .pool(kind, dimsOrNil, k, strideOrNil, padding):
                let family = kind == .max ? "maxpool" : "avgpool"
                guard let dims = dimsOrNil ?? (shape.count == 2 ? 1 : shape.count == 3 ? 2 : nil) else {
                    throw error("\(word) needs a [C, L] or [C, H, W] input but the running shape is \(shapeText(shape))", at: i)
                }
                guard shape.count == dims + 1 else {
                    throw error("\(word) needs a \(dims == 1 ? "[C, L]" : "[C, H, W]") input but the running shape is \(shapeText(shape))",
                                at: i, hint: "write \(family) to pick the 1-D or 2-D kind from the running shape")
                }
                let stride = strideOrNil ?? k
                var outShape = [shape[0]]
                for n in shape.dropFirst() {
                    let span = n + 2 * padding - k
                    guard span >= 0 else {
                        throw error("\(name): the window \(k) is larger than the padded input: the running shape is \(shapeText(shape))", at: i)
                    }
                    outShape.append(span / stride + 1)
                }
                switch (kind, dims) {
                case (.max, 1): add(outShape) { _, _ in MaxPool1D(kernelSize: k, stride: stride, padding: padding) }
                case (.max, _): add(outShape) { _, _ in MaxPool2D(kernelSize: k, stride: stride, padding: padding) }
                case (.average, 1): add(outShape) { _, _ in AvgPool1D(kernelSize: k, stride: stride, padding: padding) }
                case (.average, _): add(outShape) { _, _ in AvgPool2D(kernelSize: k, stride: stride, padding: padding) }
                }
            case .flatten:
                add([shape.reduce(1, *)]) { _, _ in Flatten() }
            case .batchNorm(let dimsOrNil):
                let c = shape[0]
                let s = shape
                switch (dimsOrNil, shape.count) {
                case (nil, 1), (nil, 2), (1, 1), (1, 2): add(s) { d, _ in BatchNorm1D(c, dtype: d) }
                case (nil, 3), (2, 3): add(s) { d, _ in BatchNorm2D(c, dtype: d) }
                case (2, _):
                    throw error("\(word) needs a [C, H, W] input but the running shape is \(shapeText(shape))", at: i)
                case (1, _):
                    throw error("\(word) needs a [F] or [C, L] input but the running shape is \(shapeText(shape))", at: i)
                default:
                    throw error("\(word) needs a [F], [C, L] or [C, H, W] input but the running shape is \(shapeText(shape))", at: i)
                }
            case .layerNorm:
                let s = shape
                add(s) { d, _ in LayerNorm(s, dtype: d) }
            case .groupNorm(let groups):
                let c = shape[0], s = shape
                guard c % groups == 0 else {
                    throw error("\(name): the \(c) channels of the running shape \(shapeText(shape)) don't split into \(groups) groups", at: i,
                                hint: "the number of groups must divide the channels")
                }
                add(s) { d, _ in GroupNorm(groups, c, dtype: d) }
            case .dropout(let p):
                add(shape) { _, g in Dropout(p, generator: g) }
            case .residual(let hidden):
                guard shape.count == 1 else {
                    throw error("\(word) needs a [features] input but the running shape is \(shapeText(shape))", at: i,
                                hint: "insert flatten before it: \"flatten \(name)\"")
                }
                let f = shape[0]
                add(shape) { d, g in Residual(f, hidden: hidden, dtype: d, generator: g) }
            case let .resNet(width, blocks):
                flattenIfNeeded()
                if shape[0] != width {
                    let f = shape[0]
                    add([width]) { d, g in Linear(f, width, dtype: d, generator: g) }
                }
                for _ in 0..<blocks { add(shape) { d, g in Residual(width, dtype: d, generator: g) } }
            case .activation(let a):
                switch a {
                case .relu: add(shape) { _, _ in ReLU() }
                case .sigmoid: add(shape) { _, _ in Sigmoid() }
                case .tanh: add(shape) { _, _ in Tanh() }
                case .leakyReLU(let slope): add(shape) { _, _ in LeakyReLU(slope: slope) }
                case .gelu: add(shape) { _, _ in GELU() }
                case .softplus(let beta): add(shape) { _, _ in Softplus(beta: beta) }
                case .identity: add(shape) { _, _ in Identity() }
                }
            }
        }

        if let outputSize {
            if case .linear(let k) = layers.last! {
                guard k == outputSize else {
                    throw error("the last layer \(layers.last!) gives \(k) outputs but the data needs \(outputSize)", at: layers.count - 1,
                                hint: "write linear(\(outputSize)), or leave the output layer out: it is appended from the data")
                }
            } else {
                flattenIfNeeded()
                let f = shape[0]
                add([outputSize]) { d, g in Linear(f, outputSize, dtype: d, generator: g) }
            }
        }
        return steps
    }
}

// MARK: - Tokenizer

/// One token as written: name, arguments and where they are in the text.
private struct RawToken {
    struct Argument {
        let key: String?
        let value: String
        let range: Range<Int>
    }
    let name: String
    let nameRange: Range<Int>
    let arguments: [Argument]
    let range: Range<Int>

    func fail(_ spec: String, _ message: String, at range: Range<Int>? = nil, hint: String? = nil) -> ModelSpecError {
        ModelSpecError(message, spec: spec, range: range ?? self.range, hint: hint)
    }

    /// Binds the arguments to `parameters` (positional in order, or by key) and checks counts.
    func bind(_ spec: String, _ parameters: [String], required: Int, form: String) throws(ModelSpecError) -> [String: Argument] {
        var bound: [String: Argument] = [:]
        var position = 0
        for argument in arguments {
            if let key = argument.key {
                guard parameters.contains(key) else {
                    let suggestion = closest(to: key, among: parameters).map { "; did you mean \($0)?" } ?? ""
                    throw fail(spec, "\(name) has no argument named \"\(key)\"\(suggestion)", at: argument.range,
                               hint: parameters.isEmpty ? "\(name) takes no arguments" : "expected \(form)")
                }
                guard bound[key] == nil else {
                    throw fail(spec, "\(name): argument \"\(key)\" is given twice", at: argument.range, hint: "expected \(form)")
                }
                bound[key] = argument
            } else {
                guard position < parameters.count else {
                    let count = parameters.isEmpty ? "no arguments" : parameters.count == 1 ? "1 argument" : "at most \(parameters.count) arguments"
                    throw fail(spec, "\(name) takes \(count), got \(arguments.count)", hint: "expected \(form)")
                }
                bound[parameters[position]] = argument
                position += 1
            }
        }
        for p in parameters.prefix(required) where bound[p] == nil {
            throw fail(spec, "\(name) is missing its \(p) argument", hint: "expected \(form)")
        }
        return bound
    }

    func int(_ spec: String, _ argument: Argument, _ what: String, minimum: Int = 1) throws(ModelSpecError) -> Int {
        guard let v = Int(argument.value) else {
            let isNumber = Double(argument.value) != nil
            throw fail(spec, "\(name): the \(what) must be \(isNumber ? "a whole number" : "an integer"), got \"\(argument.value)\"",
                       at: argument.range)
        }
        guard v >= minimum else {
            let bound = minimum == 1 ? "positive" : minimum == 0 ? "non-negative" : "at least \(minimum)"
            throw fail(spec, "\(name): the \(what) must be \(bound), got \(v)\(v < 0 ? " (a negative size)" : "")", at: argument.range)
        }
        return v
    }

    func double(_ spec: String, _ argument: Argument, _ what: String, in valid: ClosedRange<Double>? = nil,
                positive: Bool = false) throws(ModelSpecError) -> Double {
        guard let v = Double(argument.value), v.isFinite else {
            throw fail(spec, "\(name): the \(what) must be a number, got \"\(argument.value)\"", at: argument.range)
        }
        if let valid, !valid.contains(v) {
            throw fail(spec, "\(name): the \(what) must be in [\(ModelSpec.format(valid.lowerBound)), \(ModelSpec.format(valid.upperBound))], got \(argument.value)",
                       at: argument.range)
        }
        if positive && v <= 0 {
            throw fail(spec, "\(name): the \(what) must be positive, got \(argument.value)", at: argument.range)
        }
        return v
    }

    /// The token as a ``ModelSpec/LayerSpec``.
    func interpret(spec: String) throws(ModelSpecError) -> ModelSpec.LayerSpec {
        switch name {
        case "linear":
            let a = try bind(spec, ["out"], required: 1, form: "linear(k), k the output features")
            return .linear(outFeatures: try int(spec, a["out"]!, "output size"))
        case "mlp":
            if let keyed = arguments.first(where: { $0.key != nil }) {
                throw fail(spec, "mlp takes hidden sizes only, got \"\(keyed.key!)=\"", at: keyed.range,
                           hint: "expected mlp(m1,m2,...), the hidden widths")
            }
            guard !arguments.isEmpty else {
                throw fail(spec, "mlp needs at least one hidden size", hint: "expected mlp(m1,m2,...), e.g. mlp(512,512)")
            }
            var hidden: [Int] = []
            for a in arguments { hidden.append(try int(spec, a, "hidden size")) }
            return .mlp(hidden: hidden)
        case "conv1d", "conv2d":
            let dims = name == "conv1d" ? 1 : 2
            let a = try bind(spec, ["out", "kernel", "stride", "padding", "dilation"], required: 2,
                             form: "\(name)(c,k) with optional stride=, padding= (a number or \"same\") and dilation=")
            let out = try int(spec, a["out"]!, "number of output channels")
            let k = try int(spec, a["kernel"]!, "kernel size")
            let stride = try a["stride"].map { (x) throws(ModelSpecError) in try int(spec, x, "stride") } ?? 1
            let dilation = try a["dilation"].map { (x) throws(ModelSpecError) in try int(spec, x, "dilation") } ?? 1
            var padding: Int? = nil
            if let p = a["padding"] {
                if p.value.lowercased() == "same" {
                    guard k % 2 == 1 else {
                        throw fail(spec, "\(name): padding=same needs an odd kernel size, got \(k)", at: p.range)
                    }
                    padding = dilation * (k - 1) / 2
                } else {
                    padding = try int(spec, p, "padding", minimum: 0)
                }
            } else if dims == 1 && k % 2 == 0 {
                throw fail(spec, "conv1d's default \"same\" padding needs an odd kernel size, got \(k)",
                           hint: "give the padding, e.g. conv1d(\(out),\(k),padding=0)")
            }
            return .convolution(dimensions: dims, outChannels: out, kernelSize: k, stride: stride, padding: padding, dilation: dilation)
        case "maxpool", "maxpool1d", "maxpool2d", "avgpool", "avgpool1d", "avgpool2d":
            let kind: ModelSpec.PoolKind = name.hasPrefix("max") ? .max : .average
            let dims: Int? = name.hasSuffix("1d") ? 1 : name.hasSuffix("2d") ? 2 : nil
            let a = try bind(spec, ["kernel", "stride", "padding"], required: 1, form: "\(name)(k) with optional stride= and padding=")
            let k = try int(spec, a["kernel"]!, "window size")
            var stride = try a["stride"].map { (x) throws(ModelSpecError) in try int(spec, x, "stride") }
            if stride == k { stride = nil }
            let padding = try a["padding"].map { (x) throws(ModelSpecError) in try int(spec, x, "padding", minimum: 0) } ?? 0
            if 2 * padding > k {
                throw fail(spec, "\(name): the padding must be at most half the window (\(k / 2)), got \(padding)", at: a["padding"]!.range)
            }
            return .pool(kind, dimensions: dims, kernelSize: k, stride: stride, padding: padding)
        case "flatten", "batchnorm", "batchnorm1d", "batchnorm2d", "layernorm", "relu", "sigmoid", "tanh", "gelu", "identity":
            _ = try bind(spec, [], required: 0, form: name)
            switch name {
            case "flatten": return .flatten
            case "batchnorm": return .batchNorm(dimensions: nil)
            case "batchnorm1d": return .batchNorm(dimensions: 1)
            case "batchnorm2d": return .batchNorm(dimensions: 2)
            case "layernorm": return .layerNorm
            case "relu": return .activation(.relu)
            case "sigmoid": return .activation(.sigmoid)
            case "tanh": return .activation(.tanh)
            case "gelu": return .activation(.gelu)
            default: return .activation(.identity)
            }
        case "groupnorm":
            let a = try bind(spec, ["groups"], required: 1, form: "groupnorm(g), g the number of groups")
            return .groupNorm(groups: try int(spec, a["groups"]!, "number of groups"))
        case "dropout":
            let a = try bind(spec, ["p"], required: 0, form: "dropout(p), p in [0, 1] (default 0.5)")
            return .dropout(p: try a["p"].map { (x) throws(ModelSpecError) in try double(spec, x, "probability", in: 0...1) } ?? 0.5)
        case "residual":
            let a = try bind(spec, ["hidden"], required: 0, form: "residual or residual(h), h the hidden width")
            return .residual(hidden: try a["hidden"].map { (x) throws(ModelSpecError) in try int(spec, x, "hidden width") })
        case "resnet":
            let a = try bind(spec, ["width", "blocks"], required: 2, form: "resnet(w,n): width w, n residual blocks")
            return .resNet(width: try int(spec, a["width"]!, "width"), blocks: try int(spec, a["blocks"]!, "number of blocks"))
        case "leakyrelu":
            let a = try bind(spec, ["slope"], required: 0, form: "leakyrelu or leakyrelu(slope) (default 0.01)")
            return .activation(.leakyReLU(slope: try a["slope"].map { (x) throws(ModelSpecError) in try double(spec, x, "slope") } ?? 0.01))
        case "softplus":
            let a = try bind(spec, ["beta"], required: 0, form: "softplus or softplus(beta) (default 1)")
            return .activation(.softplus(beta: try a["beta"].map { (x) throws(ModelSpecError) in try double(spec, x, "beta", positive: true) } ?? 1))
        default:
            let suggestion = ModelSpecError.synonyms[name] ?? closest(to: name, among: ModelSpec.tokenNames)
            throw fail(spec, "unknown layer \"\(name)\"" + (suggestion.map { "; did you mean \($0)?" } ?? ""), at: nameRange,
                       hint: "known layers: " + ModelSpec.usage)
        }
    }
}

/// Splits a spec into tokens, keeping character positions for error carets.
private struct Tokenizer {
    let text: String
    let chars: [Character]
    var i = 0

    init(_ text: String) {
        self.text = text
        self.chars = Array(text)
    }

    static func isNameCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" || c == "-" }

    mutating func skipSpaces() { while i < chars.count, chars[i].isWhitespace { i += 1 } }

    mutating func tokens() throws(ModelSpecError) -> [RawToken] {
        var out: [RawToken] = []
        skipSpaces()
        while i < chars.count {
            out.append(try token())
            guard i >= chars.count || chars[i].isWhitespace else {
                throw ModelSpecError("unexpected \"\(chars[i])\" after \(out.last!.name); separate layers with spaces", spec: text,
                                     range: i..<(i + 1), hint: "e.g. \"linear(64) relu linear(10)\"")
            }
            skipSpaces()
        }
        return out
    }

    mutating func token() throws(ModelSpecError) -> RawToken {
        let start = i
        while i < chars.count, Tokenizer.isNameCharacter(chars[i]) { i += 1 }
        guard i > start else {
            throw ModelSpecError("expected a layer name, found \"\(chars[i])\"", spec: text, range: i..<(i + 1),
                                 hint: "known layers: " + ModelSpec.usage)
        }
        let name = String(chars[start..<i]).lowercased()
        let nameRange = start..<i
        var arguments: [RawToken.Argument] = []
        if i < chars.count, chars[i] == "(" {
            let open = i
            i += 1
            skipSpaces()
            if i < chars.count, chars[i] == ")" {
                i += 1
            } else {
                while true {
                    skipSpaces()
                    let argStart = i
                    while i < chars.count, !",()".contains(chars[i]), !chars[i].isWhitespace { i += 1 }
                    let argEnd = i
                    let raw = String(chars[argStart..<argEnd])
                    skipSpaces()
                    guard i < chars.count else {
                        throw ModelSpecError("\"(\" after \(name) is never closed", spec: text, range: start..<chars.count,
                                             hint: "close the arguments with \")\"")
                    }
                    guard chars[i] == "," || chars[i] == ")" else {
                        throw ModelSpecError("unexpected \"\(chars[i])\" in the arguments of \(name)", spec: text, range: i..<(i + 1),
                                             hint: "separate arguments with commas, e.g. conv2d(32,3,stride=2)")
                    }
                    guard !raw.isEmpty else {
                        throw ModelSpecError("empty argument in \(name)(…)", spec: text, range: open..<(i + 1),
                                             hint: "separate arguments with single commas")
                    }
                    if let eq = raw.firstIndex(of: "=") {
                        let key = raw[..<eq].lowercased(), value = String(raw[raw.index(after: eq)...])
                        guard !key.isEmpty, !value.isEmpty else {
                            throw ModelSpecError("malformed argument \"\(raw)\" in \(name)(…)", spec: text, range: argStart..<argEnd,
                                                 hint: "write key=value, e.g. stride=2")
                        }
                        arguments.append(.init(key: key, value: value, range: argStart..<argEnd))
                    } else {
                        arguments.append(.init(key: nil, value: raw, range: argStart..<argEnd))
                    }
                    let c = chars[i]
                    i += 1
                    if c == ")" { break }
                }
            }
        }
        return RawToken(name: name, nameRange: nameRange, arguments: arguments, range: start..<i)
    }
}

/// Levenshtein distance between `a` and `b`.
private func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a), b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    var current = Array(repeating: 0, count: b.count + 1)
    for i in 1...a.count {
        current[0] = i
        for j in 1...b.count {
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
        }
        swap(&previous, &current)
    }
    return previous[b.count]
}

/// The candidate nearest to `word` by edit distance, if near enough to be a likely typo
/// (at most 2 edits, or a third of the word's length).
private func closest(to word: String, among candidates: [String]) -> String? {
    var best: (String, Int)? = nil
    for c in candidates {
        let d = editDistance(word, c)
        if best == nil || d < best!.1 { best = (c, d) }
    }
    guard let (c, d) = best, d <= max(2, word.count / 3) else { return nil }
    return c
}

/// An invalid model spec, or one that doesn't fit the data: a message, the spec, and the range of
/// the offending token, shown as a caret line under the quoted spec:
///
/// ```
/// model spec: conv2d needs a [C, H, W] input but the running shape is [784]
///   flatten conv2d(32,3) relu
///           ^^^^^^^^^^^^
///   hint: give the input shape a channel dimension, e.g. [1, 28, 28]
/// ```
public struct ModelSpecError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What is wrong, in one line.
    public let message: String
    /// The spec as given.
    public let spec: String
    /// The offending token's (or argument's) characters in `spec`; nil for problems with no token
    /// (an empty spec, a bad input shape).
    public let range: Range<Int>?
    /// What is expected instead, if there is something useful to say.
    public let hint: String?

    /// An error about `range` of `spec`.
    public init(_ message: String, spec: String, range: Range<Int>?, hint: String? = nil) {
        self.message = message
        self.spec = spec
        self.range = range
        self.hint = hint
    }

    /// Names from other libraries mapped to ours, for "did you mean".
    static let synonyms: [String: String] = [
        "dense": "linear", "fc": "linear", "fullyconnected": "linear", "conv": "conv2d", "pool": "maxpool",
        "bn": "batchnorm", "ln": "layernorm", "gn": "groupnorm", "leaky": "leakyrelu", "sequential": "mlp",
    ]

    /// The offending token as written (empty when there is none).
    public var token: String {
        guard let range else { return "" }
        let chars = Array(spec)
        return String(chars[min(range.lowerBound, chars.count)..<min(range.upperBound, chars.count)])
    }

    /// The spec on one line (tabs and newlines shown as spaces) and the caret line under the token.
    public var pointer: (line: String, carets: String)? {
        guard let range else { return nil }
        let line = String(spec.map { $0.isWhitespace ? " " : $0 })
        let carets = String(repeating: " ", count: range.lowerBound) + String(repeating: "^", count: max(1, range.count))
        return (line, carets)
    }

    /// The message, the quoted spec with a caret line under the offending token, and the hint.
    public var description: String {
        var lines = ["model spec: " + message]
        if let pointer {
            lines.append("  " + pointer.line)
            lines.append("  " + pointer.carets)
        }
        if let hint { lines.append("  hint: " + hint) }
        return lines.joined(separator: "\n")
    }
}
