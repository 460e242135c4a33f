/* sge naive: the first rung, one thread per value of each stage, intermediates in global memory.
 *
 *   sge_mean_kernel    p[b, c] = mean_HW(x[b, c])                 one thread per channel plane
 *   sge_t_kernel       T[b, g, q] = Σ_c x[b, g·Cg + c, q]·p[b, g·Cg + c]   one thread per pixel
 *   sge_stats_kernel   (mean, a) per slab: a = w_g / (std_unbiased(T) + eps), std = 0 at HW = 1
 *   sge_naive_kernel   out = x·σ(a·(T − mean) + b_g)              one thread per element
 * Workspace: p (B·C), T (B·G·HW), stats (2·B·G) floats. */
#include <climits>
#include <cstdio>

#include "launch.cuh"
#include "sge_kernels.h"

#define NAIVE_THREADS 256

__global__ void __launch_bounds__(NAIVE_THREADS)
sge_mean_kernel(const float *__restrict__ x, float *__restrict__ p, int HW, long long planes)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= planes) return;
    float s = 0.f;
    for (int q = 0; q < HW; q++) s += x[i * HW + q];
    p[i] = s / (float)HW;
}

__global__ void __launch_bounds__(NAIVE_THREADS)
sge_t_kernel(const float *__restrict__ x, const float *__restrict__ p, float *__restrict__ T,
             int Cg, int HW, long long pixels)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; /* slab·HW + q */
    if (i >= pixels) return;
    const long long slab = i / HW;
    const int q = (int)(i % HW);
    const float *xs = x + slab * Cg * HW;
    float t = 0.f;
    for (int c = 0; c < Cg; c++) t += xs[(long long)c * HW + q] * p[slab * Cg + c];
    T[i] = t;
}

__global__ void __launch_bounds__(NAIVE_THREADS)
sge_stats_kernel(const float *__restrict__ T, const float *__restrict__ w,
                 float *__restrict__ stats, int G, int HW, long long slabs)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= slabs) return;
    const float *t = T + i * HW;
    float m = 0.f;
    for (int q = 0; q < HW; q++) m += t[q];
    m /= (float)HW;
    float ss = 0.f;
    for (int q = 0; q < HW; q++) ss += (t[q] - m) * (t[q] - m);
    const float sd = HW > 1 ? sqrtf(ss / (float)(HW - 1)) : 0.f;
    stats[2 * i] = m;
    stats[2 * i + 1] = w[i % G] / (sd + 1e-5f);
}

__global__ void __launch_bounds__(NAIVE_THREADS)
sge_naive_kernel(const float *__restrict__ x, const float *__restrict__ T,
                 const float *__restrict__ stats, const float *__restrict__ bias,
                 float *__restrict__ out, int G, int Cg, int HW, long long n)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n) return;
    const long long slab = e / ((long long)Cg * HW);
    const int q = (int)(e % HW);
    const float z = stats[2 * slab + 1] * (T[slab * HW + q] - stats[2 * slab]) + bias[slab % G];
    out[e] = x[e] / (1.f + expf(-z));
}

extern "C" const char *sge_problem_reason(const sge_problem_t *p)
{
    static thread_local char why[128];
    if (p->B < 1 || p->C < 1 || p->H < 1 || p->W < 1 || p->G < 1 || p->C % p->G) {
        std::snprintf(why, sizeof why, "sge needs B, C, H, W, G >= 1 and G | C (B=%d C=%d H=%d "
                      "W=%d G=%d)", p->B, p->C, p->H, p->W, p->G);
        return why;
    }
    if ((long long)p->H * p->W * (p->C / p->G) > INT_MAX / 4) {
        std::snprintf(why, sizeof why, "sge: a slab of C/G·H·W floats overflows int");
        return why;
    }
    return NULL;
}

extern "C" size_t sge_naive_workspace(const sge_problem_t *p)
{
    const size_t slabs = (size_t)p->B * p->G;
    return sizeof(float) * ((size_t)p->B * p->C + slabs * p->H * p->W + 2 * slabs);
}

extern "C" int sge_naive_launch(const sge_problem_t *p, const sge_tensors_t *t, void *ws,
                                attn_stream_t stream)
{
    if (int e = attn_refuse(sge_problem_reason(p), "sge_naive_launch")) return e;
    const int HW = p->H * p->W, Cg = p->C / p->G;
    const long long planes = (long long)p->B * p->C, slabs = (long long)p->B * p->G;
    const long long pixels = slabs * HW, n = planes * HW;
    if (ATTN_CEIL_DIV(n, (long long)NAIVE_THREADS) > 0x7fffffffLL)
        return (int)cudaErrorInvalidConfiguration;
    float *pc = (float *)ws, *T = pc + planes, *stats = T + pixels;
    const float *x = (const float *)t->x;
#define GRID(m) (unsigned)ATTN_CEIL_DIV((m), (long long)NAIVE_THREADS)
    int err = ATTN_LAUNCH(sge_mean_kernel, GRID(planes), NAIVE_THREADS, 0, stream, x, pc, HW,
                          planes);
    if (err) return err;
    err = ATTN_LAUNCH(sge_t_kernel, GRID(pixels), NAIVE_THREADS, 0, stream, x,
                      (const float *)pc, T, Cg, HW, pixels);
    if (err) return err;
    err = ATTN_LAUNCH(sge_stats_kernel, GRID(slabs), NAIVE_THREADS, 0, stream, (const float *)T,
                      (const float *)t->w, stats, p->G, HW, slabs);
    if (err) return err;
    return ATTN_LAUNCH(sge_naive_kernel, GRID(n), NAIVE_THREADS, 0, stream, x, (const float *)T,
                       (const float *)stats, (const float *)t->b, (float *)t->out, p->G, Cg, HW,
                       n);
#undef GRID
}
