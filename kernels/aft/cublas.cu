/* aft cublas: the unfused baseline for full, as the paper writes it (as docs/suites.md asks: two
 * GEMMs of e^w with e^K⊙V and e^K, the batch stacked into N):
 *   aft_project_qkv, aft_colmax, aft_rowmax   (common.cu)
 *   aft_cublas_ew_kernel    E (T × T) = e^{w[t, t'] − r_t}, shared by every batch
 *   aft_cublas_z_kernel     Z (T, B, 2·Dh): Z[t', b, c] = e^{K−m}·V, Z[t', b, Dh + c] = e^{K−m}
 *   one cublasGemmEx        N (T × 2·B·Dh) = E·Z: both GEMMs and every batch in one call (N is
 *                           the stacked [e^K⊙V | e^K] of all batches)
 *   aft_cublas_combine_kernel  Y[b, t, c] = σ(Q)·N[t, b, c] / N[t, b, Dh + c]
 *   aft_project_out         (common.cu)
 * Column-major view of the GEMM: Nᵀ (2BDh × T, ld 2BDh) = Zᵀ·Eᵀ, with Z row-major (T × 2BDh)
 * = column-major Zᵀ (ld 2BDh, op N) and E row-major (T × T) = column-major Eᵀ (ld T, op N).
 * Workspace: the common regions, then E (T²), Z and N (T·2·B·Dh each). */
#include <climits>
#include <cstdio>

#include "aft_common.cuh"
#include "launch.cuh"

#define CUB_THREADS 256

__global__ void __launch_bounds__(CUB_THREADS)
aft_cublas_ew_kernel(const float *__restrict__ w, const float *__restrict__ r,
                     float *__restrict__ E, int T, int Tmax, int form, int s)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)T * T) return;
    const int t = (int)(i / T), tp = (int)(i % T);
    E[i] = expf(aft_bias_dev(w, Tmax, form, s, t, tp) - r[t]);
}

/* One thread per (b, t', c). */
__global__ void __launch_bounds__(CUB_THREADS)
aft_cublas_z_kernel(const float *__restrict__ qkv, const float *__restrict__ m,
                    float *__restrict__ Zs, int B, int T, int Dh)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)B * T * Dh) return;
    const int c = (int)(i % Dh), tp = (int)((i / Dh) % T), b = (int)(i / ((long long)Dh * T));
    const float *kp = qkv + ((size_t)b * T + tp) * 3 * Dh + Dh + c;
    const float e = expf(kp[0] - m[b * Dh + c]);
    float *z = Zs + ((size_t)tp * B + b) * 2 * Dh + c;
    z[0] = e * kp[Dh];
    z[Dh] = e;
}

/* One thread per (b, t, c). */
__global__ void __launch_bounds__(CUB_THREADS)
aft_cublas_combine_kernel(const float *__restrict__ qkv, const float *__restrict__ N,
                          float *__restrict__ Y, int B, int T, int Dh)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)B * T * Dh) return;
    const int c = (int)(i % Dh), t = (int)((i / Dh) % T), b = (int)(i / ((long long)Dh * T));
    const float *n = N + ((size_t)t * B + b) * 2 * Dh + c;
    Y[i] = aft_sigmoid(qkv[((size_t)b * T + t) * 3 * Dh + c]) * (n[0] / n[Dh]);
}

typedef struct cublas_ws {
    aft_common_t cm;
    float *E, *Zs, *N;
} cublas_ws_t;

static cublas_ws_t cublas_take(attn_ws_t *w, const aft_problem_t *p)
{
    const size_t zn = (size_t)p->T * 2 * p->B * p->Dh;
    cublas_ws_t r;
    r.cm = aft_common_take(w, p);
    r.E = (float *)attn_ws_take(w, (size_t)p->T * p->T * sizeof(float));
    r.Zs = (float *)attn_ws_take(w, zn * sizeof(float));
    r.N = (float *)attn_ws_take(w, zn * sizeof(float));
    return r;
}

extern "C" const char *aft_cublas_supports(const aft_problem_t *p)
{
    if (p->form != AFT_K_FULL) return "cublas implements form 0 (full) only";
    if ((long long)p->B * 2 * p->Dh > INT_MAX / 2) return "cublas: 2·B·Dh overflows int";
    return NULL;
}

extern "C" size_t aft_cublas_workspace(const aft_problem_t *p)
{
    if (aft_problem_reason(p) || aft_cublas_supports(p)) return 0;
    attn_ws_t w = {NULL, 0};
    cublas_take(&w, p);
    return w.used;
}

static unsigned blocks_of(long long n) { return (unsigned)ATTN_CEIL_DIV(n, (long long)CUB_THREADS); }

extern "C" int aft_cublas_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    const char *why = aft_problem_reason(p);
    if (!why) why = aft_cublas_supports(p);
    if (int e = attn_launch_check(why, ws, "aft_cublas_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const cublas_ws_t cw = cublas_take(&w, p);
    const aft_common_t &cm = cw.cm;
    const long long btd = (long long)p->B * p->T * p->Dh, tt = (long long)p->T * p->T;
    if (ATTN_CEIL_DIV(btd, (long long)CUB_THREADS) > 0x7fffffffLL ||
        ATTN_CEIL_DIV(tt, (long long)CUB_THREADS) > 0x7fffffffLL)
        return (int)cudaErrorInvalidConfiguration;

    if (int e = aft_project_qkv(p, t, cm.qkv, stream)) return e;
    if (int e = aft_colmax(p, cm.qkv, cm.m, stream)) return e;
    if (int e = aft_rowmax(p, (const float *)t->w, cm.r, stream)) return e;
    int err = ATTN_LAUNCH(aft_cublas_ew_kernel, blocks_of(tt), CUB_THREADS, 0, stream,
                          (const float *)t->w, (const float *)cm.r, cw.E, p->T, p->Tmax, p->form,
                          p->s);
    if (err) return err;
    err = ATTN_LAUNCH(aft_cublas_z_kernel, blocks_of(btd), CUB_THREADS, 0, stream,
                      (const float *)cm.qkv, (const float *)cm.m, cw.Zs, p->B, p->T, p->Dh);
    if (err) return err;

    cublasHandle_t h;
    if (int e = attn_cublas_handle(&h, stream)) return e;
    const float one = 1.f, zero = 0.f;
    const int n2 = 2 * p->B * p->Dh;
    /* Nᵀ (2BDh × T) = Zᵀ·Eᵀ */
    ATTN_TRY_CUBLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, n2, p->T, p->T, &one, cw.Zs,
                                 CUDA_R_32F, n2, cw.E, CUDA_R_32F, p->T, &zero, cw.N, CUDA_R_32F,
                                 n2, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    err = ATTN_LAUNCH(aft_cublas_combine_kernel, blocks_of(btd), CUB_THREADS, 0, stream,
                      (const float *)cm.qkv, (const float *)cw.N, cm.y, p->B, p->T, p->Dh);
    if (err) return err;
    return aft_project_out(p, t, cm.y, stream);
}
