// The vector bodies of the layer-normalisation rows (norm_kernels.c, include/nk_norm.h), written
// once over the 16-lane vector of vec16.h and included there once per instruction set (ISA,
// NK_VEC16_LEVEL and TARGET defined, vec16.h included just before). Every sum keeps the portable
// body's 64 partials (four 16-lane vectors, element i to partial i mod 64), combined as
// (p0 + p1) + (p2 + p3) lane-wise, then lanes 0…15 in order; the fused multiply-adds are the
// portable body's two, so every level gives the same bits. Undefines ISA, TARGET and
// NK_VEC16_LEVEL at its end.
#define LNFN static TARGET
#define LNIN static inline __attribute__((always_inline)) TARGET

LNIN float V(ln_combine)(nk_v16f a0, nk_v16f a1, nk_v16f a2, nk_v16f a3) { return V(hsum)((a0 + a1) + (a2 + a3)); }

/// Stores lanes 0 ..< n of v at p, non-temporally where `stream` (then n is 16 and p aligned).
LNIN void V(ln_store)(float *p, long n, nk_v16f v, int stream) {
    if (stream) V(stnt)(p, v);
    else V(stm)(p, n, v);
}

// acc_k += v for k = block index mod 4 (k is a small constant after unrolling, else a select).
#define LN_ACC4(k, a0, a1, a2, a3, v)                                                   \
    do {                                                                                \
        switch ((k) & 3) {                                                              \
        case 0: a0 = a0 + (v); break;                                                   \
        case 1: a1 = a1 + (v); break;                                                   \
        case 2: a2 = a2 + (v); break;                                                   \
        default: a3 = a3 + (v); break;                                                  \
        }                                                                               \
    } while (0)
#define LN_SQ(p, vmu) ((V(ld)(p) - (vmu)) * (V(ld)(p) - (vmu)))

/// One row of any length (tails masked); `next` (the next row, or NULL) is prefetched.
LNFN void V(ln_fwd_row)(const float *x, float *y, long m, float eps, const float *w, const float *b, float *mean,
                        float *rstd, int stream, const float *next) {
    nk_v16f a0 = V(zero)(), a1 = a0, a2 = a0, a3 = a0;
    long i = 0, k = 0;
    for (; i + 64 <= m; i += 64) {
        if (next) ln_prefetch64(next + i);
        a0 = a0 + V(ld)(x + i);
        a1 = a1 + V(ld)(x + i + 16);
        a2 = a2 + V(ld)(x + i + 32);
        a3 = a3 + V(ld)(x + i + 48);
    }
    for (; i < m; i += 16, k++) LN_ACC4(k, a0, a1, a2, a3, V(ldm)(x + i, m - i));
    const float mu = V(ln_combine)(a0, a1, a2, a3) / (float)m;
    const nk_v16f vmu = V(set1)(mu);

    a0 = V(zero)(), a1 = a0, a2 = a0, a3 = a0;
    for (i = 0; i + 64 <= m; i += 64) {
        a0 = a0 + LN_SQ(x + i, vmu);
        a1 = a1 + LN_SQ(x + i + 16, vmu);
        a2 = a2 + LN_SQ(x + i + 32, vmu);
        a3 = a3 + LN_SQ(x + i + 48, vmu);
    }
    for (k = 0; i < m; i += 16, k++) {
        const nk_v16f d = V(keep)(V(first)(m - i), V(ldm)(x + i, m - i) - vmu);
        LN_ACC4(k, a0, a1, a2, a3, d * d);
    }
    const float inv = 1.0f / sqrtf(V(ln_combine)(a0, a1, a2, a3) / (float)m + eps);
    *mean = mu;
    *rstd = inv;

    const nk_v16f vinv = V(set1)(inv);
    if (w && b && stream) {
        for (i = 0; i < m; i += 16) V(stnt)(y + i, (V(ld)(x + i) - vmu) * vinv * V(ld)(w + i) + V(ld)(b + i));
        return;
    }
    for (i = 0; i < m; i += 16) {
        const long n = m - i;
        nk_v16f v = (V(ldm)(x + i, n) - vmu) * vinv;
        if (w) v = v * V(ldm)(w + i, n);
        if (b) v = v + V(ldm)(b + i, n);
        V(ln_store)(y + i, n, v, stream);
    }
}

