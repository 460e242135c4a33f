/* halo reference (docs/suites.md "halo"), in double, pixel by pixel: q, k, v of a pixel are its
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

/* The K/V projections are the reference's bulk: 4·C·Di FLOPs for each pixel whose k and v a
 * computed row's window needs. Sampling rows does not make such pixels few: a window is
 * (b + 2h)² pixels, shared by the b² queries of its block, so a sample of one row in 40 still
 * needs about 90 % of the pixels of the GPU grid's images. So they are projected once per pixel,
 * only for the pixels the selected rows' windows hold, KV_GROUP pixels at a time: on x86-64 with
 * AVX-512 or AVX2 (picked at run time) by a kernel that keeps KV_GROUP pixels' outputs in
 * registers while it reads each weight once (reading all of Wkv once per pixel, as a plain loop
 * does, is what bounds that loop, and several threads share the memory behind the caches);
 * elsewhere pixel by pixel with project().
 * Every output, in every path, is 0 + W[r, 0]·x[0] + W[r, 1]·x[1] + … in double, in this order,
 * each product and sum rounded (ISO C mode: no contraction to FMA), so results depend neither on
 * the machine, nor on the path, nor on which other rows are selected. */
#include "ref_vector.h"
#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute) && defined(__has_builtin)
#if __has_attribute(target) && __has_builtin(__builtin_convertvector) &&                        \
    __has_builtin(__builtin_cpu_supports)
#define KV_SIMD 1
#endif
#endif

#define KV_GROUP 8 /* pixels projected together */
#define KV_RB 16   /* rows of Wkv per packed block (pack_rows): two AVX-512 vectors of doubles */

