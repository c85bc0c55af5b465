// AVX2+FMA bodies of the elementwise layer loops of nn_kernels.c (included once there): the same
// operations as the portable and AVX-512 bodies, lane by lane (no fused multiply-adds: the file
// turns contraction off), so the same bits. ReLU is z > 0 ? z : 0 (NaN → +0) as an AND with the
// comparison mask; tails run the portable expression.
#define NK_AVX2 __attribute__((target("avx2,fma")))

NK_AVX2 static inline __m256 nk_relu8(__m256 z) {
    return _mm256_and_ps(z, _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GT_OQ));
}

NK_AVX2 static inline __m256 nk_axpb8(__m256 x, __m256 va, __m256 vb, int relu) {
    const __m256 z = _mm256_add_ps(_mm256_mul_ps(va, x), vb);
    return relu ? nk_relu8(z) : z;
}

NK_AVX2 static void nk_axpb_act_avx2(const float *x, float *y, long n, float a, float b, int relu, int stream) {
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    long i = 0;
    if (stream) {
        // Non-temporal stores need 32-byte aligned addresses: a scalar head up to the boundary.
        long head = (long)((32 - ((unsigned long)y & 31)) & 31) / 4;
        if ((unsigned long)y & 3) head = n;  // not even float-aligned: no streaming
        for (; i < head && i < n; i++) {
            float z = a * x[i] + b;
            y[i] = relu ? nk_relu1(z) : z;
        }
        for (; i + 32 <= n; i += 32) {
            _mm256_stream_ps(y + i, nk_axpb8(_mm256_loadu_ps(x + i), va, vb, relu));
            _mm256_stream_ps(y + i + 8, nk_axpb8(_mm256_loadu_ps(x + i + 8), va, vb, relu));
            _mm256_stream_ps(y + i + 16, nk_axpb8(_mm256_loadu_ps(x + i + 16), va, vb, relu));
            _mm256_stream_ps(y + i + 24, nk_axpb8(_mm256_loadu_ps(x + i + 24), va, vb, relu));
        }
        _mm_sfence();
    }
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, nk_axpb8(_mm256_loadu_ps(x + i), va, vb, relu));
        _mm256_storeu_ps(y + i + 8, nk_axpb8(_mm256_loadu_ps(x + i + 8), va, vb, relu));
    }
    for (; i < n; i++) {
        float z = a * x[i] + b;
        y[i] = relu ? nk_relu1(z) : z;
    }
}

NK_AVX2 static void nk_bias_act_cols_avx2(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    for (long r = 0; r < rows; r++) {
        float *row = y + r * ldy;
        long j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256 z = _mm256_loadu_ps(row + j);
            if (b) z = _mm256_add_ps(z, _mm256_loadu_ps(b + j));
            _mm256_storeu_ps(row + j, relu ? nk_relu8(z) : z);
        }
        for (; j < cols; j++) {
            float z = b ? row[j] + b[j] : row[j];
            row[j] = relu ? nk_relu1(z) : z;
        }
    }
}

NK_AVX2 static void nk_bias_act_rows_avx2(float *y, const float *b, long rows, long cols, long ldy, int relu) {
    for (long r = 0; r < rows; r++) {
        float *row = y + r * ldy;
        const __m256 vb = _mm256_set1_ps(b ? b[r] : 0.0f);
        long j = 0;
        for (; j + 8 <= cols; j += 8) {
            __m256 z = _mm256_loadu_ps(row + j);
            if (b) z = _mm256_add_ps(z, vb);
            _mm256_storeu_ps(row + j, relu ? nk_relu8(z) : z);
        }
        for (; j < cols; j++) {
            float z = b ? row[j] + b[r] : row[j];
            row[j] = relu ? nk_relu1(z) : z;
        }
    }
}

NK_AVX2 static void nk_relu_grad_avx2(float *g, const float *v, const float *y, long n) {
    long i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 keep = _mm256_cmp_ps(_mm256_loadu_ps(y + i), _mm256_setzero_ps(), _CMP_GT_OQ);
        _mm256_storeu_ps(g + i, _mm256_and_ps(_mm256_loadu_ps(v + i), keep));
    }
    for (; i < n; i++) g[i] = y[i] > 0 ? v[i] : 0;
}

NK_AVX2 static void nk_sgd_avx2(float *p, const float *g, float lr, long n) {
    const __m256 vlr = _mm256_set1_ps(lr);
    long i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(p + i, _mm256_sub_ps(_mm256_loadu_ps(p + i), _mm256_mul_ps(vlr, _mm256_loadu_ps(g + i))));
    for (; i < n; i++) p[i] -= lr * g[i];
}
#undef NK_AVX2
