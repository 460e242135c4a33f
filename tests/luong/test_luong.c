/* The additive and luong suites: their CPU reference (luong_ref, luong_ref_weights), the f32 CPU
 * variant (luong_cpu_f32) and the registry entries (derive, grids, layout, generator, FLOPs,
 * bytes, tolerances).
 *  - hand-computed cases for each score function (dot, general, concat), numbers in comments;
 *  - invariant: additive with W2 = 0 gives uniform attention, c = mean of h̄ over s;
 *  - luong with score = concat is the additive suite, case for case;
 *  - cpu-f32 within the f32 tolerance; planted bugs in a test-local copy of the f32 loop
 *    rejected by attn_compare with the suite's tolerance;
 *  - derive() errors naming the values (dot with Dq ≠ Dk). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "common.h"
#include "luong_ref.h"
#include "util.h"


/* Reference and f32 variant on a hand case: c must equal want[0..Dk·B·T) within tol. */
static void expect_context(const luong_shape_t *s, const luong_inputs_t *in, const double *want,
                           double tol)
{
    const int64_t n = s->B * s->T * s->Dk;
    double c[16];
    float cf[16];
    cr_assert_leq(n, 16);
    luong_ref(s, in, c, NULL, NULL);
    luong_cpu_f32(s, in, cf, NULL);
    for (int64_t e = 0; e < n; e++) {
        cr_expect_float_eq(c[e], want[e], tol, "ref c[%lld] = %.17g, want %.17g", (long long)e,
                           c[e], want[e]);
        cr_expect_float_eq(cf[e], want[e], 1e-5, "f32 c[%lld] = %.9g, want %.17g", (long long)e,
                           cf[e], want[e]);
    }
}

/* ------------------------------------------------------------------ hand-computed cases */

/* dot: Dq = Dk = 2, one query h = (1, 0), two keys h̄_0 = (0, 2), h̄_1 = (ln 3, 6).
 * e = h·h̄_s = (0, ln 3) → a = (1, 3)/4. c = ¼·(0, 2) + ¾·(ln 3, 6) = (¾ ln 3, ½ + 9/2)
 * = (0.75·ln 3, 5). (A softmax over the wrong axis or no softmax moves c by O(1).) */
Test(luong_hand, dot)
{
    const luong_shape_t s = {1, 1, 2, 2, 2, 1, LUONG_DOT};
    const float h[2] = {1, 0}, hb[4] = {0, 2, logf(3), 6};
    const luong_inputs_t in = {h, hb, NULL, NULL, NULL, NULL};
    const double want[2] = {0.75 * log(3), 5};
    expect_context(&s, &in, want, 1e-6); /* ln 3 is rounded to float */
    double kp[4], a[2];
    luong_ref_keys(&s, &in, 0, kp);
    luong_ref_weights(&s, &in, kp, 0, 0, a);
    cr_expect_float_eq(a[0], 0.25, 1e-7);
    cr_expect_float_eq(a[1], 0.75, 1e-7);
}

/* general: Dq = 1, Dk = 2 (widths may differ), h = (2), Wa (1 × 2) = (0.5, 0), so
 * e_s = h·Wa·h̄_s = 2·0.5·h̄_s[0] = h̄_s[0]. Keys h̄ = (0, 4), (ln 3, 8), (0, −4):
 * e = (0, ln 3, 0) → a = (1, 3, 1)/5; c = (0, 4)/5 + 3·(ln 3, 8)/5 + (0, −4)/5 = (0.6 ln 3, 4.8).
 * (Wa transposed does not fit the shapes; Wa·h̄ on the wrong component would give e = (4, 8, −4)
 * and c ≈ h̄_1.) */
Test(luong_hand, general)
{
    const luong_shape_t s = {1, 1, 3, 1, 2, 1, LUONG_GENERAL};
    const float h[1] = {2}, wa[2] = {0.5f, 0}, hb[6] = {0, 4, logf(3), 8, 0, -4};
    const luong_inputs_t in = {h, hb, wa, NULL, NULL, NULL};
    const double want[2] = {0.6 * log(3), 4.8};
    expect_context(&s, &in, want, 1e-6);
}

