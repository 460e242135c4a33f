/* The halo suite: its CPU reference (halo_ref, halo_ref_probs), its f32 CPU variant
 * (halo_cpu_f32) and its registry entry (derive, grids, layout, row_of, generator, FLOPs, bytes,
 * tolerances).
 *  - hand-computed cases whose numbers are worked out in the comments;
 *  - an independent oracle in the seed's own shape (zero-padded unfold, K/V per window, a padded
 *    ones-image as the mask — with the seed's inverted mask fixed);
 *  - the mask: border pixels are not just the bias, out-of-image keys get probability 0 and a
 *    brute-force softmax over the in-image keys only agrees, x outside a window changes nothing;
 *  - translation by one whole block moves the output by one block;
 *  - row selection: only the selected rows written, a sampled reference bit-identical to the
 *    full one in its rows;
 *  - the f32 variant and a copy of its loop within the suite's f32 tolerance, planted bugs in that
 *    copy (the seed's inverted mask, a swapped relative index, a missing head, …) rejected; an
 *    emulated bf16 pipeline (inputs, Q, K, V, P, O and y rounded to bf16) within the bf16
 *    tolerance, the same bugs rejected there too. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "common.h"
#include "halo_ref.h"
#include "util.h"


/* y element (b, c, py, px) of shape s. */
static int64_t yi(const halo_shape_t *s, int64_t b, int64_t c, int64_t py, int64_t px)
{
    return ((b * s->C + c) * s->H + py) * s->W + px;
}

/* ------------------------------------------------------------------ hand-computed cases */

/* C = 2, 4×4 image, block 2, halo 1 (Wn = 4, rel tables 7×1), one head, d = 1 (scale 1).
 * Channel 0 drives q (Wq = (1, 0)), channel 1 drives v (Wv = (0, 1)), Wk = 0 so k = 0 and a
 * logit is q·rel_w[3 + kx − qx] + q·rel_h[3 + ky − qy].
 * x channel 1 = v = 4·py + px (pixel value 0…15); x channel 0 = 1 at pixel (0, 0), 0 elsewhere.
 * rel_w[4], rel_w[5], rel_w[6] = ln 1, ln 2, ln 3; everything else in the tables 0.
 * Wo = (1, −2) (two output channels), bo = (0.25, 0.5): y0 = o + 0.25, y1 = −2·o + 0.5.
 *
 * Every pixel but (0, 0) has q = 0: all its in-image keys weigh the same, o = mean of v over
 * the in-image part of its window. Block (by, bx) covers pixels (2by…2by+1, 2bx…2bx+1); its
 * window covers rows 2by−1 … 2by+2 and columns 2bx−1 … 2bx+2, clipped to the image:
 *   block (0,0): rows 0..2, cols 0..2 → mean(4py + px) = 4·1 + 1 = 5
 *   block (0,1): rows 0..2, cols 1..3 → 4·1 + 2 = 6
 *   block (1,0): rows 1..3, cols 0..2 → 4·2 + 1 = 9
 *   block (1,1): rows 1..3, cols 1..3 → 4·2 + 2 = 10
 * Pixel (0, 0) (qy = qx = 0): q = 1; keys (ky, kx) ∈ [1, 3]² are in the image (pixel
 * (ky − 1, kx − 1)), and their logit is rel_w[3 + kx] = ln kx: weights ∝ kx, p = kx / 18
 * (Σ over ky of 1 + 2 + 3 = 3·6). o = Σ kx/18 · (4(ky − 1) + kx − 1)
 *   = 1/18 · Σ_kx kx·(12 + 3(kx − 1)) = (1·12 + 2·15 + 3·18) / 18 = 96/18 = 16/3.
 * (Swapping kx − qx gives rel_w[3 − kx] = 0: o = 5; swapping rel_w and rel_h gives weights ∝ ky:
 * o = (1·3 + 2·15 + 3·27)/18 = 19/3; the seed's inverted mask gives y = bo at every pixel.) */
Test(halo_hand, window_mean_and_relative_width)
{
    const halo_shape_t s = {1, 2, 4, 4, 2, 1, 1, 1};
    float x[2 * 16] = {0}, rel_w[7] = {0}, rel_h[7] = {0};
    x[0] = 1; /* channel 0, pixel (0, 0) */
    for (int p = 0; p < 16; p++) x[16 + p] = (float)p; /* channel 1: 4·py + px */
    rel_w[4] = logf(1), rel_w[5] = logf(2), rel_w[6] = logf(3);
    const float wq[2] = {1, 0}, wkv[4] = {0, 0, 0, 1}, wo[2] = {1, -2}, bo[2] = {0.25f, 0.5f};
    const halo_inputs_t in = {x, wq, wkv, wo, bo, rel_w, rel_h};
    double y[32];
    halo_ref(&s, &in, y, NULL);

    const double mean[2][2] = {{5, 6}, {9, 10}}; /* [by][bx] */
    for (int py = 0; py < 4; py++)
        for (int px = 0; px < 4; px++) {
            const double o = (py == 0 && px == 0) ? 16.0 / 3.0 : mean[py / 2][px / 2];
            const double tol = (py == 0 && px == 0) ? 1e-6 : 1e-13; /* ln k is rounded to float */
            cr_expect_float_eq(y[yi(&s, 0, 0, py, px)], o + 0.25, tol, "y0(%d,%d) = %.17g, want %.17g",
                               py, px, y[yi(&s, 0, 0, py, px)], o + 0.25);
            cr_expect_float_eq(y[yi(&s, 0, 1, py, px)], -2 * o + 0.5, 2 * tol,
                               "y1(%d,%d) = %.17g, want %.17g", py, px, y[yi(&s, 0, 1, py, px)],
                               -2 * o + 0.5);
        }
    /* the probabilities of pixel (0, 0): kx/18 inside the image, exactly 0 outside */
    double p[16];
    cr_assert_eq(halo_ref_probs(&s, &in, 0, 0, 0, 0, p), 9);
    for (int ky = 0; ky < 4; ky++)
        for (int kx = 0; kx < 4; kx++) {
            if (ky == 0 || kx == 0)
                cr_expect_eq(p[ky * 4 + kx], 0.0, "out-of-image key (%d,%d) has p = %g", ky, kx,
                             p[ky * 4 + kx]);
            else
                cr_expect_float_eq(p[ky * 4 + kx], kx / 18.0, 1e-7, "p(%d,%d) = %.17g, want %g",
                                   ky, kx, p[ky * 4 + kx], kx / 18.0);
        }

    /* The f32 variant on the same numbers. */
    float yf[32];
    halo_cpu_f32(&s, &in, yf);
    for (int e = 0; e < 32; e++)
        cr_expect_float_eq(yf[e], y[e], 1e-5, "f32 y[%d] = %.9g, ref %.17g", e, yf[e], y[e]);
}

