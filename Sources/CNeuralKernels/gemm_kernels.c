// GEMM micro-kernels: the register tile only. Packing, cache blocking, edges and threading
// are in Sources/Neural/Kernels/GEMMDriver.swift; packing of Float32 panels in gemm_pack.c.
#include "CNeuralKernels.h"
#include <string.h>

// Every element of C is one chain of fused multiply-adds over k, written out in every body
// (intrinsics, or __builtin_elementwise_fma in the portable one): the compiler must not fuse or
// split anything on its own, or the levels would round differently.
#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#endif

// Tile shapes (MR x NR); must match the instantiations below.
#define S512_MR 12
#define S512_NV 2   // 12 x 32 floats: 24 zmm accumulators
#define S512W_MR 8
#define S512W_NV 3  // 8 x 48 floats ("wide"): 24 zmm accumulators, for row counts that are multiples of 8
#define D512_MR 12
#define D512_NV 2   // 12 x 16 doubles
#define S256_MR 6
#define S256_NV 2   // 6 x 16 floats: 12 ymm accumulators
#define D256_MR 6
#define D256_NV 2   // 6 x 8 doubles
#define SP_MR 4
#define SP_NV 4     // 4 x 16 floats (4-lane generic vectors)
#define DP_MR 4
#define DP_NV 4     // 4 x 8 doubles (2-lane generic vectors)

void nk_gemm_tile(int level, int dbl, long *mr, long *nr) {
    switch (level) {
    case 2: *mr = dbl ? D512_MR : S512_MR; *nr = dbl ? D512_NV * 8 : S512_NV * 16; break;
    case 1: *mr = dbl ? D256_MR : S256_MR; *nr = dbl ? D256_NV * 4 : S256_NV * 8; break;
    default: *mr = dbl ? DP_MR : SP_MR; *nr = dbl ? DP_NV * 2 : SP_NV * 4; break;
    }
}

int nk_gemm_tile_wide(int level, int dbl, long *mr, long *nr) {
    if (level != 2 || dbl) return 0;
    *mr = S512W_MR;
    *nr = S512W_NV * 16;
    return 1;
}

// ---------------------------------------------------------------------------------------
// x86-64: AVX-512F and AVX2+FMA kernels, compiled per function for their instruction set.
#if defined(__x86_64__)

#define UKR_PREFETCH_C(p) do { _mm_prefetch((const char *)(p), _MM_HINT_T0); \
                               _mm_prefetch((const char *)((p) + UKR_NR - 1), _MM_HINT_T0); } while (0)

#define UKR_TARGET __attribute__((target("avx512f,fma")))
#define UKR_V __m512
#define UKR_VL 16
#define UKR_SET1 _mm512_set1_ps
#define UKR_ZERO _mm512_setzero_ps
#define UKR_LOAD _mm512_load_ps
#define UKR_LOADU _mm512_loadu_ps
#define UKR_STOREU _mm512_storeu_ps
#define UKR_FMADD _mm512_fmadd_ps
#define UKR_MUL _mm512_mul_ps
#define UKR_T float
// The kernels that read a packed B prefetch the next B micro-panel (see the template).
#define UKR_PREFETCH_NEXT
#define UKR_NAME nk_sgemm_ukr_avx512
#define UKR_MR S512_MR
#define UKR_NV S512_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV
#define UKR_NAME nk_sgemm_ukr_avx512_wide
#define UKR_MR S512W_MR
#define UKR_NV S512W_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV
// A read in place (no packing) for both tiles.
#define UKR_DIRECT_A
#define UKR_NAME nk_sgemm_ukr_avx512_direct
#define UKR_MR S512_MR
#define UKR_NV S512_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV
#define UKR_NAME nk_sgemm_ukr_avx512_wide_direct
#define UKR_MR S512W_MR
#define UKR_NV S512W_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV
#undef UKR_PREFETCH_NEXT
// A and B read in place.
#define UKR_DIRECT_B
#define UKR_NAME nk_sgemm_ukr_avx512_direct_ab
#define UKR_MR S512_MR
#define UKR_NV S512_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV
#define UKR_NAME nk_sgemm_ukr_avx512_wide_direct_ab
#define UKR_MR S512W_MR
#define UKR_NV S512W_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV
#undef UKR_DIRECT_A
// Packed A, B read in place.
#define UKR_NAME nk_sgemm_ukr_avx512_direct_b
#define UKR_MR S512_MR
#define UKR_NV S512_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV
#define UKR_NAME nk_sgemm_ukr_avx512_wide_direct_b
#define UKR_MR S512W_MR
#define UKR_NV S512W_NV
#include "gemm_ukr_template.h"
#undef UKR_DIRECT_B
#undef UKR_V
#undef UKR_VL
#undef UKR_SET1
#undef UKR_ZERO
#undef UKR_LOAD
#undef UKR_LOADU
#undef UKR_STOREU
#undef UKR_FMADD
#undef UKR_MUL
#undef UKR_T
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV

