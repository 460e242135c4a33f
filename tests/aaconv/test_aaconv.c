/* The aaconv suite: its CPU reference (aaconv_ref), its f32 CPU variant (aaconv_cpu_f32) and its
 * registry entry (derive, grids, layout, row_of, generator, FLOPs, bytes, tolerance).
 *  - hand-computed cases whose numbers are worked out in the comments (rel_w by column offset,
 *    rel_h by row offset, the q scale, two heads merged with the transpose);
 *  - derive(): defaults (dk, dv from Fout), errors naming the values (non-square output map,
 *    heads not dividing dk or dv, even k, kq, dv >= Fout);
 *  - row selection; FLOPs and bytes as docs/suites.md says;
 *  - cpu-f32 and a test-local copy of its loop within the f32 tolerance, and planted bugs in that
 *    copy (the seed's head merge without the transpose, jx − ix reversed, rel_w and rel_h swapped,
 *    no dkh^−½, a dropped relative term) rejected. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aaconv_ref.h"
#include "check.h"
#include "common.h"
#include "util.h"


/* ------------------------------------------------------------------ hand-computed cases */

/* Fin = 1, 2×2 image x = (1, 2; 3, 4) (pixel i = iy·2 + ix holds i + 1), k = kq = 1, stride 1:
 * Ho = Wo = 2, N = 4. Fout = 2: one conv channel, dv = 1 attention channel; Nh = 1, dk = 1
 * (dkh = 1, scale 1). Conv branch: wc = 2, bc = 0.5 → y0 = 2x + 0.5 = 2.5, 4.5, 6.5, 8.5.
 * qkv: q = 0·x + 1 = 1, k = 0·x + 0 = 0, v = 1·x + 0 = x. So logit(i, j) = rel_w[jx − ix + 1]
 * + rel_h[jy − iy + 1], rel tables (3, 1). Output conv wo = −2, bo = 1: y1 = 1 − 2·O. */
static const float hx[4] = {1, 2, 3, 4};
static const float hwc[1] = {2}, hbc[1] = {0.5f};
static const float hwqkv[3] = {0, 0, 1}, hbqkv[3] = {1, 0, 0};
static const float hwo[1] = {-2}, hbo[1] = {1};

/* The tables hold ln 3 rounded to float, so e^{logf 3} = 3·(1 + δ) with |δ| < 2^-24: the
 * reference matches the exact numbers to 1e-7, not to double precision. */
static void hand(const float *rel, const double want[8])
{
    const aaconv_shape_t s = {1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1};
    const aaconv_inputs_t in = {hx, hwc, hbc, hwqkv, hbqkv, hwo, hbo, rel};
    double y[8];
    aaconv_ref(&s, &in, y, NULL);
    float yf[8];
    aaconv_cpu_f32(&s, &in, yf);
    for (int e = 0; e < 8; e++) {
        cr_expect(fabs(y[e] - want[e]) < 1e-7, "y[%d] = %.15g, want %.15g", e, y[e], want[e]);
        cr_expect(fabs(yf[e] - want[e]) < 1e-5, "f32 y[%d] = %.9g, want %.9g", e, yf[e], want[e]);
    }
}

/* rel_w = (0, 0, ln 3), rel_h = 0. Query (0, 0): keys at column 1 have jx − ix + 1 = 2 → weight
 * e^{ln 3} = 3, column 0 weight 1: P ∝ (1, 3, 1, 3)/8, O = (1 + 6 + 3 + 12)/8 = 2.75 → y1 = −4.5.
 * Query (0, 1): jx − ix + 1 ∈ {0, 1}: all weights 1, O = mean = 2.5 → y1 = −4.
 * Row 1 the same: y1 = (−4.5, −4, −4.5, −4). */
Test(aaconv_hand, relative_width)
{
    const float rel[6] = {0, 0, logf(3), 0, 0, 0};
    const double want[8] = {2.5, 4.5, 6.5, 8.5, -4.5, -4, -4.5, -4};
    hand(rel, want);
}

/* rel_w = 0, rel_h = (0, 0, ln 3). Query row 0: keys in row 1 weigh 3: P ∝ (1, 1, 3, 3)/8,
 * O = (1 + 2 + 9 + 12)/8 = 3 → y1 = −5; query row 1: all weigh 1, O = 2.5 → y1 = −4. */
Test(aaconv_hand, relative_height)
{
    const float rel[6] = {0, 0, 0, 0, 0, logf(3)};
    const double want[8] = {2.5, 4.5, 6.5, 8.5, -5, -5, -4, -4};
    hand(rel, want);
}

