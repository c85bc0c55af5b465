/// Inverted dropout (like `torch.nn.Dropout`): in training mode each element is zeroed with
/// probability p and the survivors are scaled by 1/(1 − p), so the expected output equals the
/// input; in evaluation mode it is the identity. No parameters; same shape in and out.
///
/// The mask is drawn from `generator`, so a seeded generator makes training reproducible.
/// The backward pass multiplies v by the same mask (scaled), as autodiff of z ⊙ mask/(1 − p).
public final class Dropout: Module, Layer, SummarizableLayer {
    /// The probability of zeroing an element (PyTorch's default 0.5).
    package let p: Double
    /// The source of the masks.
    package let generator: RandomGenerator

    /// Dropout with probability `p` in [0, 1], drawing masks from `generator`.
    public init(_ p: Double = 0.5, generator: RandomGenerator = .default) {
        precondition(p >= 0 && p <= 1, "Neural: Dropout probability must be in [0, 1], got \(p)")
        self.p = p
        self.generator = generator
        super.init()
    }

    /// Same shape in and out: z ⊙ mask/(1 − p) when training (mask ~ Bernoulli(1 − p)), z in eval mode.
    public func callAsFunction(_ x: Tensor) -> Tensor {
        guard isTraining && p > 0 else { return x }
        if p == 1 { return x * Tensor.zeros(x.shape, dtype: x.dtype) }
        let keep = withNoGrad {
            (Tensor.uniform(x.shape, dtype: x.dtype, generator: generator) .>= p) * (1 / (1 - p))
        }
        return x * keep
    }

    /// `Dropout(p)`.
    package var summary: String { "Dropout(\(ModelSpec.format(p)))" }
}

extension LayerKind {
    /// `dropout[(p)]`: ``Dropout`` with probability p (default 0.5), masks from the build's generator.
    static let dropout = LayerKind(name: "dropout", usage: "dropout(p)", parameters: [DropoutToken.p],
                                   form: "dropout(p), p in [0, 1] (default 0.5)") { a in
        DropoutToken(p: a.number(DropoutToken.p) ?? 0.5)
    }
}

/// `dropout(p)`.
struct DropoutToken: LayerToken, Equatable {
    /// p in [0, 1].
    static let p = SpecParameter.number("p", "probability", in: 0...1)
    /// p.
    let p: Double

    var description: String { "dropout(\(ModelSpec.format(p)))" }

    func plan(_ plan: inout LayerPlan) {
        let p = p
        plan.add(plan.shape) { _, g in Dropout(p, generator: g) }
    }
}
