/* A run's outputs beside its CSVs: --json PATH (every row as it is written, JSON Lines: json.h)
 * and --md PATH (the run's summary in Markdown, written at its end: summary.h). Both are fed by
 * the CSV writer's mirror (csv.h), so they see exactly the rows the CSV gets, in process or from
 * an isolated case's child, and also when a --check run writes no CSV. */
#ifndef ATTN_OUTPUTS_H
#define ATTN_OUTPUTS_H

#include "json.h"

#define ATTN_OUTPUTS_MAX_SUITES 64

typedef struct attn_outputs {
    attn_json_t json;
    int use_json;
    const char *md;                                 /* NULL: no --md */
    int nsuites;
    char *header[ATTN_OUTPUTS_MAX_SUITES];          /* per suite seen: its CSV header */
    attn_buf_t text[ATTN_OUTPUTS_MAX_SUITES];       /* and its rows, as CSV, for --md */
    int nbad;                                       /* rows --json could not take */
} attn_outputs_t;

/* Open --json (appending) and check --md can be written (it is created empty now, so a bad path
 * is refused before anything runs). json, md: NULL when not asked. 0, or -1 with a message. */
int attn_outputs_open(attn_outputs_t *o, const char *json, const char *md, char *err, size_t n);

/* The CSV mirror (attn_csv_mirror_fn): ctx is the attn_outputs_t. */
void attn_outputs_row(void *ctx, const char *header, const char *row, const double *samples_ms,
                      int n);

/* Close --json; write --md, naming the run's CSVs names[0..nn) (nn 0: "this run"). Returns 0,
 * or 2 when --md could not be written (said on stderr). */
int attn_outputs_close(attn_outputs_t *o, const char *const *names, int nn);

#endif