/* Two heads, the q scale and the head merge. Fin = 1, x = (1, 2; 3, 4), k = kq = 1, Nh = 2,
 * dk = 8 (dkh = 4, scale 1/2), dv = 2 (dvh = 1), Fout = 3 (one conv channel, wc = 0, bc = 7).
 * q: head 0 channels 0..3 = bias (2 ln 3, 0, 0, 0) → scaled q0 = (ln 3, 0, 0, 0); head 1 q = 0.
 * k: head 0 channel 0 = x (so q·k = ln 3 · x_j): head 0 weights ∝ 3^{x_j} = 3, 9, 27, 81 (sum
 *    120); head 1 logits 0: uniform. rel = 0.
 * v: v0 = x (head 0), v1 = 10·x (head 1).
 * O head 0 (every query) = (3·1 + 9·2 + 27·3 + 81·4)/120 = 426/120 = 3.55; head 1 = 10·2.5 = 25.
 * Output conv wo = (1, 0; 0, 1) (identity), bo = 0: channel 1 of y = 3.55 (head 0's channel),
 * channel 2 = 25 (head 1's), at every pixel. A head merge without the transpose would put head 0
 * values in both channels at half the pixels. */
Test(aaconv_hand, two_heads_scale_and_merge)
{
    const aaconv_shape_t s = {1, 1, 3, 2, 2, 1, 1, 1, 2, 8, 2};
    float wqkv[18] = {0}, bqkv[18] = {0};
    bqkv[0] = 2 * logf(3); /* q head 0 channel 0 */
    wqkv[8] = 1;           /* k head 0 channel 0 = x */
    wqkv[16] = 1, wqkv[17] = 10;
    const float wc[1] = {0}, bc[1] = {7}, wo[4] = {1, 0, 0, 1}, bo[2] = {0, 0};
    float rel[2 * 3 * 4] = {0};
    const aaconv_inputs_t in = {hx, wc, bc, wqkv, bqkv, wo, bo, rel};
    double y[12];
    float yf[12];
    aaconv_ref(&s, &in, y, NULL);
    aaconv_cpu_f32(&s, &in, yf);
    for (int i = 0; i < 4; i++) {
        const double want[3] = {7, 426.0 / 120, 25};
        for (int c = 0; c < 3; c++) {
            cr_expect(fabs(y[c * 4 + i] - want[c]) < 1e-7, "y[%d, %d] = %.15g, want %.15g", c,
                      i, y[c * 4 + i], want[c]);
            cr_expect(fabs(yf[c * 4 + i] - want[c]) < 1e-5, "f32 y[%d, %d] = %.9g", c, i,
                      yf[c * 4 + i]);
        }
    }
}

/* ------------------------------------------------------------------ registry entry */

static int derive_err(const char *shape, char *err, size_t n)
{
    const attn_suite_t *s = tst_suite("aaconv");
    int64_t v[ATTN_MAX_AXES];
    for (int a = 0; a < s->naxes; a++) v[a] = ATTN_UNSET;
    /* parse "name=value,..." */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", shape);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        char *eq = strchr(tok, '=');
        *eq = 0;
        const int a = attn_axis_index(s, tok);
        cr_assert(a >= 0, "no axis %s", tok);
        v[a] = atoll(eq + 1);
    }
    /* defaults first, then derive (as bench/cli.c does) */
    int64_t w[ATTN_MAX_AXES];
    memcpy(w, v, sizeof w);
    for (int a = 0; a < s->naxes; a++)
        if (w[a] == ATTN_UNSET && s->axes[a].def != ATTN_UNSET) w[a] = s->axes[a].def;
    err[0] = 0;
    return s->derive(s, w, err, n);
}

static void expect_error(const char *shape, const char *const *parts)
{
    char err[256];
    cr_expect_eq(derive_err(shape, err, sizeof err), -1, "%s accepted", shape);
    for (int i = 0; parts[i]; i++)
        cr_expect(strstr(err, parts[i]), "%s: '%s' lacks '%s'", shape, err, parts[i]);
}
#define PARTS(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(aaconv_suite, derive_defaults)
{
    const attn_suite_t *s = tst_suite("aaconv");
    static const struct { int64_t Fout, dk, dv; } t[] = {
        {64, 16, 8},   /* 12.8 → 16, 6.4 → 8 */
        {128, 24, 16}, /* 25.6 → 24, 12.8 → 16 */
        {256, 48, 24}, /* 51.2 → 48, 25.6 → 24 */
        {512, 104, 48} /* 102.4 → 104, 51.2 → 48 */
    };
    for (int i = 0; i < 4; i++) {
        char shape[64];
        snprintf(shape, sizeof shape, "Fout=%lld", (long long)t[i].Fout);
        int64_t *v = tst_case(s, shape);
        cr_expect_eq(tst_axis(s, v, "dk"), t[i].dk, "Fout=%lld", (long long)t[i].Fout);
        cr_expect_eq(tst_axis(s, v, "dv"), t[i].dv, "Fout=%lld", (long long)t[i].Fout);
        cr_expect_eq(tst_axis(s, v, "Fin"), t[i].Fout);
        cr_expect_eq(tst_axis(s, v, "W"), tst_axis(s, v, "H"));
        free(v);
    }
    /* H ≠ W is fine when the output map is square: (7 − 1)/2 + 1 = (8 − 1)/2 + 1 = 4 */
    int64_t *v = tst_case(s, "H=7,W=8,stride=2");
    attn_layout_t L;
    s->layout(s, v, &L);
    cr_expect_eq(L.out.shape[2], 4);
    cr_expect_eq(L.out.shape[3], 4);
    free(v);
}

