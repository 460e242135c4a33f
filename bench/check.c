#include "check.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

double attn_load(const void *buf, attn_dtype_t dtype, int64_t i)
{
    switch (dtype) {
    case ATTN_F64: return ((const double *)buf)[i];
    case ATTN_F32: return ((const float *)buf)[i];
    case ATTN_BF16: return attn_bf16_to_f32(((const uint16_t *)buf)[i]);
    case ATTN_F16: return attn_f16_to_f32(((const uint16_t *)buf)[i]);
    }
    return NAN;
}

static attn_check_t compare(const void *out, attn_dtype_t dtype, const double *ref, int64_t numel,
                            int64_t row_len, const attn_suite_t *s, const int64_t *v, const uint8_t *row_sel, double tol_rel);

attn_check_t attn_compare(const void *out, attn_dtype_t dtype, const double *ref, int64_t numel,
                          int64_t row_len, const uint8_t *row_sel, double tol_rel)
{
    return compare(out, dtype, ref, numel, row_len, NULL, NULL, row_sel, tol_rel);
}

attn_check_t attn_compare_mapped(const void *out, attn_dtype_t dtype, const double *ref,
                                 int64_t numel, const attn_suite_t *s, const int64_t *v,
                                 const uint8_t *row_sel, double tol_rel)
{
    return compare(out, dtype, ref, numel, 1, s, v, row_sel, tol_rel);
}

static attn_check_t compare(const void *out, attn_dtype_t dtype, const double *ref, int64_t numel,
                            int64_t row_len, const attn_suite_t *s, const int64_t *v, const uint8_t *row_sel, double tol_rel)
{
    attn_check_t c = {0};
    c.worst = -1;
    double err2 = 0.0, ref2 = 0.0;
    for (int64_t e = 0; e < numel; e++) {
        if (row_sel && !row_sel[s ? s->row_of(s, v, e) : e / row_len]) continue;
        const double o = attn_load(out, dtype, e), r = ref[e];
        c.checked++;
        if (fabs(r) > c.ref_scale) c.ref_scale = fabs(r);
        if (!isfinite(o)) {
            if (c.nonfinite++ == 0) c.worst = e, c.out_at_worst = o, c.ref_at_worst = r;
            continue;
        }
        const double d = fabs(o - r);
        err2 += d * d;
        ref2 += r * r;
        if (d > c.max_abs_err && c.nonfinite == 0)
            c.max_abs_err = d, c.worst = e, c.out_at_worst = o, c.ref_at_worst = r;
        else if (d > c.max_abs_err)
            c.max_abs_err = d;
    }
    c.rel_l2_err = ref2 > 0 ? sqrt(err2 / ref2) : sqrt(err2);
    if (c.nonfinite) c.max_abs_err = c.rel_l2_err = INFINITY;
    c.tol_abs = tol_rel * c.ref_scale;
    c.ok = c.checked > 0 && c.nonfinite == 0 && c.max_abs_err <= c.tol_abs;
    return c;
}

int64_t attn_sample_rows(uint8_t *sel, int64_t rows, int64_t want, uint64_t seed)
{
    memset(sel, 0, (size_t)rows);
    if (want >= rows) {
        memset(sel, 1, (size_t)rows);
        return rows;
    }
    if (want < 2) want = 2;
    attn_rng_t r;
    attn_rng_seed(&r, seed, 77);
    sel[0] = sel[rows - 1] = 1;
    const double stride = (double)rows / (double)want;
    for (int64_t k = 1; k < want - 1; k++) {
        int64_t at = (int64_t)((double)k * stride + attn_rng_uniform(&r) * stride);
        sel[at < rows ? at : rows - 1] = 1;
    }
    int64_t n = 0;
    for (int64_t i = 0; i < rows; i++) n += sel[i];
    return n;
}

const char *attn_index_str(const attn_tensor_t *t, int64_t flat, char *buf, size_t n)
{
    int64_t idx[ATTN_MAX_DIMS];
    for (int i = t->ndim - 1; i >= 0; i--) {
        idx[i] = t->shape[i] ? flat % t->shape[i] : 0;
        flat = t->shape[i] ? flat / t->shape[i] : 0;
    }
    size_t off = (size_t)snprintf(buf, n, "(");
    for (int i = 0; i < t->ndim && off < n; i++) {
        char dim = t->dims && (int)strlen(t->dims) > i ? t->dims[i] : '?';
        off += (size_t)snprintf(buf + off, n - off, "%s%c=%lld", i ? "," : "", dim,
                                (long long)idx[i]);
    }
    if (off < n) snprintf(buf + off, n - off, ")");
    return buf;
}
