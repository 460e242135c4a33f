/* halo tensor-core: bf16 storage, the attention of every (image block, head) on WMMA
 * (16x16x16 bf16 fragments, fp32 accumulate), unfused, the window gathered per kernel:
 *
 *   halo_project_qkv                  Q (scaled by d^-½), KV, bf16, pixel-major (common.cu)
 *   1. halo_tensor_core_logits_kernel S_ext = Q_blk · [K_win; rel_w; rel_h]ᵀ, raw fp32
 *   2. halo_tensor_core_softmax_kernel logit = q·k + q·rel_w[Wn−1+kx−qx] + q·rel_h[Wn−1+ky−qy],
 *                                     keys outside the image masked, softmax → P (bf16)
 *   3. halo_tensor_core_pv_kernel     O_blk = P · V_win, written back pixel-major
 *   halo_project_out                  y = Wo·Oᵀ + bo (common.cu)
 *
 * Sizes per (block, head), padded to the 16-multiples WMMA needs: M = ⌈b²⌉₁₆ query rows,
 * N16 = ⌈Wn²⌉₁₆ keys, R = ⌈2Wn−1⌉₁₆ rows of each rel table, NE = N16 + 2R. The relative terms
 * ride along in the logits GEMM: its B operand is the K window followed by rel_w and rel_h, so
 * row i of S_ext holds q_i·k_j (columns [0, N16)), q_i·rel_w[r] (N16 + r) and q_i·rel_h[r]
 * (N16 + R + r); the softmax kernel picks the two terms of each key. Padded query rows are zero,
 * padded keys and rel rows are zero, keys outside the image are zero (x = 0 there); the softmax
 * writes P = 0 for every masked or padded key and for padded rows, so O = P·V never meets a
 * non-finite value. d must be a multiple of 16 (the k step of the logits GEMM).
 *
 * Workspace (256-byte aligned regions): Q, KV, O (bf16), then S_ext (B, nblocks, Nh, M, NE) fp32,
 * then P (B, nblocks, Nh, M, N16) bf16. */
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>
#include <mma.h>

#include "halo_common.cuh"
#include "launch.cuh"
#include "warp.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

namespace {

constexpr int WARPS = 4;
constexpr int THREADS = WARPS * 32;
constexpr int SOFTMAX_ROWS = 8; /* rows (one per warp) per softmax block */

/* The padded per-(block, head) sizes of the header comment. */
struct TcDims {
    int bs2, Wn, Wn2, M, N16, R, NE;
};

__host__ __device__ inline int round16(int n) { return (n + 15) & ~15; }

__host__ __device__ inline TcDims tc_dims(int bs, int halo)
{
    TcDims z;
    z.bs2 = bs * bs;
    z.Wn = bs + 2 * halo;
    z.Wn2 = z.Wn * z.Wn;
    z.M = round16(z.bs2);
    z.N16 = round16(z.Wn2);
    z.R = round16(2 * z.Wn - 1);
    z.NE = z.N16 + 2 * z.R;
    return z;
}

/* Dynamic shared memory of the logits kernel: Q block and the extended B operand, bf16, row
 * pitch d + 8 (keeps the WMMA row loads off a single bank group). */
size_t tc_logits_smem(const TcDims &z, int d)
{
    return (size_t)(z.M + z.NE) * (d + 8) * sizeof(bf16);
}

/* Of the P·V kernel: V window (bf16, pitch d + 8), then the fp32 output staging (pitch d + 4). */
size_t tc_pv_smem(const TcDims &z, int d)
{
    return (size_t)z.N16 * (d + 8) * sizeof(bf16) + (size_t)z.M * (d + 4) * sizeof(float);
}

} // namespace

/* 1. grid (nblocks, Nh, B), THREADS, dynamic smem tc_logits_smem. Warps take 16x16 tiles of
 * S_ext = A·Bᵀ in turn (k = d) and store them straight to global memory. */
