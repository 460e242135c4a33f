/* The shuffle suite: its CPU reference (shuffle_ref, shuffle_ref_gate), its f32 CPU variant and
 * its registry entry.
 *  - a hand-computed case (both branches, a constant plane, the shuffle) worked out in comments;
 *  - the invariant: with both gates ≈ 1 (cw = sw = 0, cb = sb = 30) the output is the channel
 *    permutation out[:, 2j + i] = x[:, i·C/2 + j], within max|x|·(1 − σ(30));
 *  - the f32 variant within the suite's tolerance; planted bugs in a test-local copy of its
 *    loop (no shuffle, inverse shuffle, branches swapped, unbiased variance, GroupNorm over the
 *    whole spatial branch instead of per channel) rejected;
 *  - derive() errors naming the values; FLOPs, bytes, layout, sweep grids. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "common.h"
#include "shuffle_ref.h"
#include "util.h"

static double sigm(double z) { return 1.0 / (1.0 + exp(-z)); }

/* ------------------------------------------------------------------ hand-computed case */

/* B = 1, C = 4, G = 1 (Cg = 2), H = 1, W = 2. Input channels k = 0, 1: channel branch (parameter
 * c = k); k = 2, 3: spatial branch (c = k − 2). Shuffle: out channel o = 2j + i reads input
 * channel i·2 + j: o0 ← k0, o1 ← k2, o2 ← k1, o3 ← k3.
 *  k0 = (1, 3): μ = 2, cw = ½, cb = −1: z = 0, gate ½ → (0.5, 1.5)
 *  k1 = (−2, 0): μ = −1, cw = 1, cb = 1 + ln 3: z = ln 3, gate 3/4 → (−1.5, 0)
 *  k2 = (1, −1): μ = 0, σ² = 1, γ = 1, β = 0: GN = ±1/√(1 + 1e-5) = ±a; sw = 1, sb = 0:
 *      gate σ(±a) → (σ(a), −σ(−a)) = (0.7310576…, −0.2689423…)
 *  k3 = (2, 2): σ² = 0, GN = β = ½ (x − μ = 0; γ = 3 is multiplied by 0); sw = 2, sb = −1:
 *      z = 0, gate ½ → (1, 1)
 * out = o0 (0.5, 1.5), o1 (σ(a), −σ(−a)), o2 (−1.5, 0), o3 (1, 1).
 * (No shuffle would give o1 = (−1.5, 0); a biased/unbiased mix-up changes a: unbiased σ² = 2.) */
Test(shuffle_hand, both_branches_and_the_shuffle)
{
    const shuffle_shape_t s = {1, 4, 1, 2, 1};
    const float x[8] = {1, 3, -2, 0, 1, -1, 2, 2};
    const float cw[2] = {0.5f, 1}, cb[2] = {-1, 1 + logf(3)}, sw[2] = {1, 2}, sb[2] = {0, -1},
                ga[2] = {1, 3}, be[2] = {0, 0.5f};
    const shuffle_inputs_t in = {x, cw, cb, sw, sb, ga, be};
    double out[8];
    shuffle_ref(&s, &in, out, NULL);
    const double a = 1.0 / sqrt(1.0 + 1e-5);
    const double want[8] = {0.5, 1.5, sigm(a), -sigm(-a), -1.5, 0, 1, 1};
    for (int e = 0; e < 8; e++) {
        const double tol = e == 4 || e == 5 ? 1e-7 : 1e-15; /* 1 + ln 3 is rounded to float */
        cr_expect_float_eq(out[e], want[e], tol, "out[%d] = %.17g, want %.17g", e, out[e],
                           want[e]);
    }
    cr_expect_float_eq(out[2], 0.7310576, 1e-7);
    float of[8];
    shuffle_cpu_f32(&s, &in, of);
    for (int e = 0; e < 8; e++)
        cr_expect_float_eq(of[e], want[e], 1e-6, "f32 out[%d] = %.9g, want %.17g", e, of[e],
                           want[e]);
}

/* ------------------------------------------------------------------ cases from the registry */

typedef struct scase {
    const attn_suite_t *su;
    int64_t *v;
    attn_layout_t L;
    float *in[ATTN_MAX_TENSORS];
    shuffle_shape_t s;
    shuffle_inputs_t t;
    double *ref;
    int64_t ny;
    double tol;
} scase_t;

