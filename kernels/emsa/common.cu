/* emsa common: the parts the variants share (declared in emsa_common.cuh).
 *
 *   emsa_reduce_kernel        one CTA per reduced position (b, n'): the depthwise (r+1)² conv of
 *                             every channel, then LayerNorm over C (two block reductions)
 *   emsa_softmax_kernel       one thread per (b, g, query row i): head transform
 *                             S'_g = Σ_k T[g, k]·S_k + t_g (h > 1), softmax over the N' keys,
 *                             and the row's Σ(p − 1/N')² for the InstanceNorm
 *   emsa_norm_stats_kernel    one CTA per map (b, g): inv = 1/√(Σ rows / (N·N') + eps)
 *   emsa_norm_apply_kernel    P̂ = (P − 1/N')·inv, elementwise
 *   emsa_run_steps            reduction, projections, logits GEMM, the kernels above, P̂·V GEMM,
 *                             output projection, over the variant's GEMM.
 * The map's mean is exactly 1/N' (every softmax row sums to 1), so the variance needs one
 * reduction; summing (p − 1/N')² rather than p² avoids the cancellation of E[p²] − 1/N'². */
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "emsa_common.cuh"
#include "launch.cuh"

#define EMSA_RED_THREADS 128
#define EMSA_ROW_THREADS 128
#define EMSA_ELEM_THREADS 256

const char *emsa_problem_reason(const emsa_problem_t *p)
{
    static thread_local char why[192];
    if (p->B < 1 || p->C < 1 || p->H < 1 || p->W < 1 || p->h < 1 || p->r < 1) {
        std::snprintf(why, sizeof why, "emsa needs B, C, H, W, h, r >= 1 (B=%d C=%d H=%d W=%d "
                      "h=%d r=%d)", p->B, p->C, p->H, p->W, p->h, p->r);
        return why;
    }
    if (p->C % p->h) {
        std::snprintf(why, sizeof why, "C=%d is not divisible by h=%d", p->C, p->h);
        return why;
    }
    if (p->r > 1 && (p->H + 2 * (p->r / 2) < p->r + 1 || p->W + 2 * (p->r / 2) < p->r + 1)) {
        std::snprintf(why, sizeof why, "H=%d, W=%d give an empty reduced map for r=%d", p->H,
                      p->W, p->r);
        return why;
    }
    const emsa_sizes_t z = emsa_sizes(p);
    if ((long long)p->h * z.N * z.Np > INT_MAX || (long long)z.N * p->C > INT_MAX ||
        3LL * p->C * p->C > INT_MAX) {
        std::snprintf(why, sizeof why, "emsa sizes overflow int (h=%d, N=%d, N'=%d, C=%d)", p->h,
                      z.N, z.Np, p->C);
        return why;
    }
    return NULL;
}

emsa_bufs_t emsa_bufs_take(attn_ws_t *w, const emsa_problem_t *p, int with_s)
{
    const emsa_sizes_t z = emsa_sizes(p);
    const size_t B = (size_t)p->B, C = (size_t)p->C, f = sizeof(float);
    const size_t map = B * p->h * z.N * z.Np;
    emsa_bufs_t b;
    b.xr = p->r > 1 ? (float *)attn_ws_take(w, B * z.Np * C * f) : NULL;
    b.q = (float *)attn_ws_take(w, B * z.N * C * f);
    b.k = (float *)attn_ws_take(w, B * z.Np * C * f);
    b.v = (float *)attn_ws_take(w, B * z.Np * C * f);
    b.s = with_s ? (float *)attn_ws_take(w, map * f) : NULL;
    b.pm = (float *)attn_ws_take(w, map * f);
    b.rowsq = (float *)attn_ws_take(w, B * p->h * z.N * f);
    b.inv = (float *)attn_ws_take(w, B * p->h * f);
    b.o = (float *)attn_ws_take(w, B * z.N * C * f);
    return b;
}

size_t emsa_workspace_bytes(const emsa_problem_t *p, int with_s)
{
    if (emsa_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    emsa_bufs_take(&w, p, with_s);
    return w.used;
}

/* Sum of v over the CTA (blockDim.x a multiple of 32, at most 1024), returned to every thread.
 * red has 32 floats; a barrier at the end makes red reusable. */
static __device__ float emsa_block_sum(float v, float *red)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float s = 0.f;
    for (int i = 0; i < nw; i++) s += red[i];
    __syncthreads();
    return s;
}

/* CTA per reduced position (b, oy, ox); thread c-strided over channels. Each thread re-reads
 * only the channels it wrote, so xr needs no barrier between the passes. */
