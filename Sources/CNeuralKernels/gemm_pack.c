// Packing of Float32 GEMM operands into micro-panels (see nk_pack.h): AVX-512F, AVX2 and portable
// bodies, pure data movement; the blocking that decides what to pack is in
// Sources/Neural/Kernels/GEMMDriver.swift.
#include "CNeuralKernels.h"
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#include "transpose16.h"
#endif

// ---------------------------------------------------------------------------------------
// Portable versions (the compiler vectorizes them for the baseline instruction set).

/// Row p of the source: src + p * ld, or src + rows[p] when a row table is given.
static inline const float *pack_row(const float *src, long ld, const long *rows, long p) {
    return rows ? src + rows[p] : src + p * ld;
}

/// The multi-panel case of the transposed packs (count > width): one `pack` call per panel.
typedef void (*pack_fn)(const float *, long, const long *, long, long, long, float *);
static int pack_panels(pack_fn pack, const float *src, long ld, const long *rows, long count, long width,
                       long depth, float *dst) {
    if (count <= width) return 0;
    for (long j = 0; j * width < count; j++) {
        long n = count - j * width < width ? count - j * width : width;
        pack(rows ? src : src + j * width * ld, ld, rows ? rows + j * width : 0, n, width, depth, dst + j * width * depth);
    }
    return 1;
}

void nk_spack_runs_portable(const float *src, long ld, const long *rows, long count, long width,
                                long depth, float *dst) {
    for (long p = 0; p < depth; p++) {
        const float *s = pack_row(src, ld, rows, p);
        float *d = dst + p * width;
        for (long i = 0; i < count; i++) d[i] = s[i];
        for (long i = count; i < width; i++) d[i] = 0.0f;
    }
}

void nk_spack_transposed_portable(const float *src, long ld, const long *rows, long count,
                                      long width, long depth, float *dst) {
    if (pack_panels(nk_spack_transposed_portable, src, ld, rows, count, width, depth, dst)) return;
    long count4 = count & ~3L, depth4 = depth & ~3L;
    long i = 0;
    for (; i < count4; i += 4) {
        const float *r0 = pack_row(src, ld, rows, i), *r1 = pack_row(src, ld, rows, i + 1);
        const float *r2 = pack_row(src, ld, rows, i + 2), *r3 = pack_row(src, ld, rows, i + 3);
        long p = 0;
        // 4 x 4 blocks: reads 4 runs of 4 depths, writes 4 runs of 4 lanes.
        for (; p < depth4; p += 4) {
            float x0[4], x1[4], x2[4], x3[4];
            memcpy(x0, r0 + p, sizeof x0); memcpy(x1, r1 + p, sizeof x1);
            memcpy(x2, r2 + p, sizeof x2); memcpy(x3, r3 + p, sizeof x3);
            for (int q = 0; q < 4; q++) {
                float *d = dst + (p + q) * width + i;
                d[0] = x0[q]; d[1] = x1[q]; d[2] = x2[q]; d[3] = x3[q];
            }
        }
        for (; p < depth; p++) {
            float *d = dst + p * width + i;
            d[0] = r0[p]; d[1] = r1[p]; d[2] = r2[p]; d[3] = r3[p];
        }
    }
    for (; i < count; i++) {
        const float *row = pack_row(src, ld, rows, i);
        for (long p = 0; p < depth; p++) dst[p * width + i] = row[p];
    }
    if (count < width) {
        for (long p = 0; p < depth; p++)
            for (long j = count; j < width; j++) dst[p * width + j] = 0.0f;
    }
}

// ---------------------------------------------------------------------------------------
// AVX-512F versions.
#if defined(__x86_64__)

#define PACK_TARGET __attribute__((target("avx512f")))

