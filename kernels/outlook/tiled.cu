/* outlook tiled: the fold as a gather over a v tile held in shared memory, fp32.
 *
 *   outlook_front, outlook_softmax   as naive (common.cu): V, then A = softmax(d^-½·logits)
 *   outlook_tiled_kernel             one CTA per (image, TILE×TILE output pixels):
 *     windows   the rows i ∈ [i_lo, i_hi] (and columns likewise) whose k×k neighbourhood
 *               touches the tile: iσ − p + k − 1 >= y0 and iσ − p <= y0 + TILE − 1
 *     load      for each chunk of DC channels, V over the union of those neighbourhoods — the
 *               tile plus its halo, rows [i_lo·σ − p, i_hi·σ − p + k) — zero outside the image
 *     gather    per (pixel, channel) of the tile, the same sum as naive with V from the tile:
 *               one writer per output, deterministic, no atomics
 *   outlook_back                     y = F·Wpᵀ + bp (common.cu)
 * A (the k⁴ weights of a window per head) is read from global memory: each weight is used
 * once per channel of its head, by neighbouring threads of one warp (a broadcast).
 * Workspace: V, P, A, F (fp32). */
#include "outlook_common.cuh"
#include "launch.cuh"

#define TILE 8      /* output pixels per CTA side */
#define DC 16       /* channels per shared-memory chunk */
#define TILED_THREADS 256
#define TILED_SMEM_CAP (48 * 1024) /* no opt-in needed */

/* Side of the largest v tile any CTA stages (windows per side n_i <= ⌊(TILE−1+k−1)/σ⌋ + 1). */
static int tiled_side(const outlook_problem_t *p)
{
    const int ni = (TILE - 1 + p->k - 1) / p->s + 1;
    return (ni - 1) * p->s + p->k;
}

static size_t tiled_smem(const outlook_problem_t *p)
{
    const size_t side = (size_t)tiled_side(p);
    return side * side * DC * sizeof(float);
}

/* First and last window index (inclusive) along one axis whose neighbourhood touches
 * [t0, t0 + TILE); lo > hi when none does (σ > k can leave pixels uncovered). */
static __device__ __forceinline__ void tiled_range(int t0, int pad, int k, int s, int n, int *lo,
                                                   int *hi)
{
    const int a = t0 + pad - (k - 1); /* iσ >= a */
    *lo = a <= 0 ? 0 : (a + s - 1) / s;
    *hi = min(n - 1, (t0 + TILE - 1 + pad) / s);
}

