// Fused scaled-dot-product attention: see include/nk_attention.h. The bodies live in
// attention_template.h, included here once per instruction set and element type; the compiler
// forms no fused multiply-adds of its own (contract off), so the explicit ones are the only ones
// and every level gives the same bits.
#include "CNeuralKernels.h"
#include <math.h>
#include <stdlib.h>

#pragma STDC FP_CONTRACT OFF
#pragma clang fp contract(off)
// The 64-byte vector helpers are static and always inlined: no call passes a vector, so the
// argument-ABI note clang gives for them without AVX-512 does not apply.
#pragma clang diagnostic ignored "-Wpsabi"

#define ACAT_(a, b) a##_##b
#define ACAT(a, b) ACAT_(a, b)

#if defined(__x86_64__)
#define T float
#define IS_F64 0
#define SUF f32_avx512
#define TARGET __attribute__((target("avx512f,avx512dq,fma")))
#include "attention_template.h"
#define T double
#define IS_F64 1
#define SUF f64_avx512
#define TARGET __attribute__((target("avx512f,avx512dq,fma")))
#include "attention_template.h"
#define T float
#define IS_F64 0
#define SUF f32_avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "attention_template.h"
#define T double
#define IS_F64 1
#define SUF f64_avx2
#define TARGET __attribute__((target("avx2,fma")))
#include "attention_template.h"
#endif
#define T float
#define IS_F64 0
#define SUF f32_portable
#define TARGET
#include "attention_template.h"
#define T double
#define IS_F64 1
#define SUF f64_portable
#define TARGET
#include "attention_template.h"

long nk_attn_fwd_tasks(const nk_attn_args *a) {
    return a->batch * a->heads * ((a->tq + NK_ATTN_BLOCK - 1) / NK_ATTN_BLOCK);
}

#if defined(__x86_64__)
#define DISPATCH(fn, ty, ...)                                          \
    switch (nk_cpu_level()) {                                            \
    case 2: fn##_##ty##_avx512(__VA_ARGS__); return;                   \
    case 1: fn##_##ty##_avx2(__VA_ARGS__); return;                     \
    default: fn##_##ty##_portable(__VA_ARGS__); return;                \
    }
#else
#define DISPATCH(fn, ty, ...) fn##_##ty##_portable(__VA_ARGS__)
#endif

void nk_attn_fwd_f32(const nk_attn_args *a, long task) { DISPATCH(fwd, f32, a, task); }
void nk_attn_fwd_f64(const nk_attn_args *a, long task) { DISPATCH(fwd, f64, a, task); }
void nk_attn_bwd_f32(const nk_attn_args *a, long bh) { DISPATCH(bwd, f32, a, bh); }
void nk_attn_bwd_f64(const nk_attn_args *a, long bh) { DISPATCH(bwd, f64, a, bh); }
