// The vector bodies of the layer loops of nn_kernels.c (see nk_nn.h), written once over the
// 16-lane vector of vec16.h and included there once per instruction set (ISA, NK_VEC16_LEVEL and
// TARGET defined, vec16.h included just before). Each body runs the portable body's operations in
// the same order lane by lane, sums in the same fixed order around 16 lanes, and forms no fused
// multiply-adds (the including file turns contraction off), so every level gives the same bits.
// Undefines ISA, TARGET and NK_VEC16_LEVEL at its end.
#define NNFN static TARGET

// ---------------------------------------------------------------------------------------------
// The Float32 exact GELU (gelu_f32.h): the operations of nk_gelu1 in nn_kernels.c, lane by lane.

/// c0 + u(c1 + u(c2 + …)) by fused multiply-adds, highest coefficient first.
#define NK_HORNER_STEP(p, u, c) V(fma)(p, u, V(set1)(c))

static inline __attribute__((always_inline)) TARGET nk_v16f V(gelu)(nk_v16f x) {
    const nk_v16f hx = x * 0.5f, z = x * NK_GELU_RSQRT2;
    const nk_v16f a = (nk_v16f)((nk_v16i)z & 0x7fffffff), u = a * a;
    nk_v16f s = V(set1)(NK_GELU_S6);
    s = NK_HORNER_STEP(s, u, NK_GELU_S5);
    s = NK_HORNER_STEP(s, u, NK_GELU_S4);
    s = NK_HORNER_STEP(s, u, NK_GELU_S3);
    s = NK_HORNER_STEP(s, u, NK_GELU_S2);
    s = NK_HORNER_STEP(s, u, NK_GELU_S1);
    s = NK_HORNER_STEP(s, u, NK_GELU_S0);
    const nk_v16f ySmall = V(fma)(hx, z * s, hx);
    const nk_v16f ac = V(sel)(a < 9.0f, a, V(set1)(9.0f));
    const nk_v16f t = 1.0f / V(fma)(ac, V(set1)(0.5f), V(set1)(1.0f));
    nk_v16f q = V(set1)(NK_GELU_N9);
    q = NK_HORNER_STEP(q, t, NK_GELU_N8);
    q = NK_HORNER_STEP(q, t, NK_GELU_N7);
    q = NK_HORNER_STEP(q, t, NK_GELU_N6);
    q = NK_HORNER_STEP(q, t, NK_GELU_N5);
    q = NK_HORNER_STEP(q, t, NK_GELU_N4);
    q = NK_HORNER_STEP(q, t, NK_GELU_N3);
    q = NK_HORNER_STEP(q, t, NK_GELU_N2);
    q = NK_HORNER_STEP(q, t, NK_GELU_N1);
    q = NK_HORNER_STEP(q, t, NK_GELU_N0);
    nk_v16f w = q - ac * ac;
    w = V(sel)(w > -87.0f, w, V(set1)(-87.0f));
    const nk_v16f k = V(fma)(w, V(set1)(NK_GELU_LOG2E), V(set1)(NK_GELU_SHIFTER));
    const nk_v16f n = k - NK_GELU_SHIFTER;
    nk_v16f r = V(fma)(n, V(set1)(-NK_GELU_LN2HI), w);
    r = V(fma)(n, V(set1)(-NK_GELU_LN2LO), r);
    nk_v16f e = V(set1)(NK_GELU_E7);
    e = NK_HORNER_STEP(e, r, NK_GELU_E6);
    e = NK_HORNER_STEP(e, r, NK_GELU_E5);
    e = NK_HORNER_STEP(e, r, NK_GELU_E4);
    e = NK_HORNER_STEP(e, r, NK_GELU_E3);
    e = NK_HORNER_STEP(e, r, NK_GELU_E2);
    e = NK_HORNER_STEP(e, r, NK_GELU_E1);
    e = NK_HORNER_STEP(e, r, NK_GELU_E0);
    const nk_v16f scale = (nk_v16f)((__builtin_convertvector(n, nk_v16i) + 127) << 23);
    const nk_v16f ec = t * (e * scale);
    const nk_v16f yLarge = V(sel)(z < 0.0f, hx * ec, V(fma)(-hx, ec, x));
    nk_v16f y = V(sel)(a < 1.0f, ySmall, yLarge);
    y = V(sel)(x > 40.0f, x, V(sel)(x < -40.0f, V(set1)(-0.0f), y));
    return V(sel)(x != x, x, y);
}
#undef NK_HORNER_STEP

