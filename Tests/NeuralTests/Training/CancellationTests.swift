import Foundation
import Neural
import Testing

/// A run of `epochs` epochs of a dropout MLP with Adam on shuffled spirals; `stopAt`: cancel from
/// `onStep` after that step, then continue the same objects with `resume:` (the loader's sampler
/// put back at the stop, as a checkpoint would). Returns the final weights' bits, the step each
/// `fit` call ended at and whether it was cancelled.
private func spiralsRun(epochs: Int, stopAt: Int?) throws -> (bits: [[UInt32]], ends: [(step: Int, batch: Int, cancelled: Bool)]) {
    try Runtime.withThreads(1) {
        let (x, y) = Synthetic.twoSpirals(pointsPerClass: 60, noise: 0.05, generator: RandomGenerator(seed: 5))
        let data = TensorDataset(inputs: x, labels: y, classCount: 2)
        let g = RandomGenerator(seed: 9)
        let model = Sequential(Linear(2, 16, generator: g), ReLU(), Dropout(0.2, generator: g), Linear(16, 2, generator: g))
        let trainer = Trainer(model: model, optimizer: Adam(model.parameters, learningRate: 0.01), objective: .crossEntropy)
        let loader = DataLoader(data, batchSize: 16, prefetch: false, generator: RandomGenerator(seed: 4))
        var ends: [(Int, Int, Bool)] = []
        var resume: TrainingState?
        repeat {
            _ = try trainer.fit(epochs: epochs, batchesPerEpoch: loader.batchesPerEpoch, train: { _ in loader }, evaluate: Optional<() -> DataLoader>.none,
                                resume: resume, onStep: { state in if state.step == stopAt { trainer.cancel() } })
            ends.append((trainer.state.step, trainer.state.batch, trainer.wasCancelled))
            guard trainer.wasCancelled else { break }
            if trainer.state.batch > 0 { loader.samplerState?.position = trainer.state.batch * loader.batchSize }
            trainer.cancellation.reset()
            resume = trainer.state
        } while true
        return (model.parameters.map { $0.value.scalars(as: Float.self).map(\.bitPattern) }, ends.map { (step: $0.0, batch: $0.1, cancelled: $0.2) })
    }
}

@Suite("Training cancellation")
struct CancellationTests {
    @Test func cancellingStopsAtTheNextStepBoundaryAndResumingGivesTheUninterruptedBits() throws {
        let reference = try spiralsRun(epochs: 3, stopAt: nil)   // 8 batches per epoch, 24 steps
        #expect(reference.ends.count == 1 && reference.ends[0].step == 24 && !reference.ends[0].cancelled)
        for stop in [1, 5, 8, 13, 23] {
            let run = try spiralsRun(epochs: 3, stopAt: stop)
            #expect(run.ends.count == 2 && run.ends[0].cancelled && run.ends[0].step == stop, "stop after \(stop): \(run.ends)")
            #expect(run.ends[0].batch == stop % 8, "inside an epoch, or (after its last batch) at its end")
            #expect(run.ends[1].step == 24 && !run.ends[1].cancelled)
            #expect(run.bits == reference.bits, "weights differ after stopping at step \(stop)")
        }
    }

    @Test func aHandleCancelledBeforeFitStopsBeforeTheFirstStepAndIsSharedAcrossThreads() throws {
        let model = Sequential.mlp([2, 4, 2], generator: RandomGenerator(seed: 1))
        let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
        let handle = TrainingCancellation()
        trainer.cancellation = handle
        let batch = [TensorDataset(inputs: Tensor.zeros([4, 2]), labels: [0, 1, 0, 1], classCount: 2)]
        let loader = DataLoader(batch[0], batchSize: 2, shuffle: false)
        let t = Thread { handle.cancel() }
        t.start()
        while !handle.isCancelled { usleep(100) }
        let records = try trainer.fit(epochs: 5, train: { _ in loader }, evaluate: Optional<() -> DataLoader>.none)
        #expect(records.isEmpty && trainer.wasCancelled && trainer.state.step == 0)
        handle.reset()
        let all = try trainer.fit(epochs: 2, train: { _ in loader }, evaluate: Optional<() -> DataLoader>.none)
        #expect(all.count == 2 && !trainer.wasCancelled && trainer.state.step == 4)
    }

