import Foundation

/// A dataset held in memory: `n` examples along dimension 0 (eq. 7.84) with their targets.
///
/// - `inputs`: `[n, …]` (for example `[n, d]` features or `[n, 1, 28, 28]` images), Float32 or Float64.
/// - targets: either class labels (n values in `0..<classCount`, for classification) or a tensor
///   `[n, k]` of regression targets.
///
/// ```swift
/// let data = TensorDataset(inputs: x, labels: y, classCount: 10)
/// let parts = data.split(fractions: [0.8, 0.1, 0.1], generator: RandomGenerator(seed: 0))
/// let (train, validation, test) = (parts[0], parts[1], parts[2])
/// ```
public struct TensorDataset: Sendable {
    /// What an example's target is.
    public enum Targets: Sendable {
        /// A class index in `0..<classCount` per example.
        case labels([Int], classCount: Int)
        /// A tensor `[n, k]` of real-valued targets.
        case values(Tensor)
    }

    /// The inputs, `[n, …]`, contiguous.
    public let inputs: Tensor
    /// The targets.
    public let targets: Targets

    /// Examples with class labels.
    ///
    /// - Parameters:
    ///   - inputs: `[n, …]`.
    ///   - labels: n class indices in `0..<classCount`.
    ///   - classCount: the number of classes (default: the largest label + 1).
    public init(inputs: Tensor, labels: [Int], classCount: Int? = nil) {
        precondition(inputs.rank >= 1 && inputs.shape[0] == labels.count,
                     "Neural: \(labels.count) labels for inputs of shape \(inputs.shape)")
        let classes = classCount ?? ((labels.max() ?? -1) + 1)
        precondition(labels.allSatisfy { $0 >= 0 && $0 < classes },
                     "Neural: labels must lie in 0..<\(classes)")
        self.inputs = inputs.contiguous()
        self.targets = .labels(labels, classCount: classes)
    }

    /// Examples with real-valued targets.
    ///
    /// - Parameters:
    ///   - inputs: `[n, …]`.
    ///   - targets: `[n, k]` (a `[n]` tensor is taken as `[n, 1]`).
    public init(inputs: Tensor, targets: Tensor) {
        precondition(inputs.rank >= 1 && targets.rank >= 1 && inputs.shape[0] == targets.shape[0],
                     "Neural: inputs \(inputs.shape) and targets \(targets.shape) differ in their number of examples")
        self.inputs = inputs.contiguous()
        self.targets = .values(targets.rank == 1 ? targets.reshaped([targets.shape[0], 1]).contiguous() : targets.contiguous())
    }

    /// n, the number of examples.
    public var count: Int { inputs.shape[0] }
    /// The shape of one example's input (`inputs.shape` without dimension 0).
    public var inputShape: [Int] { Array(inputs.shape.dropFirst()) }
    /// The class labels, or `nil` for regression targets.
    public var labels: [Int]? {
        if case .labels(let l, _) = targets { return l }
        return nil
    }
    /// The number of classes, or `nil` for regression targets.
    public var classCount: Int? {
        if case .labels(_, let c) = targets { return c }
        return nil
    }
    /// The regression targets `[n, k]`, or `nil` for class labels.
    public var targetValues: Tensor? {
        if case .values(let t) = targets { return t }
        return nil
    }
    /// Whether the targets are class labels.
    public var isClassification: Bool { labels != nil }

    /// The examples at `indices` (in that order; repeats allowed), copied row by row.
    public func subset(_ indices: [Int]) -> TensorDataset {
        let n = count
        precondition(indices.allSatisfy { $0 >= 0 && $0 < n }, "Neural: subset index out of range 0..<\(n)")
        let x = RowGather.gather(inputs, indices)
        switch targets {
        case .labels(let l, let c): return TensorDataset(inputs: x, labels: indices.map { l[$0] }, classCount: c)
        case .values(let t): return TensorDataset(inputs: x, targets: RowGather.gather(t, indices))
        }
    }

    /// A seeded random partition into consecutive parts of the given sizes, for example
    /// `[0.8, 0.1, 0.1]` for train/validation/test.
    ///
    /// The examples are shuffled with `generator.permutation(n)` and cut at
    /// `round(n·(f₁ + … + fᵢ))`; the fractions must be non-negative and sum to 1 (within 1e-6).
    /// The same seed gives the same split.
    public func split(fractions: [Double], generator: RandomGenerator) -> [TensorDataset] {
        splitIndices(fractions: fractions, generator: generator).map { subset($0) }
    }

    /// The index sets ``split(fractions:generator:)`` uses, for splitting other arrays the same way.
    package func splitIndices(fractions: [Double], generator: RandomGenerator) -> [[Int]] {
        precondition(!fractions.isEmpty && fractions.allSatisfy { $0 >= 0 } && abs(fractions.reduce(0, +) - 1) <= 1e-6,
                     "Neural: split fractions \(fractions) must be non-negative and sum to 1")
        let order = generator.permutation(count)
        var parts: [[Int]] = [], cumulative = 0.0, start = 0
        for (i, f) in fractions.enumerated() {
            cumulative += f
            let end = i == fractions.count - 1 ? count : Swift.min(count, Int((Double(count) * cumulative).rounded()))
            parts.append(Array(order[start..<Swift.max(start, end)]))
            start = Swift.max(start, end)
        }
        return parts
    }
}

/// Copies rows (dimension-0 slices) of a contiguous tensor with `memcpy`.
enum RowGather {
    /// A new contiguous tensor `[indices.count, …]` holding rows `indices` of `source`.
    static func gather(_ source: Tensor, _ indices: [Int]) -> Tensor {
        var out = Tensor(uninitialized: [indices.count] + Array(source.shape.dropFirst()), dtype: source.dtype)
        copyRows(from: source, indices, into: &out)
        return out
    }

    /// Writes rows `indices` of `source` into the first `indices.count` rows of `out` (contiguous,
    /// uniquely owned, same row shape and dtype).
    static func copyRows(from source: Tensor, _ indices: [Int], into out: inout Tensor) {
        let src = source.contiguous()
        let rowBytes = (src.shape[0] == 0 ? 0 : src.count / src.shape[0]) * src.dtype.byteSize
        withExtendedLifetime(src) {
            let from = UnsafeRawPointer(src.storage.raw) + src.offset * src.dtype.byteSize
            let to = out.storage.raw + out.offset * out.dtype.byteSize
            for (k, i) in indices.enumerated() {
                memcpy(to + k * rowBytes, from + i * rowBytes, rowBytes)
            }
        }
    }
}
