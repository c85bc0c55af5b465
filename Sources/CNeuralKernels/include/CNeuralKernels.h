#ifndef CNEURALKERNELS_H
#define CNEURALKERNELS_H
#include <stddef.h>

/// SIMD micro-kernels for Neural. Everything above the register tile and the Float32 panel
/// packing (blocking, threading) lives in Swift; this target holds only the innermost loops that
/// need per-function target attributes.

/// 0 = portable C, 1 = AVX2 + FMA, 2 = AVX-512F. Detected once with __builtin_cpu_supports.
int nk_cpu_level(void);

#include "nk_gemm.h"
#include "nk_pack.h"
#include "nk_pool.h"
#include "nk_nn.h"
#include "nk_norm.h"
#include "nk_elementwise.h"
#include "nk_attention.h"

#endif
