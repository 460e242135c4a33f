/* The mhsa CPU reference (mhsa_ref, mhsa_ref_probs) and the CPU f32 variant (mhsa_cpu_f32):
 * hand-computed cases, invariants on random inputs, an independent textbook oracle, and the
 * f32 variant against the reference under the suite's own f32 tolerance — with planted bugs in a
 * copy of the f32 loop to show that the tolerance rejects every one of them. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "common.h"
#include "mhsa_ref.h"
#include "util.h"


/* Random q, k, v for shape s (N(0,1), seeded). */
typedef struct qkv {
    mhsa_shape_t s;
    float *q, *k, *v;
    int64_t nq, nk, no;
} qkv_t;

static qkv_t make_qkv(int64_t B, int64_t H, int64_t Nq, int64_t Nk, int64_t d, int causal,
                      uint64_t seed)
{
    qkv_t t = {{B, H, Nq, Nk, d, causal, 0, 0, 0}, NULL, NULL, NULL, B * H * Nq * d, B * H * Nk * d,
               B * H * Nq * d};
    t.q = tst_falloc(t.nq), t.k = tst_falloc(t.nk), t.v = tst_falloc(t.nk);
    attn_fill_normal(t.q, (size_t)t.nq, 1.0, seed, 1);
    attn_fill_normal(t.k, (size_t)t.nk, 1.0, seed, 2);
    attn_fill_normal(t.v, (size_t)t.nk, 1.0, seed, 3);
    return t;
}
static void free_qkv(qkv_t *t) { free(t->q), free(t->k), free(t->v); }

/* ------------------------------------------------------------------ hand-computed cases */

/* B = H = 1, Nq = Nk = 2, d = 1 (scale 1/√1 = 1); q = (1, 2), k = (0, 1), v = (1, 3).
 *  row 0: logits (1·0, 1·1) = (0, 1): P = (1, e)/(1 + e),   O = (1 + 3e)/(1 + e)   ≈ 2.4621
 *  row 1: logits (0, 2):               P = (1, e²)/(1 + e²), O = (1 + 3e²)/(1 + e²) ≈ 2.7616 */
Test(reference_hand, two_by_two_d1)
{
    const float q[] = {1, 2}, k[] = {0, 1}, v[] = {1, 3};
    const mhsa_shape_t s = {1, 1, 2, 2, 1, 0, 0, 0, 0};
    const double e = exp(1.0), e2 = exp(2.0);
    double o[2], p[2];
    mhsa_ref(&s, q, k, v, NULL, o, NULL);
    cr_expect_float_eq(o[0], (1 + 3 * e) / (1 + e), 1e-15, "O[0] = %.17g", o[0]);
    cr_expect_float_eq(o[1], (1 + 3 * e2) / (1 + e2), 1e-15, "O[1] = %.17g", o[1]);
    cr_expect_float_eq(o[0], 2.4621171572600098, 1e-12);
    cr_expect_float_eq(o[1], 2.7615941559557649, 1e-12);

    cr_assert_eq(mhsa_ref_probs(&s, q, k, NULL, 0, 0, 0, p), 2);
    cr_expect_float_eq(p[0], 1 / (1 + e), 1e-15);
    cr_expect_float_eq(p[1], e / (1 + e), 1e-15);
    cr_assert_eq(mhsa_ref_probs(&s, q, k, NULL, 0, 0, 1, p), 2);
    cr_expect_float_eq(p[0], 1 / (1 + e2), 1e-15);
    cr_expect_float_eq(p[1], e2 / (1 + e2), 1e-15);
}

/* The same with causal = 1: row 0 keeps key 0 only, so P = (1, 0) and O = v0 = 1 exactly;
 * row 1 keeps both keys and is unchanged. */
Test(reference_hand, two_by_two_causal)
{
    const float q[] = {1, 2}, k[] = {0, 1}, v[] = {1, 3};
    const mhsa_shape_t s = {1, 1, 2, 2, 1, 1, 0, 0, 0};
    const double e2 = exp(2.0);
    double o[2], p[2];
    mhsa_ref(&s, q, k, v, NULL, o, NULL);
    cr_expect_eq(o[0], 1.0, "causal row 0 must be v0 exactly, got %.17g", o[0]);
    cr_expect_float_eq(o[1], (1 + 3 * e2) / (1 + e2), 1e-15);
    cr_assert_eq(mhsa_ref_probs(&s, q, k, NULL, 0, 0, 0, p), 1);
    cr_expect(p[0] == 1.0 && p[1] == 0.0, "P row 0 = (%g, %g), want (1, 0)", p[0], p[1]);
}

/* Key padding on the same data: kv_len = 1 → both rows see key 0 only → O = (1, 1);
 * kv_len = 0 → every key masked → O = (0, 0) and P = 0 (never NaN). */
Test(reference_hand, two_by_two_kv_len)
{
    const float q[] = {1, 2}, k[] = {0, 1}, v[] = {1, 3};
    const mhsa_shape_t s = {1, 1, 2, 2, 1, 0, 0, 0, 0};
    double o[2], p[2];
    const int32_t one[] = {1}, zero[] = {0};
    mhsa_ref(&s, q, k, v, one, o, NULL);
    cr_expect(o[0] == 1.0 && o[1] == 1.0, "kv_len 1: O = (%g, %g), want (1, 1)", o[0], o[1]);
    mhsa_ref(&s, q, k, v, zero, o, NULL);
    cr_expect(o[0] == 0.0 && o[1] == 0.0, "kv_len 0: O = (%g, %g), want (0, 0)", o[0], o[1]);
    cr_assert_eq(mhsa_ref_probs(&s, q, k, zero, 0, 0, 1, p), 0);
    cr_expect(p[0] == 0.0 && p[1] == 0.0, "kv_len 0: P = (%g, %g)", p[0], p[1]);
}

/* d = 4 (scale 1/√4 = 1/2), Nq = 1, Nk = 3, q = (1,1,1,1):
 *  k0 = (1,1,1,1) → q·k0 = 4 → logit 2;  k1 = (1,-1,1,-1) → 0 → logit 0;  k2 = -k0 → logit -2.
 *  P = (e², 1, e⁻²) / (e² + 1 + e⁻²) ≈ (0.8668, 0.1173, 0.0159).
 *  v_j = unit vector e_j, so O = (P0, P1, P2, 0) shows P directly.
 * (A scale of 1/d would give logits (1, 0, -1), and no scale (4, 0, -4): both visibly wrong.) */
