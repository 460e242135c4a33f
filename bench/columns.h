/* The columns of a results row, as one table: the CSV header, the rows a run writes and the rows
 * --plan prints all walk it, so their order is written down once (README "CSV schema"). */
#ifndef ATTN_COLUMNS_H
#define ATTN_COLUMNS_H

#include <stdint.h>
#include "csv.h"
#include "device.h"
#include "stats.h"

/* One row's values. A NaN number or a NULL string is an empty field. */
typedef struct attn_rowvals {
    const attn_suite_t *s;
    const int64_t *v;              /* the case: one value per axis of s */
    const char *variant, *backend, *dtype, *status, *reason;
    const attn_stats_t *st;        /* NULL: not timed (samples .. iqr_ms empty) */
    double flops, bytes, tflops, gbps, pct_peak, pct_bw;
    double max_abs_err, rel_l2_err;
    double tolerance_rel;          /* the suite's tolerance for the dtype: of max|ref| */
    double tolerance_abs;          /* tolerance_rel · max|ref| of a checked case; else NaN */
    int64_t rows_checked, rows;    /* output rows compared, of rows; negative: not checked */
    uint64_t seed;
    const char *device;
    const attn_device_t *dev;      /* the GPU of the row; NULL: sm .. peak_gbps empty */
    double clock_mhz;              /* SM clock measured while timing; 0: not measured (empty) */
    unsigned long long clock_events; /* NVML clock event reasons then (empty when not measured) */
    const char *git, *stamp;
} attn_rowvals_t;

/* Clears r and writes the header line of suite s into it: the fixed columns with the suite's
 * axes, by name, where the table puts them. */
void attn_columns_header(const attn_suite_t *s, attn_row_t *r);

/* Clears r and writes the row of rv into it, column by column in the header's order. */
void attn_columns_row(const attn_rowvals_t *rv, attn_row_t *r);

/* Whether the column called name holds text (suite, status, reason, device, ...); 0 for the
 * numeric columns, the axes and names that are no column. */
int attn_columns_text(const char *name);

#endif
