/* halo fused: bf16 storage, the whole attention of an image block in one kernel on tensor cores
 * (mma.sync m16n8k16 through common/mma.cuh, whose fragment layouts this file relies on), no
 * logits in global memory. K and V are projected once per pixel by the shared GEMMs; a window
 * only gathers them.
 *
 *   halo_project_qkv             Q (scaled by d^-½), KV, bf16, pixel-major (common.cu, cuBLAS)
 *   halo_fused_kernel<D, BS>     one CTA per (image block, group of HG heads); warp = 16 query
 *                                rows of one head (MW = b²/16 warps per head)
 *   halo_project_out             y = Wo·Oᵀ + bo (common.cu, cuBLAS)
 *
 * Built so that the main loop is tensor-core work and little else (issue 16, item 3):
 *  - A window row is one 16-key tile: rows of Wn <= 16 keys padded to KW = 16. Within a tile the
 *    key column kx of a C-fragment element is fixed per lane (2t, 2t+1, 8+2t, 9+2t), so the
 *    relative-width term q·rel_w[Wn−1+kx−qx] of the lane's 8 scores is the same in every tile: 8
 *    registers, computed once, given to the first mma of a tile as its C operand (S = Q·Kᵀ + RW
 *    costs nothing more than Q·Kᵀ). The relative-height term q·rel_h[Wn−1+ky−qy] is one value
 *    per row and tile: one shared-memory load.
 *  - Masking is additive: a key column outside the image, or a padding column kx >= Wn, has
 *    MASKED (−1e30, finite so that the tensor cores never see an infinity) in its RW register; a
 *    window row outside the image is never loaded or computed; the rows past the window's end
 *    that fill the last chunk have −∞ as their height term. No key table, no per-key guard.
 *    The K/V rows of masked columns hold the clamped pixel's data (finite), so P = 0 there and
 *    P·V is exact.
 *  - Templates on d and the block size b: every index in the prologue is a shift or a mask;
 *    the one runtime divisor (head groups per image, in blockIdx.z) is a multiply-high.
 *  - K/V stream through two cp.async buffers of KR = 4 window rows: the next chunk's copies are
 *    issued before this chunk's mma work and waited for one chunk later; one barrier per chunk.
 *  - Softmax in the log2 domain with common/fastmath.cuh's attn_ex2: one FFMA (log2 e and the
 *    tile's height term folded) and one ex2.approx.ftz per score.
 *
 * halo_fused_kernel<D, BS>, D = d ∈ {16, 32, 64, 128}, BS = b ∈ {4, 8} (b² = 16·MW rows, so no
 * query row is padding); other shapes are refused by halo_fused_supports with the reason.
 *   load     Q rows of the block (cp.async), rel_w and rel_h (R = ⌈2Wn−1⌉₁₆ rows, zero padded,
 *            in buffer 1 until the loop first refills it), and chunk 0 of K/V
 *   rel      RW = Q_w·rel_wᵀ, RH = Q_w·rel_hᵀ (16 × R each, mma) through a per-warp fp32 table:
 *            each lane keeps its 8 RW values; RH stays in the table (scaled by log2 e; −∞ past
 *            the window's last image row) and the lane keeps a pointer per row, indexed by ky
 *   per chunk of KR window rows ky0 .. ky0 + KR − 1 (from the first image row of the window):
 *     wait + barrier; issue the next chunk's copies into the other buffer
 *     scores  S = Q·K_tileᵀ + RW per tile (mma, Q held as A fragments for the whole loop)
 *     max     m_new = max(m, max over the chunk of (S·log2e + RH_tile)), per row (quad shuffles)
 *     P = 2^(S·log2e + (RH_tile − m_new)) (one FFMA + one ex2 per score), l and O rescaled by
 *             2^(m − m_new), l += rowsum P
 *     accumulate  O += P·V_tile, the S accumulators repacked as A fragments (FA2)
 *   write back  O / l through the warp's own (dead) Q rows, 16-byte row stores
 * Every window row that is computed holds the query's block columns (in the image), so each
 * chunk has an unmasked key for every query row: m is finite after the first chunk, where
 * 2^(−∞ − m) = 0 clears l and O, and l > 0 at the end.
 *
 * Shared memory rows of bf16 are padded by 16 bytes (pitch D + 8): the 8 row addresses of an
 * ldmatrix then fall in 8 different 16-byte bank groups. Layout:
 *   Q HG·b² | buffer 0: K HG·KR·16, V HG·KR·16 | buffer 1 (the same)   rows of D + 8 bf16
 *   tables: per warp 16 × RP fp32
 * e.g. b = 8, d = 64: 54 KiB (its 133 registers allow 3 CTAs per SM on sm_90; holding them to
 * 128 for a fourth spills); b = 8, d = 16: 24 KiB; b = 4, d = 16 with HG = 4: 60 KiB. HG is the
 * largest divisor of Nh with at most 4 warps per CTA whose shared memory fits HALO_SMEM_CAP.
 * sm_90 code, one steady chunk per warp: b = 8, d = 64: 386 instructions for 64 mma (6.0 per
 * mma), d = 16: 252 for 16 (15.8); b = 4: 8.2 and 18.2; no spills at any d.
 * Workspace: Q, KV, O (bf16), 256-byte aligned regions (halo_common.cuh). */
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>

