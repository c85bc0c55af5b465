import CNeuralKernels

/// The LSTM recurrence over a whole sequence as one differentiable operation (forward and
/// backpropagation through time together): the input projection x Wᵢₕᵀ + bᵢₕ of every step comes
/// in precomputed (one GEMM per layer and direction, done by the caller), so each step is one GEMM
/// h Wₕₕᵀ of `[batch, hidden]` by `[hidden, 4·hidden]` and one fused pass over the gates.
///
/// Gates in PyTorch's order i, f, g, o:
/// i = σ(aᵢ), f = σ(a_f), g = tanh(a_g), o = σ(aₒ), c′ = f ⊙ c + i ⊙ g, h′ = o ⊙ tanh(c′),
/// with a = xproj_t + h Wₕₕᵀ + bₕₕ.
extension Tensor {
    /// Runs the LSTM cell over `xproj` `[steps, batch, 4·hidden]` (the input projections
    /// x_t Wᵢₕᵀ + bᵢₕ) with `weightHH` `[4·hidden, hidden]` and `biasHH` `[4·hidden]` (or nil),
    /// from `h0`, `c0` `[batch, hidden]` (nil: zeros), forward in time or, with `reverse`, from the
    /// last step to the first. Returns `[steps, batch, 2·hidden]`: at each step h_t in the first
    /// `hidden` columns and c_t in the last (indexed by time, whatever the direction).
    ///
    /// Backward (BPTT) walks the steps in the opposite order; ∂Wₕₕ = Σ_t ∂a_tᵀ h_{t−1} and ∂bₕₕ are
    /// each one reduction over all steps after the walk, ∂xproj = ∂a. Rows of the batch are split
    /// between threads and every sum has a fixed order: the same bits at any thread count.
    static func lstmRecurrence(_ xproj: Tensor, weightHH: Tensor, biasHH: Tensor?, h0: Tensor?, c0: Tensor?,
                               reverse: Bool) -> Tensor {
        precondition(xproj.rank == 3 && weightHH.rank == 2 && xproj.shape[2] == 4 * weightHH.shape[1]
                     && weightHH.shape[0] == 4 * weightHH.shape[1],
                     "Neural: lstm recurrence needs xproj [steps, batch, 4·hidden] and weight_hh [4·hidden, hidden], got \(xproj.shape) and \(weightHH.shape)")
        let steps = xproj.shape[0], batch = xproj.shape[1], hidden = weightHH.shape[1]
        for (name, s) in [("h0", h0), ("c0", c0)] {
            if let s { precondition(s.shape == [batch, hidden], "Neural: lstm \(name) must be [\(batch), \(hidden)], got \(s.shape)") }
        }
        let w = weightHH.detached().contiguous(), b = biasHH?.detached().contiguous()
        let hInit = h0?.detached().contiguous(), cInit = c0?.detached().contiguous()
        // The gate pre-activations, overwritten with the activations i, f, g, o (saved for backward).
        let gates = xproj.detached().contiguous().copied()
        let out = Tensor(uninitialized: [steps, batch, 2 * hidden], dtype: xproj.dtype)
        func run<T: KernelScalar>(_: T.Type) {
            RecurrentKernels.addRowBias(gates.pointer(T.self), rows: steps * batch, bias: b?.pointer(T.self), width: 4 * hidden)
            let g = SendablePointer(gates.pointer(T.self)), y = SendablePointer(out.pointer(T.self))
            let cp = cInit.map { SendablePointer($0.pointer(T.self)) }
            for s in 0..<steps {
                let t = reverse ? steps - 1 - s : s, prev = reverse ? t + 1 : t - 1
                let gt = g.pointer + t * batch * 4 * hidden
                if s > 0 {
                    BLAS.gemm(T.self, transA: false, transB: true, m: batch, n: 4 * hidden, k: hidden,
                              a: y.pointer + prev * batch * 2 * hidden, lda: 2 * hidden, b: w.pointer(T.self), ldb: hidden,
                              beta: 1, c: gt, ldc: 4 * hidden)
                } else if let hInit {
                    BLAS.gemm(T.self, transA: false, transB: true, m: batch, n: 4 * hidden, k: hidden,
                              a: hInit.pointer(T.self), lda: hidden, b: w.pointer(T.self), ldb: hidden,
                              beta: 1, c: gt, ldc: 4 * hidden)
                }
                let cPrev: (SendablePointer<T>, Int)? = s > 0 ? (SendablePointer(y.pointer + prev * batch * 2 * hidden + hidden), 2 * hidden)
                                                              : cp.map { ($0, hidden) }
                let first = SendablePointer(gt)
                Parallel.forRanges(count: batch, grain: RecurrentKernels.grain(hidden)) { rows in
                    for r in rows {
                        let a = first.pointer + r * 4 * hidden, yr = y.pointer + (t * batch + r) * 2 * hidden
                        RecurrentKernels.sigmoid(a, 2 * hidden)
                        RecurrentKernels.tanh(a + 2 * hidden, into: a + 2 * hidden, hidden)
                        RecurrentKernels.sigmoid(a + 3 * hidden, hidden)
                        let c = yr + hidden
                        if let cq = cPrev {
                            let cr = cq.0.pointer + r * cq.1
                            for j in 0..<hidden { c[j] = a[hidden + j] * cr[j] + a[j] * a[2 * hidden + j] }
                        } else {
                            for j in 0..<hidden { c[j] = a[j] * a[2 * hidden + j] }
                        }
                        RecurrentKernels.tanh(c, into: yr, hidden)
                        for j in 0..<hidden { yr[j] = a[3 * hidden + j] * yr[j] }
                    }
                }
            }
        }
        withExtendedLifetime((w, b, hInit, cInit, gates)) {
            switch xproj.dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            case .int32, .int64: xproj.dtype.floatOnly("lstm")
            }
        }
        var inputs = [xproj, weightHH]
        let biasIndex = biasHH.map { inputs.append($0); return inputs.count - 1 }
        let h0Index = h0.map { inputs.append($0); return inputs.count - 1 }
        let c0Index = c0.map { inputs.append($0); return inputs.count - 1 }
        let saved = out
        return record(out, op: "lstm", inputs: inputs) { v, needs in
            let grads = lstmBackward(v.contiguous(), gates: gates, out: saved, w: w, h0: hInit, c0: cInit, reverse: reverse,
                                     needH0: h0Index.map { needs[$0] } ?? false, needC0: c0Index.map { needs[$0] } ?? false)
            var result: [Tensor?] = [needs[0] ? grads.dGates : nil, needs[1] ? grads.dW : nil]
            if let i = biasIndex { result.append(needs[i] ? grads.dGates.reshaped([steps * batch, 4 * hidden]).sum(axes: [0]) : nil) }
            if h0Index != nil { result.append(grads.dh0) }
            if c0Index != nil { result.append(grads.dc0) }
            return result
        }
    }

    /// BPTT of ``lstmRecurrence(_:weightHH:biasHH:h0:c0:reverse:)`` from v `[steps, batch, 2·hidden]`.
    private static func lstmBackward(_ v: Tensor, gates: Tensor, out: Tensor, w: Tensor, h0: Tensor?, c0: Tensor?,
                                     reverse: Bool, needH0: Bool, needC0: Bool)
        -> (dGates: Tensor, dW: Tensor, dh0: Tensor?, dc0: Tensor?) {
        let steps = gates.shape[0], batch = gates.shape[1], hidden = w.shape[1], dtype = gates.dtype
        let dGates = Tensor(uninitialized: gates.shape, dtype: dtype)
        let dh = Tensor.zeros([batch, hidden], dtype: dtype), dc = Tensor.zeros([batch, hidden], dtype: dtype)
        let dW = Tensor(uninitialized: w.shape, dtype: dtype)
        let scratch = Tensor(uninitialized: [batch, hidden], dtype: dtype)
        func run<T: KernelScalar>(_: T.Type) {
            let g = SendablePointer(gates.pointer(T.self)), y = SendablePointer(out.pointer(T.self))
            let vp = SendablePointer(v.pointer(T.self)), dg = SendablePointer(dGates.pointer(T.self))
            let dhp = SendablePointer(dh.pointer(T.self)), dcp = SendablePointer(dc.pointer(T.self))
            let th = SendablePointer(scratch.pointer(T.self)), cp = c0.map { SendablePointer($0.pointer(T.self)) }
            for s in (0..<steps).reversed() {
                let t = reverse ? steps - 1 - s : s, prev = reverse ? t + 1 : t - 1
                let cPrev: (SendablePointer<T>, Int)? = s > 0 ? (SendablePointer(y.pointer + prev * batch * 2 * hidden + hidden), 2 * hidden)
                                                              : cp.map { ($0, hidden) }
                Parallel.forRanges(count: batch, grain: RecurrentKernels.grain(hidden)) { rows in
                    for r in rows {
                        let a = g.pointer + (t * batch + r) * 4 * hidden, yr = y.pointer + (t * batch + r) * 2 * hidden
                        let vr = vp.pointer + (t * batch + r) * 2 * hidden, da = dg.pointer + (t * batch + r) * 4 * hidden
                        let dhr = dhp.pointer + r * hidden, dcr = dcp.pointer + r * hidden, tc = th.pointer + r * hidden
                        RecurrentKernels.tanh(yr + hidden, into: tc, hidden)
                        let cr = cPrev.map { $0.0.pointer + r * $0.1 }
                        for j in 0..<hidden {
                            let i = a[j], f = a[hidden + j], gg = a[2 * hidden + j], o = a[3 * hidden + j]
                            let dhj = vr[j] + dhr[j], tcj = tc[j]
                            let dcj = vr[hidden + j] + dcr[j] + dhj * o * (1 - tcj * tcj)
                            let cpj: T = cr.map { $0[j] } ?? 0
                            da[j] = dcj * gg * i * (1 - i)
                            da[hidden + j] = dcj * cpj * f * (1 - f)
                            da[2 * hidden + j] = dcj * i * (1 - gg * gg)
                            da[3 * hidden + j] = dhj * tcj * o * (1 - o)
                            dcr[j] = dcj * f
                        }
                    }
                }
                if s > 0 || needH0 {   // ∂h_{t−1} = ∂a_t Wₕₕ
                    BLAS.gemm(T.self, transA: false, transB: false, m: batch, n: hidden, k: 4 * hidden,
                              a: dg.pointer + t * batch * 4 * hidden, lda: 4 * hidden, b: w.pointer(T.self), ldb: hidden,
                              beta: 0, c: dhp.pointer, ldc: hidden)
                }
            }
            RecurrentKernels.weightGradient(dW.pointer(T.self), dA: dg.pointer, outputs: y.pointer, outputStride: 2 * hidden,
                                            h0: h0?.pointer(T.self), steps: steps, batch: batch, gates: 4 * hidden,
                                            hidden: hidden, reverse: reverse)
        }
        withExtendedLifetime((v, gates, out, w, h0, c0, dh, dc, scratch)) {
            switch dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            case .int32, .int64: dtype.floatOnly("lstm backward")
            }
        }
        return (dGates, dW, needH0 ? dh : nil, needC0 ? dc : nil)
    }

    /// A contiguous copy in fresh storage (safe to write in place).
    func copied() -> Tensor {
        let out = Tensor(uninitialized: shape, dtype: dtype)
        StridedCopy.copy(self, out)
        return out
    }
}

