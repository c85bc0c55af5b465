/// The machinery shared by the elementwise losses with weights (``l1Loss(_:_:reduction:)``,
/// ``smoothL1Loss(_:_:beta:reduction:)``, ``huberLoss(_:_:delta:reduction:)``,
/// ``bceLoss(_:_:weight:reduction:)``, ``bceWithLogitsLoss(_:_:weight:posWeight:reduction:)``,
/// ``klDivLoss(_:_:reduction:logTarget:)``): a per-element loss ℓ(p, y; a) with an optional
/// per-element constant a (e.g. BCE's `pos_weight`), times an optional per-element weight w.

/// A per-element loss ℓ(p, y; a) with its two partial derivatives, evaluated in each dtype.
protocol ElementLoss {
    func loss<T: KernelScalar>(_ p: T, _ y: T, _ a: T) -> T
    /// ∂ℓ/∂p.
    func dp<T: KernelScalar>(_ p: T, _ y: T, _ a: T) -> T
    /// ∂ℓ/∂y.
    func dy<T: KernelScalar>(_ p: T, _ y: T, _ a: T) -> T
}

/// How an ``ElementLoss`` is reduced: the divisor of the mean (`nil`: no reduction), or a sum.
enum ElementReduction {
    case none
    case sum
    /// Σ ℓ / divisor (the element count for `mean`, the batch size for KL's `batchmean`).
    case mean(divisor: Int)

    init(_ r: Reduction, count: Int) {
        switch r {
        case .none: self = .none
        case .sum: self = .sum
        case .mean: self = .mean(divisor: count)
        }
    }
}

extension Tensor {
    /// `t` (a constant such as a loss weight) broadcast to `shape` in `dtype`, contiguous;
    /// stops with both shapes when they do not broadcast.
    static func lossConstant(_ t: Tensor, _ role: String, of name: String, to shape: [Int], dtype: DType) -> Tensor {
        let ok = t.rank <= shape.count && zip(t.shape.reversed(), shape.reversed()).allSatisfy { $0 == $1 || $0 == 1 }
        precondition(ok, "Neural: \(name): \(role) of shape \(t.shape) does not broadcast to the input's shape \(shape)")
        return t.detached().to(dtype).broadcast(to: shape).contiguous()
    }

    /// Applies `l` to same-shape `p` and `y` (with the per-element constant `aux` and weight
    /// `weight`, each broadcast to `p`'s shape), reduces, and records one backward function that
    /// computes w·∂ℓ/∂p ⊙ v and w·∂ℓ/∂y ⊙ v in a single pass each.
    static func elementLoss<L: ElementLoss>(_ name: String, _ p: Tensor, _ y: Tensor, _ l: L, aux: Tensor? = nil,
                                            weight: Tensor? = nil, reduction: ElementReduction) -> Tensor {
        precondition(p.shape == y.shape,
                     "Neural: \(name): input of shape \(p.shape) and target of shape \(y.shape) must have the same shape")
        let y = y.dtype == p.dtype ? y : y.to(p.dtype)
        let pc = p.detached().contiguous(), yc = y.detached().contiguous()
        let ac = aux.map { lossConstant($0, "pos_weight", of: name, to: pc.shape, dtype: pc.dtype) }
        let wc = weight.map { lossConstant($0, "weight", of: name, to: pc.shape, dtype: pc.dtype) }
        let n = pc.count
        let perElement = Tensor(uninitialized: pc.shape, dtype: pc.dtype)
        var total = 0.0
        func forward<T: KernelScalar>(_: T.Type) {
            let a = pc.pointer(T.self), b = yc.pointer(T.self), o = perElement.pointer(T.self)
            let x = ac?.pointer(T.self), w = wc?.pointer(T.self)
            for i in 0..<n {
                var li = l.loss(a[i], b[i], x?[i] ?? 0)
                if let w { li *= w[i] }
                o[i] = li
                total += Double(li)
            }
        }
        withExtendedLifetime((pc, yc, ac, wc)) {
            switch pc.dtype {
            case .float32: forward(Float.self)
            case .float64: forward(Double.self)
            case .int32, .int64: pc.dtype.floatOnly(name)
            }
        }
        let out: Tensor, scale: Double
        switch reduction {
        case .none: out = perElement; scale = 1
        case .sum: out = Tensor(total, dtype: pc.dtype); scale = 1
        case .mean(let d):
            out = Tensor(total / Double(d), dtype: pc.dtype)
            scale = 1 / Double(d)
        }
        let perElementSeed: Bool
        if case .none = reduction { perElementSeed = true } else { perElementSeed = false }
        return record(out, op: name, inputs: [p, y]) { v, needs in
            let vc = v.contiguous()
            func grad(_ wrtInput: Bool) -> Tensor {
                let g = Tensor(uninitialized: pc.shape, dtype: pc.dtype)
                func run<T: KernelScalar>(_: T.Type) {
                    let a = pc.pointer(T.self), b = yc.pointer(T.self), d = g.pointer(T.self), s = vc.pointer(T.self)
                    let x = ac?.pointer(T.self), w = wc?.pointer(T.self)
                    let seed = s[0] * T(scale)
                    for i in 0..<n {
                        var vi = perElementSeed ? s[i] : seed
                        if let w { vi *= w[i] }
                        d[i] = (wrtInput ? l.dp(a[i], b[i], x?[i] ?? 0) : l.dy(a[i], b[i], x?[i] ?? 0)) * vi
                    }
                }
                withExtendedLifetime((pc, yc, vc, ac, wc)) {
                    switch pc.dtype {
                    case .float32: run(Float.self)
                    case .float64: run(Double.self)
                    case .int32, .int64: pc.dtype.floatOnly(name)
                    }
                }
                return g
            }
            return [needs[0] ? grad(true) : nil, needs[1] ? grad(false) : nil]
        }
    }
}
