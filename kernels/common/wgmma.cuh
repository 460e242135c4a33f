/* Hopper warpgroup MMA (wgmma, sm_90a) as thin inline-PTX wrappers, with an emulated side
 * (bench/emu/emu_wgmma.cpp) under ATTN_EMU, as kernels/common/mma.cuh does for mma.sync:
 *   wgmma_desc                 a shared-memory matrix descriptor
 *   wgmma_acc<N>               the m64nN fp32 accumulator, N/2 floats per thread
 *   wgmma_ss_bf16 / _f16       D = A·B (+ D), A and B from shared memory through descriptors
 *   wgmma_rs_bf16 / _f16       the same with A from registers
 *   wgmma_fence, wgmma_commit_group, wgmma_wait_group<N>, fence_proxy_async_shared
 *   wgmma_fence_operand(acc)   keeps the compiler from moving accumulator accesses across a wgmma
 * Access an accumulator through acc[i] (not acc.r): in the emulator every such access is checked
 * against the wgmmas in flight and the fence rule, with its file:line.
 * Sources: PTX ISA 9.7.15 "Asynchronous Warpgroup Level Matrix Multiply-Accumulate"
 * (9.7.15.5.1 register fragments and shared-memory layouts, 9.7.15.5.1.2 matrix descriptor).
 *
 * Warpgroup: four consecutive warps, threads 128k .. 128k+127 of the block. Every wgmma.* here is
 * .sync.aligned over the warpgroup: all 128 threads execute it, at the same call site, with the
 * same descriptors (the emulator reports any other use).
 *
 * Accumulator layout (m64nN, fp32; "Matrix Fragments for wgmma .m64nNk16", D): thread 32w + L of
 * the warpgroup (warp w = 0..3, lane L; g = L >> 2, t = L & 3) holds rows 16w + g and 16w + g + 8,
 * columns 8j + 2t and 8j + 2t + 1 for j = 0 .. N/8 - 1:
 *   r[4j + 0] = D[16w + g][8j + 2t]       r[4j + 1] = D[16w + g][8j + 2t + 1]
 *   r[4j + 2] = D[16w + g + 8][8j + 2t]   r[4j + 3] = D[16w + g + 8][8j + 2t + 1]
 * i.e. warp w holds rows 16w..16w+15 and r[4j..4j+3] is exactly the mma.m16n8 C fragment of the
 * 8-column tile j (mma.cuh): the online softmax of an mma.sync kernel applies unchanged.
 * A from registers (RS): warp w supplies rows 16w..16w+15 of A (64x16) as the mma.m16n8k16 A
 * fragment (mma.cuh): a[0] = A[16w+g][2t..2t+1], a[1] = A[16w+g+8][2t..2t+1],
 * a[2] = A[16w+g][2t+8..2t+9], a[3] = A[16w+g+8][2t+8..2t+9]. So the FA2 C -> A repacking of the
 * accumulator r[8k .. 8k+7] (pack_bf16x2 of pairs) gives the A fragment of keys 16k .. 16k+15.
 *
 * Matrix descriptor (64 bits; "Matrix Descriptor Format"):
 *   bits  0-13  start address >> 4 (shared-memory address, 16-byte aligned)
 *   bits 16-29  leading dimension byte offset (LBO) >> 4
 *   bits 32-45  stride dimension byte offset (SBO) >> 4
 *   bits 49-51  base offset (0 here: swizzled tiles start at a multiple of the pattern's repeat,
 *               1024 / 512 / 256 bytes for 128B / 64B / 32B; the emulator refuses another value)
 *   bits 62-63  swizzle: 0 none, 1 128B, 2 64B, 3 32B (wgmma_swizzle_t)
 * Adding (bytes >> 4) to a descriptor moves its start address (the usual way to step along K).
 *
 * Canonical layouts (16-bit elements; a "core matrix" is 8 rows of 16 bytes = 8x8 elements).
 * A is M x K = 64 x 16, B is K x N seen as N x K; "MN" is M for A, N for B. Let W be the swizzle
 * width in bytes (16 for none, else 32, 64, 128). Byte offset from the start address of element
 * (mn, k), before the swizzle:
 *   K-major (trans 0: K contiguous; A row-major, B "column-major" = N rows of K):
 *     none:     (mn / 8)·SBO + (k / 8)·LBO + (mn % 8)·16 + (k % 8)·2
 *     swizzled: (mn / 8)·SBO + (mn % 8)·W + k·2                         (LBO unused)
 *   MN-major (trans 1: MN contiguous; A column-major, B row-major K x N):
 *     none:     (k / 8)·LBO + (mn / 8)·SBO + (k % 8)·16 + (mn % 8)·2
 *     swizzled: (k / 8)·SBO + (mn / (W/2))·LBO + (k % 8)·W + (mn % (W/2))·2
 * The swizzle then permutes 16-byte chunks within each W-byte row of an 8-row pattern, on the
 * shared-memory address itself (bench/emu/emu_swizzle.h): 128B: bits 4-6 ^= bits 7-9;
 * 64B: bits 4-5 ^= bits 7-8; 32B: bit 4 ^= bit 7.
 * Worked example (the layout TMA writes with CU_TENSOR_MAP_SWIZZLE_128B): a 64 x 64 bf16 K tile
 * (keys x dims), row-major, 128 bytes a row, at a 1024-byte aligned address s. As B of S = Q·Kᵀ
 * (K-major, N = 64 keys): descriptor (s, LBO = 16 (unused), SBO = 1024 (8 rows · 128 B),
 * WGMMA_SWIZZLE_128B); the k-th 16-wide slice of the dims is the descriptor + 2k (32 bytes >> 4).
 * Element (key 9, dim 20): 1·1024 + 1·128 + 40 = 1192 = 0x4A8, bits 7-9 = 1, so chunk
 * (0x4A8 >> 4) & 7 = 2 becomes 3: address s + 0x4B8. As B of O = P·V with V the same tile
 * (MN-major, N = dims, K = keys): LBO = stride between 64-dim column blocks (a second 64x64 tile
 * for d = 128: its byte distance, e.g. 8192), SBO = 1024 (8 keys · 128 B), trans-b 1; the k-th
 * 16-key slice is the descriptor + 2048·k >> 4.
 *
 * Async rules (PTX ISA): wgmma_fence() before the first wgmma and between any other access to an
 * accumulator (or to RS A registers) and a wgmma using them; wgmma_commit_group() closes the
 * group of wgmmas issued since the last commit; wgmma_wait_group<N>() waits until at most N
 * groups are pending, after which their accumulators may be read. fence_proxy_async_shared()
 * between generic stores to shared memory and a wgmma reading them through a descriptor. */
