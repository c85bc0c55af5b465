// Float32 layer-normalisation rows: see include/nk_norm.h.
//
// Sums over a row use 64 partial sums, element i going to partial i mod 64 (four 16-lane
// vectors), padded with zeros to a multiple of 16; the partials combine lane-wise as
// (p0 + p1) + (p2 + p3), then lanes 0…15 in order. The portable body follows the same order, so
// both bodies give the same bits. The compiler forms no fused multiply-adds; the backward's dx
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

// 16-float block j of i: the row sums sa += ĝ, ta += ĝ x̂ of row (gr, xr) (mean vmu, rstd vinv), and
// its g ⊙ x̂ and g added to the parameter partials pw, pb (affine, all gradients wanted).
#define LN_BWD_SUMS(gr, xr, vmu, vinv, j, sa, ta)                                                       \
    do {                                                                                                \
        const __m512 gv = _mm512_loadu_ps((gr) + i + 16 * (j));                                         \
        const __m512 xh = _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps((xr) + i + 16 * (j)), vmu), vinv); \
        _mm512_storeu_ps(pw + i + 16 * (j), _mm512_add_ps(_mm512_loadu_ps(pw + i + 16 * (j)), _mm512_mul_ps(gv, xh))); \
        _mm512_storeu_ps(pb + i + 16 * (j), _mm512_add_ps(_mm512_loadu_ps(pb + i + 16 * (j)), gv));     \
        const __m512 gh = _mm512_mul_ps(gv, _mm512_loadu_ps(w + i + 16 * (j)));                         \
        sa = _mm512_add_ps(sa, gh);                                                                     \
        ta = _mm512_add_ps(ta, _mm512_mul_ps(gh, xh));                                                  \
    } while (0)

NK512 static void ln_bwd_row_512(const float *g, const float *x, float mu, float inv, const float *w, long m,
                                 float *dx, float *pw, float *pb, int stream, const float *gNext, const float *xNext) {
    const __m512 vmu = _mm512_set1_ps(mu), vinv = _mm512_set1_ps(inv);
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    __m512 t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    long i = 0, k = 0;
    if (pw && pb && dx && w) {
        // The usual case (affine, all gradients wanted), without per-block tests.
        for (; i + 64 <= m; i += 64) {
            if (gNext) { ln_prefetch64(gNext + i); ln_prefetch64(xNext + i); }
            LN_BWD_SUMS(g, x, vmu, vinv, 0, s0, t0);
            LN_BWD_SUMS(g, x, vmu, vinv, 1, s1, t1);
            LN_BWD_SUMS(g, x, vmu, vinv, 2, s2, t2);
            LN_BWD_SUMS(g, x, vmu, vinv, 3, s3, t3);
        }
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
    const float a = ln_combine(s0, s1, s2, s3) / (float)m, c = ln_combine(t0, t1, t2, t3) / (float)m;
    const __m512 vA = _mm512_set1_ps(ln_dx_slope(inv, c)), vB = _mm512_set1_ps(ln_dx_offset(inv, a));
    stream = stream && ((uintptr_t)dx & 63) == 0 && m % 16 == 0;
    for (i = 0; i < m; i += 16) {
        const __mmask16 mk = ln_mask(m - i);
        const __m512 gv = _mm512_maskz_loadu_ps(mk, g + i);
        const __m512 gh = w ? _mm512_mul_ps(gv, _mm512_maskz_loadu_ps(mk, w + i)) : gv;
        const __m512 d = _mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + i), vmu);
        ln_store(dx + i, mk, _mm512_fmadd_ps(gh, vinv, _mm512_fmadd_ps(d, vA, vB)), stream);
    }
}

// Software-pipelined rows (m a multiple of 64, affine): one loop per row r both reads the row
// ahead from memory and writes row r, so loads and stores stream together as in a copy instead of
// alternating (read a row, compute, write it), which left the memory idle while the core computed
// and the core idle while the row arrived (docs/PERFORMANCE.md).
// Each row's sums are the same partials in the same order as ln_fwd_row_512: the same bits.

// Σ x over one row into four partials (64-float block j to partial j mod 4), combined.
NK512 static inline float ln_sum64(const float *x, long m) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = 0; i < m; i += 64) {
        a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
        a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
        a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
        a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
    }
    return ln_combine(a0, a1, a2, a3);
}

#define LN_SQ(p, vmu) _mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(p), vmu), _mm512_sub_ps(_mm512_loadu_ps(p), vmu))

