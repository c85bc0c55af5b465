// Float32 loops of the layers' epilogues, pooling and the SGD update (see nk_nn.h).
// Each has an AVX-512F body (chosen at run time) and a portable body with the same arithmetic:
// no contraction into fused multiply-adds, so both give the same bits; the elementwise ones
// (relu(ax+b), bias + activation by columns and rows, the ReLU mask, SGD) also an AVX2 body
// (nn_avx2.h).
#include "CNeuralKernels.h"
#include <math.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#include "transpose16.h"
#define NK_AVX512 __attribute__((target("avx512f")))
static inline int nk_has512(void) { return nk_cpu_level() >= 2; }
#else
static inline int nk_has512(void) { return 0; }
#endif

static inline float nk_relu1(float z) { return z > 0 ? z : 0; }

#if defined(__x86_64__)
#include "nn_avx2.h"
static inline int nk_has2(void) { return nk_cpu_level() == 1; }
#endif

// ---------------------------------------------------------------------------------------------
// Bias + activation epilogues

#if defined(__x86_64__)
NK_AVX512 static inline __m512 nk_relu16(__m512 z) {
    // z > 0 ? z : 0 (NaN -> 0), as a masked move.
    return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_GT_OQ), z);
}

NK_AVX512 static void nk_bias_act_cols_512(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    for (long i = 0; i < rows; i++) {
        float *r = y + i * ldy;
        for (long j = 0; j < cols; j += 16) {
            long n = cols - j < 16 ? cols - j : 16;
            __mmask16 m = (__mmask16)((1u << n) - 1u);
            __m512 z = _mm512_maskz_loadu_ps(m, r + j);
            if (b) z = _mm512_add_ps(z, _mm512_maskz_loadu_ps(m, b + j));
            if (relu) z = nk_relu16(z);
            _mm512_mask_storeu_ps(r + j, m, z);
        }
    }
}

/// d[j] = act(s[j] + bias) for j < n (d may be s): one bias for the whole run.
NK_AVX512 static inline void nk_bias_act_run_512(float *d, const float *s, long n, float bias, int hasBias, int relu) {
    __m512 bv = _mm512_set1_ps(bias);
    for (long j = 0; j < n; j += 16) {
        long c = n - j < 16 ? n - j : 16;
        __mmask16 m = (__mmask16)((1u << c) - 1u);
        __m512 z = _mm512_maskz_loadu_ps(m, s + j);
        if (hasBias) z = _mm512_add_ps(z, bv);
        if (relu) z = nk_relu16(z);
        _mm512_mask_storeu_ps(d + j, m, z);
    }
}

NK_AVX512 static void nk_bias_act_rows_512(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    for (long i = 0; i < rows; i++) nk_bias_act_run_512(y + i * ldy, y + i * ldy, cols, b ? b[i] : 0.0f, b != 0, relu);
}

/// y[i, j] = act(t[j, i] + b[j]): 16 x 16 blocks of t transposed in registers.
NK_AVX512 static void nk_bias_act_transpose_512(float *y, long ldy, const float *t, long ldt, const float *b,
                                                long rows, long cols, int relu) {
    for (long i0 = 0; i0 < rows; i0 += 16) {
        long ni = rows - i0 < 16 ? rows - i0 : 16;
        __mmask16 mi = (__mmask16)((1u << ni) - 1u);
        for (long j0 = 0; j0 < cols; j0 += 16) {
            long nj = cols - j0 < 16 ? cols - j0 : 16;
            __mmask16 mj = (__mmask16)((1u << nj) - 1u);
            __m512 v[16];
            for (long r = 0; r < 16; r++) v[r] = r < nj ? _mm512_maskz_loadu_ps(mi, t + (j0 + r) * ldt + i0) : _mm512_setzero_ps();
            nk_transpose16(v);
            __m512 bv = b ? _mm512_maskz_loadu_ps(mj, b + j0) : _mm512_setzero_ps();
            for (long q = 0; q < ni; q++) {
                __m512 z = b ? _mm512_add_ps(v[q], bv) : v[q];
                if (relu) z = nk_relu16(z);
                _mm512_mask_storeu_ps(y + (i0 + q) * ldy + j0, mj, z);
            }
        }
    }
}

