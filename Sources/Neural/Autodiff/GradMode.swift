/// Whether operations record autodiff history.
package enum GradMode {
    @TaskLocal static var enabled = true

    /// Whether operations on tensors that require gradients currently record history.
    package static var isEnabled: Bool { enabled }
}

/// Runs `body` without recording autodiff history (like `torch.no_grad()`): results of operations
/// inside do not require gradients. Use it for evaluation and parameter updates.
///
/// ```swift
/// let predictions = withNoGrad { model(x) }
/// ```
public func withNoGrad<R>(_ body: () throws -> R) rethrows -> R {
    try GradMode.$enabled.withValue(false) { try body() }
}
