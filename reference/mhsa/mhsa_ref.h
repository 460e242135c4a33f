/* mhsa CPU implementations: the double-precision reference (the contract of docs/suites.md "mhsa",
 * written to be read against it) and a float32 CPU variant that is checked against it. */
#ifndef MHSA_REF_H
#define MHSA_REF_H

#include <stdint.h>

/* One problem. Fields after `causal` may be left 0: Hkv = 0 means Hkv = H (every query head its
 * own K/V head), diag = 0 is the top-left causal alignment, window = 0 is no window. */
typedef struct mhsa_shape {
    int64_t B, H, Nq, Nk, d;
    int causal;
    int64_t Hkv;  /* K/V heads, H % Hkv == 0: query head h reads K/V head h / (H / Hkv) */
    int64_t diag; /* query i sits on key i + diag: 0 top-left, Nk − Nq bottom-right */
    int64_t window; /* w > 0: keys farther than w − 1 from the diagonal are masked */
} mhsa_shape_t;

/* The unmasked keys of query row (b, i) are exactly [*lo, *hi) (empty when *hi <= *lo):
 * j >= kv_len[b] is masked; causal masks j > i + diag; a window w masks j < i + diag − (w − 1)
 * and, unless causal, j > i + diag + (w − 1). kv_len may be NULL. */
void mhsa_ref_keys(const mhsa_shape_t *s, const int32_t *kv_len, int64_t b, int64_t i,
                   int64_t *lo, int64_t *hi);

/* Softmax probabilities of query row (b, h, i) over its Nk keys into p[0..Nk): masked keys
 * (mhsa_ref_keys) get 0; an all-masked row is all 0. kv_len may be NULL.
 * Returns the number of unmasked keys. */
int64_t mhsa_ref_probs(const mhsa_shape_t *s, const float *q, const float *k,
                       const int32_t *kv_len, int64_t b, int64_t h, int64_t i, double *p);

/* O = softmax(Q·Kᵀ/√d, masked)·V in double for every row r = (b·H + h)·Nq + i with row_sel[r]
 * (all rows when row_sel is NULL); other rows of o are left untouched.
 * q (B,H,Nq,d), k and v (B,Hkv,Nk,d), o (B,H,Nq,d). */
void mhsa_ref(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
              const int32_t *kv_len, double *o, const uint8_t *row_sel);

/* The same function in float32 on the CPU, one pass with an online softmax: a CPU variant. */
void mhsa_cpu_f32(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
                  const int32_t *kv_len, float *o);

#endif
