/* aft common: the parts every variant shares (declared in aft_common.cuh).
 *
 * cuBLAS is column-major; a row-major (r × c) matrix is the column-major (c × r) one with leading
 * dimension c. With BT = B·T tokens:
 *   QKV (row-major BT × 3Dh) = x·Wqkvᵀ + bqkv: column-major QKVᵀ (3Dh × BT, ld 3Dh) = Wqkv·xᵀ,
 *     Wqkv (row-major 3Dh × D) is column-major D × 3Dh (op T, ld D); x (row-major BT × D) is
 *     column-major D × BT = xᵀ (op N, ld D).
 *   out (row-major BT × D) = Y·Wpᵀ + bp: column-major outᵀ (D × BT, ld D) = Wp·Yᵀ, Wp (row-major
 *     D × Dh) is column-major Dh × D (op T, ld Dh); Y (row-major BT × Dh) column-major Dh × BT
 *     (op N, ld Dh).
 * Biases go in through beta = 1 on a broadcast copy. The cuBLAS handle is the process's one
 * (attn_cublas_handle, kernels/common/attn_kernel.cu), bound to the stream on every call. */
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>

#include "aft_common.cuh"
#include "launch.cuh"

#define AFT_COLMAX_THREADS 128
#define AFT_ROWMAX_THREADS 128 /* 4 warps, one row each */

const char *aft_problem_reason(const aft_problem_t *p)
{
    static thread_local char why[200];
    if (p->B < 1 || p->T < 1 || p->D < 1 || p->Dh < 1 || p->s < 1 || p->Tmax < 1) {
        std::snprintf(why, sizeof why,
                      "aft needs B, T, D, Dh, s, Tmax >= 1 (B=%d T=%d D=%d Dh=%d s=%d Tmax=%d)",
                      p->B, p->T, p->D, p->Dh, p->s, p->Tmax);
        return why;
    }
    if (p->form < 0 || p->form > 2) {
        std::snprintf(why, sizeof why, "aft form=%d is not 0 (full), 1 (simple) or 2 (local)",
                      p->form);
        return why;
    }
    if (p->T > p->Tmax) {
        std::snprintf(why, sizeof why, "aft T=%d is larger than Tmax=%d", p->T, p->Tmax);
        return why;
    }
    const long long BT = (long long)p->B * p->T;
    if (BT * 3 * p->Dh > INT_MAX || BT * p->D > INT_MAX ||
        (long long)p->Tmax * p->Tmax > INT_MAX) {
        std::snprintf(why, sizeof why, "aft sizes overflow int (B·T=%lld, D=%d, Dh=%d, Tmax=%d)",
                      BT, p->D, p->Dh, p->Tmax);
        return why;
    }
    return NULL;
}

aft_common_t aft_common_take(attn_ws_t *w, const aft_problem_t *p)
{
    const size_t BT = (size_t)p->B * p->T;
    aft_common_t c;
    c.qkv = (float *)attn_ws_take(w, BT * 3 * p->Dh * sizeof(float));
    c.y = (float *)attn_ws_take(w, BT * p->Dh * sizeof(float));
    c.m = (float *)attn_ws_take(w, (size_t)p->B * p->Dh * sizeof(float));
    c.r = (float *)attn_ws_take(w, (size_t)p->T * sizeof(float));
    return c;
}

int aft_project_qkv(const aft_problem_t *p, const aft_tensors_t *t, float *qkv,
                    cudaStream_t stream)
{
    const int BT = p->B * p->T, H3 = 3 * p->Dh;
    if (int e = attn_bias_rows(qkv, (const float *)t->bqkv, H3, BT, stream)) return e;
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f;
    /* QKVᵀ (3Dh × BT) = Wqkv·xᵀ + QKVᵀ */
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, H3, BT, p->D, &one, t->wqkv,
                                 CUDA_R_32F, p->D, t->x, CUDA_R_32F, p->D, &one, qkv, CUDA_R_32F,
                                 H3, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

int aft_project_out(const aft_problem_t *p, const aft_tensors_t *t, const float *y,
                    cudaStream_t stream)
{
    const int BT = p->B * p->T;
    if (int e = attn_bias_rows((float *)t->out, (const float *)t->bp, p->D, BT, stream))
        return e;
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f;
    /* outᵀ (D × BT) = Wp·Yᵀ + outᵀ */
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, p->D, BT, p->Dh, &one, t->wp,
                                 CUDA_R_32F, p->Dh, y, CUDA_R_32F, p->Dh, &one, t->out,
                                 CUDA_R_32F, p->D, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* One thread per (b, c): m = max over t of K[b, t, c]; consecutive threads read consecutive
 * channels of one token (coalesced). */
__global__ void __launch_bounds__(AFT_COLMAX_THREADS)
aft_colmax_kernel(const float *__restrict__ qkv, float *__restrict__ m, int B, int T, int Dh)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * Dh) return;
    const int b = i / Dh, c = i % Dh;
    const float *K = qkv + (size_t)b * T * 3 * Dh + Dh + c;
    float mx = -INFINITY;
    for (int t = 0; t < T; t++) mx = fmaxf(mx, K[(size_t)t * 3 * Dh]);
    m[i] = mx;
}

int aft_colmax(const aft_problem_t *p, const float *qkv, float *m, cudaStream_t stream)
{
    const int n = p->B * p->Dh;
    return ATTN_LAUNCH(aft_colmax_kernel, ATTN_CEIL_DIV(n, AFT_COLMAX_THREADS), AFT_COLMAX_THREADS,
                       0, stream, qkv, m, p->B, p->T, p->Dh);
}

/* One warp per row t: r[t] = max over t' < T of w'[t, t'] (lanes stride t', then a shuffle
 * reduction). The same for every batch, so computed once per launch. */
__global__ void __launch_bounds__(AFT_ROWMAX_THREADS)
aft_rowmax_kernel(const float *__restrict__ w, float *__restrict__ r, int T, int Tmax, int form,
                  int s)
{
    const int t = blockIdx.x * (AFT_ROWMAX_THREADS / 32) + threadIdx.x / 32;
    const int lane = threadIdx.x % 32;
    if (t >= T) return; /* whole warps leave together: T is per warp */
    float mx = -INFINITY;
    for (int tp = lane; tp < T; tp += 32) mx = fmaxf(mx, aft_bias_dev(w, Tmax, form, s, t, tp));
    for (int off = 16; off > 0; off /= 2) mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));
    if (lane == 0) r[t] = mx;
}

int aft_rowmax(const aft_problem_t *p, const float *w, float *r, cudaStream_t stream)
{
    const int rows_per_block = AFT_ROWMAX_THREADS / 32;
    return ATTN_LAUNCH(aft_rowmax_kernel, ATTN_CEIL_DIV(p->T, rows_per_block), AFT_ROWMAX_THREADS,
                       0, stream, w, r, p->T, p->Tmax, p->form, p->s);
}
