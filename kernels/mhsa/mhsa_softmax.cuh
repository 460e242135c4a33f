/* The masked row softmax shared by the unfused mhsa variants (tensor-core, cublas-*).
 *
 * S: (B, H, Nq, Nk) fp32 (bf16 for _bf16s), raw Q·Kᵀ (not yet scaled). Writes P (same shape) with
 * P[b,h,i,j] = softmax_j(scale·S[b,h,i,j]) over the unmasked keys (mask rules as in
 * mhsa_kernels.h) and 0 at masked keys; a row with every key masked is all zeros.
 * Asynchronous on `stream`; returns 0 or an error code. */
#ifndef MHSA_SOFTMAX_CUH
#define MHSA_SOFTMAX_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include "mhsa_kernels.h"

int mhsa_softmax_f32(const mhsa_problem_t *p, const float *S, float *P, cudaStream_t stream);
int mhsa_softmax_bf16(const mhsa_problem_t *p, const float *S, __nv_bfloat16 *P, cudaStream_t stream);
/* P in f16 (the f16 rows): probabilities in [0, 1], within f16's range */
int mhsa_softmax_f16(const mhsa_problem_t *p, const float *S, __half *P, cudaStream_t stream);
/* S in bf16 too (the cublas-bf16-bf16s baseline) */
int mhsa_softmax_bf16s(const mhsa_problem_t *p, const __nv_bfloat16 *S, __nv_bfloat16 *P,
                       cudaStream_t stream);

#endif
