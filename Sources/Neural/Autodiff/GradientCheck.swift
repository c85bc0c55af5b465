/// The outcome of ``checkGradients(of:at:epsilon:absoluteTolerance:relativeTolerance:)``.
public struct GradientCheckReport: Sendable, CustomStringConvertible {
    /// One compared element.
    package struct Element: Sendable {
        /// Which input (position in `inputs`).
        package let input: Int
        /// The element's full index in that input.
        package let index: [Int]
        /// ∂J/∂x from `backward()`.
        package let analytic: Double
        /// ∂J/∂x from central differences.
        package let numeric: Double
        /// |analytic − numeric|.
        package var absoluteError: Swift.Double { Swift.abs(analytic - numeric) }
    }

    /// Whether every element was within tolerance.
    public let passed: Bool
    /// The element furthest outside (or closest to) the tolerance.
    package let worst: Element?
    /// Largest |analytic − numeric| over all elements.
    package let maxAbsoluteError: Double
    /// Number of elements compared.
    package let checked: Int
    /// The tolerances used.
    package let absoluteTolerance: Double, relativeTolerance: Double

    /// A one-paragraph summary naming the worst element.
    public var description: String {
        guard let w = worst else { return "gradient check: no elements to compare" }
        let verdict = passed ? "passed" : "FAILED"
        return "gradient check \(verdict): \(checked) elements, max |analytic − numeric| = \(maxAbsoluteError); "
            + "worst: input \(w.input) at \(w.index): analytic \(w.analytic), numeric \(w.numeric) "
            + "(tolerance \(absoluteTolerance) + \(relativeTolerance)·|numeric|)"
    }
}

/// Checks the gradients that ``Tensor/backward(_:retainGraph:)`` computes for `f` against central
/// finite differences, in Float64.
///
/// Every input is converted to Float64 and made a leaf. A non-scalar output u is reduced to the
/// scalar J = Σ r ⊙ u with a fixed random r, so every output element's backward is exercised.
/// Each input element x is then perturbed: ∂J/∂x ≈ (J(x + ε) − J(x − ε)) / 2ε.
///
/// ```swift
/// let report = checkGradients(of: { x in (x[0] * x[1]).tanh() }, at: [a, b])
/// assert(report.passed, report.description)
/// ```
///
/// - Parameters:
///   - f: the function of the inputs to check; it must be deterministic.
///   - inputs: where to evaluate; avoid points where `f` is not differentiable (ReLU at 0).
///   - epsilon: the finite-difference step.
///   - absoluteTolerance: an element passes when
///     |analytic − numeric| ≤ absoluteTolerance + relativeTolerance·|numeric|.
///   - relativeTolerance: the factor of |numeric| in that bound.
public func checkGradients(of f: ([Tensor]) -> Tensor, at inputs: [Tensor], epsilon: Double = 1e-6,
                           absoluteTolerance: Double = 1e-6, relativeTolerance: Double = 1e-5) -> GradientCheckReport {
    let xs = inputs.map { t -> Tensor in
        var x = t.detached().to(.float64).contiguous()
        x.requiresGrad = true
        return x
    }
    let probe = withNoGrad { f(xs.map { $0.detached() }) }
    let r = Tensor.randn(probe.shape, dtype: .float64, generator: RandomGenerator(seed: 0x5EED))
    func objective(_ values: [Tensor]) -> Tensor {
        let u = f(values)
        precondition(u.dtype == .float64, "Neural: checkGradients: f returned \(u.dtype); keep the computation in the inputs' dtype")
        return (u * r).sum()
    }
    let j = objective(xs)
    if j.requiresGrad { j.backward() }

    var worst: GradientCheckReport.Element?
    var worstScore = -1.0, maxAbs = 0.0, checked = 0, passed = true
    for (i, x) in xs.enumerated() {
        let analytic = x.grad?.scalars(as: Double.self) ?? [Double](repeating: 0, count: x.count)
        let strides = Shape.contiguousStrides(x.shape)
        for e in 0..<x.count {
            func shifted(_ delta: Double) -> Double {
                var values = xs.map { $0.detached() }
                values[i].withUnsafeMutableScalars(as: Double.self) { $0[e] += delta }
                return withNoGrad { objective(values).item() }
            }
            let numeric = (shifted(epsilon) - shifted(-epsilon)) / (2 * epsilon)
            let err = Swift.abs(analytic[e] - numeric)
            let allowed = absoluteTolerance + relativeTolerance * Swift.abs(numeric)
            let score = err.isNaN ? .infinity : err / allowed
            if !(err <= allowed) { passed = false }
            maxAbs = Swift.max(maxAbs, err.isNaN ? .infinity : err)
            checked += 1
            if score > worstScore {
                worstScore = score
                var index: [Int] = []
                var rem = e
                for s in strides { index.append(s > 0 ? rem / s : 0); rem = s > 0 ? rem % s : rem }
                worst = .init(input: i, index: index, analytic: analytic[e], numeric: numeric)
            }
        }
    }
    return GradientCheckReport(passed: passed, worst: worst, maxAbsoluteError: maxAbs, checked: checked,
                               absoluteTolerance: absoluteTolerance, relativeTolerance: relativeTolerance)
}
