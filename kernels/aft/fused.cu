/* aft fused: full only, bf16 storage; num and den in one tensor-core kernel, one pass over the
 * key tiles, with no T × T matrix in global memory:
 *   aft_bf16_project_qkv (QKV bf16 with K stored as K − m), aft_bf16_rowmax (r)   (tensor_core.cu)
 *   aft_fused_kernel  CTA (16 rows t, 64 channels c, batch b), 4 warps of 16 channels each;
 *     per key tile of 16 t': the 128 threads form in shared memory
 *       Ew (16 × 16) = e^{w[t, t'] − r_t}    (from w, on the fly; 0 past T)
 *       Zv (16 × 64) = e^{K−m}·V, Zk (16 × 64) = e^{K−m}   (0 past T or Dh)
 *     all bf16, then every warp accumulates num += Ew·Zv, den += Ew·Zk on tensor cores (wmma,
 *     fp32 accumulators kept in registers across the key loop). Both maxima cancel in num/den.
 *     At the end Y = σ(Q)·num/den (bf16), through a small fp32 staging tile.
 *   aft_bf16_project_out   (tensor_core.cu)
 * Workspace: QKV, Y (bf16), m (B·Dh), r (T), QKV (fp32). */
#include <cmath>
#include <cstdio>
#include <cuda_bf16.h>
#include <mma.h>

#include "aft_common.cuh"
#include "launch.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

#define FU_BT 16               /* rows t per CTA */
#define FU_BK 16               /* keys t' per tile */
#define FU_WARPS 4
#define FU_BC (16 * FU_WARPS)  /* channels per CTA */
#define FU_THREADS (32 * FU_WARPS)

__global__ void __launch_bounds__(FU_THREADS)
aft_fused_kernel(const bf16 *__restrict__ qkv, const bf16 *__restrict__ w,
                 const float *__restrict__ r, bf16 *__restrict__ Y, int T, int Dh, int Tmax)
{
    __shared__ __align__(32) bf16 Ew[FU_BT * FU_BK];
    __shared__ __align__(32) bf16 Zv[FU_BK * FU_BC], Zk[FU_BK * FU_BC];
    __shared__ __align__(32) float St[FU_WARPS][2][16 * 16];
    __shared__ float rs[FU_BT];
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
    const int t0 = blockIdx.x * FU_BT, c0 = blockIdx.y * FU_BC, b = blockIdx.z;
    const int H3 = 3 * Dh;
    const bf16 *QKV = qkv + (size_t)b * T * H3;

    const int tid = (int)threadIdx.x;
    if (tid < FU_BT) rs[tid] = t0 + tid < T ? r[t0 + tid] : 0.f;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> num, den;
    wmma::fill_fragment(num, 0.f);
    wmma::fill_fragment(den, 0.f);
    __syncthreads();

    for (int tp0 = 0; tp0 < T; tp0 += FU_BK) {
        for (int e = threadIdx.x; e < FU_BT * FU_BK; e += FU_THREADS) {
            const int i = e / FU_BK, k = e % FU_BK, t = t0 + i, tp = tp0 + k;
            float v = 0.f;
            if (t < T && tp < T) v = expf(__bfloat162float(w[(size_t)t * Tmax + tp]) - rs[i]);
            Ew[e] = __float2bfloat16(v);
        }
        for (int e = threadIdx.x; e < FU_BK * FU_BC; e += FU_THREADS) {
            const int k = e / FU_BC, cc = e % FU_BC, tp = tp0 + k, c = c0 + cc;
            float ez = 0.f, ev = 0.f;
            if (tp < T && c < Dh) {
                const bf16 *kp = QKV + (size_t)tp * H3 + Dh + c;
                ez = expf(__bfloat162float(kp[0])); /* kp[0] = K − m */
                ev = ez * __bfloat162float(kp[Dh]);
            }
            Zk[e] = __float2bfloat16(ez);
            Zv[e] = __float2bfloat16(ev);
        }
        __syncthreads();
        {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fv, fk;
            wmma::load_matrix_sync(fa, Ew, FU_BK);
            wmma::load_matrix_sync(fv, Zv + warp * 16, FU_BC);
            wmma::load_matrix_sync(fk, Zk + warp * 16, FU_BC);
            wmma::mma_sync(num, fa, fv, num);
            wmma::mma_sync(den, fa, fk, den);
        }
        __syncthreads(); /* Ew, Zv, Zk are overwritten next */
    }

    wmma::store_matrix_sync(St[warp][0], num, 16, wmma::mem_row_major);
    wmma::store_matrix_sync(St[warp][1], den, 16, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < 16 * 16; e += 32) {
        const int i = e / 16, j = e % 16, t = t0 + i, c = c0 + warp * 16 + j;
        if (t >= T || c >= Dh) continue;
        const float q = __bfloat162float(QKV[(size_t)t * H3 + c]);
        Y[((size_t)b * T + t) * Dh + c] =
            __float2bfloat16(aft_sigmoid(q) * (St[warp][0][e] / St[warp][1][e]));
    }
}

typedef struct fused_ws {
    bf16 *qkv, *y;
    float *m, *r, *qkv32;
} fused_ws_t;

static fused_ws_t fused_take(attn_ws_t *w, const aft_problem_t *p)
{
    const size_t BT = (size_t)p->B * p->T;
    fused_ws_t r;
    r.qkv = (bf16 *)attn_ws_take(w, BT * 3 * p->Dh * sizeof(bf16));
    r.y = (bf16 *)attn_ws_take(w, BT * p->Dh * sizeof(bf16));
    r.m = (float *)attn_ws_take(w, (size_t)p->B * p->Dh * sizeof(float));
    r.r = (float *)attn_ws_take(w, (size_t)p->T * sizeof(float));
    r.qkv32 = (float *)attn_ws_take(w, BT * 3 * p->Dh * sizeof(float));
    return r;
}

extern "C" const char *aft_fused_supports(const aft_problem_t *p)
{
    if (p->form != AFT_K_FULL) return "fused implements form 0 (full) only";
    if (p->B > 65535) return "fused: B > 65535 (grid.z)";
    return NULL;
}

extern "C" size_t aft_fused_workspace(const aft_problem_t *p)
{
    if (aft_problem_reason(p) || aft_fused_supports(p)) return 0;
    attn_ws_t w = {NULL, 0};
    fused_take(&w, p);
    return w.used;
}

extern "C" int aft_fused_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                                attn_stream_t stream)
{
    const char *why = aft_problem_reason(p);
    if (!why) why = aft_fused_supports(p);
    if (int e = attn_launch_check(why, ws, "aft_fused_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const fused_ws_t fw = fused_take(&w, p);

    if (int e = aft_bf16_project_qkv(p, t, fw.qkv32, fw.m, fw.qkv, stream)) return e;
    if (int e = aft_bf16_rowmax(p, t->w, fw.r, stream)) return e;
    const dim3 grid(ATTN_CEIL_DIV(p->T, FU_BT), ATTN_CEIL_DIV(p->Dh, FU_BC), p->B);
    const int err = ATTN_LAUNCH(aft_fused_kernel, grid, FU_THREADS, 0, stream,
                                (const bf16 *)fw.qkv, (const bf16 *)t->w, (const float *)fw.r,
                                fw.y, p->T, p->Dh, p->Tmax);
    if (err) return err;
    return aft_bf16_project_out(p, t, fw.y, stream);
}
