/* aaconv naive: the first rung, fp32 on CUDA cores, no shared memory.
 *
 *   aaconv_front         conv branch into y, qkv conv into head-major Q, K, V (common.cu)
 *   aaconv_naive_kernel  one thread per (image, head, query i): all N keys, K, V, rel_w and rel_h
 *                        read straight from global memory
 *   aaconv_back          1×1 output conv into y (common.cu)
 *
 *   logit(i, j) = q_i·k_j + q_i·rel_w[jx − ix + Wo − 1] + q_i·rel_h[jy − iy + Ho − 1]
 *   pass 1  m = max_j logit
 *   pass 2  l = Σ e^(logit − m),  o = Σ e^(logit − m)·v_j,  O = o / l
 * Pass 2 keeps NAIVE_DC output columns in registers and runs once per chunk of them (any dvh). */
#include <cstdio>

#include "aaconv_common.cuh"
#include "launch.cuh"
#include "warp.cuh"

#define NAIVE_THREADS 128
#define NAIVE_DC 16

/* Thread ((img·Nh + n)·N + i): a warp takes neighbouring queries of one head. */
__global__ void __launch_bounds__(NAIVE_THREADS)
aaconv_naive_kernel(const float *__restrict__ Q, const float *__restrict__ K,
                    const float *__restrict__ V, const float *__restrict__ rel,
                    float *__restrict__ O, int Ho, int dkh, int dvh, long long threads)
{
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (tid >= threads) return;
    const int N = Ho * Ho, R = 2 * Ho - 1;
    const long long bn = tid / N; /* img·Nh + n */
    const int i = (int)(tid % N), iy = i / Ho, ix = i % Ho;
    const float *q = Q + tid * dkh;
    const float *Kb = K + bn * N * dkh, *Vb = V + bn * N * dvh;
    const float *rel_w = rel, *rel_h = rel + (size_t)R * dkh;

    /* pass 1: row max */
    float m = -INFINITY;
    for (int j = 0; j < N; j++)
        m = fmaxf(m, attn_rel_logit(q, Kb + (size_t)j * dkh,
                                    rel_w + (j % Ho - ix + Ho - 1) * dkh,
                                    rel_h + (j / Ho - iy + Ho - 1) * dkh, dkh));

    /* pass 2, per chunk of NAIVE_DC columns: denominator and P·V */
    for (int c0 = 0; c0 < dvh; c0 += NAIVE_DC) {
        float acc[NAIVE_DC];
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++) acc[cc] = 0.f;
        float l = 0.f;
        for (int j = 0; j < N; j++) {
            const float p = expf(attn_rel_logit(q, Kb + (size_t)j * dkh,
                                                rel_w + (j % Ho - ix + Ho - 1) * dkh,
                                                rel_h + (j / Ho - iy + Ho - 1) * dkh, dkh) - m);
            l += p;
            const float *v = Vb + (size_t)j * dvh + c0;
#pragma unroll
            for (int cc = 0; cc < NAIVE_DC; cc++)
                if (c0 + cc < dvh) acc[cc] = fmaf(p, v[cc], acc[cc]);
        }
        const float inv_l = 1.f / l; /* l >= 1: the maximal logit contributes e^0 */
        float *o = O + tid * dvh;
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++)
            if (c0 + cc < dvh) o[c0 + cc] = acc[cc] * inv_l;
    }
}

extern "C" size_t aaconv_naive_workspace(const aaconv_problem_t *p)
{
    return aaconv_workspace_bytes(p, false);
}

extern "C" int aaconv_naive_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t,
                                   void *ws, attn_stream_t stream)
{
    if (int e = attn_launch_check(aaconv_problem_reason(p), ws, "aaconv_naive_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const aaconv_qkvo_t b = aaconv_qkvo_take(&w, p);
    const aaconv_sizes_t z = aaconv_sizes(p);

    if (int e = aaconv_front(p, t, &b, false, stream)) return e;
    const long long threads = (long long)p->B * p->Nh * z.N;
    const long long blocks = ATTN_CEIL_DIV(threads, (long long)NAIVE_THREADS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    if (int e = ATTN_LAUNCH(aaconv_naive_kernel, (unsigned)blocks, NAIVE_THREADS, 0, stream,
                            (const float *)b.q, (const float *)b.k, (const float *)b.v,
                            (const float *)t->rel, b.o, z.Ho, z.dkh, z.dvh, threads))
        return e;
    return aaconv_back(p, t, &b, false, stream);
}
