/* aaconv CPU implementations: the double-precision reference (docs/suites.md "aaconv",
 * written to be read against it) and a float32 CPU variant checked against it.
 *
 * Attention-augmented convolution (Bello et al.): a k×k convolution branch concatenated over
 * channels with a multi-head self-attention branch over all Ho·Wo output pixels, whose logits
 * carry 2-D relative position terms (rel_w by column offset, rel_h by row offset). */
#ifndef AACONV_REF_H
#define AACONV_REF_H

#include <stdint.h>

typedef struct aaconv_shape {
    int64_t B, Fin, Fout, H, W; /* x (B, Fin, H, W), y (B, Fout, Ho, Wo) */
    int64_t k, stride, kq;      /* conv kernel (odd), stride, qkv kernel (1 or k) */
    int64_t Nh, dk, dv;         /* heads; key and value widths (multiples of Nh) */
} aaconv_shape_t;

/* Output side Ho (= Wo; derive() checks it): (H + 2·⌊(k−1)/2⌋ − k)/stride + 1. */
int64_t aaconv_out_side(int64_t H, int64_t k, int64_t stride);

/* The inputs, row-major float (already rounded to the dtype the variant under test saw). */
typedef struct aaconv_inputs {
    const float *x;            /* (B, Fin, H, W) */
    const float *wc, *bc;      /* conv branch (Fout − dv, Fin, k, k), (Fout − dv) */
    const float *wqkv, *bqkv;  /* (2·dk + dv, Fin, kq, kq), (2·dk + dv): rows q | k | v */
    const float *wo, *bo;      /* attention output 1×1 conv (dv, dv), (dv) */
    const float *rel;          /* rel_w then rel_h: (2·Wo − 1, dkh) each, back to back */
} aaconv_inputs_t;

/* y (B, Fout, Ho, Wo) in double for every output row r = (b·Ho + oy)·Wo + ox (a row is one
 * output pixel, its Fout channels strided by Ho·Wo) with row_sel[r] (all when NULL); other rows
 * are left untouched. q, k, v are computed once per pixel for the batches with a selected row. */
void aaconv_ref(const aaconv_shape_t *s, const aaconv_inputs_t *in, double *y,
                const uint8_t *row_sel);

/* The same in float32 (float accumulation, two-pass softmax per query): a CPU variant. */
void aaconv_cpu_f32(const aaconv_shape_t *s, const aaconv_inputs_t *in, float *y);

#endif
