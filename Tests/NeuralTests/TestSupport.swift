import Neural
import Testing

// Shared helpers for the tensor-core and autodiff tests. Everything here is deterministic:
// test data comes from seeded generators, never from `RandomGenerator.default`.

/// Float64 (by default) test data uniform in [low, high), reproducible from `seed`.
func seededUniform(_ shape: [Int], seed: UInt64, low: Double = -1, high: Double = 1,
                   dtype: DType = .float64) -> Tensor {
    Tensor.uniform(shape, low: low, high: high, dtype: dtype, generator: RandomGenerator(seed: seed))
}

/// Float64 test data with |x| in [0.2, 1.2) and a random sign: safely away from the kinks at 0
/// of relu, leakyReLU and abs, so central differences are valid.
func awayFromZero(_ shape: [Int], seed: UInt64) -> Tensor {
    let g = RandomGenerator(seed: seed)
    let n = shape.reduce(1, *)
    let values = (0..<n).map { _ in (0.2 + g.nextUniform()) * (g.nextUniform() < 0.5 ? -1.0 : 1.0) }
    return Tensor(values, shape: shape, dtype: .float64)
}

/// Runs ``checkGradients(of:at:)`` (Float64 central differences) and records a failure naming
/// the worst element when the analytic gradient disagrees.
func expectGradientsMatch(_ f: ([Tensor]) -> Tensor, at inputs: [Tensor],
                          sourceLocation: SourceLocation = #_sourceLocation) {
    let report = checkGradients(of: f, at: inputs)
    #expect(report.passed, "\(report)", sourceLocation: sourceLocation)
    #expect(report.checked == inputs.reduce(0) { $0 + $1.count }, sourceLocation: sourceLocation)
}

/// Whether |a − b| ≤ tolerance·(1 + |b|) elementwise (NaNs never match; equal infinities do).
func isClose(_ a: [Double], _ b: [Double], tolerance: Double) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x == y || (x - y).magnitude <= tolerance * (1 + y.magnitude)
    }
}

/// Expects `actual`'s shape to be `shape` and its values (as Double) to match `expected`.
func expectValues(_ actual: Tensor, _ expected: [Double], shape: [Int]? = nil, tolerance: Double = 1e-6,
                  sourceLocation: SourceLocation = #_sourceLocation) {
    if let shape { #expect(actual.shape == shape, sourceLocation: sourceLocation) }
    let values = actual.scalars(as: Double.self)
    #expect(isClose(values, expected, tolerance: tolerance), "got \(values), expected \(expected)",
            sourceLocation: sourceLocation)
}

/// Expects two tensors to have the same shape, dtype and bit-identical elements.
func expectBitIdentical(_ a: Tensor, _ b: Tensor, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, sourceLocation: sourceLocation)
    #expect(a.dtype == b.dtype, sourceLocation: sourceLocation)
    let same: Bool
    switch a.dtype {
    case .float32: same = a.scalars(as: Float.self).map(\.bitPattern) == b.scalars(as: Float.self).map(\.bitPattern)
    case .float64: same = a.scalars(as: Double.self).map(\.bitPattern) == b.scalars(as: Double.self).map(\.bitPattern)
    case .int32, .int64: same = a.scalars(as: Int64.self) == b.scalars(as: Int64.self)
    }
    #expect(same, "tensors of shape \(a.shape) differ bitwise", sourceLocation: sourceLocation)
}

/// All full indices of `shape`, row-major.
func allIndices(_ shape: [Int]) -> [[Int]] {
    var result: [[Int]] = [[]]
    for n in shape { result = result.flatMap { prefix in (0..<n).map { prefix + [$0] } } }
    return shape.contains(0) ? [] : result
}

/// Row-major position of `index` in `shape`.
func linearIndex(_ index: [Int], _ shape: [Int]) -> Int {
    var p = 0
    for (i, n) in zip(index, shape) { p = p * n + i }
    return p
}

/// A labelled set of axes for parameterised reduction tests (`nil` = all axes).
struct AxesCase: Sendable, CustomTestStringConvertible {
    let axes: [Int]?
    let keepDims: Bool
    var testDescription: String { "axes \(axes.map { "\($0)" } ?? "all"), keepDims \(keepDims)" }

    /// Each single axis (including a negative one), each pair and all axes of a 3-D tensor, with
    /// keepDims both ways.
    static let rank3: [AxesCase] = [[0], [1], [2], [-1], [0, 1], [0, 2], [1, 2], [0, 1, 2], nil]
        .flatMap { axes in [false, true].map { AxesCase(axes: axes, keepDims: $0) } }
}
