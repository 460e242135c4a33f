/* mhsa fused-wgmma and fused-wgmma-tma: the flash forward pass on Hopper's warpgroup MMA
 * (wgmma), bf16 in/out, fp32 accumulate. Built for sm_90a only (kernels/mhsa/meson.build); the
 * host emulator compiles it like every other kernel, through the wrappers of common/wgmma.cuh
 * and common/tma.cuh.
 *
 *   mhsa_fused_wgmma_kernel<D, BC>  one CTA = 128 query rows of one (b, h), two consumer
 *                          warpgroups of 64 rows each (256 threads); key tiles of BC keys
 *   mhsa_fused_wgmma_launch  D = 64 and 128, BC = 128
 *   mhsa_fused_wgmma_tma_kernel<D, BC, PP>, _tma_launch, _tma_pp_launch  the same consumers
 *                          (WgRows, shared) fed by TMA from a producer warpgroup, with PP
 *                          taking turns at the tensor cores: described at the kernel
 *
 * Shared memory: Q (128 x D) and two buffers each of K and V (BC x D), every one stored as
 * D/64 column blocks of 128-byte rows in the 128B-swizzled layout (the 16-byte chunk c of row r
 * at chunk c ^ (r & 7) of its row; 1024-byte aligned 8-row atoms), filled by 16-byte cp.async
 * at the swizzled addresses. Per warpgroup and key tile j:
 *   S_j = Q·K_jᵀ       SS wgmma m64nBCk16, Q and K K-major through descriptors (SBO = 1024 B:
 *                      one 8-row atom to the next; k16 steps 32 B apart inside a 128-byte row)
 *   P_j = softmax step (common/flash.cuh: the wgmma accumulator of m64nN is, per warp, the
 *                      m16n8 C layout per 8 columns, so the mma.sync kernels' step applies)
 *   O += P_j·V_j       RS wgmma m64nDk16, P packed from the S accumulators as the m16n8k16 A
 *                      fragment, V MN-major (the transpose bit; LBO = one 64-column block to
 *                      the next, SBO = 1024 B)
 * pipelined so that S_j is issued before O += P_{j-1}·V_{j-1} and this tile's softmax runs while
 * that P·V is in flight (wgmma.wait_group 1), O rescaled once it lands (wait_group 0):
 *   1. wait for K_j (cp.async group), fence.proxy.async, barrier
 *   2. cp.async K_{j+1} into the other K buffer (its last reader, S_{j-1}, finished before 1)
 *   3. issue S_j; 4. issue P_{j-1}·V_{j-1}; wait_group 1: S_j landed
 *   5. mask S_j (edge tiles only), softmax step (alpha_j, P_j in the S registers)
 *   6. wait_group 0: O landed; O *= alpha_j; pack P_j into bf16 A fragments
 *   7. barrier (every warpgroup's P·V_{j-1} done), cp.async V_{j+1} into V_{j-1}'s buffer
 * then P_{n-1}·V_{n-1} and O /= l (a row with no visible key has l = 0 and writes 0).
 *
 * Visibility is mhsa_kernels.h's (causal with diag, window, kv_len[b], K/V head h / (H / Hkv)),
 * per row from mhsa_mask.cuh. A CTA visits the key tiles holding a key visible to one of its
 * rows; the tiles some row sees only in part (the edges) are masked after S, the others not.
 * Tiles wholly inside the matrix are plain copies; a tile reaching past Nk zero-fills those
 * rows by cp.async's src-size form, and they are always masked. */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cuda_bf16.h>

#include "launch.cuh"
#include "mhsa_kernels.h"
#include "mhsa_mask.cuh"
#include "flash.cuh"
#include "mma.cuh"
#include "wgmma.cuh"
#include "tma.cuh"

typedef __nv_bfloat16 bf16;

