/* The outlook suite: its CPU reference (outlook_ref), its f32 CPU variant (outlook_cpu_f32) and
 * its registry entry (derive, grids, layout, generator, FLOPs, bytes, tolerance).
 *  - hand-computed cases whose numbers are worked out in the comments (ceil-mode pooling over
 *    valid pixels, zero-padded v inside the softmax, the fold's sum, linear orientation);
 *  - the invariant: with identity-like attention weights (a[m, m'] = 1 iff m' = m, made so by
 *    construction: Wa = 0 and a bias of +L on the diagonal of every k²×k² block), O[m] =
 *    v[pix(n, m)] and the fold gives count(q)·v[q], count(q) the number of windows covering q;
 *  - row selection;
 *  - the f32 variant and a copy of its loop within the suite's f32 tolerance; planted bugs in
 *    that copy (m/m' swapped, pool ÷σ², padding masked out of the softmax, fold averaged, no
 *    d^-½, one head for all channels, stride ignored in pix) rejected by attn_compare;
 *  - derive(): defaults and errors naming the values (k even, heads not dividing C). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "common.h"
#include "outlook_ref.h"
#include "util.h"


/* ------------------------------------------------------------------ hand-computed cases */

/* B = 1, H = 1, W = 3, C = 1, one head (d = 1, scale 1), k = 3 (p = 1), σ = 2: h' = 1, w' = 2.
 * Wv = 1 so v = x = (1, 2, 4). Wa (81 × 1): 1 at rows m·9 + 5 (logit of m' = 5, offset (1, 2):
 * the right neighbour of the centre) for every m, else 0; ba = 0. Wp = 2, bp = 0.5.
 * Pool (ceil mode, over valid pixels): window (0,0) cell = cols 0..1 → (1 + 2)/2 = 1.5;
 *   window (0,1) cell = col 2 only (col 3 is outside) → 4/1 = 4.   (÷σ² would give 0.75 and 1.)
 * Window (0,0): pix(n, m') = (−1 + m'/3, −1 + m'%3); in the image: m' = 4 → v = 1, m' = 5 → v = 2;
 *   the other 7 are padding: v = 0 but they stay in the softmax. Logit 1.5 at m' = 5, 0 elsewhere:
 *   O_a = (1·1 + 2·e^1.5) / (e^1.5 + 8), the same for every m.
 * Window (0,1): pix = (−1 + m'/3, 1 + m'%3): m' = 3 → v = 2, m' = 4 → v = 4, m' = 5 is col 3
 *   (outside: v = 0). Logit 4 at m' = 5: O_b = (2 + 4) / (e^4 + 8).
 * Fold (sum): pixel col 0 ← window 0, mx = 1; col 1 ← window 0, mx = 2 and window 1, mx = 0;
 *   col 2 ← window 1, mx = 1 (row: my = 1 only). fold = (O_a, O_a + O_b, O_b); y = 2·fold + 0.5.
 * (m/m' swapped: rows m ≠ 5 become uniform; masking padding out of the softmax: 8 → 2, 2;
 * averaging the fold: col 1 halves.) */
Test(outlook_hand, pool_padding_and_fold_sum)
{
    const outlook_shape_t s = {1, 1, 3, 1, 1, 3, 2};
    const float x[3] = {1, 2, 4}, wv[1] = {1}, wp[1] = {2}, bp[1] = {0.5f};
    float wa[81] = {0}, ba[81] = {0};
    for (int m = 0; m < 9; m++) wa[m * 9 + 5] = 1;
    const outlook_inputs_t in = {x, wv, wa, ba, wp, bp};
    double y[3];
    outlook_ref(&s, &in, y, NULL);
    const double Oa = (1 + 2 * exp(1.5)) / (exp(1.5) + 8), Ob = 6 / (exp(4.0) + 8);
    const double want[3] = {2 * Oa + 0.5, 2 * (Oa + Ob) + 0.5, 2 * Ob + 0.5};
    float yf[3];
    outlook_cpu_f32(&s, &in, yf);
    for (int e = 0; e < 3; e++) {
        cr_expect_float_eq(y[e], want[e], 1e-13, "y[%d] = %.17g, want %.17g", e, y[e], want[e]);
        cr_expect_float_eq(yf[e], want[e], 1e-6, "f32 y[%d] = %.9g, want %.17g", e, yf[e],
                           want[e]);
    }
}