    @Test func dataParallelRanksAllStopAfterTheSameStepWhenOneRankCancels() throws {
        let groups = ProcessGroup.threads(2)
        let steps = RankSteps()
        let done = DispatchGroup()
        for (r, group) in groups.enumerated() {
            done.enter()
            let t = Thread {
                defer { done.leave() }
                let (x, y) = Synthetic.twoSpirals(pointsPerClass: 40, noise: 0.05, generator: RandomGenerator(seed: 5))
                let model = Sequential.mlp([2, 8, 2], generator: RandomGenerator(seed: 1))
                let trainer = Trainer(model: model, optimizer: SGD(model.parameters, learningRate: 0.1), objective: .crossEntropy)
                trainer.dataParallel = DataParallel(model: model, group: group)
                let loader = DataLoader(TensorDataset(inputs: x, labels: y, classCount: 2), batchSize: 8, prefetch: false,
                                        generator: RandomGenerator(seed: 3), shard: DataShard(rank: group.rank, count: 2))
                _ = try? trainer.fit(epochs: 4, train: { _ in loader }, evaluate: Optional<() -> DataLoader>.none,
                                     onStep: { state in if group.rank == 1 && state.step == 5 { trainer.cancel() } })
                steps.set(r, trainer.wasCancelled ? trainer.state.step : -1)
            }
            t.stackSize = 8 << 20
            t.start()
        }
        done.wait()
        // Rank 1's request travels with step 6's allreduce: both ranks stop before step 7.
        #expect(steps.values == [6, 6], "\(steps.values)")
    }

    @Test func aSpecsMemoryEstimateCountsTheBuiltModelsParametersBuffersAndActivations() throws {
        let spec = try ModelSpec.parse("conv2d(4,3) batchnorm relu maxpool(2) flatten linear(10) residual(6) layernorm mlp(7)")
        let estimate = try spec.memoryEstimate(inputShape: [1, 8, 8], outputSize: 3)
        let model = try spec.build(inputShape: [1, 8, 8], outputSize: 3, generator: RandomGenerator(seed: 0))
        let buffers = model.namedBuffers().reduce(0) { $0 + $1.buffer.value.count }
        #expect(estimate.parameters == Double(model.parameterCount + buffers))
        let summary = ModelSummary(model: model, inputShape: [1, 8, 8])
        #expect(estimate.activationsPerExample == Double(64 + summary.rows.reduce(0) { $0 + $1.outputShape.reduce(1, *) }))
        #expect(estimate.modelBytes(optimizerSlots: 2) == estimate.parameters * 16)
        #expect(estimate.batchBytes(batchSize: 10) == estimate.activationsPerExample * 40)
        // Sizes past Int's range are estimated, not overflowed.
        let huge = try ModelSpec.parse("mlp(4000000000,4000000000)").memoryEstimate(inputShape: [2], outputSize: 2)
        #expect(huge.parameters > 1.6e19)
    }

    @Test func memoryBeyondWhatIsAvailableIsRefusedWithBothSizes() throws {
        let available = try #require(MemoryBudget.availableBytes(), "/proc/meminfo is readable on Linux")
        #expect(available > 0)
        #expect(throws: Never.self) { try MemoryBudget.check(1024, for: "a kilobyte", hint: "none") }
        do {
            try MemoryBudget.check(1e30, for: "the model x", hint: "use a smaller one")
            Issue.record("1e30 bytes were not refused")
        } catch {
            #expect(error.bytesNeeded == Int.max && error.bytesAvailable > 0)
            #expect(error.description.hasPrefix("not enough memory for the model x: it needs at least ")
                    && error.description.contains("(\(error.bytesAvailable) bytes) are available; use a smaller one"), "\(error)")
        }
    }
}

/// Each rank's final step (each thread writes its own slot).
private final class RankSteps: @unchecked Sendable {
    private let lock = NSLock()
    private var storage = [-2, -2]
    func set(_ rank: Int, _ step: Int) { lock.lock(); storage[rank] = step; lock.unlock() }
    var values: [Int] { lock.lock(); defer { lock.unlock() }; return storage }
}
