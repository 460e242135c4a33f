/* Result rows: the stdout line and the CSV row of a variant's result, and the --plan rows; both
 * kinds of CSV row through the one column table (bench/columns.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "columns.h"
#include "isolate.h"
#include "progress.h"
#include "runner.h"

void run_count(run_t *r, const char *status)
{
    if (!strcmp(status, "ok")) r->nok++;
    else if (!strcmp(status, "fail")) r->nfail++;
    else r->nskip++;
}

/* stdout: one line per row, nvbench-like (printed by whoever writes the row) */
static void stdout_line(const attn_suite_t *s, const attn_variant_t *x, const char *cs,
                        const result_t *res, double fl, double by, char *line, size_t n)
{
    const char *dt = attn_dtype_name(x->dtype);
    if (res->st.n)
        snprintf(line, n, "%-6s %-12s %-4s %-4s %s  %.4f ms  %.3f TFLOP/s  %.1f GB/s  err %.2e",
                 s->name, x->name, dt, res->status, cs, res->st.median,
                 fl / (res->st.median * 1e-3) / 1e12, by / (res->st.median * 1e-3) / 1e9,
                 res->checked ? res->chk.max_abs_err : NAN);
    else if (res->checked && !strcmp(res->status, "ok"))
        snprintf(line, n, "%-6s %-12s %-4s %-4s %s  err %.2e (tolerance %.2e)", s->name, x->name,
                 dt, res->status, cs, res->chk.max_abs_err, res->chk.tol_abs);
    else
        snprintf(line, n, "%-6s %-12s %-4s %-4s %s  %s", s->name, x->name, dt, res->status, cs,
                 res->reason);
}

/* The CSV row of a result. */
static void result_row(const run_t *r, const attn_suite_t *s, const attn_variant_t *x,
                       const int64_t *v, const result_t *res, attn_row_t *row)
{
    const attn_exec_t *e = attn_exec_of(&r->sel, x);
    const double fl = s->flops(s, v), by = s->bytes(s, v, attn_dtype_size(x->dtype));
    const int timed = res->st.n > 0;
    const double tflops = timed ? fl / (res->st.median * 1e-3) / 1e12 : NAN;
    const double gbps = timed ? by / (res->st.median * 1e-3) / 1e9 : NAN;
    /* The share of the device's measured ceilings (GPU rows of a calibrated run). */
    const attn_device_t *d = e->dev && e->dev->usable ? e->dev : NULL;
    char where[160];
    const attn_rowvals_t rv = {
        .s = s, .v = v, .variant = x->name, .backend = e->backend,
        .dtype = attn_dtype_name(x->dtype), .status = res->status, .reason = res->reason,
        .st = timed ? &res->st : NULL, .flops = fl, .bytes = by, .tflops = tflops, .gbps = gbps,
        .pct_peak = d && timed && d->peak_tflops > 0
                        ? 100.0 * fl / (res->st.median * 1e-3) / 1e12 / d->peak_tflops
                        : NAN,
        .pct_bw = d && timed && d->peak_gbps > 0
                      ? 100.0 * by / (res->st.median * 1e-3) / 1e9 / d->peak_gbps
                      : NAN,
        .max_abs_err = res->checked ? res->chk.max_abs_err : NAN,
        .rel_l2_err = res->checked ? res->chk.rel_l2_err : NAN,
        .tolerance_rel = s->tolerance(s, v, x->dtype),
        .tolerance_abs = res->checked ? res->chk.tol_abs : NAN,
        .rows_checked = res->checked ? res->rows_checked : -1,
        .rows = res->checked ? res->rows : -1, .seed = r->o.seed,
        .device = e->where(e, r->cpu_name, where, sizeof where), .dev = d,
        .clock_mhz = res->clock_mhz, .clock_events = res->clock_events,
        .git = r->git, .stamp = r->stamp,
    };
    attn_columns_row(&rv, row);
}

/* In a case's child: the parent prints and writes the row. The message: the text
 * "status\nCSV row\nstdout line", a NUL, then the row's timing samples in the order taken, as
 * this machine's doubles (none: not timed), for --json (the CSV row has their statistics). */
