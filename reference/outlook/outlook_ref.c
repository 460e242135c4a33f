/* outlook reference (docs/suites.md), in double, written as a gather: output pixel (py, px)
 * receives O[m] of window n = (i, j) exactly when pix(n, m) = (iσ − p + my, jσ − p + mx) is that
 * pixel, i.e. i = (py + p − my)/σ when that is a whole number in [0, h'). So the fold's sum runs
 * over the (my, mx) ∈ [0, k)² that give such windows, and
 *   fold[c] = Σ_(n, m) Σ_m' a[n, head(c), m, m']·v[pix(n, m'), c]      (v = 0 outside the image)
 *   y = Wp·fold + bp.
 * a[n, h, m, :] = softmax_m'(d^-½ · (Wa·pool(n) + ba)[(h·k² + m)·k² + m']), pool(n) the mean of
 * x over the valid pixels of the σ×σ cell at (iσ, jσ) (ceil mode). */
#include "outlook_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* ------------------------------------------------------------------ the reference (double) */

typedef struct ref_ctx {
    const outlook_shape_t *s;
    const outlook_inputs_t *in;
    int64_t hp, wp, k2, d;
    double *v;      /* (HW, C) of the current batch */
    uint8_t *have_v;
    double *prob;   /* (h'w', Nh, k², k²) of the current batch */
    uint8_t *have_p;
    double *pool, *logit; /* scratch: (C), (k⁴·Nh) */
} ref_ctx_t;

static const double *v_of(ref_ctx_t *x, int64_t b, int64_t pix)
{
    const int64_t C = x->s->C;
    double *v = x->v + pix * C;
    if (!x->have_v[pix]) {
        const float *xp = x->in->x + (b * x->s->H * x->s->W + pix) * C;
        for (int64_t r = 0; r < C; r++) {
            const float *w = x->in->wv + r * C;
            double acc = 0.0;
            for (int64_t c = 0; c < C; c++) acc += (double)w[c] * xp[c];
            v[r] = acc;
        }
        x->have_v[pix] = 1;
    }
    return v;
}

/* Probabilities of window n = i·w' + j: (Nh, k², k²). */
static const double *prob_of(ref_ctx_t *x, int64_t b, int64_t i, int64_t j)
{
    const outlook_shape_t *s = x->s;
    const int64_t C = s->C, n = i * x->wp + j, R = s->Nh * x->k2 * x->k2;
    double *pr = x->prob + n * R;
    if (x->have_p[n]) return pr;
    /* average pool, ceil mode: the cell clipped to the image, divided by its valid pixels */
    const int64_t y0 = i * s->s, y1 = y0 + s->s < s->H ? y0 + s->s : s->H;
    const int64_t x0 = j * s->s, x1 = x0 + s->s < s->W ? x0 + s->s : s->W;
    for (int64_t c = 0; c < C; c++) x->pool[c] = 0.0;
    for (int64_t py = y0; py < y1; py++)
        for (int64_t px = x0; px < x1; px++) {
            const float *xp = x->in->x + ((b * s->H + py) * s->W + px) * C;
            for (int64_t c = 0; c < C; c++) x->pool[c] += xp[c];
        }
    const double cnt = (double)((y1 - y0) * (x1 - x0));
    for (int64_t c = 0; c < C; c++) x->pool[c] /= cnt;
    const double scale = 1.0 / sqrt((double)x->d);
    for (int64_t r = 0; r < R; r++) {
        const float *w = x->in->wa + r * C;
        double acc = x->in->ba[r];
        for (int64_t c = 0; c < C; c++) acc += (double)w[c] * x->pool[c];
        x->logit[r] = acc * scale;
    }
    /* softmax over m' of each (head, m) row */
    for (int64_t r0 = 0; r0 < R; r0 += x->k2) {
        double mx = -INFINITY, z = 0.0;
        for (int64_t t = 0; t < x->k2; t++) mx = fmax(mx, x->logit[r0 + t]);
        for (int64_t t = 0; t < x->k2; t++) z += (pr[r0 + t] = exp(x->logit[r0 + t] - mx));
        for (int64_t t = 0; t < x->k2; t++) pr[r0 + t] /= z;
    }
    x->have_p[n] = 1;
    return pr;
}

