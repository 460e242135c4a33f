/* halo cublas: the unfused baseline, every product a cuBLAS GEMM, small kernels between.
 *
 *   halo_project_qkv                 Q (scaled by d^-½), KV, pixel-major (common.cu)
 *   RW = Q·rel_wᵀ, RH = Q·rel_hᵀ     cublasGemmEx over all B·HW·Nh (pixel, head) rows of Q: the
 *                                    2Wn − 1 relative terms of every query, fp32
 *   halo_cublas_gather_kernel<T>     Q_blk (G, b², d), K_win, V_win (G, Wn², d), G = B·nblocks·Nh
 *                                    in (image, block, head) order; window keys outside the image
 *                                    are zero
 *   S = Q_blk·K_winᵀ                 cublasGemmStridedBatchedEx, batch G, fp32 S (G, b², Wn²)
 *   halo_cublas_softmax_kernel<T>    logit = S + RW[Wn−1+kx−qx] + RH[Wn−1+ky−qy], keys outside
 *                                    the image masked, softmax → P (G, b², Wn²)
 *   O_blk = P·V_win                  cublasGemmStridedBatchedEx, batch G
 *   halo_cublas_scatter_kernel<T>    O_blk → O (B, HW, Di)
 *   halo_project_out                 y = Wo·Oᵀ + bo (common.cu)
 * f32: fp32 everywhere, CUBLAS_COMPUTE_32F under the default math mode (no TF32).
 * bf16: bf16 Q, KV, Q_blk, K_win, V_win, P, O_blk, O; fp32 RW, RH, S and accumulation.
 *
 * Column-major views of the row-major matrices (see common.cu), per batch entry:
 *   RWᵀ ((2Wn−1) × rows) = rel_w (op T of column-major d × (2Wn−1), ld d) · Qᵀ (d × rows, ld d)
 *   Sᵀ (Wn² × b²) = K_win (op T of d × Wn², ld d) · Q_blkᵀ (d × b², ld d)
 *   O_blkᵀ (d × b²) = V_winᵀ (d × Wn², ld d) · Pᵀ (Wn² × b², ld Wn²)
 *
 * Workspace (256-byte aligned regions): Q, KV, O, then Q_blk, K_win, V_win, O_blk (storage type),
 * RW, RH, S (fp32), P (storage type). */
#include <climits>
#include <cstdio>
#include <cuda_bf16.h>

#include "bf16.cuh"
#include "halo_common.cuh"
#include "launch.cuh"
#include "warp.cuh"

#define CUBLAS_ELEM_THREADS 256
#define CUBLAS_SOFTMAX_ROWS 8 /* rows (one per warp) per softmax block */

typedef __nv_bfloat16 bf16;

template <typename T> struct halo_regions {
    halo_proj_t pr;
    T *Qb, *Kw, *Vw, *Ob, *P;
    float *RW, *RH, *S;
};

template <typename T>
static halo_regions<T> cublas_take(attn_ws_t *w, const halo_problem_t *p)
{
    const halo_sizes_t z = halo_sizes(p);
    const size_t G = (size_t)z.G, bs2 = (size_t)p->b * p->b, Wn2 = (size_t)z.Wn * z.Wn;
    const size_t d = p->d, rows = (size_t)p->B * z.HW * p->Nh, NR = 2 * z.Wn - 1;
    halo_regions<T> r;
    r.pr = halo_proj_take(w, p, sizeof(T));
    r.Qb = (T *)attn_ws_take(w, G * bs2 * d * sizeof(T));
    r.Kw = (T *)attn_ws_take(w, G * Wn2 * d * sizeof(T));
    r.Vw = (T *)attn_ws_take(w, G * Wn2 * d * sizeof(T));
    r.Ob = (T *)attn_ws_take(w, G * bs2 * d * sizeof(T));
    r.RW = (float *)attn_ws_take(w, rows * NR * sizeof(float));
    r.RH = (float *)attn_ws_take(w, rows * NR * sizeof(float));
    r.S = (float *)attn_ws_take(w, G * bs2 * Wn2 * sizeof(float));
    r.P = (T *)attn_ws_take(w, G * bs2 * Wn2 * sizeof(T));
    return r;
}

