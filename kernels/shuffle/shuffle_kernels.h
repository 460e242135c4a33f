/* shuffle GPU launchers: Shuffle Attention (SA-Net, docs/suites.md "shuffle").
 *
 * Tensors (row-major, contiguous, f32, device pointers):
 *   x (B, C, H, W) input; out (B, C, H, W) output; cw, cb, sw, sb, gamma, beta (Cg) parameters,
 *   Cg = C/(2G). Input channel k = g·2Cg + i (group g, i ∈ [0, 2Cg)):
 *     i <  Cg: channel branch, gate σ(cw[i]·mean_HW(x_k) + cb[i]) (one value per plane)
 *     i >= Cg: spatial branch, c = i − Cg, gate σ(sw[c]·(γ[c]·(x − μ_k)/√(σ²_k + 1e-5) + β[c])
 *              + sb[c]) per pixel, μ_k and σ²_k (biased) over the plane
 *   and the gated plane k lands in output channel 2·(k mod C/2) + k div C/2 (channel shuffle
 *   with 2 groups: out[:, 2j + i] = in[:, i·C/2 + j]).
 * Every gate depends on one (b, k) plane only: the unit of work of both variants.
 *
 * Contract shared by the launchers: ws is a device workspace of at least
 * shuffle_<variant>_workspace(p) bytes; asynchronous on `stream`, launches through ATTN_LAUNCH,
 * returns 0 or an error code, never synchronises; every element of out is written. */
#ifndef SHUFFLE_KERNELS_H
#define SHUFFLE_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct shuffle_problem {
    int B, C, H, W, G;
} shuffle_problem_t;

typedef struct shuffle_tensors {
    const void *x, *cw, *cb, *sw, *sb, *gamma, *beta;
    void *out;
} shuffle_tensors_t;

/* naive: a stats kernel (one thread per plane, serial loops) writes (μ, A, D) per plane, then an
 * elementwise kernel (one thread per element) applies out = x·σ((x − μ)·A + D). */
int shuffle_naive_launch(const shuffle_problem_t *p, const shuffle_tensors_t *t, void *ws,
                         attn_stream_t s);
size_t shuffle_naive_workspace(const shuffle_problem_t *p);
/* fused: one warp per plane, the plane held in registers (read once, 16-byte loads when aligned),
 * statistics by warp shuffles, gated store straight to the shuffled channel; planes larger than
 * the registers hold are read twice (statistics, then gate and store). No workspace. */
int shuffle_fused_launch(const shuffle_problem_t *p, const shuffle_tensors_t *t, void *ws,
                         attn_stream_t s);

/* NULL, or why the launchers cannot run p (sizes they index with int). */
const char *shuffle_problem_reason(const shuffle_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
