/// The builder's running state: the layers planned so far (made later, so a spec is checked
/// completely before any parameter is drawn) and the per-example shape after them. Each
/// ``LayerToken`` adds its layers with ``add(_:_:)`` and reports misfits with ``error(_:hint:)``.
package struct LayerPlan {
    /// A layer to make and the running shape after it.
    struct Step {
        /// Makes the layer with the build's dtype and generator.
        let make: (DType, RandomGenerator) -> any Layer
        /// The per-example shape after the layer.
        let shape: [Int]
        /// The layer's scalar parameters and buffers (a Double: a spec may ask for more than `Int` counts).
        let parameters: Double
    }

    /// The planned layers, in order.
    private(set) var steps: [Step] = []
    /// The per-example shape after the planned layers (without the batch dimension).
    package private(set) var shape: [Int]
    /// The spec being planned.
    let spec: ModelSpec
    /// The index of the token being planned in `spec.layers`.
    var index = 0

    /// A plan starting at the per-example `inputShape`.
    init(spec: ModelSpec, inputShape: [Int]) {
        self.spec = spec
        self.shape = inputShape
    }

    /// The current token's canonical spelling, e.g. `conv2d(32,3)`.
    var spelling: String { spec.layers[index].description }
    /// The current token's name, e.g. `conv2d`.
    var word: String { String(spelling.prefix { $0 != "(" }) }

    /// Adds a layer that `make` makes, whose output shape per example is `newShape` and that holds
    /// `parameters` scalars (parameters and buffers, for ``ModelSpec/memoryEstimate(inputShape:outputSize:)``).
    mutating func add(_ newShape: [Int], parameters: Double = 0, _ make: @escaping (DType, RandomGenerator) -> any Layer) {
        steps.append(Step(make: make, shape: newShape, parameters: parameters))
        shape = newShape
    }

    /// Adds a ``Flatten`` when the running shape has more than one dimension.
    mutating func flattenIfNeeded() {
        if shape.count > 1 { add([shape.reduce(1, *)]) { _, _ in Flatten() } }
    }

    /// The running width F of a `[F]` shape; throws, asking for `flatten`, for any other shape.
    func features() throws(ModelSpecError) -> Int {
        guard shape.count == 1 else {
            throw error("\(word) needs a [features] input but the running shape is \(LayerPlan.text(shape))",
                        hint: "insert flatten before it: \"flatten \(spelling)\"")
        }
        return shape[0]
    }

    /// An error pointing at the current token.
    func error(_ message: String, hint: String? = nil) -> ModelSpecError {
        ModelSpecError(message, spec: spec.source, range: spec.ranges[index], hint: hint)
    }

    /// `shape` as written in messages: `[1, 28, 28]`.
    static func text(_ shape: [Int]) -> String { "[" + shape.map(String.init).joined(separator: ", ") + "]" }
}

extension ModelSpec {
    /// Builds the network for examples of shape `inputShape` (per example, without the batch
    /// dimension: `[1, 28, 28]`, `[8]`), with `outputSize` outputs (nil: no output layer appended),
    /// initialising parameters from `generator` in token order. The network maps
    /// `[batch] + inputShape` to `[batch] + ` ``outputShape(inputShape:outputSize:)``.
    ///
    /// Throws a ``ModelSpecError`` pointing at the token when a layer doesn't fit the running shape
    /// (e.g. `conv2d` on `[784]`), or at the last token when it is a `linear(k)` with k ≠ `outputSize`.
    public func build(inputShape: [Int], outputSize: Int?, dtype: DType = .float32,
                      generator: RandomGenerator = .default) throws(ModelSpecError) -> Sequential {
        try Sequential(plan(inputShape: inputShape, outputSize: outputSize).steps.map { $0.make(dtype, generator) })
    }

    /// The per-example output shape of the network ``build(inputShape:outputSize:dtype:generator:)``
    /// would make for per-example inputs `inputShape`, without making it.
    public func outputShape(inputShape: [Int], outputSize: Int?) throws(ModelSpecError) -> [Int] {
        try plan(inputShape: inputShape, outputSize: outputSize).shape
    }

    /// A lower bound on the memory the network ``build(inputShape:outputSize:dtype:generator:)``
    /// would make takes to train, without making it: its parameter and buffer count and the
    /// scalars an example flows through (see ``MemoryEstimate``).
    ///
    /// Throws the ``ModelSpecError`` that building would.
    public func memoryEstimate(inputShape: [Int], outputSize: Int?) throws(ModelSpecError) -> MemoryEstimate {
        let plan = try plan(inputShape: inputShape, outputSize: outputSize)
        func size(_ shape: [Int]) -> Double { shape.reduce(1.0) { $0 * Double($1) } }
        return MemoryEstimate(parameters: plan.steps.reduce(0) { $0 + $1.parameters },
                              activationsPerExample: plan.steps.reduce(size(inputShape)) { $0 + size($1.shape) })
    }

    /// Every token's layers in order on the running shape, then the output layer.
    private func plan(inputShape: [Int], outputSize: Int?) throws(ModelSpecError) -> LayerPlan {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError("the input shape \(inputShape) must be a non-empty list of positive sizes (per example, e.g. [1, 28, 28] or [8])",
                                 spec: source, range: nil)
        }
        if let outputSize, outputSize <= 0 {
            throw ModelSpecError("the output size must be positive, got \(outputSize)", spec: source, range: nil)
        }
        var plan = LayerPlan(spec: self, inputShape: inputShape)
        for (i, layer) in layers.enumerated() {
            plan.index = i
            try layer.token.plan(&plan)
        }
        if let outputSize {
            if let k = layers.last!.token.outputWidth {
                guard k == outputSize else {
                    throw plan.error("the last layer \(layers.last!) gives \(k) outputs but the data needs \(outputSize)",
                                     hint: "write linear(\(outputSize)), or leave the output layer out: it is appended from the data")
                }
            } else {
                plan.flattenIfNeeded()
                let f = plan.shape[0]
                plan.add([outputSize], parameters: Double(f + 1) * Double(outputSize)) { d, g in Linear(f, outputSize, dtype: d, generator: g) }
            }
        }
        return plan
    }
}
