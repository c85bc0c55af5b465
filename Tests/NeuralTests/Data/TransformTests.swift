import Foundation
import Neural
import Testing

/// The largest absolute difference between two tensors of one shape.
private func maxDifference(_ a: Tensor, _ b: Tensor) -> Double {
    #expect(a.shape == b.shape)
    return zip(a.scalars(as: Double.self), b.scalars(as: Double.self)).map { abs($0 - $1) }.max() ?? 0
}

/// A `[C, H, W]` image whose pixel values name their position: c·100 + i·10 + j.
private func positional(_ c: Int, _ h: Int, _ w: Int) -> Tensor {
    var v: [Double] = []
    for ch in 0..<c { for i in 0..<h { for j in 0..<w { v.append(Double(ch * 100 + i * 10 + j)) } } }
    return Tensor(v, shape: [c, h, w], dtype: .float64)
}

struct TransformTests {
    /// Crop, flip, normalize, rotation and affine against torchvision's formulas
    /// (Scripts/fixtures/transforms.py), in Float64 and Float32.
    @Test func deterministicTransformsMatchTorchvision() {
        let fixture = TorchFixture.load("transforms")
        #expect(fixture.cases.count == 9)
        for c in fixture.cases {
            for dtype in [DType.float64, .float32] {
                let x = c.tensor("x").to(dtype)
                let out: Tensor
                switch c.name {
                case "crop":
                    let p = c.int("padding")
                    out = Image.crop(x, top: c.int("top") - p, left: c.int("left") - p, height: c.int("height"), width: c.int("width"))
                case "hflip":
                    out = Image.horizontalFlip(x)
                case "normalize":
                    var random = TransformRandom(seed: 0, epoch: 0, index: 0)
                    out = Normalize(mean: c.tensor("mean").scalars(as: Double.self), std: c.tensor("std").scalars(as: Double.self))(x, random: &random)
                case let name where name.hasPrefix("rotate"):
                    out = Image.rotate(x, angle: c.double("angle"), interpolation: Interpolation(rawValue: c.string("mode"))!)
                default:
                    out = Image.affine(x, angle: c.double("angle"), translate: (c.double("tx"), c.double("ty")), scale: c.double("scale"),
                                       interpolation: Interpolation(rawValue: c.string("mode"))!)
                }
                #expect(out.dtype == dtype)
                let tolerance = dtype == .float64 ? 1e-10 : 1e-5
                #expect(maxDifference(out, c.tensor("out")) <= tolerance, "\(c.name) \(dtype)")
            }
        }
    }

    @Test func rotationByQuarterTurnsMovesPixelsExactly() {
        let x = positional(1, 4, 4)
        // Counter-clockwise: the top-right pixel (0, 3) goes to the top-left (0, 0).
        let r = Image.rotate(x, angle: 90).scalars(as: Double.self)
        #expect(r[0] == 3 && r[3] == 33 && r[15] == 30 && r[12] == 0)
        #expect(Image.rotate(x, angle: 360).scalars(as: Double.self) == x.scalars(as: Double.self))
        #expect(Image.rotate(Image.rotate(x, angle: 90), angle: -90).scalars(as: Double.self) == x.scalars(as: Double.self))
    }

    @Test func randomCropVisitsEveryOffsetAndIsFixedByItsRandom() {
        let x = positional(2, 6, 6)
        let crop = RandomCrop(6, padding: 1)
        var seen = Set<Double>()
        for index in 0..<200 {
            var a = TransformRandom(seed: 3, epoch: 1, index: index), b = a
            let out = crop(x, random: &a)
            #expect(out.shape == [2, 6, 6])
            #expect(out.scalars(as: Double.self) == crop(x, random: &b).scalars(as: Double.self))
            // The offset shows in the centre pixel (2, 2): it reads (2 + dy, 2 + dx), dy, dx in −1...1.
            seen.insert(out.scalars(as: Double.self)[2 * 6 + 2])
        }
        #expect(seen == Set([11, 12, 13, 21, 22, 23, 31, 32, 33].map(Double.init)))
    }