Test(reference_hand, scale_is_inverse_sqrt_d)
{
    const float q[] = {1, 1, 1, 1};
    const float k[] = {1, 1, 1, 1, 1, -1, 1, -1, -1, -1, -1, -1};
    const float v[] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0};
    const mhsa_shape_t s = {1, 1, 1, 3, 4, 0, 0, 0, 0};
    const double z = exp(2.0) + 1.0 + exp(-2.0);
    const double want[4] = {exp(2.0) / z, 1.0 / z, exp(-2.0) / z, 0.0};
    double o[4];
    mhsa_ref(&s, q, k, v, NULL, o, NULL);
    for (int c = 0; c < 4; c++)
        cr_expect_float_eq(o[c], want[c], 1e-15, "O[%d] = %.17g, want %.17g", c, o[c], want[c]);
    cr_expect_float_eq(o[0], 0.86681333219734068, 1e-12);

    /* causal with Nq = 1 < Nk = 3: query 0 keeps key 0 only → O = v0 */
    const mhsa_shape_t sc = {1, 1, 1, 3, 4, 1, 0, 0, 0};
    mhsa_ref(&sc, q, k, v, NULL, o, NULL);
    cr_expect(o[0] == 1.0 && o[1] == 0.0 && o[2] == 0.0 && o[3] == 0.0,
              "causal Nq=1: O = (%g, %g, %g, %g), want v0", o[0], o[1], o[2], o[3]);
}

/* B = 2, H = 2, Nq = 1, Nk = 2, d = 1, q = 0: every logit is 0, so P = (1/2, 1/2) and
 * O[b,h] = (v[b,h,0] + v[b,h,1]) / 2 — checks the (b, h) indexing of K, V, O and of kv_len:
 *  v = (1,2 | 3,4 | 5,6 | 7,8) → O = (1.5, 3.5, 5.5, 7.5);
 *  kv_len = (1, 2): batch 0 sees key 0 only → O = (1, 3, 5.5, 7.5). */
Test(reference_hand, batch_head_indexing)
{
    const float q[4] = {0, 0, 0, 0}, k[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const float v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    const mhsa_shape_t s = {2, 2, 1, 2, 1, 0, 0, 0, 0};
    double o[4];
    mhsa_ref(&s, q, k, v, NULL, o, NULL);
    const double want[4] = {1.5, 3.5, 5.5, 7.5};
    for (int r = 0; r < 4; r++) cr_expect_eq(o[r], want[r], "O[%d] = %g, want %g", r, o[r], want[r]);
    const int32_t len[2] = {1, 2};
    mhsa_ref(&s, q, k, v, len, o, NULL);
    const double want2[4] = {1, 3, 5.5, 7.5};
    for (int r = 0; r < 4; r++)
        cr_expect_eq(o[r], want2[r], "kv_len (1,2): O[%d] = %g, want %g", r, o[r], want2[r]);
}

/* Large logits must not overflow: q = 1000, k = (1, 0.5) (d = 1) gives logits (1000, 500); a
 * softmax without max-subtraction computes exp(1000) = inf and returns NaN. Exactly:
 * P = (1, e^-500)/(1 + e^-500), so O = v0 to double precision. Same for the f32 variant. */
Test(reference_hand, large_logits_are_stable)
{
    const float q[] = {1000}, k[] = {1, 0.5f}, v[] = {2, -7};
    const mhsa_shape_t s = {1, 1, 1, 2, 1, 0, 0, 0, 0};
    double o;
    mhsa_ref(&s, q, k, v, NULL, &o, NULL);
    cr_expect_eq(o, 2.0, "O = %g, want 2", o);
    float of;
    mhsa_cpu_f32(&s, q, k, v, NULL, &of);
    cr_expect_eq(of, 2.0f, "f32: O = %g, want 2", of);
}

/* ------------------------------------------------------------------ an independent oracle */

/* The textbook formula, written separately from the reference: all logits (masked = −∞), then
 * max, exp, normalise, multiply. A row with every key masked gives 0. */
static void oracle(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
                   const int32_t *kv_len, double *o)
{
    double *S = tst_dalloc(s->Nk);
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t h = 0; h < s->H; h++)
            for (int64_t i = 0; i < s->Nq; i++) {
                const float *qi = q + ((b * s->H + h) * s->Nq + i) * s->d;
                double m = -INFINITY;
                for (int64_t j = 0; j < s->Nk; j++) {
                    const int masked = (s->causal && j > i) || (kv_len && j >= kv_len[b]);
                    const float *kj = k + ((b * s->H + h) * s->Nk + j) * s->d;
                    double dot = 0;
                    for (int64_t c = 0; c < s->d; c++) dot += (double)qi[c] * kj[c];
                    S[j] = masked ? -INFINITY : dot / sqrt((double)s->d);
                    m = fmax(m, S[j]);
                }
                double z = 0;
                for (int64_t j = 0; j < s->Nk; j++) z += (S[j] = m == -INFINITY ? 0 : exp(S[j] - m));
                double *oi = o + ((b * s->H + h) * s->Nq + i) * s->d;
                for (int64_t c = 0; c < s->d; c++) {
                    double acc = 0;
                    for (int64_t j = 0; j < s->Nk; j++)
                        acc += S[j] * v[((b * s->H + h) * s->Nk + j) * s->d + c];
                    oi[c] = z > 0 ? acc / z : 0.0;
                }
            }
    free(S);
}

static double max_abs_diff(const double *a, const double *b, int64_t n, int64_t *at)
{
    double m = 0;
    for (int64_t e = 0; e < n; e++) {
        double d = fabs(a[e] - b[e]);
        if (!(d <= m)) m = d, *at = e; /* NaN counts as the worst */
    }
    return m;
}

/* Random shapes, both Nk > Nq and Nk < Nq, with and without causal and kv_len (including 0
 * and Nk): the reference agrees with the oracle to ~1e-13. */