/* The relative height term and the d^-½ scale with two heads.
 * C = 1, 2×2 image, block 2, halo 0 (Wn = 2, one block, no padding), Nh = 2, d = 4 (Di = 8,
 * scale 1/√4 = 1/2). x = (1, 0, −1, 2) over pixels (0,0), (0,1), (1,0), (1,1).
 * Head 0: Wq rows 0..3 = 1 → q = x·(1,1,1,1)/2; Wk rows 0..3 = 1 → k = x·(1,1,1,1);
 *   q·k = 4·x_q·x_k/2 = 2·x_q·x_k; Wv row 8 (head 0, channel 0) = 1 → v0 = x_k.
 * Head 1: Wq = Wk = 0 → uniform weights; Wv row 12 (head 1, channel 0) = 1.
 * rel_h (3 × 4): row 2 (Wn − 1 + ky − qy with ky − qy = 1) = (1, 0, 0, 0), so the head-0 logit
 *   gains q_0 = x_q/2 for the keys one row below the query; rel_w = 0.
 * Wo (1 × 8) = (1, 0, 0, 0, 10, 0, 0, 0), bo = 0: y = o_head0[0] + 10·o_head1[0].
 * Query (0, 0), x_q = 1: keys x_k = (1, 0, −1, 2) → logits 2·x_k + (0, 0, ½, ½)
 *   = (2, 0, −1.5, 4.5); o_head0[0] = Σ softmax·x_k; o_head1[0] = mean(x) = 1/2 → y = … + 5.
 * Query (1, 1), x_q = 2: logits 4·x_k (rel_h: ky − qy ∈ {−1, 0} → rows 0, 1, which are 0)
 *   = (4, 0, −4, 8).
 * (A 1/d scale halves the x-terms, no scale doubles them; a head mixed up moves the 10×.) */
Test(halo_hand, scale_heads_and_relative_height)
{
    const halo_shape_t s = {1, 1, 2, 2, 2, 0, 2, 4};
    const float x[4] = {1, 0, -1, 2};
    float wq[8] = {1, 1, 1, 1, 0, 0, 0, 0}, wkv[16] = {1, 1, 1, 1, 0, 0, 0, 0,
                                                      1, 0, 0, 0, 1, 0, 0, 0};
    float wo[8] = {1, 0, 0, 0, 10, 0, 0, 0}, bo[1] = {0};
    float rel_w[12] = {0}, rel_h[12] = {0};
    rel_h[2 * 4 + 0] = 1;
    const halo_inputs_t in = {x, wq, wkv, wo, bo, rel_w, rel_h};
    double y[4];
    halo_ref(&s, &in, y, NULL);
    const double xk[4] = {1, 0, -1, 2};
    const double l00[4] = {2, 0, -1.5, 4.5}, l11[4] = {4, 0, -4, 8};
    double z0 = 0, a0 = 0, z1 = 0, a1 = 0;
    for (int j = 0; j < 4; j++) {
        z0 += exp(l00[j]), a0 += exp(l00[j]) * xk[j];
        z1 += exp(l11[j]), a1 += exp(l11[j]) * xk[j];
    }
    cr_expect_float_eq(y[0], a0 / z0 + 5.0, 1e-13, "y(0,0) = %.17g, want %.17g", y[0], a0 / z0 + 5);
    cr_expect_float_eq(y[3], a1 / z1 + 5.0, 1e-13, "y(1,1) = %.17g, want %.17g", y[3], a1 / z1 + 5);
    cr_expect_float_eq(y[0], 1.898017680459994 + 5.0, 1e-12, "y(0,0) = %.17g", y[0]);
}

/* ------------------------------------------------------------------ cases from the registry */

/* One case built from a --shape string as the harness builds it: the suite's layout, generator
 * (seed 42), reference and tolerances. */
typedef struct hcase {
    const attn_suite_t *su;
    int64_t *v;
    attn_layout_t L;
    float *in[ATTN_MAX_TENSORS];
    halo_shape_t s;
    halo_inputs_t t;
    double *ref;
    int64_t ny;
    double tol32, tol16;
} hcase_t;

static halo_inputs_t inputs(float *const *in)
{
    return (halo_inputs_t){in[0], in[1], in[2], in[3], in[4], in[5], in[6]};
}

static hcase_t make_case(const char *shape)
{
    hcase_t c = {0};
    c.su = tst_suite("halo");
    c.v = tst_case(c.su, shape);
    c.su->layout(c.su, c.v, &c.L);
    cr_assert_eq(c.L.nin, 7);
    for (int i = 0; i < c.L.nin; i++) c.in[i] = tst_falloc(attn_tensor_numel(&c.L.in[i]));
    c.su->generate(c.su, c.v, 42, (void *const *)c.in);
    c.s = (halo_shape_t){tst_axis(c.su, c.v, "B"),     tst_axis(c.su, c.v, "C"),
                         tst_axis(c.su, c.v, "H"),     tst_axis(c.su, c.v, "W"),
                         tst_axis(c.su, c.v, "block"), tst_axis(c.su, c.v, "halo"),
                         tst_axis(c.su, c.v, "heads"), tst_axis(c.su, c.v, "d")};
    c.t = inputs(c.in);
    c.ny = attn_tensor_numel(&c.L.out);
    c.ref = tst_dalloc(c.ny);
    c.su->reference(c.su, c.v, (const void *const *)c.in, c.ref, NULL);
    c.tol32 = c.su->tolerance(c.su, c.v, ATTN_F32);
    c.tol16 = c.su->tolerance(c.su, c.v, ATTN_BF16);
    return c;
}

static void free_case(hcase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
    free(c->ref), free(c->v);
}

static double max_abs_diff(const double *a, const double *b, int64_t n, int64_t *at)
{
    double m = 0;
    for (int64_t e = 0; e < n; e++) {
        const double d = fabs(a[e] - b[e]);
        if (!(d <= m)) m = d, *at = e; /* NaN counts as the worst */
    }
    return m;
}

static double max_abs(const double *a, int64_t n)
{
    double m = 0;
    for (int64_t e = 0; e < n; e++) m = fmax(m, fabs(a[e]));
    return m;
}

/* ------------------------------------------------------------------ an independent oracle */

/* The seed's computation, with its mask fixed: per image block, the Wn×Wn window is cut from a
 * zero-padded copy of x (F.unfold with padding h), K and V are projected per window (the seed
 * recomputes them for every window), a zero-padded all-ones image marks the real pixels, and the
 * softmax keeps the keys it marks (the seed's `mask.bool()` fill, inverted: `~mask`). The relative
 * terms follow the seed's rel_to_abs: query column i (in the block) and key column j (in the
 * window) read rel_w[j − i + Wn − 1]. */
