/// Creating tensors: from Swift values, constants, ranges and random distributions.
extension Tensor {
    /// A scalar (shape `[]`).
    public init(_ value: Double, dtype: DType = .float32) {
        self.init(uninitialized: [], dtype: dtype)
        Elementwise.fill(self, value)
    }

    /// A tensor holding `values` in row-major order; `shape` defaults to `[values.count]`.
    public init(_ values: [Double], shape: [Int]? = nil, dtype: DType = .float32) {
        let shape = shape ?? [values.count]
        precondition(Shape.count(shape) == values.count,
                     "Neural: \(values.count) values do not fill shape \(shape) (\(Shape.count(shape)) elements)")
        self.init(uninitialized: shape, dtype: dtype)
        let t = self
        func store<T: KernelScalar>(_: T.Type) {
            let p = t.pointer(T.self)
            for i in values.indices { p[i] = T(values[i]) }
        }
        func storeIntegers<T: TensorInteger>(_: T.Type) {
            let p = t.pointer(T.self)
            for i in values.indices { p[i] = ElementConversion.integer(values[i], position: i) }
        }
        switch dtype {
        case .float32: store(Float.self)
        case .float64: store(Double.self)
        case .int32: storeIntegers(Int32.self)
        case .int64: storeIntegers(Int64.self)
        }
    }

    /// An integer tensor (``DType/int64`` unless `dtype` says otherwise) holding `values` in
    /// row-major order; `shape` defaults to `[values.count]`. Token ids, labels and indices:
    ///
    /// ```swift
    /// let ids = Tensor(integers: [5, 1, 4, 1], shape: [2, 2])   // [2, 2], int64
    /// ```
    ///
    /// - Precondition: every value fits `dtype` (any dtype works; floats receive the nearest value).
    public init<I: BinaryInteger>(integers values: [I], shape: [Int]? = nil, dtype: DType = .int64) {
        let shape = shape ?? [values.count]
        precondition(Shape.count(shape) == values.count,
                     "Neural: \(values.count) values do not fill shape \(shape) (\(Shape.count(shape)) elements)")
        self.init(uninitialized: shape, dtype: dtype)
        let t = self
        func store<T: TensorElement>(_: T.Type, _ element: (I, Int) -> T) {
            let p = t.pointer(T.self)
            for i in values.indices { p[i] = element(values[i], i) }
        }
        func exact<T: TensorInteger>(_ v: I, _ i: Int) -> T {
            guard let x = T(exactly: v) else {
                fatalError("Neural: value \(v) at position \(i) does not fit \(T.dtype) (\(T.min)...\(T.max))")
            }
            return x
        }
        switch dtype {
        case .float32: store(Float.self) { v, _ in Float(v) }
        case .float64: store(Double.self) { v, _ in Double(v) }
        case .int32: store(Int32.self, exact)
        case .int64: store(Int64.self, exact)
        }
    }

    /// A Float32 tensor holding `values` in row-major order; `shape` defaults to `[values.count]`.
    public init(_ values: [Float], shape: [Int]? = nil) {
        let shape = shape ?? [values.count]
        precondition(Shape.count(shape) == values.count,
                     "Neural: \(values.count) values do not fill shape \(shape) (\(Shape.count(shape)) elements)")
        self.init(uninitialized: shape, dtype: .float32)
        pointer(Float.self).update(from: values, count: values.count)
    }

