#ifndef NK_NORM_H
#define NK_NORM_H

/// Float32 layer-normalisation rows (LN-S, eq. 7.40, with per-feature weight and bias), each
/// with AVX-512, AVX2+FMA and portable bodies chosen at run time (the vector ones written once in
/// norm_template.h) that add in the same order, for every row length, with or without w and b
/// (element i of a row goes to partial sum i mod 64; the 64 partials are combined the same way),
/// so every level gives the same bits. Rows are independent: callers split them across threads freely.
///
/// Row r of x (and y, g, dx) is the m elements starting at r * m; mean[r] and rstd[r] are its
/// statistics. With stream != 0, rows of y / dx that start on a 64-byte boundary and whose
/// length is a multiple of 16 are written with non-temporal stores (same values).

/// For rows r0 <= r < r1: mean[r] = μ = Σ x / m, rstd[r] = 1/√(Σ (x − μ)² / m + eps), and
/// y = ((x − μ) · rstd) · w + b (w, b may be NULL for 1 and 0; no fused multiply-adds).
void nk_layernorm_fwd_f32(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                          float eps, const float *w, const float *b, int stream);

/// Backward for rows r0 <= r < r1 with x̂ = (x − μ) · rstd and ĝ = g · w (g when w is NULL):
/// pw[i] += g[i] · x̂[i] and pb[i] += g[i] (each may be NULL; [m] partial sums, rows in order),
/// and, when dx is not NULL, dx = rstd · ((ĝ − Σĝ/m) − x̂ · (Σ ĝ x̂)/m), evaluated as
/// fma(ĝ, rstd, fma(x − μ, −rstd² · Σĝx̂/m, −rstd · Σĝ/m)).
void nk_layernorm_bwd_f32(const float *g, const float *x, const float *mean, const float *rstd,
                          const float *w, long r0, long r1, long m, float *dx, float *pw, float *pb,
                          int stream);

/// The portable bodies of the two functions above (what non-x86 machines run), for tests that
/// compare them with the vector bodies bit for bit.
void nk_layernorm_fwd_f32_portable(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                                   float eps, const float *w, const float *b);
void nk_layernorm_bwd_f32_portable(const float *g, const float *x, const float *mean, const float *rstd,
                                   const float *w, long r0, long r1, long m, float *dx, float *pw, float *pb);

#endif