/* What the reference keeps while it works on batch b. */
typedef struct ref_ctx {
    const halo_shape_t *s;
    const halo_inputs_t *in;
    int64_t Di, Wn, HW;
    int64_t kvs;   /* kv's row stride: 2·Di rounded up to KV_RB */
    float *wqT;    /* Wq transposed: (C, Di) */
    float *wkvT;   /* Wkv transposed, (C, 2·Di), for project() */
    float *wkvP;   /* Wkv packed by pack_rows, for the SIMD kernels */
    float *xg;     /* x of KV_GROUP pixels, xg[c·KV_GROUP + j]; or of one pixel, xg[c] */
    double *kv;    /* (HW, kvs): k of pixel p at kv[p·kvs], v at kv[p·kvs + Di] */
    uint8_t *need; /* (HW): a computed row's window holds pixel p (its k, v are projected) */
    uint8_t *blk;  /* (H/b · W/b): the block has a computed row */
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

/* W (rows, C) in blocks of KV_RB rows, block k holding W[k·KV_RB + i, c] at
 * wp[(k·C + c)·KV_RB + i] (zero past the last row): a block streams contiguously over c. */
static float *pack_rows(const float *w, int64_t rows, int64_t C)
{
    const int64_t nb = (rows + KV_RB - 1) / KV_RB;
    float *p = xmalloc((size_t)(nb * C * KV_RB) * sizeof *p);
    for (int64_t k = 0; k < nb; k++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < KV_RB; i++) {
                const int64_t r = k * KV_RB + i;
                p[(k * C + c) * KV_RB + i] = r < rows ? w[r * C + c] : 0.0f;
            }
    return p;
}

#ifdef KV_SIMD
typedef double kv_v8d __attribute__((vector_size(64)));
typedef float kv_v8f __attribute__((vector_size(32)));
typedef double kv_v4d __attribute__((vector_size(32)));
typedef float kv_v4f __attribute__((vector_size(16)));

/* out[j][0 .. nb·KV_RB) = W·x_j for the KV_GROUP pixels of xg, W packed (nb blocks): per block,
 * 2 × KV_GROUP vectors of 8 accumulators over c. */
__attribute__((target("avx512f"))) static void kv_group_avx512(const float *wp, int64_t nb,
                                                                int64_t C, const float *xg,
                                                                double *const *out)
{
    for (int64_t k = 0; k < nb; k++) {
        kv_v8d a0[KV_GROUP], a1[KV_GROUP];
        for (int j = 0; j < KV_GROUP; j++) a0[j] = a1[j] = (kv_v8d){0};
        const float *wk = wp + k * C * KV_RB;
        for (int64_t c = 0; c < C; c++) {
            kv_v8f f0, f1;
            memcpy(&f0, wk + c * KV_RB, sizeof f0);
            memcpy(&f1, wk + c * KV_RB + 8, sizeof f1);
            const kv_v8d w0 = __builtin_convertvector(f0, kv_v8d);
            const kv_v8d w1 = __builtin_convertvector(f1, kv_v8d);
            for (int j = 0; j < KV_GROUP; j++) {
                const double x = xg[c * KV_GROUP + j];
                a0[j] += w0 * x;
                a1[j] += w1 * x;
            }
        }
        for (int j = 0; j < KV_GROUP; j++) {
            memcpy(out[j] + k * KV_RB, &a0[j], sizeof a0[j]);
            memcpy(out[j] + k * KV_RB + 8, &a1[j], sizeof a1[j]);
        }
    }
}

/* The same with AVX2: per block, four passes of KV_GROUP vectors of 4 accumulators. */
__attribute__((target("avx2"))) static void kv_group_avx2(const float *wp, int64_t nb, int64_t C,
                                                          const float *xg, double *const *out)
{
    for (int64_t k = 0; k < nb; k++)
        for (int h = 0; h < KV_RB; h += 4) {
            kv_v4d a[KV_GROUP];
            for (int j = 0; j < KV_GROUP; j++) a[j] = (kv_v4d){0};
            const float *wk = wp + k * C * KV_RB + h;
            for (int64_t c = 0; c < C; c++) {
                kv_v4f f;
                memcpy(&f, wk + c * KV_RB, sizeof f);
                const kv_v4d w = __builtin_convertvector(f, kv_v4d);
                for (int j = 0; j < KV_GROUP; j++) a[j] += w * (double)xg[c * KV_GROUP + j];
            }
            for (int j = 0; j < KV_GROUP; j++) memcpy(out[j] + k * KV_RB + h, &a[j], sizeof a[j]);
        }
}
#endif

/* 2 when the AVX-512 kernel runs here, 1 the AVX2 one, 0 neither (project() per pixel). */
static int kv_path(void)
{
#ifdef KV_SIMD
    if (__builtin_cpu_supports("avx512f")) return 2;
    if (__builtin_cpu_supports("avx2")) return 1;
#endif
    return 0;
}

static ref_ctx_t ref_open(const halo_shape_t *s, const halo_inputs_t *in)
{
    ref_ctx_t x = {.s = s, .in = in, .Di = s->Nh * s->d, .Wn = s->b + 2 * s->h, .HW = s->H * s->W};
    x.kvs = (2 * x.Di + KV_RB - 1) / KV_RB * KV_RB;
    x.wqT = transpose(in->wq, x.Di, s->C);
    if (kv_path()) x.wkvP = pack_rows(in->wkv, 2 * x.Di, s->C);
    else x.wkvT = transpose(in->wkv, 2 * x.Di, s->C);
    x.xg = xmalloc((size_t)(s->C * KV_GROUP) * sizeof *x.xg);
    x.kv = xmalloc((size_t)(x.HW * x.kvs) * sizeof *x.kv); /* pages touched only where needed */
    x.need = xmalloc((size_t)x.HW);
    x.blk = xmalloc((size_t)(x.HW / (s->b * s->b)));
    return x;
}

static void ref_close(ref_ctx_t *x)
{
    free(x->wqT), free(x->wkvT), free(x->wkvP), free(x->xg), free(x->kv), free(x->need);
    free(x->blk);
}

/* k and v of the g <= KV_GROUP pixels pix[] of batch b (x of batch b at xb) into their kv rows. */
static void project_kv(ref_ctx_t *x, const float *xb, const int64_t *pix, int64_t g)
{
    const int64_t C = x->s->C, HW = x->HW;
    double *out[KV_GROUP];
    for (int64_t j = 0; j < g; j++) out[j] = x->kv + pix[j] * x->kvs;
    const int path = kv_path();
    if (!path) {
        for (int64_t j = 0; j < g; j++) {
            for (int64_t c = 0; c < C; c++) x->xg[c] = xb[c * HW + pix[j]];
            project(x->wkvT, 2 * x->Di, C, x->xg, 1.0, out[j]);
        }
        return;
    }
#ifdef KV_SIMD
    /* a group short of KV_GROUP pixels computes its last pixel again into a scratch row */
    double *spare = x->kv + pix[g - 1] * x->kvs;
    for (int64_t j = g; j < KV_GROUP; j++) out[j] = spare;
    for (int64_t c = 0; c < C; c++)
        for (int64_t j = 0; j < KV_GROUP; j++)
            x->xg[c * KV_GROUP + j] = xb[c * HW + pix[j < g ? j : g - 1]];
    if (path == 2) kv_group_avx512(x->wkvP, x->kvs / KV_RB, C, x->xg, out);
    else kv_group_avx2(x->wkvP, x->kvs / KV_RB, C, x->xg, out);
#endif
}

/* Start batch b, of whose pixels those with sel[p] (all when sel is NULL) will be computed:
 * mark the pixels their windows hold (a window belongs to a block, so block by block) and project
 * k and v of exactly those. */
static void ref_batch(ref_ctx_t *x, int64_t b, const uint8_t *sel)
{
    const halo_shape_t *s = x->s;
    const int64_t W = s->W, HW = x->HW, nbx = W / s->b, nblk = HW / (s->b * s->b);
    memset(x->need, 0, (size_t)HW);
    memset(x->blk, 0, (size_t)nblk);
    for (int64_t p = 0; p < HW; p++)
        if (!sel || sel[p]) x->blk[(p / W / s->b) * nbx + (p % W) / s->b] = 1;
    for (int64_t k = 0; k < nblk; k++) {
        if (!x->blk[k]) continue;
        const int64_t y0 = (k / nbx) * s->b - s->h, x0 = (k % nbx) * s->b - s->h;
        for (int64_t iy = y0 < 0 ? 0 : y0; iy < y0 + x->Wn && iy < s->H; iy++)
            for (int64_t ix = x0 < 0 ? 0 : x0; ix < x0 + x->Wn && ix < W; ix++)
                x->need[iy * W + ix] = 1;
    }
    const float *xb = x->in->x + b * s->C * HW;
    int64_t pix[KV_GROUP], g = 0;
    for (int64_t p = 0; p < HW; p++) {
        if (!x->need[p]) continue;
        pix[g++] = p;
        if (g == KV_GROUP) project_kv(x, xb, pix, g), g = 0;
    }
    if (g) project_kv(x, xb, pix, g);
}

/* k and v of pixel p of the current batch (k = Wkv[0:Di]·x, v = Wkv[Di:2Di]·x); p is in a
 * window of a computed row, so ref_batch projected them. */
static const double *kv_of(const ref_ctx_t *x, int64_t p) { return x->kv + p * x->kvs; }

/* q = d^-½ · Wq·x[b, :, pixel] of pixel (py, px) of batch b, all heads: q[n·d + c]. */
static void query(ref_ctx_t *x, int64_t b, int64_t py, int64_t px, double *q)
{
    const int64_t C = x->s->C, p = py * x->s->W + px;
    const float *xb = x->in->x + b * C * x->HW;
    for (int64_t c = 0; c < C; c++) x->xg[c] = xb[c * x->HW + p];
    project(x->wqT, x->Di, C, x->xg, 1.0 / sqrt((double)x->s->d), q);
}

/* Head n of query pixel (py, px): logits over the Wn² window keys, masked, then softmax into
 * p[ky·Wn + kx]. Returns the number of keys inside the image. */
static int64_t probs(const ref_ctx_t *x, const double *q, int64_t py, int64_t px, int64_t n,
                     double *p)
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
    uint8_t *sel = xmalloc((size_t)x.HW);
    memset(sel, 0, (size_t)x.HW);
    sel[py * s->W + px] = 1;
    ref_batch(&x, b, sel);
    query(&x, b, py, px, q);
    const int64_t valid = probs(&x, q, py, px, n, p);
    free(q), free(sel);
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
        const uint8_t *sel = row_sel ? row_sel + b * HW : NULL; /* rows of batch b to compute */
        int any = !sel;
        for (int64_t r = 0; r < HW && !any; r++) any = sel[r] != 0;
        if (!any) continue;
        ref_batch(&x, b, sel);
        for (int64_t py = 0; py < H; py++)
            for (int64_t px = 0; px < W; px++) {
                if (sel && !sel[py * W + px]) continue;
                query(&x, b, py, px, q);
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
