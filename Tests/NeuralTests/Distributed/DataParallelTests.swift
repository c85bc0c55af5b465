import Foundation
import Neural
import Testing

/// One training run of a small MLP (no BatchNorm: per-rank batch statistics would differ from
/// the global batch's) with SGD + momentum, on rank `group.rank` of `group`, sharding every
/// global batch of `batchSize` when the group has several ranks. Returns the final weights.
private func trainMLP(group: ProcessGroup, steps: Int, batchSize: Int, modelSeed: UInt64, overlap: Bool? = nil) -> [[Float]] {
    Runtime.withThreads(1) {
        let data = Synthetic.twoSpirals(pointsPerClass: 103, noise: 0.05, generator: RandomGenerator(seed: 7))
        let train = TensorDataset(inputs: data.0, labels: data.1, classCount: 2)
        let model = Sequential(Linear(2, 32, generator: RandomGenerator(seed: modelSeed)), Tanh(),
                               Linear(32, 32, generator: RandomGenerator(seed: modelSeed + 1)), ReLU(),
                               Linear(32, 2, generator: RandomGenerator(seed: modelSeed + 2)))
        let optimizer = SGD(model.parameters, learningRate: 0.05, momentum: 0.9)
        let trainer = Trainer(model: model, optimizer: optimizer, objective: .crossEntropy)
        if group.size > 1 { trainer.dataParallel = DataParallel(model: model, group: group, bucketBytes: 2048, overlap: overlap) }
        let loader = DataLoader(train, batchSize: batchSize, prefetch: false, generator: RandomGenerator(seed: 3),
                                shard: group.size > 1 ? DataShard(rank: group.rank, count: group.size) : nil)
        var done = 0
        while done < steps {
            for batch in loader where done < steps {
                _ = try? trainer.step(batch)   // a NonFiniteError leaves the weights off the reference
                done += 1
            }
        }
        return model.parameters.map { $0.value.scalars(as: Float.self) }
    }
}

/// Runs `body(rank's group)` for every rank of an in-process group, one thread each.
private func runRanks<R: Sendable>(_ size: Int, _ body: @escaping @Sendable (ProcessGroup) -> R) -> [R] {
    let groups = ProcessGroup.threads(size)
    let results = RankResults<R>(size)
    let done = DispatchGroup()
    for (r, g) in groups.enumerated() {
        let t = Thread { results.values[r] = body(g); done.leave() }
        t.stackSize = 8 << 20
        done.enter()
        t.start()
    }
    done.wait()
    return results.values.map { $0! }
}

/// Per-rank results written by the rank threads (each writes only its own slot).
private final class RankResults<R>: @unchecked Sendable {
    var values: [R?]
    init(_ n: Int) { values = Array(repeating: nil, count: n) }
}

private func maxDifference(_ a: [[Float]], _ b: [[Float]]) -> Double {
    zip(a, b).map { x, y in zip(x, y).map { Double(($0 - $1).magnitude) }.max() ?? 0 }.max() ?? 0
}

@Suite("Data-parallel training")
struct DataParallelTests {
    /// 206 examples in global batches of 20: 11 batches per epoch, the last of 6, so with 4 ranks
    /// one rank gets no example in that step (shards of ⌈6/4⌉ = 2: 2, 2, 2, 0) and with 2 ranks 3 + 3.
    @Test(arguments: [2, 4])
    func ranksMatchOneProcessAfter100Steps(ranks: Int) {
        let reference = trainMLP(group: .single(), steps: 100, batchSize: 20, modelSeed: 1)
        for overlap in [true, false] {
            // Ranks other than 0 start from different weights: the broadcast must replace them.
            let results = runRanks(ranks) { g in
                trainMLP(group: g, steps: 100, batchSize: 20, modelSeed: g.rank == 0 ? 1 : 50, overlap: overlap)
            }
            for (r, weights) in results.enumerated() {
                let d = maxDifference(weights, reference)
                #expect(d <= 1e-5, "rank \(r) of \(ranks) (overlap \(overlap)): max |Δw| = \(d)")
            }
            #expect(results.dropFirst().allSatisfy { $0 == results[0] }, "replicas differ")
        }
        // The run moved the weights far enough for a mismatch to show.
        let start = trainMLP(group: .single(), steps: 0, batchSize: 20, modelSeed: 1)
        #expect(maxDifference(reference, start) > 0.05)
    }

