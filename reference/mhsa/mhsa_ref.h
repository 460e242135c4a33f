/* mhsa CPU implementations: the double-precision reference (the contract of docs/suites.md "mhsa",
 * written to be read against it) and a float32 CPU variant that is checked against it. */
#ifndef MHSA_REF_H
#define MHSA_REF_H

#include <stdint.h>

typedef struct mhsa_shape {
    int64_t B, H, Nq, Nk, d;
    int causal;
} mhsa_shape_t;

/* Softmax probabilities of query row (b, h, i) over its Nk keys into p[0..Nk): masked keys
 * (causal j > i, j >= kv_len[b]) get 0; an all-masked row is all 0. kv_len may be NULL.
 * Returns the number of unmasked keys. */
int64_t mhsa_ref_probs(const mhsa_shape_t *s, const float *q, const float *k,
                       const int32_t *kv_len, int64_t b, int64_t h, int64_t i, double *p);

/* O = softmax(Q·Kᵀ/√d, masked)·V in double for every row r = (b·H + h)·Nq + i with row_sel[r]
 * (all rows when row_sel is NULL); other rows of o are left untouched.
 * q (B,H,Nq,d), k and v (B,H,Nk,d), o (B,H,Nq,d). */
void mhsa_ref(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
              const int32_t *kv_len, double *o, const uint8_t *row_sel);

/* The same function in float32 on the CPU, one pass with an online softmax: a CPU variant. */
void mhsa_cpu_f32(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
                  const int32_t *kv_len, float *o);

#endif