#include "halo_common.cuh"
#include "launch.cuh"
#include "fastmath.cuh"
#include "flash.cuh"
#include "mma.cuh"

typedef __nv_bfloat16 bf16;

namespace {

constexpr int KW = 16;          /* keys per window row: Wn padded */
constexpr int KR = 4;           /* window rows per chunk of the online softmax */
constexpr int CH = KR * KW;     /* keys per chunk */
constexpr int RP = 36;          /* fp32 table pitch: > 2·Wn + KR − 3 (the last height index) */
constexpr int MAX_WN = KW;
constexpr int MAX_WARPS = 4;    /* per CTA */
constexpr float LOG2E = 1.4426950408889634f;
constexpr float MASKED = -1e30f; /* additive mask of a key column: 2^(MASKED·log2e − m) = 0 */

/* n / d for n < 2^31 as a multiply-high (Granlund and Montgomery, "Division by invariant
 * integers using multiplication", fig. 4.1; the add cannot overflow since n < 2^31). */
struct FastDiv {
    unsigned d, mul, shift;
};

FastDiv fastdiv_make(unsigned d)
{
    FastDiv f;
    f.d = d;
    f.shift = 0;
    while ((1u << f.shift) < d) ++f.shift;
    f.mul = (unsigned)(((1ull << 32) * ((1ull << f.shift) - d)) / d + 1);
    return f;
}

__device__ __forceinline__ unsigned fastdiv(unsigned n, const FastDiv &f)
{
    return (__umulhi(n, f.mul) + n) >> f.shift;
}

/* d = a·b + c for one m16n8k16 tile (mma.cuh's layouts), c kept: the first mma of a tile adds
 * the lane's relative-width registers without copying them. */
#ifndef ATTN_EMU
__device__ __forceinline__ void mma_bf16_c(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                           uint32_t b1, const float (&c)[4])
{
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
                 "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
                 : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1), "f"(c[0]),
                   "f"(c[1]), "f"(c[2]), "f"(c[3]));
}
#else
__device__ __forceinline__ void mma_bf16_c(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                           uint32_t b1, const float (&c)[4],
                                           const char *attn_file_ = __builtin_FILE(),
                                           int attn_line_ = __builtin_LINE())
{
    ::attn_emu::ptx::mma_m16n8k16_f32_bf16(d, a, b0, b1, c, attn_file_, attn_line_);
}
#endif

/* Byte offsets of the shared-memory regions (layout in the header comment). */
struct FusedSmem {
    size_t buf0, buf_bytes, tabs, bytes;
};

__host__ __device__ constexpr int fused_mw(int BS) { return BS * BS / 16; }

