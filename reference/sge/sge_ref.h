/* sge CPU implementations: the double-precision reference (the contract of docs/suites.md "sge",
 * written to be read against it) and a float32 CPU variant checked against it.
 *
 * Spatial Group-wise Enhance: x (B, C, H, W) is cut into G groups of Cg = C/G channels; per
 * (b, g) slab (Cg, HW): p_c = mean_HW(x_c), t = Σ_c x_c·p_c per pixel, t standardised over HW
 * (unbiased std; std = 0 when HW = 1), t = w_g·t + b_g, out = x·σ(t). */
#ifndef SGE_REF_H
#define SGE_REF_H

#include <stdint.h>

#define SGE_EPS 1e-5

typedef struct sge_shape {
    int64_t B, C, H, W; /* x and the output (B, C, H, W) */
    int64_t G;          /* groups; C divisible by G, Cg = C/G */
} sge_shape_t;

typedef struct sge_inputs {
    const float *x;    /* (B, C, H, W) */
    const float *w, *b; /* (G) per-group affine of the standardised t */
} sge_inputs_t;

/* The gate σ(w_g·t̂ + b_g) of slab (b, g) at every pixel, in double, into gate[0..HW). */
void sge_ref_gate(const sge_shape_t *s, const sge_inputs_t *in, int64_t b, int64_t g,
                  double *gate);

/* out (B, C, H, W) in double for every row r = b·G + g (slab (b, g): Cg·H·W contiguous
 * elements) with row_sel[r] (all when row_sel is NULL); other rows are left untouched. */
void sge_ref(const sge_shape_t *s, const sge_inputs_t *in, double *out, const uint8_t *row_sel);

/* The same in float32 on the CPU: a CPU variant. */
void sge_cpu_f32(const sge_shape_t *s, const sge_inputs_t *in, float *out);

#endif
