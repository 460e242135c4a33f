/* aft CPU implementations: the double-precision reference (docs/suites.md "aft", written
 * to be read against it) and a float32 CPU variant that is checked against it.
 *
 * Attention Free Transformer (seed 003), one head as in the paper: x (B, T, D);
 * Q, K, V = x·Wqᵀ + bq, x·Wkᵀ + bk, x·Wvᵀ + bv, each (B, T, Dh); position bias w (Tmax, Tmax);
 *   full:   Y_t = σ(Q_t) ⊙ Σ_t' e^{w[t,t']}·e^{K_t'}⊙V_t' / Σ_t' e^{w[t,t']}·e^{K_t'}
 *   simple: the same with w ≡ 0 (a softmax of K over t' per channel)
 *   local:  the same with w'[t,t'] = w[t,t'] when |t − t'| < s, else 0 (not −∞)
 * out = Y·Wpᵀ + bp, (B, T, D). Computed stably: per (batch, channel) the max over t' of K is
 * subtracted from K, per row t the max over t' of w' from w'; both cancel in the ratio. */
#ifndef AFT_REF_H
#define AFT_REF_H

#include <stdint.h>

enum { AFT_FULL = 0, AFT_SIMPLE = 1, AFT_LOCAL = 2 };

typedef struct aft_shape {
    int64_t B, T, D; /* x (B, T, D) */
    int64_t Dh;      /* hidden dim of Q, K, V */
    int64_t form;    /* AFT_FULL, AFT_SIMPLE or AFT_LOCAL */
    int64_t s;       /* local window (>= 1): w' = w where |t − t'| < s */
    int64_t Tmax;    /* the position-bias table is (Tmax, Tmax), T <= Tmax */
} aft_shape_t;

/* The inputs, row-major float (already rounded to the dtype the variant under test saw). */
typedef struct aft_inputs {
    const float *x;    /* (B, T, D) */
    const float *wqkv; /* (3·Dh, D): rows [0, Dh) → Q, [Dh, 2·Dh) → K, [2·Dh, 3·Dh) → V */
    const float *bqkv; /* (3·Dh), same order */
    const float *w;    /* (Tmax, Tmax); only w[:T, :T] is read (never by simple) */
    const float *wp;   /* (D, Dh) */
    const float *bp;   /* (D) */
} aft_inputs_t;

/* w'[t, t'] of the form: w (full), 0 (simple), w inside the window and 0 outside it (local). */
double aft_bias(const aft_shape_t *s, const float *w, int64_t t, int64_t tp);

/* out (B, T, D) in double for every row r = b·T + t (a row is token (b, t), its D outputs) with
 * row_sel[r] (all rows when row_sel is NULL); other rows are left untouched. K, V and e^{K−m}
 * are computed once per batch, and only for the batches that have a selected row (simple: the
 * two sums over t' too, w' ≡ 0 making them the same for every row). A row's values do not
 * depend on the other rows selected (bit for bit). Thread safe. */
void aft_ref(const aft_shape_t *s, const aft_inputs_t *in, double *out, const uint8_t *row_sel);

/* The same function in float32 (every row, the same stabilised formula, float accumulation). */
void aft_cpu_f32(const aft_shape_t *s, const aft_inputs_t *in, float *out);

#endif
