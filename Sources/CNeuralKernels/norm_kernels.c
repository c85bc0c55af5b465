// Float32 layer-normalisation rows: see include/nk_norm.h.
//
// Sums over a row use 64 partial sums, element i going to partial i mod 64 (four 16-lane
// vectors), padded with zeros to a multiple of 16; the partials combine lane-wise as
// (p0 + p1) + (p2 + p3), then lanes 0…15 in order. The portable body follows the same order, so
// both bodies give the same bits. No fused multiply-adds are formed.
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
    for (long i = 0; i < m; i++) {
        const float gh = w ? g[i] * w[i] : g[i], xh = (x[i] - mu) * inv;
        dx[i] = inv * ((gh - a) - xh * c);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
#define NK512 __attribute__((target("avx512f")))

NK512 static inline __mmask16 ln_mask(long left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

NK512 static inline float ln_combine(__m512 a0, __m512 a1, __m512 a2, __m512 a3) {
    float lanes[16];
    _mm512_storeu_ps(lanes, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
    float t = 0;
    for (int l = 0; l < 16; l++) t += lanes[l];
    return t;
}

// acc_k += v for k = block index mod 4 (k is a small constant after unrolling, else a select).
#define LN_ACC4(k, a0, a1, a2, a3, v)                                                   \
    do {                                                                                \
        switch ((k) & 3) {                                                              \
        case 0: a0 = _mm512_add_ps(a0, v); break;                                       \
        case 1: a1 = _mm512_add_ps(a1, v); break;                                       \
        case 2: a2 = _mm512_add_ps(a2, v); break;                                       \
        default: a3 = _mm512_add_ps(a3, v); break;                                      \
        }                                                                               \
    } while (0)

// The next row's 64 floats from p, into L2 (the hardware prefetchers stop at 4 KiB pages, and a
// row of 1024 floats is one page; L1 holds the current rows and the parameter partials).
static inline void ln_prefetch64(const float *p) {
    _mm_prefetch((const char *)p, _MM_HINT_T1);
    _mm_prefetch((const char *)(p + 16), _MM_HINT_T1);
    _mm_prefetch((const char *)(p + 32), _MM_HINT_T1);
    _mm_prefetch((const char *)(p + 48), _MM_HINT_T1);
}

NK512 static inline void ln_store(float *p, __mmask16 k, __m512 v, int stream) {
    if (stream) _mm512_stream_ps(p, v);
    else _mm512_mask_storeu_ps(p, k, v);
}

NK512 static void ln_fwd_row_512(const float *x, float *y, long m, float eps, const float *w, const float *b,
                                 float *mean, float *rstd, int stream, const float *next) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    long i = 0, k = 0;
    for (; i + 64 <= m; i += 64) {
        if (next) ln_prefetch64(next + i);
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
    }
    for (; i < m; i += 16, k++) LN_ACC4(k, a0, a1, a2, a3, _mm512_maskz_loadu_ps(ln_mask(m - i), x + i));
    const float mu = ln_combine(a0, a1, a2, a3) / (float)m;
    const __m512 vmu = _mm512_set1_ps(mu);

    a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
#define LN_SQDEV(p) _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(p), vmu), _mm512_sub_ps(_mm512_loadu_ps(p), vmu))
    for (i = 0; i + 64 <= m; i += 64) {
        a0 = _mm512_add_ps(a0, LN_SQDEV(x + i));
        a1 = _mm512_add_ps(a1, LN_SQDEV(x + i + 16));
        a2 = _mm512_add_ps(a2, LN_SQDEV(x + i + 32));
        a3 = _mm512_add_ps(a3, LN_SQDEV(x + i + 48));
    }
#undef LN_SQDEV
    for (k = 0; i < m; i += 16, k++) {
        const __mmask16 mk = ln_mask(m - i);
        const __m512 d = _mm512_maskz_sub_ps(mk, _mm512_maskz_loadu_ps(mk, x + i), vmu);
        LN_ACC4(k, a0, a1, a2, a3, _mm512_mul_ps(d, d));
    }
    const float inv = 1.0f / sqrtf(ln_combine(a0, a1, a2, a3) / (float)m + eps);
    *mean = mu;
    *rstd = inv;

    const __m512 vinv = _mm512_set1_ps(inv);
    stream = stream && ((uintptr_t)y & 63) == 0 && m % 16 == 0;
    if (w && b && stream) {
        for (i = 0; i < m; i += 16) {
            const __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i), vmu), vinv);
            _mm512_stream_ps(y + i, _mm512_add_ps(_mm512_mul_ps(v, _mm512_loadu_ps(w + i)), _mm512_loadu_ps(b + i)));
        }
        return;
    }
    for (i = 0; i < m; i += 16) {
        const __mmask16 mk = ln_mask(m - i);
        __m512 v = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), vmu), vinv);
        if (w) v = _mm512_mul_ps(v, _mm512_maskz_loadu_ps(mk, w + i));
        if (b) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk, b + i));
        ln_store(y + i, mk, v, stream);
    }
}