#ifndef ATTN_WGMMA_CUH
#define ATTN_WGMMA_CUH

#include <cstdint>

enum wgmma_swizzle_t {
    WGMMA_SWIZZLE_NONE = 0,
    WGMMA_SWIZZLE_128B = 1,
    WGMMA_SWIZZLE_64B = 2,
    WGMMA_SWIZZLE_32B = 3
}; /* the descriptor's 2-bit field */

/* The descriptor of a shared-memory address (both sides compute the same bits). */
__device__ __forceinline__ uint64_t wgmma_desc_encode(uint32_t smem_addr, uint32_t lbo_bytes,
                                                      uint32_t sbo_bytes, wgmma_swizzle_t swizzle)
{
    return (uint64_t)((smem_addr & 0x3FFFFu) >> 4) |
           (uint64_t)((lbo_bytes & 0x3FFFFu) >> 4) << 16 |
           (uint64_t)((sbo_bytes & 0x3FFFFu) >> 4) << 32 | (uint64_t)swizzle << 62;
}

#ifndef ATTN_EMU
/* ------------------------------------------------------------------------------------------------
 * The device: sm_90a inline PTX. */

/* wgmma exists on sm_90a only. A device pass for another target (a file built for several)
 * compiles each instruction as a trap, so that only running it there fails: a launcher must
 * not launch a wgmma kernel on anything but sm_90. */
#if defined(__CUDA_ARCH__) && !defined(__CUDA_ARCH_FEAT_SM90_ALL)
#define ATTN_WG_ASM(...) __trap()
#else
#define ATTN_WG_ASM(...) asm volatile(__VA_ARGS__)
#endif

__device__ __forceinline__ uint64_t wgmma_desc(const void *smem_start, uint32_t lbo_bytes,
                                               uint32_t sbo_bytes, wgmma_swizzle_t swizzle)
{
    return wgmma_desc_encode((uint32_t)__cvta_generic_to_shared(smem_start), lbo_bytes, sbo_bytes,
                             swizzle);
}

template <int N> struct wgmma_acc {
    static_assert(N % 8 == 0 && N >= 8 && N <= 256, "wgmma: N is a multiple of 8 in 8..256");
    float r[N / 2];
    __device__ __forceinline__ float &operator[](int i) { return r[i]; }
    __device__ __forceinline__ const float &operator[](int i) const { return r[i]; }
};

/* An empty asm that claims to read and write every accumulator register: accesses of the
 * accumulator cannot move across it (use it around wgmma issue and after the wait). */
