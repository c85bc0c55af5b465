import Neural
import Testing

// Shared checks for layer tests.

/// Expects |a − b| ≤ tolerance elementwise (same shape), naming `label` on failure.
func expectNear(_ a: Tensor?, _ b: Tensor, _ label: String, tolerance: Double = 1e-9,
                sourceLocation: SourceLocation = #_sourceLocation) {
    guard let a else { Issue.record("\(label): missing", sourceLocation: sourceLocation); return }
    #expect(a.shape == b.shape, "\(label): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.shape == b.shape else { return }
    let err = maxAbsDifference(a, b)
    #expect(err <= tolerance, "\(label): max |Δ| = \(err)", sourceLocation: sourceLocation)
}

/// Gradient check of `module` (already Float64) with respect to its input and `parameters`
/// (default: all of the module's parameters).
func expectModuleGradients(_ module: any Layer, input: Tensor, parameters: [Parameter]? = nil,
                           sourceLocation: SourceLocation = #_sourceLocation) {
    let parameters = parameters ?? module.parameters
    let initial = parameters.map { $0.value.detached() }
    expectGradientsMatch({ xs in
        for (p, v) in zip(parameters, xs.dropFirst()) { p.value = v }
        return module(xs[0])
    }, at: [input] + initial, sourceLocation: sourceLocation)
    for (p, v) in zip(parameters, initial) { p.value = v }
}
