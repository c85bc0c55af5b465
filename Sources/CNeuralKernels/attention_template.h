// One body of the fused attention kernels (include/nk_attention.h), included by
// attention_kernels.c once per instruction set and element type with T (float or double),
// IS_F64 (0 or 1), SUF (the name suffix) and TARGET (the target attribute, possibly empty)
// defined. Vectors are 64 bytes (W lanes) at every level — AVX2 splits them in two, the portable
// body in four — so every level runs the same operations per lane and gives the same bits.
#define NAME(x) ACAT(x, SUF)
#define W (64 / (int)sizeof(T))
#define KV (NK_ATTN_BLOCK / W)              /* vectors per block row of scores */
typedef T NAME(vt) __attribute__((vector_size(64), aligned(64)));
#define V NAME(vt)
#if IS_F64
typedef long long NAME(vit) __attribute__((vector_size(64)));
#else
typedef int NAME(vit) __attribute__((vector_size(64)));
#endif
#define VI NAME(vit)
#define FN static inline __attribute__((always_inline)) TARGET

FN V NAME(splat)(T c) { return (V){0} + c; }
FN V NAME(vfma)(V a, V b, V c) { return __builtin_elementwise_fma(a, b, c); }
FN V NAME(sel)(VI m, V a, V b) { return (V)(((VI)a & m) | ((VI)b & ~m)); }

