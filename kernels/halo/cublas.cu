/* halo cublas: the unfused baseline, every product a cuBLAS GEMM, small kernels between.
 *
 *   halo_project_qkv                 Q (scaled by d^-½), KV, pixel-major (common.cu)
 *   RW = Q·rel_wᵀ, RH = Q·rel_hᵀ     cublasGemmEx over all B·HW·Nh (pixel, head) rows of Q: the
 *                                    2Wn − 1 relative terms of every query, fp32
 *   halo_cublas_gather_kernel<T,VEC> Q_blk (G, b², d), K_win, V_win (G, Wn², d), G = B·nblocks·Nh
 *                                    in (image, block, head) order, one CTA per window, 16-byte
 *                                    vectors when rows allow; window keys outside the image are
 *                                    zero
 *   S = Q_blk·K_winᵀ                 cublasGemmStridedBatchedEx, batch G, fp32 S (G, b², Wn²)
 *   halo_cublas_softmax_kernel<T>    logit = S + RW[Wn−1+kx−qx] + RH[Wn−1+ky−qy], keys outside
 *                                    the image masked, softmax (base 2, ex2.approx) → P
 *                                    (G, b², Wn²)
 *   O_blk = P·V_win                  cublasGemmStridedBatchedEx, batch G
 *   halo_cublas_scatter_kernel<T,VEC> O_blk → O (B, HW, Di), the same way
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
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>

#include "bf16.cuh"
#include "fastmath.cuh"
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

/* The element-wise kernels below take one window g = (img·nblocks + blk)·Nh + n per CTA
 * (blockIdx.x, G <= INT_MAX) and split it once per thread, then walk their rows without dividing:
 * a thread's rows are r0, r0 + rstep, ... and their (y, x) in the window advance by
 * (rstep / side, rstep % side) with one carry. VEC moves 16-byte vectors (16 / sizeof(T)
 * elements: d·sizeof(T) % 16 == 0 and 16-byte aligned tensors), else single elements. */
template <typename T, bool VEC> struct gvec;
template <typename T> struct gvec<T, true> {
    typedef uint4 type;
    static constexpr int n = 16 / (int)sizeof(T);
    static __device__ __forceinline__ uint4 zero() { return make_uint4(0, 0, 0, 0); }
};
template <typename T> struct gvec<T, false> {
    typedef T type;
    static constexpr int n = 1;
    static __device__ __forceinline__ T zero() { return T(0.f); }
};

/* Where a window's thread starts: the (img, blk, n) of g, its first row r0 and column c, the row
 * step; the CTA has cpr·rstep threads, cpr = d / V vectors per row. */
struct win_thread {
    int n, img, by, bx; /* head, image, block origin (y, x) */
    int r0, c, rstep;
};

static __device__ __forceinline__ win_thread win_start(int H, int W, int bs, int Nh, int cpr,
                                                       int V)
{
    win_thread t;
    const int g = blockIdx.x, nbx = W / bs, nblocks = nbx * (H / bs);
    t.n = g % Nh;
    const int gb = g / Nh, blk = gb % nblocks;
    t.img = gb / nblocks;
    t.by = (blk / nbx) * bs, t.bx = (blk % nbx) * bs;
    t.rstep = blockDim.x / cpr;
    t.r0 = threadIdx.x / cpr;
    t.c = (threadIdx.x - t.r0 * cpr) * V;
    return t;
}

/* K_win, V_win (G, Wn², d) then Q_blk (G, b², d) of window blockIdx.x; window keys outside the
 * image are zero. */
