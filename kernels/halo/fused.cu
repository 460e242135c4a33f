/* halo fused: bf16 storage, the whole attention of an image block in one kernel on tensor cores
 * (mma.sync m16n8k16 through common/mma.cuh, whose fragment layouts this file relies on), no
 * logits in global memory. K and V are projected once per pixel by the shared GEMMs; a window
 * only gathers them.
 *
 *   halo_project_qkv        Q (scaled by d^-½), KV, bf16, pixel-major (common.cu, cuBLAS)
 *   halo_fused_kernel<D>    one CTA per (image block, group of HG heads); warp = 16 query rows of
 *                           one head (MW = ⌈b²⌉₁₆/16 warps per head)
 *   halo_project_out        y = Wo·Oᵀ + bo (common.cu, cuBLAS)
 *
 * halo_fused_kernel<D>, D = d ∈ {16, 32, 64, 128}:
 *   load     by cp.async into shared memory: the block's Q rows (M = ⌈b²⌉₁₆, zero padded), the
 *            K and V rows of the Wn² window (N16 = ⌈Wn²⌉₁₆; zero outside the image and past Wn²),
 *            rel_w and rel_h (R = ⌈2Wn−1⌉₁₆ rows, zero padded), and a key table:
 *            key j = ky·Wn + kx → (Wn−1+ky) << 16 | (Wn−1+kx), or −1 when masked (outside the
 *            image, or padding)
 *   rel      RW = Q_w·rel_wᵀ, RH = Q_w·rel_hᵀ (16 × R each, mma) into per-warp fp32 tables, so
 *            that q·rel_w[Wn−1+kx−qx] = RW[row][(Wn−1+kx) − qx], one lookup per logit
 *   per chunk of KC = 64 keys (only the 16-key tiles below N16):
 *     scores  S = Q·K_chunkᵀ (mma, Q held as A fragments for the whole loop)
 *     logits  (S + RW[·] + RH[·])·log2(e), masked keys −∞
 *     online softmax (log2 domain): m_new = max(m, rowmax), P = 2^(S − m_new),
 *             l = 2^(m − m_new)·l + rowsum P, O = 2^(m − m_new)·O
 *     accumulate  O += P·V_chunk, the S accumulators repacked as A fragments (FA2)
 *   write back  O / l through the warp's own (dead) Q rows, 16-byte row stores
 * Every row has an unmasked key (the query's own pixel), so l > 0 at the end; a chunk whose keys
 * are all masked for a row leaves the row's state as it was (m_use = 0 when m is still −∞).
 *
 * Shared memory rows of bf16 are padded by 16 bytes (pitch D + 8): the 8 row addresses of an
 * ldmatrix then fall in 8 different 16-byte bank groups. Layout:
 *   Q HG·M | K HG·N16 | V HG·N16 | rel_w R | rel_h R   rows of D + 8 bf16
 *   rel tables: per warp 2 × 16 × (R + 8) fp32 | key table N16 int32
 * e.g. b = 8, Wn = 14, d = 64: 97 KiB; b = 8, Wn = 16, d = 64: 111 KiB; b = 4, Wn = 8, d = 16
 * with HG = 4: 41 KiB. HG is the largest divisor of Nh with at most 4 warps per CTA (so small
 * blocks, b = 4, still give 4-warp CTAs) whose shared memory fits HALO_SMEM_CAP.
 * Workspace: Q, KV, O (bf16), 256-byte aligned regions (halo_common.cuh). */
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>

#include "halo_common.cuh"
#include "launch.cuh"
#include "flash.cuh"
#include "mma.cuh"

typedef __nv_bfloat16 bf16;

