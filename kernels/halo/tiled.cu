/* halo tiled: fp32 on CUDA cores, each block's window staged in shared memory once.
 *
 *   halo_project_qkv     Q (scaled by d^-½), KV, pixel-major (common.cu, cuBLAS)
 *   halo_tiled_kernel    one CTA per (image block, group of G heads), 8 warps
 *   halo_project_out     y = Wo·Oᵀ + bo (common.cu, cuBLAS)
 *
 * halo_tiled_kernel:
 *   load    K and V of the Wn² window pixels for the G heads (zeros outside the image), rel_w and
 *           rel_h; every query of the block is then computed from shared memory
 *   per query row (a warp per row, G·b² rows):
 *     rel     rw[kx] = q·rel_w[Wn−1+kx−qx], rh[ky] = q·rel_h[Wn−1+ky−qy]: the 2·Wn distinct
 *             relative terms of the row, lane = table entry
 *     scores  lane = key: s = q·k + rw[kx] + rh[ky]; keys outside the image get −∞
 *     softmax m = max s (finite: the query's own pixel is unmasked), P = e^(s − m), l = Σ P
 *     P·V     lane = output column (for d dividing 32, 32/d lanes share a column and split the
 *             keys, then add up by shuffles); O = Σ P·v / l
 * K and the rel tables are stored with an odd row pitch d + 1, so the 32 lanes of the score and
 * rel phases (one row each) read 32 different banks. Shared memory, in floats:
 *   K G·Wn²·(d+1) | V G·Wn²·d | rel_w, rel_h (2Wn−1)·(d+1) each | per warp d + 2·Wn + Wn²
 * G is the largest divisor of Nh that keeps the CTA under 48 KiB and TILED_ROWS_MAX query rows
 * (small windows would otherwise leave most of the 8 warps idle); G = 1 may go up to
 * HALO_SMEM_CAP (d = 64, Wn = 16: 156 KiB).
 * Workspace: Q, KV, O (fp32), 256-byte aligned regions (halo_common.cuh). */
#include <cstdio>

#include "halo_common.cuh"
#include "launch.cuh"
#include "warp.cuh"

#define TILED_WARPS 8
#define TILED_THREADS (TILED_WARPS * 32)
#define TILED_SMEM_TARGET (48 * 1024) /* a head group grows only while it stays under this */
#define TILED_ROWS_MAX 128            /* ... and has at most this many query rows */

/* Shared-memory bytes for a group of G heads (layout above). */
static size_t tiled_smem_bytes(const halo_problem_t *p, int G)
{
    const size_t Wn = p->b + 2 * p->h, Wn2 = Wn * Wn, d = p->d;
    const size_t floats = G * Wn2 * (d + 1) + G * Wn2 * d + 2 * (2 * Wn - 1) * (d + 1) +
                          TILED_WARPS * (d + 2 * Wn + Wn2);
    return floats * sizeof(float);
}

/* Heads per CTA (see the header comment). */
static int tiled_group(const halo_problem_t *p)
{
    int G = 1;
    for (int g = 2; g <= p->Nh; g++)
        if (p->Nh % g == 0 && g * p->b * p->b <= TILED_ROWS_MAX &&
            tiled_smem_bytes(p, g) <= TILED_SMEM_TARGET)
            G = g;
    return G;
}

static __device__ __forceinline__ float tiled_dot(const float *a, const float *b, int d)
{
    float s = 0.f;
#pragma unroll 4
    for (int c = 0; c < d; c++) s = fmaf(a[c], b[c], s);
    return s;
}