__global__ void __launch_bounds__(THREADS)
halo_tensor_core_logits_kernel(const bf16 *__restrict__ Q, const bf16 *__restrict__ KV,
                               const bf16 *__restrict__ rel_w, const bf16 *__restrict__ rel_h,
                               float *__restrict__ S, int H, int W, int bs, int halo, int Nh,
                               int d)
{
    const TcDims z = tc_dims(bs, halo);
    const int LD = d + 8, CPR = d / 8; /* pitch; 16-byte chunks per row */
    const int HW = H * W, Di = Nh * d, NR = 2 * z.Wn - 1;

    ATTN_DYNAMIC_SMEM(smem_raw);
    bf16 *As = reinterpret_cast<bf16 *>(smem_raw); /* M rows: Q of the block's queries */
    bf16 *Bs = As + z.M * LD; /* NE rows: K window (N16), rel_w (R), rel_h (R) */

    const int blk = blockIdx.x, n = blockIdx.y, img = blockIdx.z;
    const int nbx = W / bs, nblocks = nbx * (H / bs);
    const int y0 = (blk / nbx) * bs, x0 = (blk % nbx) * bs; /* block origin */
    const int wy = y0 - halo, wx = x0 - halo;                /* window origin */
    const bf16 *Qi = Q + (size_t)img * HW * Di + n * d;
    const bf16 *Ki = KV + (size_t)img * HW * 2 * Di + n * d;

    /* load A: query i = qy·b + qx at pixel (y0 + qy, x0 + qx); padded rows are zero */
    for (int e = threadIdx.x; e < z.M * CPR; e += THREADS) {
        const int i = e / CPR, cc = (e % CPR) * 8;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (i < z.bs2)
            v = *reinterpret_cast<const uint4 *>(
                Qi + (size_t)((y0 + i / bs) * W + x0 + i % bs) * Di + cc);
        *reinterpret_cast<uint4 *>(As + i * LD + cc) = v;
    }
    /* load B: key j = ky·Wn + kx at pixel (wy + ky, wx + kx), zero outside the image or past Wn²;
     * then the rel tables, zero past their 2Wn − 1 rows */
    for (int e = threadIdx.x; e < z.NE * CPR; e += THREADS) {
        const int r = e / CPR, cc = (e % CPR) * 8;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (r < z.N16) {
            const int py = wy + r / z.Wn, px = wx + r % z.Wn;
            if (r < z.Wn2 && py >= 0 && py < H && px >= 0 && px < W)
                v = *reinterpret_cast<const uint4 *>(Ki + (size_t)(py * W + px) * 2 * Di + cc);
        } else if (r < z.N16 + z.R) {
            if (r - z.N16 < NR)
                v = *reinterpret_cast<const uint4 *>(rel_w + (size_t)(r - z.N16) * d + cc);
        } else if (r - z.N16 - z.R < NR) {
            v = *reinterpret_cast<const uint4 *>(rel_h + (size_t)(r - z.N16 - z.R) * d + cc);
        }
        *reinterpret_cast<uint4 *>(Bs + r * LD + cc) = v;
    }
    __syncthreads();

    /* scores: tile (mt, nt) of S_ext; B stored row per key is Bᵀ in column-major order */
    float *Sg = S + ((size_t)((size_t)img * nblocks + blk) * Nh + n) * z.M * z.NE;
    const int tm = z.M / 16, tiles = tm * (z.NE / 16);
    for (int tile = threadIdx.x >> 5; tile < tiles; tile += WARPS) {
        const int mt = tile % tm, nt = tile / tm;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
        wmma::fill_fragment(acc, 0.0f);
        for (int k0 = 0; k0 < d; k0 += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
            wmma::load_matrix_sync(fa, As + mt * 16 * LD + k0, LD);
            wmma::load_matrix_sync(fb, Bs + nt * 16 * LD + k0, LD);
            wmma::mma_sync(acc, fa, fb, acc);
        }
        wmma::store_matrix_sync(Sg + (size_t)mt * 16 * z.NE + nt * 16, acc, z.NE,
                                wmma::mem_row_major);
    }
}