static void oracle(const halo_shape_t *s, const halo_inputs_t *in, double *y)
{
    const int64_t C = s->C, bs = s->b, h = s->h, Wn = bs + 2 * h, d = s->d, Di = s->Nh * d;
    const int64_t Hp = s->H + 2 * h, Wp = s->W + 2 * h;
    double *xpad = tst_dalloc(C * Hp * Wp), *ones = tst_dalloc(Hp * Wp);
    double *xw = tst_dalloc(Wn * Wn * C), *K = tst_dalloc(Wn * Wn * Di), *V = tst_dalloc(Wn * Wn * Di);
    double *Q = tst_dalloc(Di), *O = tst_dalloc(Di), *S = tst_dalloc(Wn * Wn);
    int *valid = malloc((size_t)(Wn * Wn) * sizeof *valid);
    for (int64_t b = 0; b < s->B; b++) {
        for (int64_t e = 0; e < C * Hp * Wp; e++) xpad[e] = 0;
        for (int64_t e = 0; e < Hp * Wp; e++) ones[e] = 0;
        for (int64_t c = 0; c < C; c++)
            for (int64_t py = 0; py < s->H; py++)
                for (int64_t px = 0; px < s->W; px++) {
                    xpad[(c * Hp + py + h) * Wp + px + h] = in->x[yi(s, b, c, py, px)];
                    ones[(py + h) * Wp + px + h] = 1;
                }
        for (int64_t by = 0; by < s->H / bs; by++)
            for (int64_t bx = 0; bx < s->W / bs; bx++) {
                /* unfold: window pixel j = (ky, kx) is padded pixel (by·b + ky, bx·b + kx) */
                for (int64_t j = 0; j < Wn * Wn; j++) {
                    const int64_t r = by * bs + j / Wn, col = bx * bs + j % Wn;
                    for (int64_t c = 0; c < C; c++) xw[j * C + c] = xpad[(c * Hp + r) * Wp + col];
                    valid[j] = ones[r * Wp + col] != 0;
                    for (int64_t i = 0; i < Di; i++) {
                        double k = 0, v = 0;
                        for (int64_t c = 0; c < C; c++) {
                            k += in->wkv[i * C + c] * xw[j * C + c];
                            v += in->wkv[(Di + i) * C + c] * xw[j * C + c];
                        }
                        K[j * Di + i] = k, V[j * Di + i] = v;
                    }
                }
                for (int64_t qy = 0; qy < bs; qy++)
                    for (int64_t qx = 0; qx < bs; qx++) {
                        const int64_t py = by * bs + qy, px = bx * bs + qx;
                        for (int64_t i = 0; i < Di; i++) {
                            double a = 0;
                            for (int64_t c = 0; c < C; c++)
                                a += in->wq[i * C + c] * (double)in->x[yi(s, b, c, py, px)];
                            Q[i] = a / sqrt((double)d);
                        }
                        for (int64_t n = 0; n < s->Nh; n++) {
                            double m = -INFINITY, z = 0;
                            for (int64_t j = 0; j < Wn * Wn; j++) {
                                const int64_t ky = j / Wn, kx = j % Wn;
                                double a = 0;
                                for (int64_t c = 0; c < d; c++)
                                    a += Q[n * d + c] * (K[j * Di + n * d + c] +
                                                         in->rel_w[(kx - qx + Wn - 1) * d + c] +
                                                         in->rel_h[(ky - qy + Wn - 1) * d + c]);
                                S[j] = valid[j] ? a : -INFINITY;
                                m = fmax(m, S[j]);
                            }
                            for (int64_t j = 0; j < Wn * Wn; j++) z += (S[j] = exp(S[j] - m));
                            for (int64_t c = 0; c < d; c++) {
                                double a = 0;
                                for (int64_t j = 0; j < Wn * Wn; j++) a += S[j] * V[j * Di + n * d + c];
                                O[n * d + c] = a / z;
                            }
                        }
                        for (int64_t co = 0; co < C; co++) {
                            double a = in->bo[co];
                            for (int64_t i = 0; i < Di; i++) a += in->wo[co * Di + i] * O[i];
                            y[yi(s, b, co, py, px)] = a;
                        }
                    }
            }
    }
    free(xpad), free(ones), free(xw), free(K), free(V), free(Q), free(O), free(S), free(valid);
}

/* Shapes: halo 0 and halo = block, non-square images, a single-block image, B > 1, d = 1. */
static const char *const oracle_shapes[] = {
    "B=2,C=6,H=8,W=12,block=4,halo=2,heads=2,d=3",
    "B=1,C=5,H=8,block=8,halo=3,heads=3,d=4",
    "B=1,C=4,H=12,W=6,block=2,halo=1,heads=1,d=1",
    "B=2,C=3,H=6,block=3,halo=0,heads=2,d=2",
    "B=1,C=4,H=8,block=4,halo=4,heads=2,d=2",
    "B=1,C=8,H=16,block=8,halo=4,heads=2,d=8",
};

Test(halo_reference, matches_independent_oracle)
{
    for (size_t t = 0; t < sizeof oracle_shapes / sizeof oracle_shapes[0]; t++) {
        hcase_t c = make_case(oracle_shapes[t]);
        double *w = tst_dalloc(c.ny);
        oracle(&c.s, &c.t, w);
        int64_t at = 0;
        const double dlt = max_abs_diff(c.ref, w, c.ny, &at);
        cr_expect(dlt <= 1e-13 * fmax(1, max_abs(w, c.ny)), "%s: |ref − oracle| = %g at %lld "
                  "(ref %.17g, oracle %.17g)", oracle_shapes[t], dlt, (long long)at, c.ref[at], w[at]);
        free(w), free_case(&c);
    }
}

/* ------------------------------------------------------------------ the mask */

/* Every pixel of a border block (its window reaches outside the image) gets more than the bias:
 * with the seed's inverted mask each of them is exactly bo. Here every block is a border block
 * (H = 16, block 8). The values themselves are the oracle's (matches_independent_oracle). */
Test(halo_mask, border_pixels_are_not_the_bias)
{
    hcase_t c = make_case("B=2,C=8,H=16,block=8,halo=3,heads=2,d=4");
    const halo_shape_t *s = &c.s;
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t py = 0; py < s->H; py++)
            for (int64_t px = 0; px < s->W; px++) {
                double dev = 0;
                for (int64_t co = 0; co < s->C; co++)
                    dev = fmax(dev, fabs(c.ref[yi(s, b, co, py, px)] - c.t.bo[co]));
                cr_assert(dev > 1e-3, "pixel (b=%lld,%lld,%lld): y − bo = %g: only the bias",
                          (long long)b, (long long)py, (long long)px, dev);
            }
    free_case(&c);
}

/* Corner pixels against a brute-force softmax written here over the in-image keys only: the
 * keys are walked as image pixels (iy, ix) in [0, H) × [0, W) ∩ the window, k and v projected
 * directly from x, no −∞ anywhere. halo_ref_probs gives 0 to every other key and the count of
 * in-image keys is (b + h)² at a corner. */
