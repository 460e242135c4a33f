/* additive / luong reference: e = score(h_t, h̄_s), a = softmax_s(e), c_t = Σ_s a·h̄_s — in
 * double, row by row; the key-side projection is computed once per batch. */
#include "luong_ref.h"

#include <math.h>
#include <stdlib.h>

/* Width of the reference's key side: A (W2·h̄_s) for concat, else Dk (h̄_s itself; general
 * moves Wa to the query side, h_tᵀ·Wa·h̄_s = (Waᵀ·h_t)·h̄_s, so that a sampled row costs
 * Dq·Dk and not S·Dq·Dk). */
static int64_t key_width(const luong_shape_t *s)
{
    return s->score == LUONG_CONCAT ? s->A : s->Dk;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

void luong_ref_keys(const luong_shape_t *s, const luong_inputs_t *in, int64_t b, double *kp)
{
    const int64_t Dk = s->Dk, W = key_width(s);
    for (int64_t j = 0; j < s->S; j++) {
        const float *hs = in->hb + (b * s->S + j) * Dk;
        double *k = kp + j * W;
        if (s->score != LUONG_CONCAT) {
            for (int64_t c = 0; c < Dk; c++) k[c] = hs[c];
            continue;
        }
        for (int64_t r = 0; r < W; r++) { /* W2·h̄_s, W2 (A, Dk) */
            double acc = 0.0;
            for (int64_t c = 0; c < Dk; c++) acc += (double)in->w2[r * Dk + c] * hs[c];
            k[r] = acc;
        }
    }
}

void luong_ref_weights(const luong_shape_t *s, const luong_inputs_t *in, const double *kp,
                       int64_t b, int64_t t, double *a)
{
    const int64_t Dq = s->Dq, W = key_width(s);
    const float *ht = in->h + (b * s->T + t) * Dq;
    double *q = xmalloc((size_t)W * sizeof *q); /* query side: h_t, Waᵀ·h_t or W1·h_t */
    if (s->score == LUONG_CONCAT)
        for (int64_t r = 0; r < W; r++) {
            double acc = 0.0;
            for (int64_t c = 0; c < Dq; c++) acc += (double)in->w1[r * Dq + c] * ht[c];
            q[r] = acc;
        }
    else if (s->score == LUONG_GENERAL)
        for (int64_t c = 0; c < W; c++) {
            double acc = 0.0;
            for (int64_t r = 0; r < Dq; r++) acc += (double)ht[r] * in->wa[r * W + c];
            q[c] = acc;
        }
    else
        for (int64_t c = 0; c < W; c++) q[c] = ht[c];
    double mx = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < s->S; j++) {
        const double *k = kp + j * W;
        double e = 0.0;
        if (s->score == LUONG_CONCAT)
            for (int64_t r = 0; r < W; r++) e += (double)in->v[r] * tanh(q[r] + k[r]);
        else
            for (int64_t c = 0; c < W; c++) e += q[c] * k[c];
        a[j] = e;
        if (e > mx) mx = e;
    }
    for (int64_t j = 0; j < s->S; j++) sum += (a[j] = exp(a[j] - mx));
    for (int64_t j = 0; j < s->S; j++) a[j] /= sum;
    free(q);
}

void luong_ref_attention(const luong_shape_t *s, const luong_inputs_t *in, double *a)
{
    double *kp = xmalloc((size_t)(s->S * key_width(s)) * sizeof *kp);
    for (int64_t b = 0; b < s->B; b++) {
        luong_ref_keys(s, in, b, kp);
        for (int64_t t = 0; t < s->T; t++)
            luong_ref_weights(s, in, kp, b, t, a + (b * s->T + t) * s->S);
    }
    free(kp);
}