namespace {

constexpr int KC = 64;        /* keys per chunk of the online softmax */
constexpr int MAX_WARPS = 8;  /* 16·MAX_WARPS query rows of one head at most: b² <= 128 */
constexpr int TARGET_WARPS = 4;
constexpr float LOG2E = 1.4426950408889634f;

/* Per-(block, head) sizes, padded to 16-row tiles. */
struct FusedDims {
    int bs2, Wn, Wn2, M, MW, N16, R, RP;
};

__host__ __device__ inline int round16(int n) { return (n + 15) & ~15; }

__host__ __device__ inline FusedDims fused_dims(int bs, int halo)
{
    FusedDims z;
    z.bs2 = bs * bs;
    z.Wn = bs + 2 * halo;
    z.Wn2 = z.Wn * z.Wn;
    z.M = round16(z.bs2);
    z.MW = z.M / 16;
    z.N16 = round16(z.Wn2);
    z.R = round16(2 * z.Wn - 1);
    z.RP = z.R + 8; /* fp32 table pitch: the float2 stores of a warp hit every bank twice */
    return z;
}

/* Byte offsets of the shared-memory regions (layout in the header comment). */
struct FusedSmem {
    size_t k, v, rw, rh, tabs, keys, bytes;
};

__host__ __device__ inline FusedSmem fused_smem(const FusedDims &z, int D, int HG)
{
    const size_t row = (size_t)(D + 8) * sizeof(bf16);
    FusedSmem s;
    s.k = (size_t)HG * z.M * row;
    s.v = s.k + (size_t)HG * z.N16 * row;
    s.rw = s.v + (size_t)HG * z.N16 * row;
    s.rh = s.rw + (size_t)z.R * row;
    s.tabs = s.rh + (size_t)z.R * row;
    s.keys = s.tabs + (size_t)HG * z.MW * 2 * 16 * z.RP * sizeof(float);
    s.bytes = s.keys + (size_t)z.N16 * sizeof(int);
    return s;
}

} // namespace

