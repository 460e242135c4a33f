/* aaconv GPU launchers: attention-augmented convolution with 2-D relative logits (docs/suites.md,
 * "aaconv"), end to end: conv branch, qkv conv, attention, 1×1 output conv, channel concat.
 *
 * Tensors (row-major, contiguous; float, or bf16 in the bf16 variants):
 *   x (B, Fin, H, W) input;  y (B, Fout, Ho, Wo) output, Ho = Wo
 *   wc (Fout − dv, Fin, k, k), bc (Fout − dv): conv branch, stride σ, padding (k − 1)/2
 *   wqkv (2·dk + dv, Fin, kq, kq), bqkv: q | k | v channels, same stride, padding (kq − 1)/2
 *   wo (dv, dv), bo (dv): attention output 1×1 conv
 *   rel (2, 2·Wo − 1, dkh): rel_w then rel_h, shared by all heads
 * Per head n (dkh = dk/Nh, dvh = dv/Nh), with q ×= dkh^−½ and pixel i = iy·Wo + ix:
 *   logits[i, j] = q_i·k_j + q_i·rel_w[jx − ix + Wo − 1] + q_i·rel_h[jy − iy + Ho − 1];
 *   P = softmax over j; O[n, i, :] = Σ_j P[i, j]·v_j;  attention channel n·dvh + c of pixel i is
 *   O[n, i, c]; y[:, Fout − dv + o] = bo[o] + Σ_c wo[o, c]·attention channel c.
 *
 * Contract shared by every launcher below:
 *  - device pointers; ws a device workspace of aaconv_<variant>_workspace(p) bytes, 256-aligned;
 *  - asynchronous on `stream`, launches through ATTN_LAUNCH, returns 0 or an error code, never
 *    synchronises; every element of y is written;
 *  - aaconv_<variant>_supports(p) returns NULL or why the problem is not supported.
 * The two convolutions (conv branch, qkv) are one straightforward direct-convolution kernel and
 * the 1×1 output conv another, shared by every variant (common.cu); the variants differ in the
 * attention. Intermediates are head-major: Q, K (B, Nh, N, dkh), V and O (B, Nh, N, dvh). */
#ifndef AACONV_KERNELS_H
#define AACONV_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct aaconv_problem {
    int B, Fin, Fout, H, W; /* input and output channels, input map */
    int k, stride, kq;      /* conv kernel (odd), stride, qkv kernel (1 or k) */
    int Nh, dk, dv;         /* heads; key and value widths (multiples of Nh) */
} aaconv_problem_t;

typedef struct aaconv_tensors {
    const void *x, *wc, *bc, *wqkv, *bqkv, *wo, *bo, *rel;
    void *y;
} aaconv_tensors_t;

/* naive: one thread per (image, head, query): two passes over all keys from global memory. */
int aaconv_naive_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t, void *ws,
                        attn_stream_t s);
/* tiled: one CTA per (image, head, tile of queries): K/V tiles staged in shared memory, online
 * softmax, relative terms q·rel_w, q·rel_h precomputed per query (2·(2Wo − 1) dots). */
int aaconv_tiled_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t, void *ws,
                        attn_stream_t s);
/* cublas-f32: unfused baseline: S = Q·Kᵀ and O = P·V as cuBLAS strided-batched GEMMs, a row
 * kernel adding the relative terms by index and taking the softmax in place. */
int aaconv_cublas_f32_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t, void *ws,
                             attn_stream_t s);

/* tensor-core: bf16 storage; S = Q·Kᵀ (wmma) materialised in fp32, relative terms + softmax
 * kernel, P·V (wmma). */
int aaconv_tensor_core_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t, void *ws,
                              attn_stream_t s);
/* fused: bf16 storage; the attention in one wmma kernel per (image, head, 16 queries): S = Q·Kᵀ
 * and P·V on tensor cores, relative terms added by index, online softmax. */
int aaconv_fused_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t, void *ws,
                        attn_stream_t s);

size_t aaconv_naive_workspace(const aaconv_problem_t *p);
size_t aaconv_tiled_workspace(const aaconv_problem_t *p);
size_t aaconv_cublas_f32_workspace(const aaconv_problem_t *p);
size_t aaconv_fused_workspace(const aaconv_problem_t *p);
size_t aaconv_tensor_core_workspace(const aaconv_problem_t *p);

const char *aaconv_tiled_supports(const aaconv_problem_t *p);
const char *aaconv_fused_supports(const aaconv_problem_t *p);
const char *aaconv_tensor_core_supports(const aaconv_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
