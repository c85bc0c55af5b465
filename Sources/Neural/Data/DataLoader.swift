import Foundation

/// One mini-batch: B examples stacked along dimension 0 (eq. 7.84).
public struct Batch: Sendable {
    /// The inputs, `[B, …]` (a dataset's `[n, …]` with n replaced by B).
    public let inputs: Tensor
    /// The class labels (B values), for a classification dataset.
    public let labels: [Int]?
    /// The regression targets `[B, k]`, for a regression dataset.
    public let targets: Tensor?
    /// The examples' indices in the dataset.
    public let indices: [Int]
    /// For a rank's shard of a global batch (a loader with a ``DataShard``): the examples in the
    /// global batch over all ranks; `nil` for an unsharded batch.
    public let globalCount: Int?

    /// A batch from its parts.
    package init(inputs: Tensor, labels: [Int]?, targets: Tensor?, indices: [Int], globalCount: Int? = nil) {
        self.inputs = inputs
        self.labels = labels
        self.targets = targets
        self.indices = indices
        self.globalCount = globalCount
    }

    /// B, the number of examples.
    public var count: Int { inputs.shape[0] }

    /// The same batch as a rank's shard of a global batch of `globalCount` examples.
    package func with(globalCount: Int?) -> Batch {
        Batch(inputs: inputs, labels: labels, targets: targets, indices: indices, globalCount: globalCount)
    }
}

/// Mini-batches of a ``Dataset`` (a ``TensorDataset`` in memory, or any conforming type) for
/// training (Algorithm 2, eq. 7.10) and evaluation.
///
/// Each `for batch in loader` is one epoch. With `shuffle`, every epoch uses a fresh random
/// permutation of the n examples from a ``ShuffledBatchSampler`` (so each example appears exactly
/// once per epoch); without it, the examples come in order. The last, smaller batch (n mod B
/// examples) is kept unless `dropLast`. With `prefetch`, a background thread assembles the next
/// batches (a bounded buffer of two) while the caller trains on the current one; the batches and
/// their order are the same either way, because the epoch's index lists are drawn up front.
///
/// With a `transform` (see ``Transform``), every example's input is transformed before the batch
/// is stacked, on the loader's threads (the prefetching thread, split over `workers` threads).
/// Example i of epoch e draws its randomness from `TransformRandom(seed: transformSeed, epoch: e,
/// index: i)`, so the augmented batches do not depend on the thread count or prefetching, and a
/// resumed run (sampler state restored, which holds the epoch) sees the same ones. Without a
/// transform, a ``TensorDataset``'s batches are copied row by row as before.
///
/// ```swift
/// let loader = DataLoader(train, batchSize: 128, generator: RandomGenerator(seed: 0))
/// for epoch in 0..<10 {
///     for batch in loader {                    // batch.inputs [128, 1, 28, 28], batch.labels [Int]
///         let loss = crossEntropyLoss(logits: model(batch.inputs), labels: batch.labels!)
///         …
///     }
/// }
/// ```
public final class DataLoader: Sequence {
    /// The examples.
    public let dataset: any Dataset
    /// The per-example transform of the inputs, if any.
    public let transform: (any Transform)?
    /// The seed of the transforms' randomness.
    package let transformSeed: UInt64
    /// Threads that transform a batch's examples (1: the loader's thread alone).
    package let workers: Int
    /// B, the examples per batch (the last batch of an epoch may be smaller unless `dropLast`).
    public let batchSize: Int
    /// Whether each epoch visits the examples in a fresh random order.
    package let shuffle: Bool
    /// Whether an epoch's last, smaller batch is skipped.
    package let dropLast: Bool
    /// Whether a background thread prepares the next batches.
    package let prefetch: Bool
    /// This process's share of every batch in data-parallel training (nil: the whole batch).
    package let shard: DataShard?
    /// Epochs started so far (each `makeIterator()` call starts one).
    package private(set) var epochsStarted = 0
    private var sampler: ShuffledBatchSampler?