__host__ __device__ inline FusedSmem fused_smem(int D, int BS, int HG)
{
    const size_t row = (size_t)(D + 8) * sizeof(bf16);
    FusedSmem s;
    s.buf0 = (size_t)HG * BS * BS * row;
    s.buf_bytes = (size_t)2 * HG * CH * row; /* K and V */
    s.tabs = s.buf0 + 2 * s.buf_bytes;
    s.bytes = s.tabs + (size_t)HG * fused_mw(BS) * 16 * RP * sizeof(float);
    return s;
}

} // namespace

/* grid (W/b, H/b, B·Nh/HG), block MW·HG warps, dynamic smem fused_smem(D, BS, HG).bytes;
 * ng divides blockIdx.z into (image, head group). */
template <int D, int BS>
__global__ void __launch_bounds__(MAX_WARPS * 32)
halo_fused_kernel(const bf16 *__restrict__ Q, const bf16 *__restrict__ KV,
                  const bf16 *__restrict__ rel_w, const bf16 *__restrict__ rel_h,
                  bf16 *__restrict__ O, int H, int W, int halo, int Nh, int HG, FastDiv ng)
{
    constexpr int MW = fused_mw(BS); /* warps per head */
    constexpr int T = MW * 32;       /* threads per head: each head's warps load its rows */
    constexpr int LD = D + 8;        /* smem pitch, elements */
    constexpr int CPR = D / 8;       /* 16-byte chunks per row */
    constexpr int KD = D / 16;       /* k16 steps over d (S = Q·Kᵀ), also n16 pairs of d (O) */
    constexpr int NO = D / 8;        /* n8 tiles of O */
    constexpr int KPC = KW * CPR;    /* 16-byte chunks of one window row of one head */
    constexpr int EPT = KR * KPC / T; /* K (and V) copies per thread per chunk */
    constexpr int NC = KPC > T ? KPC / T : 1; /* distinct key columns a thread copies */
    constexpr int QPT = BS * BS * CPR / T;    /* Q copies per thread */
    static_assert(BS * BS % 16 == 0 && (KR * KPC) % T == 0 && (BS * BS * CPR) % T == 0,
                  "whole copies per thread");

    const int Wn = BS + 2 * halo, NR = 2 * Wn - 1, R = (NR + 15) & ~15;
    const int Di = Nh * D, KVP = 2 * Di; /* pixel pitch of Q and O, of KV */

    ATTN_DYNAMIC_SMEM(smem_raw);
    const FusedSmem L = fused_smem(D, BS, HG);
    const int bufe = (int)(L.buf_bytes / sizeof(bf16)); /* buffer 1 − buffer 0, elements */
    bf16 *Qs = reinterpret_cast<bf16 *>(smem_raw);
    bf16 *Kb0 = reinterpret_cast<bf16 *>(smem_raw + L.buf0); /* V of a buffer: + HG·CH rows */
    bf16 *RWs = Kb0 + bufe, *RHs = RWs + R * LD;             /* in buffer 1 until chunk 1 */
    float *tabs = reinterpret_cast<float *>(smem_raw + L.tabs);

    const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;
    const int g = lane >> 2, t = lane & 3; /* fragment groupID / threadID_in_group */
    const int hg = warp / MW, mb = warp % MW, ltid = tid % T;

    const int img = (int)fastdiv(blockIdx.z, ng), head = ((int)blockIdx.z - img * (int)ng.d) * HG + hg;
    const int y0 = blockIdx.y * BS, x0 = blockIdx.x * BS; /* block origin */
    const int wy = y0 - halo, wx = x0 - halo;             /* window origin */
    const int ky_lo = max(0, -wy), ky_hi = min(Wn, H - wy); /* window rows in the image */
    const int nch = (ky_hi - ky_lo + KR - 1) / KR;
    const bf16 *Qh = Q + (size_t)img * H * W * Di + head * D;
    const bf16 *KVh = KV + (size_t)img * H * W * KVP + head * D;

    /* load Q: this head's b² rows; the rel tables (rows >= 2Wn−1 zero) */
#pragma unroll
    for (int j = 0; j < QPT; ++j) {
        const int e = ltid + j * T, i = e / CPR, c8 = (e % CPR) * 8;
        cp_async_16(Qs + (hg * BS * BS + i) * LD + c8,
                    Qh + ((y0 + i / BS) * W + x0 + i % BS) * Di + c8);
    }
    for (int e = tid; e < R * CPR; e += blockDim.x) {
        const int r = e / CPR, c8 = (e % CPR) * 8;
        if (r < NR) {
            cp_async_16(RWs + r * LD + c8, rel_w + r * D + c8);
            cp_async_16(RHs + r * LD + c8, rel_h + r * D + c8);
        } else {
            *reinterpret_cast<uint4 *>(RWs + r * LD + c8) = make_uint4(0, 0, 0, 0);
            *reinterpret_cast<uint4 *>(RHs + r * LD + c8) = make_uint4(0, 0, 0, 0);
        }
    }
    cp_async_commit();

    /* K/V copies: element j of this thread is window row rj(j) of the chunk, key column and
     * 16-byte piece fixed per thread (NC of them); a column outside the image copies the clamped
     * pixel (finite data under a masked score), a row past the window's last image row copies
     * that row (its scores are masked by the −∞ height term). */
    const bf16 *gcol[NC]; /* image row 0 of the thread's column pieces: + py·W·KVP */
    int scol[NC];
#pragma unroll
    for (int jc = 0; jc < NC; ++jc) {
        const int kc = (ltid + jc * T) % KPC, kx = kc / CPR, c8 = (kc % CPR) * 8;
        gcol[jc] = KVh + min(max(wx + kx, 0), W - 1) * KVP + c8;
        scol[jc] = (hg * CH + kx) * LD + c8;
    }
    const int rbase = T >= KPC ? ltid / KPC : 0, py_last = wy + ky_hi - 1, rowpitch = W * KVP;
    auto load_chunk = [&](int buf, int ky0) {
        bf16 *Kd = Kb0 + buf * bufe, *Vd = Kd + HG * CH * LD;
#pragma unroll
        for (int j = 0; j < EPT; ++j) {
            const int r = T >= KPC ? rbase + j * (T / KPC) : j / NC, jc = j % NC;
            const int off = min(wy + ky0 + r, py_last) * rowpitch; /* 32-bit: one IMAD.WIDE */
            cp_async_16(Kd + r * KW * LD + scol[jc], gcol[jc] + off);
            cp_async_16(Vd + r * KW * LD + scol[jc], gcol[jc] + (off + Di));
        }
    };
    load_chunk(0, ky_lo);
    cp_async_commit();
    cp_async_wait<1>(); /* Q and rel landed (this thread's); the barrier makes them everyone's */
    __syncthreads();

    /* Q -> A fragments: lane L addresses row (L & 15), column 8·(L >> 4) of each k16 step */
    const bf16 *Qw = Qs + (hg * BS * BS + mb * 16) * LD;
    uint32_t qf[KD][4];
#pragma unroll
    for (int ks = 0; ks < KD; ++ks)
        ldmatrix_x4(qf[ks], Qw + (lane & 15) * LD + (lane >> 4) * 8 + ks * 16);

    /* B fragments from key-major rows (K, rel_w, rel_h): lane L addresses row
     * (L & 7) + 8·((L >> 4) & 1), column 8·((L >> 3) & 1); one ldmatrix_x4 = two n8 tiles */
    const int b_off = ((lane & 7) + ((lane >> 4) & 1) * 8) * LD + ((lane >> 3) & 1) * 8;

    /* fragment rows g (c0, c1) and g + 8 (c2, c3): query i = 16·mb + row of the block */
    int qy[2], qx[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        const int i = mb * 16 + g + 8 * r;
        qy[r] = i / BS;
        qx[r] = i % BS;
    }

    /* rel: table[row][col] = scale·(Q_w·relᵀ)[row][col], col < R */
    float *tab = tabs + warp * 16 * RP;
    auto rel_table = [&](const bf16 *rel, float scale) {
#pragma unroll
        for (int np = 0; np < (2 * MAX_WN + 15) / 16; ++np) {
            if (np >= R / 16) break;
            float c[2][4] = {{0.f, 0.f, 0.f, 0.f}, {0.f, 0.f, 0.f, 0.f}};
#pragma unroll
            for (int ks = 0; ks < KD; ++ks) {
                uint32_t rf[4];
                ldmatrix_x4(rf, rel + b_off + np * 16 * LD + ks * 16);
                mma_m16n8k16_bf16(c[0], qf[ks], rf[0], rf[1]);
                mma_m16n8k16_bf16(c[1], qf[ks], rf[2], rf[3]);
            }
#pragma unroll
            for (int nt = 0; nt < 2; ++nt) {
                const int col = np * 16 + nt * 8 + 2 * t;
                *reinterpret_cast<float2 *>(tab + g * RP + col) =
                    make_float2(scale * c[nt][0], scale * c[nt][1]);
                *reinterpret_cast<float2 *>(tab + (g + 8) * RP + col) =
                    make_float2(scale * c[nt][2], scale * c[nt][3]);
            }
        }
        __syncwarp(); /* the table is this warp's own */
    };

    /* RW: element e of n-tile n is row g + 8·(e >> 1), key column kx = 8n + 2t + (e & 1) */
    rel_table(RWs, 1.0f);
    float rwc[2][4];
#pragma unroll
    for (int n = 0; n < 2; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) {
            const int r = e >> 1, kx = 8 * n + 2 * t + (e & 1), px = wx + kx;
            rwc[n][e] = kx < Wn && px >= 0 && px < W
                            ? tab[(g + 8 * r) * RP + Wn - 1 + kx - qx[r]]
                            : MASKED;
        }
    __syncwarp();

    /* RH·log2e; the height term of window row ky for fragment row r is rh_row[r][ky] */
    rel_table(RHs, LOG2E);
    {
        const int row = lane & 15, qyr = (mb * 16 + row) / BS;
        for (int col = Wn - 1 - qyr + ky_hi + (lane >> 4); col < RP; col += 2)
            tab[row * RP + col] = -INFINITY; /* rows past the window's last image row */
    }
    __syncwarp();
    const float *rh_row[2] = {tab + g * RP + Wn - 1 - qy[0], tab + (g + 8) * RP + Wn - 1 - qy[1]};

#ifndef ATTN_PLANT_MMA_LANE
    const bf16 *Kw0 = Kb0 + hg * CH * LD + b_off;
#else /* planted: K fragments from the wrong lanes (the key and column halves swapped) */
    const bf16 *Kw0 = Kb0 + hg * CH * LD + ((lane & 7) + ((lane >> 3) & 1) * 8) * LD +
                      ((lane >> 4) & 1) * 8;
#endif
    /* V key-major is row-major B, hence .trans: lane L addresses key (L & 7) + 8·((L >> 3) & 1),
     * column 8·((L >> 4) & 1) */
    const bf16 *Vw0 = Kb0 + (HG + hg) * CH * LD + ((lane & 7) + ((lane >> 3) & 1) * 8) * LD +
                      ((lane >> 4) & 1) * 8;

    float acc_o[NO][4];                  /* O accumulator, rows g and g + 8 */
    float m[2] = {-INFINITY, -INFINITY}; /* running max (log2 domain) */
    float l[2] = {0.0f, 0.0f};           /* this lane's part of the running row sums */
#pragma unroll
    for (int n = 0; n < NO; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) acc_o[n][e] = 0.0f;

    for (int c = 0; c < nch; ++c) {
        const int ky0 = ky_lo + c * KR, buf = c & 1;
#ifndef ATTN_PLANT_CONSUMED_SYNC
        cp_async_wait<0>(); /* chunk c landed; after the barrier every warp is done with c − 1 */
        __syncthreads();
        if (c + 1 < nch) load_chunk(buf ^ 1, ky0 + KR);
        cp_async_commit();
#else /* planted: the refill of buffer c − 1 issued before the barrier that ends its reads */
        if (c + 1 < nch) load_chunk(buf ^ 1, ky0 + KR);
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();
#endif
        const bf16 *Kw = Kw0 + buf * bufe, *Vw = Vw0 + buf * bufe;

        float rh[KR][2];
#pragma unroll
        for (int r = 0; r < KR; ++r) {
            rh[r][0] = rh_row[0][ky0 + r];
            rh[r][1] = rh_row[1][ky0 + r];
        }

        /* scores: S = Q·K_tileᵀ + RW, 16 × 16 per tile */
        float s[KR][2][4];
#pragma unroll
        for (int r = 0; r < KR; ++r)
#pragma unroll
            for (int ks = 0; ks < KD; ++ks) {
                uint32_t kf[4]; /* {b0, b1} of n-tile 0, {b0, b1} of n-tile 1 */
                ldmatrix_x4(kf, Kw + r * KW * LD + ks * 16);
                if (ks == 0) {
                    mma_bf16_c(s[r][0], qf[0], kf[0], kf[1], rwc[0]);
                    mma_bf16_c(s[r][1], qf[0], kf[2], kf[3], rwc[1]);
                } else {
                    mma_m16n8k16_bf16(s[r][0], qf[ks], kf[0], kf[1]);
                    mma_m16n8k16_bf16(s[r][1], qf[ks], kf[2], kf[3]);
                }
            }

        /* m_new = max(m, max over the chunk of S·log2e + RH): log2e > 0, so the tile's max
         * of S needs one FFMA per row */
        float mx[2] = {m[0], m[1]};
#pragma unroll
        for (int r = 0; r < KR; ++r)
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                const float tm = fmaxf(fmaxf(s[r][0][2 * h], s[r][0][2 * h + 1]),
                                       fmaxf(s[r][1][2 * h], s[r][1][2 * h + 1]));
                mx[h] = fmaxf(mx[h], fmaf(tm, LOG2E, rh[r][h]));
            }
        float alpha[2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
            mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 1));
            mx[h] = fmaxf(mx[h], __shfl_xor_sync(0xffffffffu, mx[h], 2));
            alpha[h] = attn_ex2(m[h] - mx[h]); /* 0 at the first chunk (m = −∞) */
            m[h] = mx[h];
            l[h] *= alpha[h];
        }
        flash_rescale(acc_o, alpha);

        /* P = 2^(S·log2e + RH − m_new), then O += P·V_tile: the C fragments of the tile's two
         * n8 tiles are the A fragment of its 16 keys (mma.cuh) */