/* Orientation of the linears and heads: H = W = 1, C = 2, k = 1 (one window per pixel,
 * k² = 1: the softmax of one logit is 1, so O = v whatever Wa is), σ = 1.
 * x = (1, −1); Wv = [[1, 2], [3, 4]] → v = Wv·x = (1 − 2, 3 − 4) = (−1, −1) (Wvᵀ·x would be
 * (−2, −2)); Wp = [[0, 1], [−1, 0]], bp = (10, 20) → y = (v1, −v0) + bp = (9, 21). */
Test(outlook_hand, linear_orientation)
{
    const outlook_shape_t s = {1, 1, 1, 2, 2, 1, 1};
    const float x[2] = {1, -1}, wv[4] = {1, 2, 3, 4}, wp[4] = {0, 1, -1, 0}, bp[2] = {10, 20};
    const float wa[4] = {0.3f, -7, 5, 2}, ba[2] = {1, -1}; /* k⁴·Nh = 2 logits, irrelevant */
    const outlook_inputs_t in = {x, wv, wa, ba, wp, bp};
    double y[2];
    outlook_ref(&s, &in, y, NULL);
    cr_expect_float_eq(y[0], 9.0, 1e-14, "y0 = %.17g", y[0]);
    cr_expect_float_eq(y[1], 21.0, 1e-14, "y1 = %.17g", y[1]);
}

/* ------------------------------------------------------------------ cases from the suite */

typedef struct ocase {
    const attn_suite_t *su;
    int64_t *v;
    attn_layout_t L;
    float *in[8];
    outlook_shape_t s;
    outlook_inputs_t t;
    int64_t ny;
    double *ref, tol32;
} ocase_t;

static ocase_t make_case(const char *shape)
{
    ocase_t c = {.su = tst_suite("outlook")};
    c.v = tst_case(c.su, shape);
    c.su->layout(c.su, c.v, &c.L);
    for (int i = 0; i < c.L.nin; i++) c.in[i] = tst_falloc(attn_tensor_numel(&c.L.in[i]));
    c.su->generate(c.su, c.v, 7, (void *const *)c.in);
    c.s = (outlook_shape_t){tst_axis(c.su, c.v, "B"), tst_axis(c.su, c.v, "H"),
                            tst_axis(c.su, c.v, "W"), tst_axis(c.su, c.v, "C"),
                            tst_axis(c.su, c.v, "heads"), tst_axis(c.su, c.v, "k"),
                            tst_axis(c.su, c.v, "stride")};
    c.t = (outlook_inputs_t){c.in[0], c.in[1], c.in[2], c.in[3], c.in[4], c.in[5]};
    c.ny = attn_tensor_numel(&c.L.out);
    c.ref = tst_dalloc(c.ny);
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    c.tol32 = c.su->tolerance(c.su, c.v, ATTN_F32);
    return c;
}

static void free_case(ocase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
    free(c->v), free(c->ref);
}

static attn_check_t check(const ocase_t *c, const float *out, const double *ref, double tol)
{
    return attn_compare(out, ATTN_F32, ref, c->ny, c->s.C, NULL, tol);
}

/* ------------------------------------------------------------------ the invariant */

/* Identity-like weights by construction: Wa = 0, ba = L on the diagonal m' = m of each head's
 * k²×k² block and 0 elsewhere, L = 4000·√d, so the scaled logits are 4000 vs 0 and the softmax
 * is exactly one-hot in double (e^−4000 underflows) and in float. Then O[n, m] = v[pix(n, m)]
 * (0 when outside), and the fold gives pixel q the value count(q)·v[q], where count(q) =
 * cy(py)·cx(px) and cy(py) = #{my ∈ [0, k) : (py + p − my)/σ is a whole window row in [0, h')}.
 * For σ = 1 that is min(py + p, H − 1) − max(py − p, 0) + 1 (interior pixels: k). So
 * y[q] = Wp·(count(q)·Wv·x[q]) + bp, computed here directly from x. */
