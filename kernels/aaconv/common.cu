/* aaconv common: the parts every variant shares (declared in aaconv_common.cuh).
 *
 *   aaconv_problem_reason   problem checks
 *   aaconv_conv_kernel      both k×k convolutions as one straightforward direct convolution:
 *                           one thread per (image, channel, output pixel) of the Fc + Cq channels;
 *                           channels [0, Fc) are the conv branch (written into y), the rest the
 *                           qkv conv (written head-major into Q, K, V; q scaled by dkh^−½ after
 *                           the bias, as q ×= dkh^−½ in docs/suites.md)
 *   aaconv_rel_softmax_kernel  one CTA per row (bn, i) of S: rw[jx] = q_i·rel_w[jx − ix + Wo − 1]
 *                           and rh[jy] = q_i·rel_h[jy − iy + Ho − 1] into shared memory (2·Ho
 *                           dots), then S[i, j] += rw[jx] + rh[jy] by index, softmax in place
 *   aaconv_out_kernel       the 1×1 output conv, reading attention channel n·dvh + c of pixel i
 *                           as O[b, n, i, c] (the head merge with its transpose)
 * Both are templates on the storage type T of x, the parameters and y (float, or bf16 for the
 * bf16 variants); fp32 accumulation throughout, Q, K, V, O fp32; x is zero outside the image. */
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>

#include "aaconv_common.cuh"
#include "launch.cuh"

#define AACONV_CONV_THREADS 256
#define SOFTMAX_THREADS 128

const char *aaconv_problem_reason(const aaconv_problem_t *p)
{
    static thread_local char why[200];
    if (p->B < 1 || p->Fin < 1 || p->Fout < 1 || p->H < 1 || p->W < 1 || p->k < 1 ||
        p->stride < 1 || p->Nh < 1 || p->dk < 1 || p->dv < 1) {
        std::snprintf(why, sizeof why, "aaconv needs every size >= 1 (B=%d Fin=%d Fout=%d H=%d "
                      "W=%d k=%d stride=%d Nh=%d dk=%d dv=%d)", p->B, p->Fin, p->Fout, p->H,
                      p->W, p->k, p->stride, p->Nh, p->dk, p->dv);
        return why;
    }
    if (p->k % 2 == 0 || (p->kq != 1 && p->kq != p->k) || p->dk % p->Nh || p->dv % p->Nh ||
        p->dv >= p->Fout) {
        std::snprintf(why, sizeof why, "aaconv needs odd k, kq 1 or k, Nh dividing dk and dv, "
                      "dv < Fout (k=%d kq=%d Nh=%d dk=%d dv=%d Fout=%d)", p->k, p->kq, p->Nh,
                      p->dk, p->dv, p->Fout);
        return why;
    }
    const aaconv_sizes_t z = aaconv_sizes(p);
    const int Wo = (p->W + 2 * ((p->k - 1) / 2) - p->k) / p->stride + 1;
    if (z.Ho != Wo) {
        std::snprintf(why, sizeof why, "aaconv needs a square output map (Ho=%d, Wo=%d)", z.Ho, Wo);
        return why;
    }
    const long long N = z.N;
    if (N * N > INT_MAX || (long long)p->Fout * N > INT_MAX || (long long)z.Cq * N > INT_MAX ||
        (long long)p->Fin * p->H * p->W > INT_MAX || (long long)p->B * p->Nh > 65535) {
        std::snprintf(why, sizeof why, "aaconv sizes overflow int or the grid (N=%lld, Fout=%d, "
                      "Fin=%d, H=%d, W=%d, B·Nh=%d)", N, p->Fout, p->Fin, p->H, p->W, p->B * p->Nh);
        return why;
    }
    return NULL;
}

aaconv_qkvo_t aaconv_qkvo_take(attn_ws_t *w, const aaconv_problem_t *p)
{
    const size_t rows = (size_t)p->B * aaconv_sizes(p).N;
    aaconv_qkvo_t r;
    r.q = (float *)attn_ws_take(w, rows * p->dk * sizeof(float));
    r.k = (float *)attn_ws_take(w, rows * p->dk * sizeof(float));
    r.v = (float *)attn_ws_take(w, rows * p->dv * sizeof(float));
    r.o = (float *)attn_ws_take(w, rows * p->dv * sizeof(float));
    return r;
}

float *aaconv_s_take(attn_ws_t *w, const aaconv_problem_t *p)
{
    const size_t N = (size_t)aaconv_sizes(p).N;
    return (float *)attn_ws_take(w, (size_t)p->B * p->Nh * N * N * sizeof(float));
}