/* grid (nblocks, Nh / HG, B), block MW·HG warps, dynamic smem fused_smem(..).bytes. */
template <int D>
__global__ void __launch_bounds__(MAX_WARPS * 32)
halo_fused_kernel(const bf16 *__restrict__ Q, const bf16 *__restrict__ KV,
                  const bf16 *__restrict__ rel_w, const bf16 *__restrict__ rel_h,
                  bf16 *__restrict__ O, int H, int W, int bs, int halo, int Nh, int HG)
{
    constexpr int LD = D + 8;  /* smem pitch, elements */
    constexpr int CPR = D / 8; /* 16-byte chunks per row */
    constexpr int KD = D / 16; /* k16 steps over d (S = Q·Kᵀ), also n16 pairs of d (O) */
    constexpr int NS = KC / 8; /* n8 tiles of S per chunk */
    constexpr int NO = D / 8;  /* n8 tiles of O */

    const FusedDims z = fused_dims(bs, halo);
    const FusedSmem L = fused_smem(z, D, HG);
    const int HW = H * W, Di = Nh * D, NR = 2 * z.Wn - 1;

    ATTN_DYNAMIC_SMEM(smem_raw);
    bf16 *Qs = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Ks = reinterpret_cast<bf16 *>(smem_raw + L.k);
    bf16 *Vs = reinterpret_cast<bf16 *>(smem_raw + L.v);
    bf16 *RWs = reinterpret_cast<bf16 *>(smem_raw + L.rw);
    bf16 *RHs = reinterpret_cast<bf16 *>(smem_raw + L.rh);
    float *tabs = reinterpret_cast<float *>(smem_raw + L.tabs);
    int *keys = reinterpret_cast<int *>(smem_raw + L.keys);

    const int tid = threadIdx.x, nthreads = blockDim.x;
    const int warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3; /* fragment groupID / threadID_in_group */

    const int blk = blockIdx.x, n0 = blockIdx.y * HG, img = blockIdx.z;
    const int nbx = W / bs;
    const int y0 = (blk / nbx) * bs, x0 = (blk % nbx) * bs; /* block origin */
    const int wy = y0 - halo, wx = x0 - halo;                /* window origin */
    const bf16 *Qi = Q + (size_t)img * HW * Di + n0 * D;
    const bf16 *KVi = KV + (size_t)img * HW * 2 * Di + n0 * D;

    /* load: the HG heads of a pixel are HG·D consecutive elements of its Q / KV row */
    const int HCPR = HG * CPR;
    for (int e = tid; e < z.M * HCPR; e += nthreads) {
        const int i = e / HCPR, c = e % HCPR, hg = c / CPR, cc = (c % CPR) * 8;
        bf16 *dst = Qs + (hg * z.M + i) * LD + cc;
        if (i < z.bs2)
            cp_async_16(dst, Qi + (size_t)((y0 + i / bs) * W + x0 + i % bs) * Di + hg * D + cc);
        else
            *reinterpret_cast<uint4 *>(dst) = make_uint4(0, 0, 0, 0);
    }
    for (int e = tid; e < z.N16 * HCPR; e += nthreads) {
        const int j = e / HCPR, c = e % HCPR, hg = c / CPR, cc = (c % CPR) * 8;
        const int py = wy + j / z.Wn, px = wx + j % z.Wn;
        bf16 *kd = Ks + (hg * z.N16 + j) * LD + cc;
        bf16 *vd = Vs + (hg * z.N16 + j) * LD + cc;
        if (j < z.Wn2 && py >= 0 && py < H && px >= 0 && px < W) {
            const bf16 *src = KVi + (size_t)(py * W + px) * 2 * Di + hg * D + cc;
            cp_async_16(kd, src);
            cp_async_16(vd, src + Di);
        } else { /* x = 0 outside the image: k = v = 0 (and P = 0 there) */
            *reinterpret_cast<uint4 *>(kd) = make_uint4(0, 0, 0, 0);
            *reinterpret_cast<uint4 *>(vd) = make_uint4(0, 0, 0, 0);
        }
    }
    for (int e = tid; e < z.R * CPR; e += nthreads) {
        const int r = e / CPR, cc = (e % CPR) * 8;
        if (r < NR) {
            cp_async_16(RWs + r * LD + cc, rel_w + (size_t)r * D + cc);
            cp_async_16(RHs + r * LD + cc, rel_h + (size_t)r * D + cc);
        } else {
            *reinterpret_cast<uint4 *>(RWs + r * LD + cc) = make_uint4(0, 0, 0, 0);
            *reinterpret_cast<uint4 *>(RHs + r * LD + cc) = make_uint4(0, 0, 0, 0);
        }
    }
    for (int j = tid; j < z.N16; j += nthreads) {
        const int ky = j / z.Wn, kx = j % z.Wn;
        const int py = wy + ky, px = wx + kx;
        const bool valid = j < z.Wn2 && py >= 0 && py < H && px >= 0 && px < W;
        keys[j] = valid ? ((z.Wn - 1 + ky) << 16) | (z.Wn - 1 + kx) : -1;
    }
    cp_async_commit();
    cp_async_wait<0>();
    __syncthreads();

    /* this warp: head n0 + hg, query rows 16·mb .. 16·mb + 15 of the block */
    const int hg = warp / z.MW, mb = warp % z.MW;
    const bf16 *Qw = Qs + (hg * z.M + mb * 16) * LD;

    /* Q -> A fragments: lane L addresses row (L & 15), column 8·(L >> 4) of each k16 step */
    uint32_t qf[KD][4];
#pragma unroll
    for (int ks = 0; ks < KD; ++ks)
        ldmatrix_x4(qf[ks], Qw + (lane & 15) * LD + (lane >> 4) * 8 + ks * 16);

    /* B fragments from key-major rows (K, rel_w, rel_h): lane L addresses row
     * (L & 7) + 8·((L >> 4) & 1), column 8·((L >> 3) & 1); one ldmatrix_x4 = two n8 tiles */
    const int b_off = ((lane & 7) + ((lane >> 4) & 1) * 8) * LD + ((lane >> 3) & 1) * 8;

    /* rel: RW = Q_w·rel_wᵀ, RH = Q_w·rel_hᵀ; C element (row, col) to table[row·RP + col] */
    float *RWt = tabs + warp * 2 * 16 * z.RP;
    float *RHt = RWt + 16 * z.RP;
#pragma unroll
    for (int which = 0; which < 2; ++which) {
        const bf16 *rel = (which ? RHs : RWs) + b_off;
        float *tab = which ? RHt : RWt;
        for (int np = 0; np < z.R / 16; ++np) {
            float c[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
            for (int ks = 0; ks < KD; ++ks) {
                uint32_t rf[4];
                ldmatrix_x4(rf, rel + np * 16 * LD + ks * 16);
                mma_m16n8k16_bf16(c[0], qf[ks], rf[0], rf[1]);
                mma_m16n8k16_bf16(c[1], qf[ks], rf[2], rf[3]);
            }
#pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
                const int col = np * 16 + nt * 8 + 2 * t;
                *reinterpret_cast<float2 *>(tab + g * z.RP + col) = make_float2(c[nt][0], c[nt][1]);
                *reinterpret_cast<float2 *>(tab + (g + 8) * z.RP + col) =
                    make_float2(c[nt][2], c[nt][3]);
            }
        }
    }
    __syncwarp(); /* the tables are this warp's own */

    /* fragment rows g (c0, c1) and g + 8 (c2, c3): query i = 16·mb + row; the table index of key
     * (ky, kx) is row·RP + (Wn−1+kx) − qx, resp. (Wn−1+ky) − qy. Padded rows (i >= b²) use
     * qy = qx = 0: in range, and their output is never stored. */
    int offw[2], offh[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int row = g + 8 * r, i = mb * 16 + row;
        const int qy = i < z.bs2 ? i / bs : 0, qx = i < z.bs2 ? i % bs : 0;
        offw[r] = row * z.RP - qx;
        offh[r] = row * z.RP - qy;
    }

    const bf16 *Kw = Ks + hg * z.N16 * LD + b_off;
    /* V key-major is row-major B, hence .trans: lane L addresses key (L & 7) + 8·((L >> 3) & 1),
     * column 8·((L >> 4) & 1) */
    const bf16 *Vw = Vs + hg * z.N16 * LD + ((lane & 7) + ((lane >> 3) & 1) * 8) * LD +
                     ((lane >> 4) & 1) * 8;

    float acc_o[NO][4];                  /* O accumulator, rows g and g + 8 */
    float m[2] = {-INFINITY, -INFINITY}; /* running max (log2 domain) */
    float l[2] = {0.0f, 0.0f};           /* this lane's part of the running row sums */
#pragma unroll
    for (int n = 0; n < NO; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc_o[n][e] = 0.0f;

    for (int kv0 = 0; kv0 < z.N16; kv0 += KC) {
        const int n16 = min(KC, z.N16 - kv0) / 16; /* 16-key tiles in this chunk */

        /* scores: S = Q·K_chunkᵀ, 16 x KC per warp */
        float s[NS][4];
#pragma unroll
        for (int n = 0; n < NS; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) s[n][e] = 0.0f;
#pragma unroll
        for (int ks = 0; ks < KD; ++ks) {
#pragma unroll
            for (int np = 0; np < NS / 2; ++np) {
                if (np < n16) {
                    uint32_t kf[4]; /* {b0, b1} of n-tile 2np, {b0, b1} of n-tile 2np+1 */
                    ldmatrix_x4(kf, Kw + (kv0 + np * 16) * LD + ks * 16);
                    mma_m16n8k16_bf16(s[2 * np], qf[ks], kf[0], kf[1]);
                    mma_m16n8k16_bf16(s[2 * np + 1], qf[ks], kf[2], kf[3]);
                }
            }
        }

        /* logits: element e of n-tile n is row g + 8·(e >> 1), key kv0 + 8n + 2t + (e & 1) */
#pragma unroll
        for (int n = 0; n < NS; ++n) {
            int2 kk = make_int2(-1, -1);
            if (n / 2 < n16) kk = *reinterpret_cast<const int2 *>(keys + kv0 + n * 8 + 2 * t);
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                const int key = (e & 1) ? kk.y : kk.x, r = e >> 1;
                s[n][e] = key < 0 ? -INFINITY
                                  : (s[n][e] + RWt[offw[r] + (key & 0xffff)] +
                                     RHt[offh[r] + (key >> 16)]) * LOG2E;
            }
        }

        /* online softmax update (common/flash.cuh): m, l, P = 2^(S − m), O rescaled */
        flash_online_softmax(s, acc_o, m, l);

        /* accumulate: O += P·V_chunk. The C fragments of n8 tiles 2kk, 2kk+1 are the A fragment
         * of keys 16kk..16kk+15 (mma.cuh) */
#pragma unroll
        for (int kk = 0; kk < KC / 16; ++kk) {
            if (kk < n16) {
                const uint32_t pa[4] = {pack_bf16x2(s[2 * kk][0], s[2 * kk][1]),
                                        pack_bf16x2(s[2 * kk][2], s[2 * kk][3]),
                                        pack_bf16x2(s[2 * kk + 1][0], s[2 * kk + 1][1]),
                                        pack_bf16x2(s[2 * kk + 1][2], s[2 * kk + 1][3])};
#pragma unroll
                for (int dp = 0; dp < KD; ++dp) {
                    uint32_t vf[4]; /* {b0, b1} of d-tile 2dp, {b0, b1} of d-tile 2dp+1 */
                    ldmatrix_x4_trans(vf, Vw + (kv0 + kk * 16) * LD + dp * 16);
                    mma_m16n8k16_bf16(acc_o[2 * dp], pa, vf[0], vf[1]);
                    mma_m16n8k16_bf16(acc_o[2 * dp + 1], pa, vf[2], vf[3]);
                }
            }
        }
    }

    /* write back: O / l, staged through this warp's own Q rows (no other warp reads them) so
     * that global stores are 16-byte and row-contiguous */
    float inv[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 1);
        l[r] += __shfl_xor_sync(0xffffffffu, l[r], 2);
        inv[r] = l[r] > 0.0f ? 1.0f / l[r] : 0.0f; /* l > 0: the own pixel is unmasked */
    }
    bf16 *Os = Qs + (hg * z.M + mb * 16) * LD;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
        *reinterpret_cast<uint32_t *>(Os + g * LD + n * 8 + 2 * t) =
            pack_bf16x2(acc_o[n][0] * inv[0], acc_o[n][1] * inv[0]);
        *reinterpret_cast<uint32_t *>(Os + (g + 8) * LD + n * 8 + 2 * t) =
            pack_bf16x2(acc_o[n][2] * inv[1], acc_o[n][3] * inv[1]);
    }
    __syncwarp();
    bf16 *Oh = O + (size_t)img * HW * Di + (n0 + hg) * D;
