/* aaconv fused: bf16 storage, the attention in one tensor-core kernel (wmma, fp32 accumulate).
 *
 *   aaconv_front         conv branch (into the bf16 y) and qkv conv (fp32 Q, K, V) (common.cu)
 *   aaconv_fused_kernel  one warp per (image, head, tile of Br = 16 queries), flash-style:
 *     1. Q tile (16 × 16, dkh zero-padded) to bf16 shared memory; the relative logits of each
 *        query by offset, rw[r][jx] = q·rel_w[jx − ix + Wo − 1], rh[r][jy] = q·rel_h[jy − iy +
 *        Ho − 1] (2·Ho dots per query, fp32);
 *     2. per key tile of Bc = 16 keys: K, V tiles to bf16 shared memory; S = Q·Kᵀ on tensor
 *        cores; lanes 0–15 own one query row each: s = S + rw[jx] + rh[jy] (the relative terms
 *        added by index, never materialised as N × N), online softmax (m, l), P to bf16;
 *        O_tile = P·V on tensor cores; o = o·e^(m_old − m) + O_tile;
 *     3. O = o / l (fp32) for the 1×1 output conv.
 *   aaconv_back          1×1 output conv into the bf16 y (common.cu)
 * One 16×16×16 MMA covers a head: dkh, dvh <= 16 (supports(); the contract's sweep has dkh <= 13,
 * dvh <= 6); the relative rows are 2·16·Ho floats of static shared memory: Ho <= 64. */
#include <cmath>
#include <cstdio>
#include <cuda_bf16.h>
#include <mma.h>

#include "aaconv_common.cuh"
#include "launch.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

#define Br 16          /* queries per warp */
#define Bc 16          /* keys per tile */
#define FUSED_D 16     /* the MMA's k (dkh) and n (dvh) */
#define FUSED_MAX_HO 64