/* concat (= additive): Dq = Dk = 1, A = 2, W1 = W2 = (0, 1)ᵀ (only unit 1 sees h and h̄),
 * v = (7, 2·ln 3). Unit 0's pre-activation is 0, tanh 0 = 0, so v_0 = 7 never counts;
 * unit 1: tanh(h + h̄_s). Query h = 0.25; keys h̄_0 = −0.25, h̄_1 = atanh(½) − 0.25:
 * e = 2 ln 3·tanh(0, atanh ½) = (0, ln 3) → a = (1, 3)/4;
 * c = ¼·(−0.25) + ¾·(atanh ½ − 0.25) = ¾·atanh ½ − 0.25 = 0.16197960...
 * (W1 and W2 in the wrong unit make e = 7·tanh(…) and shift c; v·tanh(W1h)+v·tanh(W2h̄) — tanh
 * applied to each projection separately — gives e ∝ (−0.245, 0.29) and c ≈ 0.149.) */
Test(luong_hand, concat)
{
    const luong_shape_t s = {1, 1, 2, 1, 1, 2, LUONG_CONCAT};
    const float h[1] = {0.25f}, hb[2] = {-0.25f, (float)(atanh(0.5) - 0.25)};
    const float w1[2] = {0, 1}, w2[2] = {0, 1}, v[2] = {7, (float)(2 * log(3))};
    const luong_inputs_t in = {h, hb, NULL, w1, w2, v};
    const double want[1] = {0.75 * atanh(0.5) - 0.25};
    expect_context(&s, &in, want, 1e-6);
}

/* Two batches and two queries: batch and row indexing. dot, Dq = Dk = 1, S = 2.
 * Batch 0 keys h̄ = (0, 1), batch 1 keys h̄ = (2, 4). Queries: b0 t0 h = 0 → uniform → ½;
 * b0 t1 h = ln 3 → e = (0, ln 3) → ¾; b1 t0 h = 0 → 3; b1 t1 h = ½ ln 3 → e = (ln 3, 2 ln 3)
 * → a = (1, 3)/4 → ½ + 3 = 3.5. */
Test(luong_hand, batches_and_rows)
{
    const luong_shape_t s = {2, 2, 2, 1, 1, 1, LUONG_DOT};
    const float h[4] = {0, logf(3), 0, 0.5f * logf(3)}, hb[4] = {0, 1, 2, 4};
    const luong_inputs_t in = {h, hb, NULL, NULL, NULL, NULL};
    const double want[4] = {0.5, 0.75, 3, 3.5};
    expect_context(&s, &in, want, 1e-6);
    /* row selection: only row 3 computed, the others left untouched */
    double c[4] = {-9, -9, -9, -9};
    const uint8_t sel[4] = {0, 0, 0, 1};
    luong_ref(&s, &in, c, NULL, sel);
    for (int r = 0; r < 3; r++) cr_expect_eq(c[r], -9, "unselected row %d written", r);
    cr_expect_float_eq(c[3], 3.5, 1e-6);
}

/* ------------------------------------------------------------------ suite cases */

typedef struct lcase {
    const attn_suite_t *su;
    int64_t *v;
    attn_layout_t L;
    float *in[ATTN_MAX_TENSORS];
    double *ref;
    int64_t ny;
} lcase_t;

static lcase_t make_case(const char *suite, const char *shape)
{
    lcase_t c = {0};
    c.su = tst_suite(suite);
    c.v = tst_case(c.su, shape);
    c.su->layout(c.su, c.v, &c.L);
    for (int i = 0; i < c.L.nin; i++) c.in[i] = tst_falloc(attn_tensor_numel(&c.L.in[i]));
    c.su->generate(c.su, c.v, 7, (void *const *)c.in);
    c.ny = attn_tensor_numel(&c.L.out);
    c.ref = tst_dalloc((int64_t)(attn_out_bytes(&c.L, sizeof(double)) / sizeof(double)));
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    return c;
}

