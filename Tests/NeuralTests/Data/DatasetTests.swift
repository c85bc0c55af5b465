import Foundation
import Neural
import Testing

struct DatasetTests {
    @Test func seededSplitsPartitionTheExamples() {
        let n = 101
        let data = TensorDataset(inputs: Tensor((0..<n).map(Double.init), shape: [n, 1]), labels: (0..<n).map { $0 % 2 })
        let parts = data.split(fractions: [0.7, 0.2, 0.1], generator: RandomGenerator(seed: 3))
        #expect(parts.map(\.count) == [71, 20, 10])
        let ids = parts.map { $0.inputs.scalars(as: Double.self).map { Int($0) } }
        #expect(ids.flatMap { $0 }.sorted() == Array(0..<n))
        for (p, i) in zip(parts, ids) { #expect(p.labels! == i.map { $0 % 2 } && p.classCount == 2) }
        let again = data.split(fractions: [0.7, 0.2, 0.1], generator: RandomGenerator(seed: 3))
        #expect(again.map { $0.inputs.scalars(as: Double.self) } == parts.map { $0.inputs.scalars(as: Double.self) })
        let other = data.split(fractions: [0.7, 0.2, 0.1], generator: RandomGenerator(seed: 4))
        #expect(other[0].inputs.scalars(as: Double.self) != parts[0].inputs.scalars(as: Double.self))
        #expect(data.subset([5, 5, 0]).labels == [1, 1, 0])
    }

    @Test func standardizerUsesTrainingStatistics() {
        let g = RandomGenerator(seed: 8)
        let x = Tensor.randn([400, 3], mean: 5, std: 3, dtype: .float64, generator: g)
        let y = Tensor.uniform([400, 1], low: 1e5, high: 5e5, dtype: .float64, generator: g)
        let splits = DatasetSplits(TensorDataset(inputs: x, targets: y), fractions: [0.75, 0.25], generator: g)
        #expect(splits.validation == nil && splits.train.count == 300 && splits.test.count == 100)
        let z = splits.train.inputs.scalars(as: Double.self)
        for j in 0..<3 {
            let col = stride(from: j, to: z.count, by: 3).map { z[$0] }
            let m = col.reduce(0, +) / 300, v = col.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 300
            #expect(abs(m) < 1e-12 && abs(v - 1) < 1e-9)
        }
        let t = splits.train.targetValues!.scalars(as: Double.self)
        #expect(abs(t.reduce(0, +) / 300) < 1e-9)
        // inverse(transform(v)) = v: predictions convert back to original units.
        let s = splits.targetScaler!
        let back = s.inverse(s.transform(y)).scalars(as: Double.self)
        #expect(zip(back, y.scalars(as: Double.self)).allSatisfy { abs($0 - $1) < 1e-6 })
        // A constant column and excluded columns keep σ = 1.
        let c = Standardizer.fit(Tensor([[1, 7], [2, 7], [3, 7]]), columns: [false, true])
        #expect(c.mean == [0, 7] && c.std == [1, 1])
    }

    @Test func housePricesOfSection7_2() {
        let a = Synthetic.housePricesSection7_2(count: 500, noise: 0, dtype: .float64, generator: RandomGenerator(seed: 1))
        #expect(a.x.shape == [500, 4] && a.price.shape == [500, 1] && a.hidden.shape == [500, 3])
        let x = a.x.scalars(as: Double.self), p = a.price.scalars(as: Double.self), h = a.hidden.scalars(as: Double.self)
        let t = Synthetic.housePriceTheta
        for i in 0..<500 {
            let (size, bedrooms, zip, wealth) = (x[4 * i], x[4 * i + 1], x[4 * i + 2], x[4 * i + 3])
            #expect(size >= 0.5 && size < 3.5 && (1...6).contains(bedrooms) && bedrooms == bedrooms.rounded())
            #expect((zip * 9).rounded() == zip * 9 && (0...1).contains(zip) && (0..<1).contains(wealth))
            let a1 = max(0, t[0] * size + t[1] * bedrooms + t[2]), a2 = max(0, t[3] * zip + t[4])
            let a3 = max(0, t[5] * zip + t[6] * wealth + t[7])
            #expect(abs(h[3 * i] - a1) < 1e-12 && abs(h[3 * i + 1] - a2) < 1e-12 && abs(h[3 * i + 2] - a3) < 1e-12)
            #expect(abs(p[i] - (t[8] * a1 + t[9] * a2 + t[10] * a3 + t[11])) < 1e-12)   // eq. 7.13
        }
        // Every hidden unit is active for some houses and not constant.
        for j in 0..<3 { #expect(Set((0..<500).map { h[3 * $0 + j] }).count > 5) }
        let b = Synthetic.housePricesSection7_2(count: 500, noise: 0, dtype: .float64, generator: RandomGenerator(seed: 1))
        #expect(b.price.scalars(as: Double.self) == p)
    }
}
