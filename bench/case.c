/* Case preparation: inputs, rounding classes, the (sampled) reference, memory admission. */
#include "case.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "device.h"
#include "refpool.h"
#include "util.h"

static void tick(const attn_case_t *c)
{
    if (c->tick) c->tick(c->arg);
}

void attn_case_init(attn_case_t *c, const attn_suite_t *s, const int64_t *v, int index)
{
    memset(c, 0, sizeof *c);
    c->s = s, c->v = v, c->index = index;
    s->layout(s, v, &c->L);
}

int attn_case_inputs(attn_case_t *c, uint64_t seed, double ref_gflop)
{
    for (int i = 0; i < c->L.nin; i++)
        if (!(c->gen[i] = malloc((size_t)attn_tensor_numel(&c->L.in[i]) * 4 + 4))) return -1;
    c->s->generate(c->s, c->v, seed, c->gen);
    tick(c);
    const double fl = c->s->flops(c->s, c->v);
    c->rows_checked = c->L.out_rows;
    if (fl > ref_gflop * 1e9 && c->L.out_rows > 64) {
        int64_t want = (int64_t)((double)c->L.out_rows * ref_gflop * 1e9 / fl);
        c->row_sel = malloc((size_t)c->L.out_rows);
        if (c->row_sel)
            c->rows_checked = attn_sample_rows(c->row_sel, c->L.out_rows, want < 64 ? 64 : want, seed);
    }
    return 0;
}

int attn_class_of(attn_dtype_t dt) { return dt == ATTN_BF16 ? 1 : dt == ATTN_F16 ? 2 : 0; }

/* Class k's inputs (1: bf16, 2: f16): each float tensor rounded, kept as bits and as floats. */
static int round_inputs(attn_case_t *c, int k, attn_rclass_t *rc, char *err, size_t n)
{
    for (int i = 0; i < c->L.nin; i++) {
        const attn_tensor_t *t = &c->L.in[i];
        const int64_t ne = attn_tensor_numel(t);
        if (t->kind == ATTN_T_INT32) {
            rc->in[i] = c->gen[i];
            continue;
        }
        float *f = malloc((size_t)ne * sizeof *f);
        uint16_t *b = malloc((size_t)ne * sizeof *b);
        if (!f || !b) {
            free(f), free(b);
            snprintf(err, n, "out of host memory rounding inputs");
            return -1;
        }
        const float *g = c->gen[i];
        if (k == 1)
            for (int64_t e = 0; e < ne; e++) f[e] = attn_bf16_to_f32(b[e] = attn_f32_to_bf16(g[e]));
        else
            for (int64_t e = 0; e < ne; e++) f[e] = attn_f16_to_f32(b[e] = attn_f32_to_f16(g[e]));
        rc->in[i] = f, rc->bits[i] = b;
    }
    return 0;
}

int attn_case_class(attn_case_t *c, int k, int ref_threads, int verbose, char *err, size_t n)
{
    attn_rclass_t *rc = &c->cls[k];
    if (rc->ready) return 0;
    if (k && round_inputs(c, k, rc, err, n)) return -1;
    if (k == 0)
        for (int i = 0; i < c->L.nin; i++) rc->in[i] = c->gen[i];
    /* every output, laid out as a variant's (attn_out_offset); the gaps stay NaN too */
    const int64_t no = (int64_t)(attn_out_bytes(&c->L, sizeof *rc->ref) / sizeof *rc->ref);
    rc->ref = malloc((size_t)no * sizeof *rc->ref);
    if (!rc->ref) {
        snprintf(err, n, "out of host memory for the reference output");
        return -1;
    }
    for (int64_t e = 0; e < no; e++) rc->ref[e] = NAN; /* rows not sampled stay NaN */
    const double t0 = attn_now();
    /* on --ref-threads threads, fewer when the selected rows are little work */
    const double est = c->s->flops(c->s, c->v) * (double)c->rows_checked /
                       (double)(c->L.out_rows > 0 ? c->L.out_rows : 1);
    const int nt = attn_ref_run(c->s, c->v, (const void *const *)rc->in, rc->ref, c->row_sel,
                                attn_ref_threads_for(est, ref_threads));
    tick(c);
    if (verbose)
        fprintf(stderr, "  reference (%s inputs, %lld/%lld rows, %d thread%s): %.2f s\n",
                k == 1 ? "bf16-rounded" : k == 2 ? "f16-rounded" : "f32", (long long)c->rows_checked,
                (long long)c->L.out_rows, nt, nt == 1 ? "" : "s", attn_now() - t0);
    rc->ready = 1;
    return 0;
}