/// The low n (0...16) bits set.
static inline __mmask16 pack_mask(long n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

PACK_TARGET
void nk_spack_runs_avx512(const float *src, long ld, const long *rows, long count, long width,
                           long depth, float *dst) {
    if (width == 32 && count == 32) {
        // The common full B micro-panels: two or three whole vectors per depth.
        for (long p = 0; p < depth; p++) {
            const float *s = pack_row(src, ld, rows, p);
            float *d = dst + p * 32;
            __m512 x0 = _mm512_loadu_ps(s), x1 = _mm512_loadu_ps(s + 16);
            _mm512_storeu_ps(d, x0);
            _mm512_storeu_ps(d + 16, x1);
        }
        return;
    }
    if (width == 48 && count == 48) {
        for (long p = 0; p < depth; p++) {
            const float *s = pack_row(src, ld, rows, p);
            float *d = dst + p * 48;
            __m512 x0 = _mm512_loadu_ps(s), x1 = _mm512_loadu_ps(s + 16), x2 = _mm512_loadu_ps(s + 32);
            _mm512_storeu_ps(d, x0);
            _mm512_storeu_ps(d + 16, x1);
            _mm512_storeu_ps(d + 32, x2);
        }
        return;
    }
    for (long p = 0; p < depth; p++) {
        const float *s = pack_row(src, ld, rows, p);
        float *d = dst + p * width;
        for (long i = 0; i < width; i += 16) {
            // Masked-off lanes are not read (no fault past the edge) and load as +0.
            __m512 x = _mm512_maskz_loadu_ps(pack_mask(count - i), s + i);
            _mm512_mask_storeu_ps(d + i, pack_mask(width - i), x);
        }
    }
}

/// v[r] = row(i0 + r)[p0 ..< p0 + steps] for r < live, zero rows after (the zero lanes of a panel).
/// The 16 rows are 16 separate streams: each is prefetched a few cache lines ahead.
PACK_TARGET
static inline void pack_load16(__m512 v[16], const float *src, long ld, const long *rows, long i0, long live,
                               long p0, long steps, long depth) {
    __mmask16 loadMask = pack_mask(steps);
#pragma clang loop unroll(full)
    for (long r = 0; r < 16; r++) {
        const float *row = pack_row(src, ld, rows, i0 + (r < live ? r : 0)) + p0;
        if (p0 + 64 < depth) _mm_prefetch((const char *)(row + 64), _MM_HINT_T0);
        v[r] = r < live ? _mm512_maskz_loadu_ps(loadMask, row) : _mm512_setzero_ps();
    }
}

PACK_TARGET
void nk_spack_transposed_avx512(const float *src, long ld, const long *rows, long count,
                                 long width, long depth, float *dst) {
    if (width == 8 && count > 8 && count <= 16) {
        // Two 8-wide panels from one 16 x 16 transpose: rows 0..<8 to the first, 8..<count to the next.
        float *d1 = dst + 8 * depth;
        for (long p0 = 0; p0 < depth; p0 += 16) {
            long steps = depth - p0 < 16 ? depth - p0 : 16;
            __m512 v[16];
            pack_load16(v, src, ld, rows, 0, count, p0, steps, depth);
            nk_transpose16(v);
            for (long q = 0; q < steps; q++) {
                _mm512_mask_storeu_ps(dst + (p0 + q) * 8, 0xFF, v[q]);
                _mm512_mask_storeu_ps(d1 + (p0 + q) * 8, 0xFF, _mm512_shuffle_f32x4(v[q], v[q], 0xEE));
            }
        }
        return;
    }
    if (pack_panels(nk_spack_transposed_avx512, src, ld, rows, count, width, depth, dst)) return;
    for (long i0 = 0; i0 < width; i0 += 16) {
        long live = count - i0;
        if (live > 16) live = 16;
        if (live < 0) live = 0;
        __mmask16 storeMask = pack_mask(width - i0);
        for (long p0 = 0; p0 < depth; p0 += 16) {
            long steps = depth - p0 < 16 ? depth - p0 : 16;
            __m512 v[16];
            pack_load16(v, src, ld, rows, i0, live, p0, steps, depth);
            nk_transpose16(v);
            float *d = dst + p0 * width + i0;
            for (long q = 0; q < steps; q++) _mm512_mask_storeu_ps(d + q * width, storeMask, v[q]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// AVX2 versions (for the 6 x 16 tiles: B panels 16 wide, A panels 6 wide).

#define PACK_TARGET256 __attribute__((target("avx2,fma")))

/// Lanes 0 ..< n (0...8) of a ymm mask.
PACK_TARGET256
static inline __m256i pack_mask8(long n) {
    long c = n < 0 ? 0 : n > 8 ? 8 : n;
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

/// Stores the first `lanes` of x at d. Masked stores are slow on some AVX2 cores (AMD): where
/// `more` (a store that follows covers d[lanes ..< 8]: the next depth's first lanes), all 8 lanes
/// are stored instead.
PACK_TARGET256
static inline void pack_store8(float *d, long lanes, int more, __m256 x) {
    if (lanes >= 8 || more) _mm256_storeu_ps(d, x);
    else _mm256_maskstore_ps(d, pack_mask8(lanes), x);
}

PACK_TARGET256
void nk_spack_runs_avx2(const float *src, long ld, const long *rows, long count, long width,
                        long depth, float *dst) {
    if (width == 16 && count == 16) {
        // The common full B micro-panels: two whole vectors per depth.
        for (long p = 0; p < depth; p++) {
            const float *s = pack_row(src, ld, rows, p);
            float *d = dst + p * 16;
            __m256 x0 = _mm256_loadu_ps(s), x1 = _mm256_loadu_ps(s + 8);
            _mm256_storeu_ps(d, x0);
            _mm256_storeu_ps(d + 8, x1);
        }
        return;
    }
    for (long p = 0; p < depth; p++) {
        const float *s = pack_row(src, ld, rows, p);
        float *d = dst + p * width;
        for (long i = 0; i < width; i += 8) {
            // Masked-off lanes are not read (no fault past the edge) and load as +0.
            __m256 x = _mm256_maskload_ps(s + i, pack_mask8(count - i));
            pack_store8(d + i, width - i, p + 1 < depth, x);
        }
    }
}

PACK_TARGET256
void nk_spack_transposed_avx2(const float *src, long ld, const long *rows, long count,
                              long width, long depth, float *dst) {
    if (pack_panels(nk_spack_transposed_avx2, src, ld, rows, count, width, depth, dst)) return;
    for (long i0 = 0; i0 < width; i0 += 8) {
        long live = count - i0;
        if (live > 8) live = 8;
        if (live < 0) live = 0;
        const float *r[8];
        for (long q = 0; q < 8; q++) r[q] = q < live ? pack_row(src, ld, rows, i0 + q) : 0;
        float *d = dst + i0;
        long p0 = 0;
        for (; p0 + 8 <= depth; p0 += 8) {
            __m256 v[8];
#pragma clang loop unroll(full)
            for (long q = 0; q < 8; q++) v[q] = q < live ? _mm256_loadu_ps(r[q] + p0) : _mm256_setzero_ps();
            nk_transpose8(v);
#pragma clang loop unroll(full)
            for (long q = 0; q < 8; q++) pack_store8(d + (p0 + q) * width, width - i0, i0 == 0 && p0 + q + 1 < depth, v[q]);
        }
        if (p0 < depth) {
            long steps = depth - p0;
            __m256i loadMask = pack_mask8(steps);
            __m256 v[8];
            for (long q = 0; q < 8; q++) v[q] = q < live ? _mm256_maskload_ps(r[q] + p0, loadMask) : _mm256_setzero_ps();
            nk_transpose8(v);
            for (long q = 0; q < steps; q++) pack_store8(d + (p0 + q) * width, width - i0, i0 == 0 && p0 + q + 1 < depth, v[q]);
        }
    }
}

#else

void nk_spack_runs_avx2(const float *src, long ld, const long *rows, long count, long width,
                        long depth, float *dst) {
    nk_spack_runs_portable(src, ld, rows, count, width, depth, dst);
}

void nk_spack_transposed_avx2(const float *src, long ld, const long *rows, long count,
                              long width, long depth, float *dst) {
    nk_spack_transposed_portable(src, ld, rows, count, width, depth, dst);
}

void nk_spack_runs_avx512(const float *src, long ld, const long *rows, long count, long width,
                          long depth, float *dst) {
    nk_spack_runs_portable(src, ld, rows, count, width, depth, dst);
}

void nk_spack_transposed_avx512(const float *src, long ld, const long *rows, long count,
                                long width, long depth, float *dst) {
    nk_spack_transposed_portable(src, ld, rows, count, width, depth, dst);
}

#endif