Test(halo_mask, corner_equals_softmax_over_in_image_keys)
{
    hcase_t c = make_case("B=2,C=6,H=16,W=12,block=4,halo=2,heads=3,d=4");
    const halo_shape_t *s = &c.s;
    const int64_t bs = s->b, h = s->h, Wn = bs + 2 * h, d = s->d, Di = s->Nh * d, C = s->C;
    const int64_t corners[4][2] = {{0, 0}, {0, s->W - 1}, {s->H - 1, 0}, {s->H - 1, s->W - 1}};
    double *p = tst_dalloc(Wn * Wn), *o = tst_dalloc(Di), *q = tst_dalloc(Di);
    for (int64_t b = 0; b < s->B; b++)
        for (int k = 0; k < 4; k++) {
            const int64_t py = corners[k][0], px = corners[k][1];
            const int64_t y0 = py / bs * bs - h, x0 = px / bs * bs - h; /* window origin */
            for (int64_t i = 0; i < Di; i++) {
                double a = 0;
                for (int64_t ch = 0; ch < C; ch++) a += c.t.wq[i * C + ch] * (double)c.t.x[yi(s, b, ch, py, px)];
                q[i] = a / sqrt((double)d);
            }
            for (int64_t n = 0; n < s->Nh; n++) {
                double logit[64], vv[64][4], m = -INFINITY, z = 0;
                int nk = 0;
                for (int64_t iy = 0; iy < s->H; iy++)
                    for (int64_t ix = 0; ix < s->W; ix++) {
                        if (iy < y0 || iy >= y0 + Wn || ix < x0 || ix >= x0 + Wn) continue;
                        double l = 0;
                        for (int64_t cc = 0; cc < d; cc++) {
                            double kk = 0, v = 0;
                            for (int64_t ch = 0; ch < C; ch++) {
                                kk += c.t.wkv[(n * d + cc) * C + ch] * (double)c.t.x[yi(s, b, ch, iy, ix)];
                                v += c.t.wkv[(Di + n * d + cc) * C + ch] * (double)c.t.x[yi(s, b, ch, iy, ix)];
                            }
                            l += q[n * d + cc] * (kk + c.t.rel_w[(Wn - 1 + (ix - x0) - px % bs) * d + cc] +
                                                  c.t.rel_h[(Wn - 1 + (iy - y0) - py % bs) * d + cc]);
                            vv[nk][cc] = v;
                        }
                        logit[nk++] = l;
                        m = fmax(m, l);
                    }
                cr_assert_eq(nk, (bs + h) * (bs + h), "corner (%lld,%lld): %d in-image keys",
                             (long long)py, (long long)px, nk);
                for (int j = 0; j < nk; j++) z += exp(logit[j] - m);
                for (int64_t cc = 0; cc < d; cc++) {
                    o[n * d + cc] = 0;
                    for (int j = 0; j < nk; j++) o[n * d + cc] += exp(logit[j] - m) / z * vv[j][cc];
                }
                /* the reference's probabilities: 0 outside, summing to 1, count (b + h)² */
                cr_assert_eq(halo_ref_probs(s, &c.t, b, py, px, n, p), nk);
                double sum = 0;
                for (int64_t ky = 0; ky < Wn; ky++)
                    for (int64_t kx = 0; kx < Wn; kx++) {
                        const int64_t iy = y0 + ky, ix = x0 + kx;
                        const int in_img = iy >= 0 && iy < s->H && ix >= 0 && ix < s->W;
                        if (!in_img)
                            cr_assert_eq(p[ky * Wn + kx], 0.0, "key (%lld,%lld) outside the image "
                                         "has p = %g", (long long)ky, (long long)kx, p[ky * Wn + kx]);
                        else
                            cr_assert(p[ky * Wn + kx] > 0, "in-image key has p = 0");
                        sum += p[ky * Wn + kx];
                    }
                cr_assert_float_eq(sum, 1.0, 1e-14);
            }
            for (int64_t co = 0; co < C; co++) {
                double a = c.t.bo[co];
                for (int64_t i = 0; i < Di; i++) a += c.t.wo[co * Di + i] * o[i];
                const double r = c.ref[yi(s, b, co, py, px)];
                cr_expect_float_eq(r, a, 1e-13, "corner (b=%lld,%lld,%lld) channel %lld: ref %.17g, "
                                   "brute force %.17g", (long long)b, (long long)py, (long long)px,
                                   (long long)co, r, a);
            }
        }
    free(p), free(o), free(q), free_case(&c);
}

/* A block's outputs depend on x inside its window only: scrambling x everywhere else leaves them
 * bit for bit; changing one pixel at the window's corner changes all of them. */
Test(halo_mask, outside_the_window_changes_nothing)
{
    hcase_t c = make_case("B=1,C=5,H=16,block=4,halo=2,heads=2,d=4");
    const halo_shape_t *s = &c.s;
    const int64_t lo = 1 * 4 - 2, hi = 2 * 4 + 2; /* block (1, 1): window rows/cols [2, 10) */
    float *x = (float *)c.t.x;
    for (int64_t ch = 0; ch < s->C; ch++)
        for (int64_t py = 0; py < s->H; py++)
            for (int64_t px = 0; px < s->W; px++)
                if (py < lo || py >= hi || px < lo || px >= hi) x[yi(s, 0, ch, py, px)] = 3.0f * (float)(py - px);
    double *y = tst_dalloc(c.ny);
    halo_ref(s, &c.t, y, NULL);
    int changed_elsewhere = 0;
    for (int64_t ch = 0; ch < s->C; ch++)
        for (int64_t py = 0; py < s->H; py++)
            for (int64_t px = 0; px < s->W; px++) {
                const int64_t e = yi(s, 0, ch, py, px);
                if (py / 4 == 1 && px / 4 == 1)
                    cr_assert_eq(y[e], c.ref[e], "block (1,1) pixel (%lld,%lld) changed with x "
                                 "outside its window", (long long)py, (long long)px);
                else
                    changed_elsewhere += y[e] != c.ref[e];
            }
    cr_assert_gt(changed_elsewhere, 0, "the scrambled x changed no output at all");
    x[yi(s, 0, 0, lo, lo)] += 1.0f; /* inside the window, its corner */
    halo_ref(s, &c.t, y, NULL);
    for (int64_t py = 4; py < 8; py++)
        for (int64_t px = 4; px < 8; px++)
            cr_expect_neq(y[yi(s, 0, 0, py, px)], c.ref[yi(s, 0, 0, py, px)],
                          "pixel (%lld,%lld) ignores its window's corner", (long long)py, (long long)px);
    free(y), free_case(&c);
}

/* ------------------------------------------------------------------ translation */

/* Rolling the image by one whole block (b rows down and b columns right, circularly) moves the
 * output by one block wherever both windows lie inside the image: block (by, bx) of y equals
 * block (by + 1, bx + 1) of y'. With H = W = 32, b = 4, h = 2 that is by, bx ∈ [1, 5]. The border
 * blocks differ (different pixels are cut off by the mask), which the test also checks. */
Test(halo_invariant, shift_by_one_block)
{
    hcase_t c = make_case("B=2,C=6,H=32,block=4,halo=2,heads=2,d=4");
    const halo_shape_t *s = &c.s;
    const int64_t bs = s->b, H = s->H, W = s->W;
    float *xs = tst_falloc(s->B * s->C * H * W);
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t ch = 0; ch < s->C; ch++)
            for (int64_t py = 0; py < H; py++)
                for (int64_t px = 0; px < W; px++)
                    xs[yi(s, b, ch, (py + bs) % H, (px + bs) % W)] = c.t.x[yi(s, b, ch, py, px)];
    halo_inputs_t t2 = c.t;
    t2.x = xs;
    double *y2 = tst_dalloc(c.ny);
    halo_ref(s, &t2, y2, NULL);
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t ch = 0; ch < s->C; ch++)
            for (int64_t py = bs; py < 6 * bs; py++)
                for (int64_t px = bs; px < 6 * bs; px++) {
                    const double a = c.ref[yi(s, b, ch, py, px)], a2 = y2[yi(s, b, ch, py + bs, px + bs)];
                    cr_assert_float_eq(a, a2, 1e-13, "(b=%lld,c=%lld,%lld,%lld): %.17g, shifted %.17g",
                                       (long long)b, (long long)ch, (long long)py, (long long)px, a, a2);
                }
    /* a border block: (0, 0) of y against (1, 1) of y' — its window was clipped, now it is not */
    cr_expect_neq(c.ref[yi(s, 0, 0, 0, 0)], y2[yi(s, 0, 0, bs, bs)]);
    free(xs), free(y2), free_case(&c);
}

