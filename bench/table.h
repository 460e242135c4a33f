/* Results CSVs read back (by compare and merge): the header and the rows, as text.
 *
 * Records follow RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; lines
 * end with LF or CRLF. Empty lines and repeats of the header line (files concatenated) are
 * skipped. A record with a wrong field count or broken quoting (e.g. a row cut short by a crash,
 * which csv.c terminates) is skipped with a warning naming its line, and counted. */
#ifndef ATTN_TABLE_H
#define ATTN_TABLE_H

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

#endif
