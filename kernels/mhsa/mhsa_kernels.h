/* mhsa GPU launchers: scaled dot-product multi-head attention, the core only (docs/suites.md).
 *
 * Layout: Q (B, H, Nq, d), K and V (B, Hkv, Nk, d), O (B, H, Nq, d), row-major, contiguous.
 * S = Q·Kᵀ·scale; key j is masked (−∞) when causal and j > i + diag (query i, both counted from
 * 0), outside the window (mhsa_problem_t), or when j >= kv_len[b]; P = softmax over keys;
 * O = P·V. A query row whose keys are all masked outputs 0, never NaN.
 *
 * Contract shared by every launcher below:
 *  - pointers are device pointers; q, k, v, o in the dtype named by the launcher (float,
 *    bf16 or f16: a launcher named _f16 takes IEEE binary16, the others bf16); ws is a device workspace of at least mhsa_<variant>_workspace(p) bytes (may be
 *    NULL when that is 0);
 *  - the launch is asynchronous on `stream`; the function checks the launch and returns 0 or an
 *    error code (see attn_kernel.h); it never synchronises;
 *  - every element of o is written (the harness poisons o with NaN before a checked run);
 *  - any N >= 1 works (N need not be a multiple of any tile); d limits are given per variant by
 *    mhsa_<variant>_supports(), which returns NULL or a reason the problem is not supported.
 */
#ifndef MHSA_KERNELS_H
#define MHSA_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct mhsa_problem {
    int B, H, Nq, Nk, d;
    int causal;          /* 1: key j > query i + diag is masked */
    float scale;         /* softmax scale, 1/sqrt(d) */
    const int *kv_len;   /* device int32[B]: valid keys per batch, 0..Nk; NULL: all Nk valid */
    int Hkv;             /* K/V heads (H % Hkv == 0): query head h reads K/V head h / (H / Hkv) */
    int diag;            /* the aligned diagonal: query i sits on key i + diag; 0 top-left,
                            Nk - Nq bottom-right (may be negative) */
    int window;          /* 0: none; w > 0: key j masked when j < i + diag - (w - 1), and,
                            unless causal, when j > i + diag + (w - 1) */
    int splits;          /* fused-splitkv: key splits per (b, K/V head); 0: its own choice */
} mhsa_problem_t;

/* Device tensors: q (B, H, Nq, d), k and v (B, Hkv, Nk, d), o (B, H, Nq, d), float or
 * attn_bf16_t as the launcher says. */
typedef struct mhsa_tensors {
    const void *q, *k, *v;
    void *o;
} mhsa_tensors_t;

/* naive: fp32, one thread per query row, everything from global memory. */
int mhsa_naive_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                      attn_stream_t stream);
/* tiled: fp32, K/V tiles staged in shared memory, online softmax, CUDA cores only. */
int mhsa_tiled_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                      attn_stream_t stream);
const char *mhsa_tiled_supports(const mhsa_problem_t *p);
/* tensor-core: bf16 in/out, fp32 accumulate; three kernels: S = Q·Kᵀ (fp32, workspace),
 * softmax → P (bf16, workspace), O = P·V. */
int mhsa_tensor_core_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                            attn_stream_t stream);
/* the same on f16 data (the same kernels, templated; same workspace and supports()) */
int mhsa_tensor_core_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                attn_stream_t stream);
size_t mhsa_tensor_core_workspace(const mhsa_problem_t *p);
const char *mhsa_tensor_core_supports(const mhsa_problem_t *p);
/* fused: bf16 in/out, flash-style single pass with mma.sync, online softmax in registers, no
 * N×N matrix in global memory; FlashAttention-2's tile shape (128 query rows over 4 warps).
 * Takes Hkv, diag and window; skips key tiles with no visible key. */
int mhsa_fused_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                      attn_stream_t stream);
/* fused-br64: the same kernel with 64-row query tiles (4 warps × 16 rows, Q in registers).
 * Same supports(). */
int mhsa_fused_br64_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                            attn_stream_t stream);
const char *mhsa_fused_supports(const mhsa_problem_t *p);
/* fused-wgmma: the fused forward pass on Hopper's wgmma (sm_90a code only): 128 query rows over
 * two warpgroups, 128-key tiles. fused's shapes, on a device of compute capability 9.0 only. */
int mhsa_fused_wgmma_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                            attn_stream_t stream);
const char *mhsa_fused_wgmma_supports(const mhsa_problem_t *p);
/* fused-wgmma-tma: the same consumer warpgroups fed by TMA from a producer warpgroup (3-D tensor
 * maps, mbarrier stages, setmaxnreg). Same supports(). */
int mhsa_fused_wgmma_tma_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                attn_stream_t stream);
/* fused-wgmma-tma-pp: fused-wgmma-tma with the two consumer warpgroups issuing their wgmmas in
 * turn (one's softmax under the other's S and P·V). Same supports(). */
int mhsa_fused_wgmma_tma_pp_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                   attn_stream_t stream);
/* fused and fused-br64 on f16 data (the same kernel, templated on the element type) */
int mhsa_fused_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                          attn_stream_t stream);
int mhsa_fused_br64_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                               attn_stream_t stream);
/* cublas: the unfused baseline, S and O by cublasGemmStridedBatchedEx, a softmax kernel between.
 * f32: fp32 everywhere. bf16: bf16 Q/K/V/P/O, fp32 S and accumulation. */
int mhsa_cublas_f32_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                           attn_stream_t stream);
int mhsa_cublas_bf16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                            attn_stream_t stream);
size_t mhsa_cublas_f32_workspace(const mhsa_problem_t *p);
/* f16: as bf16 with f16 Q/K/V/P/O (fp32 S); its workspace is mhsa_cublas_bf16_workspace's */
int mhsa_cublas_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                           attn_stream_t stream);
/* fused-splitkv (flash-decoding): bf16 in/out for decode shapes (Nq <= 16): each CTA takes up
 * to 64 query rows of one K/V head group (its H/Hkv heads) and one split of the keys, and writes
 * its partial O, max and sum (fp32) to the workspace; a combine kernel merges the splits by
 * their log-sum-exp. p->splits forces the split count (1: a single pass, no merge). */
int mhsa_splitkv_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                        attn_stream_t stream);
size_t mhsa_splitkv_workspace(const mhsa_problem_t *p);
const char *mhsa_splitkv_supports(const mhsa_problem_t *p);
/* The same on f16 (IEEE binary16) q, k, v and o. */
int mhsa_splitkv_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                            attn_stream_t stream);
/* The split count mhsa_splitkv_launch uses for p (forced or chosen). */
int mhsa_splitkv_splits(const mhsa_problem_t *p);
size_t mhsa_cublas_bf16_workspace(const mhsa_problem_t *p);
/* bf16s: S in bf16 too (PyTorch's math path), beside bf16's fp32 S */
int mhsa_cublas_bf16s_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                             attn_stream_t stream);
size_t mhsa_cublas_bf16s_workspace(const mhsa_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