/// The per-row loops and reductions the recurrent operations share.
enum RecurrentKernels {
    /// Rows per task: about 16 Ki elements of gates.
    static func grain(_ hidden: Int) -> Int { Swift.max(1, (1 << 14) / Swift.max(4 * hidden, 1)) }

    /// σ in place on `n` elements (the Float32 vector kernel, or the scalar σ in Float64).
    @inline(__always) static func sigmoid<T: KernelScalar>(_ p: UnsafeMutablePointer<T>, _ n: Int) {
        if T.self == Float.self {
            nk_s_sigmoid(floatPointer(UnsafePointer(p)), floatPointer(p), n)
        } else {
            for j in 0..<n { p[j] = SigmoidF().apply(p[j]) }
        }
    }

    /// tanh of `n` elements of `x` into `y` (may be `x`).
    @inline(__always) static func tanh<T: KernelScalar>(_ x: UnsafeMutablePointer<T>, into y: UnsafeMutablePointer<T>, _ n: Int) {
        if T.self == Float.self {
            nk_s_tanh(floatPointer(UnsafePointer(x)), floatPointer(y), n)
        } else {
            for j in 0..<n { y[j] = T.tanh(x[j]) }
        }
    }

    /// Adds `bias` `[width]` to each of `rows` rows of `p` (nothing when nil).
    static func addRowBias<T: KernelScalar>(_ p: UnsafeMutablePointer<T>, rows: Int, bias: UnsafeMutablePointer<T>?, width: Int) {
        guard let bias else { return }
        let q = SendablePointer(p), b = SendablePointer(bias)
        Parallel.forRanges(count: rows, grain: grain(width / 4)) { range in
            for r in range {
                let row = q.pointer + r * width
                for j in 0..<width { row[j] += b.pointer[j] }
            }
        }
    }

