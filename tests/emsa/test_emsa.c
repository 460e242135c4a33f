/* The emsa suite: its CPU reference (emsa_ref, emsa_ref_map), its f32 CPU variant (emsa_cpu_f32)
 * and its registry entry (derive, grids, tolerance).
 *  - hand-computed cases whose numbers are worked out in the comments (h = 1 plain softmax;
 *    h = 2 with the head transform and the InstanceNorm);
 *  - the invariant: with h = 1, emsa is plain attention — a direct softmax(QKᵀ/√dk)·V with the
 *    projections, written here independently (with an independent conv + LayerNorm for r > 1);
 *  - every InstanceNormed map has mean 0 and variance var/(var + eps);
 *  - row selection;
 *  - the f32 variant and a test-local copy of its loop within the suite's f32 tolerance, planted
 *    bugs in that copy rejected by attn_compare with that tolerance;
 *  - derive() errors naming the values; the sweep grids. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "common.h"
#include "emsa_ref.h"
#include "util.h"


/* ------------------------------------------------------------------ hand-computed cases */

/* h = 1, r = 1, C = 2 (dk = 2, scale 1/√2), H = 1, W = 2: tokens x0 = (1, 0), x1 = (0, 1).
 * Wq = 0, bq = (√2·ln 3, 0): q = (√2·ln 3, 0) for both tokens. Wk = I, bk = 0: k_j = x_j, so the
 * logits are q·k_j/√2 = (ln 3, 0) → p = (3/4, 1/4) for both query rows.
 * Wv = diag(2, 4), bv = 0: v0 = (2, 0), v1 = (0, 4); O = 3/4·v0 + 1/4·v1 = (1.5, 1).
 * Wo = ((1, 1), (1, −1)), bo = (0.5, 0): y = (1.5 + 1 + 0.5, 1.5 − 1) = (3, 0.5) for each token.
 * (No 1/√dk: logits √2·ln 3 → p = (3^√2/(3^√2 + 1), …) ≈ (0.826, …), y0 ≈ 3.15.) */
Test(emsa_hand, one_head_plain_softmax)
{
    const emsa_shape_t s = {1, 2, 1, 2, 1, 1};
    const float x[4] = {1, 0, 0, 1};
    const float wqkv[12] = {0, 0, 0, 0, /* Wq */ 1, 0, 0, 1, /* Wk */ 2, 0, 0, 4 /* Wv */};
    const float bqkv[6] = {(float)(sqrt(2.0) * log(3.0)), 0, 0, 0, 0, 0};
    const float wo[4] = {1, 1, 1, -1}, bo[2] = {0.5f, 0};
    const float srw[8] = {1, 1, 1, 1, 1, 1, 1, 1}, srp[6] = {0, 0, 1, 1, 0, 0}, tr[2] = {1, 0};
    const emsa_inputs_t in = {x, wqkv, bqkv, wo, bo, srw, srp, tr};
    double y[4], p[4];
    emsa_ref(&s, &in, y, NULL);
    const double want[4] = {3, 0.5, 3, 0.5};
    for (int e = 0; e < 4; e++) /* the bias √2·ln 3 is rounded to float: ~1e-7 */
        cr_expect_float_eq(y[e], want[e], 1e-6, "y[%d] = %.17g, want %g", e, y[e], want[e]);
    emsa_ref_map(&s, &in, 0, p);
    for (int i = 0; i < 2; i++) {
        cr_expect_float_eq(p[i * 2 + 0], 0.75, 1e-7, "p[%d][0] = %.17g", i, p[i * 2]);
        cr_expect_float_eq(p[i * 2 + 1], 0.25, 1e-7, "p[%d][1] = %.17g", i, p[i * 2 + 1]);
    }
    float yf[4];
    emsa_cpu_f32(&s, &in, yf);
    for (int e = 0; e < 4; e++)
        cr_expect_float_eq(yf[e], want[e], 1e-5, "f32 y[%d] = %.9g, want %g", e, yf[e], want[e]);
}

