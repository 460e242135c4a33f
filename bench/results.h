/* Results CSVs read back, by every command that reads them (compare, floors, merge, plots): the
 * files as text tables, and the one rule that says which row of a case counts (compare, floors
 * and plots judge by it; merge only appends rows, every one kept, and needs no winner).
 *
 * The text (attn_table_*). Records follow RFC 4180: quoted fields may hold commas, doubled quotes
 * and line breaks; lines end with LF or CRLF. Empty lines and repeats of the header line (files
 * concatenated) are skipped. A record with a wrong field count or broken quoting (e.g. a row cut
 * short by a crash, which csv.c terminates) is skipped with a warning naming its line, and
 * counted.
 *
 * Which row wins (attn_results_*). Files are read by column name (any column order, extra
 * columns ignored); the axes are the columns between `dtype` and `status`. Rows are keyed by
 * (suite, variant, backend, dtype, device, every axis name and value), axis values compared as
 * numbers when they are numbers ("4096" and "4096.0" are one value). A row is
 *   a timing       status ok and a median_ms > 0: a measurement;
 *   a failure      status fail: a measurement (the code as it was last run fails);
 *   no statement   status skip, or ok without a median (a --check run), or anything else.
 * Among the rows of one key, in order (files in the order given, rows in file order), the
 * winner is the latest measurement; a key with no measurement is won by its latest row. So a
 * later --check row or a later skip never hides an earlier timing or failure, and a later
 * timing clears an earlier failure. A failure does win over an earlier timing, but never
 * silently: the reader keeps the key's last timing beside its winner (`timed`), and every caller
 * says "fails after an earlier timing" where it reports such a key (compare, floors) or does not
 * draw it (plots: a warning). A --check row that passes after a failure does not clear it: time
 * the case again. */
#ifndef ATTN_RESULTS_H
#define ATTN_RESULTS_H

#include <stddef.h>

typedef struct attn_table {
    char name[1024];    /* the path, for messages */
    char *header;       /* the header record as in the file (no line end) */
    int ncols;
    char **cols;        /* header fields */
    int nrows;
    char ***rows;       /* rows[i][c]: ncols unescaped fields */
    char **raw;         /* row i's record as in the file, without its line end */
    int *line;          /* line number where row i starts */
    int nbad;           /* records skipped: wrong field count or broken quoting */
    int nrepeat;        /* repeated header lines skipped */
} attn_table_t;

/* Parse len bytes of text as a results CSV called name. Returns 0, or -1 with a message in err
 * (no header line, or a header with broken quoting). Warnings go to stderr when warn is set. */
int attn_table_parse(attn_table_t *t, const char *name, const char *text, size_t len, int warn,
                     char *err, size_t n);

/* Read and parse the file at path. Returns 0, or -1 with a message naming the path. */
int attn_table_read(attn_table_t *t, const char *path, char *err, size_t n);

void attn_table_free(attn_table_t *t);

/* Index of the column called name, or -1. */
int attn_table_col(const attn_table_t *t, const char *name);

/* 0 when a and b have the same header; else -1 with a message in err naming the columns that
 * differ (present in one only, or in another order). */
int attn_table_same_schema(const attn_table_t *a, const attn_table_t *b, char *err, size_t n);

/* ------------------------------------------------------------------ which row wins */

/* A row of a results set: file index and row index in that file's table; file -1: none. */
typedef struct attn_rowref {
    int file, row;
} attn_rowref_t;

typedef enum attn_row_kind { ATTN_ROW_NONE, ATTN_ROW_TIMED, ATTN_ROW_FAIL } attn_row_kind_t;

/* One key (see above) and its rows. */
typedef struct attn_result {
    attn_rowref_t win;    /* the winner */
    attn_rowref_t timed;  /* the last timing of the key (== win when the winner is a timing), or
                           * file -1 */
    attn_rowref_t first;  /* the key's first row: the order of keys */
    int nrows;            /* rows of the key */
    char *key;            /* suite, variant, backend, dtype, device, axes: '\x1f'-separated */
} attn_result_t;

/* A results file with its standard columns (-1: absent). */
typedef struct attn_results_file {
    attn_table_t t;
    int c_suite, c_variant, c_backend, c_dtype, c_status, c_reason, c_med, c_device;
    int ax0, ax1;         /* the axis columns: [ax0, ax1) */
} attn_results_file_t;

typedef struct attn_results {
    int nfiles;
    attn_results_file_t *f;
    int nkeys;
    attn_result_t *k;     /* in the order of their first rows */
    int ndup;             /* rows that repeat a key (not its first row) */
    int nlate_fail;       /* keys whose winner is a failure after a timing */
} attn_results_t;

/* Read the files at paths[0..n) (each needs the columns suite, variant, backend, dtype, status
 * and median_ms, with the axes between dtype and status) and find every key's winner. Returns 0,
 * or -1 with a message naming the file (r is then freed). */
int attn_results_load(attn_results_t *r, const char *const *paths, int n, char *err, size_t en);

void attn_results_free(attn_results_t *r);

/* The kind of a row (a timing, a failure, no statement). *ms gets a timing's median. */
attn_row_kind_t attn_results_kind(const attn_results_t *r, attn_rowref_t at, double *ms);

/* The field of column `col` of row at; "" when its file has no such column (or at is none). */
const char *attn_results_get(const attn_results_t *r, attn_rowref_t at, const char *col);

/* The field at column index c of row at's file; "" when c < 0. */
const char *attn_results_at(const attn_results_t *r, attn_rowref_t at, int c);

/* The table row at is in. */
static inline char **attn_results_row(const attn_results_t *r, attn_rowref_t at)
{
    return r->f[at.file].t.rows[at.row];
}

/* Whether the key's winner is a failure that came after a timing (see above). */
int attn_results_failed_after_timing(const attn_result_t *k);

#endif
