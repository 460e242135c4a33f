/* aaconv tiled: fp32 on CUDA cores, keys and values staged through shared memory.
 *
 *   aaconv_front         conv branch and qkv conv (common.cu)
 *   aaconv_tiled_kernel  one CTA per (image, head, tile of TQ queries), one thread per query:
 *     1. q_i into registers; the relative logits by offset, rw[jx] = q_i·rel_w[jx − ix + Wo − 1]
 *        and rh[jy] = q_i·rel_h[jy − iy + Ho − 1] for jx, jy ∈ [0, Ho), into this thread's own
 *        rows of shared memory (2·Ho dots per query instead of 2·N: the 2-D relative trick);
 *     2. per key tile of TK keys: K and V tiles loaded by the whole CTA, then every thread runs
 *        the online softmax over them: s = q·k_j + rw[jx] + rh[jy]; m, l, o updated;
 *     3. O = o / l.
 *   aaconv_back          1×1 output conv (common.cu)
 * q and o live in registers of TILED_DMAX floats, so dkh, dvh <= TILED_DMAX (supports()); the
 * relative rows take 2·TQ·Ho floats of shared memory, so Ho <= TILED_MAX_HO. */
#include <cstdio>

#include "aaconv_common.cuh"
#include "launch.cuh"

#define TQ 64           /* queries per CTA (= threads) */
#define TK 32           /* keys per shared-memory tile */
#define TILED_DMAX 32   /* largest dkh and dvh */
#define TILED_MAX_HO 64 /* largest output side */

__global__ void __launch_bounds__(TQ)
aaconv_tiled_kernel(const float *__restrict__ Q, const float *__restrict__ K,
                    const float *__restrict__ V, const float *__restrict__ rel,
                    float *__restrict__ O, int Ho, int dkh, int dvh)
{
    ATTN_DYNAMIC_SMEM(smem);
    const int N = Ho * Ho, R = 2 * Ho - 1;
    float *Ks = (float *)smem;          /* (TK, dkh) */
    float *Vs = Ks + TK * dkh;          /* (TK, dvh) */
    float *rw = Vs + TK * dvh;          /* (TQ, Ho): rw[t·Ho + jx] */
    float *rh = rw + TQ * Ho;           /* (TQ, Ho): rh[t·Ho + jy] */
    const long long bn = blockIdx.y;    /* img·Nh + n */
    const int t = threadIdx.x, i = blockIdx.x * TQ + t;
    const bool live = i < N;
    const int iy = live ? i / Ho : 0, ix = live ? i % Ho : 0;
    const float *Kb = K + bn * N * dkh, *Vb = V + bn * N * dvh;

    /* 1. q and the relative logits of this query */
    float q[TILED_DMAX], o[TILED_DMAX];
#pragma unroll
    for (int c = 0; c < TILED_DMAX; c++) {
        q[c] = live && c < dkh ? Q[(bn * N + i) * dkh + c] : 0.f;
        o[c] = 0.f;
    }
    if (live)
        for (int r = 0; r < Ho; r++) {
            const float *w = rel + (size_t)(r - ix + Ho - 1) * dkh;
            const float *h = rel + (size_t)(R + r - iy + Ho - 1) * dkh;
            float aw = 0.f, ah = 0.f;
#pragma unroll
            for (int c = 0; c < TILED_DMAX; c++)
                if (c < dkh) aw = fmaf(q[c], w[c], aw), ah = fmaf(q[c], h[c], ah);
            rw[t * Ho + r] = aw, rh[t * Ho + r] = ah;
        }

    /* 2. key tiles: load, then online softmax */
    float m = -INFINITY, l = 0.f;
    for (int j0 = 0; j0 < N; j0 += TK) {
        const int nk = min(TK, N - j0);
        for (int e = t; e < nk * dkh; e += TQ) Ks[e] = Kb[(size_t)j0 * dkh + e];
        for (int e = t; e < nk * dvh; e += TQ) Vs[e] = Vb[(size_t)j0 * dvh + e];
        __syncthreads();
        if (live)
            for (int jj = 0; jj < nk; jj++) {
                const int j = j0 + jj;
                float s = rw[t * Ho + j % Ho] + rh[t * Ho + j / Ho];
#pragma unroll
                for (int c = 0; c < TILED_DMAX; c++)
                    if (c < dkh) s = fmaf(q[c], Ks[jj * dkh + c], s);
                /* online softmax: rescale when the running max grows */
                const float mn = fmaxf(m, s), corr = expf(m - mn), p = expf(s - mn);
                l = l * corr + p;
#pragma unroll
                for (int c = 0; c < TILED_DMAX; c++)
                    if (c < dvh) o[c] = fmaf(p, Vs[jj * dvh + c], o[c] * corr);
                m = mn;
            }
        __syncthreads(); /* the tiles are overwritten next */
    }

    /* 3. normalise and store */
    if (live) {
        const float inv_l = 1.f / l;
#pragma unroll
        for (int c = 0; c < TILED_DMAX; c++)
            if (c < dvh) O[(bn * N + i) * dvh + c] = o[c] * inv_l;
    }
}

static size_t tiled_smem(const aaconv_problem_t *p)
{
    const aaconv_sizes_t z = aaconv_sizes(p);
    return sizeof(float) * ((size_t)TK * (z.dkh + z.dvh) + 2 * (size_t)TQ * z.Ho);
}

extern "C" const char *aaconv_tiled_supports(const aaconv_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = aaconv_problem_reason(p)) return r;
    const aaconv_sizes_t z = aaconv_sizes(p);
    if (z.dkh > TILED_DMAX || z.dvh > TILED_DMAX) {
        std::snprintf(why, sizeof why, "tiled keeps q and o in registers: dkh=%d and dvh=%d must "
                      "be <= %d", z.dkh, z.dvh, TILED_DMAX);
        return why;
    }
    if (z.Ho > TILED_MAX_HO) {
        std::snprintf(why, sizeof why, "tiled stages 2·%d·Ho relative logits: Ho=%d must be <= %d",
                      TQ, z.Ho, TILED_MAX_HO);
        return why;
    }
    return NULL;
}

extern "C" size_t aaconv_tiled_workspace(const aaconv_problem_t *p)
{
    return aaconv_workspace_bytes(p, false);
}

extern "C" int aaconv_tiled_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t,
                                   void *ws, attn_stream_t stream)
{
    if (int e = attn_launch_check(aaconv_tiled_supports(p), ws, "aaconv_tiled_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const aaconv_qkvo_t b = aaconv_qkvo_take(&w, p);
    const aaconv_sizes_t z = aaconv_sizes(p);

    if (int e = aaconv_front(p, t, &b, false, stream)) return e;
    const dim3 grid(ATTN_CEIL_DIV(z.N, TQ), p->B * p->Nh);
    if (int e = ATTN_LAUNCH(aaconv_tiled_kernel, grid, TQ, tiled_smem(p), stream,
                            (const float *)b.q, (const float *)b.k, (const float *)b.v,
                            (const float *)t->rel, b.o, z.Ho, z.dkh, z.dvh))
        return e;
    return aaconv_back(p, t, &b, false, stream);
}