Test(reference_random, matches_textbook_oracle)
{
    static const struct { int64_t B, H, Nq, Nk, d; int causal, pad; } cs[] = {
        {2, 3, 7, 7, 8, 0, 0},   {2, 3, 7, 7, 8, 1, 0},   {1, 2, 5, 19, 16, 0, 0},
        {1, 2, 5, 19, 16, 1, 0}, {1, 2, 19, 5, 16, 0, 0}, {1, 2, 19, 5, 16, 1, 0},
        {3, 1, 13, 29, 4, 0, 1}, {3, 1, 29, 13, 4, 1, 1}, {2, 2, 1, 1, 1, 1, 1},
    };
    for (size_t t = 0; t < sizeof cs / sizeof cs[0]; t++) {
        qkv_t x = make_qkv(cs[t].B, cs[t].H, cs[t].Nq, cs[t].Nk, cs[t].d, cs[t].causal, 100 + t);
        int32_t len[3] = {(int32_t)cs[t].Nk, 0, (int32_t)(cs[t].Nk / 2)}; /* all, none, half */
        double *o = tst_dalloc(x.no), *w = tst_dalloc(x.no);
        mhsa_ref(&x.s, x.q, x.k, x.v, cs[t].pad ? len : NULL, o, NULL);
        oracle(&x.s, x.q, x.k, x.v, cs[t].pad ? len : NULL, w);
        int64_t at = 0;
        double d = max_abs_diff(o, w, x.no, &at);
        cr_expect(d <= 1e-13, "case %zu (B=%lld H=%lld Nq=%lld Nk=%lld d=%lld causal=%d pad=%d): "
                  "|ref - oracle| = %g at %lld (ref %g, oracle %g)", t, (long long)cs[t].B,
                  (long long)cs[t].H, (long long)cs[t].Nq, (long long)cs[t].Nk,
                  (long long)cs[t].d, cs[t].causal, cs[t].pad, d, (long long)at, o[at], w[at]);
        free(o), free(w), free_qkv(&x);
    }
}

/* Every row of P sums to 1 over its unmasked keys, masked keys get exactly 0, and the count
 * returned is the number of unmasked keys. */
Test(reference_random, probs_rows_sum_to_one_masked_zero)
{
    for (int causal = 0; causal <= 1; causal++) {
        qkv_t x = make_qkv(3, 2, 11, 17, 8, causal, 7);
        const int32_t len[3] = {17, 6, 0};
        double *p = tst_dalloc(x.s.Nk);
        for (int64_t b = 0; b < 3; b++)
            for (int64_t h = 0; h < 2; h++)
                for (int64_t i = 0; i < 11; i++) {
                    int64_t want = len[b];
                    if (causal && i + 1 < want) want = i + 1;
                    int64_t n = mhsa_ref_probs(&x.s, x.q, x.k, len, b, h, i, p);
                    cr_assert_eq(n, want, "causal=%d b=%lld i=%lld: %lld unmasked keys, want %lld",
                                 causal, (long long)b, (long long)i, (long long)n, (long long)want);
                    double sum = 0;
                    for (int64_t j = 0; j < x.s.Nk; j++) {
                        if (j >= want)
                            cr_assert_eq(p[j], 0.0, "masked key %lld of row (b=%lld,i=%lld) "
                                         "has P = %g", (long long)j, (long long)b, (long long)i, p[j]);
                        else
                            cr_assert(p[j] > 0 && p[j] <= 1, "P[%lld] = %g", (long long)j, p[j]);
                        sum += p[j];
                    }
                    if (want) cr_assert_float_eq(sum, 1.0, 1e-14, "row sum %.17g", sum);
                    else cr_assert_eq(sum, 0.0, "all-masked row sums to %g", sum);
                }
        free(p), free_qkv(&x);
    }
}

/* Permuting keys and values together (the same permutation) leaves O unchanged. */
Test(reference_random, key_permutation_invariance)
{
    qkv_t x = make_qkv(2, 3, 17, 23, 8, 0, 11);
    float *kp = tst_falloc(x.nk), *vp = tst_falloc(x.nk);
    int64_t perm[23];
    for (int j = 0; j < 23; j++) perm[j] = j;
    attn_rng_t r;
    attn_rng_seed(&r, 5, 0);
    for (int j = 22; j > 0; j--) { /* Fisher–Yates */
        int64_t m = (int64_t)(attn_rng_u64(&r) % (uint64_t)(j + 1)), t = perm[j];
        perm[j] = perm[m], perm[m] = t;
    }
    for (int64_t bh = 0; bh < 6; bh++)
        for (int64_t j = 0; j < 23; j++)
            for (int64_t c = 0; c < 8; c++) {
                kp[(bh * 23 + j) * 8 + c] = x.k[(bh * 23 + perm[j]) * 8 + c];
                vp[(bh * 23 + j) * 8 + c] = x.v[(bh * 23 + perm[j]) * 8 + c];
            }
    double *o = tst_dalloc(x.no), *op = tst_dalloc(x.no);
    mhsa_ref(&x.s, x.q, x.k, x.v, NULL, o, NULL);
    mhsa_ref(&x.s, x.q, kp, vp, NULL, op, NULL);
    int64_t at = 0;
    double d = max_abs_diff(o, op, x.no, &at);
    cr_expect(d <= 1e-13, "permuted keys change O by %g at %lld", d, (long long)at);
    free(kp), free(vp), free(o), free(op), free_qkv(&x);
}

/* Causal: row 0 of every (b, h) equals v0 exactly, and row i depends on keys 0..i only
 * (changing keys and values j > i changes nothing in rows <= i). */
Test(reference_random, causal_row0_is_v0_and_future_ignored)
{
    qkv_t x = make_qkv(2, 2, 9, 9, 16, 1, 13);
    double *o = tst_dalloc(x.no), *o2 = tst_dalloc(x.no);
    mhsa_ref(&x.s, x.q, x.k, x.v, NULL, o, NULL);
    for (int64_t bh = 0; bh < 4; bh++)
        for (int64_t c = 0; c < 16; c++)
            cr_assert_eq(o[bh * 9 * 16 + c], (double)x.v[bh * 9 * 16 + c],
                         "bh=%lld c=%lld: row 0 = %.17g, v0 = %.17g", (long long)bh,
                         (long long)c, o[bh * 9 * 16 + c], (double)x.v[bh * 9 * 16 + c]);
    /* scramble keys/values 5..8: rows 0..4 stay identical */
    for (int64_t bh = 0; bh < 4; bh++)
        for (int64_t j = 5; j < 9; j++)
            for (int64_t c = 0; c < 16; c++)
                x.k[(bh * 9 + j) * 16 + c] *= -3.0f, x.v[(bh * 9 + j) * 16 + c] += 1.0f;
    mhsa_ref(&x.s, x.q, x.k, x.v, NULL, o2, NULL);
    for (int64_t bh = 0; bh < 4; bh++)
        for (int64_t i = 0; i < 9; i++)
            for (int64_t c = 0; c < 16; c++) {
                const int64_t e = (bh * 9 + i) * 16 + c;
                if (i <= 4) cr_assert_eq(o[e], o2[e], "row %lld changed with future keys", (long long)i);
                else cr_assert_neq(o[e], o2[e], "row %lld ignored key changes", (long long)i);
            }
    free(o), free(o2), free_qkv(&x);
}