NK_AVX512 static void nk_relu_grad_512(float *g, const float *v, const float *y, long n) {
    for (long i = 0; i < n; i += 16) {
        long c = n - i < 16 ? n - i : 16;
        __mmask16 m = (__mmask16)((1u << c) - 1u);
        __mmask16 pos = _mm512_mask_cmp_ps_mask(m, _mm512_maskz_loadu_ps(m, y + i), _mm512_setzero_ps(), _CMP_GT_OQ);
        _mm512_mask_storeu_ps(g + i, m, _mm512_maskz_loadu_ps(pos, v + i));
    }
}

NK_AVX512 static void nk_colsum_add_512(float *acc, const float *g, long rows, long cols) {
    for (long j = 0; j < cols; j += 16) {
        long c = cols - j < 16 ? cols - j : 16;
        __mmask16 m = (__mmask16)((1u << c) - 1u);
        __m512 s = _mm512_maskz_loadu_ps(m, acc + j);
        for (long i = 0; i < rows; i++) s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, g + i * cols + j));
        _mm512_mask_storeu_ps(acc + j, m, s);
    }
}

NK_AVX512 static void nk_rowsum_add_512(float *acc, const float *g, long rows, long cols) {
    for (long i = 0; i < rows; i++) {
        const float *r = g + i * cols;
        __m512 s = _mm512_setzero_ps();
        for (long j = 0; j < cols; j += 16) {
            long c = cols - j < 16 ? cols - j : 16;
            __mmask16 m = (__mmask16)((1u << c) - 1u);
            s = _mm512_add_ps(s, _mm512_maskz_loadu_ps(m, r + j));
        }
        // Fixed-order lane reduction (mirrored by the portable body).
        float lanes[16];
        _mm512_storeu_ps(lanes, s);
        float t = 0;
        for (int l = 0; l < 16; l++) t += lanes[l];
        acc[i] += t;
    }
}
#endif

#if defined(__x86_64__)
NK_AVX512 static inline __m512 nk_axpb16(__m512 x, __m512 va, __m512 vb, int relu) {
    __m512 z = _mm512_add_ps(_mm512_mul_ps(va, x), vb);
    return relu ? nk_relu16(z) : z;
}

NK_AVX512 static void nk_axpb_act_512(const float *x, float *y, long n, float a, float b, int relu, int stream) {
    const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
    long i = 0;
    if (stream) {
        // Non-temporal stores need 64-byte aligned addresses: a masked head up to the boundary.
        long head = (long)((64 - ((unsigned long)y & 63)) & 63) / 4;
        if (head > n) head = n;
        if (head > 0) {
            __mmask16 m = (__mmask16)((1u << head) - 1u);
            _mm512_mask_storeu_ps(y, m, nk_axpb16(_mm512_maskz_loadu_ps(m, x), va, vb, relu));
            i = head;
        }
        for (; i + 32 <= n; i += 32) {
            _mm512_stream_ps(y + i, nk_axpb16(_mm512_loadu_ps(x + i), va, vb, relu));
            _mm512_stream_ps(y + i + 16, nk_axpb16(_mm512_loadu_ps(x + i + 16), va, vb, relu));
        }
        _mm_sfence();
    }
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(y + i, nk_axpb16(_mm512_loadu_ps(x + i), va, vb, relu));
        _mm512_storeu_ps(y + i + 16, nk_axpb16(_mm512_loadu_ps(x + i + 16), va, vb, relu));
    }
    for (; i < n; i += 16) {
        long c = n - i < 16 ? n - i : 16;
        __mmask16 m = (__mmask16)((1u << c) - 1u);
        _mm512_mask_storeu_ps(y + i, m, nk_axpb16(_mm512_maskz_loadu_ps(m, x + i), va, vb, relu));
    }
}
#endif

void nk_axpb_act_f32(const float *x, float *y, long n, float a, float b, int relu, int stream) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_axpb_act_512(x, y, n, a, b, relu, stream); return; }
    if (nk_has2()) { nk_axpb_act_avx2(x, y, n, a, b, relu, stream); return; }
