import CNeuralKernels

/// Dense linear algebra on raw buffers.
///
/// The matrix products are the classic Goto/BLIS design: `B` is packed into `KC × NR` micro-panels
/// shared by all threads, each thread packs its own `MC × KC` block of `A` into `MR × KC`
/// micro-panels, and a C micro-kernel (AVX-512, AVX2+FMA or portable, chosen at run time) computes
/// `MR × NR` register tiles. Work is split over rows and columns of `C`, never over `k`, and the
/// `k` blocking depends only on `k`, so every element of `C` is the same chain of fused
/// multiply-adds whatever the thread count: results are bit-identical with 1 or many threads.
public enum BLAS {
    /// Row-major GEMM: C = alpha * op(A) * op(B) + beta * C, op(X) = X or Xᵀ.
    /// A is [m, k] (or [k, m] when transA), B is [k, n] (or [n, k] when transB), C is [m, n];
    /// lda/ldb/ldc are row strides (elements).
    ///
    /// - `beta == 0` ignores the old contents of `C` (they may be NaN); `k == 0` or `alpha == 0`
    ///   gives `C = beta * C` without reading `A` or `B`.
    /// - `C` must not overlap `A` or `B`.
    /// - Uses up to `Runtime.threads` threads; the result does not depend on the thread count.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float,
                            a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        GEMMDriver<Float>.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Row-major GEMM: C = alpha * op(A) * op(B) + beta * C, op(X) = X or Xᵀ.
    /// A is [m, k] (or [k, m] when transA), B is [k, n] (or [n, k] when transB), C is [m, n];
    /// lda/ldb/ldc are row strides (elements).
    ///
    /// - `beta == 0` ignores the old contents of `C` (they may be NaN); `k == 0` or `alpha == 0`
    ///   gives `C = beta * C` without reading `A` or `B`.
    /// - `C` must not overlap `A` or `B`.
    /// - Uses up to `Runtime.threads` threads; the result does not depend on the thread count.
    public static func gemm(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Double,
                            a: UnsafePointer<Double>, lda: Int, b: UnsafePointer<Double>, ldb: Int,
                            beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int) {
        GEMMDriver<Double>.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha,
                               a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }

    /// Whether untransposed A operands are read in place by the micro-kernel instead of packed
    /// (`nil`: the default, in place whenever the kernel level can, except rows a multiple of 4 KiB
    /// apart; `false`: always packed; `true`: always in place where the kernel level can). The
    /// results are the same bits; for tests and A/B benchmarks.
    package static var _readsAInPlace: Bool? {
        get { let v = GEMMConfig.directA.load(ordering: .relaxed); return v < 0 ? nil : v == 1 }
        set { GEMMConfig.directA.store(newValue.map { $0 ? 1 : 0 } ?? -1, ordering: .relaxed) }
    }

    /// The same for whole panels of untransposed B operands (`nil`: the default, in place).
    package static var _readsBInPlace: Bool? {
        get { let v = GEMMConfig.directB.load(ordering: .relaxed); return v < 0 ? nil : v == 1 }
        set { GEMMConfig.directB.store(newValue.map { $0 ? 1 : 0 } ?? -1, ordering: .relaxed) }
    }
}

extension BLAS {
    /// Whether an untransposed A operand (row-major with row stride `lda`, or rows through a row
    /// table `aRows`: `lda` nil) is read in place by the kernel rather than packed: then it costs
    /// nothing to read as A, and a product can be arranged so that its larger operand is A.
    static func readsAInPlace<T: TensorScalar>(_: T.Type, lda: Int?) -> Bool {
        let level = GEMMConfig.level
        return T.self == Float.self ? GEMMDriver<Float>.readsAInPlace(level: level, lda: lda)
            : GEMMDriver<Double>.readsAInPlace(level: level, lda: lda)
    }

    /// GEMM on raw pointers for either scalar type (callers switch on the dtype once, outside),
    /// with alpha = 1: C = op(A) op(B) + beta C. With `bRows`, row r of the stored B starts at
    /// `b + bRows[r]` and `ldb` is ignored; likewise `aRows` for an untransposed A (see
    /// ``GEMMDriver/run``).
    @inline(__always)
    static func gemm<T: TensorScalar>(_: T.Type, transA: Bool, transB: Bool, m: Int, n: Int, k: Int,
                                      a: UnsafePointer<T>, lda: Int, aRows: UnsafePointer<Int>? = nil,
                                      b: UnsafePointer<T>, ldb: Int, bRows: UnsafePointer<Int>? = nil,
                                      beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        if T.self == Float.self {
            GEMMDriver<Float>.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                  a: UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), lda: lda, aRows: aRows,
                                  b: UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), ldb: ldb, bRows: bRows,
                                  beta: Float(beta), c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self),
                                  ldc: ldc)
        } else {
            GEMMDriver<Double>.run(transA: transA, transB: transB, m: m, n: n, k: k, alpha: 1,
                                   a: UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), lda: lda, aRows: aRows,
                                   b: UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), ldb: ldb, bRows: bRows,
                                   beta: Double(beta),
                                   c: UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc: ldc)
        }
    }
}
