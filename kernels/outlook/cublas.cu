/* outlook cublas: the unfused baseline, written the way the seed's PyTorch runs it, fp32.
 *
 *   outlook_front               V = x·Wvᵀ, P = pool(x), A = P·Waᵀ + ba (common.cu, cuBLAS)
 *   outlook_softmax             A ← softmax over m' of d^-½·A (common.cu)
 *   outlook_unfold_kernel       U[b, n, h, m', c'] = V[pix(n, m'), h·d + c'] (0 outside): nn.Unfold
 *   cublasGemmStridedBatchedEx  O[b, n, h] (k² × d) = A[b, n, h] (k² × k²) · U[b, n, h] (k² × d),
 *                               one batch entry per (image, window, head)
 *   outlook_fold_kernel         F[q, c] = Σ of O[b, n, h, m, c'] with pix(n, m) = q: F.fold as a
 *                               gather (one writer per output, no atomics)
 *   outlook_back                y = F·Wpᵀ + bp (common.cu)
 * Column-major view of the batched GEMM: Oᵀ (d × k², ld d) = Uᵀ (d × k², ld d)·Aᵀ (k² × k²,
 * ld k²), both op N. Workspace: V, P, A, F, then U and O (B·h'w'·k²·C floats each). */
#include "outlook_common.cuh"
#include "launch.cuh"

#define CUBLAS_THREADS 256

/* Element e of U = ((((b·nwin + n)·Nh + h)·k² + m')·d + c'); grid-stride. */
__global__ void __launch_bounds__(CUBLAS_THREADS)
outlook_unfold_kernel(const float *__restrict__ V, float *__restrict__ U, int H, int W, int C,
                      int d, int k, int s, int wp, int nwin, int Nh, long long n)
{
    const int k2 = k * k, pad = (k - 1) / 2;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x) {
        const int cc = (int)(e % d);
        long long r = e / d;
        const int m2 = (int)(r % k2);
        r /= k2;
        const int h = (int)(r % Nh);
        r /= Nh;
        const int win = (int)(r % nwin), b = (int)(r / nwin);
        const int vy = (win / wp) * s - pad + m2 / k, vx = (win % wp) * s - pad + m2 % k;
        U[e] = (vy >= 0 && vy < H && vx >= 0 && vx < W)
                   ? V[(((long long)b * H + vy) * W + vx) * C + h * d + cc]
                   : 0.f;
    }
}

/* Element e of F = (b·HW + q)·C + c; grid-stride. */
__global__ void __launch_bounds__(CUBLAS_THREADS)
outlook_fold_kernel(const float *__restrict__ O, float *__restrict__ F, int H, int W, int C,
                    int d, int k, int s, int hp, int wp, int Nh, long long n)
{
    const int k2 = k * k, pad = (k - 1) / 2;
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x) {
        const int c = (int)(e % C), h = c / d, cc = c % d;
        const long long row = e / C;
        const int b = (int)(row / ((long long)H * W)), q = (int)(row % ((long long)H * W));
        const int py = q / W, px = q % W;
        float acc = 0.f;
        for (int my = 0; my < k; my++) {
            const int i = outlook_win(py, my, pad, s, hp);
            if (i < 0) continue;
            for (int mx = 0; mx < k; mx++) {
                const int j = outlook_win(px, mx, pad, s, wp);
                if (j < 0) continue;
                acc += O[(((((long long)b * hp + i) * wp + j) * Nh + h) * k2 + my * k + mx) * d +
                         cc];
            }
        }
        F[e] = acc;
    }
}

static unsigned cublas_grid(long long n) { return attn_grid_stride(n, CUBLAS_THREADS); }

typedef struct cublas_bufs {
    float *u, *o;
} cublas_bufs_t;

static cublas_bufs_t cublas_take(attn_ws_t *w, const outlook_problem_t *p)
{
    const outlook_sizes_t z = outlook_sizes(p);
    const size_t n = (size_t)p->B * z.nwin * z.k2 * p->C;
    cublas_bufs_t b;
    b.u = (float *)attn_ws_take(w, n * sizeof(float));
    b.o = (float *)attn_ws_take(w, n * sizeof(float));
    return b;
}

extern "C" size_t outlook_cublas_workspace(const outlook_problem_t *p)
{
    if (outlook_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    outlook_front_take(&w, p);
    cublas_take(&w, p);
    return w.used;
}

extern "C" int outlook_cublas_launch(const outlook_problem_t *p, const outlook_tensors_t *t,
                                     void *ws, attn_stream_t stream)
{
    if (int e = outlook_check(p, ws, "outlook_cublas_launch")) return e;
    const outlook_sizes_t z = outlook_sizes(p);
    if ((long long)p->B * z.nwin * z.k2 * p->C > 0x7fffffffLL) {
        std::fprintf(stderr, "outlook_cublas_launch: unfolded v would have 2^31 or more "
                     "elements\n");
        return (int)cudaErrorInvalidValue;
    }
    attn_ws_t w = {(char *)ws, 0};
    const outlook_front_bufs_t bf = outlook_front_take(&w, p);
    const cublas_bufs_t cb = cublas_take(&w, p);
    if (int e = outlook_front(p, t, &bf, stream)) return e;
    if (int e = outlook_softmax(p, bf.a, stream)) return e;

    const long long nu = (long long)p->B * z.nwin * z.k2 * p->C;
    if (int e = ATTN_LAUNCH(outlook_unfold_kernel, cublas_grid(nu), CUBLAS_THREADS, 0, stream,
                            (const float *)bf.v, cb.u, p->H, p->W, p->C, z.d, p->k, p->s, z.wp,
                            z.nwin, p->Nh, nu))
        return e;

    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f, zero = 0.f;
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_N, CUBLAS_OP_N, z.d, z.k2, z.k2, &one, cb.u, CUDA_R_32F, z.d,
        (long long)z.k2 * z.d, bf.a, CUDA_R_32F, z.k2, (long long)z.k2 * z.k2, &zero, cb.o,
        CUDA_R_32F, z.d, (long long)z.k2 * z.d, p->B * z.nwin * p->Nh, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));

    const long long nf = (long long)p->B * z.HW * p->C;
    if (int e = ATTN_LAUNCH(outlook_fold_kernel, cublas_grid(nf), CUBLAS_THREADS, 0, stream,
                            (const float *)cb.o, bf.fold, p->H, p->W, p->C, z.d, p->k, p->s,
                            z.hp, z.wp, p->Nh, nf))
        return e;
    return outlook_back(p, t, bf.fold, stream);
}