#pragma unroll
    for (int k = 0; k < 16 * CPR / 32; ++k) {
        const int c = lane + k * 32;
        const int r = c / CPR, cc = (c % CPR) * 8;
        const int i = mb * 16 + r;
        if (i < z.bs2)
            *reinterpret_cast<uint4 *>(Oh + (size_t)((y0 + i / bs) * W + x0 + i % bs) * Di + cc) =
                *reinterpret_cast<const uint4 *>(Os + r * LD + cc);
    }
}

/* Heads per CTA (header comment); 0 when not even one head fits. */
static int fused_group(const halo_problem_t *p)
{
    const FusedDims z = fused_dims(p->b, p->h);
    int HG = 0;
    for (int hg = 1; hg <= p->Nh; hg++) {
        if (p->Nh % hg != 0 || fused_smem(z, p->d, hg).bytes > HALO_SMEM_CAP) continue;
        if (hg == 1 || z.MW * hg <= TARGET_WARPS) HG = hg;
    }
    return HG;
}

extern "C" const char *halo_fused_supports(const halo_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = halo_problem_reason(p)) return r;
    if (p->d != 16 && p->d != 32 && p->d != 64 && p->d != 128) {
        std::snprintf(why, sizeof why, "fused supports d in {16, 32, 64, 128} (d=%d)", p->d);
        return why;
    }
    const FusedDims z = fused_dims(p->b, p->h);
    if (z.MW > MAX_WARPS) {
        std::snprintf(why, sizeof why, "fused needs b² <= %d (b=%d)", 16 * MAX_WARPS, p->b);
        return why;
    }
    if (fused_group(p) == 0) {
        std::snprintf(why, sizeof why,
                      "fused needs %zu B of shared memory for one head (b=%d, Wn=%d, d=%d), over "
                      "%d B",
                      fused_smem(z, p->d, 1).bytes, p->b, z.Wn, p->d, HALO_SMEM_CAP);
        return why;
    }
    if (p->B > 65535 || p->Nh > 65535) return "fused needs B, Nh <= 65535 (grid z/y)";
    return NULL;
}

