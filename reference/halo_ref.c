/* halo reference (SPEC.md "halo"), in double, pixel by pixel: q, k, v of a pixel are its
 * projections (k and v computed once per pixel, never per window); for each query pixel and head
 * the Wn² window logits q·k + q·rel_w + q·rel_h with the keys outside the image masked, softmax,
 * o = Σ a·v; then y = Wo·concat_heads(o) + bo. */
#include "halo_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* Key (ky, kx) ∈ [0, Wn)² of the window of query pixel (py, px): the query's block is
 * (by, bx) = (py / b, px / b), and the key sits at pixel (by·b − h + ky, bx·b − h + kx).
 * Returns 1 when that pixel is inside the image; keys outside it are masked. */
static int key_pixel(const halo_shape_t *s, int64_t py, int64_t px, int64_t ky, int64_t kx,
                     int64_t *iy, int64_t *ix)
{
    *iy = (py / s->b) * s->b - s->h + ky;
    *ix = (px / s->b) * s->b - s->h + kx;
    return *iy >= 0 && *iy < s->H && *ix >= 0 && *ix < s->W;
}

/* Transposed copy of a (rows, C) weight: wT[c·rows + r] = w[r·C + c]. */
static float *transpose(const float *w, int64_t rows, int64_t C)
{
    float *t = xmalloc((size_t)(rows * C) * sizeof *t);
    for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < C; c++) t[c * rows + r] = w[r * C + c];
    return t;
}

/* Pixel-major copy of x[b]: xt[p·C + c] = x[b, c, p], so a pixel's C channels are contiguous. */
static void pixel_major(const halo_shape_t *s, const float *x, int64_t b, float *xt)
{
    const int64_t C = s->C, HW = s->H * s->W;
    for (int64_t c = 0; c < C; c++)
        for (int64_t p = 0; p < HW; p++) xt[p * C + c] = x[(b * C + c) * HW + p];
}

/* ------------------------------------------------------------------ the reference (double) */

/* The K/V projections are the reference's bulk: B·H·W·4·C·Di FLOPs even when only sampled rows
 * are checked (their windows cover nearly every pixel). GCC and clang can compile project() for
 * AVX-512 and AVX2 as well and pick one at run time (about 2× faster than baseline SSE2 here);
 * every clone sums each output over c in the same order. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

/* What the reference keeps while it works on batch b. */
typedef struct ref_ctx {
    const halo_shape_t *s;
    const halo_inputs_t *in;
    int64_t Di, Wn, HW;
    float *wqT, *wkvT; /* Wq and Wkv transposed: (C, Di), (C, 2·Di) */
    float *xt;         /* x of batch b, pixel-major (HW, C) */
    double *kv;        /* (HW, 2·Di): k of pixel p at kv[p·2Di], v at kv[p·2Di + Di] */
    uint8_t *have;     /* (HW): kv of pixel p is computed */
} ref_ctx_t;

/* out[r] = scale · Σ_c W[r, c]·xp[c] for r ∈ [0, rows), in double, W given transposed
 * (wT[c·rows + r]): the inner loop runs over r contiguously (it vectorises) while each out[r]
 * still sums over c in order. */
VECTOR_CLONES
static void project(const float *wT, int64_t rows, int64_t C, const float *xp, double scale,
                    double *out)
{
    for (int64_t r = 0; r < rows; r++) out[r] = 0.0;
    for (int64_t c = 0; c < C; c++) {
        const double xc = xp[c];
        const float *wc = wT + c * rows;
        for (int64_t r = 0; r < rows; r++) out[r] += (double)wc[r] * xc;
    }
    for (int64_t r = 0; r < rows; r++) out[r] *= scale;
}

static ref_ctx_t ref_open(const halo_shape_t *s, const halo_inputs_t *in)
{
    ref_ctx_t x = {.s = s, .in = in, .Di = s->Nh * s->d, .Wn = s->b + 2 * s->h, .HW = s->H * s->W};
    x.wqT = transpose(in->wq, x.Di, s->C);
    x.wkvT = transpose(in->wkv, 2 * x.Di, s->C);
    x.xt = xmalloc((size_t)(x.HW * s->C) * sizeof *x.xt);
    x.kv = xmalloc((size_t)(x.HW * 2 * x.Di) * sizeof *x.kv);
    x.have = xmalloc((size_t)x.HW);
    return x;
}

static void ref_close(ref_ctx_t *x)
{
    free(x->wqT), free(x->wkvT), free(x->xt), free(x->kv), free(x->have);
}

/* Start batch b: its pixel-major x, and no k/v computed yet. */
static void ref_batch(ref_ctx_t *x, int64_t b)
{
    pixel_major(x->s, x->in->x, b, x->xt);
    memset(x->have, 0, (size_t)x->HW);
}

/* k and v of pixel p of the current batch (k = Wkv[0:Di]·x, v = Wkv[Di:2Di]·x), projected once,
 * the first time a window needs them. */
