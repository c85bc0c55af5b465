#ifndef NK_GEMM_H
#define NK_GEMM_H

/// GEMM register-tile micro-kernels (one per element type and instruction set).
///
/// Each computes an MR x NR tile of C from packed panels:
///   a: kc steps of MR elements (A micro-panel, k-major, zero-padded past the matrix edge)
///   b: kc steps of NR elements (B micro-panel, k-major, zero-padded, 64-byte aligned)
///   C[0..<mr][0..<nr] (row stride ldc) = alpha * a*b + beta * C;  beta == 0 never reads C.
/// Every element is one fused multiply-add chain over k in order, so the result of an element
/// does not depend on where its tile lies or on which kernel (AVX-512 / AVX2 / portable) computed it.
/// Call only the kernels for a level <= nk_cpu_level(); tile sizes from nk_gemm_tile().

/// Tile shape of the kernel for `level` (0 portable, 1 AVX2+FMA, 2 AVX-512F);
/// `dbl` = 0 for float, 1 for double.
void nk_gemm_tile(int level, int dbl, long *mr, long *nr);

/// The second Float32 tile of `level`, if it has one (returns 1 and sets mr, nr; else 0):
/// AVX-512F has 8 x 48 ("wide") beside 12 x 32, for matrices whose rows divide by 8 (a layer of
/// 64 channels wastes 1/9 of the 12 x 32 tiles). Same per-element arithmetic as the main tile.
int nk_gemm_tile_wide(int level, int dbl, long *mr, long *nr);

/// The AVX-512F tiles on packed panels. They also prefetch into L2 the `pfLines` cache lines
/// from `pf` on (none when pfLines = 0; pf is never read otherwise), two per 4 steps of k: the
/// driver hands each tile of a row block its slice of the next packed B micro-panel, which would
/// otherwise come from L3 at the first tile's full speed. Two lines per 4 steps let a row block
/// of 6 tiles at kc = 1024 cover a whole 12 × 32 panel (docs/PERFORMANCE.md).
void nk_sgemm_ukr_avx512_wide(long kc, const float *a, const float *b, float *c, long ldc,
                              float alpha, float beta, long mr, long nr, const char *pf, long pfLines);
void nk_sgemm_ukr_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                         float alpha, float beta, long mr, long nr, const char *pf, long pfLines);
/// The AVX-512F tiles with A read in place instead of from a packed panel: ar[i] is the start
/// of row i of the tile's A block (kc contiguous floats); rows i >= mr must point at readable
/// memory (e.g. repeat row 0) and their results are dropped. The same fused multiply-add chain
/// per element as the packed kernels, so the same bits. For A blocks that are row-major already
/// (untransposed A, or rows through a row table): no transposed packing of A. B is packed, and
/// `pf`, `pfLines` prefetch as in the packed kernels.
void nk_sgemm_ukr_avx512_direct(long kc, const float *const *ar, const float *b, float *c, long ldc,
                                float alpha, float beta, long mr, long nr, const char *pf, long pfLines);
void nk_sgemm_ukr_avx512_wide_direct(long kc, const float *const *ar, const float *b, float *c, long ldc,
                                     float alpha, float beta, long mr, long nr, const char *pf, long pfLines);
/// The same with B read in place too (`_ab`), or only B (`_b`, A packed): step p of the tile's
/// B block is the NR floats at bb + bo[p] (unaligned; a full NR columns are always read, so only
/// whole panels may be read in place). The same bits as the packed kernels.
void nk_sgemm_ukr_avx512_direct_ab(long kc, const float *const *ar, const float *bb, const long *bo, float *c,
                                   long ldc, float alpha, float beta, long mr, long nr);
void nk_sgemm_ukr_avx512_wide_direct_ab(long kc, const float *const *ar, const float *bb, const long *bo, float *c,
                                        long ldc, float alpha, float beta, long mr, long nr);
void nk_sgemm_ukr_avx512_direct_b(long kc, const float *a, const float *bb, const long *bo, float *c, long ldc,
                                  float alpha, float beta, long mr, long nr);
void nk_sgemm_ukr_avx512_wide_direct_b(long kc, const float *a, const float *bb, const long *bo, float *c, long ldc,
                                       float alpha, float beta, long mr, long nr);
/// The AVX2+FMA tile (6 x 16: 12 ymm accumulators, 2 for B, 1 for A, of the 16) on packed panels,
/// with A in place (`_direct`), A and B in place (`_direct_ab`) and B in place (`_direct_b`), each
/// as the AVX-512F kernel of the same name (the same parameters, the same prefetch of the next
/// packed B micro-panel, the same fused multiply-add chain per element: the same bits).
void nk_sgemm_ukr_avx2(long kc, const float *a, const float *b, float *c, long ldc,
                       float alpha, float beta, long mr, long nr, const char *pf, long pfLines);
void nk_sgemm_ukr_avx2_direct(long kc, const float *const *ar, const float *b, float *c, long ldc,
                              float alpha, float beta, long mr, long nr, const char *pf, long pfLines);
void nk_sgemm_ukr_avx2_direct_ab(long kc, const float *const *ar, const float *bb, const long *bo, float *c,
                                 long ldc, float alpha, float beta, long mr, long nr);
void nk_sgemm_ukr_avx2_direct_b(long kc, const float *a, const float *bb, const long *bo, float *c, long ldc,
                                float alpha, float beta, long mr, long nr);
/// The portable tiles (generic 16-byte vectors, explicit fused multiply-adds: the same bits as
/// the SIMD levels, at a fraction of their speed where the target lacks FMA instructions).
void nk_sgemm_ukr_portable(long kc, const float *a, const float *b, float *c, long ldc,
                           float alpha, float beta, long mr, long nr);

/// Narrow products, C = alpha * A Bᵀ + beta * C for C [rows, n] with 1 <= n <= 16, A [rows, k]
/// and B [n, k] row-major (row strides lda, ldb, ldc): each element is a dot product of a row of A
/// and a row of B in 16 lanes (lane l sums the products of k = l mod 16 in order, one fused
/// multiply-add each), reduced in a fixed order, then alpha * s or fma(beta, c, alpha * s); beta
/// == 0 never reads C. Rows are independent: any split of the rows gives the same bits, and the
/// AVX2 kernel (the 16 lanes as two halves) and the portable one (16 scalar lanes, fmaf) the same
/// bits as the AVX-512F one.
void nk_sgemm_narrow_nt_avx512(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                               float *c, long ldc, float alpha, float beta);
void nk_sgemm_narrow_nt_avx2(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                             float *c, long ldc, float alpha, float beta);
void nk_sgemm_narrow_nt_portable(long rows, long n, long k, const float *a, long lda, const float *b, long ldb,
                                 float *c, long ldc, float alpha, float beta);

void nk_dgemm_ukr_avx512(long kc, const double *a, const double *b, double *c, long ldc,
                         double alpha, double beta, long mr, long nr);
void nk_dgemm_ukr_avx2(long kc, const double *a, const double *b, double *c, long ldc,
                       double alpha, double beta, long mr, long nr);
void nk_dgemm_ukr_portable(long kc, const double *a, const double *b, double *c, long ldc,
                           double alpha, double beta, long mr, long nr);

/// Bytes of the level-`level` (1, 2, 3) data or unified cache of the first core: from sysfs
/// (/sys/devices/system/cpu/cpu0/cache), else cpuid; 0 when neither tells. For cache blocking only.
long nk_cache_bytes(int level);

#endif
