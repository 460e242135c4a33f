/* shuffle CPU implementations: the double-precision reference (the contract of docs/suites.md
 * "shuffle", written to be read against it) and a float32 CPU variant checked against it.
 *
 * Shuffle Attention (SA-Net): x (B, C, H, W) is cut into G groups of 2·Cg channels
 * (Cg = C/(2G)); in each group the first Cg channels get a channel gate from their spatial mean,
 * the last Cg a spatial gate from their GroupNorm (one channel per group); the gated map is
 * channel-shuffled with 2 groups. Every gate depends on one channel plane only. */
#ifndef SHUFFLE_REF_H
#define SHUFFLE_REF_H

#include <stdint.h>

#define SHUFFLE_GN_EPS 1e-5

typedef struct shuffle_shape {
    int64_t B, C, H, W; /* x and the output (B, C, H, W) */
    int64_t G;          /* groups; C divisible by 2·G, Cg = C/(2G) */
} shuffle_shape_t;

/* Inputs, row-major float (already rounded to the dtype the variant under test saw). */
typedef struct shuffle_inputs {
    const float *x;        /* (B, C, H, W) */
    const float *cw, *cb;  /* (Cg) channel-branch gate weight and bias */
    const float *sw, *sb;  /* (Cg) spatial-branch gate weight and bias */
    const float *gamma, *beta; /* (Cg) GroupNorm affine */
} shuffle_inputs_t;

/* The input channel whose gated plane lands in output channel o:
 * out[:, 2j + i] = in[:, i·C/2 + j], so o = 2j + i reads channel (o % 2)·C/2 + o/2. */
static inline int64_t shuffle_src_channel(int64_t C, int64_t o)
{
    return (o % 2) * (C / 2) + o / 2;
}

/* The gate of one input channel k of batch b: σ(cw·mean + cb) for a channel-branch channel,
 * and σ(sw·GN(x) + sb) per pixel for a spatial-branch one, in double, into gate[0..HW). */
void shuffle_ref_gate(const shuffle_shape_t *s, const shuffle_inputs_t *in, int64_t b, int64_t k,
                      double *gate);

/* out (B, C, H, W) in double for every output row r = b·C + o (output channel plane o of batch
 * b, H·W contiguous elements) with row_sel[r] (all rows when row_sel is NULL); the elements of
 * other rows are left untouched. */
void shuffle_ref(const shuffle_shape_t *s, const shuffle_inputs_t *in, double *out,
                 const uint8_t *row_sel);

/* The same in float32 on the CPU (two passes over each plane: mean and variance, then the
 * gated, shuffled store): a CPU variant. */
void shuffle_cpu_f32(const shuffle_shape_t *s, const shuffle_inputs_t *in, float *out);

#endif
