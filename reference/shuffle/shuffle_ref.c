/* shuffle reference (double) and CPU f32 variant; see shuffle_ref.h, docs/suites.md. */
#include <math.h>
#include <stdlib.h>

#include "shuffle_ref.h"

void shuffle_ref_gate(const shuffle_shape_t *s, const shuffle_inputs_t *in, int64_t b, int64_t k,
                      double *gate)
{
    const int64_t HW = s->H * s->W, Cg = s->C / (2 * s->G);
    const int64_t i = k % (2 * Cg); /* channel within its group: [0, Cg) channel branch */
    const int64_t c = i % Cg;       /* parameter index */
    const float *xp = in->x + (b * s->C + k) * HW;
    double mean = 0;
    for (int64_t p = 0; p < HW; p++) mean += xp[p];
    mean /= (double)HW;
    if (i < Cg) { /* channel branch: x0 · σ(cw ⊙ mean_HW(x0) + cb) */
        const double g = 1.0 / (1.0 + exp(-((double)in->cw[c] * mean + in->cb[c])));
        for (int64_t p = 0; p < HW; p++) gate[p] = g;
        return;
    }
    /* spatial branch: x1 · σ(sw ⊙ GN(x1) + sb), GN per channel, biased variance */
    double var = 0;
    for (int64_t p = 0; p < HW; p++) var += (xp[p] - mean) * (xp[p] - mean);
    var /= (double)HW;
    const double inv = 1.0 / sqrt(var + SHUFFLE_GN_EPS);
    for (int64_t p = 0; p < HW; p++) {
        const double gn = (xp[p] - mean) * inv * in->gamma[c] + in->beta[c];
        gate[p] = 1.0 / (1.0 + exp(-((double)in->sw[c] * gn + in->sb[c])));
    }
}

void shuffle_ref(const shuffle_shape_t *s, const shuffle_inputs_t *in, double *out,
                 const uint8_t *row_sel)
{
    const int64_t HW = s->H * s->W;
    double *gate = malloc((size_t)HW * sizeof *gate);
    if (!gate) abort();
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t o = 0; o < s->C; o++) {
            if (row_sel && !row_sel[b * s->C + o]) continue;
            const int64_t k = shuffle_src_channel(s->C, o);
            shuffle_ref_gate(s, in, b, k, gate);
            const float *xp = in->x + (b * s->C + k) * HW;
            double *op = out + (b * s->C + o) * HW;
            for (int64_t p = 0; p < HW; p++) op[p] = xp[p] * gate[p];
        }
    free(gate);
}

void shuffle_cpu_f32(const shuffle_shape_t *s, const shuffle_inputs_t *in, float *out)
{
    const int64_t HW = s->H * s->W, C = s->C, Cg = C / (2 * s->G);
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t k = 0; k < C; k++) {
            const int64_t i = k % (2 * Cg), c = i % Cg;
            const float *xp = in->x + (b * C + k) * HW;
            float *op = out + (b * C + (k % (C / 2)) * 2 + k / (C / 2)) * HW; /* shuffled */
            float sum = 0.f;
            for (int64_t p = 0; p < HW; p++) sum += xp[p];
            const float mean = sum / (float)HW;
            if (i < Cg) {
                const float g = 1.f / (1.f + expf(-(in->cw[c] * mean + in->cb[c])));
                for (int64_t p = 0; p < HW; p++) op[p] = xp[p] * g;
                continue;
            }
            float var = 0.f;
            for (int64_t p = 0; p < HW; p++) var += (xp[p] - mean) * (xp[p] - mean);
            const float inv = 1.f / sqrtf(var / (float)HW + (float)SHUFFLE_GN_EPS);
            const float a = inv * in->gamma[c], sw = in->sw[c];
            for (int64_t p = 0; p < HW; p++) {
                const float gn = (xp[p] - mean) * a + in->beta[c];
                op[p] = xp[p] / (1.f + expf(-(sw * gn + in->sb[c])));
            }
        }
}