extern "C" size_t halo_fused_workspace(const halo_problem_t *p)
{
    return halo_proj_workspace(p, sizeof(bf16));
}

template <int D>
static int halo_fused_launch_d(const halo_problem_t *p, const bf16 *Q, const bf16 *KV,
                               const bf16 *rel_w, const bf16 *rel_h, bf16 *O, cudaStream_t stream)
{
    static bool smem_attr_set = false; /* beyond 48 KiB needs an opt-in, once per kernel */
    if (!smem_attr_set) {
        ATTN_TRY(cudaFuncSetAttribute(halo_fused_kernel<D>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, HALO_SMEM_CAP));
        smem_attr_set = true;
    }
    const FusedDims z = fused_dims(p->b, p->h);
    const int HG = fused_group(p);
    const dim3 grid(halo_sizes(p).nblocks, p->Nh / HG, p->B);
    return ATTN_LAUNCH(halo_fused_kernel<D>, grid, z.MW * HG * 32, fused_smem(z, D, HG).bytes,
                       stream, Q, KV, rel_w, rel_h, O, p->H, p->W, p->b, p->h, p->Nh, HG);
}

extern "C" int halo_fused_launch(const halo_problem_t *p, const halo_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    if (int e = attn_launch_check(halo_fused_supports(p), ws, "halo_fused_launch")) return e;
    /* cp.async moves 16-byte chunks of rel rows */
    if (int e = attn_require_align16((uintptr_t)t->rel_w | (uintptr_t)t->rel_h, "rel_w, rel_h",
                                     "halo_fused_launch"))
        return e;
    attn_ws_t w = {(char *)ws, 0};
    const halo_proj_t pr = halo_proj_take(&w, p, sizeof(bf16));

    if (int e = halo_project_qkv(p, t, CUDA_R_16BF, pr.q, pr.kv, stream)) return e;

    const bf16 *Q = (const bf16 *)pr.q, *KV = (const bf16 *)pr.kv;
    const bf16 *rw = (const bf16 *)t->rel_w, *rh = (const bf16 *)t->rel_h;
    bf16 *O = (bf16 *)pr.o;
    int err;
    switch (p->d) {
    case 16: err = halo_fused_launch_d<16>(p, Q, KV, rw, rh, O, stream); break;
    case 32: err = halo_fused_launch_d<32>(p, Q, KV, rw, rh, O, stream); break;
    case 64: err = halo_fused_launch_d<64>(p, Q, KV, rw, rh, O, stream); break;
    default: err = halo_fused_launch_d<128>(p, Q, KV, rw, rh, O, stream); break;
    }
    if (err) return err;

    return halo_project_out(p, t, CUDA_R_16BF, pr.o, stream);
}
