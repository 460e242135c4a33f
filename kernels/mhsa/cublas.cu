/* mhsa cublas: the unfused baseline, three steps per launch on one stream:
 *   S = Q·Kᵀ     cublasGemmStridedBatchedEx over the B·H heads, raw (alpha = 1), fp32 S
 *   P = softmax  mhsa_softmax_f32 / _bf16 (softmax.cu): scale, masks, normalisation
 *   O = P·V      cublasGemmStridedBatchedEx, fp32 accumulation
 * f32: fp32 Q/K/V/S/P/O, CUBLAS_COMPUTE_32F under the default math mode (no TF32).
 * bf16: bf16 Q/K/V, fp32 S, bf16 P and O, CUBLAS_COMPUTE_32F (tensor cores, fp32 accumulate).
 * bf16s: as bf16 but S rounded to bf16 by the first GEMM (fp32 accumulate), as PyTorch's math
 *        path computes attention in bf16: half the S traffic, the softmax still in fp32.
 * f16: as bf16 with f16 (CUDA_R_16F) Q/K/V/P/O; S stays fp32, so no logit can overflow f16.
 * Workspace: S (B·H·Nq·Nk fp32 or bf16), then P (fp32 or bf16), each region 256-byte aligned.
 * Grouped K/V heads: the G = H/Hkv query heads of one K/V head are G·Nq consecutive rows of Q,
 * S, P and O, so each GEMM is batched over the B·Hkv K/V heads with G·Nq query rows each.
 *
 * cuBLAS is column-major; a row-major (r × c) matrix is the column-major (c × r) matrix with
 * leading dimension c, i.e. its transpose. So per head:
 *   Sᵀ (Nk × Nq) = Kᵀ·Q in column-major terms: A = K (d × Nk, ld d) transposed, B = Q (d × Nq,
 *                  ld d), C = S (Nk × Nq, ld Nk)
 *   Oᵀ (d × Nq)  = Vᵀ·Pᵀ: A = V (d × Nk, ld d), B = P (Nk × Nq, ld Nk), C = O (d × Nq, ld d)
 *
 * The cuBLAS handle is the process's one (attn_cublas_handle, kernels/common/attn_kernel.cu),
 * bound to the stream on every call; not thread-safe: launch from one host thread. */
#include "launch.cuh"
#include "mhsa_kernels.h"
#include "mhsa_softmax.cuh"
#include "workspace.cuh"

static size_t cublas_s_elems(const mhsa_problem_t *p)
{
    return (size_t)p->B * p->H * p->Nq * p->Nk;
}

extern "C" size_t mhsa_cublas_f32_workspace(const mhsa_problem_t *p)
{
    const size_t n = cublas_s_elems(p);
    return attn_align256(n * sizeof(float)) + attn_align256(n * sizeof(float));
}

extern "C" size_t mhsa_cublas_bf16_workspace(const mhsa_problem_t *p)
{
    const size_t n = cublas_s_elems(p);
    return attn_align256(n * sizeof(float)) + attn_align256(n * sizeof(__nv_bfloat16));
}

extern "C" size_t mhsa_cublas_bf16s_workspace(const mhsa_problem_t *p)
{
    const size_t n = cublas_s_elems(p);
    return 2 * attn_align256(n * sizeof(__nv_bfloat16));
}

/* S = Q·Kᵀ then O = P·V for every head; `in` is the dtype of Q/K/V/P/O, S is S_t (fp32, or
 * bf16: `s_type`). `softmax` fills P from S. */
template <typename S_t, typename P_t>
static int cublas_attention(const mhsa_problem_t *p, cudaDataType_t in, cudaDataType_t s_type,
                            const void *q, const void *k, const void *v, void *o, void *ws,
                            cudaStream_t stream,
                            int (*softmax)(const mhsa_problem_t *, const S_t *, P_t *,
                                           cudaStream_t))
{
    const long long Nq = (long long)(p->H / p->Hkv) * p->Nq, Nk = p->Nk, d = p->d;
    const int batch = p->B * p->Hkv;
    if (batch <= 0 || Nq <= 0 || Nk <= 0 || d <= 0) return 0;
    if (!ws) return (int)cudaErrorInvalidValue;

    S_t *S = (S_t *)ws;
    P_t *P = (P_t *)((char *)ws + attn_align256(cublas_s_elems(p) * sizeof(S_t)));

    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f, zero = 0.f;

    /* S (row-major Nq × Nk, Nq the group's rows) = Q·Kᵀ: column-major Sᵀ = Kᵀ·Q; raw, softmax applies the scale */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_T, CUBLAS_OP_N, (int)Nk, (int)Nq, (int)d, &one, k, in, (int)d, Nk * d, q, in,
        (int)d, Nq * d, &zero, S, s_type, (int)Nk, Nq * Nk, batch, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));

    if (int e = softmax(p, S, P, stream)) return e;

    /* O (row-major Nq × d) = P·V: column-major Oᵀ = Vᵀ·Pᵀ */
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_N, CUBLAS_OP_N, (int)d, (int)Nq, (int)Nk, &one, v, in, (int)d, Nk * d, P, in,
        (int)Nk, Nq * Nk, &zero, o, in, (int)d, Nq * d, batch, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
    return 0;
}

extern "C" int mhsa_cublas_f32_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                      attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    return cublas_attention<float, float>(p, CUDA_R_32F, CUDA_R_32F, q, k, v, o, ws, stream,
                                          mhsa_softmax_f32);
}

/* q, k, v, o are attn_bf16_t (raw bf16 bits), which cuBLAS reads as CUDA_R_16BF. */
extern "C" int mhsa_cublas_bf16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                       attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    return cublas_attention<float, __nv_bfloat16>(p, CUDA_R_16BF, CUDA_R_32F, q, k, v, o, ws,
                                                  stream, mhsa_softmax_bf16);
}

/* As mhsa_cublas_bf16_launch on f16 data (CUDA_R_16F); the workspace is the same size
 * (mhsa_cublas_bf16_workspace: fp32 S, 16-bit P). */
extern "C" int mhsa_cublas_f16_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                      attn_stream_t stream)
{
    return cublas_attention<float, __half>(p, CUDA_R_16F, CUDA_R_32F, t->q, t->k, t->v, t->o, ws,
                                           stream, mhsa_softmax_f16);
}

/* As mhsa_cublas_bf16_launch with S in bf16. */
extern "C" int mhsa_cublas_bf16s_launch(const mhsa_problem_t *p, const mhsa_tensors_t *t, void *ws,
                                        attn_stream_t stream)
{
    const void *q = t->q, *k = t->k, *v = t->v;
    void *o = t->o;
    return cublas_attention<__nv_bfloat16, __nv_bfloat16>(p, CUDA_R_16BF, CUDA_R_16BF, q, k, v, o,
                                                          ws, stream, mhsa_softmax_bf16s);
}
