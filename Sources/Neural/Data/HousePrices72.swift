import Foundation

extension Synthetic {
    /// The true parameters θ₁…θ₁₂ of ``housePricesSection7_2(count:noise:dtype:generator:)``, in the
    /// notes' order (eq. 7.13 and the three hidden units before it).
    package static let housePriceTheta: [Double] = [
        0.5, 0.25, -0.25,   // a₁ family size = ReLU(θ₁·size + θ₂·bedrooms + θ₃)
        -1.0, 1.0,          // a₂ walkability = ReLU(θ₄·zip + θ₅)
        -0.5, 1.5, -0.25,   // a₃ school quality = ReLU(θ₆·zip + θ₇·wealth + θ₈)
        1.0, 0.5, 0.75, 0.25, // price = θ₉a₁ + θ₁₀a₂ + θ₁₁a₃ + θ₁₂
    ]

    /// The §7.2 house-price example (Figure 7.2, eq. 7.13): four inputs — size, number of bedrooms,
    /// zip code and neighbourhood wealth — determine the price only through three hidden factors:
    ///
    ///     a₁ = ReLU(θ₁x₁ + θ₂x₂ + θ₃)      family size, from size and bedrooms
    ///     a₂ = ReLU(θ₄x₃ + θ₅)             walkability, from the zip code
    ///     a₃ = ReLU(θ₆x₃ + θ₇x₄ + θ₈)      school quality, from zip code and wealth
    ///     price = θ₉a₁ + θ₁₀a₂ + θ₁₁a₃ + θ₁₂ + ε
    ///
    /// with θ = `housePriceTheta` and ε Gaussian with standard deviation `noise`. So the
    /// hand-wired network of eq. 7.13 fits the data exactly (up to noise), and a fully connected
    /// network must discover the structure.
    ///
    /// Inputs: size uniform in [0.5, 3.5) (thousands of square feet); bedrooms an integer 1…6 near
    /// 1.5·size; zip code one of ten codes numbered by distance from the centre and scaled to
    /// {0, 1/9, …, 1} (walkability falls with distance); wealth uniform in [0, 1). Prices are in
    /// hundreds of thousands of dollars.
    ///
    /// - Returns: `x` `[count, 4]` (size, bedrooms, zip, wealth), `price` `[count, 1]` and the hidden
    ///   factors `hidden` `[count, 3]` (a₁, a₂, a₃ before noise).
    public static func housePricesSection7_2(count: Int, noise: Double = 0.05, dtype: DType = .float32,
                                             generator: RandomGenerator) -> (x: Tensor, price: Tensor, hidden: Tensor) {
        precondition(count > 0, "Neural: housePricesSection7_2 needs a positive count")
        let t = housePriceTheta
        let eps = Tensor.randn([count, 2], dtype: .float64, generator: generator).scalars(as: Double.self)
        var x: [Double] = [], price: [Double] = [], hidden: [Double] = []
        x.reserveCapacity(4 * count); price.reserveCapacity(count); hidden.reserveCapacity(3 * count)
        for i in 0..<count {
            let size = 0.5 + 3 * generator.nextUniform()
            let bedrooms = Swift.min(6, Swift.max(1, (1.5 * size + 0.5 * eps[2 * i]).rounded()))
            let zip = Double(generator.nextInt(below: 10)) / 9
            let wealth = generator.nextUniform()
            let a1 = Swift.max(0, t[0] * size + t[1] * bedrooms + t[2])
            let a2 = Swift.max(0, t[3] * zip + t[4])
            let a3 = Swift.max(0, t[5] * zip + t[6] * wealth + t[7])
            x += [size, bedrooms, zip, wealth]
            hidden += [a1, a2, a3]
            price.append(t[8] * a1 + t[9] * a2 + t[10] * a3 + t[11] + noise * eps[2 * i + 1])
        }
        return (Tensor(x, shape: [count, 4], dtype: dtype), Tensor(price, shape: [count, 1], dtype: dtype),
                Tensor(hidden, shape: [count, 3], dtype: dtype))
    }
}