/* ------------------------------------------------------------------ row selection */

/* Only the selected rows (pixels) are written, each equal to the full result; rows of a batch
 * with no selected row stay untouched too. */
Test(halo_reference, row_sel_only_selected_rows)
{
    hcase_t c = make_case("B=3,C=4,H=8,W=12,block=4,halo=1,heads=2,d=2");
    const halo_shape_t *s = &c.s;
    const int64_t HW = s->H * s->W, rows = s->B * HW;
    cr_assert_eq(c.L.out_rows, rows);
    uint8_t *sel = calloc((size_t)rows, 1);
    sel[0] = sel[13] = sel[HW - 1] = sel[2 * HW + 50] = sel[rows - 1] = 1; /* batch 1: none */
    double *y = tst_dalloc(c.ny);
    for (int64_t e = 0; e < c.ny; e++) y[e] = 777.0;
    halo_ref(s, &c.t, y, sel);
    for (int64_t e = 0; e < c.ny; e++) {
        const int64_t r = c.su->row_of(c.su, c.v, e);
        if (sel[r]) cr_assert_eq(y[e], c.ref[e], "selected row %lld differs", (long long)r);
        else cr_assert_eq(y[e], 777.0, "unselected row %lld was written (%g)", (long long)r, y[e]);
    }
    free(sel), free(y), free_case(&c);
}

/* A sample of rows, as --ref-gflop takes it (first, last and a stratified draw), computes
 * exactly the full reference's values in its rows, bit for bit, and leaves the other rows alone:
 * halo_ref projects K and V only for the pixels the sampled rows' windows hold, several pixels at
 * a time, and no value may depend on which pixels those are. Shapes: 2·Di = 30 (a partial block
 * of rows in the packed weights), several batches and blocks, a window past the border on every
 * side, halo 0 (a window is its block); samples of 3 rows to a third of them. */
Test(halo_reference, sampled_equals_full)
{
    static const char *const shapes[] = {
        "B=2,C=24,H=16,W=24,block=8,halo=3,heads=3,d=5",
        "B=3,C=16,H=12,W=12,block=4,halo=2,heads=2,d=4",
        "B=2,C=40,H=8,W=16,block=8,halo=0,heads=1,d=16",
    };
    for (size_t t = 0; t < sizeof shapes / sizeof shapes[0]; t++) {
        hcase_t c = make_case(shapes[t]);
        const int64_t rows = c.L.out_rows;
        uint8_t *sel = malloc((size_t)rows);
        double *y = tst_dalloc(c.ny);
        cr_assert_not_null(sel);
        const int64_t wants[] = {3, rows / 10, rows / 3};
        for (size_t w = 0; w < sizeof wants / sizeof wants[0]; w++) {
            const int64_t n = attn_sample_rows(sel, rows, wants[w], 7 + w);
            cr_assert(n >= 2 && n < rows);
            for (int64_t e = 0; e < c.ny; e++) y[e] = NAN;
            halo_ref(&c.s, &c.t, y, sel);
            for (int64_t e = 0; e < c.ny; e++) {
                const int64_t r = c.su->row_of(c.su, c.v, e);
                if (sel[r])
                    cr_assert(!memcmp(&y[e], &c.ref[e], sizeof y[e]),
                              "%s, %lld rows: row %lld element %lld is %.17g, full %.17g",
                              shapes[t], (long long)n, (long long)r, (long long)e, y[e], c.ref[e]);
                else
                    cr_assert(isnan(y[e]), "%s: unselected row %lld written", shapes[t],
                              (long long)r);
            }
        }
        free(sel), free(y), free_case(&c);
    }
}

/* ------------------------------------------------------------------ the suite */

/* row_of maps element (b, c, py, px) of y to pixel row b·H·W + py·W + px. */
Test(halo_suite, row_of_is_the_pixel)
{
    const attn_suite_t *su = tst_suite("halo");
    int64_t *v = tst_case(su, "B=3,C=5,H=8,W=12,block=4");
    for (int64_t b = 0; b < 3; b++)
        for (int64_t ch = 0; ch < 5; ch++)
            for (int64_t py = 0; py < 8; py++)
                for (int64_t px = 0; px < 12; px++) {
                    const int64_t e = ((b * 5 + ch) * 8 + py) * 12 + px;
                    cr_assert_eq(su->row_of(su, v, e), (b * 8 + py) * 12 + px);
                }
    free(v);
}

/* Layout: the launcher's tensor names and shapes. */
Test(halo_suite, layout)
{
    const attn_suite_t *su = tst_suite("halo");
    int64_t *v = tst_case(su, "B=2,C=24,H=16,W=8,block=4,halo=3,heads=3,d=5");
    attn_layout_t L;
    su->layout(su, v, &L);
    static const char *const names[] = {"x", "wq", "wkv", "wo", "bo", "rel_w", "rel_h"};
    const int64_t want[7][4] = {{2, 24, 16, 8}, {15, 24}, {30, 24}, {24, 15}, {24}, {19, 5}, {19, 5}};
    const int nd[7] = {4, 2, 2, 2, 1, 2, 2};
    cr_assert_eq(L.nin, 7);
    for (int i = 0; i < 7; i++) {
        cr_expect_str_eq(L.in[i].name, names[i]);
        cr_assert_eq(L.in[i].ndim, nd[i], "%s", names[i]);
        for (int k = 0; k < nd[i]; k++)
            cr_expect_eq(L.in[i].shape[k], want[i][k], "%s dim %d = %lld", names[i], k,
                         (long long)L.in[i].shape[k]);
    }
    cr_expect_str_eq(L.out.name, "y");
    cr_expect(L.out.ndim == 4 && L.out.shape[0] == 2 && L.out.shape[1] == 24 &&
              L.out.shape[2] == 16 && L.out.shape[3] == 8);
    cr_expect_eq(L.out_rows, 2 * 16 * 8);
    free(v);
}

/* FLOPs and bytes as docs/suites.md states them. B = 2, C = 16, H = 8, W = 16, b = 4, h = 1 (Wn = 6),
 * Nh = 2, d = 8 (Di = 16): 256 pixels. */
Test(halo_suite, flops_and_bytes_as_spec)
{
    const attn_suite_t *su = tst_suite("halo");
    int64_t *v = tst_case(su, "B=2,C=16,H=8,W=16,block=4,halo=1,heads=2,d=8");
    const double pix = 2 * 8 * 16, C = 16, Di = 16, Wn = 6;
    cr_expect_eq(su->flops(su, v), pix * (2 * C * Di + 4 * C * Di + 4 * Wn * Wn * Di +
                                      4 * (2 * Wn - 1) * Di + 2 * Di * C));
    cr_expect_eq(su->flops(su, v), 256.0 * (512 + 1024 + 2304 + 704 + 512));
    cr_expect_eq(su->bytes(su, v, 2), 2.0 * (2 * 2 * 16 * 8 * 16 + 4 * 16 * 16 + 16 + 2 * 11 * 8));
    cr_expect_eq(su->bytes(su, v, 4), 2 * su->bytes(su, v, 2));
    free(v);
}

