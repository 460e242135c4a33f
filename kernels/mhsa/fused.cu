/* mhsa fused variants: FlashAttention-2 style forward in one pass, E in/out (E = __nv_bfloat16 or
 * __half: the bf16 and f16 rows, one template), fp32 accumulate, raw mma.sync.m16n8k16 of E
 * through the wrappers in common/mma.cuh (fragment layouts documented there, the same for both).
 *
 *   mhsa_fused_kernel<E, D, MT, BC, QKS>  one CTA = Br = 64·MT query rows of one (b, h), 4 warps ×
 *                          16·MT rows; visits the key tiles of BC keys that hold a visible key
 *   mhsa_fused_launch      MT = 2 (FA2's shape: 128-row tiles, each K/V fragment feeds two m16
 *                          tiles); BC = 64 at D = 64, 32 at D = 128 (registers: see there)
 *   mhsa_fused_br64_launch MT = 1 (64-row tiles, Q in registers), BC = 64: the step before
 *
 * Per key tile j (K_j, V_j double-buffered in shared memory by cp.async, the load of the next
 * tile overlapping the maths of this one):
 *   S = Q·K_jᵀ                        mma; Q fragments from registers (QKS k16 steps of d) or
 *                                     shared memory; masked keys: accumulators start at −∞
 *   m_new = max(m, rowmax S); P = 2^(S·c − m_new·c), c = scale·log2(e): one FFMA + one ex2
 *   l = 2^(m·c − m_new·c)·l + rowsum P; O = that factor·O + P·V_j (P from the S accumulators
 *   straight to A fragments)
 * then O /= l (a row with no visible key has l = 0 and writes 0). No N x N matrix leaves the SM.
 *
 * Visibility (mhsa_kernels.h): causal with the diagonal diag, the window, kv_len[b]; query head h
 * reads K/V head h / (H / Hkv). A CTA visits only the key tiles holding a key visible to one of
 * its rows. Tiles with a key hidden from one of its rows (the edges: window start, diagonal,
 * kv_len, Nk) go first, through a loop that masks and loads with cp.async's zero-fill form
 * (src-size 0 past Nk). The "full" tiles follow in a loop with no mask and no bounds test: plain
 * 16-byte cp.async at addresses advanced by a constant per tile. The online softmax does not
 * depend on the order of the tiles beyond rounding.
 *
 * Shared memory rows are padded by 16 bytes (pitch D + 8 elements): the 8 row addresses of every
 * ldmatrix then fall in 8 distinct 16-byte bank groups. Q: Br x (D+8), K and V: 2 x BC x (D+8)
 * each: fused 54 KB at D = 64, 68 KB at D = 128; fused-br64 45 KB and 85 KB. */
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "launch.cuh"
#include "mhsa_kernels.h"
#include "flash.cuh"
#include "mma.cuh"

