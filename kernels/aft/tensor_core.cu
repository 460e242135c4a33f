/* aft tensor-core: full only, bf16 storage, the two GEMMs of the contract on tensor cores (our own wmma
 * kernel, bf16 operands, fp32 accumulate), unfused like the cublas baseline:
 *   aft_bf16_project_qkv    QKV (B·T, 3·Dh) = x·Wqkvᵀ + bqkv in fp32 (cuBLAS, CUDA_R_16BF
 *                           operands, fp32 output and compute; bias broadcast then beta = 1),
 *                           m (B·Dh) = max over t of K (aft_colmax, fp32), then Q, K − m and V
 *                           rounded to bf16 (K − m taken in fp32 before the rounding: at
 *                           K ≈ 100 a bf16 K would be off by up to 0.25 in the exponent)
 *   aft_bf16_rowmax         r (T) = max over t' of w[t, ·] (fp32)
 *   aft_tc_ew_kernel        E (Tp × Tp) bf16 = e^{w[t, t'] − r_t}, 0 past T (Tp = T rounded up
 *                           to 16), shared by every batch
 *   aft_tc_z_kernel         Z (Tp × Np) bf16: Z[t', b·2Dh + c] = e^{K−m}·V, Z[t', b·2Dh + Dh + c]
 *                           = e^{K−m}; 0 past T and past 2·B·Dh (Np = 2·B·Dh rounded up to 16)
 *   aft_tc_gemm_kernel      N (Tp × Np) fp32 = E·Z: both GEMMs (num and den) and every batch in
 *                           one wmma GEMM; a CTA of 4 warps owns 16 rows × 64 columns, the E
 *                           tile (16 × 16) staged once in shared memory per k step for the 4 warps
 *   aft_tc_combine_kernel   Y (B·T, Dh) bf16 = σ(Q)·N[t, b·2Dh + c] / N[t, b·2Dh + Dh + c]
 *   aft_bf16_project_out    out (B·T, D) bf16 = Y·Wpᵀ + bp (cuBLAS, as above)
 * The bf16 helpers (aft_bf16_*) are shared with fused.cu (declared in aft_common.cuh).
 * Workspace: QKV, Y (bf16), m, r (fp32), E, Z (bf16), N (fp32), QKV in fp32. */
#include <climits>
#include <cmath>
#include <cstdio>
#include <cuda_bf16.h>
#include <mma.h>

#include "aft_common.cuh"
#include "launch.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

#define TC_THREADS 256
#define TC_GEMM_WARPS 4
#define TC_ROWMAX_THREADS 128

static inline int aft_pad16(int n) { return (n + 15) & ~15; }

/* dst (rows, n) = bias[c] in every row, bf16; grid-stride. */
__global__ void __launch_bounds__(TC_THREADS)
aft_bf16_bcast_kernel(bf16 *__restrict__ dst, const bf16 *__restrict__ bias, int n,
                      long long total)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x)
        dst[e] = bias[e % n];
}

static int aft_bf16_bcast(bf16 *dst, const bf16 *bias, int n, long long rows,
                          cudaStream_t stream)
{
    const long long total = rows * n;
    const unsigned grid = attn_grid_stride(total, TC_THREADS);
    return ATTN_LAUNCH(aft_bf16_bcast_kernel, grid, TC_THREADS, 0, stream, dst, bias, n, total);
}

/* dst (rows, n) = bias[c] in every row, fp32; grid-stride. */
__global__ void __launch_bounds__(TC_THREADS)
aft_bf16_bcast_f32_kernel(float *__restrict__ dst, const bf16 *__restrict__ bias, int n,
                          long long total)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x)
        dst[e] = __bfloat162float(bias[e % n]);
}

/* qkv (B·T, 3·Dh) bf16 = Q, K − m, V of qkv32; grid-stride. K − m is exact in fp32 when K and
 * m are within a factor 2 of each other (Sterbenz; e.g. K ≈ 100), else off by u_f32·|K − m|,
 * and then rounded once: a relative error u_bf16 of K − m (|K − m| a few units for the weights
 * that count), not of K. */
