/* halo CPU implementations: the double-precision reference (the contract of docs/suites.md "halo",
 * written to be read against it) and a float32 CPU variant that is checked against it.
 *
 * HaloNet blocked local self-attention: the image is cut into b×b blocks; every query pixel of a
 * block attends to the Wn×Wn window (Wn = b + 2h) around its block, with 2-D relative position
 * terms; keys outside the image are excluded from the softmax. */
#ifndef HALO_REF_H
#define HALO_REF_H

#include <stdint.h>

typedef struct halo_shape {
    int64_t B, C, H, W; /* input x (B, C, H, W) */
    int64_t b, h;       /* block size (divides H and W) and halo (>= 0); window Wn = b + 2h */
    int64_t Nh, d;      /* heads and head dim; inner dim Di = Nh·d */
} halo_shape_t;

/* The inputs, row-major float (already rounded to the dtype the variant under test saw). */
typedef struct halo_inputs {
    const float *x;            /* (B, C, H, W) */
    const float *wq;           /* (Di, C) */
    const float *wkv;          /* (2·Di, C): rows [0, Di) → K, [Di, 2·Di) → V */
    const float *wo;           /* (C, Di) */
    const float *bo;           /* (C) */
    const float *rel_w, *rel_h; /* (2·Wn − 1, d) each, shared by all heads */
} halo_inputs_t;

/* Softmax probabilities of head n of the query at pixel (py, px) of batch b over the Wn² keys of
 * its window, into p[ky·Wn + kx]: keys outside the image get exactly 0. Returns the number of keys
 * inside the image (>= 1: the query's own pixel is one of them). */
int64_t halo_ref_probs(const halo_shape_t *s, const halo_inputs_t *in, int64_t b, int64_t py,
                       int64_t px, int64_t n, double *p);

/* y (B, C, H, W) in double for every output row r = (b·H + py)·W + px (a row is pixel (b, py, px),
 * its C outputs strided by H·W) with row_sel[r] (all rows when row_sel is NULL); the elements of
 * other rows are left untouched. K and V are projected once per pixel, and only for the pixels
 * that the selected rows' windows hold; a row's values do not depend on which other rows are
 * selected, nor on the machine (bit for bit). Thread safe: calls may run at once on disjoint
 * row selections of one y. */
void halo_ref(const halo_shape_t *s, const halo_inputs_t *in, double *y, const uint8_t *row_sel);

/* The same function in float32 on the CPU (Q, K, V once per pixel, a plain two-pass softmax per
 * window, float accumulation throughout): a CPU variant. */
void halo_cpu_f32(const halo_shape_t *s, const halo_inputs_t *in, float *y);

#endif
