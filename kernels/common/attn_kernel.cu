#include <cuda_runtime.h>
#include <cublas_v2.h>
#include "attn_kernel.h"
#include "launch.cuh"

extern "C" const char *attn_kernel_strerror(int err)
{
    if (err >= ATTN_ERR_CUBLAS) return cublasGetStatusString((cublasStatus_t)(err - ATTN_ERR_CUBLAS));
    return cudaGetErrorString((cudaError_t)err);
}

/* One cuBLAS handle for every launcher, created on first use (not thread-safe: launchers are
 * called from one thread) and bound to `stream` on every call. Default math: with
 * CUBLAS_COMPUTE_32F a GEMM stays true fp32 (TF32 only on explicit opt-in). */
int attn_cublas_handle(cublasHandle_t *out, cudaStream_t stream)
{
    static cublasHandle_t handle = NULL;
    if (!handle) {
        cublasHandle_t h;
        ATTN_TRY_CUBLAS(cublasCreate(&h));
        ATTN_TRY_CUBLAS(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
        handle = h;
    }
    ATTN_TRY_CUBLAS(cublasSetStream(handle, stream));
    *out = handle;
    return 0;
}
