#ifndef NK_DWCONV_H
#define NK_DWCONV_H

/// Direct Float32 kernels of depthwise 2-D convolution (groups = input channels, each input plane
/// convolved with its own kH × kW filters; a channel multiplier m gives m output planes per input
/// plane). 1-D convolutions use H = kH = sH = 1, pH = 0.
///
/// Every output element is a sum over the taps in a fixed order (tap rows, then columns; for the
/// input gradient the multiplier first), so the AVX-512, AVX2 and portable bodies give the same
/// bits: the forward pass starts from the bias and adds every tap by a fused multiply-add (reading
/// zero outside the input); the gradients skip the taps that fall outside and use plain multiplies
/// and adds. Rows with a width stride of 1 run vectorised; other strides run the portable loops at
/// every level. The weight gradient accumulates in 16 lanes (lane = output column mod 16, chunks
/// starting at column 0 of every row) over the batch and the rows, then adds the lanes in a fixed tree.

/// The geometry of one plane: input H × W, output oH × oW, kernel kH × kW, stride, padding, dilation.
typedef struct {
    long H, W, oH, oW, kH, kW, sH, sW, pH, pW, dH, dW;
} nk_dw_geom;

/// Output planes p0 ..< p1 of a batch, p = n·C′ + o with C′ = channels·mult, each
/// y_p[oh, ow] = act(fma(w[o, kH−1, kW−1], x_q[…], … fma(w[o, 0, 0], x_q[oh·sH − pH, ow·sW − pW], b[o])))
/// with x_q the input plane q = n·channels + o / mult (x zero outside it), the taps in order (rows,
/// then columns), b[o] = 0 when bias is NULL, and act = ReLU when relu != 0 (z > 0 ? z : +0, NaN → +0).
/// x is `[N, channels, H, W]`, w `[C′, kH, kW]`, y `[N, C′, oH, oW]`.
void nk_dw_forward_planes_f32(const nk_dw_geom *g, const float *x, const float *w, const float *bias, int relu, float *y,
                              long channels, long mult, long p0, long p1);

/// One input plane of ∂J/∂x: dx[ih, iw] = Σ_{m, i, j} w[m, i, j] · v[m, oh, ow] over the output
/// positions (oh, ow) whose window reads (ih, iw); v holds `mult` consecutive output planes (oH·oW
/// each), w their `mult` filters (kH·kW each).
void nk_dw_backward_input_f32(const nk_dw_geom *g, const float *v, const float *w, long mult, float *dx);

/// ∂J/∂w of one output channel: dw[i, j] = Σ_n Σ_{oh, ow} v_n[oh, ow] · x_n[oh·sH − pH + i·dH, ow·sW − pW + j·dW],
/// with x_n = x + n·xStride and v_n = v + n·vStride for n < batch. Overwrites dw (kH·kW values).
void nk_dw_backward_weight_f32(const nk_dw_geom *g, const float *x, long xStride, const float *v, long vStride,
                               long batch, float *dw);

#endif