__global__ void __launch_bounds__(TILED_THREADS)
outlook_tiled_kernel(const float *__restrict__ V, const float *__restrict__ A,
                     float *__restrict__ F, int H, int W, int C, int d, int k, int s, int hp,
                     int wp, int Nh, int tiles_x)
{
    ATTN_DYNAMIC_SMEM(smem);
    float *vs = (float *)smem; /* [ry][rx][DC] */
    const int b = blockIdx.y, k2 = k * k, pad = (k - 1) / 2;
    const int y0 = (blockIdx.x / tiles_x) * TILE, x0 = (blockIdx.x % tiles_x) * TILE;
    int ilo, ihi, jlo, jhi;
    tiled_range(y0, pad, k, s, hp, &ilo, &ihi);
    tiled_range(x0, pad, k, s, wp, &jlo, &jhi);
    /* the staged region: rows [ry0, ry0 + RY), columns [rx0, rx0 + RX) */
    const int ry0 = ilo * s - pad, rx0 = jlo * s - pad;
    const int RY = ihi >= ilo ? (ihi - ilo) * s + k : 0;
    const int RX = jhi >= jlo ? (jhi - jlo) * s + k : 0;
    const float *Vb = V + (long long)b * H * W * C;
    const float *Ab = A + (long long)b * hp * wp * Nh * k2 * k2;

    for (int c0 = 0; c0 < C; c0 += DC) {
        /* load: V of the region, zero outside the image and past C */
        for (int e = threadIdx.x; e < RY * RX * DC; e += blockDim.x) {
            const int cl = e % DC, pos = e / DC;
            const int vy = ry0 + pos / RX, vx = rx0 + pos % RX, c = c0 + cl;
            vs[e] = (vy >= 0 && vy < H && vx >= 0 && vx < W && c < C)
                        ? Vb[((long long)vy * W + vx) * C + c]
                        : 0.f;
        }
        __syncthreads();

        /* gather: (pixel, channel) items of the tile */
        for (int e = threadIdx.x; e < TILE * TILE * DC; e += blockDim.x) {
            const int cl = e % DC, t = e / DC, c = c0 + cl;
            const int py = y0 + t / TILE, px = x0 + t % TILE;
            if (py >= H || px >= W || c >= C) continue;
            const int head = c / d;
            float acc = 0.f;
            for (int my = 0; my < k; my++) {
                const int i = outlook_win(py, my, pad, s, hp);
                if (i < 0) continue;
                for (int mx = 0; mx < k; mx++) {
                    const int j = outlook_win(px, mx, pad, s, wp);
                    if (j < 0) continue;
                    const float *a = Ab + (((long long)i * wp + j) * Nh + head) * k2 * k2 +
                                     (my * k + mx) * k2;
                    /* window (i, j)'s neighbourhood starts at region offset (oy, ox) */
                    const float *vw = vs + (((i - ilo) * s) * RX + (j - jlo) * s) * DC + cl;
                    for (int m2 = 0; m2 < k2; m2++)
                        acc = fmaf(a[m2], vw[((m2 / k) * RX + m2 % k) * DC], acc);
                }
            }
            F[(((long long)b * H + py) * W + px) * C + c] = acc;
        }
        __syncthreads(); /* before the next chunk overwrites the tile */
    }
}

extern "C" const char *outlook_tiled_supports(const outlook_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = outlook_problem_reason(p)) return r;
    if (tiled_smem(p) > TILED_SMEM_CAP) {
        std::snprintf(why, sizeof why,
                      "k=%d, stride=%d: the v tile (%d×%d pixels × %d channels) needs %zu bytes "
                      "of shared memory, over %d", p->k, p->s, tiled_side(p), tiled_side(p), DC,
                      tiled_smem(p), TILED_SMEM_CAP);
        return why;
    }
    return NULL;
}

extern "C" size_t outlook_tiled_workspace(const outlook_problem_t *p)
{
    if (outlook_tiled_supports(p)) return 0;
    attn_ws_t w = {NULL, 0};
    outlook_front_take(&w, p);
    return w.used;
}

extern "C" int outlook_tiled_launch(const outlook_problem_t *p, const outlook_tensors_t *t,
                                    void *ws, attn_stream_t stream)
{
    if (int e = outlook_check(p, ws, "outlook_tiled_launch")) return e;
    if (int e = attn_refuse(outlook_tiled_supports(p), "outlook_tiled_launch")) return e;
    const outlook_sizes_t z = outlook_sizes(p);
    attn_ws_t w = {(char *)ws, 0};
    const outlook_front_bufs_t bf = outlook_front_take(&w, p);
    if (int e = outlook_front(p, t, &bf, stream)) return e;
    if (int e = outlook_softmax(p, bf.a, stream)) return e;

    const int tiles_y = ATTN_CEIL_DIV(p->H, TILE), tiles_x = ATTN_CEIL_DIV(p->W, TILE);
    if ((long long)tiles_y * tiles_x > 0x7fffffffLL || p->B > 65535)
        return (int)cudaErrorInvalidConfiguration;
    const dim3 grid((unsigned)(tiles_y * tiles_x), (unsigned)p->B);
    if (int e = ATTN_LAUNCH(outlook_tiled_kernel, grid, TILED_THREADS, tiled_smem(p), stream,
                            (const float *)bf.v, (const float *)bf.a, bf.fold, p->H, p->W, p->C,
                            z.d, p->k, p->s, z.hp, z.wp, p->Nh, tiles_x))
        return e;
    return outlook_back(p, t, bf.fold, stream);
}
