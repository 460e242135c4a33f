#include <cuda_runtime.h>
#include <cublas_v2.h>
#include "attn_kernel.h"

extern "C" const char *attn_kernel_strerror(int err)
{
    if (err >= ATTN_ERR_CUBLAS) return cublasGetStatusString((cublasStatus_t)(err - ATTN_ERR_CUBLAS));
    return cudaGetErrorString((cudaError_t)err);
}