__global__ void __launch_bounds__(EMSA_RED_THREADS)
emsa_reduce_kernel(const float *__restrict__ x, const float *__restrict__ srw,
                   const float *__restrict__ srp, float *__restrict__ xr, int C, int H, int W,
                   int r, int Wr, int Np)
{
    __shared__ float red[32];
    const int b = blockIdx.x / Np, np = blockIdx.x % Np;
    const int oy = np / Wr, ox = np % Wr, k = r + 1, pad = r / 2;
    const float *xb = x + (size_t)b * H * W * C;
    float *o = xr + ((size_t)b * Np + np) * C;

    /* conv + bias, and the running sum for the mean */
    float sum = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        float acc = srp[c];
        for (int ky = 0; ky < k; ky++) {
            const int iy = oy * r - pad + ky;
            if (iy < 0 || iy >= H) continue; /* zero padding */
            for (int kx = 0; kx < k; kx++) {
                const int ix = ox * r - pad + kx;
                if (ix < 0 || ix >= W) continue;
                acc = fmaf(srw[(c * k + ky) * k + kx], xb[(size_t)(iy * W + ix) * C + c], acc);
            }
        }
        o[c] = acc;
        sum += acc;
    }
    const float mean = emsa_block_sum(sum, red) / (float)C;
    float sq = 0.f;
    for (int c = threadIdx.x; c < C; c += blockDim.x) sq += (o[c] - mean) * (o[c] - mean);
    const float inv = 1.f / sqrtf(emsa_block_sum(sq, red) / (float)C + EMSA_EPS);
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        o[c] = (o[c] - mean) * inv * srp[C + c] + srp[2 * C + c];
}

int emsa_reduce(const emsa_problem_t *p, const emsa_tensors_t *t, float *xr, cudaStream_t stream)
{
    const emsa_sizes_t z = emsa_sizes(p);
    const long long blocks = (long long)p->B * z.Np;
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    return ATTN_LAUNCH(emsa_reduce_kernel, (unsigned)blocks, EMSA_RED_THREADS, 0, stream,
                       (const float *)t->x, (const float *)t->srw, (const float *)t->srp, xr,
                       p->C, p->H, p->W, p->r, z.Wr, z.Np);
}

int emsa_project_qkv(const emsa_problem_t *p, const emsa_tensors_t *t, const emsa_bufs_t *b,
                     emsa_gemm_fn gemm, cudaStream_t stream)
{
    const emsa_sizes_t z = emsa_sizes(p);
    const int C = p->C;
    const float *wqkv = (const float *)t->wqkv, *bqkv = (const float *)t->bqkv;
    const float *kv_src = p->r > 1 ? b->xr : (const float *)t->x;
    /* Q (B·N × C) = x·Wqᵀ + bq: one GEMM over all tokens */
    emsa_gemm_t g = {};
    g.M = p->B * z.N, g.Nn = C, g.K = C, g.batch = 1, g.nb2 = 1;
    g.A = (const float *)t->x, g.lda = C, g.B = wqkv, g.ldb = C, g.transB = 1;
    g.Cm = b->q, g.ldc = C, g.bias = bqkv, g.alpha = 1.f;
    if (int e = gemm(&g, stream)) return e;
    /* K, V (B·N' × C) from the reduced map */
    g.M = p->B * z.Np, g.A = kv_src;
    g.B = wqkv + (size_t)C * C, g.bias = bqkv + C, g.Cm = b->k;
    if (int e = gemm(&g, stream)) return e;
    g.B = wqkv + 2 * (size_t)C * C, g.bias = bqkv + 2 * C, g.Cm = b->v;
    return gemm(&g, stream);
}

int emsa_project_out(const emsa_problem_t *p, const emsa_tensors_t *t, const emsa_bufs_t *b,
                     emsa_gemm_fn gemm, cudaStream_t stream)
{
    const emsa_sizes_t z = emsa_sizes(p);
    emsa_gemm_t g = {};
    g.M = p->B * z.N, g.Nn = p->C, g.K = p->C, g.batch = 1, g.nb2 = 1;
    g.A = b->o, g.lda = p->C, g.B = (const float *)t->wo, g.ldb = p->C, g.transB = 1;
    g.Cm = (float *)t->y, g.ldc = p->C, g.bias = (const float *)t->bo, g.alpha = 1.f;
    return gemm(&g, stream);
}

/* Thread per row (b, g, i). S and P are (B, h, N, N'); the transform reads row i of every head
 * of S, so P is a separate buffer. */
__global__ void __launch_bounds__(EMSA_ROW_THREADS)
emsa_softmax_kernel(const float *__restrict__ S, const float *__restrict__ tr,
                    float *__restrict__ P, float *__restrict__ rowsq, int h, int N, int Np,
                    long long rows)
{
    const long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (row >= rows) return;
    const int i = (int)(row % N);
    const long long bg = row / N;
    const int g = (int)(bg % h);
    const long long b = bg / h;
    const float *Sb = S + (size_t)b * h * N * Np + (size_t)i * Np; /* head k at + k·N·N' */
    float *p = P + (size_t)row * Np;
    const float mu = 1.f / (float)Np;

    float m = -INFINITY;
    for (int j = 0; j < Np; j++) {
        float s = Sb[(size_t)g * N * Np + j];
        if (h > 1) { /* 1×1 conv over heads */
            s = tr[g * (h + 1) + h];
            for (int k = 0; k < h; k++) s = fmaf(tr[g * (h + 1) + k], Sb[(size_t)k * N * Np + j], s);
        }
        p[j] = s;
        m = fmaxf(m, s);
    }
    float l = 0.f;
    for (int j = 0; j < Np; j++) {
        const float e = expf(p[j] - m);
        p[j] = e;
        l += e;
    }
    const float inv_l = 1.f / l; /* l >= 1: the maximum contributes e^0 */
    float sq = 0.f;
    for (int j = 0; j < Np; j++) {
        const float q = p[j] * inv_l;
        p[j] = q;
        sq = fmaf(q - mu, q - mu, sq);
    }
    rowsq[row] = sq;
}