static scase_t make_case(const char *shape)
{
    scase_t c = {0};
    c.su = tst_suite("shuffle");
    c.v = tst_case(c.su, shape);
    c.su->layout(c.su, c.v, &c.L);
    cr_assert_eq(c.L.nin, 7);
    for (int i = 0; i < c.L.nin; i++) {
        c.in[i] = calloc((size_t)attn_tensor_numel(&c.L.in[i]), sizeof(float));
        cr_assert_not_null(c.in[i]);
    }
    c.su->generate(c.su, c.v, 42, (void *const *)c.in);
    c.s = (shuffle_shape_t){tst_axis(c.su, c.v, "B"), tst_axis(c.su, c.v, "C"),
                            tst_axis(c.su, c.v, "H"), tst_axis(c.su, c.v, "W"),
                            tst_axis(c.su, c.v, "G")};
    c.t = (shuffle_inputs_t){c.in[0], c.in[1], c.in[2], c.in[3], c.in[4], c.in[5], c.in[6]};
    c.ny = attn_tensor_numel(&c.L.out);
    c.ref = malloc((size_t)c.ny * sizeof(double));
    cr_assert_not_null(c.ref);
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    c.tol = c.su->tolerance(c.su, c.v, ATTN_F32);
    return c;
}

static void free_case(scase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
    free(c->ref), free(c->v);
}

/* Both gates ≈ 1: cw = sw = 0, cb = sb = 30, so every gate is σ(30) = 1 − 9.4e-14 and the
 * output is the channel shuffle of x to within max|x|·(1 − σ(30)) (the double reference); in
 * float σ(30) rounds to exactly 1, so cpu-f32 is the permutation exactly. */
Test(shuffle_invariant, unit_gates_give_the_channel_permutation)
{
    scase_t c = make_case("B=2,C=32,G=4,H=5,W=3");
    const int64_t Cg = 4, C = 32, HW = 15;
    for (int64_t i = 0; i < Cg; i++) {
        c.in[1][i] = 0, c.in[3][i] = 0;   /* cw, sw */
        c.in[2][i] = 30, c.in[4][i] = 30; /* cb, sb */
    }
    shuffle_ref(&c.s, &c.t, c.ref, NULL);
    double xmax = 0;
    for (int64_t e = 0; e < c.ny; e++) xmax = fmax(xmax, fabs(c.in[0][e]));
    const double tol = xmax * (1.0 - sigm(30.0)) * 1.01;
    float *of = malloc((size_t)c.ny * sizeof(float));
    shuffle_cpu_f32(&c.s, &c.t, of);
    for (int64_t b = 0; b < 2; b++)
        for (int64_t j = 0; j < C / 2; j++)
            for (int64_t i = 0; i < 2; i++)
                for (int64_t q = 0; q < HW; q++) {
                    const float xv = c.in[0][(b * C + i * C / 2 + j) * HW + q];
                    const int64_t o = (b * C + 2 * j + i) * HW + q;
                    cr_expect(fabs(c.ref[o] - xv) <= tol, "ref out[%lld] = %.17g, x = %.9g",
                              (long long)o, c.ref[o], xv);
                    cr_expect(of[o] == xv, "f32 out[%lld] = %.9g, x = %.9g", (long long)o,
                              of[o], xv);
                }
    free(of);
    free_case(&c);
}

/* Row selection computes exactly the selected output planes. */
Test(shuffle_reference, row_sel_only_selected_rows)
{
    scase_t c = make_case("B=2,C=16,G=2,H=3");
    uint8_t sel[32] = {0};
    sel[0] = sel[7] = sel[31] = 1;
    double *o = malloc((size_t)c.ny * sizeof(double));
    for (int64_t e = 0; e < c.ny; e++) o[e] = -7;
    shuffle_ref(&c.s, &c.t, o, sel);
    for (int64_t e = 0; e < c.ny; e++) {
        const int64_t r = e / 9;
        if (sel[r]) cr_expect_eq(o[e], c.ref[e]);
        else cr_expect_eq(o[e], -7);
    }
    free(o);
    free_case(&c);
}

/* ------------------------------------------------------------------ the f32 variant */

enum bug { BUG_NONE, BUG_NO_SHUFFLE, BUG_INVERSE_SHUFFLE, BUG_BRANCHES_SWAPPED, BUG_UNBIASED,
           BUG_GN_ONE_GROUP, NBUGS };