/* Key padding: kv_len[b] = L gives exactly the O of the problem with K, V truncated to L keys
 * (per batch); kv_len[b] = 0 gives exactly 0, never NaN. */
Test(reference_random, kv_len_equals_truncation)
{
    for (int causal = 0; causal <= 1; causal++) {
        const int64_t B = 3, H = 2, Nq = 10, Nk = 14, d = 8;
        qkv_t x = make_qkv(B, H, Nq, Nk, d, causal, 17 + causal);
        const int32_t len[3] = {9, 0, 14};
        double *o = tst_dalloc(x.no);
        for (int64_t e = 0; e < x.no; e++) o[e] = NAN;
        mhsa_ref(&x.s, x.q, x.k, x.v, len, o, NULL);
        for (int64_t b = 0; b < B; b++) {
            const int64_t L = len[b];
            const int64_t per = H * Nq * d;
            if (L == 0) {
                for (int64_t e = 0; e < per; e++)
                    cr_assert(o[b * per + e] == 0.0, "kv_len 0: O[b=%lld][%lld] = %g, want 0",
                              (long long)b, (long long)e, o[b * per + e]);
                continue;
            }
            /* batch b alone, K and V cut to L keys */
            mhsa_shape_t t = {1, H, Nq, L, d, causal, 0, 0, 0};
            float *kt = tst_falloc(H * L * d), *vt = tst_falloc(H * L * d);
            for (int64_t h = 0; h < H; h++)
                for (int64_t j = 0; j < L; j++)
                    for (int64_t c = 0; c < d; c++) {
                        kt[(h * L + j) * d + c] = x.k[((b * H + h) * Nk + j) * d + c];
                        vt[(h * L + j) * d + c] = x.v[((b * H + h) * Nk + j) * d + c];
                    }
            double *ot = tst_dalloc(per);
            mhsa_ref(&t, x.q + b * per, kt, vt, NULL, ot, NULL);
            for (int64_t e = 0; e < per; e++)
                cr_assert_eq(o[b * per + e], ot[e], "causal=%d b=%lld (kv_len %lld) elem %lld: "
                             "%.17g vs truncated %.17g", causal, (long long)b, (long long)L,
                             (long long)e, o[b * per + e], ot[e]);
            free(kt), free(vt), free(ot);
        }
        free(o), free_qkv(&x);
    }
}

/* row_sel: only the selected rows are computed (equal to the full result); the others keep
 * whatever was in o. */
Test(reference_random, row_sel_only_selected_rows)
{
    qkv_t x = make_qkv(2, 2, 8, 12, 4, 1, 19);
    const int64_t rows = 2 * 2 * 8;
    double *full = tst_dalloc(x.no), *o = tst_dalloc(x.no);
    mhsa_ref(&x.s, x.q, x.k, x.v, NULL, full, NULL);
    uint8_t sel[32] = {0};
    sel[0] = sel[5] = sel[17] = sel[rows - 1] = 1;
    for (int64_t e = 0; e < x.no; e++) o[e] = 777.0;
    mhsa_ref(&x.s, x.q, x.k, x.v, NULL, o, sel);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < 4; c++) {
            const int64_t e = r * 4 + c;
            if (sel[r]) cr_assert_eq(o[e], full[e], "selected row %lld differs", (long long)r);
            else cr_assert_eq(o[e], 777.0, "unselected row %lld was written (%g)", (long long)r, o[e]);
        }
    free(full), free(o), free_qkv(&x);
}

/* ------------------------------------------------------------------ the suite's formulas */

/* FLOPs and bytes as docs/suites.md states them: 4·B·H·d per visible (query, key) pair and
 * s·B·d·(2·H·Nq + 2·Hkv·Nk). Pairs counted by hand: top-left causal 7 × 11 keeps i + 1 keys of
 * row i, 1 + ... + 7 = 28; bottom-right (diag 4) keeps i + 5, 5 + ... + 11 = 56; a causal
 * window of 3 keeps min(i + 1, 3): 1 + 2 + 3·5 = 18; a two-sided window of 3, top-left, keeps
 * keys i − 2 .. i + 2 within 0 .. 10: 3 + 4 + 5·5 = 32. */
Test(mhsa_suite, flops_and_bytes_as_spec)
{
    const attn_suite_t *s = tst_suite("mhsa");
    int64_t *v = tst_case(s, "B=3,H=5,N=7,Nk=11,d=16,D=80,tokens=21");
    cr_expect_eq(s->flops(s, v), 4.0 * 3 * 5 * 7 * 11 * 16);
    cr_expect_eq(s->bytes(s, v, 2), 2.0 * 3 * 5 * (2 * 7 * 16 + 2 * 11 * 16));
    free(v);
    const struct { const char *extra; double pairs; } cs[] = {
        {"causal=1", 28}, {"causal=1,align=1", 56}, {"causal=1,window=3", 18}, {"window=3", 32},
    };
    for (size_t t = 0; t < sizeof cs / sizeof cs[0]; t++) {
        char shape[128];
        snprintf(shape, sizeof shape, "B=3,H=5,N=7,Nk=11,d=16,D=80,tokens=21,%s", cs[t].extra);
        v = tst_case(s, shape);
        cr_expect_eq(s->flops(s, v), 4.0 * 3 * 5 * 16 * cs[t].pairs, "%s: %g", shape,
                     s->flops(s, v));
        free(v);
    }
    /* grouped K/V heads: the same FLOPs, K/V bytes of Hkv = 1 head */
    v = tst_case(s, "B=3,H=6,N=7,Nk=11,d=16,D=96,tokens=21,Hkv=1");
    cr_expect_eq(s->flops(s, v), 4.0 * 3 * 6 * 7 * 11 * 16);
    cr_expect_eq(s->bytes(s, v, 2), 2.0 * 3 * 16 * (2 * 6 * 7 + 2 * 1 * 11));
    free(v);
}

