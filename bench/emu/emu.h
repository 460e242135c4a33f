/* The CUDA device language on the host: force-included (g++ -include) into every kernel source
 * (kernels/<dir>/<file>.cu) when it is compiled as C++ for the emulator (libattn_emu.so, see
 * bench/emu/meson.build), so that the kernels run on a CPU exactly as written.
 *
 * Execution model
 *  - A launch (ATTN_LAUNCH -> attn_emu::launch) runs the grid's blocks one after another on the
 *    calling OS thread. Each CUDA thread of a block is a fiber with its own stack; fibers run
 *    cooperatively and switch only at synchronisation points: __syncthreads*, every warp
 *    collective (__shfl*_sync, votes, __syncwarp, wmma::*, mma/ldmatrix), every warpgroup
 *    collective (wgmma.*, emu_wgmma.cpp) and __nanosleep.
 *  - Which ready fiber runs next is the schedule's choice (attn_emu_set_schedule, emu_api.h):
 *    threads are ranked in order, in reverse, or by a seeded permutation drawn anew at every
 *    block barrier, and the best-ranked ready thread runs. So between two barriers one warp runs
 *    ahead in order or reversed, and warps interleave at every collective when shuffled: a kernel
 *    that misses a barrier reads data another warp has not written yet (or has already
 *    overwritten). cp.async copies land at the wait, at issue or at random points between.
 *  - __syncthreads waits for every thread of the block that has not exited; reaching it from two
 *    different call sites at once is reported as barrier divergence. A warp collective waits for
 *    the non-exited lanes of its mask (all lanes of the warp for the .aligned instructions: mma,
 *    ldmatrix, wmma); lanes of one mask at different collectives are reported, and so is a
 *    shuffle that reads a lane which did not take part. When every live thread waits and none can
 *    go on, the launch fails with a deadlock report instead of hanging.
 *  - A warp collective is completed by its last arriving lane, which computes every lane's result
 *    (reading the other lanes' operands from their suspended stacks) and releases them.
 *  - Static __shared__ variables are `static thread_local`: all of them live in this module's TLS
 *    block, which the launch fills with the schedule's poison (0xFF, 0x7F or random) at the start
 *    of every block (saving the host's values of any other thread_local of the kernel files before
 *    the launch and restoring them after it). Dynamic shared memory (ATTN_DYNAMIC_SMEM) is one
 *    buffer of exactly the launch's byte count, poisoned the same way: a read past its end is a
 *    heap overflow that AddressSanitizer reports.
 *  - Memory is coherent and sequentially consistent: all threads share one OS thread. Atomics are
 *    plain read-modify-writes, fences are no-ops.
 *  - Arithmetic is the host's: fp32 operations round like the GPU's, but a*b+c is never fused
 *    unless written fmaf() (nvcc fuses by default) and expf/exp2f/... come from libm (the GPU's
 *    are within 2 ulp of them), so results agree with the GPU to rounding, not bit for bit.
 */
#ifndef ATTN_EMU_H
#define ATTN_EMU_H

#if !defined(__cplusplus) || defined(__CUDACC__)
#error "bench/emu/emu.h is for compiling kernel sources as host C++ (ATTN_EMU)"
#endif

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <type_traits>
#include <utility>

/* The real toolkit headers, host side: types (dim3, float4, cudaError_t, __nv_bfloat16, ...),
 * runtime and cuBLAS declarations, and host implementations of the bf16/fp16 conversions. */
#include <cuda_runtime.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cublas_v2.h>

#define ATTN_EMU_HIDDEN __attribute__((visibility("hidden")))

/* ---- execution space and variable qualifiers ------------------------------------------------ */
#undef __global__
#undef __device__
#undef __host__
#undef __shared__
#undef __constant__
#undef __managed__
#undef __grid_constant__
#undef __launch_bounds__
#define __global__
#define __device__
#define __host__
#define __constant__
#define __managed__
#define __grid_constant__
/* The bound is checked at each launch: bench/emu/wrap_cu.py starts the kernel's body with
 * ATTN_EMU_LAUNCH_BOUNDS(the same arguments) (below). */
#define __launch_bounds__(...)
/* Shared by the fibers of a block (one OS thread), poisoned at every block start; see above.
 * Under AddressSanitizer each static __shared__ variable is declared after a 64-byte guard of
 * its own, which GCC lays out right after it in the TLS block (emitted in reverse order); the
 * runtime finds the guards by name in this module's symbol table and poisons them, and every
 * other byte of the block that no variable owns, for ASan, so a read past the end of a static
 * shared array is reported as on any instrumented object (emu_runtime.cpp). */
#if defined(__SANITIZE_ADDRESS__)
#define ATTN_EMU_SMEM_GUARDS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ATTN_EMU_SMEM_GUARDS 1
#endif
#endif
#ifdef ATTN_EMU_SMEM_GUARDS
#define ATTN_EMU_SMEM_GUARD_(n)                                                                  \
    [[gnu::used]] alignas(16) static thread_local unsigned char attn_emu_smem_guard_##n[64];