#endif
    for (long i = 0; i < n; i++) {
        float z = a * x[i] + b;
        y[i] = relu ? nk_relu1(z) : z;
    }
}

void nk_bias_act_cols_f32(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    if (!b && !relu) return;
#if defined(__x86_64__)
    if (nk_has512()) { nk_bias_act_cols_512(y, b, rows, cols, ldy, relu); return; }
    if (nk_has2()) { nk_bias_act_cols_avx2(y, b, rows, cols, ldy, relu); return; }
#endif
    for (long i = 0; i < rows; i++) {
        float *r = y + i * ldy;
        for (long j = 0; j < cols; j++) {
            float z = b ? r[j] + b[j] : r[j];
            r[j] = relu ? nk_relu1(z) : z;
        }
    }
}

void nk_bias_act_transpose_f32(float *y, long ldy, const float *t, long ldt, const float *b, long rows, long cols,
                               int relu) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_bias_act_transpose_512(y, ldy, t, ldt, b, rows, cols, relu); return; }
#endif
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j < cols; j++) {
            float z = b ? t[j * ldt + i] + b[j] : t[j * ldt + i];
            y[i * ldy + j] = relu ? nk_relu1(z) : z;
        }
    }
}

void nk_bias_act_rows_f32(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    if (!b && !relu) return;
#if defined(__x86_64__)
    if (nk_has512()) { nk_bias_act_rows_512(y, b, rows, cols, ldy, relu); return; }
    if (nk_has2()) { nk_bias_act_rows_avx2(y, b, rows, cols, ldy, relu); return; }
#endif
    for (long i = 0; i < rows; i++) {
        float *r = y + i * ldy;
        for (long j = 0; j < cols; j++) {
            float z = b ? r[j] + b[i] : r[j];
            r[j] = relu ? nk_relu1(z) : z;
        }
    }
}

void nk_relu_grad_f32(float *g, const float *v, const float *y, long n) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_relu_grad_512(g, v, y, n); return; }
    if (nk_has2()) { nk_relu_grad_avx2(g, v, y, n); return; }
#endif
    for (long i = 0; i < n; i++) g[i] = y[i] > 0 ? v[i] : 0;
}

void nk_colsum_add_f32(float *acc, const float *g, long rows, long cols) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_colsum_add_512(acc, g, rows, cols); return; }
#endif
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) acc[j] += g[i * cols + j];
}

void nk_rowsum_add_f32(float *acc, const float *g, long rows, long cols) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_rowsum_add_512(acc, g, rows, cols); return; }
#endif
    for (long i = 0; i < rows; i++) {
        float lanes[16] = {0};
        for (long j = 0; j < cols; j++) lanes[j % 16] += g[i * cols + j];
        float t = 0;
        for (int l = 0; l < 16; l++) t += lanes[l];
        acc[i] += t;
    }
}

// ---------------------------------------------------------------------------------------------
// Convolution on the input-width grid: output gather, gradient scatter, col2im by row table

#if defined(__x86_64__)
NK_AVX512 static void nk_conv_gather_512(float *dst, const float *src, const float *b, long channels, long outH,
                                         long outW, long srcRow, long srcPlane, int relu) {
    for (long o = 0; o < channels; o++)
        for (long r = 0; r < outH; r++)
            nk_bias_act_run_512(dst + (o * outH + r) * outW, src + o * srcPlane + r * srcRow, outW, b ? b[o] : 0.0f,
                                b != 0, relu);
}