template <typename T, bool VEC>
__global__ void __launch_bounds__(CUBLAS_ELEM_THREADS)
halo_cublas_gather_kernel(const T *__restrict__ Q, const T *__restrict__ KV, T *__restrict__ Qb,
                          T *__restrict__ Kw, T *__restrict__ Vw, int H, int W, int bs, int halo,
                          int Nh, int d)
{
    typedef gvec<T, VEC> G;
    typedef typename G::type VT;
    const int Wn = bs + 2 * halo, Wn2 = Wn * Wn, bs2 = bs * bs, Di = Nh * d;
    const win_thread t = win_start(H, W, bs, Nh, d / G::n, G::n);
    const T *kv0 = KV + ((size_t)t.img * H * W) * 2 * Di + t.n * d + t.c;
    const size_t g = blockIdx.x;

    T *kw = Kw + g * Wn2 * d + t.c, *vw = Vw + g * Wn2 * d + t.c;
    const int dky = t.rstep / Wn, dkx = t.rstep - dky * Wn;
    int ky = t.r0 / Wn, kx = t.r0 - ky * Wn;
    for (int j = t.r0; j < Wn2; j += t.rstep) {
        const int py = t.by - halo + ky, px = t.bx - halo + kx;
        VT k = G::zero(), v = G::zero(); /* outside the image: x = 0, so k = v = 0 */
        if ((unsigned)py < (unsigned)H && (unsigned)px < (unsigned)W) {
            const T *src = kv0 + (size_t)(py * W + px) * 2 * Di;
            k = *reinterpret_cast<const VT *>(src);
            v = *reinterpret_cast<const VT *>(src + Di);
        }
        *reinterpret_cast<VT *>(kw + (size_t)j * d) = k;
        *reinterpret_cast<VT *>(vw + (size_t)j * d) = v;
        kx += dkx, ky += dky;
        if (kx >= Wn) kx -= Wn, ky++;
    }

    const T *q0 = Q + ((size_t)t.img * H * W) * Di + t.n * d + t.c;
    T *qb = Qb + g * bs2 * d + t.c;
    const int dqy = t.rstep / bs, dqx = t.rstep - dqy * bs;
    int qy = t.r0 / bs, qx = t.r0 - qy * bs;
    for (int i = t.r0; i < bs2; i += t.rstep) {
        *reinterpret_cast<VT *>(qb + (size_t)i * d) =
            *reinterpret_cast<const VT *>(q0 + (size_t)((t.by + qy) * W + t.bx + qx) * Di);
        qx += dqx, qy += dqy;
        if (qx >= bs) qx -= bs, qy++;
    }
}

/* The inverse of the Q_blk gather, for O: O_blk (G, b², d) of window blockIdx.x to O (B, HW,
 * Di). */
template <typename T, bool VEC>
__global__ void __launch_bounds__(CUBLAS_ELEM_THREADS)
halo_cublas_scatter_kernel(const T *__restrict__ Ob, T *__restrict__ O, int H, int W, int bs,
                           int Nh, int d)
{
    typedef gvec<T, VEC> G;
    typedef typename G::type VT;
    const int bs2 = bs * bs, Di = Nh * d;
    const win_thread t = win_start(H, W, bs, Nh, d / G::n, G::n);
    T *o0 = O + ((size_t)t.img * H * W) * Di + t.n * d + t.c;
    const T *ob = Ob + (size_t)blockIdx.x * bs2 * d + t.c;
    const int dqy = t.rstep / bs, dqx = t.rstep - dqy * bs;
    int qy = t.r0 / bs, qx = t.r0 - qy * bs;
    for (int i = t.r0; i < bs2; i += t.rstep) {
        *reinterpret_cast<VT *>(o0 + (size_t)((t.by + qy) * W + t.bx + qx) * Di) =
            *reinterpret_cast<const VT *>(ob + (size_t)i * d);
        qx += dqx, qy += dqy;
        if (qx >= bs) qx -= bs, qy++;
    }
}

/* One warp per row (g, i) of S: g = blockIdx.x, i = blockIdx.y·CUBLAS_SOFTMAX_ROWS + warp. The
 * query's RW/RH row is (pixel, head) row (img·HW + pixel)·Nh + n of the projection GEMMs; the
 * warp copies its Wn terms of each to shared memory with −∞ at keys outside the image, so a
 * masked key's logit is −∞ and its P exactly 0 with no per-key test. A lane's keys j = lane,
 * lane + 32, ... walk (ky, kx) by (32 / Wn, 32 % Wn) with one carry: no division per key. Three
 * passes over the row (max, sum, write: the second and third read it from L1, Wn² fp32 per row),
 * one MUFU.EX2 per key and pass (attn_ex2). Dynamic shared memory: 2·Wn floats per warp. */