namespace {

/* The element type whose mma the kernel uses: E itself, and {lo, hi} rounded to E and packed.
 * The planted bugs give an f16 kernel bf16's (tests/mhsa/fused_masks.cu: the f16 launchers, and
 * only they, then fail). */
#ifndef ATTN_PLANT_FUSED_F16_MMA
template <typename E> using MmaE = E;
#else /* planted bug: the bf16 mma on f16 data */
template <typename E> using MmaE = __nv_bfloat16;
#endif
template <typename E>
__device__ __forceinline__ uint32_t pack_e(float lo, float hi)
{
#if defined ATTN_PLANT_FUSED_F16_PACK /* planted bug: bf16's conversion into f16 registers */
    return pack_x2<__nv_bfloat16>(lo, hi);
#elif defined ATTN_PLANT_FUSED_F16_PRECISION /* planted bug: P and O at bf16's precision, caught
                                                by f16's tighter tolerance alone */
    lo = __bfloat162float(__float2bfloat16_rn(lo)), hi = __bfloat162float(__float2bfloat16_rn(hi));
    return pack_x2<E>(lo, hi);
#else
    return pack_x2<E>(lo, hi);
#endif
}

constexpr int WARPS = 4;
constexpr int THREADS = WARPS * 32;
constexpr float LOG2E = 1.4426950408889634f;

/* MT m16 row tiles per warp (Br = 64·MT query rows per CTA), BC keys per tile, the Q fragments
 * of the first QKS k16 steps of d held in registers (the rest reloaded from shared memory at
 * every key tile). With MT = 2 each K and V fragment loaded feeds two MMAs, halving
 * shared-memory reads per FLOP; registers then decide the rest (mhsa_fused_launch). */
template <int D, int MT, int BC, int QKS>
struct FusedTile {
    static constexpr int Br = WARPS * 16 * MT;             /* query rows per CTA */
    static constexpr int LD = D + 8;                       /* padded pitch, elements */
    static constexpr int QELEMS = Br * LD;                 /* the Q tile */
    static constexpr int KVELEMS = BC * LD;                /* one K or V tile */
    static constexpr size_t SMEM = (size_t)(QELEMS + 4 * KVELEMS) * 2; /* Q, K/V[2]; 16-bit */
    static constexpr int CPR = D / 8;                      /* 16-byte chunks per row */
    static constexpr int RPP = THREADS / CPR;              /* rows per pass of the CTA's copies */
    static_assert(BC % RPP == 0 && Br % RPP == 0, "whole passes per tile");
    static_assert(BC % 16 == 0 && QKS >= 0 && QKS <= D / 16, "tile shape");
};

/* ROWS rows of a (rows x D) matrix into a padded tile by 16-byte cp.async; thread tid copies the
 * chunks of column 8·(tid % CPR) in rows tid / CPR + i·RPP: g and s point at its first chunk
 * (global, shared), so every copy is at a constant offset from them. All rows exist. */
template <int D, int ROWS, typename E>
__device__ __forceinline__ void copy_rows(E *s, const E *g)
{
    constexpr int LD = D + 8, RPP = THREADS / (D / 8);
#pragma unroll
    for (int i = 0; i < ROWS / RPP; ++i) cp_async_16(s + i * RPP * LD, g + (size_t)i * RPP * D);
}

/* The same when only the thread's rows i·RPP < valid exist: the others are zero-filled by the
 * copy itself (src-size 0, reading the matrix's first row `g0` of this column, which exists). */
template <int D, int ROWS, typename E>
__device__ __forceinline__ void copy_rows_zfill(E *s, const E *g, const E *g0, int valid)
{
    constexpr int LD = D + 8, RPP = THREADS / (D / 8);
#pragma unroll
    for (int i = 0; i < ROWS / RPP; ++i) {
        const bool ok = i * RPP < valid;
        cp_async_16_zfill(s + i * RPP * LD, ok ? g + (size_t)i * RPP * D : g0, ok ? 16 : 0);
    }
}

/* What a masked tile needs to know of the problem: query row i sees key j iff
 * lo(i) <= j <= hi(i) (mhsa_kernels.h). Offsets rather than flags, so that the masked loop
 * holds no branch on causal or window (the compiler would otherwise version its body). */
struct MaskRule {
    int kv_lim;          /* keys [0, kv_lim) exist and are valid */
    int lo_off, hi_off;  /* lo(i) = i + lo_off (below 0: no bound); hi(i) = i + hi_off */
    __device__ __forceinline__ int hi(int i) const { return min(i + hi_off, kv_lim - 1); }
    __device__ __forceinline__ int lo(int i) const { return i + lo_off; }
};

/* The running state of one warp: its O accumulators, row maxima and sums, Q fragments. */
template <int D, int MT, int BC, int QKS>
struct FusedState {
    static constexpr int NO = D / 8;
    uint32_t qf[QKS ? MT * QKS : 1][4];
    float acc_o[MT][NO][4]; /* rows g and g+8 of each of this warp's m16 tiles */
    float m[MT][2], l[MT][2]; /* running max of raw scores, this lane's part of the row sums */
};

/* One key tile (keys kv0.., in Kb, Vb): S, the mask when MASKED, the softmax step, O += P·V.
 * qrow: this lane's ldmatrix row of the warp's Q rows; row0: the query row of its c0/c1. */
template <typename E, int D, int MT, int BC, int QKS, bool MASKED>
__device__ __forceinline__ void fused_tile(FusedState<D, MT, BC, QKS> &st, const E *qrow,
                                           const E *Kb, const E *Vb, int lane, float c,
                                           const MaskRule &rule, int row0, int kv0)
{
    using T = FusedTile<D, MT, BC, QKS>;
    constexpr int LD = T::LD, KD = D / 16, NS = BC / 8;

    /* S = Q·K_jᵀ (+ the mask), 16 x BC per m16 tile; one ldmatrix_x4 = B fragments of two n8
     * tiles, used by every m16 tile of the warp */
    float s[MT][NS][4];
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        if constexpr (MASKED) { /* the accumulators start at −∞ for masked keys (−∞ + finite
            products stays −∞) and at 0 for the rest: the mask costs no work after the MMAs
            and needs no predicates held across them. Element e of n-tile n: row
            row0 + 16mt + 8(e >> 1), key kv0 + 8n + 2t + (e & 1) (mma.cuh's C layout), visible
            iff 0 <= key − lo < hi − lo + 1: one unsigned compare. */
            const int t = lane & 3;
#pragma unroll
            for (int r = 0; r < 2; ++r) {
                const int row = row0 + mt * 16 + 8 * r;
                const int rlo = rule.lo(row);
                const int lo = rlo - kv0 - 2 * t;
                /* keys visible to the row; 0 when its window lies past kv_len */
                const unsigned count = (unsigned)max(rule.hi(row) - rlo + 1, 0);
#pragma unroll
                for (int n = 0; n < NS; ++n)
#pragma unroll
                    for (int e = 0; e < 2; ++e)
                        s[mt][n][2 * r + e] =
                            (unsigned)(n * 8 + e - lo) >= count ? -INFINITY : 0.0f;
            }
        } else {
#pragma unroll
            for (int n = 0; n < NS; ++n)
#pragma unroll
                for (int e = 0; e < 4; ++e) s[mt][n][e] = 0.0f;
        }
    }
#ifndef ATTN_PLANT_MMA_LANE
    const E *krow = Kb + ((lane & 7) + ((lane >> 4) & 1) * 8) * LD + ((lane >> 3) & 1) * 8;
#else /* planted bug: lane bits 3 and 4 swapped (V's mapping), B fragments from wrong rows */
    const E *krow = Kb + ((lane & 7) + ((lane >> 3) & 1) * 8) * LD + ((lane >> 4) & 1) * 8;
#endif
#pragma unroll
    for (int ks = 0; ks < KD; ++ks) {
        uint32_t qa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            if (ks < QKS) {
#pragma unroll
                for (int e = 0; e < 4; ++e) qa[mt][e] = st.qf[mt * QKS + ks][e];
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
                mma_m16n8k16<MmaE<E>>(s[mt][2 * np], qa[mt], kf[0], kf[1]);
                mma_m16n8k16<MmaE<E>>(s[mt][2 * np + 1], qa[mt], kf[2], kf[3]);
            }
        }
    }