/* h = 2 (dk = dv = 1, scale 1), r = 1, C = 2, H = 1, W = 2: x0 = (1, 0), x1 = (0, 1).
 * Wq = 0, bq = (ln 3, ln 2): q = (ln 3, ln 2) for both rows; Wk = I, bk = 0: k_j = x_j.
 *   S_0 = q_0·k_{j,0} = (ln 3, 0), S_1 = q_1·k_{j,1} = (0, ln 2) for both rows.
 * T = ((1, 1), (0, 1)), t = (0, 7):
 *   S'_0 = S_0 + S_1 = (ln 3, ln 2) → p = (3/5, 2/5); the map (2 × 2, both rows equal) has mean
 *     1/2, deviations ±1/10, biased variance 1/100 → P̂_0 = (1, −1)·(1/10)/√(1/100 + 1e-5)
 *     = (1, −1)/√1.001.
 *   S'_1 = S_1 + 7 = (7, 7 + ln 2) → p = (1/3, 2/3) (t cancels in the softmax); deviations ∓1/6,
 *     variance 1/36 → P̂_1 = (−1, 1)/√(1 + 36e-5).
 * Wv = I, bv = 0: v_j = x_j; head 0 reads channel 0 (v = (1, 0) over j), head 1 channel 1
 *   (v = (0, 1)): O = (P̂_0[0], P̂_1[1]) = (1/√1.001, 1/√1.00036) for both tokens.
 * Wo = ((2, 0), (1, −1)), bo = (0, 0.25): y = (2·O0, O0 − O1 + 0.25).
 * (Without the transform: S_0 → p = (3/4, 1/4), P̂_0 = (1, −1)/√(1 + 16e-5)…; without the
 * InstanceNorm y0 = 2·3/5 = 1.2; with eps left out y0 = 2 exactly.) */
Test(emsa_hand, two_heads_transform_and_instance_norm)
{
    const emsa_shape_t s = {1, 2, 1, 2, 2, 1};
    const float x[4] = {1, 0, 0, 1};
    const float wqkv[12] = {0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 0, 1};
    const float bqkv[6] = {logf(3), logf(2), 0, 0, 0, 0};
    const float wo[4] = {2, 0, 1, -1}, bo[2] = {0, 0.25f};
    const float srw[8] = {0}, srp[6] = {0}, tr[6] = {1, 1, 0, 0, 1, 7};
    const emsa_inputs_t in = {x, wqkv, bqkv, wo, bo, srw, srp, tr};
    double y[4];
    emsa_ref(&s, &in, y, NULL);
    const double o0 = 1 / sqrt(1.001), o1 = 1 / sqrt(1.00036);
    for (int i = 0; i < 2; i++) {
        cr_expect_float_eq(y[i * 2], 2 * o0, 1e-6, "y[%d][0] = %.17g, want %.17g", i, y[i * 2],
                           2 * o0);
        cr_expect_float_eq(y[i * 2 + 1], o0 - o1 + 0.25, 1e-6, "y[%d][1] = %.17g, want %.17g", i,
                           y[i * 2 + 1], o0 - o1 + 0.25);
    }
    float yf[4];
    emsa_cpu_f32(&s, &in, yf);
    for (int e = 0; e < 4; e++)
        cr_expect_float_eq(yf[e], y[e], 1e-5, "f32 y[%d] = %.9g, ref %.17g", e, yf[e], y[e]);
}

/* ------------------------------------------------------------------ cases from the registry */

typedef struct ecase {
    const attn_suite_t *su;
    int64_t *v;
    attn_layout_t L;
    float *in[ATTN_MAX_TENSORS];
    emsa_shape_t s;
    emsa_inputs_t t;
    double *ref;
    int64_t ny, Np;
    double tol32;
} ecase_t;

