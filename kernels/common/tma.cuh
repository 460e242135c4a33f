/* Hopper (sm_90a) asynchronous copies and their synchronisation, as thin inline-PTX wrappers:
 *   mbar_init(bar, count)            mbarrier.init.shared::cta.b64: `count` arrivals per phase
 *   mbar_arrive(bar)                 mbarrier.arrive: one arrival; returns the state token
 *   mbar_arrive_expect_tx(bar, n)    mbarrier.arrive.expect_tx: announce n bytes of bulk copies
 *                                    for this phase, then arrive
 *   mbar_try_wait(bar, parity)       mbarrier.try_wait.parity: whether the phase of `parity`
 *                                    has completed (may give up after a time limit)
 *   mbar_wait(bar, parity)           try_wait until it has
 *   fence_mbarrier_init()            fence.mbarrier_init.release.cluster: mbarrier inits
 *                                    visible to the async proxy (so is wgmma.cuh's
 *                                    fence_proxy_async_shared(), fence.proxy.async.shared::cta)
 *   tma_load_2d / tma_load_3d        cp.async.bulk.tensor.{2,3}d.shared::cluster.global
 *                                    .mbarrier::complete_tx::bytes: the box at coordinates
 *                                    (innermost first) of a tensor map into shared memory; its
 *                                    bytes count down the mbarrier's transaction count
 *   setmaxnreg_inc<N>, _dec<N>       setmaxnreg.{inc,dec}.sync.aligned.u32 N: the warpgroup's
 *                                    register budget (all four warps execute it; 24..256, N % 8 == 0;
 *                                    ptxas ignores it, with a warning, unless the kernel's count is
 *                                    known at entry: __launch_bounds__(threads, 1))
 *   tma_encode, tma_encode_2d (host) a CUtensorMap of 2..5 dimensions (of a row-major matrix),
 *                                    through the driver's cuTensorMapEncodeTiled
 * Device functions need sm_90a (setmaxnreg: the "a"); on other targets each is a trap (as in
 * wgmma.cuh), so a launcher must not launch a TMA kernel on anything but sm_90.
 *
 * The protocol (PTX ISA, mbarrier): a phase completes when `count` arrivals have happened and
 * the transaction count (bytes announced by expect_tx minus bytes the copies delivered) is
 * zero; then the next phase starts. A consumer waits with the parity of the phase it needs
 * (phase k: k & 1) and flips it every reuse; on a fresh mbarrier parity 1 passes at once (the
 * "previous" phase). Set-up, once per block:
 *     if (threadIdx.x == 0) { mbar_init(&full, 1); fence_mbarrier_init(); } // visible to TMA
 *     __syncthreads();                                                     // ... and to all
 * A producer thread: mbar_arrive_expect_tx(&full, box bytes); tma_load_2d(dst, &map, x, y, &full);
 * consumers: mbar_wait(&full, phase & 1); then read dst. The destination is 128-byte aligned,
 * and aligned to the swizzle's repeat (256, 512, 1024 B for 32B, 64B, 128B) when swizzled.
 *
 * Host side: the CUtensorMap is built by the launcher and passed to the kernel by value as a
 * `const __grid_constant__ CUtensorMap` parameter. cuTensorMapEncodeTiled is a driver API
 * function; it is reached through the runtime's cudaGetDriverEntryPointByVersion, so nothing
 * but libcudart is linked. The emulator (bench/emu/emu_tma.cpp) answers that call with a
 * stand-in that checks the driver's rules and names the bad argument in its message.
 *
 * Under ATTN_EMU each wrapper is the emulated instruction (bench/emu/emu_tma.cpp); the
 * defaulted arguments name the kernel's call site in the emulator's reports. */
#ifndef ATTN_TMA_CUH
#define ATTN_TMA_CUH

#include <cstdint>
#include <cstdio>
#include <cuda.h>
#include <cuda_runtime.h>

#include "wgmma.cuh" /* fence_proxy_async_shared */

#ifndef ATTN_EMU
/* As wgmma.cuh: a device pass for another target than sm_90a (a file built for several)
 * compiles each instruction as a trap, so that only running it there fails. */
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ATTN_TMA_ASM(...) __trap()
#else
#define ATTN_TMA_ASM(...) asm volatile(__VA_ARGS__)
#endif

__device__ __forceinline__ uint32_t tma_smem_addr(const void *p)
{
    return (uint32_t)__cvta_generic_to_shared(p);
}

__device__ __forceinline__ void mbar_init(uint64_t *bar, unsigned count)
{
    ATTN_TMA_ASM("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(tma_smem_addr(bar)),
                 "r"(count)
                 : "memory");
}

__device__ __forceinline__ uint64_t mbar_arrive(uint64_t *bar)
{
    uint64_t state = 0;
    ATTN_TMA_ASM("mbarrier.arrive.shared::cta.b64 %0, [%1];\n"
                 : "=l"(state)
                 : "r"(tma_smem_addr(bar))
                 : "memory");
    return state;
}