#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        /* online softmax update (common/flash.cuh): m, l, P = 2^(S·c − m·c), O rescaled */
        flash_online_softmax_ex2(s[mt], st.acc_o[mt], st.m[mt], st.l[mt], c);
    }

    /* O += P·V_j. The C fragments of n8 tiles 2kk, 2kk+1 are the A fragment of keys
     * 16kk..16kk+15 (mma.cuh); V_j key-major is row-major B, hence ldmatrix .trans */
    const E *vrow = Vb + ((lane & 7) + ((lane >> 3) & 1) * 8) * LD + ((lane >> 4) & 1) * 8;
#pragma unroll
    for (int kk = 0; kk < BC / 16; ++kk) {
        uint32_t pa[MT][4];
#pragma unroll
        for (int mt = 0; mt < MT; ++mt) {
            pa[mt][0] = pack_e<E>(s[mt][2 * kk][0], s[mt][2 * kk][1]);
            pa[mt][1] = pack_e<E>(s[mt][2 * kk][2], s[mt][2 * kk][3]);
            pa[mt][2] = pack_e<E>(s[mt][2 * kk + 1][0], s[mt][2 * kk + 1][1]);
            pa[mt][3] = pack_e<E>(s[mt][2 * kk + 1][2], s[mt][2 * kk + 1][3]);
        }
#pragma unroll
        for (int dp = 0; dp < KD; ++dp) {
            uint32_t vf[4]; /* {b0, b1} of d-tile 2dp, {b0, b1} of d-tile 2dp+1 */
            ldmatrix_x4_trans(vf, vrow + kk * 16 * LD + dp * 16);
#pragma unroll
            for (int mt = 0; mt < MT; ++mt) {
                mma_m16n8k16<MmaE<E>>(st.acc_o[mt][2 * dp], pa[mt], vf[0], vf[1]);
                mma_m16n8k16<MmaE<E>>(st.acc_o[mt][2 * dp + 1], pa[mt], vf[2], vf[3]);
            }
        }
    }
}

} // namespace

