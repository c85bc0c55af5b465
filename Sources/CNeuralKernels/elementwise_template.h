// Vector bodies of the float32 transcendental kernels, included once per instruction set by
// elementwise_kernels.c with W (lanes), ISA (the suffix of the per-set names) and TARGET (the
// target attribute) defined. Defines NAME(x) (per-set names) and VF/VI/VD/VL (float/int32/
// double/int64 vectors of W lanes) from them, and undefines all of these at its end.
#define NAME(x) CAT(x, ISA)
typedef float NAME(vf) __attribute__((vector_size(W * 4)));
typedef int NAME(vi) __attribute__((vector_size(W * 4)));
typedef double NAME(vd) __attribute__((vector_size(W * 8)));
typedef long long NAME(vl) __attribute__((vector_size(W * 8)));
#define VF NAME(vf)
#define VI NAME(vi)
#define VD NAME(vd)
#define VL NAME(vl)
#define FN static inline __attribute__((always_inline)) TARGET


FN VD NAME(splat)(double c) { return (VD){0} + c; }
FN VD NAME(sel)(VL m, VD a, VD b) { return (VD)(((VL)a & m) | ((VL)b & ~m)); }
FN VD NAME(vfma)(VD a, VD b, VD c) { return __builtin_elementwise_fma(a, b, c); }
FN VD NAME(vmax)(VD a, VD b) { return NAME(sel)(a > b, a, b); }
FN VD NAME(vmin)(VD a, VD b) { return NAME(sel)(a < b, a, b); }
FN VD NAME(vabs)(VD a) { return (VD)((VL)a & (VL){0} + 0x7fffffffffffffffLL); }
FN VD NAME(clamp)(VD x, double lo, double hi) { return NAME(vmin)(NAME(vmax)(x, NAME(splat)(lo)), NAME(splat)(hi)); }  // NaN -> hi

/// c[0]·xⁿ⁻¹ + c[1]·xⁿ⁻² + … + c[n-1] by Horner's rule, one fused multiply-add per coefficient.
FN VD NAME(horner)(VD x, const double *c, int n) {
    VD p = NAME(splat)(c[0]);
    for (int i = 1; i < n; i++) p = NAME(vfma)(p, x, NAME(splat)(c[i]));
    return p;
}

/// e^x for x in [-708, 709] (callers clamp); relative error < 1e-13.
FN VD NAME(exp_d)(VD x) {
    const double shifter = 0x1.8p52;
    VD t = NAME(vfma)(x, NAME(splat)(0x1.71547652b82fep0), NAME(splat)(shifter));
    VD n = t - NAME(splat)(shifter);
    VL ni = (VL)t - (VL)NAME(splat)(shifter);
    VD r = NAME(vfma)(n, NAME(splat)(-0x1.62e42fefa39efp-1), x);
    r = NAME(vfma)(n, NAME(splat)(-0x1.abc9e3b39803fp-56), r);
    static const double taylor[12] = {                          // Taylor to r^11, |r| <= ln2/2
        1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320, 1.0 / 5040, 1.0 / 720,
        1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1.0, 1.0};
    VD p = NAME(horner)(r, taylor, 12);
    VD scale = (VD)((ni + 1023) << 52);
    return p * scale;
}

/// log x for positive, finite, normal doubles; relative error < 1e-13 (absolute near x = 1).
FN VD NAME(log_d)(VD x) {
    VL bits = (VL)x;
    VL e = (bits >> 52) - 1023;
    VD m = (VD)((bits & 0x000fffffffffffffLL) | 0x3ff0000000000000LL);  // [1, 2)
    VL big = m > NAME(splat)(0x1.6a09e667f3bcdp0);                              // m > √2: halve it
    m = NAME(sel)(big, m * 0.5, m);
    e = e - big;                                                           // big is -1 where true
    VD s = (m - 1.0) / (m + 1.0), s2 = s * s;
    static const double atanh2[8] = {1.0 / 15, 1.0 / 13, 1.0 / 11, 1.0 / 9, 1.0 / 7, 1.0 / 5, 1.0 / 3, 1.0};
    VD p = NAME(horner)(s2, atanh2, 8);                                       // 2·atanh(s) series
    VD ed = __builtin_convertvector(e, VD);
    return NAME(vfma)(ed, NAME(splat)(0x1.62e42fefa39efp-1), NAME(vfma)(2.0 * s, p, ed * 0x1.abc9e3b39803fp-56));
}

