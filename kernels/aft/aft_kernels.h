/* aft GPU launchers: the Attention Free Transformer (docs/suites.md), end to end: projections,
 * the AFT weighted average, output projection. Variants are f32 except tensor-core and fused
 * (bf16 bits in and out, fp32 accumulation).
 *
 * Tensors (row-major, contiguous):
 *   x (B, T, D) input;  out (B, T, D) output
 *   Wqkv (3·Dh, D) (rows [0, Dh) → Q, [Dh, 2·Dh) → K, [2·Dh, 3·Dh) → V), bqkv (3·Dh)
 *   w (Tmax, Tmax) position bias (only w[:T, :T] is read);  Wp (D, Dh), bp (D)
 * Y_t[c] = σ(Q_t[c]) · Σ_t' e^{w'[t,t'] − r_t}·e^{K_t'[c] − m_c}·V_t'[c]
 *                    / Σ_t' e^{w'[t,t'] − r_t}·e^{K_t'[c] − m_c},   out_t = Wp·Y_t + bp,
 * with w' = w (full), 0 (simple), w where |t − t'| < s else 0 (local); m_c = max over t' of K
 * per (batch, channel), r_t = max over t' of w'[t, ·] (both cancel; every exponent is <= 0).
 *
 * Contract shared by every launcher below:
 *  - pointers are device pointers to float;
 *  - ws is a device workspace of at least aft_<variant>_workspace(p) bytes, 256-byte aligned;
 *  - asynchronous on `stream`, launches through ATTN_LAUNCH, returns 0 or an error code, never
 *    synchronises; every element of out is written;
 *  - aft_<variant>_supports(p) returns NULL or why the problem is not supported.
 * Projections are cuBLAS GEMMs (bias broadcast, then GEMM with beta = 1) in every variant; the
 * intermediates are token-major: QKV (B·T, 3·Dh), Y (B·T, Dh). */
#ifndef AFT_KERNELS_H
#define AFT_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


enum { AFT_K_FULL = 0, AFT_K_SIMPLE = 1, AFT_K_LOCAL = 2 };

typedef struct aft_problem {
    int B, T, D, Dh;
    int form; /* AFT_K_FULL, AFT_K_SIMPLE, AFT_K_LOCAL */
    int s;    /* local window, >= 1 */
    int Tmax; /* w is (Tmax, Tmax), T <= Tmax */
} aft_problem_t;

typedef struct aft_tensors {
    const void *x, *wqkv, *bqkv, *w, *wp, *bp;
    void *out;
} aft_tensors_t;

/* naive: full/local one thread per (b, t, c) looping over every t' with w' by definition;
 * simple one thread per (b, c) reducing over T. */
int aft_naive_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws, attn_stream_t s);
/* tiled: full/local by smem tiles (e^{w'} tile × e^K, e^K⊙V tiles; local reads w only inside
 * the band); simple by a block reduction over T. */
int aft_tiled_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws, attn_stream_t s);
/* local-efficient: local only, the contract's efficient form: global sums (w' = 0) plus a banded
 * correction Σ_{|t−t'|<s} (e^{w} − 1)·e^K·(V, 1), O(T·s). */
int aft_local_efficient_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                               attn_stream_t s);
/* cublas: full only, the unfused baseline: E = e^{w − r} (T × T), one GEMM
 * E·[e^{K−m}⊙V | e^{K−m}] with every batch stacked along N (N = 2·B·Dh), a combine kernel. */
int aft_cublas_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws, attn_stream_t s);
/* tensor-core: full only, bf16: E = e^{w − r} (T × T, bf16) times [e^{K−m}⊙V | e^{K−m}] (bf16,
 * batches stacked along N) in our own wmma GEMM (fp32 accumulate), combine, bf16 projections. */
int aft_tensor_core_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                           attn_stream_t s);
/* fused: full only, bf16: num and den in one wmma kernel, one pass over key tiles, the
 * e^{w − r} tiles formed in shared memory (no T × T matrix in global memory). */
int aft_fused_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws, attn_stream_t s);

size_t aft_naive_workspace(const aft_problem_t *p);
size_t aft_tiled_workspace(const aft_problem_t *p);
size_t aft_local_efficient_workspace(const aft_problem_t *p);
size_t aft_cublas_workspace(const aft_problem_t *p);
size_t aft_tensor_core_workspace(const aft_problem_t *p);
size_t aft_fused_workspace(const aft_problem_t *p);

const char *aft_local_efficient_supports(const aft_problem_t *p);
const char *aft_cublas_supports(const aft_problem_t *p);
const char *aft_tensor_core_supports(const aft_problem_t *p);
const char *aft_fused_supports(const aft_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
