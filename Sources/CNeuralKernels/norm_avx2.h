// AVX2+FMA bodies of the software-pipelined layer-normalisation rows (norm_kernels.c), included
// once there. They are ln_fwd_pipelined_512 and ln_bwd_pipelined_512 written against a 16-lane
// vector held in two ymm registers (lanes 0–7 and 8–15): every sum keeps the AVX-512 body's 64
// partials (four 16-lane vectors) and combines them the same way, the fused multiply-adds are the
// same, so the results are the same bits as the AVX-512 and portable bodies.
#define NK2 __attribute__((target("avx2,fma")))

typedef struct { __m256 lo, hi; } ln_v16;

NK2 static inline ln_v16 v16_load(const float *p) { return (ln_v16){_mm256_loadu_ps(p), _mm256_loadu_ps(p + 8)}; }
NK2 static inline ln_v16 v16_set1(float x) { return (ln_v16){_mm256_set1_ps(x), _mm256_set1_ps(x)}; }
NK2 static inline ln_v16 v16_zero(void) { return (ln_v16){_mm256_setzero_ps(), _mm256_setzero_ps()}; }
NK2 static inline ln_v16 v16_add(ln_v16 a, ln_v16 b) { return (ln_v16){_mm256_add_ps(a.lo, b.lo), _mm256_add_ps(a.hi, b.hi)}; }
NK2 static inline ln_v16 v16_sub(ln_v16 a, ln_v16 b) { return (ln_v16){_mm256_sub_ps(a.lo, b.lo), _mm256_sub_ps(a.hi, b.hi)}; }
NK2 static inline ln_v16 v16_mul(ln_v16 a, ln_v16 b) { return (ln_v16){_mm256_mul_ps(a.lo, b.lo), _mm256_mul_ps(a.hi, b.hi)}; }
NK2 static inline ln_v16 v16_fmadd(ln_v16 a, ln_v16 b, ln_v16 c) {
    return (ln_v16){_mm256_fmadd_ps(a.lo, b.lo, c.lo), _mm256_fmadd_ps(a.hi, b.hi, c.hi)};
}
NK2 static inline void v16_store(float *p, ln_v16 v, int stream) {
    if (stream) { _mm256_stream_ps(p, v.lo); _mm256_stream_ps(p + 8, v.hi); }
    else { _mm256_storeu_ps(p, v.lo); _mm256_storeu_ps(p + 8, v.hi); }
}

// (a0 + a1) + (a2 + a3) lane-wise, then lanes 0…15 in order: ln_combine's order.
NK2 static inline float v16_combine(ln_v16 a0, ln_v16 a1, ln_v16 a2, ln_v16 a3) {
    float lanes[16];
    const ln_v16 s = v16_add(v16_add(a0, a1), v16_add(a2, a3));
    _mm256_storeu_ps(lanes, s.lo);
    _mm256_storeu_ps(lanes + 8, s.hi);
    float t = 0;
    for (int l = 0; l < 16; l++) t += lanes[l];
    return t;
}

#define V2_SQ(p, vmu) v16_mul(v16_sub(v16_load(p), vmu), v16_sub(v16_load(p), vmu))

NK2 static inline float ln_sum64_avx2(const float *x, long m) {
    ln_v16 a0 = v16_zero(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = 0; i < m; i += 64) {
        a0 = v16_add(a0, v16_load(x + i));
        a1 = v16_add(a1, v16_load(x + i + 16));
        a2 = v16_add(a2, v16_load(x + i + 32));
        a3 = v16_add(a3, v16_load(x + i + 48));
    }
    return v16_combine(a0, a1, a2, a3);
}

NK2 static inline float ln_sqdev64_avx2(const float *x, long m, float mu) {
    const ln_v16 vmu = v16_set1(mu);
    ln_v16 a0 = v16_zero(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = 0; i < m; i += 64) {
        a0 = v16_add(a0, V2_SQ(x + i, vmu));
        a1 = v16_add(a1, V2_SQ(x + i + 16, vmu));
        a2 = v16_add(a2, V2_SQ(x + i + 32, vmu));
        a3 = v16_add(a3, V2_SQ(x + i + 48, vmu));
    }
    return v16_combine(a0, a1, a2, a3);
}

// See ln_fwd_pipelined_512 (m a multiple of 64, w and b given).
NK2 static void ln_fwd_pipelined_avx2(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m,
                                      float eps, const float *w, const float *b, int stream) {
    float muA = ln_sum64_avx2(x + r0 * m, m) / (float)m;
    float invA = 1.0f / sqrtf(ln_sqdev64_avx2(x + r0 * m, m, muA) / (float)m + eps);
    float muB = r0 + 1 < r1 ? ln_sum64_avx2(x + (r0 + 1) * m, m) / (float)m : 0.0f;
    mean[r0] = muA;
    rstd[r0] = invA;
    if (r0 + 1 < r1) mean[r0 + 1] = muB;
    for (long r = r0; r < r1; r++) {
        const float *xa = x + r * m, *xb = r + 1 < r1 ? xa + m : xa, *xc = r + 2 < r1 ? xa + 2 * m : xa;
        const float *xd = r + 3 < r1 ? xa + 3 * m : 0;
        float *ya = y + r * m;
        const ln_v16 vmuA = v16_set1(muA), vinvA = v16_set1(invA), vmuB = v16_set1(muB);
        ln_v16 s0 = v16_zero(), s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
#define V2_Y(j) v16_add(v16_mul(v16_mul(v16_sub(v16_load(xa + i + 16 * (j)), vmuA), vinvA), v16_load(w + i + 16 * (j))), \
                        v16_load(b + i + 16 * (j)))
        for (long i = 0; i < m; i += 64) {
            if (xd) ln_prefetch64(xd + i);
            s0 = v16_add(s0, v16_load(xc + i));      q0 = v16_add(q0, V2_SQ(xb + i, vmuB));      v16_store(ya + i, V2_Y(0), stream);
            s1 = v16_add(s1, v16_load(xc + i + 16)); q1 = v16_add(q1, V2_SQ(xb + i + 16, vmuB)); v16_store(ya + i + 16, V2_Y(1), stream);
            s2 = v16_add(s2, v16_load(xc + i + 32)); q2 = v16_add(q2, V2_SQ(xb + i + 32, vmuB)); v16_store(ya + i + 32, V2_Y(2), stream);
            s3 = v16_add(s3, v16_load(xc + i + 48)); q3 = v16_add(q3, V2_SQ(xb + i + 48, vmuB)); v16_store(ya + i + 48, V2_Y(3), stream);
        }
#undef V2_Y
        if (r + 1 < r1) {
            muA = muB;
            invA = 1.0f / sqrtf(v16_combine(q0, q1, q2, q3) / (float)m + eps);
            rstd[r + 1] = invA;
        }
        if (r + 2 < r1) {
            muB = v16_combine(s0, s1, s2, s3) / (float)m;
            mean[r + 2] = muB;
        }
    }
    if (stream) _mm_sfence();
}