size_t aaconv_workspace_bytes(const aaconv_problem_t *p, bool with_s)
{
    if (aaconv_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    aaconv_qkvo_take(&w, p);
    if (with_s) aaconv_s_take(&w, p);
    return w.used;
}

/* Thread e = (img·(Fc + Cq) + ch)·N + pix: consecutive threads take consecutive output pixels
 * of one channel, so the stores into y are coalesced and the weights are a broadcast. */
template <typename T>
__global__ void __launch_bounds__(AACONV_CONV_THREADS)
aaconv_conv_kernel(const T *__restrict__ x, const T *__restrict__ wc,
                   const T *__restrict__ bc, const T *__restrict__ wqkv,
                   const T *__restrict__ bqkv, T *__restrict__ y, float *__restrict__ Q,
                   float *__restrict__ K, float *__restrict__ V, int Fin, int Fout, int H, int W,
                   int k, int stride, int kq, int Nh, int dk, int dv, int Ho, float qscale,
                   long long total)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= total) return;
    const int Fc = Fout - dv, Cq = 2 * dk + dv, N = Ho * Ho;
    const int pix = (int)(e % N);
    const int ch = (int)((e / N) % (Fc + Cq));
    const int img = (int)(e / ((long long)N * (Fc + Cq)));
    const int oy = pix / Ho, ox = pix % Ho;
    const bool branch = ch < Fc;
    const int kk = branch ? k : kq, pad = (kk - 1) / 2;
    const T *w = branch ? wc + (size_t)ch * Fin * kk * kk
                        : wqkv + (size_t)(ch - Fc) * Fin * kk * kk;
    float acc = branch ? (float)bc[ch] : (float)bqkv[ch - Fc];
    const T *xb = x + (size_t)img * Fin * H * W;
    for (int c = 0; c < Fin; c++)
        for (int dy = 0; dy < kk; dy++) {
            const int iy = oy * stride - pad + dy;
            if (iy < 0 || iy >= H) continue;
            for (int dx = 0; dx < kk; dx++) {
                const int ix = ox * stride - pad + dx;
                if (ix < 0 || ix >= W) continue;
                acc = fmaf((float)w[(c * kk + dy) * kk + dx], (float)xb[((size_t)c * H + iy) * W + ix],
                           acc);
            }
        }
    if (branch) {
        y[((size_t)img * Fout + ch) * N + pix] = (T)acc;
        return;
    }
    /* qkv channel cq → head-major (img, n, pix, c) */
    const int cq = ch - Fc, dkh = dk / Nh, dvh = dv / Nh;
    if (cq < dk)
        Q[(((size_t)img * Nh + cq / dkh) * N + pix) * dkh + cq % dkh] = acc * qscale;
    else if (cq < 2 * dk)
        K[(((size_t)img * Nh + (cq - dk) / dkh) * N + pix) * dkh + (cq - dk) % dkh] = acc;
    else
        V[(((size_t)img * Nh + (cq - 2 * dk) / dvh) * N + pix) * dvh + (cq - 2 * dk) % dvh] = acc;
}

/* Thread e = (img·dv + oc)·N + pix. */
template <typename T>
__global__ void __launch_bounds__(AACONV_CONV_THREADS)
aaconv_out_kernel(const float *__restrict__ O, const T *__restrict__ wo,
                  const T *__restrict__ bo, T *__restrict__ y, int Fout, int Nh, int dv,
                  int N, long long total)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= total) return;
    const int pix = (int)(e % N), oc = (int)((e / N) % dv), img = (int)(e / ((long long)N * dv));
    const int dvh = dv / Nh;
    float acc = (float)bo[oc];
    for (int c = 0; c < dv; c++)
        acc = fmaf((float)wo[oc * dv + c], O[(((size_t)img * Nh + c / dvh) * N + pix) * dvh + c % dvh],
                   acc);
    y[((size_t)img * Fout + Fout - dv + oc) * N + pix] = (T)acc;
}