/* CTA per map (b, g): inv = 1/√(Σ_i rowsq / (N·N') + eps). */
__global__ void __launch_bounds__(EMSA_ROW_THREADS)
emsa_norm_stats_kernel(const float *__restrict__ rowsq, float *__restrict__ inv, int N, int Np)
{
    __shared__ float red[32];
    const float *r = rowsq + (size_t)blockIdx.x * N;
    float s = 0.f;
    for (int i = threadIdx.x; i < N; i += blockDim.x) s += r[i];
    s = emsa_block_sum(s, red);
    if (threadIdx.x == 0) inv[blockIdx.x] = 1.f / sqrtf(s / ((float)N * (float)Np) + EMSA_EPS);
}

/* P̂ = (P − 1/N')·inv[map], grid-stride. */
__global__ void __launch_bounds__(EMSA_ELEM_THREADS)
emsa_norm_apply_kernel(float *__restrict__ P, const float *__restrict__ inv, long long map,
                       float mu, long long n)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x)
        P[e] = (P[e] - mu) * inv[e / map];
}

int emsa_run_steps(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws, emsa_gemm_fn gemm,
                   cudaStream_t stream)
{
    const emsa_sizes_t z = emsa_sizes(p);
    attn_ws_t w = {(char *)ws, 0};
    const emsa_bufs_t b = emsa_bufs_take(&w, p, 1);
    const int C = p->C, h = p->h, N = z.N, Np = z.Np;

    if (p->r > 1)
        if (int e = emsa_reduce(p, t, b.xr, stream)) return e;
    if (int e = emsa_project_qkv(p, t, &b, gemm, stream)) return e;

    /* S[b, g] (N × N') = Q_g·K_gᵀ/√dk, batch (b, g) */
    emsa_gemm_t g = {};
    g.M = N, g.Nn = Np, g.K = z.dk, g.batch = p->B * h, g.nb2 = h;
    g.A = b.q, g.lda = C, g.sA1 = (long long)N * C, g.sA2 = z.dk;
    g.B = b.k, g.ldb = C, g.transB = 1, g.sB1 = (long long)Np * C, g.sB2 = z.dk;
    g.Cm = b.s, g.ldc = Np, g.sC1 = (long long)h * N * Np, g.sC2 = (long long)N * Np;
    g.alpha = (float)(1.0 / std::sqrt((double)z.dk));
    if (int e = gemm(&g, stream)) return e;

    /* P = softmax(transform(S)), row Σ(p − 1/N')² */
    const long long rows = (long long)p->B * h * N;
    const long long rb = ATTN_CEIL_DIV(rows, (long long)EMSA_ROW_THREADS);
    if (rb > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    if (int e = ATTN_LAUNCH(emsa_softmax_kernel, (unsigned)rb, EMSA_ROW_THREADS, 0, stream,
                            (const float *)b.s, (const float *)t->tr, b.pm, b.rowsq, h, N, Np,
                            rows))
        return e;

    /* h > 1: InstanceNorm of each (b, g) map */
    if (h > 1) {
        if (int e = ATTN_LAUNCH(emsa_norm_stats_kernel, (unsigned)(p->B * h), EMSA_ROW_THREADS, 0,
                                stream, (const float *)b.rowsq, b.inv, N, Np))
            return e;
        const long long n = rows * Np;
        const unsigned grid = attn_grid_stride(n, EMSA_ELEM_THREADS);
        if (int e = ATTN_LAUNCH(emsa_norm_apply_kernel, grid, EMSA_ELEM_THREADS, 0, stream, b.pm,
                                (const float *)b.inv, (long long)N * Np, 1.f / (float)Np, n))
            return e;
    }

    /* O[b, :, g·dv ...] (N × dv) = P̂[b, g]·V_g */
    g = emsa_gemm_t{};
    g.M = N, g.Nn = z.dk, g.K = Np, g.batch = p->B * h, g.nb2 = h;
    g.A = b.pm, g.lda = Np, g.sA1 = (long long)h * N * Np, g.sA2 = (long long)N * Np;
    g.B = b.v, g.ldb = C, g.transB = 0, g.sB1 = (long long)Np * C, g.sB2 = z.dk;
    g.Cm = b.o, g.ldc = C, g.sC1 = (long long)N * C, g.sC2 = z.dk;
    g.alpha = 1.f;
    if (int e = gemm(&g, stream)) return e;

    return emsa_project_out(p, t, &b, gemm, stream);
}
