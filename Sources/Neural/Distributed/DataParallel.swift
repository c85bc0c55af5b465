import Foundation

/// Data-parallel training (like PyTorch's `DistributedDataParallel` or Horovod): every rank of a
/// ``ProcessGroup`` holds a replica of the model, computes gradients on its share of each
/// mini-batch, and the gradients are summed over the ranks (MPI allreduce) before the optimiser
/// step, so every replica takes the same step and stays identical.
///
/// Creating it broadcasts rank 0's parameters and buffers to every rank (a collective: create it
/// on all ranks). The trainable parameters are packed into buckets of about `bucketBytes` each,
/// last layer first. With `overlapsBackward` (the default when the transport allows a second
/// thread), ``backward(_:weight:)`` reports each parameter's gradient the moment the backward pass
/// completes it, and a communication thread starts a bucket's allreduce as soon as all its
/// gradients are in, while the backward pass continues with earlier layers; buckets are reduced
/// strictly in bucket order on every rank. ``synchronize(weight:)`` then waits for the rest and
/// writes the summed gradients back into every parameter's ``Parameter/grad``.
///
/// Each rank scales its gradient by `weight` before the sum. With the loss a mean over the rank's
/// n_r examples and weight n_r / n (n the global batch), the sum is ∇ of the mean over the global
/// batch: N ranks with local batches B/N take exactly the step one process takes with batch B
/// (up to float rounding). A rank without examples in a step (the last, smaller batch of an
/// epoch) skips the backward pass and still calls ``synchronize(weight:)``. After the sum every
/// trainable parameter has a gradient, zero where no rank produced one.
///
/// ```swift
/// let group = ProcessGroup.world
/// let dp = DataParallel(model: model, group: group)           // rank 0's weights everywhere
/// let loader = DataLoader(train, batchSize: 256, generator: RandomGenerator(seed: 1),
///                         shard: DataShard(rank: group.rank, count: group.size))   // 256/N each
/// for batch in loader {
///     optimizer.zeroGrad()
///     let weight = Double(batch.count) / Double(batch.globalCount!)
///     if batch.count > 0 { dp.backward(crossEntropyLoss(logits: model(batch.inputs), labels: batch.labels!), weight: weight) }
///     dp.synchronize(weight: weight)
///     optimizer.step()
/// }
/// ```
/// ``Trainer`` does this when its ``Trainer/dataParallel`` is set.
public final class DataParallel {
    /// The ranks training together.
    package let group: ProcessGroup
    /// The replicated model.
    package let model: Module
    /// The parameters whose gradients are summed (the model's trainable ones at creation).
    package let parameters: [Parameter]
    /// Target size of one allreduce, bytes (a bucket holds whole parameters, so it may be larger).
    package let bucketBytes: Int
    /// Whether allreduces start during the backward pass (on a communication thread).
    package let overlapsBackward: Bool

    /// Time spent in communication since creation (or ``resetStatistics()``).
    package struct Statistics: Sendable, Equatable {
        /// Synchronised steps.
        package var steps = 0
        /// Seconds inside allreduce calls (on whichever thread made them).
        package var allreduceSeconds = 0.0
        /// Seconds the training thread waited for communication in ``synchronize(weight:)``
        /// (all of ``allreduceSeconds`` without overlap; only the part not hidden behind the
        /// backward pass with it).
        package var exposedSeconds = 0.0
        /// Gradient bytes summed per step.
        package var bytesPerStep = 0
        /// Number of buckets (allreduce calls per step).
        package var buckets = 0

        /// All zero.
        package init() {}
    }

    /// Communication time so far.
    package var statistics: Statistics {
        engine.lock.lock()
        defer { engine.lock.unlock() }
        var s = stats
        s.allreduceSeconds = engine.allreduceSeconds
        return s
    }

    private var stats = Statistics()
    private let buckets: [Bucket]
    /// Per parameter: (bucket, element offset in it).
    private let location: [(bucket: Int, offset: Int)]
    private let engine: Engine
    /// Per parameter: whether its gradient is already in its bucket this step.
    private var packed: [Bool]
    private var stepWeight: Double?

