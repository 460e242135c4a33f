/* halo naive: the first rung, fp32 on CUDA cores, no shared memory.
 *
 *   halo_project_qkv     Q = d^-½·Wq·x, KV = Wkv·x, pixel-major (common.cu, cuBLAS)
 *   halo_naive_kernel    one thread per (pixel, head): its block's window, K, V, rel_w and rel_h
 *                        read straight from global memory
 *   halo_project_out     y = Wo·Oᵀ + bo (common.cu, cuBLAS)
 *
 * For the query at offset (qy, qx) of block (by, bx), window origin (wy, wx) = (by·b − h,
 * bx·b − h):
 *   key (ky, kx) is the pixel (wy + ky, wx + kx); keys outside the image are masked, so the loops
 *   run over the in-image rectangle [ky_lo, ky_hi) × [kx_lo, kx_hi) of the window only, which is
 *   exactly the unmasked keys (never empty: the query's own pixel is in it).
 *   logit = q·k + q·rel_w[Wn−1+kx−qx] + q·rel_h[Wn−1+ky−qy]
 *   pass 1  m = max logit
 *   pass 2  l = Σ e^(logit − m),  o = Σ e^(logit − m)·v,  O = o / l
 * Pass 2 keeps NAIVE_DC output columns in registers and runs once per chunk of them (any d).
 * Workspace: Q, KV, O (fp32), 256-byte aligned regions (halo_common.cuh). */
#include <cstdio>

#include "halo_common.cuh"
#include "launch.cuh"
#include "warp.cuh"

#define NAIVE_THREADS 128
#define NAIVE_DC 64 /* output columns accumulated per pass over the keys */

/* Thread (img·HW + pixel)·Nh + n; a warp covers consecutive heads of neighbouring pixels, which
 * share most of their keys. */
__global__ void __launch_bounds__(NAIVE_THREADS)
halo_naive_kernel(const float *__restrict__ Q, const float *__restrict__ KV,
                  const float *__restrict__ rel_w, const float *__restrict__ rel_h,
                  float *__restrict__ O, int H, int W, int bs, int halo, int Nh, int d,
                  long long threads)
{
    const long long tid = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (tid >= threads) return;
    const int n = (int)(tid % Nh);
    const long long row = tid / Nh; /* img·HW + pixel */
    const int HW = H * W, Di = Nh * d, Wn = bs + 2 * halo;
    const int img = (int)(row / HW), pix = (int)(row % HW);
    const int py = pix / W, px = pix % W;
    const int qy = py % bs, qx = px % bs;               /* offset in the block */
    const int wy = py - qy - halo, wx = px - qx - halo; /* window origin */

    /* the unmasked keys: the window rectangle inside the image */
    const int ky_lo = max(0, -wy), ky_hi = min(Wn, H - wy);
    const int kx_lo = max(0, -wx), kx_hi = min(Wn, W - wx);

    const float *q = Q + row * Di + n * d;
    const float *K = KV + (size_t)img * HW * 2 * Di + n * d; /* K of pixel p at K + p·2·Di */
    const float *V = K + Di;
    float *o = O + row * Di + n * d;

    /* pass 1: row max, so every exponent below is <= 0 */
    float m = -INFINITY;
    for (int ky = ky_lo; ky < ky_hi; ky++)
        for (int kx = kx_lo; kx < kx_hi; kx++) {
            const size_t kp = (size_t)((wy + ky) * W + wx + kx) * 2 * Di;
            m = fmaxf(m, attn_rel_logit(q, K + kp, rel_w + (Wn - 1 + kx - qx) * d,
                                        rel_h + (Wn - 1 + ky - qy) * d, d));
        }

    /* pass 2, per chunk of NAIVE_DC columns: softmax denominator and P·V */
    for (int c0 = 0; c0 < d; c0 += NAIVE_DC) {
        float acc[NAIVE_DC];
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++) acc[cc] = 0.f;
        float l = 0.f;
        for (int ky = ky_lo; ky < ky_hi; ky++)
            for (int kx = kx_lo; kx < kx_hi; kx++) {
                const size_t kp = (size_t)((wy + ky) * W + wx + kx) * 2 * Di;
                const float p = expf(attn_rel_logit(q, K + kp, rel_w + (Wn - 1 + kx - qx) * d,
                                                    rel_h + (Wn - 1 + ky - qy) * d, d) - m);
                l += p;
                const float *v = V + kp + c0;
#pragma unroll
                for (int cc = 0; cc < NAIVE_DC; cc++)
                    if (c0 + cc < d) acc[cc] = fmaf(p, v[cc], acc[cc]);
            }
        const float inv_l = 1.f / l; /* l >= 1: the maximal logit contributes e^0 */
#pragma unroll
        for (int cc = 0; cc < NAIVE_DC; cc++)
            if (c0 + cc < d) o[c0 + cc] = acc[cc] * inv_l;
    }
}

extern "C" size_t halo_naive_workspace(const halo_problem_t *p)
{
    return halo_proj_workspace(p, sizeof(float));
}

extern "C" int halo_naive_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    if (int e = attn_launch_check(halo_problem_reason(p), ws, "halo_naive_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const halo_proj_t pr = halo_proj_take(&w, p, sizeof(float));

    if (int e = halo_project_qkv(p, t, CUDA_R_32F, pr.q, pr.kv, stream)) return e;

    const long long threads = (long long)p->B * p->H * p->W * p->Nh;
    const long long blocks = ATTN_CEIL_DIV(threads, (long long)NAIVE_THREADS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration; /* grid.x limit */
    int err = ATTN_LAUNCH(halo_naive_kernel, (unsigned)blocks, NAIVE_THREADS, 0, stream,
                          (const float *)pr.q, (const float *)pr.kv, (const float *)t->rel_w,
                          (const float *)t->rel_h, (float *)pr.o, p->H, p->W, p->b, p->h, p->Nh,
                          p->d, threads);
    if (err) return err;

    return halo_project_out(p, t, CUDA_R_32F, pr.o, stream);
}
