/* The column table behind attn_columns_header and attn_columns_row. */
#include "columns.h"
#include "plugin.h"

#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define STR(f) \
    static void put_##f(attn_row_t *r, const attn_rowvals_t *rv) { attn_row_str(r, rv->f); }
#define NUM(f) \
    static void put_##f(attn_row_t *r, const attn_rowvals_t *rv) { attn_row_num(r, rv->f); }
#define STAT(f) \
    static void put_##f(attn_row_t *r, const attn_rowvals_t *rv) \
    { attn_row_num(r, rv->st ? rv->st->f : NAN); }
/* sm .. peak_gbps: the row's GPU, empty without one; unknown or unmeasured values empty too */
#define DEV(f, expr) \
    static void put_##f(attn_row_t *r, const attn_rowvals_t *rv) \
    { const attn_device_t *d = rv->dev; if (d) expr; else attn_row_str(r, NULL); }

static void put_suite(attn_row_t *r, const attn_rowvals_t *rv) { attn_row_str(r, rv->s->name); }
STR(variant)
STR(backend)
STR(dtype)
STR(status)
STR(reason)
static void put_samples(attn_row_t *r, const attn_rowvals_t *rv)
{
    if (rv->st) attn_row_int(r, rv->st->n);
    else attn_row_str(r, NULL);
}
STAT(median)
STAT(min)
STAT(max)
STAT(iqr)
NUM(flops)
NUM(bytes)
NUM(tflops)
NUM(gbps)
NUM(pct_peak)
NUM(pct_bw)
NUM(max_abs_err)
NUM(rel_l2_err)
NUM(tolerance_rel)
NUM(tolerance_abs)
/* rows_checked, rows: empty when nothing was checked */
#define COUNT(f) \
    static void put_##f(attn_row_t *r, const attn_rowvals_t *rv) \
    { if (rv->f >= 0) attn_row_int(r, (long long)rv->f); else attn_row_str(r, NULL); }
COUNT(rows_checked)
COUNT(rows)
static void put_seed(attn_row_t *r, const attn_rowvals_t *rv) { attn_row_int(r, (long long)rv->seed); }
STR(device)
DEV(sm, attn_row_int(r, d->sm))
DEV(driver, attn_row_int(r, d->driver))
DEV(runtime, attn_row_int(r, d->runtime))
DEV(clock_max, d->clock_mhz ? attn_row_int(r, d->clock_mhz) : attn_row_str(r, NULL))
static void put_clock(attn_row_t *r, const attn_rowvals_t *rv)
{
    if (rv->clock_mhz > 0) attn_row_int(r, (long long)(rv->clock_mhz + 0.5));
    else attn_row_str(r, NULL);
}
/* NVML's clock event reasons as hex (0x0: none; 0x1 idle, 0x4 software power cap, 0x8 hardware
 * slowdown, 0x20 and 0x40 software and hardware thermal slowdown, 0x80 power brake) */
static void put_clock_events(attn_row_t *r, const attn_rowvals_t *rv)
{
    char hex[32];
    snprintf(hex, sizeof hex, "0x%llx", rv->clock_events);
    attn_row_str(r, rv->clock_mhz > 0 ? hex : NULL);
}
DEV(peak_tflops, attn_row_num(r, d->peak_tflops > 0 ? d->peak_tflops : NAN))
DEV(peak_gbps, attn_row_num(r, d->peak_gbps > 0 ? d->peak_gbps : NAN))
STR(git)
STR(stamp)
/* a plugin's rows name it and its hash (bench/plugin.h); built-in rows: empty */
static void put_source(attn_row_t *r, const attn_rowvals_t *rv)
{
    attn_row_str(r, attn_plugin_source(rv->s->name, rv->variant));
}

/* name NULL: the suite's axes, one column each, named after the axis. text: a string column (the
 * rest, axes included, hold numbers or are empty), for writers that type their values (--json). */
static const struct column {
    const char *name;
    void (*put)(attn_row_t *r, const attn_rowvals_t *rv);
    int text;
} columns[] = {
    {"suite", put_suite, 1},             {"variant", put_variant, 1},
    {"backend", put_backend, 1},         {"dtype", put_dtype, 1},
    {NULL, NULL, 0},                     {"status", put_status, 1},
    {"reason", put_reason, 1},           {"samples", put_samples, 0},
    {"median_ms", put_median, 0},        {"min_ms", put_min, 0},
    {"max_ms", put_max, 0},              {"iqr_ms", put_iqr, 0},
    {"flops", put_flops, 0},             {"bytes", put_bytes, 0},
    {"tflops", put_tflops, 0},           {"gbps", put_gbps, 0},
    {"pct_peak", put_pct_peak, 0},       {"pct_bw", put_pct_bw, 0},
    {"max_abs_err", put_max_abs_err, 0}, {"rel_l2_err", put_rel_l2_err, 0},
    {"tolerance_rel", put_tolerance_rel, 0},
    {"tolerance_abs", put_tolerance_abs, 0}, {"rows_checked", put_rows_checked, 0},
    {"rows", put_rows, 0},               {"seed", put_seed, 0},
    {"device", put_device, 1},           {"sm", put_sm, 0},
    {"driver", put_driver, 0},           {"runtime", put_runtime, 0},
    {"sm_clock_max_mhz", put_clock_max, 0}, {"sm_clock_mhz", put_clock, 0},
    {"clock_events", put_clock_events, 1}, {"peak_tflops", put_peak_tflops, 0},
    {"peak_gbps", put_peak_gbps, 0},     {"git_commit", put_git, 1},
    {"timestamp", put_stamp, 1},    {"source", put_source, 1},
};

void attn_columns_header(const attn_suite_t *s, attn_row_t *r)
{
    attn_row_clear(r);
    for (size_t c = 0; c < sizeof columns / sizeof *columns; c++)
        if (columns[c].name) attn_row_str(r, columns[c].name);
        else for (int i = 0; i < s->naxes; i++) attn_row_str(r, s->axes[i].name);
}

void attn_columns_row(const attn_rowvals_t *rv, attn_row_t *r)
{
    attn_row_clear(r);
    for (size_t c = 0; c < sizeof columns / sizeof *columns; c++)
        if (columns[c].put) columns[c].put(r, rv);
        else for (int i = 0; i < rv->s->naxes; i++) attn_row_int(r, (long long)rv->v[i]);
}

int attn_columns_text(const char *name)
{
    for (size_t c = 0; c < sizeof columns / sizeof *columns; c++)
        if (columns[c].name && !strcmp(columns[c].name, name)) return columns[c].text;
    return 0;
}