/* The generator: deterministic per seed, distinct streams, never zeros, at the documented
 * scales (x ~ 1, Wq/Wkv ~ 1/√C, Wo and bo ~ 1/√Di, rel tables ~ 1/√d). */
Test(halo_suite, generator)
{
    const attn_suite_t *su = tst_suite("halo");
    int64_t *v = tst_case(su, "B=2,C=64,H=16,block=8,halo=3,heads=4,d=16");
    attn_layout_t L;
    su->layout(su, v, &L);
    float *a[7], *b[7];
    for (int i = 0; i < 7; i++) a[i] = tst_falloc(attn_tensor_numel(&L.in[i])), b[i] = tst_falloc(attn_tensor_numel(&L.in[i]));
    su->generate(su, v, 9, (void *const *)a);
    su->generate(su, v, 9, (void *const *)b);
    const double sigma[7] = {1, 1 / 8.0, 1 / 8.0, 1 / 8.0, 1 / 8.0, 1 / 4.0, 1 / 4.0};
    for (int i = 0; i < 7; i++) {
        const int64_t n = attn_tensor_numel(&L.in[i]);
        cr_expect(!memcmp(a[i], b[i], (size_t)n * 4), "%s differs between runs", L.in[i].name);
        double s2 = 0;
        int64_t zeros = 0;
        for (int64_t e = 0; e < n; e++) s2 += (double)a[i][e] * a[i][e], zeros += a[i][e] == 0;
        const double sd = sqrt(s2 / (double)n);
        cr_expect_eq(zeros, 0, "%s has %lld zeros", L.in[i].name, (long long)zeros);
        /* bo has 64 values only: a looser band */
        const double band = n < 100 ? 0.35 : 0.1;
        cr_expect(fabs(sd / sigma[i] - 1) < band, "%s: rms %g, want ~%g", L.in[i].name, sd, sigma[i]);
    }
    cr_expect(memcmp(a[5], a[6], 4 * 16), "rel_w and rel_h are the same stream");
    cr_expect(memcmp(a[1], a[2], 4 * 16), "wq and wkv are the same stream");
    su->generate(su, v, 10, (void *const *)b);
    cr_expect(memcmp(a[0], b[0], 4 * 16), "x does not depend on the seed");
    for (int i = 0; i < 7; i++) free(a[i]), free(b[i]);
    free(v);
}

/* Cases selected by --shape strings / --sweep: 0 cases and the message on error. */
static int build(const char *shape, int sweep, int cpu_grid, const char *axis, int64_t **cases,
                 char *err, size_t n)
{
    attn_opts_t o;
    attn_opts_init(&o);
    if (shape) o.shapes[o.nshapes++] = shape;
    o.sweep = sweep;
    if (axis) { /* one --axis name=value */
        const char *eq = strchr(axis, '=');
        snprintf(o.axis[0].name, sizeof o.axis[0].name, "%.*s", (int)(eq - axis), axis);
        o.axis[0].n = 1;
        o.axis[0].vals[0] = atoll(eq + 1);
        o.naxis = 1;
    }
    *cases = NULL;
    err[0] = 0;
    return attn_build_cases(tst_suite("halo"), &o, cpu_grid, cases, err, n);
}

/* derive(): W defaults to H; bad shapes are refused with the values named. */
Test(halo_suite, derive_and_errors)
{
    const attn_suite_t *su = tst_suite("halo");
    int64_t *v = tst_case(su, "H=24");
    cr_expect_eq(tst_axis(su, v, "W"), 24);
    cr_expect_eq(tst_axis(su, v, "block"), 8);
    cr_expect_eq(tst_axis(su, v, "halo"), 3);
    cr_expect_eq(tst_axis(su, v, "heads"), 8);
    cr_expect_eq(tst_axis(su, v, "d"), 16);
    free(v);
    v = tst_case(su, "H=16,W=40,block=8,halo=8");
    cr_expect_eq(tst_axis(su, v, "W"), 40);
    free(v);

    static const tst_bad_shape_t bad[] = {
        {"H=30", "H=30 is not divisible by block=8"},
        {"H=32,W=20", "W=20 is not divisible by block=8"},
        {"H=12,block=4,W=18", "W=18 is not divisible by block=4"},
        {"H=8,block=3", "H=8 is not divisible by block=3"},
        {"halo=9", "halo=9 is larger than block=8"},
        {"halo=-1", "halo=-1: halo must be in [0,"},
        {"block=0", "block=0: block must be in [1,"},
        {"d=0", "d=0: d must be in [1,"},
        {"C=16384,H=512", "2^31"},
    };
    tst_expect_bad_shapes("halo", bad, sizeof bad / sizeof bad[0]);
}

/* The sweeps: docs/suites.md's GPU grid is 3·2·3·3·2·2 = 216 cases with (block, halo) only in
 * {(8,3), (8,4), (4,2)}; the CPU grid is 36 cases with the same pairs; an --axis value outside
 * the grid's pairs is not filtered out. */
Test(halo_suite, sweep_grids)
{
    char err[512];
    int64_t *cases;
    const attn_suite_t *su = tst_suite("halo");
    const int ib = attn_axis_index(su, "block"), ih = attn_axis_index(su, "halo");
    const int iH = attn_axis_index(su, "H"), iW = attn_axis_index(su, "W");
    for (int cpu = 0; cpu <= 1; cpu++) {
        const int n = build(NULL, 1, cpu, NULL, &cases, err, sizeof err);
        cr_assert_eq(n, cpu ? 36 : 216, "%s grid: %d cases (%s)", cpu ? "CPU" : "GPU", n, err);
        int pairs[3] = {0};
        for (int k = 0; k < n; k++) {
            const int64_t *v = cases + (size_t)k * (size_t)su->naxes;
            const int64_t b = v[ib], h = v[ih];
            cr_assert((b == 8 && (h == 3 || h == 4)) || (b == 4 && h == 2), "pair (%lld, %lld)",
                      (long long)b, (long long)h);
            pairs[b == 4 ? 2 : h - 3]++;
            cr_assert_eq(v[iW], v[iH]);
            if (cpu) cr_assert_leq(su->flops(su, v), 1e9, "CPU grid case of %g FLOPs", su->flops(su, v));
        }
        cr_expect(pairs[0] == n / 3 && pairs[1] == n / 3 && pairs[2] == n / 3);
        free(cases);
    }
    cr_assert_eq(build(NULL, 1, 0, "halo=1", &cases, err, sizeof err), 2 * 72, "%s", err);
    free(cases);
}

/* ------------------------------------------------------------------ f32 variant vs reference */