static void send_row(run_t *r, int j, const char *status, const attn_row_t *row, const char *line,
                     const double *ms, int nms)
{
    run_flush_manifest(r);
    const size_t sl = strlen(status), rl = row ? row->len : 0, ll = strlen(line);
    const size_t tl = sl + rl + ll + 2;
    double *send = nms > 0 ? malloc((size_t)nms * sizeof *send) : NULL;
    if (nms > 0 && !send) abort();
    if (nms > 0) memcpy(send, ms, (size_t)nms * sizeof *send);
    int k = nms > 0 ? attn_child_samples(send, nms) : 0;
    k = k < 0 ? 0 : k > nms ? nms : k;
    char *msg = malloc(tl + 1 + (size_t)k * sizeof *send);
    if (!msg) abort();
    memcpy(msg, status, sl);
    msg[sl] = '\n';
    if (rl) memcpy(msg + sl + 1, row->buf, rl);
    msg[sl + 1 + rl] = '\n';
    memcpy(msg + sl + rl + 2, line, ll);
    msg[tl] = 0;
    if (k) memcpy(msg + tl + 1, send, (size_t)k * sizeof *send);
    run_child_send(r, 'R', j, msg, tl + 1 + (size_t)k * sizeof *send);
    free(msg);
    free(send);
}

static void append_row(attn_csv_t *csv, const attn_row_t *row, const double *ms, int nms)
{
    if (attn_csv_append_timed(csv, row, ms, nms))
        fprintf(stderr, "attnbench: writing a row to %s failed: %s\n", csv->path, strerror(errno));
}

void run_write_row(run_t *r, attn_csv_t *csv, const attn_suite_t *s, const attn_variant_t *x,
                   const int64_t *v, const result_t *res)
{
    char cs[512], line[1200];
    attn_case_str(s, v, cs, sizeof cs);
    if (r->child_fd < 0 && !r->first_skip[0] && !strcmp(res->status, "skip"))
        snprintf(r->first_skip, sizeof r->first_skip, "%.60s: %.180s", x->name, res->reason);
    stdout_line(s, x, cs, res, s->flops(s, v), s->bytes(s, v, attn_dtype_size(x->dtype)), line,
                sizeof line);
    if (r->child_fd < 0) {
        attn_progress_hide(); /* on a terminal: the row above the progress line */
        printf("%s\n", line);
        fflush(stdout);
        attn_progress_show();
        if (!csv) {
            run_count(r, res->status);
            return;
        }
    }
    attn_row_t row;
    attn_row_init(&row);
    result_row(r, s, x, v, res, &row);
    /* the samples: only with the statistics of the row (a timed row) */
    const int nms = res->st.n > 0 && res->samples_ms ? res->st.n : 0;
    if (r->child_fd >= 0)
        send_row(r, (int)(x - s->variants), res->status, csv ? &row : NULL, line, res->samples_ms,
                 csv ? nms : 0);
    else {
        run_count(r, res->status);
        append_row(csv, &row, res->samples_ms, nms);
    }
    attn_row_free(&row);
}

/* --plan: the rows a run would write for every selected variant at case v, status "planned",
 * with flops, bytes (at the variant's dtype) and tolerance_rel (of max|out - ref| / max|ref|)
 * filled and nothing measured (tolerance_abs needs the reference); reason says when the
 * variant cannot take the case.
 * Peers scripts fill in the rest and write rows of the same schema. */
void run_plan_rows(run_t *r, const attn_suite_t *s, const int64_t *v, attn_csv_t *csv)
{
    attn_row_t row;
    attn_row_init(&row);
    for (int j = 0; j < s->nvariants; j++) {
        const attn_variant_t *x = &s->variants[j];
        if (!attn_selected(&r->sel, x) || (r->o.sweep && x->in_sweep && !x->in_sweep(s, x, v)))
            continue;
        const attn_rowvals_t rv = {
            .s = s, .v = v, .variant = x->name, .backend = attn_backend_name(x->backend),
            .dtype = attn_dtype_name(x->dtype), .status = "planned",
            .reason = x->supports ? x->supports(s, x, v) : NULL,
            .flops = s->flops(s, v), .bytes = s->bytes(s, v, attn_dtype_size(x->dtype)),
            .tflops = NAN, .gbps = NAN, .pct_peak = NAN, .pct_bw = NAN, .max_abs_err = NAN,
            .rel_l2_err = NAN, .tolerance_rel = s->tolerance(s, v, x->dtype),
            .tolerance_abs = NAN, .rows_checked = -1, .rows = -1, .seed = r->o.seed,
            .git = r->git, .stamp = r->stamp,
        };
        attn_columns_row(&rv, &row);
        if (csv) append_row(csv, &row, NULL, 0); /* a file, or --json alone */
        if (!csv || csv->fd < 0) printf("%s\n", row.buf);
    }
    attn_row_free(&row);
}
