// Narrow GEMM: C = alpha * A Bᵀ + beta * C with at most 16 columns, A [m, k] and B [n, k]
// row-major, as dot products of rows (see nk_gemm.h). A linear layer with few outputs (the 10
// logits of a classifier) as register tiles computes 32 columns for 10 and streams 12 rows of A
// at once; these read each row of A once, front to back.
#include "CNeuralKernels.h"

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>

#define NK_T512 __attribute__((target("avx512f,avx2,fma")))
#define NK_T256 __attribute__((target("avx2,fma")))

// The lane reduction both kernels share: s8[i] = l[i] + l[i + 8], then 4, 2 and 1 lanes.
NK_T256 static inline float nk_narrow_hsum8(__m256 s8) {
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
    __m128 s2 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    __m128 s1 = _mm_add_ss(s2, _mm_shuffle_ps(s2, s2, 1));
    return _mm_cvtss_f32(s1);
}

// The epilogue, as the register tiles: alpha * s, or fma(beta, c, alpha * s).
static inline void nk_narrow_store(float *c, float s, float alpha, float beta) {
    *c = beta == 0 ? alpha * s : __builtin_fmaf(beta, *c, alpha * s);
}

// R rows (1 or 2) of A against the N rows of B: 16 lanes per dot product, lane l summing the
// products of k = l (mod 16) in order, one fused multiply-add each; the tail masked (zeros).
#define NK_NARROW512(N, R)                                                                           \
    NK_T512 static void nk_narrow512_##N##_##R(long i, const float *a, long lda, const float *b,     \
                                              long ldb, long k, float *c, long ldc, float alpha,     \
                                              float beta) {                                          \
        __m512 acc[R][N];                                                                            \
        for (int r = 0; r < R; r++)                                                                  \
            for (int j = 0; j < N; j++) acc[r][j] = _mm512_setzero_ps();                             \
        const float *ar = a + i * lda;                                                               \
        long p = 0;                                                                                  \
        for (; p + 16 <= k; p += 16) {                                                               \
            __m512 av[R];                                                                            \
            for (int r = 0; r < R; r++) av[r] = _mm512_loadu_ps(ar + r * lda + p);                   \
            for (int j = 0; j < N; j++) {                                                            \
                __m512 bv = _mm512_loadu_ps(b + j * ldb + p);                                        \
                for (int r = 0; r < R; r++) acc[r][j] = _mm512_fmadd_ps(av[r], bv, acc[r][j]);       \
            }                                                                                        \
        }                                                                                            \
        if (p < k) {                                                                                 \
            __mmask16 m = (__mmask16)((1u << (k - p)) - 1u);                                         \
            __m512 av[R];                                                                            \
            for (int r = 0; r < R; r++) av[r] = _mm512_maskz_loadu_ps(m, ar + r * lda + p);          \
            for (int j = 0; j < N; j++) {                                                            \
                __m512 bv = _mm512_maskz_loadu_ps(m, b + j * ldb + p);                               \
                for (int r = 0; r < R; r++) acc[r][j] = _mm512_fmadd_ps(av[r], bv, acc[r][j]);       \
            }                                                                                        \
        }                                                                                            \
        for (int r = 0; r < R; r++)                                                                  \
            for (int j = 0; j < N; j++) {                                                            \
                __m256 lo = _mm512_castps512_ps256(acc[r][j]);                                       \
                __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(acc[r][j]), 1)); \
                nk_narrow_store(c + (i + r) * ldc + j, nk_narrow_hsum8(_mm256_add_ps(lo, hi)), alpha, beta); \
            }                                                                                        \
    }

// Two rows at a time while their 2N accumulators fit in the 32 registers with the loads.
#define NK_NARROW512_N(N) NK_NARROW512(N, 1) NK_NARROW512(N, 2)
NK_NARROW512_N(1) NK_NARROW512_N(2) NK_NARROW512_N(3) NK_NARROW512_N(4) NK_NARROW512_N(5)
NK_NARROW512_N(6) NK_NARROW512_N(7) NK_NARROW512_N(8) NK_NARROW512_N(9) NK_NARROW512_N(10)
NK_NARROW512_N(11) NK_NARROW512_N(12) NK_NARROW512_N(13) NK_NARROW512_N(14)
NK_NARROW512(15, 1) NK_NARROW512(16, 1)

typedef void (*nk_narrow_fn)(long, const float *, long, const float *, long, long, float *, long, float, float);

