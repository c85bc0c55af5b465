// Depthwise 2-D convolution, Float32, direct (see nk_dwconv.h): the input and weight gradients (the
// forward pass is in dwconv_forward.c). The input gradient is a "row correlation": a row of it is a
// sum over taps, each tap a weight times
// a contiguous input row shifted by an offset, lanes whose shifted index leaves the input row
// skipped. One row kernel per level (AVX-512: 16 lanes, masked adds at the borders; AVX2: 8 lanes
// and blends; portable) computes it with the same operations per lane, in tap order, without
// fused multiply-adds, so every level gives the same bits.
#include "CNeuralKernels.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#define NK_AVX512 __attribute__((target("avx512f")))
#define NK_AVX2 __attribute__((target("avx2,fma")))
#endif

static inline float dw_relu(float z) { return z > 0 ? z : 0; }

/// out[l] += w · row[off + l] for the lanes with 0 ≤ off + l < len.
typedef struct {
    const float *row;
    long off;
    float w;
} dw_tap;

// ---------------------------------------------------------------------------------------------
// Row kernels: out[l] = act(Σ_k taps (skipping invalid lanes) (+ bias)) for l < n.

static void dw_row_portable(float *out, long n, const dw_tap *t, long taps, long len, const float *bias, int relu) {
    for (long l = 0; l < n; l++) {
        float acc = 0.0f;
        for (long k = 0; k < taps; k++) {
            long idx = t[k].off + l;
            if (idx >= 0 && idx < len) acc = acc + t[k].w * t[k].row[idx];
        }
        if (bias) acc = acc + *bias;
        out[l] = relu ? dw_relu(acc) : acc;
    }
}

/// The valid lanes [lo, hi) of a chunk of `c` lanes whose lane 0 reads index `base` of a row of `len`.
static inline void dw_lanes(long base, long len, long c, long *lo, long *hi) {
    *lo = base < 0 ? -base : 0;
    long h = len - base;
    *hi = h < c ? h : c;
}

#if defined(__x86_64__)
NK_AVX512 static void dw_row_512(float *out, long n, const dw_tap *t, long taps, long len, const float *bias, int relu) {
    for (long l0 = 0; l0 < n; l0 += 16) {
        long c = n - l0 < 16 ? n - l0 : 16;
        __m512 acc = _mm512_setzero_ps();
        for (long k = 0; k < taps; k++) {
            long base = t[k].off + l0, lo, hi;
            dw_lanes(base, len, c, &lo, &hi);
            if (hi <= lo) continue;
            __m512 wv = _mm512_set1_ps(t[k].w);
            if (lo == 0 && hi == 16) {
                acc = _mm512_add_ps(acc, _mm512_mul_ps(wv, _mm512_loadu_ps(t[k].row + base)));
            } else {
                __mmask16 m = (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
                __m512 xv = _mm512_maskz_loadu_ps(m, t[k].row + base);
                acc = _mm512_mask_add_ps(acc, m, acc, _mm512_mul_ps(wv, xv));
            }
        }
        if (bias) acc = _mm512_add_ps(acc, _mm512_set1_ps(*bias));
        if (relu) acc = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(acc, _mm512_setzero_ps(), _CMP_GT_OQ), acc);
        _mm512_mask_storeu_ps(out + l0, (__mmask16)((1u << c) - 1u), acc);
    }
}

/// Lanes lo ≤ l < hi of 8 as an integer mask.
NK_AVX2 static inline __m256i dw_mask8(long lo, long hi) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_and_si256(_mm256_cmpgt_epi32(lane, _mm256_set1_epi32((int)lo - 1)),
                            _mm256_cmpgt_epi32(_mm256_set1_epi32((int)hi), lane));
}

