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

/// Depth to space for channels c0 ..< c1 of one sample from the exact layout, where every phase holds
/// just the h × w cells it writes (outH = sH·h, outW = sW·w): phase (rH, rW) of channel co is the
/// block y + ((rH·sW + rW)·cout + co)·g->plane, its row i the grid row ua[rH] + i from column
/// va[rW] on, w elements. out[co, oy, ox] = that block's cell (u − ua[rH], v − va[rW]) + b[co] with
/// (u, rH) = divmod(oy + pH, sH), (v, rW) = divmod(ox + pW, sW); g->gridH and g->gridW are unused.
void nk_subpixel_d2s_exact_f32(const nk_subpixel_geom *g, long h, long w, const long *ua, const long *va,
                               const float *y, const float *bias, float *out, long c0, long c1);

/// An explicit patch matrix, copied a run at a time: dst[r·ldd + i·len + e] = src[rows[r] + runs[i] + e]
/// for r < nrows, i < nruns, e < len (the exact-position backward: a row per (phase, channel, tap),
/// a run per input row of each sample). A pure copy: the same bits at every level.
void nk_gather_runs_f32(const float *src, const long *rows, long nrows, const long *runs, long nruns, long len,
                        float *dst, long ldd);

#endif
