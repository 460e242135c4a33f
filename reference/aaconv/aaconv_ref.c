/* aaconv reference (docs/suites.md "aaconv"), in double, pixel by pixel:
 *   conv branch   y[b, o, oy, ox] = bc[o] + Σ_{c, dy, dx} wc[o, c, dy, dx]·x[b, c, iy, ix],
 *                 (iy, ix) = (oy·σ − p + dy, ox·σ − p + dx), p = (k − 1)/2, x = 0 outside;
 *   qkv           the same with wqkv, kernel kq (padding (kq − 1)/2), bias bqkv; channels
 *                 [0, dk) → q, [dk, 2dk) → k, [2dk, 2dk + dv) → v; head n owns channels
 *                 n·dkh … (of q and k) and n·dvh … (of v); q ×= dkh^−½ (a scaled copy);
 *   attention     logits[i, j] = q_i·k_j + q_i·rel_w[jx − ix + Wo − 1] + q_i·rel_h[jy − iy + Ho − 1]
 *                 over all N = Ho·Wo keys, softmax over j, O[n, i, c] = Σ_j P[i, j]·v_j[c];
 *   output        attention channel n·dvh + c of pixel i is O[n, i, c] (heads merged with the
 *                 transpose the seed lacks); y[b, Fout − dv + o, i] = bo[o] + Σ_c wo[o, c]·O_c. */
#include "aaconv_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

int64_t aaconv_out_side(int64_t H, int64_t k, int64_t stride)
{
    return (H + 2 * ((k - 1) / 2) - k) / stride + 1;
}

/* One output channel of a stride-σ, zero-padded convolution at output pixel (oy, ox) of batch b:
 * bias + Σ w[c, dy, dx]·x[b, c, oy·σ − p + dy, ox·σ − p + dx], in double. */
static double conv_at(const aaconv_shape_t *s, const float *x, int64_t b, const float *w,
                      double bias, int64_t kk, int64_t oy, int64_t ox)
{
    const int64_t p = (kk - 1) / 2;
    double acc = bias;
    for (int64_t c = 0; c < s->Fin; c++)
        for (int64_t dy = 0; dy < kk; dy++) {
            const int64_t iy = oy * s->stride - p + dy;
            if (iy < 0 || iy >= s->H) continue;
            for (int64_t dx = 0; dx < kk; dx++) {
                const int64_t ix = ox * s->stride - p + dx;
                if (ix < 0 || ix >= s->W) continue;
                acc += (double)w[(c * kk + dy) * kk + dx] *
                       (double)x[((b * s->Fin + c) * s->H + iy) * s->W + ix];
            }
        }
    return acc;
}

void aaconv_ref(const aaconv_shape_t *s, const aaconv_inputs_t *in, double *y,
                const uint8_t *sel)
{
    const int64_t Ho = aaconv_out_side(s->H, s->k, s->stride), Wo = Ho, N = Ho * Wo;
    const int64_t Fc = s->Fout - s->dv, Cq = 2 * s->dk + s->dv;
    const int64_t dkh = s->dk / s->Nh, dvh = s->dv / s->Nh, R = 2 * Wo - 1;
    const double scale = 1.0 / sqrt((double)dkh);
    const float *rel_w = in->rel, *rel_h = in->rel + R * dkh;
    double *qkv = xmalloc((size_t)(N * Cq) * sizeof *qkv); /* pixel-major (N, Cq) */
    double *logit = xmalloc((size_t)N * sizeof *logit);
    double *o = xmalloc((size_t)s->dv * sizeof *o);

    for (int64_t b = 0; b < s->B; b++) {
        int any = sel == NULL;
        for (int64_t i = 0; i < N && !any; i++) any = sel[b * N + i];
        if (!any) continue;
        /* q, k, v of every pixel (every query needs every key) */
        for (int64_t i = 0; i < N; i++)
            for (int64_t ch = 0; ch < Cq; ch++) {
                const double v = conv_at(s, in->x, b, in->wqkv + ch * s->Fin * s->kq * s->kq,
                                         in->bqkv[ch], s->kq, i / Wo, i % Wo);
                qkv[i * Cq + ch] = ch < s->dk ? v * scale : v;
            }
        for (int64_t i = 0; i < N; i++) {
            if (sel && !sel[b * N + i]) continue;
            const int64_t iy = i / Wo, ix = i % Wo;
            /* conv branch */
            for (int64_t oc = 0; oc < Fc; oc++)
                y[(b * s->Fout + oc) * N + i] =
                    conv_at(s, in->x, b, in->wc + oc * s->Fin * s->k * s->k, in->bc[oc], s->k,
                            iy, ix);
            /* attention, head by head */
            for (int64_t n = 0; n < s->Nh; n++) {
                const double *q = qkv + i * Cq + n * dkh;
                double m = -INFINITY;
                for (int64_t j = 0; j < N; j++) {
                    const int64_t jy = j / Wo, jx = j % Wo;
                    const double *kj = qkv + j * Cq + s->dk + n * dkh;
                    const float *rw = rel_w + (jx - ix + Wo - 1) * dkh;
                    const float *rh = rel_h + (jy - iy + Ho - 1) * dkh;
                    double l = 0.0;
                    for (int64_t c = 0; c < dkh; c++)
                        l += q[c] * (kj[c] + (double)rw[c] + (double)rh[c]);
                    logit[j] = l;
                    if (l > m) m = l;
                }
                double den = 0.0;
                for (int64_t c = 0; c < dvh; c++) o[n * dvh + c] = 0.0;
                for (int64_t j = 0; j < N; j++) {
                    const double p = exp(logit[j] - m);
                    den += p;
                    const double *vj = qkv + j * Cq + 2 * s->dk + n * dvh;
                    for (int64_t c = 0; c < dvh; c++) o[n * dvh + c] += p * vj[c];
                }
                for (int64_t c = 0; c < dvh; c++) o[n * dvh + c] /= den;
            }
            /* 1×1 output conv over the merged heads */
            for (int64_t oc = 0; oc < s->dv; oc++) {
                double acc = in->bo[oc];
                for (int64_t c = 0; c < s->dv; c++) acc += (double)in->wo[oc * s->dv + c] * o[c];
                y[(b * s->Fout + Fc + oc) * N + i] = acc;
            }
        }
    }
    free(qkv), free(logit), free(o);
}

