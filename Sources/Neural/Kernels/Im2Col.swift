import CNeuralKernels

/// Kernels for sliding-window operations (convolution and pooling, eq. 7.48–7.51): the window
/// geometry, im2col (col2im and the backward pass are in Col2Im.swift), and the batched
/// convolution drivers built on ``BLAS/gemm``.
///
/// A convolution of one sample is one GEMM: with `cols` the `[C·kH·kW, Ho·Wo]` matrix whose
/// column p holds the (zero-padded) input patch under output position p, the output is
/// `W[C′, C·kH·kW] · cols`. The batch is split into chunks whose boundaries depend only on the
/// batch size; chunks run in parallel (each GEMM then single-threaded) and reductions over the
/// batch (∂J/∂W, ∂J/∂b) are combined chunk by chunk in a fixed order, so results do not depend on
/// the thread count.

/// The geometry of a 2-D sliding window over one `[channels, height, width]` sample; 1-D
/// operations use `height == 1`, `kernelH == 1`, `strideH == 1`, `padH == 0`.
struct WindowGeometry {
    let channels: Int, height: Int, width: Int
    let kernelH: Int, kernelW: Int
    let strideH: Int, strideW: Int
    let padH: Int, padW: Int
    let dilationH: Int, dilationW: Int

    /// Output height ⌊(H + 2pH − dH(kH − 1) − 1)/sH⌋ + 1 (PyTorch's formula).
    var outH: Int { (height + 2 * padH - dilationH * (kernelH - 1) - 1) / strideH + 1 }
    /// Output width ⌊(W + 2pW − dW(kW − 1) − 1)/sW⌋ + 1.
    var outW: Int { (width + 2 * padW - dilationW * (kernelW - 1) - 1) / strideW + 1 }
    /// Output positions per channel.
    var outSpatial: Int { outH * outW }
    /// Input elements per channel.
    var inSpatial: Int { height * width }
    /// Rows of the im2col matrix: C·kH·kW.
    var patch: Int { channels * kernelH * kernelW }
    /// A 1×1 window with stride 1 and no padding: the input sample already is its im2col matrix.
    var isPointwise: Bool {
        kernelH == 1 && kernelW == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0
    }
    /// Whether the padded input is large enough for at least one window.
    var isValid: Bool {
        height + 2 * padH >= dilationH * (kernelH - 1) + 1 && width + 2 * padW >= dilationW * (kernelW - 1) + 1
    }

    /// Output indices o in `0..<count` with `0 ≤ o·stride + offset < size`.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, size: Int, count: Int) -> Range<Int> {
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let hi = size - 1 - offset >= 0 ? (size - 1 - offset) / stride + 1 : 0
        let l = Swift.min(lo, count), h = Swift.min(Swift.max(hi, l), count)
        return l..<h
    }
}

enum Im2Col {
    /// Writes the `[C·kH·kW, Ho·Wo]` patch matrix of one `[C, H, W]` sample into `cols`; row
    /// (c, i, j) holds x[c, oh·sH − pH + i·dH, ow·sW − pW + j·dW] (zero outside the input).
    @inline(__always)
    static func im2col<T: TensorScalar>(_ x: UnsafePointer<T>, _ cols: UnsafeMutablePointer<T>, _ g: WindowGeometry) {
        let (outH, outW, P) = (g.outH, g.outW, g.outSpatial)
        for c in 0..<g.channels {
            for i in 0..<g.kernelH {
                for j in 0..<g.kernelW {
                    let row = cols + ((c * g.kernelH + i) * g.kernelW + j) * P
                    let offW = j * g.dilationW - g.padW
                    let w = WindowGeometry.validRange(offset: offW, stride: g.strideW, size: g.width, count: outW)
                    for oh in 0..<outH {
                        let dst = row + oh * outW
                        let ih = oh * g.strideH - g.padH + i * g.dilationH
                        if ih < 0 || ih >= g.height {
                            dst.update(repeating: 0, count: outW)
                            continue
                        }
                        // Pointer offsets (no overflow checks) keep the copy loops vectorisable.
                        let src = x + ((c * g.height + ih) * g.width + offW + w.lowerBound * g.strideW)
                        let out = dst + w.lowerBound
                        dst.update(repeating: 0, count: w.lowerBound)
                        if g.strideW == 1 {
                            out.update(from: src, count: w.count)
                        } else {
                            for t in 0..<w.count { out[t] = src[t &* g.strideW] }
                        }
                        (dst + w.upperBound).update(repeating: 0, count: outW - w.upperBound)
                    }
                }
            }
        }
    }
}