static void identity_case(const char *shape)
{
    ocase_t c = make_case(shape);
    const outlook_shape_t *s = &c.s;
    const int64_t k = s->k, k2 = k * k, p = (k - 1) / 2, C = s->C, d = C / s->Nh;
    const int64_t R = k2 * k2 * s->Nh, hp = outlook_hp(s), wp = outlook_wp(s);
    float *wa = (float *)c.t.wa, *ba = (float *)c.t.ba;
    memset(wa, 0, (size_t)(R * C) * sizeof *wa);
    for (int64_t r = 0; r < R; r++) ba[r] = ((r / k2) % k2 == r % k2) ? 4000.f * sqrtf((float)d) : 0.f;
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    float *yf = tst_falloc(c.ny);
    outlook_cpu_f32(s, &c.t, yf);
    double *want = tst_dalloc(c.ny), *v = tst_dalloc(C);
    int64_t interior = 0;
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t py = 0; py < s->H; py++)
            for (int64_t px = 0; px < s->W; px++) {
                int64_t cy = 0, cx = 0;
                for (int64_t m = 0; m < k; m++) {
                    const int64_t ty = py + p - m, tx = px + p - m;
                    cy += ty >= 0 && ty % s->s == 0 && ty / s->s < hp;
                    cx += tx >= 0 && tx % s->s == 0 && tx / s->s < wp;
                }
                if (s->s == 1) {
                    const int64_t ey = (py + p < s->H - 1 ? py + p : s->H - 1) - (py - p > 0 ? py - p : 0) + 1;
                    const int64_t ex = (px + p < s->W - 1 ? px + p : s->W - 1) - (px - p > 0 ? px - p : 0) + 1;
                    cr_assert_eq(cy * cx, ey * ex);
                }
                interior += cy * cx == k2;
                const float *xq = c.t.x + ((b * s->H + py) * s->W + px) * C;
                for (int64_t r = 0; r < C; r++) {
                    double a = 0;
                    for (int64_t q = 0; q < C; q++) a += (double)c.t.wv[r * C + q] * xq[q];
                    v[r] = (double)(cy * cx) * a;
                }
                double *w = want + ((b * s->H + py) * s->W + px) * C;
                for (int64_t r = 0; r < C; r++) {
                    double a = c.t.bp[r];
                    for (int64_t q = 0; q < C; q++) a += (double)c.t.wp[r * C + q] * v[q];
                    w[r] = a;
                }
            }
    if (s->s == 1) cr_expect(interior > 0, "'%s': no interior pixel", shape);
    double maxd = 0, scale = 0;
    for (int64_t e = 0; e < c.ny; e++) {
        maxd = fmax(maxd, fabs(c.ref[e] - want[e]));
        scale = fmax(scale, fabs(want[e]));
    }
    cr_expect(maxd <= 1e-12 * scale, "'%s': reference vs closed form: %g (scale %g)", shape, maxd,
              scale);
    attn_check_t kf = check(&c, yf, want, c.tol32);
    cr_expect(kf.ok, "'%s': cpu-f32 vs closed form: %g > %g", shape, kf.max_abs_err, kf.tol_abs);
    free(yf), free(want), free(v), free_case(&c);
}

Test(outlook_invariant, identity_weights_stride1_give_count_weighted_v)
{
    identity_case("B=2,H=5,W=6,C=8,heads=2,k=3,stride=1");
    identity_case("B=1,H=7,W=6,C=6,heads=3,k=5,stride=1");
}

Test(outlook_invariant, identity_weights_stride2_and_3)
{
    identity_case("B=1,H=7,W=8,C=8,heads=2,k=3,stride=2");
    identity_case("B=1,H=9,W=7,C=4,heads=1,k=5,stride=3");
}

/* ------------------------------------------------------------------ row selection */

Test(outlook_reference, row_sel_only_selected_rows)
{
    ocase_t c = make_case("B=2,H=6,W=5,C=8,heads=2,k=3,stride=2");
    const int64_t rows = c.L.out_rows;
    uint8_t *sel = calloc((size_t)rows, 1);
    attn_sample_rows(sel, rows, 7, 3);
    double *y = tst_dalloc(c.ny);
    for (int64_t e = 0; e < c.ny; e++) y[e] = -12345.0;
    c.su->reference(c.su, c.v, (const void *const *)c.in, y, sel);
    for (int64_t e = 0; e < c.ny; e++) {
        if (sel[e / c.s.C]) cr_expect_eq(y[e], c.ref[e], "selected element %lld differs", (long long)e);
        else cr_expect_eq(y[e], -12345.0, "unselected element %lld written", (long long)e);
    }
    free(sel), free(y), free_case(&c);
}

/* ------------------------------------------------------------------ registry */

