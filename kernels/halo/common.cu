/* halo common: the parts every variant shares (declared in halo_common.cuh).
 *
 *   halo_problem_reason          problem checks
 *   halo_proj_take               the workspace: Q, KV, O first, then each variant's own regions
 *   halo_project_qkv             the input projections, two strided-batched GEMMs over the images
 *   halo_bias_kernel<T, VEC>     y[b, c, :, :] = bo[c], the broadcast the output GEMM adds onto
 *   halo_project_out             bias broadcast, then y += Wo·Oᵀ (one GEMM, beta = 1)
 *
 * cuBLAS is column-major; a row-major (r × c) matrix is the column-major (c × r) one with leading
 * dimension c. Per image b:
 *   Q_b (HW × Di, row-major) = (Wq·x_b)ᵀ: column-major Q_bᵀ (Di × HW, ld Di) = Wq·x_b, where Wq
 *     (row-major Di × C) is the column-major C × Di matrix transposed (op T, ld C) and x_b
 *     (row-major C × HW) the column-major HW × C matrix transposed (op T, ld HW). d^-½ is alpha.
 *   KV_b the same with Wkv (2·Di × C), alpha = 1.
 *   y_b (C × HW, row-major) = Wo·O_bᵀ + bo: column-major y_bᵀ (HW × C, ld HW) = O_b·Woᵀ, where O_b
 *     (row-major HW × Di) is the column-major Di × HW matrix transposed (op T, ld Di) and Woᵀ is
 *     the row-major C × Di Wo read as column-major Di × C (op N, ld Di).
 * The bias goes in through beta = 1 on a broadcast copy, so the bf16 y is rounded once, after
 * the bias is added in fp32.
 *
 * The cuBLAS handle is the process's one (attn_cublas_handle, kernels/common/attn_kernel.cu),
 * bound to the stream on every call; not thread-safe: launch from one host thread. */
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cuda_bf16.h>

#include "halo_common.cuh"
#include "launch.cuh"

#define HALO_BIAS_THREADS 256

const char *halo_problem_reason(const halo_problem_t *p)
{
    static thread_local char why[160];
    if (p->B < 1 || p->C < 1 || p->H < 1 || p->W < 1 || p->b < 1 || p->Nh < 1 || p->d < 1) {
        std::snprintf(why, sizeof why,
                      "halo needs B, C, H, W, b, Nh, d >= 1 (B=%d C=%d H=%d W=%d b=%d Nh=%d d=%d)",
                      p->B, p->C, p->H, p->W, p->b, p->Nh, p->d);
        return why;
    }
    if (p->h < 0) {
        std::snprintf(why, sizeof why, "halo needs h >= 0 (h=%d)", p->h);
        return why;
    }
    if (p->H % p->b != 0 || p->W % p->b != 0) {
        std::snprintf(why, sizeof why, "block b=%d must divide H=%d and W=%d", p->b, p->H, p->W);
        return why;
    }
    /* per-image sizes are ints in the kernels and the GEMM arguments */
    const long long HW = (long long)p->H * p->W, Di2 = 2LL * p->Nh * p->d;
    const long long Wn = p->b + 2LL * p->h;
    if (HW * Di2 > INT_MAX || (long long)p->C * HW > INT_MAX || Di2 * p->C > INT_MAX ||
        Wn * Wn * p->d > INT_MAX) {
        std::snprintf(why, sizeof why,
                      "halo sizes overflow int (H·W=%lld, 2·Nh·d=%lld, C=%d, Wn=%lld)", HW, Di2,
                      p->C, Wn);
        return why;
    }
    return NULL;
}

halo_proj_t halo_proj_take(attn_ws_t *w, const halo_problem_t *p, size_t elem)
{
    const size_t rows = (size_t)p->B * p->H * p->W, Di = (size_t)p->Nh * p->d;
    halo_proj_t r;
    r.q = attn_ws_take(w, rows * Di * elem);
    r.kv = attn_ws_take(w, rows * 2 * Di * elem);
    r.o = attn_ws_take(w, rows * Di * elem);
    return r;
}