/// e^x lane-wise; 0 for x below the smallest normal result (and for −inf). Relative error about
/// 2 ulp (Float32) / 1e-15 (Float64).
FN V NAME(vexp)(V x) {
#if IS_F64
    const double lo = -708.0;
    V xc = NAME(sel)(x < lo, NAME(splat)(lo), x);
    const double shifter = 0x1.8p52;
    V t = NAME(vfma)(xc, NAME(splat)(0x1.71547652b82fep0), NAME(splat)(shifter));
    V n = t - shifter;
    VI ni = (VI)t - (VI)NAME(splat)(shifter);
    V r = NAME(vfma)(n, NAME(splat)(-0x1.62e42fefa39efp-1), xc);
    r = NAME(vfma)(n, NAME(splat)(-0x1.abc9e3b39803fp-56), r);
    static const double c[13] = {1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
                                 1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
    V p = NAME(splat)(c[0]);
    for (int i = 1; i < 13; i++) p = NAME(vfma)(p, r, NAME(splat)(c[i]));
    V y = p * (V)((ni + 1023) << 52);
#else
    const float lo = -87.0f;
    V xc = NAME(sel)(x < lo, NAME(splat)(lo), x);
    const float shifter = 0x1.8p23f;
    V t = NAME(vfma)(xc, NAME(splat)(0x1.715476p0f), NAME(splat)(shifter));
    V n = t - shifter;
    VI ni = (VI)t - (VI)NAME(splat)(shifter);
    V r = NAME(vfma)(n, NAME(splat)(-0x1.62e4p-1f), xc);
    r = NAME(vfma)(n, NAME(splat)(-0x1.7f7d1cp-20f), r);
    static const float c[8] = {1.0f / 5040, 1.0f / 720, 1.0f / 120, 1.0f / 24, 1.0f / 6, 0.5f, 1.0f, 1.0f};
    V p = NAME(splat)(c[0]);
    for (int i = 1; i < 8; i++) p = NAME(vfma)(p, r, NAME(splat)(c[i]));
    V y = p * (V)((ni + 127) << 23);
#endif
    return NAME(sel)(x < lo, NAME(splat)(0), y);
}

/// e^x of one scalar, through the vector path (the same bits as a lane of vexp).
FN T NAME(sexp)(T x) { return NAME(vexp)(NAME(splat)(x))[0]; }

/// Lane sum in a fixed order.
FN T NAME(hsum)(V v) {
    T s = 0;
    for (int l = 0; l < W; l++) s += v[l];
    return s;
}

FN T NAME(hmax)(V v) {
    T s = v[0];
    for (int l = 1; l < W; l++) s = v[l] > s ? v[l] : s;
    return s;
}

/// Thread-local scratch, grown as needed and kept for the thread's next task.
static T *NAME(scratch)(size_t count) {
    static _Thread_local T *buf = 0;
    static _Thread_local size_t cap = 0;
    if (count > cap) {
        free(buf);
        size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
        buf = aligned_alloc(64, bytes);
        cap = buf ? count : 0;
    }
    return buf;
}

/// Scores of query row qr (dp elements, zero padded) against the packed, transposed key block
/// kt[dp][KV vectors]: s = scale · q·k + bias, −inf for keys after `last` (causal) .
FN void NAME(scores)(const T *qr, const V *kt, long dp, T scale, const V *bias, long first, long last, V *s) {
    V acc[KV];
    for (int c = 0; c < KV; c++) acc[c] = (V){0};
    for (long d = 0; d < dp; d++) {
        V qd = NAME(splat)(qr[d]);
        const V *kr = kt + d * KV;
        for (int c = 0; c < KV; c++) acc[c] = NAME(vfma)(qd, kr[c], acc[c]);
    }
    V sc = NAME(splat)(scale);
    for (int c = 0; c < KV; c++) s[c] = NAME(vfma)(acc[c], sc, bias[c]);
    if (last < first + NK_ATTN_BLOCK - 1) {               // causal: keys j > last are hidden
        T *sp = (T *)s;
        for (long j = last - first + 1; j < NK_ATTN_BLOCK; j++) sp[j] = -INFINITY;
    }
}

/// Packs keys [j0, j0 + 64) of one head transposed (kt[d][j]) and values row-major (vp[j][d],
/// when vp is not NULL), zero padded, and the additive mask bias (0 or −inf).
FN void NAME(pack_keys)(const T *k, long kst, const T *v, long vst, long j0, long tk, long d, long dp,
                        const unsigned char *mask, V *kt, T *vp, V *bias) {
    T *ktp = (T *)kt, *bp = (T *)bias;
    for (long j = 0; j < NK_ATTN_BLOCK; j++) {
        long jj = j0 + j;
        int live = jj < tk && !(mask && mask[jj]);
        bp[j] = live ? 0 : -INFINITY;
        const T *kr = k + jj * kst;
        for (long x = 0; x < dp; x++) ktp[x * NK_ATTN_BLOCK + j] = (jj < tk && x < d) ? kr[x] : 0;
        if (vp) {
            const T *vr = v + jj * vst;
            for (long x = 0; x < dp; x++) vp[j * dp + x] = (jj < tk && x < d) ? vr[x] : 0;
        }
    }
}

/// Copies rows [i0, i0 + n) of a [t, d] slice into packed rows of dp elements (zero padded).
FN void NAME(pack_rows)(const T *src, long st, long i0, long n, long d, long dp, T *dst) {
    for (long i = 0; i < n; i++) {
        const T *r = src + (i0 + i) * st;
        long x = 0;
        for (; x < d; x++) dst[i * dp + x] = r[x];
        for (; x < dp; x++) dst[i * dp + x] = 0;
    }
}

/// Rows handled together: their score blocks share each load of the packed keys and values.
#define R 4

/// Scores of R query rows (rows qr + r·dp, dp elements each, zero padded) against the packed,
/// transposed key block kt[dp][KV vectors]: s[r] = scale · q·k + bias, −inf for keys after
/// last[r] (causal).
FN void NAME(scores4)(const T *qr, const V *kt, long dp, T scale, const V *bias, long first, const long *last, V *s) {
    V acc[R][KV];
    for (int r = 0; r < R; r++)
        for (int c = 0; c < KV; c++) acc[r][c] = (V){0};
    for (long d = 0; d < dp; d++) {
        const V *kr = kt + d * KV;
        V k[KV];
        for (int c = 0; c < KV; c++) k[c] = kr[c];
        for (int r = 0; r < R; r++) {
            V qd = NAME(splat)(qr[r * dp + d]);
            for (int c = 0; c < KV; c++) acc[r][c] = NAME(vfma)(qd, k[c], acc[r][c]);
        }
    }
    V sc = NAME(splat)(scale);
    for (int r = 0; r < R; r++) {
        for (int c = 0; c < KV; c++) s[r * KV + c] = NAME(vfma)(acc[r][c], sc, bias[c]);
        if (last[r] < first + NK_ATTN_BLOCK - 1) {
            T *sp = (T *)(s + r * KV);
            for (long j = last[r] - first + 1 < 0 ? 0 : last[r] - first + 1; j < NK_ATTN_BLOCK; j++) sp[j] = -INFINITY;
        }
    }
}

/// acc[r] (rows of dv vectors, stride dv) += Σ_{j < jn} p[r][j] · vals[j] (rows of dp elements),
/// j in order, for R rows; p rows are KV vectors apart.
FN void NAME(accumulate4)(V *acc, long dv, const T *p, const T *vals, long dp, long jn) {
    long x = 0;
    for (; x + 2 <= dv; x += 2) {
        V o[R][2];
        for (int r = 0; r < R; r++) { o[r][0] = acc[r * dv + x]; o[r][1] = acc[r * dv + x + 1]; }
        for (long j = 0; j < jn; j++) {
            const V *vr = (const V *)(vals + j * dp) + x;
            V v0 = vr[0], v1 = vr[1];
            for (int r = 0; r < R; r++) {
                V pj = NAME(splat)(p[r * NK_ATTN_BLOCK + j]);
                o[r][0] = NAME(vfma)(pj, v0, o[r][0]);
                o[r][1] = NAME(vfma)(pj, v1, o[r][1]);
            }
        }
        for (int r = 0; r < R; r++) { acc[r * dv + x] = o[r][0]; acc[r * dv + x + 1] = o[r][1]; }
    }
    for (; x < dv; x++) {
        V o[R];
        for (int r = 0; r < R; r++) o[r] = acc[r * dv + x];
        for (long j = 0; j < jn; j++) {
            V v0 = ((const V *)(vals + j * dp))[x];
            for (int r = 0; r < R; r++) o[r] = NAME(vfma)(NAME(splat)(p[r * NK_ATTN_BLOCK + j]), v0, o[r]);
        }
        for (int r = 0; r < R; r++) acc[r * dv + x] = o[r];
    }
}

TARGET static void NAME(fwd)(const nk_attn_args *a, long task) {
    const long qblocks = (a->tq + NK_ATTN_BLOCK - 1) / NK_ATTN_BLOCK;
    const long bh = task / qblocks, i0 = task % qblocks * NK_ATTN_BLOCK;
    const long b = bh / a->heads, h = bh % a->heads;
    const long n = a->tq - i0 < NK_ATTN_BLOCK ? a->tq - i0 : NK_ATTN_BLOCK;
    const long d = a->d, dp = (d + W - 1) / W * W, dv = dp / W;
    const T *q = (const T *)a->q + b * a->qs.b + h * a->qs.h;
    const T *k = (const T *)a->k + b * a->ks.b + h * a->ks.h;
    const T *v = (const T *)a->v + b * a->vs.b + h * a->vs.h;
    T *o = (T *)a->o + b * a->os.b + h * a->os.h;
    T *lse = (T *)a->lse + bh * a->tq;
    const unsigned char *mask = a->key_mask ? a->key_mask + b * a->tk : 0;
    const T scale = (T)a->scale;
    // Scratch: kt [dp][64], vp [64][dp], acc [64][dp], qp [64][dp], s [64][64], bias [64],
    // lv [64] vectors (lane-wise row sums), m [64].
    const size_t blk = (size_t)NK_ATTN_BLOCK * dp, sq = (size_t)NK_ATTN_BLOCK * NK_ATTN_BLOCK;
    T *base = NAME(scratch)(4 * blk + sq + (size_t)NK_ATTN_BLOCK * (W + 2));
    if (!base) return;
    V *kt = (V *)base, *acc = (V *)(base + blk);
    T *vp = base + 2 * blk, *qp = base + 3 * blk;
    V *s = (V *)(base + 4 * blk), *bias = (V *)(base + 4 * blk + sq);
    V *lv = bias + KV;
    T *m = (T *)(lv + NK_ATTN_BLOCK);
    // Rows past n are padding (zero queries, never written out): the groups of R stay whole.
    const long np = (n + R - 1) / R * R;
    NAME(pack_rows)(q, a->qs.t, i0, n, d, dp, qp);
    for (long x = n * dp; x < np * dp; x++) qp[x] = 0;
    for (long i = 0; i < np; i++) { m[i] = -INFINITY; lv[i] = (V){0}; }
    for (long x = 0; x < np * dv; x++) acc[x] = (V){0};
    long kend = a->tk;
    if (a->causal && i0 + n < kend) kend = i0 + n;
    for (long j0 = 0; j0 < kend; j0 += NK_ATTN_BLOCK) {
        NAME(pack_keys)(k, a->ks.t, v, a->vs.t, j0, a->tk, d, dp, mask, kt, vp, bias);
        for (long i = 0; i < np; i += R) {
            long last[R], jn = 0;
            for (int r = 0; r < R; r++) {
                last[r] = a->causal ? i0 + i + r : a->tk - 1;
                long need = last[r] - j0 + 1;
                if (need > jn) jn = need;
            }
            if (jn <= 0) continue;
            if (jn > NK_ATTN_BLOCK) jn = NK_ATTN_BLOCK;
            V *sr = s + i * KV;
            NAME(scores4)(qp + i * dp, kt, dp, scale, bias, j0, last, sr);
            for (int r = 0; r < R; r++) {
                V *row = sr + r * KV;
                V mv = row[0];
                for (int c = 1; c < KV; c++) mv = NAME(sel)(row[c] > mv, row[c], mv);
                T mx = __builtin_reduce_max(mv);
                T mold = m[i + r], mnew = mx > mold ? mx : mold;
                V *ar = acc + (i + r) * dv;
                if (mnew == -INFINITY) {                      // every key so far hidden
                    for (int c = 0; c < KV; c++) row[c] = (V){0};
                    continue;
                }
                V av = NAME(vexp)(NAME(splat)(mold - mnew));
                V mn = NAME(splat)(mnew), sum = (V){0};
                for (int c = 0; c < KV; c++) { row[c] = NAME(vexp)(row[c] - mn); sum += row[c]; }
                lv[i + r] = lv[i + r] * av + sum;
                m[i + r] = mnew;
                for (long x = 0; x < dv; x++) ar[x] *= av;
            }
            NAME(accumulate4)(acc + i * dv, dv, (const T *)sr, vp, dp, jn);
        }
    }
    for (long i = 0; i < n; i++) {
        T *orow = o + (i0 + i) * a->os.t;
        const T *ar = (const T *)(acc + i * dv);
        const T li = NAME(hsum)(lv[i]);
        if (li > 0) {
            T inv = 1 / li;
            for (long x = 0; x < d; x++) orow[x] = ar[x] * inv;
            lse[i0 + i] = m[i] + (IS_F64 ? (T)log((double)li) : (T)logf((float)li));
        } else {
            for (long x = 0; x < d; x++) orow[x] = 0;
            lse[i0 + i] = -INFINITY;
        }
    }
}

/// dacc[j] (rows of dv vectors) += Σ_{i < ni} w[i][j] · rows[i] for keys j in [0, nj), i in order;
/// w rows are KV vectors apart, rows are dp elements apart. Two weight sets at once (P with dO
/// into dV, dS with Q into dK).
FN void NAME(key_grads)(V *dva, V *dka, long dv, const T *P, const T *dS, const T *g, const T *q, long dp, long ni, long nj) {
    for (long j = 0; j < nj; j += R) {
        long x = 0;
        for (; x + 2 <= dv; x += 2) {
            V av[R][2], ak[R][2];
            for (int r = 0; r < R; r++) {
                av[r][0] = dva[(j + r) * dv + x]; av[r][1] = dva[(j + r) * dv + x + 1];
                ak[r][0] = dka[(j + r) * dv + x]; ak[r][1] = dka[(j + r) * dv + x + 1];
            }
            for (long i = 0; i < ni; i++) {
                const V *gr = (const V *)(g + i * dp) + x, *qr = (const V *)(q + i * dp) + x;
                V g0 = gr[0], g1 = gr[1], q0 = qr[0], q1 = qr[1];
                const T *pi = P + i * NK_ATTN_BLOCK + j, *si = dS + i * NK_ATTN_BLOCK + j;
                for (int r = 0; r < R; r++) {
                    V pv = NAME(splat)(pi[r]), sv = NAME(splat)(si[r]);
                    av[r][0] = NAME(vfma)(pv, g0, av[r][0]); av[r][1] = NAME(vfma)(pv, g1, av[r][1]);
                    ak[r][0] = NAME(vfma)(sv, q0, ak[r][0]); ak[r][1] = NAME(vfma)(sv, q1, ak[r][1]);
                }
            }
            for (int r = 0; r < R; r++) {
                dva[(j + r) * dv + x] = av[r][0]; dva[(j + r) * dv + x + 1] = av[r][1];
                dka[(j + r) * dv + x] = ak[r][0]; dka[(j + r) * dv + x + 1] = ak[r][1];
            }
        }
        for (; x < dv; x++) {
            V av[R], ak[R];
            for (int r = 0; r < R; r++) { av[r] = dva[(j + r) * dv + x]; ak[r] = dka[(j + r) * dv + x]; }
            for (long i = 0; i < ni; i++) {
                V g0 = ((const V *)(g + i * dp))[x], q0 = ((const V *)(q + i * dp))[x];
                for (int r = 0; r < R; r++) {
                    av[r] = NAME(vfma)(NAME(splat)(P[i * NK_ATTN_BLOCK + j + r]), g0, av[r]);
                    ak[r] = NAME(vfma)(NAME(splat)(dS[i * NK_ATTN_BLOCK + j + r]), q0, ak[r]);
                }
            }
            for (int r = 0; r < R; r++) { dva[(j + r) * dv + x] = av[r]; dka[(j + r) * dv + x] = ak[r]; }
        }
    }
}

/// Writes packed rows src[0, n) (dp elements apart) to rows [t0, t0 + n) of head (b, h) of a
/// [batch, heads, t, d] gradient (nothing when dst is NULL).
FN void NAME(store_rows)(void *dst, nk_attn_strides st, long b, long h, long t0, long n, long d, const T *src, long dp) {
    if (!dst) return;
    T *base = (T *)dst + b * st.b + h * st.h;
    for (long i = 0; i < n; i++) {
        T *row = base + (t0 + i) * st.t;
        for (long x = 0; x < d; x++) row[x] = src[i * dp + x];
    }
}

TARGET static void NAME(bwd)(const nk_attn_args *a, long bh) {
    const long b = bh / a->heads, h = bh % a->heads, tq = a->tq, tk = a->tk;
    const long d = a->d, dp = (d + W - 1) / W * W, dv = dp / W;
    const T *q = (const T *)a->q + b * a->qs.b + h * a->qs.h;
    const T *k = (const T *)a->k + b * a->ks.b + h * a->ks.h;
    const T *v = (const T *)a->v + b * a->vs.b + h * a->vs.h;
    const T *o = (const T *)a->o + b * a->os.b + h * a->os.h;
    const T *g = (const T *)a->g + b * a->gs.b + h * a->gs.h;
    const T *lse = (const T *)a->lse + bh * tq;
    const unsigned char *mask = a->key_mask ? a->key_mask + b * tk : 0;
    const T scale = (T)a->scale;
    const long tqp = (tq + NK_ATTN_BLOCK - 1) / NK_ATTN_BLOCK * NK_ATTN_BLOCK;   // rows padded to whole blocks
    const size_t blk = (size_t)NK_ATTN_BLOCK * dp, sq = (size_t)NK_ATTN_BLOCK * NK_ATTN_BLOCK;
    const size_t rows = (size_t)tqp * dp;
    // Scratch: kt, vt [dp][64]; kp, dka, dva [64][dp]; P, dS [64][64]; bias [64];
    // qa, ga, dqa [tqp][dp]; delta, lse [tqp].
    T *base = NAME(scratch)(5 * blk + 2 * sq + NK_ATTN_BLOCK + 3 * rows + 2 * (size_t)tqp);
    if (!base) return;
    V *kt = (V *)base, *vt = (V *)(base + blk);
    T *kp = base + 2 * blk;
    V *dka = (V *)(base + 3 * blk), *dva = (V *)(base + 4 * blk);
    V *P = (V *)(base + 5 * blk), *dS = (V *)(base + 5 * blk + sq);
    V *bias = (V *)(base + 5 * blk + 2 * sq);
    T *qa = base + 5 * blk + 2 * sq + NK_ATTN_BLOCK, *ga = qa + rows;
    V *dqa = (V *)(ga + rows);
    T *delta = (T *)(dqa) + rows, *ls = delta + tqp;
    NAME(pack_rows)(q, a->qs.t, 0, tq, d, dp, qa);
    NAME(pack_rows)(g, a->gs.t, 0, tq, d, dp, ga);
    for (size_t x = (size_t)tq * dp; x < rows; x++) { qa[x] = 0; ga[x] = 0; }
    for (long i = 0; i < tqp; i++) {
        T t = 0;
        if (i < tq) {
            const T *orow = o + i * a->os.t, *grow = ga + i * dp;
            for (long x = 0; x < d; x++) t = IS_F64 ? fma(grow[x], orow[x], t) : fmaf(grow[x], orow[x], t);
        }
        delta[i] = t;
        ls[i] = i < tq ? lse[i] : -INFINITY;
    }
    for (size_t x = 0; x < rows / W; x++) dqa[x] = (V){0};
    for (long j0 = 0; j0 < tk; j0 += NK_ATTN_BLOCK) {
        const long nj = tk - j0 < NK_ATTN_BLOCK ? tk - j0 : NK_ATTN_BLOCK;
        NAME(pack_keys)(k, a->ks.t, k, a->ks.t, j0, tk, d, dp, mask, kt, kp, bias);
        NAME(pack_keys)(v, a->vs.t, 0, 0, j0, tk, d, dp, 0, vt, 0, P);  // P: scratch for the unused bias
        for (long x = 0; x < NK_ATTN_BLOCK * dv; x++) { dka[x] = (V){0}; dva[x] = (V){0}; }
        const long istart = a->causal ? j0 : 0;
        for (long i0 = istart; i0 < tq; i0 += NK_ATTN_BLOCK) {
            const long ni = tq - i0 < NK_ATTN_BLOCK ? tq - i0 : NK_ATTN_BLOCK;
            const long nip = (ni + R - 1) / R * R;
            for (long i = 0; i < nip; i += R) {
                const long ii = i0 + i;
                long last[R];
                for (int r = 0; r < R; r++) last[r] = a->causal ? ii + r : tk - 1;
                V *pr = P + i * KV, *dr = dS + i * KV;
                NAME(scores4)(qa + ii * dp, kt, dp, scale, bias, j0, last, pr);
                V dpv[R][KV];
                for (int r = 0; r < R; r++)
                    for (int c = 0; c < KV; c++) dpv[r][c] = (V){0};
                for (long x = 0; x < dp; x++) {
                    const V *vr = vt + x * KV;
                    V vv[KV];
                    for (int c = 0; c < KV; c++) vv[c] = vr[c];
                    for (int r = 0; r < R; r++) {
                        V gx = NAME(splat)(ga[(ii + r) * dp + x]);
                        for (int c = 0; c < KV; c++) dpv[r][c] = NAME(vfma)(gx, vv[c], dpv[r][c]);
                    }
                }
                V sc = NAME(splat)(scale);
                for (int r = 0; r < R; r++) {
                    const T li = ls[ii + r];
                    V *p = pr + r * KV, *ds = dr + r * KV;
                    if (li == -INFINITY) {                    // a row that sees no key (or padding)
                        for (int c = 0; c < KV; c++) { p[c] = (V){0}; ds[c] = (V){0}; }
                        continue;
                    }
                    V lv = NAME(splat)(li), dl = NAME(splat)(delta[ii + r]);
                    for (int c = 0; c < KV; c++) {
                        p[c] = NAME(vexp)(p[c] - lv);
                        ds[c] = p[c] * (dpv[r][c] - dl) * sc;
                    }
                }
                // dQ rows += Σ_j dS[i][j] · K[j]
                NAME(accumulate4)(dqa + ii * dv, dv, (const T *)dr, kp, dp, nj);
            }
            NAME(key_grads)(dva, dka, dv, (const T *)P, (const T *)dS, ga + i0 * dp, qa + i0 * dp, dp, nip, nj);
        }
        NAME(store_rows)(a->dk, a->dks, b, h, j0, nj, d, (const T *)dka, dp);
        NAME(store_rows)(a->dv, a->dvs, b, h, j0, nj, d, (const T *)dva, dp);
    }
    NAME(store_rows)(a->dq, a->dqs, b, h, 0, tq, d, (const T *)dqa, dp);
}

#undef R
#undef NAME
#undef W
#undef KV
#undef V
#undef VI
#undef FN
#undef T
#undef IS_F64
#undef SUF
#undef TARGET