#define ATTN_EMU_SMEM_GUARD(n) ATTN_EMU_SMEM_GUARD_(n)
#define __shared__ ATTN_EMU_SMEM_GUARD(__COUNTER__) static thread_local
#else
#define __shared__ static thread_local
#endif

namespace attn_emu {

/* ---- state a kernel reads ------------------------------------------------------------------- */

/* The emulated thread, as kernel code sees it (the runtime's Thread derives from it). */
struct ThreadHead {
    uint3 tid;           /* threadIdx */
    unsigned index;      /* linear thread index in the block */
    unsigned warp, lane; /* index / 32, index % 32 */
};

ATTN_EMU_HIDDEN extern ThreadHead *cur; /* the running thread */
ATTN_EMU_HIDDEN extern uint3 block_idx;
ATTN_EMU_HIDDEN extern dim3 block_dim, grid_dim;

/* ---- runtime interface used by the intrinsics below ----------------------------------------- */

/* Report a kernel error (bad operand, divergence, ...) for the running thread and abandon the
 * launch, which then returns cudaErrorLaunchFailure. Only valid while a kernel runs. */
[[noreturn]] ATTN_EMU_HIDDEN void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One in-flight warp collective. The last lane to arrive calls info->perform, which reads the
 * operands of every lane in `arrived` through arg[lane] and writes their results back. */
struct Collective;
struct OpInfo {
    const char *name;                /* as the kernel wrote it, for messages */
    void (*perform)(Collective &op);
    bool aligned;                    /* .aligned: every lane of the warp must take part */
};
struct Collective {
    const OpInfo *info;
    uint32_t mask;    /* lanes that must arrive (those that exit are dropped) */
    uint32_t arrived; /* lanes that have arrived */
    const char *file; /* call site of the first lane to arrive */
    int line;
    void *arg[32];    /* per lane: its operands and result slots, on its own stack */
};

/* Arrive at a warp collective with this lane's operands; returns once it has been performed. */
ATTN_EMU_HIDDEN void warp_op(const OpInfo &info, uint32_t mask, void *arg, const char *file,
                             int line);

/* Block barrier: kind 0 plain, 1 count, 2 and, 3 or; returns the reduction of pred (0 for 0). */
ATTN_EMU_HIDDEN int block_barrier(int kind, int pred, const char *file, int line);

/* Let other ready threads run (no synchronisation). */
ATTN_EMU_HIDDEN void yield(const char *file, int line);

/* A source path from "kernels/" on, for messages. */
ATTN_EMU_HIDDEN const char *short_path(const char *file);

/* Lanes of the current warp that exist and have not exited. */
ATTN_EMU_HIDDEN unsigned live_lanes();

/* The block's dynamic shared memory (the launch's smem bytes). */
ATTN_EMU_HIDDEN unsigned char *dynamic_smem();

/* Whether [p, p + n) lies in shared memory (static or dynamic). */
ATTN_EMU_HIDDEN bool in_shared(const void *p, size_t n);

/* Warp shuffle of one 32-bit word (shfl.sync.{idx,up,down,bfly}.b32). */
enum ShflMode { SHFL_IDX, SHFL_UP, SHFL_DOWN, SHFL_BFLY };
ATTN_EMU_HIDDEN uint32_t shfl_b32(ShflMode mode, uint32_t mask, uint32_t v, int b, int width,
                                  const char *file, int line);

/* Votes and reductions (vote.sync, match.sync, redux.sync). */
enum VoteMode { VOTE_ALL, VOTE_ANY, VOTE_UNI, VOTE_BALLOT };
ATTN_EMU_HIDDEN uint32_t vote(VoteMode mode, uint32_t mask, int pred, const char *file, int line);
ATTN_EMU_HIDDEN uint32_t match_any(uint32_t mask, uint64_t value, const char *file, int line);
ATTN_EMU_HIDDEN uint32_t match_all(uint32_t mask, uint64_t value, int *pred, const char *file,
                                   int line);
enum ReduxMode { REDUX_ADD, REDUX_MIN, REDUX_MAX, REDUX_UMIN, REDUX_UMAX, REDUX_AND, REDUX_OR,
                 REDUX_XOR };
ATTN_EMU_HIDDEN uint32_t redux(ReduxMode mode, uint32_t mask, uint32_t v, const char *file,
                               int line);
ATTN_EMU_HIDDEN void syncwarp(uint32_t mask, const char *file, int line);

/* PTX instructions behind kernels/common/mma.cuh, with the ISA's exact per-lane layouts. */
namespace ptx {
/* mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 d, a, {b0, b1}, c */
ATTN_EMU_HIDDEN void mma_m16n8k16_f32_bf16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                           uint32_t b1, const float (&c)[4], const char *file,
                                           int line);
/* ldmatrix.sync.aligned.m8n8.x{num}{.trans}.shared.b16 r, [row] (num = 1, 2 or 4 registers) */
ATTN_EMU_HIDDEN void ldmatrix_m8n8_b16(uint32_t *r, int num, bool trans, const void *row,
                                       const char *file, int line);
/* cp.async.{ca,cg}.shared.global [dst], [src], cp_size, src_size (bytes past src_size zero) */
ATTN_EMU_HIDDEN void cp_async(void *dst, const void *src, int cp_size, int src_size,
                              const char *file, int line);
ATTN_EMU_HIDDEN void cp_async_commit_group();
ATTN_EMU_HIDDEN void cp_async_wait_group(int n, const char *file, int line);
/* Hopper wgmma behind kernels/common/wgmma.cuh (bench/emu/emu_wgmma.cpp): warpgroup
 * collectives of threads 128k..128k+127; the MMA is computed at issue and lands in the
 * accumulator at the wait_group covering it. */
/* The shared-memory address a descriptor encodes for p (dynamic shared memory first). */
ATTN_EMU_HIDDEN uint32_t wgmma_smem_addr(const void *p, const char *file, int line);
/* wgmma.mma_async.sync.aligned.m64n{n}k16.f32.{bf16,f16}: a == nullptr: A through desc_a. */
ATTN_EMU_HIDDEN void wgmma_mma_async(float *acc, int n, bool f16, uint64_t desc_a,
                                     const uint32_t *a, uint64_t desc_b, int scale_d, int trans_a,
                                     int trans_b, const char *file, int line);
ATTN_EMU_HIDDEN void wgmma_fence(const char *file, int line);
ATTN_EMU_HIDDEN void wgmma_commit_group(const char *file, int line);
ATTN_EMU_HIDDEN void wgmma_wait_group(int n, const char *file, int line);
ATTN_EMU_HIDDEN void fence_proxy_async_shared(const char *file, int line);
/* Element i of an accumulator of `regs` floats is read or written at file:line. */
ATTN_EMU_HIDDEN void wgmma_acc_access(const float *acc, int regs, int i, const char *file,
                                      int line);
} // namespace ptx

