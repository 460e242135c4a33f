#include "table.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The end of the record starting at s: the first line end outside quotes (or end), without
 * its CR. Sets *next to the start of the following record and *open when end came inside
 * quotes. */
static const char *record_end(const char *s, const char *end, const char **next, int *open)
{
    int q = 0;
    for (const char *p = s; p < end; p++) {
        if (*p == '"') q = !q;
        else if (*p == '\n' && !q) {
            *next = p + 1;
            *open = 0;
            return p > s && p[-1] == '\r' ? p - 1 : p;
        }
    }
    *next = end;
    *open = q;
    return end;
}

/* Split record [s, e) into fields: unescaped, NUL-terminated, in one malloc'd block (*block),
 * pointers in *fields (malloc'd). Returns the field count, or -1 on broken quoting (a bare quote
 * in an unquoted field, text after a closing quote, an unterminated quote). */
static int split(const char *s, const char *e, char **block, char ***fields)
{
    const size_t len = (size_t)(e - s);
    char *out = malloc(len + 1), **f = NULL;
    int nf = 0, cap = 0;
    size_t k = 0;
    const char *q = s;
    if (!out) return -1;
    for (;;) {
        if (nf == cap) {
            cap = cap ? cap * 2 : 64;
            char **g = realloc(f, (size_t)cap * sizeof *g);
            if (!g) goto bad;
            f = g;
        }
        f[nf++] = (char *)(uintptr_t)k; /* an offset until the block is complete */
        if (q < e && *q == '"') {
            for (q++;; q++) {
                if (q >= e) goto bad;
                if (*q == '"') {
                    if (q + 1 < e && q[1] == '"') {
                        out[k++] = '"';
                        q++;
                        continue;
                    }
                    q++;
                    break;
                }
                out[k++] = *q;
            }
            if (q < e && *q != ',') goto bad;
        } else {
            for (; q < e && *q != ','; q++) {
                if (*q == '"') goto bad;
                out[k++] = *q;
            }
        }
        out[k++] = 0;
        if (q >= e) break;
        q++; /* the comma; a comma at the very end gives one more, empty, field */
    }
    for (int i = 0; i < nf; i++) f[i] = out + (uintptr_t)f[i];
    *block = out;
    *fields = f;
    return nf;
bad:
    free(out);
    free(f);
    return -1;
}

int attn_table_parse(attn_table_t *t, const char *name, const char *text, size_t len, int warn,
                     char *err, size_t n)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    const char *p = text, *end = text + len;
    int line = 1, cap = 0;
    while (p < end) {
        const char *next;
        int open;
        const char *e = record_end(p, end, &next, &open);
        const int start = line;
        for (const char *c = p; c < next; c++) line += *c == '\n';
        if (e == p) { /* empty line */
            p = next;
            continue;
        }
        char *block = NULL, **f = NULL;
        int nf = open ? -1 : split(p, e, &block, &f);
        if (!t->cols) { /* the header */
            if (nf < 0) {
                snprintf(err, n, "%s line %d: the header line has broken quoting", name, start);
                return -1;
            }
            t->ncols = nf, t->cols = f; /* f[0] is the block */
            (void)block;
            t->header = strndup(p, (size_t)(e - p));
            if (!t->header) goto oom;
            p = next;
            continue;
        }
        int same_as_header = nf == t->ncols;
        for (int i = 0; same_as_header && i < nf; i++) same_as_header = !strcmp(f[i], t->cols[i]);
        if (nf != t->ncols || same_as_header) {
            if (same_as_header) t->nrepeat++;
            else {
                t->nbad++;
                if (warn)
                    fprintf(stderr, "attnbench: %s line %d: %s; row skipped: %.60s%s\n", name,
                            start, nf < 0 ? "broken quoting" : "wrong number of fields",
                            p, e - p > 60 ? "..." : "");
            }
            if (nf >= 0) free(block), free(f);
            p = next;
            continue;
        }
        if (t->nrows == cap) {
            cap = cap ? cap * 2 : 256;
            char ***r = realloc(t->rows, (size_t)cap * sizeof *r);
            char **w = realloc(t->raw, (size_t)cap * sizeof *w);
            int *l = realloc(t->line, (size_t)cap * sizeof *l);
            if (r) t->rows = r;
            if (w) t->raw = w;
            if (l) t->line = l;
            if (!r || !w || !l) {
                free(block), free(f);
                goto oom;
            }
        }
        t->raw[t->nrows] = strndup(p, (size_t)(e - p));
        if (!t->raw[t->nrows]) {
            free(block), free(f);
            goto oom;
        }
        t->rows[t->nrows] = f; /* f[0] is the block */
        t->line[t->nrows++] = start;
        p = next;
    }
    if (!t->cols) {
        snprintf(err, n, "%s: empty, no header line", name);
        return -1;
    }
    return 0;
