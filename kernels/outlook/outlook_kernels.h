/* outlook GPU launchers: VOLO outlook attention (docs/suites.md, "outlook"), end to end.
 *
 * Tensors (row-major, contiguous, f32):
 *   x (B, H, W, C) input;  y (B, H, W, C) output
 *   Wv (C, C) (no bias), Wa (k⁴·Nh, C) + ba (k⁴·Nh), Wp (C, C) + bp (C)
 * d = C/Nh, p = (k − 1)/2, h' = ⌈H/σ⌉, w' = ⌈W/σ⌉. Window n = (i, j) ∈ [0, h') × [0, w'):
 *   a[n, h, m, m'] = softmax_m'(d^-½·(Wa·AvgPool_σ(x)[n] + ba)[(h·k² + m)·k² + m']) (ceil-mode
 *   pool: the mean over the cell's valid pixels); O[n, m] = Σ_m' a[n, h, m, m']·v[pix(n, m')]
 *   with pix(n, m) = (iσ − p + m / k, jσ − p + m % k) and v = x·Wvᵀ, 0 outside the image;
 *   fold[q] = Σ of every O[n, m] with pix(n, m) = q; y = fold·Wpᵀ + bp.
 *
 * Contract shared by every launcher below:
 *  - pointers are device pointers to float;
 *  - ws is a device workspace of at least outlook_<variant>_workspace(p) bytes, 256-byte aligned;
 *  - asynchronous on `stream`, launches through ATTN_LAUNCH, returns 0 or an error code, never
 *    synchronises; every element of y is written;
 *  - outlook_<variant>_supports(p) returns NULL or why the problem is not supported.
 * The three linear layers (v, attention weights, proj) are cuBLAS GEMMs in every variant
 * (kernels/outlook/common.cu); the fold is a gather everywhere (deterministic, no atomics). */
#ifndef OUTLOOK_KERNELS_H
#define OUTLOOK_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct outlook_problem {
    int B, H, W, C; /* input */
    int Nh;         /* heads, dividing C */
    int k, s;       /* kernel (odd) and stride */
} outlook_problem_t;

typedef struct outlook_tensors {
    const void *x, *wv, *wa, *ba, *wp, *bp;
    void *y;
} outlook_tensors_t;

/* naive: softmax kernel, then one thread per (pixel, channel) gathering its fold from global v. */
int outlook_naive_launch(const outlook_problem_t *p, const outlook_tensors_t *t, void *ws,
                         attn_stream_t s);
/* tiled: softmax kernel, then one CTA per 8×8 pixel tile: the v tile with its halo in shared
 * memory (16 channels at a time), the fold gathered per (pixel, channel). */
int outlook_tiled_launch(const outlook_problem_t *p, const outlook_tensors_t *t, void *ws,
                         attn_stream_t s);
/* fused: one kernel from the raw logits: softmax over k² (warp shuffles), a·v and the fold, one
 * warp per (pixel, head), lanes over channels. */
int outlook_fused_launch(const outlook_problem_t *p, const outlook_tensors_t *t, void *ws,
                         attn_stream_t s);
/* cublas: the unfused baseline — softmax kernel, unfold of v, one strided-batched GEMM for
 * a·v of every (window, head), a fold kernel. */
int outlook_cublas_launch(const outlook_problem_t *p, const outlook_tensors_t *t, void *ws,
                          attn_stream_t s);

size_t outlook_naive_workspace(const outlook_problem_t *p);
size_t outlook_tiled_workspace(const outlook_problem_t *p);
size_t outlook_fused_workspace(const outlook_problem_t *p);
size_t outlook_cublas_workspace(const outlook_problem_t *p);

const char *outlook_tiled_supports(const outlook_problem_t *p);
const char *outlook_fused_supports(const outlook_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