/* One thread per element of K_win (and the same element of V_win), then of Q_blk:
 * e < G·Wn²·d: g = e / (Wn²·d), key j = (e / d) % Wn², c = e % d; then e' = e − G·Wn²·d < G·b²·d:
 * query i = (e' / d) % b². g = (img·nblocks + blk)·Nh + n. */
template <typename T>
__global__ void __launch_bounds__(CUBLAS_ELEM_THREADS)
halo_cublas_gather_kernel(const T *__restrict__ Q, const T *__restrict__ KV, T *__restrict__ Qb,
                          T *__restrict__ Kw, T *__restrict__ Vw, int H, int W, int bs, int halo,
                          int Nh, int d, long long n_kv, long long n_q)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    const int HW = H * W, Di = Nh * d, Wn = bs + 2 * halo, nbx = W / bs;
    const int nblocks = nbx * (H / bs);
    if (e < n_kv) {
        const int c = (int)(e % d), j = (int)((e / d) % (Wn * Wn));
        const long long g = e / ((long long)Wn * Wn * d);
        const int n = (int)(g % Nh), blk = (int)((g / Nh) % nblocks), img = (int)(g / Nh / nblocks);
        const int py = (blk / nbx) * bs - halo + j / Wn, px = (blk % nbx) * bs - halo + j % Wn;
        T k = T(0.f), v = T(0.f); /* outside the image: x = 0, so k = v = 0 */
        if (py >= 0 && py < H && px >= 0 && px < W) {
            const T *src = KV + ((size_t)img * HW + py * W + px) * 2 * Di + n * d + c;
            k = src[0];
            v = src[Di];
        }
        Kw[e] = k;
        Vw[e] = v;
    } else if (e - n_kv < n_q) {
        const long long eq = e - n_kv;
        const int bs2 = bs * bs;
        const int c = (int)(eq % d), i = (int)((eq / d) % bs2);
        const long long g = eq / ((long long)bs2 * d);
        const int n = (int)(g % Nh), blk = (int)((g / Nh) % nblocks), img = (int)(g / Nh / nblocks);
        const int py = (blk / nbx) * bs + i / bs, px = (blk % nbx) * bs + i % bs;
        Qb[eq] = Q[((size_t)img * HW + py * W + px) * Di + n * d + c];
    }
}

/* The inverse of the Q_blk gather, for O: one thread per element of O_blk. */
template <typename T>
__global__ void __launch_bounds__(CUBLAS_ELEM_THREADS)
halo_cublas_scatter_kernel(const T *__restrict__ Ob, T *__restrict__ O, int H, int W, int bs,
                           int Nh, int d, long long n_o)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= n_o) return;
    const int HW = H * W, Di = Nh * d, nbx = W / bs, nblocks = nbx * (H / bs), bs2 = bs * bs;
    const int c = (int)(e % d), i = (int)((e / d) % bs2);
    const long long g = e / ((long long)bs2 * d);
    const int n = (int)(g % Nh), blk = (int)((g / Nh) % nblocks), img = (int)(g / Nh / nblocks);
    const int py = (blk / nbx) * bs + i / bs, px = (blk % nbx) * bs + i % bs;
    O[((size_t)img * HW + py * W + px) * Di + n * d + c] = Ob[e];
}

/* One warp per row (g, i) of S; rows = G·b². The query's RW/RH row is (pixel, head) row
 * (img·HW + pixel)·Nh + n of the projection GEMMs. Masked keys get P = 0. */