__global__ void __launch_bounds__(32)
aaconv_fused_kernel(const float *__restrict__ Q, const float *__restrict__ K,
                    const float *__restrict__ V, const bf16 *__restrict__ rel,
                    float *__restrict__ O, int Ho, int dkh, int dvh)
{
    __shared__ __align__(32) bf16 Qs[Br * FUSED_D], Ks[Bc * FUSED_D], Vs[Bc * FUSED_D];
    __shared__ __align__(32) bf16 Ps[Br * Bc];
    __shared__ __align__(32) float S[Br * Bc], Ot[Br * FUSED_D];
    __shared__ float rw[Br * FUSED_MAX_HO], rh[Br * FUSED_MAX_HO];
    const int N = Ho * Ho, R = 2 * Ho - 1, lane = threadIdx.x;
    const long long bn = blockIdx.y;
    const int q0 = blockIdx.x * Br;
    const float *Qb = Q + bn * N * dkh, *Kb = K + bn * N * dkh, *Vb = V + bn * N * dvh;

    /* 1. Q tile and relative logits (rows past N get zeros: finite, never stored) */
    for (int e = lane; e < Br * FUSED_D; e += 32) {
        const int r = e / FUSED_D, c = e % FUSED_D, i = q0 + r;
        Qs[e] = __float2bfloat16(i < N && c < dkh ? Qb[(size_t)i * dkh + c] : 0.f);
    }
    for (int e = lane; e < Br * Ho; e += 32) {
        const int r = e / Ho, jr = e % Ho, i = q0 + r;
        float aw = 0.f, ah = 0.f;
        if (i < N) {
            const int iy = i / Ho, ix = i % Ho;
            const bf16 *w = rel + (size_t)(jr - ix + Ho - 1) * dkh;
            const bf16 *h = rel + (size_t)(R + jr - iy + Ho - 1) * dkh;
            for (int c = 0; c < dkh; c++) {
                const float q = Qb[(size_t)i * dkh + c];
                aw = fmaf(q, __bfloat162float(w[c]), aw);
                ah = fmaf(q, __bfloat162float(h[c]), ah);
            }
        }
        rw[r * Ho + jr] = aw, rh[r * Ho + jr] = ah;
    }
    float m = -INFINITY, l = 0.f, o[FUSED_D]; /* row `lane` (lanes 0–15) */
#pragma unroll
    for (int c = 0; c < FUSED_D; c++) o[c] = 0.f;
    __syncwarp();

    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fq;
    wmma::load_matrix_sync(fq, Qs, FUSED_D);

    /* 2. key tiles */
    for (int j0 = 0; j0 < N; j0 += Bc) {
        for (int e = lane; e < Bc * FUSED_D; e += 32) {
            const int r = e / FUSED_D, c = e % FUSED_D, j = j0 + r;
            Ks[e] = __float2bfloat16(j < N && c < dkh ? Kb[(size_t)j * dkh + c] : 0.f);
            Vs[e] = __float2bfloat16(j < N && c < dvh ? Vb[(size_t)j * dvh + c] : 0.f);
        }
        __syncwarp();
        /* S = Q·Kᵀ: Kᵀ is Ks read column-major */
        {
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fk;
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> fs;
            wmma::fill_fragment(fs, 0.f);
            wmma::load_matrix_sync(fk, Ks, FUSED_D);
            wmma::mma_sync(fs, fq, fk, fs);
            wmma::store_matrix_sync(S, fs, Bc, wmma::mem_row_major);
        }
        __syncwarp();
        /* relative terms by index, online softmax of row `lane` */
        float corr = 1.f;
        if (lane < Br) {
            float s[Bc], mx = m;
#pragma unroll
            for (int c = 0; c < Bc; c++) {
                const int j = j0 + c;
                s[c] = j < N ? S[lane * Bc + c] + rw[lane * Ho + j % Ho] + rh[lane * Ho + j / Ho]
                             : -INFINITY;
                mx = fmaxf(mx, s[c]);
            }
            corr = expf(m - mx); /* 0 on the first tile (m = −∞, mx finite) */
            float sum = 0.f;
#pragma unroll
            for (int c = 0; c < Bc; c++) {
                const bf16 p = __float2bfloat16(expf(s[c] - mx)); /* 0 for keys past N */
                Ps[lane * Bc + c] = p;
                sum += __bfloat162float(p); /* l sums exactly the P that P·V uses */
            }
            l = l * corr + sum;
            m = mx;
        }
        __syncwarp();
        /* O_tile = P·V */
        {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fp;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fv;
            wmma::fragment<wmma::accumulator, 16, 16, 16, float> fo;
            wmma::fill_fragment(fo, 0.f);
            wmma::load_matrix_sync(fp, Ps, Bc);
            wmma::load_matrix_sync(fv, Vs, FUSED_D);
            wmma::mma_sync(fo, fp, fv, fo);
            wmma::store_matrix_sync(Ot, fo, FUSED_D, wmma::mem_row_major);
        }
        __syncwarp();
        if (lane < Br) {
#pragma unroll
            for (int c = 0; c < FUSED_D; c++) o[c] = fmaf(o[c], corr, Ot[lane * FUSED_D + c]);
        }
        __syncwarp(); /* Ks, Vs, Ps, Ot are overwritten next */
    }

    /* 3. normalise and store */
    const int i = q0 + lane;
    if (lane < Br && i < N) {
        const float inv_l = 1.f / l; /* l >= 1 up to bf16 rounding: the max contributes 1 */
#pragma unroll
        for (int c = 0; c < FUSED_D; c++)
            if (c < dvh) O[(bn * N + i) * dvh + c] = o[c] * inv_l;
    }
}

extern "C" const char *aaconv_fused_supports(const aaconv_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = aaconv_problem_reason(p)) return r;
    const aaconv_sizes_t z = aaconv_sizes(p);
    if (z.dkh > FUSED_D || z.dvh > FUSED_D) {
        std::snprintf(why, sizeof why, "fused covers a head with one 16×16×16 MMA: dkh=%d and "
                      "dvh=%d must be <= %d", z.dkh, z.dvh, FUSED_D);
        return why;
    }
    if (z.Ho > FUSED_MAX_HO) {
        std::snprintf(why, sizeof why, "fused keeps 2·16·Ho relative logits in shared memory: "
                      "Ho=%d must be <= %d", z.Ho, FUSED_MAX_HO);
        return why;
    }
    return NULL;
}

extern "C" size_t aaconv_fused_workspace(const aaconv_problem_t *p)
{
    return aaconv_workspace_bytes(p, false);
}

extern "C" int aaconv_fused_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t,
                                   void *ws, attn_stream_t stream)
{
    if (int e = attn_launch_check(aaconv_fused_supports(p), ws, "aaconv_fused_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const aaconv_qkvo_t b = aaconv_qkvo_take(&w, p);
    const aaconv_sizes_t z = aaconv_sizes(p);

    if (int e = aaconv_front(p, t, &b, true, stream)) return e;
    const dim3 grid(ATTN_CEIL_DIV(z.N, Br), p->B * p->Nh);
    if (int e = ATTN_LAUNCH(aaconv_fused_kernel, grid, 32, 0, stream, (const float *)b.q,
                            (const float *)b.k, (const float *)b.v, (const bf16 *)t->rel, b.o,
                            z.Ho, z.dkh, z.dvh))
        return e;
    return aaconv_back(p, t, &b, true, stream);
}
