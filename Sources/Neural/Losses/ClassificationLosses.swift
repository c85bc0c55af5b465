/// The multi-class losses: softmax cross-entropy on logits (eq. 7.5–7.6; S3) with class labels or
/// class probabilities, and negative log-likelihood on log-probabilities (PyTorch's
/// `CrossEntropyLoss` and `NLLLoss`), with class weights, an ignored label and label smoothing.
///
/// With class weights w and labels yᵢ, the `.mean` reduction is PyTorch's weighted mean
/// Σᵢ ℓᵢ / Σᵢ w_{yᵢ} over the rows whose label is not `ignoreIndex` (ignored rows add 0 to both).

/// The rows and classes of `[batch, classes]` or `[classes]` input, the class weights as Doubles
/// (nil: all 1) and, per row, whether its label is ignored; stops on a label outside 0..<classes
/// (other than `ignoreIndex`) or a weight of the wrong shape.
private func classRows(_ name: String, _ input: Tensor, labels: [Int]?, weight: Tensor?,
                       ignoreIndex: Int) -> (single: Bool, rows: Int, k: Int, w: [Double]?, ignored: [Bool]) {
    precondition(input.rank == 1 || input.rank == 2,
                 "Neural: \(name) needs input [batch, classes] or [classes], got shape \(input.shape)")
    let single = input.rank == 1
    let rows = single ? 1 : input.shape[0], k = input.shape[input.rank - 1]
    var ignored = [Bool](repeating: false, count: rows)
    if let labels {
        precondition(labels.count == rows, "Neural: \(name): \(rows) rows of input but \(labels.count) labels")
        for (i, y) in labels.enumerated() {
            if y == ignoreIndex { ignored[i] = true; continue }
            precondition(y >= 0 && y < k, "Neural: \(name): label \(y) at position \(i) is outside 0..<\(k) (and is not ignoreIndex \(ignoreIndex))")
        }
    }
    let w = weight.map { t -> [Double] in
        precondition(t.shape == [k], "Neural: \(name): class weight of shape \(t.shape) for input of shape \(input.shape); it needs [\(k)]")
        return t.detached().scalars(as: Double.self)
    }
    return (single, rows, k, w, ignored)
}

/// The loss tensor for per-row values `perRow` summed to `total`, reduced by `reduction` with
/// the mean's divisor `divisor`.
private func reduced(_ perRow: Tensor, total: Double, divisor: Double, _ reduction: Reduction) -> Tensor {
    switch reduction {
    case .none: return perRow
    case .sum: return Tensor(total, dtype: perRow.dtype)
    case .mean: return Tensor(total / divisor, dtype: perRow.dtype)
    }
}

/// Runs `body` in the scalar type of `dtype`.
private func floating(_ dtype: DType, _ name: String, _ float: () -> Void, _ double: () -> Void) {
    switch dtype {
    case .float32: float()
    case .float64: double()
    case .int32, .int64: dtype.floatOnly(name)
    }
}

/// Per row of logits t: the maximum m (0 when infinite) and ls = log Σ e^{t − m}, so that
/// log softmax(t)_c = (t_c − m) − ls.
private func logSumExpRows<T: KernelScalar>(_ p: UnsafeMutablePointer<T>, rows: Int, k: Int) -> (m: [T], ls: [T]) {
    var ms = [T](repeating: 0, count: rows), lss = [T](repeating: 0, count: rows)
    for r in 0..<rows {
        let row = p + r * k
        var m = -T.infinity
        for j in 0..<k where row[j] > m || row[j].isNaN { m = row[j] }
        if m.isInfinite { m = 0 }
        var s: T = 0
        for j in 0..<k { s += T.exp(row[j] - m) }
        ms[r] = m
        lss[r] = T.log(s)
    }
    return (ms, lss)
}

