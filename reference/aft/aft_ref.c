/* aft reference (docs/suites.md), in double, token by token: Q, K, V are the projections of x;
 * per (batch, channel) m = max over t' of K; per row t r = max over t' of w'[t, ·];
 *   Y_t[c] = σ(Q_t[c]) · Σ_t' e^{w'−r}·e^{K−m}·V / Σ_t' e^{w'−r}·e^{K−m}
 * (the two shifts cancel in the ratio and keep every exponent <= 0: no overflow for any K or w);
 * out_t = Wp·Y_t + bp. The local form uses its definition (w' = 0 outside the window), not the
 * efficient form, so the GPU variant that uses the efficient form is checked against it. */
#include "aft_ref.h"

#include <math.h>
#include <stdlib.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

double aft_bias(const aft_shape_t *s, const float *w, int64_t t, int64_t tp)
{
    if (s->form == AFT_SIMPLE) return 0.0;
    const int64_t dist = t > tp ? t - tp : tp - t;
    if (s->form == AFT_LOCAL && dist >= s->s) return 0.0;
    return (double)w[t * s->Tmax + tp];
}

/* The projections vectorised across outputs: GCC and clang can compile affine() for AVX-512 and
 * AVX2 as well and pick one at run time. Every output is b[j] + W[j, 0]·v[0] + W[j, 1]·v[1] + …
 * in double, in this order, each product and sum rounded (ISO C mode: no contraction to FMA), in
 * every clone: the results depend neither on the machine nor on the selected rows. */
#include "ref_vector.h"

/* Transposed copy of rows [r0, r0 + rows) of a (·, n) weight: wT[c·rows + j] = w[(r0 + j)·n + c]. */
static float *transpose(const float *w, int64_t r0, int64_t rows, int64_t n)
{
    float *t = xmalloc((size_t)(rows * n) * sizeof *t);
    for (int64_t j = 0; j < rows; j++)
        for (int64_t c = 0; c < n; c++) t[c * rows + j] = w[(r0 + j) * n + c];
    return t;
}

/* out[j] = b[j] + Σ_c W[j, c]·v[c] for j < rows, in double, W (rows, n) given transposed
 * (wT[c·rows + j]): the inner loop runs over j (it vectorises) while each out[j] still sums
 * over c in order. */
VECTOR_CLONES
static void affine(const float *wT, const float *b, const double *v, int64_t rows, int64_t n,
                   double *out)
{
    for (int64_t j = 0; j < rows; j++) out[j] = (double)b[j];
    for (int64_t c = 0; c < n; c++) {
        const double vc = v[c];
        const float *wc = wT + c * rows;
        for (int64_t j = 0; j < rows; j++) out[j] += (double)wc[j] * vc;
    }
}

/* num[c] += e·V[c], den[c] += e for e = ew·ek[c], c < Dh. */
VECTOR_CLONES
static void accumulate(double ew, const double *ek, const double *V, int64_t Dh, double *num,
                       double *den)
{
    for (int64_t c = 0; c < Dh; c++) {
        const double e = ew * ek[c];
        num[c] += e * V[c];
        den[c] += e;
    }
}

