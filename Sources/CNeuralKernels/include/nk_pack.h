#ifndef NK_PACK_H
#define NK_PACK_H

/// Float32 GEMM operand packing into the micro-panel layout of the micro-kernels (nk_gemm.h).
/// A micro-panel of width `width` (MR for A, NR for B) holds, for each of `depth` steps, `width`
/// consecutive elements; lanes count..<width are +0. Pure data movement: the result is the same,
/// bit for bit, for every version. Call the AVX-512 versions only when nk_cpu_level() >= 2.
/// `count` <= `width`; `dst` needs no alignment.

/// dst[p * width + i] = src[p * ld + i] for i < count (0 for count <= i < width), p < depth.
void nk_spack_runs_avx512(const float *src, long ld, long count, long width, long depth,
                          float *dst);
void nk_spack_runs_portable(const float *src, long ld, long count, long width, long depth,
                            float *dst);

/// dst[p * width + i] = src[i * ld + p] for i < count (0 for count <= i < width), p < depth.
void nk_spack_transposed_avx512(const float *src, long ld, long count, long width, long depth,
                                float *dst);
void nk_spack_transposed_portable(const float *src, long ld, long count, long width, long depth,
                                  float *dst);

/// Row-table versions, for operands whose rows are not evenly spaced (a convolution's implicit
/// im2col matrix: row r of the patch matrix starts at base + rows[r]).
/// dst[p * width + i] = base[rows[p] + i] for i < count (0 for count <= i < width), p < depth.
void nk_spack_runs_rows_avx512(const float *base, const long *rows, long count, long width,
                               long depth, float *dst);
void nk_spack_runs_rows_portable(const float *base, const long *rows, long count, long width,
                                 long depth, float *dst);

/// dst[p * width + i] = base[rows[i] + p] for i < count (0 for count <= i < width), p < depth.
void nk_spack_transposed_rows_avx512(const float *base, const long *rows, long count, long width,
                                     long depth, float *dst);
void nk_spack_transposed_rows_portable(const float *base, const long *rows, long count,
                                       long width, long depth, float *dst);

#endif