attn_check_t attn_case_compare(const attn_case_t *c, int k, attn_dtype_t dt, const void *out,
                               int nout)
{
    const double tol = c->s->tolerance(c->s, c->v, dt);
    const double *ref = c->cls[k].ref;
    const int64_t no = attn_tensor_numel(&c->L.out);
    const int64_t row_len = c->L.out_rows ? no / c->L.out_rows : 1;
    attn_check_t first =
        c->s->row_of ? attn_compare_mapped(out, dt, ref, no, c->s, c->v, c->row_sel, tol)
                     : attn_compare(out, dt, ref, no, row_len > 0 ? row_len : 1, c->row_sel, tol);
    for (int i = 1; i < nout && first.ok; i++) {
        const int64_t ni = attn_tensor_numel(attn_out_tensor(&c->L, i));
        const int64_t len = c->L.out_rows ? ni / c->L.out_rows : 1;
        const double ti = c->s->xtolerance ? c->s->xtolerance(c->s, c->v, i, dt) : tol;
        attn_check_t x = attn_compare(
            (const char *)out + attn_out_offset(&c->L, i, (size_t)attn_dtype_size(dt)), dt,
            ref + attn_out_offset(&c->L, i, sizeof *ref) / sizeof *ref, ni, len > 0 ? len : 1,
            c->row_sel, ti);
        x.output = i;
        if (!x.ok) return x;
    }
    return first;
}

void attn_case_free(attn_case_t *c)
{
    for (int k = 0; k < ATTN_NCLASSES; k++) {
        for (int i = 0; i < c->L.nin; i++) {
            if (k && c->cls[k].in[i] != c->gen[i]) free(c->cls[k].in[i]);
            free(c->cls[k].bits[i]);
        }
        free(c->cls[k].ref);
    }
    for (int i = 0; i < c->L.nin; i++) free(c->gen[i]);
    free(c->row_sel);
}

size_t attn_elem_bytes(const attn_tensor_t *t, attn_dtype_t dt)
{
    return t->kind == ATTN_T_INT32 ? 4 : (size_t)attn_dtype_size(dt);
}

/* Host bytes a case needs: generated inputs, the bf16 and f16 classes, three references, one
 * output. */
static double host_bytes(const attn_layout_t *L)
{
    double b = 0;
    for (int i = 0; i < L->nin; i++) b += 16.0 * (double)attn_tensor_numel(&L->in[i]);
    return b + 4.0 * (double)attn_out_bytes(L, 8);
}

/* Device bytes variant x needs for case c: its inputs in its dtype, the output, the workspace. */
static double device_bytes(const attn_case_t *c, const attn_suite_t *is, const attn_variant_t *x)
{
    double b = (double)attn_out_bytes(&c->L, (size_t)attn_dtype_size(x->dtype));
    for (int i = 0; i < c->L.nin; i++)
        b += (double)attn_tensor_numel(&c->L.in[i]) * (double)attn_elem_bytes(&c->L.in[i], x->dtype);
    return b + (x->workspace ? (double)x->workspace(is, x, c->v) : 0.0);
}

void attn_room_init(attn_room_t *room)
{
    room->host_avail = attn_host_mem_available(); /* MemAvailable, not MemFree */
    room->dev_known = -1;
    room->dev_free = room->dev_total = 0;
}

const char *attn_case_room(const attn_case_t *c, attn_room_t *room, const attn_suite_t *is,
                           const attn_variant_t *x, int on_device, char *buf, size_t n)
{
    char a[32], b[32];
    const double host_need =
        host_bytes(&c->L) + (!on_device && x->workspace ? (double)x->workspace(is, x, c->v) : 0);
    if (room->host_avail > 0 && host_need > 0.8 * room->host_avail) {
        snprintf(buf, n, "needs %s of host memory, %s available",
                 attn_fmt_bytes(host_need, a, sizeof a), attn_fmt_bytes(room->host_avail, b, sizeof b));
        return buf;
    }
    if (!on_device) return NULL;
    if (room->dev_known < 0)
        room->dev_known = attn_gpu_meminfo(&room->dev_free, &room->dev_total) == 0;
    /* 256 MiB beyond the buffers: the context, cuBLAS handles, allocator slack */
    const double slack = 256.0 * (1 << 20), dev_need = device_bytes(c, is, x) + slack;
    if (room->dev_known != 1 || dev_need <= (double)room->dev_free) return NULL;
    snprintf(buf, n, "needs %s of device memory, %s free",
             attn_fmt_bytes(dev_need - slack, a, sizeof a),
             attn_fmt_bytes((double)room->dev_free, b, sizeof b));
    return buf;
}