static const char *const bug_name[NBUGS] = {"none", "no shuffle", "inverse shuffle",
                                            "branches swapped", "unbiased variance",
                                            "GroupNorm with one group of Cg channels"};

/* A copy of shuffle_cpu_f32's loop with one bug planted. */
static void f32_copy(const shuffle_shape_t *s, const shuffle_inputs_t *in, float *out, enum bug bug)
{
    const int64_t HW = s->H * s->W, C = s->C, Cg = C / (2 * s->G);
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t k = 0; k < C; k++) {
            int64_t i = k % (2 * Cg);
            if (bug == BUG_BRANCHES_SWAPPED) i = (i + Cg) % (2 * Cg);
            const int64_t c = i % Cg;
            int64_t o = (k % (C / 2)) * 2 + k / (C / 2);
            if (bug == BUG_NO_SHUFFLE) o = k;
            if (bug == BUG_INVERSE_SHUFFLE) o = (k % 2) * (C / 2) + k / 2;
            const float *xp = in->x + (b * C + k) * HW;
            float *op = out + (b * C + o) * HW;
            /* the statistics' extent: this plane, or (the bug) the branch's Cg planes */
            const int one = bug == BUG_GN_ONE_GROUP && i >= Cg;
            const float *sp = one ? xp - c * HW : xp;
            const int64_t sn = one ? Cg * HW : HW;
            float sum = 0.f;
            for (int64_t p = 0; p < sn; p++) sum += sp[p];
            const float mean = sum / (float)sn;
            if (i < Cg) {
                const float g = 1.f / (1.f + expf(-(in->cw[c] * mean + in->cb[c])));
                for (int64_t p = 0; p < HW; p++) op[p] = xp[p] * g;
                continue;
            }
            float var = 0.f;
            for (int64_t p = 0; p < sn; p++) var += (sp[p] - mean) * (sp[p] - mean);
            const float n = bug == BUG_UNBIASED ? (float)(HW - 1) : (float)sn;
            const float inv = 1.f / sqrtf(var / n + (float)SHUFFLE_GN_EPS);
            const float a = inv * in->gamma[c], sw = in->sw[c];
            for (int64_t p = 0; p < HW; p++) {
                const float gn = (xp[p] - mean) * a + in->beta[c];
                op[p] = xp[p] / (1.f + expf(-(sw * gn + in->sb[c])));
            }
        }
}