static const double *kv_of(ref_ctx_t *x, int64_t p)
{
    double *kv = x->kv + p * 2 * x->Di;
    if (!x->have[p]) {
        project(x->wkvT, 2 * x->Di, x->s->C, x->xt + p * x->s->C, 1.0, kv);
        x->have[p] = 1;
    }
    return kv;
}

/* q = d^-½ · Wq·x[:, pixel] of pixel (py, px) of the current batch, all heads: q[n·d + c]. */
static void query(ref_ctx_t *x, int64_t py, int64_t px, double *q)
{
    const int64_t p = py * x->s->W + px;
    project(x->wqT, x->Di, x->s->C, x->xt + p * x->s->C, 1.0 / sqrt((double)x->s->d), q);
}

/* Head n of query pixel (py, px): logits over the Wn² window keys, masked, then softmax into
 * p[ky·Wn + kx]. Returns the number of keys inside the image. */
static int64_t probs(ref_ctx_t *x, const double *q, int64_t py, int64_t px, int64_t n, double *p)
{
    const halo_shape_t *s = x->s;
    const int64_t d = s->d, Wn = x->Wn;
    const int64_t qy = py % s->b, qx = px % s->b; /* query position inside its block */
    const double *qn = q + n * d;
    double mx = -INFINITY;
    int64_t valid = 0;
    for (int64_t ky = 0; ky < Wn; ky++)
        for (int64_t kx = 0; kx < Wn; kx++) {
            double *l = &p[ky * Wn + kx];
            int64_t iy, ix;
            if (!key_pixel(s, py, px, ky, kx, &iy, &ix)) {
                *l = -INFINITY; /* key outside the image: excluded from the softmax */
                continue;
            }
            const double *k = kv_of(x, iy * s->W + ix) + n * d;
            const float *rw = x->in->rel_w + (Wn - 1 + kx - qx) * d;
            const float *rh = x->in->rel_h + (Wn - 1 + ky - qy) * d;
            double qk = 0.0, qw = 0.0, qh = 0.0;
            for (int64_t c = 0; c < d; c++) {
                qk += qn[c] * k[c];
                qw += qn[c] * (double)rw[c];
                qh += qn[c] * (double)rh[c];
            }
            *l = qk + qw + qh;
            if (*l > mx) mx = *l;
            valid++;
        }
    /* valid >= 1 (the query's own pixel), so mx is finite; exp(−∞) = 0 for the masked keys */
    double sum = 0.0;
    for (int64_t j = 0; j < Wn * Wn; j++) sum += (p[j] = exp(p[j] - mx));
    for (int64_t j = 0; j < Wn * Wn; j++) p[j] /= sum;
    return valid;
}

int64_t halo_ref_probs(const halo_shape_t *s, const halo_inputs_t *in, int64_t b, int64_t py,
                       int64_t px, int64_t n, double *p)
{
    ref_ctx_t x = ref_open(s, in);
    double *q = xmalloc((size_t)x.Di * sizeof *q);
    ref_batch(&x, b);
    query(&x, py, px, q);
    const int64_t valid = probs(&x, q, py, px, n, p);
    free(q);
    ref_close(&x);
    return valid;
}

void halo_ref(const halo_shape_t *s, const halo_inputs_t *in, double *y, const uint8_t *row_sel)
{
    const int64_t C = s->C, H = s->H, W = s->W, d = s->d;
    ref_ctx_t x = ref_open(s, in);
    const int64_t Di = x.Di, Wn = x.Wn, HW = x.HW;
    double *q = xmalloc((size_t)Di * sizeof *q), *o = xmalloc((size_t)Di * sizeof *o);
    double *p = xmalloc((size_t)(Wn * Wn) * sizeof *p);
    for (int64_t b = 0; b < s->B; b++) {
        int64_t nsel = HW; /* rows of batch b to compute */
        if (row_sel) {
            nsel = 0;
            for (int64_t r = b * HW; r < (b + 1) * HW; r++) nsel += row_sel[r] != 0;
        }
        if (!nsel) continue;
        ref_batch(&x, b);
        for (int64_t py = 0; py < H; py++)
            for (int64_t px = 0; px < W; px++) {
                const int64_t r = (b * H + py) * W + px;
                if (row_sel && !row_sel[r]) continue;
                query(&x, py, px, q);
                for (int64_t n = 0; n < s->Nh; n++) {
                    probs(&x, q, py, px, n, p);
                    /* o of head n = Σ a·v over the window (masked keys have a = 0: skipped) */
                    double *on = o + n * d;
                    for (int64_t c = 0; c < d; c++) on[c] = 0.0;
                    for (int64_t ky = 0; ky < Wn; ky++)
                        for (int64_t kx = 0; kx < Wn; kx++) {
                            int64_t iy, ix;
                            if (!key_pixel(s, py, px, ky, kx, &iy, &ix)) continue;
                            const double a = p[ky * Wn + kx];
                            const double *v = kv_of(&x, iy * W + ix) + Di + n * d;
                            for (int64_t c = 0; c < d; c++) on[c] += a * v[c];
                        }
                }
                /* y[b, :, py, px] = Wo·concat_heads(o) + bo (o is already head-major: n·d + c) */
                for (int64_t co = 0; co < C; co++) {
                    double acc = 0.0;
                    for (int64_t i = 0; i < Di; i++) acc += (double)in->wo[co * Di + i] * o[i];
                    y[(b * C + co) * HW + py * W + px] = acc + (double)in->bo[co];
                }
            }
    }
    free(q), free(o), free(p);
    ref_close(&x);
}

