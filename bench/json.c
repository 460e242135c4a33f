#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "columns.h"
#include "csv.h"
#include "results.h"

void attn_buf_add(attn_buf_t *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) abort();
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

void attn_buf_puts(attn_buf_t *b, const char *s) { attn_buf_add(b, s, strlen(s)); }

void attn_buf_printf(attn_buf_t *b, const char *fmt, ...)
{
    va_list ap, aq;
    va_start(ap, fmt);
    va_copy(aq, ap);
    const int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        char *t = malloc((size_t)n + 1);
        if (!t) abort();
        vsnprintf(t, (size_t)n + 1, fmt, aq);
        attn_buf_add(b, t, (size_t)n);
        free(t);
    }
    va_end(aq);
}

void attn_buf_free(attn_buf_t *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* The length of the valid UTF-8 sequence at s (1..4), or 0. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 && s[0] >= 0xc2 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
            : (s[0] & 0xf8) == 0xf0 && s[0] <= 0xf4                  ? 4 : 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0))) return 0;
    if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))) return 0;
    return n;
}

void attn_json_str(attn_buf_t *b, const char *s)
{
    if (!s) {
        attn_buf_puts(b, "null");
        return;
    }
    attn_buf_puts(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\', esc[1] = (char)*p;
            attn_buf_add(b, esc, 2), p++;
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            attn_buf_add(b, esc, 6), p++;
        } else {
            const int n = utf8_len(p);
            if (n) attn_buf_add(b, (const char *)p, (size_t)n), p += n;
            else attn_buf_puts(b, "\xef\xbf\xbd"), p++; /* not UTF-8: U+FFFD, still valid JSON */
        }
    }
    attn_buf_puts(b, "\"");
}

void attn_json_num(attn_buf_t *b, double v)
{
    if (!isfinite(v)) attn_buf_puts(b, "null");
    else attn_buf_printf(b, "%.9g", v); /* the CSV keeps 6 digits */
}

int attn_json_is_number(const char *s)
{
    const char *p = s;
    if (*p == '-') p++;
    if (*p == '0') p++;
    else if (*p >= '1' && *p <= '9') while (*p >= '0' && *p <= '9') p++;
    else return 0;
    if (*p == '.') {
        if (*++p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (*p < '0' || *p > '9') return 0;
        while (*p >= '0' && *p <= '9') p++;
    }
    return *p == 0;
}

/* A sample exactly: the shortest of 15 or 17 significant digits that reads back as v. */
static void json_exact(attn_buf_t *b, double v)
{
    char t[40];
    if (!isfinite(v)) {
        attn_buf_puts(b, "null");
        return;
    }
    snprintf(t, sizeof t, "%.15g", v);
    if (strtod(t, NULL) != v) snprintf(t, sizeof t, "%.17g", v);
    attn_buf_puts(b, t);
}

int attn_json_row(attn_buf_t *out, const char *header, const char *row, const double *samples_ms,
                  int n)
{
    /* the two records read by the one CSV reader (results.h), quoting and all */
    const size_t hl = strlen(header), rl = strlen(row);
    char *text = malloc(hl + rl + 3), err[256];
    if (!text) abort();
    memcpy(text, header, hl), text[hl] = '\n';
    memcpy(text + hl + 1, row, rl), memcpy(text + hl + 1 + rl, "\n", 2);
    attn_table_t t;
    const int rc = attn_table_parse(&t, "row", text, hl + rl + 2, 0, err, sizeof err);
    free(text);
    if (rc || t.nrows != 1) {
        if (!rc) attn_table_free(&t);
        return -1;
    }
    attn_buf_printf(out, "{\"schema_version\":%d", ATTN_JSON_SCHEMA_VERSION);
    for (int c = 0; c < t.ncols; c++) {
        const char *v = t.rows[0][c];
        attn_buf_puts(out, ",");
        attn_json_str(out, t.cols[c]);
        attn_buf_puts(out, ":");
        if (!*v) attn_buf_puts(out, "null");
        else if (!attn_columns_text(t.cols[c]) && attn_json_is_number(v)) attn_buf_puts(out, v);
        else attn_json_str(out, v); /* text, or a number column holding something else */
    }
    attn_buf_puts(out, ",\"samples_ms\":[");
    for (int i = 0; i < n; i++) {
        if (i) attn_buf_puts(out, ",");
        json_exact(out, samples_ms[i]);
    }
    attn_buf_puts(out, "]}");
    attn_table_free(&t);
    return 0;
}

int attn_json_open(attn_json_t *j, const char *path, char *err, size_t n)
{
    j->fd = -1;
    snprintf(j->path, sizeof j->path, "%s", path);
    if (attn_mkdirs(path, 0)) {
        snprintf(err, n, "cannot create the directory of --json path '%s': %s", path,
                 strerror(errno));
        return -1;
    }
    const int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
    struct stat st;
    if (fd < 0 || fstat(fd, &st)) {
        snprintf(err, n, "cannot open --json path '%s' for appending: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, n, "--json path '%s' is not a regular file", path);
        close(fd);
        return -1;
    }
    /* a line cut short by a crash: ended, so it never merges with the next row */
    char last;
    flock(fd, LOCK_EX);
    int bad = st.st_size > 0 && pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n' &&
              write(fd, "\n", 1) != 1;
    flock(fd, LOCK_UN);
    if (bad) {
        snprintf(err, n, "cannot write --json path '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    j->fd = fd;
    return 0;
}

int attn_json_append(attn_json_t *j, const char *header, const char *row,
                     const double *samples_ms, int n)
{
    attn_buf_t b = {0};
    if (attn_json_row(&b, header, row, samples_ms, n)) return errno = EINVAL, -1;
    attn_buf_puts(&b, "\n");
    /* the CSV's locked single write, on this file */
    attn_csv_t c = {.fd = j->fd};
    const int rc = attn_csv_append_lines(&c, b.p, b.len);
    attn_buf_free(&b);
    return rc;
}

void attn_json_close(attn_json_t *j)
{
    if (j->fd >= 0) close(j->fd);
    j->fd = -1;
}