    @Test func flipProbabilityAndIdentityCases() {
        let x = positional(1, 3, 4)
        var random = TransformRandom(seed: 0, epoch: 0, index: 0)
        #expect(RandomHorizontalFlip(p: 1)(x, random: &random).scalars(as: Double.self) == Image.horizontalFlip(x).scalars(as: Double.self))
        #expect(RandomHorizontalFlip(p: 0)(x, random: &random).scalars(as: Double.self) == x.scalars(as: Double.self))
        #expect(RandomRotation(degrees: 0)(x, random: &random).scalars(as: Double.self) == x.scalars(as: Double.self))
        #expect(RandomAffine(degrees: 0)(x, random: &random).scalars(as: Double.self) == x.scalars(as: Double.self))
        var flips = 0
        for i in 0..<1000 {
            var r = TransformRandom(seed: 1, epoch: 0, index: i)
            if RandomHorizontalFlip()(x, random: &r).scalars(as: Double.self) != x.scalars(as: Double.self) { flips += 1 }
        }
        #expect((430...570).contains(flips), "\(flips) flips in 1000 at p = 0.5")
    }

    @Test func composedRandomTransformsAreDeterministicForSeedEpochAndIndex() {
        let x = Tensor.uniform([1, 12, 12], generator: RandomGenerator(seed: 4))
        let t = Compose([RandomCrop(12, padding: 2), RandomAffine(degrees: 15, translate: (0.1, 0.1), scale: 0.9...1.1),
                         RandomHorizontalFlip(), Normalize(mean: [0.5], std: [0.25])])
        func run(_ seed: UInt64, _ epoch: Int, _ index: Int) -> [Float] {
            var r = TransformRandom(seed: seed, epoch: epoch, index: index)
            return t(x, random: &r).scalars(as: Float.self)
        }
        #expect(run(7, 2, 5) == run(7, 2, 5))
        #expect(run(7, 2, 5) != run(8, 2, 5))
        #expect(run(7, 2, 5) != run(7, 3, 5))
        #expect(run(7, 2, 5) != run(7, 2, 6))
    }
}

/// n images `[1, 4, 4]` (image i filled with i + pixel/16), labels i mod 5.
private func images(_ n: Int) -> TensorDataset {
    let v = (0..<(n * 16)).map { Double($0 / 16) + Double($0 % 16) / 16 }
    return TensorDataset(inputs: Tensor(v, shape: [n, 1, 4, 4]), labels: (0..<n).map { $0 % 5 }, classCount: 5)
}

/// The same examples as ``images(_:)``, computed on demand instead of held in a tensor.
private struct OnTheFly: Dataset {
    let count: Int
    func example(at index: Int) -> Example {
        Example(input: Tensor((0..<16).map { Double(index) + Double($0) / 16 }, shape: [1, 4, 4]), target: .label(index % 5))
    }
}

struct DatasetLoaderTests {
    private let augment = Compose([RandomCrop(4, padding: 1), RandomRotation(degrees: 20), RandomHorizontalFlip()])

    private func epochs(_ loader: DataLoader, _ count: Int) -> [[([Int], [Float], [Int])]] {
        (0..<count).map { _ in loader.map { ($0.indices, $0.inputs.scalars(as: Float.self), $0.labels!) } }
    }

