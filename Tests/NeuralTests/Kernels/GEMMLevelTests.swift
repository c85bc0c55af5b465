import Neural
import Testing

// The GEMM gives the same bits at every kernel level this machine has (portable always, AVX2+FMA,
// AVX-512F): every path of the driver (register tiles packed or read in place, the narrow kernels,
// matrix–vector shapes, K blocks of 512 and 1024), every transpose, Float32 and Float64, one and two
// threads. On a machine without AVX-512 the AVX-512 level is compared on the next one that has it.

/// Deterministic data in [-1, 1) (a 64-bit LCG's high bits), with padded strides.
private struct LevelProblem<T: BinaryFloatingPoint> {
    let transA: Bool, transB: Bool, m: Int, n: Int, k: Int
    let lda: Int, ldb: Int, ldc: Int
    let a: [T], b: [T], c: [T]

    init(transA: Bool, transB: Bool, m: Int, n: Int, k: Int) {
        self.transA = transA; self.transB = transB
        self.m = m; self.n = n; self.k = k
        lda = (transA ? m : k) + 1
        ldb = (transB ? k : n) + 2
        ldc = n + 3
        var state = UInt64(m * 1_000_003 + n * 1009 + k * 7 + (transA ? 1 : 0) + (transB ? 2 : 0))
        func next() -> T {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return T(Double(state >> 11) * 0x1p-52 - 1)
        }
        a = (0..<((transA ? k : m) * lda)).map { _ in next() }
        b = (0..<((transB ? n : k) * ldb)).map { _ in next() }
        c = (0..<(m * ldc)).map { _ in next() }
    }
}

/// The GEMM entry point of each scalar type.
private protocol LevelScalar: BinaryFloatingPoint {
    static func gemm(_ p: LevelProblem<Self>, alpha: Self, beta: Self) -> [Self]
    /// The bit pattern, widened.
    var bits: UInt64 { get }
}

extension Float: LevelScalar {
    fileprivate var bits: UInt64 { UInt64(bitPattern) }
    fileprivate static func gemm(_ p: LevelProblem<Float>, alpha: Float, beta: Float) -> [Float] {
        var c = p.c
        BLAS.gemm(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k, alpha: alpha, a: p.a, lda: p.lda,
                  b: p.b, ldb: p.ldb, beta: beta, c: &c, ldc: p.ldc)
        return c
    }
}

extension Double: LevelScalar {
    fileprivate var bits: UInt64 { bitPattern }
    fileprivate static func gemm(_ p: LevelProblem<Double>, alpha: Double, beta: Double) -> [Double] {
        var c = p.c
        BLAS.gemm(transA: p.transA, transB: p.transB, m: p.m, n: p.n, k: p.k, alpha: alpha, a: p.a, lda: p.lda,
                  b: p.b, ldb: p.ldb, beta: beta, c: &c, ldc: p.ldc)
        return c
    }
}

/// The kernel level is capped per task (`Runtime.withKernelLevelCap`); the in-place settings are
/// process-wide: one test at a time, settings restored.
@Suite("GEMM at every kernel level", .serialized)
struct GEMMLevelTests {
    /// The levels this machine can run (portable always; AVX2+FMA, AVX-512F where the CPU has them
    /// and NEURAL_ISA allows them).
    static let levels = KernelLevel.allCases.filter { $0 <= Runtime.kernelLevel }