    /// A loader over `dataset` in batches of `batchSize`.
    ///
    /// - Parameters:
    ///   - dataset: the examples, along dimension 0.
    ///   - batchSize: B, the examples per batch (positive).
    ///   - shuffle: reshuffle every epoch with `generator` (default `true`); `false` keeps dataset order.
    ///   - dropLast: skip each epoch's last batch when it has fewer than `batchSize` examples.
    ///   - prefetch: assemble batches on a background thread (default `true`).
    ///   - generator: the seeded source of the permutations (unused without `shuffle`).
    ///   - shard: yield only this rank's share of each batch (see ``DataShard``); every rank must
    ///     use the same dataset, batch size and generator seed.
    ///   - transform: applied to every example's input before batching (nil: none).
    ///   - transformSeed: the seed of the transform's randomness (with the epoch and example index).
    ///   - workers: threads that transform each batch's examples in parallel (default 1); the
    ///     batches are the same for any number.
    public init(_ dataset: some Dataset, batchSize: Int, shuffle: Bool = true, dropLast: Bool = false,
                prefetch: Bool = true, generator: RandomGenerator = RandomGenerator(seed: 0), shard: DataShard? = nil,
                transform: (any Transform)? = nil, transformSeed: UInt64 = 0, workers: Int = 1) {
        precondition(dataset.count > 0, "Neural: a DataLoader needs at least one example")
        precondition(batchSize > 0, "Neural: batch size must be positive, got \(batchSize)")
        precondition(workers > 0, "Neural: a DataLoader needs at least one worker, got \(workers)")
        self.shard = shard
        self.dataset = dataset
        self.transform = transform
        self.transformSeed = transformSeed
        self.workers = workers
        self.batchSize = dropLast ? Swift.min(batchSize, dataset.count) : batchSize
        self.shuffle = shuffle
        self.dropLast = dropLast
        self.prefetch = prefetch
        self.sampler = shuffle ? ShuffledBatchSampler(count: dataset.count, batchSize: self.batchSize,
                                                      dropLast: dropLast, generator: generator) : nil
    }

    /// Batches per epoch: ⌈n/B⌉, or ⌊n/B⌋ with `dropLast`.
    public var batchesPerEpoch: Int {
        dropLast ? dataset.count / batchSize : (dataset.count + batchSize - 1) / batchSize
    }

    /// The shuffling sampler's state (nil without ``shuffle``), for checkpoints: save it with the
    /// generator's ``RandomGenerator/stateWords`` after an epoch and assign both back to resume
    /// with the same later permutations.
    package var samplerState: ShuffledBatchSampler.State? {
        get { sampler?.state }
        set {
            guard let newValue, sampler != nil else { return }
            sampler!.state = newValue
        }
    }

    /// The index lists of the next epoch's batches (the rest of the current epoch if a restored
    /// sampler state stopped inside one), and the epoch's number (the sampler's, so a restored
    /// state resumes it; without shuffling, the epochs this loader started). Draws the permutation now.
    func nextEpochPlan() -> (plan: [[Int]], epoch: Int) {
        epochsStarted += 1
        let n = dataset.count, b = batchSize, perEpoch = batchesPerEpoch
        guard var s = sampler else {
            return ((0..<perEpoch).map { k in Array((k * b)..<Swift.min(n, (k + 1) * b)) }, epochsStarted - 1)
        }
        let exhausted = s.position == n || (dropLast && n - s.position < b)
        let remaining = exhausted ? perEpoch : perEpoch - s.position / b
        let plan = (0..<remaining).map { _ in s.nextBatch() }
        sampler = s
        return (plan, s.epoch)
    }

    /// How one epoch's batches are made: the dataset's own batches, or its examples transformed
    /// (over `workers` threads) and stacked.
    struct BatchMaker: Sendable {
        let dataset: any Dataset
        let transform: (any Transform)?
        let seed: UInt64
        let epoch: Int
        let workers: Int

        func callAsFunction(_ indices: [Int], globalCount: Int?) -> Batch {
            guard let transform else { return dataset.batch(indices).with(globalCount: globalCount) }
            if indices.isEmpty {   // a rank's empty share: shaped like a transformed example 0
                var e = dataset.example(at: 0), random = TransformRandom(seed: seed, epoch: epoch, index: 0)
                e.input = transform(e.input, random: &random)
                return Batch.empty(like: e, globalCount: globalCount)
            }
            let examples = ExampleSlots(count: indices.count)
            let parts = Swift.min(workers, indices.count)
            let work: @Sendable (Int) -> Void = { part in
                for k in stride(from: part, to: indices.count, by: parts) {
                    var e = dataset.example(at: indices[k])
                    var random = TransformRandom(seed: seed, epoch: epoch, index: indices[k])
                    e.input = transform(e.input, random: &random)
                    examples.set(k, e)
                }
            }
            if parts <= 1 { work(0) } else { DispatchQueue.concurrentPerform(iterations: parts, execute: work) }
            return Batch.stacking(examples.all, indices: indices, globalCount: globalCount)
        }
    }

