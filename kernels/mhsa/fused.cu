/* mhsa fused variant: FlashAttention-2 style forward in one pass, bf16 in/out, fp32 accumulate,
 * raw mma.sync.m16n8k16 through the wrappers in common/mma.cuh (fragment layouts documented there).
 *
 *   mhsa_fused_kernel<D, MT>  one CTA = Br = 64·MT query rows of one (b, h), 4 warps × 16·MT
 *                          rows; loops over the Tc key tiles of Bc = 64 keys not fully masked
 *   mhsa_fused_launch      MT = 1 (64-row tiles, Q in registers), D in {64, 128}
 *   mhsa_fused_br128_launch  MT = 2 (128-row tiles: each K/V fragment feeds two m16 tiles; Q
 *                          fragments reloaded from shared memory per key tile)
 *
 * Per key tile j (K_j, V_j double-buffered in shared memory by cp.async, the load of tile j+1
 * overlapping the maths of tile j):
 *   S = Q·K_jᵀ                        mma, Q held in registers as A fragments for the whole loop
 *   S = S·scale·log2(e), masked -> -inf   (causal key > query, key >= kv_len[b], key >= Nk)
 *   m_new = max(m, rowmax S); P = exp2(S - m_new); l = exp2(m - m_new)·l + rowsum P
 *   O = exp2(m - m_new)·O + P·V_j     P goes from the S accumulators straight to A fragments
 * then O /= l (a row with no unmasked key has l = 0 and writes 0). No N x N matrix leaves the SM.
 *
 * Shared memory rows are padded by 16 bytes (pitch D + 8 elements): the 8 row addresses of every
 * ldmatrix then fall in 8 distinct 16-byte bank groups. Q: Br x (D+8), K and V: 2 x 64 x (D+8)
 * each; MT = 1: 45 KB for D = 64, 85 KB for D = 128; MT = 2: 54 KB and 102 KB. */
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>

#include "launch.cuh"
#include "mhsa_kernels.h"
#include "flash.cuh"
#include "mma.cuh"

typedef __nv_bfloat16 bf16;

namespace {

constexpr int Bc = 64;                 /* keys per tile */
constexpr int WARPS = 4;
constexpr int THREADS = WARPS * 32;
constexpr float LOG2E = 1.4426950408889634f;

/* MT m16 row tiles per warp: Br = 64·MT query rows per CTA. MT = 1 holds Q in registers for the
 * whole loop; MT = 2 (fused-br128) reloads Q fragments from shared memory at every key tile
 * (registers go to the second tile's S and O instead) and feeds every K and V fragment it loads
 * to two MMAs, halving shared-memory reads per FLOP. */
template <int D, int MT>
struct FusedTile {
    static constexpr int Br = WARPS * 16 * MT;             /* query rows per CTA */
    static constexpr int LD = D + 8;                       /* padded pitch, elements */
    static constexpr int QELEMS = Br * LD;                 /* the Q tile */
    static constexpr int KVELEMS = Bc * LD;                /* one K or V tile */
    static constexpr size_t SMEM = (size_t)(QELEMS + 4 * KVELEMS) * sizeof(bf16); /* Q, K[2], V[2] */
    static constexpr int CPR = D / 8;                      /* 16-byte chunks per row */
};

/* Rows row0..row0+ROWS-1 of a (rows x D) matrix into a padded smem tile; rows >= nrows become
 * zeros (plain stores, no global access). Caller commits the cp.async group. */
template <int D, int ROWS>
__device__ __forceinline__ void load_tile_async(bf16 *s, const bf16 *g, int row0, int nrows, int tid)
{
    constexpr int LD = D + 8, CPR = D / 8;
    static_assert((ROWS * CPR) % THREADS == 0, "whole chunks per thread");
#pragma unroll
    for (int i = 0; i < ROWS * CPR / THREADS; ++i) {
        const int c = tid + i * THREADS;
        const int r = c / CPR, cc = (c % CPR) * 8;
        bf16 *dst = s + r * LD + cc;
        if (row0 + r < nrows)
            cp_async_16(dst, g + (size_t)(row0 + r) * D + cc);
        else
            *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
    }
}

} // namespace

