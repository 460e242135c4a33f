/* halo GPU launchers: HaloNet blocked local self-attention with a halo and 2-D relative
 * positions (docs/suites.md, "halo"), end to end: projections, attention, output projection.
 *
 * Tensors (row-major, contiguous):
 *   x (B, C, H, W)  input;            y (B, C, H, W)  output
 *   Wq (Di, C), Wkv (2·Di, C) (rows [0, Di) → K, [Di, 2·Di) → V), Wo (C, Di), bo (C)
 *   rel_w, rel_h (2·Wn − 1, d), shared by all heads;   Di = Nh·d, Wn = b + 2·h
 * For block (by, bx) and query (qy, qx) ∈ [0, b)² at pixel (by·b + qy, bx·b + qx):
 *   q = d^-½ · Wq·x[:, pixel]; keys (ky, kx) ∈ [0, Wn)² at pixel (by·b − h + ky, bx·b − h + kx)
 *   with k, v the K/V projections there; per head n (channels n·d … n·d + d − 1 of q, k, v):
 *   logit = q·k + q·rel_w[Wn − 1 + kx − qx] + q·rel_h[Wn − 1 + ky − qy]; keys outside the image
 *   are masked (−∞); softmax over the Wn² keys; o = Σ a·v; y = Wo·concat_heads(o) + bo.
 *   (Every query pixel lies inside the image, so at least its own key is unmasked.)
 *
 * Contract shared by every launcher below:
 *  - pointers are device pointers, float for the f32 variants and attn_bf16_t for bf16 ones
 *    (x, all parameters and y in the variant's dtype);
 *  - ws is a device workspace of at least halo_<variant>_workspace(p) bytes;
 *  - asynchronous on `stream`, launches through ATTN_LAUNCH, returns 0 or an error code, never
 *    synchronises; every element of y is written;
 *  - halo_<variant>_supports(p) returns NULL or why the problem is not supported.
 * Projections (Wq, Wkv, Wo) are cuBLAS GEMMs in every variant except where `fused` says it
 * fuses them; intermediates are pixel-major: Q (B, H·W, Di), KV (B, H·W, 2·Di), O (B, H·W, Di).
 */
#ifndef HALO_KERNELS_H
#define HALO_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct halo_problem {
    int B, C, H, W;   /* input */
    int b, h;         /* block size (divides H and W) and halo (>= 0) */
    int Nh, d;        /* heads and head dim; Di = Nh·d */
} halo_problem_t;

typedef struct halo_tensors {
    const void *x, *wq, *wkv, *wo, *bo, *rel_w, *rel_h;
    void *y;
} halo_tensors_t;

/* naive: f32, one thread per (pixel, head) output, K/V read from global memory. */
int halo_naive_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws, attn_stream_t s);
/* tiled: f32, one CTA per (image block, head group): the Wn² K/V window staged in shared memory. */
int halo_tiled_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws, attn_stream_t s);
/* tensor-core: bf16, Q·Kᵀ and P·V of each block on tensor cores (fp32 accumulate), softmax in a
 * separate pass. */
int halo_tensor_core_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                            attn_stream_t s);
/* fused: bf16, one kernel per image block: logits + relative terms + mask + softmax + P·V on
 * tensor cores, the window's K/V rows streamed through shared memory, no logits in global
 * memory. Block 4 or 8 and window rows of at most 16 keys (halo_fused_supports says why not). */
int halo_fused_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws, attn_stream_t s);
/* cublas: the unfused baseline — projections, a window gather, strided-batched GEMMs for logits
 * and P·V, a softmax kernel. f32 and bf16. */
int halo_cublas_f32_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                           attn_stream_t s);
int halo_cublas_bf16_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                            attn_stream_t s);

size_t halo_naive_workspace(const halo_problem_t *p);
size_t halo_tiled_workspace(const halo_problem_t *p);
size_t halo_tensor_core_workspace(const halo_problem_t *p);
size_t halo_fused_workspace(const halo_problem_t *p);
size_t halo_cublas_f32_workspace(const halo_problem_t *p);
size_t halo_cublas_bf16_workspace(const halo_problem_t *p);

const char *halo_tiled_supports(const halo_problem_t *p);
const char *halo_tensor_core_supports(const halo_problem_t *p);
const char *halo_fused_supports(const halo_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
