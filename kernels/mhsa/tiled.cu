/* mhsa tiled: fp32 on CUDA cores, K/V tiles staged in shared memory, online softmax: the
 * flash-attention forward pass without tensor cores (Dao et al.; loop order of FlashAttention-2:
 * a block owns one query tile and walks the key tiles).
 *
 * mhsa_tiled_kernel<DMAX>: one block per (b, h, tile of Br query rows); Tr = ⌈Nq/Br⌉ tiles per
 * head. 4 warps × 8 rows = Br = 32 rows; keys in Tc tiles of Bc = 32. Per key tile:
 *   load    K_j, V_j (Bc × d) into shared memory, coalesced; rows past the last needed key and
 *           columns past d are zero-filled
 *   scores  lane = key: S_rj = scale·Q_r·K_j for the warp's 8 rows (Q tile in shared memory)
 *   softmax per row: m_new = max(m, rowmax S), P = exp(S − m_new), l = e^(m − m_new)·l + ΣP,
 *           O *= e^(m − m_new)
 *   P·V     lane = DMAX/32 consecutive output columns: O_r += Σ_j P_rj·V_j
 * and at the end O_r /= l. DMAX ∈ {32, 64, 128} is d rounded up; the zero padding makes the
 * extra columns contribute nothing. Masked logits are −∞; when a row's running max is still −∞
 * the exponentials subtract 0 instead, so all-masked tiles and rows give P = 0, l = 0, and the
 * row is written as 0. Query head h reads K/V head h / (H/Hkv). Row i's keys are [lo_i, hi_i)
 * (mhsa_mask.cuh), both non-decreasing in i, so the block needs the key tiles from its first
 * row's lo to its last row's hi; the others (past kv_len, past the causal diagonal, outside the
 * window) are not loaded or computed, and a warp also skips a tile outside its own rows' range.
 * Shared memory: Q, K, V tiles of 32 × DMAX floats (48 KiB at DMAX = 128, the static limit); P
 * reuses K's buffer once every warp has finished its scores.
 * mhsa_tiled_supports / mhsa_tiled_launch: the launcher pair (mhsa_kernels.h). */
#include <cstdio>

#include "launch.cuh"
#include "warp.cuh"
#include "mhsa_kernels.h"
#include "mhsa_mask.cuh"

#define TILED_NW 4 /* warps per block */
#define TILED_R 8  /* query rows per warp */
#define TILED_BR (TILED_NW * TILED_R)
#define TILED_BC 32 /* one key per lane in the score phase */
#define TILED_DMAX 128

/* NC consecutive floats from 4·NC-byte aligned shared memory in one vector load. */
template <int NC> struct tiled_vec;
template <> struct tiled_vec<1> { typedef float T; };
template <> struct tiled_vec<2> { typedef float2 T; };
template <> struct tiled_vec<4> { typedef float4 T; };

template <int NC> static __device__ __forceinline__ void tiled_load(const float *s, float (&x)[NC])
{
    const typename tiled_vec<NC>::T t = *reinterpret_cast<const typename tiled_vec<NC>::T *>(s);
    const float *f = reinterpret_cast<const float *>(&t);
#pragma unroll
    for (int n = 0; n < NC; n++) x[n] = f[n];
}