static ecase_t make_case(const char *shape)
{
    ecase_t c = {0};
    c.su = tst_suite("emsa");
    c.v = tst_case(c.su, shape);
    c.su->layout(c.su, c.v, &c.L);
    cr_assert_eq(c.L.nin, 8);
    for (int i = 0; i < c.L.nin; i++) c.in[i] = tst_falloc(attn_tensor_numel(&c.L.in[i]));
    c.su->generate(c.su, c.v, 42, (void *const *)c.in);
    c.s = (emsa_shape_t){tst_axis(c.su, c.v, "B"), tst_axis(c.su, c.v, "C"),
                         tst_axis(c.su, c.v, "H"), tst_axis(c.su, c.v, "W"),
                         tst_axis(c.su, c.v, "heads"), tst_axis(c.su, c.v, "r")};
    c.t = (emsa_inputs_t){c.in[0], c.in[1], c.in[2], c.in[3], c.in[4], c.in[5], c.in[6], c.in[7]};
    c.ny = attn_tensor_numel(&c.L.out);
    c.Np = emsa_reduced_side(c.s.H, c.s.r) * emsa_reduced_side(c.s.W, c.s.r);
    c.ref = tst_dalloc(c.ny);
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    c.tol32 = c.su->tolerance(c.su, c.v, ATTN_F32);
    return c;
}

static void free_case(ecase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
    free(c->ref), free(c->v);
}

/* An independent plain attention for h = 1: K/V source (the reduced map, computed here with the
 * conv written as a gather over the input window and a two-pass LayerNorm, or x when r = 1),
 * projections, softmax(QKᵀ/√C)·V, output projection. */
static void plain_attention(const ecase_t *c, double *y)
{
    const emsa_shape_t *s = &c->s;
    const int64_t C = s->C, N = s->H * s->W, Np = c->Np, r = s->r, k = r + 1;
    const int64_t Wr = emsa_reduced_side(s->W, r);
    const float *w = c->t.wqkv, *bq = c->t.bqkv;
    double *src = tst_dalloc(Np * C), *K = tst_dalloc(Np * C), *V = tst_dalloc(Np * C), *a = tst_dalloc(Np);
    for (int64_t b = 0; b < s->B; b++) {
        const float *x = c->t.x + b * N * C;
        for (int64_t j = 0; j < Np; j++) {
            if (r == 1) {
                for (int64_t ch = 0; ch < C; ch++) src[j * C + ch] = x[j * C + ch];
                continue;
            }
            const int64_t y0 = (j / Wr) * r - r / 2, x0 = (j % Wr) * r - r / 2;
            double mean = 0, var = 0;
            for (int64_t ch = 0; ch < C; ch++) {
                double acc = c->t.srp[ch];
                for (int64_t t = 0; t < k * k; t++) {
                    const int64_t iy = y0 + t / k, ix = x0 + t % k;
                    if (iy >= 0 && iy < s->H && ix >= 0 && ix < s->W)
                        acc += c->t.srw[ch * k * k + t] * (double)x[(iy * s->W + ix) * C + ch];
                }
                src[j * C + ch] = acc;
                mean += acc / (double)C;
            }
            for (int64_t ch = 0; ch < C; ch++)
                var += (src[j * C + ch] - mean) * (src[j * C + ch] - mean) / (double)C;
            for (int64_t ch = 0; ch < C; ch++)
                src[j * C + ch] = (src[j * C + ch] - mean) / sqrt(var + 1e-5) * c->t.srp[C + ch] +
                                  c->t.srp[2 * C + ch];
        }
        for (int64_t j = 0; j < Np; j++)
            for (int64_t o = 0; o < C; o++) {
                double kk = bq[C + o], vv = bq[2 * C + o];
                for (int64_t ch = 0; ch < C; ch++) {
                    kk += w[(C + o) * C + ch] * src[j * C + ch];
                    vv += w[(2 * C + o) * C + ch] * src[j * C + ch];
                }
                K[j * C + o] = kk, V[j * C + o] = vv;
            }
        for (int64_t i = 0; i < N; i++) {
            double q[512], o[512];
            cr_assert_leq(C, 512);
            for (int64_t oc = 0; oc < C; oc++) {
                q[oc] = bq[oc];
                for (int64_t ch = 0; ch < C; ch++) q[oc] += w[oc * C + ch] * (double)x[i * C + ch];
            }
            double m = -INFINITY, l = 0;
            for (int64_t j = 0; j < Np; j++) {
                a[j] = 0;
                for (int64_t ch = 0; ch < C; ch++) a[j] += q[ch] * K[j * C + ch];
                a[j] /= sqrt((double)C);
                m = fmax(m, a[j]);
            }
            for (int64_t j = 0; j < Np; j++) l += (a[j] = exp(a[j] - m));
            for (int64_t ch = 0; ch < C; ch++) {
                o[ch] = 0;
                for (int64_t j = 0; j < Np; j++) o[ch] += a[j] / l * V[j * C + ch];
            }
            for (int64_t oc = 0; oc < C; oc++) {
                double acc = c->t.bo[oc];
                for (int64_t ch = 0; ch < C; ch++) acc += c->t.wo[oc * C + ch] * o[ch];
                y[(b * N + i) * C + oc] = acc;
            }
        }
    }
    free(src), free(K), free(V), free(a);
}

