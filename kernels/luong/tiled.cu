/* luong tiled: fp32 on CUDA cores, shared-memory tiles, three kernels.
 *
 *   luong_project                 cuBLAS projection GEMMs (common.cu)
 *   luong_scores_kernel<T, CONCAT> E (B, T, S) fp32: one CTA per 16×16 tile of (t, s), one
 *                                 thread per score; the 16 query rows and 16 key rows are
 *                                 staged in shared memory 16 columns at a time (Qs, Ks), so each
 *                                 operand is read from global once per tile instead of 16 times
 *   mhsa_softmax_f32              the row softmax of kernels/mhsa/softmax.cu, reused: E seen as
 *                                 B·T rows of S keys, no mask, scale 1, written in P = the
 *                                 weights output a itself
 *   luong_context_kernel          c (B, T, Dk) = P·h̄: one CTA per 16×16 tile of (t, c), P and h̄
 *                                 staged 16 keys at a time
 * Tiles past T, S, Dp or Dk are zero-filled in shared memory and not stored, so any shape works.
 * The score kernel is templated on the storage type so that the cublas variants reuse it for
 * concat (whose score is no GEMM). Workspace: projections, then E (fp32). */
#include "launch.cuh"
#include "luong_common.cuh"
#include "luong_score.cuh"
#include "mhsa_softmax.cuh"

#define TILE 16

template <typename T_, bool CONCAT>
__global__ void __launch_bounds__(TILE * TILE)
luong_scores_kernel(const T_ *__restrict__ q, const T_ *__restrict__ k, const T_ *__restrict__ v,
                    float *__restrict__ E, int T, int S, int Dp)
{
    __shared__ float Qs[TILE][TILE + 1], Ks[TILE][TILE + 1], vs[TILE];
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int b = blockIdx.z, t0 = blockIdx.y * TILE, s0 = blockIdx.x * TILE;
    const T_ *qb = q + (size_t)b * T * Dp, *kb = k + (size_t)b * S * Dp;
    float acc = 0.f;
    for (int d0 = 0; d0 < Dp; d0 += TILE) {
        /* load tile: query rows t0 + ty, key rows s0 + ty, columns d0 + tx; zero outside */
        const int d = d0 + tx;
        Qs[ty][tx] = t0 + ty < T && d < Dp ? attn_ld(qb, (size_t)(t0 + ty) * Dp + d) : 0.f;
        Ks[ty][tx] = s0 + ty < S && d < Dp ? attn_ld(kb, (size_t)(s0 + ty) * Dp + d) : 0.f;
        if (CONCAT && ty == 0) vs[tx] = d < Dp ? attn_ld(v, d) : 0.f; /* v = 0: no term */
        __syncthreads();
        /* scores: query ty, key tx */
#pragma unroll
        for (int kk = 0; kk < TILE; kk++)
            acc = luong_score_term<CONCAT>(Qs[ty][kk], Ks[tx][kk], CONCAT ? vs[kk] : 0.f, acc);
        __syncthreads();
    }
    if (t0 + ty < T && s0 + tx < S) E[((size_t)b * T + t0 + ty) * S + s0 + tx] = acc;
}

__global__ void __launch_bounds__(TILE * TILE)
luong_context_kernel(const float *__restrict__ P, const float *__restrict__ hb,
                     float *__restrict__ c, int T, int S, int Dk)
{
    __shared__ float Ps[TILE][TILE + 1], Hs[TILE][TILE + 1];
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int b = blockIdx.z, t0 = blockIdx.y * TILE, c0 = blockIdx.x * TILE;
    const float *Pb = P + (size_t)b * T * S, *hbb = hb + (size_t)b * S * Dk;
    float acc = 0.f;
    for (int s0 = 0; s0 < S; s0 += TILE) {
        /* load tile: P rows t0 + ty, keys s0 + tx; h̄ keys s0 + ty, columns c0 + tx */
        Ps[ty][tx] = t0 + ty < T && s0 + tx < S ? Pb[(size_t)(t0 + ty) * S + s0 + tx] : 0.f;
        Hs[ty][tx] = s0 + ty < S && c0 + tx < Dk ? hbb[(size_t)(s0 + ty) * Dk + c0 + tx] : 0.f;
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TILE; kk++) acc = fmaf(Ps[ty][kk], Hs[kk][tx], acc);
        __syncthreads();
    }
    if (t0 + ty < T && c0 + tx < Dk) c[((size_t)b * T + t0 + ty) * Dk + c0 + tx] = acc;
}

template <typename T_>
int luong_scores_tiled(const luong_problem_t *p, const luong_ops_t *o, float *E,
                       cudaStream_t stream)
{
    const dim3 grid(ATTN_CEIL_DIV(p->S, TILE), ATTN_CEIL_DIV(p->T, TILE), p->B);
    const T_ *q = (const T_ *)o->q, *k = (const T_ *)o->k, *v = (const T_ *)o->v;
    if (p->score == LUONG_SCORE_CONCAT)
        return ATTN_LAUNCH((luong_scores_kernel<T_, true>), grid, TILE * TILE, 0, stream, q, k,
                           v, E, p->T, p->S, o->Dp);
    return ATTN_LAUNCH((luong_scores_kernel<T_, false>), grid, TILE * TILE, 0, stream, q, k, v,
                       E, p->T, p->S, o->Dp);
}
template int luong_scores_tiled<float>(const luong_problem_t *, const luong_ops_t *, float *,
                                       cudaStream_t);
template int luong_scores_tiled<__nv_bfloat16>(const luong_problem_t *, const luong_ops_t *,
                                               float *, cudaStream_t);

/* E (B·T rows of S) as an mhsa problem of one head: no mask, scale 1 (exact). */
mhsa_problem_t luong_softmax_problem(const luong_problem_t *p)
{
    mhsa_problem_t m = {1, 1, p->B * p->T, p->S, 1, 0, 1.0f, NULL};
    return m;
}

static size_t tiled_take(attn_ws_t *w, const luong_problem_t *p, luong_ops_t *o, float **E)
{
    *o = luong_proj_take(w, p, sizeof(float));
    const size_t n = (size_t)p->B * p->T * p->S;
    *E = (float *)attn_ws_take(w, n * sizeof(float));
    return w->used;
}

extern "C" size_t luong_tiled_workspace(const luong_problem_t *p)
{
    attn_ws_t w = {NULL, 0};
    luong_ops_t o;
    float *E;
    return tiled_take(&w, p, &o, &E);
}

extern "C" int luong_tiled_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                                  attn_stream_t stream)
{
    if (int e = attn_launch_check(luong_problem_reason(p), ws, "luong_tiled_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    luong_ops_t o;
    float *E, *P = luong_weights_out<float>(t);
    tiled_take(&w, p, &o, &E);
    if (int e = luong_project(p, t, CUDA_R_32F, &o, stream)) return e;
    if (int e = luong_scores_tiled<float>(p, &o, E, stream)) return e;
    const mhsa_problem_t sp = luong_softmax_problem(p);
    if (int e = mhsa_softmax_f32(&sp, E, P, stream)) return e;
    const dim3 grid(ATTN_CEIL_DIV(p->Dk, TILE), ATTN_CEIL_DIV(p->T, TILE), p->B);
    return ATTN_LAUNCH(luong_context_kernel, grid, TILE * TILE, 0, stream, (const float *)P,
                       (const float *)t->hb, (float *)t->c, p->T, p->S, p->Dk);
}
