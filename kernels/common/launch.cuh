/* The one way kernels are launched and CUDA/cuBLAS calls are checked inside launchers.
 *
 * ATTN_LAUNCH(kernel, grid, block, smem, stream, args...) launches with <<<>>> and evaluates to
 * the launch's error code (0 on success), naming the kernel on stderr when it fails. Every
 * launcher goes through it, so a second backend (e.g. a host emulator) has a single place to
 * hook into.
 * ATTN_TRY(call) / ATTN_TRY_CUBLAS(call): run a CUDA runtime / cuBLAS call, and on failure print
 * the call, file and line and `return` the error code from the enclosing launcher. */
#ifndef ATTN_LAUNCH_CUH
#define ATTN_LAUNCH_CUH

#include <cstdint>
#include <cstdio>
#include <cuda_runtime.h>
#include <cublas_v2.h>
#include "attn_kernel.h"

static inline int attn_report_cuda(cudaError_t e, const char *what, const char *file, int line)
{
    if (e == cudaSuccess) return 0;
    std::fprintf(stderr, "%s:%d: %s: %s\n", file, line, what, cudaGetErrorString(e));
    return (int)e;
}

static inline int attn_report_cublas(cublasStatus_t s, const char *what, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS) return 0;
    std::fprintf(stderr, "%s:%d: %s: %s\n", file, line, what, cublasGetStatusString(s));
    return ATTN_ERR_CUBLAS + (int)s;
}

#ifndef ATTN_EMU
#define ATTN_LAUNCH(kernel, grid, block, smem, stream, ...)                                      \
    ((kernel)<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__),                               \
     attn_report_cuda(cudaGetLastError(), "launch of " #kernel, __FILE__, __LINE__))
#else
/* Host emulation (bench/emu/emu.h): the grid runs to completion before this returns; the
 * value is cudaErrorLaunchFailure when the kernel failed under emulation (deadlock, divergence,
 * bad warp-instruction operand), with the reason in attn_emu_last_error(). */
#define ATTN_LAUNCH(kernel, grid, block, smem, stream, ...)                                      \
    attn_report_cuda(::attn_emu::launch(#kernel, (kernel), (grid), (block), (smem), (stream),    \
                                        __VA_ARGS__),                                            \
                     "launch of " #kernel, __FILE__, __LINE__)
#endif

#define ATTN_TRY(call)                                                                           \
    do {                                                                                         \
        int attn_e_ = attn_report_cuda((call), #call, __FILE__, __LINE__);                       \
        if (attn_e_) return attn_e_;                                                             \
    } while (0)

#define ATTN_TRY_CUBLAS(call)                                                                    \
    do {                                                                                         \
        int attn_e_ = attn_report_cublas((call), #call, __FILE__, __LINE__);                     \
        if (attn_e_) return attn_e_;                                                             \
    } while (0)

/* A launcher's refusal of a problem: `why` (NULL, or the reason its problem is malformed or
 * unsupported) printed as "who: why", and cudaErrorInvalidValue; 0 when why is NULL. */
static inline int attn_refuse(const char *why, const char *who)
{
    if (!why) return 0;
    std::fprintf(stderr, "%s: %s\n", who, why);
    return (int)cudaErrorInvalidValue;
}

/* Operands that a kernel moves 16 bytes at a time (vector loads, cp.async): `addrs` is the OR of
 * their addresses, `what` names them. Misaligned: "who: what must be 16-byte aligned" and
 * cudaErrorMisalignedAddress; else 0. */
static inline int attn_require_align16(uintptr_t addrs, const char *what, const char *who)
{
    if (!(addrs & 15)) return 0;
    std::fprintf(stderr, "%s: %s must be 16-byte aligned\n", who, what);
    return (int)cudaErrorMisalignedAddress;
}

#define ATTN_CEIL_DIV(a, b) (((a) + (b) - 1) / (b))

/* The grid of a grid-stride loop over n items, per_block to a block: ⌈n / per_block⌉ blocks,
 * at most 2^20 (the loop covers the rest). */
static inline unsigned attn_grid_stride(long long n, long long per_block)
{
    const long long blocks = ATTN_CEIL_DIV(n, per_block);
    return (unsigned)(blocks < (1 << 20) ? blocks : (1 << 20));
}

/* The process's cuBLAS handle, bound to `stream` (kernels/common/attn_kernel.cu). */
int attn_cublas_handle(cublasHandle_t *out, cudaStream_t stream);

/* Y (rows × cols, row-major fp32) = bias (cols) in every row: the broadcast a GEMM with beta = 1
 * then adds onto (kernels/common/attn_kernel.cu). */
int attn_bias_rows(float *Y, const float *bias, int cols, long long rows, cudaStream_t stream);

/* Dynamic shared memory of a kernel, as bytes aligned to 128: declare it with this macro (the
 * one place a kernel body departs from plain CUDA), so that the host emulator can hand each
 * block its own poisoned buffer. */
#ifndef ATTN_EMU
#define ATTN_DYNAMIC_SMEM(name) extern __shared__ __align__(128) unsigned char name[]
#else
#define ATTN_DYNAMIC_SMEM(name) unsigned char *const name = ::attn_emu::dynamic_smem()
#endif

#endif