/// act 0: z; 1: the ReLU; 2: the exact GELU.
static inline __attribute__((always_inline)) TARGET nk_v16f V(act)(nk_v16f z, int act) {
    return act == 1 ? V(relu)(z) : act == 2 ? V(gelu)(z) : z;
}

NNFN void V(gelu_run)(const float *x, float *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) V(st)(y + i, V(gelu)(V(ld)(x + i)));
    if (i < n) V(stm)(y + i, n - i, V(gelu)(V(ldm)(x + i, n - i)));
}

// ---------------------------------------------------------------------------------------------
// Bias + activation epilogues

NNFN void V(bias_act_cols)(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    for (long i = 0; i < rows; i++) {
        float *r = y + i * ldy;
        long j = 0;
        for (; j + 16 <= cols; j += 16) {
            nk_v16f z = V(ld)(r + j);
            if (b) z = z + V(ld)(b + j);
            V(st)(r + j, V(act)(z, relu));
        }
        if (j < cols) {
            nk_v16f z = V(ldm)(r + j, cols - j);
            if (b) z = z + V(ldm)(b + j, cols - j);
            V(stm)(r + j, cols - j, V(act)(z, relu));
        }
    }
}

/// d[j] = act(s[j] + bias) for j < n (d may be s): one bias for the whole run.
static inline __attribute__((always_inline)) TARGET void V(bias_act_run)(float *d, const float *s, long n, float bias,
                                                                           int hasBias, int relu) {
    const nk_v16f bv = V(set1)(bias);
    long j = 0;
    for (; j + 16 <= n; j += 16) {
        nk_v16f z = V(ld)(s + j);
        if (hasBias) z = z + bv;
        V(st)(d + j, V(act)(z, relu));
    }
    if (j < n) {
        nk_v16f z = V(ldm)(s + j, n - j);
        if (hasBias) z = z + bv;
        V(stm)(d + j, n - j, V(act)(z, relu));
    }
}

NNFN void V(bias_act_rows)(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    for (long i = 0; i < rows; i++) V(bias_act_run)(y + i * ldy, y + i * ldy, cols, b ? b[i] : 0.0f, b != 0, relu);
}

/// y[i, j] = act(t[j, i] + b[j]): 16 × 16 blocks of t transposed in registers.
NNFN void V(bias_act_transpose)(float *y, long ldy, const float *t, long ldt, const float *b, long rows, long cols,
                                int relu) {
    for (long i0 = 0; i0 < rows; i0 += 16) {
        const long ni = rows - i0 < 16 ? rows - i0 : 16;
        for (long j0 = 0; j0 < cols; j0 += 16) {
            const long nj = cols - j0 < 16 ? cols - j0 : 16;
            nk_v16f v[16];
            for (long r = 0; r < 16; r++) v[r] = r < nj ? V(ldm)(t + (j0 + r) * ldt + i0, ni) : V(zero)();
            V(transpose)(v);
            const nk_v16f bv = b ? V(ldm)(b + j0, nj) : V(zero)();
            for (long q = 0; q < ni; q++) {
                nk_v16f z = b ? v[q] + bv : v[q];
                V(stm)(y + (i0 + q) * ldy + j0, nj, V(act)(z, relu));
            }
        }
    }
}

NNFN void V(relu_grad)(float *g, const float *v, const float *y, long n) {
    long i = 0;
    for (; i + 16 <= n; i += 16) V(st)(g + i, V(keep)(V(ld)(y + i) > 0.0f, V(ld)(v + i)));
    if (i < n) V(stm)(g + i, n - i, V(keep)(V(ldm)(y + i, n - i) > 0.0f, V(ldm)(v + i, n - i)));
}

