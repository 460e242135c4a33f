/* Results files: one header, then one row per (suite, variant, case), appended safely.
 *
 * Safety rules: a file is opened with O_APPEND; an existing non-empty file must start with the
 * exact same header (else it is refused, never rewritten); a last line cut short by an earlier
 * crash is terminated before new rows go in, so it never merges with them; every row is written
 * under an exclusive flock() by a single write() of the whole line, so concurrent writers do not
 * interleave half-lines. Rows already in the file are never touched. */
#ifndef ATTN_CSV_H
#define ATTN_CSV_H

#include <stddef.h>
#include "registry.h"

/* Another output fed every row appended (--json, --md: bench/outputs.h), with the header and
 * the row's timing samples (ms, in the order taken; n 0: not timed), which the CSV has not. */
typedef void attn_csv_mirror_fn(void *ctx, const char *header, const char *row,
                                const double *samples_ms, int n);

typedef struct attn_csv {
    int fd;               /* -1 with a mirror: rows go to the mirror alone (--check, no --csv) */
    char path[1024];      /* "standard output" for --csv - */
    int to_stdout;        /* opened as "-": rows go to standard output */
    int created_dir;      /* the directory of path did not exist and was created */
    attn_csv_mirror_fn *mirror; /* NULL after attn_csv_open; set by the caller after it */
    void *mirror_ctx;
    char *header;         /* the mirror's header line (the caller's) */
} attn_csv_t;

/* A growing line of CSV fields with RFC 4180 quoting. */
typedef struct attn_row {
    char *buf;
    size_t len, cap;
    int nfields;
} attn_row_t;

void attn_row_init(attn_row_t *r);
void attn_row_free(attn_row_t *r);
void attn_row_clear(attn_row_t *r);
void attn_row_str(attn_row_t *r, const char *s);     /* quoted when needed; NULL → empty */
void attn_row_int(attn_row_t *r, long long v);
void attn_row_num(attn_row_t *r, double v);           /* %.6g; NaN → empty field */

/* The header line (no newline) for suite s, from the column table (bench/columns.h); see
 * README "CSV schema". */
void attn_csv_header(const attn_suite_t *s, attn_row_t *r);

/* Open path for appending (creating parent directories, and setting created_dir then). The
 * path "-" is standard output: the header is written first, always. Returns 0, or -1 with a
 * message in err naming the path and the reason. */
int attn_csv_open(attn_csv_t *c, const char *path, const char *header, char *err, size_t n);

/* Whether rows given to c go anywhere: a file, or a mirror. */
static inline int attn_csv_active(const attn_csv_t *c) { return c->fd >= 0 || c->mirror; }

/* Append one row (without newline), then hand it to the mirror. Returns 0 or -1 (errno set). */
int attn_csv_append(attn_csv_t *c, const attn_row_t *row);
/* The same for a timed row: its samples go to the mirror only. */
int attn_csv_append_timed(attn_csv_t *c, const attn_row_t *row, const double *samples_ms, int n);

/* Append len bytes of complete lines (each ending in '\n'), in one write() under the lock, so
 * other writers never see a part of them. Returns 0 or -1 (errno set). */
int attn_csv_append_lines(attn_csv_t *c, const char *text, size_t len);
void attn_csv_close(attn_csv_t *c);

/* mkdir -p of the directory part of path (or of path itself when is_dir). */
int attn_mkdirs(const char *path, int is_dir);

/* Create directory dir (its parents as needed) as a new directory of this process: when dir
 * exists (another run started in the same second), dir-2, dir-3, ... each made by mkdir, which
 * fails on an existing name, so two processes never share one. The name made is left in dir (n
 * bytes). 0, or -1 (errno set). */
int attn_mkdir_unique(char *dir, size_t n);

#endif
