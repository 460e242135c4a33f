/* emsa CPU reference (double) and CPU f32 variant; see emsa_ref.h for the formulas. */
#include "emsa_ref.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define EMSA_EPS 1e-5

int64_t emsa_reduced_side(int64_t n, int64_t r)
{
    if (r <= 1) return n;
    return (n + 2 * (r / 2) - (r + 1)) / r + 1;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) abort();
    return p;
}

/* Reduced map Xr (N', C) of batch b in double: depthwise conv + bias, then LayerNorm over C. */
static void ref_reduce(const emsa_shape_t *s, const emsa_inputs_t *in, int64_t b, double *xr)
{
    const int64_t C = s->C, H = s->H, W = s->W, r = s->r, k = r + 1, pad = r / 2;
    const int64_t Hr = emsa_reduced_side(H, r), Wr = emsa_reduced_side(W, r);
    const float *x = in->x + b * H * W * C;
    for (int64_t oy = 0; oy < Hr; oy++)
        for (int64_t ox = 0; ox < Wr; ox++) {
            double *o = xr + (oy * Wr + ox) * C;
            for (int64_t c = 0; c < C; c++) {
                double acc = in->srp[c];
                for (int64_t ky = 0; ky < k; ky++)
                    for (int64_t kx = 0; kx < k; kx++) {
                        const int64_t iy = oy * r - pad + ky, ix = ox * r - pad + kx;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; /* zero padding */
                        acc += (double)in->srw[c * k * k + ky * k + kx] * x[(iy * W + ix) * C + c];
                    }
                o[c] = acc;
            }
            double mean = 0, var = 0;
            for (int64_t c = 0; c < C; c++) mean += o[c];
            mean /= (double)C;
            for (int64_t c = 0; c < C; c++) var += (o[c] - mean) * (o[c] - mean);
            var /= (double)C; /* biased, as LayerNorm */
            const double inv = 1.0 / sqrt(var + EMSA_EPS);
            for (int64_t c = 0; c < C; c++)
                o[c] = (o[c] - mean) * inv * in->srp[C + c] + in->srp[2 * C + c];
        }
}

/* out (n, C) = rows of a (n, C) times rows [w0, w0 + C) of Wqkv transposed, plus bias. */
static void ref_linear_d(const double *a, const float *xa, int64_t n, int64_t C, const float *w,
                         const float *bias, double *out)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < C; o++) {
            double acc = bias[o];
            for (int64_t c = 0; c < C; c++)
                acc += (a ? a[i * C + c] : (double)xa[i * C + c]) * (double)w[o * C + c];
            out[i * C + o] = acc;
        }
}

/* Q (N, C), K, V (N', C) of batch b. */
static void ref_qkv(const emsa_shape_t *s, const emsa_inputs_t *in, int64_t b, double *q,
                    double *k, double *v)
{
    const int64_t C = s->C, N = s->H * s->W;
    const int64_t Np = emsa_reduced_side(s->H, s->r) * emsa_reduced_side(s->W, s->r);
    const float *x = in->x + b * N * C;
    ref_linear_d(NULL, x, N, C, in->wqkv, in->bqkv, q);
    if (s->r > 1) {
        double *xr = xmalloc((size_t)(Np * C) * sizeof *xr);
        ref_reduce(s, in, b, xr);
        ref_linear_d(xr, NULL, Np, C, in->wqkv + C * C, in->bqkv + C, k);
        ref_linear_d(xr, NULL, Np, C, in->wqkv + 2 * C * C, in->bqkv + 2 * C, v);
        free(xr);
    } else {
        ref_linear_d(NULL, x, Np, C, in->wqkv + C * C, in->bqkv + C, k);
        ref_linear_d(NULL, x, Np, C, in->wqkv + 2 * C * C, in->bqkv + 2 * C, v);
    }
}