template <typename T>
static int front(const aaconv_problem_t *p, const aaconv_tensors_t *t, const aaconv_qkvo_t *b,
                 cudaStream_t stream)
{
    const aaconv_sizes_t z = aaconv_sizes(p);
    const long long total = (long long)p->B * (z.Fc + z.Cq) * z.N;
    const long long blocks = ATTN_CEIL_DIV(total, (long long)AACONV_CONV_THREADS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    const float qscale = (float)(1.0 / std::sqrt((double)z.dkh));
    return ATTN_LAUNCH(aaconv_conv_kernel<T>, (unsigned)blocks, AACONV_CONV_THREADS, 0, stream,
                       (const T *)t->x, (const T *)t->wc, (const T *)t->bc,
                       (const T *)t->wqkv, (const T *)t->bqkv, (T *)t->y, b->q, b->k,
                       b->v, p->Fin, p->Fout, p->H, p->W, p->k, p->stride, p->kq, p->Nh, p->dk,
                       p->dv, z.Ho, qscale, total);
}

template <typename T>
static int back(const aaconv_problem_t *p, const aaconv_tensors_t *t, const aaconv_qkvo_t *b,
                cudaStream_t stream)
{
    const aaconv_sizes_t z = aaconv_sizes(p);
    const long long total = (long long)p->B * p->dv * z.N;
    const long long blocks = ATTN_CEIL_DIV(total, (long long)AACONV_CONV_THREADS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    return ATTN_LAUNCH(aaconv_out_kernel<T>, (unsigned)blocks, AACONV_CONV_THREADS, 0, stream,
                       (const float *)b->o, (const T *)t->wo, (const T *)t->bo, (T *)t->y,
                       p->Fout, p->Nh, p->dv, z.N, total);
}

int aaconv_front(const aaconv_problem_t *p, const aaconv_tensors_t *t, const aaconv_qkvo_t *b,
                 bool bf16, cudaStream_t stream)
{
    return bf16 ? front<__nv_bfloat16>(p, t, b, stream) : front<float>(p, t, b, stream);
}

int aaconv_back(const aaconv_problem_t *p, const aaconv_tensors_t *t, const aaconv_qkvo_t *b,
                bool bf16, cudaStream_t stream)
{
    return bf16 ? back<__nv_bfloat16>(p, t, b, stream) : back<float>(p, t, b, stream);
}

/* Sum (max when is_max) of v over the CTA; every thread gets the result. red: 32 floats. */
static __device__ float block_reduce(float v, bool is_max, float *red)
{
    for (int o = 16; o > 0; o >>= 1) {
        const float w = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, w) : v + w;
    }
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    __syncthreads(); /* red may still be read from a previous reduction */
    if (lane == 0) red[warp] = v;
    __syncthreads();
    v = red[0];
    for (int k = 1; k < nw; k++) v = is_max ? fmaxf(v, red[k]) : v + red[k];
    return v;
}

/* Row r = bn·N + i of S. */
template <typename T>
__global__ void __launch_bounds__(SOFTMAX_THREADS)
aaconv_rel_softmax_kernel(float *__restrict__ S, const float *__restrict__ Q,
                          const T *__restrict__ rel, int Ho, int dkh)
{
    ATTN_DYNAMIC_SMEM(smem);
    __shared__ float red[32];
    float *rw = (float *)smem, *rh = rw + Ho;
    const int N = Ho * Ho, R = 2 * Ho - 1;
    const long long r = blockIdx.x;
    const int i = (int)(r % N), iy = i / Ho, ix = i % Ho;
    const float *q = Q + r * dkh;
    float *s = S + r * N;

    /* relative logits by offset: 2·Ho dots of length dkh */
    for (int e = threadIdx.x; e < 2 * Ho; e += blockDim.x) {
        const int jr = e % Ho;
        const T *tab = e < Ho ? rel + (size_t)(jr - ix + Ho - 1) * dkh
                                  : rel + (size_t)(R + jr - iy + Ho - 1) * dkh;
        float a = 0.f;
        for (int c = 0; c < dkh; c++) a = fmaf(q[c], (float)tab[c], a);
        (e < Ho ? rw : rh)[jr] = a;
    }
    __syncthreads();

    float m = -INFINITY;
    for (int j = threadIdx.x; j < N; j += blockDim.x) {
        const float v = s[j] + rw[j % Ho] + rh[j / Ho];
        s[j] = v;
        m = fmaxf(m, v);
    }
    m = block_reduce(m, true, red);
    float l = 0.f;
    for (int j = threadIdx.x; j < N; j += blockDim.x) {
        const float p = expf(s[j] - m);
        s[j] = p;
        l += p;
    }
    const float inv_l = 1.f / block_reduce(l, false, red);
    for (int j = threadIdx.x; j < N; j += blockDim.x) s[j] *= inv_l;
}

int aaconv_rel_softmax(const aaconv_problem_t *p, float *S, const float *Q, const void *rel,
                       bool bf16, cudaStream_t stream)
{
    const aaconv_sizes_t z = aaconv_sizes(p);
    const unsigned rows = (unsigned)((long long)p->B * p->Nh * z.N);
    const size_t smem = 2 * (size_t)z.Ho * sizeof(float);
    if (bf16)
        return ATTN_LAUNCH(aaconv_rel_softmax_kernel<__nv_bfloat16>, rows, SOFTMAX_THREADS, smem,
                           stream, S, Q, (const __nv_bfloat16 *)rel, z.Ho, z.dkh);
    return ATTN_LAUNCH(aaconv_rel_softmax_kernel<float>, rows, SOFTMAX_THREADS, smem, stream, S,
                       Q, (const float *)rel, z.Ho, z.dkh);
}
