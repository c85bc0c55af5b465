#ifndef CNEURALKERNELS_H
#define CNEURALKERNELS_H
#include <stddef.h>

/// SIMD micro-kernels for Neural. Everything above the register tile and the Float32 panel
/// packing (blocking, threading) lives in Swift; this target holds only the innermost loops that
/// need per-function target attributes.

/// Kernel levels: 0 = portable C, 1 = AVX2 + FMA, 2 = AVX-512F (+DQ). Every kernel gives the same
/// bits at every level; the level only changes speed.
///
/// The level the kernels run at on the calling thread: the hardware's (nk_hw_level), capped by the
/// environment variable NEURAL_ISA (avx512, avx2, portable; native or empty: no cap; any other
/// value caps at portable, with one line on stderr), by nk_set_level_cap and by the thread's
/// nk_set_thread_level_cap. Caps only ever lower the level. Jobs of the worker pool (nk_pool_run)
/// run under the calling thread's cap.
int nk_cpu_level(void);

/// What the CPU supports (detected once with __builtin_cpu_supports), whatever the caps.
int nk_hw_level(void);

/// NEURAL_ISA's cap, read once: -1 none, 0..2 a level, -2 an unknown value.
int nk_env_level_cap(void);

/// A level name (avx512, avx2, portable; case ignored) as 0..2; -1 for NULL, "" and "native"
/// (no cap); -2 for anything else.
int nk_parse_level(const char *name);

/// Process-wide cap (-1: none), for tests and the library's `Runtime.kernelLevelCap`.
void nk_set_level_cap(int cap);
int nk_level_cap(void);

/// The calling thread's cap (-1: none); returns the previous one so that callers restore it.
int nk_set_thread_level_cap(int cap);
int nk_thread_level_cap(void);

#include "nk_gemm.h"
#include "nk_pack.h"
#include "nk_pool.h"
#include "nk_nn.h"
#include "nk_norm.h"
#include "nk_elementwise.h"
#include "nk_attention.h"
#include "nk_dwconv.h"
#include "nk_subpixel.h"

#endif