    /// Replicates `model` across `group`: broadcasts rank 0's parameters and buffers (a collective).
    ///
    /// - Parameters:
    ///   - model: the model every rank trains; its gradients are summed across the group.
    ///   - group: the ranks (default ``ProcessGroup/world``).
    ///   - bucketBytes: target bytes per allreduce (default 4 MiB; ~1–4 MB balances per-call
    ///     latency against overlap).
    ///   - overlap: start allreduces during the backward pass (default: when the transport allows
    ///     communication from a second thread, and the group has more than one rank).
    public init(model: Module, group: ProcessGroup = .world, bucketBytes: Int = 4 << 20, overlap: Bool? = nil) {
        precondition(bucketBytes > 0, "Neural: bucketBytes must be positive, got \(bucketBytes)")
        self.group = group
        self.model = model
        self.parameters = model.trainableParameters
        self.bucketBytes = bucketBytes
        let canOverlap = group.size > 1 && group.backend.allowsCommunicationThread
        self.overlapsBackward = (overlap ?? true) && canOverlap

        // Buckets in reverse parameter order (the order backward completes gradients), one dtype each.
        var buckets: [Bucket] = []
        var location = Array(repeating: (bucket: 0, offset: 0), count: parameters.count)
        var current: (dtype: DType, members: [Int], count: Int)?
        func close() {
            if let c = current { buckets.append(Bucket(dtype: c.dtype, members: c.members, count: c.count)) }
            current = nil
        }
        for i in parameters.indices.reversed() {
            let v = parameters[i].value
            if let c = current, c.dtype != v.dtype || c.count * c.dtype.byteSize >= bucketBytes { close() }
            if current == nil { current = (v.dtype, [], 0) }
            location[i] = (buckets.count, current!.count)
            current!.members.append(i)
            current!.count += v.count
        }
        close()
        self.buckets = buckets
        self.location = location
        self.packed = Array(repeating: false, count: parameters.count)
        self.engine = Engine(group: group, buckets: buckets, thread: overlapsBackward)
        stats.buckets = buckets.count
        stats.bytesPerStep = buckets.reduce(0) { $0 + $1.count * $1.dtype.byteSize }
        broadcastState(root: 0)
    }

    deinit { engine.stop() }

    /// Copies every parameter and buffer of rank `root` to all ranks (a collective).
    public func broadcastState(root: Int = 0) {
        guard group.size > 1 else { return }
        withNoGrad {
            for p in model.parameters { p.value = group.broadcast(p.value, root: root) }
            for (_, b) in model.namedBuffers() { b.value = group.broadcast(b.value, root: root) }
        }
    }

    /// Copies rank `root`'s buffers (e.g. BatchNorm's running statistics, which each rank updates
    /// from its own examples) to all ranks (a collective).
    package func broadcastBuffers(root: Int = 0) {
        guard group.size > 1 else { return }
        for (_, b) in model.namedBuffers() { b.value = group.broadcast(b.value, root: root) }
    }

    /// Runs `loss.backward()` (a scalar), starting each bucket's allreduce as soon as its gradients
    /// are complete when `overlapsBackward`. `weight` scales this rank's gradient in the sum (see
    /// the type's discussion); pass the same value to ``synchronize(weight:)``. Call at most once
    /// per step (for gradient accumulation, call `loss.backward()` several times, then synchronize).
    public func backward(_ loss: Tensor, weight: Double) {
        guard overlapsBackward else { loss.backward(); return }
        beginStep(weight: weight)
        var index: [ObjectIdentifier: Int] = [:]
        for (i, p) in parameters.enumerated() {
            if let node = p.value.node { index[ObjectIdentifier(node)] = i }
        }
        loss.backward(leafReady: { [self] node in
            guard let i = index[ObjectIdentifier(node)], let g = node.grad else { return }
            pack(i, gradient: g)
        })
    }

    /// Waits for (or, without overlap, performs) the allreduce of every bucket and stores the sum
    /// over ranks of `weight` × gradient into each parameter's gradient. Every rank must call it
    /// once per step, with or without a preceding ``backward(_:weight:)``.
    public func synchronize(weight: Double) {
        if group.size == 1 && weight == 1 { stats.steps += 1; return }
        let t0 = Date()
        beginStep(weight: weight)
        for i in parameters.indices where !packed[i] {
            if let g = parameters[i].grad { pack(i, gradient: g) } else { packZeros(i) }
        }
        engine.waitAll()
        stats.exposedSeconds += Date().timeIntervalSince(t0)
        withNoGrad {
            for (i, p) in parameters.enumerated() {
                let (b, offset) = location[i]
                var g = Tensor(uninitialized: p.value.shape, dtype: buckets[b].dtype)
                memcpy(g.storage.raw, buckets[b].buffer + offset * buckets[b].dtype.byteSize, g.count * g.dtype.byteSize)
                g.requiresGrad = false
                p.value.grad = g
            }
        }
        engine.reset()
        for i in packed.indices { packed[i] = false }
        stepWeight = nil
        stats.steps += 1
    }

