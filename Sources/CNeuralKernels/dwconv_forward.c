// The forward pass of depthwise 2-D convolution, Float32 (see nk_dwconv.h): per plane, bands of
// output rows read a zero-padded copy of their input rows on the stack (no borders to test in the
// inner loop), and each output is its bias plus the taps' fused multiply-adds in tap order. The
// vector bodies (dwconv_template.h: AVX-512, AVX2+FMA) compute 16 output columns at once with the
// portable body's operations lane by lane, so every level gives the same bits.
#include "CNeuralKernels.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#include "transpose16.h"
// The 64-byte vectors are only passed to always-inlined helpers (see nn_kernels.c).
#pragma clang diagnostic ignored "-Wpsabi"

#define NK_VEC16_TEMPLATE "dwconv_template.h"
#include "vec16_levels.h"
#endif

/// The portable body of V(dw_fwd_band) in dwconv_template.h: the same fused multiply-adds per output.
static void dw_fwd_band_portable(const nk_dw_geom *g, const float *xp, long ldp, const float *w, float b, int relu,
                                 float *y, long oh0, long oh1) {
    for (long oh = oh0; oh < oh1; oh++) {
        for (long ow = 0; ow < g->oW; ow++) {
            float acc = b;
            for (long i = 0; i < g->kH; i++) {
                const float *r = xp + ((oh - oh0) * g->sH + i * g->dH) * ldp + ow;
                for (long j = 0; j < g->kW; j++) acc = fmaf(w[i * g->kW + j], r[j * g->dW], acc);
            }
            y[oh * g->oW + ow] = relu ? (acc > 0 ? acc : 0.0f) : acc;
        }
    }
}

/// The strided-width forward of one plane (sW > 1): the same sums as the band bodies, one output at a
/// time, reading zero outside the input.
static void dw_fwd_strided(const nk_dw_geom *g, const float *x, const float *w, float b, int relu, float *y) {
    for (long oh = 0; oh < g->oH; oh++) {
        for (long ow = 0; ow < g->oW; ow++) {
            float acc = b;
            for (long i = 0; i < g->kH; i++) {
                long ih = oh * g->sH - g->pH + i * g->dH;
                for (long j = 0; j < g->kW; j++) {
                    long iw = ow * g->sW - g->pW + j * g->dW;
                    float v = ih >= 0 && ih < g->H && iw >= 0 && iw < g->W ? x[ih * g->W + iw] : 0.0f;
                    acc = fmaf(w[i * g->kW + j], v, acc);
                }
            }
            y[oh * g->oW + ow] = relu ? (acc > 0 ? acc : 0.0f) : acc;
        }
    }
}

enum { DW_STACK_FLOATS = 8192 };

void nk_dw_forward_planes_f32(const nk_dw_geom *g, const float *x, const float *w, const float *bias, int relu, float *y,
                              long channels, long mult, long p0, long p1) {
    const long co = channels * mult, kk = g->kH * g->kW, inPlane = g->H * g->W, outPlane = g->oH * g->oW;
    if (g->sW != 1) {
        for (long p = p0; p < p1; p++) {
            long o = p % co;
            dw_fwd_strided(g, x + (p / co * channels + o / mult) * inPlane, w + o * kk, bias ? bias[o] : 0.0f, relu,
                           y + p * outPlane);
        }
        return;
    }
    // Band rows: columns [0, pW) and [pW + W, ldp) zero, ldp ≥ 16⌈oW/16⌉ + dW(kW − 1) so that the last
    // chunk of 16 lanes reads inside the row.
    const long ldp = (g->oW + 15) / 16 * 16 + g->dW * (g->kW - 1), halo = g->dH * (g->kH - 1);
    long band = DW_STACK_FLOATS / ldp - halo;
    if (band > g->oH) band = g->oH;
    if (band < 1) band = 1;
    const long rows = (band - 1) * g->sH + halo + 1;
    float stack[DW_STACK_FLOATS];
    float *xp = rows * ldp <= DW_STACK_FLOATS ? stack : (float *)malloc((size_t)(rows * ldp) * sizeof(float));
    const int level = nk_cpu_level();
    for (long p = p0; p < p1; p++) {
        const long o = p % co;
        const float *xs = x + (p / co * channels + o / mult) * inPlane, *ws = w + o * kk;
        const float b = bias ? bias[o] : 0.0f;
        float *ys = y + p * outPlane;
        for (long oh0 = 0; oh0 < g->oH; oh0 += band) {
            const long oh1 = oh0 + band < g->oH ? oh0 + band : g->oH, ih0 = oh0 * g->sH - g->pH;
            const long n = (oh1 - oh0 - 1) * g->sH + halo + 1;
            for (long r = 0; r < n; r++) {
                float *d = xp + r * ldp;
                const long ih = ih0 + r;
                if (ih < 0 || ih >= g->H) {
                    memset(d, 0, (size_t)ldp * sizeof(float));
                    continue;
                }
                memset(d, 0, (size_t)g->pW * sizeof(float));
                memcpy(d + g->pW, xs + ih * g->W, (size_t)g->W * sizeof(float));
                memset(d + g->pW + g->W, 0, (size_t)(ldp - g->pW - g->W) * sizeof(float));
            }
#if defined(__x86_64__)
            if (level >= 2) { v16_dw_fwd_band_avx512(g, xp, ldp, ws, b, relu, ys, oh0, oh1); continue; }
            if (level == 1) { v16_dw_fwd_band_avx2(g, xp, ldp, ws, b, relu, ys, oh0, oh1); continue; }
#endif
            dw_fwd_band_portable(g, xp, ldp, ws, b, relu, ys, oh0, oh1);
        }
    }
    (void)level;
    if (xp != stack) free(xp);
}