/* ---- launch --------------------------------------------------------------------------------- */

struct LaunchDesc {
    const char *name;   /* the kernel expression as written in ATTN_LAUNCH */
    const void *kernel; /* identity for cudaFuncSetAttribute */
    dim3 grid, block;
    size_t smem;
    cudaStream_t stream;
    void (*body)(void *ctx); /* runs the kernel for the current thread */
    void *ctx;
};
ATTN_EMU_HIDDEN cudaError_t launch_desc(const LaunchDesc &d);

/* The kernel and its arguments, converted to the parameter types once at launch (as <<<>>>
 * copies them); every thread calls the kernel with its own copies. */
template <class... P> struct KernelCall {
    void (*fn)(P...);
    std::tuple<std::decay_t<P>...> args;
    static void run(void *self)
    {
        KernelCall *k = static_cast<KernelCall *>(self);
        std::apply(k->fn, k->args);
    }
};

template <class... P, class... A>
inline cudaError_t launch(const char *name, void (*kernel)(P...), dim3 grid, dim3 block,
                          size_t smem, cudaStream_t stream, A &&...args)
{
    static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong argument count");
    KernelCall<P...> call{kernel, std::tuple<std::decay_t<P>...>(std::forward<A>(args)...)};
    LaunchDesc d{name, reinterpret_cast<const void *>(kernel), grid, block, smem, stream,
                 &KernelCall<P...>::run, &call};
    return launch_desc(d);
}

template <class To, class From> inline To bits(const From &f)
{
    static_assert(sizeof(To) == sizeof(From), "bit cast between different sizes");
    To t;
    std::memcpy(static_cast<void *>(&t), static_cast<const void *>(&f), sizeof t);
    return t;
}

/* Shuffle any of CUDA's shuffle types as 32-bit words (64-bit ones as two, as CUDA does). */
template <class T>
inline T shfl(ShflMode mode, unsigned mask, T var, int b, int width, const char *file, int line)
{
    if constexpr (sizeof(T) == 8) {
        const uint64_t u = bits<uint64_t>(var);
        const uint32_t lo = shfl_b32(mode, mask, (uint32_t)u, b, width, file, line);
        const uint32_t hi = shfl_b32(mode, mask, (uint32_t)(u >> 32), b, width, file, line);
        return bits<T>((uint64_t)hi << 32 | lo);
    } else if constexpr (sizeof(T) == 4) {
        return bits<T>(shfl_b32(mode, mask, bits<uint32_t>(var), b, width, file, line));
    } else {
        static_assert(sizeof(T) == 2, "shuffle of an unsupported type");
        const uint32_t r = shfl_b32(mode, mask, bits<uint16_t>(var), b, width, file, line);
        return bits<T>((uint16_t)r);
    }
}

} // namespace attn_emu