/* H not a multiple of Hkv is bad usage naming both values. */
Test(mhsa_suite, hkv_must_divide_h)
{
    const tst_bad_shape_t bad[] = {{"H=6,Hkv=4", "H=6 is not a multiple of Hkv=4"},
                                  {"H=4,Hkv=8", "H=4 is not a multiple of Hkv=8"}};
    tst_expect_bad_shapes("mhsa", bad, sizeof bad / sizeof bad[0]);
}

/* ------------------------------------------------------------------ grouped heads, alignment,
 * windows: the reference against itself */

/* MQA (Hkv = 1) equals MHA on K/V repeated per head; GQA (Hkv = 2 of H = 4) likewise, head h
 * reading K/V head h / 2. Bit-identical: the same products in the same order. */
Test(reference_gqa, equals_mha_with_repeated_kv)
{
    const int64_t B = 2, H = 4, Nq = 5, Nk = 9, d = 8;
    for (int64_t Hkv = 1; Hkv <= 2; Hkv++) {
        qkv_t x = make_qkv(B, H, Nq, Nk, d, 1, 41);
        mhsa_shape_t g = x.s;
        g.Hkv = Hkv;
        g.diag = 3; /* bottom-right-ish diagonal too */
        /* x.k holds B·H heads; take the grouped K/V as the first Hkv heads of each batch, and
         * build the repeated MHA copy from them */
        float *kg = tst_falloc(B * Hkv * Nk * d), *vg = tst_falloc(B * Hkv * Nk * d);
        float *kr = tst_falloc(x.nk), *vr = tst_falloc(x.nk);
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < H; h++) {
                const int64_t src = (b * H + h) * Nk * d, gh = (b * Hkv + h % Hkv) * Nk * d;
                if (h < Hkv) memcpy(kg + gh, x.k + src, sizeof(float) * Nk * d),
                             memcpy(vg + gh, x.v + src, sizeof(float) * Nk * d);
            }
        for (int64_t b = 0; b < B; b++)
            for (int64_t h = 0; h < H; h++) {
                const int64_t gh = (b * Hkv + h / (H / Hkv)) * Nk * d;
                memcpy(kr + (b * H + h) * Nk * d, kg + gh, sizeof(float) * Nk * d);
                memcpy(vr + (b * H + h) * Nk * d, vg + gh, sizeof(float) * Nk * d);
            }
        mhsa_shape_t m = g;
        m.Hkv = H;
        double *og = tst_dalloc(x.no), *om = tst_dalloc(x.no);
        float *of = tst_falloc(x.no), *ofm = tst_falloc(x.no);
        mhsa_ref(&g, x.q, kg, vg, NULL, og, NULL);
        mhsa_ref(&m, x.q, kr, vr, NULL, om, NULL);
        mhsa_cpu_f32(&g, x.q, kg, vg, NULL, of);
        mhsa_cpu_f32(&m, x.q, kr, vr, NULL, ofm);
        cr_expect(memcmp(og, om, sizeof(double) * x.no) == 0, "Hkv=%lld: reference differs from "
                  "MHA on repeated K/V", (long long)Hkv);
        cr_expect(memcmp(of, ofm, sizeof(float) * x.no) == 0, "Hkv=%lld: cpu-f32 differs",
                  (long long)Hkv);
        /* and the grouping matters: head 1 of MQA is not head 1 of the unrepeated MHA */
        mhsa_ref(&m, x.q, x.k, x.v, NULL, om, NULL);
        cr_expect(memcmp(og, om, sizeof(double) * x.no) != 0, "grouping had no effect");
        free(kg), free(vg), free(kr), free(vr), free(og), free(om), free(of), free(ofm);
        free_qkv(&x);
    }
}

/* Bottom-right alignment (diag = Nk − Nq) with Nk = Nq is top-left; with Nk > Nq it is not. A
 * window of at least Nk (one- or two-sided) is no window. */
Test(reference_gqa, alignment_and_window_identities)
{
    qkv_t x = make_qkv(2, 3, 13, 13, 8, 1, 43);
    double *a = tst_dalloc(x.no), *b = tst_dalloc(x.no);
    mhsa_shape_t s = x.s;
    s.diag = s.Nk - s.Nq; /* = 0 */
    mhsa_ref(&x.s, x.q, x.k, x.v, NULL, a, NULL);
    mhsa_ref(&s, x.q, x.k, x.v, NULL, b, NULL);
    cr_expect(memcmp(a, b, sizeof(double) * x.no) == 0, "bottom-right, Nk = Nq: differs");
    for (int causal = 0; causal <= 1; causal++) {
        s = x.s;
        s.causal = causal;
        mhsa_ref(&s, x.q, x.k, x.v, NULL, a, NULL);
        s.window = s.Nk;
        mhsa_ref(&s, x.q, x.k, x.v, NULL, b, NULL);
        cr_expect(memcmp(a, b, sizeof(double) * x.no) == 0, "window = Nk, causal=%d: differs",
                  causal);
        s.window = s.Nk - 1; /* one key fewer for some row: must differ */
        mhsa_ref(&s, x.q, x.k, x.v, NULL, b, NULL);
        cr_expect(memcmp(a, b, sizeof(double) * x.no) != 0, "window = Nk - 1 changed nothing");
    }
    free(a), free(b), free_qkv(&x);
    /* Nk > Nq: bottom-right row i sees i + Nk − Nq + 1 keys */
    qkv_t y = make_qkv(1, 1, 3, 7, 4, 1, 44);
    mhsa_shape_t br = y.s;
    br.diag = 4;
    double p[7];
    for (int64_t i = 0; i < 3; i++)
        cr_expect_eq(mhsa_ref_probs(&br, y.q, y.k, NULL, 0, 0, i, p), i + 5, "row %lld",
                     (long long)i);
    free_qkv(&y);
}

/* A hand-computed window: d = 1, q = 1, k = (0, 1, 2, 3), v = (1, 2, 4, 8), Nq = 1, Nk = 4,
 * bottom-right (diag 3: the query sits on key 3), causal, window 2: keys 2 and 3 only, logits
 * (2, 3): O = (4 + 8e)/(1 + e). Non-causal window 2 on diag 1: keys 0..2, logits (0, 1, 2):
 * O = (1 + 2e + 4e²)/(1 + e + e²). Key padding kv_len = 3 cuts the first to key 2 alone: O = 4. */
