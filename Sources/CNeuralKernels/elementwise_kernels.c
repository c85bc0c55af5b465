// Float32 transcendental kernels: see include/nk_elementwise.h.
//
// Vector paths evaluate in double precision (generic clang vectors of 8 lanes for AVX-512, 4 for
// AVX2, from elementwise_template.h compiled once per instruction set) and round once to float;
// both sets run the same operations per lane, so they give identical results. The tail is padded into a full vector, so every element is
// computed by the same instructions. The portable path calls libm per element.
#include "CNeuralKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#define CAT_(a, b) a##_##b
#define CAT(a, b) CAT_(a, b)

#define W 8
#define ISA avx512
#define TARGET __attribute__((target("avx512f,avx512dq,fma")))
#include "elementwise_template.h"

#define W 4
#define ISA avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "elementwise_template.h"

#define PICK(fn, ...)                                              \
    do {                                                           \
        int level = nk_cpu_level();                                \
        if (level >= 2) { fn##_avx512(__VA_ARGS__); return; }      \
        if (level >= 1) { fn##_avx2(__VA_ARGS__); return; }        \
    } while (0)
#else
#define PICK(fn, ...) do { } while (0)
#endif

static double phi_scalar(double x) { return 0.5 * erfc(-x * 0x1.6a09e667f3bcdp-1); }

void nk_s_relu(const float *x, float *y, long n) {
    PICK(relu_v, x, y, n);
    for (long i = 0; i < n; i++) y[i] = x[i] > 0 ? x[i] : 0;
}

void nk_s_exp(const float *x, float *y, long n) {
    PICK(exp_v, x, y, n);
    for (long i = 0; i < n; i++) y[i] = (float)exp((double)x[i]);
}

void nk_s_log(const float *x, float *y, long n) {
    PICK(log_v, x, y, n);
    for (long i = 0; i < n; i++) y[i] = (float)log((double)x[i]);
}

void nk_s_tanh(const float *x, float *y, long n) {
    PICK(tanh_v, x, y, n);
    for (long i = 0; i < n; i++) y[i] = (float)tanh((double)x[i]);
}

void nk_s_sigmoid(const float *x, float *y, long n) {
    PICK(sigmoid_v, x, y, n);
    for (long i = 0; i < n; i++) y[i] = (float)(1.0 / (1.0 + exp(-(double)x[i])));
}

void nk_s_gelu(const float *x, float *y, long n) {
    PICK(gelu_v, x, y, n);
    for (long i = 0; i < n; i++) { double v = x[i]; y[i] = (float)(v * phi_scalar(v)); }
}

void nk_s_softplus(const float *x, float *y, long n, float beta, float threshold) {
    PICK(softplus_v, x, y, n, (double)beta, (double)threshold);
    for (long i = 0; i < n; i++) {
        double bx = (double)beta * x[i];
        y[i] = bx > threshold ? x[i] : (float)((fmax(bx, 0) + log1p(exp(-fabs(bx)))) / beta);
    }
}

void nk_s_gelu_grad(const float *z, const float *v, float *y, long n) {
    PICK(gelu_grad_v, z, v, y, n);
    for (long i = 0; i < n; i++) {
        double t = z[i];
        y[i] = (float)(v[i] * (phi_scalar(t) + t * exp(-0.5 * t * t) * 0x1.9884533d43651p-2));
    }
}