namespace {

constexpr int WG_THREADS = 256; /* two consumer warpgroups */
constexpr int WG_BR = 128;      /* query rows per CTA, 64 per warpgroup */
constexpr float WG_LOG2E = 1.4426950408889634f;

/* The 128B-swizzled layout of a ROWS x D bf16 tile: D/64 column blocks of ROWS rows of 128
 * bytes; byte offset of 16-byte chunk c (of D/8) of row r. */
template <int ROWS>
__host__ __device__ constexpr int swz(int r, int c)
{
    return (c >> 3) * ROWS * 128 + r * 128 + (((c & 7) ^ (r & 7)) << 4);
}

template <int D, int BC>
struct WgTile {
    static constexpr int QBYTES = WG_BR * D * 2;
    static constexpr int KVBYTES = BC * D * 2;       /* one K or V tile */
    static constexpr size_t SMEM = 1024 + QBYTES + 4 * KVBYTES; /* + slack to align to 1024 */
    static constexpr int CPR = D / 8;                /* 16-byte chunks per row */
    static constexpr int RPP = WG_THREADS / CPR;     /* rows per pass of the CTA's copies */
    static_assert(RPP % 8 == 0, "a thread's rows share (row & 7): one swizzled offset");
    static_assert(BC % RPP == 0 && WG_BR % RPP == 0, "whole passes per tile");
    static_assert(BC % 16 == 0 && BC <= 256 && (D == 64 || D == 128), "tile shape");
};

/* ROWS rows of a (rows x D) matrix into a swizzled tile by 16-byte cp.async: this thread's
 * chunks are rows r0 + i·RPP of chunk column ct, at s + i·RPP·128 (the swizzle of rows r0 and
 * r0 + i·RPP agree, RPP being a multiple of 8), from g + i·RPP·D. Rows i·RPP >= valid are
 * zero-filled (source size 0, reading g0, which exists). */
template <int D, int ROWS>
__device__ __forceinline__ void copy_tile(unsigned char *s, const bf16 *g, const bf16 *g0,
                                          int valid)
{
    constexpr int RPP = WG_THREADS / (D / 8);
#pragma unroll
    for (int i = 0; i < ROWS / RPP; ++i) {
        const bool ok = i * RPP < valid;
        cp_async_16_zfill(s + i * RPP * 128, ok ? g + (size_t)i * RPP * D : g0, ok ? 16 : 0);
    }
}

/* The same for a tile wholly inside the matrix: plain copies, no per-copy select. */
template <int D, int ROWS>
__device__ __forceinline__ void copy_tile_full(unsigned char *s, const bf16 *g)
{
    constexpr int RPP = WG_THREADS / (D / 8);
#pragma unroll
    for (int i = 0; i < ROWS / RPP; ++i) cp_async_16(s + i * RPP * 128, g + (size_t)i * RPP * D);
}

/* Descriptors are built once per tile base and stepped by adding (bytes >> 4) to the start
 * address field (wgmma.cuh), by compile-time constants in the loops.
 * K-major operand (Q or K: rows of D elements): 8-row atoms 1024 bytes apart (SBO), LBO unused
 * when swizzled; k16 step ks is column block ks / 4 (ROWS·128 bytes on), 32 bytes a step inside
 * its 128-byte rows. */
template <int ROWS>
__device__ __forceinline__ constexpr uint64_t kmajor_step(int ks)
{
    return (uint64_t)(((ks >> 2) * ROWS * 128 + (ks & 3) * 32) >> 4);
}
__device__ __forceinline__ uint64_t kmajor_desc(const unsigned char *tile)
{
#ifndef ATTN_PLANT_WGMMA_SBO
    constexpr uint32_t SBO = 1024;
#else /* planted bug: the 8-row atoms taken as 512 bytes apart */
    constexpr uint32_t SBO = 512;
#endif
#ifndef ATTN_PLANT_WGMMA_SWIZZLE
    constexpr wgmma_swizzle_t SW = WGMMA_SWIZZLE_128B;
#else /* planted bug: the 64-byte swizzle for tiles stored with the 128-byte one */
    constexpr wgmma_swizzle_t SW = WGMMA_SWIZZLE_64B;
#endif
    return wgmma_desc(tile, 16, SBO, SW);
}

/* MN-major V (keys x D, D contiguous): LBO = one 64-column block to the next, SBO = one 8-key
 * atom to the next; k16 step kk (keys 16kk..) is 16 rows of 128 bytes on. */
template <int BC>
__device__ __forceinline__ uint64_t vdesc(const unsigned char *tile)
{
    return wgmma_desc(tile, BC * 128, 1024, WGMMA_SWIZZLE_128B);
}
__device__ __forceinline__ constexpr uint64_t v_step(int kk) { return (uint64_t)(kk * 16 * 128 >> 4); }


/* The CTA's key tiles: [jt0, jt1) hold a key visible to one of rows q0..qlast, [u0, u1) are
 * whole in every row's range (keys [lo, hi) visible to row i are monotone in i). False when no
 * row sees a key (uniform across the CTA). */
template <int BC>
__device__ __forceinline__ bool wg_key_tiles(const mhsa_problem_t &p, int b, int q0, int qlast,
                                             int &jt0, int &jt1, int &u0, int &u1)
{
    int lo0, hi0, lo1, hi1;
    mhsa_row_keys(p, b, q0, lo0, hi0);
    mhsa_row_keys(p, b, qlast, lo1, hi1);
    hi1 = min(hi1, p.Nk); /* a row seeing nothing has hi = lo, which may lie past Nk */
    if (hi1 <= lo0) return false;
    jt0 = lo0 / BC, jt1 = (hi1 + BC - 1) / BC;
    u0 = (lo1 + BC - 1) / BC, u1 = hi0 / BC;
    return true;
}

/* O = 0 for the CTA's rows (no visible key), by `nthreads` threads. */
template <int D>
__device__ __forceinline__ void wg_zero_rows(bf16 *Og, int q0, int Nq, int tid, int nthreads)
{
    for (int i = tid; i < WG_BR * (D / 8); i += nthreads) {
        const int r = i / (D / 8), cc = (i % (D / 8)) * 8;
        if (q0 + r < Nq)
            *reinterpret_cast<uint4 *>(Og + (size_t)(q0 + r) * D + cc) = make_uint4(0, 0, 0, 0);
    }
}

/* A consumer warpgroup's 64 rows: accumulators (touched through operator[] only, since the
 * emulator checks each access against the wgmmas in flight, and fenced as operands around every
 * issue and wait so that the compiler moves no access across them), the online softmax's m and
 * l, P_{j-1} as the A fragments of its k16 steps, and this thread's rows 16wi + g + 8r. */
template <int D, int BC>
struct WgRows {
    static constexpr int NS = BC / 8, NO = D / 8, KD = D / 16, KB = BC / 16;
    wgmma_acc<BC> sacc;
    wgmma_acc<D> oacc;
    float m[2], l[2];
    uint32_t pa[KB][4];
    int row0, rlo[2], rhi[2];