NNFN void V(colsum_add)(float *acc, const float *g, long rows, long cols) {
    long j = 0;
    for (; j + 16 <= cols; j += 16) {
        nk_v16f s = V(ld)(acc + j);
        for (long i = 0; i < rows; i++) s = s + V(ld)(g + i * cols + j);
        V(st)(acc + j, s);
    }
    if (j < cols) {
        const long c = cols - j;
        nk_v16f s = V(ldm)(acc + j, c);
        for (long i = 0; i < rows; i++) s = s + V(ldm)(g + i * cols + j, c);
        V(stm)(acc + j, c, s);
    }
}

NNFN void V(rowsum_add)(float *acc, const float *g, long rows, long cols) {
    for (long i = 0; i < rows; i++) {
        const float *r = g + i * cols;
        nk_v16f s = V(zero)();
        long j = 0;
        for (; j + 16 <= cols; j += 16) s = s + V(ld)(r + j);
        if (j < cols) s = s + V(ldm)(r + j, cols - j);
        acc[i] += V(hsum)(s);
    }
}

// ---------------------------------------------------------------------------------------------
// relu(a·x + b) and SGD

static inline __attribute__((always_inline)) TARGET nk_v16f V(axpb)(nk_v16f x, nk_v16f va, nk_v16f vb, int relu) {
    const nk_v16f z = va * x + vb;
    return relu ? V(relu)(z) : z;
}

NNFN void V(axpb_act)(const float *x, float *y, long n, float a, float b, int relu, int stream) {
    const nk_v16f va = V(set1)(a), vb = V(set1)(b);
    long i = 0;
    if (stream && ((unsigned long)y & 3) == 0) {
        // Non-temporal stores need aligned addresses: a masked head up to the 64-byte boundary.
        long head = (long)((64 - ((unsigned long)y & 63)) & 63) / 4;
        if (head > n) head = n;
        if (head > 0) {
            V(stm)(y, head, V(axpb)(V(ldm)(x, head), va, vb, relu));
            i = head;
        }
        for (; i + 32 <= n; i += 32) {
            V(stnt)(y + i, V(axpb)(V(ld)(x + i), va, vb, relu));
            V(stnt)(y + i + 16, V(axpb)(V(ld)(x + i + 16), va, vb, relu));
        }
        _mm_sfence();
    }
    for (; i + 32 <= n; i += 32) {
        V(st)(y + i, V(axpb)(V(ld)(x + i), va, vb, relu));
        V(st)(y + i + 16, V(axpb)(V(ld)(x + i + 16), va, vb, relu));
    }
    for (; i < n; i += 16) V(stm)(y + i, n - i, V(axpb)(V(ldm)(x + i, n - i), va, vb, relu));
}

NNFN void V(sgd)(float *p, const float *g, float lr, long n) {
    const nk_v16f l = V(set1)(lr);
    long i = 0;
    for (; i + 16 <= n; i += 16) V(st)(p + i, V(ld)(p + i) - l * V(ld)(g + i));
    if (i < n) V(stm)(p + i, n - i, V(ldm)(p + i, n - i) - l * V(ldm)(g + i, n - i));
}

// ---------------------------------------------------------------------------------------------
// Convolution on the input-width grid: output gather, gradient scatter, col2im by row table

NNFN void V(conv_gather)(float *dst, const float *src, const float *b, long channels, long outH, long outW, long srcRow,
                         long srcPlane, int relu) {
    for (long o = 0; o < channels; o++)
        for (long r = 0; r < outH; r++)
            V(bias_act_run)(dst + (o * outH + r) * outW, src + o * srcPlane + r * srcRow, outW, b ? b[o] : 0.0f, b != 0,
                            relu);
}

