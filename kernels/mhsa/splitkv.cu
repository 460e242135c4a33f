/* mhsa fused-splitkv: flash-decoding. Decode is memory-bound (a handful of query rows against
 * a long K/V cache), so the kernel is arranged to read each K/V byte once and to give every SM
 * work even when B·Hkv is small:
 *
 * mhsa_splitkv_kernel<RPW, DMAX>: one CTA (4 warps) per (row tile, split, K/V head g, batch b).
 *   rows   the G = H/Hkv query heads of K/V head g share its K/V: their G·Nq query rows
 *          (head-major) are one "group"; a CTA takes RT = 4·RPW of them, so each K/V tile is
 *          loaded once for the whole group (GQA/MQA); warp w owns rows w, w + 4, ...
 *   keys   split s owns the keys [s·chunk, (s + 1)·chunk), cut to the union of its rows'
 *          visible ranges (key padding, the causal diagonal, the window); tiles of 32 keys.
 *   per tile  K, V (bf16) → shared memory (the next tile's global loads are issued into
 *          registers before this tile is computed, so loads stay in flight); lane = key:
 *          s = scale·q·k on CUDA cores; online softmax per row (max, sum); P·V with lane = two
 *          output columns (per 64), P broadcast by shuffles.
 *   out    one split: O = acc / l in bf16. Several: acc (fp32, unnormalised), m, l of each row
 *          into the workspace, and mhsa_splitkv_combine_kernel merges the splits of a row by
 *          their log-sum-exp: M = max_s m_s, O = Σ_s e^(m_s − M)·acc_s / Σ_s e^(m_s − M)·l_s.
 * CUDA cores rather than mma.sync: at Nq ≤ 16 (all it takes) and a few heads per group a
 * tensor-core tile would be mostly padding, and the bytes, not the FLOPs, set the time.
 * Split count (mhsa_splitkv_splits): p->splits when given; else enough splits that the grid has
 * ~4 CTAs per SM of a 132-SM H100 (a fixed count, so the workspace size and the result do not
 * depend on the device), with at least 512 keys per split.
 * Shared memory: Q (RT rows), K, V (32 keys) in bf16 with an odd word pitch (lane = key reads
 * column words without bank conflicts): 33 KiB at RT = 64, DMAX = 128. */
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>

#include "launch.cuh"
#include "warp.cuh"
#include "workspace.cuh"
#include "mhsa_kernels.h"
#include "mhsa_mask.cuh"

#define SPLITKV_NW 4         /* warps per CTA */
#define SPLITKV_BC 32        /* keys per tile: one per lane in the score phase */
#define SPLITKV_SMS 132      /* the split heuristic's SM count (H100 SXM) */
#define SPLITKV_CTAS_PER_SM 4
#define SPLITKV_MIN_KEYS 512 /* keys per split at least (the chosen count only) */
#define SPLITKV_DMAX 128
#define SPLITKV_MAX_NQ 16    /* decode: queries per sequence */

/* rows: query rows of the group (G·Nq); chunk: keys per split; part/ml: the workspace (NULL
 * when nsplit == 1). */
