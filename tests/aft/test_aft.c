/* The aft suite: its CPU reference (aft_ref), its f32 CPU variant (aft_cpu_f32) and its registry
 * entry (derive, grids, layout, generator, FLOPs, bytes, tolerances).
 *  - hand-computed cases for each form (full, simple, local with two windows), numbers worked
 *    out in the comments;
 *  - invariants: local with s >= T equals full; full with w ≡ 0 equals simple; K ≈ 100 stays
 *    finite (reference and f32; an unstabilised copy overflows and is rejected); row selection;
 *  - the f32 variant and a copy of its loop within the suite's f32 tolerance; planted bugs in
 *    that copy rejected by attn_compare with that tolerance;
 *  - derive() errors naming the values; the sweep grids. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aft_ref.h"
#include "check.h"
#include "cli.h"
#include "common.h"
#include "util.h"


/* ------------------------------------------------------------------ hand-computed cases */

/* B = 1, T = 3, D = 2, Dh = 1, Tmax = 4 (row and column 3 of w hold 100: never read at T = 3).
 * x[t] = (a_t, v_t) with a = (0, ln 2, ln 3), v = (6, 0, −3).
 * Wq = (0, 0), bq = ln 3 → Q = ln 3, σ(Q) = 1/(1 + 1/3) = 3/4 at every t.
 * Wk = (1, 0), bk = 0 → K = a, e^K = (1, 2, 3).   Wv = (0, 1), bv = 0 → V = v.
 * e^w rows (t' = 0, 1, 2): row 0 (1, 1, 4), row 1 (3, 1, 1), row 2 (1, 1, 2).
 * Wp = (1, −2)ᵀ (D × Dh), bp = (1/4, 1/2): out_t = (y_t + 1/4, −2·y_t + 1/2).
 * Weights e^{w'}·e^K and ratio Σ weight·v / Σ weight:
 *   simple (w' = 0): (1, 2, 3) → (6 − 9)/6 = −1/2 for every t → y = −3/8.
 *   full: row 0 (1, 2, 12) → (6 − 36)/15 = −2;  row 1 (3, 2, 3) → (18 − 9)/8 = 9/8;
 *         row 2 (1, 2, 6) → (6 − 18)/9 = −4/3  → y = (−3/2, 27/32, −1).
 *   local s = 1 (only t' = t keeps w; w00 = w11 = 0): row 0 (1, 2, 3) → −1/2, row 1 → −1/2,
 *         row 2 (w22 = ln 2) (1, 2, 6) → −4/3  → y = (−3/8, −3/8, −1).
 *   local s = 2 (|t − t'| <= 1): row 0 loses w02 → −1/2; row 1 keeps w10 → 9/8; row 2 as full
 *         → y = (−3/8, 27/32, −1).
 *   (The seed's local with −∞ outside the window would give row 0 of s = 1 the ratio 6/1 = 6.) */
static const float hx[6] = {0, 6, 0.69314718f, 0, 1.0986123f, -3};
static void hand_inputs(float *wqkv, float *bqkv, float *w, float *wp, float *bp)
{
    const float W[6] = {0, 0, 1, 0, 0, 1}; /* rows Q, K, V of (3, 2) */
    memcpy(wqkv, W, sizeof W);
    bqkv[0] = logf(3), bqkv[1] = 0, bqkv[2] = 0;
    const double ew[3][3] = {{1, 1, 4}, {3, 1, 1}, {1, 1, 2}};
    for (int t = 0; t < 4; t++)
        for (int tp = 0; tp < 4; tp++)
            w[t * 4 + tp] = (t < 3 && tp < 3) ? (float)log(ew[t][tp]) : 100.f;
    wp[0] = 1, wp[1] = -2, bp[0] = 0.25f, bp[1] = 0.5f;
}

