/* shuffle naive: the first rung, two kernels, no shared memory.
 *
 *   shuffle_stats_kernel   one thread per (b, k) plane: μ (and σ² for the spatial branch) by
 *                          serial loops over the plane; writes (μ, A, D) so that the gate's
 *                          argument is (x − μ)·A + D:
 *                            channel branch  A = 0,                  D = cw·μ + cb
 *                            spatial branch  A = sw·γ/√(σ² + eps),   D = sw·β + sb
 *   shuffle_naive_kernel   one thread per input element: out[shuffled] = x·σ((x − μ)·A + D)
 * Workspace: 3 floats per plane. */
#include <climits>
#include <cstdio>

#include "launch.cuh"
#include "shuffle_kernels.h"

#define NAIVE_THREADS 256

__global__ void __launch_bounds__(NAIVE_THREADS)
shuffle_stats_kernel(const float *__restrict__ x, const float *__restrict__ cw,
                     const float *__restrict__ cb, const float *__restrict__ sw,
                     const float *__restrict__ sb, const float *__restrict__ gamma,
                     const float *__restrict__ beta, float *__restrict__ stats, int C, int HW,
                     int Cg, long long planes)
{
    const long long plane = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (plane >= planes) return;
    const int k = (int)(plane % C), i = k % (2 * Cg);
    const float *xp = x + plane * HW;
    float sum = 0.f;
    for (int q = 0; q < HW; q++) sum += xp[q];
    const float mu = sum / (float)HW;
    float A, D;
    if (i < Cg) {
        A = 0.f;
        D = cw[i] * mu + cb[i];
    } else {
        const int c = i - Cg;
        float ss = 0.f;
        for (int q = 0; q < HW; q++) ss += (xp[q] - mu) * (xp[q] - mu);
        A = sw[c] * gamma[c] / sqrtf(ss / (float)HW + 1e-5f);
        D = sw[c] * beta[c] + sb[c];
    }
    stats[plane * 3 + 0] = mu;
    stats[plane * 3 + 1] = A;
    stats[plane * 3 + 2] = D;
}

__global__ void __launch_bounds__(NAIVE_THREADS)
shuffle_naive_kernel(const float *__restrict__ x, const float *__restrict__ stats,
                     float *__restrict__ out, int C, int HW, long long n)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n) return;
    const long long plane = e / HW;
    const int k = (int)(plane % C), half = C / 2;
    const long long o = plane - k + 2 * (k % half) + k / half; /* b·C + shuffled channel */
    const float mu = stats[plane * 3], A = stats[plane * 3 + 1], D = stats[plane * 3 + 2];
    const float v = x[e];
    out[o * HW + e % HW] = v / (1.f + expf(-((v - mu) * A + D)));
}

extern "C" const char *shuffle_problem_reason(const shuffle_problem_t *p)
{
    static thread_local char why[128];
    if (p->B < 1 || p->C < 1 || p->H < 1 || p->W < 1 || p->G < 1 || p->C % (2 * p->G)) {
        std::snprintf(why, sizeof why, "shuffle needs B, C, H, W, G >= 1 and 2G | C (B=%d C=%d "
                      "H=%d W=%d G=%d)", p->B, p->C, p->H, p->W, p->G);
        return why;
    }
    if ((long long)p->H * p->W > INT_MAX / 4) {
        std::snprintf(why, sizeof why, "shuffle: H·W=%lld overflows int", (long long)p->H * p->W);
        return why;
    }
    return NULL;
}

extern "C" size_t shuffle_naive_workspace(const shuffle_problem_t *p)
{
    return 3 * sizeof(float) * (size_t)p->B * (size_t)p->C;
}

extern "C" int shuffle_naive_launch(const shuffle_problem_t *p, const shuffle_tensors_t *t,
                                    void *ws, attn_stream_t stream)
{
    if (int e = attn_refuse(shuffle_problem_reason(p), "shuffle_naive_launch")) return e;
    const int HW = p->H * p->W, Cg = p->C / (2 * p->G);
    const long long planes = (long long)p->B * p->C, n = planes * HW;
    const long long g1 = ATTN_CEIL_DIV(planes, (long long)NAIVE_THREADS);
    const long long g2 = ATTN_CEIL_DIV(n, (long long)NAIVE_THREADS);
    if (g2 > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    float *stats = (float *)ws;
    int err = ATTN_LAUNCH(shuffle_stats_kernel, (unsigned)g1, NAIVE_THREADS, 0, stream,
                          (const float *)t->x, (const float *)t->cw, (const float *)t->cb,
                          (const float *)t->sw, (const float *)t->sb, (const float *)t->gamma,
                          (const float *)t->beta, stats, p->C, HW, Cg, planes);
    if (err) return err;
    return ATTN_LAUNCH(shuffle_naive_kernel, (unsigned)g2, NAIVE_THREADS, 0, stream,
                       (const float *)t->x, (const float *)stats, (float *)t->out, p->C, HW, n);
}