/* P̂ (h, N, N') from Q, K. */
static void ref_map_from(const emsa_shape_t *s, const emsa_inputs_t *in, const double *q,
                         const double *k, double *phat)
{
    const int64_t C = s->C, h = s->h, dk = C / h, N = s->H * s->W;
    const int64_t Np = emsa_reduced_side(s->H, s->r) * emsa_reduced_side(s->W, s->r);
    const double scale = 1.0 / sqrt((double)dk);
    double *S = xmalloc((size_t)(h * Np) * sizeof *S); /* logits of one query row, all heads */
    double *sq = xmalloc((size_t)h * sizeof *sq);      /* Σ (p − 1/N')² per head */
    for (int64_t g = 0; g < h; g++) sq[g] = 0;
    for (int64_t i = 0; i < N; i++) {
        for (int64_t g = 0; g < h; g++)
            for (int64_t j = 0; j < Np; j++) {
                double acc = 0;
                for (int64_t c = 0; c < dk; c++) acc += q[i * C + g * dk + c] * k[j * C + g * dk + c];
                S[g * Np + j] = acc * scale;
            }
        for (int64_t g = 0; g < h; g++) {
            double *p = phat + (g * N + i) * Np;
            for (int64_t j = 0; j < Np; j++) {
                double t = S[g * Np + j];
                if (h > 1) { /* 1×1 conv over heads */
                    t = in->tr[g * (h + 1) + h];
                    for (int64_t kk = 0; kk < h; kk++)
                        t += (double)in->tr[g * (h + 1) + kk] * S[kk * Np + j];
                }
                p[j] = t;
            }
            double m = -INFINITY, l = 0;
            for (int64_t j = 0; j < Np; j++) m = fmax(m, p[j]);
            for (int64_t j = 0; j < Np; j++) l += (p[j] = exp(p[j] - m));
            for (int64_t j = 0; j < Np; j++) {
                p[j] /= l;
                sq[g] += (p[j] - 1.0 / (double)Np) * (p[j] - 1.0 / (double)Np);
            }
        }
    }
    if (h > 1) /* InstanceNorm per head map: mean 1/N', biased variance */
        for (int64_t g = 0; g < h; g++) {
            const double inv = 1.0 / sqrt(sq[g] / (double)(N * Np) + EMSA_EPS);
            double *p = phat + g * N * Np;
            for (int64_t e = 0; e < N * Np; e++) p[e] = (p[e] - 1.0 / (double)Np) * inv;
        }
    free(S), free(sq);
}

void emsa_ref_map(const emsa_shape_t *s, const emsa_inputs_t *in, int64_t b, double *phat)
{
    const int64_t C = s->C, N = s->H * s->W;
    const int64_t Np = emsa_reduced_side(s->H, s->r) * emsa_reduced_side(s->W, s->r);
    double *q = xmalloc((size_t)(N * C) * sizeof *q), *k = xmalloc((size_t)(Np * C) * sizeof *k);
    double *v = xmalloc((size_t)(Np * C) * sizeof *v);
    ref_qkv(s, in, b, q, k, v);
    ref_map_from(s, in, q, k, phat);
    free(q), free(k), free(v);
}

void emsa_ref(const emsa_shape_t *s, const emsa_inputs_t *in, double *y, const uint8_t *row_sel)
{
    const int64_t C = s->C, h = s->h, dv = C / h, N = s->H * s->W;
    const int64_t Np = emsa_reduced_side(s->H, s->r) * emsa_reduced_side(s->W, s->r);
    double *q = xmalloc((size_t)(N * C) * sizeof *q), *k = xmalloc((size_t)(Np * C) * sizeof *k);
    double *v = xmalloc((size_t)(Np * C) * sizeof *v);
    double *phat = xmalloc((size_t)(h * N * Np) * sizeof *phat);
    double *o = xmalloc((size_t)C * sizeof *o);
    for (int64_t b = 0; b < s->B; b++) {
        int any = row_sel == NULL;
        for (int64_t i = 0; i < N && !any; i++) any = row_sel[b * N + i];
        if (!any) continue;
        ref_qkv(s, in, b, q, k, v);
        ref_map_from(s, in, q, k, phat);
        for (int64_t i = 0; i < N; i++) {
            if (row_sel && !row_sel[b * N + i]) continue;
            for (int64_t g = 0; g < h; g++) /* O row i = concat_g P̂_g[i, :]·V_g */
                for (int64_t c = 0; c < dv; c++) {
                    double acc = 0;
                    for (int64_t j = 0; j < Np; j++)
                        acc += phat[(g * N + i) * Np + j] * v[j * C + g * dv + c];
                    o[g * dv + c] = acc;
                }
            for (int64_t co = 0; co < C; co++) {
                double acc = in->bo[co];
                for (int64_t c = 0; c < C; c++) acc += (double)in->wo[co * C + c] * o[c];
                y[(b * N + i) * C + co] = acc;
            }
        }
    }
    free(q), free(k), free(v), free(phat), free(o);
}

/* ------------------------------------------------------------------ float32 CPU variant */

static void f32_linear(const float *a, int64_t n, int64_t C, const float *w, const float *bias,
                       float *out)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < C; o++) {
            float acc = bias[o];
            for (int64_t c = 0; c < C; c++) acc += a[i * C + c] * w[o * C + c];
            out[i * C + o] = acc;
        }
}