    @Test func aConformingDatasetGivesTheTensorDatasetsBatches() {
        let a = DataLoader(images(37), batchSize: 8, generator: RandomGenerator(seed: 3))
        let b = DataLoader(OnTheFly(count: 37), batchSize: 8, generator: RandomGenerator(seed: 3))
        let x = epochs(a, 2), y = epochs(b, 2)
        #expect(x.count == 2 && x[0].count == 5)
        for (ea, eb) in zip(x, y) {
            for (p, q) in zip(ea, eb) { #expect(p.0 == q.0 && p.1 == q.1 && p.2 == q.2) }
        }
        let e = OnTheFly(count: 3).example(at: 2)
        #expect(e.input.shape == [1, 4, 4])
        let regression = TensorDataset(inputs: Tensor([1, 2, 3, 4, 5, 6], shape: [3, 2]), targets: Tensor([7, 8, 9], shape: [3]))
        guard case .values(let t) = regression.example(at: 1).target else { Issue.record("expected values"); return }
        #expect(t.shape == [1] && t.scalars(as: Double.self) == [8])
        #expect(regression.example(at: 1).input.scalars(as: Double.self) == [3, 4])
    }

    @Test func augmentedBatchesAreTheSameAtOneAndTwoWorkersWithAndWithoutPrefetch() {
        var runs: [[[([Int], [Float], [Int])]]] = []
        for (workers, prefetch) in [(1, false), (2, false), (1, true), (2, true)] {
            let loader = DataLoader(images(45), batchSize: 10, prefetch: prefetch, generator: RandomGenerator(seed: 6),
                                    transform: augment, transformSeed: 11, workers: workers)
            runs.append(epochs(loader, 3))
        }
        for r in runs.dropFirst() {
            for (ea, eb) in zip(runs[0], r) {
                for (p, q) in zip(ea, eb) { #expect(p.0 == q.0 && p.1 == q.1 && p.2 == q.2) }
            }
        }
        // The transform changes the inputs, differently every epoch, and keeps the labels.
        let plain = epochs(DataLoader(images(45), batchSize: 10, generator: RandomGenerator(seed: 6)), 3)
        for (ea, eb) in zip(plain, runs[0]) {
            #expect(ea.map(\.0) == eb.map(\.0) && ea.map(\.2) == eb.map(\.2))
            #expect(ea.map(\.1) != eb.map(\.1))
        }
        let byIndex = runs[0].map { epoch in Dictionary(uniqueKeysWithValues: epoch.flatMap { b in
            b.0.enumerated().map { (k, i) in (i, Array(b.1[(16 * k)..<(16 * k + 16)])) } }) }
        #expect((0..<45).filter { byIndex[0][$0] != byIndex[1][$0] }.count > 30)
        // Another seed, other augmentations.
        let other = epochs(DataLoader(images(45), batchSize: 10, generator: RandomGenerator(seed: 6), transform: augment, transformSeed: 12), 1)
        #expect(other[0].map(\.1) != runs[0][0].map(\.1))
    }

    @Test func resumingFromTheSamplerStateRepeatsTheAugmentedBatches() {
        let g = RandomGenerator(seed: 2)
        let loader = DataLoader(images(30), batchSize: 7, generator: g, transform: augment, transformSeed: 5)
        _ = epochs(loader, 1)
        let saved = (loader.samplerState!, g.stateWords)
        let expected = epochs(loader, 2)
        let g2 = RandomGenerator(seed: 99)
        let resumed = DataLoader(images(30), batchSize: 7, generator: g2, transform: augment, transformSeed: 5)
        resumed.samplerState = saved.0
        g2.stateWords = saved.1
        let again = epochs(resumed, 2)
        for (ea, eb) in zip(expected, again) {
            for (p, q) in zip(ea, eb) { #expect(p.0 == q.0 && p.1 == q.1) }
        }
    }

    @Test func shardsOfAugmentedBatchesMakeUpTheUnshardedBatch() {
        let whole = epochs(DataLoader(images(40), batchSize: 12, generator: RandomGenerator(seed: 4), transform: augment, transformSeed: 9), 2)
        let shards = (0..<3).map { r in
            epochs(DataLoader(images(40), batchSize: 12, generator: RandomGenerator(seed: 4), shard: DataShard(rank: r, count: 3),
                              transform: augment, transformSeed: 9), 2)
        }
        for e in 0..<2 {
            for (k, batch) in whole[e].enumerated() {
                #expect(batch.0 == shards.flatMap { $0[e][k].0 })
                #expect(batch.1 == shards.flatMap { $0[e][k].1 })
            }
        }
        // A rank with no share of a batch gets an empty one, shaped like the others.
        let empty = Array(DataLoader(images(4), batchSize: 4, shuffle: false, shard: DataShard(rank: 2, count: 3), transform: augment))
        #expect(empty.count == 1 && empty[0].inputs.shape == [0, 1, 4, 4] && empty[0].labels == [] && empty[0].globalCount == 4)
        let plain = Array(DataLoader(OnTheFly(count: 4), batchSize: 4, shuffle: false, shard: DataShard(rank: 2, count: 3)))
        #expect(plain[0].inputs.shape == [0, 1, 4, 4] && plain[0].labels == [])
    }

    @Test func resumingInsideAnEpochRepeatsTheRestOfItsAugmentedBatches() {
        let g = RandomGenerator(seed: 8)
        let loader = DataLoader(images(30), batchSize: 7, generator: g, transform: augment, transformSeed: 5)
        _ = epochs(loader, 1)
        let second = epochs(loader, 1)[0]
        // As the CLI saves a checkpoint after batch 2 of an epoch: the epoch's order, placed at batch 2.
        var state = loader.samplerState!
        state.position = 2 * 7
        let words = g.stateWords
        let g2 = RandomGenerator(seed: 1)
        let resumed = DataLoader(images(30), batchSize: 7, generator: g2, transform: augment, transformSeed: 5)
        resumed.samplerState = state
        g2.stateWords = words
        let rest = epochs(resumed, 1)[0]
        #expect(rest.count == 3)
        for (p, q) in zip(second.dropFirst(2), rest) { #expect(p.0 == q.0 && p.1 == q.1) }
    }
}
