#include "results.h"

#include <errno.h>
#include <math.h>
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

/* ------------------------------------------------------------------ which row wins */

/* s parsed whole as a finite number. */
static int as_number(const char *s, double *x)
{
    if (!s || !*s) return 0;
    char *e;
    errno = 0;
    *x = strtod(s, &e);
    return !*e && !errno && isfinite(*x);
}

const char *attn_results_at(const attn_results_t *r, attn_rowref_t at, int c)
{
    if (at.file < 0 || c < 0) return "";
    return r->f[at.file].t.rows[at.row][c];
}

const char *attn_results_get(const attn_results_t *r, attn_rowref_t at, const char *col)
{
    if (at.file < 0) return "";
    return attn_results_at(r, at, attn_table_col(&r->f[at.file].t, col));
}

attn_row_kind_t attn_results_kind(const attn_results_t *r, attn_rowref_t at, double *ms)
{
    const attn_results_file_t *f = &r->f[at.file];
    const char *st = f->t.rows[at.row][f->c_status];
    double x = 0;
    if (!strcmp(st, "fail")) return ATTN_ROW_FAIL;
    if (strcmp(st, "ok") || !as_number(f->t.rows[at.row][f->c_med], &x) || !(x > 0)) return ATTN_ROW_NONE;
    if (ms) *ms = x;
    return ATTN_ROW_TIMED;
}

int attn_results_failed_after_timing(const attn_result_t *k)
{
    return k->timed.file >= 0 && (k->timed.file != k->win.file || k->timed.row != k->win.row);
}

/* Open one file and find its standard columns. */
static int load_file(attn_results_file_t *f, const char *path, char *err, size_t en)
{
    if (attn_table_read(&f->t, path, err, en)) return -1;
    const char *need[] = {"suite", "variant", "backend", "dtype", "status", "median_ms"};
    int *at[] = {&f->c_suite, &f->c_variant, &f->c_backend, &f->c_dtype, &f->c_status, &f->c_med};
    char missing[256] = "";
    for (int i = 0; i < 6; i++)
        if ((*at[i] = attn_table_col(&f->t, need[i])) < 0)
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s'%s'",
                     missing[0] ? ", " : "", need[i]);
    if (missing[0]) {
        snprintf(err, en, "%s has no column %s: not an attnbench results CSV", path, missing);
        return -1;
    }
    f->c_reason = attn_table_col(&f->t, "reason");
    f->c_device = attn_table_col(&f->t, "device");
    f->ax0 = f->c_dtype + 1, f->ax1 = f->c_status;
    if (f->ax1 < f->ax0) {
        snprintf(err, en, "%s: column 'status' comes before 'dtype': the axes (between them) "
                          "cannot be told", path);
        return -1;
    }
    return 0;
}

/* The key of row `row` of file f (malloc'd), or NULL when out of memory. */
static char *row_key(const attn_results_file_t *f, int row)
{
    char **v = f->t.rows[row];
    const int lead[] = {f->c_suite, f->c_variant, f->c_backend, f->c_dtype, f->c_device};
    size_t len = 1;
    for (int i = 0; i < 5; i++) len += (lead[i] >= 0 ? strlen(v[lead[i]]) : 0) + 1;
    for (int c = f->ax0; c < f->ax1; c++) len += strlen(f->t.cols[c]) + strlen(v[c]) + 32;
    char *k = malloc(len), *p = k;
    if (!k) return NULL;
    for (int i = 0; i < 5; i++) p += sprintf(p, "%s\x1f", lead[i] >= 0 ? v[lead[i]] : "");
    for (int c = f->ax0; c < f->ax1; c++) {
        double x;
        if (as_number(v[c], &x)) p += sprintf(p, "%s=%.17g\x1f", f->t.cols[c], x);
        else p += sprintf(p, "%s=%s\x1f", f->t.cols[c], v[c]);
    }
    return k;
}

typedef struct slot {
    char *key;
    attn_rowref_t at;   /* (file, row): the order of rows */
} slot_t;

static int before(attn_rowref_t a, attn_rowref_t b)
{
    return a.file != b.file ? a.file < b.file : a.row < b.row;
}

static int by_key_then_order(const void *a, const void *b)
{
    const slot_t *x = a, *y = b;
    const int c = strcmp(x->key, y->key);
    return c ? c : before(x->at, y->at) ? -1 : before(y->at, x->at);
}

static int by_first(const void *a, const void *b)
{
    const attn_result_t *x = a, *y = b;
    return before(x->first, y->first) ? -1 : before(y->first, x->first);
}

/* The winner of the rows s[0..n) of one key, in order (the rule in results.h). */
static attn_result_t decide(const attn_results_t *r, const slot_t *s, int n)
{
    attn_result_t k = {.win = {-1, -1}, .timed = {-1, -1}, .first = s[0].at, .nrows = n};
    for (int i = 0; i < n; i++) {
        const attn_row_kind_t kind = attn_results_kind(r, s[i].at, NULL);
        if (kind == ATTN_ROW_TIMED) k.timed = s[i].at;
        if (kind != ATTN_ROW_NONE) k.win = s[i].at;
    }
    if (k.win.file < 0) k.win = s[n - 1].at;
    return k;
}

/* Group every row by key and decide each key. */
static int index_keys(attn_results_t *r, char *err, size_t en)
{
    size_t total = 0;
    for (int i = 0; i < r->nfiles; i++) total += (size_t)r->f[i].t.nrows;
    slot_t *s = calloc(total + 1, sizeof *s);
    r->k = calloc(total + 1, sizeof *r->k);
    size_t m = 0;
    int rc = -1;
    if (!s || !r->k) goto oom;
    for (int i = 0; i < r->nfiles; i++)
        for (int row = 0; row < r->f[i].t.nrows; row++, m++) {
            s[m].at = (attn_rowref_t){i, row};
            if (!(s[m].key = row_key(&r->f[i], row))) goto oom;
        }
    qsort(s, total, sizeof *s, by_key_then_order);
    for (size_t i = 0; i < total;) {
        size_t j = i + 1;
        while (j < total && !strcmp(s[j].key, s[i].key)) j++;
        attn_result_t k = decide(r, s + i, (int)(j - i));
        k.key = s[i].key, s[i].key = NULL; /* the key's string moves to the result */
        r->ndup += (int)(j - i) - 1;
        r->nlate_fail += attn_results_failed_after_timing(&k);
        r->k[r->nkeys++] = k;
        i = j;
    }
    qsort(r->k, (size_t)r->nkeys, sizeof *r->k, by_first);
    rc = 0;
    goto done;
oom:
    snprintf(err, en, "out of memory");
done:
    for (size_t i = 0; s && i < total; i++) free(s[i].key);
    free(s);
    return rc;
}

int attn_results_load(attn_results_t *r, const char *const *paths, int n, char *err, size_t en)
{
    memset(r, 0, sizeof *r);
    r->f = calloc((size_t)n + 1, sizeof *r->f);
    if (!r->f) {
        snprintf(err, en, "out of memory");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        r->nfiles = i + 1;
        if (load_file(&r->f[i], paths[i], err, en)) {
            attn_results_free(r);
            return -1;
        }
    }
    if (index_keys(r, err, en)) {
        attn_results_free(r);
        return -1;
    }
    return 0;
}

void attn_results_free(attn_results_t *r)
{
    for (int i = 0; i < r->nfiles; i++) attn_table_free(&r->f[i].t);
    for (int i = 0; i < r->nkeys; i++) free(r->k[i].key);
    free(r->f);
    free(r->k);
    memset(r, 0, sizeof *r);
}