NNFN void V(conv_scatter)(float *dst, const float *v, const float *y, long channels, long outH, long outW, long dstRow,
                          long dstPlane) {
    for (long o = 0; o < channels; o++) {
        float *plane = dst + o * dstPlane;
        for (long r = 0; r < outH; r++) {
            const long i0 = (o * outH + r) * outW;
            float *d = plane + r * dstRow;
            const long rowEnd = r * dstRow + dstRow < dstPlane ? dstRow : dstPlane - r * dstRow;
            for (long c = 0; c < rowEnd; c += 16) {
                const long n = rowEnd - c < 16 ? rowEnd - c : 16;
                const long live = outW - c < 0 ? 0 : (outW - c < n ? outW - c : n);
                nk_v16f val = V(ldm)(v + i0 + c, live);
                if (y) val = V(keep)(V(ldm)(y + i0 + c, live) > 0.0f, val);
                V(stm)(d + c, n, val);
            }
        }
    }
}

NNFN void V(col2im_rows)(float *dx, const float *cols, const long *rows, long count, long n) {
    for (long k = 0; k < count; k++) {
        float *d = dx + rows[k];
        const float *s = cols + k * n;
        long p = 0;
        for (; p + 16 <= n; p += 16) V(st)(d + p, V(ld)(d + p) + V(ld)(s + p));
        if (p < n) V(stm)(d + p, n - p, V(ldm)(d + p, n - p) + V(ldm)(s + p, n - p));
    }
}

// ---------------------------------------------------------------------------------------------
// 2×2 max pooling, stride 2: the first of a00, a01, a10, a11 that is larger than all before it
// (or NaN) wins, as in the portable body.

NNFN void V(maxpool2x2)(const float *x, float *out, int *argmax, long planes, long h, long w) {
    const long oh = h / 2, ow = w / 2;
    const nk_v16i even = NK_IOTA16 * 2;
    for (long p = 0; p < planes; p++) {
        const float *xp = x + p * h * w;
        float *op = out + p * oh * ow;
        int *ap = argmax ? argmax + p * oh * ow : 0;
        for (long r = 0; r < oh; r++) {
            const float *r0 = xp + 2 * r * w, *r1 = r0 + w;
            for (long c = 0; c < ow; c += 16) {
                const long n = ow - c < 16 ? ow - c : 16, n2 = 2 * n;
                const nk_v16f lo0 = V(ldm)(r0 + 2 * c, n2), hi0 = V(ldm)(r0 + 2 * c + 16, n2 - 16);
                const nk_v16f lo1 = V(ldm)(r1 + 2 * c, n2), hi1 = V(ldm)(r1 + 2 * c + 16, n2 - 16);
#define NK_EVEN(a, b) __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
#define NK_ODD(a, b) __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31)
                const nk_v16f a00 = NK_EVEN(lo0, hi0), a01 = NK_ODD(lo0, hi0);
                const nk_v16f a10 = NK_EVEN(lo1, hi1), a11 = NK_ODD(lo1, hi1);
#undef NK_EVEN
#undef NK_ODD
                nk_v16f best = a00;
                const nk_v16i b1 = (a01 > best) | (a01 != a01);
                best = V(sel)(b1, a01, best);
                const nk_v16i b2 = (a10 > best) | (a10 != a10);
                best = V(sel)(b2, a10, best);
                const nk_v16i b3 = (a11 > best) | (a11 != a11);
                best = V(sel)(b3, a11, best);
                V(stm)(op + r * ow + c, n, best);
                if (ap) {
                    nk_v16i at = (int)(2 * r * w + 2 * c) + even;
                    at = (b1 & (at + 1)) | (~b1 & at);
                    at = (b2 & ((int)(2 * r * w + 2 * c + w) + even)) | (~b2 & at);
                    at = (b3 & ((int)(2 * r * w + 2 * c + w + 1) + even)) | (~b3 & at);
                    V(stmi)(ap + r * ow + c, n, at);
                }
            }
        }
    }
}

#undef NNFN
#undef V
#undef ISA
#undef TARGET
#undef NK_VEC16_LEVEL
