/// Recording operations in the autodiff graph, and defining new differentiable operations.
extension Tensor {
    /// Attaches an operation record to a freshly computed `result` when gradients are enabled and
    /// any input requires them. `backward` must capture only detached tensors (never `result`
    /// itself with its record), so the graph holds no cycles.
    @inline(__always)
    static func record(_ result: Tensor, op: String, inputs: [Tensor], backward: @escaping BackwardFunction) -> Tensor {
        guard GradMode.enabled, result.dtype.isFloatingPoint, inputs.contains(where: { $0.node != nil }) else { return result }
        var out = result
        var backward = backward
        if let recorder = AnomalyDetection.recorder {
            backward = AnomalyDetection.instrument(result, op: op, backward: backward, recorder: recorder)
        }
        out.node = GradNode(op: op, shape: result.shape, dtype: result.dtype,
                            inputs: inputs.map(\.node), backward: backward)
        return out
    }

    /// The one-input form of ``record(_:op:inputs:backward:)``.
    @inline(__always)
    static func record(_ result: Tensor, op: String, input: Tensor, backward: @escaping (Tensor) -> Tensor) -> Tensor {
        guard GradMode.enabled, result.dtype.isFloatingPoint, input.node != nil else { return result }
        var out = result
        var wrapped: BackwardFunction = { v, _ in [backward(v)] }
        if let recorder = AnomalyDetection.recorder {
            wrapped = AnomalyDetection.instrument(result, op: op, backward: wrapped, recorder: recorder)
        }
        out.node = GradNode(op: op, shape: result.shape, dtype: result.dtype,
                            inputs: [input.node], backward: wrapped)
        return out
    }

    /// Defines a differentiable operation from a forward computation and its backward function
    /// B[g, z](v) (eq. 7.56–7.59), without touching the library: the operation is recorded like a
    /// built-in one (built-in operations record theirs directly with `record(_:op:inputs:backward:)`).
    ///
    /// `forward` runs without recording history on detached copies of `inputs` and returns the
    /// output u. `backward` receives v = ∂J/∂u (u's shape), the detached inputs and the detached
    /// output, and returns ∂J/∂zᵢ for each input (each with zᵢ's shape, or `nil` when
    /// `needsGradient[i]` is false). It also runs without recording history.
    ///
    /// ```swift
    /// // y = x³ with B[cube, x](v) = 3x² ⊙ v
    /// let y = Tensor.differentiable("cube", x,
    ///     forward: { z in z[0] * z[0] * z[0] },
    ///     backward: { v, z, _, _ in [3 * z[0] * z[0] * v] })
    /// ```
    ///
    /// - Parameters:
    ///   - name: shown in the tensor's description (`grad_fn`), anomaly reports and error messages.
    ///   - inputs: the tensors z₁, …, zₙ the operation reads.
    ///   - forward: u = g(z₁, …, zₙ) from the detached inputs.
    ///   - backward: B[g, z](v): from v = ∂J/∂u (u's shape), the detached inputs, the detached
    ///     output and which inputs need a gradient, ∂J/∂zᵢ for each input (zᵢ's shape, or `nil`).
    public static func differentiable(
        _ name: String, _ inputs: Tensor...,
        forward: ([Tensor]) -> Tensor,
        backward: @escaping (_ v: Tensor, _ inputs: [Tensor], _ output: Tensor, _ needsGradient: [Bool]) -> [Tensor?]
    ) -> Tensor {
        differentiable(name, inputs, forward: forward, backward: backward)
    }

    /// The array form of ``differentiable(_:_:forward:backward:)-(String,Tensor...,_,_)``.
    public static func differentiable(
        _ name: String, _ inputs: [Tensor],
        forward: ([Tensor]) -> Tensor,
        backward: @escaping (_ v: Tensor, _ inputs: [Tensor], _ output: Tensor, _ needsGradient: [Bool]) -> [Tensor?]
    ) -> Tensor {
        let saved = inputs.map { $0.detached() }
        let output = withNoGrad { forward(saved) }.detached()
        return record(output, op: name, inputs: inputs) { v, needs in backward(v, saved, output, needs) }
    }

    /// Defines a differentiable operation through a ``DifferentiableFunction`` value.
    public static func apply<F: DifferentiableFunction>(_ function: F, _ inputs: Tensor...) -> Tensor {
        differentiable(function.name, inputs, forward: function.forward) { v, z, u, needs in
            function.backward(v, inputs: z, output: u, needsGradient: needs)
        }
    }
}

/// A user-defined differentiable module g with its backward function B[g, z] (eq. 7.57).
///
/// ```swift
/// struct Swish: DifferentiableFunction {
///     var name: String { "swish" }
///     func forward(_ z: [Tensor]) -> Tensor { z[0] * z[0].sigmoid() }
///     func backward(_ v: Tensor, inputs z: [Tensor], output u: Tensor, needsGradient: [Bool]) -> [Tensor?] {
///         let s = z[0].sigmoid()
///         return [v * (s + z[0] * s * (1 - s))]
///     }
/// }
/// let y = Tensor.apply(Swish(), x)
/// ```
public protocol DifferentiableFunction: Sendable {
    /// The operation's name.
    var name: String { get }
    /// u = g(z₁, …, zₙ), computed without recording history.
    func forward(_ inputs: [Tensor]) -> Tensor
    /// B[g, z](v): ∂J/∂zᵢ for each input from v = ∂J/∂u; each result has zᵢ's shape, or is `nil`
    /// where `needsGradient[i]` is false.
    func backward(_ v: Tensor, inputs: [Tensor], output: Tensor, needsGradient: [Bool]) -> [Tensor?]
}
