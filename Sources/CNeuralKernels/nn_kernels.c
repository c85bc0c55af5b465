// Float32 loops of the layers' epilogues, pooling and the SGD update (see nk_nn.h).
// Each has a portable body here and vector bodies written once in nn_template.h over the 16-lane
// vector of vec16.h, compiled for AVX-512 and for AVX2+FMA and chosen at run time. All give the
// same bits: the same operations lane by lane, sums in a fixed order around 16 lanes, and no
// contraction into fused multiply-adds.
#include "CNeuralKernels.h"
#include <math.h>
#include <string.h>
#include "gelu_f32.h"

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>
#include "transpose16.h"
// The 64-byte vectors are only passed to always-inlined helpers: no call passes one, so the
// argument-ABI note clang gives for them without AVX-512 does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#define NK_VEC16_TEMPLATE "nn_template.h"
#include "vec16_levels.h"

/// Runs the vector body of this kernel level (`return`s), if the level has one.
#define NK_PICK(fn, ...)                                                    \
    do {                                                                    \
        const int level = nk_cpu_level();                                   \
        if (level >= 2) { v16_##fn##_avx512(__VA_ARGS__); return; }         \
        if (level == 1) { v16_##fn##_avx2(__VA_ARGS__); return; }           \
    } while (0)
#else
#define NK_PICK(fn, ...) do { } while (0)
#endif

static inline float nk_relu1(float z) { return z > 0 ? z : 0; }

/// The Float32 exact GELU of gelu_f32.h, one element: the portable body, whose operations the
/// vector bodies (V(gelu) in nn_template.h) repeat lane by lane.
static float nk_gelu1(float x) {
    const float hx = x * 0.5f, z = x * NK_GELU_RSQRT2;
    const float a = fabsf(z), u = a * a;
    float s = NK_GELU_S6;
    s = fmaf(s, u, NK_GELU_S5);
    s = fmaf(s, u, NK_GELU_S4);
    s = fmaf(s, u, NK_GELU_S3);
    s = fmaf(s, u, NK_GELU_S2);
    s = fmaf(s, u, NK_GELU_S1);
    s = fmaf(s, u, NK_GELU_S0);
    const float ySmall = fmaf(hx, z * s, hx);
    const float ac = a < 9.0f ? a : 9.0f;
    const float t = 1.0f / fmaf(ac, 0.5f, 1.0f);
    float q = NK_GELU_N9;
    q = fmaf(q, t, NK_GELU_N8);
    q = fmaf(q, t, NK_GELU_N7);
    q = fmaf(q, t, NK_GELU_N6);
    q = fmaf(q, t, NK_GELU_N5);
    q = fmaf(q, t, NK_GELU_N4);
    q = fmaf(q, t, NK_GELU_N3);
    q = fmaf(q, t, NK_GELU_N2);
    q = fmaf(q, t, NK_GELU_N1);
    q = fmaf(q, t, NK_GELU_N0);
    float w = q - ac * ac;
    w = w > -87.0f ? w : -87.0f;
    const float k = fmaf(w, NK_GELU_LOG2E, NK_GELU_SHIFTER);
    const float n = k - NK_GELU_SHIFTER;
    float r = fmaf(n, -NK_GELU_LN2HI, w);
    r = fmaf(n, -NK_GELU_LN2LO, r);
    float e = NK_GELU_E7;
    e = fmaf(e, r, NK_GELU_E6);
    e = fmaf(e, r, NK_GELU_E5);
    e = fmaf(e, r, NK_GELU_E4);
    e = fmaf(e, r, NK_GELU_E3);
    e = fmaf(e, r, NK_GELU_E2);
    e = fmaf(e, r, NK_GELU_E1);
    e = fmaf(e, r, NK_GELU_E0);
    const int bits = ((int)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    const float ec = t * (e * scale);
    const float yLarge = z < 0.0f ? hx * ec : fmaf(-hx, ec, x);
    float y = a < 1.0f ? ySmall : yLarge;
    y = x > 40.0f ? x : x < -40.0f ? -0.0f : y;
    return x != x ? x : y;
}

/// act 0: z; 1: the ReLU; 2: the exact GELU.
static inline float nk_act1(float z, int act) { return act == 1 ? nk_relu1(z) : act == 2 ? nk_gelu1(z) : z; }

void nk_gelu_f32(const float *x, float *y, long n) {
    NK_PICK(gelu_run, x, y, n);
    for (long i = 0; i < n; i++) y[i] = nk_gelu1(x[i]);
}

// ---------------------------------------------------------------------------------------------
// Bias + activation epilogues

void nk_axpb_act_f32(const float *x, float *y, long n, float a, float b, int relu, int stream) {
    NK_PICK(axpb_act, x, y, n, a, b, relu, stream);
    for (long i = 0; i < n; i++) {
        float z = a * x[i] + b;
        y[i] = relu ? nk_relu1(z) : z;
    }
}

void nk_bias_act_cols_f32(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    if (!b && !relu) return;
    NK_PICK(bias_act_cols, y, b, rows, cols, ldy, relu);
    for (long i = 0; i < rows; i++) {
        float *r = y + i * ldy;
        for (long j = 0; j < cols; j++) {
            float z = b ? r[j] + b[j] : r[j];
            r[j] = nk_act1(z, relu);
        }
    }
}

void nk_bias_act_transpose_f32(float *y, long ldy, const float *t, long ldt, const float *b, long rows, long cols,
                               int relu) {
    NK_PICK(bias_act_transpose, y, ldy, t, ldt, b, rows, cols, relu);
    for (long i = 0; i < rows; i++) {
        for (long j = 0; j < cols; j++) {
            float z = b ? t[j * ldt + i] + b[j] : t[j * ldt + i];
            y[i * ldy + j] = nk_act1(z, relu);
        }
    }
}

void nk_bias_act_rows_f32(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    if (!b && !relu) return;
    NK_PICK(bias_act_rows, y, b, rows, cols, ldy, relu);
    for (long i = 0; i < rows; i++) {
        float *r = y + i * ldy;
        for (long j = 0; j < cols; j++) {
            float z = b ? r[j] + b[i] : r[j];
            r[j] = nk_act1(z, relu);
        }
    }
}

void nk_relu_grad_f32(float *g, const float *v, const float *y, long n) {
    NK_PICK(relu_grad, g, v, y, n);
    for (long i = 0; i < n; i++) g[i] = y[i] > 0 ? v[i] : 0;
}

void nk_colsum_add_f32(float *acc, const float *g, long rows, long cols) {
    NK_PICK(colsum_add, acc, g, rows, cols);
    for (long i = 0; i < rows; i++)
        for (long j = 0; j < cols; j++) acc[j] += g[i * cols + j];
}

void nk_rowsum_add_f32(float *acc, const float *g, long rows, long cols) {
    NK_PICK(rowsum_add, acc, g, rows, cols);
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

void nk_conv_gather_f32(float *dst, const float *src, const float *b, long channels, long outH,
                        long outW, long srcRow, long srcPlane, int relu) {
    NK_PICK(conv_gather, dst, src, b, channels, outH, outW, srcRow, srcPlane, relu);
    for (long o = 0; o < channels; o++)
        for (long r = 0; r < outH; r++)
            for (long c = 0; c < outW; c++) {
                float z = src[o * srcPlane + r * srcRow + c];
                if (b) z = z + b[o];
                dst[(o * outH + r) * outW + c] = nk_act1(z, relu);
            }
}

void nk_conv_scatter_f32(float *dst, const float *v, const float *y, long channels, long outH,
                         long outW, long dstRow, long dstPlane) {
    NK_PICK(conv_scatter, dst, v, y, channels, outH, outW, dstRow, dstPlane);
    for (long o = 0; o < channels; o++)
        for (long q = 0; q < dstPlane; q++) {
            long r = q / dstRow, c = q % dstRow;
            long i = (o * outH + r) * outW + c;
            dst[o * dstPlane + q] = c < outW && (!y || y[i] > 0) ? v[i] : 0.0f;
        }
}

void nk_col2im_rows_f32(float *dx, const float *cols, const long *rows, long count, long n) {
    NK_PICK(col2im_rows, dx, cols, rows, count, n);
    for (long k = 0; k < count; k++)
        for (long p = 0; p < n; p++) dx[rows[k] + p] += cols[k * n + p];
}

// ---------------------------------------------------------------------------------------------
// 2x2 max pooling, stride 2

void nk_maxpool2x2_f32(const float *x, float *out, int *argmax, long planes, long h, long w) {
    NK_PICK(maxpool2x2, x, out, argmax, planes, h, w);
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

void nk_sgd_f32(float *p, const float *g, float lr, long n) {
    NK_PICK(sgd, p, g, lr, n);
    for (long i = 0; i < n; i++) p[i] -= lr * g[i];
}