/// Φ(x), the standard normal CDF, for any finite x (NaN-free input); relative error < 1e-12.
FN VD NAME(phi_d)(VD x) {
    VD z = NAME(vabs)(x) * 0x1.6a09e667f3bcdp-1;   // |x|/√2
    // Small |x|: Φ = (1 + erf z)/2 with erf's Taylor series (z < 0.5: 11 terms, error < 1e-14).
    VD z2 = z * z;
    static const double erf_taylor[10] = {
        -1.0 / (3628800.0 * 21), 1.0 / (362880.0 * 19), -1.0 / (40320.0 * 17), 1.0 / (5040.0 * 15),
        -1.0 / (720.0 * 13), 1.0 / (120.0 * 11), -1.0 / (24.0 * 9), 1.0 / (6.0 * 7), -1.0 / (2.0 * 5), 1.0 / 3};
    VD q = NAME(horner)(z2, erf_taylor, 10);
    q = NAME(vfma)(q, -z2, NAME(splat)(0.0)) + 1.0;          // 1 - z²/3 + …
    VD erf_small = z * q * 0x1.20dd750429b6dp0;  // 2/√π
    // Large |x|: erfc z = e^{-z²}·erfcx(z), erfcx fitted in u = 1.25·(z−2)/(z+2) − 0.25 (degree 18).
    VD zc = NAME(vmin)(z, NAME(splat)(26.0));
    VD t = (zc - 2.0) / (zc + 2.0);
    VD u = NAME(vfma)(t, NAME(splat)(1.25), NAME(splat)(-0.25));
    static const double c[19] = {
        0x1.5f69f3fea59dap-28, 0x1.3dcfde1e2569dp-27, -0x1.3adc971611df7p-25, -0x1.cd1689a01ae4ap-24,
        0x1.7be532658db16p-24, 0x1.7f1b76cfca7cap-21, 0x1.97f4ab8e51cd6p-22, -0x1.fdde62e0fe0bep-19,
        -0x1.b0cdb3f4f670fp-18, 0x1.4e440c9ab61d0p-16, 0x1.fbe0292145f7bp-15, -0x1.1efea3e159609p-13,
        -0x1.19f68d85f7edap-11, 0x1.bfb4500388a48p-10, 0x1.0b5783225a895p-8, -0x1.33c9658a08131p-5,
        0x1.0082032c33a09p-3, -0x1.1662cf02cf054p-2, 0x1.6e9827d229d88p-3};
    VD p = NAME(horner)(u, c, 19);
    // e^{-z²} with z² split exactly into hi + lo so large z keeps its relative accuracy.
    VD hi = zc * zc, lo = NAME(vfma)(zc, zc, -hi);
    VD erfc_large = NAME(exp_d)(-hi) * (1.0 - lo) * p;
    VL small = z < 0.5;
    VD half_erfc = NAME(sel)(small, (1.0 - erf_small) * 0.5, erfc_large * 0.5);  // Φ(−|x|)
    VD half_erf = erf_small * 0.5;
    VL neg = x < 0.0;
    return NAME(sel)(small, NAME(sel)(neg, 0.5 - half_erf, 0.5 + half_erf), NAME(sel)(neg, half_erfc, 1.0 - half_erfc));
}

// ---- per-function vector bodies: 16 floats in, 16 floats out ----

FN VF NAME(body_exp)(VF xf) {
    VD x = __builtin_convertvector(xf, VD);
    VD y = NAME(exp_d)(NAME(clamp)(x, -200.0, 200.0));
    return __builtin_convertvector(NAME(sel)(x != x, x, y), VF);
}

FN VF NAME(body_log)(VF xf) {
    VD x = __builtin_convertvector(xf, VD);
    VD safe = NAME(sel)(x > 0.0, NAME(sel)(x < (double)INFINITY, x, NAME(splat)(1.0)), NAME(splat)(1.0));
    VD y = NAME(log_d)(safe);
    y = NAME(sel)(x == 0.0, NAME(splat)(-INFINITY), y);
    y = NAME(sel)(x == (double)INFINITY, x, y);
    y = NAME(sel)((x < 0.0) | (x != x), NAME(splat)(NAN), y);
    return __builtin_convertvector(y, VF);
}

FN VF NAME(body_tanh)(VF xf) {
    VD x = __builtin_convertvector(xf, VD);
    VD ax = NAME(vabs)(x);
    VD e = NAME(exp_d)(NAME(vmin)(ax * 2.0, NAME(splat)(60.0)));
    VD r = 1.0 - 2.0 / (e + 1.0);
    r = NAME(sel)(ax < 0x1p-12, ax - ax * ax * ax * (1.0 / 3), r);  // series: no cancellation
    VD y = (VD)((VL)r | ((VL)x & (VL){0} + (long long)0x8000000000000000ULL));  // copy the sign
    return __builtin_convertvector(NAME(sel)(x != x, x, y), VF);
}

FN VF NAME(body_sigmoid)(VF xf) {
    VD x = __builtin_convertvector(xf, VD);
    VD y = 1.0 / (1.0 + NAME(exp_d)(NAME(clamp)(-x, -200.0, 200.0)));
    return __builtin_convertvector(NAME(sel)(x != x, x, y), VF);
}