Test(reference_hand, window_d1)
{
    const float q[] = {1}, k[] = {0, 1, 2, 3}, v[] = {1, 2, 4, 8};
    const double e = exp(1.0);
    mhsa_shape_t s = {1, 1, 1, 4, 1, 1, 0, 3, 2};
    double o, p[4];
    mhsa_ref(&s, q, k, v, NULL, &o, NULL);
    cr_expect_float_eq(o, (4 + 8 * e) / (1 + e), 1e-15, "causal window: %.17g", o);
    cr_assert_eq(mhsa_ref_probs(&s, q, k, NULL, 0, 0, 0, p), 2);
    cr_expect(p[0] == 0 && p[1] == 0, "keys outside the window: P = (%g, %g)", p[0], p[1]);
    const int32_t three[] = {3};
    mhsa_ref(&s, q, k, v, three, &o, NULL);
    cr_expect_eq(o, 4.0, "window and kv_len: %.17g", o);
    s = (mhsa_shape_t){1, 1, 1, 4, 1, 0, 0, 1, 2};
    mhsa_ref(&s, q, k, v, NULL, &o, NULL);
    cr_expect_float_eq(o, (1 + 2 * e + 4 * e * e) / (1 + e + e * e), 1e-15, "two-sided: %.17g",
                       o);
    float of;
    mhsa_cpu_f32(&s, q, k, v, NULL, &of);
    cr_expect_float_eq(of, (1 + 2 * e + 4 * e * e) / (1 + e + e * e), 1e-6);
    /* diag far below: every key masked → 0, never NaN */
    s = (mhsa_shape_t){1, 1, 1, 4, 1, 1, 0, -1, 0};
    mhsa_ref(&s, q, k, v, NULL, &o, NULL);
    cr_expect_eq(o, 0.0, "no visible key: %g", o);
}

/* The generator: deterministic per seed; kvpad lengths in [1, Nk] except the last batch (B ≥ 2),
 * which has none; without kvpad every length is Nk. */
Test(mhsa_suite, generator)
{
    const attn_suite_t *s = tst_suite("mhsa");
    for (int pad = 0; pad <= 1; pad++) {
        char shape[128];
        snprintf(shape, sizeof shape, "B=6,N=40,Nk=50,d=8,D=16,tokens=240,kvpad=%d", pad);
        int64_t *v = tst_case(s, shape);
        attn_layout_t L;
        s->layout(s, v, &L);
        void *a[ATTN_MAX_TENSORS], *b[ATTN_MAX_TENSORS];
        for (int i = 0; i < L.nin; i++) {
            const size_t nb = (size_t)attn_tensor_numel(&L.in[i]) * 4;
            a[i] = calloc(nb, 1), b[i] = calloc(nb, 1);
            cr_assert(a[i] && b[i]);
        }
        s->generate(s, v, 9, a);
        s->generate(s, v, 9, b);
        for (int i = 0; i < L.nin; i++)
            cr_expect(!memcmp(a[i], b[i], (size_t)attn_tensor_numel(&L.in[i]) * 4),
                      "%s differs between two runs with one seed", L.in[i].name);
        s->generate(s, v, 10, b);
        cr_expect(memcmp(a[0], b[0], (size_t)attn_tensor_numel(&L.in[0]) * 4),
                  "q does not depend on the seed");
        cr_expect(memcmp(a[0], a[1], 4 * 16), "q and k are the same stream");
        const int32_t *len = a[3];
        for (int bb = 0; bb < 6; bb++) {
            if (!pad) cr_expect_eq(len[bb], 50);
            else if (bb == 5) cr_expect_eq(len[bb], 0, "last batch has %d keys, want 0", len[bb]);
            else cr_expect(len[bb] >= 1 && len[bb] <= 50, "kv_len[%d] = %d", bb, len[bb]);
        }
        for (int i = 0; i < L.nin; i++) free(a[i]), free(b[i]);
        free(v);
    }
}

/* ------------------------------------------------------------------ f32 variant vs reference */

/* A copy of mhsa_cpu_f32's loop with one bug switched in (BUG_NONE: the faithful copy). */
typedef enum bug {
    BUG_NONE,
    BUG_LAST_KEY,      /* key bound off by one: the last valid key is skipped */
    BUG_CAUSAL_OBO,    /* causal keeps keys j < i instead of j <= i */
    BUG_SCALE,         /* 1/d instead of 1/√d */
    BUG_NO_RESCALE,    /* online softmax forgets to rescale the accumulator on a new max */
    BUG_V_BATCH,       /* V read from batch 0 for every batch (a wrong index) */
    BUG_KVLEN_BATCH0,  /* kv_len[0] used for every batch */
    BUG_MASKED_NAN,    /* an all-masked row divides 0 by 0 */
    NBUGS
} bug_t;
static const char *const bug_name[NBUGS] = {"none", "last key skipped", "causal off by one",
                                             "scale 1/d", "no rescale", "V batch index",
                                             "kv_len of batch 0", "masked row NaN"};

static void f32_copy(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
                     const int32_t *kv_len, float *o, bug_t bug)
{
    const int64_t d = s->d;
    const float scale = bug == BUG_SCALE ? 1.0f / (float)d : 1.0f / sqrtf((float)d);
    float *acc = tst_falloc(d);
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t h = 0; h < s->H; h++) {
            const int64_t bh = b * s->H + h;
            const float *kb = k + bh * s->Nk * d;
            const float *vb = v + (bug == BUG_V_BATCH ? h : bh) * s->Nk * d;
            for (int64_t i = 0; i < s->Nq; i++) {
                const float *qi = q + (bh * s->Nq + i) * d;
                int64_t n = s->Nk;
                const int32_t *len = kv_len ? kv_len + (bug == BUG_KVLEN_BATCH0 ? 0 : b) : NULL;
                if (len && *len < n) n = *len < 0 ? 0 : *len;
                if (s->causal && i + 1 < n) n = bug == BUG_CAUSAL_OBO ? i : i + 1;
                if (bug == BUG_LAST_KEY && n > 0) n--;
                float m = -INFINITY, l = 0.0f;
                for (int64_t c = 0; c < d; c++) acc[c] = 0.0f;
                for (int64_t j = 0; j < n; j++) {
                    float sj = 0.0f;
                    for (int64_t c = 0; c < d; c++) sj += qi[c] * kb[j * d + c];
                    sj *= scale;
                    if (sj > m) {
                        const float r = expf(m - sj);
                        l *= r;
                        if (bug != BUG_NO_RESCALE)
                            for (int64_t c = 0; c < d; c++) acc[c] *= r;
                        m = sj;
                    }
                    const float pj = expf(sj - m);
                    l += pj;
                    for (int64_t c = 0; c < d; c++) acc[c] += pj * vb[j * d + c];
                }
                float *oi = o + (bh * s->Nq + i) * d;
                for (int64_t c = 0; c < d; c++)
                    oi[c] = (l > 0.0f || bug == BUG_MASKED_NAN) ? acc[c] / l : 0.0f;
            }
        }
    free(acc);
}

