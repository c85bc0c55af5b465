// The 16 x 16 Float32 transpose in AVX-512F registers, shared by the GEMM packing (gemm_pack.c)
// and the transposing epilogue of the linear layer (nn_kernels.c). Internal to CNeuralKernels;
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

#endif