/* A copy of the forward pass in float32, written as plainly as possible, with one bug switched
 * in (BUG_NONE: faithful), and optionally with the roundings a bf16 GPU variant makes: inputs are
 * given rounded; Q, K, V after the projections, P = e^(s − m) before P·V (the normaliser sums
 * the unrounded values), O, and y are rounded to bf16; logits and all sums stay float32. */
typedef enum bug {
    BUG_NONE,
    BUG_SEED_MASK,    /* the seed's `mask.bool()`: in-image keys masked, padding keys kept */
    BUG_NO_MASK,      /* out-of-image keys kept as zeros (k = v = 0, logit = q·rel) */
    BUG_REL_SIGN,     /* rel_w[Wn − 1 + qx − kx]: kx − qx swapped */
    BUG_REL_SWAP,     /* rel_w used for rows and rel_h for columns */
    BUG_REL_OFFSET,   /* rel index from the geometric offset (kx − h) − qx: shifted by h */
    BUG_MISSING_HEAD, /* the last head's o left at 0 */
    BUG_SCALE,        /* no d^-½ */
    BUG_HEAD_MERGE,   /* heads merged as o[c·Nh + n] instead of o[n·d + c] */
    BUG_KV_BATCH0,    /* K/V of batch 0 used for every batch */
    BUG_NO_HALO,      /* window starts at the block (by·b + ky) instead of by·b − h + ky */
    NBUGS
} bug_t;
static const char *const bug_name[NBUGS] = {
    "none", "seed inverted mask", "no mask", "kx-qx swapped", "rel_w/rel_h swapped",
    "rel index shifted", "missing head", "no scale", "head merge", "K/V of batch 0", "no halo shift"};

static float bf(float v, int on) { return on ? attn_bf16_to_f32(attn_f32_to_bf16(v)) : v; }

static void f32_copy(const halo_shape_t *s, const halo_inputs_t *in, float *y, bug_t bug, int b16)
{
    const int64_t C = s->C, H = s->H, W = s->W, HW = H * W, d = s->d, Nh = s->Nh, Di = Nh * d;
    const int64_t bs = s->b, h = bug == BUG_NO_HALO ? 0 : s->h, Wn = s->b + 2 * s->h;
    const float scale = bug == BUG_SCALE ? 1.0f : 1.0f / sqrtf((float)d);
    float *Q = tst_falloc(s->B * HW * Di), *KV = tst_falloc(s->B * HW * 2 * Di);
    float *o = tst_falloc(Di), *l = tst_falloc(Wn * Wn);
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t p = 0; p < HW; p++) {
            for (int64_t r = 0; r < 2 * Di; r++) {
                float aq = 0, akv = 0;
                for (int64_t c = 0; c < C; c++) {
                    const float xv = in->x[(b * C + c) * HW + p];
                    if (r < Di) aq += in->wq[r * C + c] * xv;
                    akv += in->wkv[r * C + c] * xv;
                }
                if (r < Di) Q[(b * HW + p) * Di + r] = bf(aq * scale, b16);
                KV[(b * HW + p) * 2 * Di + r] = bf(akv, b16);
            }
        }
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t py = 0; py < H; py++)
            for (int64_t px = 0; px < W; px++) {
                const int64_t qy = py % bs, qx = px % bs, y0 = py / bs * bs - h, x0 = px / bs * bs - h;
                const int64_t kb = bug == BUG_KV_BATCH0 ? 0 : b;
                int has_pad = 0;
                for (int64_t j = 0; j < Wn * Wn; j++) {
                    const int64_t iy = y0 + j / Wn, ix = x0 + j % Wn;
                    has_pad |= iy < 0 || iy >= H || ix < 0 || ix >= W;
                }
                for (int64_t n = 0; n < Nh; n++) {
                    const float *q = Q + (b * HW + py * W + px) * Di + n * d;
                    float m = -INFINITY;
                    for (int64_t ky = 0; ky < Wn; ky++)
                        for (int64_t kx = 0; kx < Wn; kx++) {
                            const int64_t iy = y0 + ky, ix = x0 + kx;
                            const int inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
                            int64_t rw = Wn - 1 + kx - qx, rh = Wn - 1 + ky - qy;
                            if (bug == BUG_REL_SIGN) rw = Wn - 1 + qx - kx;
                            if (bug == BUG_REL_SWAP) rw = Wn - 1 + ky - qy, rh = Wn - 1 + kx - qx;
                            if (bug == BUG_REL_OFFSET) rw -= s->h, rh -= s->h;
                            float a = 0;
                            for (int64_t c = 0; c < d; c++) {
                                const float k = inside ? KV[(kb * HW + iy * W + ix) * 2 * Di + n * d + c] : 0;
                                a += q[c] * (k + in->rel_w[rw * d + c] + in->rel_h[rh * d + c]);
                            }
                            int keep = inside;
                            if (bug == BUG_NO_MASK) keep = 1;
                            if (bug == BUG_SEED_MASK) keep = !inside || !has_pad; /* all −max: uniform */
                            if (bug == BUG_SEED_MASK && !has_pad) a = 0;
                            l[ky * Wn + kx] = keep ? a : -INFINITY;
                            m = fmaxf(m, l[ky * Wn + kx]);
                        }
                    float z = 0, acc[256] = {0};
                    for (int64_t ky = 0; ky < Wn; ky++)
                        for (int64_t kx = 0; kx < Wn; kx++) {
                            const int64_t iy = y0 + ky, ix = x0 + kx;
                            const int inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
                            const float e = expf(l[ky * Wn + kx] - m);
                            z += e;
                            for (int64_t c = 0; c < d; c++)
                                acc[c] += bf(e, b16) * (inside ? KV[(kb * HW + iy * W + ix) * 2 * Di + Di + n * d + c] : 0);
                        }
                    for (int64_t c = 0; c < d; c++) {
                        const float oc = bug == BUG_MISSING_HEAD && n == Nh - 1 ? 0 : bf(acc[c] / z, b16);
                        o[bug == BUG_HEAD_MERGE ? c * Nh + n : n * d + c] = oc;
                    }
                }
                for (int64_t co = 0; co < C; co++) {
                    float a = 0;
                    for (int64_t i = 0; i < Di; i++) a += in->wo[co * Di + i] * o[i];
                    y[(b * C + co) * HW + py * W + px] = bf(a + in->bo[co], b16);
                }
            }
    free(Q), free(KV), free(o), free(l);
}

static attn_check_t check(const hcase_t *c, const void *out, attn_dtype_t t, const double *ref,
                          double tol)
{
    return attn_compare_mapped(out, t, ref, c->ny, c->su, c->v, NULL, tol);
}

/* Shapes for the f32 and bf16 checks: the default case, CPU-grid and GPU-grid-like ones, halo 0
 * and halo = block, non-square, odd sizes. */
static const char *const shapes[] = {
    "B=1",
    "B=2,C=64,H=16,block=4,halo=2,heads=4,d=32",
    "B=1,C=256,H=16,block=8,halo=4,heads=4,d=64",
    "B=1,C=128,H=16,block=8,halo=3,heads=8,d=16",
    "B=3,C=7,H=12,W=20,block=4,halo=1,heads=3,d=5",
    "B=1,C=16,H=16,block=8,halo=0,heads=2,d=8",
    "B=1,C=16,H=8,block=4,halo=4,heads=2,d=8",
};
#define NSHAPES (sizeof shapes / sizeof shapes[0])

