/* mhsa fused-splitkv: flash-decoding. Decode is memory-bound (a handful of query rows against
 * a long K/V cache), so the kernel is arranged to read each K/V byte once, to spend few
 * instructions per byte, and to give every SM work even when B·Hkv is small:
 *
 * mhsa_splitkv_kernel<T, MT, DMAX>: one CTA of MT warps per (row tile, split, K/V head g, batch b).
 *   rows   GQA packing: the G = H/Hkv query heads of K/V head g share its K/V, so their G·Nq
 *          (query row, head) pairs are packed head-major into the rows of the m16 tiles (row
 *          r = head·Nq + i); a CTA takes RT = 16·MT of them and loads each K/V tile once for all.
 *          MT = 1 when G·Nq <= 16 (an Nq = 1 decode with G <= 16 fills one m16 tile instead of
 *          1/64 of a 64-row one), else 4; more than 64 rows take several row tiles (each reads
 *          the split's K/V, the later ones mostly from L2). Every packed row is masked at its
 *          own query position i (key padding, the causal diagonal, the window: mhsa_mask.cuh).
 *   keys   split s owns the keys [s·chunk, (s + 1)·chunk), cut to the union of its rows'
 *          visible ranges; tiles of 32 keys, double-buffered by cp.async (zero-filled past the
 *          range, so that masked rows of V are 0, not poison).
 *   per tile  warp w (rows 16w..16w+15 of the tile): S = Q·Kᵀ by mma.m16n8k16 (Q as A
 *          fragments in registers, K by ldmatrix), the mask, the online softmax (flash.cuh, one
 *          FFMA + ex2 per score), O += P·V (P from the S accumulators, V by ldmatrix .trans).
 *   out    one split: O = acc / l in T. Several: acc (fp32, unnormalised), m (natural-log
 *          units), l of each row into the workspace, and mhsa_splitkv_combine_kernel merges the
 *          splits of a row by their log-sum-exp: M = max_s m_s, O = Σ e^(m_s − M)·acc_s / Σ
 *          e^(m_s − M)·l_s.
 * Split count (mhsa_splitkv_splits): p->splits when given; else enough splits that the grid has
 * ~16 warps per SM of a 132-SM H100 (a fixed count, so the workspace size and the result do not
 * depend on the device), with at least 512 keys per split.
 * Shared memory: K, V (2 stages of 32 keys) with a pitch of DMAX + 8 bf16 (ldmatrix rows in
 * distinct bank groups): 34 KiB at DMAX = 128, 18 KiB at 64; Q is read once into registers. */
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <type_traits>

#include "flash.cuh"
#include "launch.cuh"
#include "mma.cuh"
#include "warp.cuh"
#include "workspace.cuh"
#include "mhsa_kernels.h"
#include "mhsa_mask.cuh"

#define SPLITKV_BC 32           /* keys per tile */
#define SPLITKV_SMS 132         /* the split heuristic's SM count (H100 SXM) */
#define SPLITKV_WARPS_PER_SM 16 /* the split heuristic's target */
#define SPLITKV_MIN_KEYS 512    /* keys per split at least (the chosen count only) */
#define SPLITKV_DMAX 128
#define SPLITKV_MAX_NQ 16       /* decode: queries per sequence */
#define SPLITKV_COMBINE_NW 4    /* warps per CTA of the combine kernel */

/* T: the element type (__nv_bfloat16 or __half: the same fragments, mma_m16n8k16<T>);
 * rows: packed query rows of the group (G·Nq); chunk: keys per split; part/ml: the workspace
 * (NULL when nsplit == 1). */
