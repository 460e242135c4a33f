/* emsa GPU launchers: ResT efficient multi-head self-attention, spatial reduction (docs/suites.md
 * "emsa"), end to end: reduction, projections, attention with head transform and InstanceNorm,
 * output projection.
 *
 * Tensors (row-major, contiguous, float):
 *   x (B, N = H·W, C) input;  y (B, N, C) output
 *   wqkv (3C, C) (rows [0, C) → Q, [C, 2C) → K, [2C, 3C) → V), bqkv (3C), wo (C, C), bo (C)
 *   srw (C, (r+1)²) depthwise taps, srp (3, C) = conv bias, LayerNorm γ, β   (used when r > 1)
 *   tr (h, h + 1) = T[g, k] (k < h) and t_g (column h)                      (used when h > 1)
 * Xr = r > 1 ? LayerNorm(dwconv(x)) : x (N' positions); Q = x·Wqᵀ + bq; K, V = Xr·Wk,vᵀ + b;
 * S_g = Q_g·K_gᵀ/√dk; h > 1: P = softmax(Σ_k T[g,k]·S_k + t_g), P̂ = (P − 1/N')/√(var + 1e-5)
 * per (b, g) map; h = 1: P̂ = softmax(S); y = concat_g(P̂_g·V_g)·Woᵀ + bo.
 *
 * Contract shared by every launcher below:
 *  - pointers are device pointers; ws is a device workspace of at least
 *    emsa_<variant>_workspace(p) bytes, 256-byte aligned;
 *  - asynchronous on `stream`, launches through ATTN_LAUNCH, returns 0 or an error code, never
 *    synchronises; every element of y is written;
 *  - emsa_<variant>_supports(p) returns NULL or why the problem is not supported.
 * Intermediates in the workspace: Xr (B, N', C), Q (B, N, C), K, V (B, N', C), P (B, h, N, N'),
 * per-row Σ(p − 1/N')² (B, h, N), O (B, N, C). */
#ifndef EMSA_KERNELS_H
#define EMSA_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct emsa_problem {
    int B, C, H, W; /* x (B, H·W, C) */
    int h;          /* heads; dk = dv = C/h */
    int r;          /* reduction ratio >= 1 */
} emsa_problem_t;

typedef struct emsa_tensors {
    const void *x, *wqkv, *bqkv, *wo, *bo, *srw, *srp, *tr;
    void *y;
} emsa_tensors_t;

/* naive: f32, one kernel per step, GEMMs one thread per output element from global memory. */
int emsa_naive_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws, attn_stream_t s);
/* tiled: f32, the same steps with shared-memory tiled GEMMs. */
int emsa_tiled_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws, attn_stream_t s);
/* tensor-core: bf16 inputs and y; every GEMM on tensor cores (WMMA, bf16 operands, fp32
 * accumulate), the rest of the pipeline in fp32. */
int emsa_tensor_core_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws,
                            attn_stream_t s);
/* fused: f32, tiled projections, then the two-phase attention: phase 1 one CTA per (b, query
 * row) computes every head's logits, the head transform, softmax and Σ(p − 1/N')²; phase 2 one
 * CTA per (b, query row) normalises and multiplies by V. */
int emsa_fused_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws, attn_stream_t s);
/* cublas: the unfused baseline, every GEMM a cuBLAS fp32 call, the shared softmax/norm kernels. */
int emsa_cublas_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws, attn_stream_t s);

size_t emsa_naive_workspace(const emsa_problem_t *p);
size_t emsa_tiled_workspace(const emsa_problem_t *p);
size_t emsa_tensor_core_workspace(const emsa_problem_t *p);
size_t emsa_fused_workspace(const emsa_problem_t *p);
size_t emsa_cublas_workspace(const emsa_problem_t *p);

const char *emsa_fused_supports(const emsa_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
