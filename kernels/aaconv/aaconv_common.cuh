/* What the aaconv variants share (common.cu), internal to kernels/aaconv:
 *   aaconv_problem_reason  NULL or why a problem is malformed; every launcher checks it first
 *   aaconv_sizes_t         Ho (= Wo), N = Ho·Wo, dkh, dvh, Fc = Fout − dv
 *   aaconv_qkvo_take       Q, K, V, O: the first workspace regions of every variant (taken
 *                          with attn_ws_take, kernels/common/workspace.cuh)
 *   aaconv_front           conv branch into y[:, 0:Fc) and the qkv conv into head-major Q, K, V
 *   aaconv_back            1×1 output conv of the head-major O into y[:, Fc:Fout)
 *   aaconv_rel_softmax     relative terms by index + softmax over the rows of a materialised S
 */
#ifndef AACONV_COMMON_CUH
#define AACONV_COMMON_CUH

#include <cstddef>
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include "aaconv_kernels.h"
#include "workspace.cuh"

typedef struct aaconv_sizes {
    int Ho, N;      /* output side (Ho = Wo), pixels N = Ho² */
    int dkh, dvh;   /* per-head widths */
    int Fc, Cq;     /* conv-branch channels Fout − dv; qkv channels 2·dk + dv */
} aaconv_sizes_t;

static inline aaconv_sizes_t aaconv_sizes(const aaconv_problem_t *p)
{
    aaconv_sizes_t z;
    z.Ho = (p->H + 2 * ((p->k - 1) / 2) - p->k) / p->stride + 1;
    z.N = z.Ho * z.Ho;
    z.dkh = p->dk / p->Nh;
    z.dvh = p->dv / p->Nh;
    z.Fc = p->Fout - p->dv;
    z.Cq = 2 * p->dk + p->dv;
    return z;
}

const char *aaconv_problem_reason(const aaconv_problem_t *p);

typedef struct aaconv_qkvo {
    float *q, *k, *v, *o; /* (B, Nh, N, dkh) ×2, (B, Nh, N, dvh) ×2 */
} aaconv_qkvo_t;

/* Takes Q, K, V, O in that order. */
aaconv_qkvo_t aaconv_qkvo_take(attn_ws_t *w, const aaconv_problem_t *p);
/* Takes S (B·Nh, N, N) fp32, after Q, K, V, O (the unfused variants: cublas-f32, tensor-core). */
float *aaconv_s_take(attn_ws_t *w, const aaconv_problem_t *p);
/* A variant's workspace bytes: Q, K, V, O, then S when with_s; 0 for a malformed problem. */
size_t aaconv_workspace_bytes(const aaconv_problem_t *p, bool with_s);
/* bf16: x, the parameters and y are bf16 (else float); Q, K, V, O are fp32 either way. */
int aaconv_front(const aaconv_problem_t *p, const aaconv_tensors_t *t, const aaconv_qkvo_t *b,
                 bool bf16, cudaStream_t stream);
int aaconv_back(const aaconv_problem_t *p, const aaconv_tensors_t *t, const aaconv_qkvo_t *b,
                bool bf16, cudaStream_t stream);
/* S (B·Nh, N, N) fp32 in place: the relative terms of row i added by index, then the softmax;
 * rel in bf16 when bf16 (else float). */
int aaconv_rel_softmax(const aaconv_problem_t *p, float *S, const float *Q, const void *rel,
                       bool bf16, cudaStream_t stream);

#endif
