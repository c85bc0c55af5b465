// Kernel level: what the CPU supports, capped by NEURAL_ISA, by nk_set_level_cap and by the calling
// thread's scoped cap (see CNeuralKernels.h).
#include "CNeuralKernels.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static int hw_level(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq")) return 2;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return 1;
#endif
    return 0;
}

int nk_parse_level(const char *name) {
    if (name == NULL || name[0] == '\0' || strcasecmp(name, "native") == 0) return -1;
    if (strcasecmp(name, "avx512") == 0) return 2;
    if (strcasecmp(name, "avx2") == 0) return 1;
    if (strcasecmp(name, "portable") == 0) return 0;
    return -2;
}

// Hardware level and NEURAL_ISA's cap, read once: bits 0-7 hardware, bits 8-15 the cap + 2.
static _Atomic int detected = -1;

static int detect(void) {
    int d = atomic_load_explicit(&detected, memory_order_relaxed);
    if (d >= 0) return d;
    int hw = hw_level();
    int env = nk_parse_level(getenv("NEURAL_ISA"));
    int expected = -1;
    if (atomic_compare_exchange_strong(&detected, &expected, hw | (env + 2) << 8) && env == -2)
        fprintf(stderr, "neural: NEURAL_ISA=%s is not one of avx512, avx2, portable (or native); "
                        "the kernels run at the portable level\n", getenv("NEURAL_ISA"));
    return atomic_load_explicit(&detected, memory_order_relaxed);
}

static _Atomic int process_cap = -1;
static _Thread_local int thread_cap = -1;

static inline int cap(int level, int c) { return c >= 0 && c < level ? c : level; }

int nk_hw_level(void) { return detect() & 0xff; }

int nk_env_level_cap(void) { return (detect() >> 8) - 2; }

int nk_cpu_level(void) {
    int d = detect();
    int level = d & 0xff, env = (d >> 8) - 2;
    level = cap(level, env == -2 ? 0 : env);
    level = cap(level, atomic_load_explicit(&process_cap, memory_order_relaxed));
    return cap(level, thread_cap);
}

void nk_set_level_cap(int c) { atomic_store_explicit(&process_cap, c < 0 ? -1 : c, memory_order_relaxed); }

int nk_level_cap(void) { return atomic_load_explicit(&process_cap, memory_order_relaxed); }

int nk_set_thread_level_cap(int c) {
    int old = thread_cap;
    thread_cap = c < 0 ? -1 : c;
    return old;
}

int nk_thread_level_cap(void) { return thread_cap; }
