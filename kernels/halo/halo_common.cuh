/* What the halo variants share (implemented in common.cu), internal to kernels/halo:
 *
 *   halo_problem_reason  NULL, or why a problem is malformed; every launcher checks it first
 *   halo_sizes_t         sizes derived from a problem: HW, Di, Wn, the block grid, G
 *   halo_proj_take       the pixel-major intermediates every variant starts with (the first
 *                        regions of its workspace, attn_ws_t of kernels/common/workspace.cuh):
 *                        Q (B, HW, Di), KV (B, HW, 2·Di), O (B, HW, Di), in the variant's dtype
 *   halo_project_qkv     Q = d^-½·(Wq·x)ᵀ and KV = (Wkv·x)ᵀ per image (two cuBLAS GEMMs)
 *   halo_project_out     y = Wo·Oᵀ + bo per image (bias broadcast, then a GEMM with beta = 1)
 * The projections take the cuBLAS type of x, the weights, Q/KV/O and y: CUDA_R_32F (fp32
 * throughout) or CUDA_R_16BF (bf16 storage, fp32 accumulation); always CUBLAS_COMPUTE_32F under
 * the default math mode (no TF32). */
#ifndef HALO_COMMON_CUH
#define HALO_COMMON_CUH

#include <cstddef>
#include <cuda_runtime.h>
#include <cublas_v2.h>

#include "halo_kernels.h"
#include "workspace.cuh"

/* Dynamic shared memory one CTA may ask for: the opt-in limit of sm_80 (163 KiB); sm_90 allows
 * 227 KiB, so a kernel under this cap runs on every architecture the build targets. */
#define HALO_SMEM_CAP (163 * 1024)

typedef struct halo_sizes {
    int HW;         /* pixels per image, H·W */
    int Di;         /* inner width, Nh·d */
    int Wn;         /* window side, b + 2·h */
    int nbx, nby;   /* blocks per image row, per image column */
    int nblocks;    /* blocks per image, nbx·nby */
    long long G;    /* (image, block, head) triples, B·nblocks·Nh */
} halo_sizes_t;

/* Only for problems halo_problem_reason accepts. */
static inline halo_sizes_t halo_sizes(const halo_problem_t *p)
{
    halo_sizes_t z;
    z.HW = p->H * p->W;
    z.Di = p->Nh * p->d;
    z.Wn = p->b + 2 * p->h;
    z.nbx = p->W / p->b;
    z.nby = p->H / p->b;
    z.nblocks = z.nbx * z.nby;
    z.G = (long long)p->B * z.nblocks * p->Nh;
    return z;
}

/* NULL, or a reason naming the values: sizes >= 1, h >= 0, b divides H and W, no int overflow in
 * the per-image sizes the GEMMs take. */
const char *halo_problem_reason(const halo_problem_t *p);

typedef struct halo_proj {
    void *q, *kv, *o;
} halo_proj_t;

/* Takes Q, KV and O (in that order) of elem-byte elements. */
halo_proj_t halo_proj_take(attn_ws_t *w, const halo_problem_t *p, size_t elem);
/* The bytes of halo_proj_take alone (the whole workspace of naive, tiled and fused); 0 for a
 * malformed problem. */
size_t halo_proj_workspace(const halo_problem_t *p, size_t elem);


int halo_project_qkv(const halo_problem_t *p, const halo_tensors_t *t, cudaDataType_t type,
                     void *Q, void *KV, cudaStream_t stream);
int halo_project_out(const halo_problem_t *p, const halo_tensors_t *t, cudaDataType_t type,
                     const void *O, cudaStream_t stream);

#endif
