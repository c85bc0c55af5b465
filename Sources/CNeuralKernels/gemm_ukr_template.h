// Register-tile GEMM micro-kernel template. Included by gemm_kernels.c once per
// (element type, instruction set); never compiled on its own.
//
// Parameters (macros defined by the includer):
//   UKR_NAME     function name
//   UKR_TARGET   __attribute__((target(...))) or empty
//   UKR_T        element type (float / double)
//   UKR_V        vector type
//   UKR_VL       lanes per vector
//   UKR_MR       rows of the tile (packed A micro-panel width)
//   UKR_NV       vectors per row (NR = UKR_NV * UKR_VL)
//   UKR_SET1, UKR_ZERO, UKR_LOAD (aligned), UKR_LOADU, UKR_STOREU, UKR_FMADD(a,b,c)=a*b+c, UKR_MUL
//   UKR_DIRECT_A (optional) A is read in place: `ar` holds the MR row starts instead of a packed panel
//   UKR_DIRECT_B (optional) B is read in place: step p's NR elements at bb + bo[p] (unaligned)
//   UKR_PREFETCH_NEXT (optional) two more parameters, `pf` and `pfLines`: while it runs, the kernel
//                prefetches the pfLines cache lines from pf on into L2, two per 4 steps (the driver
//                hands each tile of a row block its slice of the next packed B micro-panel)
//
// Contract: a = packed A micro-panel, kc steps of UKR_MR elements (k-major) -- or, with
//           UKR_DIRECT_A, ar[i] = start of row i of A (kc contiguous elements; rows i >= mr may
//           repeat a valid row, their results are dropped);
//           b = packed B micro-panel, kc steps of NR elements, 64-byte aligned;
//           C tile (mr x nr, row stride ldc) = alpha * (a * b) + beta * C.
//           beta == 0 never reads C. mr < MR or nr < NR goes through a local tile whose
//           update uses the very same vector instructions, so edge elements round identically.

#define UKR_NR (UKR_NV * UKR_VL)

#ifdef UKR_DIRECT_A
// Element i of step p + u of A, read in place from its row; the rows advance with p.
#define UKR_A_AT(i, u) ra[i][p + (u)]
#define UKR_A_ADVANCE(steps) ((void)0)
#else
#define UKR_A_AT(i, u) a[(u) * UKR_MR + (i)]
#define UKR_A_ADVANCE(steps) (a += (steps) * UKR_MR)
#endif

#ifdef UKR_DIRECT_A
#define UKR_A_PARAM const UKR_T *const *restrict ar
#else
#define UKR_A_PARAM const UKR_T *restrict a
#endif
#ifdef UKR_DIRECT_B
// Step p + u of B, read in place from its row: bo[p] is the row's offset from bb.
#define UKR_B_PARAM const UKR_T *restrict bb, const long *restrict bo
#define UKR_B_ROW(u) (bb + bo[p + (u)])
#define UKR_B_LOAD UKR_LOADU
#define UKR_B_ADVANCE(steps) ((void)0)
#else
#define UKR_B_PARAM const UKR_T *restrict b
#define UKR_B_ROW(u) (b + (u) * UKR_NR)
#define UKR_B_LOAD UKR_LOAD
#define UKR_B_ADVANCE(steps) (b += (steps) * UKR_NR)
#endif

#ifdef UKR_PREFETCH_NEXT
#define UKR_PF_PARAMS , const char *pf, long pfLines
#else
#define UKR_PF_PARAMS
#endif