/* grid (Tr, H, B), block 128, dynamic smem FusedTile<D, MT, BC, QKS>::SMEM. c = scale·log2(e) > 0;
 * query head h reads K/V head h / group; window already clamped by the launcher so that
 * row + diag + window cannot overflow. */
template <typename E, int D, int MT, int BC, int QKS>
__global__ void __launch_bounds__(THREADS)
mhsa_fused_kernel(const E *__restrict__ Q, const E *__restrict__ K,
                  const E *__restrict__ V, E *__restrict__ O, const int *__restrict__ kv_len,
                  int H, int Hkv, int Nq, int Nk, int causal, int diag, int window, float c)
{
    using T = FusedTile<D, MT, BC, QKS>;
    constexpr int Br = T::Br, LD = T::LD, KVELEMS = T::KVELEMS, CPR = T::CPR;

    ATTN_DYNAMIC_SMEM(smem_raw);
    E *Qs = reinterpret_cast<E *>(smem_raw);
    E *Ks = Qs + T::QELEMS;    /* Ks + buf·KVELEMS, buf in {0, 1} */
    E *Vs = Ks + 2 * KVELEMS;  /* Vs + buf·KVELEMS */

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

    /* causal: the longest rows (last query tiles) go first, for load balance */
    const int qt = causal ? (int)(gridDim.x - 1 - blockIdx.x) : (int)blockIdx.x;
    const int q0 = qt * Br, qlast = min(q0 + Br, Nq) - 1; /* this CTA's rows that exist */
    const int h = blockIdx.y, b = blockIdx.z;
#ifndef ATTN_PLANT_FUSED_KV_GROUP
    const size_t bh = (size_t)b * H + h, bhkv = (size_t)b * Hkv + h / (H / Hkv);
#else /* planted bug: query heads dealt round-robin to the K/V heads */
    const size_t bh = (size_t)b * H + h, bhkv = (size_t)b * Hkv + h % Hkv;
#endif
    E *Og = O + bh * Nq * D;

    /* The key tiles [jt0, jt1) hold a key visible to one of rows q0..qlast; the tiles [u0, u1)
     * among them are full: every key visible to every row (the rule of MaskRule). */
#if !defined ATTN_PLANT_FUSED_DIAG && !defined ATTN_PLANT_FUSED_WINDOW_EDGE
    const MaskRule rule = {kv_len ? min(max(kv_len[b], 0), Nk) : Nk,
                           window ? diag - (window - 1) : -(Nq + Nk),
                           causal ? diag : (window ? diag + window - 1 : Nk)};
#elif defined ATTN_PLANT_FUSED_DIAG /* planted bug: causal always top-left */
    const MaskRule rule = {kv_len ? min(max(kv_len[b], 0), Nk) : Nk,
                           window ? diag - (window - 1) : -(Nq + Nk),
                           causal ? 0 : (window ? diag + window - 1 : Nk)};
#else /* planted bug: the window one key too narrow at its start */
    const MaskRule rule = {kv_len ? min(max(kv_len[b], 0), Nk) : Nk,
                           window ? diag - (window - 1) + 1 : -(Nq + Nk),
                           causal ? diag : (window ? diag + window - 1 : Nk)};
#endif
    const int hi = rule.hi(qlast) + 1, lo = max(rule.lo(q0), 0);
    if (hi <= lo) { /* no visible key: O = 0 (uniform across the CTA) */
        for (int i = tid; i < Br * CPR; i += THREADS) {
            const int r = i / CPR, cc = (i % CPR) * 8;
            if (q0 + r < Nq)
                *reinterpret_cast<uint4 *>(Og + (size_t)(q0 + r) * D + cc) = make_uint4(0, 0, 0, 0);
        }
        return;
    }
    const int jt0 = lo / BC, jt1 = (hi + BC - 1) / BC;
#ifndef ATTN_PLANT_FUSED_FULL_TILE
    int u0 = (max(rule.lo(qlast), 0) + BC - 1) / BC, u1 = max(rule.hi(q0) + 1, 0) / BC;
#else /* planted bug: the tile holding the last row's window start counted as full */
    int u0 = max(rule.lo(qlast), 0) / BC, u1 = max(rule.hi(q0) + 1, 0) / BC;
#endif
    u0 = max(u0, jt0);
    u1 = min(u1, jt1);
    if (u1 <= u0) u0 = u1 = jt1; /* none full: every tile goes through the masked loop */
    /* processing order: the edge tiles, before u0 then from u1 (masked loop), then the full
     * tiles u0 .. u1−1 (unmasked loop), so that nothing of the first loop stays live in the
     * second, where O, S and the fragments take nearly every register */
    const int nhead = u0 - jt0, nmasked = (jt1 - jt0) - (u1 - u0);
    auto masked_tile = [&](int k) { return k < nhead ? jt0 + k : u1 + (k - nhead); };

    /* this thread's copy chunks (copy_rows): row rt, column ct of each tile; K/V row 0 of this
     * (b, h / group) at K + kv0, V + kv0 */
    const int rt = tid / CPR, ct = (tid % CPR) * 8;
    const size_t kv0 = bhkv * Nk * D + ct;
    E *Kst = Ks + rt * LD + ct, *Vst = Vs + rt * LD + ct;
    auto load_masked = [&](int j, int buf) { /* tile j, rows past Nk zero-filled */
        const size_t off = kv0 + ((size_t)j * BC + rt) * D;
        const int valid = Nk - j * BC - rt;
        copy_rows_zfill<D, BC>(Kst + buf * KVELEMS, K + off, K + kv0, valid);
        copy_rows_zfill<D, BC>(Vst + buf * KVELEMS, V + off, V + kv0, valid);
    };

    /* Q as cp.async group 0, the first tile as group 1 */
    const E *Qt = Q + bh * Nq * D + ct;
    copy_rows_zfill<D, Br>(Qs + rt * LD + ct, Qt + ((size_t)q0 + rt) * D, Qt, Nq - q0 - rt);
    cp_async_commit();
    load_masked(nmasked ? masked_tile(0) : u0, 0);
    cp_async_commit();

    FusedState<D, MT, BC, QKS> st;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        st.m[mt][0] = st.m[mt][1] = -INFINITY;
        st.l[mt][0] = st.l[mt][1] = 0.0f;
#pragma unroll
        for (int n = 0; n < D / 8; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) st.acc_o[mt][n][e] = 0.0f;
    }

    const int wrow0 = warp * 16 * MT; /* this warp's first row within the CTA's tile */
    const int row0 = q0 + wrow0 + (lane >> 2); /* the query row of this lane's c0, c1 */
    /* Q A fragments: lane L addresses row (L & 15), column 8·(L >> 4) of each k16 step */
    const E *qrow = Qs + (wrow0 + (lane & 15)) * LD + (lane >> 4) * 8;
    cp_async_wait<1>(); /* Q landed */
    __syncthreads();