/* ------------------------------------------------------------------ cpu-f32 */

static float conv_at_f(const aaconv_shape_t *s, const float *x, int64_t b, const float *w,
                       float bias, int64_t kk, int64_t oy, int64_t ox)
{
    const int64_t p = (kk - 1) / 2;
    float acc = bias;
    for (int64_t c = 0; c < s->Fin; c++)
        for (int64_t dy = 0; dy < kk; dy++) {
            const int64_t iy = oy * s->stride - p + dy;
            if (iy < 0 || iy >= s->H) continue;
            for (int64_t dx = 0; dx < kk; dx++) {
                const int64_t ix = ox * s->stride - p + dx;
                if (ix < 0 || ix >= s->W) continue;
                acc += w[(c * kk + dy) * kk + dx] * x[((b * s->Fin + c) * s->H + iy) * s->W + ix];
            }
        }
    return acc;
}

void aaconv_cpu_f32(const aaconv_shape_t *s, const aaconv_inputs_t *in, float *y)
{
    const int64_t Ho = aaconv_out_side(s->H, s->k, s->stride), Wo = Ho, N = Ho * Wo;
    const int64_t Fc = s->Fout - s->dv, Cq = 2 * s->dk + s->dv;
    const int64_t dkh = s->dk / s->Nh, dvh = s->dv / s->Nh, R = 2 * Wo - 1;
    const float scale = (float)(1.0 / sqrt((double)dkh));
    const float *rel_w = in->rel, *rel_h = in->rel + R * dkh;
    float *qkv = xmalloc((size_t)(N * Cq) * sizeof *qkv);
    float *logit = xmalloc((size_t)N * sizeof *logit);
    float *o = xmalloc((size_t)s->dv * sizeof *o);
    /* per query and head: q·rel_w[r] and q·rel_h[r] for every offset r, the 2-D relative trick
     * (2·(2Wo − 1) dots instead of 2·N) */
    float *qrw = xmalloc((size_t)R * sizeof *qrw), *qrh = xmalloc((size_t)R * sizeof *qrh);

    for (int64_t b = 0; b < s->B; b++) {
        for (int64_t i = 0; i < N; i++)
            for (int64_t ch = 0; ch < Cq; ch++) {
                const float v = conv_at_f(s, in->x, b, in->wqkv + ch * s->Fin * s->kq * s->kq,
                                          in->bqkv[ch], s->kq, i / Wo, i % Wo);
                qkv[i * Cq + ch] = ch < s->dk ? v * scale : v;
            }
        for (int64_t i = 0; i < N; i++) {
            const int64_t iy = i / Wo, ix = i % Wo;
            for (int64_t oc = 0; oc < Fc; oc++)
                y[(b * s->Fout + oc) * N + i] =
                    conv_at_f(s, in->x, b, in->wc + oc * s->Fin * s->k * s->k, in->bc[oc], s->k,
                              iy, ix);
            for (int64_t n = 0; n < s->Nh; n++) {
                const float *q = qkv + i * Cq + n * dkh;
                for (int64_t r = 0; r < R; r++) {
                    float aw = 0.f, ah = 0.f;
                    for (int64_t c = 0; c < dkh; c++) {
                        aw += q[c] * rel_w[r * dkh + c];
                        ah += q[c] * rel_h[r * dkh + c];
                    }
                    qrw[r] = aw, qrh[r] = ah;
                }
                float m = -INFINITY;
                for (int64_t j = 0; j < N; j++) {
                    const float *kj = qkv + j * Cq + s->dk + n * dkh;
                    float l = 0.f;
                    for (int64_t c = 0; c < dkh; c++) l += q[c] * kj[c];
                    l += qrw[j % Wo - ix + Wo - 1] + qrh[j / Wo - iy + Ho - 1];
                    logit[j] = l;
                    m = l > m ? l : m;
                }
                float den = 0.f;
                for (int64_t c = 0; c < dvh; c++) o[n * dvh + c] = 0.f;
                for (int64_t j = 0; j < N; j++) {
                    const float p = expf(logit[j] - m);
                    den += p;
                    const float *vj = qkv + j * Cq + 2 * s->dk + n * dvh;
                    for (int64_t c = 0; c < dvh; c++) o[n * dvh + c] += p * vj[c];
                }
                for (int64_t c = 0; c < dvh; c++) o[n * dvh + c] /= den;
            }
            for (int64_t oc = 0; oc < s->dv; oc++) {
                float acc = in->bo[oc];
                for (int64_t c = 0; c < s->dv; c++) acc += in->wo[oc * s->dv + c] * o[c];
                y[(b * s->Fout + Fc + oc) * N + i] = acc;
            }
        }
    }
    free(qkv), free(logit), free(o), free(qrw), free(qrh);
}