    /// Sets the statistics back to zero.
    package func resetStatistics() {
        engine.lock.lock()
        engine.allreduceSeconds = 0
        engine.lock.unlock()
        let bytes = stats.bytesPerStep
        stats = Statistics()
        stats.bytesPerStep = bytes
        stats.buckets = buckets.count
    }

    private func beginStep(weight: Double) {
        if let w = stepWeight {
            precondition(w == weight, "Neural: DataParallel.synchronize(weight: \(weight)) after backward(weight: \(w)); pass the same weight")
        }
        stepWeight = weight
    }

    /// Copies `weight × gradient` of parameter `i` into its bucket; submits the bucket when full.
    private func pack(_ i: Int, gradient: Tensor) {
        guard !packed[i] else { return }
        packed[i] = true
        let (b, offset) = location[i]
        let bucket = buckets[b]
        let g = gradient.dtype == bucket.dtype ? gradient.contiguous() : gradient.to(bucket.dtype).contiguous()
        let w = stepWeight ?? 1
        func scaledCopy<T: KernelScalar>(_: T.Type) {
            let src = g.pointer(T.self), dst = bucket.buffer.assumingMemoryBound(to: T.self) + offset
            let s = T(w)
            for k in 0..<g.count { dst[k] = src[k] * s }
        }
        withExtendedLifetime(g) {
            switch bucket.dtype {
            case .float32: scaledCopy(Float.self)
            case .float64: scaledCopy(Double.self)
            case .int32, .int64: bucket.dtype.floatOnly("DataParallel gradients")
            }
        }
        engine.packed(bucket: b)
    }

    private func packZeros(_ i: Int) {
        packed[i] = true
        let (b, offset) = location[i]
        let bucket = buckets[b]
        memset(bucket.buffer + offset * bucket.dtype.byteSize, 0, parameters[i].value.count * bucket.dtype.byteSize)
        engine.packed(bucket: b)
    }
}

/// A flat buffer holding the gradients of some consecutive parameters, reduced by one allreduce.
final class Bucket: @unchecked Sendable {
    let dtype: DType
    /// Parameter indices, in the order they sit in the buffer.
    let members: [Int]
    /// Elements.
    let count: Int
    let buffer: UnsafeMutableRawPointer

    init(dtype: DType, members: [Int], count: Int) {
        self.dtype = dtype
        self.members = members
        self.count = count
        buffer = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * dtype.byteSize, alignment: 64)
    }

    deinit { buffer.deallocate() }
}

/// Runs the buckets' allreduces, in bucket order, either on a communication thread as buckets fill
/// (overlap) or on the caller's thread in ``waitAll()``.
private final class Engine: @unchecked Sendable {
    let group: ProcessGroup
    let buckets: [Bucket]
    let lock = NSCondition()
    /// Per bucket: parameters still missing this step.
    var missing: [Int]
    /// Buckets reduced this step (always a prefix).
    var reduced = 0
    var stopping = false
    var allreduceSeconds = 0.0
    let threaded: Bool

    init(group: ProcessGroup, buckets: [Bucket], thread: Bool) {
        self.group = group
        self.buckets = buckets
        self.missing = buckets.map(\.members.count)
        self.threaded = thread
        if thread {
            let t = Thread { [self] in self.loop() }
            t.name = "Neural.DataParallel"
            t.start()
        }
    }

    func packed(bucket b: Int) {
        lock.lock()
        missing[b] -= 1
        if missing[b] == 0 { lock.broadcast() }
        lock.unlock()
    }

    private func loop() {
        lock.lock()
        while true {
            while !stopping && !(reduced < buckets.count && missing[reduced] == 0) { lock.wait() }
            if stopping { break }
            let b = reduced
            lock.unlock()
            let seconds = reduce(buckets[b])
            lock.lock()
            allreduceSeconds += seconds
            reduced += 1
            lock.broadcast()
        }
        lock.unlock()
    }

    private func reduce(_ bucket: Bucket) -> Double {
        let t0 = Date()
        group.backend.allreduceSum(bucket.buffer, count: bucket.count, dtype: bucket.dtype)
        return Date().timeIntervalSince(t0)
    }

    /// Returns once every bucket is reduced (all must be packed).
    func waitAll() {
        if threaded {
            lock.lock()
            while reduced < buckets.count { lock.wait() }
            lock.unlock()
        } else {
            var seconds = 0.0
            for b in buckets where group.size > 1 { seconds += reduce(b) }
            lock.lock()
            allreduceSeconds += seconds
            reduced = buckets.count
            lock.unlock()
        }
    }

    /// Prepares the next step.
    func reset() {
        lock.lock()
        reduced = 0
        for (b, bucket) in buckets.enumerated() { missing[b] = bucket.members.count }
        lock.unlock()
    }

    func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
    }
}