#pragma unroll
    for (int mt = 0; mt < MT; ++mt)
#pragma unroll
        for (int ks = 0; ks < QKS; ++ks)
            ldmatrix_x4(st.qf[mt * QKS + ks], qrow + mt * 16 * LD + ks * 16);

    /* Each iteration: the next tile into buffer (it & 1) ^ 1 (freed by the barrier ending the
     * previous iteration), committed as a group even when empty, so that one wait covers this
     * iteration's tile. The masked loop: every score masked, loads zero-filled past Nk. */
    int it = 0;
    for (int k = 0; k < nmasked; ++k, ++it) {
        const int buf = it & 1;
        if (k + 1 < nmasked) load_masked(masked_tile(k + 1), buf ^ 1);
        else if (u0 < u1) load_masked(u0, buf ^ 1);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
        fused_tile<E, D, MT, BC, QKS, true>(st, qrow, Ks + buf * KVELEMS, Vs + buf * KVELEMS, lane, c,
                                    rule, row0, masked_tile(k) * BC);
#ifndef ATTN_PLANT_CONSUMED_SYNC
        __syncthreads(); /* K_j, V_j consumed before the next iteration refills this buffer */
#endif
    }
    /* The unmasked loop: full tiles are wholly inside the matrix, so plain copies, at addresses
     * advanced by a constant. (One down-counter and a toggled buffer offset: every register
     * counts here, O, S and the fragments take nearly all of them.) */
    size_t off = kv0 + ((size_t)(u0 + 1) * BC + rt) * D;
    int bo = (it & 1) * KVELEMS; /* this tile's buffer */
    for (int n = u1 - u0; n > 0; --n) {
        if (n > 1) {
            copy_rows<D, BC>(Kst + (KVELEMS - bo), K + off);
            copy_rows<D, BC>(Vst + (KVELEMS - bo), V + off);
        }
        cp_async_commit();
        off += (size_t)BC * D;
        cp_async_wait<1>();
        __syncthreads();
        fused_tile<E, D, MT, BC, QKS, false>(st, qrow, Ks + bo, Vs + bo, lane, c, rule, row0, 0);
#ifndef ATTN_PLANT_CONSUMED_SYNC
        __syncthreads();
#endif
        bo = KVELEMS - bo;
    }
    cp_async_wait<0>(); /* the last (empty) group: nothing in flight at exit */

    /* write back: O / l (0 where l = 0), staged through this warp's own Q rows (no other warp
     * reads them, and this warp's last read of them is behind it) so that global stores are
     * 16-byte and row-contiguous */
    const int g = lane >> 2, t = lane & 3;
    E *Os = Qs + wrow0 * LD;