template <typename T>
__global__ void __launch_bounds__(CUBLAS_SOFTMAX_ROWS * 32)
halo_cublas_softmax_kernel(const float *__restrict__ S, const float *__restrict__ RW,
                           const float *__restrict__ RH, T *__restrict__ P, int H, int W, int bs,
                           int halo, int Nh, long long rows)
{
    const long long row = (long long)blockIdx.x * CUBLAS_SOFTMAX_ROWS + (threadIdx.x >> 5);
    if (row >= rows) return; /* warp-uniform */
    const int lane = threadIdx.x & 31;
    const int HW = H * W, Wn = bs + 2 * halo, Wn2 = Wn * Wn, NR = 2 * Wn - 1, bs2 = bs * bs;
    const int nbx = W / bs, nblocks = nbx * (H / bs);
    const int i = (int)(row % bs2);
    const long long g = row / bs2;
    const int n = (int)(g % Nh), blk = (int)((g / Nh) % nblocks), img = (int)(g / Nh / nblocks);
    const int qy = i / bs, qx = i % bs;
    const int y0 = (blk / nbx) * bs, x0 = (blk % nbx) * bs;
    const int wy = y0 - halo, wx = x0 - halo; /* window origin */
    /* the unmasked keys: the window rectangle inside the image */
    const int ky_lo = max(0, -wy), ky_hi = min(Wn, H - wy);
    const int kx_lo = max(0, -wx), kx_hi = min(Wn, W - wx);

    const long long qrow = ((long long)img * HW + (y0 + qy) * W + x0 + qx) * Nh + n;
    const float *rw = RW + qrow * NR + (Wn - 1 - qx); /* rw[kx] = q·rel_w[Wn−1+kx−qx] */
    const float *rh = RH + qrow * NR + (Wn - 1 - qy); /* rh[ky] = q·rel_h[Wn−1+ky−qy] */
    const float *s = S + row * Wn2;
    T *pr = P + row * Wn2;

    /* pass 1: each lane folds its unmasked keys into a running (m, l), then the lanes merge.
     * The logit is computed identically in both passes, so the row max gives e^0 = 1. */
    float m = -INFINITY, l = 0.f;
    for (int j = lane; j < Wn2; j += 32) {
        const int ky = j / Wn, kx = j - ky * Wn;
        if (ky < ky_lo || ky >= ky_hi || kx < kx_lo || kx >= kx_hi) continue; /* masked */
        const float x = s[j] + rw[kx] + rh[ky];
        attn_online_fold(m, l, x);
    }
    attn_online_merge_warp(m, l);
    const float inv_l = 1.f / l; /* l >= 1: the query's own pixel is unmasked */

    /* pass 2: P = e^(logit − m) / l at unmasked keys, 0 at masked ones */
    for (int j = lane; j < Wn2; j += 32) {
        const int ky = j / Wn, kx = j - ky * Wn;
        float p = 0.f;
        if (ky >= ky_lo && ky < ky_hi && kx >= kx_lo && kx < kx_hi)
            p = expf(s[j] + rw[kx] + rh[ky] - m) * inv_l;
        attn_st(pr, j, p);
    }
}