/* 3 blocks per SM: the kernel wants ~168 registers; capping it at 128 (4 blocks) spills. */
template <int DMAX>
__global__ void __launch_bounds__(TILED_NW * 32, 3)
mhsa_tiled_kernel(const float *__restrict__ q, const float *__restrict__ k,
                  const float *__restrict__ v, float *__restrict__ o, const mhsa_problem_t p,
                  int Tr)
{
    const int H = p.H, Nq = p.Nq, Nk = p.Nk, d = p.d;
    const float scale = p.scale;
    constexpr int Br = TILED_BR, Bc = TILED_BC, R = TILED_R;
    constexpr int NC = DMAX / 32; /* output columns per lane; also 32-column load chunks */
    constexpr int D4 = DMAX / 4;  /* float4 chunks per row */
    static_assert(Br * Bc <= Bc * DMAX, "P must fit in K's buffer");

    /* K is stored with its float4 chunks XOR-swizzled by (row & 7): in the score phase lane j
     * reads chunk c4 of row j, and the swizzle spreads 8 such lanes over all 32 banks without
     * padding (padding would push DMAX = 128 past 48 KiB). */
    __shared__ __align__(16) float Q_s[Br * DMAX];
    __shared__ __align__(16) float K_s[Bc * DMAX];
    __shared__ __align__(16) float V_s[Bc * DMAX];
    float *P_s = K_s; /* Br × Bc, valid between the post-score barrier and the next load */

    const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
    const long long bh = blockIdx.x / Tr;
    const int tile = Tr - 1 - (int)(blockIdx.x % Tr); /* causal: longest rows start first */
    const int b = (int)(bh / H);
    const int q0 = tile * Br;         /* first query row of the block */
    const int wq0 = q0 + warp * R;    /* first query row of this warp */

    const float *qb = q + (size_t)bh * Nq * d;
    const long long bg = (long long)b * p.Hkv + (int)(bh % H) / (H / p.Hkv); /* K/V head */
    const float *kb = k + (size_t)bg * Nk * d;
    const float *vb = v + (size_t)bg * Nk * d;
    float *ob = o + (size_t)bh * Nq * d;

    /* The block needs keys [kfirst, klimit): its first row's lo to its last row's hi. */
    int kfirst, klimit, lo_, hi_;
    mhsa_row_keys(p, b, q0, kfirst, hi_);
    mhsa_row_keys(p, b, min(q0 + Br, Nq) - 1, lo_, klimit);
    const int Tc = klimit > kfirst ? (klimit + Bc - 1) / Bc : 0;
    /* The warp has real rows, and the keys its rows see (tile skipping per warp). */
    const bool warp_rows = wq0 < Nq;
    int warp_lo, warp_hi;
    mhsa_row_keys(p, b, min(wq0, Nq - 1), warp_lo, hi_);
    mhsa_row_keys(p, b, min(wq0 + R, Nq) - 1, lo_, warp_hi);

    /* Row i sees key j when j < kend and off_lo <= j - (i + diag) <= off_hi: mhsa_mask.cuh's
     * rule as offsets from the diagonal, so the row loop below holds no per-row bounds (per-row
     * lo/hi there cost the registers of three CTAs per SM and spilled). */
    int kend = Nk;
    if (p.kv_len) kend = min(max(p.kv_len[b], 0), Nk);
    const int diag = p.diag;
    const int off_hi = p.causal ? 0 : (p.window > 0 ? p.window - 1 : 0x40000000);
    const int off_lo = p.window > 0 ? -(p.window - 1) : -0x40000000;

    /* Load this warp's Q rows (zero past Nq and past d); published by the first barrier below. */
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int i = wq0 + r;
#pragma unroll
        for (int t = 0; t < NC; t++) {
            const int c = lane + 32 * t;
            Q_s[(warp * R + r) * DMAX + c] = (i < Nq && c < d) ? qb[(size_t)i * d + c] : 0.f;
        }
    }

    float m[R], l[R], acc[R][NC]; /* running max, lane-partial sum, unnormalised O */