static void hand_case(int64_t form, int64_t s, const double y[3])
{
    float wqkv[6], bqkv[3], w[16], wp[2], bp[2];
    hand_inputs(wqkv, bqkv, w, wp, bp);
    const aft_shape_t sh = {1, 3, 2, 1, form, s, 4};
    const aft_inputs_t in = {hx, wqkv, bqkv, w, wp, bp};
    double out[6];
    float outf[6];
    aft_ref(&sh, &in, out, NULL);
    aft_cpu_f32(&sh, &in, outf);
    for (int t = 0; t < 3; t++) {
        const double want[2] = {y[t] + 0.25, -2 * y[t] + 0.5};
        for (int j = 0; j < 2; j++) {
            /* ln 2, ln 3 and the ln of e^w are rounded to float: ~1e-7 relative */
            cr_expect_float_eq(out[t * 2 + j], want[j], 1e-6, "form %lld s %lld out[%d][%d] = "
                               "%.17g, want %.17g", (long long)form, (long long)s, t, j,
                               out[t * 2 + j], want[j]);
            cr_expect_float_eq(outf[t * 2 + j], want[j], 2e-6, "f32 form %lld s %lld out[%d][%d] "
                               "= %.9g, want %.17g", (long long)form, (long long)s, t, j,
                               outf[t * 2 + j], want[j]);
        }
    }
}

Test(aft_hand, simple) { hand_case(AFT_SIMPLE, 1, (const double[3]){-0.375, -0.375, -0.375}); }
Test(aft_hand, full) { hand_case(AFT_FULL, 1, (const double[3]){-1.5, 27.0 / 32, -1}); }
Test(aft_hand, local_s1) { hand_case(AFT_LOCAL, 1, (const double[3]){-0.375, -0.375, -1}); }
Test(aft_hand, local_s2) { hand_case(AFT_LOCAL, 2, (const double[3]){-0.375, 27.0 / 32, -1}); }
/* s = 3 >= T: every pair is inside the window, local = full. */
Test(aft_hand, local_s3_is_full) { hand_case(AFT_LOCAL, 3, (const double[3]){-1.5, 27.0 / 32, -1}); }

/* w' by definition: 0 outside the window (not −∞), nothing but w inside it. */
Test(aft_hand, bias_of_each_form)
{
    float w[16];
    for (int e = 0; e < 16; e++) w[e] = (float)(e + 1);
    const aft_shape_t full = {1, 4, 1, 1, AFT_FULL, 2, 4}, simple = {1, 4, 1, 1, AFT_SIMPLE, 2, 4},
                      local = {1, 4, 1, 1, AFT_LOCAL, 2, 4};
    cr_expect_eq(aft_bias(&full, w, 0, 3), 4.0);
    cr_expect_eq(aft_bias(&simple, w, 0, 3), 0.0);
    cr_expect_eq(aft_bias(&local, w, 0, 3), 0.0);  /* |0 − 3| = 3 >= 2 */
    cr_expect_eq(aft_bias(&local, w, 2, 1), 10.0); /* |2 − 1| = 1 < 2: w[2][1] = 2·4 + 1 + 1 */
    cr_expect_eq(aft_bias(&local, w, 3, 1), 0.0);  /* |3 − 1| = 2 */
}

/* ------------------------------------------------------------------ cases from the registry */

typedef struct acase {
    const attn_suite_t *su;
    int64_t *v;
    attn_layout_t L;
    float *in[ATTN_MAX_TENSORS];
    aft_shape_t s;
    aft_inputs_t t;
    double *ref;
    int64_t ny;
    double tol32;
} acase_t;

static acase_t make_case(const char *shape)
{
    acase_t c = {0};
    c.su = tst_suite("aft");
    c.v = tst_case(c.su, shape);
    c.su->layout(c.su, c.v, &c.L);
    cr_assert_eq(c.L.nin, 6);
    for (int i = 0; i < c.L.nin; i++) c.in[i] = tst_falloc(attn_tensor_numel(&c.L.in[i]));
    c.su->generate(c.su, c.v, 42, (void *const *)c.in);
    c.s = (aft_shape_t){tst_axis(c.su, c.v, "B"),    tst_axis(c.su, c.v, "T"),
                        tst_axis(c.su, c.v, "D"),    tst_axis(c.su, c.v, "Dh"),
                        tst_axis(c.su, c.v, "form"), tst_axis(c.su, c.v, "s"),
                        tst_axis(c.su, c.v, "Tmax")};
    c.t = (aft_inputs_t){c.in[0], c.in[1], c.in[2], c.in[3], c.in[4], c.in[5]};
    c.ny = attn_tensor_numel(&c.L.out);
    c.ref = tst_dalloc(c.ny);
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    c.tol32 = c.su->tolerance(c.su, c.v, ATTN_F32);
    return c;
}

