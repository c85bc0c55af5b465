import Foundation
import Neural
import Testing

// Weight initialisation: gains and fans equal torch's (layers_extra.json, from torch's own
// calculate_gain and _calculate_fan_in_and_fan_out), every function's bound or std equals the one
// torch's formula gives, and the draws have that mean, std and range (statistically, on large
// tensors); orthogonal gives orthonormal rows or columns; a seed fixes the weights.

private func number(_ v: Any?) -> Int { (v as! NSNumber).intValue }

private func statistics(_ t: Tensor) -> (mean: Double, std: Double, maxAbs: Double) {
    let v = t.scalars(as: Double.self)
    let mean = v.reduce(0, +) / Double(v.count)
    let variance = v.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(v.count)
    return (mean, variance.squareRoot(), v.map(abs).max()!)
}

@Suite("Init")
struct InitTests {
    let formulas = TorchFixture.load("layers_extra").case("init_formulas")

    @Test func gainsAreTorchs() {
        let gains = (formulas.config["gains"] as! [String: NSNumber]).mapValues(\.doubleValue)
        let names: [Nonlinearity: String] = [.linear: "linear", .conv1d: "conv1d", .conv2d: "conv2d", .conv3d: "conv3d",
                                             .convTranspose1d: "conv_transpose1d", .convTranspose2d: "conv_transpose2d",
                                             .convTranspose3d: "conv_transpose3d", .sigmoid: "sigmoid", .tanh: "tanh",
                                             .relu: "relu", .leakyReLU: "leaky_relu", .selu: "selu"]
        #expect(names.count == Nonlinearity.allCases.count)
        for (n, torchName) in names {
            #expect(abs(Init.calculateGain(n) - gains[torchName]!) < 1e-15, "\(n)")
        }
        #expect(abs(Init.calculateGain(.leakyReLU, parameter: 0.2) - gains["leaky_relu_0.2"]!) < 1e-15)
    }

    @Test func fansBoundsAndStdsFollowTorchsFormulasAndTheDrawsHaveThem() {
        let cases = formulas.config["fans"] as! [[String: Any]]
        for (k, c) in cases.enumerated() {
            let shape = (c["shape"] as! [NSNumber]).map(\.intValue)
            let (fanIn, fanOut) = Init.fans(shape)
            #expect(fanIn == number(c["fan_in"]) && fanOut == number(c["fan_out"]), "\(shape)")
            // Big tensors with the same fans: a leading block of copies changes neither fan.
            let g = RandomGenerator(seed: UInt64(100 + k))
            let draws = 40
            let xu = statistics(Tensor.concatenate((0..<draws).map { _ in Init.xavierUniform(shape, dtype: .float64, generator: g).reshaped([-1]) }))
            let ku = statistics(Tensor.concatenate((0..<draws).map { _ in Init.kaimingUniform(shape, dtype: .float64, generator: g).reshaped([-1]) }))
            for (s, bound) in [(xu, (c["xavier_uniform_bound"] as! NSNumber).doubleValue), (ku, (c["kaiming_uniform_bound_fanin"] as! NSNumber).doubleValue)] {
                #expect(s.maxAbs <= bound && s.maxAbs > 0.99 * bound, "\(shape): max |w| \(s.maxAbs) vs bound \(bound)")
            }
            // The stds the functions use, recovered from large draws with the same fans (repeat
            // the draw: the fans depend on the shape only).
            let xn = (0..<draws).map { _ in Init.xavierNormal(shape, dtype: .float64, generator: g) }
            let kn = (0..<draws).map { _ in Init.kaimingNormal(shape, mode: .fanOut, nonlinearity: .relu, dtype: .float64, generator: g) }
            let xs = statistics(Tensor.concatenate(xn.map { $0.reshaped([-1]) })), ks = statistics(Tensor.concatenate(kn.map { $0.reshaped([-1]) }))
            let n = Double(draws * shape.reduce(1, *))
            for (s, expected) in [(xs, (c["xavier_normal_std"] as! NSNumber).doubleValue), (ks, (c["kaiming_normal_std_fanout_relu"] as! NSNumber).doubleValue)] {
                #expect(abs(s.std / expected - 1) < 5 / n.squareRoot(), "\(shape): std \(s.std) vs \(expected)")
                #expect(abs(s.mean) < 5 * expected / n.squareRoot(), "\(shape): mean \(s.mean)")
            }
        }
    }