Test(outlook_suite, derive_and_errors)
{
    const attn_suite_t *su = tst_suite("outlook");
    int64_t *v = tst_case(su, "C=256,H=14");
    cr_expect_eq(tst_axis(su, v, "W"), 14);
    cr_expect_eq(tst_axis(su, v, "heads"), 8, "heads default C/32");
    free(v);
    v = tst_case(su, "C=100");
    cr_expect_eq(tst_axis(su, v, "heads"), 1);
    free(v);

    int64_t w[ATTN_MAX_AXES];
    char err[256];
    for (int a = 0; a < su->naxes; a++) w[a] = ATTN_UNSET;
    w[attn_axis_index(su, "B")] = 1, w[attn_axis_index(su, "H")] = 8;
    w[attn_axis_index(su, "C")] = 64, w[attn_axis_index(su, "stride")] = 1;
    w[attn_axis_index(su, "k")] = 4;
    cr_expect_eq(su->derive(su, w, err, sizeof err), -1);
    cr_expect(strstr(err, "k=4"), "error does not name k=4: %s", err);
    w[attn_axis_index(su, "k")] = 3, w[attn_axis_index(su, "heads")] = 6;
    cr_expect_eq(su->derive(su, w, err, sizeof err), -1);
    cr_expect(strstr(err, "C=64") && strstr(err, "heads=6"), "error does not name C, heads: %s", err);
    w[attn_axis_index(su, "heads")] = 4;
    cr_expect_eq(su->derive(su, w, err, sizeof err), 0, "%s", err);
}

Test(outlook_suite, layout_flops_bytes)
{
    const attn_suite_t *su = tst_suite("outlook");
    int64_t *v = tst_case(su, "B=2,H=7,W=5,C=12,heads=3,k=3,stride=2");
    attn_layout_t L;
    su->layout(su, v, &L);
    cr_expect_eq(L.nin, 6);
    cr_expect_eq(L.out_rows, 2 * 7 * 5);
    cr_expect_eq(attn_tensor_numel(&L.out), 2 * 7 * 5 * 12);
    cr_expect_eq(attn_tensor_numel(&L.in[2]), 81 * 3 * 12, "Wa is (k⁴·Nh, C)");
    /* h' = 4, w' = 3: 12 windows per image */
    const double f = 4.0 * 2 * 35 * 144 + 2.0 * 2 * 12 * 12 * 81 * 3 + 2.0 * 2 * 12 * 81 * 12 +
                     2.0 * 12 * 9 * 12;
    cr_expect_float_eq(su->flops(su, v), f, 1e-9 * f, "flops %g, want %g", su->flops(su, v), f);
    const double by = 4.0 * (2 * 2 * 35 * 12 + 2 * 144 + 243 * 12 + 243 + 12);
    cr_expect_float_eq(su->bytes(su, v, 4), by, 1e-9 * by);
    free(v);
}

Test(outlook_suite, generator_and_tolerance)
{
    ocase_t c = make_case("B=1,H=8,C=64,heads=2,k=3,stride=2");
    for (int i = 0; i < c.L.nin; i++) {
        int zeros = 0;
        const int64_t n = attn_tensor_numel(&c.L.in[i]);
        for (int64_t e = 0; e < n; e++) zeros += c.in[i][e] == 0.f;
        cr_expect(zeros < n / 10 + 1, "input %s mostly zero", c.L.in[i].name);
    }
    cr_expect(c.tol32 > 1e-6 && c.tol32 < 2e-4, "f32 tolerance %g", c.tol32);
    free_case(&c);
}

Test(outlook_suite, sweep_grids)
{
    const attn_suite_t *su = tst_suite("outlook");
    const int ik = attn_axis_index(su, "k"), is = attn_axis_index(su, "stride");
    cr_expect_eq(su->axes[ik].nsweep, 2);
    int64_t v[ATTN_MAX_AXES] = {0};
    v[ik] = 3, v[is] = 2;
    cr_expect(su->in_sweep(su, v));
    v[ik] = 5, v[is] = 1;
    cr_expect(su->in_sweep(su, v));
    v[ik] = 3, v[is] = 1;
    cr_expect(!su->in_sweep(su, v));
    v[ik] = 7, v[is] = 1;
    cr_expect(su->in_sweep(su, v), "values outside the grid pairs are kept");
}

/* ------------------------------------------------------------------ f32 and planted bugs */