template <int N> __device__ __forceinline__ void wgmma_fence_operand(wgmma_acc<N> &d)
{
#pragma unroll
    for (int i = 0; i < N / 2; i++) asm volatile("" : "+f"(d.r[i])::"memory");
}

__device__ __forceinline__ void wgmma_fence()
{
    ATTN_WG_ASM("wgmma.fence.sync.aligned;\n" ::: "memory");
}

__device__ __forceinline__ void wgmma_commit_group()
{
    ATTN_WG_ASM("wgmma.commit_group.sync.aligned;\n" ::: "memory");
}

template <int N> __device__ __forceinline__ void wgmma_wait_group()
{
    ATTN_WG_ASM("wgmma.wait_group.sync.aligned %0;\n" ::"n"(N) : "memory");
}

__device__ __forceinline__ void fence_proxy_async_shared()
{
    ATTN_WG_ASM("fence.proxy.async.shared::cta;\n" ::: "memory");
}

/* Operand lists, written by the preprocessor: "%0, %1, ..., %(R-1)" for R = N/2 accumulator
 * registers, and "+f"(d.r[0]), ... for the constraints. */
#define ATTN_WG_S2(t) "%" #t "0, %" #t "1"
#define ATTN_WG_S4(t) ATTN_WG_S2(t) ", %" #t "2, %" #t "3"
#define ATTN_WG_S6(t) ATTN_WG_S4(t) ", %" #t "4, %" #t "5"
#define ATTN_WG_S8(t) ATTN_WG_S6(t) ", %" #t "6, %" #t "7"
#define ATTN_WG_S10(t) ATTN_WG_S8(t) ", %" #t "8, %" #t "9"
#define ATTN_WG_REGS_8 ATTN_WG_S8()
#define ATTN_WG_REGS_16 ATTN_WG_S10() ", " ATTN_WG_S6(1)
#define ATTN_WG_REGS_32 ATTN_WG_S10() ", " ATTN_WG_S10(1) ", " ATTN_WG_S10(2) ", " ATTN_WG_S2(3)
#define ATTN_WG_REGS_64                                                                           \
    ATTN_WG_S10() ", " ATTN_WG_S10(1) ", " ATTN_WG_S10(2) ", " ATTN_WG_S10(3) ", " ATTN_WG_S10(4) \
        ", " ATTN_WG_S10(5) ", " ATTN_WG_S4(6)
#define ATTN_WG_REGS_128                                                                          \
    ATTN_WG_S10() ", " ATTN_WG_S10(1) ", " ATTN_WG_S10(2) ", " ATTN_WG_S10(3) ", " ATTN_WG_S10(4) \
        ", " ATTN_WG_S10(5) ", " ATTN_WG_S10(6) ", " ATTN_WG_S10(7) ", " ATTN_WG_S10(8) ", "      \
        ATTN_WG_S10(9) ", " ATTN_WG_S10(10) ", " ATTN_WG_S10(11) ", " ATTN_WG_S8(12)
#define ATTN_WG_F4(b) "+f"(d.r[(b)]), "+f"(d.r[(b) + 1]), "+f"(d.r[(b) + 2]), "+f"(d.r[(b) + 3])
#define ATTN_WG_F8(b) ATTN_WG_F4(b), ATTN_WG_F4((b) + 4)
#define ATTN_WG_F16(b) ATTN_WG_F8(b), ATTN_WG_F8((b) + 8)
#define ATTN_WG_F32(b) ATTN_WG_F16(b), ATTN_WG_F16((b) + 16)
#define ATTN_WG_F64(b) ATTN_WG_F32(b), ATTN_WG_F32((b) + 32)
#define ATTN_WG_F128(b) ATTN_WG_F64(b), ATTN_WG_F64((b) + 64)

template <int N, int TransA, int TransB, bool F16> struct wgmma_ss_impl;
template <int N, int TransB, bool F16> struct wgmma_rs_impl;

/* One specialisation per N and type: R = N/2 registers %0..%(R-1) (FS: the constraint macro,
 * passed by name so that its commas survive), then the operands numbered from R (written out as strings, P0 = R, P1 = R + 1, ...). scale-d is a predicate set from
 * scale_d != 0; imm-scale-a/b are 1 (no negation). */