static const char *const shapes[] = {
    "B=1",                     /* C = 256, G = 8, 14×14 */
    "B=2,C=64,G=8,H=7",        /* HW = 49 */
    "B=1,C=128,G=64,H=56",     /* Cg = 1, the largest grid map */
    "B=3,C=24,G=3,H=5,W=9",    /* odd sizes */
    "B=2,C=16,G=2,H=1,W=1",    /* one pixel: σ² = 0 */
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

Test(shuffle_f32, tolerance_is_sane)
{
    const attn_suite_t *su = tst_suite("shuffle");
    int64_t *v = tst_case(su, "B=64,C=2048,G=8,H=56");
    const double t = su->tolerance(su, v, ATTN_F32);
    cr_expect(t > 1e-6 && t < 1e-4, "f32 tolerance %g", t);
    free(v);
}

Test(shuffle_f32, agrees_with_reference)
{
    const attn_variant_t *x = tst_variant(tst_suite("shuffle"), "cpu-f32");
    for (size_t t = 0; t < NSHAPES; t++) {
        scase_t c = make_case(shapes[t]);
        float *out = malloc((size_t)c.ny * 4), *out2 = malloc((size_t)c.ny * 4);
        memset(out, 0xFF, (size_t)c.ny * 4);
        cr_assert_eq(x->run(c.su, x, c.v, (const void *const *)c.in, out, NULL, NULL), 0);
        attn_check_t k = attn_compare(out, ATTN_F32, c.ref, c.ny, c.ny / c.L.out_rows, NULL,
                                      c.tol);
        cr_expect(k.ok, "'%s': max|err| %g > tol %g", shapes[t], k.max_abs_err, k.tol_abs);
        cr_expect_eq(k.checked, c.ny);
        cr_log_info("shuffle cpu-f32 '%s': max|err| / tolerance = %.3g", shapes[t],
                    k.max_abs_err / k.tol_abs);
        f32_copy(&c.s, &c.t, out2, BUG_NONE);
        cr_expect(memcmp(out, out2, (size_t)c.ny * 4) == 0, "'%s': the test's copy differs",
                  shapes[t]);
        free(out), free(out2);
        free_case(&c);
    }
}

/* Each planted bug is rejected by attn_compare with the suite's tolerance, by > 100×, on every
 * shape where it changes anything (one-pixel maps have no variance to mis-scale; with Cg = 1 one
 * group is one channel). The variance convention is the exception: HW/(HW − 1) moves
 * (x − μ)/σ by 1/(2HW) relative, 2.6e-3 at 14² but 1.6e-4 at 56², the size of f32 rounding
 * over such a map; it is required to fail by 10× on maps up to 16² and not tested above. */
Test(shuffle_f32, planted_bugs_rejected)
{
    for (size_t t = 0; t < NSHAPES; t++) {
        scase_t c = make_case(shapes[t]);
        float *out = malloc((size_t)c.ny * 4);
        for (int bug = 1; bug < NBUGS; bug++) {
            const int64_t Cg = c.s.C / (2 * c.s.G), HW = c.s.H * c.s.W;
            if (bug == BUG_UNBIASED && (HW == 1 || HW > 256)) continue;
            if (bug == BUG_GN_ONE_GROUP && Cg == 1) continue;
            f32_copy(&c.s, &c.t, out, (enum bug)bug);
            attn_check_t k = attn_compare(out, ATTN_F32, c.ref, c.ny, c.ny / c.L.out_rows, NULL,
                                          c.tol);
            const double by = bug == BUG_UNBIASED ? 10 : 100;
            cr_expect(!k.ok && k.max_abs_err > by * k.tol_abs,
                      "'%s': planted bug '%s' not rejected by %g× (err %g, tol %g)", shapes[t],
                      bug_name[bug], by, k.max_abs_err, k.tol_abs);
        }
        free(out);
        free_case(&c);
    }
}

/* ------------------------------------------------------------------ the registry entry */

Test(shuffle_suite, derive_and_errors)
{
    const attn_suite_t *su = tst_suite("shuffle");
    int64_t *v = tst_case(su, "H=9");
    cr_expect_eq(tst_axis(su, v, "W"), 9);
    cr_expect_eq(tst_axis(su, v, "C"), 256);
    cr_expect_eq(tst_axis(su, v, "G"), 8);
    free(v);
    static const tst_bad_shape_t bad[] = {
        {"C=250", "C=250 is not divisible by 2·G=16"},
        {"C=100,G=64", "C=100 is not divisible by 2·G=128"},
        {"C=20,G=4", "C=20 is not divisible by 2·G=8"},
        {"G=0", "G=0: G must be in [1,"},
        {"C=2048,H=16384,W=16384", "2^29"},
    };
    tst_expect_bad_shapes("shuffle", bad, sizeof bad / sizeof bad[0]);
}

Test(shuffle_suite, flops_bytes_layout_grids)
{
    const attn_suite_t *su = tst_suite("shuffle");
    int64_t *v = tst_case(su, "B=2,C=64,G=4,H=7,W=5");
    const double n = 2.0 * 64 * 35;
    cr_expect_eq(su->flops(su, v), 15 * n);
    cr_expect_eq(su->bytes(su, v, 4), 2 * 4 * n);
    cr_expect_eq(su->bytes(su, v, 2), 2 * 2 * n);
    attn_layout_t L;
    su->layout(su, v, &L);
    cr_expect_eq(L.out_rows, 128);
    cr_expect_eq(attn_tensor_numel(&L.in[1]), 8); /* Cg = 64 / 8 */
    free(v);
    char err[512];
    int64_t *cases;
    cr_expect_eq(tst_build_cases("shuffle", NULL, 1, 0, &cases, err, sizeof err), 96, "%s", err);
    free(cases);
    cr_expect_eq(tst_build_cases("shuffle", NULL, 1, 1, &cases, err, sizeof err), 32, "%s", err);
    free(cases);
    /* generated parameters are never zero */
    scase_t c = make_case("C=512,G=8");
    for (int i = 1; i < 7; i++)
        for (int64_t e = 0; e < attn_tensor_numel(&c.L.in[i]); e++)
            cr_expect(c.in[i][e] != 0, "%s[%lld] is 0", c.L.in[i].name, (long long)e);
    free_case(&c);
}
