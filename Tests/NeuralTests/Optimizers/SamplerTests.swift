import Neural
import Testing

@Suite("Samplers: full batch (eq. 7.8), Algorithm 1 (eq. 7.9), Algorithm 2 (eq. 7.10)")
struct SamplerTests {
    @Test func fullBatchSamplerUsesEveryExampleEveryStep() {
        var s = FullBatchSampler(count: 7)
        #expect(s.nextBatch() == Array(0..<7))
        #expect(s.batches(3) == Array(repeating: Array(0..<7), count: 3))
    }

    @Test func algorithm1DrawsOneExampleUniformlyWithReplacement() {
        let n = 10, draws = 20_000
        var s = UniformSampler(count: n, generator: RandomGenerator(seed: 401))
        var counts = [Int](repeating: 0, count: n)
        var sequence: [Int] = []
        for _ in 0..<draws {
            let batch = s.nextBatch()
            #expect(batch.count == 1)
            counts[batch[0]] += 1
            sequence.append(batch[0])
        }
        // Pearson's χ² with 9 degrees of freedom: its 99.9% quantile is 27.9.
        let expected = Double(draws) / Double(n)
        let chiSquare = counts.reduce(0.0) { $0 + (Double($1) - expected) * (Double($1) - expected) / expected }
        #expect(chiSquare < 27.9, "χ² = \(chiSquare) for counts \(counts)")
        // With replacement: repeats happen within the first n draws and back to back.
        #expect(Set(sequence.prefix(n)).count < n)
        #expect(zip(sequence, sequence.dropFirst()).contains { $0 == $1 })
        // Back-to-back repeats occur at rate 1/n, as for independent draws.
        let repeats = zip(sequence, sequence.dropFirst()).filter { $0 == $1 }.count
        #expect(abs(Double(repeats) / Double(draws - 1) - 0.1) < 0.01)
    }

    @Test(arguments: [false, true])
    func algorithm2VisitsEachExampleOncePerEpochAndReshuffles(_ dropLast: Bool) {
        let n = 103, b = 10
        var s = ShuffledBatchSampler(count: n, batchSize: b, dropLast: dropLast, generator: RandomGenerator(seed: 402))
        #expect(s.batchesPerEpoch == (dropLast ? 10 : 11))
        var orders: [[Int]] = []
        for epoch in 0..<5 {
            var seen: [Int] = []
            for k in 0..<s.batchesPerEpoch {
                let batch = s.nextBatch()
                #expect(s.epoch == epoch)
                #expect(batch.count == (k == 10 ? 3 : b))
                #expect(Set(batch).count == batch.count, "a batch repeats an example")
                seen += batch
            }
            if dropLast {
                #expect(seen.count == 100 && Set(seen).count == 100)
            } else {
                #expect(seen.sorted() == Array(0..<n), "epoch \(epoch) did not visit every example exactly once")
            }
            orders.append(seen)
        }
        #expect(Set(orders).count == orders.count, "the permutation was not redrawn each epoch")
        #expect(orders[0] != Array(0..<orders[0].count))
    }

    @Test func samplersAreReproducibleFromTheSeed() {
        var a = ShuffledBatchSampler(count: 50, batchSize: 8, generator: RandomGenerator(seed: 9))
        var b = ShuffledBatchSampler(count: 50, batchSize: 8, generator: RandomGenerator(seed: 9))
        #expect(a.batches(20) == b.batches(20))
        var u = UniformSampler(count: 50, generator: RandomGenerator(seed: 9))
        var v = UniformSampler(count: 50, generator: RandomGenerator(seed: 9))
        #expect(u.batches(20) == v.batches(20))
    }

    @Test func algorithm2ResumesFromASavedStateAndGeneratorWords() {
        let g = RandomGenerator(seed: 11)
        var a = ShuffledBatchSampler(count: 37, batchSize: 5, generator: g)
        _ = a.batches(10)                                    // mid-way through the second epoch
        let saved = a.state, words = g.stateWords
        let expected = a.batches(25)
        let h = RandomGenerator(seed: 0)
        var b = ShuffledBatchSampler(count: 37, batchSize: 5, generator: h)   // draws a permutation from h
        b.state = saved
        h.stateWords = words                                                 // so restore h afterwards
        #expect(b.batches(25) == expected)
    }
}