    /// A matrix `[rows.count, rows[0].count]` from its rows.
    public init(_ rows: [[Double]], dtype: DType = .float32) {
        let cols = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == cols }, "Neural: rows of different lengths \(rows.map(\.count))")
        self.init(rows.flatMap { $0 }, shape: [rows.count, cols], dtype: dtype)
    }

    /// A 3-D tensor `[a.count, a[0].count, a[0][0].count]` from nested arrays.
    public init(_ blocks: [[[Double]]], dtype: DType = .float32) {
        let rows = blocks.first?.count ?? 0, cols = blocks.first?.first?.count ?? 0
        precondition(blocks.allSatisfy { $0.count == rows && $0.allSatisfy { $0.count == cols } },
                     "Neural: nested arrays are ragged")
        self.init(blocks.flatMap { $0.flatMap { $0 } }, shape: [blocks.count, rows, cols], dtype: dtype)
    }

    /// A tensor of `shape` filled with `value`.
    public static func full(_ shape: [Int], _ value: Double, dtype: DType = .float32) -> Tensor {
        let t = Tensor(uninitialized: shape, dtype: dtype)
        Elementwise.fill(t, value)
        return t
    }

    /// A tensor of `shape` filled with zeros.
    public static func zeros(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, 0, dtype: dtype) }

    /// A tensor of `shape` filled with ones.
    public static func ones(_ shape: [Int], dtype: DType = .float32) -> Tensor { full(shape, 1, dtype: dtype) }

    /// Zeros with the shape and dtype of `other`.
    public static func zeros(like other: Tensor) -> Tensor { full(other.shape, 0, dtype: other.dtype) }

    /// Ones with the shape and dtype of `other`.
    public static func ones(like other: Tensor) -> Tensor { full(other.shape, 1, dtype: other.dtype) }

    /// `[start, start + step, …]` up to but excluding `end`, shape `[n]` (`dtype: .int64` for
    /// positions, as `torch.arange(n)`).
    public static func arange(_ start: Double, _ end: Double, step: Double = 1, dtype: DType = .float32) -> Tensor {
        precondition(step != 0, "Neural: arange with step 0")
        let n = Swift.max(0, Int(((end - start) / step).rounded(.up)))
        return Tensor((0..<n).map { start + Double($0) * step }, dtype: dtype)
    }

    /// `[0, 1, …, end − 1]` (with `step`), shape `[n]`.
    public static func arange(_ end: Double, step: Double = 1, dtype: DType = .float32) -> Tensor {
        arange(0, end, step: step, dtype: dtype)
    }

    /// `count` evenly spaced values from `start` through `end` inclusive, shape `[count]`.
    public static func linspace(_ start: Double, _ end: Double, count: Int, dtype: DType = .float32) -> Tensor {
        precondition(count >= 0, "Neural: linspace with negative count \(count)")
        if count == 1 { return Tensor([start], dtype: dtype) }
        let step = (end - start) / Double(Swift.max(count - 1, 1))
        return Tensor((0..<count).map { $0 == count - 1 ? end : start + Double($0) * step }, dtype: dtype)
    }

    /// Values drawn uniformly from [low, high).
    public static func uniform(_ shape: [Int], low: Double = 0, high: Double = 1, dtype: DType = .float32,
                               generator: RandomGenerator = .default) -> Tensor {
        random(shape, dtype: dtype) { generator.fillUniform($0, count: $1, low: low, high: high) }
    }

    /// Values drawn from the normal distribution N(mean, std²).
    public static func randn(_ shape: [Int], mean: Double = 0, std: Double = 1, dtype: DType = .float32,
                             generator: RandomGenerator = .default) -> Tensor {
        random(shape, dtype: dtype) { generator.fillNormal($0, count: $1, mean: mean, std: std) }
    }

    private static func random(_ shape: [Int], dtype: DType,
                               _ fill: (UnsafeMutablePointer<Double>, Int) -> Void) -> Tensor {
        let n = Shape.count(shape)
        switch dtype {
        case .int32, .int64:
            dtype.floatOnly("uniform/randn")
        case .float64:
            let t = Tensor(uninitialized: shape, dtype: .float64)
            fill(t.pointer(Double.self), n)
            return t
        case .float32:
            // Drawn in Double through a small buffer, chunk by chunk (an even chunk size keeps the
            // normal pairs together), so peak memory stays at the Float32 result.
            let t = Tensor(uninitialized: shape, dtype: .float32)
            let chunk = 4096
            let tmp = UnsafeMutablePointer<Double>.allocate(capacity: chunk)
            defer { tmp.deallocate() }
            let p = t.pointer(Float.self)
            var start = 0
            while start < n {
                let m = Swift.min(chunk, n - start)
                fill(tmp, m)
                for i in 0..<m { p[start + i] = Float(tmp[i]) }
                start += m
            }
            return t
        }
    }
}
