/* aft tiled and local-efficient: fp32 on CUDA cores, shared-memory tiles.
 *
 *   aft_project_qkv, aft_rowmax   (common.cu)
 *   aft_colsum_kernel   one CTA per (b, 32 channels): block reduction over T of
 *                       m = max K, G = Σ e^{K−m}·V, Z = Σ e^{K−m} (the sums with w' = 0);
 *                       simple writes Y = σ(Q)·G/Z for every t from the same CTA
 *   aft_tile_kernel<CORR>  one CTA per (b, BT rows t, BC channels c), 256 threads; per tile of
 *                       BK keys t': load e^{K−m} and e^{K−m}⊙V (BK × BC) and the bias weights
 *                       (BT × BK) into smem, then num += E_w·(e^K⊙V), den += E_w·e^K.
 *     CORR = 0 (tiled, full/local): E_w = e^{w'−r} over every t' tile; for local w is read only
 *              inside the band (outside it w' = 0, E_w = e^{−r}).
 *     CORR = 1 (local-efficient): the the contract's efficient form. Starting from the global sums,
 *              num = e^{−r}·G, den = e^{−r}·Z, only the t' tiles meeting the band are visited,
 *              with E_w = e^{w−r} − e^{−r} inside it and 0 outside: the correction
 *              Σ_{|t−t'|<s} (e^{w} − 1)·e^K·(V, 1), scaled by e^{−r}. O(T·s) instead of O(T²).
 *   aft_project_out     (common.cu)
 * Every thread holds 4 rows (ty + 8i) of one channel (tx): num[4], den[4].
 * Workspace: the common regions, then G and Z (B·Dh each). */
#include <cstdio>

#include "aft_common.cuh"
#include "launch.cuh"

#define TILE_BT 32 /* rows t per CTA */
#define TILE_BC 32 /* channels per CTA (one per lane) */
#define TILE_BK 32 /* keys t' per smem tile */
#define TILE_THREADS 256
#define TILE_ROWS (TILE_BT / (TILE_THREADS / TILE_BC)) /* rows per thread: 4 */

#define SUM_THREADS 256 /* 32 channels × 8 row groups */

/* CTA (channel tile, b). Thread (ty, tx): channel c0 + tx, rows t ≡ ty (mod 8). */
__global__ void __launch_bounds__(SUM_THREADS)
aft_colsum_kernel(const float *__restrict__ qkv, float *__restrict__ m, float *__restrict__ G,
                  float *__restrict__ Z, float *__restrict__ Y, int T, int Dh, int write_y)
{
    __shared__ float red[2][SUM_THREADS / 32][33];
    const int tx = threadIdx.x % 32, ty = threadIdx.x / 32, NY = SUM_THREADS / 32;
    const int b = blockIdx.y, c = blockIdx.x * 32 + tx, H3 = 3 * Dh;
    const bool live = c < Dh;
    const float *Q = qkv + (size_t)b * T * H3 + c, *K = Q + Dh, *V = Q + 2 * Dh;

    /* pass 1: m = max over t of K */
    float mx = -INFINITY;
    if (live)
        for (int t = ty; t < T; t += NY) mx = fmaxf(mx, K[(size_t)t * H3]);
    red[0][ty][tx] = mx;
    __syncthreads();
    mx = -INFINITY;
    for (int j = 0; j < NY; j++) mx = fmaxf(mx, red[0][j][tx]);
    __syncthreads(); /* red is reused below */

    /* pass 2: G = Σ e^{K−m}·V, Z = Σ e^{K−m} */
    float g = 0.f, z = 0.f;
    if (live)
        for (int t = ty; t < T; t += NY) {
            const float e = expf(K[(size_t)t * H3] - mx);
            g = fmaf(e, V[(size_t)t * H3], g);
            z += e;
        }
    red[0][ty][tx] = g;
    red[1][ty][tx] = z;
    __syncthreads();
    g = 0.f, z = 0.f;
    for (int j = 0; j < NY; j++) g += red[0][j][tx], z += red[1][j][tx];
    if (!live) return; /* no barrier follows */
    if (ty == 0) {
        m[b * Dh + c] = mx;
        G[b * Dh + c] = g;
        Z[b * Dh + c] = z;
    }
    if (write_y) { /* simple: Y = σ(Q)·G/Z for every t (z >= 1) */
        const float a = g / z;
        for (int t = ty; t < T; t += NY)
            Y[((size_t)b * T + t) * Dh + c] = aft_sigmoid(Q[(size_t)t * H3]) * a;
    }
}