    @Test func shardsReassembleEveryGlobalBatch() {
        let x = Tensor((0..<23).map(Double.init), shape: [23, 1])
        let data = TensorDataset(inputs: x, labels: Array(repeating: 0, count: 23), classCount: 1)
        let whole = DataLoader(data, batchSize: 8, generator: RandomGenerator(seed: 5))
        let shards = (0..<3).map { DataLoader(data, batchSize: 8, generator: RandomGenerator(seed: 5), shard: DataShard(rank: $0, count: 3)) }
        for _ in 0..<2 {   // two epochs: the permutations stay in step
            let global = Array(whole)
            let parts = shards.map { Array($0) }
            #expect(parts.allSatisfy { $0.count == global.count })
            for (k, batch) in global.enumerated() {
                #expect(parts.flatMap { $0[k].indices } == batch.indices)
                #expect(parts.allSatisfy { $0[k].globalCount == batch.count })
                #expect(parts.flatMap { $0[k].inputs.scalars(as: Double.self) } == batch.inputs.scalars(as: Double.self))
            }
            #expect(global.last?.count == 7 && parts.map { $0.last!.count } == [3, 3, 1])
        }
        var it = whole.makeIterator()
        #expect(it.next()?.globalCount == nil)
    }

    @Test func threadGroupCollectivesSumAndBroadcast() {
        let out = runRanks(3) { g -> ([Double], [Double], [Float]) in
            let sum = g.allreduceSum([Double(g.rank), 1, 0.5 * Double(g.rank + 1)])
            let b = g.broadcast(Tensor([Double(g.rank + 10), 2], dtype: .float64), root: 1).scalars(as: Double.self)
            let t = g.allreduceSum(Tensor([Float(g.rank), 1, 2, 3, 4])).scalars(as: Float.self)
            g.barrier()
            return (sum, b, t)
        }
        for (sum, b, t) in out {
            #expect(sum == [3, 3, 3])
            #expect(b == [11, 2])
            #expect(t == [3, 3, 6, 9, 12])
        }
        let one = ProcessGroup.single()
        #expect(one.rank == 0 && one.size == 1 && one.isRoot)
        #expect(one.allreduceSum([2, 5]) == [2, 5])
    }

    @Test func singleProcessWorldWithoutLauncher() {
        // Without mpirun the world is one process, with or without the MPI trait.
        if !ProcessGroup.isLaunchedByMPI {
            #expect(ProcessGroup.world.size == 1 && ProcessGroup.world.rank == 0)
        }
    }

    /// The statistics count every step and its bytes; buckets hold whole parameters.
    @Test func bucketsAndStatistics() {
        let out = runRanks(2) { g -> DataParallel.Statistics in
            let model = Sequential(Linear(10, 100), ReLU(), Linear(100, 10))   // 1100 + 1010 floats
            let dp = DataParallel(model: model, group: g, bucketBytes: 4096)
            for _ in 0..<3 {
                model.zeroGrad()
                let loss = model(Tensor.ones([4, 10])).sum()
                dp.backward(loss, weight: 0.5)
                dp.synchronize(weight: 0.5)
            }
            return dp.statistics
        }
        for s in out {
            #expect(s.steps == 3)
            #expect(s.bytesPerStep == (1100 + 1010) * 4)
            #expect(s.buckets == 2)   // [bias 10 + weight 1000 + bias 100 = 4440 B], [weight 1000]
        }
    }
}

/// The same equivalence through Open MPI and the CLI: `mpirun -np N neural train` with global batch
/// 32 for 100 steps (4 epochs of 800 examples) writes the weights one process writes.
@Suite("Data-parallel training under mpirun", .serialized,
       .enabled(if: ProcessGroup.isMPICompiled && MPIRun.executable != nil && NeuralTool.executable != nil,
                "needs the MPI trait, mpirun and the built neural tool"))
struct MPIRunTests {
    private func train(ranks: Int, in dir: URL, extra: [String] = []) throws -> NeuralTool.Result {
        let args = ["train", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "32", "--epochs", "4",
                    "--threads", "1", "--quiet", "--checkpoint", "ck\(ranks).safetensors", "--plot", "p\(ranks).svg"] + extra
        return try MPIRun.run(ranks: ranks, args, in: dir)
    }