/* One case built from a --shape string through the registry, as the harness builds it: inputs
 * from the suite's generator, the reference, and the suite's f32 tolerance. */
typedef struct fcase {
    const attn_suite_t *su;
    int64_t *v;
    attn_layout_t L;
    void *in[ATTN_MAX_TENSORS];
    double *ref;
    int64_t no, row_len;
    double tol;
    mhsa_shape_t s;
    const int32_t *kv_len;
} fcase_t;

static fcase_t make_case(const char *shape)
{
    fcase_t c = {0};
    c.su = tst_suite("mhsa");
    c.v = tst_case(c.su, shape);
    c.su->layout(c.su, c.v, &c.L);
    for (int i = 0; i < c.L.nin; i++)
        c.in[i] = tst_falloc(attn_tensor_numel(&c.L.in[i]) + 1); /* floats and int32 are 4 bytes */
    c.su->generate(c.su, c.v, 42, c.in);
    c.no = attn_tensor_numel(&c.L.out);
    c.row_len = c.no / c.L.out_rows;
    c.ref = tst_dalloc(c.no);
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    c.tol = c.su->tolerance(c.su, c.v, ATTN_F32);
    c.s = (mhsa_shape_t){tst_axis(c.su, c.v, "B"), tst_axis(c.su, c.v, "H"),
                         tst_axis(c.su, c.v, "N"), tst_axis(c.su, c.v, "Nk"),
                         tst_axis(c.su, c.v, "d"), (int)tst_axis(c.su, c.v, "causal"),
                         tst_axis(c.su, c.v, "Hkv"),
                         tst_axis(c.su, c.v, "align") ? tst_axis(c.su, c.v, "Nk") -
                                                            tst_axis(c.su, c.v, "N") : 0,
                         tst_axis(c.su, c.v, "window")};
    c.kv_len = tst_axis(c.su, c.v, "kvpad") ? c.in[3] : NULL;
    cr_assert_eq(c.L.nin, 4);
    cr_assert_str_eq(c.L.in[3].name, "kv_len");
    return c;
}

static void free_case(fcase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
    free(c->ref), free(c->v);
}

static attn_check_t check_f32(const fcase_t *c, const float *out)
{
    return attn_compare(out, ATTN_F32, c->ref, c->no, c->row_len, NULL, c->tol);
}

static const char *const shapes[] = {
    "N=64,d=16,D=32,tokens=128",
    "N=100,Nk=37,d=8,D=16,tokens=200,causal=1",
    "N=33,Nk=130,d=64,D=64,tokens=66,kvpad=1",
    "N=257,d=32,D=64,tokens=514,causal=1,kvpad=1",
    "N=1,d=8,D=8,tokens=3,kvpad=1",
    "N=600,d=128,D=128,tokens=600",
};

/* The suite's f32 tolerance is what the harness uses; sanity of its size: above the f32 error
 * floor, far below anything a bug produces. */
Test(f32_variant, tolerance_is_sane)
{
    fcase_t c = make_case("N=512,d=64,D=64,tokens=512");
    cr_assert(c.tol > 1e-6 && c.tol < 1e-3, "f32 tolerance %g out of the sane range", c.tol);
    const double tb = c.su->tolerance(c.su, c.v, ATTN_BF16);
    cr_assert(tb > c.tol && tb < 0.05, "bf16 tolerance %g", tb);
    free_case(&c);
}

/* f16's tolerance is the derivation's (suites/mhsa.c): bf16's 4u with f16's u = 2^-11, plus
 * 2^-24·Nk for the unfused rows' subnormal P. So it is 8× tighter than bf16's at small Nk, and
 * tighter at every check shape and every case of the GPU sweep (Nk up to 32768); only past
 * Nk ≈ 230k would it be looser. */
Test(tolerance, f16_is_derived_and_tighter_than_bf16)
{
    const attn_suite_t *s = tst_suite("mhsa");
    const int nk = attn_axis_index(s, "Nk");
    attn_opts_t o;
    attn_opts_init(&o);
    char err[256];
    int64_t *c = NULL;
    for (int mode = 0; mode < 2; mode++) { /* the check shapes, then the GPU sweep's grid */
        o.check_shapes = mode == 0, o.sweep = mode == 1;
        const int n = attn_build_cases(s, &o, 0, &c, err, sizeof err);
        cr_assert(n > 0, "%s", err);
        for (int i = 0; i < n; i++) {
            const int64_t *v = c + (size_t)i * (size_t)s->naxes;
            const double t16 = s->tolerance(s, v, ATTN_F16), tb = s->tolerance(s, v, ATTN_BF16);
            cr_expect_eq(t16, 4 * 0x1p-11 + 0x1p-24 * (double)v[nk], "Nk=%lld", (long long)v[nk]);
            cr_expect_eq(tb, 4 * 0x1p-8);
            cr_expect_lt(t16, tb / (v[nk] <= 16384 ? 5 : 3), "Nk=%lld: f16 %g, bf16 %g",
                         (long long)v[nk], t16, tb);
        }
        free(c);
        c = NULL;
    }
    /* the unit roundoffs behind them */
    cr_expect_eq(attn_unit_roundoff(ATTN_F16), 0x1p-11);
    cr_expect_eq(attn_unit_roundoff(ATTN_BF16), 0x1p-8);
}

/* mhsa_cpu_f32 (directly, and as the registry's cpu-f32 variant) agrees with the reference
 * within the suite's f32 tolerance on every shape; so does the faithful copy of its loop. */