    __device__ __forceinline__ void init(const mhsa_problem_t &p, int b, int row)
    {
#pragma unroll
        for (int i = 0; i < D / 2; ++i) oacc[i] = 0.0f;
        m[0] = m[1] = -INFINITY;
        l[0] = l[1] = 0.0f;
        row0 = row;
        mhsa_row_keys(p, b, row0, rlo[0], rhi[0]);
        mhsa_row_keys(p, b, row0 + 8, rlo[1], rhi[1]);
    }

    /* S_j = Q·K_jᵀ, one commit group (Q: a tile of WG_BR rows) */
    __device__ __forceinline__ void issue_s(uint64_t dq, uint64_t dk)
    {
        wgmma_fence_operand(sacc);
        wgmma_fence_operand(oacc);
        wgmma_fence();
#pragma unroll
        for (int ks = 0; ks < KD; ++ks) {
            wgmma_ss_bf16<BC, 0, 0>(sacc, dq + kmajor_step<WG_BR>(ks), dk + kmajor_step<BC>(ks),
                                    ks > 0);
#ifdef ATTN_PLANT_WGMMA_SERIAL /* planted (compiled by tests/mhsa only, never run): an extern
            call in the kernel, after which ptxas serializes every wgmma */
            if (row0 < 0) printf("never\n");
#endif
        }
        wgmma_commit_group();
    }

    /* O += P_{j-1}·V, one commit group */
    __device__ __forceinline__ void issue_pv(uint64_t dv)
    {
#pragma unroll
        for (int kk = 0; kk < KB; ++kk) wgmma_rs_bf16<D, 1>(oacc, pa[kk], dv + v_step(kk), 1);
        wgmma_commit_group();
    }