static void free_case(lcase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
    free(c->ref), free(c->v);
}

static luong_shape_t shape_of(const lcase_t *c, int score)
{
    const attn_suite_t *s = c->su;
    return (luong_shape_t){tst_axis(s, c->v, "B"),  tst_axis(s, c->v, "T"),
                           tst_axis(s, c->v, "S"),  tst_axis(s, c->v, "Dq"),
                           tst_axis(s, c->v, "Dk"), tst_axis(s, c->v, "A"), score};
}

/* Invariant: additive with W2 = 0 scores every key the same (vᵀ·tanh(W1·h_t) for all s), so
 * the attention is uniform and c_t = mean over s of h̄_s — for the reference and cpu-f32. */
Test(luong_invariant, additive_w2_zero_is_uniform)
{
    lcase_t c = make_case("additive", "B=2,T=5,S=37,Dq=24,Dk=16,A=12");
    const luong_shape_t s = shape_of(&c, LUONG_CONCAT);
    memset(c.in[3], 0, sizeof(float) * (size_t)(s.A * s.Dk)); /* W2 */
    const luong_inputs_t in = {c.in[0], c.in[1], NULL, c.in[2], c.in[3], c.in[4]};
    double *ref = tst_dalloc(c.ny);
    float *f = tst_falloc(c.ny);
    luong_ref(&s, &in, ref, NULL, NULL);
    luong_cpu_f32(&s, &in, f, NULL);
    for (int64_t b = 0; b < s.B; b++)
        for (int64_t x = 0; x < s.Dk; x++) {
            double mean = 0;
            for (int64_t j = 0; j < s.S; j++) mean += c.in[1][(b * s.S + j) * s.Dk + x];
            mean /= (double)s.S;
            for (int64_t t = 0; t < s.T; t++) {
                const int64_t e = (b * s.T + t) * s.Dk + x;
                cr_expect_float_eq(ref[e], mean, 1e-12, "ref c[%lld] %.17g, mean %.17g",
                                   (long long)e, ref[e], mean);
                cr_expect_float_eq(f[e], mean, 1e-5, "f32 c[%lld] %.9g, mean %.17g",
                                   (long long)e, f[e], mean);
            }
        }
    /* and with W2 ≠ 0 it is not uniform (the invariant is not vacuous) */
    cr_expect_gt(fabs(c.ref[0] - ref[0]), 1e-3);
    free(ref), free(f);
    free_case(&c);
}

/* luong with score = 2 is the additive suite: same layout, inputs and reference. */
Test(luong_suite, concat_is_additive)
{
    lcase_t a = make_case("additive", "B=2,T=9,S=13,Dq=20,Dk=12,A=10");
    lcase_t l = make_case("luong", "B=2,T=9,S=13,Dq=20,Dk=12,A=10,score=2");
    cr_assert_eq(a.L.nin, 5);
    cr_assert_eq(l.L.nin, 5);
    for (int i = 0; i < 5; i++) {
        cr_expect_str_eq(a.L.in[i].name, l.L.in[i].name);
        const int64_t n = attn_tensor_numel(&a.L.in[i]);
        cr_assert_eq(n, attn_tensor_numel(&l.L.in[i]));
        cr_expect(memcmp(a.in[i], l.in[i], sizeof(float) * (size_t)n) == 0, "input %d", i);
    }
    cr_expect(memcmp(a.ref, l.ref, sizeof(double) * (size_t)a.ny) == 0);
    cr_expect_eq(a.su->flops(a.su, a.v), l.su->flops(l.su, l.v));
    cr_expect_eq(a.su->tolerance(a.su, a.v, ATTN_F32), l.su->tolerance(l.su, l.v, ATTN_F32));
    free_case(&a), free_case(&l);
}

