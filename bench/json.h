/* JSON output: the results rows of a run as JSON Lines (--json PATH), and the small writer that
 * compare --json and the report share. docs/json.md describes the schema.
 *
 * A row is the CSV row itself turned into one JSON object: the keys are the CSV header's column
 * names in its order (the one column table, bench/columns.h), preceded by "schema_version" and
 * followed by "samples_ms" (the timing samples, which the CSV summarises); text columns are
 * strings, the rest (the axes included) numbers, an empty field null. So --json and
 * --csv cannot drift apart: a new column reaches both. The file is written as the CSV is: opened
 * with O_APPEND, every row one write() of one whole line under flock, a line cut short by a crash
 * ended before new rows go in; several runs may append to one file. */
#ifndef ATTN_JSON_H
#define ATTN_JSON_H

#include <stddef.h>

#define ATTN_JSON_SCHEMA_VERSION 1

/* A growing NUL-terminated text. */
typedef struct attn_buf {
    char *p;
    size_t len, cap;
} attn_buf_t;

void attn_buf_add(attn_buf_t *b, const char *s, size_t n);
void attn_buf_puts(attn_buf_t *b, const char *s);
void attn_buf_printf(attn_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void attn_buf_free(attn_buf_t *b);

/* s as a JSON string (quoted, escaped; invalid UTF-8 bytes become U+FFFD); NULL: null. */
void attn_json_str(attn_buf_t *b, const char *s);
/* v as a JSON number; NaN or infinite: null. */
void attn_json_num(attn_buf_t *b, double v);
/* Whether s is a number by JSON's grammar (what a numeric field may be written as, verbatim). */
int attn_json_is_number(const char *s);

/* The JSON object (no newline) of one results row: header and row are CSV records of one
 * suite's file; the last key, "samples_ms", holds samples_ms[0..n) in their order, each exact
 * (it reads back as the same double), or [] (n 0: a row not timed). 0, or -1 when the records'
 * field counts differ or a record's quoting is broken. */
int attn_json_row(attn_buf_t *out, const char *header, const char *row, const double *samples_ms,
                  int n);

/* The --json file. */
typedef struct attn_json {
    int fd;
    char path[1024];
} attn_json_t;

/* Open path for appending (directories created); "-" is refused by the option table. 0, or -1
 * with a message naming the path in err. */
int attn_json_open(attn_json_t *j, const char *path, char *err, size_t n);
/* Append the row (see attn_json_row) as one line. 0, or -1 (errno set; EINVAL: a bad record). */
int attn_json_append(attn_json_t *j, const char *header, const char *row,
                     const double *samples_ms, int n);
void attn_json_close(attn_json_t *j);

#endif