template <int CORR>
__global__ void __launch_bounds__(TILE_THREADS)
aft_tile_kernel(const float *__restrict__ qkv, const float *__restrict__ w,
                const float *__restrict__ m, const float *__restrict__ r,
                const float *__restrict__ G, const float *__restrict__ Z, float *__restrict__ Y,
                int T, int Dh, int Tmax, int form, int s)
{
    __shared__ float ew[TILE_BT][TILE_BK + 1]; /* bias weights of (t, t') */
    __shared__ float ek[TILE_BK][TILE_BC];     /* e^{K−m} */
    __shared__ float ekv[TILE_BK][TILE_BC];    /* e^{K−m}·V */
    const int tx = threadIdx.x % TILE_BC, ty = threadIdx.x / TILE_BC;
    const int t0 = blockIdx.x * TILE_BT, c0 = blockIdx.y * TILE_BC, b = blockIdx.z;
    const int H3 = 3 * Dh, c = c0 + tx;
    const float *QKV = qkv + (size_t)b * T * H3;

    float num[TILE_ROWS], den[TILE_ROWS];
#pragma unroll
    for (int i = 0; i < TILE_ROWS; i++) {
        num[i] = den[i] = 0.f;
        const int t = t0 + ty + 8 * i;
        if (CORR && t < T && c < Dh) { /* the global part, w' = 0: e^{−r}·(G, Z) */
            const float er = expf(-r[t]);
            num[i] = er * G[b * Dh + c];
            den[i] = er * Z[b * Dh + c];
        }
    }

    /* keys t' to visit: all (tiled), or the band [t0 − s + 1, t_last + s − 1] (efficient) */
    const int t_last = min(t0 + TILE_BT, T) - 1;
    const int lo = CORR ? max(0, t0 - s + 1) : 0;
    const int hi = CORR ? min(T, t_last + s) : T; /* exclusive */
    for (int tp0 = lo; tp0 < hi; tp0 += TILE_BK) {
        /* load: e^{K−m}, e^{K−m}·V of keys tp0 … tp0 + BK − 1 (0 past the end) */
        for (int idx = threadIdx.x; idx < TILE_BK * TILE_BC; idx += TILE_THREADS) {
            const int k = idx / TILE_BC, cc = idx % TILE_BC, tp = tp0 + k;
            float e = 0.f, ev = 0.f;
            if (tp < hi && c0 + cc < Dh) {
                const float *kp = QKV + (size_t)tp * H3 + Dh + c0 + cc;
                e = expf(kp[0] - m[b * Dh + c0 + cc]);
                ev = e * kp[Dh];
            }
            ek[k][cc] = e;
            ekv[k][cc] = ev;
        }
        /* load: bias weights of rows t0 … and keys tp0 … (0 past either end) */
        for (int idx = threadIdx.x; idx < TILE_BT * TILE_BK; idx += TILE_THREADS) {
            const int i = idx / TILE_BK, k = idx % TILE_BK, t = t0 + i, tp = tp0 + k;
            float e = 0.f;
            if (t < T && tp < hi) {
                const float rt = r[t];
                if (CORR)
                    e = abs(t - tp) < s ? expf(w[(size_t)t * Tmax + tp] - rt) - expf(-rt) : 0.f;
                else
                    e = expf(aft_bias_dev(w, Tmax, form, s, t, tp) - rt);
            }
            ew[i][k] = e;
        }
        __syncthreads();
        /* accumulate: num += E_w·(e^K⊙V), den += E_w·e^K */
#pragma unroll 8
        for (int k = 0; k < TILE_BK; k++) {
            const float a = ekv[k][tx], z = ek[k][tx];
#pragma unroll
            for (int i = 0; i < TILE_ROWS; i++) {
                const float e = ew[ty + 8 * i][k];
                num[i] = fmaf(e, a, num[i]);
                den[i] = fmaf(e, z, den[i]);
            }
        }
        __syncthreads();
    }
    /* write back Y = σ(Q)·num/den */
    if (c >= Dh) return;
#pragma unroll
    for (int i = 0; i < TILE_ROWS; i++) {
        const int t = t0 + ty + 8 * i;
        if (t < T) Y[((size_t)b * T + t) * Dh + c] = aft_sigmoid(QKV[(size_t)t * H3 + c]) *
                                                      (num[i] / den[i]);
    }
}