#define ATTN_WG_DEFINE(N, TY, F16, REGS, FS, P0, P1, P2, P3, P4, P5, P6)                         \
    template <int TransA, int TransB> struct wgmma_ss_impl<N, TransA, TransB, F16> {             \
        __device__ __forceinline__ static void run(wgmma_acc<N> &d, uint64_t da, uint64_t db,     \
                                                   int scale_d)                                  \
        {                                                                                        \
            ATTN_WG_ASM("{\n.reg .pred p;\nsetp.ne.b32 p, %" P2 ", 0;\n"                         \
                         "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " "          \
                         "{" REGS "}, %" P0 ", %" P1 ", p, 1, 1, %" P3 ", %" P4 ";\n}\n"          \
                         : FS(0)                                                                 \
                         : "l"(da), "l"(db), "r"(scale_d), "n"(TransA), "n"(TransB)              \
                         : "memory");                                                            \
        }                                                                                        \
    };                                                                                           \
    template <int TransB> struct wgmma_rs_impl<N, TransB, F16> {                                 \
        __device__ __forceinline__ static void run(wgmma_acc<N> &d, const uint32_t (&a)[4],       \
                                                   uint64_t db, int scale_d)                     \
        {                                                                                        \
            ATTN_WG_ASM("{\n.reg .pred p;\nsetp.ne.b32 p, %" P5 ", 0;\n"                         \
                         "wgmma.mma_async.sync.aligned.m64n" #N "k16.f32." TY "." TY " "          \
                         "{" REGS "}, {%" P0 ", %" P1 ", %" P2 ", %" P3 "}, %" P4                 \
                         ", p, 1, 1, %" P6 ";\n}\n"                                              \
                         : FS(0)                                                                 \
                         : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "l"(db), "r"(scale_d),    \
                           "n"(TransB)                                                           \
                         : "memory");                                                            \
        }                                                                                        \
    };
#define ATTN_WG_DEFINE_TYPES(N, REGS, FS, P0, P1, P2, P3, P4, P5, P6)                            \
    ATTN_WG_DEFINE(N, "bf16", false, REGS, FS, P0, P1, P2, P3, P4, P5, P6)                       \
    ATTN_WG_DEFINE(N, "f16", true, REGS, FS, P0, P1, P2, P3, P4, P5, P6)
ATTN_WG_DEFINE_TYPES(16, ATTN_WG_REGS_8, ATTN_WG_F8, "8", "9", "10", "11", "12", "13", "14")
ATTN_WG_DEFINE_TYPES(32, ATTN_WG_REGS_16, ATTN_WG_F16, "16", "17", "18", "19", "20", "21",
                     "22")
ATTN_WG_DEFINE_TYPES(64, ATTN_WG_REGS_32, ATTN_WG_F32, "32", "33", "34", "35", "36", "37",
                     "38")
ATTN_WG_DEFINE_TYPES(128, ATTN_WG_REGS_64, ATTN_WG_F64, "64", "65", "66", "67", "68", "69",
                     "70")
ATTN_WG_DEFINE_TYPES(256, ATTN_WG_REGS_128, ATTN_WG_F128, "128", "129", "130", "131", "132",
                     "133", "134")
#undef ATTN_WG_DEFINE_TYPES
#undef ATTN_WG_DEFINE
#undef ATTN_WG_ASM
#undef ATTN_WG_S2
#undef ATTN_WG_S4
#undef ATTN_WG_S6
#undef ATTN_WG_S8
#undef ATTN_WG_S10
#undef ATTN_WG_REGS_8
#undef ATTN_WG_REGS_16
#undef ATTN_WG_REGS_32
#undef ATTN_WG_REGS_64
#undef ATTN_WG_REGS_128
#undef ATTN_WG_F4
#undef ATTN_WG_F8
#undef ATTN_WG_F16
#undef ATTN_WG_F32
#undef ATTN_WG_F64
#undef ATTN_WG_F128

/* D = A·B + (scale_d ? D : 0), m64nNk16, fp32 accumulate; TransA/TransB 0 = K-major, 1 = MN-major. */
template <int N, int TransA, int TransB>
__device__ __forceinline__ void wgmma_ss_bf16(wgmma_acc<N> &d, uint64_t desc_a, uint64_t desc_b,
                                              int scale_d)
{
    wgmma_ss_impl<N, TransA, TransB, false>::run(d, desc_a, desc_b, scale_d);
}
template <int N, int TransA, int TransB>
__device__ __forceinline__ void wgmma_ss_f16(wgmma_acc<N> &d, uint64_t desc_a, uint64_t desc_b,
                                             int scale_d)
{
    wgmma_ss_impl<N, TransA, TransB, true>::run(d, desc_a, desc_b, scale_d);
}
template <int N, int TransB>
__device__ __forceinline__ void wgmma_rs_bf16(wgmma_acc<N> &d, const uint32_t (&a)[4],
                                              uint64_t desc_b, int scale_d)
{
    wgmma_rs_impl<N, TransB, false>::run(d, a, desc_b, scale_d);
}
template <int N, int TransB>
__device__ __forceinline__ void wgmma_rs_f16(wgmma_acc<N> &d, const uint32_t (&a)[4],
                                             uint64_t desc_b, int scale_d)
{
    wgmma_rs_impl<N, TransB, true>::run(d, a, desc_b, scale_d);
}

#else
/* ------------------------------------------------------------------------------------------------
 * Host emulation (bench/emu/emu_wgmma.cpp): each wrapper is the emulated instruction; the
 * defaulted arguments name the kernel's call site in the emulator's reports. */
#define ATTN_WG_SITE const char *attn_file_ = __builtin_FILE(), int attn_line_ = __builtin_LINE()

__device__ __forceinline__ uint64_t wgmma_desc(const void *smem_start, uint32_t lbo_bytes,
                                               uint32_t sbo_bytes, wgmma_swizzle_t swizzle,
                                               ATTN_WG_SITE)
{
    return wgmma_desc_encode(::attn_emu::ptx::wgmma_smem_addr(smem_start, attn_file_, attn_line_),
                             lbo_bytes, sbo_bytes, swizzle);
}

/* An accumulator index that remembers where it was written: acc[i] converts i, so every access
 * is checked against the wgmmas in flight with its file:line. */
struct wgmma_acc_index {
    int i;
    const char *file;
    int line;
    wgmma_acc_index(int i_, ATTN_WG_SITE) : i(i_), file(attn_file_), line(attn_line_) {}
};

template <int N> struct wgmma_acc {
    static_assert(N % 8 == 0 && N >= 8 && N <= 256, "wgmma: N is a multiple of 8 in 8..256");
    float r[N / 2];
    float &operator[](wgmma_acc_index x)
    {
        ::attn_emu::ptx::wgmma_acc_access(r, N / 2, x.i, x.file, x.line);
        return r[x.i];
    }
    const float &operator[](wgmma_acc_index x) const
    {
        ::attn_emu::ptx::wgmma_acc_access(r, N / 2, x.i, x.file, x.line);
        return r[x.i];
    }
};

template <int N> inline void wgmma_fence_operand(wgmma_acc<N> &) {}

inline void wgmma_fence(ATTN_WG_SITE) { ::attn_emu::ptx::wgmma_fence(attn_file_, attn_line_); }
inline void wgmma_commit_group(ATTN_WG_SITE)
{
    ::attn_emu::ptx::wgmma_commit_group(attn_file_, attn_line_);
}
template <int N> inline void wgmma_wait_group(ATTN_WG_SITE)
{
    ::attn_emu::ptx::wgmma_wait_group(N, attn_file_, attn_line_);
}
inline void fence_proxy_async_shared(ATTN_WG_SITE)
{
    ::attn_emu::ptx::fence_proxy_async_shared(attn_file_, attn_line_);
}

template <int N, int TransA, int TransB>
inline void wgmma_ss_bf16(wgmma_acc<N> &d, uint64_t desc_a, uint64_t desc_b, int scale_d,
                          ATTN_WG_SITE)
{
    ::attn_emu::ptx::wgmma_mma_async(d.r, N, false, desc_a, nullptr, desc_b, scale_d, TransA,
                                     TransB, attn_file_, attn_line_);
}
template <int N, int TransA, int TransB>
inline void wgmma_ss_f16(wgmma_acc<N> &d, uint64_t desc_a, uint64_t desc_b, int scale_d,
                         ATTN_WG_SITE)
{
    ::attn_emu::ptx::wgmma_mma_async(d.r, N, true, desc_a, nullptr, desc_b, scale_d, TransA,
                                     TransB, attn_file_, attn_line_);
}
template <int N, int TransB>
inline void wgmma_rs_bf16(wgmma_acc<N> &d, const uint32_t (&a)[4], uint64_t desc_b, int scale_d,
                          ATTN_WG_SITE)
{
    ::attn_emu::ptx::wgmma_mma_async(d.r, N, false, 0, a, desc_b, scale_d, 0, TransB, attn_file_,
                                     attn_line_);
}
template <int N, int TransB>
inline void wgmma_rs_f16(wgmma_acc<N> &d, const uint32_t (&a)[4], uint64_t desc_b, int scale_d,
                         ATTN_WG_SITE)
{
    ::attn_emu::ptx::wgmma_mma_async(d.r, N, true, 0, a, desc_b, scale_d, 0, TransB, attn_file_,
                                     attn_line_);
}
#undef ATTN_WG_SITE
#endif

#endif