NK_AVX512 static void nk_conv_scatter_512(float *dst, const float *v, const float *y, long channels, long outH,
                                          long outW, long dstRow, long dstPlane) {
    for (long o = 0; o < channels; o++) {
        float *plane = dst + o * dstPlane;
        for (long r = 0; r < outH; r++) {
            const long i0 = (o * outH + r) * outW;
            float *d = plane + r * dstRow;
            long rowEnd = r * dstRow + dstRow < dstPlane ? dstRow : dstPlane - r * dstRow;
            for (long c = 0; c < rowEnd; c += 16) {
                long n = rowEnd - c < 16 ? rowEnd - c : 16;
                long live = outW - c < 0 ? 0 : (outW - c < n ? outW - c : n);
                __mmask16 m = (__mmask16)((1u << n) - 1u), ml = (__mmask16)((1u << live) - 1u);
                if (y) ml = _mm512_mask_cmp_ps_mask(ml, _mm512_maskz_loadu_ps(ml, y + i0 + c), _mm512_setzero_ps(), _CMP_GT_OQ);
                _mm512_mask_storeu_ps(d + c, m, _mm512_maskz_loadu_ps(ml, v + i0 + c));
            }
        }
    }
}

NK_AVX512 static void nk_col2im_rows_512(float *dx, const float *cols, const long *rows, long count, long n) {
    for (long k = 0; k < count; k++) {
        float *d = dx + rows[k];
        const float *s = cols + k * n;
        long p = 0;
        for (; p + 16 <= n; p += 16)
            _mm512_storeu_ps(d + p, _mm512_add_ps(_mm512_loadu_ps(d + p), _mm512_loadu_ps(s + p)));
        if (p < n) {
            __mmask16 m = (__mmask16)((1u << (n - p)) - 1u);
            _mm512_mask_storeu_ps(d + p, m, _mm512_add_ps(_mm512_maskz_loadu_ps(m, d + p), _mm512_maskz_loadu_ps(m, s + p)));
        }
    }
}
#endif

void nk_conv_gather_f32(float *dst, const float *src, const float *b, long channels, long outH,
                        long outW, long srcRow, long srcPlane, int relu) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_conv_gather_512(dst, src, b, channels, outH, outW, srcRow, srcPlane, relu); return; }
#endif
    for (long o = 0; o < channels; o++)
        for (long r = 0; r < outH; r++)
            for (long c = 0; c < outW; c++) {
                float z = src[o * srcPlane + r * srcRow + c];
                if (b) z = z + b[o];
                dst[(o * outH + r) * outW + c] = relu ? nk_relu1(z) : z;
            }
}

void nk_conv_scatter_f32(float *dst, const float *v, const float *y, long channels, long outH,
                         long outW, long dstRow, long dstPlane) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_conv_scatter_512(dst, v, y, channels, outH, outW, dstRow, dstPlane); return; }
#endif
    for (long o = 0; o < channels; o++)
        for (long q = 0; q < dstPlane; q++) {
            long r = q / dstRow, c = q % dstRow;
            long i = (o * outH + r) * outW + c;
            dst[o * dstPlane + q] = c < outW && (!y || y[i] > 0) ? v[i] : 0.0f;
        }
}

void nk_col2im_rows_f32(float *dx, const float *cols, const long *rows, long count, long n) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_col2im_rows_512(dx, cols, rows, count, n); return; }
#endif
    for (long k = 0; k < count; k++)
        for (long p = 0; p < n; p++) dx[rows[k] + p] += cols[k * n + p];
}

// ---------------------------------------------------------------------------------------------
// 2x2 max pooling, stride 2