// 16-float block j of i: the row sums sa += ĝ, ta += ĝ x̂ of row (gr, xr) (mean vmu, rstd vinv), and
// its g ⊙ x̂ and g added to the parameter partials pw, pb (affine, all gradients wanted).
#define LN_BWD_SUMS(gr, xr, vmu, vinv, j, sa, ta)                                                       \
    do {                                                                                                \
        const nk_v16f gv = V(ld)((gr) + i + 16 * (j));                                                  \
        const nk_v16f xh = (V(ld)((xr) + i + 16 * (j)) - (vmu)) * (vinv);                               \
        V(st)(pw + i + 16 * (j), V(ld)(pw + i + 16 * (j)) + gv * xh);                                   \
        V(st)(pb + i + 16 * (j), V(ld)(pb + i + 16 * (j)) + gv);                                        \
        const nk_v16f gh = gv * V(ld)(w + i + 16 * (j));                                                \
        sa = sa + gh;                                                                                   \
        ta = ta + gh * xh;                                                                              \
    } while (0)

/// One row of any length (tails masked), any of w, dx, pw, pb absent; the next row's g and x
/// (or NULL) are prefetched.
LNFN void V(ln_bwd_row)(const float *g, const float *x, float mu, float inv, const float *w, long m, float *dx,
                        float *pw, float *pb, int stream, const float *gNext, const float *xNext) {
    const nk_v16f vmu = V(set1)(mu), vinv = V(set1)(inv);
    nk_v16f s0 = V(zero)(), s1 = s0, s2 = s0, s3 = s0;
    nk_v16f t0 = s0, t1 = s0, t2 = s0, t3 = s0;
    long i = 0, k = 0;
    if (pw && pb && dx && w) {
        // The usual case (affine, all gradients wanted), without per-block tests.
        for (; i + 64 <= m; i += 64) {
            if (gNext) { ln_prefetch64(gNext + i); ln_prefetch64(xNext + i); }
            LN_BWD_SUMS(g, x, vmu, vinv, 0, s0, t0);
            LN_BWD_SUMS(g, x, vmu, vinv, 1, s1, t1);
            LN_BWD_SUMS(g, x, vmu, vinv, 2, s2, t2);
            LN_BWD_SUMS(g, x, vmu, vinv, 3, s3, t3);
        }
    }
    for (; i < m; i += 16, k++) {
        if (gNext && (i & 63) == 0) { ln_prefetch64(gNext + i); ln_prefetch64(xNext + i); }
        const long n = m - i;
        const nk_v16f gv = V(ldm)(g + i, n);
        const nk_v16f xh = V(keep)(V(first)(n), (V(ldm)(x + i, n) - vmu) * vinv);
        if (pw) V(stm)(pw + i, n, V(ldm)(pw + i, n) + gv * xh);
        if (pb) V(stm)(pb + i, n, V(ldm)(pb + i, n) + gv);
        if (dx) {
            const nk_v16f gh = w ? gv * V(ldm)(w + i, n) : gv;
            LN_ACC4(k, s0, s1, s2, s3, gh);
            LN_ACC4(k, t0, t1, t2, t3, gh * xh);
        }
    }
    if (!dx) return;
    const float a = V(ln_combine)(s0, s1, s2, s3) / (float)m, c = V(ln_combine)(t0, t1, t2, t3) / (float)m;
    const nk_v16f vA = V(set1)(ln_dx_slope(inv, c)), vB = V(set1)(ln_dx_offset(inv, a));
    for (i = 0; i < m; i += 16) {
        const long n = m - i;
        const nk_v16f gv = V(ldm)(g + i, n);
        const nk_v16f gh = w ? gv * V(ldm)(w + i, n) : gv;
        const nk_v16f d = V(ldm)(x + i, n) - vmu;
        V(ln_store)(dx + i, n, V(fma)(gh, vinv, V(fma)(d, vA, vB)), stream);
    }
}

// Software-pipelined rows (m a multiple of 64, affine): one loop per row r both reads the row
// ahead from memory and writes row r, so loads and stores stream together as in a copy instead of
// alternating (read a row, compute, write it), which left the memory idle while the core computed
// and the core idle while the row arrived (docs/PERFORMANCE.md).
// Each row's sums are the same partials in the same order as ln_fwd_row: the same bits.

/// Σ x over one row into four partials (64-float block j to partial j mod 4), combined.
LNIN float V(ln_sum64)(const float *x, long m) {
    nk_v16f a0 = V(zero)(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = 0; i < m; i += 64) {
        a0 = a0 + V(ld)(x + i);
        a1 = a1 + V(ld)(x + i + 16);
        a2 = a2 + V(ld)(x + i + 32);
        a3 = a3 + V(ld)(x + i + 48);
    }
    return V(ln_combine)(a0, a1, a2, a3);
}