/* grid (Tr, H, B), block 128, dynamic smem FusedTile<D, MT>::SMEM. scale_log2 = scale·log2(e). */
template <int D, int MT>
__global__ void __launch_bounds__(THREADS)
mhsa_fused_kernel(const bf16 *__restrict__ Q, const bf16 *__restrict__ K,
                  const bf16 *__restrict__ V, bf16 *__restrict__ O, const int *__restrict__ kv_len,
                  int H, int Nq, int Nk, int causal, float scale_log2)
{
    using T = FusedTile<D, MT>;
    constexpr int Br = T::Br, LD = T::LD, KVELEMS = T::KVELEMS, CPR = T::CPR;
    constexpr int KD = D / 16;  /* k16 steps over d (S = Q·Kᵀ), also n16 pairs of d (O) */
    constexpr int NS = Bc / 8;  /* n8 tiles of S per m16 tile */
    constexpr int NO = D / 8;   /* n8 tiles of O per m16 tile */
    constexpr bool Q_IN_REGS = MT == 1;

    ATTN_DYNAMIC_SMEM(smem_raw);
    bf16 *Qs = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Ks = Qs + T::QELEMS;    /* Ks + buf·KVELEMS, buf in {0, 1} */
    bf16 *Vs = Ks + 2 * KVELEMS;  /* Vs + buf·KVELEMS */

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3; /* fragment groupID / threadID_in_group */

    /* causal: the longest rows (last query tiles) go first, for load balance */
    const int qt = causal ? (int)(gridDim.x - 1 - blockIdx.x) : (int)blockIdx.x;
    const int q0 = qt * Br;
    const int h = blockIdx.y, b = blockIdx.z;
    const size_t bh = (size_t)b * H + h;
    const bf16 *Qg = Q + bh * Nq * D;
    const bf16 *Kg = K + bh * Nk * D;
    const bf16 *Vg = V + bh * Nk * D;
    bf16 *Og = O + bh * Nq * D;

    /* keys [0, kv_lim) exist and are valid; causal rows of this CTA see at most keys < q0 + Br */
    const int kv_lim = kv_len ? min(max(kv_len[b], 0), Nk) : Nk;
    const int kv_hi = causal ? min(kv_lim, q0 + Br) : kv_lim;
    const int Tc = (kv_hi + Bc - 1) / Bc; /* key tiles with at least one unmasked key */

    if (Tc == 0) { /* every key masked: O = 0 (uniform across the CTA) */
        for (int c = tid; c < Br * CPR; c += THREADS) {
            const int r = c / CPR, cc = (c % CPR) * 8;
            if (q0 + r < Nq)
                *reinterpret_cast<uint4 *>(Og + (size_t)(q0 + r) * D + cc) = make_uint4(0, 0, 0, 0);
        }
        return;
    }

    /* load tile: Q, K_0, V_0 as cp.async group 0 */
    load_tile_async<D, Br>(Qs, Qg, q0, Nq, tid);
    load_tile_async<D, Bc>(Ks, Kg, 0, Nk, tid);
    load_tile_async<D, Bc>(Vs, Vg, 0, Nk, tid);
    cp_async_commit();

    uint32_t qf[Q_IN_REGS ? KD : 1][4]; /* MT = 1: Q rows 16·warp.. as A fragments, per k16 step */
    float acc_o[MT][NO][4];  /* O accumulators, rows g and g+8 of each of this warp's m16 tiles */
    float m[MT][2], l[MT][2]; /* running max (log2 domain) and this lane's part of the row sums */
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        m[mt][0] = m[mt][1] = -INFINITY;
        l[mt][0] = l[mt][1] = 0.0f;
#pragma unroll
        for (int n = 0; n < NO; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) acc_o[mt][n][e] = 0.0f;
    }

    const int wrow0 = warp * 16 * MT; /* this warp's first row within the CTA's tile */
    /* Q A fragments: lane L addresses row (L & 15), column 8·(L >> 4) of each k16 step */
    const bf16 *qrow = Qs + (wrow0 + (lane & 15)) * LD + (lane >> 4) * 8;

    for (int j = 0; j < Tc; ++j) {
        const int buf = j & 1;
        const int kv0 = j * Bc;

        /* load tile j+1 into the other buffer (freed by the barrier ending iteration j-1), then
         * wait for tile j */
        if (j + 1 < Tc) {
            load_tile_async<D, Bc>(Ks + (buf ^ 1) * KVELEMS, Kg, kv0 + Bc, Nk, tid);
            load_tile_async<D, Bc>(Vs + (buf ^ 1) * KVELEMS, Vg, kv0 + Bc, Nk, tid);
            cp_async_commit();
            cp_async_wait<1>();
        } else {
            cp_async_wait<0>();
        }
        __syncthreads();

        if constexpr (Q_IN_REGS) {
            if (j == 0) {
#pragma unroll
                for (int ks = 0; ks < KD; ++ks) ldmatrix_x4(qf[ks], qrow + ks * 16);
            }
        }

        /* scores: S = Q·K_jᵀ, 16 x Bc per m16 tile; one ldmatrix_x4 = B fragments of two n8
         * tiles, used by every m16 tile of the warp */
        const bf16 *Kb = Ks + buf * KVELEMS;
        float s[MT][NS][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt)
#pragma unroll
            for (int n = 0; n < NS; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[mt][n][e] = 0.0f;
#ifndef ATTN_PLANT_MMA_LANE
        const bf16 *krow = Kb + ((lane & 7) + ((lane >> 4) & 1) * 8) * LD + ((lane >> 3) & 1) * 8;
#else /* planted bug: lane bits 3 and 4 swapped (V's mapping), B fragments from wrong rows */
        const bf16 *krow = Kb + ((lane & 7) + ((lane >> 3) & 1) * 8) * LD + ((lane >> 4) & 1) * 8;
#endif
#pragma unroll
        for (int ks = 0; ks < KD; ++ks) {
            uint32_t qa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                if constexpr (Q_IN_REGS) {
#pragma unroll
                    for (int e = 0; e < 4; ++e) qa[mt][e] = qf[ks][e];
                } else {
                    ldmatrix_x4(qa[mt], qrow + mt * 16 * LD + ks * 16);
                }
            }
#pragma unroll
            for (int np = 0; np < NS / 2; ++np) {
                uint32_t kf[4]; /* {b0, b1} of n-tile 2np, {b0, b1} of n-tile 2np+1 */
                ldmatrix_x4(kf, krow + np * 16 * LD + ks * 16);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    mma_m16n8k16_bf16(s[mt][2 * np], qa[mt], kf[0], kf[1]);
                    mma_m16n8k16_bf16(s[mt][2 * np + 1], qa[mt], kf[2], kf[3]);
                }
            }
        }

        /* scale to the log2 domain and mask (only tiles that touch a boundary need the test) */
        const bool need_mask = (kv0 + Bc > kv_lim) || (causal && kv0 + Bc - 1 > q0);
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            const int row_lo = q0 + wrow0 + mt * 16 + g; /* rows of c0,c1 (g) and c2,c3 (g+8) */
            const int row_hi = row_lo + 8;
