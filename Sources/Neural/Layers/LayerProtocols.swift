/// A layer that describes itself in one line of a ``ModelSummary``: its kind and sizes, e.g.
/// `Linear(784, 512)` or `Conv2D(1, 32, kernel 3×3, stride 2)`.
package protocol SummarizableLayer: Layer {
    /// The one-line description.
    var summary: String { get }
}

/// An elementwise activation a = σ(z) with its derivative σ′(z), which ``Algorithm3`` multiplies
/// into ∂J/∂a⁽ᵏ⁾ (eq. 7.80) instead of calling the autodiff backward.
package protocol ElementwiseActivation: Layer {
    /// σ′(z) elementwise: `[…] → […]`, the shape of `z`.
    func derivative(_ z: Tensor) -> Tensor
}