#define UKR_V __m512d
#define UKR_VL 8
#define UKR_SET1 _mm512_set1_pd
#define UKR_ZERO _mm512_setzero_pd
#define UKR_LOAD _mm512_load_pd
#define UKR_LOADU _mm512_loadu_pd
#define UKR_STOREU _mm512_storeu_pd
#define UKR_FMADD _mm512_fmadd_pd
#define UKR_MUL _mm512_mul_pd
#define UKR_T double
#define UKR_NAME nk_dgemm_ukr_avx512
#define UKR_MR D512_MR
#define UKR_NV D512_NV
#include "gemm_ukr_template.h"
#undef UKR_TARGET
#undef UKR_V
#undef UKR_VL
#undef UKR_SET1
#undef UKR_ZERO
#undef UKR_LOAD
#undef UKR_LOADU
#undef UKR_STOREU
#undef UKR_FMADD
#undef UKR_MUL
#undef UKR_T
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV

#define UKR_TARGET __attribute__((target("avx2,fma")))
#define UKR_V __m256
#define UKR_VL 8
#define UKR_SET1 _mm256_set1_ps
#define UKR_ZERO _mm256_setzero_ps
#define UKR_LOAD _mm256_load_ps
#define UKR_LOADU _mm256_loadu_ps
#define UKR_STOREU _mm256_storeu_ps
#define UKR_FMADD _mm256_fmadd_ps
#define UKR_MUL _mm256_mul_ps
#define UKR_T float
// The same family as AVX-512F: packed, A in place, A and B in place, B in place; the kernels
// that read a packed B prefetch the next B micro-panel.
#define UKR_PREFETCH_NEXT
#define UKR_NAME nk_sgemm_ukr_avx2
#define UKR_MR S256_MR
#define UKR_NV S256_NV
#include "gemm_ukr_template.h"
#undef UKR_NAME
#define UKR_DIRECT_A
#define UKR_NAME nk_sgemm_ukr_avx2_direct
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_PREFETCH_NEXT
#define UKR_DIRECT_B
#define UKR_NAME nk_sgemm_ukr_avx2_direct_ab
#include "gemm_ukr_template.h"
#undef UKR_NAME
#undef UKR_DIRECT_A
#define UKR_NAME nk_sgemm_ukr_avx2_direct_b
#include "gemm_ukr_template.h"
#undef UKR_DIRECT_B
#undef UKR_V
#undef UKR_VL
#undef UKR_SET1
#undef UKR_ZERO
#undef UKR_LOAD
#undef UKR_LOADU
#undef UKR_STOREU
#undef UKR_FMADD
#undef UKR_MUL
#undef UKR_T
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV

#define UKR_V __m256d
#define UKR_VL 4
#define UKR_SET1 _mm256_set1_pd
#define UKR_ZERO _mm256_setzero_pd
#define UKR_LOAD _mm256_load_pd
#define UKR_LOADU _mm256_loadu_pd
#define UKR_STOREU _mm256_storeu_pd
#define UKR_FMADD _mm256_fmadd_pd
#define UKR_MUL _mm256_mul_pd
#define UKR_T double
#define UKR_NAME nk_dgemm_ukr_avx2
#define UKR_MR D256_MR
#define UKR_NV D256_NV
#include "gemm_ukr_template.h"
#undef UKR_TARGET
#undef UKR_V
#undef UKR_VL
#undef UKR_SET1
#undef UKR_ZERO
#undef UKR_LOAD
#undef UKR_LOADU
#undef UKR_STOREU
#undef UKR_FMADD
#undef UKR_MUL
#undef UKR_T
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV

#undef UKR_PREFETCH_C

#else  // not x86-64: the SIMD entry points exist but are never selected (nk_cpu_level() == 0).

void nk_sgemm_ukr_avx512_direct(long kc, const float *const *ar, const float *b, float *c, long ldc,
                                float alpha, float beta, long mr, long nr, const char *pf, long pfLines) {
    (void)kc; (void)ar; (void)b; (void)c; (void)ldc; (void)alpha; (void)beta; (void)mr; (void)nr;
    (void)pf; (void)pfLines;
    __builtin_trap();  // unreachable: selected only when nk_cpu_level() >= 2
}
void nk_sgemm_ukr_avx512_wide_direct(long kc, const float *const *ar, const float *b, float *c, long ldc,
                                     float alpha, float beta, long mr, long nr, const char *pf, long pfLines) {
    nk_sgemm_ukr_avx512_direct(kc, ar, b, c, ldc, alpha, beta, mr, nr, pf, pfLines);
}
void nk_sgemm_ukr_avx512_direct_ab(long kc, const float *const *ar, const float *bb, const long *bo, float *c,
                                   long ldc, float alpha, float beta, long mr, long nr) {
    (void)kc; (void)ar; (void)bb; (void)bo; (void)c; (void)ldc; (void)alpha; (void)beta; (void)mr; (void)nr;
    __builtin_trap();  // unreachable: selected only when nk_cpu_level() >= 2
}
void nk_sgemm_ukr_avx512_wide_direct_ab(long kc, const float *const *ar, const float *bb, const long *bo, float *c,
                                        long ldc, float alpha, float beta, long mr, long nr) {
    nk_sgemm_ukr_avx512_direct_ab(kc, ar, bb, bo, c, ldc, alpha, beta, mr, nr);
}
void nk_sgemm_ukr_avx512_direct_b(long kc, const float *a, const float *bb, const long *bo, float *c, long ldc,
                                  float alpha, float beta, long mr, long nr) {
    (void)kc; (void)a; (void)bb; (void)bo; (void)c; (void)ldc; (void)alpha; (void)beta; (void)mr; (void)nr;
    __builtin_trap();  // unreachable: selected only when nk_cpu_level() >= 2
}
void nk_sgemm_ukr_avx512_wide_direct_b(long kc, const float *a, const float *bb, const long *bo, float *c, long ldc,
                                       float alpha, float beta, long mr, long nr) {
    nk_sgemm_ukr_avx512_direct_b(kc, a, bb, bo, c, ldc, alpha, beta, mr, nr);
}

void nk_sgemm_ukr_avx512_wide(long kc, const float *a, const float *b, float *c, long ldc,
                              float alpha, float beta, long mr, long nr, const char *pf, long pfLines) {
    (void)pf; (void)pfLines;
    nk_sgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr);
}

void nk_sgemm_ukr_avx512(long kc, const float *a, const float *b, float *c, long ldc,
                         float alpha, float beta, long mr, long nr, const char *pf, long pfLines) {
    (void)pf; (void)pfLines;
    nk_sgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr);
}
void nk_sgemm_ukr_avx2(long kc, const float *a, const float *b, float *c, long ldc,
                       float alpha, float beta, long mr, long nr, const char *pf, long pfLines) {
    (void)pf; (void)pfLines;
    nk_sgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr);
}
void nk_sgemm_ukr_avx2_direct(long kc, const float *const *ar, const float *b, float *c, long ldc,
                              float alpha, float beta, long mr, long nr, const char *pf, long pfLines) {
    nk_sgemm_ukr_avx512_direct(kc, ar, b, c, ldc, alpha, beta, mr, nr, pf, pfLines);
}
void nk_sgemm_ukr_avx2_direct_ab(long kc, const float *const *ar, const float *bb, const long *bo, float *c,
                                 long ldc, float alpha, float beta, long mr, long nr) {
    nk_sgemm_ukr_avx512_direct_ab(kc, ar, bb, bo, c, ldc, alpha, beta, mr, nr);
}
void nk_sgemm_ukr_avx2_direct_b(long kc, const float *a, const float *bb, const long *bo, float *c, long ldc,
                                float alpha, float beta, long mr, long nr) {
    nk_sgemm_ukr_avx512_direct_b(kc, a, bb, bo, c, ldc, alpha, beta, mr, nr);
}
void nk_dgemm_ukr_avx512(long kc, const double *a, const double *b, double *c, long ldc,
                         double alpha, double beta, long mr, long nr) {
    nk_dgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr);
}
void nk_dgemm_ukr_avx2(long kc, const double *a, const double *b, double *c, long ldc,
                       double alpha, double beta, long mr, long nr) {
    nk_dgemm_ukr_portable(kc, a, b, c, ldc, alpha, beta, mr, nr);
}

