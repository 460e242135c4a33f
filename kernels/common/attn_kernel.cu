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

#define ATTN_BIAS_THREADS 256

/* Y[e] = bias[e % cols]; grid-stride over the n = rows·cols elements. */
__global__ void __launch_bounds__(ATTN_BIAS_THREADS)
attn_bias_rows_kernel(float *__restrict__ Y, const float *__restrict__ bias, int cols, long long n)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x)
        Y[e] = bias[e % cols];
}

int attn_bias_rows(float *Y, const float *bias, int cols, long long rows, cudaStream_t stream)
{
    const long long n = rows * cols;
    return ATTN_LAUNCH(attn_bias_rows_kernel, attn_grid_stride(n, ATTN_BIAS_THREADS),
                       ATTN_BIAS_THREADS, 0, stream, Y, bias, cols, n);
}