static double max_abs(const double *a, int64_t n)
{
    double m = 0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

/* With h = 1 emsa is plain attention (no transform, no InstanceNorm), with and without the
 * spatial reduction (odd and even r, non-square maps). */
Test(emsa_invariant, one_head_is_plain_attention)
{
    static const char *const shapes[] = {"B=2,C=16,heads=1,r=1,H=4,W=5",
                                         "B=2,C=16,heads=1,r=2,H=6,W=7",
                                         "B=1,C=24,heads=1,r=3,H=7,W=5",
                                         "B=1,C=32,heads=1,r=8,H=16"};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        ecase_t c = make_case(shapes[k]);
        double *y = tst_dalloc(c.ny);
        plain_attention(&c, y);
        double m = 0;
        for (int64_t e = 0; e < c.ny; e++) m = fmax(m, fabs(y[e] - c.ref[e]));
        cr_expect_leq(m, 1e-12 * max_abs(y, c.ny), "%s: max|emsa − plain| = %g", shapes[k], m);
        free(y);
        free_case(&c);
    }
}

/* h > 1: every P̂ map has mean 0 and variance var/(var + eps) ≈ 1 (InstanceNorm, biased). */
Test(emsa_invariant, instance_norm_moments)
{
    ecase_t c = make_case("B=2,C=32,heads=4,r=2,H=8,W=6");
    const int64_t N = c.s.H * c.s.W, Np = c.Np, h = c.s.h;
    double *P = tst_dalloc(h * N * Np);
    for (int64_t b = 0; b < c.s.B; b++) {
        emsa_ref_map(&c.s, &c.t, b, P);
        for (int64_t g = 0; g < h; g++) {
            double sum = 0, sq = 0;
            for (int64_t e = 0; e < N * Np; e++) sum += P[g * N * Np + e];
            for (int64_t e = 0; e < N * Np; e++) sq += P[g * N * Np + e] * P[g * N * Np + e];
            const double mean = sum / (double)(N * Np), var = sq / (double)(N * Np);
            cr_expect_leq(fabs(mean), 1e-12, "b=%lld g=%lld: mean %g", (long long)b,
                          (long long)g, mean);
            cr_expect(var > 0.9 && var <= 1.0, "b=%lld g=%lld: variance %g", (long long)b,
                      (long long)g, var);
        }
    }
    free(P);
    free_case(&c);
}