typedef struct tiled_ws {
    aft_common_t cm;
    float *G, *Z;
} tiled_ws_t;

static tiled_ws_t tiled_take(attn_ws_t *w, const aft_problem_t *p)
{
    tiled_ws_t r;
    r.cm = aft_common_take(w, p);
    r.G = (float *)attn_ws_take(w, (size_t)p->B * p->Dh * sizeof(float));
    r.Z = (float *)attn_ws_take(w, (size_t)p->B * p->Dh * sizeof(float));
    return r;
}

extern "C" size_t aft_tiled_workspace(const aft_problem_t *p)
{
    if (aft_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    tiled_take(&w, p);
    return w.used;
}

extern "C" size_t aft_local_efficient_workspace(const aft_problem_t *p)
{
    return aft_tiled_workspace(p);
}

extern "C" const char *aft_local_efficient_supports(const aft_problem_t *p)
{
    return p->form == AFT_K_LOCAL ? NULL
                                  : "local-efficient implements form 2 (local) only";
}

/* CORR as above; simple (CORR = 0 only) is the colsum kernel alone. */
static int tiled_run(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                     cudaStream_t stream, int corr, const char *who)
{
    if (int e = attn_launch_check(aft_problem_reason(p), ws, who)) return e;
    attn_ws_t w = {(char *)ws, 0};
    const tiled_ws_t tw = tiled_take(&w, p);
    const aft_common_t &cm = tw.cm;

    if (int e = aft_project_qkv(p, t, cm.qkv, stream)) return e;
    int err;
    if (p->form == AFT_K_SIMPLE || corr) {
        const dim3 grid(ATTN_CEIL_DIV(p->Dh, 32), p->B);
        err = ATTN_LAUNCH(aft_colsum_kernel, grid, SUM_THREADS, 0, stream,
                          (const float *)cm.qkv, cm.m, tw.G, tw.Z, cm.y, p->T, p->Dh,
                          p->form == AFT_K_SIMPLE ? 1 : 0);
        if (err) return err;
    } else {
        if (int e = aft_colmax(p, cm.qkv, cm.m, stream)) return e;
    }
    if (p->form != AFT_K_SIMPLE) {
        if (int e = aft_rowmax(p, (const float *)t->w, cm.r, stream)) return e;
        if (p->B > 65535) return (int)cudaErrorInvalidConfiguration; /* grid.z limit */
        const dim3 grid(ATTN_CEIL_DIV(p->T, TILE_BT), ATTN_CEIL_DIV(p->Dh, TILE_BC), p->B);
        if (corr)
            err = ATTN_LAUNCH(aft_tile_kernel<1>, grid, TILE_THREADS, 0, stream,
                              (const float *)cm.qkv, (const float *)t->w, (const float *)cm.m,
                              (const float *)cm.r, (const float *)tw.G, (const float *)tw.Z,
                              cm.y, p->T, p->Dh, p->Tmax, p->form, p->s);
        else
            err = ATTN_LAUNCH(aft_tile_kernel<0>, grid, TILE_THREADS, 0, stream,
                              (const float *)cm.qkv, (const float *)t->w, (const float *)cm.m,
                              (const float *)cm.r, (const float *)tw.G, (const float *)tw.Z,
                              cm.y, p->T, p->Dh, p->Tmax, p->form, p->s);
        if (err) return err;
    }
    return aft_project_out(p, t, cm.y, stream);
}

extern "C" int aft_tiled_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                                attn_stream_t stream)
{
    return tiled_run(p, t, ws, stream, 0, "aft_tiled_launch");
}

extern "C" int aft_local_efficient_launch(const aft_problem_t *p, const aft_tensors_t *t,
                                          void *ws, attn_stream_t stream)
{
    if (int e = attn_refuse(aft_local_efficient_supports(p), "aft_local_efficient_launch"))
        return e;
    return tiled_run(p, t, ws, stream, 1, "aft_local_efficient_launch");
}
