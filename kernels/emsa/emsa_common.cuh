/* What the emsa variants share (implemented in common.cu), internal to kernels/emsa:
 *
 *   emsa_problem_reason  NULL, or why a problem is malformed; every launcher checks it first
 *   emsa_sizes_t         N, N', dk, the reduced map's sides
 *   emsa_bufs_take       the workspace regions, taken in a fixed order with attn_ws_take
 *                        (kernels/common/workspace.cuh)
 *   emsa_gemm_t          one (batched, two-level strided) row-major GEMM with bias:
 *                        C[z][m, n] = alpha·Σ_k A[z][m, k]·op(B[z])[k, n] + bias[n]
 *   emsa_run_steps       the whole unfused pipeline over a variant's GEMM: reduction,
 *                        projections, logits, softmax with head transform, InstanceNorm, P̂·V, out
 *   emsa_reduce          Xr = LayerNorm(dwconv(x)) (r > 1)
 *   emsa_linear_steps    the Q, K, V projections and the output projection through a GEMM
 *   emsa_tiled_gemm      the shared-memory tiled GEMM (tiled.cu; fused uses it too) */
#ifndef EMSA_COMMON_CUH
#define EMSA_COMMON_CUH

#include <cstddef>
#include <cuda_runtime.h>

#include "emsa_kernels.h"
#include "workspace.cuh"

#define EMSA_EPS 1e-5f

typedef struct emsa_sizes {
    int N;       /* tokens per image, H·W */
    int Hr, Wr;  /* reduced map sides (H, W when r = 1) */
    int Np;      /* keys per image, N' = Hr·Wr */
    int dk;      /* C/h (= dv) */
} emsa_sizes_t;

/* Only for problems emsa_problem_reason accepts. */
static inline emsa_sizes_t emsa_sizes(const emsa_problem_t *p)
{
    emsa_sizes_t z;
    z.N = p->H * p->W;
    z.Hr = p->r > 1 ? (p->H + 2 * (p->r / 2) - (p->r + 1)) / p->r + 1 : p->H;
    z.Wr = p->r > 1 ? (p->W + 2 * (p->r / 2) - (p->r + 1)) / p->r + 1 : p->W;
    z.Np = z.Hr * z.Wr;
    z.dk = p->C / p->h;
    return z;
}

const char *emsa_problem_reason(const emsa_problem_t *p);

/* The intermediates (all float): Xr (B, N', C) only when r > 1, Q (B, N, C), K, V (B, N', C),
 * S (B, h, N, N') only for the unfused pipeline, P (B, h, N, N'), rowsq (B, h, N), inv (B, h),
 * O (B, N, C). */
typedef struct emsa_bufs {
    float *xr, *q, *k, *v, *s, *pm, *rowsq, *inv, *o;
} emsa_bufs_t;

emsa_bufs_t emsa_bufs_take(attn_ws_t *w, const emsa_problem_t *p, int with_s);
/* The bytes of emsa_bufs_take(with_s) alone; 0 for a malformed problem. */
size_t emsa_workspace_bytes(const emsa_problem_t *p, int with_s);

typedef struct emsa_gemm {
    int M, Nn, K;            /* C is M × Nn per batch entry, the sum runs over K */
    int batch, nb2;          /* entry z = z1·nb2 + z2 */
    const float *A;          /* A[m, k] = A[z1·sA1 + z2·sA2 + m·lda + k] */
    int lda;
    long long sA1, sA2;
    const float *B;          /* transB: op(B)[k, n] = B[.. + n·ldb + k]; else B[.. + k·ldb + n] */
    int ldb, transB;
    long long sB1, sB2;
    float *Cm;               /* C[m, n] = Cm[z1·sC1 + z2·sC2 + m·ldc + n] */
    int ldc;
    long long sC1, sC2;
    const float *bias;       /* NULL or (Nn) */
    float alpha;
} emsa_gemm_t;

typedef int (*emsa_gemm_fn)(const emsa_gemm_t *g, cudaStream_t stream);

int emsa_tiled_gemm(const emsa_gemm_t *g, cudaStream_t stream);

/* Xr = LayerNorm(dwconv(x) + b)·γ + β (r > 1 only). */
int emsa_reduce(const emsa_problem_t *p, const emsa_tensors_t *t, float *xr, cudaStream_t stream);
/* Q, K, V from x and Xr (or x when r = 1). */
int emsa_project_qkv(const emsa_problem_t *p, const emsa_tensors_t *t, const emsa_bufs_t *b,
                     emsa_gemm_fn gemm, cudaStream_t stream);
/* y = O·Woᵀ + bo. */
int emsa_project_out(const emsa_problem_t *p, const emsa_tensors_t *t, const emsa_bufs_t *b,
                     emsa_gemm_fn gemm, cudaStream_t stream);
/* The whole unfused pipeline (naive, tiled, cublas), after the problem and workspace checks. */
int emsa_run_steps(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws, emsa_gemm_fn gemm,
                   cudaStream_t stream);

#endif