Test(aaconv_suite, derive_errors_name_the_values)
{
    expect_error("H=8,W=6", PARTS("square", "H=8", "W=6", "Ho=8", "Wo=6"));
    expect_error("H=9,W=8,stride=2", PARTS("square", "stride=2", "Ho=5", "Wo=4"));
    expect_error("Fout=64,Nh=8,dk=20", PARTS("dk=20", "Nh=8"));
    expect_error("Fout=64,Nh=8,dk=16,dv=12", PARTS("dv=12", "Nh=8"));
    expect_error("k=4", PARTS("k=4", "odd"));
    expect_error("k=3,kq=5", PARTS("kq=5", "k=3"));
    expect_error("Fout=16,Nh=8,dk=8,dv=16", PARTS("dv=16", "Fout=16"));
}

Test(aaconv_suite, layout_row_of_flops_bytes)
{
    const attn_suite_t *s = tst_suite("aaconv");
    int64_t *v = tst_case(s, "B=2,Fin=5,Fout=64,H=9,k=3,stride=2,kq=3");
    /* Ho = (9 + 2 − 3)/2 + 1 = 5, N = 25; dk = 16, dv = 8, Nh = 8: dkh = 2 */
    attn_layout_t L;
    s->layout(s, v, &L);
    cr_expect_eq(L.out.shape[1], 64);
    cr_expect_eq(L.out.shape[2], 5);
    cr_expect_eq(L.out_rows, 50);
    cr_expect_eq(L.in[1].shape[0], 56); /* conv branch Fout − dv */
    cr_expect_eq(L.in[3].shape[0], 40); /* 2dk + dv */
    cr_expect_eq(L.in[7].shape[1], 9);  /* 2·Wo − 1 */
    cr_expect_eq(L.in[7].shape[2], 2);
    /* element (b = 1, c = 3, pixel 7) is row 1·25 + 7 */
    cr_expect_eq(s->row_of(s, v, (1 * 64 + 3) * 25 + 7), 32);
    /* 2·2·25·(56·5·9 + 40·5·9) + 2·2·625·24 + 2·2·8·25·10·2·2 + 2·2·25·64 */
    const double f = 2.0 * 2 * 25 * (56 * 45 + 40 * 45) + 2.0 * 2 * 625 * 24 +
                     2.0 * 2 * 8 * 25 * 10 * 2 * 2 + 2.0 * 2 * 25 * 64;
    cr_expect(fabs(s->flops(s, v) - f) < 1e-6 * f, "flops %g, want %g", s->flops(s, v), f);
    /* x 2·5·81 + wc 56·5·9 + bc 56 + wqkv 40·45 + bqkv 40 + wo 64 + bo 8 + rel 2·9·2 + y 2·64·25 */
    const double n = 810 + 2520 + 56 + 1800 + 40 + 64 + 8 + 36 + 3200;
    cr_expect(fabs(s->bytes(s, v, 4) - 4 * n) < 1e-9, "bytes %g, want %g", s->bytes(s, v, 4), 4 * n);
    free(v);
}

/* ------------------------------------------------------------------ f32 against the reference */

typedef struct gen {
    const attn_suite_t *s;
    int64_t *v;
    attn_layout_t L;
    void *in[ATTN_MAX_TENSORS];
    aaconv_shape_t sh;
    aaconv_inputs_t t;
    int64_t ny;
} gen_t;

