/* What the aft variants share (implemented in common.cu), internal to kernels/aft:
 *
 *   aft_problem_reason   NULL, or why a problem is malformed; every launcher checks it first
 *   aft_common_take      QKV (B·T, 3·Dh), Y (B·T, Dh), m (B, Dh), r (T): the first regions of
 *                        every variant's workspace (attn_ws_t, kernels/common/workspace.cuh)
 *   aft_project_qkv      QKV = x·Wqkvᵀ + bqkv (bias broadcast + one cuBLAS GEMM)
 *   aft_project_out      out = Y·Wpᵀ + bp (bias broadcast + one cuBLAS GEMM)
 *   aft_colmax           m[b, c] = max over t of K[b, t, c]
 *   aft_rowmax           r[t] = max over t' < T of w'[t, t'] (one warp per row)
 *   aft_bias_dev         w'[t, t'] of the form, on the device
 * cuBLAS calls use the process's handle, attn_cublas_handle (kernels/common/attn_kernel.cu). */
#ifndef AFT_COMMON_CUH
#define AFT_COMMON_CUH

#include <cstddef>
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include "aft_kernels.h"
#include "workspace.cuh"

const char *aft_problem_reason(const aft_problem_t *p);

typedef struct aft_common {
    float *qkv, *y, *m, *r;
} aft_common_t;

aft_common_t aft_common_take(attn_ws_t *w, const aft_problem_t *p);
int aft_project_qkv(const aft_problem_t *p, const aft_tensors_t *t, float *qkv,
                    cudaStream_t stream);
int aft_project_out(const aft_problem_t *p, const aft_tensors_t *t, const float *y,
                    cudaStream_t stream);
int aft_colmax(const aft_problem_t *p, const float *qkv, float *m, cudaStream_t stream);
int aft_rowmax(const aft_problem_t *p, const float *w, float *r, cudaStream_t stream);

/* bf16 counterparts for the tensor-core variants (tensor_core.cu; full form only for rowmax):
 * x and the parameters are bf16 bits, Y bf16, m and r fp32; cuBLAS with CUDA_R_16BF operands
 * and CUBLAS_COMPUTE_32F. aft_bf16_project_qkv projects into qkv32 (B·T, 3·Dh) in fp32, takes
 * m = max over t of K from it, and writes qkv (bf16) = Q, K − m, V: the shift is taken in fp32
 * before the rounding, so that bf16 rounds K − m (a few units) and not K (which kshift can make
 * ~100, where bf16's spacing is 0.5). Consumers take e^{qkv's K} directly. */
int aft_bf16_project_qkv(const aft_problem_t *p, const aft_tensors_t *t, float *qkv32, float *m,
                         void *qkv, cudaStream_t stream);
int aft_bf16_project_out(const aft_problem_t *p, const aft_tensors_t *t, const void *y,
                         cudaStream_t stream);
int aft_bf16_rowmax(const aft_problem_t *p, const void *w, float *r, cudaStream_t stream);

/* w'[t, t'] (t, t' < T): w (full), 0 (simple), w inside the window |t − t'| < s else 0. */
static __device__ __forceinline__ float aft_bias_dev(const float *__restrict__ w, int Tmax,
                                                     int form, int s, int t, int tp)
{
    if (form == AFT_K_SIMPLE) return 0.f;
    if (form == AFT_K_LOCAL && abs(t - tp) >= s) return 0.f;
    return w[(size_t)t * Tmax + tp];
}

static __device__ __forceinline__ float aft_sigmoid(float q) { return 1.f / (1.f + expf(-q)); }

#endif