NK512 static void ln_bwd_row_512(const float *g, const float *x, float mu, float inv, const float *w, long m,
                                 float *dx, float *pw, float *pb, int stream, const float *gNext, const float *xNext) {
    const __m512 vmu = _mm512_set1_ps(mu), vinv = _mm512_set1_ps(inv);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    __m512 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    long i = 0, k = 0;
    if (pw && pb && dx && w) {
        // The usual case (affine, all gradients wanted), without per-block tests.
#define LN_BWD_BLOCK(j, sa, ta)                                                                         \
        do {                                                                                            \
            const __m512 gv = _mm512_loadu_ps(g + i + 16 * (j));                                        \
            const __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16 * (j)), vmu), vinv); \
            _mm512_storeu_ps(pw + i + 16 * (j), _mm512_add_ps(_mm512_loadu_ps(pw + i + 16 * (j)), _mm512_mul_ps(gv, xh))); \
            _mm512_storeu_ps(pb + i + 16 * (j), _mm512_add_ps(_mm512_loadu_ps(pb + i + 16 * (j)), gv));  \
            const __m512 gh = _mm512_mul_ps(gv, _mm512_loadu_ps(w + i + 16 * (j)));                     \
            sa = _mm512_add_ps(sa, gh);                                                                 \
            ta = _mm512_add_ps(ta, _mm512_mul_ps(gh, xh));                                              \
        } while (0)
        for (; i + 64 <= m; i += 64) {
            if (gNext) { ln_prefetch64(gNext + i); ln_prefetch64(xNext + i); }
            LN_BWD_BLOCK(0, s0, t0);
            LN_BWD_BLOCK(1, s1, t1);
            LN_BWD_BLOCK(2, s2, t2);
            LN_BWD_BLOCK(3, s3, t3);
        }
#undef LN_BWD_BLOCK
    }
    for (; i < m; i += 16, k++) {
        if (gNext && (i & 63) == 0) { ln_prefetch64(gNext + i); ln_prefetch64(xNext + i); }
        const __mmask16 mk = ln_mask(m - i);
        const __m512 gv = _mm512_maskz_loadu_ps(mk, g + i);
        const __m512 xh = _mm512_mul_ps(_mm512_maskz_sub_ps(mk, _mm512_maskz_loadu_ps(mk, x + i), vmu), vinv);
        if (pw) _mm512_mask_storeu_ps(pw + i, mk, _mm512_add_ps(_mm512_maskz_loadu_ps(mk, pw + i), _mm512_mul_ps(gv, xh)));
        if (pb) _mm512_mask_storeu_ps(pb + i, mk, _mm512_add_ps(_mm512_maskz_loadu_ps(mk, pb + i), gv));
        if (dx) {
            const __m512 gh = w ? _mm512_mul_ps(gv, _mm512_maskz_loadu_ps(mk, w + i)) : gv;
            LN_ACC4(k, s0, s1, s2, s3, gh);
            LN_ACC4(k, t0, t1, t2, t3, _mm512_mul_ps(gh, xh));
        }
    }
    if (!dx) return;
    const __m512 va = _mm512_set1_ps(ln_combine(s0, s1, s2, s3) / (float)m);
    const __m512 vc = _mm512_set1_ps(ln_combine(t0, t1, t2, t3) / (float)m);
    stream = stream && ((uintptr_t)dx & 63) == 0 && m % 16 == 0;
    for (i = 0; i < m; i += 16) {
        const __mmask16 mk = ln_mask(m - i);
        const __m512 gv = _mm512_maskz_loadu_ps(mk, g + i);
        const __m512 gh = w ? _mm512_mul_ps(gv, _mm512_maskz_loadu_ps(mk, w + i)) : gv;
        const __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), vmu), vinv);
        ln_store(dx + i, mk, _mm512_mul_ps(vinv, _mm512_sub_ps(_mm512_sub_ps(gh, va), _mm512_mul_ps(xh, vc))), stream);
    }
}

NK512 static void ln_fwd_512(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                             float eps, const float *w, const float *b, int stream) {
    for (long r = r0; r < r1; r++)
        ln_fwd_row_512(x + r * m, y + r * m, m, eps, w, b, mean + r, rstd + r, stream, r + 1 < r1 ? x + (r + 1) * m : 0);
    if (stream) _mm_sfence();
}

NK512 static void ln_bwd_512(const float *g, const float *x, const float *mean, const float *rstd, const float *w,
                             long r0, long r1, long m, float *dx, float *pw, float *pb, int stream) {
    for (long r = r0; r < r1; r++)
        ln_bwd_row_512(g + r * m, x + r * m, mean[r], rstd[r], w, m, dx ? dx + r * m : 0, pw, pb, stream,
                       r + 1 < r1 ? g + (r + 1) * m : 0, r + 1 < r1 ? x + (r + 1) * m : 0);
    if (stream) _mm_sfence();
}
#endif

void nk_layernorm_fwd_f32(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                          float eps, const float *w, const float *b, int stream) {
    if (m <= 0) return;
#if defined(__x86_64__)
    if (nk_cpu_level() >= 2) { ln_fwd_512(x, y, mean, rstd, r0, r1, m, eps, w, b, stream); return; }
#endif
    (void)stream;
    nk_layernorm_fwd_f32_portable(x, y, mean, rstd, r0, r1, m, eps, w, b);
}

void nk_layernorm_bwd_f32(const float *g, const float *x, const float *mean, const float *rstd,
                          const float *w, long r0, long r1, long m, float *dx, float *pw, float *pb,
                          int stream) {
    if (m <= 0) return;
#if defined(__x86_64__)
    if (nk_cpu_level() >= 2) { ln_bwd_512(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb, stream); return; }
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