__global__ void __launch_bounds__(TC_THREADS)
aft_bf16_shift_kernel(const float *__restrict__ qkv32, const float *__restrict__ m,
                      bf16 *__restrict__ qkv, int T, int Dh, long long total)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < total;
         e += (long long)gridDim.x * blockDim.x) {
        const int j = (int)(e % (3 * Dh));
        const int b = (int)(e / (3 * Dh) / T);
        float v = qkv32[e];
        if (j >= Dh && j < 2 * Dh) v -= m[b * Dh + j - Dh];
        qkv[e] = __float2bfloat16(v);
    }
}

/* As aft_project_qkv (common.cu, the same column-major views) with bf16 operands and fp32
 * output into qkv32, m from it (aft_colmax), then qkv = bf16(Q, K − m, V). */
int aft_bf16_project_qkv(const aft_problem_t *p, const aft_tensors_t *t, float *qkv32, float *m,
                         void *qkv, cudaStream_t stream)
{
    const int BT = p->B * p->T, H3 = 3 * p->Dh;
    const long long total = (long long)BT * H3;
    const unsigned grid = attn_grid_stride(total, TC_THREADS);
    int err = ATTN_LAUNCH(aft_bf16_bcast_f32_kernel, grid, TC_THREADS, 0, stream, qkv32,
                          (const bf16 *)t->bqkv, H3, total);
    if (err) return err;
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f;
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, H3, BT, p->D, &one, t->wqkv,
                                 CUDA_R_16BF, p->D, t->x, CUDA_R_16BF, p->D, &one, qkv32,
                                 CUDA_R_32F, H3, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (int e = aft_colmax(p, qkv32, m, stream)) return e;
    return ATTN_LAUNCH(aft_bf16_shift_kernel, grid, TC_THREADS, 0, stream,
                       (const float *)qkv32, (const float *)m, (bf16 *)qkv, p->T, p->Dh, total);
}

/* As aft_project_out (common.cu), in bf16. */
int aft_bf16_project_out(const aft_problem_t *p, const aft_tensors_t *t, const void *y,
                         cudaStream_t stream)
{
    const int BT = p->B * p->T;
    if (int e = aft_bf16_bcast((bf16 *)t->out, (const bf16 *)t->bp, p->D, BT, stream)) return e;
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f;
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, p->D, BT, p->Dh, &one, t->wp,
                                 CUDA_R_16BF, p->Dh, y, CUDA_R_16BF, p->Dh, &one, t->out,
                                 CUDA_R_16BF, p->D, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* One warp per row t (full form: w' = w), as aft_rowmax_kernel. */
__global__ void __launch_bounds__(TC_ROWMAX_THREADS)
aft_bf16_rowmax_kernel(const bf16 *__restrict__ w, float *__restrict__ r, int T, int Tmax)
{
    const int t = blockIdx.x * (TC_ROWMAX_THREADS / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (t >= T) return; /* whole warps leave together */
    float mx = -INFINITY;
    for (int tp = lane; tp < T; tp += 32) mx = fmaxf(mx, __bfloat162float(w[(size_t)t * Tmax + tp]));
    for (int off = 16; off > 0; off /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    if (lane == 0) r[t] = mx;
}

int aft_bf16_rowmax(const aft_problem_t *p, const void *w, float *r, cudaStream_t stream)
{
    const int rows_per_block = TC_ROWMAX_THREADS / 32;
    return ATTN_LAUNCH(aft_bf16_rowmax_kernel, ATTN_CEIL_DIV(p->T, rows_per_block),
                       TC_ROWMAX_THREADS, 0, stream, (const bf16 *)w, r, p->T, p->Tmax);
}

/* E (Tp × Tp), one thread per element. */
__global__ void __launch_bounds__(TC_THREADS)
aft_tc_ew_kernel(const bf16 *__restrict__ w, const float *__restrict__ r, bf16 *__restrict__ E,
                 int T, int Tp, int Tmax)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)Tp * Tp) return;
    const int t = (int)(i / Tp), tp = (int)(i % Tp);
    float e = 0.f;
    if (t < T && tp < T) e = expf(__bfloat162float(w[(size_t)t * Tmax + tp]) - r[t]);
    E[i] = __float2bfloat16(e);
}

/* Z (Tp × Np), one thread per (t', j) with j < Np/2-ish: thread (t', b, c) writes both halves;
 * the padding columns [2·B·Dh, Np) and rows [T, Tp) are zeroed by the same grid. qkv holds
 * K − m (aft_bf16_project_qkv). */
__global__ void __launch_bounds__(TC_THREADS)
aft_tc_z_kernel(const bf16 *__restrict__ qkv, bf16 *__restrict__ Z, int B, int T, int Tp, int Dh,
                int Np)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)Tp * Np) return;
    const int tp = (int)(i / Np), j = (int)(i % Np);
    float z = 0.f;
    if (tp < T && j < 2 * B * Dh) {
        const int b = j / (2 * Dh), jj = j % (2 * Dh), c = jj % Dh;
        const bf16 *kp = qkv + ((size_t)b * T + tp) * 3 * Dh + Dh + c;
        const float e = expf(__bfloat162float(kp[0]));
        z = jj < Dh ? e * __bfloat162float(kp[Dh]) : e;
    }
    Z[i] = __float2bfloat16(z);
}

