/* The cuBLAS entry points the launchers use, on host memory (see emu_cuda.cpp for the memory
 * model). GEMMs cover the combinations of CUBLAS_COMPUTE_32F the benchmarks use: A and B both
 * fp32, bf16 or fp16, C fp32 (or of A's 16-bit type), alpha/beta host floats. Every element of
 * C is accumulated in float, by fmaf, over k in increasing order, then C = alpha·acc + beta·C
 * (C is not read when beta = 0) and rounded to C's type. Anything else returns
 * CUBLAS_STATUS_NOT_SUPPORTED with the reason in attn_emu_last_error(). */
#include "emu_internal.h"

#include <cublas_v2.h>

#include <algorithm>
#include <cstdarg>
#include <cstdlib>
#include <vector>

using namespace attn_emu;

struct cublasContext {
    cudaStream_t stream = nullptr;
    cublasMath_t math = CUBLAS_DEFAULT_MATH;
    cublasPointerMode_t pointer_mode = CUBLAS_POINTER_MODE_HOST;
};

namespace {

cublasStatus_t fail_status(cublasStatus_t s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
cublasStatus_t fail_status(cublasStatus_t s, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    record_error(CUBLAS_KEY + (int)s, "%s", buf);
    return s;
}

bool is_input_type(cudaDataType t)
{
    return t == CUDA_R_32F || t == CUDA_R_16BF || t == CUDA_R_16F;
}

const char *type_name(cudaDataType t)
{
    switch (t) {
    case CUDA_R_32F: return "CUDA_R_32F";
    case CUDA_R_16BF: return "CUDA_R_16BF";
    case CUDA_R_16F: return "CUDA_R_16F";
    default: return "another type";
    }
}

size_t type_size(cudaDataType t) { return t == CUDA_R_32F ? 4 : 2; }

inline float load(const void *p, cudaDataType t, long long i)
{
    switch (t) {
    case CUDA_R_32F: return static_cast<const float *>(p)[i];
    case CUDA_R_16BF: return __bfloat162float(static_cast<const __nv_bfloat16 *>(p)[i]);
    default: return __half2float(static_cast<const __half *>(p)[i]);
    }
}

inline void store(void *p, cudaDataType t, long long i, float v)
{
    switch (t) {
    case CUDA_R_32F: static_cast<float *>(p)[i] = v; break;
    case CUDA_R_16BF: static_cast<__nv_bfloat16 *>(p)[i] = __float2bfloat16_rn(v); break;
    default: static_cast<__half *>(p)[i] = __float2half_rn(v); break;
    }
}

bool is_trans(cublasOperation_t op) { return op == CUBLAS_OP_T || op == CUBLAS_OP_C; }

/* dst[r·k + p] = op(X)[r, p] for r < rows, p < k: the rows of op(A), or the columns of op(B),
 * contiguous over the summation index. X is column-major with leading dimension ld. */
void pack(std::vector<float> &dst, const void *X, cudaDataType t, int ld, bool trans, int rows,
          int k, bool rows_are_first_index)
{
    dst.resize((size_t)rows * k);
    for (int r = 0; r < rows; r++)
        for (int p = 0; p < k; p++) {
            /* op(A)[r, p]: A[r + p·ld] (no trans) or A[p + r·ld] (trans);
             * op(B)[p, r]: B[p + r·ld] (no trans) or B[r + p·ld] (trans) */
            const bool first = rows_are_first_index != trans;
            const long long idx = first ? r + (long long)p * ld : p + (long long)r * ld;
            dst[(size_t)r * k + p] = load(X, t, idx);
        }
}

/* acc[i][j] = Σ_p a[i·k + p]·b[j·k + p], p in increasing order, one fmaf chain per element; 4x4
 * output blocks keep 16 independent chains in flight. */
void dot_block(const float *a, const float *b, int k, int ni, int nj, float acc[4][4])
{
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
    const float *ar[4], *br[4];
    for (int i = 0; i < 4; i++) ar[i] = a + (size_t)std::min(i, ni - 1) * k;
    for (int j = 0; j < 4; j++) br[j] = b + (size_t)std::min(j, nj - 1) * k;
    for (int p = 0; p < k; p++) {
        const float a0 = ar[0][p], a1 = ar[1][p], a2 = ar[2][p], a3 = ar[3][p];
        const float b0 = br[0][p], b1 = br[1][p], b2 = br[2][p], b3 = br[3][p];
        acc[0][0] = std::fma(a0, b0, acc[0][0]);
        acc[0][1] = std::fma(a0, b1, acc[0][1]);
        acc[0][2] = std::fma(a0, b2, acc[0][2]);
        acc[0][3] = std::fma(a0, b3, acc[0][3]);
        acc[1][0] = std::fma(a1, b0, acc[1][0]);
        acc[1][1] = std::fma(a1, b1, acc[1][1]);
        acc[1][2] = std::fma(a1, b2, acc[1][2]);
        acc[1][3] = std::fma(a1, b3, acc[1][3]);
        acc[2][0] = std::fma(a2, b0, acc[2][0]);
        acc[2][1] = std::fma(a2, b1, acc[2][1]);
        acc[2][2] = std::fma(a2, b2, acc[2][2]);
        acc[2][3] = std::fma(a2, b3, acc[2][3]);
        acc[3][0] = std::fma(a3, b0, acc[3][0]);
        acc[3][1] = std::fma(a3, b1, acc[3][1]);
        acc[3][2] = std::fma(a3, b2, acc[3][2]);
        acc[3][3] = std::fma(a3, b3, acc[3][3]);
    }
}

cublasStatus_t gemm(const char *fn, cublasHandle_t handle, cublasOperation_t transa,
                    cublasOperation_t transb, int m, int n, int k, const void *alpha,
                    const void *A, cudaDataType Atype, int lda, long long strideA, const void *B,
                    cudaDataType Btype, int ldb, long long strideB, const void *beta, void *C,
                    cudaDataType Ctype, int ldc, long long strideC, int batch,
                    cublasComputeType_t compute)
{
    if (!handle) return fail_status(CUBLAS_STATUS_NOT_INITIALIZED, "%s: NULL handle", fn);
    if (handle->pointer_mode != CUBLAS_POINTER_MODE_HOST)
        return fail_status(CUBLAS_STATUS_NOT_SUPPORTED,
                           "%s: only CUBLAS_POINTER_MODE_HOST is emulated", fn);
    if (compute != CUBLAS_COMPUTE_32F && compute != CUBLAS_COMPUTE_32F_PEDANTIC)
        return fail_status(CUBLAS_STATUS_NOT_SUPPORTED,
                           "%s: compute type %d is not emulated (only CUBLAS_COMPUTE_32F)", fn,
                           (int)compute);
    if (!is_input_type(Atype) || Btype != Atype || !is_input_type(Ctype) ||
        (Atype == CUDA_R_32F && Ctype != CUDA_R_32F) ||
        (Ctype != CUDA_R_32F && Ctype != Atype))
        return fail_status(CUBLAS_STATUS_NOT_SUPPORTED,
                           "%s: A %s, B %s, C %s is not an emulated type combination", fn,
                           type_name(Atype), type_name(Btype), type_name(Ctype));
    const bool ta = is_trans(transa), tb = is_trans(transb);
    if ((!ta && transa != CUBLAS_OP_N) || (!tb && transb != CUBLAS_OP_N))
        return fail_status(CUBLAS_STATUS_INVALID_VALUE, "%s: invalid operation", fn);
    if (m < 0 || n < 0 || k < 0 || batch < 0 || lda < std::max(1, ta ? k : m) ||
        ldb < std::max(1, tb ? n : k) || ldc < std::max(1, m))
        return fail_status(CUBLAS_STATUS_INVALID_VALUE,
                           "%s: invalid sizes m=%d n=%d k=%d lda=%d ldb=%d ldc=%d batch=%d", fn, m,
                           n, k, lda, ldb, ldc, batch);
    if (!alpha || !beta) return fail_status(CUBLAS_STATUS_INVALID_VALUE, "%s: NULL alpha/beta", fn);
    if (m == 0 || n == 0 || batch == 0) return CUBLAS_STATUS_SUCCESS;
    const float al = *static_cast<const float *>(alpha), be = *static_cast<const float *>(beta);

    std::vector<float> ap, bp; /* op(A) as m rows of k, op(B)ᵀ as n rows of k */
    for (int bi = 0; bi < batch; bi++) {
        const char *Ab = static_cast<const char *>(A) + (size_t)(bi * strideA) * type_size(Atype);
        const char *Bb = static_cast<const char *>(B) + (size_t)(bi * strideB) * type_size(Btype);
        char *Cb = static_cast<char *>(C) + (size_t)(bi * strideC) * type_size(Ctype);
        pack(ap, Ab, Atype, lda, ta, m, k, true);
        pack(bp, Bb, Btype, ldb, tb, n, k, false);
        for (int j0 = 0; j0 < n; j0 += 4) {
            const int nj = std::min(4, n - j0);
            for (int i0 = 0; i0 < m; i0 += 4) {
                const int ni = std::min(4, m - i0);
                float acc[4][4];
                dot_block(ap.data() + (size_t)i0 * k, bp.data() + (size_t)j0 * k, k, ni, nj, acc);
                for (int jj = 0; jj < nj; jj++)
                    for (int ii = 0; ii < ni; ii++) {
                        const long long idx = (i0 + ii) + (long long)(j0 + jj) * ldc;
                        float v = al * acc[ii][jj];
                        if (be != 0.0f) v += be * load(Cb, Ctype, idx);
                        store(Cb, Ctype, idx, v);
                    }
            }
        }
    }
    return CUBLAS_STATUS_SUCCESS;
}

} // namespace

extern "C" {

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    if (!handle) return CUBLAS_STATUS_INVALID_VALUE;
    *handle = new cublasContext;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    delete handle;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *streamId)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!streamId) return CUBLAS_STATUS_INVALID_VALUE;
    *streamId = handle->stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->pointer_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->pointer_mode;
    return CUBLAS_STATUS_SUCCESS;
}