/// Softmax cross-entropy on logits with integer class labels (eq. 7.5–7.6; S3; PyTorch's
/// `CrossEntropyLoss` with class indices): ℓ = −log softmax(t)_y = log Σₛ e^{tₛ} − t_y, computed
/// with the maximum subtracted so that it is exact for any logits. Its gradient is
/// (softmax(t) − e_y)·v (eq. 7.71), formed in one pass.
///
/// With class weights w the row's loss is w_y·ℓ and `.mean` divides by Σ w_y (PyTorch's weighted
/// mean); rows labelled `ignoreIndex` contribute nothing (loss and gradient 0, and not counted
/// by the mean). With label smoothing ε the loss is (1 − ε)·w_y·ℓ + (ε/k)·Σ_c w_c·(−log softmax(t)_c).
///
/// - Parameters:
///   - logits: t, `[batch, k]` (a single example may be given as `[k]`).
///   - labels: y⁽ⁱ⁾ ∈ 0..<k or `ignoreIndex`, one per row.
///   - weight: class weights w, `[k]` (a constant); nil: all 1.
///   - ignoreIndex: the label whose rows are ignored (PyTorch's default −100).
///   - labelSmoothing: ε ∈ [0, 1] (default 0).
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` (over the batch) and `.sum`; `[batch]` for `.none` (`[]` for a `[k]` input).
public func crossEntropyLoss(logits: Tensor, labels: [Int], weight: Tensor? = nil, ignoreIndex: Int = -100,
                             labelSmoothing: Double = 0, reduction: Reduction = .mean) -> Tensor {
    let name = "crossEntropyLoss"
    precondition((0...1).contains(labelSmoothing), "Neural: \(name) needs labelSmoothing in [0, 1], got \(labelSmoothing)")
    let (single, rows, k, w, ignored) = classRows(name, logits, labels: labels, weight: weight, ignoreIndex: ignoreIndex)
    let eps = labelSmoothing, smoothing = labelSmoothing > 0
    let t = logits.detached().contiguous()
    var shift: [Double] = [], logSum: [Double] = []
    let perRow = Tensor(uninitialized: single ? [] : [rows], dtype: t.dtype)
    var total = 0.0, divisor = 0.0
    for r in 0..<rows where !ignored[r] { divisor += w?[labels[r]] ?? 1 }
    let weightSum = w?.reduce(0, +) ?? Double(k)
    func forward<T: KernelScalar>(_: T.Type) {
        let p = t.pointer(T.self), o = perRow.pointer(T.self)
        let (ms, lss) = logSumExpRows(p, rows: rows, k: k)
        shift = ms.map { Double($0) }
        logSum = lss.map { Double($0) }
        for r in 0..<rows {
            if ignored[r] { o[r] = 0; continue }
            let row = p + r * k, m = ms[r], ls = lss[r]
            var l = (m - row[labels[r]]) + ls
            if let w { l *= T(w[labels[r]]) }
            if smoothing {
                var s: T = 0
                for j in 0..<k { s += T(w?[j] ?? 1) * ((m - row[j]) + ls) }
                l = T(1 - eps) * l + T(eps / Double(k)) * s
            }
            o[r] = l
            total += Double(l)
        }
    }
    withExtendedLifetime(t) { floating(t.dtype, name, { forward(Float.self) }, { forward(Double.self) }) }
    let out = reduced(perRow, total: total, divisor: divisor, reduction)
    let scale = reduction == .mean ? 1 / divisor : 1
    return Tensor.record(out, op: name, input: logits) { v in
        let vc = v.contiguous()
        let g = Tensor(uninitialized: t.shape, dtype: t.dtype)
        func backward<T: KernelScalar>(_: T.Type) {
            let p = t.pointer(T.self), d = g.pointer(T.self), seed = vc.pointer(T.self)
            for r in 0..<rows {
                if ignored[r] { for j in 0..<k { d[r * k + j] = 0 }; continue }
                let vr = reduction == .none ? seed[r] : seed[0] * T(scale)
                let m = T(shift[r]), ls = T(logSum[r]), y = labels[r]
                var a = vr
                if let w { a *= T(w[y]) }
                if smoothing { a *= T(1 - eps) }
                for j in 0..<k { d[r * k + j] = T.exp(p[r * k + j] - m - ls) * a }   // softmax(t)·v
                d[r * k + y] -= a                                                     // − e_y·v
                if smoothing {
                    let b = vr * T(eps / Double(k)), total = T(weightSum)
                    for j in 0..<k { d[r * k + j] += b * (total * T.exp(p[r * k + j] - m - ls) - T(w?[j] ?? 1)) }
                }
            }
        }
        withExtendedLifetime((t, vc)) { floating(t.dtype, name, { backward(Float.self) }, { backward(Double.self) }) }
        return g
    }
}

/// Softmax cross-entropy on logits with class probabilities as targets (PyTorch's
/// `CrossEntropyLoss` with a floating-point target): ℓ = −Σ_c w_c q_c log softmax(t)_c with
/// q = (1 − ε)p + ε/k. `.mean` divides by the number of rows (class weights do not enter the
/// divisor, as in PyTorch). Gradients: (softmax(t)·Σ_c w_c q_c − w ⊙ q)·v for the logits and
/// −(1 − ε)·w_c·log softmax(t)_c·v for the probabilities.
///
/// - Parameters:
///   - logits: t, `[batch, k]` or `[k]`.
///   - probabilities: p, the same shape (each row typically sums to 1; differentiable too).
///   - weight: class weights w, `[k]` (a constant); nil: all 1.
///   - labelSmoothing: ε ∈ [0, 1] (default 0).
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; `[batch]` for `.none` (`[]` for a `[k]` input).
public func crossEntropyLoss(logits: Tensor, probabilities: Tensor, weight: Tensor? = nil, labelSmoothing: Double = 0,
                             reduction: Reduction = .mean) -> Tensor {
    let name = "crossEntropyLoss"
    precondition((0...1).contains(labelSmoothing), "Neural: \(name) needs labelSmoothing in [0, 1], got \(labelSmoothing)")
    precondition(probabilities.shape == logits.shape,
                 "Neural: \(name): probabilities of shape \(probabilities.shape) for logits of shape \(logits.shape); they need the same shape")
    let (single, rows, k, w, _) = classRows(name, logits, labels: nil, weight: weight, ignoreIndex: -100)
    let eps = labelSmoothing
    let t = logits.detached().contiguous(), q = probabilities.detached().to(logits.dtype).contiguous()
    var shift: [Double] = [], logSum: [Double] = []
    let perRow = Tensor(uninitialized: single ? [] : [rows], dtype: t.dtype)
    var total = 0.0
    func forward<T: KernelScalar>(_: T.Type) {
        let p = t.pointer(T.self), y = q.pointer(T.self), o = perRow.pointer(T.self)
        let (ms, lss) = logSumExpRows(p, rows: rows, k: k)
        shift = ms.map { Double($0) }
        logSum = lss.map { Double($0) }
        for r in 0..<rows {
            var l: T = 0
            for j in 0..<k {
                let target = T(1 - eps) * y[r * k + j] + T(eps / Double(k))
                l += T(w?[j] ?? 1) * target * ((ms[r] - p[r * k + j]) + lss[r])
            }
            o[r] = l
            total += Double(l)
        }
    }
    withExtendedLifetime((t, q)) { floating(t.dtype, name, { forward(Float.self) }, { forward(Double.self) }) }
    let out = reduced(perRow, total: total, divisor: Double(rows), reduction)
    let scale = reduction == .mean ? 1 / Double(rows) : 1
    return Tensor.record(out, op: name, inputs: [logits, probabilities]) { v, needs in
        let vc = v.contiguous()
        let gt = Tensor(uninitialized: t.shape, dtype: t.dtype), gq = Tensor(uninitialized: t.shape, dtype: t.dtype)
        func backward<T: KernelScalar>(_: T.Type) {
            let p = t.pointer(T.self), y = q.pointer(T.self), seed = vc.pointer(T.self)
            let dt = gt.pointer(T.self), dq = gq.pointer(T.self)
            for r in 0..<rows {
                let vr = reduction == .none ? seed[r] : seed[0] * T(scale)
                let m = T(shift[r]), ls = T(logSum[r])
                var mass: T = 0
                for j in 0..<k { mass += T(w?[j] ?? 1) * (T(1 - eps) * y[r * k + j] + T(eps / Double(k))) }
                for j in 0..<k {
                    let i = r * k + j, wj = T(w?[j] ?? 1)
                    let target = T(1 - eps) * y[i] + T(eps / Double(k))
                    dt[i] = (T.exp(p[i] - m - ls) * mass - wj * target) * vr
                    dq[i] = T(1 - eps) * wj * ((m - p[i]) + ls) * vr
                }
            }
        }
        withExtendedLifetime((t, q, vc)) { floating(t.dtype, name, { backward(Float.self) }, { backward(Double.self) }) }
        return [needs[0] ? gt : nil, needs[1] ? gq : nil]
    }
}

/// Negative log-likelihood on log-probabilities (PyTorch's `nn.NLLLoss`): ℓ = −w_y·x_y for
/// input x = log q (e.g. from ``Tensor/logSoftmax(axis:)``; nllLoss of logSoftmax is
/// ``crossEntropyLoss(logits:labels:weight:ignoreIndex:labelSmoothing:reduction:)``). `.mean` is
/// the weighted mean Σ ℓ / Σ w_y over rows not labelled `ignoreIndex`. Gradient: −w_y·v at the label.
///
/// - Parameters:
///   - logProbabilities: x, `[batch, k]` (or `[k]` for one example).
///   - labels: y⁽ⁱ⁾ ∈ 0..<k or `ignoreIndex`, one per row.
///   - weight: class weights w, `[k]` (a constant); nil: all 1.
///   - ignoreIndex: the label whose rows are ignored (PyTorch's default −100).
///   - reduction: `.mean` (default), `.sum` or `.none`.
/// - Returns: `[]` for `.mean` and `.sum`; `[batch]` for `.none` (`[]` for a `[k]` input).
public func nllLoss(logProbabilities: Tensor, labels: [Int], weight: Tensor? = nil, ignoreIndex: Int = -100,
                    reduction: Reduction = .mean) -> Tensor {
    let name = "nllLoss"
    let (single, rows, k, w, ignored) = classRows(name, logProbabilities, labels: labels, weight: weight, ignoreIndex: ignoreIndex)
    let x = logProbabilities.detached().contiguous()
    let perRow = Tensor(uninitialized: single ? [] : [rows], dtype: x.dtype)
    var total = 0.0, divisor = 0.0
    for r in 0..<rows where !ignored[r] { divisor += w?[labels[r]] ?? 1 }
    func forward<T: KernelScalar>(_: T.Type) {
        let p = x.pointer(T.self), o = perRow.pointer(T.self)
        for r in 0..<rows {
            o[r] = ignored[r] ? 0 : -T(w?[labels[r]] ?? 1) * p[r * k + labels[r]]
            total += Double(o[r])
        }
    }
    withExtendedLifetime(x) { floating(x.dtype, name, { forward(Float.self) }, { forward(Double.self) }) }
    let out = reduced(perRow, total: total, divisor: divisor, reduction)
    let scale = reduction == .mean ? 1 / divisor : 1
    return Tensor.record(out, op: name, input: logProbabilities) { v in
        let vc = v.contiguous()
        let g = Tensor.zeros(x.shape, dtype: x.dtype)
        func backward<T: KernelScalar>(_: T.Type) {
            let d = g.pointer(T.self), seed = vc.pointer(T.self)
            for r in 0..<rows where !ignored[r] {
                let vr = reduction == .none ? seed[r] : seed[0] * T(scale)
                d[r * k + labels[r]] = -T(w?[labels[r]] ?? 1) * vr
            }
        }
        withExtendedLifetime((g, vc)) { floating(x.dtype, name, { backward(Float.self) }, { backward(Double.self) }) }
        return g
    }
}
