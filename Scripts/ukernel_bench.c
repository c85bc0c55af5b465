// The Float32 AVX-512 register tile (nk_sgemm_ukr_avx512, 12 x 32) alone, outside the GEMM driver:
// how fast the kernel runs when its operands sit in L1, L2 or L3, with and without the driver's
// prefetch of the next packed B panel. A ceiling to compare `neural-bench sgemm` against.
//
//   CC=$(dirname $(which swift))/clang
//   $CC -O2 -ISources/CNeuralKernels/include Scripts/ukernel_bench.c Sources/CNeuralKernels/gemm_kernels.c \
//       -o /tmp/ukernel_bench
//   taskset -c 0 /tmp/ukernel_bench KC TILES PANELS REPS [PREFETCH]
//
// One repeat runs, for each of PANELS packed B panels (32 x KC), the tile over TILES packed A
// micro-panels (12 x KC) with beta = 1 -- the driver's order within one row block and K block.
// PREFETCH 1 (default) hands each tile its slice of the next panel to prefetch into L2, as the
// driver does. Prints the best repeat's GFLOP/s. Examples (one core; the machine drifts 20-30%,
// so interleave the cases and compare within one phase):
//   64 4 4 2000      all in L1
//   1024 8 1 200     A block and one B panel in L2 (kc = 1024, as for N >= 1024)
//   1024 11 64 20    B streamed from L3: one row block of N = 2048 on 2 threads
//   128 3 25 2000    a weight gradient's row block (512 x 784 x 128:TN on 2 threads)
// Run two copies at once (taskset -c 0 ... & taskset -c 1 ...) to see what the two cores share.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "nk_gemm.h"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: %s KC TILES PANELS REPS [PREFETCH]\n", argv[0]);
        return 2;
    }
    long kc = atol(argv[1]), tiles = atol(argv[2]), panels = atol(argv[3]), reps = atol(argv[4]);
    int prefetch = argc > 5 ? atoi(argv[5]) : 1;
    if (kc < 1 || tiles < 1 || panels < 1 || reps < 1) {
        fprintf(stderr, "KC, TILES, PANELS and REPS must be positive\n");
        return 2;
    }
    long ldc = panels * 32;
    float *a = aligned_alloc(64, (size_t)(tiles * 12 * kc * 4 + 63) / 64 * 64);
    float *b = aligned_alloc(64, (size_t)(panels * 32 * kc * 4));
    float *c = aligned_alloc(64, (size_t)(tiles * 12 * ldc * 4));
    if (!a || !b || !c) {
        fprintf(stderr, "out of memory\n");
        return 1;
    }
    for (long i = 0; i < tiles * 12 * kc; i++) a[i] = 1e-3f * (float)(i % 7);
    for (long i = 0; i < panels * 32 * kc; i++) b[i] = 1e-3f * (float)(i % 5);
    for (long i = 0; i < tiles * 12 * ldc; i++) c[i] = 0;
    long lines = 32 * kc * 4 / 64, slice = (lines + tiles - 1) / tiles;
    double best = 1e30;
    for (long r = 0; r < reps; r++) {
        double t0 = now();
        for (long q = 0; q < panels; q++) {
            for (long ip = 0; ip < tiles; ip++) {
                const char *pf = prefetch && q + 1 < panels ? (const char *)(b + (q + 1) * 32 * kc) + ip * slice * 64 : 0;
                // This tile's slice of the next panel: at most `slice` lines, none past its end.
                long left = lines - ip * slice, pfLines = !pf || left <= 0 ? 0 : (slice < left ? slice : left);
                nk_sgemm_ukr_avx512(kc, a + ip * 12 * kc, b + q * 32 * kc, c + ip * 12 * ldc + q * 32, ldc, 1, 1, 12, 32,
                                    pf, pfLines);
            }
        }
        double t = now() - t0;
        if (t < best) best = t;
    }
    printf("kc=%ld tiles=%ld panels=%ld prefetch=%d: %.1f GFLOP/s\n", kc, tiles, panels, prefetch,
           2.0 * 12 * 32 * kc * tiles * panels / best / 1e9);
    return 0;
}