static gen_t gen_open(const char *shape)
{
    gen_t g = {.s = tst_suite("aaconv")};
    g.v = tst_case(g.s, shape);
    g.s->layout(g.s, g.v, &g.L);
    for (int i = 0; i < g.L.nin; i++) {
        g.in[i] = malloc((size_t)attn_tensor_numel(&g.L.in[i]) * sizeof(float));
        cr_assert_not_null(g.in[i]);
    }
    g.s->generate(g.s, g.v, 42, g.in);
    const int64_t *v = g.v;
    g.sh = (aaconv_shape_t){v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10]};
    g.t = (aaconv_inputs_t){g.in[0], g.in[1], g.in[2], g.in[3], g.in[4], g.in[5], g.in[6], g.in[7]};
    g.ny = attn_tensor_numel(&g.L.out);
    return g;
}

static void gen_close(gen_t *g)
{
    for (int i = 0; i < g->L.nin; i++) free(g->in[i]);
    free(g->v);
}

/* Nh = 2 on purpose: with dvh = 1 the seed's head merge without the transpose is the identity,
 * and with dkh = 1 the scale dkh^−½ is 1, so those bugs would be invisible (the contract's sweep point
 * Fout = 64, Nh = 8 has dvh = 1). */
static const char *const shapes[] = {
    "B=2,Fout=32,H=7,Nh=2",                    /* k = 3, kq = 1; dk = 6, dv = 4 */
    "B=1,Fin=6,Fout=40,H=9,stride=2,kq=3,Nh=2", /* the seed's k×k qkv, stride 2; dk 8, dv 4 */
    "B=1,Fin=4,Fout=24,H=6,W=5,stride=2,k=5,Nh=2,dk=6,dv=4", /* H ≠ W, square output */
};

Test(aaconv_f32, agrees_with_reference)
{
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        gen_t g = gen_open(shapes[c]);
        double *ref = tst_dalloc(g.ny);
        float *y = malloc((size_t)g.ny * sizeof *y);
        aaconv_ref(&g.sh, &g.t, ref, NULL);
        aaconv_cpu_f32(&g.sh, &g.t, y);
        const double tol = g.s->tolerance(g.s, g.v, ATTN_F32);
        attn_check_t r = attn_compare(y, ATTN_F32, ref, g.ny, 1, NULL, tol);
        cr_expect(r.ok, "%s: err %g > tol %g", shapes[c], r.max_abs_err, r.tol_abs);
        cr_expect(r.max_abs_err < 0.25 * r.tol_abs, "%s: err %g uses > 1/4 of tol %g", shapes[c],
                  r.max_abs_err, r.tol_abs);
        free(ref), free(y);
        gen_close(&g);
    }
}

Test(aaconv_reference, row_sel_only_selected_rows)
{
    gen_t g = gen_open("B=2,Fout=32,H=7,stride=2"); /* N = 16 */
    double *all = tst_dalloc(g.ny), *some = tst_dalloc(g.ny);
    for (int64_t e = 0; e < g.ny; e++) some[e] = -12345.0;
    uint8_t sel[32] = {0};
    sel[3] = sel[20] = 1;
    aaconv_ref(&g.sh, &g.t, all, NULL);
    aaconv_ref(&g.sh, &g.t, some, sel);
    for (int64_t e = 0; e < g.ny; e++) {
        const int64_t r = g.s->row_of(g.s, g.v, e);
        if (sel[r]) cr_expect_eq(some[e], all[e], "e=%lld", (long long)e);
        else cr_expect_eq(some[e], -12345.0, "e=%lld written", (long long)e);
    }
    free(all), free(some);
    gen_close(&g);
}

/* A test-local copy of the f32 attention (q, k, v from cpu-f32's own convs are reproduced here
 * in a plain loop), with a planted bug:
 *  0 none; 1 the seed's head merge (reshape without the transpose); 2 rel_w index ix − jx;
 *  3 rel_w and rel_h swapped; 4 no dkh^−½; 5 rel_h dropped. */
