import Neural
import Testing

// Tests of BLAS.gemm against a naive triple loop with Double accumulation.

/// Deterministic test data (SplitMix64 → uniform in [-1, 1)).
private struct TestRandom {
    var state: UInt64
    init(_ seed: UInt64) { state = seed }
    mutating func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Double(z >> 11) * 0x1p-52 - 1
    }
}

/// One GEMM problem with padded strides, filled with random data.
private struct Problem<T: BinaryFloatingPoint> {
    let transA: Bool, transB: Bool
    let m: Int, n: Int, k: Int
    let lda: Int, ldb: Int, ldc: Int
    var a: [T], b: [T], c: [T]

    init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, pad: Int = 3, seed: UInt64 = 1,
         cFill: T? = nil) {
        self.transA = transA; self.transB = transB
        self.m = m; self.n = n; self.k = k
        lda = (transA ? m : k) + pad
        ldb = (transB ? k : n) + pad
        ldc = n + pad
        var rng = TestRandom(seed &+ UInt64(m * 1_000_003 + n * 1009 + k))
        a = (0..<((transA ? k : m) * lda)).map { _ in T(rng.next()) }
        b = (0..<((transB ? n : k) * ldb)).map { _ in T(rng.next()) }
        c = (0..<(m * ldc)).map { _ in cFill ?? T(rng.next()) }
    }

    func aAt(_ i: Int, _ p: Int) -> Double { Double(transA ? a[p * lda + i] : a[i * lda + p]) }
    func bAt(_ p: Int, _ j: Int) -> Double { Double(transB ? b[j * ldb + p] : b[p * ldb + j]) }

    /// alpha * op(A) op(B) + beta * C in Double (beta == 0 ignores C), and a per-element error
    /// bound for a length-k accumulation in T.
    func reference(alpha: Double, beta: Double) -> (values: [Double], bound: [Double]) {
        var out = [Double](repeating: 0, count: m * n), bound = out
        let eps = Double(T.ulpOfOne)
        for i in 0..<m {
            for j in 0..<n {
                var s = 0.0, mag = 0.0
                for p in 0..<k {
                    let t = aAt(i, p) * bAt(p, j)
                    s += t
                    mag += abs(t)
                }
                let old = beta == 0 ? 0 : beta * Double(c[i * ldc + j])
                out[i * n + j] = alpha * s + old
                bound[i * n + j] = 2 * Double(k + 2) * eps * (abs(alpha) * mag + abs(old)) + 1e-30
            }
        }
        return (out, bound)
    }
}

private func runGEMM(_ p: inout Problem<Float>, alpha: Float, beta: Float) {
    let (ta, tb, m, n, k, lda, ldb, ldc) = (p.transA, p.transB, p.m, p.n, p.k, p.lda, p.ldb, p.ldc)
    let a = p.a, b = p.b
    p.c.withUnsafeMutableBufferPointer { c in
        BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc)
    }
}

private func runGEMM(_ p: inout Problem<Double>, alpha: Double, beta: Double) {
    let (ta, tb, m, n, k, lda, ldb, ldc) = (p.transA, p.transB, p.m, p.n, p.k, p.lda, p.ldb, p.ldc)
    let a = p.a, b = p.b
    p.c.withUnsafeMutableBufferPointer { c in
        BLAS.gemm(transA: ta, transB: tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                  b: b, ldb: ldb, beta: beta, c: c.baseAddress!, ldc: ldc)
    }
}

/// Checks C against the reference, and that the padding columns of C were not touched.
private func check<T: BinaryFloatingPoint>(_ after: Problem<T>, before: Problem<T>, alpha: Double,
                                           beta: Double, sourceLocation: SourceLocation = #_sourceLocation) {
    let (ref, bound) = before.reference(alpha: alpha, beta: beta)
    var bad = 0, firstBad = ""
    for i in 0..<after.m {
        for j in 0..<after.ldc {
            let got = after.c[i * after.ldc + j]
            if j >= after.n {
                let old = before.c[i * after.ldc + j]
                if !(got == old || (got.isNaN && old.isNaN)) { bad += 1 }
                continue
            }
            let e = ref[i * after.n + j]
            if !(abs(Double(got) - e) <= bound[i * after.n + j]) {
                if bad == 0 { firstBad = "C[\(i),\(j)] = \(got), expected \(e) ± \(bound[i * after.n + j])" }
                bad += 1
            }
        }
    }
    #expect(bad == 0, "\(bad) wrong elements, first: \(firstBad)", sourceLocation: sourceLocation)
}

