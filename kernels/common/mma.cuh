/* Warp-level tensor-core primitives (sm_80+) as thin inline-PTX wrappers, shared by every suite:
 *   mma_m16n8k16_bf16   D += A·B, m16n8k16, bf16 inputs, fp32 accumulate
 *   mma_m16n8k16_f16    the same with f16 (IEEE binary16) inputs: the same fragment layouts
 *   mma_m16n8k16<T>     either, by element type T (__nv_bfloat16 or __half), for templated kernels
 *   ldmatrix_x4         four 8x8 b16 matrices from shared memory, row-major fragments
 *   ldmatrix_x4_trans   the same, each 8x8 matrix transposed on the way in
 *   cp_async_16         16-byte global -> shared copy that bypasses registers (and L1)
 *   cp_async_16_zfill   the same with a source size of 16 or 0 bytes: 0 writes 16 zero bytes
 *   cp_async_commit / cp_async_wait<N>   close a group of copies / wait for all but N groups
 *   pack_bf16x2         two floats -> one .b32 holding two bf16 (low half = first)
 *   pack_f16x2          the same for two f16; pack_x2<T> either, by element type
 * All PTX of the kernels lives here, so a second backend (an emulator) replaces only this file.
 *
 * Fragment layouts (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type").
 * For lane L of the warp: g = L >> 2 (groupID, 0..7), t = L & 3 (threadID_in_group, 0..3).
 * A .b32 register holding two 16-bit elements keeps the lower-indexed element in bits 0..15.
 *   A (16x16, row-major, 4 regs a[0..3], elements a0..a7):
 *     a[0] = {A[g  ][2t], A[g  ][2t+1]}     a[1] = {A[g+8][2t], A[g+8][2t+1]}
 *     a[2] = {A[g  ][2t+8], A[g  ][2t+9]}   a[3] = {A[g+8][2t+8], A[g+8][2t+9]}
 *   B (16x8 = K x N, "col": stored as N rows of K, 2 regs b[0..1], elements b0..b3):
 *     b[0] = {B[2t  ][g], B[2t+1][g]}       b[1] = {B[2t+8][g], B[2t+9][g]}
 *   C/D (16x8 fp32, 4 regs c[0..3]):
 *     c[0] = C[g][2t]   c[1] = C[g][2t+1]   c[2] = C[g+8][2t]   c[3] = C[g+8][2t+1]
 *
 * ldmatrix.m8n8.x4.b16: lanes 8i..8i+7 supply the shared addresses of rows 0..7 of matrix i (each
 * row 16 contiguous bytes, 16-byte aligned); register r[i] receives a fragment of matrix i:
 *   non-trans: r[i] = {M_i[g][2t], M_i[g][2t+1]}          (same shape as a C fragment of 8x8)
 *   .trans:    r[i] = {M_i[2t][g], M_i[2t+1][g]}          (M_i as stored, i.e. rows = addresses)
 *
 * Worked check for lane 5 (g = 1, t = 1), as used by mhsa/fused.cu:
 *   A: a[0] = A[1][2..3], a[1] = A[9][2..3], a[2] = A[1][10..11], a[3] = A[9][10..11].
 *      fused.cu gives lane L the address of Q row (L & 15), column 8·(L >> 4): lane 5 -> row 5 col 0,
 *      i.e. row 5 of matrix 0 (lanes 0..7 = rows 0..7 / cols 0..7, lanes 8..15 = rows 8..15 /
 *      cols 0..7, lanes 16..23 = rows 0..7 / cols 8..15, lanes 24..31 = rows 8..15 / cols 8..15).
 *      Non-trans, lane 5 receives row g = 1, cols 2t = 2,3 of each matrix: r[0] = Q[1][2..3] = a[0],
 *      r[1] = Q[9][2..3] = a[1], r[2] = Q[1][10..11] = a[2], r[3] = Q[9][10..11] = a[3].  OK.
 *   B from K (S = Q·Kᵀ, so B[k][n] = K[n][k], K stored key-major = exactly the "col" layout):
 *      lane L addresses key (L & 7) + 8·((L >> 4) & 1), column 8·((L >> 3) & 1); non-trans, lane 5
 *      receives K[1][2..3] from matrix 0 = B[2..3][1] = b[0] of n-tile 0 (k = 2t = 2, n = g = 1),
 *      and K[1][10..11] from matrix 1 = B[10..11][1] = b[1] of n-tile 0; matrices 2, 3 (keys 8..15)
 *      give b[0], b[1] of n-tile 1.  OK.
 *   B from V (O = P·V, B[k][n] = V[k][n], V stored key-major = row-major B, so .trans):
 *      lane L addresses key (L & 7) + 8·((L >> 3) & 1), column 8·((L >> 4) & 1); .trans, lane 5
 *      receives from matrix 0 (keys 0..7, dims 0..7) M_0[2..3][1] = V[2..3][1] = B[2t..2t+1][g]
 *      = b[0] of dim-tile 0; matrix 1 (keys 8..15) gives V[10..11][1] = b[1].  OK.
 *   C: c[0] = S[1][2] (lane 5 holds row 1 and 9, cols 2 and 3 of every n8 tile); fused.cu masks
 *      element e of n-tile nt at row g + 8·(e >> 1), key 8·nt + 2t + (e & 1) -> row 1, key 2.  OK.
 *   C -> A (the FA2 trick): the A fragment for keys 16k..16k+15 is
 *      {pack(c_2k[0], c_2k[1]), pack(c_2k[2], c_2k[3]), pack(c_2k+1[0], c_2k+1[1]),
 *       pack(c_2k+1[2], c_2k+1[3])}; lane 5: P[1][16k+2..3], P[9][16k+2..3], P[1][16k+10..11],
 *      P[9][16k+10..11] = a[0..3] for row g = 1, cols 2t = 2 and 2t+8 = 10.  OK. */