/* N (Tp × Np) = E (Tp × Tp)·Z (Tp × Np). CTA (column group of 64, row tile of 16); warp w owns
 * columns 64·x + 16·w. Tp and Np are multiples of 16; a warp whose columns are past Np idles
 * (but still joins the barriers). */
__global__ void __launch_bounds__(32 * TC_GEMM_WARPS)
aft_tc_gemm_kernel(const bf16 *__restrict__ E, const bf16 *__restrict__ Z, float *__restrict__ N,
                   int Tp, int Np)
{
    __shared__ __align__(32) bf16 As[16 * 16];
    const int warp = threadIdx.x / 32;
    const int row0 = blockIdx.y * 16, col0 = (blockIdx.x * TC_GEMM_WARPS + warp) * 16;
    const bool live = col0 < Np;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.f);
    for (int k0 = 0; k0 < Tp; k0 += 16) {
        for (int e = threadIdx.x; e < 256; e += 32 * TC_GEMM_WARPS)
            As[e] = E[(size_t)(row0 + e / 16) * Tp + k0 + e % 16];
        __syncthreads();
        if (live) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
            wmma::load_matrix_sync(fa, As, 16);
            wmma::load_matrix_sync(fb, Z + (size_t)k0 * Np + col0, Np);
            wmma::mma_sync(acc, fa, fb, acc);
        }
        __syncthreads(); /* As is overwritten next */
    }
    if (live) wmma::store_matrix_sync(N + (size_t)row0 * Np + col0, acc, Np, wmma::mem_row_major);
}

/* One thread per (b, t, c). */
__global__ void __launch_bounds__(TC_THREADS)
aft_tc_combine_kernel(const bf16 *__restrict__ qkv, const float *__restrict__ N,
                      bf16 *__restrict__ Y, int B, int T, int Dh, int Np)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)B * T * Dh) return;
    const int c = (int)(i % Dh), t = (int)((i / Dh) % T), b = (int)(i / ((long long)Dh * T));
    const float *n = N + (size_t)t * Np + (size_t)b * 2 * Dh + c;
    const float q = __bfloat162float(qkv[((size_t)b * T + t) * 3 * Dh + c]);
    Y[i] = __float2bfloat16(aft_sigmoid(q) * (n[0] / n[Dh]));
}

typedef struct tc_ws {
    bf16 *qkv, *y, *E, *Z;
    float *m, *r, *N, *qkv32;
} tc_ws_t;