private let transposes = [(false, false), (false, true), (true, false), (true, true)]
private let squareSizes = [1, 7, 33, 257]
private let mixedShapes = [(1, 257, 33), (33, 1, 7), (257, 33, 1), (7, 33, 257), (13, 100, 513),
                           (2, 3, 4), (40, 70, 300)]

@Suite("GEMM")
struct GEMMTests {
    @Test("Float32 square, all transposes, alpha/beta", arguments: squareSizes)
    func floatSquare(size: Int) {
        for (ta, tb) in transposes {
            let before = Problem<Float>(transA: ta, transB: tb, m: size, n: size, k: size)
            var p = before
            runGEMM(&p, alpha: 0.75, beta: -1.5)
            check(p, before: before, alpha: 0.75, beta: -1.5)
        }
    }

    @Test("Float32 mixed shapes, all transposes")
    func floatMixed() {
        for (m, n, k) in mixedShapes {
            for (ta, tb) in transposes {
                let before = Problem<Float>(transA: ta, transB: tb, m: m, n: n, k: k, pad: 5)
                var p = before
                runGEMM(&p, alpha: -1.25, beta: 0.5)
                check(p, before: before, alpha: -1.25, beta: 0.5)
            }
        }
    }

    @Test("beta = 0 ignores NaN in C", arguments: [(1, 1, 1), (7, 7, 7), (33, 257, 65), (257, 33, 300)])
    func betaZeroIgnoresNaN(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        for (ta, tb) in transposes {
            let before = Problem<Float>(transA: ta, transB: tb, m: m, n: n, k: k, cFill: .nan)
            var p = before
            runGEMM(&p, alpha: 2, beta: 0)
            check(p, before: before, alpha: 2, beta: 0)
            let beforeD = Problem<Double>(transA: ta, transB: tb, m: m, n: n, k: k, cFill: .nan)
            var d = beforeD
            runGEMM(&d, alpha: 2, beta: 0)
            check(d, before: beforeD, alpha: 2, beta: 0)
        }
    }

