// The layout changes of the sub-pixel transposed convolution (see nk_subpixel.h): portable loops
// for every stride, and for a width stride of 2 (the common 2× upsampler) row bodies that
// interleave / de-interleave 16 phase columns at a time (subpixel_template.h).
#include "CNeuralKernels.h"
#include <string.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#include "transpose16.h"
// The 64-byte vectors are only passed to always-inlined helpers (see nn_kernels.c).
#pragma clang diagnostic ignored "-Wpsabi"

#define NK_VEC16_TEMPLATE "subpixel_template.h"
#include "vec16_levels.h"
#endif

/// The offset of phase plane (rH, rW) of channel co in the phase layout.
static inline long sp_plane(const nk_subpixel_geom *g, long co, long rh, long rw) {
    const long gi = co / g->cog, o = co % g->cog;
    return ((gi * g->sH * g->sW + rh * g->sW + rw) * g->cog + o) * g->plane;
}

void nk_subpixel_d2s_f32(const nk_subpixel_geom *g, const float *phases, const float *bias, float *out, long c0, long c1) {
    const int level = g->sW == 2 ? nk_cpu_level() : 0;
    for (long co = c0; co < c1; co++) {
        const float b = bias ? bias[co] : 0.0f;
        for (long oy = 0; oy < g->outH; oy++) {
            const long u = (oy + g->pH) / g->sH, rh = (oy + g->pH) % g->sH;
            float *dst = out + (co * g->outH + oy) * g->outW;
            const float *row = u < g->gridH ? phases + sp_plane(g, co, rh, 0) + u * g->gridW : NULL;
#if defined(__x86_64__)
            if (level >= 2) { v16_sp_d2s_row2_avx512(row, row ? row + g->cog * g->plane : NULL, g->gridW, g->outW, g->pW, b, dst); continue; }
            if (level == 1) { v16_sp_d2s_row2_avx2(row, row ? row + g->cog * g->plane : NULL, g->gridW, g->outW, g->pW, b, dst); continue; }
#endif
            for (long ox = 0; ox < g->outW; ox++) {
                const long v = (ox + g->pW) / g->sW, rw = (ox + g->pW) % g->sW;
                dst[ox] = (row && v < g->gridW ? row[rw * g->cog * g->plane + v] : 0.0f) + b;
            }
        }
    }
    (void)level;
}

void nk_subpixel_s2d_f32(const nk_subpixel_geom *g, const float *v, float *phases, long c0, long c1) {
    const int level = g->sW == 2 ? nk_cpu_level() : 0;
    const long plane = g->plane;
    for (long co = c0; co < c1; co++) {
        for (long rh = 0; rh < g->sH; rh++) {
            float *p0 = phases + sp_plane(g, co, rh, 0);
            for (long u = 0; u < g->gridH; u++) {
                const long oy = u * g->sH + rh - g->pH;
                if (oy < 0 || oy >= g->outH) {
                    for (long rw = 0; rw < g->sW; rw++) memset(p0 + rw * g->cog * plane + u * g->gridW, 0, (size_t)g->gridW * sizeof(float));
                    continue;
                }
                const float *row = v + (co * g->outH + oy) * g->outW;
                float *e = p0 + u * g->gridW;
#if defined(__x86_64__)
                if (level >= 2) { v16_sp_s2d_row2_avx512(row, g->gridW, g->outW, g->pW, e, e + g->cog * plane); continue; }
                if (level == 1) { v16_sp_s2d_row2_avx2(row, g->gridW, g->outW, g->pW, e, e + g->cog * plane); continue; }
#endif
                for (long rw = 0; rw < g->sW; rw++) {
                    float *d = e + rw * g->cog * plane;
                    for (long q = 0; q < g->gridW; q++) {
                        const long ox = q * g->sW + rw - g->pW;
                        d[q] = ox >= 0 && ox < g->outW ? row[ox] : 0.0f;
                    }
                }
            }
        }
    }
    (void)level;
}

void nk_subpixel_d2s_exact_f32(const nk_subpixel_geom *g, long h, long w, const long *ua, const long *va,
                               const float *y, const float *bias, float *out, long c0, long c1) {
    const int level = g->sW == 2 ? nk_cpu_level() : 0;
    const long phaseStride = g->cout * g->plane;
    for (long co = c0; co < c1; co++) {
        const float b = bias ? bias[co] : 0.0f;
        for (long oy = 0; oy < g->outH; oy++) {
            const long u = (oy + g->pH) / g->sH, rh = (oy + g->pH) % g->sH;
            const float *row = y + rh * g->sW * phaseStride + co * g->plane + (u - ua[rh]) * w;
            float *dst = out + (co * g->outH + oy) * g->outW;
#if defined(__x86_64__)
            if (level >= 2) { v16_sp_d2s_row2x_avx512(row, va[0], row + phaseStride, va[1], w, g->outW, g->pW, b, dst); continue; }
            if (level == 1) { v16_sp_d2s_row2x_avx2(row, va[0], row + phaseStride, va[1], w, g->outW, g->pW, b, dst); continue; }
#endif
            for (long ox = 0; ox < g->outW; ox++) {
                const long v = (ox + g->pW) / g->sW, rw = (ox + g->pW) % g->sW;
                dst[ox] = row[rw * phaseStride + v - va[rw]] + b;
            }
        }
    }
    (void)level;
    (void)h;
}

/// Copies runs of `len` floats, 8 at a time (constant-size copies the compiler keeps in registers).
static inline void gather_row(const float *src, const long *runs, long nruns, long len, float *dst) {
    if (len == 8) {
        for (long i = 0; i < nruns; i++) memcpy(dst + i * 8, src + runs[i], 8 * sizeof(float));
        return;
    }
    for (long i = 0; i < nruns; i++) {
        const float *s = src + runs[i];
        float *d = dst + i * len;
        long e = 0;
        for (; e + 8 <= len; e += 8) memcpy(d + e, s + e, 8 * sizeof(float));
        for (; e < len; e++) d[e] = s[e];
    }
}

void nk_gather_runs_f32(const float *src, const long *rows, long nrows, const long *runs, long nruns, long len,
                        float *dst, long ldd) {
    for (long r = 0; r < nrows; r++) gather_row(src + rows[r], runs, nruns, len, dst + r * ldd);
}
