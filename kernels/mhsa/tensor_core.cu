/* mhsa tensor-core variants: unfused attention on WMMA (16x16x16 fragments of E = bf16 or f16,
 * fp32 accumulate); the kernels are templated on the element type E, one row per type.
 *
 *   1. mhsa_tensor_core_qk_kernel<E>  S = Q·Kᵀ, raw (unscaled) fp32, into the workspace
 *   2. mhsa_softmax_bf16 / _f16       P = masked softmax(scale·S), E, into the workspace
 *   3. mhsa_tensor_core_pv_kernel<E>  O = P·V, fp32 accumulate, E out
 *
 * Both GEMM kernels are the same shape: a CTA of 4 warps computes a 64x64 output tile, each warp a
 * 32x32 quarter (2x2 WMMA accumulators); operand tiles are staged in shared memory, zero-filled
 * where they fall outside the matrices, so any Nq, Nk >= 1 works; the result goes back through
 * shared memory and only in-range elements are stored. d must be a multiple of 16 (the WMMA k
 * step over d, and 16-byte vector loads of Q, K, V rows) and at most 256.
 *
 * Grouped K/V heads: the G = H/Hkv query heads of K/V head g are G·Nq consecutive rows of Q, of
 * S and P, and of O, so both GEMM kernels run as if there were Hkv heads of G·Nq query rows;
 * the softmax sees the real heads and rows.
 * Workspace: S (B·H·Nq·Nk fp32) then P (B·H·Nq·Nk E), each region 256-byte aligned. */
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include "bf16.cuh"
#include "launch.cuh"
#include "mhsa_kernels.h"
#include "mhsa_softmax.cuh"
#include "workspace.cuh"

using namespace nvcuda;

namespace {

constexpr int TILE = 64;          /* output tile: TILE x TILE per CTA */
constexpr int BK = 64;            /* reduction (k) chunk staged per step */
constexpr int THREADS = 128;      /* 4 warps, 2x2 over the output tile */
constexpr int LDA = BK + 8;       /* 16-bit row pitch, 144 B: keeps WMMA loads off one bank group */
constexpr int LDB = TILE + 8;     /* pitch of the P·V B tile (rows = keys, cols = d) */
constexpr int LDC = TILE + 4;     /* fp32 pitch of the staged result */

/* Operand tiles and the staged result are never live together, so they share storage.
 * Every WMMA pointer below is a multiple of 32 bytes from the base (256-bit alignment rule). */
template <typename E>
union TcSmem {
    struct {
        E a[TILE][LDA];
        E b[TILE][LDB];
    } in;
    float c[TILE][LDC];
};
static_assert(LDA == LDB, "both operand tiles use the same pitch");
static_assert(sizeof(TcSmem<__nv_bfloat16>) <= 48 * 1024 && sizeof(TcSmem<__half>) <= 48 * 1024,
              "static shared memory limit");

/* Store a CTA's 64x64 accumulator quarter-tiles into smem.c (after the operands are dead). */
template <typename E>
__device__ __forceinline__ void stage_acc(TcSmem<E> &sm,
                                          wmma::fragment<wmma::accumulator, 16, 16, 16, float> (&acc)[2][2],
                                          int wm, int wn)
{
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j)
            wmma::store_matrix_sync(&sm.c[wm * 32 + i * 16][wn * 32 + j * 16], acc[i][j], LDC,
                                    wmma::mem_row_major);
}

} // namespace

