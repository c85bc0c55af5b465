/// Layers applied one after another: u = gₙ(…g₂(g₁(z))). Children are named `0`, `1`, … like
/// `torch.nn.Sequential`, so parameter names match its `state_dict` keys (`0.weight`).
public final class Sequential: Module, Layer, SummarizableLayer {
    /// The layers, in order.
    public let layers: [any Layer]

    /// A sequence of `layers`.
    public init(_ layers: [any Layer]) {
        self.layers = layers
        super.init()
    }

    /// A sequence of `layers`.
    public convenience init(_ layers: any Layer...) { self.init(layers) }

    /// Named `0`, `1`, … as in PyTorch.
    public override var children: [(name: String, module: Module)] {
        layers.enumerated().map { ("\($0.offset)", $0.element as Module) }
    }

    /// Applies the layers in order. A `Linear` or `Conv2D` directly followed by a `ReLU` runs as one fused
    /// operation (same values, one pass less over the activations forward and backward).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        var i = 0
        while i < layers.count {
            if i + 1 < layers.count, layers[i + 1] is ReLU {
                if let linear = layers[i] as? Linear {
                    h = linear(h, activation: .relu)
                    i += 2
                    continue
                }
                if let conv = layers[i] as? Conv2D {
                    h = conv(h, activation: .relu)
                    i += 2
                    continue
                }
            }
            let layer = layers[i]
            h = layer(h)
            i += 1
        }
        return h
    }

    /// The output of every layer but the last: the learned features φ_β(x) of eq. 7.34, on which the
    /// last layer is a linear model. Freeze those layers and refit the head to reuse the features.
    public func features(_ x: Tensor) -> Tensor {
        layers.dropLast().reduce(x) { $1($0) }
    }

    /// The last layer, the "head" θ of eq. 7.34.
    public var head: (any Layer)? { layers.last }

    /// `Sequential(n layers)`.
    package var summary: String { "Sequential(\(layers.count) layers)" }

    /// The r-layer MLP of eq. 7.22: `sizes = [d, m₁, …, m_r]`, Linear layers with `activation`
    /// between them and none after the last (the output layer is linear).
    /// Parameters: (d+1)m₁ + (m₁+1)m₂ + … + (m_{r−1}+1)m_r.
    public static func mlp(_ sizes: [Int], activation: () -> any Layer = { ReLU() }, dtype: DType = .float32,
                           generator: RandomGenerator = .default) -> Sequential {
        precondition(sizes.count >= 2, "Neural: an MLP needs at least input and output sizes, got \(sizes)")
        var layers: [any Layer] = []
        for i in 0..<(sizes.count - 1) {
            layers.append(Linear(sizes[i], sizes[i + 1], dtype: dtype, generator: generator))
            if i < sizes.count - 2 { layers.append(activation()) }
        }
        return Sequential(layers)
    }
}

extension LayerKind {
    /// `mlp(m₁,…,m_r)`: `linear(m₁) relu … linear(m_r) relu`, after a ``Flatten`` when the running
    /// shape is multi-dimensional (the output layer is appended from the data).
    static let mlp = LayerKind(name: "mlp", usage: "mlp(m1,m2,...)", parameters: [], repeated: .size("hidden", "hidden size"),
                               form: "mlp(m1,m2,...), the hidden widths, e.g. mlp(512,512)") { a in
        MLPToken(hidden: a.repeated)
    }
}

/// `mlp(m₁,…,m_r)`.
struct MLPToken: LayerToken, Equatable {
    /// m₁, …, m_r.
    let hidden: [Int]

    var description: String { "mlp(\(hidden.map(String.init).joined(separator: ",")))" }

    func plan(_ plan: inout LayerPlan) {
        plan.flattenIfNeeded()
        for h in hidden {
            let f = plan.shape[0]
            plan.add([h], parameters: Double(f + 1) * Double(h)) { d, g in Linear(f, h, dtype: d, generator: g) }
            plan.add([h]) { _, _ in ReLU() }
        }
    }
}
