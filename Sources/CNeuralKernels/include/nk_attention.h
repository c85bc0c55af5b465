#ifndef NK_ATTENTION_H
#define NK_ATTENTION_H

/// Fused scaled-dot-product attention, flash-attention style: each task walks the keys in blocks
/// of 64 with an online softmax (forward) or recomputes the scores from the saved row
/// log-sum-exp (backward), so no task holds more than one 64 × 64 block of scores. Float32 and
/// Float64, each with an AVX-512, an AVX2 + FMA and a portable body picked by nk_cpu_level();
/// the bodies run the same operations per lane (explicit fused multiply-adds, the same exp, sums
/// in the same order), so they give the same bits.
///
/// Tensors are [batch, heads, t, d] with any element strides for batch, head and t and unit
/// stride along d. Query row i may see key j when key_mask[b·tk + j] == 0 (when key_mask is not
/// NULL) and, when causal, j <= i. A query row that sees no key gets output 0, log-sum-exp −inf
/// and zero gradients (torch 2.13's scaled_dot_product_attention does the same).

/// Element strides of one [batch, heads, t, d] operand (d has stride 1).
typedef struct nk_attn_strides {
    long b, h, t;
} nk_attn_strides;

/// One attention call. Pointers are float * for the _f32 entry points and double * for _f64.
typedef struct nk_attn_args {
    long batch, heads, tq, tk, d;
    double scale;
    int causal;
    /// [batch, tk], nonzero = the key is padding (never attended), or NULL.
    const unsigned char *key_mask;
    const void *q, *k, *v;
    nk_attn_strides qs, ks, vs;
    /// Output [batch, heads, tq, d] (forward writes, backward reads) and its strides.
    void *o;
    nk_attn_strides os;
    /// Row log-sum-exp of the scaled, masked scores, contiguous [batch·heads, tq].
    void *lse;
    /// Backward: upstream gradient dO and the gradients written (each may be NULL but dO).
    const void *g;
    nk_attn_strides gs;
    void *dq, *dk, *dv;
    nk_attn_strides dqs, dks, dvs;
} nk_attn_args;

/// Rows of queries per forward task and keys per block.
#define NK_ATTN_BLOCK 64

/// Forward tasks: batch · heads · ceil(tq / NK_ATTN_BLOCK).
long nk_attn_fwd_tasks(const nk_attn_args *a);
/// Forward task `task` (any order, any thread): writes its rows of o and lse.
void nk_attn_fwd_f32(const nk_attn_args *a, long task);
void nk_attn_fwd_f64(const nk_attn_args *a, long task);
/// Backward for one (batch, head) pair `bh` (any order, any thread): writes its slices of dq, dk,
/// dv, summing over blocks in a fixed order.
void nk_attn_bwd_f32(const nk_attn_args *a, long bh);
void nk_attn_bwd_f64(const nk_attn_args *a, long bh);

#endif
