/* The summary of results CSVs, as tables that --md writes as Markdown and `attnbench report` as
 * HTML (one computation, two renderings). Read by the one results reader (results.h): of the rows
 * of a case the winner counts.
 *   failures      every case whose winner is a fail: suite, variant, backend, dtype, case, reason
 *   best          per case (suite and axes, every device): the timed winner with the most TFLOP/s
 *                 (the lowest median where tflops is empty), its % of the measured peak
 *                 (pct_peak) and how many variants were timed
 *   skips         skipped winners grouped by (suite, variant, backend, reason), with a count
 *   provenance    the distinct (device, sm, driver, runtime, commit) of the rows, with their row
 *                 counts and first and last timestamps */
#ifndef ATTN_SUMMARY_H
#define ATTN_SUMMARY_H

#include <stdio.h>
#include "results.h"

/* A table: an id (the HTML anchor), a title, a note under it, columns and cells (malloc'd). */
typedef struct attn_tab {
    const char *id, *title;
    char *note;
    int ncols;
    const char *const *cols;
    int nrows;
    char **cells; /* nrows * ncols */
} attn_tab_t;

enum { ATTN_TAB_FAILURES, ATTN_TAB_BEST, ATTN_TAB_SKIPS, ATTN_TAB_PROVENANCE, ATTN_NTABS };

typedef struct attn_summary {
    attn_tab_t tab[ATTN_NTABS];
    int nrows, ncases, ntimed, nchecked, nfail, nskip; /* winners by kind; nrows: every row */
    int nkeys, nother;   /* (variant, case) pairs; of them neither of the four (planned) */
} attn_summary_t;

/* The summary of r. 0, or -1 out of memory. */
int attn_summary_build(const attn_results_t *r, attn_summary_t *s);
void attn_summary_free(attn_summary_t *s);

/* "24 rows of `a.csv`: 24 cases of a variant; 24 timed, ..." (names[0..n) quoted by q). */
void attn_summary_totals(FILE *f, const attn_summary_t *s, const char *const *names, int n,
                         const char *q0, const char *q1);

/* The summary as Markdown: a title line, the totals, then the tables in order (failures first). */
void attn_summary_md(FILE *f, const attn_summary_t *s, const char *const *names, int n);

/* text with &, <, >, " and ' escaped for HTML. */
void attn_html_text(FILE *f, const char *text);

/* Table t as an HTML <section id=...> with an <h2>, its note and a <table>. */
void attn_summary_html_tab(FILE *f, const attn_tab_t *t);

/* Read the results CSVs at paths[0..n) and write their summary as Markdown to out, naming the
 * files names[0..nn) in its first line. 0; 2 an unreadable file (the message names it) or out
 * cannot be written. */
int attn_summary_md_files(const char *out, const char *const *paths, int n,
                          const char *const *names, int nn);

#endif