/* The math mode only permits faster, less precise paths; the emulation is always full fp32. */
cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->math = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode)
{
    if (!handle) return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode) return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->math;
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasGetStatusName(cublasStatus_t status)
{
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "<unknown>";
    }
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    const char *text;
    switch (status) {
    case CUBLAS_STATUS_SUCCESS: text = "success"; break;
    case CUBLAS_STATUS_NOT_INITIALIZED: text = "the library was not initialized"; break;
    case CUBLAS_STATUS_ALLOC_FAILED: text = "the resource allocation failed"; break;
    case CUBLAS_STATUS_INVALID_VALUE: text = "an invalid numeric value was used as an argument";
        break;
    case CUBLAS_STATUS_ARCH_MISMATCH: text = "an absent device architectural feature is required";
        break;
    case CUBLAS_STATUS_MAPPING_ERROR: text = "an access to GPU memory space failed"; break;
    case CUBLAS_STATUS_EXECUTION_FAILED: text = "the GPU program failed to execute"; break;
    case CUBLAS_STATUS_INTERNAL_ERROR: text = "an internal operation failed"; break;
    case CUBLAS_STATUS_NOT_SUPPORTED: text = "the functionality requested is not supported"; break;
    case CUBLAS_STATUS_LICENSE_ERROR: text = "error detected trying to check the license"; break;
    default: text = "unknown error"; break;
    }
    return error_string_with_detail(CUBLAS_KEY + (int)status, text);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long int strideA, const void *B,
                                          cudaDataType Btype, int ldb, long long int strideB,
                                          const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    (void)algo;
    return gemm("cublasGemmStridedBatchedEx", handle, transa, transb, m, n, k, alpha, A, Atype,
                lda, strideA, B, Btype, ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount,
                computeType);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void *alpha,
                            const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo)
{
    (void)algo;
    return gemm("cublasGemmEx", handle, transa, transb, m, n, k, alpha, A, Atype, lda, 0, B,
                Btype, ldb, 0, beta, C, Ctype, ldc, 0, 1, computeType);
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const float *alpha,
                              const float *A, int lda, const float *B, int ldb, const float *beta,
                              float *C, int ldc)
{
    return gemm("cublasSgemm", handle, transa, transb, m, n, k, alpha, A, CUDA_R_32F, lda, 0, B,
                CUDA_R_32F, ldb, 0, beta, C, CUDA_R_32F, ldc, 0, 1, CUBLAS_COMPUTE_32F);
}

cublasStatus_t cublasSgemmStridedBatched(cublasHandle_t handle, cublasOperation_t transa,
                                         cublasOperation_t transb, int m, int n, int k,
                                         const float *alpha, const float *A, int lda,
                                         long long int strideA, const float *B, int ldb,
                                         long long int strideB, const float *beta, float *C,
                                         int ldc, long long int strideC, int batchCount)
{
    return gemm("cublasSgemmStridedBatched", handle, transa, transb, m, n, k, alpha, A,
                CUDA_R_32F, lda, strideA, B, CUDA_R_32F, ldb, strideB, beta, C, CUDA_R_32F, ldc,
                strideC, batchCount, CUBLAS_COMPUTE_32F);
}

} // extern "C"