template <typename T>
static int cublas_halo(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                       cudaDataType_t type, cudaStream_t stream, const char *who)
{
    if (int e = attn_refuse(halo_problem_reason(p), who)) return e;
    const halo_sizes_t z = halo_sizes(p);
    const long long rows = (long long)p->B * z.HW * p->Nh; /* (pixel, head) rows of Q */
    if (rows > INT_MAX || z.G > INT_MAX) {
        std::fprintf(stderr, "%s: B·H·W·Nh=%lld rows exceed a GEMM dimension\n", who, rows);
        return (int)cudaErrorInvalidValue;
    }
    if (int e = attn_ws_check(ws, who)) return e;
    attn_ws_t w = {(char *)ws, 0};
    const halo_regions<T> r = cublas_take<T>(&w, p);
    const int d = p->d, bs2 = p->b * p->b, Wn2 = z.Wn * z.Wn, NR = 2 * z.Wn - 1;
    const int G = (int)z.G;

    if (int e = halo_project_qkv(p, t, type, r.pr.q, r.pr.kv, stream)) return e;

    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f, zero = 0.f;

    /* relative terms of every (pixel, head): RWᵀ = rel_w·Qᵀ, RHᵀ = rel_h·Qᵀ */
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, NR, (int)rows, d, &one, t->rel_w,
                                 type, d, r.pr.q, type, d, &zero, r.RW, CUDA_R_32F, NR,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, NR, (int)rows, d, &one, t->rel_h,
                                 type, d, r.pr.q, type, d, &zero, r.RH, CUDA_R_32F, NR,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));

    /* gather Q blocks and K/V windows */
    const long long n_kv = (long long)G * Wn2 * d, n_q = (long long)G * bs2 * d;
    const long long blocks = ATTN_CEIL_DIV(n_kv + n_q, (long long)CUBLAS_ELEM_THREADS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    int err = ATTN_LAUNCH(halo_cublas_gather_kernel<T>, (unsigned)blocks, CUBLAS_ELEM_THREADS, 0,
                          stream, (const T *)r.pr.q, (const T *)r.pr.kv, r.Qb, r.Kw, r.Vw, p->H,
                          p->W, p->b, p->h, p->Nh, d, n_kv, n_q);
    if (err) return err;

    /* S = Q_blk·K_winᵀ per (block, head): column-major Sᵀ = K_win·Q_blkᵀ */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, Wn2, bs2, d, &one, r.Kw, type, d, (long long)Wn2 * d, r.Qb,
        type, d, (long long)bs2 * d, &zero, r.S, CUDA_R_32F, Wn2, (long long)bs2 * Wn2, G,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));

    /* relative terms, mask, softmax */
    const long long srows = (long long)G * bs2;
    const long long sblocks = ATTN_CEIL_DIV(srows, (long long)CUBLAS_SOFTMAX_ROWS);
    if (sblocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    err = ATTN_LAUNCH(halo_cublas_softmax_kernel<T>, (unsigned)sblocks, CUBLAS_SOFTMAX_ROWS * 32,
                      0, stream, (const float *)r.S, (const float *)r.RW, (const float *)r.RH, r.P,
                      p->H, p->W, p->b, p->h, p->Nh, srows);
    if (err) return err;

    /* O_blk = P·V_win: column-major O_blkᵀ = V_winᵀ·Pᵀ */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_N, CUBLAS_OP_N, d, bs2, Wn2, &one, r.Vw, type, d, (long long)Wn2 * d, r.P,
        type, Wn2, (long long)bs2 * Wn2, &zero, r.Ob, type, d, (long long)bs2 * d, G,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));

    /* back to pixel-major O */
    const long long oblocks = ATTN_CEIL_DIV(n_q, (long long)CUBLAS_ELEM_THREADS);
    if (oblocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    err = ATTN_LAUNCH(halo_cublas_scatter_kernel<T>, (unsigned)oblocks, CUBLAS_ELEM_THREADS, 0,
                      stream, (const T *)r.Ob, (T *)r.pr.o, p->H, p->W, p->b, p->Nh, d, n_q);
    if (err) return err;

    return halo_project_out(p, t, type, r.pr.o, stream);
}

extern "C" size_t halo_cublas_f32_workspace(const halo_problem_t *p)
{
    if (halo_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    cublas_take<float>(&w, p);
    return w.used;
}

extern "C" size_t halo_cublas_bf16_workspace(const halo_problem_t *p)
{
    if (halo_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    cublas_take<bf16>(&w, p);
    return w.used;
}

extern "C" int halo_cublas_f32_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                                      attn_stream_t stream)
{
    return cublas_halo<float>(p, t, ws, CUDA_R_32F, stream, "halo_cublas_f32_launch");
}

/* x, parameters and y are attn_bf16_t (raw bf16 bits), which cuBLAS reads as CUDA_R_16BF. */
extern "C" int halo_cublas_bf16_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                                       attn_stream_t stream)
{
    return cublas_halo<bf16>(p, t, ws, CUDA_R_16BF, stream, "halo_cublas_bf16_launch");
}
