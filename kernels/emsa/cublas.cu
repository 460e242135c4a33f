/* emsa cublas: the unfused baseline. The pipeline of common.cu (reduction kernel, softmax with
 * head transform, InstanceNorm kernels) with every GEMM a cublasGemmStridedBatchedEx call in
 * fp32 (CUDA_R_32F, CUBLAS_COMPUTE_32F, default math: no TF32), bias added by a small kernel.
 *
 * cuBLAS is column-major; a row-major (r × c) matrix with leading dimension ld is the
 * column-major (c × r) one, its transpose. So row-major C (M × Nn) = A·op(B) is column-major
 * Cᵀ (Nn × M) = op(B)ᵀ·Aᵀ: first operand B (column-major K × Nn with ld ldb, op T, when transB;
 * column-major Nn × K, op N, otherwise), second operand A (column-major K × M, ld lda, op N).
 * A two-level batch (z1, z2) is one strided-batched call over z2 per z1 (the strides of z1 and
 * z2 differ: e.g. the logits batch over heads g with stride dk inside each image b).
 *
 * The cuBLAS handle is the process's one (attn_cublas_handle, kernels/common/attn_kernel.cu),
 * bound to the stream on every call; not thread-safe: launch from one host thread. */
#include <cstdio>

#include "emsa_common.cuh"
#include "launch.cuh"

#define BIAS_THREADS 256

/* C[m, n] += bias[n] over an M × Nn matrix with leading dimension ldc, grid-stride. */
__global__ void __launch_bounds__(BIAS_THREADS)
emsa_cublas_bias_kernel(float *__restrict__ C, const float *__restrict__ bias, int Nn, int ldc,
                        long long n)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x)
        C[(e / Nn) * ldc + e % Nn] += bias[e % Nn];
}

static int cublas_gemm(const emsa_gemm_t *g, cudaStream_t stream)
{
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float zero = 0.f;
    const int nz1 = g->batch / g->nb2;
    for (int z1 = 0; z1 < nz1; z1++)
        ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
            h, g->transB ? CUBLAS_OP_T : CUBLAS_OP_N, CUBLAS_OP_N, g->Nn, g->M, g->K, &g->alpha,
            g->B + z1 * g->sB1, CUDA_R_32F, g->ldb, g->sB2, g->A + z1 * g->sA1, CUDA_R_32F,
            g->lda, g->sA2, &zero, g->Cm + z1 * g->sC1, CUDA_R_32F, g->ldc, g->sC2, g->nb2,
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (!g->bias) return 0;
    /* bias only on unbatched GEMMs (the projections) */
    const long long n = (long long)g->M * g->Nn;
    const unsigned grid = attn_grid_stride(n, BIAS_THREADS);
    return ATTN_LAUNCH(emsa_cublas_bias_kernel, grid, BIAS_THREADS, 0, stream, g->Cm, g->bias,
                       g->Nn, g->ldc, n);
}

extern "C" size_t emsa_cublas_workspace(const emsa_problem_t *p)
{
    return emsa_workspace_bytes(p, 1);
}

extern "C" int emsa_cublas_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws,
                                  attn_stream_t stream)
{
    if (int e = attn_launch_check(emsa_problem_reason(p), ws, "emsa_cublas_launch")) return e;
    return emsa_run_steps(p, t, ws, cublas_gemm, stream);
}