/* grid (nblocks, Nh / G, B), TILED_THREADS, dynamic smem tiled_smem_bytes(p, G). */
__global__ void __launch_bounds__(TILED_THREADS)
halo_tiled_kernel(const float *__restrict__ Q, const float *__restrict__ KV,
                  const float *__restrict__ rel_w, const float *__restrict__ rel_h,
                  float *__restrict__ O, int H, int W, int bs, int halo, int Nh, int d, int G)
{
    const int Wn = bs + 2 * halo, Wn2 = Wn * Wn, NR = 2 * Wn - 1, KP = d + 1;
    const int HW = H * W, Di = Nh * d, bs2 = bs * bs;

    ATTN_DYNAMIC_SMEM(smem_raw);
    float *Ks = reinterpret_cast<float *>(smem_raw); /* (G, Wn², KP) */
    float *Vs = Ks + G * Wn2 * KP;                   /* (G, Wn², d) */
    float *RWs = Vs + G * Wn2 * d;                   /* (NR, KP) */
    float *RHs = RWs + NR * KP;                      /* (NR, KP) */
    float *scratch = RHs + NR * KP;                  /* per warp: q, rw, rh, P */

    const int blk = blockIdx.x, n0 = blockIdx.y * G, img = blockIdx.z;
    const int nbx = W / bs;
    const int y0 = (blk / nbx) * bs, x0 = (blk % nbx) * bs; /* block origin */
    const int wy = y0 - halo, wx = x0 - halo;                /* window origin */

    /* load window: the G heads of a pixel are G·d consecutive floats of its KV row */
    const float *KVi = KV + (size_t)img * HW * 2 * Di + n0 * d;
    const int GD = G * d;
    for (int e = threadIdx.x; e < Wn2 * GD; e += TILED_THREADS) {
        const int j = e / GD, c = e % GD;
        const int hg = c / d, cc = c % d;
        const int py = wy + j / Wn, px = wx + j % Wn;
        float k = 0.f, v = 0.f; /* outside the image: x = 0, so k = v = 0 */
        if (py >= 0 && py < H && px >= 0 && px < W) {
            const float *src = KVi + (size_t)(py * W + px) * 2 * Di + c;
            k = src[0];
            v = src[Di];
        }
        Ks[(hg * Wn2 + j) * KP + cc] = k;
        Vs[(hg * Wn2 + j) * d + cc] = v;
    }
    for (int e = threadIdx.x; e < NR * d; e += TILED_THREADS) {
        const int r = e / d, c = e % d;
        RWs[r * KP + c] = rel_w[e];
        RHs[r * KP + c] = rel_h[e];
    }
    __syncthreads();

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    float *qs = scratch + warp * (d + 2 * Wn + Wn2);
    float *rw = qs + d;  /* rw[kx], kx < Wn */
    float *rh = rw + Wn; /* rh[ky], ky < Wn */
    float *P = rh + Wn;  /* P[j], j = ky·Wn + kx < Wn² */

    /* the unmasked keys: the window rectangle inside the image (the same for the whole block) */
    const int ky_lo = max(0, -wy), ky_hi = min(Wn, H - wy);
    const int kx_lo = max(0, -wx), kx_hi = min(Wn, W - wx);
    /* P·V lane mapping: `split` lanes per column, each taking every split-th key */
    const int split = (d < 32 && 32 % d == 0) ? 32 / d : 1;

    for (int r = warp; r < G * bs2; r += TILED_WARPS) { /* warp-uniform */
        const int hg = r / bs2, i = r % bs2;
        const int qy = i / bs, qx = i % bs;
        const size_t orow = ((size_t)img * HW + (y0 + qy) * W + x0 + qx) * Di + (n0 + hg) * d;

        /* load q */
        for (int c = lane; c < d; c += 32) qs[c] = Q[orow + c];
        __syncwarp();

        /* rel: entry j < Wn is rw[j], entry Wn + j is rh[j] */
        for (int j = lane; j < 2 * Wn; j += 32) {
            const float *rel = j < Wn ? RWs + (Wn - 1 + j - qx) * KP
                                      : RHs + (Wn - 1 + (j - Wn) - qy) * KP;
            rw[j] = tiled_dot(qs, rel, d);
        }
        __syncwarp();

        /* scores, lane = key */
        const float *Kh = Ks + hg * Wn2 * KP;
        float m = -INFINITY;
        for (int j = lane; j < Wn2; j += 32) {
            const int ky = j / Wn, kx = j - ky * Wn;
            float s = -INFINITY; /* masked: outside the image */
            if (ky >= ky_lo && ky < ky_hi && kx >= kx_lo && kx < kx_hi)
                s = tiled_dot(qs, Kh + j * KP, d) + rw[kx] + rh[ky];
            P[j] = s;
            m = fmaxf(m, s);
        }
        m = attn_warp_max(m);

        /* softmax numerators; each lane rereads only its own entries of P */
        float l = 0.f;
        for (int j = lane; j < Wn2; j += 32) {
            const float p = expf(P[j] - m); /* masked: e^−∞ = 0 */
            P[j] = p;
            l += p;
        }
        const float inv_l = 1.f / attn_warp_sum(l); /* l >= 1: the maximum contributes e^0 */
        __syncwarp();

        /* P·V and write back */
        const float *Vh = Vs + hg * Wn2 * d;
        if (split > 1) {
            const int c = lane % d;
            float acc = 0.f;
            for (int j = lane / d; j < Wn2; j += split) acc = fmaf(P[j], Vh[j * d + c], acc);
            for (int off = d; off < 32; off <<= 1) acc += __shfl_xor_sync(0xffffffffu, acc, off);
            if (lane < d) O[orow + c] = acc * inv_l;
        } else {
            for (int c = lane; c < d; c += 32) {
                float acc = 0.f;
                for (int j = 0; j < Wn2; j++) acc = fmaf(P[j], Vh[j * d + c], acc);
                O[orow + c] = acc * inv_l;
            }
        }
        __syncwarp(); /* q, rw, rh and P are rewritten for the next row */
    }
}

