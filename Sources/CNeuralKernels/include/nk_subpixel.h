#ifndef NK_SUBPIXEL_H
#define NK_SUBPIXEL_H

/// The layout changes of the sub-pixel (stride-decomposed) transposed convolution (Neural's
/// SubpixelConvTranspose.swift), Float32: between an output plane `[outH, outW]` per channel and
/// its sH·sW phase planes `[gridH, gridW]` (row u, column v of phase (rH, rW) is output position
/// (u·sH + rH − pH, v·sW + rW − pW)). Pure copies plus one bias add, so every level (AVX-512,
/// AVX2, portable; vector bodies for sW = 2, the portable loops otherwise) gives the same bits.
///
/// Channel co = γ·cog + o (group γ, cog channels per group) has phase plane (rH, rW) at
/// ((γ·sH·sW + rH·sW + rW)·cog + o)·plane of the phase layout, row u of it u·gridW further
/// (plane ≥ gridH·gridW: a batched layout puts other samples' grids between the planes).
typedef struct {
    long cout, cog, sH, sW, outH, outW, pH, pW, gridH, gridW, plane;
} nk_subpixel_geom;

/// Depth to space for channels c0 ..< c1 of one sample: out[co, oy, ox] = P[co, rH, rW, u, v] + b[co]
/// with (u, rH) = divmod(oy + pH, sH), (v, rW) = divmod(ox + pW, sW), P read as 0 past the phase
/// grid (u ≥ gridH or v ≥ gridW) and b[co] = 0 when bias is NULL.
void nk_subpixel_d2s_f32(const nk_subpixel_geom *g, const float *phases, const float *bias, float *out, long c0, long c1);

/// Space to depth for channels c0 ..< c1 of one sample, the adjoint copy:
/// P[co, rH, rW, u, v] = v[co, u·sH + rH − pH, v·sW + rW − pW], 0 where that is outside the output.
void nk_subpixel_s2d_f32(const nk_subpixel_geom *g, const float *v, float *phases, long c0, long c1);

#endif
