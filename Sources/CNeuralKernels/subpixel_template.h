// The vector bodies of subpixel_kernels.c for a width stride of 2 (see nk_subpixel.h), written once
// over the 16-lane vector of vec16.h and included there once per instruction set (ISA,
// NK_VEC16_LEVEL and TARGET defined, vec16.h included just before). Values are copied (and the bias
// added once), so they equal the portable loops' bit for bit. Undefines ISA, TARGET and NK_VEC16_LEVEL.
#define SPFN static inline __attribute__((always_inline)) TARGET

/// Lanes lo ≤ l < hi of p (nothing else is read), +0 elsewhere; lo, hi any integers.
SPFN nk_v16f V(ldr)(const float *p, long lo, long hi) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    if (lo == 0 && hi == 16) return V(ld)(p);
    if (hi <= lo) return V(zero)();
#if NK_VEC16_LEVEL == 2
    return (nk_v16f)_mm512_maskz_loadu_ps((__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u)), p);
#else
    const nk_v16i m = (NK_IOTA16 >= (int)lo) & (NK_IOTA16 < (int)hi);
    const __m256i mlo = (__m256i)__builtin_shufflevector(m, m, 0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i mhi = (__m256i)__builtin_shufflevector(m, m, 8, 9, 10, 11, 12, 13, 14, 15);
    return V(join)(_mm256_maskload_ps(p, mlo), _mm256_maskload_ps(p + 8, mhi));
#endif
}

/// Stores lanes lo ≤ l < hi of v at p (nothing else is written); lo, hi any integers.
SPFN void V(str)(float *p, long lo, long hi, nk_v16f v) {
    lo = lo < 0 ? 0 : lo;
    hi = hi > 16 ? 16 : hi;
    if (lo == 0 && hi == 16) { V(st)(p, v); return; }
    if (hi <= lo) return;
#if NK_VEC16_LEVEL == 2
    _mm512_mask_storeu_ps(p, (__mmask16)(((1u << hi) - 1u) & ~((1u << lo) - 1u)), (__m512)v);
#else
    const nk_v16i m = (NK_IOTA16 >= (int)lo) & (NK_IOTA16 < (int)hi);
    _mm256_maskstore_ps(p, (__m256i)__builtin_shufflevector(m, m, 0, 1, 2, 3, 4, 5, 6, 7), V(lo)(v));
    _mm256_maskstore_ps(p + 8, (__m256i)__builtin_shufflevector(m, m, 8, 9, 10, 11, 12, 13, 14, 15), V(hi)(v));
#endif
}

/// One output row from its two phase rows e (rW = 0) and o (rW = 1), NULL past the grid:
/// out[ox] = Z[ox + pW] + b with Z[2v] = e[v], Z[2v + 1] = o[v] (0 for v ≥ gridW).
static TARGET void V(sp_d2s_row2)(const float *e, const float *o, long gridW, long outW, long pW, float b, float *out) {
    const nk_v16f bv = V(set1)(b);
    for (long v0 = 0; 2 * v0 - pW < outW; v0 += 16) {
        const long base = 2 * v0 - pW;
        const nk_v16f ev = e ? V(ldr)(e + v0, 0, gridW - v0) : V(zero)();
        const nk_v16f ov = o ? V(ldr)(o + v0, 0, gridW - v0) : V(zero)();
        const nk_v16f z0 = __builtin_shufflevector(ev, ov, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const nk_v16f z1 = __builtin_shufflevector(ev, ov, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        V(str)(out + base, -base, outW - base, z0 + bv);
        V(str)(out + base + 16, -base - 16, outW - base - 16, z1 + bv);
    }
}

/// One output row from two phase rows of the exact layout: out[ox] = Z[ox + pW] + b with
/// Z[2v] = e[v − ea] for ea ≤ v < ea + len and Z[2v + 1] = o[v − oa] for oa ≤ v < oa + len
/// (0 elsewhere; nothing outside those ranges is read).
static TARGET void V(sp_d2s_row2x)(const float *e, long ea, const float *o, long oa, long len, long outW, long pW,
                                   float b, float *out) {
    const nk_v16f bv = V(set1)(b);
    for (long v0 = 0; 2 * v0 - pW < outW; v0 += 16) {
        const long base = 2 * v0 - pW;
        const nk_v16f ev = V(ldr)(e + (v0 - ea), ea - v0, ea + len - v0);
        const nk_v16f ov = V(ldr)(o + (v0 - oa), oa - v0, oa + len - v0);
        const nk_v16f z0 = __builtin_shufflevector(ev, ov, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        const nk_v16f z1 = __builtin_shufflevector(ev, ov, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
        V(str)(out + base, -base, outW - base, z0 + bv);
        V(str)(out + base + 16, -base - 16, outW - base - 16, z1 + bv);
    }
}

/// The adjoint: e[v] = Z[2v], o[v] = Z[2v + 1] for v < gridW with Z[i] = row[i − pW] (0 outside [0, outW)).
static TARGET void V(sp_s2d_row2)(const float *row, long gridW, long outW, long pW, float *e, float *o) {
    for (long v0 = 0; v0 < gridW; v0 += 16) {
        const long base = 2 * v0 - pW;
        const nk_v16f a = V(ldr)(row + base, -base, outW - base);
        const nk_v16f c = V(ldr)(row + base + 16, -base - 16, outW - base - 16);
        const nk_v16f ev = __builtin_shufflevector(a, c, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        const nk_v16f ov = __builtin_shufflevector(a, c, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
        V(stm)(e + v0, gridW - v0, ev);
        V(stm)(o + v0, gridW - v0, ov);
    }
}

#undef SPFN
#undef ISA
#undef TARGET
#undef NK_VEC16_LEVEL
