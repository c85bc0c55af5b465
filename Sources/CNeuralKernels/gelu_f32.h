// Constants of the Float32 exact GELU x·Φ(x) = x(1 + erf(x/√2))/2 (nk_gelu_f32 in nk_nn.h), shared
// by its portable body (nn_kernels.c) and its vector bodies (nn_template.h), which run the same
// operations in the same order, so that every level gives the same bits.
//
// With z = x/√2 (rounded) and a = |z|:
//   a < 1:  erf z = z·S(a²), S of degree 6 (a Chebyshev fit; |error| < 2e-9), and
//           y = fma(x/2, erf z, x/2);
//   a ≥ 1:  erfc a = t·exp(N(t) − a²), t = 1/(1 + a/2), N of degree 9 (Numerical Recipes' erfcc,
//           relative error < 1.2e-7), a capped at 9, and y = x/2·erfc a (z < 0) or
//           fma(−x/2, erfc a, x) (z ≥ 0);
//   exp:    2ⁿ·e^r, n = round(w·log₂e), r = w − n·ln2 (two-part ln2), e^r by Taylor to r⁷,
//           w ≥ −87 (2ⁿ stays normal);
//   x > 40: x; x < −40: −0; NaN: x.
// The erf is within 1.3e-7 of the exact one for every float, the GELU within 2.4e-7 (half an ulp
// of 4) of x·Φ(x) (Tests/NeuralTests/Kernels/GELUKernelTests.swift).
#ifndef NK_GELU_F32_H
#define NK_GELU_F32_H
#define NK_GELU_RSQRT2 0x1.6a09e6p-1f
#define NK_GELU_S6 0x1.4a9dacp-14f
#define NK_GELU_S5 -0x1.a46b40p-11f
#define NK_GELU_S4 0x1.541636p-8f
#define NK_GELU_S3 -0x1.b7fb38p-6f
#define NK_GELU_S2 0x1.ce2d18p-4f
#define NK_GELU_S1 -0x1.81273ep-2f
#define NK_GELU_S0 0x1.20dd74p+0f
#define NK_GELU_N9 0.17087277f
#define NK_GELU_N8 -0.82215223f
#define NK_GELU_N7 1.48851587f
#define NK_GELU_N6 -1.13520398f
#define NK_GELU_N5 0.27886807f
#define NK_GELU_N4 -0.18628806f
#define NK_GELU_N3 0.09678418f
#define NK_GELU_N2 0.37409196f
#define NK_GELU_N1 1.00002368f
#define NK_GELU_N0 -1.26551223f
#define NK_GELU_LOG2E 0x1.715476p+0f
#define NK_GELU_SHIFTER 0x1.8p23f
#define NK_GELU_LN2HI 0x1.62e4p-1f
#define NK_GELU_LN2LO 0x1.7f7d1cp-20f
#define NK_GELU_E7 (1.0f / 5040)
#define NK_GELU_E6 (1.0f / 720)
#define NK_GELU_E5 (1.0f / 120)
#define NK_GELU_E4 (1.0f / 24)
#define NK_GELU_E3 (1.0f / 6)
#define NK_GELU_E2 0.5f
#define NK_GELU_E1 1.0f
#define NK_GELU_E0 1.0f
#endif