/* ---- built-in variables --------------------------------------------------------------------- */
#define threadIdx (static_cast<const uint3 &>(::attn_emu::cur->tid))
#define blockIdx (static_cast<const uint3 &>(::attn_emu::block_idx))
#define blockDim (static_cast<const dim3 &>(::attn_emu::block_dim))
#define gridDim (static_cast<const dim3 &>(::attn_emu::grid_dim))
static constexpr int warpSize = 32;

/* __launch_bounds__(max threads[, min blocks per SM[, max blocks per cluster]]) of the running
 * kernel, evaluated in its scope (template arguments included): a block of more threads fails
 * the launch, as the device refuses it. wrap_cu.py puts this first in the body, so the first
 * thread to run fails before any work. */
namespace attn_emu {
inline void launch_bounds(const char *file, int line, long long max_threads, long long = 0,
                          long long = 0)
{
    const unsigned long long n = (unsigned long long)block_dim.x * block_dim.y * block_dim.z;
    if ((long long)n > max_threads)
        fail("launched with %llu threads per block, more than its __launch_bounds__ of %lld "
             "(%s:%d): the device refuses this launch",
             n, max_threads, short_path(file), line);
}
} // namespace attn_emu
#define ATTN_EMU_LAUNCH_BOUNDS(...) ::attn_emu::launch_bounds(__FILE__, __LINE__, __VA_ARGS__)

#define ATTN_EMU_SITE const char *attn_file_ = __builtin_FILE(), int attn_line_ = __builtin_LINE()
#define ATTN_EMU_AT attn_file_, attn_line_

/* ---- synchronisation ------------------------------------------------------------------------ */
inline void __syncthreads(ATTN_EMU_SITE) { ::attn_emu::block_barrier(0, 0, ATTN_EMU_AT); }
inline int __syncthreads_count(int pred, ATTN_EMU_SITE)
{
    return ::attn_emu::block_barrier(1, pred, ATTN_EMU_AT);
}
inline int __syncthreads_and(int pred, ATTN_EMU_SITE)
{
    return ::attn_emu::block_barrier(2, pred, ATTN_EMU_AT);
}
inline int __syncthreads_or(int pred, ATTN_EMU_SITE)
{
    return ::attn_emu::block_barrier(3, pred, ATTN_EMU_AT);
}
inline void __syncwarp(unsigned mask = 0xffffffffu, ATTN_EMU_SITE)
{
    ::attn_emu::syncwarp(mask, ATTN_EMU_AT);
}
/* One OS thread: every access is already visible to every other thread. */
inline void __threadfence_block() {}
inline void __threadfence() {}
inline void __threadfence_system() {}
inline void __nanosleep(unsigned, ATTN_EMU_SITE) { ::attn_emu::yield(ATTN_EMU_AT); }
/* The lanes of the warp that have not exited (the emulator has no sub-warp divergence). */
inline unsigned __activemask() { return ::attn_emu::live_lanes(); }
[[noreturn]] inline void __trap() { ::attn_emu::fail("__trap()"); }
[[noreturn]] inline void __brkpt() { ::attn_emu::fail("__brkpt()"); }

/* ---- warp shuffles: the overload set of CUDA --------------------------------------------------
 * Each is shfl.sync with CUDA's operands, evaluated as the PTX ISA specifies (source lane
 * clamping within width-wide segments, own value when the source is out of range). */
#define ATTN_EMU_SHFL(T)                                                                         \
    inline T __shfl_sync(unsigned mask, T var, int src, int width = warpSize, ATTN_EMU_SITE)     \
    {                                                                                            \
        return ::attn_emu::shfl(::attn_emu::SHFL_IDX, mask, var, src, width, ATTN_EMU_AT);       \
    }                                                                                            \
    inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,          \
                            ATTN_EMU_SITE)                                                       \
    {                                                                                            \
        return ::attn_emu::shfl(::attn_emu::SHFL_UP, mask, var, (int)delta, width, ATTN_EMU_AT); \
    }                                                                                            \
    inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,        \
                              ATTN_EMU_SITE)                                                     \
    {                                                                                            \
        return ::attn_emu::shfl(::attn_emu::SHFL_DOWN, mask, var, (int)delta, width,            \
                                ATTN_EMU_AT);                                                    \
    }                                                                                            \
    inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,          \
                             ATTN_EMU_SITE)                                                      \
    {                                                                                            \
        return ::attn_emu::shfl(::attn_emu::SHFL_BFLY, mask, var, lane_mask, width,             \
                                ATTN_EMU_AT);                                                    \
    }
ATTN_EMU_SHFL(int)
ATTN_EMU_SHFL(unsigned int)
ATTN_EMU_SHFL(long)
ATTN_EMU_SHFL(unsigned long)
ATTN_EMU_SHFL(long long)
ATTN_EMU_SHFL(unsigned long long)
ATTN_EMU_SHFL(float)
ATTN_EMU_SHFL(double)
ATTN_EMU_SHFL(__half)
ATTN_EMU_SHFL(__half2)
ATTN_EMU_SHFL(__nv_bfloat16)
ATTN_EMU_SHFL(__nv_bfloat162)
#undef ATTN_EMU_SHFL

