/* outlook fused: softmax over k², a·v and the fold in one kernel, fp32, from the raw logits.
 *
 *   outlook_front          V = x·Wvᵀ, P = pool(x), A = P·Waᵀ + ba (common.cu, cuBLAS)
 *   outlook_fused_kernel   one warp per (output pixel q, head h), lane l on channels
 *                          h·d + l + 32·t (t < ⌈d/32⌉): for each window row (n, m) landing on q
 *                          (the gather form of the fold):
 *                            logits   lane u holds d^-½·A[n, h, m, u] and [u + 32] (k² <= 64)
 *                            softmax  max and Σe by xor-shuffle reductions, p = e / Σe
 *                            a·v      for each in-image m', p_m' broadcast by a shuffle,
 *                                     acc_t += p_m'·V[pix(n, m'), h·d + l + 32t]
 *                          then F[q, h·d + …] = acc: one writer per output, no atomics, and no
 *                          normalised weights in global memory (each row is used by exactly one
 *                          pixel, so nothing is recomputed)
 *   outlook_back           y = F·Wpᵀ + bp (common.cu)
 * Workspace: V, P, A, F (fp32). */
#include <cmath>

#include "outlook_common.cuh"
#include "warp.cuh"
#include "launch.cuh"

#define FUSED_THREADS 256
#define FUSED_WARPS (FUSED_THREADS / 32)
#define FUSED_MAX_K2 64 /* two logits per lane */
#define FUSED_NCH 4     /* channel groups of 32 per lane: d <= 128 */

__global__ void __launch_bounds__(FUSED_THREADS)
outlook_fused_kernel(const float *__restrict__ V, const float *__restrict__ A,
                     float *__restrict__ F, int H, int W, int C, int d, int k, int s, int hp,
                     int wp, int Nh, float scale, long long nwarps)
{
    const long long warp = (long long)blockIdx.x * FUSED_WARPS + threadIdx.x / 32;
    if (warp >= nwarps) return; /* whole warps only */
    const int lane = threadIdx.x % 32, k2 = k * k, pad = (k - 1) / 2;
    const int head = (int)(warp % Nh);
    const long long row = warp / Nh; /* b·HW + q */
    const int b = (int)(row / ((long long)H * W)), q = (int)(row % ((long long)H * W));
    const int py = q / W, px = q % W;
    const float *Vb = V + (long long)b * H * W * C + head * d;
    const float *Ab = A + (long long)b * hp * wp * Nh * k2 * k2;

    float acc[FUSED_NCH];
#pragma unroll
    for (int t = 0; t < FUSED_NCH; t++) acc[t] = 0.f;

    for (int my = 0; my < k; my++) {
        const int i = outlook_win(py, my, pad, s, hp);
        if (i < 0) continue; /* warp-uniform */
        for (int mx = 0; mx < k; mx++) {
            const int j = outlook_win(px, mx, pad, s, wp);
            if (j < 0) continue;
            const float *a = Ab + (((long long)i * wp + j) * Nh + head) * k2 * k2 +
                             (my * k + mx) * k2;
            /* softmax of the row over m' */
            const float l0 = lane < k2 ? scale * a[lane] : -INFINITY;
            const float l1 = lane + 32 < k2 ? scale * a[lane + 32] : -INFINITY;
            const float mxl = attn_warp_max(fmaxf(l0, l1));
            const float e0 = lane < k2 ? expf(l0 - mxl) : 0.f;
            const float e1 = lane + 32 < k2 ? expf(l1 - mxl) : 0.f;
            const float inv = 1.f / attn_warp_sum(e0 + e1); /* >= 1 term equal to 1 */
            const float p0 = e0 * inv, p1 = e1 * inv;
            /* a·v over the in-image m' (v = 0 elsewhere) */
            for (int m2 = 0; m2 < k2; m2++) {
                const float pm = __shfl_sync(0xffffffffu, m2 < 32 ? p0 : p1, m2 & 31);
                const int vy = i * s - pad + m2 / k, vx = j * s - pad + m2 % k;
                if (vy < 0 || vy >= H || vx < 0 || vx >= W) continue; /* warp-uniform */
                const float *v = Vb + ((long long)vy * W + vx) * C;
#pragma unroll
                for (int t = 0; t < FUSED_NCH; t++)
                    if (lane + 32 * t < d) acc[t] = fmaf(pm, v[lane + 32 * t], acc[t]);
            }
        }
    }
    float *f = F + row * C + head * d;
#pragma unroll
    for (int t = 0; t < FUSED_NCH; t++)
        if (lane + 32 * t < d) f[lane + 32 * t] = acc[t];
}

extern "C" const char *outlook_fused_supports(const outlook_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = outlook_problem_reason(p)) return r;
    if (p->k * p->k > FUSED_MAX_K2) {
        std::snprintf(why, sizeof why, "k=%d: fused holds a softmax row of k² <= %d logits in "
                      "one warp (k <= 7)", p->k, FUSED_MAX_K2);
        return why;
    }
    if (p->C / p->Nh > 32 * FUSED_NCH) {
        std::snprintf(why, sizeof why, "head dim d=%d: fused keeps at most %d channels per warp",
                      p->C / p->Nh, 32 * FUSED_NCH);
        return why;
    }
    return NULL;
}

extern "C" size_t outlook_fused_workspace(const outlook_problem_t *p)
{
    if (outlook_fused_supports(p)) return 0;
    attn_ws_t w = {NULL, 0};
    outlook_front_take(&w, p);
    return w.used;
}

extern "C" int outlook_fused_launch(const outlook_problem_t *p, const outlook_tensors_t *t,
                                    void *ws, attn_stream_t stream)
{
    if (int e = outlook_check(p, ws, "outlook_fused_launch")) return e;
    if (int e = attn_refuse(outlook_fused_supports(p), "outlook_fused_launch")) return e;
    const outlook_sizes_t z = outlook_sizes(p);
    attn_ws_t w = {(char *)ws, 0};
    const outlook_front_bufs_t bf = outlook_front_take(&w, p);
    if (int e = outlook_front(p, t, &bf, stream)) return e;

    const long long nwarps = (long long)p->B * z.HW * p->Nh;
    const long long blocks = ATTN_CEIL_DIV(nwarps, (long long)FUSED_WARPS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    const float scale = (float)(1.0 / std::sqrt((double)z.d));
    if (int e = ATTN_LAUNCH(outlook_fused_kernel, (unsigned)blocks, FUSED_THREADS, 0, stream,
                            (const float *)bf.v, (const float *)bf.a, bf.fold, p->H, p->W, p->C,
                            z.d, p->k, p->s, z.hp, z.wp, p->Nh, scale, nwarps))
        return e;
    return outlook_back(p, t, bf.fold, stream);
}