void luong_ref(const luong_shape_t *s, const luong_inputs_t *in, double *c, double *aout,
               const uint8_t *row_sel)
{
    const int64_t Dk = s->Dk, W = key_width(s);
    double *kp = xmalloc((size_t)(s->S * W) * sizeof *kp);
    double *a = xmalloc((size_t)s->S * sizeof *a);
    for (int64_t b = 0; b < s->B; b++) {
        int any = !row_sel; /* project the keys only for batches with a selected row */
        for (int64_t t = 0; t < s->T && !any; t++) any = row_sel[b * s->T + t];
        if (!any) continue;
        luong_ref_keys(s, in, b, kp);
        for (int64_t t = 0; t < s->T; t++) {
            const int64_t r = b * s->T + t;
            if (row_sel && !row_sel[r]) continue;
            luong_ref_weights(s, in, kp, b, t, a);
            if (aout)
                for (int64_t j = 0; j < s->S; j++) aout[r * s->S + j] = a[j];
            double *ct = c + r * Dk;
            for (int64_t x = 0; x < Dk; x++) ct[x] = 0.0;
            for (int64_t j = 0; j < s->S; j++) {
                const float *hs = in->hb + (b * s->S + j) * Dk;
                for (int64_t x = 0; x < Dk; x++) ct[x] += a[j] * hs[x];
            }
        }
    }
    free(kp), free(a);
}

void luong_cpu_f32(const luong_shape_t *s, const luong_inputs_t *in, float *c, float *a)
{
    /* key side: h̄_s (dot), Wa·h̄_s (general, Dq wide) or W2·h̄_s (concat, A wide) */
    const int64_t Dq = s->Dq, Dk = s->Dk, S = s->S;
    const int64_t W = s->score == LUONG_CONCAT ? s->A : s->Dq;
    float *kp = xmalloc((size_t)(S * W) * sizeof *kp);
    float *q = xmalloc((size_t)W * sizeof *q);
    float *e = xmalloc((size_t)S * sizeof *e);
    for (int64_t b = 0; b < s->B; b++) {
        const float *hb = in->hb + b * S * Dk;
        /* key side once per batch */
        for (int64_t j = 0; j < S; j++) {
            if (s->score == LUONG_DOT) {
                for (int64_t x = 0; x < Dk; x++) kp[j * W + x] = hb[j * Dk + x];
                continue;
            }
            const float *M = s->score == LUONG_GENERAL ? in->wa : in->w2;
            for (int64_t r = 0; r < W; r++) {
                float acc = 0.0f;
                for (int64_t x = 0; x < Dk; x++) acc += M[r * Dk + x] * hb[j * Dk + x];
                kp[j * W + r] = acc;
            }
        }
        for (int64_t t = 0; t < s->T; t++) {
            const float *ht = in->h + (b * s->T + t) * Dq;
            if (s->score == LUONG_CONCAT)
                for (int64_t r = 0; r < W; r++) {
                    float acc = 0.0f;
                    for (int64_t x = 0; x < Dq; x++) acc += in->w1[r * Dq + x] * ht[x];
                    q[r] = acc;
                }
            else
                for (int64_t x = 0; x < W; x++) q[x] = ht[x];
            float mx = -INFINITY, l = 0.0f;
            for (int64_t j = 0; j < S; j++) { /* pass 1: scores and their max */
                float acc = 0.0f;
                if (s->score == LUONG_CONCAT)
                    for (int64_t r = 0; r < W; r++) acc += in->v[r] * tanhf(q[r] + kp[j * W + r]);
                else
                    for (int64_t x = 0; x < W; x++) acc += q[x] * kp[j * W + x];
                e[j] = acc;
                mx = fmaxf(mx, acc);
            }
            float *ct = c + (b * s->T + t) * Dk;
            for (int64_t x = 0; x < Dk; x++) ct[x] = 0.0f;
            for (int64_t j = 0; j < S; j++) { /* pass 2: exp-sum and Σ p·h̄ */
                const float p = expf(e[j] - mx);
                l += p;
                for (int64_t x = 0; x < Dk; x++) ct[x] += p * hb[j * Dk + x];
            }
            for (int64_t x = 0; x < Dk; x++) ct[x] /= l; /* l >= 1: the max contributes exp(0) */
            if (a) /* the weights from the same scores, max and sum */
                for (int64_t j = 0; j < S; j++)
                    a[(b * s->T + t) * S + j] = expf(e[j] - mx) / l;
        }
    }
    free(kp), free(q), free(e);
}
