/// The activation a layer's weights feed, for ``Init/calculateGain(_:parameter:)`` (torch's
/// `nonlinearity` strings).
public enum Nonlinearity: String, Sendable, CaseIterable {
    /// `'linear'`: gain 1.
    case linear
    /// `'conv1d'`, `'conv2d'`, `'conv3d'`: gain 1.
    case conv1d, conv2d, conv3d
    /// `'conv_transpose1d'` … `'conv_transpose3d'`: gain 1.
    case convTranspose1d, convTranspose2d, convTranspose3d
    /// `'sigmoid'`: gain 1.
    case sigmoid
    /// `'tanh'`: gain 5/3.
    case tanh
    /// `'relu'`: gain √2.
    case relu
    /// `'leaky_relu'`: gain √(2 / (1 + slope²)), slope the parameter (default 0.01).
    case leakyReLU
    /// `'selu'`: gain 3/4.
    case selu
}

/// Which fan ``Init/kaimingUniform(_:a:mode:nonlinearity:dtype:generator:)`` scales by.
public enum FanMode: Sendable {
    /// Preserves the variance of the activations in the forward pass (torch's `'fan_in'`).
    case fanIn
    /// Preserves the variance of the gradients in the backward pass (torch's `'fan_out'`).
    case fanOut
}

/// Weight initialisation, as `torch.nn.init`: each function returns a new tensor of the given shape
/// drawn from a seeded ``RandomGenerator`` (the same seed gives the same weights on every machine).
/// Assign the result to a parameter's value:
///
/// ```swift
/// let layer = Linear(256, 128)
/// let g = RandomGenerator(seed: 1)
/// layer.weight.value = Init.kaimingNormal(layer.weight.shape, mode: .fanOut, nonlinearity: .relu, generator: g)
/// layer.bias!.value = Init.zeros(layer.bias!.shape)
/// ```
///
/// Fans follow torch: for a weight `[out, in, k₁, …]`, fan_in = in·k₁·… and fan_out = out·k₁·….
public enum Init {
    /// The recommended gain for a nonlinearity (torch's `calculate_gain`); `parameter` is the
    /// leaky ReLU's negative slope (default 0.01), ignored by the others.
    public static func calculateGain(_ nonlinearity: Nonlinearity, parameter: Double? = nil) -> Double {
        switch nonlinearity {
        case .linear, .conv1d, .conv2d, .conv3d, .convTranspose1d, .convTranspose2d, .convTranspose3d, .sigmoid: return 1
        case .tanh: return 5.0 / 3
        case .relu: return 2.0.squareRoot()
        case .leakyReLU:
            let slope = parameter ?? 0.01
            return (2 / (1 + slope * slope)).squareRoot()
        case .selu: return 3.0 / 4
        }
    }

    /// (fan_in, fan_out) of a weight of `shape` (at least 2 dimensions), as torch's
    /// `_calculate_fan_in_and_fan_out`: `shape[1]` and `shape[0]` times the receptive field Π `shape[2...]`.
    public static func fans(_ shape: [Int]) -> (fanIn: Int, fanOut: Int) {
        precondition(shape.count >= 2, "Neural: fan in and fan out need a weight of at least 2 dimensions, got shape \(shape)")
        let receptive = Shape.count(Array(shape.dropFirst(2)))
        return (shape[1] * receptive, shape[0] * receptive)
    }