// Σ (x − μ)² over one row, partials as in ln_sum64.
NK512 static inline float ln_sqdev64(const float *x, long m, float mu) {
    const __m512 vmu = _mm512_set1_ps(mu);
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = 0; i < m; i += 64) {
        a0 = _mm512_add_ps(a0, LN_SQ(x + i, vmu));
        a1 = _mm512_add_ps(a1, LN_SQ(x + i + 16, vmu));
        a2 = _mm512_add_ps(a2, LN_SQ(x + i + 32, vmu));
        a3 = _mm512_add_ps(a3, LN_SQ(x + i + 48, vmu));
    }
    return ln_combine(a0, a1, a2, a3);
}

// Iteration r: Σ x of row r + 2 (from memory), Σ (x − μ)² of row r + 1 (in L1, its mean known),
// and y of row r (both statistics known).
NK512 static void ln_fwd_pipelined_512(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                                       float eps, const float *w, const float *b, int stream) {
    float muA = ln_sum64(x + r0 * m, m) / (float)m;
    float invA = 1.0f / sqrtf(ln_sqdev64(x + r0 * m, m, muA) / (float)m + eps);
    float muB = r0 + 1 < r1 ? ln_sum64(x + (r0 + 1) * m, m) / (float)m : 0.0f;
    mean[r0] = muA;
    rstd[r0] = invA;
    if (r0 + 1 < r1) mean[r0 + 1] = muB;
    for (long r = r0; r < r1; r++) {
        // Rows past the block's end are stood in for by row r (in L1; their sums are dropped below).
        const float *xa = x + r * m, *xb = r + 1 < r1 ? xa + m : xa, *xc = r + 2 < r1 ? xa + 2 * m : xa;
        const float *xd = r + 3 < r1 ? xa + 3 * m : 0;
        float *ya = y + r * m;
        const __m512 vmuA = _mm512_set1_ps(muA), vinvA = _mm512_set1_ps(invA), vmuB = _mm512_set1_ps(muB);
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
#define LN_Y(j) _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_sub_ps(_mm512_loadu_ps(xa + i + 16 * (j)), vmuA), vinvA), \
                                            _mm512_loadu_ps(w + i + 16 * (j))), _mm512_loadu_ps(b + i + 16 * (j)))
#define LN_PUT(j) do { if (stream) _mm512_stream_ps(ya + i + 16 * (j), LN_Y(j)); \
                       else _mm512_storeu_ps(ya + i + 16 * (j), LN_Y(j)); } while (0)
        for (long i = 0; i < m; i += 64) {
            if (xd) ln_prefetch64(xd + i);
            s0 = _mm512_add_ps(s0, _mm512_loadu_ps(xc + i));      q0 = _mm512_add_ps(q0, LN_SQ(xb + i, vmuB));      LN_PUT(0);
            s1 = _mm512_add_ps(s1, _mm512_loadu_ps(xc + i + 16)); q1 = _mm512_add_ps(q1, LN_SQ(xb + i + 16, vmuB)); LN_PUT(1);
            s2 = _mm512_add_ps(s2, _mm512_loadu_ps(xc + i + 32)); q2 = _mm512_add_ps(q2, LN_SQ(xb + i + 32, vmuB)); LN_PUT(2);
            s3 = _mm512_add_ps(s3, _mm512_loadu_ps(xc + i + 48)); q3 = _mm512_add_ps(q3, LN_SQ(xb + i + 48, vmuB)); LN_PUT(3);
        }
#undef LN_PUT
#undef LN_Y
        if (r + 1 < r1) {
            muA = muB;
            invA = 1.0f / sqrtf(ln_combine(q0, q1, q2, q3) / (float)m + eps);
            rstd[r + 1] = invA;
        }
        if (r + 2 < r1) {
            muB = ln_combine(s0, s1, s2, s3) / (float)m;
            mean[r + 2] = muB;
        }
    }
}

// Iteration r: the row sums and parameter partials of row r + 1 (from memory) and dx of row r
// (its sums known; g, x and w in L1). Rows enter the partials in order, as in ln_bwd_row_512.
NK512 static void ln_bwd_pipelined_512(const float *g, const float *x, const float *mean, const float *rstd,
                                       const float *w, long r0, long r1, long m, float *dx, float *pw, float *pb,
                                       int stream) {
    float a = 0, c = 0;
#define LN_DX_V(j) _mm512_fmadd_ps(_mm512_mul_ps(_mm512_loadu_ps(gr + i + 16 * (j)), _mm512_loadu_ps(w + i + 16 * (j))), \
                   vinv, _mm512_fmadd_ps(_mm512_sub_ps(_mm512_loadu_ps(xr + i + 16 * (j)), vmu), vA, vB))