static tc_ws_t tc_take(attn_ws_t *w, const aft_problem_t *p)
{
    const size_t BT = (size_t)p->B * p->T, Tp = aft_pad16(p->T);
    const size_t Np = aft_pad16(2 * p->B * p->Dh);
    tc_ws_t r;
    r.qkv = (bf16 *)attn_ws_take(w, BT * 3 * p->Dh * sizeof(bf16));
    r.y = (bf16 *)attn_ws_take(w, BT * p->Dh * sizeof(bf16));
    r.m = (float *)attn_ws_take(w, (size_t)p->B * p->Dh * sizeof(float));
    r.r = (float *)attn_ws_take(w, (size_t)p->T * sizeof(float));
    r.E = (bf16 *)attn_ws_take(w, Tp * Tp * sizeof(bf16));
    r.Z = (bf16 *)attn_ws_take(w, Tp * Np * sizeof(bf16));
    r.N = (float *)attn_ws_take(w, Tp * Np * sizeof(float));
    r.qkv32 = (float *)attn_ws_take(w, BT * 3 * p->Dh * sizeof(float));
    return r;
}

extern "C" const char *aft_tensor_core_supports(const aft_problem_t *p)
{
    if (p->form != AFT_K_FULL) return "tensor-core implements form 0 (full) only";
    if ((long long)p->B * 2 * p->Dh > INT_MAX / 2) return "tensor-core: 2·B·Dh overflows int";
    const long long Tp = aft_pad16(p->T), Np = aft_pad16(2 * p->B * p->Dh);
    if (ATTN_CEIL_DIV(Tp * Np, (long long)TC_THREADS) > 0x7fffffffLL)
        return "tensor-core: T·2·B·Dh is too large for one grid";
    return NULL;
}

extern "C" size_t aft_tensor_core_workspace(const aft_problem_t *p)
{
    if (aft_problem_reason(p) || aft_tensor_core_supports(p)) return 0;
    attn_ws_t w = {NULL, 0};
    tc_take(&w, p);
    return w.used;
}

static unsigned blocks_of(long long n) { return (unsigned)ATTN_CEIL_DIV(n, (long long)TC_THREADS); }

extern "C" int aft_tensor_core_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                                      attn_stream_t stream)
{
    const char *why = aft_problem_reason(p);
    if (!why) why = aft_tensor_core_supports(p);
    if (int e = attn_launch_check(why, ws, "aft_tensor_core_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const tc_ws_t tw = tc_take(&w, p);
    const int Tp = aft_pad16(p->T), Np = aft_pad16(2 * p->B * p->Dh);
    const long long btd = (long long)p->B * p->T * p->Dh;
    if (ATTN_CEIL_DIV(btd, (long long)TC_THREADS) > 0x7fffffffLL || Tp / 16 > 65535)
        return (int)cudaErrorInvalidConfiguration;

    if (int e = aft_bf16_project_qkv(p, t, tw.qkv32, tw.m, tw.qkv, stream)) return e;
    if (int e = aft_bf16_rowmax(p, t->w, tw.r, stream)) return e;
    int err = ATTN_LAUNCH(aft_tc_ew_kernel, blocks_of((long long)Tp * Tp), TC_THREADS, 0, stream,
                          (const bf16 *)t->w, (const float *)tw.r, tw.E, p->T, Tp, p->Tmax);
    if (err) return err;
    err = ATTN_LAUNCH(aft_tc_z_kernel, blocks_of((long long)Tp * Np), TC_THREADS, 0, stream,
                      (const bf16 *)tw.qkv, tw.Z, p->B, p->T, Tp, p->Dh, Np);
    if (err) return err;
    const dim3 grid(ATTN_CEIL_DIV(Np, 16 * TC_GEMM_WARPS), Tp / 16);
    err = ATTN_LAUNCH(aft_tc_gemm_kernel, grid, 32 * TC_GEMM_WARPS, 0, stream,
                      (const bf16 *)tw.E, (const bf16 *)tw.Z, tw.N, Tp, Np);
    if (err) return err;
    err = ATTN_LAUNCH(aft_tc_combine_kernel, blocks_of(btd), TC_THREADS, 0, stream,
                      (const bf16 *)tw.qkv, (const float *)tw.N, tw.y, p->B, p->T, p->Dh, Np);
    if (err) return err;
    return aft_bf16_project_out(p, t, tw.y, stream);
}
