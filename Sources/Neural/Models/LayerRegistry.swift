/// Every token kind of the model-spec language, one line per kind, in the order `--help` lists
/// them and "did you mean" prefers among equally near names. A new layer is its own file (the
/// module, its ``LayerKind`` and its summary) plus one line here.
package enum LayerRegistry {
    /// The kinds, each declared next to its layer class.
    package static let kinds: [LayerKind] = [
        .linear,
        .mlp,
        .conv1d,
        .conv2d,
        .maxPool,
        .avgPool,
        .adaptiveAvgPool,
        .globalAvgPool,
        .upsample,
        .upsampleBilinear,
        .flatten,
        .batchNorm,
        .layerNorm,
        .groupNorm,
        .instanceNorm,
        .rmsNorm,
        .dropout,
        .residual,
        .resNet,
        .encoder,
        .relu,
        .sigmoid,
        .tanh,
        .leakyReLU,
        .gelu,
        .softplus,
        .identity,
        .silu,
    ]

    /// The kinds by each of their names.
    private static let byName: [String: LayerKind] = Dictionary(
        uniqueKeysWithValues: kinds.flatMap { kind in kind.names.map { ($0, kind) } })

    /// The kind written `name` (lower case), nil when there is none.
    static func kind(named name: String) -> LayerKind? { byName[name] }
}