UKR_TARGET
void UKR_NAME(long kc, UKR_A_PARAM, UKR_B_PARAM, UKR_T *restrict c, long ldc, UKR_T alpha, UKR_T beta, long mr,
              long nr UKR_PF_PARAMS) {
#ifdef UKR_DIRECT_A
    const UKR_T *ra[UKR_MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < UKR_MR; i++) ra[i] = ar[i];
#endif
    UKR_V acc[UKR_MR][UKR_NV];
#pragma clang loop unroll(full)
    for (int i = 0; i < UKR_MR; i++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < UKR_NV; v++) acc[i][v] = UKR_ZERO();
    }

    const int full = (mr == UKR_MR) & (nr == UKR_NR);
    if (full) {
#pragma clang loop unroll(full)
        for (int i = 0; i < UKR_MR; i++) UKR_PREFETCH_C(c + i * ldc);
    }

    long p = 0;
    for (; p + 4 <= kc; p += 4) {
#ifdef UKR_PREFETCH_NEXT
        if (pfLines > 0) {
            __builtin_prefetch(pf, 0, 2);
            if (pfLines > 1) __builtin_prefetch(pf + 64, 0, 2);
            pf += 128;
            pfLines -= 2;
        }
#endif
#pragma clang loop unroll(full)
        for (int u = 0; u < 4; u++) {
            UKR_V bv[UKR_NV];
            const UKR_T *brow = UKR_B_ROW(u);
#pragma clang loop unroll(full)
            for (int v = 0; v < UKR_NV; v++) bv[v] = UKR_B_LOAD(brow + v * UKR_VL);
#pragma clang loop unroll(full)
            for (int i = 0; i < UKR_MR; i++) {
                UKR_V av = UKR_SET1(UKR_A_AT(i, u));
#pragma clang loop unroll(full)
                for (int v = 0; v < UKR_NV; v++) acc[i][v] = UKR_FMADD(av, bv[v], acc[i][v]);
            }
        }
        UKR_A_ADVANCE(4);
        UKR_B_ADVANCE(4);
    }
    for (; p < kc; p++) {
        UKR_V bv[UKR_NV];
        const UKR_T *brow = UKR_B_ROW(0);
#pragma clang loop unroll(full)
        for (int v = 0; v < UKR_NV; v++) bv[v] = UKR_B_LOAD(brow + v * UKR_VL);
#pragma clang loop unroll(full)
        for (int i = 0; i < UKR_MR; i++) {
            UKR_V av = UKR_SET1(UKR_A_AT(i, 0));
#pragma clang loop unroll(full)
            for (int v = 0; v < UKR_NV; v++) acc[i][v] = UKR_FMADD(av, bv[v], acc[i][v]);
        }
        UKR_A_ADVANCE(1);
        UKR_B_ADVANCE(1);
    }

    UKR_T tile[UKR_MR * UKR_NR] __attribute__((aligned(64)));
    UKR_T *cc = c;
    long ldcc = ldc;
    if (!full) {
        cc = tile;
        ldcc = UKR_NR;
        for (int i = 0; i < UKR_MR * UKR_NR; i++) tile[i] = 0;
        if (beta != 0) {
            for (long i = 0; i < mr; i++)
                for (long j = 0; j < nr; j++) tile[i * UKR_NR + j] = c[i * ldc + j];
        }
    }
    const UKR_V va = UKR_SET1(alpha);
    if (beta == 0) {
#pragma clang loop unroll(full)
        for (int i = 0; i < UKR_MR; i++) {
#pragma clang loop unroll(full)
            for (int v = 0; v < UKR_NV; v++) UKR_STOREU(cc + i * ldcc + v * UKR_VL, UKR_MUL(va, acc[i][v]));
        }
    } else {
        const UKR_V vb = UKR_SET1(beta);
#pragma clang loop unroll(full)
        for (int i = 0; i < UKR_MR; i++) {
#pragma clang loop unroll(full)
            for (int v = 0; v < UKR_NV; v++) {
                UKR_T *q = cc + i * ldcc + v * UKR_VL;
                UKR_STOREU(q, UKR_FMADD(vb, UKR_LOADU(q), UKR_MUL(va, acc[i][v])));
            }
        }
    }
    if (!full) {
        for (long i = 0; i < mr; i++)
            for (long j = 0; j < nr; j++) c[i * ldc + j] = tile[i * UKR_NR + j];
    }
}

#undef UKR_NR
#undef UKR_PF_PARAMS
#undef UKR_A_AT
#undef UKR_A_ADVANCE
#undef UKR_A_PARAM
#undef UKR_B_PARAM
#undef UKR_B_ROW
#undef UKR_B_LOAD
#undef UKR_B_ADVANCE