NK_AVX2 static void dw_row_avx2(float *out, long n, const dw_tap *t, long taps, long len, const float *bias, int relu) {
    for (long l0 = 0; l0 < n; l0 += 8) {
        long c = n - l0 < 8 ? n - l0 : 8;
        __m256 acc = _mm256_setzero_ps();
        for (long k = 0; k < taps; k++) {
            long base = t[k].off + l0, lo, hi;
            dw_lanes(base, len, c, &lo, &hi);
            if (hi <= lo) continue;
            __m256 wv = _mm256_set1_ps(t[k].w);
            if (lo == 0 && hi == 8) {
                acc = _mm256_add_ps(acc, _mm256_mul_ps(wv, _mm256_loadu_ps(t[k].row + base)));
            } else {
                __m256i m = dw_mask8(lo, hi);
                __m256 xv = _mm256_maskload_ps(t[k].row + base, m);
                __m256 sum = _mm256_add_ps(acc, _mm256_mul_ps(wv, xv));
                acc = _mm256_blendv_ps(acc, sum, _mm256_castsi256_ps(m));
            }
        }
        if (bias) acc = _mm256_add_ps(acc, _mm256_set1_ps(*bias));
        if (relu) acc = _mm256_and_ps(acc, _mm256_cmp_ps(acc, _mm256_setzero_ps(), _CMP_GT_OQ));
        if (c == 8) {
            _mm256_storeu_ps(out + l0, acc);
        } else {
            _mm256_maskstore_ps(out + l0, dw_mask8(0, c), acc);
        }
    }
}
#endif

static void dw_row(int level, float *out, long n, const dw_tap *t, long taps, long len, const float *bias, int relu) {
#if defined(__x86_64__)
    if (level >= 2) { dw_row_512(out, n, t, taps, len, bias, relu); return; }
    if (level == 1) { dw_row_avx2(out, n, t, taps, len, bias, relu); return; }
#else
    (void)level;
#endif
    dw_row_portable(out, n, t, taps, len, bias, relu);
}

/// Room for `count` taps: the stack buffer when it is large enough, else the heap (freed by dw_free_taps).
static dw_tap *dw_taps(dw_tap *stack, long stackCount, long count) {
    return count <= stackCount ? stack : (dw_tap *)malloc((size_t)count * sizeof(dw_tap));
}

static void dw_free_taps(dw_tap *t, dw_tap *stack) {
    if (t != stack) free(t);
}

// ---------------------------------------------------------------------------------------------
// Input gradient (the forward pass is in dwconv_forward.c)

void nk_dw_backward_input_f32(const nk_dw_geom *g, const float *v, const float *w, long mult, float *dx) {
    long kk = g->kH * g->kW, plane = g->oH * g->oW;
    dw_tap stack[64];
    dw_tap *t = dw_taps(stack, 64, mult * kk);
    int level = nk_cpu_level();
    for (long ih = 0; ih < g->H; ih++) {
        float *dr = dx + ih * g->W;
        if (g->sW == 1) {
            long nt = 0;
            for (long m = 0; m < mult; m++) {
                for (long i = 0; i < g->kH; i++) {
                    long u = ih + g->pH - i * g->dH;
                    if (u < 0 || u % g->sH != 0 || u / g->sH >= g->oH) continue;
                    for (long j = 0; j < g->kW; j++) {
                        t[nt].row = v + m * plane + (u / g->sH) * g->oW;
                        t[nt].off = g->pW - j * g->dW;
                        t[nt].w = w[m * kk + i * g->kW + j];
                        nt++;
                    }
                }
            }
            dw_row(level, dr, g->W, t, nt, g->oW, NULL, 0);
            continue;
        }
        for (long iw = 0; iw < g->W; iw++) {
            float acc = 0.0f;
            for (long m = 0; m < mult; m++) {
                for (long i = 0; i < g->kH; i++) {
                    long u = ih + g->pH - i * g->dH;
                    if (u < 0 || u % g->sH != 0 || u / g->sH >= g->oH) continue;
                    for (long j = 0; j < g->kW; j++) {
                        long q = iw + g->pW - j * g->dW;
                        if (q < 0 || q % g->sW != 0 || q / g->sW >= g->oW) continue;
                        acc = acc + w[m * kk + i * g->kW + j] * v[m * plane + (u / g->sH) * g->oW + q / g->sW];
                    }
                }
            }
            dr[iw] = acc;
        }
    }
    dw_free_taps(t, stack);
}

// ---------------------------------------------------------------------------------------------
// Weight gradient: 16 lanes per tap, lane = ow mod 16, accumulated over (sample, output row,
// chunk) in that order, then lanes added in a fixed tree.

/// acc[l] += v[ow0 + l] · xr[base + l] over one output row of one tap (width stride 1).
static void dw_wrow_portable(float *acc, const float *vr, const float *xr, long oW, long off, long W) {
    for (long ow0 = 0; ow0 < oW; ow0 += 16) {
        long c = oW - ow0 < 16 ? oW - ow0 : 16, lo, hi;
        dw_lanes(ow0 + off, W, c, &lo, &hi);
        for (long l = lo; l < hi; l++) acc[l] = acc[l] + vr[ow0 + l] * xr[ow0 + off + l];
    }
}