    /// Values uniform in [low, high) (`nn.init.uniform_`).
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
                               generator: RandomGenerator = .default) -> Tensor {
        precondition(low <= high, "Neural: uniform needs low ≤ high, got [\(low), \(high))")
        return Tensor.uniform(shape, low: low, high: high, dtype: dtype, generator: generator)
    }

    /// Values from N(mean, std²) (`nn.init.normal_`).
    public static func normal(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
                              generator: RandomGenerator = .default) -> Tensor {
        precondition(std >= 0, "Neural: normal needs std ≥ 0, got \(std)")
        return Tensor.randn(shape, mean: mean, std: std, dtype: dtype, generator: generator)
    }

    /// Every value `value` (`nn.init.constant_`).
    public static func constant(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
        Tensor.full(shape, value, dtype: dtype)
    }

    /// Zeros (`nn.init.zeros_`).
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor { Tensor.zeros(shape, dtype: dtype) }

    /// Ones (`nn.init.ones_`).
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { Tensor.ones(shape, dtype: dtype) }

    /// Glorot uniform (`nn.init.xavier_uniform_`): U(−a, a) with a = gain·√(6 / (fan_in + fan_out)).
    public static func xavierUniform(_ shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                     generator: RandomGenerator = .default) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        let a = gain * (6 / Double(fanIn + fanOut)).squareRoot()
        return Tensor.uniform(shape, low: -a, high: a, dtype: dtype, generator: generator)
    }

    /// Glorot normal (`nn.init.xavier_normal_`): N(0, std²) with std = gain·√(2 / (fan_in + fan_out)).
    public static func xavierNormal(_ shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                    generator: RandomGenerator = .default) -> Tensor {
        let (fanIn, fanOut) = fans(shape)
        return Tensor.randn(shape, std: gain * (2 / Double(fanIn + fanOut)).squareRoot(), dtype: dtype, generator: generator)
    }

    /// He uniform (`nn.init.kaiming_uniform_`): U(−b, b) with b = gain·√(3 / fan), gain =
    /// ``calculateGain(_:parameter:)`` of `nonlinearity` with parameter `a`, fan by `mode`.
    /// torch's defaults: a = 0, fan_in, leaky ReLU (so gain √2).
    public static func kaimingUniform(_ shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
                                      nonlinearity: Nonlinearity = .leakyReLU, dtype: DType = .float32,
                                      generator: RandomGenerator = .default) -> Tensor {
        let b = calculateGain(nonlinearity, parameter: a) * (3 / Double(fan(shape, mode))).squareRoot()
        return Tensor.uniform(shape, low: -b, high: b, dtype: dtype, generator: generator)
    }

    /// He normal (`nn.init.kaiming_normal_`): N(0, std²) with std = gain / √fan (gain and fan as in
    /// ``kaimingUniform(_:a:mode:nonlinearity:dtype:generator:)``).
    public static func kaimingNormal(_ shape: [Int], a: Double = 0, mode: FanMode = .fanIn,
                                     nonlinearity: Nonlinearity = .leakyReLU, dtype: DType = .float32,
                                     generator: RandomGenerator = .default) -> Tensor {
        let std = calculateGain(nonlinearity, parameter: a) / Double(fan(shape, mode)).squareRoot()
        return Tensor.randn(shape, std: std, dtype: dtype, generator: generator)
    }

    /// A (semi-)orthogonal matrix scaled by `gain` (`nn.init.orthogonal_`): the weight viewed as
    /// `[rows, cols]` (rows = `shape[0]`) has orthonormal rows when rows ≤ cols and orthonormal
    /// columns otherwise. Made as torch does: Q of the QR factorisation of a standard normal matrix,
    /// with R's diagonal made positive (so Q is Haar-distributed); QR by twice-iterated Gram–Schmidt in Float64.
    public static func orthogonal(_ shape: [Int], gain: Double = 1, dtype: DType = .float32,
                                  generator: RandomGenerator = .default) -> Tensor {
        precondition(shape.count >= 2, "Neural: orthogonal needs at least 2 dimensions, got shape \(shape)")
        let rows = shape[0], cols = Shape.count(shape) / Swift.max(rows, 1)
        if rows == 0 || cols == 0 { return Tensor.zeros(shape, dtype: dtype) }
        // Columns of an [m, n] matrix, m ≥ n: the n orthonormalised columns are the result's
        // columns (rows ≥ cols) or rows (rows < cols).
        let (m, n) = rows >= cols ? (rows, cols) : (cols, rows)
        let drawn = Tensor.randn([rows, cols], dtype: .float64, generator: generator).scalars(as: Double.self)
        // q[j] is column j of the [m, n] matrix (the drawn one, transposed when rows < cols).
        var q = (0..<n).map { j in (0..<m).map { i in rows >= cols ? drawn[i * cols + j] : drawn[j * cols + i] } }
        for j in 0..<n {
            for _ in 0..<2 {
                for k in 0..<j {
                    var dot = 0.0
                    for i in 0..<m { dot += q[k][i] * q[j][i] }
                    for i in 0..<m { q[j][i] -= dot * q[k][i] }
                }
            }
            var norm = 0.0
            for i in 0..<m { norm += q[j][i] * q[j][i] }
            norm = norm.squareRoot()
            for i in 0..<m { q[j][i] /= norm }
        }
        var values = [Double](repeating: 0, count: rows * cols)
        for j in 0..<n {
            for i in 0..<m {
                if rows >= cols { values[i * cols + j] = gain * q[j][i] } else { values[j * cols + i] = gain * q[j][i] }
            }
        }
        return Tensor(values, shape: shape, dtype: dtype)
    }

    private static func fan(_ shape: [Int], _ mode: FanMode) -> Int {
        let (fanIn, fanOut) = fans(shape)
        let f = mode == .fanIn ? fanIn : fanOut
        precondition(f > 0, "Neural: kaiming initialisation of shape \(shape) has a zero fan")
        return f
    }
}