__device__ __forceinline__ uint64_t mbar_arrive_expect_tx(uint64_t *bar, unsigned bytes)
{
    uint64_t state = 0;
    ATTN_TMA_ASM("mbarrier.arrive.expect_tx.shared::cta.b64 %0, [%1], %2;\n"
                 : "=l"(state)
                 : "r"(tma_smem_addr(bar)), "r"(bytes)
                 : "memory");
    return state;
}

__device__ __forceinline__ bool mbar_try_wait(uint64_t *bar, unsigned parity)
{
    uint32_t done = 0;
    ATTN_TMA_ASM("{\n .reg .pred p;\n"
                 " mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
                 " selp.u32 %0, 1, 0, p;\n}\n"
                 : "=r"(done)
                 : "r"(tma_smem_addr(bar)), "r"(parity)
                 : "memory");
    return done != 0;
}

__device__ __forceinline__ void fence_mbarrier_init()
{
    ATTN_TMA_ASM("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}

__device__ __forceinline__ void tma_load_2d(void *dst, const CUtensorMap *map, int c0, int c1,
                                            uint64_t *bar)
{
    ATTN_TMA_ASM("cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%2, %3}], [%4];\n" ::"r"(tma_smem_addr(dst)),
                 "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(tma_smem_addr(bar))
                 : "memory");
}

__device__ __forceinline__ void tma_load_3d(void *dst, const CUtensorMap *map, int c0, int c1,
                                            int c2, uint64_t *bar)
{
    ATTN_TMA_ASM("cp.async.bulk.tensor.3d.shared::cluster.global.mbarrier::complete_tx::bytes"
                 " [%0], [%1, {%2, %3, %4}], [%5];\n" ::"r"(tma_smem_addr(dst)),
                 "l"(reinterpret_cast<uint64_t>(map)), "r"(c0), "r"(c1), "r"(c2),
                 "r"(tma_smem_addr(bar))
                 : "memory");
}

template <unsigned N> __device__ __forceinline__ void setmaxnreg_inc()
{
    static_assert(N >= 24 && N <= 256 && N % 8 == 0, "setmaxnreg: 24..256, a multiple of 8");
    ATTN_TMA_ASM("setmaxnreg.inc.sync.aligned.u32 %0;\n" ::"n"(N));
}

template <unsigned N> __device__ __forceinline__ void setmaxnreg_dec()
{
    static_assert(N >= 24 && N <= 256 && N % 8 == 0, "setmaxnreg: 24..256, a multiple of 8");
    ATTN_TMA_ASM("setmaxnreg.dec.sync.aligned.u32 %0;\n" ::"n"(N));
}

__device__ __forceinline__ void mbar_wait(uint64_t *bar, unsigned parity)
{
    while (!mbar_try_wait(bar, parity)) {
    }
}
#undef ATTN_TMA_ASM
#else
#define ATTN_TMA_SITE const char *attn_file_ = __builtin_FILE(), int attn_line_ = __builtin_LINE()

__device__ __forceinline__ void mbar_init(uint64_t *bar, unsigned count, ATTN_TMA_SITE)
{
    ::attn_emu::ptx::mbarrier_init(bar, count, attn_file_, attn_line_);
}

__device__ __forceinline__ uint64_t mbar_arrive(uint64_t *bar, ATTN_TMA_SITE)
{
    return ::attn_emu::ptx::mbarrier_arrive(bar, false, 0, attn_file_, attn_line_);
}

__device__ __forceinline__ uint64_t mbar_arrive_expect_tx(uint64_t *bar, unsigned bytes,
                                                          ATTN_TMA_SITE)
{
    return ::attn_emu::ptx::mbarrier_arrive(bar, true, bytes, attn_file_, attn_line_);
}

__device__ __forceinline__ bool mbar_try_wait(uint64_t *bar, unsigned parity, ATTN_TMA_SITE)
{
    return ::attn_emu::ptx::mbarrier_try_wait_parity(bar, parity, attn_file_, attn_line_);
}

__device__ __forceinline__ void mbar_wait(uint64_t *bar, unsigned parity, ATTN_TMA_SITE)
{
    while (!::attn_emu::ptx::mbarrier_try_wait_parity(bar, parity, attn_file_, attn_line_)) {
    }
}

__device__ __forceinline__ void fence_mbarrier_init(ATTN_TMA_SITE)
{
    ::attn_emu::ptx::fence_mbarrier_init(attn_file_, attn_line_);
}

__device__ __forceinline__ void tma_load_2d(void *dst, const CUtensorMap *map, int c0, int c1,
                                            uint64_t *bar, ATTN_TMA_SITE)
{
    const int c[2] = {c0, c1};
    ::attn_emu::ptx::cp_async_bulk_tensor(dst, map, 2, c, bar, attn_file_, attn_line_);
}

__device__ __forceinline__ void tma_load_3d(void *dst, const CUtensorMap *map, int c0, int c1,
                                            int c2, uint64_t *bar, ATTN_TMA_SITE)
{
    const int c[3] = {c0, c1, c2};
    ::attn_emu::ptx::cp_async_bulk_tensor(dst, map, 3, c, bar, attn_file_, attn_line_);
}

/* (the count is checked at run time here, as the assembler checks it there) */
template <unsigned N> __device__ __forceinline__ void setmaxnreg_inc(ATTN_TMA_SITE)
{
    ::attn_emu::ptx::setmaxnreg(true, N, attn_file_, attn_line_);
}

template <unsigned N> __device__ __forceinline__ void setmaxnreg_dec(ATTN_TMA_SITE)
{
    ::attn_emu::ptx::setmaxnreg(false, N, attn_file_, attn_line_);
}
#undef ATTN_TMA_SITE
#endif

/* Host: a tensor map of `rank` (2..5) dimensions over an array of `dtype` elements, dims[0]
 * innermost and contiguous, dimension i >= 1 strides[i - 1] bytes apart, read in boxes of
 * box[0] x ... elements; parts of a box outside the array read as zeros. 0, or a CUDA error
 * code after a message on stderr naming `who` and the arguments (the emulator's stand-in adds
 * which rule failed, through cudaGetErrorString). */
static inline int tma_encode(CUtensorMap *map, CUtensorMapDataType dtype, unsigned rank,
                             const void *base, const uint64_t *dims, const uint64_t *strides,
                             const uint32_t *box, CUtensorMapSwizzle swizzle, const char *who)
{
    typedef CUresult (*encode_fn)(CUtensorMap *, CUtensorMapDataType, cuuint32_t, void *,
                                  const cuuint64_t *, const cuuint64_t *, const cuuint32_t *,
                                  const cuuint32_t *, CUtensorMapInterleave, CUtensorMapSwizzle,
                                  CUtensorMapL2promotion, CUtensorMapFloatOOBfill);
    void *fn = nullptr;
    cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
    const cudaError_t e = cudaGetDriverEntryPointByVersion("cuTensorMapEncodeTiled", &fn, 12000,
                                                           cudaEnableDefault, &found);
    if (e != cudaSuccess || found != cudaDriverEntryPointSuccess || !fn) {
        std::fprintf(stderr, "%s: the driver has no cuTensorMapEncodeTiled (%s)\n", who,
                     cudaGetErrorString(e));
        return (int)(e != cudaSuccess ? e : cudaErrorNotSupported);
    }
    cuuint64_t dim[5] = {0}, stride[4] = {0};
    cuuint32_t bx[5] = {0}, estride[5] = {1, 1, 1, 1, 1};
    for (unsigned i = 0; i < rank && i < 5; i++) {
        dim[i] = dims[i];
        bx[i] = box[i];
        if (i) stride[i - 1] = strides[i - 1];
    }
    const CUresult r = reinterpret_cast<encode_fn>(fn)(
        map, dtype, rank, const_cast<void *>(base), dim, stride, bx, estride,
        CU_TENSOR_MAP_INTERLEAVE_NONE, swizzle, CU_TENSOR_MAP_L2_PROMOTION_L2_128B,
        CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE);
    if (r == CUDA_SUCCESS) return 0;
    char shape[320] = ""; /* "dim/box x dim/box ..., strides S ... B" (fits 5 dims) */
    int n = 0;
    for (unsigned i = 0; i < rank && i < 5; i++)
        n += std::snprintf(shape + n, sizeof shape - n, "%s%llu/%u", i ? " x " : "",
                           (unsigned long long)dims[i], box[i]);
    n += std::snprintf(shape + n, sizeof shape - n, ", strides");
    for (unsigned i = 1; i < rank && i < 5; i++)
        n += std::snprintf(shape + n, sizeof shape - n, " %llu",
                           (unsigned long long)strides[i - 1]);
    std::snprintf(shape + n, sizeof shape - n, " B");
    std::fprintf(stderr,
                 "%s: cuTensorMapEncodeTiled(type %d, rank %u, at %p: dim/box %s, swizzle %d) "
                 "failed with CUresult %d: %s\n",
                 who, (int)dtype, rank, base, shape, (int)swizzle, (int)r,
                 cudaGetErrorString(cudaErrorInvalidValue));
    return (int)cudaErrorInvalidValue;
}

/* A row-major matrix of `rows` x `cols` elements, rows `row_bytes` apart, in boxes of
 * box_rows x box_cols. */
static inline int tma_encode_2d(CUtensorMap *map, CUtensorMapDataType dtype, const void *base,
                                uint64_t cols, uint64_t rows, uint64_t row_bytes,
                                uint32_t box_cols, uint32_t box_rows, CUtensorMapSwizzle swizzle,
                                const char *who)
{
    const uint64_t dims[2] = {cols, rows}, strides[1] = {row_bytes};
    const uint32_t box[2] = {box_cols, box_rows};
    return tma_encode(map, dtype, 2, base, dims, strides, box, swizzle, who);
}

#endif