#if defined(__x86_64__)
NK_AVX512 static void nk_maxpool2x2_512(const float *x, float *out, int *argmax, long planes, long h, long w) {
    const long oh = h / 2, ow = w / 2;
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * h * w;
        float *op = out + p * oh * ow;
        int *ap = argmax ? argmax + p * oh * ow : 0;
        for (long r = 0; r < oh; r++) {
            const float *r0 = xp + 2 * r * w, *r1 = r0 + w;
            for (long c = 0; c < ow; c += 16) {
                long n = ow - c < 16 ? ow - c : 16;
                long n2 = 2 * n;
                __mmask16 mlo = (__mmask16)(n2 >= 16 ? 0xFFFFu : (1u << n2) - 1u);
                __mmask16 mhi = (__mmask16)(n2 > 16 ? (1u << (n2 - 16)) - 1u : 0u);
                __mmask16 mo = (__mmask16)((1u << n) - 1u);
                __m512 lo0 = _mm512_maskz_loadu_ps(mlo, r0 + 2 * c), hi0 = _mm512_maskz_loadu_ps(mhi, r0 + 2 * c + 16);
                __m512 lo1 = _mm512_maskz_loadu_ps(mlo, r1 + 2 * c), hi1 = _mm512_maskz_loadu_ps(mhi, r1 + 2 * c + 16);
                __m512 a00 = _mm512_permutex2var_ps(lo0, even, hi0), a01 = _mm512_permutex2var_ps(lo0, odd, hi0);
                __m512 a10 = _mm512_permutex2var_ps(lo1, even, hi1), a11 = _mm512_permutex2var_ps(lo1, odd, hi1);
                __m512 best = a00;
                __mmask16 b1 = _mm512_cmp_ps_mask(a01, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(a01, a01, _CMP_UNORD_Q);
                best = _mm512_mask_mov_ps(best, b1, a01);
                __mmask16 b2 = _mm512_cmp_ps_mask(a10, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(a10, a10, _CMP_UNORD_Q);
                best = _mm512_mask_mov_ps(best, b2, a10);
                __mmask16 b3 = _mm512_cmp_ps_mask(a11, best, _CMP_GT_OQ) | _mm512_cmp_ps_mask(a11, a11, _CMP_UNORD_Q);
                best = _mm512_mask_mov_ps(best, b3, a11);
                _mm512_mask_storeu_ps(op + r * ow + c, mo, best);
                if (ap) {
                    __m512i at = _mm512_add_epi32(_mm512_set1_epi32((int)(2 * r * w + 2 * c)), even);
                    __m512i i01 = _mm512_add_epi32(at, _mm512_set1_epi32(1));
                    __m512i i10 = _mm512_add_epi32(at, _mm512_set1_epi32((int)w));
                    __m512i i11 = _mm512_add_epi32(at, _mm512_set1_epi32((int)w + 1));
                    at = _mm512_mask_mov_epi32(at, b1, i01);
                    at = _mm512_mask_mov_epi32(at, b2, i10);
                    at = _mm512_mask_mov_epi32(at, b3, i11);
                    _mm512_mask_storeu_epi32(ap + r * ow + c, mo, at);
                }
            }
        }
    }
}
#endif

void nk_maxpool2x2_f32(const float *x, float *out, int *argmax, long planes, long h, long w) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_maxpool2x2_512(x, out, argmax, planes, h, w); return; }
#endif
    const long oh = h / 2, ow = w / 2;
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * h * w;
        for (long r = 0; r < oh; r++) {
            for (long c = 0; c < ow; c++) {
                long idx[4] = {2 * r * w + 2 * c, 2 * r * w + 2 * c + 1, (2 * r + 1) * w + 2 * c, (2 * r + 1) * w + 2 * c + 1};
                float best = xp[idx[0]];
                long at = idx[0];
                for (int t = 1; t < 4; t++) {
                    float val = xp[idx[t]];
                    if (val > best || isnan(val)) { best = val; at = idx[t]; }
                }
                out[p * oh * ow + r * ow + c] = best;
                if (argmax) argmax[p * oh * ow + r * ow + c] = (int)at;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// SGD

#if defined(__x86_64__)
NK_AVX512 static void nk_sgd_512(float *p, const float *g, float lr, long n) {
    __m512 l = _mm512_set1_ps(lr);
    long i = 0;
    for (; i + 16 <= n; i += 16)
        _mm512_storeu_ps(p + i, _mm512_sub_ps(_mm512_loadu_ps(p + i), _mm512_mul_ps(l, _mm512_loadu_ps(g + i))));
    for (; i < n; i++) p[i] -= lr * g[i];
}
#endif

void nk_sgd_f32(float *p, const float *g, float lr, long n) {
#if defined(__x86_64__)
    if (nk_has512()) { nk_sgd_512(p, g, lr, n); return; }
    if (nk_has2()) { nk_sgd_avx2(p, g, lr, n); return; }
#endif
    for (long i = 0; i < n; i++) p[i] -= lr * g[i];
}