/* The suite's tolerances are in the sane range: f32 above the f32 floor and far below any bug;
 * bf16 a few bf16 roundings. */
Test(halo_f32, tolerance_is_sane)
{
    const attn_suite_t *su = tst_suite("halo");
    int64_t *v = tst_case(su, "B=32,C=512,H=64,block=8,halo=4,heads=8,d=64"); /* the contract's largest */
    const double t32 = su->tolerance(su, v, ATTN_F32), t16 = su->tolerance(su, v, ATTN_BF16);
    cr_expect(t32 > 1e-6 && t32 < 2e-4, "f32 tolerance %g", t32);
    cr_expect(t16 > t32 && t16 <= 0.05, "bf16 tolerance %g", t16);
    free(v);
}

/* halo_cpu_f32 (directly and as the registry's cpu-f32 row) and the test's faithful copy agree
 * with the reference within the suite's f32 tolerance. */
Test(halo_f32, agrees_with_reference)
{
    const attn_variant_t *x = tst_variant(tst_suite("halo"), "cpu-f32");
    for (size_t t = 0; t < NSHAPES; t++) {
        hcase_t c = make_case(shapes[t]);
        float *out = tst_falloc(c.ny), *out2 = tst_falloc(c.ny);
        memset(out, 0xFF, (size_t)c.ny * 4);
        halo_cpu_f32(&c.s, &c.t, out);
        attn_check_t k = check(&c, out, ATTN_F32, c.ref, c.tol32);
        cr_expect(k.ok, "'%s': max|err| %g > tol %g (at %lld, %lld non-finite)", shapes[t],
                  k.max_abs_err, k.tol_abs, (long long)k.worst, (long long)k.nonfinite);
        cr_expect_eq(k.checked, c.ny);
        cr_log_info("cpu-f32 '%s': max|err| / tolerance = %.3g (rel %.3g of max|y|)", shapes[t],
                    k.max_abs_err / k.tol_abs, k.max_abs_err / k.ref_scale);
        memset(out2, 0xFF, (size_t)c.ny * 4);
        cr_assert_eq(x->run(c.su, x, c.v, (const void *const *)c.in, out2, NULL, NULL), 0);
        cr_expect(memcmp(out, out2, (size_t)c.ny * 4) == 0, "'%s': registry cpu-f32 differs", shapes[t]);
        f32_copy(&c.s, &c.t, out2, BUG_NONE, 0);
        k = check(&c, out2, ATTN_F32, c.ref, c.tol32);
        cr_expect(k.ok, "'%s': the test's f32 copy fails: %g > %g", shapes[t], k.max_abs_err, k.tol_abs);
        free(out), free(out2), free_case(&c);
    }
}

/* The f32 tolerance is tight: the f32 output rounded to bf16 is rejected. */
Test(halo_f32, bf16_precision_rejected)
{
    hcase_t c = make_case("B=2,C=64,H=16,block=4,halo=2,heads=4,d=32");
    float *out = tst_falloc(c.ny);
    halo_cpu_f32(&c.s, &c.t, out);
    for (int64_t e = 0; e < c.ny; e++) out[e] = bf(out[e], 1);
    attn_check_t k = check(&c, out, ATTN_F32, c.ref, c.tol32);
    cr_expect(!k.ok, "bf16-rounded output passed the f32 check (err %g, tol %g)", k.max_abs_err, k.tol_abs);
    free(out), free_case(&c);
}

/* Planted bugs, on shapes with border and interior blocks and B = 2: each is rejected by
 * attn_compare_mapped with the suite's f32 tolerance by orders of magnitude, and with its bf16
 * tolerance as well (the bf16 margins are smaller; they are logged). */
Test(halo_f32, planted_bugs_rejected)
{
    static const char *const bug_shapes[] = {
        "B=2,C=32,H=16,block=4,halo=2,heads=4,d=8",
        "B=2,C=64,H=24,block=8,halo=3,heads=8,d=16",
    };
    for (size_t t = 0; t < sizeof bug_shapes / sizeof bug_shapes[0]; t++) {
        hcase_t c = make_case(bug_shapes[t]);
        float *out = tst_falloc(c.ny);
        f32_copy(&c.s, &c.t, out, BUG_NONE, 0);
        attn_check_t good = check(&c, out, ATTN_F32, c.ref, c.tol32);
        cr_expect(good.ok, "'%s': the faithful copy fails (%g > %g)", bug_shapes[t],
                  good.max_abs_err, good.tol_abs);
        for (int bug = 1; bug < NBUGS; bug++) {
            f32_copy(&c.s, &c.t, out, (bug_t)bug, 0);
            attn_check_t k = check(&c, out, ATTN_F32, c.ref, c.tol32);
            attn_check_t k16 = check(&c, out, ATTN_F32, c.ref, c.tol16);
            cr_expect(!k.ok && k.max_abs_err > 100 * k.tol_abs,
                      "'%s': planted bug '%s' is not rejected by 100× (err %g, f32 tol %g)",
                      bug_shapes[t], bug_name[bug], k.max_abs_err, k.tol_abs);
            cr_expect(!k16.ok, "'%s': planted bug '%s' passes the bf16 tolerance (err %g, tol %g)",
                      bug_shapes[t], bug_name[bug], k16.max_abs_err, k16.tol_abs);
            cr_log_info("'%s' bug %-20s max|err| = %7.1f× f32 tol, %5.1f× bf16 tol", bug_shapes[t],
                        bug_name[bug], k.max_abs_err / k.tol_abs, k16.max_abs_err / k16.tol_abs);
        }
        free(out), free_case(&c);
    }
}

/* The bf16 tolerance against the roundings a bf16 GPU variant makes: the reference is computed
 * from the bf16-rounded inputs (as the harness does), the emulated pipeline rounds Q, K, V, P, O
 * and y to bf16. It must pass with at least a 2× margin on every shape. */
Test(halo_bf16, emulated_pipeline_within_tolerance)
{
    for (size_t t = 0; t < NSHAPES; t++) {
        hcase_t c = make_case(shapes[t]);
        for (int i = 0; i < c.L.nin; i++)
            for (int64_t e = 0; e < attn_tensor_numel(&c.L.in[i]); e++) c.in[i][e] = bf(c.in[i][e], 1);
        double *ref = tst_dalloc(c.ny);
        c.su->reference(c.su, c.v, (const void *const *)c.in, ref, NULL);
        float *out = tst_falloc(c.ny);
        f32_copy(&c.s, &c.t, out, BUG_NONE, 1);
        attn_check_t k = check(&c, out, ATTN_F32, ref, c.tol16);
        cr_expect(k.ok && k.max_abs_err <= 0.5 * k.tol_abs,
                  "'%s': emulated bf16 error %g is not within half the tolerance %g", shapes[t],
                  k.max_abs_err, k.tol_abs);
        cr_log_info("bf16 emulation '%s': max|err| / max|y| = %.3g = %.2f × tolerance", shapes[t],
                    k.max_abs_err / k.ref_scale, k.max_abs_err / k.tol_abs);
        free(ref), free(out), free_case(&c);
    }
}