/* Layout per score function: the parameters of that score only, output (B, T, Dk). */
Test(luong_suite, layout)
{
    const attn_suite_t *su = tst_suite("luong");
    const char *shapes[3] = {"B=2,T=3,S=5,Dq=8,A=4,score=0", "B=2,T=3,S=5,Dq=8,Dk=6,A=4,score=1",
                             "B=2,T=3,S=5,Dq=8,Dk=6,A=4,score=2"};
    const int nin[3] = {2, 3, 5};
    for (int k = 0; k < 3; k++) {
        int64_t *v = tst_case(su, shapes[k]);
        attn_layout_t L;
        su->layout(su, v, &L);
        cr_expect_eq(L.nin, nin[k], "%s: %d inputs", shapes[k], L.nin);
        cr_expect_str_eq(L.in[0].name, "h");
        cr_expect_str_eq(L.in[1].name, "hbar");
        cr_expect_eq(L.out.shape[0], 2);
        cr_expect_eq(L.out.shape[1], 3);
        cr_expect_eq(L.out.shape[2], tst_axis(su, v, "Dk"));
        cr_expect_eq(L.out_rows, 6);
        if (k == 1) cr_expect(L.in[2].shape[0] == 8 && L.in[2].shape[1] == 6, "Wa (Dq, Dk)");
        if (k == 2) {
            cr_expect(L.in[2].shape[0] == 4 && L.in[2].shape[1] == 8, "W1 (A, Dq)");
            cr_expect(L.in[3].shape[0] == 4 && L.in[3].shape[1] == 6, "W2 (A, Dk)");
            cr_expect(L.in[4].shape[0] == 4, "v (A)");
        }
        free(v);
    }
}

/* FLOPs and bytes as docs/suites.md writes them. */
Test(luong_suite, flops_and_bytes_as_spec)
{
    const attn_suite_t *su = tst_suite("luong");
    const double B = 3, T = 10, S = 20, Dq = 8, Dk = 6, A = 5;
    int64_t *v = tst_case(su, "B=3,T=10,S=20,Dq=8,Dk=6,A=5,score=2");
    cr_expect_float_eq(su->flops(su, v),
                       2 * B * (T * Dq + S * Dk) * A + 3 * B * T * S * A + 2 * B * T * S * Dk, 1e-6);
    cr_expect_float_eq(su->bytes(su, v, 4),
                       4 * (B * T * Dq + B * S * Dk + A * Dq + A * Dk + A + B * T * Dk +
                            B * T * S), 1e-6);
    free(v);
    v = tst_case(su, "B=3,T=10,S=20,Dq=8,Dk=6,A=5,score=1");
    cr_expect_float_eq(su->flops(su, v), 2 * B * S * Dq * Dk + 2 * B * T * S * (Dq + Dk), 1e-6);
    cr_expect_float_eq(su->bytes(su, v, 2),
                       2 * (B * T * Dq + B * S * Dk + Dq * Dk + B * T * Dk + B * T * S), 1e-6);
    free(v);
    v = tst_case(su, "B=3,T=10,S=20,Dq=6,A=5,score=0");
    cr_expect_float_eq(su->flops(su, v), 2 * B * T * S * (6 + 6), 1e-6);
    free(v);
}

/* derive(): S = T and Dk = Dq by default; dot with Dq ≠ Dk is refused naming both. */

Test(luong_suite, derive_and_errors)
{
    const attn_suite_t *su = tst_suite("luong");
    int64_t *v = tst_case(su, "T=40,Dq=96");
    cr_expect_eq(tst_axis(su, v, "S"), 40);
    cr_expect_eq(tst_axis(su, v, "Dk"), 96);
    free(v);
    v = tst_case(su, "T=40,S=7,Dq=96,Dk=32,score=1");
    cr_expect_eq(tst_axis(su, v, "S"), 7);
    cr_expect_eq(tst_axis(su, v, "Dk"), 32);
    free(v);
    static const struct { const char *suite, *shape, *msg; } bad[] = {
        {"luong", "score=0,Dq=128,Dk=256", "score=dot needs Dq = Dk: Dq=128, Dk=256"},
        {"luong", "score=3", "score=3"},
        {"luong", "B=65536,T=65536,Dq=64", "2^31"},
        {"additive", "T=0", "T=0"},
    };
    char err[512];
    int64_t *cases;
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        const int n = tst_build_cases(bad[k].suite, bad[k].shape, 0, 0, &cases, err, sizeof err);
        cr_expect_eq(n, -1, "--shape %s was accepted", bad[k].shape);
        cr_expect(strstr(err, bad[k].msg) != NULL, "--shape %s: message '%s' lacks '%s'",
                  bad[k].shape, err, bad[k].msg);
        free(cases);
    }
}