static void copy_f32(const aaconv_shape_t *s, const aaconv_inputs_t *in, float *y, int bug)
{
    const int64_t Ho = aaconv_out_side(s->H, s->k, s->stride), N = Ho * Ho;
    const int64_t Fc = s->Fout - s->dv, Cq = 2 * s->dk + s->dv, Nh = s->Nh;
    const int64_t dkh = s->dk / Nh, dvh = s->dv / Nh, R = 2 * Ho - 1;
    const float scale = bug == 4 ? 1.f : (float)(1.0 / sqrt((double)dkh));
    const float *rw = in->rel, *rh = in->rel + R * dkh;
    if (bug == 3) rw = in->rel + R * dkh, rh = in->rel;
    float *qkv = calloc((size_t)(N * Cq), sizeof *qkv), *O = calloc((size_t)(Nh * N * dvh), 4);
    float *lg = calloc((size_t)N, sizeof *lg);
    const int64_t pq = (s->kq - 1) / 2, pk = (s->k - 1) / 2;
    for (int64_t b = 0; b < s->B; b++) {
        for (int64_t i = 0; i < N; i++) {
            const int64_t oy = i / Ho, ox = i % Ho;
            for (int64_t o = 0; o < Fc + Cq; o++) {
                const int br = o < Fc;
                const int64_t kk = br ? s->k : s->kq, p = br ? pk : pq;
                const float *w = br ? in->wc + o * s->Fin * kk * kk
                                    : in->wqkv + (o - Fc) * s->Fin * kk * kk;
                float a = br ? in->bc[o] : in->bqkv[o - Fc];
                for (int64_t c = 0; c < s->Fin; c++)
                    for (int64_t dy = 0; dy < kk; dy++)
                        for (int64_t dx = 0; dx < kk; dx++) {
                            const int64_t iy = oy * s->stride - p + dy, ix = ox * s->stride - p + dx;
                            if (iy >= 0 && iy < s->H && ix >= 0 && ix < s->W)
                                a += w[(c * kk + dy) * kk + dx] *
                                     in->x[((b * s->Fin + c) * s->H + iy) * s->W + ix];
                        }
                if (br) y[(b * s->Fout + o) * N + i] = a;
                else qkv[i * Cq + o - Fc] = o - Fc < s->dk ? a * scale : a;
            }
        }
        for (int64_t n = 0; n < Nh; n++)
            for (int64_t i = 0; i < N; i++) {
                const int64_t iy = i / Ho, ix = i % Ho;
                const float *q = qkv + i * Cq + n * dkh;
                float m = -INFINITY, l = 0.f;
                for (int64_t j = 0; j < N; j++) {
                    const int64_t jy = j / Ho, jx = j % Ho;
                    const int64_t rx = bug == 2 ? ix - jx + Ho - 1 : jx - ix + Ho - 1;
                    float a = 0.f;
                    for (int64_t c = 0; c < dkh; c++)
                        a += q[c] * (qkv[j * Cq + s->dk + n * dkh + c] + rw[rx * dkh + c] +
                                     (bug == 5 ? 0.f : rh[(jy - iy + Ho - 1) * dkh + c]));
                    lg[j] = a;
                    m = a > m ? a : m;
                }
                for (int64_t c = 0; c < dvh; c++) O[(n * N + i) * dvh + c] = 0.f;
                for (int64_t j = 0; j < N; j++) {
                    const float p = expf(lg[j] - m);
                    l += p;
                    for (int64_t c = 0; c < dvh; c++)
                        O[(n * N + i) * dvh + c] += p * qkv[j * Cq + 2 * s->dk + n * dvh + c];
                }
                for (int64_t c = 0; c < dvh; c++) O[(n * N + i) * dvh + c] /= l;
            }
        for (int64_t i = 0; i < N; i++)
            for (int64_t o = 0; o < s->dv; o++) {
                float a = in->bo[o];
                for (int64_t ch = 0; ch < s->dv; ch++) {
                    const int64_t n = ch / dvh, c = ch % dvh;
                    /* bug 1: (Nh, N, dvh) read as (Nh, dvh, N), the seed's reshape */
                    const float val = bug == 1 ? O[n * N * dvh + c * N + i]
                                               : O[(n * N + i) * dvh + c];
                    a += in->wo[o * s->dv + ch] * val;
                }
                y[(b * s->Fout + Fc + o) * N + i] = a;
            }
    }
    free(qkv), free(O), free(lg);
}

Test(aaconv_f32, planted_bugs_rejected)
{
    for (size_t c = 0; c < sizeof shapes / sizeof *shapes; c++) {
        gen_t g = gen_open(shapes[c]);
        double *ref = tst_dalloc(g.ny);
        float *y = malloc((size_t)g.ny * sizeof *y);
        aaconv_ref(&g.sh, &g.t, ref, NULL);
        const double tol = g.s->tolerance(g.s, g.v, ATTN_F32);
        for (int bug = 0; bug <= 5; bug++) {
            copy_f32(&g.sh, &g.t, y, bug);
            attn_check_t r = attn_compare(y, ATTN_F32, ref, g.ny, 1, NULL, tol);
            if (bug == 0)
                cr_expect(r.ok, "%s: clean copy err %g > %g", shapes[c], r.max_abs_err, r.tol_abs);
            else
                cr_expect(!r.ok && r.max_abs_err > 100 * r.tol_abs,
                          "%s: bug %d err %g, tol %g", shapes[c], bug, r.max_abs_err, r.tol_abs);
        }
        free(ref), free(y);
        gen_close(&g);
    }
}
