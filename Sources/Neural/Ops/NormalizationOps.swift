import CNeuralKernels
/// Fused normalisation operations: LN-S (eq. 7.40) and its batch and group relatives, each a single
/// forward pass that keeps μ̂ and 1/σ̂ per slice and a closed-form backward in which μ̂ and σ̂ are
/// functions of z (footnote 4):
///
///     x̂ = (z − μ̂)/σ̂,   σ̂ = √(mean((z − μ̂)²) + ε)   (population variance: divide by m)
///     B(v) = (1/σ̂)·(v − mean(v) − x̂ ⊙ mean(v ⊙ x̂))
///
/// where the means run over the normalised elements of each slice.
extension Tensor {
    /// Layer normalisation over the last `normalizedAxes` dimensions, like
    /// `torch.nn.functional.layer_norm`: each slice x of m = Π(last dims) elements becomes
    /// (x − μ̂)/√(σ̂² + ε) ⊙ weight + bias (eq. 7.40–7.41 with per-feature γ = weight, β = bias).
    ///
    /// Shapes: `self` `[…, d₁, …, d_k]`; `weight` and `bias` (each optional) `[d₁, …, d_k]`; the result
    /// has `self`'s shape. One fused pass forward and one backward (closed form) per slice.
    ///
    /// - Parameters:
    ///   - normalizedAxes: k, how many trailing dimensions form one normalised slice (≥ 1).
    ///   - weight: per-feature scale γ, or `nil` for 1.
    ///   - bias: per-feature shift β, or `nil` for 0.
    ///   - eps: ε added to the variance (PyTorch's default 1e-5).
    public func layerNorm(normalizedAxes: Int = 1, weight: Tensor? = nil, bias: Tensor? = nil, eps: Double = 1e-5) -> Tensor {
        precondition(normalizedAxes >= 1 && normalizedAxes <= rank,
                     "Neural: layerNorm over the last \(normalizedAxes) dimensions of a tensor of shape \(shape)")
        let featureShape = Array(shape.suffix(normalizedAxes))
        for (name, p) in [("weight", weight), ("bias", bias)] {
            if let p {
                precondition(p.shape == featureShape,
                             "Neural: layerNorm \(name) has shape \(p.shape); expected \(featureShape) (the last \(normalizedAxes) dimensions of \(shape))")
                precondition(p.dtype == dtype, "Neural: layerNorm \(name) is \(p.dtype) but the input is \(dtype)")
            }
        }
        let m = Shape.count(featureShape)
        let rows = m == 0 ? 0 : count / m
        let x = detached().contiguous()
        let w = weight?.detached().contiguous(), b = bias?.detached().contiguous()
        let y = Tensor(uninitialized: shape, dtype: dtype)
        let mean = Tensor(uninitialized: [rows], dtype: dtype), rstd = Tensor(uninitialized: [rows], dtype: dtype)
        func forward<T: KernelScalar>(_: T.Type) {
            NormKernels.rowForward(x.pointer(T.self), y.pointer(T.self), mean.pointer(T.self), rstd.pointer(T.self),
                                   rows: rows, m: m, eps: T(eps), weight: w?.pointer(T.self), bias: b?.pointer(T.self))
        }
        withExtendedLifetime((x, w, b)) {
            switch dtype {
            case .float32: forward(Float.self)
            case .float64: forward(Double.self)
            case .int32, .int64: dtype.floatOnly("layerNorm")
            }
        }
        var inputs = [self]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let hasWeight = weight != nil, hasBias = bias != nil
        return Tensor.record(y, op: "layerNorm", inputs: inputs) { v, needs in
            let g = v.detached().contiguous()
            let needX = needs[0], needW = hasWeight && needs[1], needB = hasBias && needs[hasWeight ? 2 : 1]
            let dx = needX ? Tensor(uninitialized: x.shape, dtype: x.dtype) : nil
            let dw = needW ? Tensor(uninitialized: featureShape, dtype: x.dtype) : nil
            let db = needB ? Tensor(uninitialized: featureShape, dtype: x.dtype) : nil
            func backward<T: KernelScalar>(_: T.Type) {
                NormKernels.rowBackward(g.pointer(T.self), x.pointer(T.self), mean.pointer(T.self), rstd.pointer(T.self),
                                        weight: w?.pointer(T.self), rows: rows, m: m, dx: dx?.pointer(T.self),
                                        dw: dw?.pointer(T.self), db: db?.pointer(T.self))
            }
            withExtendedLifetime((g, x, w, mean, rstd)) {
                switch x.dtype {
                case .float32: backward(Float.self)
                case .float64: backward(Double.self)
                case .int32, .int64: x.dtype.floatOnly("layerNorm")
                }
            }
            var out: [Tensor?] = [dx]
            if hasWeight { out.append(dw) }
            if hasBias { out.append(db) }
            return out
        }
    }

