/* sge GPU launchers: Spatial Group-wise Enhance (docs/suites.md "sge").
 *
 * Tensors (row-major, contiguous, f32, device pointers): x (B, C, H, W) input, out (B, C, H, W)
 * output, w, b (G) per-group affine. Slab (b, g) = channels g·Cg … g·Cg + Cg − 1 of batch b
 * (Cg = C/G), Cg·HW contiguous floats:
 *   p_c = mean_HW(x_c);  t = Σ_c x_c·p_c per pixel;  t̂ = (t − mean t)/(std t + 1e-5) with the
 *   unbiased std (0 when HW = 1);  out = x·σ(w_g·t̂ + b_g).
 *
 * Contract shared by the launchers: ws is a device workspace of at least
 * sge_<variant>_workspace(p) bytes; asynchronous on `stream`, launches through ATTN_LAUNCH,
 * returns 0 or an error code, never synchronises; every element of out is written. */
#ifndef SGE_KERNELS_H
#define SGE_KERNELS_H

#include "attn_kernel.h"

#ifdef __cplusplus
extern "C" {
#endif


typedef struct sge_problem {
    int B, C, H, W, G;
} sge_problem_t;

typedef struct sge_tensors {
    const void *x, *w, *b;
    void *out;
} sge_tensors_t;

/* naive: four kernels, one thread per output value of each stage (p_c; t per pixel; mean and
 * std of t per slab; out per element), intermediates in the workspace. */
int sge_naive_launch(const sge_problem_t *p, const sge_tensors_t *t, void *ws, attn_stream_t s);
size_t sge_naive_workspace(const sge_problem_t *p);
/* fused: one CTA per (b, g) slab. When the slab fits in shared memory (the device's opt-in
 * limit) it is read once (cp.async, 16-byte copies when aligned) and everything runs from there;
 * otherwise the CTA reads the slab three times from global memory (p_c, t, gated store), with
 * t in shared memory. No workspace. */
int sge_fused_launch(const sge_problem_t *p, const sge_tensors_t *t, void *ws, attn_stream_t s);

/* NULL, or why the launchers cannot run p. */
const char *sge_problem_reason(const sge_problem_t *p);

#ifdef __cplusplus
}
#endif
#endif
