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
/// | `encoder(h[,ff])` | ``TransformerEncoderLayer`` (post-norm, ReLU, dropout 0.1) on `[seq, E]` | h must divide E; ff defaults to 4·E |
/// | `relu`, `sigmoid`, `tanh`, `gelu`, `identity`, … | the activations of eq. 7.24–7.29 | every activation module the registry lists |
/// | `leakyrelu[(γ)]`, `softplus[(β)]` | ``LeakyReLU`` (γ = 0.01), ``Softplus`` (β = 1) | |
///
/// Each token kind is declared next to its layer class and listed in `LayerRegistry.kinds`; the
/// parser, the builder and the summary read that list.
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
    /// One token of a spec, parsed and checked on its own: a kind's token with its bound arguments
    /// (sizes that depend on the running shape are filled in by
    /// ``ModelSpec/build(inputShape:outputSize:dtype:generator:)``).
    package struct LayerSpec: Sendable, Equatable, CustomStringConvertible {
        /// The token.
        package let token: any LayerToken

        /// The spec of `token`.
        package init(_ token: any LayerToken) { self.token = token }

        /// The canonical spelling of the token, e.g. `conv2d(32,3,stride=2)`.
        package var description: String { token.description }

        /// The same token with the same arguments.
        package static func == (a: LayerSpec, b: LayerSpec) -> Bool { a.token.isEqual(to: b.token) }
    }

    /// The tokens, in order.
    package let layers: [LayerSpec]
    /// The text the spec was parsed from (the canonical text for a spec made from ``layers``).
    package let source: String
    /// Each token's character range in ``source`` (offsets in `Character`s), for error carets.
    package let ranges: [Range<Int>]

    /// A spec made of `layers` directly (its ``source`` is the canonical text).
    package init(layers: [LayerSpec]) {
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
        var tokenizer = SpecTokenizer(text)
        let tokens = try tokenizer.tokens()
        if tokens.isEmpty {
            throw ModelSpecError("the model spec is empty", spec: text, range: nil,
                                 hint: "write layers separated by spaces, e.g. \"mlp(128)\" or \"conv2d(32,3) relu maxpool(2) flatten linear(128) relu\"")
        }
        var layers: [LayerSpec] = []
        for token in tokens { layers.append(try SpecParser.interpret(token, spec: text)) }
        return ModelSpec(layers: layers, source: text, ranges: tokens.map { $0.range })
    }

    /// The canonical text: each token's canonical spelling separated by single spaces.
    public var description: String { layers.map(\.description).joined(separator: " ") }

    /// Specs are equal when their tokens are (spelling and spacing of the source don't matter).
    public static func == (a: ModelSpec, b: ModelSpec) -> Bool { a.layers == b.layers }

    /// Every token name the parser knows, in ``LayerRegistry/kinds`` order, for suggestions and help texts.
    package static let tokenNames: [String] = LayerRegistry.kinds.flatMap(\.names)

    /// A short grammar reminder, one token form per kind, for error hints and `--help`.
    package static let usage = LayerRegistry.kinds.map(\.usage).joined(separator: " ")

    /// `x` as the shortest text that reads back to the same Double (`2` rather than `2.0`).
    package static func format(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return "\(x)"
    }
}