Test(f32_variant, agrees_with_reference)
{
    const attn_variant_t *x = tst_variant(tst_suite("mhsa"), "cpu-f32");
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        fcase_t c = make_case(shapes[t]);
        float *out = tst_falloc(c.no), *out2 = tst_falloc(c.no);
        memset(out, 0xFF, (size_t)c.no * 4);
        mhsa_cpu_f32(&c.s, c.in[0], c.in[1], c.in[2], c.kv_len, out);
        attn_check_t k = check_f32(&c, out);
        cr_expect(k.ok, "%s: max|err| %g > tol %g (at %lld, %lld non-finite)", shapes[t],
                  k.max_abs_err, k.tol_abs, (long long)k.worst, (long long)k.nonfinite);
        cr_expect_eq(k.checked, c.no);
        memset(out2, 0xFF, (size_t)c.no * 4);
        cr_assert_eq(x->run(c.su, x, c.v, (const void *const *)c.in, out2, NULL, NULL), 0);
        cr_expect(memcmp(out, out2, (size_t)c.no * 4) == 0, "%s: registry cpu-f32 differs", shapes[t]);
        memset(out2, 0xFF, (size_t)c.no * 4);
        f32_copy(&c.s, c.in[0], c.in[1], c.in[2], c.kv_len, out2, BUG_NONE);
        cr_expect(memcmp(out, out2, (size_t)c.no * 4) == 0,
                  "%s: the test's copy of the f32 loop is not faithful", shapes[t]);
        free(out), free(out2), free_case(&c);
    }
}

/* Grouped K/V heads, bottom-right alignment and windows: cpu-f32 (directly and as the registry
 * row) agrees with the reference at the suite's f32 tolerance, and the check rejects it when
 * its mask is off by one key (the diagonal moved, the window narrowed). */
Test(f32_variant, grouped_aligned_windowed)
{
    static const char *const gshapes[] = {
        "B=2,N=7,Nk=300,d=16,D=64,tokens=14,Hkv=1,causal=1,align=1",
        "N=40,Nk=25,d=32,D=128,tokens=40,Hkv=2,causal=1,align=1",
        "N=90,d=16,D=64,tokens=90,Hkv=2,causal=1,window=9",
        "N=50,Nk=80,d=8,D=32,tokens=100,window=6,align=1",
    };
    const attn_variant_t *x = tst_variant(tst_suite("mhsa"), "cpu-f32");
    for (size_t t = 0; t < sizeof gshapes / sizeof gshapes[0]; t++) {
        fcase_t c = make_case(gshapes[t]);
        float *out = tst_falloc(c.no), *out2 = tst_falloc(c.no);
        mhsa_cpu_f32(&c.s, c.in[0], c.in[1], c.in[2], c.kv_len, out);
        attn_check_t k = check_f32(&c, out);
        cr_expect(k.ok, "%s: max|err| %g > tol %g", gshapes[t], k.max_abs_err, k.tol_abs);
        cr_assert_eq(x->run(c.su, x, c.v, (const void *const *)c.in, out2, NULL, NULL), 0);
        cr_expect(memcmp(out, out2, (size_t)c.no * 4) == 0, "%s: registry cpu-f32 differs",
                  gshapes[t]);
        mhsa_shape_t bad = c.s;
        bad.diag += 1;
        mhsa_cpu_f32(&bad, c.in[0], c.in[1], c.in[2], c.kv_len, out);
        cr_expect(!check_f32(&c, out).ok, "%s: diagonal off by one passed", gshapes[t]);
        if (c.s.window) {
            bad = c.s;
            bad.window -= 1;
            mhsa_cpu_f32(&bad, c.in[0], c.in[1], c.in[2], c.kv_len, out);
            cr_expect(!check_f32(&c, out).ok, "%s: window one key short passed", gshapes[t]);
        }
        free(out), free(out2), free_case(&c);
    }
}

/* The f32 tolerance is tight: the f32 output rounded to bf16 is rejected. */
Test(f32_variant, bf16_precision_rejected)
{
    fcase_t c = make_case("N=64,d=16,D=32,tokens=128");
    float *out = tst_falloc(c.no);
    mhsa_cpu_f32(&c.s, c.in[0], c.in[1], c.in[2], c.kv_len, out);
    for (int64_t e = 0; e < c.no; e++) out[e] = attn_bf16_to_f32(attn_f32_to_bf16(out[e]));
    attn_check_t k = check_f32(&c, out);
    cr_expect(!k.ok, "bf16-rounded output passed the f32 check (err %g, tol %g)", k.max_abs_err,
              k.tol_abs);
    free(out), free_case(&c);
}

/* Planted bugs: each is rejected by attn_compare with the suite's f32 tolerance on a case that
 * exercises it, while the faithful copy passes that same case. */
Test(f32_variant, planted_bugs_rejected)
{
    static const struct { bug_t bug; const char *shape; } cases[] = {
        {BUG_LAST_KEY, "N=512,d=64,D=64,tokens=512"},
        {BUG_LAST_KEY, "N=100,Nk=37,d=8,D=16,tokens=200,causal=1"},
        {BUG_CAUSAL_OBO, "N=100,d=8,D=16,tokens=200,causal=1"},
        {BUG_SCALE, "N=64,d=16,D=32,tokens=128"},
        {BUG_NO_RESCALE, "N=64,d=16,D=32,tokens=128"},
        {BUG_V_BATCH, "N=16,d=8,D=16,tokens=32"},
        {BUG_KVLEN_BATCH0, "N=40,d=8,D=8,tokens=120,kvpad=1"},
        {BUG_MASKED_NAN, "N=8,d=8,D=8,tokens=16,kvpad=1"},
    };
    for (size_t t = 0; t < sizeof cases / sizeof cases[0]; t++) {
        fcase_t c = make_case(cases[t].shape);
        float *out = tst_falloc(c.no);
        f32_copy(&c.s, c.in[0], c.in[1], c.in[2], c.kv_len, out, BUG_NONE);
        attn_check_t good = check_f32(&c, out);
        cr_expect(good.ok, "%s: the faithful copy fails (err %g, tol %g)", cases[t].shape,
                  good.max_abs_err, good.tol_abs);
        f32_copy(&c.s, c.in[0], c.in[1], c.in[2], c.kv_len, out, cases[t].bug);
        attn_check_t bad = check_f32(&c, out);
        cr_expect(!bad.ok, "planted bug '%s' on %s passed the check (err %g, tol %g)",
                  bug_name[cases[t].bug], cases[t].shape, bad.max_abs_err, bad.tol_abs);
        cr_log_info("planted bug %-18s %-45s max|err| %.3g vs tolerance %.3g%s",
                    bug_name[cases[t].bug], cases[t].shape, bad.max_abs_err, bad.tol_abs,
                    bad.nonfinite ? " (non-finite)" : "");
        free(out), free_case(&c);
    }
}