    /* S_j has landed (P·V_{j-1} may be in flight): the edge tiles' mask, the softmax step, then
     * (once P·V_{j-1} has landed) O *= alpha_j and P_j into A fragments (the m16n8 C -> A trick).
     * Element e of n8 tile n: row row0 + 8(e >> 1), key 8n + 2t + (e & 1) of the tile. */
    __device__ __forceinline__ void softmax(int j, bool edge, int t, float c)
    {
        wgmma_fence_operand(sacc);
        float s[NS][4]; /* S_j, then P_j */
#pragma unroll
        for (int i = 0; i < BC / 2; ++i) s[i >> 2][i & 3] = sacc[i];
        if (edge) {
            const int k0 = j * BC + 2 * t;
#pragma unroll
            for (int n = 0; n < NS; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    const int key = k0 + 8 * n + (e & 1);
                    if (key < rlo[e >> 1] || key >= rhi[e >> 1]) s[n][e] = -INFINITY;
                }
        }
        float alpha[2];
        flash_softmax_ex2_alpha(s, m, l, c, alpha);
#ifndef ATTN_PLANT_WGMMA_WAIT
        wgmma_wait_group<0>();
#endif
        wgmma_fence_operand(oacc);
#pragma unroll
        for (int i = 0; i < D / 2; ++i) oacc[i] *= alpha[(i >> 1) & 1]; /* rows g, g + 8 */
#pragma unroll
        for (int kk = 0; kk < KB; ++kk) {
            pa[kk][0] = pack_bf16x2(s[2 * kk][0], s[2 * kk][1]);
            pa[kk][1] = pack_bf16x2(s[2 * kk][2], s[2 * kk][3]);
            pa[kk][2] = pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]);
            pa[kk][3] = pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3]);
        }
    }

    /* the last tile's P·V issued on V at dv, then O / l (0 where l = 0), 4-byte stores */
    __device__ __forceinline__ void finish(uint64_t dv, bf16 *Og, int Nq, int t)
    {
        wgmma_fence_operand(oacc);
        wgmma_fence();
        issue_pv(dv);
        wgmma_wait_group<0>();
        wgmma_fence_operand(oacc);
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float lr = l[r];
            lr += __shfl_xor_sync(0xffffffffu, lr, 1);
            lr += __shfl_xor_sync(0xffffffffu, lr, 2);
            const float inv = lr > 0.0f ? 1.0f / lr : 0.0f;
            const int row = row0 + 8 * r;
            if (row < Nq) {
                bf16 *orow = Og + (size_t)row * D + 2 * t;
#pragma unroll
                for (int n = 0; n < NO; ++n)
                    *reinterpret_cast<uint32_t *>(orow + 8 * n) =
                        pack_bf16x2(oacc[4 * n + 2 * r] * inv, oacc[4 * n + 2 * r + 1] * inv);
            }
        }
    }
};

} // namespace

/* grid (⌈Nq/128⌉, H, B), block 256, dynamic smem WgTile<D, BC>::SMEM. p.window already clamped
 * by the launcher; c = scale·log2(e) > 0. */
template <int D, int BC>
__global__ void __launch_bounds__(WG_THREADS, 1)
mhsa_fused_wgmma_kernel(const bf16 *__restrict__ Q, const bf16 *__restrict__ K,
                        const bf16 *__restrict__ V, bf16 *__restrict__ O, const mhsa_problem_t p,
                        float c)
{
    using T = WgTile<D, BC>;

    ATTN_DYNAMIC_SMEM(smem_raw);
    /* 1024-byte aligned base: the swizzle pattern repeats on 1024-byte atoms */
    unsigned char *Qs = smem_raw + ((1024 - ((uintptr_t)smem_raw & 1023)) & 1023);
    unsigned char *Ks = Qs + T::QBYTES;          /* + buf·KVBYTES */
    unsigned char *Vs = Ks + 2 * T::KVBYTES;     /* + buf·KVBYTES */

    const int tid = threadIdx.x, wg = tid >> 7, lane = tid & 31, wi = (tid >> 5) & 3;
    const int g = lane >> 2, t = lane & 3;

    /* causal: the longest rows (last query tiles) go first, for load balance */
    const int qt = p.causal ? (int)(gridDim.x - 1 - blockIdx.x) : (int)blockIdx.x;
    const int q0 = qt * WG_BR, qlast = min(q0 + WG_BR, p.Nq) - 1;
    const int h = blockIdx.y, b = blockIdx.z;
    const size_t bh = (size_t)b * p.H + h, bhkv = (size_t)b * p.Hkv + h / (p.H / p.Hkv);
    bf16 *Og = O + bh * p.Nq * D;

    int jt0, jt1, u0, u1;
    if (!wg_key_tiles<BC>(p, b, q0, qlast, jt0, jt1, u0, u1)) {
        wg_zero_rows<D>(Og, q0, p.Nq, tid, WG_THREADS);
        return;
    }

    /* copies: chunk column ct of rows rt + i·RPP */
    const int rt = tid / T::CPR, ct = tid % T::CPR;
    const int soff = swz<BC>(rt, ct); /* the same for Q's 128 rows: column blocks differ */
    const size_t kv0 = bhkv * p.Nk * D + ct * 8;
    auto load = [&](const bf16 *X, unsigned char *S, int j, int buf) { /* X's tile j */
        unsigned char *s = S + buf * T::KVBYTES + soff;
        const bf16 *g = X + kv0 + ((size_t)j * BC + rt) * D;
        if ((j + 1) * BC <= p.Nk) copy_tile_full<D, BC>(s, g);
        else copy_tile<D, BC>(s, g, X + kv0, p.Nk - j * BC - rt);
    };
    auto load_k = [&](int j, int buf) { load(K, Ks, j, buf); };
    auto load_v = [&](int j, int buf) { load(V, Vs, j, buf); };
    {
        const bf16 *Qt = Q + bh * p.Nq * D + ct * 8;
        copy_tile<D, WG_BR>(Qs + swz<WG_BR>(rt, ct), Qt + ((size_t)q0 + rt) * D, Qt,
                            p.Nq - q0 - rt);
    }
    load_k(jt0, 0);
    cp_async_commit(); /* group: Q, K_jt0 */
    load_v(jt0, 0);
    cp_async_commit(); /* group: V_jt0 */

    WgRows<D, BC> w;
    w.init(p, b, q0 + wg * 64 + wi * 16 + g);

    /* descriptors of this warpgroup's 64 Q rows and of buffer 0 of K and V; buffer 1 is
     * KVBYTES >> 4 on */
    const uint64_t dq = kmajor_desc(Qs + wg * 64 * 128), dk0 = kmajor_desc(Ks),
                   dv0 = vdesc<BC>(Vs);
    constexpr uint64_t DBUF = T::KVBYTES >> 4;
    for (int j = jt0; j < jt1; ++j) {
        const int buf = (j - jt0) & 1;
        /* 1. K_j (and V_{j-1}) landed, visible to the async proxy and to every thread */
        cp_async_wait<1>();
        fence_proxy_async_shared();
        __syncthreads();
        /* 2. K_{j+1} into the other buffer; a group even when empty, so the waits count alike */
        if (j + 1 < jt1) load_k(j + 1, buf ^ 1);
        cp_async_commit();
        /* 3. S_j = Q·K_jᵀ; 4. O += P_{j-1}·V_{j-1}, in flight during this tile's softmax */
        w.issue_s(dq, dk0 + buf * DBUF);
        if (j > jt0) {
            w.issue_pv(dv0 + (buf ^ 1) * DBUF);
            wgmma_wait_group<1>();
        } else {
            wgmma_wait_group<0>();
        }
        /* 5., 6. mask, softmax; O landed: rescale it, pack P_j */
        w.softmax(j, j < u0 || j >= u1, t, c);
        /* 7. every warpgroup's P_{j-1}·V_{j-1} is done: V_{j+1} into that buffer */
        __syncthreads();
        if (j + 1 < jt1) load_v(j + 1, buf ^ 1);
        cp_async_commit();
    }
    /* the last tile's P·V: its V landed, visible to the async proxy and every thread */
    cp_async_wait<0>();
    fence_proxy_async_shared();
    __syncthreads();
    w.finish(dv0 + ((jt1 - 1 - jt0) & 1) * DBUF, Og, p.Nq, t);
}