// One row and two rows at a time, by width (no two-row kernels past 14 columns).
#define NK_PAIR(N) {nk_narrow512_##N##_1, nk_narrow512_##N##_2}
static const nk_narrow_fn nk_narrow512_table[17][2] = {
    {0, 0}, NK_PAIR(1), NK_PAIR(2), NK_PAIR(3), NK_PAIR(4), NK_PAIR(5), NK_PAIR(6), NK_PAIR(7), NK_PAIR(8),
    NK_PAIR(9), NK_PAIR(10), NK_PAIR(11), NK_PAIR(12), NK_PAIR(13), NK_PAIR(14),
    {nk_narrow512_15_1, 0}, {nk_narrow512_16_1, 0}};

void nk_sgemm_narrow_nt_avx512(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                               float *c, long ldc, float alpha, float beta) {
    const nk_narrow_fn one = nk_narrow512_table[n][0], two = nk_narrow512_table[n][1];
    long i = 0;
    if (two)
        for (; i + 2 <= rows; i += 2) two(i, a, lda, b, ldb, k, c, ldc, alpha, beta);
    for (; i < rows; i++) one(i, a, lda, b, ldb, k, c, ldc, alpha, beta);
}

// The same lanes as two 8-lane halves (lanes 0-7 and 8-15), one row at a time.
NK_T256 void nk_sgemm_narrow_nt_avx2(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                                     float *c, long ldc, float alpha, float beta) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (long i = 0; i < rows; i++) {
        const float *ar = a + i * lda;
        __m256 lo[16], hi[16];
        for (long j = 0; j < n; j++) lo[j] = hi[j] = _mm256_setzero_ps();
        for (long p = 0; p < k; p += 16) {
            long left = k - p;
            __m256i mlo = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 16 ? left : 16)), lane);
            __m256i mhi = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(left < 16 ? left : 16) - 8), lane);
            __m256 alo = _mm256_maskload_ps(ar + p, mlo), ahi = _mm256_maskload_ps(ar + p + 8, mhi);
            for (long j = 0; j < n; j++) {
                lo[j] = _mm256_fmadd_ps(alo, _mm256_maskload_ps(b + j * ldb + p, mlo), lo[j]);
                hi[j] = _mm256_fmadd_ps(ahi, _mm256_maskload_ps(b + j * ldb + p + 8, mhi), hi[j]);
            }
        }
        for (long j = 0; j < n; j++)
            nk_narrow_store(c + i * ldc + j, nk_narrow_hsum8(_mm256_add_ps(lo[j], hi[j])), alpha, beta);
    }
}

#endif

// The portable kernel: the 16 lanes as scalars, the tail as zeros (as the masked loads give them),
// and the lane reduction of nk_narrow_hsum8 after l[i] + l[i + 8].
void nk_sgemm_narrow_nt_portable(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                                 float *c, long ldc, float alpha, float beta) {
    for (long i = 0; i < rows; i++) {
        const float *ar = a + i * lda;
        for (long j = 0; j < n; j++) {
            const float *br = b + j * ldb;
            float l[16];
            for (int q = 0; q < 16; q++) l[q] = 0.0f;
            long p = 0;
            for (; p + 16 <= k; p += 16)
                for (int q = 0; q < 16; q++) l[q] = __builtin_fmaf(ar[p + q], br[p + q], l[q]);
            if (p < k) {
                for (int q = 0; q < 16; q++) {
                    float x = p + q < k ? ar[p + q] : 0.0f, y = p + q < k ? br[p + q] : 0.0f;
                    l[q] = __builtin_fmaf(x, y, l[q]);
                }
            }
            float s8[8], s4[4];
            for (int q = 0; q < 8; q++) s8[q] = l[q] + l[q + 8];
            for (int q = 0; q < 4; q++) s4[q] = s8[q] + s8[q + 4];
            float s2a = s4[0] + s4[2], s2b = s4[1] + s4[3];
            float s = s2a + s2b;
            float *cp = c + i * ldc + j;
            *cp = beta == 0 ? alpha * s : __builtin_fmaf(beta, *cp, alpha * s);
        }
    }
}

#if !defined(__x86_64__)  // never selected (nk_cpu_level() == 0).

void nk_sgemm_narrow_nt_avx512(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                               float *c, long ldc, float alpha, float beta) {
    (void)rows; (void)n; (void)k; (void)a; (void)lda; (void)b; (void)ldb; (void)c; (void)ldc; (void)alpha; (void)beta;
    __builtin_trap();
}
void nk_sgemm_narrow_nt_avx2(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                             float *c, long ldc, float alpha, float beta) {
    nk_sgemm_narrow_nt_avx512(rows, n, k, a, lda, b, ldb, c, ldc, alpha, beta);
}

#endif
