/* additive / luong CPU implementations (docs/suites.md "additive / luong"): the double-precision
 * reference, written to be read against the contract, and a float32 CPU variant checked
 * against it. Both suites share them: additive is the concat score function.
 *
 * h (B, T, Dq) queries (decoder states), hb = h̄ (B, S, Dk) keys = values (encoder states).
 *   dot      e[t, s] = h_t·h̄_s                         (Dq = Dk)
 *   general  e[t, s] = h_tᵀ·Wa·h̄_s,  Wa (Dq, Dk)
 *   concat   e[t, s] = vᵀ·tanh(W1·h_t + W2·h̄_s), W1 (A, Dq), W2 (A, Dk), v (A)  (= additive)
 * a[t, :] = softmax_s(e[t, :]); c_t = Σ_s a[t, s]·h̄_s, c (B, T, Dk). */
#ifndef LUONG_REF_H
#define LUONG_REF_H

#include <stdint.h>

enum { LUONG_DOT = 0, LUONG_GENERAL = 1, LUONG_CONCAT = 2 };

typedef struct luong_shape {
    int64_t B, T, S, Dq, Dk, A;
    int score; /* LUONG_DOT, LUONG_GENERAL or LUONG_CONCAT */
} luong_shape_t;

/* Parameters a score function does not use may be NULL. */
typedef struct luong_inputs {
    const float *h, *hb, *wa, *w1, *w2, *v;
} luong_inputs_t;

/* The attention weights a[t, 0..S) of row (b, t) into a (double, S entries); kp is the key-side
 * projection of batch b from luong_ref_keys. */
void luong_ref_weights(const luong_shape_t *s, const luong_inputs_t *in, const double *kp,
                       int64_t b, int64_t t, double *a);

/* Key side of batch b (S rows), in double: W2·h̄_s (concat, A wide), else h̄_s (Dk wide; the
 * reference applies Wa on the query side, (Waᵀ·h_t)·h̄_s). kp needs S·max(Dk, A) doubles. */
void luong_ref_keys(const luong_shape_t *s, const luong_inputs_t *in, int64_t b, double *kp);

/* The attention weights of every row into a (B, T, S), in double: the heatmaps' (--dump). */
void luong_ref_attention(const luong_shape_t *s, const luong_inputs_t *in, double *a);

/* c (and, a not NULL, the weights a (B, T, S)) in double for every row r = b·T + t with
 * row_sel[r] (all when row_sel is NULL); other rows are left untouched. */
void luong_ref(const luong_shape_t *s, const luong_inputs_t *in, double *c, double *a,
               const uint8_t *row_sel);

/* The same in float32, independently ordered: key-side projection per batch (Wa·h̄_s for
 * general), two-pass softmax per row; a (B, T, S) may be NULL. */
void luong_cpu_f32(const luong_shape_t *s, const luong_inputs_t *in, float *c, float *a);

#endif
