/// Algorithm 3 of the notes, written out literally: backpropagation for an r-layer MLP with
/// logistic loss (eq. 7.72–7.80), using plain tensor operations and no automatic differentiation.
/// It is the readable reference that the tests compare with ``Tensor/backward(_:retainGraph:)``.
///
/// The network is a ``Sequential/mlp(_:activation:dtype:generator:)`` model: `Linear` layers
/// (weights W⁽ᵏ⁾ in PyTorch's layout `[mₖ, mₖ₋₁]`) with one activation σ between consecutive
/// ones and a linear output layer with one unit (the logit). With examples as rows (eq. 7.84), the
/// notes' column-vector formulas become, for a batch of n examples,
///
///     forward (7.72):   a⁽⁰⁾ = x,  z⁽ᵏ⁾ = a⁽ᵏ⁻¹⁾W⁽ᵏ⁾ᵀ + b⁽ᵏ⁾,  a⁽ᵏ⁾ = σ(z⁽ᵏ⁾),
///                       J = (1/n) Σᵢ ℓ_logistic(z⁽ʳ⁾ᵢ, yᵢ)
///     backward (7.76):  ∂J/∂z⁽ʳ⁾ = (sigmoid(z⁽ʳ⁾) − y)/n
///     for k = r−1 … 0:
///       (7.77)          ∂J/∂W⁽ᵏ⁺¹⁾ = (∂J/∂z⁽ᵏ⁺¹⁾)ᵀ a⁽ᵏ⁾      (the notes' ∂J/∂z · a⁽ᵏ⁾ᵀ, summed over examples)
///       (7.78)          ∂J/∂b⁽ᵏ⁺¹⁾ = Σᵢ ∂J/∂z⁽ᵏ⁺¹⁾ᵢ
///       if k ≥ 1:
///       (7.79)          ∂J/∂a⁽ᵏ⁾ = ∂J/∂z⁽ᵏ⁺¹⁾ W⁽ᵏ⁺¹⁾          (the notes' W⁽ᵏ⁺¹⁾ᵀ ∂J/∂z)
///       (7.80)          ∂J/∂z⁽ᵏ⁾ = σ′(z⁽ᵏ⁾) ⊙ ∂J/∂a⁽ᵏ⁾
public enum Algorithm3 {
    /// What the forward pass stored and the backward pass computed.
    public struct Result {
        /// J, the mean logistic loss over the batch.
        public let loss: Double
        /// z⁽¹⁾, …, z⁽ʳ⁾ (`z[k − 1]` is z⁽ᵏ⁾, `[n, mₖ]`).
        public let z: [Tensor]
        /// a⁽⁰⁾ = x, a⁽¹⁾, …, a⁽ʳ⁻¹⁾ (`a[k]` is a⁽ᵏ⁾, `[n, mₖ]`).
        public let a: [Tensor]
        /// ∂J/∂W⁽¹⁾, …, ∂J/∂W⁽ʳ⁾, each `[mₖ, mₖ₋₁]` like the weights.
        public let weightGradients: [Tensor]
        /// ∂J/∂b⁽¹⁾, …, ∂J/∂b⁽ʳ⁾, each `[mₖ]`.
        public let biasGradients: [Tensor]

        /// The gradients in the model's ``Module/parameters`` order (W⁽¹⁾, b⁽¹⁾, W⁽²⁾, b⁽²⁾, …).
        public var parameterGradients: [Tensor] {
            zip(weightGradients, biasGradients).flatMap { [$0, $1] }
        }
    }