#pragma unroll
            for (int n = 0; n < NS; ++n) {
#pragma unroll
                for (int e = 0; e < 4; ++e) {
                    float x = s[mt][n][e] * scale_log2;
                    if (need_mask) {
                        const int key = kv0 + n * 8 + 2 * t + (e & 1);
                        const int row = (e < 2) ? row_lo : row_hi;
                        if (key >= kv_lim || (causal && key > row)) x = -INFINITY;
                    }
                    s[mt][n][e] = x;
                }
            }
            /* online softmax update (common/flash.cuh): m, l, P = 2^(S − m), O rescaled */
            flash_online_softmax(s[mt], acc_o[mt], m[mt], l[mt]);
        }

        /* accumulate: O += P·V_j. The C fragments of n8 tiles 2kk, 2kk+1 are the A fragment of
         * keys 16kk..16kk+15 (mma.cuh); V_j key-major is row-major B, hence ldmatrix .trans */
        const bf16 *Vb = Vs + buf * KVELEMS;
        const bf16 *vrow = Vb + ((lane & 7) + ((lane >> 3) & 1) * 8) * LD + ((lane >> 4) & 1) * 8;
#pragma unroll
        for (int kk = 0; kk < Bc / 16; ++kk) {
            uint32_t pa[MT][4];
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                pa[mt][0] = pack_bf16x2(s[mt][2 * kk][0], s[mt][2 * kk][1]);
                pa[mt][1] = pack_bf16x2(s[mt][2 * kk][2], s[mt][2 * kk][3]);
                pa[mt][2] = pack_bf16x2(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
                pa[mt][3] = pack_bf16x2(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
            }
#pragma unroll
            for (int dp = 0; dp < KD; ++dp) {
                uint32_t vf[4]; /* {b0, b1} of d-tile 2dp, {b0, b1} of d-tile 2dp+1 */
                ldmatrix_x4_trans(vf, vrow + kk * 16 * LD + dp * 16);
#pragma unroll
                for (int mt = 0; mt < MT; ++mt) {
                    mma_m16n8k16_bf16(acc_o[mt][2 * dp], pa[mt], vf[0], vf[1]);
                    mma_m16n8k16_bf16(acc_o[mt][2 * dp + 1], pa[mt], vf[2], vf[3]);
                }
            }
        }
#ifndef ATTN_PLANT_CONSUMED_SYNC
        __syncthreads(); /* K_j, V_j consumed before iteration j+1 refills this buffer */
#endif
    }

    /* write back: O / l (0 where l = 0), staged through this warp's own Q rows (no other warp
     * reads them, and this warp's last read of them is behind it) so that global stores are
     * 16-byte and row-contiguous */
    bf16 *Os = Qs + wrow0 * LD;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        float inv[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float lr = l[mt][r];
            lr += __shfl_xor_sync(0xffffffffu, lr, 1);
            lr += __shfl_xor_sync(0xffffffffu, lr, 2);
            inv[r] = lr > 0.0f ? 1.0f / lr : 0.0f;
        }