/* S[b,h] = Q[b,h]·K[b,h]ᵀ, tile (mt, nt) of the Nq x Nk matrix; grid (tiles_m·tiles_n, H, B). */
template <typename E>
__global__ void __launch_bounds__(THREADS)
mhsa_tensor_core_qk_kernel(const E *__restrict__ Q, const E *__restrict__ K,
                           float *__restrict__ S, int H, int Nq, int Nk, int d)
{
    __shared__ __align__(128) TcSmem<E> sm;

    const int tiles_n = (Nk + TILE - 1) / TILE;
    const int mt = blockIdx.x / tiles_n, nt = blockIdx.x % tiles_n;
    const size_t bh = (size_t)blockIdx.z * H + blockIdx.y;
    const E *Qbh = Q + bh * Nq * d;
    const E *Kbh = K + bh * Nk * d;
    float *Sbh = S + bh * Nq * Nk;
    const int row0 = mt * TILE, col0 = nt * TILE; /* query rows, key columns of this tile */

    const int tid = threadIdx.x, warp = tid >> 5;
    const int wm = warp >> 1, wn = warp & 1;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < d; k0 += BK) {
        const int kw = min(BK, d - k0); /* multiple of 16 */
        const int cpr = kw / 8;         /* 16-byte chunks per row */

        /* load tile: Q rows row0.. and K rows col0.., columns k0..k0+kw; out-of-range rows = 0 */
        for (int c = tid; c < TILE * cpr; c += THREADS) {
            const int r = c / cpr, cc = (c % cpr) * 8;
            uint4 qv = make_uint4(0, 0, 0, 0), kv = make_uint4(0, 0, 0, 0);
            if (row0 + r < Nq)
                qv = *reinterpret_cast<const uint4 *>(Qbh + (size_t)(row0 + r) * d + k0 + cc);
            if (col0 + r < Nk)
                kv = *reinterpret_cast<const uint4 *>(Kbh + (size_t)(col0 + r) * d + k0 + cc);
            *reinterpret_cast<uint4 *>(&sm.in.a[r][cc]) = qv;
            *reinterpret_cast<uint4 *>(&sm.in.b[r][cc]) = kv;
        }
        __syncthreads();

        /* scores: acc += Q_tile·K_tileᵀ; K stored key-major is Kᵀ in column-major order */
        for (int kk = 0; kk < kw; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, E, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, E, wmma::col_major> fb[2];
#pragma unroll
            for (int i = 0; i < 2; ++i)
                wmma::load_matrix_sync(fa[i], &sm.in.a[wm * 32 + i * 16][kk], LDA);
#pragma unroll
            for (int j = 0; j < 2; ++j)
                wmma::load_matrix_sync(fb[j], &sm.in.b[wn * 32 + j * 16][kk], LDB);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        __syncthreads(); /* operands consumed before the next chunk (or the staging) overwrites */
    }

    /* write back: stage through shared memory, store only rows < Nq, cols < Nk */
    stage_acc(sm, acc, wm, wn);
    __syncthreads();
    for (int e = tid; e < TILE * TILE; e += THREADS) {
        const int r = e / TILE, c = e % TILE;
        if (row0 + r < Nq && col0 + c < Nk) Sbh[(size_t)(row0 + r) * Nk + col0 + c] = sm.c[r][c];
    }
}

/* O[b,h] = P[b,h]·V[b,h], tile (mt, nt) of the Nq x d output; grid (tiles_m·tiles_d, H, B). */
template <typename E>
__global__ void __launch_bounds__(THREADS)
mhsa_tensor_core_pv_kernel(const E *__restrict__ P, const E *__restrict__ V,
                           E *__restrict__ O, int H, int Nq, int Nk, int d)
{
    __shared__ __align__(128) TcSmem<E> sm;

    const int tiles_n = (d + TILE - 1) / TILE;
    const int mt = blockIdx.x / tiles_n, nt = blockIdx.x % tiles_n;
    const size_t bh = (size_t)blockIdx.z * H + blockIdx.y;
    const E *Pbh = P + bh * Nq * Nk;
    const E *Vbh = V + bh * Nk * d;
    E *Obh = O + bh * Nq * d;
    const int row0 = mt * TILE, col0 = nt * TILE; /* query rows, head-dim columns of this tile */

    const int tid = threadIdx.x, warp = tid >> 5;
    const int wm = warp >> 1, wn = warp & 1;
    /* P rows are Nk elements apart: 16-byte loads only when every row start is 16-byte aligned */
    const bool p_vec = (Nk % 8) == 0;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

    for (int k0 = 0; k0 < Nk; k0 += BK) {
        /* load tile: P[row0.., k0..] (zero past Nq or Nk), V[k0.., col0..] (zero past Nk or d).
         * Zeroing the key tail in both operands keeps 0·garbage out of the sum. */
        if (p_vec) {
            for (int c = tid; c < TILE * (BK / 8); c += THREADS) {
                const int r = c / (BK / 8), cc = (c % (BK / 8)) * 8;
                uint4 pv = make_uint4(0, 0, 0, 0);
                if (row0 + r < Nq && k0 + cc < Nk) /* Nk % 8 == 0: the chunk is all in or all out */
                    pv = *reinterpret_cast<const uint4 *>(Pbh + (size_t)(row0 + r) * Nk + k0 + cc);
                *reinterpret_cast<uint4 *>(&sm.in.a[r][cc]) = pv;
            }
        } else {
            for (int c = tid; c < TILE * BK; c += THREADS) {
                const int r = c / BK, cc = c % BK;
                E pv = E(0.0f);
                if (row0 + r < Nq && k0 + cc < Nk) pv = Pbh[(size_t)(row0 + r) * Nk + k0 + cc];
                sm.in.a[r][cc] = pv;
            }
        }
        for (int c = tid; c < BK * (TILE / 8); c += THREADS) {
            const int r = c / (TILE / 8), cc = (c % (TILE / 8)) * 8;
            uint4 vv = make_uint4(0, 0, 0, 0);
            if (k0 + r < Nk && col0 + cc < d) /* d % 16 == 0: the chunk is all in or all out */
                vv = *reinterpret_cast<const uint4 *>(Vbh + (size_t)(k0 + r) * d + col0 + cc);
            *reinterpret_cast<uint4 *>(&sm.in.b[r][cc]) = vv;
        }
        __syncthreads();

        /* accumulate: acc += P_tile·V_tile (both row-major) */
#pragma unroll
        for (int kk = 0; kk < BK; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, E, wmma::row_major> fa[2];
            wmma::fragment<wmma::matrix_b, 16, 16, 16, E, wmma::row_major> fb[2];
#pragma unroll
            for (int i = 0; i < 2; ++i)
                wmma::load_matrix_sync(fa[i], &sm.in.a[wm * 32 + i * 16][kk], LDA);
#pragma unroll
            for (int j = 0; j < 2; ++j)
                wmma::load_matrix_sync(fb[j], &sm.in.b[kk][wn * 32 + j * 16], LDB);
#pragma unroll
            for (int i = 0; i < 2; ++i)
#pragma unroll
                for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
        }
        __syncthreads();
    }

    /* write back: stage, convert to E (rounded to nearest), store rows < Nq, cols < d */
    stage_acc(sm, acc, wm, wn);
    __syncthreads();
    for (int e = tid; e < TILE * TILE; e += THREADS) {
        const int r = e / TILE, c = e % TILE;
        if (row0 + r < Nq && col0 + c < d)
            attn_st(Obh, (size_t)(row0 + r) * d + col0 + c, sm.c[r][c]);
    }
}