#define LN_DX(j) do { if (stream) _mm512_stream_ps(dr + i + 16 * (j), LN_DX_V(j)); \
                      else _mm512_storeu_ps(dr + i + 16 * (j), LN_DX_V(j)); } while (0)
    {
        const float *gn = g + r0 * m, *xn = x + r0 * m;
        const __m512 vmuN = _mm512_set1_ps(mean[r0]), vinvN = _mm512_set1_ps(rstd[r0]);
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
        for (long i = 0; i < m; i += 64) {
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 0, s0, t0);
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 1, s1, t1);
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 2, s2, t2);
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 3, s3, t3);
        }
        a = ln_combine(s0, s1, s2, s3) / (float)m;
        c = ln_combine(t0, t1, t2, t3) / (float)m;
    }
    for (long r = r0; r < r1; r++) {
        const float *gr = g + r * m, *xr = x + r * m, *gn = gr + m, *xn = xr + m;
        float *dr = dx + r * m;
        const __m512 vmu = _mm512_set1_ps(mean[r]), vinv = _mm512_set1_ps(rstd[r]);
        const __m512 vA = _mm512_set1_ps(ln_dx_slope(rstd[r], c)), vB = _mm512_set1_ps(ln_dx_offset(rstd[r], a));
        if (r + 1 < r1) {
            const __m512 vmuN = _mm512_set1_ps(mean[r + 1]), vinvN = _mm512_set1_ps(rstd[r + 1]);
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
            const int ahead = r + 2 < r1;
            for (long i = 0; i < m; i += 64) {
                if (ahead) { ln_prefetch64(gn + m + i); ln_prefetch64(xn + m + i); }
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 0, s0, t0); LN_DX(0);
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 1, s1, t1); LN_DX(1);
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 2, s2, t2); LN_DX(2);
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 3, s3, t3); LN_DX(3);
            }
            a = ln_combine(s0, s1, s2, s3) / (float)m;
            c = ln_combine(t0, t1, t2, t3) / (float)m;
        } else {
            for (long i = 0; i < m; i += 64) { LN_DX(0); LN_DX(1); LN_DX(2); LN_DX(3); }
        }
    }
#undef LN_DX
#undef LN_DX_V
#undef LN_BWD_SUMS
}

NK512 static void ln_fwd_512(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                             float eps, const float *w, const float *b, int stream) {
    stream = stream && ((uintptr_t)y & 63) == 0 && m % 16 == 0;
    if (w && b && m % 64 == 0) {
        ln_fwd_pipelined_512(x, y, mean, rstd, r0, r1, m, eps, w, b, stream);
        if (stream) _mm_sfence();
        return;
    }
    for (long r = r0; r < r1; r++)
        ln_fwd_row_512(x + r * m, y + r * m, m, eps, w, b, mean + r, rstd + r, stream, r + 1 < r1 ? x + (r + 1) * m : 0);
    if (stream) _mm_sfence();
}

NK512 static void ln_bwd_512(const float *g, const float *x, const float *mean, const float *rstd, const float *w,
                             long r0, long r1, long m, float *dx, float *pw, float *pb, int stream) {
    if (w && dx && pw && pb && m % 64 == 0) {
        stream = stream && ((uintptr_t)dx & 63) == 0;
        ln_bwd_pipelined_512(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb, stream);
        if (stream) _mm_sfence();
        return;
    }
    for (long r = r0; r < r1; r++)
        ln_bwd_row_512(g + r * m, x + r * m, mean[r], rstd[r], w, m, dx ? dx + r * m : 0, pw, pb, stream,
                       r + 1 < r1 ? g + (r + 1) * m : 0, r + 1 < r1 ? x + (r + 1) * m : 0);
    if (stream) _mm_sfence();
}

#include "norm_avx2.h"
#endif

void nk_layernorm_fwd_f32(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                          float eps, const float *w, const float *b, int stream) {
    if (m <= 0) return;
#if defined(__x86_64__)
    const int level = nk_cpu_level();
    if (level >= 2) { ln_fwd_512(x, y, mean, rstd, r0, r1, m, eps, w, b, stream); return; }
    // AVX2: the pipelined rows (affine, m a multiple of 64); other shapes run the portable body,
    // which gives the same bits.
    if (level == 1 && w && b && m % 64 == 0 && r0 < r1) {
        ln_fwd_pipelined_avx2(x, y, mean, rstd, r0, r1, m, eps, w, b, stream && ((uintptr_t)y & 63) == 0);
        return;
    }
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
    if (level >= 2) { ln_bwd_512(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb, stream); return; }
    if (level == 1 && w && dx && pw && pb && m % 64 == 0 && r0 < r1) {
        ln_bwd_pipelined_avx2(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb, stream && ((uintptr_t)dx & 63) == 0);
        return;
    }
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