#ifndef ATTN_MMA_CUH
#define ATTN_MMA_CUH

#include <cstdint>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <type_traits>

#ifndef ATTN_EMU
/* d += a·b for one m16n8k16 tile; a, b and d in the layouts above. */
__device__ __forceinline__ void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4],
                                                  uint32_t b0, uint32_t b1)
{
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* As mma_m16n8k16_bf16 with f16 a and b (each register two binary16, low half first). */
__device__ __forceinline__ void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4],
                                                 uint32_t b0, uint32_t b1)
{
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

/* Four 8x8 b16 matrices; lane L passes the address of row (L & 7) of matrix (L >> 3). */
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void *smem_row)
{
    const uint32_t addr = (uint32_t)__cvta_generic_to_shared(smem_row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
}

/* As ldmatrix_x4, but each lane receives a column pair of each matrix (see the table above). */
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *smem_row)
{
    const uint32_t addr = (uint32_t)__cvta_generic_to_shared(smem_row);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(addr)
                 : "memory");
}

/* 16 bytes global -> shared, asynchronous; both addresses 16-byte aligned. .cg: streamed tiles
 * are reused from shared memory, not L1. */
__device__ __forceinline__ void cp_async_16(void *smem_dst, const void *gmem_src)
{
    const uint32_t dst = (uint32_t)__cvta_generic_to_shared(smem_dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(dst), "l"(gmem_src)
                 : "memory");
}

/* cp_async_16 with PTX's src-size operand: src_bytes = 16 copies, 0 reads nothing and fills the
 * 16 destination bytes with zeros (a tile's rows past the end of a matrix: one instruction, no
 * separate store). gmem_src must still be a valid, aligned address. */
__device__ __forceinline__ void cp_async_16_zfill(void *smem_dst, const void *gmem_src,
                                                  int src_bytes)
{
    const uint32_t dst = (uint32_t)__cvta_generic_to_shared(smem_dst);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(gmem_src),
                 "r"(src_bytes)
                 : "memory");
}

__device__ __forceinline__ void cp_async_commit()
{
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}

/* Wait until at most N of this thread's committed groups are still in flight. The data is
 * visible to other threads only after a following __syncthreads(). */
template <int N>
__device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}
#else
/* Host emulation (bench/emu): each wrapper is the emulated PTX instruction, which reproduces
 * the per-lane layouts above exactly; the extra defaulted arguments name the kernel's call site
 * in the emulator's reports. */
#define ATTN_MMA_SITE const char *attn_file_ = __builtin_FILE(), int attn_line_ = __builtin_LINE()

