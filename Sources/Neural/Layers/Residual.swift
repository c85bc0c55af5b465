/// Residual blocks (eq. 7.38) and the ResNet-S network (eq. 7.39).

/// The residual block of eq. 7.38: Res(z) = z + σ(MM(σ(MM(z)))), i.e. z + σ(fc2(σ(fc1(z)))).
///
/// Shapes: `[…, dim] → […, dim]`. Parameters (PyTorch's `nn.Linear` layout and initialisation,
/// uniform in ±1/√fan_in): `fc1.weight` `[hidden, dim]`, `fc1.bias` `[hidden]`, `fc2.weight`
/// `[dim, hidden]`, `fc2.bias` `[dim]` — the `state_dict` keys of the natural PyTorch module
/// with attributes `fc1`, `act`, `fc2`.
public final class Residual: Module, Layer, SummarizableLayer {
    /// The first MM: `dim → hidden`.
    public let fc1: Linear
    /// σ, applied after each MM (no parameters).
    package let act: any Layer
    /// The second MM: `hidden → dim`.
    public let fc2: Linear

    /// A block over `dim` features with `hidden` inner width (default `dim`, as in the notes) and
    /// activation σ (default ReLU), initialised from `generator`.
    public init(_ dim: Int, hidden: Int? = nil, activation: any Layer = ReLU(), dtype: DType = .float32,
                generator: RandomGenerator = .default) {
        fc1 = Linear(dim, hidden ?? dim, dtype: dtype, generator: generator)
        fc2 = Linear(hidden ?? dim, dim, dtype: dtype, generator: generator)
        act = activation
        super.init()
    }

    /// Features.
    public var dim: Int { fc1.inFeatures }

    /// z + σ(fc2(σ(fc1(z)))).
    public func callAsFunction(_ x: Tensor) -> Tensor {
        x + act(fc2(act(fc1(x))))
    }

    /// `Residual(dim, hidden h, σ)`.
    package var summary: String { "Residual(\(dim), hidden \(fc1.outFeatures), \(ModelSummary.describe(act)))" }
}

/// A skip connection around any layer: z ↦ z + f(z) (f must keep the shape). Its child is named
/// `body`, so parameters read `body.0.weight` for a ``Sequential`` body.
///
/// Shapes: whatever `body` maps to the same shape.
public final class ResidualConnection: Module, Layer, SummarizableLayer {
    /// f.
    package let body: any Layer

    /// z + body(z).
    public init(_ body: any Layer) {
        self.body = body
        super.init()
    }

    /// z + f(z); f(z) must have z's shape.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        let fx = body(x)
        precondition(fx.shape == x.shape,
                     "Neural: ResidualConnection: the body maps shape \(x.shape) to \(fx.shape); a skip connection needs the same shape")
        return x + fx
    }

    /// `ResidualConnection(f)`, f the body's summary.
    package var summary: String { "ResidualConnection(\(ModelSummary.describe(body)))" }
}

extension Sequential {
    /// ResNet-S of eq. 7.39: MM(Res(Res(…Res(x)))) — `blocks` ``Residual`` blocks of width `dim`
    /// followed by a ``Linear`` head `dim → outFeatures`, as a ``Sequential`` (children `0`…`blocks`,
    /// so keys read `0.fc1.weight`, …, `<blocks>.weight`).
    ///
    /// Shapes: `[batch, dim] → [batch, outFeatures]`. Parameters: blocks·2·(dim·hidden) + blocks·(hidden + dim)
    /// + (dim + 1)·outFeatures, PyTorch's Linear initialisation throughout.
    public static func resNetS(dim: Int, blocks: Int, outFeatures: Int, hidden: Int? = nil,
                               activation: () -> any Layer = { ReLU() }, dtype: DType = .float32,
                               generator: RandomGenerator = .default) -> Sequential {
        precondition(blocks >= 0, "Neural: ResNet-S needs a non-negative number of blocks, got \(blocks)")
        var layers: [any Layer] = (0..<blocks).map { _ in
            Residual(dim, hidden: hidden, activation: activation(), dtype: dtype, generator: generator)
        }
        layers.append(Linear(dim, outFeatures, dtype: dtype, generator: generator))
        return Sequential(layers)
    }
}

extension LayerKind {
    /// `residual[(h)]`: a ``Residual`` block (eq. 7.38) of the running width F, hidden width h (default F).
    static let residual = LayerKind(name: "residual", usage: "residual(h)", parameters: [ResidualToken.hidden],
                                    form: "residual or residual(h), h the hidden width") { a in
        ResidualToken(hidden: a.integer(ResidualToken.hidden))
    }
    /// `resnet(w,n)`: `linear(w)` when the running width isn't w, then n × `residual`; flattens like `mlp`.
    static let resNet = LayerKind(name: "resnet", usage: "resnet(w,n)", parameters: [ResNetToken.width, ResNetToken.blocks],
                                  form: "resnet(w,n): width w, n residual blocks") { a in
        ResNetToken(width: a.integer(ResNetToken.width)!, blocks: a.integer(ResNetToken.blocks)!)
    }
}

/// `residual(h)`.
struct ResidualToken: LayerToken, Equatable {
    /// h.
    static let hidden = SpecParameter.size("hidden", "hidden width")
    /// nil: the running width.
    let hidden: Int?

    var description: String { hidden.map { "residual(\($0))" } ?? "residual" }

    func plan(_ plan: inout LayerPlan) throws(ModelSpecError) {
        let f = try plan.features(), hidden = hidden
        plan.add(plan.shape, parameters: 2 * Double(f) * Double(hidden ?? f) + Double(f + (hidden ?? f))) { d, g in Residual(f, hidden: hidden, dtype: d, generator: g) }
    }
}

/// `resnet(w,n)`.
struct ResNetToken: LayerToken, Equatable {
    /// w.
    static let width = SpecParameter.size("width", "width", required: true)
    /// n.
    static let blocks = SpecParameter.size("blocks", "number of blocks", required: true)
    /// w.
    let width: Int
    /// n.
    let blocks: Int

    var description: String { "resnet(\(width),\(blocks))" }

    func plan(_ plan: inout LayerPlan) {
        plan.flattenIfNeeded()
        let width = width
        if plan.shape[0] != width {
            let f = plan.shape[0]
            plan.add([width], parameters: Double(f + 1) * Double(width)) { d, g in Linear(f, width, dtype: d, generator: g) }
        }
        for _ in 0..<blocks { plan.add(plan.shape, parameters: 2 * Double(width) * Double(width + 1)) { d, g in Residual(width, dtype: d, generator: g) } }
    }
}