#pragma unroll
    for (int mt = 0; mt < MT; ++mt) {
        float inv[2];
#pragma unroll
        for (int r = 0; r < 2; ++r) {
            float lr = st.l[mt][r];
            lr += __shfl_xor_sync(0xffffffffu, lr, 1);
            lr += __shfl_xor_sync(0xffffffffu, lr, 2);
            inv[r] = lr > 0.0f ? 1.0f / lr : 0.0f;
        }
#pragma unroll
        for (int n = 0; n < D / 8; ++n) {
            *reinterpret_cast<uint32_t *>(Os + (mt * 16 + g) * LD + n * 8 + 2 * t) =
                pack_e<E>(st.acc_o[mt][n][0] * inv[0], st.acc_o[mt][n][1] * inv[0]);
            *reinterpret_cast<uint32_t *>(Os + (mt * 16 + g + 8) * LD + n * 8 + 2 * t) =
                pack_e<E>(st.acc_o[mt][n][2] * inv[1], st.acc_o[mt][n][3] * inv[1]);
        }
    }
    __syncwarp();
#pragma unroll
    for (int i = 0; i < 16 * MT * CPR / 32; ++i) {
        const int ch = lane + i * 32;
        const int r = ch / CPR, cc = (ch % CPR) * 8;
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
    if (p->Hkv < 1 || p->H % p->Hkv) {
        std::snprintf(why, sizeof why, "fused needs Hkv >= 1 dividing H (Hkv=%d, H=%d)", p->Hkv,
                      p->H);
        return why;
    }
    if (p->window < 0) {
        std::snprintf(why, sizeof why, "fused needs window >= 0 (window=%d)", p->window);
        return why;
    }
    if (!(p->scale > 0.0f) || p->scale == INFINITY)
        return "fused needs a finite scale > 0 (it takes the row max before scaling)";
    if (p->B > 65535 || p->H > 65535) return "fused needs B, H <= 65535 (grid y/z)";
    return NULL;
}