    /// One batch's transformed examples, each slot written by one worker.
    /// (Raw memory, so that workers writing distinct slots never access one Swift array at once.)
    final class ExampleSlots: @unchecked Sendable {
        private let slots: UnsafeMutableBufferPointer<Example?>
        init(count: Int) { slots = .allocate(capacity: count); slots.initialize(repeating: nil) }
        func set(_ k: Int, _ e: Example) { slots[k] = e }
        var all: [Example] { slots.map { $0! } }
        deinit { _ = slots.deinitialize(); slots.deallocate() }
    }

    /// One epoch's batches.
    public func makeIterator() -> Iterator {
        let (global, epoch) = nextEpochPlan()
        let plan = shard.map { s in global.map { s.slice($0) } } ?? global
        let counts = shard == nil ? nil : global.map(\.count)
        let maker = BatchMaker(dataset: dataset, transform: transform, seed: transformSeed, epoch: epoch, workers: workers)
        return Iterator(maker: maker, plan: plan, globalCounts: counts,
                        prefetcher: prefetch && plan.count > 1 ? Prefetcher(maker: maker, plan: plan, globalCounts: counts) : nil)
    }

    /// Iterates over one epoch's batches, in order.
    public struct Iterator: IteratorProtocol {
        let maker: BatchMaker
        let plan: [[Int]]
        let globalCounts: [Int]?
        let prefetcher: Prefetcher?
        var position = 0

        /// The next batch, or nil at the end of the epoch.
        public mutating func next() -> Batch? {
            guard position < plan.count else { return nil }
            defer { position += 1 }
            if let prefetcher { return prefetcher.take() }
            return maker(plan[position], globalCount: globalCounts?[position])
        }
    }
}

/// The producer side of prefetching: a thread assembles the epoch's batches in order into a buffer
/// of at most two; ``take()`` hands them out in the same order. Dropping the last reference (an
/// iterator abandoned mid-epoch) stops the thread.
final class Prefetcher: @unchecked Sendable {
    /// The shared buffer; the thread holds only this, so the prefetcher's deinit can cancel it.
    final class Channel: @unchecked Sendable {
        let condition = NSCondition()
        var buffer: [Batch] = []
        var cancelled = false
        let capacity = 2
    }

    let channel = Channel()

    init(maker: DataLoader.BatchMaker, plan: [[Int]], globalCounts: [Int]? = nil) {
        let channel = self.channel
        let thread = Thread {
            for (k, indices) in plan.enumerated() {
                let batch = maker(indices, globalCount: globalCounts?[k])
                channel.condition.lock()
                while channel.buffer.count >= channel.capacity && !channel.cancelled { channel.condition.wait() }
                if channel.cancelled { channel.condition.unlock(); return }
                channel.buffer.append(batch)
                channel.condition.broadcast()
                channel.condition.unlock()
            }
        }
        thread.name = "Neural.DataLoader"
        thread.start()
    }

    /// The next batch in order (waits for the producer when it is behind).
    func take() -> Batch {
        channel.condition.lock()
        defer { channel.condition.unlock() }
        while channel.buffer.isEmpty { channel.condition.wait() }
        let batch = channel.buffer.removeFirst()
        channel.condition.broadcast()
        return batch
    }

    deinit {
        channel.condition.lock()
        channel.cancelled = true
        channel.condition.broadcast()
        channel.condition.unlock()
    }
}

/// One rank's share of every mini-batch in data-parallel training (like PyTorch's
/// `DistributedSampler`). All ranks draw the same permutation (same dataset, batch size and seed)
/// and cut the same global batches; of a batch of b examples, rank r of N takes positions
/// `[r·p, (r+1)·p)` with p = ⌈b/N⌉, clipped to the batch: B/N each when N divides B, and in an
/// epoch's last, smaller batch some ranks may get fewer examples or none. The N shards of a batch
/// are exactly the batch one process would see.
public struct DataShard: Sendable, Equatable {
    /// This rank, 0..<``count``.
    package let rank: Int
    /// Number of ranks N.
    package let count: Int

    /// Shard `rank` of `count`.
    public init(rank: Int, count: Int) {
        precondition(count >= 1 && (0..<count).contains(rank), "Neural: shard \(rank) of \(count) is not valid")
        self.rank = rank
        self.count = count
    }

    /// This rank's consecutive part of one global batch's indices (`[⌈B/N⌉]` or fewer).
    package func slice(_ batch: [Int]) -> [Int] {
        let per = (batch.count + count - 1) / count
        let lo = Swift.min(rank * per, batch.count), hi = Swift.min(lo + per, batch.count)
        return Array(batch[lo..<hi])
    }
}