/* Row selection computes exactly the selected rows (the rest left untouched). */
Test(emsa_invariant, row_selection)
{
    ecase_t c = make_case("B=3,C=16,heads=2,r=2,H=5,W=6");
    double *y = tst_dalloc(c.ny);
    uint8_t *sel = calloc((size_t)c.L.out_rows, 1);
    for (int64_t e = 0; e < c.ny; e++) y[e] = 12345.0;
    sel[0] = sel[c.L.out_rows - 1] = sel[31] = 1; /* batch 0, 1 and 2 */
    emsa_ref(&c.s, &c.t, y, sel);
    for (int64_t e = 0; e < c.ny; e++) {
        const int64_t r = e / c.s.C;
        if (sel[r])
            cr_expect_eq(y[e], c.ref[e], "row %lld differs", (long long)r);
        else
            cr_expect_eq(y[e], 12345.0, "unselected row %lld written", (long long)r);
    }
    free(y), free(sel);
    free_case(&c);
}

/* ------------------------------------------------------------------ f32 variant vs reference */

typedef enum bug {
    BUG_NONE,
    BUG_NO_TRANSFORM, /* the 1×1 conv over heads left out */
    BUG_NO_INORM,     /* the InstanceNorm left out (P̂ = P) */
    BUG_SCALE,        /* no 1/√dk */
    BUG_PAD,          /* conv padding 0 instead of ⌊r/2⌋ */
    BUG_NO_AFFINE,    /* LayerNorm without γ, β */
    BUG_KV_FROM_X,    /* K, V from the first N' tokens of x instead of the reduced map */
    BUG_UNBIASED,     /* the map mean taken as 0 (Σp² instead of Σ(p − 1/N')², p not centred) */
    NBUGS
} bug_t;
static const char *const bug_name[NBUGS] = {"none", "no transform", "no InstanceNorm",
                                            "no 1/sqrt(dk)", "padding 0", "no LN affine",
                                            "K/V from x", "uncentred norm"};