template <typename E, int D, int MT, int BC, int QKS>
static int mhsa_fused_launch_d(const mhsa_problem_t *p, const E *Q, const E *K, const E *V, E *O,
                               cudaStream_t stream)
{
    constexpr size_t smem = FusedTile<D, MT, BC, QKS>::SMEM;
    static bool smem_attr_set = false; /* beyond 48 KB needs an opt-in, once per kernel */
    if (!smem_attr_set) {
        ATTN_TRY(cudaFuncSetAttribute(mhsa_fused_kernel<E, D, MT, BC, QKS>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
        smem_attr_set = true;
    }
    constexpr int Br = FusedTile<D, MT, BC, QKS>::Br;
    const int Tr = ATTN_CEIL_DIV(p->Nq, Br); /* query tiles */
    const dim3 grid(Tr, p->H, p->B);
    /* A window wider than any |key − (query + diag)| masks nothing: clamp it so that the
     * kernel's row + diag ± window stays far from int overflow. */
    const long long reach = (long long)p->Nq + p->Nk + llabs((long long)p->diag);
    const int window = p->window > reach ? (int)(reach + 1) : p->window;
    return ATTN_LAUNCH((mhsa_fused_kernel<E, D, MT, BC, QKS>), grid, THREADS, smem, stream, Q, K, V, O,
                       p->kv_len, p->H, p->Hkv, p->Nq, p->Nk, p->causal ? 1 : 0, p->diag, window,
                       p->scale * LOG2E);
}

/* MT m16 tiles per warp; at d = 64 and 128, the key tile BC* and the Q k16 steps in registers
 * QKS* (FusedTile); E the element type of q, k, v, o. */
template <typename E, int MT, int BC64, int QKS64, int BC128, int QKS128>
static int mhsa_fused_launch_mt(const char *who, const mhsa_problem_t *p, const mhsa_tensors_t *t,
                                attn_stream_t stream)
{
    if (int e = attn_refuse(mhsa_fused_supports(p), who)) return e;
    /* cp.async and the vector stores move 16-byte chunks of rows */
    if (int e = attn_require_align16((uintptr_t)t->q | (uintptr_t)t->k | (uintptr_t)t->v |
                                         (uintptr_t)t->o,
                                     "q, k, v, o", who))
        return e;
    const E *Q = static_cast<const E *>(t->q);
    const E *K = static_cast<const E *>(t->k);
    const E *V = static_cast<const E *>(t->v);
    E *O = static_cast<E *>(t->o);
    if (p->d == 64) return mhsa_fused_launch_d<E, 64, MT, BC64, QKS64>(p, Q, K, V, O, stream);
    return mhsa_fused_launch_d<E, 128, MT, BC128, QKS128>(p, Q, K, V, O, stream);
}

/* 128-row tiles. d = 64: 64-key tiles, Q in registers (O 64 + S 64 + Q 32 registers a lane);
 * 128-key tiles would halve the per-tile costs but spill. d = 128: O alone takes 128 registers;
 * 32-key tiles with Q's first two k16 steps in registers are the shape that compiles without
 * spills and with at most 0.35 ldmatrix per MMA (64-key tiles spill; sm_90 SASS counts are in
 * the commit that chose them). */
extern "C" int mhsa_fused_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    (void)ws; /* no workspace */
    return mhsa_fused_launch_mt<__nv_bfloat16, 2, 64, 4, 32, 2>("mhsa_fused_launch", p, t, stream);
}

/* The same shapes on f16 data (same registers and shared memory: the types are both 16-bit). */
extern "C" int mhsa_fused_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                     attn_stream_t stream)
{
    (void)ws;
    return mhsa_fused_launch_mt<__half, 2, 64, 4, 32, 2>("mhsa_fused_f16_launch", p, t, stream);
}

/* 64-row tiles, 64-key tiles, Q in registers: the step before FA2's shape. */
extern "C" int mhsa_fused_br64_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                      attn_stream_t stream)
{
    (void)ws; /* no workspace */
    return mhsa_fused_launch_mt<__nv_bfloat16, 1, 64, 4, 64, 8>("mhsa_fused_br64_launch", p, t,
                                                                stream);
}

extern "C" int mhsa_fused_br64_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t,
                                          void *ws, attn_stream_t stream)
{
    (void)ws;
    return mhsa_fused_launch_mt<__half, 1, 64, 4, 64, 8>("mhsa_fused_br64_f16_launch", p, t,
                                                         stream);
}
