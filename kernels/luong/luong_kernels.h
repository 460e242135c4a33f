/* additive / luong GPU launchers: encoder–decoder attention (docs/suites.md "additive / luong").
 * Both suites use these launchers; additive is score = LUONG_SCORE_CONCAT.
 *
 * Tensors (row-major, contiguous):
 *   h (B, T, Dq) queries;  hb = h̄ (B, S, Dk) keys = values;  c (B, T, Dk) output;
 *   a (B, T, S) the attention weights, output too: in c's buffer from element a_at on
 *   Wa (Dq, Dk) (general);  W1 (A, Dq), W2 (A, Dk), v (A) (concat); unused ones may be NULL
 * Scores: dot e = h_t·h̄_s; general e = h_t·(Wa·h̄_s); concat e = vᵀ·tanh(W1·h_t + W2·h̄_s).
 * a = softmax over s; c_t = Σ_s a[t, s]·h̄_s.
 *
 * Every variant first projects with cuBLAS GEMMs (common.cu): general K' = h̄·Waᵀ (B·S, Dq);
 * concat Q' = h·W1ᵀ (B·T, A) and K' = h̄·W2ᵀ (B·S, A); dot uses h and h̄ as they are. The
 * score is then q'·k' (dot, general) or vᵀ·tanh(q' + k') (concat) over Dp = Dq or A columns.
 *
 * Contract shared by every launcher:
 *  - pointers are device pointers, float for f32 variants and attn_bf16_t for bf16 ones;
 *  - ws is a device workspace of at least luong_<variant>_workspace(p) bytes, 256-byte aligned;
 *  - asynchronous on `stream`, launches through ATTN_LAUNCH, returns 0 or an error code, never
 *    synchronises; every element of c and of a is written;
 *  - luong_<variant>_supports(p) returns NULL or why the problem is not supported. */
#ifndef LUONG_KERNELS_H
#define LUONG_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


enum { LUONG_SCORE_DOT = 0, LUONG_SCORE_GENERAL = 1, LUONG_SCORE_CONCAT = 2 };

typedef struct luong_problem {
    int B, T, S, Dq, Dk, A;
    int score; /* LUONG_SCORE_* */
} luong_problem_t;

typedef struct luong_tensors {
    const void *h, *hb, *wa, *w1, *w2, *v;
    void *c;
    long long a_at; /* a = (element type *)c + a_at: the harness's layout of its outputs */
} luong_tensors_t;

/* naive: f32, one thread per query row, two passes over the keys from global memory. */
int luong_naive_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                       attn_stream_t s);
/* tiled: f32, three kernels: 16×16 score tiles in shared memory → E (B, T, S), row softmax,
 * 16×16 context tiles (P·h̄). */
int luong_tiled_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                       attn_stream_t s);
/* fused: f32, one kernel: per 16 query rows, key/value tiles in shared memory, scores, online
 * softmax and context in one pass; neither E nor (B, T, S, A) is ever stored. */
int luong_fused_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                       attn_stream_t s);
/* cublas: the unfused baseline — projection GEMMs, score GEMM (dot/general; the tiled score
 * kernel for concat), row softmax, context GEMM. f32 and bf16 (fp32 E, bf16 P). */
int luong_cublas_f32_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                            attn_stream_t s);
int luong_cublas_bf16_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                             attn_stream_t s);
/* tensor-core: bf16, wmma score tiles (dot/general only) and wmma context tiles, softmax
 * between. */
int luong_tensor_core_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                             attn_stream_t s);

size_t luong_naive_workspace(const luong_problem_t *p);
size_t luong_tiled_workspace(const luong_problem_t *p);
size_t luong_fused_workspace(const luong_problem_t *p);
size_t luong_cublas_f32_workspace(const luong_problem_t *p);
size_t luong_cublas_bf16_workspace(const luong_problem_t *p);
size_t luong_tensor_core_workspace(const luong_problem_t *p);

const char *luong_fused_supports(const luong_problem_t *p);
const char *luong_tensor_core_supports(const luong_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