typedef enum bug {
    BUG_NONE,
    BUG_SWAP_M,        /* a[m', m] instead of a[m, m'] */
    BUG_POOL_PAD,      /* pool divides by σ² (count_include_pad) */
    BUG_MASK_PADDING,  /* out-of-image m' left out of the softmax */
    BUG_FOLD_MEAN,     /* fold averages instead of summing */
    BUG_NO_SCALE,      /* no d^-½ */
    BUG_ONE_HEAD,      /* every channel uses head 0's weights */
    BUG_NO_STRIDE,     /* pix(n, m) ignores σ */
    NBUGS
} bug_t;
static const char *const bug_name[NBUGS] = {"none", "swap m/m'", "pool ÷σ²", "mask padding",
                                            "fold mean", "no scale", "one head", "no stride"};

/* outlook_cpu_f32's loop, with the bug planted. */
static void f32_copy(const outlook_shape_t *s, const outlook_inputs_t *in, float *y, bug_t bug)
{
    const int64_t H = s->H, W = s->W, HW = H * W, C = s->C, k = s->k, k2 = k * k;
    const int64_t p = (k - 1) / 2, st = s->s, hp = outlook_hp(s), wp = outlook_wp(s);
    const int64_t d = C / s->Nh, R = s->Nh * k2 * k2;
    const int64_t sp = bug == BUG_NO_STRIDE ? 1 : st; /* stride used in pix(n, m) */
    const float scale = bug == BUG_NO_SCALE ? 1.f : (float)(1.0 / sqrt((double)d));
    float *v = tst_falloc(HW * C), *prob = tst_falloc(hp * wp * R), *pool = tst_falloc(C), *fold = tst_falloc(C);
    for (int64_t b = 0; b < s->B; b++) {
        const float *xb = in->x + b * HW * C;
        for (int64_t q = 0; q < HW; q++)
            for (int64_t r = 0; r < C; r++) {
                float acc = 0.f;
                for (int64_t c = 0; c < C; c++) acc += in->wv[r * C + c] * xb[q * C + c];
                v[q * C + r] = acc;
            }
        for (int64_t i = 0; i < hp; i++)
            for (int64_t j = 0; j < wp; j++) {
                const int64_t y1 = (i + 1) * st < H ? (i + 1) * st : H;
                const int64_t x1 = (j + 1) * st < W ? (j + 1) * st : W;
                for (int64_t c = 0; c < C; c++) pool[c] = 0.f;
                for (int64_t py = i * st; py < y1; py++)
                    for (int64_t px = j * st; px < x1; px++)
                        for (int64_t c = 0; c < C; c++) pool[c] += xb[(py * W + px) * C + c];
                const float cnt = bug == BUG_POOL_PAD ? (float)(st * st)
                                                      : (float)((y1 - i * st) * (x1 - j * st));
                for (int64_t c = 0; c < C; c++) pool[c] /= cnt;
                float *pr = prob + (i * wp + j) * R;
                for (int64_t r = 0; r < R; r++) {
                    float acc = in->ba[r];
                    for (int64_t c = 0; c < C; c++) acc += in->wa[r * C + c] * pool[c];
                    pr[r] = acc * scale;
                }
                for (int64_t r0 = 0; r0 < R; r0 += k2) {
                    float mx = -INFINITY, z = 0.f;
                    for (int64_t t = 0; t < k2; t++) mx = fmaxf(mx, pr[r0 + t]);
                    for (int64_t t = 0; t < k2; t++) {
                        const int64_t vy = i * sp - p + t / k, vx = j * sp - p + t % k;
                        const int out = vy < 0 || vy >= H || vx < 0 || vx >= W;
                        z += (pr[r0 + t] = (bug == BUG_MASK_PADDING && out) ? 0.f
                                                                          : expf(pr[r0 + t] - mx));
                    }
                    for (int64_t t = 0; t < k2; t++) pr[r0 + t] /= z;
                }
            }
        for (int64_t py = 0; py < H; py++)
            for (int64_t px = 0; px < W; px++) {
                for (int64_t c = 0; c < C; c++) fold[c] = 0.f;
                int64_t nwin = 0;
                for (int64_t my = 0; my < k; my++) {
                    const int64_t ty = py + p - my;
                    if (ty < 0 || ty % sp || ty / sp >= hp) continue;
                    for (int64_t mx = 0; mx < k; mx++) {
                        const int64_t tx = px + p - mx;
                        if (tx < 0 || tx % sp || tx / sp >= wp) continue;
                        const int64_t i = ty / sp, j = tx / sp, m = my * k + mx;
                        nwin++;
                        const float *pr = prob + (i * wp + j) * R;
                        for (int64_t m2 = 0; m2 < k2; m2++) {
                            const int64_t vy = i * sp - p + m2 / k, vx = j * sp - p + m2 % k;
                            if (vy < 0 || vy >= H || vx < 0 || vx >= W) continue;
                            for (int64_t c = 0; c < C; c++) {
                                const int64_t h = bug == BUG_ONE_HEAD ? 0 : c / d;
                                const int64_t e = bug == BUG_SWAP_M ? (h * k2 + m2) * k2 + m
                                                                    : (h * k2 + m) * k2 + m2;
                                fold[c] += pr[e] * v[(vy * W + vx) * C + c];
                            }
                        }
                    }
                }
                if (bug == BUG_FOLD_MEAN && nwin)
                    for (int64_t c = 0; c < C; c++) fold[c] /= (float)nwin;
                float *yp = y + ((b * H + py) * W + px) * C;
                for (int64_t r = 0; r < C; r++) {
                    float acc = in->bp[r];
                    for (int64_t c = 0; c < C; c++) acc += in->wp[r * C + c] * fold[c];
                    yp[r] = acc;
                }
            }
    }
    free(v), free(prob), free(pool), free(fold);
}

