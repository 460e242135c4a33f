/* mhsa naive: the first rung of the ladder, fp32 on CUDA cores, no shared memory.
 *
 * mhsa_naive_kernel: one thread per query row (b, h, i); Q, K, V are read straight from global
 * memory (a warp holds 32 consecutive rows of one head, so its K/V reads are broadcasts).
 * Query head h reads K/V head h / (H/Hkv). Safe softmax in two passes over the unmasked keys
 * jlo <= j < jend (mhsa_mask.cuh):
 *   pass 1  m = max_j s_j,  s_j = scale·q_i·k_j
 *   pass 2  l = Σ_j exp(s_j − m),  o_c = Σ_j exp(s_j − m)·v_jc,  O_ic = o_c / l
 * Pass 2 keeps NAIVE_DC output columns in registers and runs once per chunk of columns, so any d
 * works (d ≤ NAIVE_DC in one pass). Masked keys never enter either pass; a row with no unmasked
 * key writes zeros.
 * mhsa_naive_launch: the launcher (mhsa_kernels.h). */
#include "launch.cuh"
#include "mhsa_kernels.h"
#include "mhsa_mask.cuh"

/* Output columns accumulated in registers per pass over the keys. */
#define NAIVE_DC 64
#define NAIVE_THREADS 128

/* Identical arithmetic in both passes (__fmul_rn: never fused into the later "− m"), so the
 * maximal logit gives exp(0) = 1 exactly and l >= 1. */
static __device__ __forceinline__ float naive_logit(const float *__restrict__ qi,
                                                    const float *__restrict__ kj, int d,
                                                    float scale)
{
    float acc = 0.f;
    for (int c = 0; c < d; c++) acc = fmaf(qi[c], kj[c], acc);
    return __fmul_rn(acc, scale);
}

__global__ void __launch_bounds__(NAIVE_THREADS)
mhsa_naive_kernel(const float *__restrict__ q, const float *__restrict__ k,
                  const float *__restrict__ v, float *__restrict__ o, const mhsa_problem_t p,
                  long long rows)
{
    const int Nq = p.Nq, Nk = p.Nk, d = p.d;
    const float scale = p.scale;
    const long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x; /* (b·H + h)·Nq + i */
    if (row >= rows) return;
    const int i = (int)(row % Nq);
    const long long bh = row / Nq;
    const int b = (int)(bh / p.H);
    const long long bg = (long long)b * p.Hkv + (int)(bh % p.H) / (p.H / p.Hkv); /* K/V head */

    const float *qi = q + (size_t)row * d;
    const float *kb = k + (size_t)bg * Nk * d;
    const float *vb = v + (size_t)bg * Nk * d;
    float *oi = o + (size_t)row * d;

    /* Unmasked keys are exactly jlo <= j < jend. */
    int jlo, jend;
    mhsa_row_keys(p, b, i, jlo, jend);

    if (jend == jlo) { /* every key masked: the output row is 0, not 0/0 */
        for (int c = 0; c < d; c++) oi[c] = 0.f;
        return;
    }

    /* pass 1: row max, so every exp below has a non-positive argument */
    float m = -INFINITY;
    for (int j = jlo; j < jend; j++) m = fmaxf(m, naive_logit(qi, kb + (size_t)j * d, d, scale));

    /* pass 2, per chunk of NAIVE_DC output columns: softmax denominator and P·V */
    for (int c0 = 0; c0 < d; c0 += NAIVE_DC) {
        float acc[NAIVE_DC];
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++) acc[cc] = 0.f;
        float l = 0.f;
        for (int j = jlo; j < jend; j++) {
            const float pj = expf(naive_logit(qi, kb + (size_t)j * d, d, scale) - m);
            l += pj;
            const float *vj = vb + (size_t)j * d + c0;
#pragma unroll
            for (int cc = 0; cc < NAIVE_DC; cc++)
                if (c0 + cc < d) acc[cc] = fmaf(pj, vj[cc], acc[cc]);
        }
        const float inv_l = 1.f / l; /* l >= 1: the maximal logit contributes exp(0) */
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++)
            if (c0 + cc < d) oi[c0 + cc] = acc[cc] * inv_l;
    }
}

extern "C" int mhsa_naive_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    (void)ws;
    const long long rows = (long long)p->B * p->H * p->Nq;
    if (rows <= 0 || p->d <= 0) return 0;
    const long long blocks = ATTN_CEIL_DIV(rows, (long long)NAIVE_THREADS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration; /* grid.x limit */
    const unsigned grid = (unsigned)blocks;
    return ATTN_LAUNCH(mhsa_naive_kernel, grid, NAIVE_THREADS, 0, stream, (const float *)q,
                       (const float *)k, (const float *)v, (float *)o, *p, rows);
}
