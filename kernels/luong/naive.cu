/* luong naive: the first rung, fp32 on CUDA cores, no shared memory.
 *
 * luong_project (common.cu): cuBLAS GEMMs for the projections (general: K' = h̄·Waᵀ; concat:
 * Q' = h·W1ᵀ, K' = h̄·W2ᵀ) into the workspace.
 * luong_naive_kernel<CONCAT>: one thread per query row (b, t), everything from global memory
 * (a warp holds 32 consecutive rows of one batch, so its key reads are broadcasts). Safe
 * softmax in two passes over the S keys:
 *   pass 1  m = max_s e_s
 *   pass 2  l = Σ_s exp(e_s − m),  acc_c = Σ_s exp(e_s − m)·h̄_sc,  c_tc = acc_c / l
 * Pass 2 keeps NAIVE_DC output columns in registers and runs once per chunk of columns, so any
 * Dk works. The scores are recomputed per chunk: the price of holding no (B, T, S) array.
 * The weights a_ts = exp(e_s − m) / l: the first chunk stores exp(e_s − m) in a's row as it
 * goes and scales the row by 1/l once l is known (the thread's own stores, read back). */
#include "launch.cuh"
#include "luong_common.cuh"
#include "luong_score.cuh"

#define NAIVE_DC 64
#define NAIVE_THREADS 128

template <bool CONCAT>
static __device__ __forceinline__ float naive_score(const float *__restrict__ q,
                                                    const float *__restrict__ k,
                                                    const float *__restrict__ v, int Dp)
{
    float acc = 0.f;
    for (int a = 0; a < Dp; a++) acc = luong_score_term<CONCAT>(q[a], k[a], CONCAT ? v[a] : 0.f, acc);
    return acc;
}

template <bool CONCAT>
__global__ void __launch_bounds__(NAIVE_THREADS)
luong_naive_kernel(const float *__restrict__ q, const float *__restrict__ k,
                   const float *__restrict__ v, const float *__restrict__ hb,
                   float *__restrict__ c, float *__restrict__ a, int T, int S, int Dp, int Dk,
                   long long rows)
{
    const long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x; /* b·T + t */
    if (row >= rows) return;
    const long long b = row / T;
    const float *qt = q + (size_t)row * Dp;
    const float *kb = k + (size_t)b * S * Dp;
    const float *hbb = hb + (size_t)b * S * Dk;
    float *ct = c + (size_t)row * Dk;
#ifndef ATTN_PLANT_LUONG_WEIGHTS
    float *at = a + (size_t)row * S;
    const int astride = 1;
#else /* planted bug: a[b] written as (S, T), c still right */
    float *at = a + (size_t)b * S * T + (row - b * T);
    const int astride = T;
#endif

    /* pass 1: row max, so every exp below has a non-positive argument */
    float m = -INFINITY;
    for (int s = 0; s < S; s++) m = fmaxf(m, naive_score<CONCAT>(qt, kb + (size_t)s * Dp, v, Dp));

    /* pass 2, per chunk of NAIVE_DC output columns: denominator and Σ p·h̄ */
    for (int c0 = 0; c0 < Dk; c0 += NAIVE_DC) {
        float acc[NAIVE_DC];
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++) acc[cc] = 0.f;
        float l = 0.f;
        for (int s = 0; s < S; s++) {
            const float p = expf(naive_score<CONCAT>(qt, kb + (size_t)s * Dp, v, Dp) - m);
            if (c0 == 0) at[(size_t)s * astride] = p;
            l += p;
            const float *hs = hbb + (size_t)s * Dk + c0;
#pragma unroll
            for (int cc = 0; cc < NAIVE_DC; cc++)
                if (c0 + cc < Dk) acc[cc] = fmaf(p, hs[cc], acc[cc]);
        }
        const float inv_l = 1.f / l; /* l >= 1 up to rounding: the max contributes exp(0) */
        if (c0 == 0)
            for (int s = 0; s < S; s++) at[(size_t)s * astride] *= inv_l;
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++)
            if (c0 + cc < Dk) ct[c0 + cc] = acc[cc] * inv_l;
    }
}

extern "C" size_t luong_naive_workspace(const luong_problem_t *p)
{
    attn_ws_t w = {NULL, 0};
    luong_proj_take(&w, p, sizeof(float));
    return w.used ? w.used : 256;
}

extern "C" int luong_naive_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                                  attn_stream_t stream)
{
    if (int e = attn_launch_check(luong_problem_reason(p), ws, "luong_naive_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    luong_ops_t o = luong_proj_take(&w, p, sizeof(float));
    if (int e = luong_project(p, t, CUDA_R_32F, &o, stream)) return e;
    const long long rows = (long long)p->B * p->T;
    const unsigned grid = (unsigned)ATTN_CEIL_DIV(rows, (long long)NAIVE_THREADS);
    const float *q = (const float *)o.q, *k = (const float *)o.k, *v = (const float *)o.v;
    float *a = luong_weights_out<float>(t);
    if (p->score == LUONG_SCORE_CONCAT)
        return ATTN_LAUNCH(luong_naive_kernel<true>, grid, NAIVE_THREADS, 0, stream, q, k, v,
                           (const float *)t->hb, (float *)t->c, a, p->T, p->S, o.Dp, p->Dk, rows);
    return ATTN_LAUNCH(luong_naive_kernel<false>, grid, NAIVE_THREADS, 0, stream, q, k, v,
                       (const float *)t->hb, (float *)t->c, a, p->T, p->S, o.Dp, p->Dk, rows);
}