    /// Runs Algorithm 3 on `mlp` for inputs `x` `[n, d]` and binary labels `y` (`[n]` or `[n, 1]`,
    /// values in [0, 1]). With `storeGradients`, each parameter's ``Parameter/grad`` is set to the
    /// result (replacing what was there), so an ``Optimizer`` can take the step.
    ///
    /// - Precondition: `mlp` alternates `Linear` layers (with bias) and elementwise activations that
    ///   give their derivative σ′ (ReLU, LeakyReLU, Sigmoid, Tanh, Identity, …), and ends in a
    ///   `Linear` layer with one output.
    public static func backprop(_ mlp: Sequential, x: Tensor, y: Tensor, storeGradients: Bool = false) -> Result {
        let (linears, activations) = layers(of: mlp)
        let r = linears.count
        let n = x.shape[0]
        return withNoGrad {
            let weights = linears.map { $0.weight.value.detached() }
            let biases = linears.map { $0.bias!.value.detached() }

            // 1. Forward pass (eq. 7.72), storing every z⁽ᵏ⁾ and a⁽ᵏ⁾.
            var a: [Tensor] = [x.detached().to(weights[0].dtype)]
            var z: [Tensor] = []
            for k in 1...r {
                z.append(a[k - 1].matmul(weights[k - 1].transposed()) + biases[k - 1])     // z⁽ᵏ⁾ = MM(a⁽ᵏ⁻¹⁾)
                if k < r { a.append(activations[k - 1](z[k - 1])) }               // a⁽ᵏ⁾ = σ(z⁽ᵏ⁾)
            }
            let target = y.detached().to(weights[0].dtype).reshaped(z[r - 1].shape)
            let loss = logisticLoss(logits: z[r - 1], targets: target).item()

            // 2. ∂J/∂z⁽ʳ⁾ = B[ℓ_logistic, z⁽ʳ⁾](1) = sigmoid(z⁽ʳ⁾) − y (eq. 7.76), over n for the mean.
            var dz = (z[r - 1].sigmoid() - target) / Double(n)
            var dW = [Tensor](repeating: Tensor(0), count: r), db = [Tensor](repeating: Tensor(0), count: r)

            // 3. for k = r − 1 down to 0:
            for k in stride(from: r - 1, through: 0, by: -1) {
                // 4. Parameter gradients of layer k + 1 (eq. 7.77, 7.78).
                dW[k] = dz.transposed().matmul(a[k])            // [m_{k+1}, m_k]
                db[k] = dz.sum(axis: 0)                          // [m_{k+1}]
                // 5. If k ≥ 1: back through MM and σ (eq. 7.79, 7.80).
                if k >= 1 {
                    let da = dz.matmul(weights[k])               // ∂J/∂a⁽ᵏ⁾ = W⁽ᵏ⁺¹⁾ᵀ ∂J/∂z⁽ᵏ⁺¹⁾, [n, m_k]
                    dz = activations[k - 1].derivative(z[k - 1]) * da   // ∂J/∂z⁽ᵏ⁾ = σ′(z⁽ᵏ⁾) ⊙ ∂J/∂a⁽ᵏ⁾
                }
            }
            if storeGradients {
                for k in 0..<r {
                    linears[k].weight.value.grad = dW[k].contiguous()
                    linears[k].bias!.value.grad = db[k].contiguous()
                }
            }
            return Result(loss: loss, z: z, a: a, weightGradients: dW, biasGradients: db)
        }
    }

    /// The Linear layers and the activations between them.
    private static func layers(of mlp: Sequential) -> ([Linear], [any ElementwiseActivation]) {
        var linears: [Linear] = [], activations: [any ElementwiseActivation] = []
        for (i, layer) in mlp.layers.enumerated() {
            if i % 2 == 0 {
                guard let l = layer as? Linear, l.bias != nil else {
                    preconditionFailure("Neural: Algorithm3 needs a Linear layer with bias at position \(i), got \(type(of: layer))")
                }
                linears.append(l)
            } else {
                guard let activation = layer as? any ElementwiseActivation else {
                    preconditionFailure("Neural: Algorithm3 needs an elementwise activation with a derivative σ′ at position \(i) "
                                        + "(ReLU, LeakyReLU, Sigmoid, Tanh, Identity, …), got \(type(of: layer))")
                }
                activations.append(activation)
            }
        }
        precondition(mlp.layers.count % 2 == 1, "Neural: Algorithm3 needs the MLP to end in a Linear layer")
        precondition(linears.last?.outFeatures == 1, "Neural: Algorithm3 needs one output unit (the logit)")
        return (linears, activations)
    }
}
