/* mhsa reference: S = Q·Kᵀ/√d, masked; P = softmax(S); O = P·V — in double, row by row. */
#include "mhsa_ref.h"

#include <math.h>
#include <stdlib.h>

static int64_t valid_keys(const mhsa_shape_t *s, const int32_t *kv_len, int64_t b, int64_t i)
{
    int64_t n = s->Nk;
    if (kv_len && kv_len[b] < n) n = kv_len[b] < 0 ? 0 : kv_len[b];
    if (s->causal && i + 1 < n) n = i + 1; /* causal: keys j <= i survive */
    return n;
}

int64_t mhsa_ref_probs(const mhsa_shape_t *s, const float *q, const float *k,
                       const int32_t *kv_len, int64_t b, int64_t h, int64_t i, double *p)
{
    const int64_t d = s->d, bh = b * s->H + h;
    const float *qi = q + (bh * s->Nq + i) * d;
    const float *kb = k + bh * s->Nk * d;
    const int64_t n = valid_keys(s, kv_len, b, i);
    const double scale = 1.0 / sqrt((double)d);
    double mx = -INFINITY, sum = 0.0;
    for (int64_t j = 0; j < n; j++) {
        double acc = 0.0;
        for (int64_t c = 0; c < d; c++) acc += (double)qi[c] * (double)kb[j * d + c];
        p[j] = acc * scale;
        if (p[j] > mx) mx = p[j];
    }
    for (int64_t j = 0; j < n; j++) sum += (p[j] = exp(p[j] - mx));
    for (int64_t j = 0; j < n; j++) p[j] /= sum;
    for (int64_t j = n; j < s->Nk; j++) p[j] = 0.0; /* masked keys */
    return n;
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
                const int64_t n = mhsa_ref_probs(s, q, k, kv_len, b, h, i, p);
                const float *vb = v + (b * s->H + h) * s->Nk * d;
                double *oi = o + r * d;
                for (int64_t c = 0; c < d; c++) oi[c] = 0.0; /* all keys masked → 0 */
                for (int64_t j = 0; j < n; j++)
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
            const float *kb = k + bh * s->Nk * d, *vb = v + bh * s->Nk * d;
            for (int64_t i = 0; i < s->Nq; i++) {
                const float *qi = q + (bh * s->Nq + i) * d;
                const int64_t n = valid_keys(s, kv_len, b, i);
                float m = -INFINITY, l = 0.0f; /* running max and sum (online softmax) */
                for (int64_t c = 0; c < d; c++) acc[c] = 0.0f;
                for (int64_t j = 0; j < n; j++) {
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
