import CNeuralKernels

/// The normalisation kernels (contiguous inputs). Work splits depend only on the sizes and partial
/// sums combine in a fixed order, so results do not depend on the thread count.
enum NormKernels {
    @inline(__always)
    private static func load<T: KernelScalar>(_ p: UnsafePointer<T>, _ i: Int) -> SIMD8<T> {
        UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<T>.self)
    }

    @inline(__always)
    private static func store<T: KernelScalar>(_ v: SIMD8<T>, _ p: UnsafeMutablePointer<T>, _ i: Int) {
        UnsafeMutableRawPointer(p + i).storeBytes(of: v, as: SIMD8<T>.self)
    }

    /// Σ p[i] over n elements.
    @inline(__always)
    private static func sum<T: KernelScalar>(_ p: UnsafePointer<T>, _ n: Int) -> T {
        var acc0 = SIMD8<T>(), acc1 = SIMD8<T>()
        var i = 0
        while i + 16 <= n { acc0 += load(p, i); acc1 += load(p, i + 8); i += 16 }
        if i + 8 <= n { acc0 += load(p, i); i += 8 }
        var total = (acc0 + acc1).sum()
        while i < n { total += p[i]; i += 1 }
        return total
    }

    /// Σ (p[i] − mu)² over n elements.
    @inline(__always)
    private static func sumSquaredDeviations<T: KernelScalar>(_ p: UnsafePointer<T>, _ n: Int, _ mu: T) -> T {
        var acc0 = SIMD8<T>(), acc1 = SIMD8<T>()
        let m = SIMD8<T>(repeating: mu)
        var i = 0
        while i + 16 <= n {
            let d0 = load(p, i) - m, d1 = load(p, i + 8) - m
            acc0 += d0 * d0; acc1 += d1 * d1; i += 16
        }
        if i + 8 <= n { let d = load(p, i) - m; acc0 += d * d; i += 8 }
        var total = (acc0 + acc1).sum()
        while i < n { let d = p[i] - mu; total += d * d; i += 1 }
        return total
    }

    /// Rows per parallel block of `rows` rows of `m` elements (a function of the shape only): at
    /// least 16 K elements, and at most 32 blocks. Few blocks keep the backward's partial sums few,
    /// let the Float32 kernels' pipelines run long (norm_kernels.c), and cost few claims of the
    /// counter the threads share.
    private static func rowsPerBlock(rows: Int, m: Int) -> Int {
        Swift.max(1, (1 << 14) / Swift.max(m, 1), (rows + 31) / 32)
    }

    /// LayerNorm forward over `rows` rows of `m` elements: y = (x − μ)·rstd ⊙ w + b.
    static func rowForward<T: KernelScalar>(
        _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ mean: UnsafeMutablePointer<T>, _ rstd: UnsafeMutablePointer<T>,
        rows: Int, m: Int, eps: T, weight: UnsafeMutablePointer<T>?, bias: UnsafeMutablePointer<T>?
    ) {
        if rows == 0 { return }
        let xs = SendablePointer(x), ys = SendablePointer(y), ms = SendablePointer(mean), rs = SendablePointer(rstd)
        let ws = weight.map { SendablePointer($0) }, bs = bias.map { SendablePointer($0) }
        let per = rowsPerBlock(rows: rows, m: m), blocks = (rows + per - 1) / per
        if T.self == Float.self {
            let stream: Int32 = Elementwise.streams(bytes: rows * m * 4) ? 1 : 0
            Parallel.forEach(tasks: blocks) { blk in
                nk_layernorm_fwd_f32(floatPointer(xs.pointer), floatPointer(ys.pointer),
                                     floatPointer(ms.pointer), floatPointer(rs.pointer),
                                     blk * per, Swift.min(rows, (blk + 1) * per), m, unsafeBitCast(eps, to: Float.self),
                                     ws.map { floatPointer($0.pointer) }, bs.map { floatPointer($0.pointer) }, stream)
            }
            return
        }
        Parallel.forEach(tasks: blocks) { blk in
            let w = ws?.pointer, b = bs?.pointer
            for r in (blk * per)..<Swift.min(rows, (blk + 1) * per) {
                let xr = UnsafePointer(xs.pointer + r * m), yr = ys.pointer + r * m
                let mu = sum(xr, m) / T(m)
                let variance = sumSquaredDeviations(xr, m, mu) / T(m)
                let inv = 1 / (variance + eps).squareRoot()
                ms.pointer[r] = mu
                rs.pointer[r] = inv
                let mv = SIMD8<T>(repeating: mu), iv = SIMD8<T>(repeating: inv)
                var i = 0
                switch (w, b) {
                case let (w?, b?):
                    while i + 8 <= m { store((load(xr, i) - mv) * iv * load(w, i) + load(b, i), yr, i); i += 8 }
                    while i < m { yr[i] = (xr[i] - mu) * inv * w[i] + b[i]; i += 1 }
                case let (w?, nil):
                    while i + 8 <= m { store((load(xr, i) - mv) * iv * load(w, i), yr, i); i += 8 }
                    while i < m { yr[i] = (xr[i] - mu) * inv * w[i]; i += 1 }
                case let (nil, b?):
                    while i + 8 <= m { store((load(xr, i) - mv) * iv + load(b, i), yr, i); i += 8 }
                    while i < m { yr[i] = (xr[i] - mu) * inv + b[i]; i += 1 }
                case (nil, nil):
                    while i + 8 <= m { store((load(xr, i) - mv) * iv, yr, i); i += 8 }
                    while i < m { yr[i] = (xr[i] - mu) * inv; i += 1 }
                }
            }
        }
    }

    /// LayerNorm backward: with ĝ = g ⊙ w and x̂ = (x − μ)·rstd,
    /// dx = rstd·(ĝ − mean(ĝ) − x̂·mean(ĝ ⊙ x̂)), dw = Σ_rows g ⊙ x̂, db = Σ_rows g.
    static func rowBackward<T: KernelScalar>(
        _ g: UnsafeMutablePointer<T>, _ x: UnsafeMutablePointer<T>, _ mean: UnsafeMutablePointer<T>, _ rstd: UnsafeMutablePointer<T>,
        weight: UnsafeMutablePointer<T>?, rows: Int, m: Int,
        dx: UnsafeMutablePointer<T>?, dw: UnsafeMutablePointer<T>?, db: UnsafeMutablePointer<T>?
    ) {
        let per = rowsPerBlock(rows: rows, m: m), blocks = rows == 0 ? 0 : (rows + per - 1) / per
        let needParams = dw != nil || db != nil
        // Per-block partial sums for dw (first m) and db (next m), combined in block order below.
        let partial = UnsafeMutablePointer<T>.allocate(capacity: needParams ? Swift.max(1, blocks * 2 * m) : 1)
        defer { partial.deallocate() }
        let gs = SendablePointer(g), xs = SendablePointer(x), ms = SendablePointer(mean), rs = SendablePointer(rstd)
        let ws = weight.map { SendablePointer($0) }, dxs = dx.map { SendablePointer($0) }, ps = SendablePointer(partial)
        let wantW = dw != nil, wantB = db != nil
        let stream: Int32 = Elementwise.streams(bytes: rows * m * MemoryLayout<T>.stride) ? 1 : 0
        Parallel.forEach(tasks: blocks) { blk in
            let w = ws?.pointer, dxp = dxs?.pointer
            let pw = ps.pointer + blk * 2 * m, pb = pw + m
            if needParams { pw.initialize(repeating: 0, count: 2 * m) }
            if T.self == Float.self {
                nk_layernorm_bwd_f32(floatPointer(gs.pointer), floatPointer(xs.pointer),
                                     floatPointer(ms.pointer), floatPointer(rs.pointer),
                                     ws.map { floatPointer($0.pointer) }, blk * per, Swift.min(rows, (blk + 1) * per), m,
                                     dxp.map { floatPointer($0) }, wantW ? floatPointer(pw) : nil, wantB ? floatPointer(pb) : nil, stream)
                return
            }
            for r in (blk * per)..<Swift.min(rows, (blk + 1) * per) {
                let gr = UnsafePointer(gs.pointer + r * m), xr = UnsafePointer(xs.pointer + r * m)
                let mu = ms.pointer[r], inv = rs.pointer[r]
                let mv = SIMD8<T>(repeating: mu), iv = SIMD8<T>(repeating: inv)
                // One pass: the parameter partials Σ g ⊙ x̂ and Σ g, and the row sums Σ ĝ and Σ ĝ ⊙ x̂.
                let wantDx = dxp != nil
                var s0 = SIMD8<T>(), s1 = SIMD8<T>()
                var i = 0
                while i + 8 <= m {
                    let gv = load(gr, i), xh = (load(xr, i) - mv) * iv
                    if wantW { store(load(pw, i) + gv * xh, pw, i) }
                    if wantB { store(load(pb, i) + gv, pb, i) }
                    if wantDx {
                        let gh = w.map { gv * load($0, i) } ?? gv
                        s0 += gh; s1 += gh * xh
                    }
                    i += 8
                }
                var sg = s0.sum(), sgx = s1.sum()
                while i < m {
                    let gv = gr[i], xh = (xr[i] - mu) * inv
                    if wantW { pw[i] += gv * xh }
                    if wantB { pb[i] += gv }
                    let gh = gv * (w?[i] ?? 1)
                    sg += gh; sgx += gh * xh; i += 1
                }
                guard let dxp else { continue }
                let a = sg / T(m), c = sgx / T(m)
                let av = SIMD8<T>(repeating: a), cv = SIMD8<T>(repeating: c)
                let dr = dxp + r * m
                i = 0
                if let w {
                    while i + 8 <= m {
                        let gh = load(gr, i) * load(w, i), xh = (load(xr, i) - mv) * iv
                        store(iv * (gh - av - xh * cv), dr, i); i += 8
                    }
                } else {
                    while i + 8 <= m {
                        let xh = (load(xr, i) - mv) * iv
                        store(iv * (load(gr, i) - av - xh * cv), dr, i); i += 8
                    }
                }
                while i < m {
                    let gh = gr[i] * (w?[i] ?? 1), xh = (xr[i] - mu) * inv
                    dr[i] = inv * (gh - a - xh * c); i += 1
                }
            }
        }
        guard needParams else { return }
        for (dest, off) in [(dw, 0), (db, m)] {
            guard let dest else { continue }
            if blocks == 0 { dest.initialize(repeating: 0, count: m); continue }
            dest.update(from: partial + off, count: m)
            for blk in 1..<Swift.max(blocks, 1) {
                let p = partial + blk * 2 * m + off
                for i in 0..<m { dest[i] += p[i] }
            }
        }
    }

    /// Standardisation of x viewed as `[a, c, s]` with statistics per channel over a·s elements:
    /// writes y = x̂, μ, the biased variance and rstd = 1/√(var + ε).
    static func channelForward<T: KernelScalar>(
        _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ mean: UnsafeMutablePointer<T>,
        _ variance: UnsafeMutablePointer<T>, _ rstd: UnsafeMutablePointer<T>, a: Int, c: Int, s: Int, eps: T
    ) {
        let n = a * s
        let xs = SendablePointer(x), ys = SendablePointer(y)
        let ms = SendablePointer(mean), vs = SendablePointer(variance), rs = SendablePointer(rstd)
        Parallel.forEach(tasks: c) { ch in
            let x = UnsafePointer(xs.pointer), y = ys.pointer
            var total: T = 0
            for i in 0..<a { total += sum(x + (i * c + ch) * s, s) }
            let mu = n > 0 ? total / T(n) : 0
            var sq: T = 0
            for i in 0..<a { sq += sumSquaredDeviations(x + (i * c + ch) * s, s, mu) }
            let v = n > 0 ? sq / T(n) : 0
            let inv = 1 / (v + eps).squareRoot()
            ms.pointer[ch] = mu; vs.pointer[ch] = v; rs.pointer[ch] = inv
            let mv = SIMD8<T>(repeating: mu), iv = SIMD8<T>(repeating: inv)
            for i in 0..<a {
                let base = (i * c + ch) * s
                let xr = x + base, yr = y + base
                var j = 0
                while j + 8 <= s { store((load(xr, j) - mv) * iv, yr, j); j += 8 }
                while j < s { yr[j] = (xr[j] - mu) * inv; j += 1 }
            }
        }
    }

    /// Backward of ``channelForward``: dx = rstd·(g − mean(g) − x̂·mean(g ⊙ x̂)) per channel.
    static func channelBackward<T: KernelScalar>(
        _ g: UnsafeMutablePointer<T>, _ xhat: UnsafeMutablePointer<T>, _ rstd: UnsafeMutablePointer<T>,
        _ dx: UnsafeMutablePointer<T>, a: Int, c: Int, s: Int
    ) {
        let n = a * s
        if n == 0 { return }
        let gs = SendablePointer(g), xs = SendablePointer(xhat), rs = SendablePointer(rstd), ds = SendablePointer(dx)
        Parallel.forEach(tasks: c) { ch in
            let g = UnsafePointer(gs.pointer), xh = UnsafePointer(xs.pointer), d = ds.pointer
            var sg: T = 0, sgx: T = 0
            for i in 0..<a {
                let base = (i * c + ch) * s
                let gr = g + base, xr = xh + base
                var s0 = SIMD8<T>(), s1 = SIMD8<T>()
                var j = 0
                while j + 8 <= s { let gv = load(gr, j); s0 += gv; s1 += gv * load(xr, j); j += 8 }
                var t0 = s0.sum(), t1 = s1.sum()
                while j < s { t0 += gr[j]; t1 += gr[j] * xr[j]; j += 1 }
                sg += t0; sgx += t1
            }
            let inv = rs.pointer[ch], am = sg / T(n), cm = sgx / T(n)
            let av = SIMD8<T>(repeating: am), cv = SIMD8<T>(repeating: cm), iv = SIMD8<T>(repeating: inv)
            for i in 0..<a {
                let base = (i * c + ch) * s
                let gr = g + base, xr = xh + base, dr = d + base
                var j = 0
                while j + 8 <= s { store(iv * (load(gr, j) - av - load(xr, j) * cv), dr, j); j += 8 }
                while j < s { dr[j] = inv * (gr[j] - am - xr[j] * cm); j += 1 }
            }
        }
    }
}