#pragma unroll
        for (int r = 0; r < KR; ++r) {
            const float c0 = rh[r][0] - m[0], c1 = rh[r][1] - m[1];
#pragma unroll
            for (int n = 0; n < 2; ++n) {
                s[r][n][0] = attn_ex2(fmaf(s[r][n][0], LOG2E, c0));
                s[r][n][1] = attn_ex2(fmaf(s[r][n][1], LOG2E, c0));
                s[r][n][2] = attn_ex2(fmaf(s[r][n][2], LOG2E, c1));
                s[r][n][3] = attn_ex2(fmaf(s[r][n][3], LOG2E, c1));
                l[0] += s[r][n][0] + s[r][n][1];
                l[1] += s[r][n][2] + s[r][n][3];
            }
            const uint32_t pa[4] = {pack_bf16x2(s[r][0][0], s[r][0][1]),
                                    pack_bf16x2(s[r][0][2], s[r][0][3]),
                                    pack_bf16x2(s[r][1][0], s[r][1][1]),
                                    pack_bf16x2(s[r][1][2], s[r][1][3])};
#pragma unroll
            for (int dp = 0; dp < KD; ++dp) {
                uint32_t vf[4]; /* {b0, b1} of d-tile 2dp, {b0, b1} of d-tile 2dp+1 */
                ldmatrix_x4_trans(vf, Vw + r * KW * LD + dp * 16);
                mma_m16n8k16_bf16(acc_o[2 * dp], pa, vf[0], vf[1]);
                mma_m16n8k16_bf16(acc_o[2 * dp + 1], pa, vf[2], vf[3]);
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
        inv[r] = 1.0f / l[r]; /* l > 0: the query's own pixel is an unmasked key */
    }
    bf16 *Os = Qs + (hg * BS * BS + mb * 16) * LD;
#pragma unroll
    for (int n = 0; n < NO; ++n) {
        *reinterpret_cast<uint32_t *>(Os + g * LD + n * 8 + 2 * t) =
            pack_bf16x2(acc_o[n][0] * inv[0], acc_o[n][1] * inv[0]);
        *reinterpret_cast<uint32_t *>(Os + (g + 8) * LD + n * 8 + 2 * t) =
            pack_bf16x2(acc_o[n][2] * inv[1], acc_o[n][3] * inv[1]);
    }
    __syncwarp();
    bf16 *Oh = O + (size_t)img * H * W * Di + head * D;
#pragma unroll
    for (int k = 0; k < 16 * CPR / 32; ++k) {
        const int c = lane + k * 32, r = c / CPR, c8 = (c % CPR) * 8, i = mb * 16 + r;
        *reinterpret_cast<uint4 *>(Oh + ((y0 + i / BS) * W + x0 + i % BS) * Di + c8) =
            *reinterpret_cast<const uint4 *>(Os + r * LD + c8);
    }
}