/* The logit of key j = ky·Wn + kx of a row whose rel columns start at rw, rh (already shifted by
 * Wn − 1 − qx, Wn − 1 − qy). One function for both passes: the row max then gives e^0 = 1. */
static __device__ __forceinline__ float tc_logit(const float *s, const float *rw, const float *rh,
                                                 int j, int ky, int kx)
{
    return s[j] + rw[kx] + rh[ky];
}

/* 2. one warp per row (g, i) of S_ext, g = (img·nblocks + blk)·Nh + n; rows = G·M. */
__global__ void __launch_bounds__(SOFTMAX_ROWS * 32)
halo_tensor_core_softmax_kernel(const float *__restrict__ S, bf16 *__restrict__ P, int H, int W,
                                int bs, int halo, int Nh, long long rows)
{
    const long long row = (long long)blockIdx.x * SOFTMAX_ROWS + (threadIdx.x >> 5);
    if (row >= rows) return; /* warp-uniform */
    const int lane = threadIdx.x & 31;
    const TcDims z = tc_dims(bs, halo);
    const int i = (int)(row % z.M);
    const long long g = row / z.M;
    bf16 *pr = P + row * z.N16;

    if (i >= z.bs2) { /* padded query row: P = 0 */
        for (int j = lane; j < z.N16; j += 32) pr[j] = __float2bfloat16(0.0f);
        return;
    }

    const int nbx = W / bs, nblocks = nbx * (H / bs);
    const int blk = (int)((g / Nh) % nblocks);
    const int qy = i / bs, qx = i % bs;
    const int wy = (blk / nbx) * bs - halo, wx = (blk % nbx) * bs - halo; /* window origin */
    /* the unmasked keys: the window rectangle inside the image */
    const int ky_lo = max(0, -wy), ky_hi = min(z.Wn, H - wy);
    const int kx_lo = max(0, -wx), kx_hi = min(z.Wn, W - wx);

    const float *s = S + row * z.NE;
    const float *rw = s + z.N16 + (z.Wn - 1 - qx);       /* rw[kx] = q·rel_w[Wn−1+kx−qx] */
    const float *rh = s + z.N16 + z.R + (z.Wn - 1 - qy); /* rh[ky] = q·rel_h[Wn−1+ky−qy] */

    /* pass 1: each lane folds its unmasked keys into a running (m, l), then the lanes merge */
    float m = -INFINITY, l = 0.f;
    for (int j = lane; j < z.Wn2; j += 32) {
        const int ky = j / z.Wn, kx = j - ky * z.Wn;
        if (ky < ky_lo || ky >= ky_hi || kx < kx_lo || kx >= kx_hi) continue; /* masked */
        const float x = tc_logit(s, rw, rh, j, ky, kx);
        attn_online_fold(m, l, x);
    }
    attn_online_merge_warp(m, l);
    const float inv_l = 1.f / l; /* l >= 1: the query's own pixel is unmasked */

    /* pass 2: P = e^(logit − m) / l at unmasked keys, 0 at masked and padded ones */
    for (int j = lane; j < z.N16; j += 32) {
        const int ky = j / z.Wn, kx = j - ky * z.Wn;
        float p = 0.f;
        if (j < z.Wn2 && ky >= ky_lo && ky < ky_hi && kx >= kx_lo && kx < kx_hi)
            p = expf(tc_logit(s, rw, rh, j, ky, kx) - m) * inv_l;
        pr[j] = __float2bfloat16_rn(p);
    }
}

/* 3. grid (nblocks, Nh, B), THREADS, dynamic smem tc_pv_smem. Warps take 16x16 tiles of
 * O_blk = P·V_win (k = N16); A comes straight from P in global memory, B from the V window in
 * shared memory; the result goes through shared memory to become bf16 rows of O. */