#if defined(__x86_64__)
NK_AVX512 static void dw_wrow_512(float *acc, const float *vr, const float *xr, long oW, long off, long W) {
    __m512 a = _mm512_loadu_ps(acc);
    for (long ow0 = 0; ow0 < oW; ow0 += 16) {
        long c = oW - ow0 < 16 ? oW - ow0 : 16, lo, hi;
        long base = ow0 + off;
        dw_lanes(base, W, c, &lo, &hi);
        if (hi <= lo) continue;
        if (lo == 0 && hi == 16) {
            a = _mm512_add_ps(a, _mm512_mul_ps(_mm512_loadu_ps(vr + ow0), _mm512_loadu_ps(xr + base)));
        } else {
            __mmask16 m = (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u));
            __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, vr + ow0), _mm512_maskz_loadu_ps(m, xr + base));
            a = _mm512_mask_add_ps(a, m, a, p);
        }
    }
    _mm512_storeu_ps(acc, a);
}

NK_AVX2 static void dw_wrow_avx2(float *acc, const float *vr, const float *xr, long oW, long off, long W) {
    __m256 a[2] = {_mm256_loadu_ps(acc), _mm256_loadu_ps(acc + 8)};
    for (long ow0 = 0; ow0 < oW; ow0 += 8) {
        long h = (ow0 / 8) & 1;  // lanes 0-7 or 8-15 of the 16-lane accumulator
        long c = oW - ow0 < 8 ? oW - ow0 : 8, lo, hi;
        long base = ow0 + off;
        dw_lanes(base, W, c, &lo, &hi);
        if (hi <= lo) continue;
        if (lo == 0 && hi == 8) {
            a[h] = _mm256_add_ps(a[h], _mm256_mul_ps(_mm256_loadu_ps(vr + ow0), _mm256_loadu_ps(xr + base)));
        } else {
            __m256i m = dw_mask8(lo, hi);
            __m256 p = _mm256_mul_ps(_mm256_maskload_ps(vr + ow0, m), _mm256_maskload_ps(xr + base, m));
            a[h] = _mm256_blendv_ps(a[h], _mm256_add_ps(a[h], p), _mm256_castsi256_ps(m));
        }
    }
    _mm256_storeu_ps(acc, a[0]);
    _mm256_storeu_ps(acc + 8, a[1]);
}
#endif

void nk_dw_backward_weight_f32(const nk_dw_geom *g, const float *x, long xStride, const float *v, long vStride,
                               long batch, float *dw) {
    long kk = g->kH * g->kW;
    float stack[64 * 16];
    float *acc = kk <= 64 ? stack : (float *)malloc((size_t)kk * 16 * sizeof(float));
    memset(acc, 0, (size_t)kk * 16 * sizeof(float));
    int level = nk_cpu_level();
    for (long n = 0; n < batch; n++) {
        const float *xn = x + n * xStride, *vn = v + n * vStride;
        for (long i = 0; i < g->kH; i++) {
            for (long j = 0; j < g->kW; j++) {
                float *a = acc + (i * g->kW + j) * 16;
                for (long oh = 0; oh < g->oH; oh++) {
                    long ih = oh * g->sH - g->pH + i * g->dH;
                    if (ih < 0 || ih >= g->H) continue;
                    const float *vr = vn + oh * g->oW, *xr = xn + ih * g->W;
                    if (g->sW != 1) {
                        // Strided rows: the portable loop at every level.
                        for (long ow = 0; ow < g->oW; ow++) {
                            long iw = ow * g->sW - g->pW + j * g->dW;
                            if (iw >= 0 && iw < g->W) a[ow % 16] = a[ow % 16] + vr[ow] * xr[iw];
                        }
                        continue;
                    }
                    long off = j * g->dW - g->pW;
#if defined(__x86_64__)
                    if (level >= 2) { dw_wrow_512(a, vr, xr, g->oW, off, g->W); continue; }
                    if (level == 1) { dw_wrow_avx2(a, vr, xr, g->oW, off, g->W); continue; }
#endif
                    dw_wrow_portable(a, vr, xr, g->oW, off, g->W);
                }
            }
        }
    }
    (void)level;
    for (long k = 0; k < kk; k++) {
        float *a = acc + k * 16;
        for (long s = 8; s >= 1; s /= 2) {
            for (long l = 0; l < s; l++) a[l] = a[l] + a[l + s];
        }
        dw[k] = a[0];
    }
    if (acc != stack) free(acc);
}