    /// ∂Wₕₕ `[gates, hidden]` = Σ_t ∂a_tᵀ h_{t−1}: one GEMM over every step but the first (whose
    /// h_{t−1} is the h_t of the neighbouring step in `outputs`, rows `outputStride` apart), plus the
    /// first step's product with `h0` when there is one.
    static func weightGradient<T: KernelScalar>(_ dW: UnsafeMutablePointer<T>, dA: UnsafeMutablePointer<T>,
                                                outputs: UnsafeMutablePointer<T>, outputStride: Int, h0: UnsafeMutablePointer<T>?,
                                                steps: Int, batch: Int, gates: Int, hidden: Int, reverse: Bool) {
        var beta: T = 0
        if steps > 1 {
            // Forward: ∂a for steps 1…T−1 with h of steps 0…T−2; reverse: ∂a for 0…T−2 with h of 1…T−1.
            let dAStart = reverse ? 0 : batch, hStart = reverse ? batch : 0
            BLAS.gemm(T.self, transA: true, transB: false, m: gates, n: hidden, k: (steps - 1) * batch,
                      a: dA + dAStart * gates, lda: gates, b: outputs + hStart * outputStride, ldb: outputStride,
                      beta: 0, c: dW, ldc: hidden)
            beta = 1
        }
        if let h0 {
            let first = reverse ? steps - 1 : 0
            BLAS.gemm(T.self, transA: true, transB: false, m: gates, n: hidden, k: batch,
                      a: dA + first * batch * gates, lda: gates, b: h0, ldb: hidden, beta: beta, c: dW, ldc: hidden)
        } else if steps == 1 {
            dW.update(repeating: 0, count: gates * hidden)
        }
    }
}