__global__ void __launch_bounds__(THREADS)
halo_tensor_core_pv_kernel(const bf16 *__restrict__ P, const bf16 *__restrict__ KV,
                           bf16 *__restrict__ O, int H, int W, int bs, int halo, int Nh, int d)
{
    const TcDims z = tc_dims(bs, halo);
    const int LD = d + 8, LDO = d + 4, CPR = d / 8;
    const int HW = H * W, Di = Nh * d;

    ATTN_DYNAMIC_SMEM(smem_raw);
    bf16 *Vs = reinterpret_cast<bf16 *>(smem_raw);            /* N16 rows of V, pitch LD */
    float *Os = reinterpret_cast<float *>(Vs + z.N16 * LD);   /* M rows of O, pitch LDO */

    const int blk = blockIdx.x, n = blockIdx.y, img = blockIdx.z;
    const int nbx = W / bs, nblocks = nbx * (H / bs);
    const int y0 = (blk / nbx) * bs, x0 = (blk % nbx) * bs;
    const int wy = y0 - halo, wx = x0 - halo;
    const bf16 *Vi = KV + (size_t)img * HW * 2 * Di + Di + n * d;

    /* load V window: zero outside the image and past Wn² (P is 0 there; 0·0 keeps O finite) */
    for (int e = threadIdx.x; e < z.N16 * CPR; e += THREADS) {
        const int j = e / CPR, cc = (e % CPR) * 8;
        const int py = wy + j / z.Wn, px = wx + j % z.Wn;
        uint4 v = make_uint4(0, 0, 0, 0);
        if (j < z.Wn2 && py >= 0 && py < H && px >= 0 && px < W)
            v = *reinterpret_cast<const uint4 *>(Vi + (size_t)(py * W + px) * 2 * Di + cc);
        *reinterpret_cast<uint4 *>(Vs + j * LD + cc) = v;
    }
    __syncthreads();

    /* accumulate: tile (mt, nt) of O_blk, into the staging area */
    const size_t g = ((size_t)img * nblocks + blk) * Nh + n;
    const bf16 *Pg = P + g * z.M * z.N16;
    const int tm = z.M / 16, tiles = tm * (d / 16);
    for (int tile = threadIdx.x >> 5; tile < tiles; tile += WARPS) {
        const int mt = tile % tm, nt = tile / tm;
        wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
        wmma::fill_fragment(acc, 0.0f);
        for (int k0 = 0; k0 < z.N16; k0 += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
            wmma::load_matrix_sync(fa, Pg + (size_t)mt * 16 * z.N16 + k0, z.N16);
            wmma::load_matrix_sync(fb, Vs + k0 * LD + nt * 16, LD);
            wmma::mma_sync(acc, fa, fb, acc);
        }
        wmma::store_matrix_sync(Os + mt * 16 * LDO + nt * 16, acc, LDO, wmma::mem_row_major);
    }
    __syncthreads();

    /* write back: query rows i < b², 8 columns (16 bytes of bf16) per step */
    bf16 *Oi = O + (size_t)img * HW * Di + n * d;
    for (int e = threadIdx.x; e < z.bs2 * CPR; e += THREADS) {
        const int i = e / CPR, cc = (e % CPR) * 8;
        const float *src = Os + i * LDO + cc;
        union { __nv_bfloat162 h[4]; uint4 u; } pk;
#pragma unroll
        for (int k = 0; k < 4; k++) pk.h[k] = __floats2bfloat162_rn(src[2 * k], src[2 * k + 1]);
        *reinterpret_cast<uint4 *>(Oi + (size_t)((y0 + i / bs) * W + x0 + i % bs) * Di + cc) =
            pk.u;
    }
}

/* The regions after Q, KV, O. */
static void tc_take(attn_ws_t *w, const halo_problem_t *p, float **S, bf16 **P)
{
    const TcDims z = tc_dims(p->b, p->h);
    const size_t G = (size_t)halo_sizes(p).G;
    *S = (float *)attn_ws_take(w, G * z.M * z.NE * sizeof(float));
    *P = (bf16 *)attn_ws_take(w, G * z.M * z.N16 * sizeof(bf16));
}

