import Foundation

/// The examples a ``DataLoader`` draws from, by index (PyTorch's map-style
/// `torch.utils.data.Dataset`): data held in memory (``TensorDataset``), or read from disk or
/// decoded on the fly, one example at a time.
///
/// A conforming type gives ``count`` and ``example(at:)``; the loader calls `example(at:)` from
/// its background threads, so it must be safe to call concurrently (hence `Sendable`) and must
/// return the same example for the same index every time. Every example's input has the same
/// shape and dtype, and all targets are of one kind (all labels or all value tensors of one shape).
///
/// ```swift
/// /// Images decoded from files on demand.
/// struct Folder: Dataset {
///     let files: [String], labels: [Int]
///     var count: Int { files.count }
///     func example(at index: Int) -> Example {
///         Example(input: decode(files[index]), target: .label(labels[index]))   // input [1, 28, 28]
///     }
/// }
/// let loader = DataLoader(Folder(files: paths, labels: labels), batchSize: 64,
///                         transform: Compose([RandomHorizontalFlip(), Normalize(mean: [0.5], std: [0.5])]))
/// ```
public protocol Dataset: Sendable {
    /// n, the number of examples.
    var count: Int { get }
    /// The example at `index` in `0..<count`: its input (one example's shape, e.g. `[1, 28, 28]`,
    /// without a batch dimension) and its target.
    func example(at index: Int) -> Example
    /// The batch of the examples at `indices`, inputs stacked along a new dimension 0
    /// (`[B, …]`). The default, which types outside Neural use, calls ``example(at:)`` for each
    /// index and copies the inputs into one tensor; ``TensorDataset`` copies its rows directly.
    /// A ``DataLoader`` with a transform calls ``example(at:)`` instead.
    func batch(_ indices: [Int]) -> Batch
}

/// One example of a ``Dataset``: an input and its target.
public struct Example: Sendable {
    /// The input, one example's shape (e.g. `[1, 28, 28]` or `[d]`), Float32 or Float64.
    public var input: Tensor
    /// The target: a class label or real values.
    public var target: Target

    /// What an example is learnt against.
    public enum Target: Sendable {
        /// A class index.
        case label(Int)
        /// Real-valued targets, `[k]`.
        case values(Tensor)
    }

    /// An example from its input and target.
    public init(input: Tensor, target: Target) {
        self.input = input
        self.target = target
    }
}

extension Dataset {
    /// Stacks ``Dataset/example(at:)`` of every index (inputs `[B, …]`, labels or targets `[B, k]`).
    public func batch(_ indices: [Int]) -> Batch {
        // An empty batch (a rank's share of a small last batch) takes its shapes from example 0.
        indices.isEmpty ? Batch.empty(like: example(at: 0)) : Batch.stacking(indices.map { example(at: $0) }, indices: indices)
    }
}

extension Batch {
    /// The batch of `examples` (taken at `indices`): inputs copied into `[B, …]`, labels into an
    /// array or value targets into `[B, k]`.
    ///
    /// - Precondition: all inputs have one shape and dtype; the targets are all labels or all values
    ///   of one shape.
    package static func stacking(_ examples: [Example], indices: [Int], globalCount: Int? = nil) -> Batch {
        precondition(!examples.isEmpty, "Neural: a batch needs at least one example")
        let inputs = stack(examples.map(\.input), what: "input", indices: indices)
        switch examples[0].target {
        case .label:
            let labels = examples.enumerated().map { k, e -> Int in
                guard case .label(let l) = e.target else {
                    preconditionFailure("Neural: example \(indices[k]) has value targets, example \(indices[0]) a label")
                }
                return l
            }
            return Batch(inputs: inputs, labels: labels, targets: nil, indices: indices, globalCount: globalCount)
        case .values:
            let values = examples.enumerated().map { k, e -> Tensor in
                guard case .values(let v) = e.target else {
                    preconditionFailure("Neural: example \(indices[k]) has a label, example \(indices[0]) value targets")
                }
                return v.rank == 1 ? v : v.reshaped([v.count])
            }
            return Batch(inputs: inputs, labels: nil, targets: stack(values, what: "target", indices: indices),
                         indices: indices, globalCount: globalCount)
        }
    }

    /// A batch of no examples, shaped like `example` (inputs `[0, …]`, no labels or targets `[0, k]`).
    package static func empty(like example: Example, globalCount: Int? = nil) -> Batch {
        let inputs = Tensor(uninitialized: [0] + example.input.shape, dtype: example.input.dtype)
        switch example.target {
        case .label: return Batch(inputs: inputs, labels: [], targets: nil, indices: [], globalCount: globalCount)
        case .values(let v):
            return Batch(inputs: inputs, labels: nil, targets: Tensor(uninitialized: [0, v.count], dtype: v.dtype), indices: [], globalCount: globalCount)
        }
    }

    /// `[B] + shape` from B tensors of one shape and dtype, copied with `memcpy`.
    private static func stack(_ parts: [Tensor], what: String, indices: [Int]) -> Tensor {
        let shape = parts[0].shape, dtype = parts[0].dtype
        let out = Tensor(uninitialized: [parts.count] + shape, dtype: dtype)
        let bytes = parts[0].count * dtype.byteSize
        let to = out.storage.raw + out.offset * dtype.byteSize
        for (k, p) in parts.enumerated() {
            precondition(p.shape == shape && p.dtype == dtype,
                         "Neural: example \(indices[k])'s \(what) is \(p.dtype) \(p.shape) but example \(indices[0])'s is \(dtype) \(shape)")
            let c = p.contiguous()
            _ = withExtendedLifetime(c) {
                memcpy(to + k * bytes, UnsafeRawPointer(c.storage.raw) + c.offset * dtype.byteSize, bytes)
            }
        }
        return out
    }
}

extension TensorDataset: Dataset {
    /// Example `index`: row `index` of ``inputs`` (copied) and its label or `[k]` target values.
    public func example(at index: Int) -> Example {
        precondition(index >= 0 && index < count, "Neural: example index \(index) out of range 0..<\(count)")
        let input = RowGather.gather(inputs, [index]).reshaped(inputShape)
        switch targets {
        case .labels(let l, _): return Example(input: input, target: .label(l[index]))
        case .values(let t): return Example(input: input, target: .values(RowGather.gather(t, [index]).reshaped([t.shape[1]])))
        }
    }

    /// The rows at `indices` copied with `memcpy` into new contiguous tensors (no per-example
    /// tensors).
    public func batch(_ indices: [Int]) -> Batch {
        let x = RowGather.gather(inputs, indices)
        switch targets {
        case .labels(let l, _):
            return Batch(inputs: x, labels: indices.map { l[$0] }, targets: nil, indices: indices)
        case .values(let t):
            return Batch(inputs: x, labels: nil, targets: RowGather.gather(t, indices), indices: indices)
        }
    }
}
