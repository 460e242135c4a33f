/* Comparing a variant's output with the reference. */
#ifndef ATTN_CHECK_H
#define ATTN_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include "registry.h"

typedef struct attn_check {
    int ok;
    int64_t checked;      /* elements compared */
    int64_t nonfinite;    /* NaN/Inf outputs among them (an unwritten element stays NaN) */
    int64_t worst;        /* flat index of the largest |out − ref| (or first non-finite) */
    double max_abs_err, rel_l2_err;
    double ref_scale;     /* max |ref| over the compared elements */
    double tol_abs;       /* tol_rel · ref_scale: max_abs_err must not exceed it */
    double out_at_worst, ref_at_worst;
    int output;           /* which output of the layout this is about (0: out; attn_layout_t) */
} attn_check_t;

/* Compare out[0..numel) (stored as dtype: double, float or bf16 bits) with ref over the
 * elements of the rows selected by row_sel (all when NULL; element e is in row e / row_len).
 * Passes when every compared output is finite and max|out − ref| <= tol_rel · max|ref|. */
attn_check_t attn_compare(const void *out, attn_dtype_t dtype, const double *ref, int64_t numel,
                          int64_t row_len, const uint8_t *row_sel, double tol_rel);

/* The same, with element e in row s->row_of(s, v, e) (outputs whose rows are strided). */
attn_check_t attn_compare_mapped(const void *out, attn_dtype_t dtype, const double *ref,
                                 int64_t numel, const attn_suite_t *s, const int64_t *v,
                                 const uint8_t *row_sel, double tol_rel);

/* Read element i of a buffer of dtype as a double. */
double attn_load(const void *buf, attn_dtype_t dtype, int64_t i);

/* Choose about `want` rows of `rows` deterministically from seed: always the first and the last,
 * the rest spread evenly with a seeded jitter. Fills sel[0..rows) with 0/1, returns the count. */
int64_t attn_sample_rows(uint8_t *sel, int64_t rows, int64_t want, uint64_t seed);

/* "(b=0,h=1,i=999,c=5)" for a flat index into tensor t. */
const char *attn_index_str(const attn_tensor_t *t, int64_t flat, char *buf, size_t n);

#endif
