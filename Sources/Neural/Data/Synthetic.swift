import Foundation

/// Small seeded synthetic datasets for examples and tests.
public enum Synthetic {
    /// Two interleaved spirals in the plane, a classic problem no linear classifier solves.
    ///
    /// Example i of class c ∈ {0, 1} lies at radius ρ = 0.05 + 0.95·i/(n−1) and angle
    /// 2π·`turns`·ρ + cπ, plus Gaussian noise with standard deviation `noise` on each coordinate.
    ///
    /// - Returns: `x` `[2n, 2]` (class 0 first, then class 1) and `labels` (2n values in {0, 1}).
    public static func twoSpirals(pointsPerClass n: Int, turns: Double = 2, noise: Double = 0.02,
                                  dtype: DType = .float32, generator: RandomGenerator) -> (x: Tensor, labels: [Int]) {
        precondition(n >= 2, "Neural: twoSpirals needs at least 2 points per class")
        let eps = Tensor.randn([2 * n, 2], std: noise, dtype: .float64, generator: generator).scalars(as: Double.self)
        var values: [Double] = [], labels: [Int] = []
        for c in 0..<2 {
            for i in 0..<n {
                let rho = 0.05 + 0.95 * Double(i) / Double(n - 1)
                let angle = 2 * Double.pi * turns * rho + Double(c) * Double.pi
                let row = c * n + i
                values += [rho * Foundation.cos(angle) + eps[2 * row], rho * Foundation.sin(angle) + eps[2 * row + 1]]
                labels.append(c)
            }
        }
        return (Tensor(values, shape: [2 * n, 2], dtype: dtype), labels)
    }

    /// The notes' house prices with a kink (Figure 7.1, eq. 7.11–7.12): sizes uniform in
    /// [`sizeRange`], price = max(0, w·size + b) + Gaussian noise with standard deviation `noise`.
    ///
    /// - Returns: `size` `[count, 1]` and `price` `[count, 1]`.
    public static func housePrices(count: Int, slope w: Double = 1, intercept b: Double = -0.5,
                                   sizeRange: ClosedRange<Double> = 0...2, noise: Double = 0.02,
                                   dtype: DType = .float32, generator: RandomGenerator) -> (size: Tensor, price: Tensor) {
        let size = Tensor.uniform([count, 1], low: sizeRange.lowerBound, high: sizeRange.upperBound,
                                  dtype: .float64, generator: generator)
        let eps = Tensor.randn([count, 1], std: noise, dtype: .float64, generator: generator)
        let price = withNoGrad { (size * w + b).relu() + eps }
        return (size.to(dtype), price.to(dtype))
    }
}
