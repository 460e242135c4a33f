/* What the outlook variants share (implemented in common.cu), internal to kernels/outlook:
 *
 *   outlook_problem_reason  NULL, or why a problem is malformed; every launcher checks it first
 *   outlook_sizes_t         sizes derived from a problem
 *   outlook_front_take      the intermediates every variant starts with (workspace regions,
 *                           attn_ws_t of kernels/common/workspace.cuh): V (B·HW, C),
 *                           pooled x P (B·h'w', C), logits A (B·h'w', k⁴·Nh), fold F (B·HW, C)
 *   outlook_front           V = x·Wvᵀ, P = AvgPool_σ(x), A = P·Waᵀ + ba (cuBLAS + a pool kernel)
 *   outlook_softmax         A ← softmax over each k² row of d^-½·A, in place
 *   outlook_back            y = F·Wpᵀ + bp
 * GEMMs are fp32 (CUDA_R_32F, CUBLAS_COMPUTE_32F, default math: no TF32). */
#ifndef OUTLOOK_COMMON_CUH
#define OUTLOOK_COMMON_CUH

#include <cstddef>
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include "outlook_kernels.h"
#include "workspace.cuh"

typedef struct outlook_sizes {
    int HW;       /* pixels per image */
    int hp, wp;   /* windows per column, per row: ⌈H/σ⌉, ⌈W/σ⌉ */
    int nwin;     /* windows per image, h'·w' */
    int d, p, k2; /* head dim, padding, k² */
    int R;        /* logits per window, k⁴·Nh */
} outlook_sizes_t;

static inline outlook_sizes_t outlook_sizes(const outlook_problem_t *p)
{
    outlook_sizes_t z;
    z.HW = p->H * p->W;
    z.hp = (p->H + p->s - 1) / p->s;
    z.wp = (p->W + p->s - 1) / p->s;
    z.nwin = z.hp * z.wp;
    z.d = p->C / p->Nh;
    z.p = (p->k - 1) / 2;
    z.k2 = p->k * p->k;
    z.R = z.k2 * z.k2 * p->Nh;
    return z;
}

const char *outlook_problem_reason(const outlook_problem_t *p);

typedef struct outlook_front_bufs {
    float *v, *pool, *a, *fold;
} outlook_front_bufs_t;

outlook_front_bufs_t outlook_front_take(attn_ws_t *w, const outlook_problem_t *p);

/* The checks every launcher makes first: the problem, and ws present and 256-byte aligned. */
int outlook_check(const outlook_problem_t *p, const void *ws, const char *who);

int outlook_front(const outlook_problem_t *p, const outlook_tensors_t *t,
                  const outlook_front_bufs_t *b, cudaStream_t stream);
int outlook_softmax(const outlook_problem_t *p, float *a, cudaStream_t stream);
int outlook_back(const outlook_problem_t *p, const outlook_tensors_t *t, const float *fold,
                 cudaStream_t stream);

/* The window row i whose output row my lands on image row y (iσ − p + my = y), or −1. */
static __host__ __device__ __forceinline__ int outlook_win(int y, int my, int pad, int s, int n)
{
    const int t = y + pad - my;
    if (t < 0 || t % s) return -1;
    return t / s < n ? t / s : -1;
}

#endif