static void free_case(acase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
    free(c->ref), free(c->v);
}

static double max_abs_diff(const double *a, const double *b, int64_t n)
{
    double m = 0;
    for (int64_t e = 0; e < n; e++) {
        const double d = fabs(a[e] - b[e]);
        if (!(d <= m)) m = d; /* NaN counts as the worst */
    }
    return m;
}

static double max_abs(const double *a, int64_t n)
{
    double m = 0;
    for (int64_t e = 0; e < n; e++) m = fmax(m, fabs(a[e]));
    return m;
}

/* local with s >= T is full: the same generated inputs (generate ignores form and s). */
Test(aft_invariant, local_with_wide_window_is_full)
{
    acase_t f = make_case("B=2,T=40,D=16,form=0");
    const char *shapes[] = {"B=2,T=40,D=16,form=2,s=40", "B=2,T=40,D=16,form=2,s=1000"};
    for (int k = 0; k < 2; k++) {
        acase_t l = make_case(shapes[k]);
        cr_expect_eq(max_abs_diff(f.ref, l.ref, f.ny), 0.0, "%s differs from full", shapes[k]);
        free_case(&l);
    }
    /* and a narrow window does not */
    acase_t l = make_case("B=2,T=40,D=16,form=2,s=39");
    cr_expect_gt(max_abs_diff(f.ref, l.ref, f.ny), 100 * f.tol32 * max_abs(f.ref, f.ny));
    free_case(&l), free_case(&f);
}

/* full with w ≡ 0 is simple. */
Test(aft_invariant, full_with_zero_bias_is_simple)
{
    acase_t f = make_case("B=2,T=50,D=24,Dh=16,form=0");
    acase_t s = make_case("B=2,T=50,D=24,Dh=16,form=1");
    cr_expect_gt(max_abs_diff(f.ref, s.ref, f.ny), 100 * f.tol32 * max_abs(f.ref, f.ny),
                 "w has no visible effect: the test would prove nothing");
    memset(f.in[3], 0, (size_t)attn_tensor_numel(&f.L.in[3]) * sizeof(float));
    f.su->reference(f.su, f.v, (const void *const *)f.in, f.ref, NULL);
    cr_expect_leq(max_abs_diff(f.ref, s.ref, f.ny), 1e-14 * max_abs(s.ref, s.ny));
    free_case(&f), free_case(&s);
}

/* Row selection, every form: selected rows equal the full computation bit for bit (the
 * reference computes per-batch work once: K, V, e^{K−m}, and for simple the sums over t'), the
 * others are untouched. */
Test(aft_invariant, row_selection)
{
    static const char *const shapes[] = {"B=3,T=37,D=16,form=2,s=5", "B=3,T=37,D=16,form=0",
                                         "B=3,T=37,D=16,Dh=12,form=1"};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        acase_t c = make_case(shapes[k]);
        const int64_t rows = c.L.out_rows, D = c.s.D;
        uint8_t *sel = calloc((size_t)rows, 1);
        attn_sample_rows(sel, rows, 10, 7);
        double *part = tst_dalloc(c.ny);
        for (int64_t e = 0; e < c.ny; e++) part[e] = -12345;
        c.su->reference(c.su, c.v, (const void *const *)c.in, part, sel);
        for (int64_t e = 0; e < c.ny; e++)
            if (sel[e / D])
                cr_expect_eq(part[e], c.ref[e], "%s: row %lld", shapes[k], (long long)(e / D));
            else cr_expect_eq(part[e], -12345, "%s: row %lld written", shapes[k], (long long)(e / D));
        free(sel), free(part), free_case(&c);
    }
}

/* ------------------------------------------------------------------ a copy of the f32 loop */