#pragma unroll
        for (int n = 0; n < NO; ++n) {
            *reinterpret_cast<uint32_t *>(Os + (mt * 16 + g) * LD + n * 8 + 2 * t) =
                pack_bf16x2(acc_o[mt][n][0] * inv[0], acc_o[mt][n][1] * inv[0]);
            *reinterpret_cast<uint32_t *>(Os + (mt * 16 + g + 8) * LD + n * 8 + 2 * t) =
                pack_bf16x2(acc_o[mt][n][2] * inv[1], acc_o[mt][n][3] * inv[1]);
        }
    }
    __syncwarp();
#pragma unroll
    for (int i = 0; i < 16 * MT * CPR / 32; ++i) {
        const int c = lane + i * 32;
        const int r = c / CPR, cc = (c % CPR) * 8;
        const int row = q0 + wrow0 + r;
        if (row < Nq)
            *reinterpret_cast<uint4 *>(Og + (size_t)row * D + cc) =
                *reinterpret_cast<const uint4 *>(Os + r * LD + cc);
    }
}

extern "C" const char *mhsa_fused_supports(const mhsa_problem_t *p)
{
    static thread_local char why[96];
    if (p->B < 1 || p->H < 1 || p->Nq < 1 || p->Nk < 1) return "fused needs B, H, Nq, Nk >= 1";
    if (p->d != 64 && p->d != 128) {
        std::snprintf(why, sizeof why, "fused supports d in {64, 128} (d=%d)", p->d);
        return why;
    }
    if (p->B > 65535 || p->H > 65535) return "fused needs B, H <= 65535 (grid y/z)";
    return NULL;
}

template <int D, int MT>
static int mhsa_fused_launch_d(const mhsa_problem_t *p, const bf16 *Q, const bf16 *K,
                               const bf16 *V, bf16 *O, cudaStream_t stream)
{
    constexpr size_t smem = FusedTile<D, MT>::SMEM;
    static bool smem_attr_set = false; /* beyond 48 KB needs an opt-in, once per kernel */
    if (!smem_attr_set) {
        ATTN_TRY(cudaFuncSetAttribute(mhsa_fused_kernel<D, MT>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
        smem_attr_set = true;
    }
    constexpr int Br = FusedTile<D, MT>::Br;
    const int Tr = ATTN_CEIL_DIV(p->Nq, Br); /* query tiles */
    const dim3 grid(Tr, p->H, p->B);
    const float scale_log2 = p->scale * LOG2E;
    return ATTN_LAUNCH((mhsa_fused_kernel<D, MT>), grid, THREADS, smem, stream, Q, K, V, O,
                       p->kv_len, p->H, p->Nq, p->Nk, p->causal ? 1 : 0, scale_log2);
}

template <int MT>
static int mhsa_fused_launch_mt(const char *who, const mhsa_problem_t *p, const void *q,
                                const void *k, const void *v, void *o, attn_stream_t stream)
{
    if (int e = attn_refuse(mhsa_fused_supports(p), who)) return e;
    /* cp.async and the vector stores move 16-byte chunks of rows */
    if (int e = attn_require_align16((uintptr_t)q | (uintptr_t)k | (uintptr_t)v | (uintptr_t)o,
                                     "q, k, v, o", who))
        return e;
    const bf16 *Q = static_cast<const bf16 *>(q);
    const bf16 *K = static_cast<const bf16 *>(k);
    const bf16 *V = static_cast<const bf16 *>(v);
    bf16 *O = static_cast<bf16 *>(o);
    if (p->d == 64) return mhsa_fused_launch_d<64, MT>(p, Q, K, V, O, stream);
    return mhsa_fused_launch_d<128, MT>(p, Q, K, V, O, stream);
}

extern "C" int mhsa_fused_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    (void)ws; /* no workspace */
    return mhsa_fused_launch_mt<1>("mhsa_fused_launch", p, q, k, v, o, stream);
}

extern "C" int mhsa_fused_br128_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                       attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    (void)ws; /* no workspace */
    return mhsa_fused_launch_mt<2>("mhsa_fused_br128_launch", p, q, k, v, o, stream);
}