/* Grids: luong GPU 3·4·3·(2 concat + 1 dot + 1 general) = 144, additive 72, all with S = T and
 * Dk = Dq; the CPU grids stay small (each case well under 0.1 GFLOP). */
Test(luong_suite, sweep_grids)
{
    char err[512];
    int64_t *cases;
    const struct { const char *suite; int gpu, cpu; } g[] = {{"luong", 144, 18},
                                                             {"additive", 72, 12}};
    for (int k = 0; k < 2; k++) {
        const attn_suite_t *su = tst_suite(g[k].suite);
        for (int cpu = 0; cpu <= 1; cpu++) {
            const int n = tst_build_cases(g[k].suite, NULL, 1, cpu, &cases, err, sizeof err);
            cr_expect_eq(n, cpu ? g[k].cpu : g[k].gpu, "%s %s grid: %d cases (%s)", g[k].suite,
                         cpu ? "CPU" : "GPU", n, err);
            for (int i = 0; i < n; i++) {
                const int64_t *v = cases + (size_t)i * (size_t)su->naxes;
                cr_expect_eq(tst_axis(su, v, "S"), tst_axis(su, v, "T"));
                cr_expect_eq(tst_axis(su, v, "Dk"), tst_axis(su, v, "Dq"));
                if (cpu) cr_expect_leq(su->flops(su, v), 1e8);
            }
            free(cases);
        }
    }
}

/* ------------------------------------------------------------------ f32 variant vs reference */

