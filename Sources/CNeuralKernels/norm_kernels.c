// Float32 layer-normalisation rows: see include/nk_norm.h.
//
// Sums over a row use 64 partial sums, element i going to partial i mod 64 (four 16-lane
// vectors), padded with zeros to a multiple of 16; the partials combine lane-wise as
// (p0 + p1) + (p2 + p3), then lanes 0…15 in order. The portable body here and the vector bodies
// (norm_template.h over vec16.h, compiled for AVX-512 and for AVX2+FMA) follow the same order, so
// every level gives the same bits. The compiler forms no fused multiply-adds; the backward's dx
// uses two explicit ones in both bodies (see ln_dx_slope).
#include "CNeuralKernels.h"
#include <math.h>
#include <stdint.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

static float combine64(const float *p) {
    float t = 0;
    for (int l = 0; l < 16; l++) t += (p[l] + p[16 + l]) + (p[32 + l] + p[48 + l]);
    return t;
}

// dx = rstd · ((ĝ − a) − x̂ · c) with a = Σ ĝ / m, c = Σ ĝ x̂ / m, x̂ = (x − μ) · rstd, evaluated as
// fma(ĝ, rstd, fma(x − μ, slope, offset)): two fused multiply-adds and a product per element
// instead of seven operations (the backward is as much arithmetic as memory traffic). x − μ stays
// explicit, so a large mean cancels exactly as in the forward pass.
static inline float ln_dx_slope(float inv, float c) { return -((inv * c) * inv); }
static inline float ln_dx_offset(float inv, float a) { return -(inv * a); }

static void ln_fwd_row_portable(const float *x, float *y, long m, float eps, const float *w, const float *b,
                                float *mean, float *rstd) {
    float p[64] = {0};
    const long mp = (m + 15) / 16 * 16;
    for (long i = 0; i < mp; i++) p[i & 63] += i < m ? x[i] : 0.0f;
    const float mu = combine64(p) / (float)m;
    for (int l = 0; l < 64; l++) p[l] = 0;
    for (long i = 0; i < mp; i++) {
        float d = i < m ? x[i] - mu : 0.0f;
        p[i & 63] += d * d;
    }
    const float inv = 1.0f / sqrtf(combine64(p) / (float)m + eps);
    *mean = mu;
    *rstd = inv;
    for (long i = 0; i < m; i++) {
        float v = (x[i] - mu) * inv;
        if (w) v = v * w[i];
        if (b) v = v + b[i];
        y[i] = v;
    }
}

static void ln_bwd_row_portable(const float *g, const float *x, float mu, float inv, const float *w, long m,
                                float *dx, float *pw, float *pb) {
    float p0[64] = {0}, p1[64] = {0};
    const long mp = (m + 15) / 16 * 16;
    for (long i = 0; i < mp; i++) {
        float gh = 0, xh = 0;
        if (i < m) {
            const float gv = g[i];
            xh = (x[i] - mu) * inv;
            if (pw) pw[i] = pw[i] + gv * xh;
            if (pb) pb[i] = pb[i] + gv;
            gh = w ? gv * w[i] : gv;
        }
        p0[i & 63] += gh;
        p1[i & 63] += gh * xh;
    }
    if (!dx) return;
    const float a = combine64(p0) / (float)m, c = combine64(p1) / (float)m;
    const float slope = ln_dx_slope(inv, c), offset = ln_dx_offset(inv, a);
    for (long i = 0; i < m; i++) {
        const float gh = w ? g[i] * w[i] : g[i];
        dx[i] = fmaf(gh, inv, fmaf(x[i] - mu, slope, offset));
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "transpose16.h"
// The 64-byte vectors are only passed to always-inlined helpers: no call passes one, so the
// argument-ABI note clang gives for them without AVX-512 does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

// The next row's 64 floats from p, into L2 (the hardware prefetchers stop at 4 KiB pages, and a
// row of 1024 floats is one page; L1 holds the current rows and the parameter partials).
static inline void ln_prefetch64(const float *p) {
    _mm_prefetch((const char *)p, _MM_HINT_T1);
    _mm_prefetch((const char *)(p + 16), _MM_HINT_T1);
    _mm_prefetch((const char *)(p + 32), _MM_HINT_T1);
    _mm_prefetch((const char *)(p + 48), _MM_HINT_T1);
}

#define NK_VEC16_TEMPLATE "norm_template.h"
#include "vec16_levels.h"
#endif

void nk_layernorm_fwd_f32(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                          float eps, const float *w, const float *b, int stream) {
    if (m <= 0) return;
#if defined(__x86_64__)
    const int level = nk_cpu_level();
    if (r0 >= r1) return;
    if (level >= 2) { v16_ln_fwd_avx512(x, y, mean, rstd, r0, r1, m, eps, w, b, stream); return; }
    if (level == 1) { v16_ln_fwd_avx2(x, y, mean, rstd, r0, r1, m, eps, w, b, stream); return; }
#endif
    (void)stream;
    nk_layernorm_fwd_f32_portable(x, y, mean, rstd, r0, r1, m, eps, w, b);
}

void nk_layernorm_bwd_f32(const float *g, const float *x, const float *mean, const float *rstd,
                          const float *w, long r0, long r1, long m, float *dx, float *pw, float *pb,
                          int stream) {
    if (m <= 0) return;
#if defined(__x86_64__)
    const int level = nk_cpu_level();
    if (r0 >= r1) return;
    if (level >= 2) { v16_ln_bwd_avx512(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb, stream); return; }
    if (level == 1) { v16_ln_bwd_avx2(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb, stream); return; }
#endif
    (void)stream;
    nk_layernorm_bwd_f32_portable(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb);
}

void nk_layernorm_fwd_f32_portable(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                                   float eps, const float *w, const float *b) {
    if (m <= 0) return;
    for (long r = r0; r < r1; r++) ln_fwd_row_portable(x + r * m, y + r * m, m, eps, w, b, mean + r, rstd + r);
}

void nk_layernorm_bwd_f32_portable(const float *g, const float *x, const float *mean, const float *rstd,
                                   const float *w, long r0, long r1, long m, float *dx, float *pw, float *pb) {
    if (m <= 0) return;
    for (long r = r0; r < r1; r++)
        ln_bwd_row_portable(g + r * m, x + r * m, mean[r], rstd[r], w, m, dx ? dx + r * m : 0, pw, pb);
}
