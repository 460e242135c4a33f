/* luong common: problem checks, workspace, projections, context GEMM (luong_common.cuh).
 *
 * cuBLAS is column-major; a row-major (r × c) matrix is the column-major (c × r) one with leading
 * dimension c. A projection Y = X·Wᵀ, X (M × K), W (N × K), Y (M × N) row-major, is the
 * column-major Yᵀ (N × M, ld N) = W (op T of column-major K × N, ld K) · Xᵀ (K × M, ld K); the
 * batch folds into M (M = B·T or B·S). The context per batch, c_b (T × Dk) = P_b (T × S)·h̄_b
 * (S × Dk), is the column-major c_bᵀ (Dk × T, ld Dk) = h̄_bᵀ (Dk × S, ld Dk) · P_bᵀ (S × T, ld S).
 *
 * The cuBLAS handle is the process's one (attn_cublas_handle, kernels/common/attn_kernel.cu),
 * bound to the stream on every call; not thread-safe: launch from one host thread. */
#include <climits>
#include <cstdint>
#include <cstdio>

#include "launch.cuh"
#include "luong_common.cuh"

const char *luong_problem_reason(const luong_problem_t *p)
{
    static thread_local char why[160];
    if (p->B < 1 || p->T < 1 || p->S < 1 || p->Dq < 1 || p->Dk < 1 || p->A < 1) {
        std::snprintf(why, sizeof why, "luong needs B, T, S, Dq, Dk, A >= 1 (B=%d T=%d S=%d "
                      "Dq=%d Dk=%d A=%d)", p->B, p->T, p->S, p->Dq, p->Dk, p->A);
        return why;
    }
    if (p->score < LUONG_SCORE_DOT || p->score > LUONG_SCORE_CONCAT) {
        std::snprintf(why, sizeof why, "score=%d is not 0 (dot), 1 (general) or 2 (concat)",
                      p->score);
        return why;
    }
    if (p->score == LUONG_SCORE_DOT && p->Dq != p->Dk) {
        std::snprintf(why, sizeof why, "score=dot needs Dq = Dk (Dq=%d, Dk=%d)", p->Dq, p->Dk);
        return why;
    }
    const long long rows = (long long)p->B * (p->T > p->S ? p->T : p->S);
    const long long wide = p->Dq > p->Dk ? (p->Dq > p->A ? p->Dq : p->A)
                                         : (p->Dk > p->A ? p->Dk : p->A);
    if (rows * wide > INT_MAX || (long long)p->T * p->S > INT_MAX) {
        std::snprintf(why, sizeof why, "luong sizes overflow int (B·max(T,S)=%lld, width=%lld, "
                      "T·S=%lld)", rows, wide, (long long)p->T * p->S);
        return why;
    }
    return NULL;
}

luong_ops_t luong_proj_take(attn_ws_t *w, const luong_problem_t *p, size_t elem)
{
    luong_ops_t o = {};
    const size_t BT = (size_t)p->B * p->T, BS = (size_t)p->B * p->S;
    if (p->score == LUONG_SCORE_GENERAL) {
        o.Dp = p->Dq;
        o.k_buf = attn_ws_take(w, BS * p->Dq * elem);
    } else if (p->score == LUONG_SCORE_CONCAT) {
        o.Dp = p->A;
        o.q_buf = attn_ws_take(w, BT * p->A * elem);
        o.k_buf = attn_ws_take(w, BS * p->A * elem);
    } else {
        o.Dp = p->Dq;
    }
    return o;
}

/* Y (M × N) = X (M × K)·Wᵀ, W (N × K), all row-major. */
static int project(cublasHandle_t h, const void *X, const void *W, void *Y, int M, int N, int K,
                   cudaDataType_t type)
{
    const float one = 1.f, zero = 0.f;
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_T, CUBLAS_OP_N, N, M, K, &one, W, type, K, X, type,
                                 K, &zero, Y, type, N, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    return 0;
}

int luong_project(const luong_problem_t *p, const luong_tensors_t *t, cudaDataType_t type,
                  luong_ops_t *o, cudaStream_t stream)
{
    o->q = t->h;
    o->k = t->hb;
    o->v = t->v;
    if (p->score == LUONG_SCORE_DOT) return 0;
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const int BT = p->B * p->T, BS = p->B * p->S;
    if (p->score == LUONG_SCORE_GENERAL) { /* K' = h̄·Waᵀ: row s is Wa·h̄_s */
        if (int e = project(h, t->hb, t->wa, o->k_buf, BS, p->Dq, p->Dk, type)) return e;
    } else { /* Q' = h·W1ᵀ, K' = h̄·W2ᵀ */
        if (int e = project(h, t->h, t->w1, o->q_buf, BT, p->A, p->Dq, type)) return e;
        if (int e = project(h, t->hb, t->w2, o->k_buf, BS, p->A, p->Dk, type)) return e;
    }
    if (o->q_buf) o->q = o->q_buf; /* general keeps h as the query side */
    o->k = o->k_buf;
    return 0;
}

int luong_context_gemm(const luong_problem_t *p, const void *P, const void *hb, void *c,
                       cudaDataType_t type, cudaStream_t stream)
{
    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f, zero = 0.f;
    const long long T = p->T, S = p->S, Dk = p->Dk;
    ATTN_TRY_CUBLAS(cublasGemmStridedBatchedEx(
        h, CUBLAS_OP_N, CUBLAS_OP_N, (int)Dk, (int)T, (int)S, &one, hb, type, (int)Dk, S * Dk, P,
        type, (int)S, T * S, &zero, c, type, (int)Dk, T * Dk, p->B, CUBLAS_COMPUTE_32F,
        CUBLAS_GEMM_DEFAULT));
    return 0;
}