/* ---- votes, matches, reductions -------------------------------------------------------------- */
inline int __all_sync(unsigned mask, int pred, ATTN_EMU_SITE)
{
    return (int)::attn_emu::vote(::attn_emu::VOTE_ALL, mask, pred, ATTN_EMU_AT);
}
inline int __any_sync(unsigned mask, int pred, ATTN_EMU_SITE)
{
    return (int)::attn_emu::vote(::attn_emu::VOTE_ANY, mask, pred, ATTN_EMU_AT);
}
inline int __uni_sync(unsigned mask, int pred, ATTN_EMU_SITE)
{
    return (int)::attn_emu::vote(::attn_emu::VOTE_UNI, mask, pred, ATTN_EMU_AT);
}
inline unsigned __ballot_sync(unsigned mask, int pred, ATTN_EMU_SITE)
{
    return ::attn_emu::vote(::attn_emu::VOTE_BALLOT, mask, pred, ATTN_EMU_AT);
}
#define ATTN_EMU_MATCH(T)                                                                        \
    inline unsigned __match_any_sync(unsigned mask, T value, ATTN_EMU_SITE)                      \
    {                                                                                            \
        return ::attn_emu::match_any(mask, (uint64_t)::attn_emu::bits<                           \
                                               std::conditional_t<sizeof(T) == 8, uint64_t,      \
                                                                  uint32_t>>(value),             \
                                     ATTN_EMU_AT);                                               \
    }                                                                                            \
    inline unsigned __match_all_sync(unsigned mask, T value, int *pred, ATTN_EMU_SITE)           \
    {                                                                                            \
        return ::attn_emu::match_all(mask, (uint64_t)::attn_emu::bits<                           \
                                               std::conditional_t<sizeof(T) == 8, uint64_t,      \
                                                                  uint32_t>>(value),             \
                                     pred, ATTN_EMU_AT);                                         \
    }
ATTN_EMU_MATCH(int)
ATTN_EMU_MATCH(unsigned int)
ATTN_EMU_MATCH(long)
ATTN_EMU_MATCH(unsigned long)
ATTN_EMU_MATCH(long long)
ATTN_EMU_MATCH(unsigned long long)
ATTN_EMU_MATCH(float)
ATTN_EMU_MATCH(double)
#undef ATTN_EMU_MATCH
inline unsigned __reduce_add_sync(unsigned mask, unsigned v, ATTN_EMU_SITE)
{
    return ::attn_emu::redux(::attn_emu::REDUX_ADD, mask, v, ATTN_EMU_AT);
}
inline int __reduce_add_sync(unsigned mask, int v, ATTN_EMU_SITE)
{
    return (int)::attn_emu::redux(::attn_emu::REDUX_ADD, mask, (unsigned)v, ATTN_EMU_AT);
}
inline unsigned __reduce_min_sync(unsigned mask, unsigned v, ATTN_EMU_SITE)
{
    return ::attn_emu::redux(::attn_emu::REDUX_UMIN, mask, v, ATTN_EMU_AT);
}
inline int __reduce_min_sync(unsigned mask, int v, ATTN_EMU_SITE)
{
    return (int)::attn_emu::redux(::attn_emu::REDUX_MIN, mask, (unsigned)v, ATTN_EMU_AT);
}
inline unsigned __reduce_max_sync(unsigned mask, unsigned v, ATTN_EMU_SITE)
{
    return ::attn_emu::redux(::attn_emu::REDUX_UMAX, mask, v, ATTN_EMU_AT);
}
inline int __reduce_max_sync(unsigned mask, int v, ATTN_EMU_SITE)
{
    return (int)::attn_emu::redux(::attn_emu::REDUX_MAX, mask, (unsigned)v, ATTN_EMU_AT);
}
inline unsigned __reduce_and_sync(unsigned mask, unsigned v, ATTN_EMU_SITE)
{
    return ::attn_emu::redux(::attn_emu::REDUX_AND, mask, v, ATTN_EMU_AT);
}
inline unsigned __reduce_or_sync(unsigned mask, unsigned v, ATTN_EMU_SITE)
{
    return ::attn_emu::redux(::attn_emu::REDUX_OR, mask, v, ATTN_EMU_AT);
}
inline unsigned __reduce_xor_sync(unsigned mask, unsigned v, ATTN_EMU_SITE)
{
    return ::attn_emu::redux(::attn_emu::REDUX_XOR, mask, v, ATTN_EMU_AT);
}

/* ---- atomics: plain read-modify-write (fibers never switch inside one) ----------------------- */
#define ATTN_EMU_ATOMIC(name, T, expr)                                                           \
    inline T name(T *address, T val)                                                             \
    {                                                                                            \
        const T old = *address;                                                                  \
        *address = (expr);                                                                       \
        return old;                                                                              \
    }