size_t halo_proj_workspace(const halo_problem_t *p, size_t elem)
{
    if (halo_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    halo_proj_take(&w, p, elem);
    return w.used;
}

int halo_project_qkv(const halo_problem_t *p, const halo_tensors_t *t, cudaDataType_t type,
                     void *Q, void *KV, cudaStream_t stream)
{
    const halo_sizes_t z = halo_sizes(p);
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float scale = (float)(1.0 / std::sqrt((double)p->d)), one = 1.f, zero = 0.f;
    const long long x_stride = (long long)p->C * z.HW;

    /* Q_bᵀ (Di × HW) = d^-½ · Wq·x_b */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_T, z.Di, z.HW, p->C, &scale, t->wq, type, p->C, 0, t->x, type,
        z.HW, x_stride, &zero, Q, type, z.Di, (long long)z.HW * z.Di, p->B, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
    /* KV_bᵀ (2·Di × HW) = Wkv·x_b: K in columns [0, Di) of each pixel row, V in [Di, 2·Di) */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_T, 2 * z.Di, z.HW, p->C, &one, t->wkv, type, p->C, 0, t->x,
        type, z.HW, x_stride, &zero, KV, type, 2 * z.Di, (long long)z.HW * 2 * z.Di, p->B,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

/* y (B, C, HW) = bo[c] everywhere: one CTA per (b, c) row, grid-stride over rows beyond the
 * grid; VEC: 16-byte stores of 16 / sizeof(T) copies (HW·sizeof(T) % 16 == 0, y 16-byte aligned).
 * The row's c is one 32-bit division per row, none per element. */
template <typename T, bool VEC>
__global__ void __launch_bounds__(HALO_BIAS_THREADS)
halo_bias_kernel(T *__restrict__ y, const T *__restrict__ bo, int C, int HW, int rows)
{
    constexpr int V = VEC ? 16 / (int)sizeof(T) : 1;
    const int nv = HW / V; /* VEC: HW % V == 0 */
    for (int row = blockIdx.x; row < rows; row += gridDim.x) {
        const T b = bo[row % C];
        T *yr = y + (size_t)row * HW;
        if (VEC) {
            union { T t[V]; uint4 u; } w;
#pragma unroll
            for (int k = 0; k < V; k++) w.t[k] = b;
            uint4 *y4 = reinterpret_cast<uint4 *>(yr);
            for (int e = threadIdx.x; e < nv; e += HALO_BIAS_THREADS) y4[e] = w.u;
        } else {
            for (int e = threadIdx.x; e < HW; e += HALO_BIAS_THREADS) yr[e] = b;
        }
    }
}

template <typename T>
static int bias_launch(T *y, const T *bo, int C, int HW, long long rows, cudaStream_t stream)
{
    const unsigned grid = attn_grid_stride(rows, 1);
    if (HW % (16 / (int)sizeof(T)) == 0 && (uintptr_t)y % 16 == 0)
        return ATTN_LAUNCH((halo_bias_kernel<T, true>), grid, HALO_BIAS_THREADS, 0, stream, y, bo,
                           C, HW, (int)rows);
    return ATTN_LAUNCH((halo_bias_kernel<T, false>), grid, HALO_BIAS_THREADS, 0, stream, y, bo, C,
                       HW, (int)rows);
}

int halo_project_out(const halo_problem_t *p, const halo_tensors_t *t, cudaDataType_t type,
                     const void *O, cudaStream_t stream)
{
    const halo_sizes_t z = halo_sizes(p);
    const long long rows = (long long)p->B * p->C; /* (b, c) rows of HW */
    if (rows > INT_MAX) return (int)cudaErrorInvalidValue;
    int err;
    if (type == CUDA_R_16BF)
        err = bias_launch((__nv_bfloat16 *)t->y, (const __nv_bfloat16 *)t->bo, p->C, z.HW, rows,
                          stream);
    else err = bias_launch((float *)t->y, (const float *)t->bo, p->C, z.HW, rows, stream);
    if (err) return err;

    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f;
    /* y_bᵀ (HW × C) = O_b·Woᵀ + y_bᵀ */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, z.HW, p->C, z.Di, &one, O, type, z.Di,
        (long long)z.HW * z.Di, t->wo, type, z.Di, 0, &one, t->y, type, z.HW,
        (long long)p->C * z.HW, p->B, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}
