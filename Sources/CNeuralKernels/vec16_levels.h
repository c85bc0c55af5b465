// Instantiates the vector template named by NK_VEC16_TEMPLATE (a quoted file name) once per x86-64
// instruction set over vec16.h: AVX-512F (+DQ, FMA: 16 lanes in one zmm) and AVX2 + FMA (two ymm).
// Include it inside `#if defined(__x86_64__)`, after <immintrin.h>; it undefines NK_VEC16_TEMPLATE.
// The template undefines ISA, TARGET and NK_VEC16_LEVEL after each instantiation.
#define ISA avx512
#define NK_VEC16_LEVEL 2
#define TARGET __attribute__((target("avx512f,avx512dq,fma")))
#include "vec16.h"
#include NK_VEC16_TEMPLATE

#define ISA avx2
#define NK_VEC16_LEVEL 1
#define TARGET __attribute__((target("avx2,fma")))
#include "vec16.h"
#include NK_VEC16_TEMPLATE

#undef NK_VEC16_TEMPLATE