/// Batched convolution as im2col + GEMM, forward and backward.
enum ConvKernels {
    /// Splits a batch of `n` samples into chunks (boundaries depend only on `n` and the size of
    /// the per-chunk ∂J/∂W partial, never on the thread count).
    static func chunks(batch n: Int, weightCount: Int) -> Int {
        if n <= 1 { return 1 }
        // Large filters: one chunk (big GEMMs thread well on their own; no big partial buffers).
        if weightCount >= 1 << 20 { return 1 }
        return Swift.min(n, 16)
    }

    /// Runs `body(chunk, sampleRange)` for every chunk of the batch, chunks in parallel; inside a
    /// parallel chunk the GEMMs run on one thread.
    static func forChunks(batch n: Int, chunks: Int, _ body: (Int, Range<Int>) -> Void) {
        let parallel = Swift.min(Runtime.threads, chunks) > 1
        Parallel.forEach(tasks: chunks) { t in
            let range = (n * t / chunks)..<(n * (t + 1) / chunks)
            if parallel {
                Runtime.withThreads(1) { body(t, range) }
            } else {
                body(t, range)
            }
        }
    }

    /// out[n] = W · cols(x[n]) + b for every sample: x `[N, C, H, W]`, w `[C′, (C/G)·kH·kW]`,
    /// b `[C′]` or nil, out `[N, C′, Ho·Wo]`, all contiguous. With `groups` G > 1 the patch
    /// matrix's rows split into G blocks of (C/G)·kH·kW and the outputs into G blocks of C′/G:
    /// output block γ is W_γ · cols_γ (one GEMM per group).
    static func forward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, w: UnsafePointer<T>, b: UnsafePointer<T>?,
                                         out: UnsafeMutablePointer<T>, batch n: Int, outChannels co: Int,
                                         geometry g: WindowGeometry, groups: Int = 1, relu: Bool = false) {
        let K = g.patch, P = g.outSpatial, inSize = g.channels * g.inSpatial
        let Kg = K / groups, cog = co / groups
        let chunks = chunks(batch: n, weightCount: co * Kg)
        forChunks(batch: n, chunks: chunks) { _, range in
            withPatchScratch(T.self, g) { cols in
                for s in range {
                    let xs = x + s * inSize, os = out + s * co * P
                    let colsS: UnsafePointer<T>
                    if let cols { Im2Col.im2col(xs, cols, g); colsS = UnsafePointer(cols) } else { colsS = xs }
                    for gi in 0..<groups {
                        BLAS.gemm(T.self, transA: false, transB: false, m: cog, n: P, k: Kg, a: w + gi * cog * Kg, lda: Kg,
                                  b: colsS + gi * Kg * P, ldb: P, beta: 0, c: os + gi * cog * P, ldc: P)
                    }
                    // Epilogue while the sample is in cache: + b[o], then the fused ReLU.
                    biasActivation(os, b, rows: co, cols: P, relu: relu)
                }
            }
        }
    }

    /// rows[o, p] = act(rows[o, p] + b[o]) over a `[rows, cols]` block (act: identity or ReLU).
    static func biasActivation<T: TensorScalar>(_ os: UnsafeMutablePointer<T>, _ b: UnsafePointer<T>?, rows co: Int,
                                                cols P: Int, relu: Bool) {
        if T.self == Float.self {
            nk_bias_act_rows_f32(UnsafeMutableRawPointer(os).assumingMemoryBound(to: Float.self),
                                 b.map { UnsafeRawPointer($0).assumingMemoryBound(to: Float.self) },
                                 co, P, P, relu ? 1 : 0)
        } else if b != nil || relu {
            for o in 0..<co {
                let row = os + o * P, bo: T = b?[o] ?? 0
                for p in 0..<P {
                    let z = b == nil ? row[p] : row[p] + bo
                    row[p] = relu ? (z > 0 ? z : 0) : z
                }
            }
        }
    }

    /// Runs `body` with room for one sample's `[C·kH·kW, Ho·Wo]` patch matrix from the reused
    /// scratch pool, or with nil for a pointwise window (the input already is its patch matrix).
    static func withPatchScratch<T: TensorScalar>(_: T.Type, _ g: WindowGeometry,
                                                 _ body: (UnsafeMutablePointer<T>?) -> Void) {
        if g.isPointwise { body(nil); return }
        GEMMScratch.withBuffer(bytes: g.patch * g.outSpatial * MemoryLayout<T>.stride) { raw in
            body(raw.bindMemory(to: T.self, capacity: g.patch * g.outSpatial))
        }
    }

    /// acc[o] += Σ_p g[o·cols + p] (∂J/∂b of one sample).
    static func rowSumAdd<T: TensorScalar>(_ acc: UnsafeMutablePointer<T>, _ g: UnsafePointer<T>, rows: Int, cols: Int) {
        if T.self == Float.self {
            nk_rowsum_add_f32(UnsafeMutableRawPointer(acc).assumingMemoryBound(to: Float.self),
                              UnsafeRawPointer(g).assumingMemoryBound(to: Float.self), rows, cols)
            return
        }
        for o in 0..<rows {
            let row = g + o * cols
            var sum: T = 0
            for p in 0..<cols { sum += row[p] }
            acc[o] += sum
        }
    }
}