    /// Edges of every tile (6 × 16, 12 × 32, 8 × 48, 4 × 16 and their Float64 halves), 1 × N, N × 1,
    /// k = 1, the narrow kernels (n ≤ 16, A Bᵀ, k ≥ 16; and k < 16, which keeps the tiles), two K
    /// blocks of 512 and of 1024, and products large enough to run on two threads.
    static let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (1, 37, 19), (29, 1, 19), (1, 40, 1), (7, 9, 1), (6, 16, 8), (7, 17, 9), (12, 32, 33),
        (13, 33, 31), (8, 48, 20), (9, 49, 17), (64, 47, 40), (5, 3, 70), (30, 10, 40), (33, 16, 16), (20, 5, 15),
        (17, 23, 1030), (9, 21, 700), (70, 90, 64), (96, 40, 80),
    ]

    static let transposes = [(false, false), (false, true), (true, false), (true, true)]

    /// Runs `body` with the kernel level capped at `level` (on this task's threads) and `threads`
    /// threads; `inPlace` sets the process-wide in-place settings of A and B.
    private static func at<R>(level: KernelLevel, threads: Int, inPlace: Bool? = nil, _ body: () -> R) -> R {
        let saved = (BLAS._readsAInPlace, BLAS._readsBInPlace)
        (BLAS._readsAInPlace, BLAS._readsBInPlace) = (inPlace, inPlace)
        defer { (BLAS._readsAInPlace, BLAS._readsBInPlace) = saved }
        return Runtime.withKernelLevelCap(level) { Runtime.withThreads(threads, body) }
    }

    /// Every shape, transpose and (alpha, beta) — beta 0 never reads C, beta 1 and 2 do — as bit
    /// patterns, one array per product.
    private static func products<T: LevelScalar>(_: T.Type) -> [[UInt64]] {
        var out: [[UInt64]] = []
        for (m, n, k) in shapes {
            for (ta, tb) in transposes {
                let p = LevelProblem<T>(transA: ta, transB: tb, m: m, n: n, k: k)
                for (alpha, beta) in [(T(1), T(0)), (T(0.5), T(2)), (T(-1), T(1))] {
                    out.append(T.gemm(p, alpha: alpha, beta: beta).map(\.bits))
                }
            }
        }
        return out
    }

    @Test("Float32: every level, one and two threads, operands packed or read in place, gives the bits of the portable kernels")
    func float32EveryLevelGivesTheSameBits() {
        let reference = Self.at(level: .portable, threads: 1) { Self.products(Float.self) }
        for level in Self.levels {
            for threads in [1, 2] {
                for inPlace: Bool? in [nil, false, true] {
                    let bits = Self.at(level: level, threads: threads, inPlace: inPlace) { Self.products(Float.self) }
                    let differing = zip(reference, bits).filter { $0 != $1 }.count
                    #expect(differing == 0, "level \(level), \(threads) threads, in place \(String(describing: inPlace)): \(differing) products differ")
                }
            }
        }
    }

    @Test("Float64: every level, one and two threads, gives the bits of the portable kernels")
    func float64EveryLevelGivesTheSameBits() {
        let reference = Self.at(level: .portable, threads: 1) { Self.products(Double.self) }
        for level in Self.levels {
            for threads in [1, 2] {
                let bits = Self.at(level: level, threads: threads) { Self.products(Double.self) }
                let differing = zip(reference, bits).filter { $0 != $1 }.count
                #expect(differing == 0, "level \(level), \(threads) threads: \(differing) products differ")
            }
        }
    }

    @Test("The portable kernels are correct: tiles, narrow kernels and two K blocks against Float64 sums")
    func portableKernelsAreCorrect() {
        for (m, n, k) in [(7, 17, 9), (13, 33, 31), (30, 10, 40), (9, 21, 700)] {
            for (ta, tb) in Self.transposes {
                let p = LevelProblem<Float>(transA: ta, transB: tb, m: m, n: n, k: k)
                let c = Self.at(level: .portable, threads: 1) { Float.gemm(p, alpha: 0.5, beta: 2) }
                var worst = 0.0
                for i in 0..<m {
                    for j in 0..<n {
                        var s = 0.0, magnitude = 0.0
                        for q in 0..<k {
                            let x = Double(ta ? p.a[q * p.lda + i] : p.a[i * p.lda + q])
                                * Double(tb ? p.b[j * p.ldb + q] : p.b[q * p.ldb + j])
                            s += x
                            magnitude += abs(x)
                        }
                        let old = 2 * Double(p.c[i * p.ldc + j])
                        let error = abs(Double(c[i * p.ldc + j]) - (0.5 * s + old))
                        worst = max(worst, error / (Double(k + 2) * 0x1p-23 * (0.5 * magnitude + abs(old)) + 1e-30))
                    }
                }
                #expect(worst <= 2, "m \(m) n \(n) k \(k) transA \(ta) transB \(tb): error \(worst) of the bound")
            }
        }
    }

    @Test("Linear layers (fused bias and ReLU, every batch size around the narrow width) and convolutions (patches through row tables): the same outputs and gradients at every level")
    func layersGiveTheSameBitsAtEveryLevel() {
        func linear(rows: Int, inF: Int, outF: Int) -> [Tensor] {
            var x = seededUniform([rows, inF], seed: 71, dtype: .float32)
            var w = seededUniform([outF, inF], seed: 72, dtype: .float32)
            var b = seededUniform([outF], seed: 73, dtype: .float32)
            x.requiresGrad = true; w.requiresGrad = true; b.requiresGrad = true
            let y = x.linear(weight: w, bias: b, activation: .relu)
            (y * seededUniform(y.shape, seed: 74, dtype: .float32)).sum().backward()
            return [y.detached(), x.grad!, w.grad!, b.grad!]
        }
        func conv() -> [Tensor] {
            var x = seededUniform([3, 2, 11, 9], seed: 81, dtype: .float32)
            var w = seededUniform([5, 2, 3, 3], seed: 82, dtype: .float32)
            x.requiresGrad = true; w.requiresGrad = true
            let y = x.conv2d(w, padding: (1, 1))
            (y * seededUniform(y.shape, seed: 83, dtype: .float32)).sum().backward()
            return [y.detached(), x.grad!, w.grad!]
        }
        func all() -> [Tensor] {
            var out: [Tensor] = []
            for (rows, inF, outF) in [(1, 20, 40), (5, 33, 10), (16, 40, 100), (17, 40, 100), (40, 24, 120),
                                      (64, 70, 16)] {
                out += linear(rows: rows, inF: inF, outF: outF)
            }
            return out + conv()
        }
        let reference = Self.at(level: .portable, threads: 1, all)
        for level in Self.levels {
            for threads in [1, 2] {
                let got = Self.at(level: level, threads: threads, all)
                for (r, g) in zip(reference, got) { expectBitIdentical(r, g) }
            }
        }
    }
}