void emsa_cpu_f32(const emsa_shape_t *s, const emsa_inputs_t *in, float *y)
{
    const int64_t C = s->C, h = s->h, dk = C / h, N = s->H * s->W, H = s->H, W = s->W;
    const int64_t r = s->r, kw = r + 1, pad = r / 2;
    const int64_t Hr = emsa_reduced_side(H, r), Wr = emsa_reduced_side(W, r), Np = Hr * Wr;
    const float scale = 1.0f / sqrtf((float)dk), mu = 1.0f / (float)Np;
    float *xr = xmalloc((size_t)(Np * C) * sizeof *xr);
    float *q = xmalloc((size_t)(N * C) * sizeof *q), *k = xmalloc((size_t)(Np * C) * sizeof *k);
    float *v = xmalloc((size_t)(Np * C) * sizeof *v), *o = xmalloc((size_t)(N * C) * sizeof *o);
    float *P = xmalloc((size_t)(h * N * Np) * sizeof *P), *S = xmalloc((size_t)(h * Np) * sizeof *S);
    float *sq = xmalloc((size_t)h * sizeof *sq);
    for (int64_t b = 0; b < s->B; b++) {
        const float *x = in->x + b * N * C;
        const float *kvsrc = x;
        if (r > 1) { /* depthwise conv + LayerNorm */
            for (int64_t oy = 0; oy < Hr; oy++)
                for (int64_t ox = 0; ox < Wr; ox++) {
                    float *t = xr + (oy * Wr + ox) * C, mean = 0, var = 0;
                    for (int64_t c = 0; c < C; c++) {
                        float acc = in->srp[c];
                        for (int64_t ky = 0; ky < kw; ky++)
                            for (int64_t kx = 0; kx < kw; kx++) {
                                const int64_t iy = oy * r - pad + ky, ix = ox * r - pad + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                acc += in->srw[(c * kw + ky) * kw + kx] * x[(iy * W + ix) * C + c];
                            }
                        t[c] = acc;
                        mean += acc;
                    }
                    mean /= (float)C;
                    for (int64_t c = 0; c < C; c++) var += (t[c] - mean) * (t[c] - mean);
                    const float inv = 1.0f / sqrtf(var / (float)C + (float)EMSA_EPS);
                    for (int64_t c = 0; c < C; c++)
                        t[c] = (t[c] - mean) * inv * in->srp[C + c] + in->srp[2 * C + c];
                }
            kvsrc = xr;
        }
        f32_linear(x, N, C, in->wqkv, in->bqkv, q);
        f32_linear(kvsrc, Np, C, in->wqkv + C * C, in->bqkv + C, k);
        f32_linear(kvsrc, Np, C, in->wqkv + 2 * C * C, in->bqkv + 2 * C, v);
        for (int64_t g = 0; g < h; g++) sq[g] = 0;
        for (int64_t i = 0; i < N; i++) {
            for (int64_t g = 0; g < h; g++)
                for (int64_t j = 0; j < Np; j++) {
                    float acc = 0;
                    for (int64_t c = 0; c < dk; c++) acc += q[i * C + g * dk + c] * k[j * C + g * dk + c];
                    S[g * Np + j] = acc * scale;
                }
            for (int64_t g = 0; g < h; g++) {
                float *p = P + (g * N + i) * Np, m = -INFINITY, l = 0;
                for (int64_t j = 0; j < Np; j++) {
                    float t = S[g * Np + j];
                    if (h > 1) {
                        t = in->tr[g * (h + 1) + h];
                        for (int64_t kk = 0; kk < h; kk++) t += in->tr[g * (h + 1) + kk] * S[kk * Np + j];
                    }
                    p[j] = t;
                    m = fmaxf(m, t);
                }
                for (int64_t j = 0; j < Np; j++) l += (p[j] = expf(p[j] - m));
                for (int64_t j = 0; j < Np; j++) {
                    p[j] /= l;
                    sq[g] += (p[j] - mu) * (p[j] - mu);
                }
            }
        }
        if (h > 1)
            for (int64_t g = 0; g < h; g++) {
                const float inv = 1.0f / sqrtf(sq[g] / (float)(N * Np) + (float)EMSA_EPS);
                for (int64_t e = 0; e < N * Np; e++) P[g * N * Np + e] = (P[g * N * Np + e] - mu) * inv;
            }
        for (int64_t i = 0; i < N; i++)
            for (int64_t g = 0; g < h; g++)
                for (int64_t c = 0; c < dk; c++) {
                    float acc = 0;
                    for (int64_t j = 0; j < Np; j++) acc += P[(g * N + i) * Np + j] * v[j * C + g * dk + c];
                    o[i * C + g * dk + c] = acc;
                }
        f32_linear(o, N, C, in->wo, in->bo, y + b * N * C);
    }
    free(xr), free(q), free(k), free(v), free(o), free(P), free(S), free(sq);
}