__device__ __forceinline__ void mma_m16n8k16_bf16(float (&d)[4], const uint32_t (&a)[4],
                                                  uint32_t b0, uint32_t b1, ATTN_MMA_SITE)
{
    ::attn_emu::ptx::mma_m16n8k16_f32_bf16(d, a, b0, b1, d, attn_file_, attn_line_);
}

__device__ __forceinline__ void mma_m16n8k16_f16(float (&d)[4], const uint32_t (&a)[4],
                                                 uint32_t b0, uint32_t b1, ATTN_MMA_SITE)
{
    ::attn_emu::ptx::mma_m16n8k16_f32_f16(d, a, b0, b1, d, attn_file_, attn_line_);
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void *smem_row, ATTN_MMA_SITE)
{
    ::attn_emu::ptx::ldmatrix_m8n8_b16(r, 4, false, smem_row, attn_file_, attn_line_);
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void *smem_row,
                                                  ATTN_MMA_SITE)
{
    ::attn_emu::ptx::ldmatrix_m8n8_b16(r, 4, true, smem_row, attn_file_, attn_line_);
}

__device__ __forceinline__ void cp_async_16(void *smem_dst, const void *gmem_src, ATTN_MMA_SITE)
{
    ::attn_emu::ptx::cp_async(smem_dst, gmem_src, 16, 16, attn_file_, attn_line_);
}

__device__ __forceinline__ void cp_async_16_zfill(void *smem_dst, const void *gmem_src,
                                                  int src_bytes, ATTN_MMA_SITE)
{
    ::attn_emu::ptx::cp_async(smem_dst, gmem_src, 16, src_bytes, attn_file_, attn_line_);
}

__device__ __forceinline__ void cp_async_commit() { ::attn_emu::ptx::cp_async_commit_group(); }

template <int N>
__device__ __forceinline__ void cp_async_wait(ATTN_MMA_SITE)
{
    ::attn_emu::ptx::cp_async_wait_group(N, attn_file_, attn_line_);
}
#endif

/* The mma of element type T; in the emulator the call site still names the kernel's line. */
#ifndef ATTN_EMU
#define ATTN_MMA_SITE_PARAMS
#define ATTN_MMA_SITE_ARGS
#else
#define ATTN_MMA_SITE_PARAMS , ATTN_MMA_SITE
#define ATTN_MMA_SITE_ARGS , attn_file_, attn_line_
#endif
template <typename T>
__device__ __forceinline__ void mma_m16n8k16(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                             uint32_t b1 ATTN_MMA_SITE_PARAMS)
{
    static_assert(std::is_same<T, __nv_bfloat16>::value || std::is_same<T, __half>::value,
                  "mma_m16n8k16<T>: T is __nv_bfloat16 or __half");
    if constexpr (std::is_same<T, __half>::value)
        mma_m16n8k16_f16(d, a, b0, b1 ATTN_MMA_SITE_ARGS);
    else
        mma_m16n8k16_bf16(d, a, b0, b1 ATTN_MMA_SITE_ARGS);
}
#undef ATTN_MMA_SITE_PARAMS
#undef ATTN_MMA_SITE_ARGS
#ifdef ATTN_EMU
#undef ATTN_MMA_SITE
#endif

/* {lo, hi} -> one register, lo in bits 0..15 (the lower-indexed fragment element). */
__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi)
{
    const __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi); /* v.x = lo, v.y = hi */
    return (uint32_t)__bfloat16_as_ushort(v.x) | ((uint32_t)__bfloat16_as_ushort(v.y) << 16);
}

/* {lo, hi} -> one register of two f16, rounded to nearest even, lo in bits 0..15. */
__device__ __forceinline__ uint32_t pack_f16x2(float lo, float hi)
{
    const __half2 v = __floats2half2_rn(lo, hi); /* v.x = lo, v.y = hi */
    return (uint32_t)__half_as_ushort(v.x) | ((uint32_t)__half_as_ushort(v.y) << 16);
}

/* pack_bf16x2 or pack_f16x2 by element type T. */
template <typename T>
__device__ __forceinline__ uint32_t pack_x2(float lo, float hi)
{
    if constexpr (std::is_same<T, __half>::value)
        return pack_f16x2(lo, hi);
    else
        return pack_bf16x2(lo, hi);
}

#endif
