// The 16 x 16 Float32 transpose in AVX-512F registers and the 8 x 8 one in AVX2 registers, shared
// by the GEMM packing (gemm_pack.c) and the kernel family templates (vec16.h). Internal to CNeuralKernels;
// include after <immintrin.h>, on x86-64 only.
#ifndef NK_TRANSPOSE16_H
#define NK_TRANSPOSE16_H

/// Transposes the 16 x 16 block v[0..<16] in place (v[r][c] -> v[c][r]).
__attribute__((target("avx512f"))) static inline void nk_transpose16(__m512 v[16]) {
    __m512 t[16];
    for (int k = 0; k < 8; k++) {
        t[2 * k] = _mm512_unpacklo_ps(v[2 * k], v[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(v[2 * k], v[2 * k + 1]);
    }
    // Within each 128-bit lane: t[2k] = (r0 c0, r1 c0, r0 c1, r1 c1), t[2k+1] = (... c2, c3).
    for (int k = 0; k < 4; k++) {
        __m512 a0 = t[4 * k], a1 = t[4 * k + 1], b0 = t[4 * k + 2], b1 = t[4 * k + 3];
        v[4 * k] = _mm512_shuffle_ps(a0, b0, _MM_SHUFFLE(1, 0, 1, 0));
        v[4 * k + 1] = _mm512_shuffle_ps(a0, b0, _MM_SHUFFLE(3, 2, 3, 2));
        v[4 * k + 2] = _mm512_shuffle_ps(a1, b1, _MM_SHUFFLE(1, 0, 1, 0));
        v[4 * k + 3] = _mm512_shuffle_ps(a1, b1, _MM_SHUFFLE(3, 2, 3, 2));
    }
    // Now v[4k + c] lane L holds rows 4k..4k+3 of column 4L + c. Gather the 128-bit lanes.
    for (int k = 0; k < 2; k++) {
        for (int c = 0; c < 4; c++) {
            __m512 a = v[8 * k + c], b = v[8 * k + 4 + c];
            t[8 * k + c] = _mm512_shuffle_f32x4(a, b, 0x88);      // lanes 0, 2 of a, then of b
            t[8 * k + 4 + c] = _mm512_shuffle_f32x4(a, b, 0xDD);  // lanes 1, 3 of a, then of b
        }
    }
    for (int c = 0; c < 8; c++) {
        v[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        v[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD);
    }
}

/// Transposes the 8 x 8 block v[0..<8] in AVX2 registers in place (v[r][c] -> v[c][r]); the AVX2
/// GEMM packing and the AVX2 16 x 16 transpose (vec16.h, four of these) use it.
__attribute__((target("avx2,fma"))) static inline void nk_transpose8(__m256 v[8]) {
    __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]);
    __m256 t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]);
    __m256 t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]);
    __m256 t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    v[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    v[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    v[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    v[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    v[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    v[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    v[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    v[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}

#endif