/* ------------------------------------------------------------------ the CPU f32 variant */

/* out[r] = scale · Σ_c W[r, c]·xp[c] in float (W transposed as in project()). */
static void project_f32(const float *wT, int64_t rows, int64_t C, const float *xp, float scale,
                        float *out)
{
    for (int64_t r = 0; r < rows; r++) out[r] = 0.0f;
    for (int64_t c = 0; c < C; c++) {
        const float xc = xp[c];
        const float *wc = wT + c * rows;
        for (int64_t r = 0; r < rows; r++) out[r] += wc[r] * xc;
    }
    for (int64_t r = 0; r < rows; r++) out[r] *= scale;
}

void halo_cpu_f32(const halo_shape_t *s, const halo_inputs_t *in, float *y)
{
    const int64_t C = s->C, H = s->H, W = s->W, HW = H * W, d = s->d, Di = s->Nh * d;
    const int64_t Wn = s->b + 2 * s->h;
    const float scale = 1.0f / sqrtf((float)d);
    float *wqT = transpose(in->wq, Di, C), *wkvT = transpose(in->wkv, 2 * Di, C);
    float *xt = xmalloc((size_t)(HW * C) * sizeof *xt);
    float *Q = xmalloc((size_t)(HW * Di) * sizeof *Q);      /* (HW, Di), scaled */
    float *KV = xmalloc((size_t)(HW * 2 * Di) * sizeof *KV); /* (HW, 2·Di): K then V */
    float *o = xmalloc((size_t)Di * sizeof *o), *l = xmalloc((size_t)(Wn * Wn) * sizeof *l);
    for (int64_t b = 0; b < s->B; b++) {
        /* Q, K, V once per pixel */
        pixel_major(s, in->x, b, xt);
        for (int64_t p = 0; p < HW; p++) {
            project_f32(wqT, Di, C, xt + p * C, scale, Q + p * Di);
            project_f32(wkvT, 2 * Di, C, xt + p * C, 1.0f, KV + p * 2 * Di);
        }
        for (int64_t py = 0; py < H; py++)
            for (int64_t px = 0; px < W; px++) {
                const int64_t qy = py % s->b, qx = px % s->b;
                for (int64_t n = 0; n < s->Nh; n++) {
                    const float *qn = Q + (py * W + px) * Di + n * d;
                    /* logits (masked keys: −∞) and their max */
                    float m = -INFINITY;
                    for (int64_t ky = 0; ky < Wn; ky++)
                        for (int64_t kx = 0; kx < Wn; kx++) {
                            int64_t iy, ix;
                            float *lj = &l[ky * Wn + kx];
                            if (!key_pixel(s, py, px, ky, kx, &iy, &ix)) {
                                *lj = -INFINITY;
                                continue;
                            }
                            const float *k = KV + (iy * W + ix) * 2 * Di + n * d;
                            const float *rw = in->rel_w + (Wn - 1 + kx - qx) * d;
                            const float *rh = in->rel_h + (Wn - 1 + ky - qy) * d;
                            float acc = 0.0f;
                            for (int64_t c = 0; c < d; c++) acc += qn[c] * (k[c] + rw[c] + rh[c]);
                            *lj = acc;
                            if (acc > m) m = acc;
                        }
                    /* softmax weights e^(l − m), their sum, and o = Σ e·v / sum */
                    float sum = 0.0f, *on = o + n * d;
                    for (int64_t c = 0; c < d; c++) on[c] = 0.0f;
                    for (int64_t ky = 0; ky < Wn; ky++)
                        for (int64_t kx = 0; kx < Wn; kx++) {
                            int64_t iy, ix;
                            if (!key_pixel(s, py, px, ky, kx, &iy, &ix)) continue;
                            const float e = expf(l[ky * Wn + kx] - m);
                            const float *v = KV + (iy * W + ix) * 2 * Di + Di + n * d;
                            sum += e;
                            for (int64_t c = 0; c < d; c++) on[c] += e * v[c];
                        }
                    for (int64_t c = 0; c < d; c++) on[c] /= sum;
                }
                for (int64_t co = 0; co < C; co++) {
                    float acc = 0.0f;
                    for (int64_t i = 0; i < Di; i++) acc += in->wo[co * Di + i] * o[i];
                    y[(b * C + co) * HW + py * W + px] = acc + in->bo[co];
                }
            }
    }
    free(wqT), free(wkvT), free(xt), free(Q), free(KV), free(o), free(l);
}
