/// The notes' three ways of choosing which examples each optimiser step sees (§7.1):
/// the full batch (gradient descent, eq. 7.8), one example drawn uniformly with replacement
/// (Algorithm 1, eq. 7.9) and mini-batches drawn without replacement (Algorithm 2, eq. 7.10).
///
/// A sampler yields indices into a dataset of `count` examples; select the rows with
/// `x.indexSelect(axis: 0, batch)`.
///
/// ```swift
/// var sampler = ShuffledBatchSampler(count: 1000, batchSize: 32, generator: RandomGenerator(seed: 0))
/// for _ in 0..<steps {
///     let batch = sampler.nextBatch()                      // B indices, no repeats within an epoch
///     let loss = crossEntropyLoss(logits: model(x.indexSelect(axis: 0, batch)), labels: batch.map { y[$0] })
///     …
/// }
/// ```
public protocol BatchSampler {
    /// Number of examples n in the dataset.
    var count: Int { get }
    /// The indices (in 0..<``count``) of the examples for the next step.
    mutating func nextBatch() -> [Int]
}

extension BatchSampler {
    /// The next `steps` batches.
    public mutating func batches(_ steps: Int) -> [[Int]] { (0..<steps).map { _ in nextBatch() } }
}

/// Gradient descent on the full dataset (eq. 7.8): every step sees all n examples, in order.
public struct FullBatchSampler: BatchSampler {
    /// n.
    public let count: Int
    /// A sampler over `count` examples.
    public init(count: Int) {
        precondition(count > 0, "Neural: a sampler needs at least one example")
        self.count = count
    }
    /// `[0, 1, …, n − 1]`.
    public mutating func nextBatch() -> [Int] { Array(0..<count) }
}

/// Algorithm 1 (eq. 7.9): each step samples one index j uniformly from {0, …, n − 1}, independently
/// of earlier steps (with replacement).
public struct UniformSampler: BatchSampler {
    /// n.
    public let count: Int
    /// The seeded source of the draws.
    package let generator: RandomGenerator
    /// A sampler over `count` examples drawing from `generator`.
    public init(count: Int, generator: RandomGenerator) {
        precondition(count > 0, "Neural: a sampler needs at least one example")
        self.count = count
        self.generator = generator
    }
    /// `[j]` with j uniform in 0..<n.
    public mutating func nextBatch() -> [Int] { [generator.nextInt(below: count)] }
}

/// Algorithm 2 (eq. 7.10): mini-batches of B distinct examples. Each epoch draws a fresh uniformly
/// random permutation of 0..<n and cuts it into consecutive batches, so every example is used
/// exactly once per epoch. The last batch of an epoch has n mod B examples, or is skipped with
/// `dropLast`.
public struct ShuffledBatchSampler: BatchSampler {
    /// n.
    public let count: Int
    /// B.
    package let batchSize: Int
    /// Whether an epoch's last, smaller batch is skipped.
    package let dropLast: Bool
    /// The seeded source of the permutations.
    package let generator: RandomGenerator
    /// Completed epochs (0 during the first).
    package private(set) var epoch = 0
    /// The current epoch's order.
    package private(set) var permutation: [Int]
    /// Position in ``permutation`` of the next batch's first index.
    package private(set) var position = 0

    /// A sampler over `count` examples in batches of `batchSize`, shuffled by `generator`.
    public init(count: Int, batchSize: Int, dropLast: Bool = false, generator: RandomGenerator) {
        precondition(count > 0, "Neural: a sampler needs at least one example")
        precondition(batchSize > 0 && (!dropLast || batchSize <= count),
                     "Neural: batch size \(batchSize) is invalid for \(count) examples")
        self.count = count
        self.batchSize = batchSize
        self.dropLast = dropLast
        self.generator = generator
        self.permutation = generator.permutation(count)
    }

    /// Where the sampler is in its epochs, for checkpoints. Save the generator's
    /// ``RandomGenerator/stateWords`` with it to resume the exact sequence of batches (restore the
    /// words after creating the new sampler: its initialiser draws a permutation).
    public struct State: Sendable, Equatable {
        /// Completed epochs.
        package var epoch: Int
        /// The current epoch's order, a permutation of 0..<n.
        package var permutation: [Int]
        /// Position in `permutation` of the next batch's first index.
        package var position: Int

        /// A state from its parts.
        package init(epoch: Int, permutation: [Int], position: Int) {
            self.epoch = epoch
            self.permutation = permutation
            self.position = position
        }
    }

    /// The current state; assign a saved one to resume from it.
    package var state: State {
        get { State(epoch: epoch, permutation: permutation, position: position) }
        set {
            precondition(newValue.permutation.sorted() == Array(0..<count) && (0...count).contains(newValue.position),
                         "Neural: sampler state is not a permutation of 0..<\(count) with a position in 0...\(count)")
            epoch = newValue.epoch
            permutation = newValue.permutation
            position = newValue.position
        }
    }

    /// Batches per epoch: ⌈n/B⌉, or ⌊n/B⌋ with `dropLast`.
    package var batchesPerEpoch: Int { dropLast ? count / batchSize : (count + batchSize - 1) / batchSize }

    /// The next B indices of the current permutation, starting a new epoch (and permutation) when
    /// this one is used up.
    public mutating func nextBatch() -> [Int] {
        let remaining = count - position
        if remaining == 0 || (dropLast && remaining < batchSize) {
            epoch += 1
            permutation = generator.permutation(count)
            position = 0
        }
        let end = Swift.min(position + batchSize, count)
        defer { position = end }
        return Array(permutation[position..<end])
    }
}