#endif

// ---------------------------------------------------------------------------------------
// Portable kernels: generic 16-byte vectors (SSE2 on x86-64, NEON on arm64) with explicit fused
// multiply-adds (one instruction where the target has FMA, the C library's exact fmaf/fma on an
// x86-64 baseline build), so that they round as the AVX2 and AVX-512F kernels do.

typedef float nk_v4f __attribute__((vector_size(16)));
typedef double nk_v2d __attribute__((vector_size(16)));

static inline nk_v4f nk_v4f_set1(float x) { return (nk_v4f){x, x, x, x}; }
static inline nk_v4f nk_v4f_zero(void) { return (nk_v4f){0, 0, 0, 0}; }
static inline nk_v4f nk_v4f_load(const float *p) { nk_v4f v; memcpy(&v, p, sizeof v); return v; }
static inline void nk_v4f_store(float *p, nk_v4f v) { memcpy(p, &v, sizeof v); }
static inline nk_v4f nk_v4f_fmadd(nk_v4f a, nk_v4f b, nk_v4f c) { return __builtin_elementwise_fma(a, b, c); }
static inline nk_v4f nk_v4f_mul(nk_v4f a, nk_v4f b) { return a * b; }

static inline nk_v2d nk_v2d_set1(double x) { return (nk_v2d){x, x}; }
static inline nk_v2d nk_v2d_zero(void) { return (nk_v2d){0, 0}; }
static inline nk_v2d nk_v2d_load(const double *p) { nk_v2d v; memcpy(&v, p, sizeof v); return v; }
static inline void nk_v2d_store(double *p, nk_v2d v) { memcpy(p, &v, sizeof v); }
static inline nk_v2d nk_v2d_fmadd(nk_v2d a, nk_v2d b, nk_v2d c) { return __builtin_elementwise_fma(a, b, c); }
static inline nk_v2d nk_v2d_mul(nk_v2d a, nk_v2d b) { return a * b; }

#define UKR_PREFETCH_C(p) ((void)0)
#define UKR_TARGET

#define UKR_V nk_v4f
#define UKR_VL 4
#define UKR_SET1 nk_v4f_set1
#define UKR_ZERO nk_v4f_zero
#define UKR_LOAD nk_v4f_load
#define UKR_LOADU nk_v4f_load
#define UKR_STOREU nk_v4f_store
#define UKR_FMADD nk_v4f_fmadd
#define UKR_MUL nk_v4f_mul
#define UKR_T float
#define UKR_NAME nk_sgemm_ukr_portable
#define UKR_MR SP_MR
#define UKR_NV SP_NV
#include "gemm_ukr_template.h"
#undef UKR_V
#undef UKR_VL
#undef UKR_SET1
#undef UKR_ZERO
#undef UKR_LOAD
#undef UKR_LOADU
#undef UKR_STOREU
#undef UKR_FMADD
#undef UKR_MUL
#undef UKR_T
#undef UKR_NAME
#undef UKR_MR
#undef UKR_NV

#define UKR_V nk_v2d
#define UKR_VL 2
#define UKR_SET1 nk_v2d_set1
#define UKR_ZERO nk_v2d_zero
#define UKR_LOAD nk_v2d_load
#define UKR_LOADU nk_v2d_load
#define UKR_STOREU nk_v2d_store
#define UKR_FMADD nk_v2d_fmadd
#define UKR_MUL nk_v2d_mul
#define UKR_T double
#define UKR_NAME nk_dgemm_ukr_portable
#define UKR_MR DP_MR
#define UKR_NV DP_NV
#include "gemm_ukr_template.h"