/* A copy of emsa_cpu_f32's loop, with one bug switched in. */
static void f32_copy(const emsa_shape_t *s, const emsa_inputs_t *in, float *y, bug_t bug)
{
    const int64_t C = s->C, h = s->h, dk = C / h, N = s->H * s->W, H = s->H, W = s->W, r = s->r;
    const int64_t kw = r + 1, pad = bug == BUG_PAD ? 0 : r / 2;
    const int64_t Hr = emsa_reduced_side(H, r), Wr = emsa_reduced_side(W, r), Np = Hr * Wr;
    const float scale = bug == BUG_SCALE ? 1.0f : 1.0f / sqrtf((float)dk);
    const float mu = bug == BUG_UNBIASED ? 0.0f : 1.0f / (float)Np;
    float *xr = tst_falloc(Np * C), *q = tst_falloc(N * C), *k = tst_falloc(Np * C), *v = tst_falloc(Np * C);
    float *o = tst_falloc(N * C), *P = tst_falloc(h * N * Np), *S = tst_falloc(h * Np), *sq = tst_falloc(h);
    for (int64_t b = 0; b < s->B; b++) {
        const float *x = in->x + b * N * C, *src = x;
        if (r > 1 && bug != BUG_KV_FROM_X) {
            for (int64_t n = 0; n < Np; n++) {
                float *t = xr + n * C, mean = 0, var = 0;
                for (int64_t c = 0; c < C; c++) {
                    float acc = in->srp[c];
                    for (int64_t ky = 0; ky < kw; ky++)
                        for (int64_t kx = 0; kx < kw; kx++) {
                            const int64_t iy = (n / Wr) * r - pad + ky, ix = (n % Wr) * r - pad + kx;
                            if (iy >= 0 && iy < H && ix >= 0 && ix < W)
                                acc += in->srw[(c * kw + ky) * kw + kx] * x[(iy * W + ix) * C + c];
                        }
                    t[c] = acc, mean += acc;
                }
                mean /= (float)C;
                for (int64_t c = 0; c < C; c++) var += (t[c] - mean) * (t[c] - mean);
                const float inv = 1.0f / sqrtf(var / (float)C + 1e-5f);
                for (int64_t c = 0; c < C; c++)
                    t[c] = bug == BUG_NO_AFFINE ? (t[c] - mean) * inv
                                                : (t[c] - mean) * inv * in->srp[C + c] + in->srp[2 * C + c];
            }
            src = xr;
        }
        for (int64_t i = 0; i < N; i++)
            for (int64_t oc = 0; oc < C; oc++) {
                float a = in->bqkv[oc];
                for (int64_t c = 0; c < C; c++) a += x[i * C + c] * in->wqkv[oc * C + c];
                q[i * C + oc] = a;
            }
        for (int64_t j = 0; j < Np; j++)
            for (int64_t oc = 0; oc < C; oc++) {
                float a = in->bqkv[C + oc], e = in->bqkv[2 * C + oc];
                for (int64_t c = 0; c < C; c++) {
                    a += src[j * C + c] * in->wqkv[(C + oc) * C + c];
                    e += src[j * C + c] * in->wqkv[(2 * C + oc) * C + c];
                }
                k[j * C + oc] = a, v[j * C + oc] = e;
            }
        for (int64_t g = 0; g < h; g++) sq[g] = 0;
        for (int64_t i = 0; i < N; i++) {
            for (int64_t g = 0; g < h; g++)
                for (int64_t j = 0; j < Np; j++) {
                    float a = 0;
                    for (int64_t c = 0; c < dk; c++) a += q[i * C + g * dk + c] * k[j * C + g * dk + c];
                    S[g * Np + j] = a * scale;
                }
            for (int64_t g = 0; g < h; g++) {
                float *p = P + (g * N + i) * Np, m = -INFINITY, l = 0;
                for (int64_t j = 0; j < Np; j++) {
                    float t = S[g * Np + j];
                    if (h > 1 && bug != BUG_NO_TRANSFORM) {
                        t = in->tr[g * (h + 1) + h];
                        for (int64_t kk = 0; kk < h; kk++) t += in->tr[g * (h + 1) + kk] * S[kk * Np + j];
                    }
                    p[j] = t, m = fmaxf(m, t);
                }
                for (int64_t j = 0; j < Np; j++) l += (p[j] = expf(p[j] - m));
                for (int64_t j = 0; j < Np; j++) p[j] /= l, sq[g] += (p[j] - mu) * (p[j] - mu);
            }
        }
        if (h > 1 && bug != BUG_NO_INORM)
            for (int64_t g = 0; g < h; g++) {
                const float inv = 1.0f / sqrtf(sq[g] / (float)(N * Np) + 1e-5f);
                for (int64_t e = 0; e < N * Np; e++) P[g * N * Np + e] = (P[g * N * Np + e] - mu) * inv;
            }
        for (int64_t i = 0; i < N; i++)
            for (int64_t c = 0; c < C; c++) {
                float a = 0;
                for (int64_t j = 0; j < Np; j++) a += P[((c / dk) * N + i) * Np + j] * v[j * C + c];
                o[i * C + c] = a;
            }
        for (int64_t i = 0; i < N; i++)
            for (int64_t oc = 0; oc < C; oc++) {
                float a = in->bo[oc];
                for (int64_t c = 0; c < C; c++) a += o[i * C + c] * in->wo[oc * C + c];
                y[(b * N + i) * C + oc] = a;
            }
    }
    free(xr), free(q), free(k), free(v), free(o), free(P), free(S), free(sq);
}

/* The f32 variant and the faithful copy pass with the suite's tolerance (and use little of it);
 * every planted bug that applies to the shape is rejected. */