void outlook_ref(const outlook_shape_t *s, const outlook_inputs_t *in, double *y,
                 const uint8_t *row_sel)
{
    const int64_t HW = s->H * s->W, C = s->C, k = s->k, p = (k - 1) / 2;
    ref_ctx_t x = {.s = s, .in = in, .hp = outlook_hp(s), .wp = outlook_wp(s), .k2 = k * k,
                   .d = C / s->Nh};
    const int64_t nwin = x.hp * x.wp, R = s->Nh * x.k2 * x.k2;
    x.v = xmalloc((size_t)(HW * C) * sizeof *x.v);
    x.have_v = xmalloc((size_t)HW);
    x.prob = xmalloc((size_t)(nwin * R) * sizeof *x.prob);
    x.have_p = xmalloc((size_t)nwin);
    x.pool = xmalloc((size_t)C * sizeof *x.pool);
    x.logit = xmalloc((size_t)R * sizeof *x.logit);
    double *fold = xmalloc((size_t)C * sizeof *fold);

    for (int64_t b = 0; b < s->B; b++) {
        int any = !row_sel;
        for (int64_t q = 0; q < HW && !any; q++) any = row_sel[b * HW + q];
        if (!any) continue;
        memset(x.have_v, 0, (size_t)HW);
        memset(x.have_p, 0, (size_t)nwin);
        for (int64_t py = 0; py < s->H; py++)
            for (int64_t px = 0; px < s->W; px++) {
                const int64_t row = b * HW + py * s->W + px;
                if (row_sel && !row_sel[row]) continue;
                for (int64_t c = 0; c < C; c++) fold[c] = 0.0;
                for (int64_t my = 0; my < k; my++) {
                    const int64_t ty = py + p - my; /* = iσ */
                    if (ty < 0 || ty % s->s || ty / s->s >= x.hp) continue;
                    const int64_t i = ty / s->s;
                    for (int64_t mx = 0; mx < k; mx++) {
                        const int64_t tx = px + p - mx;
                        if (tx < 0 || tx % s->s || tx / s->s >= x.wp) continue;
                        const int64_t j = tx / s->s;
                        const double *pr = prob_of(&x, b, i, j);
                        const int64_t m = my * k + mx;
                        /* O[m] = Σ_m' a[m, m']·v[pix(n, m')]; out-of-image m' add 0 */
                        for (int64_t m2 = 0; m2 < x.k2; m2++) {
                            const int64_t vy = i * s->s - p + m2 / k, vx = j * s->s - p + m2 % k;
                            if (vy < 0 || vy >= s->H || vx < 0 || vx >= s->W) continue;
                            const double *v = v_of(&x, b, vy * s->W + vx);
                            for (int64_t c = 0; c < C; c++)
                                fold[c] += pr[((c / x.d) * x.k2 + m) * x.k2 + m2] * v[c];
                        }
                    }
                }
                for (int64_t r = 0; r < C; r++) {
                    const float *w = in->wp + r * C;
                    double acc = in->bp[r];
                    for (int64_t c = 0; c < C; c++) acc += (double)w[c] * fold[c];
                    y[row * C + r] = acc;
                }
            }
    }
    free(x.v), free(x.have_v), free(x.prob), free(x.have_p), free(x.pool), free(x.logit);
    free(fold);
}

/* ------------------------------------------------------------------ the f32 CPU variant */

void outlook_cpu_f32(const outlook_shape_t *s, const outlook_inputs_t *in, float *y)
{
    const int64_t H = s->H, W = s->W, HW = H * W, C = s->C, k = s->k, k2 = k * k;
    const int64_t p = (k - 1) / 2, st = s->s, hp = outlook_hp(s), wp = outlook_wp(s);
    const int64_t d = C / s->Nh, R = s->Nh * k2 * k2;
    const float scale = (float)(1.0 / sqrt((double)d));
    float *v = xmalloc((size_t)(HW * C) * sizeof *v);
    float *prob = xmalloc((size_t)(hp * wp * R) * sizeof *prob);
    float *pool = xmalloc((size_t)C * sizeof *pool), *fold = xmalloc((size_t)C * sizeof *fold);

    for (int64_t b = 0; b < s->B; b++) {
        const float *xb = in->x + b * HW * C;
        /* v = x·Wvᵀ */
        for (int64_t q = 0; q < HW; q++)
            for (int64_t r = 0; r < C; r++) {
                float acc = 0.f;
                for (int64_t c = 0; c < C; c++) acc += in->wv[r * C + c] * xb[q * C + c];
                v[q * C + r] = acc;
            }
        /* per window: pool, logits, softmax rows */
        for (int64_t i = 0; i < hp; i++)
            for (int64_t j = 0; j < wp; j++) {
                const int64_t y1 = (i + 1) * st < H ? (i + 1) * st : H;
                const int64_t x1 = (j + 1) * st < W ? (j + 1) * st : W;
                for (int64_t c = 0; c < C; c++) pool[c] = 0.f;
                for (int64_t py = i * st; py < y1; py++)
                    for (int64_t px = j * st; px < x1; px++)
                        for (int64_t c = 0; c < C; c++) pool[c] += xb[(py * W + px) * C + c];
                const float inv = 1.f / (float)((y1 - i * st) * (x1 - j * st));
                for (int64_t c = 0; c < C; c++) pool[c] *= inv;
                float *pr = prob + (i * wp + j) * R;
                for (int64_t r = 0; r < R; r++) {
                    float acc = in->ba[r];
                    for (int64_t c = 0; c < C; c++) acc += in->wa[r * C + c] * pool[c];
                    pr[r] = acc * scale;
                }
                for (int64_t r0 = 0; r0 < R; r0 += k2) {
                    float mx = -INFINITY, z = 0.f;
                    for (int64_t t = 0; t < k2; t++) mx = fmaxf(mx, pr[r0 + t]);
                    for (int64_t t = 0; t < k2; t++) z += (pr[r0 + t] = expf(pr[r0 + t] - mx));
                    const float iz = 1.f / z;
                    for (int64_t t = 0; t < k2; t++) pr[r0 + t] *= iz;
                }
            }
        /* gather fold, then proj */
        for (int64_t py = 0; py < H; py++)
            for (int64_t px = 0; px < W; px++) {
                for (int64_t c = 0; c < C; c++) fold[c] = 0.f;
                for (int64_t my = 0; my < k; my++) {
                    const int64_t ty = py + p - my;
                    if (ty < 0 || ty % st || ty / st >= hp) continue;
                    for (int64_t mx = 0; mx < k; mx++) {
                        const int64_t tx = px + p - mx;
                        if (tx < 0 || tx % st || tx / st >= wp) continue;
                        const int64_t i = ty / st, j = tx / st, m = my * k + mx;
                        const float *pr = prob + (i * wp + j) * R;
                        for (int64_t m2 = 0; m2 < k2; m2++) {
                            const int64_t vy = i * st - p + m2 / k, vx = j * st - p + m2 % k;
                            if (vy < 0 || vy >= H || vx < 0 || vx >= W) continue;
                            const float *vp = v + (vy * W + vx) * C;
                            for (int64_t c = 0; c < C; c++)
                                fold[c] += pr[((c / d) * k2 + m) * k2 + m2] * vp[c];
                        }
                    }
                }
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
