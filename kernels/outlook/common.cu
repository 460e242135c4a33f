/* outlook common: the parts every variant shares (declared in outlook_common.cuh).
 *
 *   outlook_problem_reason   problem checks
 *   outlook_linear           Y (rows, out) = X (rows, in)·Wᵀ (+ b): a bias broadcast, then one
 *                            GEMM with beta = 1 (or beta = 0 without a bias)
 *   outlook_pool_kernel      P[b, n, c] = mean of x over the valid pixels of window n's cell
 *   outlook_softmax_kernel   one thread per (window, head, m) row of k² logits
 *
 * cuBLAS is column-major; row-major Y (rows × out) is column-major Yᵀ (out × rows, ld out)
 * = W·Xᵀ, with W (row-major out × in) the column-major in × out matrix transposed (op T, ld in)
 * and X (row-major rows × in) the column-major in × rows matrix (op N, ld in).
 * The cuBLAS handle is the process's one (attn_cublas_handle, kernels/common/attn_kernel.cu),
 * bound to the stream on every call; not thread-safe: launch from one host thread. */
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "outlook_common.cuh"
#include "launch.cuh"

#define OUTLOOK_THREADS 256

const char *outlook_problem_reason(const outlook_problem_t *p)
{
    static thread_local char why[160];
    if (p->B < 1 || p->H < 1 || p->W < 1 || p->C < 1 || p->Nh < 1 || p->k < 1 || p->s < 1) {
        std::snprintf(why, sizeof why,
                      "outlook needs B, H, W, C, Nh, k, s >= 1 (B=%d H=%d W=%d C=%d Nh=%d k=%d "
                      "s=%d)", p->B, p->H, p->W, p->C, p->Nh, p->k, p->s);
        return why;
    }
    if (p->k % 2 == 0) {
        std::snprintf(why, sizeof why, "outlook needs an odd kernel (k=%d)", p->k);
        return why;
    }
    if (p->C % p->Nh) {
        std::snprintf(why, sizeof why, "C=%d is not divisible by Nh=%d", p->C, p->Nh);
        return why;
    }
    const outlook_sizes_t z = outlook_sizes(p);
    const long long k4 = (long long)z.k2 * z.k2;
    if ((long long)p->B * z.HW * p->C > INT_MAX || (long long)p->B * z.nwin * k4 * p->Nh > INT_MAX) {
        std::snprintf(why, sizeof why, "outlook sizes overflow int (B=%d H=%d W=%d C=%d k=%d)",
                      p->B, p->H, p->W, p->C, p->k);
        return why;
    }
    return NULL;
}

outlook_front_bufs_t outlook_front_take(attn_ws_t *w, const outlook_problem_t *p)
{
    const outlook_sizes_t z = outlook_sizes(p);
    const size_t pix = (size_t)p->B * z.HW, win = (size_t)p->B * z.nwin;
    outlook_front_bufs_t b;
    b.v = (float *)attn_ws_take(w, pix * p->C * sizeof(float));
    b.pool = (float *)attn_ws_take(w, win * p->C * sizeof(float));
    b.a = (float *)attn_ws_take(w, win * z.R * sizeof(float));
    b.fold = (float *)attn_ws_take(w, pix * p->C * sizeof(float));
    return b;
}

int outlook_check(const outlook_problem_t *p, const void *ws, const char *who)
{
    return attn_launch_check(outlook_problem_reason(p), ws, who);
}

static unsigned grid_for(long long n) { return attn_grid_stride(n, OUTLOOK_THREADS); }