ATTN_EMU_ATOMIC(atomicAdd, int, old + val)
ATTN_EMU_ATOMIC(atomicAdd, unsigned int, old + val)
ATTN_EMU_ATOMIC(atomicAdd, unsigned long long, old + val)
ATTN_EMU_ATOMIC(atomicAdd, float, old + val)
ATTN_EMU_ATOMIC(atomicAdd, double, old + val)
ATTN_EMU_ATOMIC(atomicSub, int, old - val)
ATTN_EMU_ATOMIC(atomicSub, unsigned int, old - val)
ATTN_EMU_ATOMIC(atomicExch, int, val)
ATTN_EMU_ATOMIC(atomicExch, unsigned int, val)
ATTN_EMU_ATOMIC(atomicExch, unsigned long long, val)
ATTN_EMU_ATOMIC(atomicExch, float, val)
ATTN_EMU_ATOMIC(atomicMin, int, val < old ? val : old)
ATTN_EMU_ATOMIC(atomicMin, unsigned int, val < old ? val : old)
ATTN_EMU_ATOMIC(atomicMin, long long, val < old ? val : old)
ATTN_EMU_ATOMIC(atomicMin, unsigned long long, val < old ? val : old)
ATTN_EMU_ATOMIC(atomicMax, int, val > old ? val : old)
ATTN_EMU_ATOMIC(atomicMax, unsigned int, val > old ? val : old)
ATTN_EMU_ATOMIC(atomicMax, long long, val > old ? val : old)
ATTN_EMU_ATOMIC(atomicMax, unsigned long long, val > old ? val : old)
ATTN_EMU_ATOMIC(atomicAnd, int, old & val)
ATTN_EMU_ATOMIC(atomicAnd, unsigned int, old & val)
ATTN_EMU_ATOMIC(atomicAnd, unsigned long long, old & val)
ATTN_EMU_ATOMIC(atomicOr, int, old | val)
ATTN_EMU_ATOMIC(atomicOr, unsigned int, old | val)
ATTN_EMU_ATOMIC(atomicOr, unsigned long long, old | val)
ATTN_EMU_ATOMIC(atomicXor, int, old ^ val)
ATTN_EMU_ATOMIC(atomicXor, unsigned int, old ^ val)
ATTN_EMU_ATOMIC(atomicXor, unsigned long long, old ^ val)
ATTN_EMU_ATOMIC(atomicInc, unsigned int, old >= val ? 0u : old + 1u)
ATTN_EMU_ATOMIC(atomicDec, unsigned int, (old == 0u || old > val) ? val : old - 1u)
#undef ATTN_EMU_ATOMIC
#define ATTN_EMU_CAS(T)                                                                          \
    inline T atomicCAS(T *address, T compare, T val)                                             \
    {                                                                                            \
        const T old = *address;                                                                  \
        if (old == compare) *address = val;                                                      \
        return old;                                                                              \
    }
ATTN_EMU_CAS(int)
ATTN_EMU_CAS(unsigned int)
ATTN_EMU_CAS(unsigned long long)
ATTN_EMU_CAS(unsigned short)
#undef ATTN_EMU_CAS