/* fused-wgmma-tma: the same consumer warpgroups fed by TMA. Warpgroup 0 is the producer: it
 * gives up registers (setmaxnreg.dec 24) and one thread issues every load, Q once then K_j and
 * V_j into two stages each, as soon as the consumers have released the stage; warpgroups 1 and 2
 * take the registers (setmaxnreg.inc 240: 128·24 + 256·240 <= 64K) and run fused-wgmma's loop
 * with mbarrier waits in place of cp.async waits and __syncthreads:
 *   full[s]   one arrival (the producer's expect_tx) + the stage's bytes: the tile has landed
 *   empty[s]  one arrival per consumer warp (8): the tile's last wgmma has completed
 * K_j's stage is released once S_j has landed, V_{j-1}'s once P_{j-1}·V_{j-1} has. The tensor
 * maps are 3-D, (d, N, B·H): a box reaching past N reads zeros, never the next head's rows.
 *
 * fused-wgmma-tma-pp (PP): the consumers take turns issuing a tile's wgmmas (FA3's ping-pong), so
 * that one's softmax runs while the other's S and P·V keep the tensor cores busy:
 *   turn[w]   one arrival per thread of the other warpgroup (128): it has issued this tile's
 *             wgmmas
 * warpgroup 1 goes first (a fresh mbarrier passes parity 1), 2 waits for 1's first turn. */
template <int D, int BC>
struct WgTmaTile {
    static constexpr int QBYTES = WG_BR * D * 2;
    static constexpr int KVBYTES = BC * D * 2;
    static constexpr int NBAR = 11; /* qfull, kfull[2], vfull[2], kempty[2], vempty[2], turn[2] */
    static constexpr size_t SMEM = 1024 + QBYTES + 4 * KVBYTES + NBAR * 8;
};
constexpr int WG_TMA_THREADS = 384; /* producer + two consumer warpgroups */