template <typename T, int MT, int DMAX>
__global__ void __launch_bounds__(MT * 32)
mhsa_splitkv_kernel(const T *__restrict__ q, const T *__restrict__ k, const T *__restrict__ v,
                    T *__restrict__ o,
                    float *__restrict__ part, float *__restrict__ ml, const mhsa_problem_t p,
                    int nsplit, int chunk, int ntiles)
{
    constexpr int BC = SPLITKV_BC, RT = 16 * MT, LD = DMAX + 8, THREADS = MT * 32;
    constexpr int KS = DMAX / 16;   /* k-steps of S = Q·Kᵀ */
    constexpr int NS = BC / 8;      /* n8 tiles of S */
    constexpr int NO = DMAX / 8;    /* n8 tiles of O */
    constexpr int CPR = DMAX / 8;   /* 16-byte chunks per K/V row */
    constexpr int CH = BC * CPR / THREADS; /* chunks per thread per matrix */
    static_assert(BC * CPR % THREADS == 0, "whole chunks per thread");
    __shared__ __align__(16) T K_s[2][BC * LD];
    __shared__ __align__(16) T V_s[2][BC * LD];

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31, gq = lane >> 2, tq = lane & 3;
    const int tile = blockIdx.x % ntiles, split = blockIdx.x / ntiles;
    const int g = blockIdx.y, b = blockIdx.z;
    const int G = p.H / p.Hkv, rows = G * p.Nq, d = p.d;
    const int r0 = tile * RT; /* first packed row of the CTA */
    const long long rows_all = (long long)p.B * p.H * p.Nq;

    /* The CTA's keys: its split, cut to the union of its rows' visible ranges. */
    int jlo = p.Nk, jhi = 0;
    for (int r = r0; r < min(r0 + RT, rows); r++) {
        int lo, hi;
        mhsa_row_keys(p, b, r % p.Nq, lo, hi);
        if (lo < hi) jlo = min(jlo, lo), jhi = max(jhi, hi);
    }
    jlo = max(jlo, split * chunk);
    jhi = min(jhi, (split + 1) * chunk);

    /* This lane's rows gq and gq + 8 of the warp's m16 tile: packed row -> (head, position),
     * its output row, its visible keys. */
    long long grow[2];
    int rlo[2], rhi[2];
#pragma unroll
    for (int r = 0; r < 2; r++) {
        const int pr = r0 + 16 * warp + gq + 8 * r;
        grow[r] = -1, rlo[r] = 0, rhi[r] = 0;
        if (pr < rows) {
#ifndef ATTN_PLANT_SPLITKV_GROUP
            const int h = g * G + pr / p.Nq, i = pr % p.Nq;
#else
            const int h = (g + 1) % p.Hkv * G + pr / p.Nq, i = pr % p.Nq; /* planted: next group */
#endif
            grow[r] = ((long long)b * p.H + h) * p.Nq + i;
#ifndef ATTN_PLANT_SPLITKV_MASK_ROW
            mhsa_row_keys(p, b, i, rlo[r], rhi[r]);
#else
            mhsa_row_keys(p, b, pr / G, rlo[r], rhi[r]); /* planted bug: query-major position */
#endif
        }
    }
    const bool active = r0 + 16 * warp < rows; /* warp-uniform: the warp has a row */

    /* Q as A fragments (mma.cuh): a[0] row gq cols 2tq.., a[1] row gq+8, a[2], a[3] cols +8;
     * zero past the group's rows and past d. Read once from global memory, 4 bytes a lane. */
    uint32_t qa[KS][4];
#pragma unroll
    for (int ks = 0; ks < KS; ks++)
#pragma unroll
        for (int x = 0; x < 4; x++) {
            const int r = x & 1, c = 16 * ks + 2 * tq + 8 * (x >> 1);
            qa[ks][x] = grow[r] >= 0 && c < d
                            ? *reinterpret_cast<const uint32_t *>(q + grow[r] * d + c) : 0u;
        }

    float acc[NO][4], m[2] = {-INFINITY, -INFINITY}, l[2] = {0.f, 0.f};
#pragma unroll
    for (int n = 0; n < NO; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.f;

    /* K/V tile j0.. into stage st: thread tid copies chunks tid + THREADS·c; rows past jhi
     * and columns past d are zero-filled (source size 0, reading the head's first row). */
    const size_t kvbase = ((size_t)b * p.Hkv + g) * p.Nk * d;
    const T *kg = k + kvbase, *vg = v + kvbase;
    auto load = [&](int st, int j0) {
#pragma unroll
        for (int c = 0; c < CH; c++) {
            const int e = tid + THREADS * c, jr = e / CPR, cc = 8 * (e % CPR);
            const bool in = j0 + jr < jhi && cc < d;
            const size_t off = in ? (size_t)(j0 + jr) * d + cc : 0;
            cp_async_16_zfill(&K_s[st][jr * LD + cc], kg + off, in ? 16 : 0);
            cp_async_16_zfill(&V_s[st][jr * LD + cc], vg + off, in ? 16 : 0);
        }
    };
    const float c2 = p.scale * 1.4426950408889634f; /* scale·log2(e): 2^(s·c2) = e^(s·scale) */
    const int j_first = jlo - jlo % BC;              /* tiles on multiples of 32 keys */
    if (j_first < jhi) load(0, j_first);
    cp_async_commit();

    int st = 0;
    for (int j0 = j_first; j0 < jhi; j0 += BC, st ^= 1) {
        /* the other stage was last read in the previous iteration, before its closing barrier */
        if (j0 + BC < jhi) load(st ^ 1, j0 + BC);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads(); /* tile j0 visible to every warp */
        if (active) {
            /* S = Q·Kᵀ: one ldmatrix_x4 gives the B fragments of two n8 tiles (16 keys) */
            float s[NS][4];
#pragma unroll
            for (int n = 0; n < NS; n++) s[n][0] = s[n][1] = s[n][2] = s[n][3] = 0.f;
            const T *krow =
                &K_s[st][((lane & 7) + 8 * ((lane >> 4) & 1)) * LD + 8 * ((lane >> 3) & 1)];
#pragma unroll
            for (int ks = 0; ks < KS; ks++)
#pragma unroll
                for (int np = 0; np < NS / 2; np++) {
                    uint32_t kf[4];
                    ldmatrix_x4(kf, krow + np * 16 * LD + ks * 16);
                    mma_m16n8k16<T>(s[2 * np], qa[ks], kf[0], kf[1]);
                    mma_m16n8k16<T>(s[2 * np + 1], qa[ks], kf[2], kf[3]);
                }
            /* the mask: element e of n8 tile n is row gq + 8·(e >> 1), key j0 + 8n + 2tq + (e & 1);
             * skipped (warp-uniform) when every row of the warp sees the whole tile, as every
             * tile but the edges of a split or a row's range does (rows past the group: no
             * output, never masked) */
            bool sees_all = true;
#pragma unroll
            for (int r = 0; r < 2; r++)
                sees_all &= grow[r] < 0 || (j0 >= max(rlo[r], jlo) && j0 + BC <= min(rhi[r], jhi));
            if (!__all_sync(0xffffffffu, sees_all)) {
#pragma unroll
                for (int n = 0; n < NS; n++)
#pragma unroll
                    for (int e = 0; e < 4; e++) {
                        const int j = j0 + 8 * n + 2 * tq + (e & 1), r = e >> 1;
                        if (j < rlo[r] || j >= rhi[r] || j < jlo || j >= jhi) s[n][e] = -INFINITY;
                    }
            }
            flash_online_softmax_ex2(s, acc, m, l, c2);
            /* O += P·V: the S accumulators of keys 16kk.. are P's A fragment (mma.cuh) */
            const T *vrow =
                &V_s[st][((lane & 7) + 8 * ((lane >> 3) & 1)) * LD + 8 * ((lane >> 4) & 1)];
#pragma unroll
            for (int kk = 0; kk < NS / 2; kk++) {
                const uint32_t pa[4] = {pack_x2<T>(s[2 * kk][0], s[2 * kk][1]),
                                        pack_x2<T>(s[2 * kk][2], s[2 * kk][3]),
                                        pack_x2<T>(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                        pack_x2<T>(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
                for (int dp = 0; dp < DMAX / 16; dp++) {
                    uint32_t vf[4];
                    ldmatrix_x4_trans(vf, vrow + kk * 16 * LD + dp * 16);
                    mma_m16n8k16<T>(acc[2 * dp], pa, vf[0], vf[1]);
                    mma_m16n8k16<T>(acc[2 * dp + 1], pa, vf[2], vf[3]);
                }
            }
        }
        __syncthreads(); /* every warp is done with stage st before the next refill of it */
    }
    cp_async_wait<0>(); /* the last (empty) group: nothing in flight at exit */

    /* write back: O directly (one split) or this split's partial state; the row sums are
     * spread over the 4 lanes of a quad (flash.cuh) */
#pragma unroll
    for (int r = 0; r < 2; r++) {
        float lt = l[r];
        lt += __shfl_xor_sync(0xffffffffu, lt, 1);
        lt += __shfl_xor_sync(0xffffffffu, lt, 2);
        if (grow[r] < 0) continue;
        const float inv = lt > 0.f ? 1.f / lt : 0.f; /* every key of the row masked: 0 */
#pragma unroll
        for (int n = 0; n < NO; n++) {
            const int c = 8 * n + 2 * tq;
            if (c >= d) continue;
            if (nsplit == 1) {
                *reinterpret_cast<uint32_t *>(o + grow[r] * d + c) =
                    pack_x2<T>(acc[n][2 * r] * inv, acc[n][2 * r + 1] * inv);
            } else {
                float *pp = part + ((size_t)split * rows_all + grow[r]) * d + c;
                pp[0] = acc[n][2 * r], pp[1] = acc[n][2 * r + 1];
            }
        }
        if (nsplit > 1 && tq == 0) { /* m in natural-log units of the scaled scores */
            ml[2 * ((size_t)split * rows_all + grow[r])] = m[r] == -INFINITY ? m[r] : m[r] * p.scale;
            ml[2 * ((size_t)split * rows_all + grow[r]) + 1] = lt;
        }
    }
}

/* x rounded to nearest in T. */
template <typename T>
__device__ __forceinline__ T splitkv_round(float x)
{
    if constexpr (std::is_same<T, __half>::value)
        return __float2half_rn(x);
    else
        return __float2bfloat16_rn(x);
}

/* One warp per output row: merge the nsplit partial states of the row by their log-sum-exp. */
template <typename T>
__global__ void __launch_bounds__(SPLITKV_COMBINE_NW * 32)
mhsa_splitkv_combine_kernel(const float *__restrict__ part, const float *__restrict__ ml,
                            T *__restrict__ o, long long rows_all, int d, int nsplit)
{
    const long long row = (long long)blockIdx.x * SPLITKV_COMBINE_NW + (threadIdx.x >> 5);
    if (row >= rows_all) return; /* warp-uniform */
    const int lane = threadIdx.x & 31;
    float M = -INFINITY;
    for (int s = 0; s < nsplit; s++) M = fmaxf(M, ml[2 * ((size_t)s * rows_all + row)]);
    float acc[SPLITKV_DMAX / 32] = {0.f}, L = 0.f;
    for (int s = 0; s < nsplit; s++) {
        const float ms = ml[2 * ((size_t)s * rows_all + row)];
        if (ms == -INFINITY) continue; /* the split saw no key of this row */
#ifndef ATTN_PLANT_SPLIT_RESCALE
        const float w = expf(ms - M);
#else
        const float w = 1.f; /* planted bug: splits merged without rescaling to the common max */
#endif
        L = fmaf(w, ml[2 * ((size_t)s * rows_all + row) + 1], L);
        const float *pp = part + ((size_t)s * rows_all + row) * d;
#pragma unroll
        for (int n = 0; n < SPLITKV_DMAX / 32; n++)
            if (lane + 32 * n < d) acc[n] = fmaf(w, pp[lane + 32 * n], acc[n]);
    }
    const float inv = L > 0.f ? 1.f / L : 0.f; /* every key of the row masked: 0 */
#pragma unroll
    for (int n = 0; n < SPLITKV_DMAX / 32; n++)
        if (lane + 32 * n < d) o[row * d + lane + 32 * n] = splitkv_round<T>(acc[n] * inv);
}

/* m16 tiles (warps) per CTA for a group of G·Nq packed rows: one when they fit in 16 rows. */
static int splitkv_mt(const mhsa_problem_t *p)
{
    return (long long)(p->H / p->Hkv) * p->Nq <= 16 ? 1 : 4;
}

static int splitkv_row_tiles(const mhsa_problem_t *p)
{
    const long long rows = (long long)(p->H / p->Hkv) * p->Nq;
    return (int)ATTN_CEIL_DIV(rows, 16LL * splitkv_mt(p));
}

extern "C" int mhsa_splitkv_splits(const mhsa_problem_t *p)
{
    const int most = ATTN_CEIL_DIV(p->Nk, SPLITKV_BC); /* one tile per split at most */
    if (p->splits > 0) return p->splits < most ? p->splits : most;
    const long long warps = (long long)p->B * p->Hkv * splitkv_row_tiles(p) * splitkv_mt(p);
    long long s = ATTN_CEIL_DIV((long long)SPLITKV_SMS * SPLITKV_WARPS_PER_SM, warps);
    const long long by_keys = ATTN_CEIL_DIV(p->Nk, SPLITKV_MIN_KEYS);
    if (s > by_keys) s = by_keys;
    return s < 1 ? 1 : (int)s;
}

extern "C" const char *mhsa_splitkv_supports(const mhsa_problem_t *p)
{
    static thread_local char why[96];
    if (p->B < 1 || p->H < 1 || p->Nq < 1 || p->Nk < 1 || p->Hkv < 1 || p->H % p->Hkv)
        return "fused-splitkv needs B, H, Nq, Nk >= 1 and H a multiple of Hkv";
    if (p->Nq > SPLITKV_MAX_NQ) { /* CUDA cores: a prefill would crawl; fused is for that */
        std::snprintf(why, sizeof why, "fused-splitkv is a decode kernel: N <= %d (N=%d)",
                      SPLITKV_MAX_NQ, p->Nq);
        return why;
    }
    if (p->d % 8 != 0 || p->d > SPLITKV_DMAX) {
        std::snprintf(why, sizeof why, "fused-splitkv needs d %% 8 == 0 and d <= %d (d=%d)",
                      SPLITKV_DMAX, p->d);
        return why;
    }
    if (p->B > 65535 || p->Hkv > 65535) return "fused-splitkv needs B, Hkv <= 65535 (grid z/y)";
    return NULL;
}

extern "C" size_t mhsa_splitkv_workspace(const mhsa_problem_t *p)
{
    if (mhsa_splitkv_supports(p)) return 0;
    const size_t s = (size_t)mhsa_splitkv_splits(p);
    if (s == 1) return 0;
    const size_t rows = (size_t)p->B * p->H * p->Nq;
    return attn_align256(s * rows * p->d * sizeof(float)) + attn_align256(s * rows * 2 * sizeof(float));
}

template <typename T, int MT>
static int splitkv_launch_mt(const mhsa_problem_t *p, const mhsa_tensors_t *t, float *part,
                             float *ml, int nsplit, cudaStream_t stream)
{
    const int ntiles = splitkv_row_tiles(p);
    const int chunk = ATTN_CEIL_DIV(ATTN_CEIL_DIV(p->Nk, nsplit), SPLITKV_BC) * SPLITKV_BC;
    const long long gx = (long long)ntiles * nsplit;
    if (gx > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    const dim3 grid((unsigned)gx, p->Hkv, p->B);
    const T *Q = (const T *)t->q, *K = (const T *)t->k, *V = (const T *)t->v;
    T *O = (T *)t->o;
    if (p->d <= 64)
        return ATTN_LAUNCH((mhsa_splitkv_kernel<T, MT, 64>), grid, MT * 32, 0, stream, Q, K, V, O,
                           part, ml, *p, nsplit, chunk, ntiles);
    return ATTN_LAUNCH((mhsa_splitkv_kernel<T, MT, 128>), grid, MT * 32, 0, stream, Q, K, V, O,
                       part, ml, *p, nsplit, chunk, ntiles);
}

template <typename T>
static int splitkv_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                          attn_stream_t stream)
{
    if (int e = attn_refuse(mhsa_splitkv_supports(p), "mhsa_splitkv_launch")) return e;
    /* 16-byte loads of K/V rows, 4-byte loads of Q rows and stores of O (d % 8 == 0) */
    if (int e = attn_require_align16((uintptr_t)t->k | (uintptr_t)t->v, "k, v",
                                     "mhsa_splitkv_launch"))
        return e;
    const int nsplit = mhsa_splitkv_splits(p);
    float *part = NULL, *ml = NULL;
    if (nsplit > 1) {
        if (!ws) {
            std::fprintf(stderr, "mhsa_splitkv_launch: workspace is NULL\n");
            return (int)cudaErrorInvalidValue;
        }
        const size_t rows = (size_t)p->B * p->H * p->Nq;
        part = (float *)ws;
        ml = (float *)((char *)ws + attn_align256((size_t)nsplit * rows * p->d * sizeof(float)));
    }
    int err = splitkv_mt(p) == 1 ? splitkv_launch_mt<T, 1>(p, t, part, ml, nsplit, stream)
                                 : splitkv_launch_mt<T, 4>(p, t, part, ml, nsplit, stream);
    if (err || nsplit == 1) return err;
    const long long rows_all = (long long)p->B * p->H * p->Nq;
    const long long blocks = ATTN_CEIL_DIV(rows_all, (long long)SPLITKV_COMBINE_NW);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    return ATTN_LAUNCH(mhsa_splitkv_combine_kernel<T>, (unsigned)blocks, SPLITKV_COMBINE_NW * 32,
                       0, stream, part, ml, (T *)t->o, rows_all, p->d, nsplit);
}

extern "C" int mhsa_splitkv_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                   attn_stream_t stream)
{
    return splitkv_launch<__nv_bfloat16>(p, t, ws, stream);
}

extern "C" int mhsa_splitkv_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                       attn_stream_t stream)
{
    return splitkv_launch<__half>(p, t, ws, stream);
}
