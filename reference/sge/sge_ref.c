/* sge reference (double) and CPU f32 variant; see sge_ref.h and docs/suites.md "sge". */
#include <math.h>
#include <stdlib.h>

#include "sge_ref.h"

void sge_ref_gate(const sge_shape_t *s, const sge_inputs_t *in, int64_t b, int64_t g,
                  double *gate)
{
    const int64_t HW = s->H * s->W, Cg = s->C / s->G;
    const float *x = in->x + (b * s->C + g * Cg) * HW; /* the slab (Cg, HW) */
    for (int64_t p = 0; p < HW; p++) gate[p] = 0;
    /* t = Σ_c x_c·p_c, accumulated into gate[] */
    for (int64_t c = 0; c < Cg; c++) {
        double pc = 0;
        for (int64_t p = 0; p < HW; p++) pc += x[c * HW + p];
        pc /= (double)HW;
        for (int64_t p = 0; p < HW; p++) gate[p] += x[c * HW + p] * pc;
    }
    /* standardise over HW: unbiased std, defined 0 for a single pixel */
    double mean = 0, ss = 0;
    for (int64_t p = 0; p < HW; p++) mean += gate[p];
    mean /= (double)HW;
    for (int64_t p = 0; p < HW; p++) ss += (gate[p] - mean) * (gate[p] - mean);
    const double sd = HW > 1 ? sqrt(ss / (double)(HW - 1)) : 0.0;
    const double w = in->w[g], bias = in->b[g];
    for (int64_t p = 0; p < HW; p++) {
        const double t = w * ((gate[p] - mean) / (sd + SGE_EPS)) + bias;
        gate[p] = 1.0 / (1.0 + exp(-t));
    }
}

void sge_ref(const sge_shape_t *s, const sge_inputs_t *in, double *out, const uint8_t *row_sel)
{
    const int64_t HW = s->H * s->W, Cg = s->C / s->G;
    double *gate = malloc((size_t)HW * sizeof *gate);
    if (!gate) abort();
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t g = 0; g < s->G; g++) {
            if (row_sel && !row_sel[b * s->G + g]) continue;
            sge_ref_gate(s, in, b, g, gate);
            const int64_t base = (b * s->C + g * Cg) * HW;
            for (int64_t c = 0; c < Cg; c++)
                for (int64_t p = 0; p < HW; p++)
                    out[base + c * HW + p] = in->x[base + c * HW + p] * gate[p];
        }
    free(gate);
}

void sge_cpu_f32(const sge_shape_t *s, const sge_inputs_t *in, float *out)
{
    const int64_t HW = s->H * s->W, Cg = s->C / s->G;
    float *t = malloc((size_t)HW * sizeof *t);
    if (!t) abort();
    for (int64_t b = 0; b < s->B; b++)
        for (int64_t g = 0; g < s->G; g++) {
            const int64_t base = (b * s->C + g * Cg) * HW;
            const float *x = in->x + base;
            for (int64_t p = 0; p < HW; p++) t[p] = 0.f;
            for (int64_t c = 0; c < Cg; c++) {
                float pc = 0.f;
                for (int64_t p = 0; p < HW; p++) pc += x[c * HW + p];
                pc /= (float)HW;
                for (int64_t p = 0; p < HW; p++) t[p] += x[c * HW + p] * pc;
            }
            float mean = 0.f, ss = 0.f;
            for (int64_t p = 0; p < HW; p++) mean += t[p];
            mean /= (float)HW;
            for (int64_t p = 0; p < HW; p++) ss += (t[p] - mean) * (t[p] - mean);
            const float sd = HW > 1 ? sqrtf(ss / (float)(HW - 1)) : 0.f;
            const float a = in->w[g] / (sd + (float)SGE_EPS), bias = in->b[g];
            for (int64_t p = 0; p < HW; p++) t[p] = 1.f / (1.f + expf(-(a * (t[p] - mean) + bias)));
            for (int64_t c = 0; c < Cg; c++)
                for (int64_t p = 0; p < HW; p++) out[base + c * HW + p] = x[c * HW + p] * t[p];
        }
    free(t);
}