/// Σ (x − μ)² over one row, partials as in ln_sum64.
LNIN float V(ln_sqdev64)(const float *x, long m, float mu) {
    const nk_v16f vmu = V(set1)(mu);
    nk_v16f a0 = V(zero)(), a1 = a0, a2 = a0, a3 = a0;
    for (long i = 0; i < m; i += 64) {
        a0 = a0 + LN_SQ(x + i, vmu);
        a1 = a1 + LN_SQ(x + i + 16, vmu);
        a2 = a2 + LN_SQ(x + i + 32, vmu);
        a3 = a3 + LN_SQ(x + i + 48, vmu);
    }
    return V(ln_combine)(a0, a1, a2, a3);
}

/// Iteration r: Σ x of row r + 2 (from memory), Σ (x − μ)² of row r + 1 (in L1, its mean known),
/// and y of row r (both statistics known).
LNFN void V(ln_fwd_pipelined)(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m, float eps,
                              const float *w, const float *b, int stream) {
    float muA = V(ln_sum64)(x + r0 * m, m) / (float)m;
    float invA = 1.0f / sqrtf(V(ln_sqdev64)(x + r0 * m, m, muA) / (float)m + eps);
    float muB = r0 + 1 < r1 ? V(ln_sum64)(x + (r0 + 1) * m, m) / (float)m : 0.0f;
    mean[r0] = muA;
    rstd[r0] = invA;
    if (r0 + 1 < r1) mean[r0 + 1] = muB;
    for (long r = r0; r < r1; r++) {
        // Rows past the block's end are stood in for by row r (in L1; their sums are dropped below).
        const float *xa = x + r * m, *xb = r + 1 < r1 ? xa + m : xa, *xc = r + 2 < r1 ? xa + 2 * m : xa;
        const float *xd = r + 3 < r1 ? xa + 3 * m : 0;
        float *ya = y + r * m;
        const nk_v16f vmuA = V(set1)(muA), vinvA = V(set1)(invA), vmuB = V(set1)(muB);
        nk_v16f s0 = V(zero)(), s1 = s0, s2 = s0, s3 = s0, q0 = s0, q1 = s0, q2 = s0, q3 = s0;
#define LN_Y(j) ((V(ld)(xa + i + 16 * (j)) - vmuA) * vinvA * V(ld)(w + i + 16 * (j)) + V(ld)(b + i + 16 * (j)))
#define LN_PUT(j) do { if (stream) V(stnt)(ya + i + 16 * (j), LN_Y(j)); else V(st)(ya + i + 16 * (j), LN_Y(j)); } while (0)
        for (long i = 0; i < m; i += 64) {
            if (xd) ln_prefetch64(xd + i);
            s0 = s0 + V(ld)(xc + i);      q0 = q0 + LN_SQ(xb + i, vmuB);      LN_PUT(0);
            s1 = s1 + V(ld)(xc + i + 16); q1 = q1 + LN_SQ(xb + i + 16, vmuB); LN_PUT(1);
            s2 = s2 + V(ld)(xc + i + 32); q2 = q2 + LN_SQ(xb + i + 32, vmuB); LN_PUT(2);
            s3 = s3 + V(ld)(xc + i + 48); q3 = q3 + LN_SQ(xb + i + 48, vmuB); LN_PUT(3);
        }
#undef LN_PUT
#undef LN_Y
        if (r + 1 < r1) {
            muA = muB;
            invA = 1.0f / sqrtf(V(ln_combine)(q0, q1, q2, q3) / (float)m + eps);
            rstd[r + 1] = invA;
        }
        if (r + 2 < r1) {
            muB = V(ln_combine)(s0, s1, s2, s3) / (float)m;
            mean[r + 2] = muB;
        }
    }
}

/// Iteration r: the row sums and parameter partials of row r + 1 (from memory) and dx of row r
/// (its sums known; g, x and w in L1). Rows enter the partials in order, as in ln_bwd_row.
LNFN void V(ln_bwd_pipelined)(const float *g, const float *x, const float *mean, const float *rstd, const float *w,
                              long r0, long r1, long m, float *dx, float *pw, float *pb, int stream) {
    float a = 0, c = 0;
#define LN_DX_V(j) V(fma)(V(ld)(gr + i + 16 * (j)) * V(ld)(w + i + 16 * (j)), vinv, \
                          V(fma)(V(ld)(xr + i + 16 * (j)) - vmu, vA, vB))