template <typename T>
__global__ void __launch_bounds__(CUBLAS_SOFTMAX_ROWS * 32)
halo_cublas_softmax_kernel(const float *__restrict__ S, const float *__restrict__ RW,
                           const float *__restrict__ RH, T *__restrict__ P, int H, int W, int bs,
                           int halo, int Nh)
{
    ATTN_DYNAMIC_SMEM(smem_raw);
    const int bs2 = bs * bs, warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const int i = blockIdx.y * CUBLAS_SOFTMAX_ROWS + warp;
    if (i >= bs2) return; /* warp-uniform; no block-wide barrier below */
    const int HW = H * W, Wn = bs + 2 * halo, Wn2 = Wn * Wn, NR = 2 * Wn - 1;
    const int g = blockIdx.x, nbx = W / bs, nblocks = nbx * (H / bs);
    const int n = g % Nh, gb = g / Nh, blk = gb % nblocks, img = gb / nblocks;
    const int qy = i / bs, qx = i - qy * bs;
    const int y0 = (blk / nbx) * bs, x0 = (blk % nbx) * bs;
    const int wy = y0 - halo, wx = x0 - halo; /* window origin */

    const long long qrow = ((long long)img * HW + (y0 + qy) * W + x0 + qx) * Nh + n;
    const float *rw = RW + qrow * NR + (Wn - 1 - qx); /* rw[kx] = q·rel_w[Wn−1+kx−qx] */
    const float *rh = RH + qrow * NR + (Wn - 1 - qy); /* rh[ky] = q·rel_h[Wn−1+ky−qy] */
    float *rw_s = reinterpret_cast<float *>(smem_raw) + warp * 2 * Wn, *rh_s = rw_s + Wn;
    for (int k = lane; k < Wn; k += 32) {
        rw_s[k] = (unsigned)(wx + k) < (unsigned)W ? rw[k] : -INFINITY;
        rh_s[k] = (unsigned)(wy + k) < (unsigned)H ? rh[k] : -INFINITY;
    }
    __syncwarp();

    const size_t row = (size_t)g * bs2 + i;
    const float *s = S + row * Wn2;
    T *pr = P + row * Wn2;
    const int dky = 32 / Wn, dkx = 32 - dky * Wn, ky0 = lane / Wn, kx0 = lane - ky0 * Wn;
    /* base-2 logit of key j, rounded at each step and never contracted: identical in every
     * pass, so the row max gives 2^0 = 1 exactly */
#define HALO_KEYS(body)                                                                          \
    for (int j = lane, ky = ky0, kx = kx0; j < Wn2; j += 32) {                                  \
        const float x = __fmul_rn(__fadd_rn(__fadd_rn(s[j], rw_s[kx]), rh_s[ky]),               \
                                  1.4426950408889634f);                                          \
        body;                                                                                    \
        kx += dkx, ky += dky;                                                                    \
        if (kx >= Wn) kx -= Wn, ky++;                                                            \
    }

    float m = -INFINITY;
    HALO_KEYS(m = fmaxf(m, x))
    m = attn_warp_max(m); /* finite: the query's own pixel is unmasked */
    float l = 0.f;
    HALO_KEYS(l += attn_ex2(x - m)) /* 2^−∞ = 0 at masked keys */
    const float inv_l = 1.f / attn_warp_sum(l); /* >= 1: the max key contributes 2^0 */
    HALO_KEYS(attn_st(pr, j, attn_ex2(x - m) * inv_l))
#undef HALO_KEYS
}

/* The element-wise launches: VEC when every row of d elements is whole 16-byte vectors. */
template <typename T>
static bool gather_vec(const halo_problem_t *p, const void *a, const void *b, const void *c,
                       const void *d, const void *e)
{
    return (p->d * sizeof(T)) % 16 == 0 && ((uintptr_t)a | (uintptr_t)b | (uintptr_t)c |
                                            (uintptr_t)d | (uintptr_t)e) % 16 == 0;
}

