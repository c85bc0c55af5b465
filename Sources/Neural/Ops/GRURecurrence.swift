/// The GRU recurrence over a whole sequence as one differentiable operation, like
/// ``Tensor/lstmRecurrence(_:weightHH:biasHH:h0:c0:reverse:)``: the input projections come in
/// precomputed, each step is one GEMM h Wₕₕᵀ + bₕₕ and one fused pass over the gates.
///
/// Gates in PyTorch's order r, z, n, with bₕₙ inside the reset product as torch has it:
/// r = σ(xᵣ + hᵣ), z = σ(x_z + h_z), n = tanh(xₙ + r ⊙ hₙ), h′ = (1 − z) ⊙ n + z ⊙ h,
/// where x = xproj_t (x_t Wᵢₕᵀ + bᵢₕ) and (hᵣ, h_z, hₙ) = h Wₕₕᵀ + bₕₕ.
extension Tensor {
    /// Runs the GRU cell over `xproj` `[steps, batch, 3·hidden]` with `weightHH`
    /// `[3·hidden, hidden]` and `biasHH` `[3·hidden]` (or nil) from `h0` `[batch, hidden]` (nil:
    /// zeros), forward in time or, with `reverse`, from the last step to the first. Returns h_t for
    /// every step, `[steps, batch, hidden]` (indexed by time). Backward (BPTT) as the LSTM's: rows
    /// split between threads, fixed-order sums, the same bits at any thread count.
    static func gruRecurrence(_ xproj: Tensor, weightHH: Tensor, biasHH: Tensor?, h0: Tensor?, reverse: Bool) -> Tensor {
        precondition(xproj.rank == 3 && weightHH.rank == 2 && xproj.shape[2] == 3 * weightHH.shape[1]
                     && weightHH.shape[0] == 3 * weightHH.shape[1],
                     "Neural: gru recurrence needs xproj [steps, batch, 3·hidden] and weight_hh [3·hidden, hidden], got \(xproj.shape) and \(weightHH.shape)")
        let steps = xproj.shape[0], batch = xproj.shape[1], hidden = weightHH.shape[1], width = 3 * hidden
        if let h0 { precondition(h0.shape == [batch, hidden], "Neural: gru h0 must be [\(batch), \(hidden)], got \(h0.shape)") }
        let w = weightHH.detached().contiguous(), b = biasHH?.detached().contiguous(), hInit = h0?.detached().contiguous()
        // x + the hidden projections, overwritten with r, z, n (saved for backward), and hₙ per step.
        let gates = xproj.detached().contiguous().copied()
        let hn = Tensor(uninitialized: [steps, batch, hidden], dtype: xproj.dtype)
        let out = Tensor(uninitialized: [steps, batch, hidden], dtype: xproj.dtype)
        let hp = Tensor(uninitialized: [batch, width], dtype: xproj.dtype)
        func run<T: KernelScalar>(_: T.Type) {
            let g = SendablePointer(gates.pointer(T.self)), y = SendablePointer(out.pointer(T.self))
            let hpp = SendablePointer(hp.pointer(T.self)), hnp = SendablePointer(hn.pointer(T.self))
            for s in 0..<steps {
                let t = reverse ? steps - 1 - s : s, prev = reverse ? t + 1 : t - 1
                let hPrev: UnsafeMutablePointer<T>? = s > 0 ? y.pointer + prev * batch * hidden : hInit?.pointer(T.self)
                // hp = h Wₕₕᵀ + bₕₕ.
                if let b {
                    for r in 0..<batch { (hpp.pointer + r * width).update(from: b.pointer(T.self), count: width) }
                } else {
                    hpp.pointer.update(repeating: 0, count: batch * width)
                }
                if let hPrev {
                    BLAS.gemm(T.self, transA: false, transB: true, m: batch, n: width, k: hidden,
                              a: hPrev, lda: hidden, b: w.pointer(T.self), ldb: hidden, beta: 1, c: hpp.pointer, ldc: width)
                }
                let hq = hPrev.map { SendablePointer($0) }
                Parallel.forRanges(count: batch, grain: RecurrentKernels.grain(hidden)) { rows in
                    for r in rows {
                        let a = g.pointer + (t * batch + r) * width, p = hpp.pointer + r * width
                        let yr = y.pointer + (t * batch + r) * hidden, nr = hnp.pointer + (t * batch + r) * hidden
                        for j in 0..<(2 * hidden) { a[j] += p[j] }
                        RecurrentKernels.sigmoid(a, 2 * hidden)
                        for j in 0..<hidden {
                            nr[j] = p[2 * hidden + j]
                            a[2 * hidden + j] += a[j] * p[2 * hidden + j]
                        }
                        RecurrentKernels.tanh(a + 2 * hidden, into: a + 2 * hidden, hidden)
                        if let hq {
                            let h = hq.pointer + r * hidden
                            for j in 0..<hidden { let z = a[hidden + j]; yr[j] = (1 - z) * a[2 * hidden + j] + z * h[j] }
                        } else {
                            for j in 0..<hidden { yr[j] = (1 - a[hidden + j]) * a[2 * hidden + j] }
                        }
                    }
                }
            }
        }
        withExtendedLifetime((w, b, hInit, gates, hn, hp)) {
            switch xproj.dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            case .int32, .int64: xproj.dtype.floatOnly("gru")
            }
        }
        var inputs = [xproj, weightHH]
        let biasIndex = biasHH.map { inputs.append($0); return inputs.count - 1 }
        let h0Index = h0.map { inputs.append($0); return inputs.count - 1 }
        let saved = out
        return record(out, op: "gru", inputs: inputs) { v, needs in
            let grads = gruBackward(v.contiguous(), gates: gates, hn: hn, out: saved, w: w, h0: hInit, reverse: reverse,
                                    needH0: h0Index.map { needs[$0] } ?? false)
            var result: [Tensor?] = [needs[0] ? grads.dX : nil, needs[1] ? grads.dW : nil]
            if let i = biasIndex { result.append(needs[i] ? grads.dHP.reshaped([steps * batch, width]).sum(axes: [0]) : nil) }
            if h0Index != nil { result.append(grads.dh0) }
            return result
        }
    }

    /// BPTT of ``gruRecurrence(_:weightHH:biasHH:h0:reverse:)`` from v `[steps, batch, hidden]`:
    /// ∂xproj, ∂Wₕₕ, ∂(h Wₕₕᵀ + bₕₕ) per step (whose column sums are ∂bₕₕ) and ∂h0.
    private static func gruBackward(_ v: Tensor, gates: Tensor, hn: Tensor, out: Tensor, w: Tensor, h0: Tensor?,
                                    reverse: Bool, needH0: Bool) -> (dX: Tensor, dW: Tensor, dHP: Tensor, dh0: Tensor?) {
        let steps = gates.shape[0], batch = gates.shape[1], hidden = w.shape[1], width = 3 * hidden, dtype = gates.dtype
        let dX = Tensor(uninitialized: gates.shape, dtype: dtype), dHP = Tensor(uninitialized: gates.shape, dtype: dtype)
        let dh = Tensor.zeros([batch, hidden], dtype: dtype), dW = Tensor(uninitialized: w.shape, dtype: dtype)
        func run<T: KernelScalar>(_: T.Type) {
            let g = SendablePointer(gates.pointer(T.self)), y = SendablePointer(out.pointer(T.self))
            let vp = SendablePointer(v.pointer(T.self)), hnp = SendablePointer(hn.pointer(T.self))
            let dxp = SendablePointer(dX.pointer(T.self)), dhpp = SendablePointer(dHP.pointer(T.self))
            let dhp = SendablePointer(dh.pointer(T.self)), hInit = h0.map { SendablePointer($0.pointer(T.self)) }
            for s in (0..<steps).reversed() {
                let t = reverse ? steps - 1 - s : s, prev = reverse ? t + 1 : t - 1
                let hPrev: SendablePointer<T>? = s > 0 ? SendablePointer(y.pointer + prev * batch * hidden) : hInit
                Parallel.forRanges(count: batch, grain: RecurrentKernels.grain(hidden)) { rows in
                    for r in rows {
                        let o = (t * batch + r) * width
                        let a = g.pointer + o, dx = dxp.pointer + o, dp = dhpp.pointer + o
                        let vr = vp.pointer + (t * batch + r) * hidden, nr = hnp.pointer + (t * batch + r) * hidden
                        let dhr = dhp.pointer + r * hidden, hr = hPrev.map { $0.pointer + r * hidden }
                        for j in 0..<hidden {
                            let rg = a[j], z = a[hidden + j], n = a[2 * hidden + j]
                            let dhj = vr[j] + dhr[j], hj: T = hr.map { $0[j] } ?? 0
                            let dan = dhj * (1 - z) * (1 - n * n)
                            let dar = dan * nr[j] * rg * (1 - rg)
                            let daz = dhj * (hj - n) * z * (1 - z)
                            dx[j] = dar; dx[hidden + j] = daz; dx[2 * hidden + j] = dan
                            dp[j] = dar; dp[hidden + j] = daz; dp[2 * hidden + j] = dan * rg
                            dhr[j] = dhj * z
                        }
                    }
                }
                if s > 0 || needH0 {   // ∂h_{t−1} = z ⊙ ∂h_t + ∂hp_t Wₕₕ
                    BLAS.gemm(T.self, transA: false, transB: false, m: batch, n: hidden, k: width,
                              a: dhpp.pointer + t * batch * width, lda: width, b: w.pointer(T.self), ldb: hidden,
                              beta: 1, c: dhp.pointer, ldc: hidden)
                }
            }
            RecurrentKernels.weightGradient(dW.pointer(T.self), dA: dhpp.pointer, outputs: y.pointer, outputStride: hidden,
                                            h0: h0?.pointer(T.self), steps: steps, batch: batch, gates: width,
                                            hidden: hidden, reverse: reverse)
        }
        withExtendedLifetime((v, gates, hn, out, w, h0, dh)) {
            switch dtype {
            case .float32: run(Float.self)
            case .float64: run(Double.self)
            case .int32, .int64: dtype.floatOnly("gru backward")
            }
        }
        return (dX, dW, dHP, needH0 ? dh : nil)
    }
}