#define LN_DX(j) do { if (stream) V(stnt)(dr + i + 16 * (j), LN_DX_V(j)); else V(st)(dr + i + 16 * (j), LN_DX_V(j)); } while (0)
    {
        const float *gn = g + r0 * m, *xn = x + r0 * m;
        const nk_v16f vmuN = V(set1)(mean[r0]), vinvN = V(set1)(rstd[r0]);
        nk_v16f s0 = V(zero)(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
        for (long i = 0; i < m; i += 64) {
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 0, s0, t0);
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 1, s1, t1);
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 2, s2, t2);
            LN_BWD_SUMS(gn, xn, vmuN, vinvN, 3, s3, t3);
        }
        a = V(ln_combine)(s0, s1, s2, s3) / (float)m;
        c = V(ln_combine)(t0, t1, t2, t3) / (float)m;
    }
    for (long r = r0; r < r1; r++) {
        const float *gr = g + r * m, *xr = x + r * m, *gn = gr + m, *xn = xr + m;
        float *dr = dx + r * m;
        const nk_v16f vmu = V(set1)(mean[r]), vinv = V(set1)(rstd[r]);
        const nk_v16f vA = V(set1)(ln_dx_slope(rstd[r], c)), vB = V(set1)(ln_dx_offset(rstd[r], a));
        if (r + 1 < r1) {
            const nk_v16f vmuN = V(set1)(mean[r + 1]), vinvN = V(set1)(rstd[r + 1]);
            nk_v16f s0 = V(zero)(), s1 = s0, s2 = s0, s3 = s0, t0 = s0, t1 = s0, t2 = s0, t3 = s0;
            const int ahead = r + 2 < r1;
            for (long i = 0; i < m; i += 64) {
                if (ahead) { ln_prefetch64(gn + m + i); ln_prefetch64(xn + m + i); }
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 0, s0, t0); LN_DX(0);
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 1, s1, t1); LN_DX(1);
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 2, s2, t2); LN_DX(2);
                LN_BWD_SUMS(gn, xn, vmuN, vinvN, 3, s3, t3); LN_DX(3);
            }
            a = V(ln_combine)(s0, s1, s2, s3) / (float)m;
            c = V(ln_combine)(t0, t1, t2, t3) / (float)m;
        } else {
            for (long i = 0; i < m; i += 64) { LN_DX(0); LN_DX(1); LN_DX(2); LN_DX(3); }
        }
    }
#undef LN_DX
#undef LN_DX_V
}

/// Rows r0 ..< r1 forward: the pipelined rows where they apply, else row by row.
LNFN void V(ln_fwd)(const float *x, float *y, float *mean, float *rstd, long r0, long r1, long m, float eps,
                    const float *w, const float *b, int stream) {
    stream = stream && ((uintptr_t)y & 63) == 0 && m % 16 == 0;
    if (w && b && m % 64 == 0) V(ln_fwd_pipelined)(x, y, mean, rstd, r0, r1, m, eps, w, b, stream);
    else
        for (long r = r0; r < r1; r++)
            V(ln_fwd_row)(x + r * m, y + r * m, m, eps, w, b, mean + r, rstd + r, stream,
                          r + 1 < r1 ? x + (r + 1) * m : 0);
    if (stream) _mm_sfence();
}

/// Rows r0 ..< r1 backward: the pipelined rows where they apply, else row by row.
LNFN void V(ln_bwd)(const float *g, const float *x, const float *mean, const float *rstd, const float *w, long r0,
                    long r1, long m, float *dx, float *pw, float *pb, int stream) {
    stream = stream && dx && ((uintptr_t)dx & 63) == 0 && m % 16 == 0;
    if (w && dx && pw && pb && m % 64 == 0) V(ln_bwd_pipelined)(g, x, mean, rstd, w, r0, r1, m, dx, pw, pb, stream);
    else
        for (long r = r0; r < r1; r++)
            V(ln_bwd_row)(g + r * m, x + r * m, mean[r], rstd[r], w, m, dx ? dx + r * m : 0, pw, pb, stream,
                          r + 1 < r1 ? g + (r + 1) * m : 0, r + 1 < r1 ? x + (r + 1) * m : 0);
    if (stream) _mm_sfence();
}

#undef LN_BWD_SUMS
#undef LN_SQ
#undef LN_ACC4
#undef LNIN
#undef LNFN
#undef V
#undef ISA
#undef TARGET
#undef NK_VEC16_LEVEL
