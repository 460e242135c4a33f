/* luong cublas: the unfused baseline, every product a cuBLAS GEMM where it is one:
 *
 *   luong_project        projection GEMMs (common.cu)
 *   E = Q'·K'ᵀ           dot/general: cublasGemmStridedBatchedEx over B, fp32 E (B, T, S);
 *                        concat: luong_scores_kernel (tiled.cu) — vᵀ·tanh(q' + k') is no GEMM
 *   P = softmax(E)       mhsa_softmax_f32 / _bf16 (kernels/mhsa/softmax.cu), reused; P is the
 *                        weights output a itself
 *   c = P·h̄              cublasGemmStridedBatchedEx (common.cu)
 * f32: fp32 everything, CUBLAS_COMPUTE_32F under the default math mode (no TF32).
 * bf16: bf16 inputs, projections, P and c; fp32 E and accumulation.
 * Per batch, the column-major view of E_b (T × S, row-major) = Q'_b·K'_bᵀ is
 * E_bᵀ (S × T, ld S) = K'_b (op T of column-major Dp × S, ld Dp) · Q'_bᵀ (Dp × T, ld Dp).
 * Workspace: projections, then E (fp32). */
#include "launch.cuh"
#include "luong_common.cuh"

template <typename T_>
static size_t cublas_take(attn_ws_t *w, const luong_problem_t *p, luong_ops_t *o, float **E)
{
    *o = luong_proj_take(w, p, sizeof(T_));
    const size_t n = (size_t)p->B * p->T * p->S;
    *E = (float *)attn_ws_take(w, n * sizeof(float));
    return w->used;
}

template <typename T_>
static size_t cublas_workspace(const luong_problem_t *p)
{
    attn_ws_t w = {NULL, 0};
    luong_ops_t o;
    float *E;
    return cublas_take<T_>(&w, p, &o, &E);
}

static int softmax(const mhsa_problem_t *sp, const float *E, float *P, cudaStream_t s)
{
    return mhsa_softmax_f32(sp, E, P, s);
}
static int softmax(const mhsa_problem_t *sp, const float *E, __nv_bfloat16 *P, cudaStream_t s)
{
    return mhsa_softmax_bf16(sp, E, P, s);
}

template <typename T_>
static int cublas_attention(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                            cudaDataType_t type, cudaStream_t stream, const char *who)
{
    if (int e = attn_launch_check(luong_problem_reason(p), ws, who)) return e;
    attn_ws_t w = {(char *)ws, 0};
    luong_ops_t o;
    float *E;
    T_ *P = luong_weights_out<T_>(t);
    cublas_take<T_>(&w, p, &o, &E);
    if (int e = luong_project(p, t, type, &o, stream)) return e;

    if (p->score == LUONG_SCORE_CONCAT) {
        if (int e = luong_scores_tiled<T_>(p, &o, E, stream)) return e;
    } else {
        cublasHandle_t h;
        if (int e = attn_cublas_handle(&h, stream)) return e;
        const float one = 1.f, zero = 0.f;
        const long long T = p->T, S = p->S, Dp = o.Dp;
        ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
            h, CUBLAS_OP_T, CUBLAS_OP_N, (int)S, (int)T, (int)Dp, &one, o.k, type, (int)Dp,
            S * Dp, o.q, type, (int)Dp, T * Dp, &zero, E, CUDA_R_32F, (int)S, T * S, p->B,
            CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
    const mhsa_problem_t sp = luong_softmax_problem(p);
    if (int e = softmax(&sp, E, P, stream)) return e;
    return luong_context_gemm(p, P, t->hb, t->c, type, stream);
}

extern "C" size_t luong_cublas_f32_workspace(const luong_problem_t *p)
{
    return cublas_workspace<float>(p);
}

extern "C" size_t luong_cublas_bf16_workspace(const luong_problem_t *p)
{
    return cublas_workspace<__nv_bfloat16>(p);
}

extern "C" int luong_cublas_f32_launch(const luong_problem_t *p, const luong_tensors_t *t,
                                       void *ws, attn_stream_t stream)
{
    return cublas_attention<float>(p, t, ws, CUDA_R_32F, stream, "luong_cublas_f32_launch");
}

/* h, h̄, the parameters and c are attn_bf16_t (raw bf16 bits), read by cuBLAS as CUDA_R_16BF. */
extern "C" int luong_cublas_bf16_launch(const luong_problem_t *p, const luong_tensors_t *t,
                                        void *ws, attn_stream_t stream)
{
    return cublas_attention<__nv_bfloat16>(p, t, ws, CUDA_R_16BF, stream,
                                           "luong_cublas_bf16_launch");
}