    @Test func uniformDrawsFillTheirRangeWithTheRightMeanAndStd() {
        let g = RandomGenerator(seed: 3)
        let shape = [512, 256], n = 512.0 * 256
        let bound = (6.0 / (512 + 256)).squareRoot() * 2   // gain 2
        let s = statistics(Init.xavierUniform(shape, gain: 2, dtype: .float64, generator: g))
        #expect(s.maxAbs <= bound && s.maxAbs > 0.999 * bound)
        #expect(abs(s.std / (bound / 3.0.squareRoot()) - 1) < 0.01)
        #expect(abs(s.mean) < 5 * bound / (3 * n).squareRoot())
        let b = Init.calculateGain(.leakyReLU, parameter: 0.1) * (3.0 / 256).squareRoot()
        let k = statistics(Init.kaimingUniform(shape, a: 0.1, dtype: .float64, generator: g))
        #expect(k.maxAbs <= b && k.maxAbs > 0.999 * b)
        let kOut = statistics(Init.kaimingUniform(shape, mode: .fanOut, nonlinearity: .tanh, dtype: .float64, generator: g))
        let bOut = 5.0 / 3 * (3.0 / 512).squareRoot()
        #expect(kOut.maxAbs <= bOut && kOut.maxAbs > 0.999 * bOut)
        let u = statistics(Init.uniform(shape, low: -0.5, high: 1.5, dtype: .float64, generator: g))
        #expect(abs(u.mean - 0.5) < 0.01 && abs(u.std - 2 / 12.0.squareRoot()) < 0.01)
        let nrm = statistics(Init.normal(shape, mean: 1, std: 0.02, dtype: .float64, generator: g))
        #expect(abs(nrm.mean - 1) < 0.001 && abs(nrm.std / 0.02 - 1) < 0.01)
        #expect(Init.zeros([3, 4]).scalars(as: Double.self).allSatisfy { $0 == 0 })
        #expect(Init.ones([3, 4]).scalars(as: Double.self).allSatisfy { $0 == 1 })
        #expect(Init.constant([2], 0.25).scalars(as: Double.self) == [0.25, 0.25])
    }

    @Test("orthogonal: orthonormal rows or columns, scaled by the gain", arguments: [[6, 4], [4, 6], [5, 5], [3, 2, 2, 2]])
    func orthogonalRowsOrColumns(shape: [Int]) {
        let w = Init.orthogonal(shape, gain: 1.5, dtype: .float64, generator: RandomGenerator(seed: 5)).reshaped([shape[0], -1])
        let small = Swift.min(w.shape[0], w.shape[1])
        let gram = w.shape[0] <= w.shape[1] ? w.matmul(w.transposed()) : w.transposed().matmul(w)
        let expected = Tensor((0..<small * small).map { $0 % (small + 1) == 0 ? 2.25 : 0 }, shape: [small, small], dtype: .float64)
        #expect(maxAbsDifference(gram, expected) < 1e-12)
    }

    @Test func theSameSeedGivesTheSameWeights() {
        let a = Init.kaimingNormal([8, 4, 3, 3], generator: RandomGenerator(seed: 9))
        let b = Init.kaimingNormal([8, 4, 3, 3], generator: RandomGenerator(seed: 9))
        expectBitIdentical(a, b)
        let o1 = Init.orthogonal([8, 5], generator: RandomGenerator(seed: 9)), o2 = Init.orthogonal([8, 5], generator: RandomGenerator(seed: 9))
        expectBitIdentical(o1, o2)
    }
}