Test(luong_f32, agrees_with_reference)
{
    static const struct { const char *suite, *shape; } cases[] = {
        {"luong", "B=2,T=17,S=50,Dq=64,score=0"},
        {"luong", "B=2,T=17,S=50,Dq=64,Dk=40,score=1"},
        {"luong", "B=2,T=17,S=50,Dq=64,Dk=40,A=24,score=2"},
        {"additive", "B=1,T=33,S=200,Dq=128,A=64"},
        {"luong", "B=1,T=8,S=300,Dq=256,score=1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lcase_t c = make_case(cases[k].suite, cases[k].shape);
        const attn_variant_t *f = tst_variant(c.su, "cpu-f32");
        float *out = tst_falloc((int64_t)(attn_out_bytes(&c.L, 4) / 4)); /* c, then a */
        cr_assert_eq(f->run(c.su, f, c.v, (const void *const *)c.in, out, NULL, NULL), 0);
        const double tol = c.su->tolerance(c.su, c.v, ATTN_F32);
        const attn_check_t r = attn_compare(out, ATTN_F32, c.ref, c.ny, tst_axis(c.su, c.v, "Dk"),
                                            NULL, tol);
        cr_expect(r.ok, "%s %s: err %g > tol %g·%g", cases[k].suite, cases[k].shape,
                  r.max_abs_err, tol, r.ref_scale);
        /* well inside: the tolerance is a margin, not the typical error */
        cr_expect_lt(r.max_abs_err, tol * r.ref_scale / 4, "%s: err %g, tol %g",
                     cases[k].shape, r.max_abs_err, tol * r.ref_scale);
        free(out);
        free_case(&c);
    }
}

/* A copy of the f32 forward pass, as plain as possible, with one bug switched in. */
typedef enum bug {
    BUG_NONE,
    BUG_NO_SOFTMAX_MAX,  /* faithful except no max subtraction: must still pass (stable here) */
    BUG_SOFTMAX_OVER_T,  /* normalised over the queries of the batch instead of the keys */
    BUG_LAST_KEY,        /* the last key left out (an off-by-one tile bound) */
    BUG_VALUES_ARE_H,    /* dot: context from h instead of h̄ (Dq = Dk lets it run) */
    BUG_WA_TRANSPOSED,   /* general: h_tᵀ·Waᵀ·h̄_s (Dq = Dk lets it run) */
    BUG_W1_W2_SWAPPED,   /* concat: W2·h_t + W1·h̄_s (Dq = Dk lets it run) */
    BUG_TANH_SPLIT,      /* concat: vᵀ·(tanh(W1·h_t) + tanh(W2·h̄_s)) */
    BUG_KEYS_BATCH0,     /* keys of batch 0 for every batch */
} bug_t;

static void buggy_f32(const luong_shape_t *s, const luong_inputs_t *in, float *c, bug_t bug)
{
    const int64_t B = s->B, T = s->T, S = s->S, Dq = s->Dq, Dk = s->Dk, A = s->A;
    float *e = tst_falloc(T * S);
    for (int64_t b = 0; b < B; b++) {
        const int64_t bk = bug == BUG_KEYS_BATCH0 ? 0 : b;
        for (int64_t t = 0; t < T; t++) {
            const float *ht = in->h + (b * T + t) * Dq;
            for (int64_t j = 0; j < S; j++) {
                const float *hs = in->hb + (bk * S + j) * Dk;
                float acc = 0;
                if (s->score == LUONG_DOT) {
                    for (int64_t x = 0; x < Dk; x++) acc += ht[x] * hs[x];
                } else if (s->score == LUONG_GENERAL) {
                    for (int64_t r = 0; r < Dq; r++)
                        for (int64_t x = 0; x < Dk; x++)
                            acc += ht[r] * hs[x] *
                                   (bug == BUG_WA_TRANSPOSED ? in->wa[x * Dq + r] : in->wa[r * Dk + x]);
                } else {
                    const float *Wq = bug == BUG_W1_W2_SWAPPED ? in->w2 : in->w1;
                    const float *Wk = bug == BUG_W1_W2_SWAPPED ? in->w1 : in->w2;
                    for (int64_t a = 0; a < A; a++) {
                        float pq = 0, pk = 0;
                        for (int64_t x = 0; x < Dq; x++) pq += Wq[a * Dq + x] * ht[x];
                        for (int64_t x = 0; x < Dk; x++) pk += Wk[a * Dk + x] * hs[x];
                        acc += in->v[a] * (bug == BUG_TANH_SPLIT ? tanhf(pq) + tanhf(pk)
                                                                 : tanhf(pq + pk));
                    }
                }
                e[t * S + j] = acc;
            }
        }
        const int64_t S_used = bug == BUG_LAST_KEY ? S - 1 : S;
        for (int64_t t = 0; t < T; t++) {
            float m = -INFINITY, l = 0;
            if (bug != BUG_NO_SOFTMAX_MAX)
                for (int64_t j = 0; j < S_used; j++) m = fmaxf(m, e[t * S + j]);
            else
                m = 0;
            if (bug == BUG_SOFTMAX_OVER_T)
                for (int64_t u = 0; u < T; u++) l += expf(e[u * S + 0] - m);
            float *ct = c + (b * T + t) * Dk;
            for (int64_t x = 0; x < Dk; x++) ct[x] = 0;
            for (int64_t j = 0; j < S_used; j++) {
                const float p = expf(e[t * S + j] - m);
                if (bug != BUG_SOFTMAX_OVER_T) l += p;
                const float *val = bug == BUG_VALUES_ARE_H ? in->h + (b * T + (j % T)) * Dq
                                                          : in->hb + (b * S + j) * Dk;
                for (int64_t x = 0; x < Dk; x++) ct[x] += p * val[x];
            }
            for (int64_t x = 0; x < Dk; x++) ct[x] /= l;
        }
    }
    free(e);
}

/* The faithful copy passes attn_compare with the suite's f32 tolerance, each planted bug fails
 * it (by orders of magnitude: the bugs move c by O(1)·max|c|). */
Test(luong_f32, planted_bugs_rejected)
{
    static const struct { const char *suite, *shape; int score; bug_t bug; } cases[] = {
        {"luong", "B=2,T=9,S=31,Dq=32,score=0", LUONG_DOT, BUG_NONE},
        {"luong", "B=2,T=9,S=31,Dq=32,score=1", LUONG_GENERAL, BUG_NONE},
        {"additive", "B=2,T=9,S=31,Dq=32,A=16", LUONG_CONCAT, BUG_NONE},
        {"luong", "B=2,T=9,S=31,Dq=32,score=0", LUONG_DOT, BUG_NO_SOFTMAX_MAX},
        {"luong", "B=2,T=9,S=31,Dq=32,score=0", LUONG_DOT, BUG_SOFTMAX_OVER_T},
        {"luong", "B=2,T=9,S=31,Dq=32,score=1", LUONG_GENERAL, BUG_LAST_KEY},
        {"luong", "B=2,T=9,S=31,Dq=32,score=0", LUONG_DOT, BUG_VALUES_ARE_H},
        {"luong", "B=2,T=9,S=31,Dq=32,score=1", LUONG_GENERAL, BUG_WA_TRANSPOSED},
        {"additive", "B=2,T=9,S=31,Dq=32,A=16", LUONG_CONCAT, BUG_W1_W2_SWAPPED},
        {"additive", "B=2,T=9,S=31,Dq=32,A=16", LUONG_CONCAT, BUG_TANH_SPLIT},
        {"additive", "B=2,T=9,S=31,Dq=32,A=16", LUONG_CONCAT, BUG_KEYS_BATCH0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        lcase_t c = make_case(cases[k].suite, cases[k].shape);
        const luong_shape_t s = shape_of(&c, cases[k].score);
        luong_inputs_t in = {c.in[0], c.in[1], NULL, NULL, NULL, NULL};
        if (s.score == LUONG_GENERAL) in.wa = c.in[2];
        if (s.score == LUONG_CONCAT) in.w1 = c.in[2], in.w2 = c.in[3], in.v = c.in[4];
        float *out = tst_falloc((int64_t)(attn_out_bytes(&c.L, 4) / 4)); /* c, then a */
        buggy_f32(&s, &in, out, cases[k].bug);
        const double tol = c.su->tolerance(c.su, c.v, ATTN_F32);
        const attn_check_t r = attn_compare(out, ATTN_F32, c.ref, c.ny, s.Dk, NULL, tol);
        const int faithful = cases[k].bug == BUG_NONE || cases[k].bug == BUG_NO_SOFTMAX_MAX;
        if (faithful)
            cr_expect(r.ok, "case %zu (bug %d) rejected: err %g, tol %g", k, cases[k].bug,
                      r.max_abs_err, r.tol_abs);
        else
            cr_expect(!r.ok && r.max_abs_err > 100 * r.tol_abs,
                      "case %zu (bug %d) not clearly rejected: err %g, tol %g", k, cases[k].bug,
                      r.max_abs_err, r.tol_abs);
        free(out);
        free_case(&c);
    }
}

/* The f32 bound stays far below bf16's unit roundoff at the contract's largest case (so a variant that
 * secretly rounds to bf16 fails it), and bf16's is the documented 8·u. */
Test(luong_f32, tolerance_is_sane)
{
    const attn_suite_t *su = tst_suite("luong");
    int64_t *v = tst_case(su, "B=64,T=1024,Dq=512,A=256,score=2"); /* the contract's largest */
    const double t32 = su->tolerance(su, v, ATTN_F32), t16 = su->tolerance(su, v, ATTN_BF16);
    cr_expect_lt(t32, 2e-4, "f32 tolerance %g", t32);
    cr_expect_lt(t32, attn_unit_roundoff(ATTN_BF16) / 16, "f32 tolerance %g admits bf16", t32);
    cr_expect_float_eq(t16, 8.0 / 256, 1e-15);
    free(v);
}