typedef enum bug {
    BUG_NONE,
    BUG_NO_W,       /* the position bias ignored (full computed as simple) */
    BUG_W_T,        /* w[t'][t] instead of w[t][t'] */
    BUG_WINDOW,     /* |t − t'| <= s: the window one wider */
    BUG_NEG_INF,    /* −∞ outside the window (the weights there vanish) instead of w' = 0 */
    BUG_NO_SIGMOID, /* Q instead of σ(Q) */
    BUG_NO_MAX,     /* no max subtraction: e^K overflows for K ≈ 100 */
    NBUGS
} bug_t;
static const char *bug_name[NBUGS] = {"none", "no w", "w transposed", "window one wider",
                                      "-inf outside window", "no sigmoid", "no max subtraction"};

static float bias_bug(const aft_shape_t *s, const float *w, int64_t t, int64_t tp, bug_t bug)
{
    if (s->form == AFT_SIMPLE || bug == BUG_NO_W) return 0.f;
    const int64_t dist = llabs(t - tp);
    const int64_t lim = bug == BUG_WINDOW ? s->s + 1 : s->s;
    if (s->form == AFT_LOCAL && dist >= lim) return bug == BUG_NEG_INF ? -INFINITY : 0.f;
    return bug == BUG_W_T ? w[tp * s->Tmax + t] : w[t * s->Tmax + tp];
}

/* out in float as the plainest code does it, with one bug switched in. */
static void f32_copy(const aft_shape_t *s, const aft_inputs_t *in, float *out, bug_t bug)
{
    const int64_t T = s->T, D = s->D, Dh = s->Dh;
    float *qkv = tst_falloc(T * 3 * Dh), *m = tst_falloc(Dh), *y = tst_falloc(Dh);
    for (int64_t b = 0; b < s->B; b++) {
        for (int64_t t = 0; t < T; t++)
            for (int64_t j = 0; j < 3 * Dh; j++) {
                float a = in->bqkv[j];
                for (int64_t c = 0; c < D; c++) a += in->wqkv[j * D + c] * in->x[(b * T + t) * D + c];
                qkv[t * 3 * Dh + j] = a;
            }
        for (int64_t c = 0; c < Dh; c++) {
            m[c] = bug == BUG_NO_MAX ? 0.f : -INFINITY;
            if (bug != BUG_NO_MAX)
                for (int64_t t = 0; t < T; t++) m[c] = fmaxf(m[c], qkv[t * 3 * Dh + Dh + c]);
        }
        for (int64_t t = 0; t < T; t++) {
            float r = bug == BUG_NO_MAX ? 0.f : -INFINITY;
            if (bug != BUG_NO_MAX)
                for (int64_t tp = 0; tp < T; tp++) r = fmaxf(r, bias_bug(s, in->w, t, tp, bug));
            for (int64_t c = 0; c < Dh; c++) {
                float num = 0, den = 0;
                for (int64_t tp = 0; tp < T; tp++) {
                    const float e = expf(bias_bug(s, in->w, t, tp, bug) - r) *
                                    expf(qkv[tp * 3 * Dh + Dh + c] - m[c]);
                    num += e * qkv[tp * 3 * Dh + 2 * Dh + c];
                    den += e;
                }
                const float q = qkv[t * 3 * Dh + c];
                y[c] = (bug == BUG_NO_SIGMOID ? q : 1.f / (1.f + expf(-q))) * num / den;
            }
            for (int64_t j = 0; j < D; j++) {
                float a = in->bp[j];
                for (int64_t c = 0; c < Dh; c++) a += in->wp[j * Dh + c] * y[c];
                out[(b * T + t) * D + j] = a;
            }
        }
    }
    free(qkv), free(m), free(y);
}

static attn_check_t check_f32(const acase_t *c, const float *out)
{
    return attn_compare(out, ATTN_F32, c->ref, c->ny, c->s.D, NULL, c->tol32);
}