extern "C" const char *halo_tiled_supports(const halo_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = halo_problem_reason(p)) return r;
    const size_t smem = tiled_smem_bytes(p, 1);
    if (smem > HALO_SMEM_CAP) {
        std::snprintf(why, sizeof why,
                      "tiled needs %zu B of shared memory for one head (Wn=%d, d=%d), over %d B",
                      smem, p->b + 2 * p->h, p->d, HALO_SMEM_CAP);
        return why;
    }
    if (p->B > 65535 || p->Nh > 65535) return "tiled needs B, Nh <= 65535 (grid z/y)";
    return NULL;
}

extern "C" size_t halo_tiled_workspace(const halo_problem_t *p)
{
    return halo_proj_workspace(p, sizeof(float));
}

extern "C" int halo_tiled_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    if (int e = attn_launch_check(halo_tiled_supports(p), ws, "halo_tiled_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const halo_proj_t pr = halo_proj_take(&w, p, sizeof(float));

    static bool smem_attr_set = false; /* beyond 48 KiB needs an opt-in, once */
    if (!smem_attr_set) {
        ATTN_TRY(cudaFuncSetAttribute(halo_tiled_kernel,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, HALO_SMEM_CAP));
        smem_attr_set = true;
    }

    if (int e = halo_project_qkv(p, t, CUDA_R_32F, pr.q, pr.kv, stream)) return e;

    const halo_sizes_t z = halo_sizes(p);
    const int G = tiled_group(p);
    const dim3 grid(z.nblocks, p->Nh / G, p->B);
    int err = ATTN_LAUNCH(halo_tiled_kernel, grid, TILED_THREADS, tiled_smem_bytes(p, G), stream,
                          (const float *)pr.q, (const float *)pr.kv, (const float *)t->rel_w,
                          (const float *)t->rel_h, (float *)pr.o, p->H, p->W, p->b, p->h, p->Nh,
                          p->d, G);
    if (err) return err;

    return halo_project_out(p, t, CUDA_R_32F, pr.o, stream);
}