template <int RPW, int DMAX>
__global__ void __launch_bounds__(SPLITKV_NW * 32)
mhsa_splitkv_kernel(const __nv_bfloat16 *__restrict__ q, const __nv_bfloat16 *__restrict__ k,
                    const __nv_bfloat16 *__restrict__ v, __nv_bfloat16 *__restrict__ o,
                    float *__restrict__ part, float *__restrict__ ml, const mhsa_problem_t p,
                    int nsplit, int chunk, int ntiles)
{
    constexpr int RT = SPLITKV_NW * RPW;  /* rows per CTA */
    constexpr int PW = DMAX / 2 + 1;      /* word (bf16 pair) pitch: odd */
    constexpr int NW = DMAX / 64;         /* column pairs per lane in P·V */
    constexpr int CH = SPLITKV_BC * DMAX / 8 / (SPLITKV_NW * 32); /* 16-byte chunks per thread */
    __shared__ uint32_t Q_s[RT * PW], K_s[SPLITKV_BC * PW], V_s[SPLITKV_BC * PW];

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int tile = blockIdx.x % ntiles, split = blockIdx.x / ntiles;
    const int g = blockIdx.y, b = blockIdx.z;
    const int G = p.H / p.Hkv, rows = G * p.Nq, d = p.d;
    const int r0 = tile * RT; /* first group row of the CTA */
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

    /* Q rows of the tile, zero past the group and past d. */
    for (int e = tid; e < RT * (DMAX / 2); e += SPLITKV_NW * 32) {
        const int r = e / (DMAX / 2), w = e % (DMAX / 2), gr = r0 + r;
        uint32_t x = 0;
        if (gr < rows && 2 * w < d) {
            const int h = g * G + gr / p.Nq, i = gr % p.Nq;
            x = reinterpret_cast<const uint32_t *>(q + (((size_t)b * p.H + h) * p.Nq + i) * d)[w];
        }
        Q_s[r * PW + w] = x;
    }

    /* This warp's rows: global row index, visible keys, running max, lane-partial sum, acc. */
    long long grow[RPW];
    int rlo[RPW], rhi[RPW];
    float m[RPW], l[RPW], acc[RPW][2 * NW];
#pragma unroll
    for (int t = 0; t < RPW; t++) {
        const int gr = r0 + warp + SPLITKV_NW * t;
        grow[t] = -1, rlo[t] = 0, rhi[t] = 0;
        if (gr < rows) {
#ifndef ATTN_PLANT_SPLITKV_GROUP
            const int h = g * G + gr / p.Nq, i = gr % p.Nq;
#else
            const int h = (g + 1) % p.Hkv * G + gr / p.Nq, i = gr % p.Nq; /* planted: next group */
#endif
            grow[t] = ((long long)b * p.H + h) * p.Nq + i;
#ifndef ATTN_PLANT_SPLITKV_MASK_ROW
            mhsa_row_keys(p, b, i, rlo[t], rhi[t]);
#else
            mhsa_row_keys(p, b, gr / G, rlo[t], rhi[t]); /* planted bug: query-major position */
#endif
        }
        m[t] = -INFINITY, l[t] = 0.f;
#pragma unroll
        for (int n = 0; n < 2 * NW; n++) acc[t][n] = 0.f;
    }

    const size_t kvbase = ((size_t)b * p.Hkv + g) * p.Nk * d;
    const uint4 *k4 = reinterpret_cast<const uint4 *>(k + kvbase);
    const uint4 *v4 = reinterpret_cast<const uint4 *>(v + kvbase);
    const int cpr = d / 8; /* 16-byte chunks per K/V row (d % 8 == 0) */
    uint4 kr[CH], vr[CH];  /* the next tile, in flight */
    auto fetch = [&](int j0) {
#pragma unroll
        for (int c = 0; c < CH; c++) {
            const int e = tid + SPLITKV_NW * 32 * c, jr = e / (DMAX / 8), cc = e % (DMAX / 8);
            const bool in = j0 + jr < jhi && cc < cpr;
            kr[c] = in ? k4[(size_t)(j0 + jr) * cpr + cc] : make_uint4(0, 0, 0, 0);
            vr[c] = in ? v4[(size_t)(j0 + jr) * cpr + cc] : make_uint4(0, 0, 0, 0);
        }
    };
    const int j_first = jlo - jlo % SPLITKV_BC; /* tiles on multiples of 32 keys */
    if (j_first < jhi) fetch(j_first);

    for (int j0 = j_first; j0 < jhi; j0 += SPLITKV_BC) {
        __syncthreads(); /* the previous tile's K_s, V_s are no longer read (and Q_s is written) */
#pragma unroll
        for (int c = 0; c < CH; c++) {
            const int e = tid + SPLITKV_NW * 32 * c, jr = e / (DMAX / 8), w = (e % (DMAX / 8)) * 4;
            K_s[jr * PW + w] = kr[c].x, K_s[jr * PW + w + 1] = kr[c].y;
            K_s[jr * PW + w + 2] = kr[c].z, K_s[jr * PW + w + 3] = kr[c].w;
            V_s[jr * PW + w] = vr[c].x, V_s[jr * PW + w + 1] = vr[c].y;
            V_s[jr * PW + w + 2] = vr[c].z, V_s[jr * PW + w + 3] = vr[c].w;
        }
        __syncthreads(); /* K_j, V_j visible to every warp */
        if (j0 + SPLITKV_BC < jhi) fetch(j0 + SPLITKV_BC);

        const int j = j0 + lane;
#pragma unroll
        for (int t = 0; t < RPW; t++) {
            if (grow[t] < 0 || j0 >= rhi[t] || j0 + SPLITKV_BC <= rlo[t]) continue; /* warp-uniform */
            float s = 0.f;
#pragma unroll 16
            for (int w = 0; w < DMAX / 2; w++) {
                const float2 kv = __bfloat1622float2(
                    *reinterpret_cast<const __nv_bfloat162 *>(&K_s[lane * PW + w]));
                const float2 qv = __bfloat1622float2(
                    *reinterpret_cast<const __nv_bfloat162 *>(&Q_s[(warp + SPLITKV_NW * t) * PW + w]));
                s = fmaf(qv.x, kv.x, s);
                s = fmaf(qv.y, kv.y, s);
            }
            const bool valid = j >= rlo[t] && j < rhi[t] && j < jhi && j >= jlo;
            const float x = valid ? __fmul_rn(s, p.scale) : -INFINITY;
            const float m_new = fmaxf(m[t], attn_warp_max(x));
            const float m_use = m_new == -INFINITY ? 0.f : m_new; /* no (−∞) − (−∞) */
            const float pj = expf(x - m_use);
            const float alpha = expf(m[t] - m_use);
            l[t] = fmaf(l[t], alpha, pj);
            m[t] = m_new;
#pragma unroll
            for (int n = 0; n < 2 * NW; n++) acc[t][n] *= alpha;
#pragma unroll 8
            for (int jj = 0; jj < SPLITKV_BC; jj++) {
                const float pb = __shfl_sync(0xffffffffu, pj, jj);
#pragma unroll
                for (int n = 0; n < NW; n++) {
                    const float2 vv = __bfloat1622float2(
                        *reinterpret_cast<const __nv_bfloat162 *>(&V_s[jj * PW + lane + 32 * n]));
                    acc[t][2 * n] = fmaf(pb, vv.x, acc[t][2 * n]);
                    acc[t][2 * n + 1] = fmaf(pb, vv.y, acc[t][2 * n + 1]);
                }
            }
        }
    }

    /* write back: O directly (one split) or this split's partial state */
#pragma unroll
    for (int t = 0; t < RPW; t++) {
        if (grow[t] < 0) continue;
        const float lt = attn_warp_sum(l[t]);
#pragma unroll
        for (int n = 0; n < NW; n++) {
            const int c = 2 * (lane + 32 * n);
            if (c >= d) continue;
            if (nsplit == 1) {
                const float inv = lt > 0.f ? 1.f / lt : 0.f;
                *reinterpret_cast<__nv_bfloat162 *>(o + grow[t] * d + c) =
                    __floats2bfloat162_rn(acc[t][2 * n] * inv, acc[t][2 * n + 1] * inv);
            } else {
                float *pp = part + ((size_t)split * rows_all + grow[t]) * d + c;
                pp[0] = acc[t][2 * n], pp[1] = acc[t][2 * n + 1];
            }
        }
        if (nsplit > 1 && lane == 0) {
            ml[2 * ((size_t)split * rows_all + grow[t])] = m[t];
            ml[2 * ((size_t)split * rows_all + grow[t]) + 1] = lt;
        }
    }
}