extern "C" const char *halo_tensor_core_supports(const halo_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = halo_problem_reason(p)) return r;
    if (p->d % 16 != 0) {
        std::snprintf(why, sizeof why, "tensor-core needs d %% 16 == 0 (d=%d)", p->d);
        return why;
    }
    const TcDims z = tc_dims(p->b, p->h);
    const size_t s1 = tc_logits_smem(z, p->d), s3 = tc_pv_smem(z, p->d);
    if (s1 > HALO_SMEM_CAP || s3 > HALO_SMEM_CAP) {
        std::snprintf(why, sizeof why,
                      "tensor-core needs %zu B (logits) and %zu B (P·V) of shared memory, "
                      "over %d B (b=%d, Wn=%d, d=%d)",
                      s1, s3, HALO_SMEM_CAP, p->b, z.Wn, p->d);
        return why;
    }
    if (p->B > 65535 || p->Nh > 65535) return "tensor-core needs B, Nh <= 65535 (grid z/y)";
    return NULL;
}

extern "C" size_t halo_tensor_core_workspace(const halo_problem_t *p)
{
    if (halo_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    halo_proj_take(&w, p, sizeof(bf16));
    float *S;
    bf16 *P;
    tc_take(&w, p, &S, &P);
    return w.used;
}

extern "C" int halo_tensor_core_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                                       attn_stream_t stream)
{
    if (int e = attn_launch_check(halo_tensor_core_supports(p), ws,
                                  "halo_tensor_core_launch"))
        return e;
    /* 16-byte loads of rel rows (d % 16 == 0 keeps every row start aligned) */
    if (int e = attn_require_align16((uintptr_t)t->rel_w | (uintptr_t)t->rel_h, "rel_w, rel_h",
                                     "halo_tensor_core_launch"))
        return e;
    attn_ws_t w = {(char *)ws, 0};
    const halo_proj_t pr = halo_proj_take(&w, p, sizeof(bf16));
    float *S;
    bf16 *P;
    tc_take(&w, p, &S, &P);

    static bool smem_attr_set = false; /* beyond 48 KiB needs an opt-in, once per kernel */
    if (!smem_attr_set) {
        ATTN_TRY(cudaFuncSetAttribute(halo_tensor_core_logits_kernel,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, HALO_SMEM_CAP));
        ATTN_TRY(cudaFuncSetAttribute(halo_tensor_core_pv_kernel,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, HALO_SMEM_CAP));
        smem_attr_set = true;
    }

    if (int e = halo_project_qkv(p, t, CUDA_R_16BF, pr.q, pr.kv, stream)) return e;

    const halo_sizes_t hz = halo_sizes(p);
    const TcDims z = tc_dims(p->b, p->h);
    const bf16 *Q = (const bf16 *)pr.q, *KV = (const bf16 *)pr.kv;
    const dim3 grid(hz.nblocks, p->Nh, p->B);
    int err = ATTN_LAUNCH(halo_tensor_core_logits_kernel, grid, THREADS, tc_logits_smem(z, p->d),
                          stream, Q, KV, (const bf16 *)t->rel_w, (const bf16 *)t->rel_h, S, p->H,
                          p->W, p->b, p->h, p->Nh, p->d);
    if (err) return err;

    const long long rows = hz.G * z.M;
    const long long blocks = ATTN_CEIL_DIV(rows, (long long)SOFTMAX_ROWS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    err = ATTN_LAUNCH(halo_tensor_core_softmax_kernel, (unsigned)blocks, SOFTMAX_ROWS * 32, 0,
                      stream, (const float *)S, P, p->H, p->W, p->b, p->h, p->Nh, rows);
    if (err) return err;

    err = ATTN_LAUNCH(halo_tensor_core_pv_kernel, grid, THREADS, tc_pv_smem(z, p->d), stream,
                      (const bf16 *)P, KV, (bf16 *)pr.o, p->H, p->W, p->b, p->h, p->Nh, p->d);
    if (err) return err;

    return halo_project_out(p, t, CUDA_R_16BF, pr.o, stream);
}
