/* mhsa reference: S = Q·Kᵀ/√d, masked; P = softmax(S); O = P·V — in double, row by row. */
#include "mhsa_ref.h"

#include <math.h>
#include <stdlib.h>

void mhsa_ref_keys(const mhsa_shape_t *s, const int32_t *kv_len, int64_t b, int64_t i,
                   int64_t *lo, int64_t *hi)
{
    int64_t l = 0, h = s->Nk;
    if (kv_len && kv_len[b] < h) h = kv_len[b] < 0 ? 0 : kv_len[b];
    const int64_t on = i + s->diag; /* the key on the query's diagonal */
    if (s->causal && on + 1 < h) h = on + 1;
    if (s->window > 0) {
        if (on - (s->window - 1) > l) l = on - (s->window - 1);
        if (!s->causal && on + s->window < h) h = on + s->window;
    }
    *lo = l;
    *hi = h > l ? h : l;
}

/* The K/V head of query head h, and the K/V head count (Hkv = 0 means H). */
static int64_t kv_heads(const mhsa_shape_t *s) { return s->Hkv > 0 ? s->Hkv : s->H; }
static int64_t kv_head(const mhsa_shape_t *s, int64_t b, int64_t h)
{
    return b * kv_heads(s) + h / (s->H / kv_heads(s));
}

int64_t mhsa_ref_probs(const mhsa_shape_t *s, const float *q, const float *k,
                       const int32_t *kv_len, int64_t b, int64_t h, int64_t i, double *p)
{
    const int64_t d = s->d, bh = b * s->H + h;
    const float *qi = q + (bh * s->Nq + i) * d;
    const float *kb = k + kv_head(s, b, h) * s->Nk * d;
    int64_t lo, hi;
    mhsa_ref_keys(s, kv_len, b, i, &lo, &hi);
    const double scale = 1.0 / sqrt((double)d);
    double mx = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < s->Nk; j++) p[j] = 0.0; /* masked keys */
    for (int64_t j = lo; j < hi; j++) {
        double acc = 0.0;
        for (int64_t c = 0; c < d; c++) acc += (double)qi[c] * (double)kb[j * d + c];
        p[j] = acc * scale;
        if (p[j] > mx) mx = p[j];
    }
    for (int64_t j = lo; j < hi; j++) sum += (p[j] = exp(p[j] - mx));
    for (int64_t j = lo; j < hi; j++) p[j] /= sum;
    return hi - lo;
}

void mhsa_ref(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
              const int32_t *kv_len, double *o, const uint8_t *row_sel)
{
    const int64_t d = s->d;
    double *p = malloc((size_t)(s->Nk > 0 ? s->Nk : 1) * sizeof *p);
    if (!p) abort();
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t h = 0; h < s->H; h++)
            for (int64_t i = 0; i < s->Nq; i++) {
                const int64_t r = (b * s->H + h) * s->Nq + i;
                if (row_sel && !row_sel[r]) continue;
                mhsa_ref_probs(s, q, k, kv_len, b, h, i, p);
                int64_t lo, hi;
                mhsa_ref_keys(s, kv_len, b, i, &lo, &hi);
                const float *vb = v + kv_head(s, b, h) * s->Nk * d;
                double *oi = o + r * d;
                for (int64_t c = 0; c < d; c++) oi[c] = 0.0; /* all keys masked → 0 */
                for (int64_t j = lo; j < hi; j++)
                    for (int64_t c = 0; c < d; c++) oi[c] += p[j] * (double)vb[j * d + c];
            }
    free(p);
}

void mhsa_cpu_f32(const mhsa_shape_t *s, const float *q, const float *k, const float *v,
                  const int32_t *kv_len, float *o)
{
    const int64_t d = s->d;
    const float scale = 1.0f / sqrtf((float)d);
    float *acc = malloc((size_t)d * sizeof *acc);
    if (!acc) abort();
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t h = 0; h < s->H; h++) {
            const int64_t bh = b * s->H + h;
            const float *kb = k + kv_head(s, b, h) * s->Nk * d, *vb = v + kv_head(s, b, h) * s->Nk * d;
            for (int64_t i = 0; i < s->Nq; i++) {
                const float *qi = q + (bh * s->Nq + i) * d;
                int64_t lo, hi;
                mhsa_ref_keys(s, kv_len, b, i, &lo, &hi);
                float m = -INFINITY, l = 0.0f; /* running max and sum (online softmax) */
                for (int64_t c = 0; c < d; c++) acc[c] = 0.0f;
                for (int64_t j = lo; j < hi; j++) {
                    float sj = 0.0f;
                    for (int64_t c = 0; c < d; c++) sj += qi[c] * kb[j * d + c];
                    sj *= scale;
                    if (sj > m) { /* new max: rescale what was accumulated so far */
                        const float r = expf(m - sj);
                        l *= r;
                        for (int64_t c = 0; c < d; c++) acc[c] *= r;
                        m = sj;
                    }
                    const float pj = expf(sj - m);
                    l += pj;
                    for (int64_t c = 0; c < d; c++) acc[c] += pj * vb[j * d + c];
                }
                float *oi = o + (bh * s->Nq + i) * d;
                for (int64_t c = 0; c < d; c++) oi[c] = l > 0.0f ? acc[c] / l : 0.0f;
            }
        }
    free(acc);
}
