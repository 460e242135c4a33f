/* emsa CPU implementations: the double-precision reference (the contract of docs/suites.md "emsa",
 * written to be read against it) and a float32 CPU variant that is checked against it.
 *
 * ResT efficient multi-head self-attention on x (B, N = H·W, C), heads h, dk = dv = C/h:
 *   r > 1: Xr = LayerNorm_C(dwconv_{r+1, stride r, pad ⌊r/2⌋}(x as (B, C, H, W)) + b) (N' positions)
 *   r = 1: Xr = x (N' = N)
 *   Q = x·Wqᵀ + bq, K = Xr·Wkᵀ + bk, V = Xr·Wvᵀ + bv; S_g = Q_g·K_gᵀ/√dk (per head g, N × N')
 *   h > 1: S'_g = Σ_k T[g, k]·S_k + t_g; P_g = softmax_rows(S'_g); P̂_g = InstanceNorm(P_g) over
 *          the whole N × N' map (biased variance, eps 1e-5, no affine)
 *   h = 1: P̂ = softmax_rows(S)
 *   y = concat_g(P̂_g·V_g)·Woᵀ + bo, shape (B, N, C).
 * Because every softmax row sums to 1 the map mean is exactly 1/N'; the variance is accumulated
 * per row as Σ(p − 1/N')² (no cancellation, one reduction). No mask (the suite has none). */
#ifndef EMSA_REF_H
#define EMSA_REF_H

#include <stdint.h>

typedef struct emsa_shape {
    int64_t B, C, H, W; /* x (B, H·W, C) */
    int64_t h;          /* heads; dk = dv = C/h */
    int64_t r;          /* spatial-reduction ratio (>= 1) */
} emsa_shape_t;

/* Side of the reduced map: ⌊(n + 2⌊r/2⌋ − (r + 1)) / r⌋ + 1 for r > 1, n for r = 1. */
int64_t emsa_reduced_side(int64_t n, int64_t r);

/* The inputs, row-major float (already rounded to the dtype the variant under test saw). */
typedef struct emsa_inputs {
    const float *x;    /* (B, N, C) */
    const float *wqkv; /* (3C, C): rows [0, C) → Q, [C, 2C) → K, [2C, 3C) → V */
    const float *bqkv; /* (3C) */
    const float *wo;   /* (C, C) */
    const float *bo;   /* (C) */
    const float *srw;  /* (C, (r+1)²): depthwise conv taps (ky, kx) row-major; unused at r = 1 */
    const float *srp;  /* (3, C): conv bias, LayerNorm γ, LayerNorm β; unused at r = 1 */
    const float *tr;   /* (h, h + 1): T[g, k] in column k < h, t_g in column h; unused at h = 1 */
} emsa_inputs_t;

/* The normalised attention map P̂ (h, N, N') of batch b, in double. */
void emsa_ref_map(const emsa_shape_t *s, const emsa_inputs_t *in, int64_t b, double *phat);

/* y (B, N, C) in double for every row r = b·N + n with row_sel[r] (all rows when row_sel is
 * NULL); other rows are left untouched. The instance norm needs the whole map, so every batch
 * with a selected row computes its full map. */
void emsa_ref(const emsa_shape_t *s, const emsa_inputs_t *in, double *y, const uint8_t *row_sel);

/* The same function in float32, straightforward loops (a CPU variant). */
void emsa_cpu_f32(const emsa_shape_t *s, const emsa_inputs_t *in, float *y);

#endif