FN VF NAME(body_gelu)(VF xf) {
    VD x = __builtin_convertvector(xf, VD);
    VD xs = NAME(clamp)(x, -40.0, 40.0);
    VD y = x * NAME(phi_d)(xs);
    y = NAME(sel)(x > 40.0, x, NAME(sel)(x < -40.0, NAME(splat)(-0.0), y));
    return __builtin_convertvector(NAME(sel)(x != x, x, y), VF);
}

FN VF NAME(body_gelu_grad)(VF zf, VF vv_) {
    VD z = __builtin_convertvector(zf, VD), v = __builtin_convertvector(vv_, VD);
    VD zs = NAME(clamp)(z, -40.0, 40.0);
    VD zp = NAME(clamp)(z, -37.0, 37.0);
    VD pdf = NAME(exp_d)(-0.5 * zp * zp) * 0x1.9884533d43651p-2;   // 1/√(2π)
    VD y = v * (NAME(phi_d)(zs) + zs * pdf);
    return __builtin_convertvector(NAME(sel)(z != z, z, y), VF);
}

FN VF NAME(body_softplus)(VF xf, double beta, double threshold) {
    VD x = __builtin_convertvector(xf, VD);
    VD bx = x * beta;
    VD u = NAME(exp_d)(-NAME(vmin)(NAME(vabs)(bx), NAME(splat)(700.0)));            // e^{-|βx|} in (0, 1]
    VD w = 1.0 + u;
    VD l1p = NAME(sel)(w == 1.0, u, NAME(log_d)(w) * (u / (w - 1.0)));  // log1p(u), Goldberg's correction
    VD y = (NAME(vmax)(bx, NAME(splat)(0.0)) + l1p) / beta;
    y = NAME(sel)(bx > threshold, x, y);
    return __builtin_convertvector(NAME(sel)(x != x, x, y), VF);
}

// ---- drivers ----

FN void NAME(unary)(VF (*body)(VF), const float *x, float *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) {
        VF a; memcpy(&a, x + i, sizeof a);
        VF r = body(a); memcpy(y + i, &r, sizeof r);
    }
    if (i < n) {
        VF a = {0}; memcpy(&a, x + i, (size_t)(n - i) * sizeof(float));
        VF r = body(a); memcpy(y + i, &r, (size_t)(n - i) * sizeof(float));
    }
}

FN VF NAME(body_relu)(VF x) { return (VF)((VI)x & (VI)(x > 0.0f)); }  // NaN -> 0, like x > 0 ? x : 0
TARGET static void NAME(relu_v)(const float *x, float *y, long n) { NAME(unary)(NAME(body_relu), x, y, n); }
TARGET static void NAME(exp_v)(const float *x, float *y, long n) { NAME(unary)(NAME(body_exp), x, y, n); }
TARGET static void NAME(log_v)(const float *x, float *y, long n) { NAME(unary)(NAME(body_log), x, y, n); }
TARGET static void NAME(tanh_v)(const float *x, float *y, long n) { NAME(unary)(NAME(body_tanh), x, y, n); }
TARGET static void NAME(sigmoid_v)(const float *x, float *y, long n) { NAME(unary)(NAME(body_sigmoid), x, y, n); }
TARGET static void NAME(gelu_v)(const float *x, float *y, long n) { NAME(unary)(NAME(body_gelu), x, y, n); }

TARGET static void NAME(softplus_v)(const float *x, float *y, long n, double beta, double threshold) {
    long i = 0;
    for (; i + W <= n; i += W) {
        VF a; memcpy(&a, x + i, sizeof a);
        VF r = NAME(body_softplus)(a, beta, threshold); memcpy(y + i, &r, sizeof r);
    }
    if (i < n) {
        VF a = {0}; memcpy(&a, x + i, (size_t)(n - i) * sizeof(float));
        VF r = NAME(body_softplus)(a, beta, threshold); memcpy(y + i, &r, (size_t)(n - i) * sizeof(float));
    }
}

TARGET static void NAME(gelu_grad_v)(const float *z, const float *v, float *y, long n) {
    long i = 0;
    for (; i + W <= n; i += W) {
        VF a, b; memcpy(&a, z + i, sizeof a); memcpy(&b, v + i, sizeof b);
        VF r = NAME(body_gelu_grad)(a, b); memcpy(y + i, &r, sizeof r);
    }
    if (i < n) {
        size_t k = (size_t)(n - i) * sizeof(float);
        VF a = {0}, b = {0}; memcpy(&a, z + i, k); memcpy(&b, v + i, k);
        VF r = NAME(body_gelu_grad)(a, b); memcpy(y + i, &r, k);
    }
}

#undef FN
#undef NAME
#undef VF
#undef VI
#undef VD
#undef VL
#undef W
#undef ISA
#undef TARGET