Test(emsa_f32, variant_and_planted_bugs)
{
    static const char *const shapes[] = {"B=2,C=32,heads=2,r=2,H=8,W=6",
                                         "B=1,C=48,heads=4,r=3,H=7",
                                         "B=1,C=64,heads=1,r=8,H=16",
                                         "B=2,C=32,heads=8,r=1,H=5"};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        ecase_t c = make_case(shapes[k]);
        float *yf = tst_falloc(c.ny);
        emsa_cpu_f32(&c.s, &c.t, yf);
        attn_check_t ck = attn_compare(yf, ATTN_F32, c.ref, c.ny, c.s.C, NULL, c.tol32);
        cr_expect(ck.ok, "%s: cpu-f32 err %g > tol %g", shapes[k], ck.max_abs_err, ck.tol_abs);
        cr_expect_leq(ck.max_abs_err, 0.25 * ck.tol_abs, "%s: cpu-f32 uses %.0f%% of the tolerance",
                      shapes[k], 100 * ck.max_abs_err / ck.tol_abs);
        for (int b = 0; b < NBUGS; b++) {
            if ((b == BUG_NO_TRANSFORM || b == BUG_NO_INORM || b == BUG_UNBIASED) && c.s.h == 1)
                continue; /* no transform, no norm at h = 1 */
            if ((b == BUG_PAD || b == BUG_NO_AFFINE || b == BUG_KV_FROM_X) && c.s.r == 1)
                continue; /* no reduction at r = 1 */
            f32_copy(&c.s, &c.t, yf, (bug_t)b);
            ck = attn_compare(yf, ATTN_F32, c.ref, c.ny, c.s.C, NULL, c.tol32);
            if (b == BUG_NONE)
                cr_expect(ck.ok, "%s: faithful copy err %g > tol %g", shapes[k], ck.max_abs_err,
                          ck.tol_abs);
            else
                cr_expect(!ck.ok && ck.max_abs_err > 100 * ck.tol_abs,
                          "%s: bug '%s' err %g, tol %g (not rejected by 100×)", shapes[k],
                          bug_name[b], ck.max_abs_err, ck.tol_abs);
        }
        free(yf);
        free_case(&c);
    }
}

/* ------------------------------------------------------------------ registry */

Test(emsa_suite, derive_and_errors)
{
    const attn_suite_t *su = tst_suite("emsa");
    int64_t *v = tst_case(su, "H=14,C=256,heads=4,r=2");
    cr_expect_eq(tst_axis(su, v, "W"), 14);
    cr_expect_eq(tst_axis(su, v, "N"), 196);
    free(v);
    static const tst_bad_shape_t bad[] = {
        {"C=250,heads=3", "C=250 is not divisible by heads=3"},
        {"C=64,heads=128", "C=64 is not divisible by heads=128"},
        {"H=7,W=8,N=49", "N=49 is not H·W = 7·8 = 56"},
        {"H=7,N=50", "N=50 is not H·W = 7·7 = 49"},
        {"r=0", "r=0: the reduction ratio must be >= 1"},
        {"r=-2", "r=-2: the reduction ratio must be >= 1"},
        {"H=1,W=1,r=3", "H=1, W=1 are too small for r=3"},
    };
    tst_expect_bad_shapes("emsa", bad, sizeof bad / sizeof bad[0]);
}

/* Both grids are the four ResT stages (C, heads, r, H) paired by in_sweep, crossed with B;
 * every stage has N' = 49 keys. */
Test(emsa_suite, sweep_grids)
{
    const attn_suite_t *su = tst_suite("emsa");
    const int iC = attn_axis_index(su, "C"), ih = attn_axis_index(su, "heads");
    const int ir = attn_axis_index(su, "r"), iH = attn_axis_index(su, "H");
    char err[512];
    int64_t *cases;
    for (int cpu = 0; cpu <= 1; cpu++) {
        const int n = tst_build_cases("emsa", NULL, 1, cpu, &cases, err, sizeof err);
        cr_assert_eq(n, cpu ? 8 : 12, "%s grid: %d cases (%s)", cpu ? "CPU" : "GPU", n, err);
        for (int k = 0; k < n; k++) {
            const int64_t *v = cases + (size_t)k * (size_t)su->naxes;
            const int st = v[iC] == 64 ? 0 : v[iC] == 128 ? 1 : v[iC] == 256 ? 2 : 3;
            cr_expect_eq(v[ih], (int64_t)1 << st);
            cr_expect_eq(v[ir], 8 >> st);
            cr_expect_eq(v[iH], 56 >> st);
            cr_expect_eq(emsa_reduced_side(v[iH], v[ir]), 7);
        }
        free(cases);
    }
}
