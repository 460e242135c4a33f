/* mhsa naive: the first rung of the ladder, fp32 on CUDA cores, no shared memory.
 *
 * mhsa_naive_kernel: one thread per query row (b, h, i); Q, K, V are read straight from global
 * memory (a warp holds 32 consecutive rows of one head, so its K/V reads are broadcasts).
 * Safe softmax in two passes over the unmasked keys j < jend:
 *   pass 1  m = max_j s_j,  s_j = scale·q_i·k_j
 *   pass 2  l = Σ_j exp(s_j − m),  o_c = Σ_j exp(s_j − m)·v_jc,  O_ic = o_c / l
 * Pass 2 keeps NAIVE_DC output columns in registers and runs once per chunk of columns, so any d
 * works (d ≤ NAIVE_DC in one pass). Masked keys never enter either pass; a row with no unmasked
 * key writes zeros.
 * mhsa_naive_launch: the launcher (mhsa_kernels.h). */
#include "launch.cuh"
#include "mhsa_kernels.h"

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
                  const float *__restrict__ v, float *__restrict__ o, int H, int Nq, int Nk, int d,
                  int causal, float scale, const int *__restrict__ kv_len, long long rows)
{
    const long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x; /* (b·H + h)·Nq + i */
    if (row >= rows) return;
    const int i = (int)(row % Nq);
    const long long bh = row / Nq;
    const int b = (int)(bh / H);

    const float *qi = q + (size_t)row * d;
    const float *kb = k + (size_t)bh * Nk * d;
    const float *vb = v + (size_t)bh * Nk * d;
    float *oi = o + (size_t)row * d;

    /* Unmasked keys are exactly j < jend: the key-padding length, cut at the diagonal if causal. */
    int kend = Nk;
    if (kv_len) kend = min(max(kv_len[b], 0), Nk);
    const int jend = causal ? min(kend, i + 1) : kend;

    if (jend == 0) { /* every key masked: the output row is 0, not 0/0 */
        for (int c = 0; c < d; c++) oi[c] = 0.f;
        return;
    }

    /* pass 1: row max, so every exp below has a non-positive argument */
    float m = -INFINITY;
    for (int j = 0; j < jend; j++) m = fmaxf(m, naive_logit(qi, kb + (size_t)j * d, d, scale));

    /* pass 2, per chunk of NAIVE_DC output columns: softmax denominator and P·V */
    for (int c0 = 0; c0 < d; c0 += NAIVE_DC) {
        float acc[NAIVE_DC];
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++) acc[cc] = 0.f;
        float l = 0.f;
        for (int j = 0; j < jend; j++) {
            const float p = expf(naive_logit(qi, kb + (size_t)j * d, d, scale) - m);
            l += p;
            const float *vj = vb + (size_t)j * d + c0;
#pragma unroll
            for (int cc = 0; cc < NAIVE_DC; cc++)
                if (c0 + cc < d) acc[cc] = fmaf(p, vj[cc], acc[cc]);
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
                       (const float *)k, (const float *)v, (float *)o, p->H, p->Nq, p->Nk, p->d,
                       p->causal, p->scale, p->kv_len, rows);
}
