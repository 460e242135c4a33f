/* Shared declarations for every kernel launcher: the storage type of bf16 as seen from C, and the
 * error convention. Launchers are `extern "C"`, take a stream, and return 0 on success or a
 * cudaError_t / cublasStatus_t value (as int, with ATTN_ERR_CUBLAS added for cuBLAS) on failure. */
#ifndef ATTN_KERNEL_H
#define ATTN_KERNEL_H

#include <stdint.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* bf16 as 16 raw bits (the top half of an IEEE binary32): C has no bf16 type, CUDA's is C++. */
typedef uint16_t attn_bf16_t;

/* A launcher's stream: == cudaStream_t, without pulling the CUDA headers into C. */
typedef struct CUstream_st *attn_stream_t;

/* cuBLAS failures are returned as ATTN_ERR_CUBLAS + cublasStatus_t so the caller can tell them
 * apart from CUDA runtime errors. */
#define ATTN_ERR_CUBLAS 10000

/* A human-readable string for an error code returned by a launcher. */
const char *attn_kernel_strerror(int err);

#ifdef __cplusplus
}
#endif
#endif