    @Test("k = 0 and alpha = 0 give beta * C")
    func degenerate() {
        var p = Problem<Float>(transA: false, transB: false, m: 5, n: 9, k: 0)
        let old = p.c
        runGEMM(&p, alpha: 1, beta: 3)
        for i in 0..<5 { for j in 0..<9 { #expect(p.c[i * p.ldc + j] == 3 * old[i * p.ldc + j]) } }
        var z = Problem<Float>(transA: false, transB: false, m: 5, n: 9, k: 4, cFill: .nan)
        z.a[0] = .nan
        runGEMM(&z, alpha: 0, beta: 0)
        for i in 0..<5 { for j in 0..<9 { #expect(z.c[i * z.ldc + j] == 0) } }
    }

    @Test("Float64 square and mixed, all transposes", arguments: [1, 7, 33, 257])
    func doubleSquare(size: Int) {
        for (ta, tb) in transposes {
            let before = Problem<Double>(transA: ta, transB: tb, m: size, n: size, k: size)
            var p = before
            runGEMM(&p, alpha: 0.75, beta: -1.5)
            check(p, before: before, alpha: 0.75, beta: -1.5)
        }
        if size == 33 {
            for (m, n, k) in mixedShapes {
                for (ta, tb) in transposes {
                    let before = Problem<Double>(transA: ta, transB: tb, m: m, n: n, k: k, pad: 2)
                    var p = before
                    runGEMM(&p, alpha: -1.25, beta: 0.5)
                    check(p, before: before, alpha: -1.25, beta: 0.5)
                }
            }
        }
    }

    @Test("Concurrent calls from several threads")
    func concurrentCalls() async {
        let shapes = [(300, 300, 300), (64, 700, 90), (5, 5, 5), (700, 64, 600)]
        await withTaskGroup(of: Bool.self) { group in
            for round in 0..<8 {
                let (m, n, k) = shapes[round % shapes.count]
                group.addTask {
                    let before = Problem<Float>(transA: round % 2 == 1, transB: false, m: m, n: n, k: k)
                    var p = before
                    runGEMM(&p, alpha: 1, beta: 0.5)
                    var q = before
                    runGEMM(&q, alpha: 1, beta: 0.5)
                    return p.c == q.c
                }
            }
            for await same in group { #expect(same) }
        }
    }

    @Test("Large, several K and N blocks, K groups", arguments: [(false, false), (true, true)])
    func large(trans: (Bool, Bool)) {
        // B of 36 MB: two column blocks (at most 32 MiB of packed B); K = 40000: two groups of K blocks.
        for (m, n, k) in [(19, 17_000, 530), (3, 300, 40_000)] {
            let before = Problem<Float>(transA: trans.0, transB: trans.1, m: m, n: n, k: k, pad: 1)
            var p = before
            runGEMM(&p, alpha: 1, beta: 1)
            check(p, before: before, alpha: 1, beta: 1)
        }
    }

    @Test("Narrow products (2 to 16 columns of A Bᵀ, dot products of rows) match the reference, beta = 0 ignores NaN")
    func narrowProducts() {
        // Every width of the narrow kernels, odd row counts (the last row alone), k with and
        // without a masked tail, and the logits of the MLP (128 × 10 × 512, on both cores).
        for (m, n, k) in [(37, 10, 301), (128, 10, 512), (9, 2, 16), (64, 15, 100), (3, 16, 33), (130, 14, 17),
                          (5, 3, 1000), (11, 7, 48), (2, 11, 20), (1, 12, 70), (4, 13, 19)] {
            let before = Problem<Float>(transA: false, transB: true, m: m, n: n, k: k, pad: 3)
            var p = before
            runGEMM(&p, alpha: -0.75, beta: 1.5)
            check(p, before: before, alpha: -0.75, beta: 1.5)
            let nanBefore = Problem<Float>(transA: false, transB: true, m: m, n: n, k: k, cFill: .nan)
            var q = nanBefore
            runGEMM(&q, alpha: 2, beta: 0)
            check(q, before: nanBefore, alpha: 2, beta: 0)
        }
        for n in 4...9 {
            let before = Problem<Float>(transA: false, transB: true, m: 6, n: n, k: 40, pad: 0)
            var p = before
            runGEMM(&p, alpha: 1, beta: 0)
            check(p, before: before, alpha: 1, beta: 0)
        }
    }

    @Test("Matrix-vector shapes (m = 1 or n = 1), all transposes")
    func matrixVector() {
        for (m, n, k) in [(1, 5000, 900), (5000, 1, 900), (1, 1, 1000), (1, 37, 5), (37, 1, 5)] {
            for (ta, tb) in transposes {
                let before = Problem<Float>(transA: ta, transB: tb, m: m, n: n, k: k, pad: 2)
                var p = before
                runGEMM(&p, alpha: 1.5, beta: -0.5)
                check(p, before: before, alpha: 1.5, beta: -0.5)
                if m * n * k > 100_000 { continue }
                let beforeD = Problem<Double>(transA: ta, transB: tb, m: m, n: n, k: k, cFill: .nan)
                var d = beforeD
                runGEMM(&d, alpha: 1.5, beta: 0)
                check(d, before: beforeD, alpha: 1.5, beta: 0)
            }
        }
    }
}

/// Tests that change process-wide settings (thread count, kernel level): run one at a time and
/// restore the settings. Other tests never depend on these settings.
@Suite("GEMM determinism", .serialized)
struct GEMMDeterminismTests {
    private static let shapes = [(257, 257, 257), (1, 300, 700), (300, 1, 700), (37, 530, 301),
                                 (600, 48, 1000), (96, 96, 96), (1, 5000, 900), (5000, 1, 900),
                                 (3, 300, 9000),
                                 // 64 rows: the 8 × 48 AVX-512 tile (a convolution with 64 channels).
                                 (64, 622, 288), (64, 47, 100),
                                 // At most 16 columns: the narrow kernels (A Bᵀ), split by rows.
                                 (128, 10, 512), (301, 16, 100), (77, 5, 300)]

    private func results<T: BinaryFloatingPoint>(_ type: T.Type, threads: Int, level: Int? = nil,
                                                 run: (inout Problem<T>) -> Void) -> [[T]] {
        if let level { return Runtime.withKernelLevelCap(KernelLevel(rawValue: level)!) { results(type, threads: threads, run: run) } }
        let savedThreads = Runtime.threads
        Runtime.threads = threads
        defer { Runtime.threads = savedThreads }
        var out: [[T]] = []
        for (m, n, k) in Self.shapes {
            for (ta, tb) in transposes {
                var p = Problem<T>(transA: ta, transB: tb, m: m, n: n, k: k)
                run(&p)
                out.append(p.c)
            }
        }
        return out
    }

    private func bitsEqual<T: BinaryFloatingPoint>(_ x: [[T]], _ y: [[T]]) -> Bool where T: BitwiseCopyable {
        zip(x, y).allSatisfy { a, b in
            a.count == b.count && zip(a, b).allSatisfy { u, v in
                withUnsafeBytes(of: u) { ub in withUnsafeBytes(of: v) { vb in ub.elementsEqual(vb) } }
            }
        }
    }

    @Test("Float32 bit-identical with 1, 2 and 3 threads")
    func floatThreads() {
        let run: (inout Problem<Float>) -> Void = { runGEMM(&$0, alpha: 0.5, beta: 2) }
        let one = results(Float.self, threads: 1, run: run)
        #expect(bitsEqual(one, results(Float.self, threads: 2, run: run)))
        #expect(bitsEqual(one, results(Float.self, threads: 3, run: run)))
    }

    @Test("Float64 bit-identical with 1 and 2 threads")
    func doubleThreads() {
        let run: (inout Problem<Double>) -> Void = { runGEMM(&$0, alpha: 0.5, beta: 2) }
        #expect(bitsEqual(results(Double.self, threads: 1, run: run),
                          results(Double.self, threads: 2, run: run)))
    }

    @Test("A and B read in place by the micro-kernel give the bits of packed operands (1 and 2 threads, every tile edge, rows 1 KiB apart)")
    func inPlaceOperandsMatchPacked() {
        let run: (inout Problem<Float>) -> Void = { runGEMM(&$0, alpha: 0.5, beta: 2) }
        let saved = (BLAS._readsAInPlace, BLAS._readsBInPlace)
        defer { (BLAS._readsAInPlace, BLAS._readsBInPlace) = saved }
        func with(a: Bool?, b: Bool?, threads: Int) -> [[Float]] {
            (BLAS._readsAInPlace, BLAS._readsBInPlace) = (a, b)
            return results(Float.self, threads: threads, run: run)
        }
        let packed = with(a: false, b: false, threads: 1)
        #expect(bitsEqual(packed, with(a: true, b: false, threads: 1)))
        #expect(bitsEqual(packed, with(a: false, b: true, threads: 1)))
        #expect(bitsEqual(packed, with(a: true, b: true, threads: 1)))
        #expect(bitsEqual(packed, with(a: true, b: true, threads: 2)))
        #expect(bitsEqual(packed, with(a: nil, b: nil, threads: 2)))
        // Rows 1 KiB apart (lda = ldb = 256), all in a few L1 sets: the same bits.
        for (m, n, k) in [(37, 70, 256), (12, 32, 200), (100, 48, 256), (64, 256, 100)] {
            let a = (0..<(m * 256)).map { Float(($0 * 37) % 101) / 50 - 1 }
            let b = (0..<(k * 256)).map { Float(($0 * 53) % 97) / 48 - 1 }
            func product(inPlace: Bool) -> [UInt32] {
                (BLAS._readsAInPlace, BLAS._readsBInPlace) = (inPlace, inPlace)
                var c = [Float](repeating: 0, count: m * n)
                BLAS.gemm(transA: false, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: 256, b: b, ldb: 256,
                          beta: 0, c: &c, ldc: n)
                return c.map(\.bitPattern)
            }
            #expect(product(inPlace: false) == product(inPlace: true), "m \(m) n \(n) k \(k)")
        }
    }

    @Test("A of 4 MiB or more with m ≥ n (split by rows only) and k ≥ 1024 (K blocks of up to 1024): bit-identical with 1 and 2 threads, and correct",
          arguments: [false, true])
    func largeAAndDeepK(transA: Bool) {
        // A: 1040 × 4100 Float32 = 17 MB; n ≤ m < 2n, so only the size of A selects the row split.
        let (m, n, k) = (1040, 700, 4100)
        let a = (0..<(m * k)).map { Float(($0 * 37) % 101) / 50 - 1 }
        let b = (0..<(k * n)).map { Float(($0 * 53) % 97) / 48 - 1 }
        func product(threads: Int) -> [Float] {
            Runtime.withThreads(threads) {
                var c = [Float](repeating: 0, count: m * n)
                BLAS.gemm(transA: transA, transB: false, m: m, n: n, k: k, alpha: 1, a: a, lda: transA ? m : k, b: b,
                          ldb: n, beta: 0, c: &c, ldc: n)
                return c
            }
        }
        let one = product(threads: 1), two = product(threads: 2)
        #expect(one.map(\.bitPattern) == two.map(\.bitPattern))
        // A sample of elements against a Float64 dot product (bound: k · 2⁻²³ · Σ|aᵢbᵢ|, with margin).
        var bad = 0
        for s in 0..<400 {
            let i = (s * 7919) % m, j = (s * 104_729) % n
            var exact = 0.0, magnitude = 0.0
            for p in 0..<k {
                let x = Double(transA ? a[p * m + i] : a[i * k + p]) * Double(b[p * n + j])
                exact += x
                magnitude += abs(x)
            }
            if !(abs(Double(two[i * n + j]) - exact) <= 2 * Double(k) * 0x1p-23 * magnitude) { bad += 1 }
        }
        #expect(bad == 0, "\(bad) of 400 sampled elements off")
    }

    @Test("AVX2 and AVX-512 kernels agree bit for bit; portable kernel is correct")
    func kernelLevels() {
        let run: (inout Problem<Float>) -> Void = { runGEMM(&$0, alpha: 0.5, beta: 2) }
        let best = results(Float.self, threads: 2, run: run)
        #expect(bitsEqual(best, results(Float.self, threads: 2, level: 1, run: run)))
        let runD: (inout Problem<Double>) -> Void = { runGEMM(&$0, alpha: 0.5, beta: 2) }
        #expect(bitsEqual(results(Double.self, threads: 1, run: runD),
                          results(Double.self, threads: 1, level: 1, run: runD)))
        // The portable kernels are correct (GEMMLevelTests proves their bits equal the other levels').
        Runtime.withKernelLevelCap(.portable) {
            for (m, n, k) in [(33, 33, 33), (7, 257, 40)] {
                for (ta, tb) in transposes {
                    let before = Problem<Float>(transA: ta, transB: tb, m: m, n: n, k: k)
                    var p = before
                    runGEMM(&p, alpha: 0.5, beta: 2)
                    check(p, before: before, alpha: 0.5, beta: 2)
                    let beforeD = Problem<Double>(transA: ta, transB: tb, m: m, n: n, k: k)
                    var d = beforeD
                    runGEMM(&d, alpha: 0.5, beta: 2)
                    check(d, before: beforeD, alpha: 0.5, beta: 2)
                }
            }
        }
    }
}