oom:
    snprintf(err, n, "%s: out of memory", name);
    attn_table_free(t);
    return -1;
}

int attn_table_read(attn_table_t *t, const char *path, char *err, size_t n)
{
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, n, "cannot read '%s': %s", path, strerror(errno));
        return -1;
    }
    size_t cap = 1 << 16, len = 0, got;
    char *b = malloc(cap);
    while (b && (got = fread(b + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            char *nb = realloc(b, cap * 2);
            if (!nb) { free(b); b = NULL; break; }
            b = nb, cap *= 2;
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (!b || bad) {
        snprintf(err, n, "cannot read '%s': %s", path, b ? "read error" : "out of memory");
        free(b);
        return -1;
    }
    int rc = attn_table_parse(t, path, b, len, 1, err, n);
    free(b);
    return rc;
}

void attn_table_free(attn_table_t *t)
{
    if (t->cols) free(t->cols[0]);
    free(t->cols);
    for (int i = 0; i < t->nrows; i++) {
        free(t->rows[i][0]);
        free(t->rows[i]);
        free(t->raw[i]);
    }
    free(t->rows);
    free(t->raw);
    free(t->line);
    free(t->header);
    memset(t, 0, sizeof *t);
}

int attn_table_col(const attn_table_t *t, const char *name)
{
    for (int i = 0; i < t->ncols; i++)
        if (!strcmp(t->cols[i], name)) return i;
    return -1;
}

/* Append ", name" (or "name") to buf within n. */
static void add_name(char *buf, size_t n, const char *name)
{
    size_t l = strlen(buf);
    if (l + 1 < n) snprintf(buf + l, n - l, "%s%s", l ? ", " : "", name);
}

int attn_table_same_schema(const attn_table_t *a, const attn_table_t *b, char *err, size_t n)
{
    int same = a->ncols == b->ncols;
    for (int i = 0; same && i < a->ncols; i++) same = !strcmp(a->cols[i], b->cols[i]);
    if (same) return 0;
    char only_a[512] = "", only_b[512] = "";
    for (int i = 0; i < a->ncols; i++)
        if (attn_table_col(b, a->cols[i]) < 0) add_name(only_a, sizeof only_a, a->cols[i]);
    for (int i = 0; i < b->ncols; i++)
        if (attn_table_col(a, b->cols[i]) < 0) add_name(only_b, sizeof only_b, b->cols[i]);
    if (only_a[0] || only_b[0])
        snprintf(err, n, "%s and %s have different columns: only in %s: %s; only in %s: %s",
                 a->name, b->name, a->name, only_a[0] ? only_a : "(none)", b->name,
                 only_b[0] ? only_b : "(none)");
    else {
        int i = 0;
        while (!strcmp(a->cols[i], b->cols[i])) i++;
        snprintf(err, n, "%s and %s have the same columns in another order: column %d is '%s' "
                         "in one, '%s' in the other",
                 a->name, b->name, i + 1, a->cols[i], b->cols[i]);
    }
    return -1;
}
