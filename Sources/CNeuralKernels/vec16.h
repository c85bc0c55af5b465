// A 16-lane Float32 vector for the kernel family templates (nn_template.h, norm_template.h),
// included once per instruction set with ISA (the suffix: avx512 or avx2), NK_VEC16_LEVEL (2 or 1)
// and TARGET (the target attribute) defined, after <immintrin.h>, on x86-64 only. The vector is one generic clang vector
// type at every level (nk_v16f: one zmm with AVX-512, two ymm with AVX2), so arithmetic is written
// with the operators, each the same IEEE operation per lane at every level; fused multiply-adds
// are explicit (V(fma)). Only memory access (masked, streaming) and the 16 × 16 transpose are
// written per level here. V(op) names this level's version of op. Leaves ISA and TARGET defined:
// the family template undefines them after its bodies.
#ifndef NK_VEC16_TYPES
#define NK_VEC16_TYPES
typedef float nk_v16f __attribute__((vector_size(64)));
typedef int nk_v16i __attribute__((vector_size(64)));
#define NK_CAT_(a, b) a##_##b
#define NK_CAT(a, b) NK_CAT_(a, b)
/// Lane numbers 0…15.
#define NK_IOTA16 ((nk_v16i){0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
#endif

#define V(op) NK_CAT(v16_##op, ISA)
#define VFN static inline __attribute__((always_inline)) TARGET

/// Lanes 0 ..< n all ones, the rest zero (n may be anything).
VFN nk_v16i V(first)(long n) { return NK_IOTA16 < (int)(n < 0 ? 0 : n > 16 ? 16 : n); }
/// m ? a : b lane-wise (m all ones or zero per lane).
VFN nk_v16f V(sel)(nk_v16i m, nk_v16f a, nk_v16f b) { return (nk_v16f)(((nk_v16i)a & m) | ((nk_v16i)b & ~m)); }
/// a where m, else +0.
VFN nk_v16f V(keep)(nk_v16i m, nk_v16f a) { return (nk_v16f)((nk_v16i)a & m); }
/// z > 0 ? z : +0 (NaN → +0), the ReLU of every body.
VFN nk_v16f V(relu)(nk_v16f z) { return V(keep)(z > 0.0f, z); }
VFN nk_v16f V(fma)(nk_v16f a, nk_v16f b, nk_v16f c) { return __builtin_elementwise_fma(a, b, c); }
VFN nk_v16f V(zero)(void) { return (nk_v16f){0}; }

/// Σ lanes 0…15 in order: the fixed lane reduction of every body.
VFN float V(hsum)(nk_v16f v) {
    float t = 0;
    for (int l = 0; l < 16; l++) t += v[l];
    return t;
}

#if NK_VEC16_LEVEL == 2
// ---- AVX-512: one zmm ----
VFN __mmask16 V(kmask)(long n) { return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u); }
VFN nk_v16f V(set1)(float x) { return (nk_v16f)_mm512_set1_ps(x); }
VFN nk_v16f V(ld)(const float *p) { return (nk_v16f)_mm512_loadu_ps(p); }
/// Lanes 0 ..< n from p (nothing past them is read), +0 after.
VFN nk_v16f V(ldm)(const float *p, long n) { return (nk_v16f)_mm512_maskz_loadu_ps(V(kmask)(n), p); }
VFN void V(st)(float *p, nk_v16f v) { _mm512_storeu_ps(p, (__m512)v); }
/// Stores lanes 0 ..< n at p (nothing past them is written).
VFN void V(stm)(float *p, long n, nk_v16f v) { _mm512_mask_storeu_ps(p, V(kmask)(n), (__m512)v); }
/// A non-temporal store; p 64-byte aligned.
VFN void V(stnt)(float *p, nk_v16f v) { _mm512_stream_ps(p, (__m512)v); }
VFN void V(stmi)(int *p, long n, nk_v16i v) { _mm512_mask_storeu_epi32(p, V(kmask)(n), (__m512i)v); }
/// Transposes the 16 × 16 block v[0..<16] in place.
VFN void V(transpose)(nk_v16f v[16]) { nk_transpose16((__m512 *)v); }
#else
// ---- AVX2: two ymm, lanes 0–7 and 8–15 ----
VFN nk_v16f V(join)(__m256 lo, __m256 hi) {
    return __builtin_shufflevector(lo, hi, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
}
VFN __m256 V(lo)(nk_v16f v) { return (__m256)__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7); }
VFN __m256 V(hi)(nk_v16f v) { return (__m256)__builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15); }
VFN __m256i V(ymask)(long n) {
    const int c = (int)(n < 0 ? 0 : n > 8 ? 8 : n);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(c), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
VFN nk_v16f V(set1)(float x) { return V(join)(_mm256_set1_ps(x), _mm256_set1_ps(x)); }
VFN nk_v16f V(ld)(const float *p) { return V(join)(_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)); }
VFN nk_v16f V(ldm)(const float *p, long n) {
    if (n >= 16) return V(ld)(p);
    const __m256 lo = n >= 8 ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, V(ymask)(n));
    const __m256 hi = n > 8 ? _mm256_maskload_ps(p + 8, V(ymask)(n - 8)) : _mm256_setzero_ps();
    return V(join)(lo, hi);
}
VFN void V(st)(float *p, nk_v16f v) { _mm256_storeu_ps(p, V(lo)(v)); _mm256_storeu_ps(p + 8, V(hi)(v)); }
VFN void V(stm)(float *p, long n, nk_v16f v) {
    if (n >= 16) { V(st)(p, v); return; }
    if (n >= 8) _mm256_storeu_ps(p, V(lo)(v));
    else if (n > 0) _mm256_maskstore_ps(p, V(ymask)(n), V(lo)(v));
    if (n > 8) _mm256_maskstore_ps(p + 8, V(ymask)(n - 8), V(hi)(v));
}
VFN void V(stnt)(float *p, nk_v16f v) { _mm256_stream_ps(p, V(lo)(v)); _mm256_stream_ps(p + 8, V(hi)(v)); }
VFN void V(stmi)(int *p, long n, nk_v16i v) {
    int t[16];
    memcpy(t, &v, sizeof t);
    memcpy(p, t, (size_t)(n < 0 ? 0 : n > 16 ? 16 : n) * sizeof(int));
}
/// Transposes the 16 × 16 block v[0..<16] in place: four 8 × 8 transposes of the halves.
VFN void V(transpose)(nk_v16f v[16]) {
    __m256 a[8], b[8], c[8], d[8];  // rows 0–7 lanes 0–7, rows 8–15 lanes 0–7, rows 0–7 lanes 8–15, rows 8–15 lanes 8–15
    for (int r = 0; r < 8; r++) {
        a[r] = V(lo)(v[r]); b[r] = V(lo)(v[8 + r]);
        c[r] = V(hi)(v[r]); d[r] = V(hi)(v[8 + r]);
    }
    nk_transpose8(a); nk_transpose8(b); nk_transpose8(c); nk_transpose8(d);
    for (int q = 0; q < 8; q++) {
        v[q] = V(join)(a[q], b[q]);
        v[8 + q] = V(join)(c[q], d[q]);
    }
}
#endif
#undef VFN