/* ---- integer min/max: CUDA's overloads, mixed signedness included ---------------------------- */
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
inline unsigned int min(int a, unsigned int b) { return min((unsigned int)a, b); }
inline unsigned int max(int a, unsigned int b) { return max((unsigned int)a, b); }
inline unsigned int min(unsigned int a, int b) { return min(a, (unsigned int)b); }
inline unsigned int max(unsigned int a, int b) { return max(a, (unsigned int)b); }
inline long min(long a, long b) { return a < b ? a : b; }
inline long max(long a, long b) { return a > b ? a : b; }
inline unsigned long min(unsigned long a, unsigned long b) { return a < b ? a : b; }
inline unsigned long max(unsigned long a, unsigned long b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline unsigned long long min(long long a, unsigned long long b)
{
    return min((unsigned long long)a, b);
}
inline unsigned long long max(long long a, unsigned long long b)
{
    return max((unsigned long long)a, b);
}
inline unsigned long long min(unsigned long long a, long long b)
{
    return min(a, (unsigned long long)b);
}
inline unsigned long long max(unsigned long long a, long long b)
{
    return max(a, (unsigned long long)b);
}
inline float min(float a, float b) { return std::fmin(a, b); }
inline float max(float a, float b) { return std::fmax(a, b); }
inline double min(double a, double b) { return std::fmin(a, b); }
inline double max(double a, double b) { return std::fmax(a, b); }
inline double min(float a, double b) { return std::fmin((double)a, b); }
inline double max(float a, double b) { return std::fmax((double)a, b); }
inline double min(double a, float b) { return std::fmin(a, (double)b); }
inline double max(double a, float b) { return std::fmax(a, (double)b); }

/* ---- float intrinsics ------------------------------------------------------------------------
 * _rn arithmetic is IEEE round-to-nearest, which host float arithmetic is (never contracted:
 * the emulator is built with -ffp-contract=off). The fast approximations (__expf, ...) are
 * computed with the accurate libm function, so they are at least as accurate as the GPU's. */
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline float __frcp_rn(float a) { return 1.0f / a; }
inline float __fsqrt_rn(float a) { return std::sqrt(a); }
inline float __frsqrt_rn(float a) { return 1.0f / std::sqrt(a); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __saturatef(float a) { return a != a ? 0.0f : a < 0.0f ? 0.0f : a > 1.0f ? 1.0f : a; }
inline float rsqrtf(float a) { return 1.0f / std::sqrt(a); }
inline double rsqrt(double a) { return 1.0 / std::sqrt(a); }
/* glibc's math.h declares its own __expf, __logf, ...: these are macros over ours. */
namespace attn_emu {
namespace fastmath {
inline float exp10f_(float a) { return std::pow(10.0f, a); }
inline float logf_(float a) { return std::log(a); }
inline float log2f_(float a) { return std::log2(a); }
inline float log10f_(float a) { return std::log10(a); }
inline float sinf_(float a) { return std::sin(a); }
inline float cosf_(float a) { return std::cos(a); }
inline float tanf_(float a) { return std::tan(a); }
inline void sincosf_(float a, float *s, float *c) { *s = std::sin(a); *c = std::cos(a); }
inline float powf_(float a, float b) { return std::pow(a, b); }
/* Under the GPU-math schedule (ATTN_EMU_GPU_MATH, emu_api.h) the exponentials are computed as
 * the GPU may: libm's result moved by a pseudo-random -2..+2 ulps drawn from the argument's
 * bits (the GPU's exp2f, expf and ex2.approx are within 2 ulp of exact; ex2 of an integer, 0
 * included, stays exact as on the hardware), and __expf as nvcc compiles it, ex2.approx of the
 * float product x·log2(e) (so its error grows with |x|). Else libm's. */
ATTN_EMU_HIDDEN extern bool gpu_math;
inline float within_ulps(float r, float a)
{
    if (!gpu_math || a == std::nearbyint(a) || !std::isfinite(r) || r == 0.0f) return r;
    uint32_t h = ::attn_emu::bits<uint32_t>(a) * 0x9e3779b1u;
    h ^= h >> 15;
    const int k = (int)(h % 5u) - 2;
    uint32_t u = ::attn_emu::bits<uint32_t>(r) + (uint32_t)k; /* r > 0: one ulp per step */
    const float m = ::attn_emu::bits<float>(u);
    return std::isfinite(m) && m > 0.0f ? m : r;
}
inline float exp2f_(float a) { return within_ulps(std::exp2(a), a); }
inline float expf_exact_(float a) { return within_ulps(std::exp(a), a); }
/* ex2.approx.ftz.f32: subnormal inputs and results flush to zero (kernels/common/fastmath.cuh). */
inline float ex2_approx_ftz(float a)
{
    if (std::fabs(a) < 1.17549435e-38f) a = 0.0f;
    const float r = exp2f_(a);
    return r < 1.17549435e-38f ? 0.0f : r;
}
inline float fast_expf_(float a)
{
    return gpu_math ? ex2_approx_ftz(a * 1.44269504f) : std::exp(a);
}
} // namespace fastmath
} // namespace attn_emu
/* (function-like: `using ::expf;` in later headers is untouched) */
#define exp2f(x) (::attn_emu::fastmath::exp2f_(x))
#define expf(x) (::attn_emu::fastmath::expf_exact_(x))
#define __expf(x) (::attn_emu::fastmath::fast_expf_(x))
#define __exp10f(x) (::attn_emu::fastmath::exp10f_(x))
#define __logf(x) (::attn_emu::fastmath::logf_(x))
#define __log2f(x) (::attn_emu::fastmath::log2f_(x))
#define __log10f(x) (::attn_emu::fastmath::log10f_(x))
#define __sinf(x) (::attn_emu::fastmath::sinf_(x))
#define __cosf(x) (::attn_emu::fastmath::cosf_(x))
#define __tanf(x) (::attn_emu::fastmath::tanf_(x))
#define __sincosf(x, s, c) (::attn_emu::fastmath::sincosf_((x), (s), (c)))
#define __powf(x, y) (::attn_emu::fastmath::powf_((x), (y)))
inline double __dadd_rn(double a, double b) { return a + b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }

/* ---- bit reinterpretation and conversions ---------------------------------------------------- */
inline float __int_as_float(int x) { return ::attn_emu::bits<float>(x); }
inline int __float_as_int(float x) { return ::attn_emu::bits<int>(x); }
inline float __uint_as_float(unsigned int x) { return ::attn_emu::bits<float>(x); }
inline unsigned int __float_as_uint(float x) { return ::attn_emu::bits<unsigned int>(x); }
inline double __longlong_as_double(long long x) { return ::attn_emu::bits<double>(x); }
inline long long __double_as_longlong(double x) { return ::attn_emu::bits<long long>(x); }
inline int __float2int_rn(float x) { return (int)std::nearbyint(x); }
inline int __float2int_rz(float x) { return (int)x; }
inline int __float2int_rd(float x) { return (int)std::floor(x); }
inline int __float2int_ru(float x) { return (int)std::ceil(x); }
inline unsigned int __float2uint_rn(float x) { return (unsigned int)std::nearbyint(x); }
inline unsigned int __float2uint_rz(float x) { return (unsigned int)x; }
inline long long __float2ll_rn(float x) { return (long long)std::nearbyint(x); }
inline long long __float2ll_rz(float x) { return (long long)x; }
inline float __int2float_rn(int x) { return (float)x; }
inline float __uint2float_rn(unsigned int x) { return (float)x; }
inline float __ll2float_rn(long long x) { return (float)x; }

/* ---- integer intrinsics ---------------------------------------------------------------------- */
inline int __popc(unsigned int x) { return __builtin_popcount(x); }
inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline unsigned int __brev(unsigned int x)
{
    x = (x >> 1 & 0x55555555u) | (x & 0x55555555u) << 1;
    x = (x >> 2 & 0x33333333u) | (x & 0x33333333u) << 2;
    x = (x >> 4 & 0x0f0f0f0fu) | (x & 0x0f0f0f0fu) << 4;
    return __builtin_bswap32(x);
}
inline unsigned long long __brevll(unsigned long long x)
{
    return (unsigned long long)__brev((unsigned)x) << 32 | __brev((unsigned)(x >> 32));
}
inline unsigned int __byte_perm(unsigned int x, unsigned int y, unsigned int s)
{
    const uint64_t v = (uint64_t)y << 32 | x;
    unsigned int r = 0;
    for (int i = 0; i < 4; i++) r |= (unsigned)(v >> (8 * ((s >> (4 * i)) & 7)) & 0xff) << (8 * i);
    return r;
}
inline unsigned int __funnelshift_l(unsigned int lo, unsigned int hi, unsigned int shift)
{
    return (unsigned)(((uint64_t)hi << 32 | lo) << (shift & 31) >> 32);
}
inline unsigned int __funnelshift_lc(unsigned int lo, unsigned int hi, unsigned int shift)
{
    return (unsigned)(((uint64_t)hi << 32 | lo) << (shift > 32 ? 32 : shift) >> 32);
}
inline unsigned int __funnelshift_r(unsigned int lo, unsigned int hi, unsigned int shift)
{
    return (unsigned)(((uint64_t)hi << 32 | lo) >> (shift & 31));
}
inline unsigned int __funnelshift_rc(unsigned int lo, unsigned int hi, unsigned int shift)
{
    return (unsigned)(((uint64_t)hi << 32 | lo) >> (shift > 32 ? 32 : shift));
}
inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
inline unsigned int __umulhi(unsigned int a, unsigned int b)
{
    return (unsigned)(((unsigned long long)a * b) >> 32);
}
inline long long __mul64hi(long long a, long long b)
{
    return (long long)(((__int128)a * b) >> 64);
}
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b)
{
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __mul24(int a, int b)
{
    return ((int32_t)((uint32_t)a << 8) >> 8) * ((int32_t)((uint32_t)b << 8) >> 8);
}
inline unsigned int __umul24(unsigned int a, unsigned int b)
{
    return (a & 0xffffffu) * (b & 0xffffffu);
}

/* ---- loads with cache hints: plain loads ---------------------------------------------------- */
template <class T> inline T __ldg(const T *p) { return *p; }
template <class T> inline T __ldcg(const T *p) { return *p; }
template <class T> inline T __ldca(const T *p) { return *p; }
template <class T> inline T __ldcs(const T *p) { return *p; }
template <class T> inline T __ldlu(const T *p) { return *p; }
template <class T> inline T __ldcv(const T *p) { return *p; }
template <class T> inline void __stcg(T *p, T v) { *p = v; }
template <class T> inline void __stcs(T *p, T v) { *p = v; }
template <class T> inline void __stwb(T *p, T v) { *p = v; }
template <class T> inline void __stwt(T *p, T v) { *p = v; }

/* ---- the runtime API's C++ wrappers that cuda_runtime.h defines only for nvcc ---------------- */
template <class T>
inline cudaError_t cudaFuncSetAttribute(T *func, enum cudaFuncAttribute attr, int value)
{
    return ::cudaFuncSetAttribute(reinterpret_cast<const void *>(func), attr, value);
}
template <class T>
inline cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, T *func)
{
    return ::cudaFuncGetAttributes(attr, reinterpret_cast<const void *>(func));
}

#endif
