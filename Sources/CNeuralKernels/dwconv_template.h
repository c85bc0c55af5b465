// The vector body of the depthwise forward of dwconv_forward.c (see nk_dwconv.h), written once over
// the 16-lane vector of vec16.h and included there once per instruction set (ISA, NK_VEC16_LEVEL and
// TARGET defined, vec16.h included just before). Lane l of a chunk computes the portable body's
// output column ow0 + l with the same fused multiply-adds in the same order, so every level gives
// the same bits. Undefines ISA, TARGET and NK_VEC16_LEVEL at its end.

/// Chunks ow0, ow0 + 16, … (`nc` ≤ 4 of them, the first `full` of them whole, the last `rest` lanes
/// wide when nc > full) of output row `yr` of a 3 × 3 window (dW = 1): the chunks' independent
/// chains of fused multiply-adds interleaved, rows r0, r1, r2 of the padded band.
static inline __attribute__((always_inline)) TARGET void V(dw_fwd3)(const float *r0, const float *r1, const float *r2,
                                                                  const nk_v16f wv[9], float b, int relu, float *yr,
                                                                  long ow0, int nc, int full, long rest) {
    nk_v16f acc[4];
    for (int c = 0; c < nc; c++) acc[c] = V(set1)(b);
    const float *rows[3] = {r0, r1, r2};
    for (int i = 0; i < 3; i++) {
        for (int j = 0; j < 3; j++) {
            for (int c = 0; c < nc; c++) acc[c] = V(fma)(wv[i * 3 + j], V(ld)(rows[i] + ow0 + 16 * c + j), acc[c]);
        }
    }
    for (int c = 0; c < nc; c++) {
        nk_v16f z = relu ? V(relu)(acc[c]) : acc[c];
        if (c < full) V(st)(yr + ow0 + 16 * c, z); else V(stm)(yr + ow0 + 16 * c, rest, z);
    }
}

/// Output rows [oh0, oh1) of one plane from the padded band `xp` (row r = input row
/// oh0·sH − pH + r, `ldp` floats per row, column c = input column c − pW, zero outside the input):
/// y[oh, ow] = act(b + Σ_{i,j} w[i, j] · xp[(oh − oh0)·sH + i·dH][ow + j·dW]), taps in order.
static TARGET void V(dw_fwd_band)(const nk_dw_geom *g, const float *xp, long ldp, const float *w, float b,
                                 int relu, float *y, long oh0, long oh1) {
    const long oW = g->oW, full = oW / 16 * 16, rest = oW - full;
    if (g->kH == 3 && g->kW == 3 && g->dW == 1) {
        // 3 × 3: the nine weights stay in registers; four chunks of 16 columns at a time.
        nk_v16f wv[9];
        for (int k = 0; k < 9; k++) wv[k] = V(set1)(w[k]);
        for (long oh = oh0; oh < oh1; oh++) {
            const float *r0 = xp + (oh - oh0) * g->sH * ldp, *r1 = r0 + g->dH * ldp, *r2 = r1 + g->dH * ldp;
            float *yr = y + oh * oW;
            for (long ow0 = 0; ow0 < oW; ow0 += 64) {
                const long left = (oW - ow0 + 15) / 16, whole = (full - ow0) / 16;
                const int nc = left < 4 ? (int)left : 4, nw = whole < 4 ? (int)whole : 4;
                switch (nc) {
                case 4: V(dw_fwd3)(r0, r1, r2, wv, b, relu, yr, ow0, 4, nw, rest); break;
                case 3: V(dw_fwd3)(r0, r1, r2, wv, b, relu, yr, ow0, 3, nw, rest); break;
                case 2: V(dw_fwd3)(r0, r1, r2, wv, b, relu, yr, ow0, 2, nw, rest); break;
                default: V(dw_fwd3)(r0, r1, r2, wv, b, relu, yr, ow0, 1, nw, rest); break;
                }
            }
        }
        return;
    }
    for (long oh = oh0; oh < oh1; oh++) {
        float *yr = y + oh * oW;
        for (long ow0 = 0; ow0 < oW; ow0 += 16) {
            nk_v16f acc = V(set1)(b);
            for (long i = 0; i < g->kH; i++) {
                const float *r = xp + ((oh - oh0) * g->sH + i * g->dH) * ldp + ow0;
                for (long j = 0; j < g->kW; j++) acc = V(fma)(V(set1)(w[i * g->kW + j]), V(ld)(r + j * g->dW), acc);
            }
            if (relu) acc = V(relu)(acc);
            if (ow0 < full) V(st)(yr + ow0, acc); else V(stm)(yr + ow0, rest, acc);
        }
    }
}

#undef ISA
#undef TARGET
#undef NK_VEC16_LEVEL