    /// LN-S over `axes` (eq. 7.40): (z − μ̂)/√(σ̂² + ε) with μ̂ and σ̂² the mean and population variance
    /// (divide by the number of elements) over `axes`, computed separately for every index of the
    /// other axes. Same shape in and out. Over the features it is layer normalisation without
    /// affine; over `[0, 2, 3]` of `[N, C, H, W]` it is batch normalisation's standardisation;
    /// over the last axis of `[N, G, C/G·H·W]` it is group normalisation's.
    ///
    /// Fused (one kernel forward, closed-form backward) when the kept axes are adjacent; any other
    /// set of axes is composed from differentiable reductions.
    public func standardized(axes: [Int], eps: Double = 1e-5) -> Tensor {
        standardizedWithStatistics(axes: axes, eps: eps).output
    }

    /// ``standardized(axes:eps:)`` that also returns the batch statistics μ̂ and the biased σ̂²
    /// (detached), each with the kept axes' shape (`[]` when every axis is reduced).
    func standardizedWithStatistics(axes: [Int], eps: Double) -> (output: Tensor, mean: Tensor, variance: Tensor) {
        let ax = Array(Set(axes.map { Shape.normalize($0, rank: rank) })).sorted()
        let kept = (0..<rank).filter { !ax.contains($0) }
        let keptShape = kept.map { shape[$0] }
        guard let first = kept.first, let last = kept.last, last - first + 1 != kept.count else {
            // Kept axes adjacent (or none): the layout is [A, C, S] with statistics per c.
            let lo = kept.first ?? 0, hi = kept.last.map { $0 + 1 } ?? 0
            let a = shape[..<lo].reduce(1, *), c = kept.isEmpty ? 1 : shape[lo..<hi].reduce(1, *)
            let s = shape[hi...].reduce(1, *)
            let (y, mean, variance) = channelStandardize(outer: a, channels: c, inner: s, eps: eps)
            return (y, mean.reshaped(keptShape), variance.reshaped(keptShape))
        }
        let mu = mean(axes: ax, keepDims: true)
        let centered = self - mu
        let variance = (centered * centered).mean(axes: ax, keepDims: true)
        let out = centered / (variance + eps).sqrt()
        return (out, mu.detached().reshaped(keptShape), variance.detached().reshaped(keptShape))
    }

    /// The fused standardisation of `self` viewed as `[outer, channels, inner]` with statistics per channel.
    private func channelStandardize(outer a: Int, channels c: Int, inner s: Int, eps: Double) -> (Tensor, Tensor, Tensor) {
        let x = detached().contiguous()
        let y = Tensor(uninitialized: shape, dtype: dtype)
        let mean = Tensor(uninitialized: [c], dtype: dtype), variance = Tensor(uninitialized: [c], dtype: dtype)
        let rstd = Tensor(uninitialized: [c], dtype: dtype)
        func forward<T: KernelScalar>(_: T.Type) {
            NormKernels.channelForward(x.pointer(T.self), y.pointer(T.self), mean.pointer(T.self), variance.pointer(T.self),
                                       rstd.pointer(T.self), a: a, c: c, s: s, eps: T(eps))
        }
        withExtendedLifetime(x) {
            switch dtype {
            case .float32: forward(Float.self)
            case .float64: forward(Double.self)
            case .int32, .int64: dtype.floatOnly("batchNorm")
            }
        }
        let xhat = y
        let out = Tensor.record(y, op: "standardized", input: self) { v in
            let g = v.detached().contiguous()
            let dx = Tensor(uninitialized: xhat.shape, dtype: xhat.dtype)
            func backward<T: KernelScalar>(_: T.Type) {
                NormKernels.channelBackward(g.pointer(T.self), xhat.pointer(T.self), rstd.pointer(T.self), dx.pointer(T.self),
                                            a: a, c: c, s: s)
            }
            withExtendedLifetime((g, xhat, rstd)) {
                switch xhat.dtype {
                case .float32: backward(Float.self)
                case .float64: backward(Double.self)
                case .int32, .int64: xhat.dtype.floatOnly("batchNorm")
                }
            }
            return dx
        }
        return (out, mean, variance)
    }
}