/* cpu-f32 and the faithful copy pass, with margin (they use a few % of the bound). */
Test(aft_f32, variant_and_copy_within_tolerance)
{
    const char *shapes[] = {"B=2,T=64,D=32,form=0", "B=1,T=100,D=16,Dh=40,form=1",
                            "B=2,T=77,D=32,form=2,s=9", "B=1,T=64,D=32,form=0,kshift=100",
                            "B=1,T=64,D=32,form=2,s=5,kshift=-100", "B=1,T=20,Tmax=31,D=8,form=0"};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        acase_t c = make_case(shapes[k]);
        float *out = tst_falloc(c.ny);
        aft_cpu_f32(&c.s, &c.t, out);
        attn_check_t r = check_f32(&c, out);
        cr_expect(r.ok, "%s cpu-f32: err %g > %g", shapes[k], r.max_abs_err, r.tol_abs);
        cr_expect_lt(r.max_abs_err, 0.25 * r.tol_abs, "%s cpu-f32 uses %.0f%% of the bound",
                     shapes[k], 100 * r.max_abs_err / r.tol_abs);
        f32_copy(&c.s, &c.t, out, BUG_NONE);
        r = check_f32(&c, out);
        cr_expect(r.ok && r.max_abs_err < 0.25 * r.tol_abs, "%s copy: err %g (tol %g)", shapes[k],
                  r.max_abs_err, r.tol_abs);
        free(out), free_case(&c);
    }
}

/* Each planted bug is rejected where it changes the maths (and by a wide margin). */
Test(aft_f32, planted_bugs_rejected)
{
    static const struct { bug_t bug; const char *shape; } plants[] = {
        {BUG_NO_W, "B=2,T=64,D=32,form=0"},
        {BUG_W_T, "B=2,T=64,D=32,form=0"},
        {BUG_W_T, "B=1,T=64,D=32,form=2,s=8"},
        {BUG_WINDOW, "B=2,T=64,D=32,form=2,s=8"},
        {BUG_NEG_INF, "B=2,T=64,D=32,form=2,s=8"},
        {BUG_NO_SIGMOID, "B=1,T=64,D=32,form=1"},
        {BUG_NO_MAX, "B=1,T=64,D=32,form=0,kshift=100"},
        {BUG_NO_MAX, "B=1,T=64,D=32,form=2,s=4,kshift=100"},
    };
    for (size_t k = 0; k < sizeof plants / sizeof plants[0]; k++) {
        acase_t c = make_case(plants[k].shape);
        float *out = tst_falloc(c.ny);
        f32_copy(&c.s, &c.t, out, plants[k].bug);
        attn_check_t r = check_f32(&c, out);
        cr_expect(!r.ok, "planted '%s' at %s passed (err %g, tol %g)", bug_name[plants[k].bug],
                  plants[k].shape, r.max_abs_err, r.tol_abs);
        if (plants[k].bug == BUG_NO_MAX)
            cr_expect_gt(r.nonfinite, 0, "no max subtraction at K ≈ 100 stayed finite");
        else
            cr_expect_gt(r.max_abs_err, 30 * r.tol_abs, "'%s' only %.1f× the bound",
                         bug_name[plants[k].bug], r.max_abs_err / r.tol_abs);
        free(out), free_case(&c);
    }
}

/* K ≈ 100 (and −100): the reference and cpu-f32 stay finite and agree. */
Test(aft_f32, large_k_is_finite)
{
    const char *shapes[] = {"B=1,T=128,D=32,form=0,kshift=100", "B=1,T=128,D=32,form=1,kshift=100",
                            "B=1,T=128,D=32,form=2,s=16,kshift=100",
                            "B=1,T=128,D=32,form=0,kshift=-100"};
    for (size_t k = 0; k < sizeof shapes / sizeof shapes[0]; k++) {
        acase_t c = make_case(shapes[k]);
        for (int64_t e = 0; e < c.ny; e++) cr_assert(isfinite(c.ref[e]), "%s ref[%lld] = %g",
                                                   shapes[k], (long long)e, c.ref[e]);
        float *out = tst_falloc(c.ny);
        aft_cpu_f32(&c.s, &c.t, out);
        attn_check_t r = check_f32(&c, out);
        cr_expect(r.ok && r.nonfinite == 0, "%s: err %g tol %g, %lld non-finite", shapes[k],
                  r.max_abs_err, r.tol_abs, (long long)r.nonfinite);
        free(out), free_case(&c);
    }
}