void aft_ref(const aft_shape_t *s, const aft_inputs_t *in, double *out, const uint8_t *row_sel)
{
    const int64_t T = s->T, D = s->D, Dh = s->Dh;
    float *wqT = transpose(in->wqkv, 0, Dh, D);       /* (D, Dh) */
    float *wkvT = transpose(in->wqkv, Dh, 2 * Dh, D); /* (D, 2·Dh): K then V */
    float *wpT = transpose(in->wp, 0, D, Dh);         /* (Dh, D) */
    double *xt = xmalloc((size_t)D * sizeof *xt);
    double *q = xmalloc((size_t)Dh * sizeof *q), *y = xmalloc((size_t)Dh * sizeof *y);
    double *KV = xmalloc((size_t)(T * 2 * Dh) * sizeof *KV); /* token t: K, then V */
    double *EK = xmalloc((size_t)(T * Dh) * sizeof *EK);     /* e^{K − m} */
    double *m = xmalloc((size_t)Dh * sizeof *m), *ew = xmalloc((size_t)T * sizeof *ew);
    double *num = xmalloc((size_t)Dh * sizeof *num), *den = xmalloc((size_t)Dh * sizeof *den);
    for (int64_t b = 0; b < s->B; b++) {
        int any = !row_sel;
        for (int64_t t = 0; t < T && !any; t++) any = row_sel[b * T + t];
        if (!any) continue;
        /* K, V of every token of batch b; m = max over t' of K per channel; e^{K − m} */
        for (int64_t t = 0; t < T; t++) {
            for (int64_t c = 0; c < D; c++) xt[c] = in->x[(b * T + t) * D + c];
            affine(wkvT, in->bqkv + Dh, xt, 2 * Dh, D, KV + t * 2 * Dh);
        }
        for (int64_t c = 0; c < Dh; c++) {
            m[c] = -INFINITY;
            for (int64_t t = 0; t < T; t++) m[c] = fmax(m[c], KV[t * 2 * Dh + c]);
        }
        for (int64_t t = 0; t < T; t++)
            for (int64_t c = 0; c < Dh; c++) EK[t * Dh + c] = exp(KV[t * 2 * Dh + c] - m[c]);
        int have_sums = 0; /* simple: w' ≡ 0, the sums are the same for every row t */
        for (int64_t t = 0; t < T; t++) {
            if (row_sel && !row_sel[b * T + t]) continue;
            for (int64_t c = 0; c < D; c++) xt[c] = in->x[(b * T + t) * D + c];
            affine(wqT, in->bqkv, xt, Dh, D, q);
            if (!have_sums) {
                /* e^{w'[t, t'] − r}, r = max over t' of w'[t, t'] */
                double r = -INFINITY;
                for (int64_t tp = 0; tp < T; tp++) r = fmax(r, ew[tp] = aft_bias(s, in->w, t, tp));
                for (int64_t tp = 0; tp < T; tp++) ew[tp] = exp(ew[tp] - r);
                for (int64_t c = 0; c < Dh; c++) num[c] = den[c] = 0.0;
                for (int64_t tp = 0; tp < T; tp++)
                    accumulate(ew[tp], EK + tp * Dh, KV + tp * 2 * Dh + Dh, Dh, num, den);
                have_sums = s->form == AFT_SIMPLE;
            }
            /* den >= the term of argmax K, e^{w'−r} > 0: never 0 unless w' spans > 700 */
            for (int64_t c = 0; c < Dh; c++) y[c] = num[c] / den[c] / (1.0 + exp(-q[c]));
            affine(wpT, in->bp, y, D, Dh, out + (b * T + t) * D);
        }
    }
    free(wqT), free(wkvT), free(wpT), free(xt), free(q), free(y), free(KV), free(EK), free(m);
    free(ew), free(num), free(den);
}

/* ------------------------------------------------------------------ the f32 CPU variant */

static void affine_f(const float *W, const float *b, const float *v, int64_t rows, int64_t n,
                     float *out)
{
    for (int64_t j = 0; j < rows; j++) {
        float acc = b[j];
        for (int64_t c = 0; c < n; c++) acc += W[j * n + c] * v[c];
        out[j] = acc;
    }
}

void aft_cpu_f32(const aft_shape_t *s, const aft_inputs_t *in, float *out)
{
    const int64_t T = s->T, D = s->D, Dh = s->Dh;
    float *qkv = xmalloc((size_t)(T * 3 * Dh) * sizeof *qkv); /* token t: Q, K, V */
    float *ek = xmalloc((size_t)(T * Dh) * sizeof *ek);       /* e^{K − m} */
    float *m = xmalloc((size_t)Dh * sizeof *m), *ew = xmalloc((size_t)T * sizeof *ew);
    float *num = xmalloc((size_t)Dh * sizeof *num), *den = xmalloc((size_t)Dh * sizeof *den);
    float *y = xmalloc((size_t)Dh * sizeof *y);
    for (int64_t b = 0; b < s->B; b++) {
        for (int64_t t = 0; t < T; t++)
            affine_f(in->wqkv, in->bqkv, in->x + (b * T + t) * D, 3 * Dh, D, qkv + t * 3 * Dh);
        for (int64_t c = 0; c < Dh; c++) {
            m[c] = -INFINITY;
            for (int64_t t = 0; t < T; t++) m[c] = fmaxf(m[c], qkv[t * 3 * Dh + Dh + c]);
        }
        for (int64_t t = 0; t < T; t++)
            for (int64_t c = 0; c < Dh; c++) ek[t * Dh + c] = expf(qkv[t * 3 * Dh + Dh + c] - m[c]);
        for (int64_t t = 0; t < T; t++) {
            float r = -INFINITY;
            for (int64_t tp = 0; tp < T; tp++)
                r = fmaxf(r, ew[tp] = (float)aft_bias(s, in->w, t, tp));
            for (int64_t tp = 0; tp < T; tp++) ew[tp] = expf(ew[tp] - r);
            for (int64_t c = 0; c < Dh; c++) num[c] = den[c] = 0.f;
            for (int64_t tp = 0; tp < T; tp++)
                for (int64_t c = 0; c < Dh; c++) {
                    const float e = ew[tp] * ek[tp * Dh + c];
                    num[c] += e * qkv[tp * 3 * Dh + 2 * Dh + c];
                    den[c] += e;
                }
            for (int64_t c = 0; c < Dh; c++)
                y[c] = num[c] / den[c] / (1.f + expf(-qkv[t * 3 * Dh + c]));
            affine_f(in->wp, in->bp, y, D, Dh, out + (b * T + t) * D);
        }
    }
    free(qkv), free(ek), free(m), free(ew), free(num), free(den), free(y);
}
