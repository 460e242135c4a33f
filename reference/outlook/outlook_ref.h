/* outlook CPU implementations: the double-precision reference (the contract of docs/suites.md
 * "outlook", written to be read against it) and a float32 CPU variant checked against it.
 *
 * VOLO outlook attention: every window n = (i, j) of a stride-σ grid predicts, from the average
 * of x over its σ×σ cell, a k²×k² attention matrix per head; the window's k×k neighbourhood of v
 * (zero outside the image) is mixed by it, and the k² outputs are folded back (summed) onto the
 * pixels they came from. */
#ifndef OUTLOOK_REF_H
#define OUTLOOK_REF_H

#include <stdint.h>

typedef struct outlook_shape {
    int64_t B, H, W, C; /* input x (B, H, W, C) */
    int64_t Nh;         /* heads; d = C / Nh */
    int64_t k, s;       /* kernel (odd; padding p = (k − 1)/2) and stride σ */
} outlook_shape_t;

/* The inputs, row-major float (already rounded to the dtype the variant under test saw).
 * v has no bias (VOLO's default qkv_bias = False). */
typedef struct outlook_inputs {
    const float *x;  /* (B, H, W, C) */
    const float *wv; /* (C, C): v = x·Wvᵀ */
    const float *wa; /* (k⁴·Nh, C): row (h·k² + m)·k² + m' gives logit a[h, m, m'] */
    const float *ba; /* (k⁴·Nh) */
    const float *wp; /* (C, C) */
    const float *bp; /* (C) */
} outlook_inputs_t;

/* Windows per column and row: h' = ⌈H/σ⌉, w' = ⌈W/σ⌉. */
static inline int64_t outlook_hp(const outlook_shape_t *s) { return (s->H + s->s - 1) / s->s; }
static inline int64_t outlook_wp(const outlook_shape_t *s) { return (s->W + s->s - 1) / s->s; }

/* y (B, H, W, C) in double for every output row r = (b·H + py)·W + px (one pixel's C outputs)
 * with row_sel[r] (all rows when row_sel is NULL); other rows are left untouched. v and the
 * window probabilities are computed once, lazily, for what the selected rows need. */
void outlook_ref(const outlook_shape_t *s, const outlook_inputs_t *in, double *y,
                 const uint8_t *row_sel);

/* The same function in float32 on the CPU (v once per pixel, softmax per window row, a gather
 * fold, float accumulation throughout): a CPU variant. */
void outlook_cpu_f32(const outlook_shape_t *s, const outlook_inputs_t *in, float *y);

#endif