/* ------------------------------------------------------------------ registry */

/* derive(): Dh = D, Tmax = T by default; bad shapes are refused with the values named. */
Test(aft_suite, derive_and_errors)
{
    const attn_suite_t *su = tst_suite("aft");
    int64_t *v = tst_case(su, "T=300,D=96");
    cr_expect_eq(tst_axis(su, v, "Dh"), 96);
    cr_expect_eq(tst_axis(su, v, "Tmax"), 300);
    cr_expect_eq(tst_axis(su, v, "s"), 256);
    cr_expect_eq(tst_axis(su, v, "form"), 0);
    free(v);
    static const tst_bad_shape_t bad[] = {
        {"s=0", "s=0"},
        {"s=-3", "s=-3"},
        {"T=300,Tmax=256", "T=300 is larger than Tmax=256"},
        {"form=3", "form=3"},
        {"B=65536,T=32768,D=16", "2^31"},
    };
    char err[512];
    tst_expect_bad_shapes("aft", bad, sizeof bad / sizeof bad[0]);
    /* derive() itself names s for a direct caller that skips the CLI's range check */
    int64_t w[8] = {1, 8, 4, ATTN_UNSET, 2, 0, ATTN_UNSET, 0};
    cr_assert_eq(su->naxes, 8);
    cr_expect_eq(su->derive(su, w, err, sizeof err), -1);
    cr_expect(strstr(err, "s=0") != NULL, "%s", err);
}

/* GPU grid 3·5·3·(1 + 1 + 3) = 225 (s varies only for local), CPU grid 1·3·2·(1 + 1 + 2) = 24. */
Test(aft_suite, sweep_grids)
{
    char err[512];
    int64_t *cases;
    const attn_suite_t *su = tst_suite("aft");
    const int iform = attn_axis_index(su, "form"), is = attn_axis_index(su, "s");
    for (int cpu = 0; cpu <= 1; cpu++) {
        const int n = tst_build_cases("aft", NULL, 1, cpu, &cases, err, sizeof err);
        cr_assert_eq(n, cpu ? 24 : 225, "%s grid: %d cases (%s)", cpu ? "CPU" : "GPU", n, err);
        for (int k = 0; k < n; k++) {
            const int64_t *v = cases + (size_t)k * (size_t)su->naxes;
            if (v[iform] != AFT_LOCAL) cr_expect_eq(v[is], 256);
        }
        free(cases);
    }
}

/* FLOPs and bytes as docs/suites.md writes them. */
Test(aft_suite, flops_and_bytes)
{
    const attn_suite_t *su = tst_suite("aft");
    int64_t *v = tst_case(su, "B=2,T=100,D=48,Dh=32,form=0,s=10");
    const double proj = 8.0 * 2 * 100 * 48 * 32;
    cr_expect_float_eq(su->flops(su, v), 4.0 * 2 * 100 * 100 * 32 + proj, 1e-9);
    v[attn_axis_index(su, "form")] = 2;
    cr_expect_float_eq(su->flops(su, v), 8.0 * 2 * 100 * 10 * 32 + proj, 1e-9);
    /* band of T = 100, s = 10: 100·19 − 10·9 = 1810 pairs with |t − t'| < 10 */
    const double rest = 2.0 * 2 * 100 * 48 + 3 * 32 * 48 + 3 * 32 + 48 * 32 + 48;
    cr_expect_float_eq(su->bytes(su, v, 4), 4 * (rest + 1810), 1e-9);
    v[attn_axis_index(su, "s")] = 100; /* s >= T: local is full, and counts as full */
    cr_expect_float_eq(su->flops(su, v), 4.0 * 2 * 100 * 100 * 32 + proj, 1e-9);
    cr_expect_float_eq(su->bytes(su, v, 4), 4 * (rest + 100 * 100), 1e-9);
    v[attn_axis_index(su, "s")] = 10;
    v[attn_axis_index(su, "form")] = 1;
    cr_expect_float_eq(su->flops(su, v), 6.0 * 2 * 100 * 32 + proj, 1e-9);
    cr_expect_float_eq(su->bytes(su, v, 4), 4 * rest, 1e-9);
    free(v);
}
