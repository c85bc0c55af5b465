#ifndef NK_PACK_H
#define NK_PACK_H

/// Float32 GEMM operand packing into the micro-panel layout of the micro-kernels (nk_gemm.h).
/// A micro-panel of width `width` (MR for A, NR for B) holds, for each of `depth` steps, `width`
/// consecutive elements; lanes count..<width are +0. Pure data movement: the result is the same,
/// bit for bit, for every version. Call the AVX-512 versions only when nk_cpu_level() >= 2, the
/// AVX2 versions only when it is >= 1.
/// `count` <= `width` (except as noted below); `dst` needs no alignment.

/// Row r of the source starts at src + r * ld, or at src + rows[r] when the row table `rows` is
/// not NULL (then `ld` is unused): rows at arbitrary, even overlapping, offsets, like the rows of a
/// convolution's implicit im2col matrix.

/// dst[p * width + i] = row(p)[i] for i < count (0 for count <= i < width), p < depth.
void nk_spack_runs_avx512(const float *src, long ld, const long *rows, long count, long width,
                          long depth, float *dst);
void nk_spack_runs_avx2(const float *src, long ld, const long *rows, long count, long width,
                        long depth, float *dst);
void nk_spack_runs_portable(const float *src, long ld, const long *rows, long count, long width,
                            long depth, float *dst);

/// dst[p * width + i] = row(i)[p] for i < count (0 for count <= i < width), p < depth.
/// Here `count` may exceed `width`: rows j*width ..< (j+1)*width then fill panel j, the panels
/// one after another (width * depth elements each), the last zero-padded. With width 8 and up to
/// 16 rows the AVX-512 version fills both panels from one 16 x 16 transpose.
void nk_spack_transposed_avx512(const float *src, long ld, const long *rows, long count,
                                long width, long depth, float *dst);
void nk_spack_transposed_avx2(const float *src, long ld, const long *rows, long count,
                              long width, long depth, float *dst);
void nk_spack_transposed_portable(const float *src, long ld, const long *rows, long count,
                                  long width, long depth, float *dst);

#endif