static size_t tc_elems(const mhsa_problem_t *p)
{
    return (size_t)p->B * p->H * p->Nq * p->Nk;
}

extern "C" const char *mhsa_tensor_core_supports(const mhsa_problem_t *p)
{
    static thread_local char why[96];
    if (p->B < 1 || p->H < 1 || p->Nq < 1 || p->Nk < 1 || p->d < 1) return "tensor-core needs B, H, Nq, Nk, d >= 1";
    if (p->d % 16 != 0) {
        std::snprintf(why, sizeof why, "tensor-core needs d %% 16 == 0 (d=%d)", p->d);
        return why;
    }
    if (p->d > 256) {
        std::snprintf(why, sizeof why, "tensor-core needs d <= 256 (d=%d)", p->d);
        return why;
    }
    if (p->B > 65535 || p->Hkv > 65535) return "tensor-core needs B, Hkv <= 65535 (grid y/z)";
    return NULL;
}

extern "C" size_t mhsa_tensor_core_workspace(const mhsa_problem_t *p)
{
    const size_t n = tc_elems(p);
    return attn_align256(n * sizeof(float)) + attn_align256(n * 2); /* P: 16-bit, either type */
}

/* The P of each element type: the softmax that writes it. */
static int tc_softmax(const mhsa_problem_t *p, const float *S, __nv_bfloat16 *P,
                      attn_stream_t stream)
{
    return mhsa_softmax_bf16(p, S, P, stream);
}
static int tc_softmax(const mhsa_problem_t *p, const float *S, __half *P, attn_stream_t stream)
{
    return mhsa_softmax_f16(p, S, P, stream);
}

template <typename E>
static int tensor_core_launch(const char *who, const mhsa_problem_t *p, const mhsa_tensors_t *t,
                              void *ws, attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    if (int e = attn_refuse(mhsa_tensor_core_supports(p), who)) return e;
    if (ws == NULL) {
        std::fprintf(stderr, "%s: workspace is NULL\n", who);
        return (int)cudaErrorInvalidValue;
    }
    /* 16-byte vector loads of Q/K/V rows (d % 16 == 0 keeps every row start aligned) */
    if (int e = attn_require_align16((uintptr_t)q | (uintptr_t)k | (uintptr_t)v, "q, k, v", who))
        return e;
    const E *Q = static_cast<const E *>(q);
    const E *K = static_cast<const E *>(k);
    const E *V = static_cast<const E *>(v);
    E *O = static_cast<E *>(o);
    float *S = static_cast<float *>(ws);
    E *P = reinterpret_cast<E *>(static_cast<char *>(ws) +
                                 attn_align256(tc_elems(p) * sizeof(float)));

    const int rows = p->H / p->Hkv * p->Nq; /* query rows per K/V head */
    const int tiles_m = ATTN_CEIL_DIV(rows, TILE);
    const dim3 grid_s(tiles_m * ATTN_CEIL_DIV(p->Nk, TILE), p->Hkv, p->B);
    int err = ATTN_LAUNCH(mhsa_tensor_core_qk_kernel<E>, grid_s, THREADS, 0, stream, Q, K, S,
                          p->Hkv, rows, p->Nk, p->d);
    if (err) return err;

    err = tc_softmax(p, S, P, stream);
    if (err) return err;

    const dim3 grid_o(tiles_m * ATTN_CEIL_DIV(p->d, TILE), p->Hkv, p->B);
    return ATTN_LAUNCH(mhsa_tensor_core_pv_kernel<E>, grid_o, THREADS, 0, stream, P, V, O, p->Hkv,
                       rows, p->Nk, p->d);
}

extern "C" int mhsa_tensor_core_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                       attn_stream_t stream)
{
    return tensor_core_launch<__nv_bfloat16>("mhsa_tensor_core_launch", p, t, ws, stream);
}

extern "C" int mhsa_tensor_core_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t,
                                           void *ws, attn_stream_t stream)
{
    return tensor_core_launch<__half>("mhsa_tensor_core_f16_launch", p, t, ws, stream);
}