template <int D, int BC, bool PP>
__global__ void __launch_bounds__(WG_TMA_THREADS, 1)
mhsa_fused_wgmma_tma_kernel(const __grid_constant__ CUtensorMap qmap,
                            const __grid_constant__ CUtensorMap kmap,
                            const __grid_constant__ CUtensorMap vmap, bf16 *__restrict__ O,
                            const mhsa_problem_t p, float c)
{
    using T = WgTmaTile<D, BC>;
    ATTN_DYNAMIC_SMEM(smem_raw);
    unsigned char *Qs = smem_raw + ((1024 - ((uintptr_t)smem_raw & 1023)) & 1023);
    unsigned char *Ks = Qs + T::QBYTES;      /* + stage·KVBYTES */
    unsigned char *Vs = Ks + 2 * T::KVBYTES; /* + stage·KVBYTES */
    uint64_t *bar = reinterpret_cast<uint64_t *>(Vs + 2 * T::KVBYTES);
    uint64_t *qfull = bar, *kfull = bar + 1, *vfull = bar + 3, *kempty = bar + 5,
             *vempty = bar + 7, *turn = bar + 9;

    const int tid = threadIdx.x, wg = tid >> 7, lane = tid & 31, wi = (tid >> 5) & 3;
    const int qt = p.causal ? (int)(gridDim.x - 1 - blockIdx.x) : (int)blockIdx.x;
    const int q0 = qt * WG_BR, qlast = min(q0 + WG_BR, p.Nq) - 1;
    const int h = blockIdx.y, b = blockIdx.z;
    const int bh = b * p.H + h, bhkv = b * p.Hkv + h / (p.H / p.Hkv);
    bf16 *Og = O + (size_t)bh * p.Nq * D;

    int jt0, jt1, u0, u1;
    if (!wg_key_tiles<BC>(p, b, q0, qlast, jt0, jt1, u0, u1)) {
        wg_zero_rows<D>(Og, q0, p.Nq, tid, WG_TMA_THREADS);
        return;
    }
    if (tid == 0) {
        mbar_init(qfull, 1);
        for (int s = 0; s < 2; ++s) {
            mbar_init(&kfull[s], 1);
            mbar_init(&vfull[s], 1);
            mbar_init(&kempty[s], 8);
            mbar_init(&vempty[s], 8);
            if (PP) mbar_init(&turn[s], 128);
        }
        fence_mbarrier_init();
    }
    __syncthreads();

    if (wg == 0) { /* the producer */
        setmaxnreg_dec<24>();
        if (tid == 0) {
            mbar_arrive_expect_tx(qfull, T::QBYTES);
#pragma unroll
            for (int cb = 0; cb < D / 64; ++cb)
                tma_load_3d(Qs + cb * WG_BR * 128, &qmap, cb * 64, q0, bh, qfull);
            /* use u of stage s waits for the consumers' release of use u - 1 (a fresh
             * mbarrier passes parity 1 at once: the first use does not wait) */
            for (int j = jt0; j < jt1; ++j) {
                const int s = (j - jt0) & 1, par = (((j - jt0) >> 1) & 1) ^ 1;
                mbar_wait(&kempty[s], par);
#ifndef ATTN_PLANT_WGMMA_TMA_BYTES
                mbar_arrive_expect_tx(&kfull[s], T::KVBYTES);
#else /* planted bug: K's bytes announced for half the tile */
                mbar_arrive_expect_tx(&kfull[s], T::KVBYTES / 2);
#endif
#pragma unroll
                for (int cb = 0; cb < D / 64; ++cb)
                    tma_load_3d(Ks + s * T::KVBYTES + cb * BC * 128, &kmap, cb * 64, j * BC,
                                bhkv, &kfull[s]);
                mbar_wait(&vempty[s], par);
                mbar_arrive_expect_tx(&vfull[s], T::KVBYTES);
#pragma unroll
                for (int cb = 0; cb < D / 64; ++cb)
                    tma_load_3d(Vs + s * T::KVBYTES + cb * BC * 128, &vmap, cb * 64, j * BC,
                                bhkv, &vfull[s]);
            }
        }
        return;
    }
    setmaxnreg_inc<240>();

    const int cw = wg - 1, g = lane >> 2, t = lane & 3;
    WgRows<D, BC> w;
    w.init(p, b, q0 + cw * 64 + wi * 16 + g);
    const uint64_t dq = kmajor_desc(Qs + cw * 64 * 128), dk0 = kmajor_desc(Ks),
                   dv0 = vdesc<BC>(Vs);
    constexpr uint64_t DBUF = T::KVBYTES >> 4;
    /* this warp's release of a stage, once every thread of it has waited for its wgmmas */
    auto release = [&](uint64_t *empty) {
        __syncwarp();
        if (lane == 0) mbar_arrive(empty);
    };
    mbar_wait(qfull, 0);
    for (int j = jt0; j < jt1; ++j) {
        const int i = j - jt0, s = i & 1;
#ifndef ATTN_PLANT_WGMMA_TMA_PARITY
        mbar_wait(&kfull[s], (i >> 1) & 1);
#else /* planted bug: the parity of the stage's previous use, which has completed already */
        mbar_wait(&kfull[s], ((i >> 1) & 1) ^ 1);
#endif
        if (j > jt0) mbar_wait(&vfull[(i - 1) & 1], ((i - 1) >> 1) & 1);
#ifndef ATTN_PLANT_WGMMA_PP_TURN
        if (PP) mbar_wait(&turn[cw], (i & 1) ^ (cw == 0)); /* this warpgroup's turn */
#else /* planted bug: both warpgroups wait for the other to go first */
        if (PP) mbar_wait(&turn[cw], i & 1);
#endif
        w.issue_s(dq, dk0 + s * DBUF);
        if (j > jt0) {
            const int sp = (i - 1) & 1;
            w.issue_pv(dv0 + sp * DBUF);
#ifdef ATTN_PLANT_WGMMA_TMA_RELEASE /* planted bug: V_{j-1} released while P·V_{j-1} reads it */
            release(&vempty[sp]);
#endif
        }
        if (j > jt0) wgmma_wait_group<1>();
        else wgmma_wait_group<0>();
        if (PP) mbar_arrive(&turn[cw ^ 1]); /* the other's turn */
        release(&kempty[s]); /* S_j has landed: K_j is read */
        w.softmax(j, j < u0 || j >= u1, t, c);
#ifndef ATTN_PLANT_WGMMA_TMA_RELEASE
        if (j > jt0) release(&vempty[(i - 1) & 1]); /* P_{j-1}·V_{j-1} has landed */
#endif
    }
    const int i = jt1 - 1 - jt0, s = i & 1;
    mbar_wait(&vfull[s], (i >> 1) & 1);
    w.finish(dv0 + s * DBUF, Og, p.Nq, t);
}