static const char *const shapes[] = {
    "B=2,H=9,W=7,C=24,heads=3,k=3,stride=2",
    "B=1,H=10,C=32,heads=4,k=5,stride=1",
    "B=1,H=7,W=11,C=16,heads=2,k=3,stride=3",
    "B=1,H=6,C=12,heads=1,k=7,stride=2",
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

Test(outlook_f32, agrees_with_reference)
{
    const attn_variant_t *x = tst_variant(tst_suite("outlook"), "cpu-f32");
    for (size_t t = 0; t < NSHAPES; t++) {
        ocase_t c = make_case(shapes[t]);
        float *out = tst_falloc(c.ny), *out2 = tst_falloc(c.ny);
        memset(out, 0xFF, (size_t)c.ny * 4);
        cr_assert_eq(x->run(c.su, x, c.v, (const void *const *)c.in, out, NULL, NULL), 0);
        attn_check_t k = check(&c, out, c.ref, c.tol32);
        cr_expect(k.ok, "'%s': max|err| %g > tol %g", shapes[t], k.max_abs_err, k.tol_abs);
        cr_expect_eq(k.checked, c.ny);
        cr_log_info("cpu-f32 '%s': max|err| / tolerance = %.3g", shapes[t],
                    k.max_abs_err / k.tol_abs);
        f32_copy(&c.s, &c.t, out2, BUG_NONE);
        k = check(&c, out2, c.ref, c.tol32);
        cr_expect(k.ok, "'%s': the test's f32 copy fails: %g > %g", shapes[t], k.max_abs_err,
                  k.tol_abs);
        free(out), free(out2), free_case(&c);
    }
}

/* Each planted bug is rejected with the f32 tolerance by more than 100× on every shape where it
 * changes the function (BUG_POOL_PAD needs a partial edge cell: H or W not a multiple of σ;
 * BUG_NO_STRIDE needs σ > 1; BUG_ONE_HEAD needs heads > 1; BUG_FOLD_MEAN needs overlapping
 * windows, k > σ). */
Test(outlook_f32, planted_bugs_rejected)
{
    for (size_t t = 0; t < NSHAPES; t++) {
        ocase_t c = make_case(shapes[t]);
        float *out = tst_falloc(c.ny);
        for (int bug = 1; bug < NBUGS; bug++) {
            if (bug == BUG_POOL_PAD && c.s.H % c.s.s == 0 && c.s.W % c.s.s == 0) continue;
            if (bug == BUG_NO_STRIDE && c.s.s == 1) continue;
            if (bug == BUG_ONE_HEAD && c.s.Nh == 1) continue;
            if (bug == BUG_FOLD_MEAN && c.s.k <= c.s.s) continue; /* windows do not overlap */
            f32_copy(&c.s, &c.t, out, (bug_t)bug);
            attn_check_t k = check(&c, out, c.ref, c.tol32);
            cr_expect(!k.ok && k.max_abs_err > 100 * k.tol_abs,
                      "'%s': planted bug '%s' is not rejected by 100× (err %g, tol %g)",
                      shapes[t], bug_name[bug], k.max_abs_err, k.tol_abs);
            cr_log_info("'%s' bug %-14s max|err| = %9.1f× f32 tol", shapes[t], bug_name[bug],
                        k.max_abs_err / k.tol_abs);
        }
        free(out), free_case(&c);
    }
}
