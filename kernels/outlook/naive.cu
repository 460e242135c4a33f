/* outlook naive: the first rung, fp32 on CUDA cores, no shared memory.
 *
 *   outlook_front           V = x·Wvᵀ, P = pool(x), A = P·Waᵀ + ba (common.cu, cuBLAS)
 *   outlook_softmax         A ← softmax over m' of d^-½·A (common.cu)
 *   outlook_naive_kernel    one thread per (pixel q, channel c) of F: the fold as a gather,
 *                           F[q, c] = Σ over windows n and offsets m with pix(n, m) = q of
 *                           Σ_m' a[n, head(c), m, m']·V[pix(n, m'), c]  (V = 0 outside)
 *   outlook_back            y = F·Wpᵀ + bp (common.cu, cuBLAS)
 * Each output is written by exactly one thread: deterministic, no atomics.
 * Workspace: V, P, A, F (fp32). */
#include "outlook_common.cuh"
#include "launch.cuh"

#define NAIVE_THREADS 256

/* Thread e = (b·HW + q)·C + c; a warp covers consecutive channels of one pixel. */
__global__ void __launch_bounds__(NAIVE_THREADS)
outlook_naive_kernel(const float *__restrict__ V, const float *__restrict__ A,
                     float *__restrict__ F, int H, int W, int C, int d, int k, int s, int hp,
                     int wp, int Nh, long long n)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n) return;
    const int c = (int)(e % C), head = c / d, k2 = k * k, pad = (k - 1) / 2;
    const long long row = e / C;
    const int b = (int)(row / ((long long)H * W)), q = (int)(row % ((long long)H * W));
    const int py = q / W, px = q % W;
    const float *Vb = V + (long long)b * H * W * C + c;
    float acc = 0.f;
    for (int my = 0; my < k; my++) {
        const int i = outlook_win(py, my, pad, s, hp);
        if (i < 0) continue;
        for (int mx = 0; mx < k; mx++) {
            const int j = outlook_win(px, mx, pad, s, wp);
            if (j < 0) continue;
            /* row m = (my, mx) of window (i, j), head `head` */
            const float *a = A + ((((long long)b * hp + i) * wp + j) * Nh + head) * k2 * k2 +
                             (my * k + mx) * k2;
            for (int m2 = 0; m2 < k2; m2++) {
                const int vy = i * s - pad + m2 / k, vx = j * s - pad + m2 % k;
                if (vy < 0 || vy >= H || vx < 0 || vx >= W) continue; /* v = 0 there */
                acc = fmaf(a[m2], Vb[((long long)vy * W + vx) * C], acc);
            }
        }
    }
    F[e] = acc;
}

extern "C" size_t outlook_naive_workspace(const outlook_problem_t *p)
{
    if (outlook_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    outlook_front_take(&w, p);
    return w.used;
}

extern "C" int outlook_naive_launch(const outlook_problem_t *p, const outlook_tensors_t *t,
                                    void *ws, attn_stream_t stream)
{
    if (int e = outlook_check(p, ws, "outlook_naive_launch")) return e;
    const outlook_sizes_t z = outlook_sizes(p);
    attn_ws_t w = {(char *)ws, 0};
    const outlook_front_bufs_t bf = outlook_front_take(&w, p);
    if (int e = outlook_front(p, t, &bf, stream)) return e;
    if (int e = outlook_softmax(p, bf.a, stream)) return e;

    const long long n = (long long)p->B * z.HW * p->C;
    const long long blocks = ATTN_CEIL_DIV(n, (long long)NAIVE_THREADS);
    if (int e = ATTN_LAUNCH(outlook_naive_kernel, (unsigned)blocks, NAIVE_THREADS, 0, stream,
                            (const float *)bf.v, (const float *)bf.a, bf.fold, p->H, p->W, p->C,
                            z.d, p->k, p->s, z.hp, z.wp, p->Nh, n))
        return e;
    return outlook_back(p, t, bf.fold, stream);
}