extern "C" const char *mhsa_fused_wgmma_supports(const mhsa_problem_t *p)
{
    static thread_local char why[128];
    if (p->d != 64 && p->d != 128) {
        std::snprintf(why, sizeof why, "fused-wgmma supports d in {64, 128} (d=%d)", p->d);
        return why;
    }
    if (const char *no = mhsa_fused_supports(p)) return no; /* the rest as fused */
    int dev = 0, major = 0, minor = 0;
    if (cudaGetDevice(&dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev) != cudaSuccess ||
        cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, dev) != cudaSuccess) {
        (void)cudaGetLastError();
        return "fused-wgmma: no CUDA device to ask its compute capability";
    }
    if (major != 9 || minor != 0) {
        std::snprintf(why, sizeof why,
                      "fused-wgmma runs on compute capability 9.0 only (sm_90a code; this "
                      "device is %d.%d)",
                      major, minor);
        return why;
    }
    return NULL;
}

/* A window wider than any |key − (query + diag)| masks nothing: clamped so that the kernel's
 * row + diag ± window stays far from int overflow. */
static mhsa_problem_t wg_clamped(const mhsa_problem_t *p)
{
    mhsa_problem_t pk = *p;
    const long long reach = (long long)p->Nq + p->Nk + llabs((long long)p->diag);
    if (pk.window > reach) pk.window = (int)(reach + 1);
    return pk;
}

/* beyond 48 KB of shared memory needs an opt-in, once per kernel */
template <typename F>
static int wg_smem_opt_in(F *kernel, size_t smem, bool &done)
{
    if (!done) {
        ATTN_TRY(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                      (int)smem));
        done = true;
    }
    return 0;
}

template <int D, int BC>
static int mhsa_fused_wgmma_launch_d(const mhsa_problem_t *p, const bf16 *Q, const bf16 *K,
                                     const bf16 *V, bf16 *O, cudaStream_t stream)
{
    constexpr size_t smem = WgTile<D, BC>::SMEM;
    static bool opted = false;
    if (int e = wg_smem_opt_in(mhsa_fused_wgmma_kernel<D, BC>, smem, opted)) return e;
    const dim3 grid(ATTN_CEIL_DIV(p->Nq, WG_BR), p->H, p->B);
    return ATTN_LAUNCH((mhsa_fused_wgmma_kernel<D, BC>), grid, WG_THREADS, smem, stream, Q, K, V,
                       O, wg_clamped(p), p->scale * WG_LOG2E);
}