/* Heads per CTA (header comment); 0 when not even one head fits. */
static int fused_group(const halo_problem_t *p)
{
    const int MW = fused_mw(p->b);
    int HG = 0;
    for (int hg = 1; hg <= p->Nh; hg++) {
        if (p->Nh % hg != 0 || MW * hg > MAX_WARPS ||
            fused_smem(p->d, p->b, hg).bytes > HALO_SMEM_CAP)
            continue;
        HG = hg;
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
    if (p->b != 4 && p->b != 8) {
        std::snprintf(why, sizeof why, "fused is compiled for block 4 and 8 (block=%d)", p->b);
        return why;
    }
    if (p->b + 2 * p->h > MAX_WN) {
        std::snprintf(why, sizeof why,
                      "fused pads window rows to %d keys: needs block + 2·halo <= %d (block=%d, "
                      "halo=%d)",
                      KW, MAX_WN, p->b, p->h);
        return why;
    }
    const int HG = fused_group(p);
    if (HG == 0) {
        std::snprintf(why, sizeof why,
                      "fused needs %zu B of shared memory for one head (block=%d, d=%d), over %d B",
                      fused_smem(p->d, p->b, 1).bytes, p->b, p->d, HALO_SMEM_CAP);
        return why;
    }
    if ((long long)p->B * (p->Nh / HG) > 65535 || p->H / p->b > 65535)
        return "fused needs B·heads/HG <= 65535 and H/block <= 65535 (grid z, y)";
    return NULL;
}

extern "C" size_t halo_fused_workspace(const halo_problem_t *p)
{
    return halo_proj_workspace(p, sizeof(bf16));
}

template <int D, int BS>
static int halo_fused_launch_t(const halo_problem_t *p, const bf16 *Q, const bf16 *KV,
                               const bf16 *rel_w, const bf16 *rel_h, bf16 *O, cudaStream_t stream)
{
    auto *kernel = halo_fused_kernel<D, BS>;
    static bool smem_attr_set = false; /* beyond 48 KiB needs an opt-in, once per kernel */
    if (!smem_attr_set) {
        ATTN_TRY(cudaFuncSetAttribute(kernel,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, HALO_SMEM_CAP));
        smem_attr_set = true;
    }
    const int HG = fused_group(p), NG = p->Nh / HG;
    const halo_sizes_t z = halo_sizes(p);
    const dim3 grid(z.nbx, z.nby, p->B * NG);
    return ATTN_LAUNCH(kernel, grid, fused_mw(BS) * HG * 32,
                       fused_smem(D, BS, HG).bytes, stream, Q, KV, rel_w, rel_h, O, p->H, p->W,
                       p->h, p->Nh, HG, fastdiv_make((unsigned)NG));
}

template <int D>
static int halo_fused_launch_d(const halo_problem_t *p, const bf16 *Q, const bf16 *KV,
                               const bf16 *rel_w, const bf16 *rel_h, bf16 *O, cudaStream_t stream)
{
    return p->b == 4 ? halo_fused_launch_t<D, 4>(p, Q, KV, rel_w, rel_h, O, stream)
                     : halo_fused_launch_t<D, 8>(p, Q, KV, rel_w, rel_h, O, stream);
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
