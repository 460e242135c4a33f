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
 * The cuBLAS handle is the process's one (attn_cublas_handle, kernels/common/attn_kernel.cu),
 * bound to the stream on every call; not thread-safe: launch from one host thread. */
#include <cmath>
#include <cstdio>

#include "aaconv_common.cuh"
#include "launch.cuh"

extern "C" size_t aaconv_cublas_f32_workspace(const aaconv_problem_t *p)
{
    return aaconv_workspace_bytes(p, true);
}

extern "C" int aaconv_cublas_f32_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t,
                                        void *ws, attn_stream_t stream)
{
    if (int e = attn_launch_check(aaconv_problem_reason(p), ws,
                                  "aaconv_cublas_f32_launch"))
        return e;
    attn_ws_t w = {(char *)ws, 0};
    const aaconv_qkvo_t b = aaconv_qkvo_take(&w, p);
    float *S = aaconv_s_take(&w, p);
    const aaconv_sizes_t z = aaconv_sizes(p);
    const int batch = p->B * p->Nh;
    const long long N = z.N;

    if (int e = aaconv_front(p, t, &b, false, stream)) return e;
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
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