/* The checks and pointers both launchers share; 0 or the error to return. */
static int wg_args(const mhsa_problem_t *p, const mhsa_tensors_t *t, const char *who)
{
    if (int e = attn_refuse(mhsa_fused_wgmma_supports(p), who)) return e;
    return attn_require_align16((uintptr_t)t->q | (uintptr_t)t->k | (uintptr_t)t->v |
                                    (uintptr_t)t->o,
                                "q, k, v, o", who);
}

/* 128 query rows (two warpgroups) x 128-key tiles at d = 64 and 128: S 64 and O 32 or 64
 * fp32 registers a thread, P 32. */
extern "C" int mhsa_fused_wgmma_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t,
                                       void *ws, attn_stream_t stream)
{
    (void)ws; /* no workspace */
    if (int e = wg_args(p, t, "mhsa_fused_wgmma_launch")) return e;
    const bf16 *Q = static_cast<const bf16 *>(t->q);
    const bf16 *K = static_cast<const bf16 *>(t->k);
    const bf16 *V = static_cast<const bf16 *>(t->v);
    bf16 *O = static_cast<bf16 *>(t->o);
    if (p->d == 64) return mhsa_fused_wgmma_launch_d<64, 128>(p, Q, K, V, O, stream);
    return mhsa_fused_wgmma_launch_d<128, 128>(p, Q, K, V, O, stream);
}

/* A 3-D map of (d, rows, heads) over X, boxes of 64 columns (128 bytes: the 128B swizzle's
 * span) x box_rows x 1. */
template <int D>
static int wg_map(CUtensorMap *m, const void *X, int rows, int heads, int box_rows,
                  const char *who)
{
    const uint64_t dims[3] = {(uint64_t)D, (uint64_t)rows, (uint64_t)heads};
    const uint64_t strides[2] = {(uint64_t)D * 2, (uint64_t)rows * D * 2};
    const uint32_t box[3] = {64, (uint32_t)box_rows, 1};
    return tma_encode(m, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, 3, X, dims, strides, box,
                      CU_TENSOR_MAP_SWIZZLE_128B, who);
}

template <int D, int BC, bool PP>
static int mhsa_fused_wgmma_tma_launch_d(const mhsa_problem_t *p, const mhsa_tensors_t *t,
                                         cudaStream_t stream, const char *who)
{
    constexpr size_t smem = WgTmaTile<D, BC>::SMEM;
    static bool opted = false;
    if (int e = wg_smem_opt_in(mhsa_fused_wgmma_tma_kernel<D, BC, PP>, smem, opted)) return e;
    CUtensorMap qm, km, vm;
    if (int e = wg_map<D>(&qm, t->q, p->Nq, p->B * p->H, WG_BR, who)) return e;
    if (int e = wg_map<D>(&km, t->k, p->Nk, p->B * p->Hkv, BC, who)) return e;
    if (int e = wg_map<D>(&vm, t->v, p->Nk, p->B * p->Hkv, BC, who)) return e;
    const dim3 grid(ATTN_CEIL_DIV(p->Nq, WG_BR), p->H, p->B);
    return ATTN_LAUNCH((mhsa_fused_wgmma_tma_kernel<D, BC, PP>), grid, WG_TMA_THREADS, smem, stream,
                       qm, km, vm, static_cast<bf16 *>(t->o), wg_clamped(p),
                       p->scale * WG_LOG2E);
}

/* The TMA kernels at d = 64 and 128, after the checks both launchers share. */
template <bool PP>
static int wg_tma_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, attn_stream_t stream,
                         const char *who)
{
    if (int e = wg_args(p, t, who)) return e;
    if (p->d == 64) return mhsa_fused_wgmma_tma_launch_d<64, 128, PP>(p, t, stream, who);
    return mhsa_fused_wgmma_tma_launch_d<128, 128, PP>(p, t, stream, who);
}

/* fused-wgmma's shapes, fed by TMA and a producer warpgroup (no workspace) */
extern "C" int mhsa_fused_wgmma_tma_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t,
                                           void *ws, attn_stream_t stream)
{
    (void)ws;
    return wg_tma_launch<false>(p, t, stream, "mhsa_fused_wgmma_tma_launch");
}

/* fused-wgmma-tma with the consumers taking turns at the tensor cores (no workspace) */
extern "C" int mhsa_fused_wgmma_tma_pp_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t,
                                              void *ws, attn_stream_t stream)
{
    (void)ws;
    return wg_tma_launch<true>(p, t, stream, "mhsa_fused_wgmma_tma_pp_launch");
}
