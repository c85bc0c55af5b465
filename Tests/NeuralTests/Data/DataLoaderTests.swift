import Foundation
import Neural
import Testing

/// n examples whose input row i is [i, i + 0.5, −i] (so a row identifies its example), labels i mod 3.
private func numbered(_ n: Int) -> TensorDataset {
    let x = (0..<n).flatMap { i in [Double(i), Double(i) + 0.5, -Double(i)] }
    return TensorDataset(inputs: Tensor(x, shape: [n, 3]), labels: (0..<n).map { $0 % 3 }, classCount: 3)
}

/// The example indices a batch holds, read back from its input rows, checked against its labels.
private func examples(_ batch: Batch) -> [Int] {
    let v = batch.inputs.scalars(as: Double.self)
    let ids = (0..<batch.count).map { Int(v[3 * $0]) }
    #expect(batch.labels! == ids.map { $0 % 3 })
    #expect(ids == batch.indices)
    for (k, i) in ids.enumerated() { #expect(v[3 * k + 1] == Double(i) + 0.5 && v[3 * k + 2] == -Double(i)) }
    return ids
}

struct DataLoaderTests {
    @Test func eachExampleOncePerEpochAndReshuffled() {
        let loader = DataLoader(numbered(103), batchSize: 10, generator: RandomGenerator(seed: 5))
        #expect(loader.batchesPerEpoch == 11)
        var orders: [[Int]] = []
        for _ in 0..<3 {
            let batches = Array(loader)
            #expect(batches.count == 11)
            #expect(batches.map(\.count) == Array(repeating: 10, count: 10) + [3])
            #expect(batches.allSatisfy { $0.inputs.shape == [$0.count, 3] && $0.targets == nil })
            let order = batches.flatMap(examples)
            #expect(order.sorted() == Array(0..<103))
            orders.append(order)
        }
        #expect(orders[0] != orders[1] && orders[1] != orders[2])
        #expect(orders[0] != Array(0..<103))
        #expect(loader.epochsStarted == 3)
    }

    @Test func dropLastAndNoShuffle() {
        let loader = DataLoader(numbered(25), batchSize: 8, dropLast: true, generator: RandomGenerator(seed: 1))
        #expect(loader.batchesPerEpoch == 3)
        for _ in 0..<2 {
            let batches = Array(loader)
            #expect(batches.map(\.count) == [8, 8, 8])
            #expect(Set(batches.flatMap(examples)).count == 24)
        }
        let ordered = DataLoader(numbered(25), batchSize: 8, shuffle: false)
        #expect(Array(ordered).flatMap(examples) == Array(0..<25))
        #expect(Array(ordered).map(\.count) == [8, 8, 8, 1])
    }

    @Test func prefetchGivesTheSameBatches() {
        let data = numbered(257)
        let a = DataLoader(data, batchSize: 16, prefetch: true, generator: RandomGenerator(seed: 9))
        let b = DataLoader(data, batchSize: 16, prefetch: false, generator: RandomGenerator(seed: 9))
        for _ in 0..<4 {
            let x = Array(a), y = Array(b)
            #expect(x.map(\.indices) == y.map(\.indices))
            #expect(zip(x, y).allSatisfy { $0.inputs.scalars(as: Float.self) == $1.inputs.scalars(as: Float.self) })
        }
        // Leaving an epoch early stops its producer; the next epoch starts afresh.
        for batch in a { _ = batch; break }
        #expect(Array(a).flatMap(\.indices).sorted() == Array(0..<257))
    }

    @Test func sameSemanticsAsShuffledBatchSampler() {
        let loader = DataLoader(numbered(50), batchSize: 7, generator: RandomGenerator(seed: 2))
        var sampler = ShuffledBatchSampler(count: 50, batchSize: 7, generator: RandomGenerator(seed: 2))
        for _ in 0..<3 {
            #expect(Array(loader).map(\.indices) == sampler.batches(sampler.batchesPerEpoch))
        }
        // Resuming: the state and generator words after an epoch give the same next epoch.
        let g = RandomGenerator(seed: 2)
        let first = DataLoader(numbered(50), batchSize: 7, generator: g)
        _ = Array(first)
        let saved = (first.samplerState!, g.stateWords)
        let expected = Array(first).map(\.indices)
        let g2 = RandomGenerator(seed: 77)
        let resumed = DataLoader(numbered(50), batchSize: 7, generator: g2)
        resumed.samplerState = saved.0
        g2.stateWords = saved.1
        #expect(Array(resumed).map(\.indices) == expected)
    }

    @Test func regressionTargetsAndImageBatches() {
        let g = RandomGenerator(seed: 4)
        let x = Tensor.uniform([20, 1, 4, 4], generator: g), y = Tensor.uniform([20, 2], dtype: .float64, generator: g)
        let loader = DataLoader(TensorDataset(inputs: x, targets: y), batchSize: 6, generator: g)
        let xs = x.scalars(as: Float.self), ys = y.scalars(as: Double.self)
        for batch in loader {
            #expect(batch.inputs.shape == [batch.count, 1, 4, 4] && batch.targets!.shape == [batch.count, 2])
            #expect(batch.labels == nil && batch.targets!.dtype == .float64)
            let bx = batch.inputs.scalars(as: Float.self), by = batch.targets!.scalars(as: Double.self)
            for (k, i) in batch.indices.enumerated() {
                #expect(Array(bx[(16 * k)..<(16 * k + 16)]) == Array(xs[(16 * i)..<(16 * i + 16)]))
                #expect(Array(by[(2 * k)..<(2 * k + 2)]) == Array(ys[(2 * i)..<(2 * i + 2)]))
            }
        }
    }
}