// 16-float block j of i: as LN_BWD_SUMS in norm_kernels.c.
#define V2_BWD_SUMS(gr, xr, vmu, vinv, j, sa, ta)                                                      \
    do {                                                                                               \
        const ln_v16 gv = v16_load((gr) + i + 16 * (j));                                               \
        const ln_v16 xh = v16_mul(v16_sub(v16_load((xr) + i + 16 * (j)), vmu), vinv);                  \
        v16_store(pw + i + 16 * (j), v16_add(v16_load(pw + i + 16 * (j)), v16_mul(gv, xh)), 0);        \
        v16_store(pb + i + 16 * (j), v16_add(v16_load(pb + i + 16 * (j)), gv), 0);                     \
        const ln_v16 gh = v16_mul(gv, v16_load(w + i + 16 * (j)));                                     \
        sa = v16_add(sa, gh);                                                                          \
        ta = v16_add(ta, v16_mul(gh, xh));                                                             \
    } while (0)

// See ln_bwd_pipelined_512 (m a multiple of 64, w, dx, pw and pb given).
NK2 static void ln_bwd_pipelined_avx2(const float *g, const float *x, const float *mean, const float *rstd,
                                      const float *w, long r0, long r1, long m, float *dx, float *pw, float *pb,
                                      int stream) {
    float a = 0, c = 0;
#define V2_DX(j) v16_store(dr + i + 16 * (j), v16_fmadd(v16_mul(v16_load(gr + i + 16 * (j)), v16_load(w + i + 16 * (j))), \
                           vinv, v16_fmadd(v16_sub(v16_load(xr + i + 16 * (j)), vmu), vA, vB)), stream)
    {
        const float *gn = g + r0 * m, *xn = x + r0 * m;
        const ln_v16 vmuN = v16_set1(mean[r0]), vinvN = v16_set1(rstd[r0]);
        ln_v16 s0 = v16_zero(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
        for (long i = 0; i < m; i += 64) {
            V2_BWD_SUMS(gn, xn, vmuN, vinvN, 0, s0, t0);
            V2_BWD_SUMS(gn, xn, vmuN, vinvN, 1, s1, t1);
            V2_BWD_SUMS(gn, xn, vmuN, vinvN, 2, s2, t2);
            V2_BWD_SUMS(gn, xn, vmuN, vinvN, 3, s3, t3);
        }
        a = v16_combine(s0, s1, s2, s3) / (float)m;
        c = v16_combine(t0, t1, t2, t3) / (float)m;
    }
    for (long r = r0; r < r1; r++) {
        const float *gr = g + r * m, *xr = x + r * m, *gn = gr + m, *xn = xr + m;
        float *dr = dx + r * m;
        const ln_v16 vmu = v16_set1(mean[r]), vinv = v16_set1(rstd[r]);
        const ln_v16 vA = v16_set1(ln_dx_slope(rstd[r], c)), vB = v16_set1(ln_dx_offset(rstd[r], a));
        if (r + 1 < r1) {
            const ln_v16 vmuN = v16_set1(mean[r + 1]), vinvN = v16_set1(rstd[r + 1]);
            ln_v16 s0 = v16_zero(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
            const int ahead = r + 2 < r1;
            for (long i = 0; i < m; i += 64) {
                if (ahead) { ln_prefetch64(gn + m + i); ln_prefetch64(xn + m + i); }
                V2_BWD_SUMS(gn, xn, vmuN, vinvN, 0, s0, t0); V2_DX(0);
                V2_BWD_SUMS(gn, xn, vmuN, vinvN, 1, s1, t1); V2_DX(1);
                V2_BWD_SUMS(gn, xn, vmuN, vinvN, 2, s2, t2); V2_DX(2);
                V2_BWD_SUMS(gn, xn, vmuN, vinvN, 3, s3, t3); V2_DX(3);
            }
            a = v16_combine(s0, s1, s2, s3) / (float)m;
            c = v16_combine(t0, t1, t2, t3) / (float)m;
        } else {
            for (long i = 0; i < m; i += 64) { V2_DX(0); V2_DX(1); V2_DX(2); V2_DX(3); }
        }
    }
#undef V2_DX
    if (stream) _mm_sfence();
}
#undef V2_BWD_SUMS
#undef V2_SQ
#undef NK2