/* One warp per output row: merge the nsplit partial states of the row by their log-sum-exp. */
__global__ void __launch_bounds__(SPLITKV_NW * 32)
mhsa_splitkv_combine_kernel(const float *__restrict__ part, const float *__restrict__ ml,
                            __nv_bfloat16 *__restrict__ o, long long rows_all, int d, int nsplit)
{
    const long long row = (long long)blockIdx.x * SPLITKV_NW + (threadIdx.x >> 5);
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
        if (lane + 32 * n < d) o[row * d + lane + 32 * n] = __float2bfloat16_rn(acc[n] * inv);
}

/* Rows per warp for a group of `rows` query rows: the smallest tile that holds them, up to 64. */
static int splitkv_rpw(const mhsa_problem_t *p)
{
    const long long rows = (long long)(p->H / p->Hkv) * p->Nq;
    return rows <= SPLITKV_NW ? 1 : rows <= 4 * SPLITKV_NW ? 4 : 16;
}

static int splitkv_row_tiles(const mhsa_problem_t *p)
{
    const long long rows = (long long)(p->H / p->Hkv) * p->Nq;
    return (int)ATTN_CEIL_DIV(rows, (long long)SPLITKV_NW * splitkv_rpw(p));
}

extern "C" int mhsa_splitkv_splits(const mhsa_problem_t *p)
{
    const int most = ATTN_CEIL_DIV(p->Nk, SPLITKV_BC); /* one tile per split at most */
    if (p->splits > 0) return p->splits < most ? p->splits : most;
    const long long ctas = (long long)p->B * p->Hkv * splitkv_row_tiles(p);
    long long s = ATTN_CEIL_DIV((long long)SPLITKV_SMS * SPLITKV_CTAS_PER_SM, ctas);
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

template <int RPW>
static int splitkv_launch_rpw(const mhsa_problem_t *p, const mhsa_tensors_t *t, float *part,
                              float *ml, int nsplit, cudaStream_t stream)
{
    const int ntiles = splitkv_row_tiles(p);
    const int chunk = ATTN_CEIL_DIV(ATTN_CEIL_DIV(p->Nk, nsplit), SPLITKV_BC) * SPLITKV_BC;
    const long long gx = (long long)ntiles * nsplit;
    if (gx > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    const dim3 grid((unsigned)gx, p->Hkv, p->B);
    const __nv_bfloat16 *Q = (const __nv_bfloat16 *)t->q, *K = (const __nv_bfloat16 *)t->k,
                        *V = (const __nv_bfloat16 *)t->v;
    __nv_bfloat16 *O = (__nv_bfloat16 *)t->o;
    if (p->d <= 64)
        return ATTN_LAUNCH((mhsa_splitkv_kernel<RPW, 64>), grid, SPLITKV_NW * 32, 0, stream, Q, K,
                           V, O, part, ml, *p, nsplit, chunk, ntiles);
    return ATTN_LAUNCH((mhsa_splitkv_kernel<RPW, 128>), grid, SPLITKV_NW * 32, 0, stream, Q, K, V,
                       O, part, ml, *p, nsplit, chunk, ntiles);
}

extern "C" int mhsa_splitkv_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
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
    const int rpw = splitkv_rpw(p);
    int err = rpw == 1   ? splitkv_launch_rpw<1>(p, t, part, ml, nsplit, stream)
              : rpw == 4 ? splitkv_launch_rpw<4>(p, t, part, ml, nsplit, stream)
                         : splitkv_launch_rpw<16>(p, t, part, ml, nsplit, stream);
    if (err || nsplit == 1) return err;
    const long long rows_all = (long long)p->B * p->H * p->Nq;
    const long long blocks = ATTN_CEIL_DIV(rows_all, (long long)SPLITKV_NW);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    return ATTN_LAUNCH(mhsa_splitkv_combine_kernel, (unsigned)blocks, SPLITKV_NW * 32, 0, stream,
                       part, ml, (__nv_bfloat16 *)t->o, rows_all, p->d, nsplit);
}