#pragma unroll
    for (int r = 0; r < R; r++) {
        m[r] = -INFINITY;
        l[r] = 0.f;
#pragma unroll
        for (int n = 0; n < NC; n++) acc[r][n] = 0.f;
    }

    for (int tc = kfirst / Bc; tc < Tc; tc++) {
        const int j0 = tc * Bc;

        /* load K_j, V_j: warp w fills rows w, w+NW, ...; a warp reads 32 consecutive floats */
        __syncthreads(); /* the previous tile's P (in K_s) and V_s are no longer read */
        const float *kt = kb + (size_t)j0 * d, *vt = vb + (size_t)j0 * d;
#ifndef ATTN_PLANT_TILE_BOUND
        const int rows_ok = klimit - j0; /* tile rows jr < rows_ok are needed keys */
#else
        const int rows_ok = klimit - j0 + 1; /* planted bug: one row past the last needed key */
#endif
#pragma unroll
        for (int rr = 0; rr < Bc / TILED_NW; rr++) {
            const int jr = warp + TILED_NW * rr;
#pragma unroll
            for (int t = 0; t < NC; t++) {
                const int c = lane + 32 * t;
                K_s[jr * DMAX + (((c >> 2) ^ (jr & 7)) << 2) + (c & 3)] =
                    (jr < rows_ok && c < d) ? kt[jr * d + c] : 0.f;
            }
        }
#pragma unroll
        for (int rr = 0; rr < Bc / TILED_NW; rr++) {
            const int jr = warp + TILED_NW * rr;
#pragma unroll
            for (int t = 0; t < NC; t++) {
                const int c = lane + 32 * t;
                V_s[jr * DMAX + c] = (jr < rows_ok && c < d) ? vt[jr * d + c] : 0.f;
            }
        }
        __syncthreads(); /* K_j, V_j (and Q on the first tile) visible to every warp */

        /* The warp skips a tile that is entirely masked for its rows; its state is unchanged,
         * exactly as computing it would leave it (m_tile = −∞ → rescale factor 1 or 0·0). */
        const bool active = warp_rows && j0 < warp_hi && j0 + Bc > warp_lo;

        /* scores: lane owns key j0 + lane, s[r] = Q_r · K_lane */
        float s[R];
#pragma unroll
        for (int r = 0; r < R; r++) s[r] = 0.f;
        if (active) {
            const float4 *K4 = reinterpret_cast<const float4 *>(K_s) + lane * D4;
            const float4 *Q4 = reinterpret_cast<const float4 *>(Q_s) + warp * R * D4;
#pragma unroll
            for (int c4 = 0; c4 < D4; c4++) {
                const float4 kv = K4[c4 ^ (lane & 7)];
#pragma unroll
                for (int r = 0; r < R; r++) {
                    const float4 qv = Q4[r * D4 + c4]; /* broadcast */
                    s[r] = fmaf(qv.x, kv.x, s[r]);
                    s[r] = fmaf(qv.y, kv.y, s[r]);
                    s[r] = fmaf(qv.z, kv.z, s[r]);
                    s[r] = fmaf(qv.w, kv.w, s[r]);
                }
            }
        }
#ifndef ATTN_PLANT_MISSING_SYNC
        __syncthreads(); /* every warp is done with K_s before P overwrites it */
#endif

        if (active) {
            /* online softmax update, row by row; P_rj goes to shared memory for the P·V phase */
            const int j = j0 + lane;
#pragma unroll
            for (int r = 0; r < R; r++) {
                const int off = j - (wq0 + r) - diag; /* rows past Nq: not stored */
                const bool valid = j < kend && off >= off_lo && off <= off_hi;
                const float x = valid ? __fmul_rn(s[r], scale) : -INFINITY;
                const float m_new = fmaxf(m[r], attn_warp_max(x));
                const float m_use = m_new == -INFINITY ? 0.f : m_new; /* no (−∞) − (−∞) */
                const float p = expf(x - m_use);                      /* masked: exp(−∞) = 0 */
                const float alpha = expf(m[r] - m_use);               /* rescale of l and O */
                l[r] = fmaf(l[r], alpha, p);
#pragma unroll
                for (int n = 0; n < NC; n++) acc[r][n] *= alpha;
                m[r] = m_new;
                P_s[(warp * R + r) * Bc + lane] = p;
            }
            __syncwarp(); /* P rows are written and read by this warp only */

            /* P·V: acc[r][n] += Σ_j P_rj · V_j[lane·NC + n] */
            const float4 *P4 = reinterpret_cast<const float4 *>(P_s) + warp * R * (Bc / 4);
#pragma unroll 2
            for (int j4 = 0; j4 < Bc / 4; j4++) {
                float vv[4][NC];
#pragma unroll
                for (int jj = 0; jj < 4; jj++)
                    tiled_load<NC>(&V_s[(4 * j4 + jj) * DMAX + lane * NC], vv[jj]);
#pragma unroll
                for (int r = 0; r < R; r++) {
                    const float4 p4 = P4[r * (Bc / 4) + j4]; /* broadcast */
#pragma unroll
                    for (int n = 0; n < NC; n++) {
                        acc[r][n] = fmaf(p4.x, vv[0][n], acc[r][n]);
                        acc[r][n] = fmaf(p4.y, vv[1][n], acc[r][n]);
                        acc[r][n] = fmaf(p4.z, vv[2][n], acc[r][n]);
                        acc[r][n] = fmaf(p4.w, vv[3][n], acc[r][n]);
                    }
                }
            }
        }
    }

    /* write back O_r = acc_r / l_r; l = 0 only when every key of the row is masked */
    if (!warp_rows) return;
#pragma unroll
    for (int r = 0; r < R; r++) {
        const int i = wq0 + r;
        if (i >= Nq) break; /* warp-uniform */
        const float lt = attn_warp_sum(l[r]);
        const float inv_l = lt > 0.f ? 1.f / lt : 0.f;
#pragma unroll
        for (int n = 0; n < NC; n++) {
            const int c = lane * NC + n;
            if (c < d) ob[(size_t)i * d + c] = acc[r][n] * inv_l;
        }
    }
}

extern "C" const char *mhsa_tiled_supports(const mhsa_problem_t *p)
{
    static thread_local char why[64];
    if (p->d < 1 || p->d > TILED_DMAX) {
        std::snprintf(why, sizeof why, "tiled supports d <= %d (d=%d)", TILED_DMAX, p->d);
        return why;
    }
    return NULL;
}

extern "C" int mhsa_tiled_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    (void)ws;
    if (int e = attn_refuse(mhsa_tiled_supports(p), "mhsa_tiled_launch")) return e;
    const int Tr = ATTN_CEIL_DIV(p->Nq, TILED_BR);
    const long long blocks = (long long)p->B * p->H * Tr;
    if (blocks <= 0) return 0;
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration; /* grid.x limit */
    const unsigned grid = (unsigned)blocks, block = TILED_NW * 32;
    const float *Q = (const float *)q, *K = (const float *)k, *V = (const float *)v;
    float *O = (float *)o;
    if (p->d <= 32)
        return ATTN_LAUNCH(mhsa_tiled_kernel<32>, grid, block, 0, stream, Q, K, V, O, *p, Tr);
    if (p->d <= 64)
        return ATTN_LAUNCH(mhsa_tiled_kernel<64>, grid, block, 0, stream, Q, K, V, O, *p, Tr);
    return ATTN_LAUNCH(mhsa_tiled_kernel<128>, grid, block, 0, stream, Q, K, V, O, *p, Tr);
}
