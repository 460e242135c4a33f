/* What the luong variants share (implemented in common.cu), internal to kernels/luong:
 *
 *   luong_problem_reason  NULL, or why a problem is malformed; every launcher checks it first
 *   luong_proj_take       the projection outputs a score function needs (Q', K'): workspace
 *                         regions (attn_ws_t, kernels/common/workspace.cuh)
 *   luong_project         those projections as cuBLAS GEMMs; returns the score operands
 * GEMMs use CUBLAS_COMPUTE_32F under the default math mode (no TF32), type CUDA_R_32F or
 * CUDA_R_16BF for every operand. */
#ifndef LUONG_COMMON_CUH
#define LUONG_COMMON_CUH

#include <cstddef>
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include "bf16.cuh"
#include "luong_kernels.h"
#include "workspace.cuh"

const char *luong_problem_reason(const luong_problem_t *p);

/* The weights output a (B, T, S) in storage type T_ (luong_tensors_t). */
template <typename T_>
static inline T_ *luong_weights_out(const luong_tensors_t *t)
{
    return (T_ *)t->c + t->a_at;
}

/* The score operands after projection: q (B·T rows) and k (B·S rows), Dp columns each, in the
 * variant's storage type; v (concat) is the input v. */
typedef struct luong_ops {
    const void *q, *k, *v;
    int Dp;
    void *q_buf, *k_buf; /* workspace regions the projections write (NULL when none) */
} luong_ops_t;

/* Takes the projection regions (elem-byte elements) and sets Dp. */
luong_ops_t luong_proj_take(attn_ws_t *w, const luong_problem_t *p, size_t elem);


/* Fills o->q_buf / o->k_buf with the projections of t (type: CUDA_R_32F or CUDA_R_16BF) and
 * points o->q, o->k at the score operands. */
int luong_project(const luong_problem_t *p, const luong_tensors_t *t, cudaDataType_t type,
                  luong_ops_t *o, cudaStream_t stream);

/* The tiled score kernel (tiled.cu), shared with the cublas variants for concat:
 * E (B, T, S) fp32 from the operands in storage type T_. */
template <typename T_>
int luong_scores_tiled(const luong_problem_t *p, const luong_ops_t *o, float *E,
                       cudaStream_t stream);

/* E (B·T rows of S) as a one-head, unmasked, scale-1 problem for mhsa_softmax_* (tiled.cu). */
#include "mhsa_softmax.cuh"
mhsa_problem_t luong_softmax_problem(const luong_problem_t *p);

/* c = P·h̄ by a cuBLAS strided-batched GEMM over B (P (B, T, S), c (B, T, Dk)). */
int luong_context_gemm(const luong_problem_t *p, const void *P, const void *hb, void *c,
                       cudaDataType_t type, cudaStream_t stream);

#endif