    @Test func mpirunRanksMatchOneProcessAfter100Steps() throws {
        let dir = try NeuralTool.temporaryDirectory()
        let one = try NeuralTool.run(["train", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "32", "--epochs", "4",
                                      "--threads", "1", "--quiet", "--checkpoint", "ck1.safetensors", "--plot", "p1.svg"], in: dir)
        #expect(one.status == 0, "\(one.stderr)")
        let reference = try Checkpoint.load(from: dir.appendingPathComponent("ck1.safetensors"))
        for ranks in [2, 4] {
            let r = try train(ranks: ranks, in: dir)
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.components(separatedBy: "done: 4 epochs").count == 2, "only rank 0 prints: \(r.stdout)")
            let ck = try Checkpoint.load(from: dir.appendingPathComponent("ck\(ranks).safetensors"))
            var worst = 0.0
            for (name, t) in reference.tensors where !name.hasPrefix(Checkpoint.optimizerPrefix) {
                let a = t.scalars(as: Double.self), b = try #require(ck.tensors[name]).scalars(as: Double.self)
                worst = max(worst, zip(a, b).map { ($0 - $1).magnitude }.max() ?? 0)
            }
            #expect(worst <= 1e-5, "\(ranks) ranks: max |Δw| = \(worst)")
            #expect(reference.tensors.count > 2)
        }
    }

    @Test func resumeAcrossRanksAndIndivisibleBatch() throws {
        let dir = try NeuralTool.temporaryDirectory()
        // 2 epochs on 2 ranks, resumed for 2 more on 4 ranks = 4 epochs on one process.
        let first = try MPIRun.run(ranks: 2, ["train", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "32", "--epochs", "2",
                                              "--threads", "1", "--quiet", "--checkpoint", "half.safetensors", "--plot", "p.svg",
                                              "--schedule", "constant"], in: dir)
        #expect(first.status == 0, "\(first.stderr)")
        let one = try NeuralTool.run(["train", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "32", "--epochs", "4",
                                      "--threads", "1", "--quiet", "--checkpoint", "c.safetensors", "--plot", "p.svg",
                                      "--schedule", "constant"], in: dir)
        #expect(one.status == 0, "\(one.stderr)")
        let resumed = try MPIRun.run(ranks: 4, ["train", "--optimizer", "momentum", "--lr", "0.05", "--batch-size", "32", "--epochs", "4",
                                                "--threads", "1", "--quiet", "--checkpoint", "r.safetensors", "--plot", "p.svg",
                                                "--schedule", "constant", "--resume", "half.safetensors"], in: dir)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Checkpoint.load(from: dir.appendingPathComponent("c.safetensors"))
        let b = try Checkpoint.load(from: dir.appendingPathComponent("r.safetensors"))
        #expect(b.epoch == 4)
        for (name, t) in a.tensors where !name.hasPrefix(Checkpoint.optimizerPrefix) {
            let d = zip(t.scalars(as: Double.self), try #require(b.tensors[name]).scalars(as: Double.self)).map { ($0 - $1).magnitude }.max() ?? 0
            #expect(d <= 1e-5, "\(name): \(d)")
        }

        let bad = try MPIRun.run(ranks: 2, ["train", "--batch-size", "33", "--quiet"], in: dir)
        #expect(bad.status != 0)
        #expect(bad.stderr.contains("--batch-size 33 is the global batch and must be divisible by the 2 ranks"), "\(bad.stderr)")
    }
}

/// Finds and runs Open MPI's `mpirun`.
enum MPIRun {
    static var executable: URL? {
        ["/usr/bin/mpirun", "/usr/local/bin/mpirun"].map { URL(fileURLWithPath: $0) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    static func run(ranks: Int, _ arguments: [String], in directory: URL) throws -> NeuralTool.Result {
        struct NotFound: Error {}
        guard let mpirun = executable, let tool = NeuralTool.executable else { throw NotFound() }
        return try NeuralTool.run(program: mpirun, ["--allow-run-as-root", "--oversubscribe", "--bind-to", "none", "-np", "\(ranks)", tool.path]
                                  + arguments, in: directory)
    }
}
