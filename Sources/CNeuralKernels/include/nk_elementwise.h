#ifndef NK_ELEMENTWISE_H
#define NK_ELEMENTWISE_H

/// Float32 elementwise transcendental kernels over n contiguous elements; y may equal x.
///
/// The vector paths (AVX-512F, AVX2+FMA, chosen at run time) evaluate each function in double
/// precision (relative error below 1e-12) and round once to float, so results are within 1 ulp of
/// the correctly rounded value (subnormal results: within 1 ulp of absolute 2^-149). Special
/// values follow C's libm: NaN in, NaN out; exp(±inf) = inf / 0; log(0) = -inf, log(x < 0) = NaN.
/// Every element is computed the same way wherever it lies in the array.

/// max(x, 0), with NaN giving 0 (x > 0 ? x : 0); memory-bound, so no double precision here.
void nk_s_relu(const float *x, float *y, long n);
void nk_s_exp(const float *x, float *y, long n);
void nk_s_log(const float *x, float *y, long n);
void nk_s_tanh(const float *x, float *y, long n);
/// 1 / (1 + e^-x)
void nk_s_sigmoid(const float *x, float *y, long n);
/// x·Φ(x) = x(1 + erf(x/√2))/2, the exact GELU.
void nk_s_gelu(const float *x, float *y, long n);
/// softplus_β(x) = log(1 + e^{βx})/β, or x where βx > threshold.
void nk_s_softplus(const float *x, float *y, long n, float beta, float threshold);
/// v·(Φ(z) + z·φ(z)), the GELU backward, for z = x.
void nk_s_gelu_grad(const float *z, const float *v, float *y, long n);

#endif
