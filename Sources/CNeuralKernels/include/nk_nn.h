#ifndef NK_NN_H
#define NK_NN_H

/// Float32 loops of the layers' epilogues and of pooling, each with AVX-512, AVX2+FMA and portable
/// bodies chosen at run time (nk_cpu_level()). No fused multiply-adds are formed and every sum has
/// one fixed order, so every level gives bit-identical results; rows are independent, so callers
/// may split them across threads freely.

/// The exact GELU x·Φ(x) = x(1 + erf(x/√2))/2 in Float32 arithmetic (gelu_f32.h: the erf within
/// 1.3e-7 of the exact one, the GELU within 2.4e-7 of x·Φ(x)); the same bits at every level.
void nk_gelu_f32(const float *x, float *y, long n);

/// y[i, j] = act(y[i, j] + b[j]) for a [rows, cols] matrix (row stride ldy); b may be NULL;
/// act (the `relu` argument of these epilogues) 0: identity; 1: max(., 0) (NaN -> 0); 2: the exact
/// GELU of nk_gelu_f32 (the bias is added and rounded first).
void nk_bias_act_cols_f32(float *y, const float *b, long rows, long cols, long ldy, int relu);

/// y[i, j] = act(t[j, i] + b[j]) for i < rows, j < cols: the transpose of t (`[cols, rows]`,
/// row stride ldt) into y (`[rows, cols]`, row stride ldy) with the epilogue of
/// nk_bias_act_cols_f32 (the same roundings); b may be NULL. A linear layer computed as
/// yᵀ = W xᵀ (W read in place, no packed copy of W) ends with it.
void nk_bias_act_transpose_f32(float *y, long ldy, const float *t, long ldt, const float *b, long rows, long cols,
                               int relu);

/// y[i, j] = act(y[i, j] + b[i]) for a [rows, cols] matrix (row stride ldy): one bias per row
/// (a convolution's output channel); b may be NULL.
void nk_bias_act_rows_f32(float *y, const float *b, long rows, long cols, long ldy, int relu);

/// Convolution output on the input-width grid (see Im2Col.swift, "implicit im2col"): for each
/// channel o < channels and output row r < outH,
/// dst[(o * outH + r) * outW + c] = act(src[o * srcPlane + r * srcRow + c] + b[o]) for c < outW;
/// the grid's other columns are dropped. b may be NULL.
void nk_conv_gather_f32(float *dst, const float *src, const float *b, long channels, long outH,
                        long outW, long srcRow, long srcPlane, int relu);

/// The adjoint layout change of nk_conv_gather_f32, through the ReLU mask when y is not NULL:
/// dst[o * dstPlane + r * dstRow + c] = (y == NULL || y[i] > 0) ? v[i] : 0 with
/// i = (o * outH + r) * outW + c for c < outW, and 0 in the grid's other columns (c < dstRow,
/// up to dstPlane elements per channel).
void nk_conv_scatter_f32(float *dst, const float *v, const float *y, long channels, long outH,
                         long outW, long dstRow, long dstPlane);

/// dx[rows[k] + p] += cols[k * n + p] for k < count, p < n, k in order (col2im of an implicit
/// im2col matrix whose row k starts at rows[k]).
void nk_col2im_rows_f32(float *dx, const float *cols, const long *rows, long count, long n);

/// y[i] = act(a * x[i] + b) for i < n (multiply, then add: two roundings, no fused multiply-add);
/// act = max(., 0) when relu != 0 (NaN -> 0), else identity. y may be x. With stream != 0 (and
/// y != x), y is written with non-temporal stores: no read-for-ownership of y's lines, which do
/// not stay in the cache (for outputs larger than it); same values.
void nk_axpb_act_f32(const float *x, float *y, long n, float a, float b, int relu, int stream);

/// g[i] = y[i] > 0 ? v[i] : 0 for i < n (the ReLU mask read from the forward output).
void nk_relu_grad_f32(float *g, const float *v, const float *y, long n);

/// acc[j] += sum over i < rows of g[i * cols + j], rows added in order.
void nk_colsum_add_f32(float *acc, const float *g, long rows, long cols);

/// acc[i] += sum over j < cols of g[i * cols + j] (one sum per row, lanes combined in a fixed order).
void nk_rowsum_add_f32(float *acc, const float *g, long rows, long cols);

/// 2x2, stride-2 max pooling of `planes` [h, w] planes into [h/2, w/2] (floor); argmax (may be
/// NULL) receives the in-plane index ih*w + iw of the first maximum in window order
/// (0,0),(0,1),(1,0),(1,1); NaN wins (and propagates) like PyTorch.
void nk_maxpool2x2_f32(const float *x, float *out, int *argmax, long planes, long h, long w);

/// p[i] -= lr * g[i] for i < n.
void nk_sgd_f32(float *p, const float *g, float lr, long n);

#endif