/// Max and average pooling over `[planes, H, W]` (planes = N·C), forward and backward.
enum PoolKernels {
    /// Work per parallel block, in planes.
    @inline(__always) static func grain(_ g: WindowGeometry) -> Int { Swift.max(1, (1 << 14) / Swift.max(1, g.outSpatial * g.kernelH * g.kernelW)) }

    /// For each output row (or column) o, the window taps r with 0 ≤ o·stride − pad + r·dilation < size,
    /// computed once per call (the divisions stay out of the inner loops).
    static func taps(outputs: Int, stride: Int, pad: Int, dilation: Int, size: Int, kernel: Int) -> [Range<Int>] {
        (0..<outputs).map { o in
            WindowGeometry.validRange(offset: o * stride - pad, stride: dilation, size: size, count: kernel)
        }
    }

    /// out[p, oh, ow] = max over the window (padding never wins), and, when `argmax` is given, the
    /// position (ih·W + iw within the plane) of the window's first maximum.
    static func maxForward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
                                            argmax: UnsafeMutablePointer<Int32>?, planes: Int, geometry g: WindowGeometry) {
        let (H, W, outH, outW) = (g.height, g.width, g.outH, g.outW)
        if T.self == Float.self && g.kernelH == 2 && g.kernelW == 2 && g.strideH == 2 && g.strideW == 2
            && g.padH == 0 && g.padW == 0 && g.dilationH == 1 && g.dilationW == 1 {
            // The common 2×2 / stride 2 window: a SIMD kernel with the same tie and NaN rules.
            let xs = SendablePointer(x), os = SendablePointer(out), am = argmax.map { SendablePointer($0) }
            Parallel.forRanges(count: planes, grain: grain(g)) { r in
                nk_maxpool2x2_f32(UnsafeRawPointer(xs.pointer + r.lowerBound * H * W).assumingMemoryBound(to: Float.self),
                                  UnsafeMutableRawPointer(os.pointer + r.lowerBound * outH * outW).assumingMemoryBound(to: Float.self),
                                  am.map { UnsafeMutableRawPointer($0.pointer + r.lowerBound * outH * outW).assumingMemoryBound(to: CInt.self) },
                                  r.count, H, W)
            }
            return
        }
        let hTaps = taps(outputs: outH, stride: g.strideH, pad: g.padH, dilation: g.dilationH, size: H, kernel: g.kernelH)
        let wTaps = taps(outputs: outW, stride: g.strideW, pad: g.padW, dilation: g.dilationW, size: W, kernel: g.kernelW)
        Parallel.forRanges(count: planes, grain: grain(g)) { r in
            for p in r {
                let xp = x + p * H * W, op = out + p * outH * outW, ap = argmax.map { $0 + p * outH * outW }
                for oh in 0..<outH {
                    let h0 = oh * g.strideH - g.padH
                    let hs = hTaps[oh]
                    for ow in 0..<outW {
                        let w0 = ow * g.strideW - g.padW
                        let ws = wTaps[ow]
                        if hs.isEmpty || ws.isEmpty {   // only padding under the window
                            op[oh * outW + ow] = -T.infinity
                            ap?[oh * outW + ow] = -1
                            continue
                        }
                        // The first tap in the window starts the search (padding never wins, as with −∞).
                        var at = (h0 + hs.lowerBound * g.dilationH) * W + w0 + ws.lowerBound * g.dilationW
                        var best = xp[at]
                        for i in hs {
                            let row = (h0 + i * g.dilationH) * W + w0
                            for j in ws {
                                let idx = row + j * g.dilationW
                                let val = xp[idx]
                                // val > best or val is NaN (NaN propagates, as in PyTorch); the two are
                                // exclusive, so != is their "or", and the selects compile without branches.
                                let better = (val > best) != val.isNaN
                                best = better ? val : best
                                at = better ? idx : at
                            }
                        }
                        op[oh * outW + ow] = best
                        ap?[oh * outW + ow] = Int32(at)
                    }
                }
            }
        }
    }

    /// dx[p, argmax] += v[p, oh, ow]; every other input position gets 0.
    static func maxBackward<T: TensorScalar>(_: T.Type, v: UnsafePointer<T>, argmax: UnsafePointer<Int32>,
                                             dx: UnsafeMutablePointer<T>, planes: Int, geometry g: WindowGeometry) {
        let inS = g.inSpatial, outS = g.outSpatial
        Parallel.forRanges(count: planes, grain: grain(g)) { r in
            for p in r {
                let dxp = dx + p * inS, vp = v + p * outS, ap = argmax + p * outS
                dxp.update(repeating: 0, count: inS)
                for o in 0..<outS where ap[o] >= 0 { dxp[Int(ap[o])] += vp[o] }
            }
        }
    }

    /// out = (sum of the window's input values) / (kH·kW): zero padding counts in the divisor
    /// (PyTorch's `count_include_pad=True`).
    static func avgForward<T: TensorScalar>(_: T.Type, x: UnsafePointer<T>, out: UnsafeMutablePointer<T>,
                                            planes: Int, geometry g: WindowGeometry) {
        let (H, W, outH, outW) = (g.height, g.width, g.outH, g.outW)
        let hTaps = taps(outputs: outH, stride: g.strideH, pad: g.padH, dilation: g.dilationH, size: H, kernel: g.kernelH)
        let wTaps = taps(outputs: outW, stride: g.strideW, pad: g.padW, dilation: g.dilationW, size: W, kernel: g.kernelW)
        let scale = 1 / T(g.kernelH * g.kernelW)
        Parallel.forRanges(count: planes, grain: grain(g)) { r in
            for p in r {
                let xp = x + p * H * W, op = out + p * outH * outW
                for oh in 0..<outH {
                    let h0 = oh * g.strideH - g.padH
                    let hs = hTaps[oh]
                    for ow in 0..<outW {
                        let w0 = ow * g.strideW - g.padW
                        let ws = wTaps[ow]
                        var acc: T = 0
                        for i in hs {
                            let row = (h0 + i * g.dilationH) * W + w0
                            for j in ws { acc += xp[row + j * g.dilationW] }
                        }
                        op[oh * outW + ow] = acc * scale
                    }
                }
            }
        }
    }

    /// dx[window] += v / (kH·kW) for every window (overlaps accumulate).
    static func avgBackward<T: TensorScalar>(_: T.Type, v: UnsafePointer<T>, dx: UnsafeMutablePointer<T>,
                                             planes: Int, geometry g: WindowGeometry) {
        let (H, W, outH, outW) = (g.height, g.width, g.outH, g.outW)
        let hTaps = taps(outputs: outH, stride: g.strideH, pad: g.padH, dilation: g.dilationH, size: H, kernel: g.kernelH)
        let wTaps = taps(outputs: outW, stride: g.strideW, pad: g.padW, dilation: g.dilationW, size: W, kernel: g.kernelW)
        let scale = 1 / T(g.kernelH * g.kernelW)
        Parallel.forRanges(count: planes, grain: grain(g)) { r in
            for p in r {
                let dxp = dx + p * H * W, vp = v + p * outH * outW
                dxp.update(repeating: 0, count: H * W)
                for oh in 0..<outH {
                    let h0 = oh * g.strideH - g.padH
                    let hs = hTaps[oh]
                    for ow in 0..<outW {
                        let w0 = ow * g.strideW - g.padW
                        let ws = wTaps[ow]
                        let s = vp[oh * outW + ow] * scale
                        for i in hs {
                            let row = (h0 + i * g.dilationH) * W + w0
                            for j in ws { dxp[row + j * g.dilationW] += s }
                        }
                    }
                }
            }
        }
    }
}