/* Y (rows, out) = X (rows, in)·Wᵀ + bias (bias may be NULL). */
static int outlook_linear(const float *X, int rows, int in, const void *W, const void *bias,
                          int out, float *Y, cudaStream_t stream)
{
    if (bias)
        if (int e = attn_bias_rows(Y, (const float *)bias, out, rows, stream)) return e;
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f, beta = bias ? 1.f : 0.f;
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, out, rows, in, &one, W, CUDA_R_32F,
                                 in, X, CUDA_R_32F, in, &beta, Y, CUDA_R_32F, out,
                                 CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* P[(b·nwin + n)·C + c]: one thread per element, grid-stride. Ceil mode: the cell
 * [iσ, iσ + σ) × [jσ, jσ + σ) clipped to the image, divided by its valid pixel count. */
__global__ void __launch_bounds__(OUTLOOK_THREADS)
outlook_pool_kernel(const float *__restrict__ x, float *__restrict__ P, int H, int W, int C,
                    int s, int hp, int wp, long long n)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x) {
        const int c = (int)(e % C);
        const long long bw = e / C;
        const int win = (int)(bw % ((long long)hp * wp)), b = (int)(bw / ((long long)hp * wp));
        const int y0 = (win / wp) * s, x0 = (win % wp) * s;
        const int y1 = min(y0 + s, H), x1 = min(x0 + s, W);
        float acc = 0.f;
        for (int py = y0; py < y1; py++)
            for (int px = x0; px < x1; px++)
                acc += x[(((long long)b * H + py) * W + px) * C + c];
        P[e] = acc / (float)((y1 - y0) * (x1 - x0));
    }
}

int outlook_front(const outlook_problem_t *p, const outlook_tensors_t *t,
                  const outlook_front_bufs_t *b, cudaStream_t stream)
{
    const outlook_sizes_t z = outlook_sizes(p);
    const int pix = p->B * z.HW, win = p->B * z.nwin;
    /* V = x·Wvᵀ (no bias) */
    if (int e = outlook_linear((const float *)t->x, pix, p->C, t->wv, NULL, p->C, b->v, stream))
        return e;
    const long long n = (long long)win * p->C;
    if (int e = ATTN_LAUNCH(outlook_pool_kernel, grid_for(n), OUTLOOK_THREADS, 0, stream,
                            (const float *)t->x, b->pool, p->H, p->W, p->C, p->s, z.hp, z.wp, n))
        return e;
    /* A = P·Waᵀ + ba: raw logits, unscaled */
    return outlook_linear(b->pool, win, p->C, t->wa, t->ba, z.R, b->a, stream);
}

/* Row r (of rows = B·nwin·Nh·k²) holds the k² logits over m' of one (window, head, m):
 * a ← softmax(scale·a), max-subtracted. */
__global__ void __launch_bounds__(OUTLOOK_THREADS)
outlook_softmax_kernel(float *__restrict__ A, int k2, float scale, long long rows)
{
    for (long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x; r < rows;
         r += (long long)gridDim.x * blockDim.x) {
        float *a = A + r * k2;
        float mx = -INFINITY;
        for (int t = 0; t < k2; t++) mx = fmaxf(mx, scale * a[t]);
        float z = 0.f;
        for (int t = 0; t < k2; t++) {
            const float e = expf(scale * a[t] - mx);
            a[t] = e;
            z += e;
        }
        const float inv = 1.f / z; /* z >= 1: the maximum contributes e^0 */
        for (int t = 0; t < k2; t++) a[t] *= inv;
    }
}

int outlook_softmax(const outlook_problem_t *p, float *a, cudaStream_t stream)
{
    const outlook_sizes_t z = outlook_sizes(p);
    const long long rows = (long long)p->B * z.nwin * p->Nh * z.k2;
    const float scale = (float)(1.0 / std::sqrt((double)z.d));
    return ATTN_LAUNCH(outlook_softmax_kernel, grid_for(rows), OUTLOOK_THREADS, 0, stream, a,
                       z.k2, scale, rows);
}

int outlook_back(const outlook_problem_t *p, const outlook_tensors_t *t, const float *fold,
                 cudaStream_t stream)
{
    const outlook_sizes_t z = outlook_sizes(p);
    return outlook_linear(fold, p->B * z.HW, p->C, t->wp, t->bp, p->C, (float *)t->y, stream);
}
