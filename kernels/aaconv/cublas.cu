/* aaconv cublas-f32: the unfused baseline, the attention as two cuBLAS GEMMs around a row kernel.
 *
 *   aaconv_front               conv branch and qkv conv (common.cu)
 *   S = Q·Kᵀ                   cublasGemmStridedBatchedEx over the B·Nh (image, head) pairs,
 *                              S (B·Nh, N, N) fp32 in the workspace
 *   aaconv_rel_softmax         S[i, j] += q_i·rel_w[jx − ix + Wo − 1] + q_i·rel_h[jy − iy + Ho − 1]
 *                              by index, softmax in place (common.cu)
 *   O = P·V                    cublasGemmStridedBatchedEx
 *   aaconv_back                1×1 output conv (common.cu)
 * cuBLAS is column-major; a row-major (r × c) matrix is the column-major (c × r) one, ld c:
 *   Sᵀ_cm (N × N, ld N) = K·Qᵀ: K (row-major N × dkh) with op T, ld dkh; Q with op N, ld dkh.
 *   Oᵀ_cm (dvh × N, ld dvh) = Vᵀ·Pᵀ: V (row-major N × dvh) op N, ld dvh; P op N, ld N.
 * The handle is a process-wide static created on first use (not thread-safe: one host thread);
 * the stream is set on every call. */
#include <cmath>
#include <cstdio>

#include "aaconv_common.cuh"
#include "launch.cuh"

int aaconv_cublas_handle(cublasHandle_t *out, cudaStream_t stream)
{
    static cublasHandle_t handle = NULL;
    if (!handle) {
        cublasHandle_t h;
        ATTN_TRY_CUBLAS(cublasCreate(&h));
        ATTN_TRY_CUBLAS(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH)); /* true fp32, no TF32 */
        handle = h;
    }
    ATTN_TRY_CUBLAS(cublasSetStream(handle, stream));
    *out = handle;
    return 0;
}

static float *take_s(aaconv_ws_t *w, const aaconv_problem_t *p)
{
    const size_t N = (size_t)aaconv_sizes(p).N;
    return (float *)aaconv_ws_take(w, (size_t)p->B * p->Nh * N * N * sizeof(float));
}

extern "C" size_t aaconv_cublas_f32_workspace(const aaconv_problem_t *p)
{
    if (aaconv_problem_reason(p)) return 0;
    aaconv_ws_t w = {NULL, 0};
    aaconv_qkvo_take(&w, p);
    take_s(&w, p);
    return w.used;
}

extern "C" int aaconv_cublas_f32_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t,
                                        void *ws, attn_stream_t stream)
{
    if (const char *why = aaconv_problem_reason(p)) {
        std::fprintf(stderr, "aaconv_cublas_f32_launch: %s\n", why);
        return (int)cudaErrorInvalidValue;
    }
    if (int e = aaconv_ws_check(ws, "aaconv_cublas_f32_launch")) return e;
    aaconv_ws_t w = {(char *)ws, 0};
    const aaconv_qkvo_t b = aaconv_qkvo_take(&w, p);
    float *S = take_s(&w, p);
    const aaconv_sizes_t z = aaconv_sizes(p);
    const int batch = p->B * p->Nh;
    const long long N = z.N;

    if (int e = aaconv_front(p, t, &b, false, stream)) return e;
    cublasHandle_t h;
    if (int e = aaconv_cublas_handle(&h, stream)) return e;
    const float one = 1.f, zero = 0.f;
    /* Sᵀ_cm = K·Qᵀ per (image, head) */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, z.N, z.N, z.dkh, &one, b.k, CUDA_R_32F, z.dkh, N * z.dkh,
        b.q, CUDA_R_32F, z.dkh, N * z.dkh, &zero, S, CUDA_R_32F, z.N, N * N, batch,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    if (int e = aaconv_rel_softmax(p, S, b.q, t->rel, false, stream)) return e;
    /* Oᵀ_cm = Vᵀ·Pᵀ per (image, head) */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_N, CUBLAS_OP_N, z.dvh, z.N, z.N, &one, b.v, CUDA_R_32F, z.dvh, N * z.dvh,
        S, CUDA_R_32F, z.N, N * N, &zero, b.o, CUDA_R_32F, z.dvh, N * z.dvh, batch,
        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return aaconv_back(p, t, &b, false, stream);
}