/* cpr vectors per row, rows per CTA as many as fit CUBLAS_ELEM_THREADS (at least one row) */
static unsigned elem_threads(int d, int V)
{
    const int cpr = d / V;
    return (unsigned)(cpr * (cpr < CUBLAS_ELEM_THREADS ? CUBLAS_ELEM_THREADS / cpr : 1));
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

    /* gather Q blocks and K/V windows: one CTA per window */
    const bool vec = gather_vec<T>(p, r.pr.q, r.pr.kv, r.Qb, r.Kw, r.Vw);
    const int V = vec ? 16 / (int)sizeof(T) : 1;
    if (d / V > 1024) return (int)cudaErrorInvalidConfiguration; /* a row per CTA at most */
    int err = vec ? ATTN_LAUNCH((halo_cublas_gather_kernel<T, true>), (unsigned)G,
                                elem_threads(d, V), 0, stream, (const T *)r.pr.q,
                                (const T *)r.pr.kv, r.Qb, r.Kw, r.Vw, p->H, p->W, p->b, p->h,
                                p->Nh, d)
                  : ATTN_LAUNCH((halo_cublas_gather_kernel<T, false>), (unsigned)G,
                                elem_threads(d, V), 0, stream, (const T *)r.pr.q,
                                (const T *)r.pr.kv, r.Qb, r.Kw, r.Vw, p->H, p->W, p->b, p->h,
                                p->Nh, d);
    if (err) return err;

    /* S = Q_blk·K_winᵀ per (block, head): column-major Sᵀ = K_win·Q_blkᵀ */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, Wn2, bs2, d, &one, r.Kw, type, d, (long long)Wn2 * d, r.Qb,
        type, d, (long long)bs2 * d, &zero, r.S, CUDA_R_32F, Wn2, (long long)bs2 * Wn2, G,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));

    /* relative terms, mask, softmax: grid (window, rows of b² by CUBLAS_SOFTMAX_ROWS) */
    const int srow_blocks = (int)ATTN_CEIL_DIV(bs2, CUBLAS_SOFTMAX_ROWS);
    if (srow_blocks > 65535) return (int)cudaErrorInvalidConfiguration;
    const size_t ssmem = (size_t)CUBLAS_SOFTMAX_ROWS * 2 * z.Wn * sizeof(float);
    if (ssmem > 48 * 1024) return (int)cudaErrorInvalidConfiguration; /* Wn > 768 */
    err = ATTN_LAUNCH(halo_cublas_softmax_kernel<T>, dim3((unsigned)G, (unsigned)srow_blocks),
                      CUBLAS_SOFTMAX_ROWS * 32, ssmem, stream, (const float *)r.S,
                      (const float *)r.RW, (const float *)r.RH, r.P, p->H, p->W, p->b, p->h,
                      p->Nh);
    if (err) return err;

    /* O_blk = P·V_win: column-major O_blkᵀ = V_winᵀ·Pᵀ */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_N, CUBLAS_OP_N, d, bs2, Wn2, &one, r.Vw, type, d, (long long)Wn2 * d, r.P,
        type, Wn2, (long long)bs2 * Wn2, &zero, r.Ob, type, d, (long long)bs2 * d, G,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));

    /* back to pixel-major O: one CTA per window */
    const bool ovec = gather_vec<T>(p, r.Ob, r.pr.o, r.Ob, r.Ob, r.Ob);
    const int OV = ovec ? 16 / (int)sizeof(T) : 1;
    if (d / OV > 1024) return (int)cudaErrorInvalidConfiguration;
    err = ovec ? ATTN_LAUNCH((halo_cublas_scatter_kernel<T, true>), (unsigned)G,
                             elem_threads(d, OV), 0, stream, (const T *)r.Ob, (T *)r.pr.o, p->H,
                             p->W, p->b, p->Nh, d)
               : ATTN_LAUNCH((halo_cublas_scatter_kernel<T, false>), (unsigned)G,
                             elem_threads(d, OV), 0, stream, (const T *)r.Ob, (T *)r.pr.o, p->H,
                             p->W, p->b, p->Nh, d);
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
