#include "floors.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry.h"
#include "table.h"

/* ------------------------------------------------------------------ small helpers */

static void *grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q) {
        fprintf(stderr, "attnbench floors: out of memory\n");
        abort();
    }
    return q;
}

static char *dupstr(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) {
        fprintf(stderr, "attnbench floors: out of memory\n");
        abort();
    }
    return d;
}

/* s parsed whole as a finite number. */
static int number(const char *s, double *x)
{
    if (!s || !*s) return 0;
    char *e;
    errno = 0;
    *x = strtod(s, &e);
    return !*e && !errno && isfinite(*x);
}

static int contains_nocase(const char *hay, const char *needle)
{
    const size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

/* ------------------------------------------------------------------ the case filter */

#define MAX_WHERE 16
#define MAX_VALUES 16

typedef struct where {
    int n;
    char axis[MAX_WHERE][64];
    int nv[MAX_WHERE];
    double v[MAX_WHERE][MAX_VALUES];
} where_t;

static int parse_where(const char *s, where_t *w, char *err, size_t n)
{
    memset(w, 0, sizeof *w);
    const char *p = s ? s : "";
    for (;;) {
        while (*p == ' ') p++;
        if (!*p) return 0;
        const char *eq = strchr(p, '='), *end = strchr(p, ' ');
        if (!end) end = p + strlen(p);
        if (!eq || eq > end || eq == p) {
            snprintf(err, n, "'%.*s' is not axis=value[,value...]", (int)(end - p), p);
            return -1;
        }
        if (w->n == MAX_WHERE || eq - p >= 64) {
            snprintf(err, n, "too many axes or too long an axis name at '%.*s'", (int)(end - p), p);
            return -1;
        }
        const int a = w->n++;
        snprintf(w->axis[a], sizeof w->axis[a], "%.*s", (int)(eq - p), p);
        for (int i = 0; i < a; i++)
            if (!strcmp(w->axis[i], w->axis[a])) {
                snprintf(err, n, "axis '%s' given twice", w->axis[a]);
                return -1;
            }
        const char *q = eq + 1;
        for (;;) {
            char *e;
            errno = 0;
            const long long x = strtoll(q, &e, 10);
            if (e == q || errno || (e < end && *e != ',') || e > end) {
                snprintf(err, n, "'%.*s': the values of %s must be integers", (int)(end - p), p,
                         w->axis[a]);
                return -1;
            }
            if (w->nv[a] == MAX_VALUES) {
                snprintf(err, n, "more than %d values of %s", MAX_VALUES, w->axis[a]);
                return -1;
            }
            w->v[a][w->nv[a]++] = (double)x;
            if (e == end) break;
            q = e + 1;
        }
        long combos = 1;
        for (int i = 0; i <= a; i++) combos *= w->nv[i];
        if (combos > 4096) {
            snprintf(err, n, "%ld combinations of listed values: at most 4096", combos);
            return -1;
        }
        p = end;
    }
}

int attn_floor_check(const attn_floor_t *f, char *err, size_t n)
{
    const char *nm = f->name ? f->name : "(unnamed)";
    where_t w;
    char msg[256];
    if (!f->name || !*f->name) snprintf(err, n, "a floor has no name");
    else if (!f->suite || !*f->suite) snprintf(err, n, "floor '%s': no suite", nm);
    else if (!f->num.variant || !*f->num.variant) snprintf(err, n, "floor '%s': no variant", nm);
    else if (!(f->min > 0) || !isfinite(f->min))
        snprintf(err, n, "floor '%s': min %g must be > 0", nm, f->min);
    else if (f->kind == ATTN_FLOOR_SPEEDUP && (!f->den.variant || !*f->den.variant))
        snprintf(err, n, "floor '%s': a speed-up floor needs the variant to beat", nm);
    else if (f->kind == ATTN_FLOOR_PCT &&
             (!f->pct_column || !*f->pct_column || !f->ceiling_column || !*f->ceiling_column))
        snprintf(err, n, "floor '%s': a ceiling floor needs pct_column and ceiling_column", nm);
    else if (f->kind != ATTN_FLOOR_SPEEDUP && f->kind != ATTN_FLOOR_PCT)
        snprintf(err, n, "floor '%s': unknown kind %d", nm, (int)f->kind);
    else if (parse_where(f->where, &w, msg, sizeof msg))
        snprintf(err, n, "floor '%s': where \"%s\": %s", nm, f->where ? f->where : "", msg);
    else return 0;
    return -1;
}

/* ------------------------------------------------------------------ the files */

typedef struct src {
    attn_table_t t;
    int c_suite, c_variant, c_backend, c_dtype, c_status, c_reason, c_med, c_device, c_bytes;
    int ax0, ax1;   /* the axis columns: [ax0, ax1) */
    char **key;     /* per row: its axis values, normalised, "name=value" joined by '\x1f' */
} src_t;

static void src_free(src_t *s)
{
    for (int r = 0; s->key && r < s->t.nrows; r++) free(s->key[r]);
    free(s->key);
    attn_table_free(&s->t);
}

/* "4096" and "4096.0" are one value. */
static void put_norm(char *buf, size_t n, const char *v)
{
    double x;
    if (number(v, &x)) snprintf(buf, n, "%.17g", x);
    else snprintf(buf, n, "%s", v);
}

static int src_load(src_t *s, const char *path, char *err, size_t n)
{
    memset(s, 0, sizeof *s);
    if (attn_table_read(&s->t, path, err, n)) return -1;
    const char *need[] = {"suite", "variant", "backend", "dtype", "status", "median_ms", "device"};
    int *at[] = {&s->c_suite, &s->c_variant, &s->c_backend, &s->c_dtype, &s->c_status, &s->c_med,
                 &s->c_device};
    for (int i = 0; i < 7; i++)
        if ((*at[i] = attn_table_col(&s->t, need[i])) < 0) {
            snprintf(err, n, "%s has no column '%s': not an attnbench results file", path, need[i]);
            return -1;
        }
    s->c_reason = attn_table_col(&s->t, "reason");
    s->c_bytes = attn_table_col(&s->t, "bytes");
    s->ax0 = s->c_dtype + 1, s->ax1 = s->c_status;
    if (s->ax1 < s->ax0) {
        snprintf(err, n, "%s: column 'status' comes before 'dtype': the axes (between them) "
                         "cannot be told", path);
        return -1;
    }
    s->key = calloc((size_t)s->t.nrows + 1, sizeof *s->key);
    if (!s->key) {
        snprintf(err, n, "%s: out of memory", path);
        return -1;
    }
    for (int r = 0; r < s->t.nrows; r++) {
        size_t len = 1;
        for (int c = s->ax0; c < s->ax1; c++) len += strlen(s->t.cols[c]) + 32 + strlen(s->t.rows[r][c]);
        char *k = s->key[r] = grow(NULL, len, 1), *p = k;
        *p = 0;
        for (int c = s->ax0; c < s->ax1; c++) {
            char v[1024];
            put_norm(v, sizeof v, s->t.rows[r][c]);
            p += sprintf(p, "%s%s=%s", c > s->ax0 ? "\x1f" : "", s->t.cols[c], v);
        }
    }
    return 0;
}

static const char *field(const src_t *s, int row, int col)
{
    return col >= 0 ? s->t.rows[row][col] : "";
}

/* Which combination of the filter's values row r is at: -1 when it fails the filter. */
static long where_combo(const where_t *w, const src_t *s, int r)
{
    long idx = 0;
    for (int a = 0; a < w->n; a++) {
        int c = attn_table_col(&s->t, w->axis[a]);
        double x;
        if (c < s->ax0 || c >= s->ax1 || !number(s->t.rows[r][c], &x)) return -1;
        int k = 0;
        while (k < w->nv[a] && w->v[a][k] != x) k++;
        if (k == w->nv[a]) return -1;
        idx = idx * w->nv[a] + k;
    }
    return idx;
}

static long where_ncombos(const where_t *w)
{
    long n = 1;
    for (int a = 0; a < w->n; a++) n *= w->nv[a];
    return n;
}

/* "N=4096 d=64" for combination idx of w. */
static void combo_label(const where_t *w, long idx, char *buf, size_t n)
{
    int k[MAX_WHERE];
    for (int a = w->n - 1; a >= 0; a--) k[a] = (int)(idx % w->nv[a]), idx /= w->nv[a];
    size_t off = 0;
    buf[0] = 0;
    for (int a = 0; a < w->n && off < n; a++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s=%.17g", a ? " " : "", w->axis[a], w->v[a][k[a]]);
}

/* ------------------------------------------------------------------ judging */

enum { M_NONE, M_TIMED, M_FAIL, M_SKIP };

/* The latest measurement of one side at one (device, case). */
typedef struct meas {
    int kind;
    int src, row;     /* where it is */
    double ms;
    int untimed;      /* M_NONE: there were ok rows, none of them timed (--check runs) */
} meas_t;

typedef struct kase {
    int dev;
    char *key;
    long combo;
    int judged;       /* passes the bytes bound (PCT), so it gets a line */
    meas_t side[2];
} kase_t;

enum { R_PASS, R_MISS, R_NODATA, R_NA };
static const char *const result_name[] = {"PASS", "MISS", "NO DATA", "N/A"};

typedef struct line {
    int floor, dev;   /* dev -1: no device */
    char *cell[7];    /* floor, case, ms, vs, ratio, needed, result */
    int result;
} line_t;

typedef struct ctx {
    src_t *src;
    int nsrc;
    const char *device;  /* --device, or NULL */
    char **devs;         /* device names seen by the floors, in order of appearance */
    int ndev;
    line_t *lines;
    int nlines;
} ctx_t;

static int intern_dev(ctx_t *c, const char *name)
{
    for (int i = 0; i < c->ndev; i++)
        if (!strcmp(c->devs[i], name)) return i;
    c->devs = grow(c->devs, (size_t)c->ndev + 1, sizeof *c->devs);
    c->devs[c->ndev] = dupstr(name);
    return c->ndev++;
}

static int side_matches(const attn_floor_side_t *sd, const src_t *s, int r)
{
    return sd->variant && !strcmp(field(s, r, s->c_variant), sd->variant) &&
           (!sd->backend || !strcmp(field(s, r, s->c_backend), sd->backend)) &&
           (!sd->dtype || !strcmp(field(s, r, s->c_dtype), sd->dtype));
}

/* The row's measurement kind: a timed ok row, a fail, a skip; M_NONE for an ok row without a
 * time (a --check run) and any other status. */
static int meas_kind(const src_t *s, int r, double *ms)
{
    const char *st = field(s, r, s->c_status);
    if (!strcmp(st, "ok")) return number(field(s, r, s->c_med), ms) && *ms > 0 ? M_TIMED : M_NONE;
    if (!strcmp(st, "fail")) return M_FAIL;
    if (!strcmp(st, "skip")) return M_SKIP;
    return M_NONE;
}

static void add_line(ctx_t *c, int floor, int dev, const char *const cells[7], int result)
{
    c->lines = grow(c->lines, (size_t)c->nlines + 1, sizeof *c->lines);
    line_t *l = &c->lines[c->nlines++];
    l->floor = floor, l->dev = dev, l->result = result;
    for (int i = 0; i < 7; i++) l->cell[i] = dupstr(cells[i]);
}

static void fmt_ms(char *b, size_t n, double ms) { snprintf(b, n, "%.4g", ms); }

/* "fused failed: <reason>" etc., the reason cut to a readable length. */
static void why_not(char *b, size_t n, const ctx_t *c, const meas_t *m, const char *variant)
{
    const char *reason = m->kind == M_NONE ? "" : field(&c->src[m->src], m->row, c->src[m->src].c_reason);
    const char *what = m->kind == M_FAIL ? "%s failed" : m->kind == M_SKIP ? "%s skips" :
                       m->untimed ? "no timed %s row (only --check rows)" : "no %s row";
    char head[256];
    snprintf(head, sizeof head, what, variant);
    if (reason[0]) snprintf(b, n, "%s (%.100s%s)", head, reason, strlen(reason) > 100 ? "..." : "");
    else snprintf(b, n, "%s", head);
}

/* The value of axis `name` (nl bytes) in a case key: its start, and its length in *len; NULL
 * when the key has no such axis. */
static const char *key_value(const char *key, const char *name, size_t nl, size_t *len)
{
    for (const char *p = key; p && *p;) {
        const char *e = strchr(p, '\x1f');
        const size_t l = e ? (size_t)(e - p) : strlen(p);
        if (l > nl && p[nl] == '=' && !strncmp(p, name, nl)) {
            *len = l - nl - 1;
            return p + nl + 1;
        }
        p = e ? e + 1 : NULL;
    }
    return NULL;
}

static int same_value(const char *a, const char *b, const char *name, size_t nl)
{
    size_t la, lb;
    const char *va = key_value(a, name, nl, &la), *vb = key_value(b, name, nl, &lb);
    return va && vb ? la == lb && !strncmp(va, vb, la) : va == vb;
}

/* The label of case k: the filter's axes with several values, and every other axis that tells
 * apart two cases of this floor and device with the same values of those (so derived axes, e.g.
 * mhsa's B from N, stay out); the filter itself when that leaves nothing. */
static void case_label(const kase_t *cases, int ncases, int k, const where_t *w, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (const char *tok = cases[k].key; tok && *tok;) {
        const char *next = strchr(tok, '\x1f'), *eq = strchr(tok, '=');
        const size_t tl = next ? (size_t)(next - tok) : strlen(tok);
        if (!eq || eq > tok + tl) break;
        const size_t nl = (size_t)(eq - tok);
        int show = 0, listed = 0;
        for (int a = 0; a < w->n; a++)
            if (strlen(w->axis[a]) == nl && !strncmp(w->axis[a], tok, nl)) {
                listed = 1;
                show = w->nv[a] > 1;
            }
        for (int j = 0; !listed && j < ncases && !show; j++) {
            if (j == k || cases[j].dev != cases[k].dev || !cases[j].judged) continue;
            int twin = 1; /* same values of the listed axes with several values */
            for (int a = 0; a < w->n && twin; a++)
                if (w->nv[a] > 1)
                    twin = same_value(cases[j].key, cases[k].key, w->axis[a], strlen(w->axis[a]));
            show = twin && !same_value(cases[j].key, cases[k].key, tok, nl);
        }
        if (show && off < n)
            off += (size_t)snprintf(buf + off, n - off, "%s%.*s", off ? " " : "", (int)tl, tok);
        tok = next ? next + 1 : NULL;
    }
    if (!buf[0]) {
        combo_label(w, 0, buf, n); /* the filter itself: one value per axis */
        if (!buf[0]) snprintf(buf, n, "every case");
    }
}

static void judge_floor(ctx_t *c, const attn_floor_t *f, int fi)
{
    where_t w;
    char msg[512];
    parse_where(f->where, &w, msg, sizeof msg); /* checked by attn_floor_check */
    const int pct = f->kind == ATTN_FLOOR_PCT;
    const attn_floor_side_t *sides[2] = {&f->num, pct ? NULL : &f->den};
    const long ncombo = where_ncombos(&w);

    /* The devices with any row of either side, and the cases that pass the filter. */
    int *fdev = NULL, nfdev = 0;
    kase_t *cases = NULL;
    int ncases = 0;
    for (int si = 0; si < c->nsrc; si++) {
        const src_t *s = &c->src[si];
        for (int r = 0; r < s->t.nrows; r++) {
            if (strcmp(field(s, r, s->c_suite), f->suite)) continue;
            int side = -1;
            for (int k = 0; k < 2 && side < 0; k++)
                if (sides[k] && side_matches(sides[k], s, r)) side = k;
            const char *dn = field(s, r, s->c_device);
            if (side < 0 || !dn[0] || (c->device && !contains_nocase(dn, c->device))) continue;
            const int dev = intern_dev(c, dn);
            int seen = 0;
            for (int i = 0; i < nfdev && !seen; i++) seen = fdev[i] == dev;
            if (!seen) {
                fdev = grow(fdev, (size_t)nfdev + 1, sizeof *fdev);
                fdev[nfdev++] = dev;
            }
            const long combo = where_combo(&w, s, r);
            if (combo < 0) continue;
            int k = 0;
            while (k < ncases && !(cases[k].dev == dev && !strcmp(cases[k].key, s->key[r]))) k++;
            if (k == ncases) {
                cases = grow(cases, (size_t)ncases + 1, sizeof *cases);
                memset(&cases[k], 0, sizeof cases[k]);
                cases[k].dev = dev, cases[k].key = s->key[r], cases[k].combo = combo;
                ncases++;
            }
            /* Later rows replace earlier ones: files in order, rows in file order. */
            double ms = 0;
            const int mk = meas_kind(s, r, &ms);
            if (mk != M_NONE) cases[k].side[side] = (meas_t){mk, si, r, ms, 0};
            else if (cases[k].side[side].kind == M_NONE) cases[k].side[side].untimed = 1;
            if (side == 0 && pct) {
                double by;
                if (s->c_bytes >= 0 && number(field(s, r, s->c_bytes), &by) && by >= f->min_bytes)
                    cases[k].judged = 1;
            } else if (!pct) cases[k].judged = 1;
        }
    }

    const char *nv = f->num.variant, *dv = pct ? "" : f->den.variant;
    char label[1024], ms[64], vs[128], ratio[64], needed[64], result[512];
    if (pct) snprintf(needed, sizeof needed, ">= %g%%", f->min);
    else snprintf(needed, sizeof needed, ">= %gx", f->min);
    if (!nfdev) {
        if (pct) snprintf(result, sizeof result, "NO DATA: no %s row of %s%s%s", nv, f->suite,
                          c->device ? " on a device matching " : "", c->device ? c->device : "");
        else snprintf(result, sizeof result, "NO DATA: no %s or %s row of %s%s%s", nv, dv, f->suite,
                      c->device ? " on a device matching " : "", c->device ? c->device : "");
        add_line(c, fi, -1, (const char *[]){f->name, f->where && *f->where ? f->where : "every case",
                                             "-", "-", "-", needed, result}, R_NODATA);
    }
    unsigned char *covered = calloc((size_t)ncombo + 1, 1);
    if (!covered) abort();
    for (int di = 0; di < nfdev; di++) {
        const int dev = fdev[di];
        memset(covered, 0, (size_t)ncombo);
        const int first = c->nlines;
        int judged = 0, small = 0, na = 0;
        for (int k = 0; k < ncases; k++) {
            kase_t *ks = &cases[k];
            if (ks->dev != dev) continue;
            covered[ks->combo] = 1;
            if (!ks->judged) {
                small++;
                continue;
            }
            judged++;
            case_label(cases, ncases, k, &w, label, sizeof label);
            const meas_t *mn = &ks->side[0], *md = &ks->side[1];
            int res;
            snprintf(ms, sizeof ms, "-"), snprintf(vs, sizeof vs, "-"), snprintf(ratio, sizeof ratio, "-");
            if (mn->kind == M_TIMED) fmt_ms(ms, sizeof ms, mn->ms);
            if (!pct && md->kind == M_TIMED) fmt_ms(vs, sizeof vs, md->ms);
            if (mn->kind != M_TIMED) {
                res = mn->kind == M_SKIP ? R_NA : R_NODATA;
                why_not(msg, sizeof msg, c, mn, nv);
            } else if (!pct && md->kind != M_TIMED) {
                res = md->kind == M_SKIP ? R_NA : R_NODATA;
                why_not(msg, sizeof msg, c, md, dv);
            } else {
                const src_t *s = &c->src[mn->src];
                double got, ceil = NAN;
                int have;
                if (pct) {
                    const int cp = attn_table_col(&s->t, f->pct_column);
                    const int cc = attn_table_col(&s->t, f->ceiling_column);
                    have = cp >= 0 && number(s->t.rows[mn->row][cp], &got);
                    if (cc >= 0) number(s->t.rows[mn->row][cc], &ceil);
                    if (isfinite(ceil))
                        snprintf(vs, sizeof vs, "%.4g %s", ceil, f->ceiling_unit ? f->ceiling_unit : "");
                    if (have) snprintf(ratio, sizeof ratio, "%.1f%%", got);
                    else snprintf(msg, sizeof msg, "%s has no %s (%s)", nv, f->pct_column,
                                  cp < 0 ? "no such column in its file" : "the ceiling was not measured");
                } else {
                    got = md->ms / mn->ms;
                    have = 1;
                    snprintf(ratio, sizeof ratio, "%.3gx", got);
                }
                if (!have) res = R_NODATA;
                else if (got >= f->min * (1 - 1e-12)) {
                    res = R_PASS;
                    msg[0] = 0;
                } else {
                    res = R_MISS;
                    if (pct) snprintf(msg, sizeof msg, "%.1f%% < %g%% (%.1f points short)", got, f->min, f->min - got);
                    else snprintf(msg, sizeof msg, "%.3gx < %gx (%.1f%% short)", got, f->min,
                                  (1 - got / f->min) * 100);
                }
            }
            if (res == R_PASS) snprintf(result, sizeof result, "PASS");
            else snprintf(result, sizeof result, "%s: %s", result_name[res], msg);
            na += res == R_NA;
            add_line(c, fi, dev, (const char *[]){f->name, label, ms, vs, ratio, needed, result}, res);
        }
        /* Every case a skip: one line says so. */
        if (judged > 1 && na == judged) {
            char keep[512];
            snprintf(keep, sizeof keep, "%s", c->lines[first].cell[6]);
            for (int i = first; i < c->nlines; i++)
                for (int j = 0; j < 7; j++) free(c->lines[i].cell[j]);
            c->nlines = first;
            char all[64];
            snprintf(all, sizeof all, "all %d cases", judged);
            add_line(c, fi, dev, (const char *[]){f->name, all, "-", "-", "-", needed, keep}, R_NA);
        }
        /* Listed values no row covers. */
        for (long k = 0; k < ncombo; k++) {
            if (covered[k]) continue;
            combo_label(&w, k, label, sizeof label);
            if (pct) snprintf(result, sizeof result, "NO DATA: no %s row", nv);
            else snprintf(result, sizeof result, "NO DATA: no %s or %s row", nv, dv);
            add_line(c, fi, dev, (const char *[]){f->name, label, "-", "-", "-", needed, result}, R_NODATA);
            judged++;
        }
        if (!judged) {
            if (small)
                snprintf(result, sizeof result, "NO DATA: no case moves >= %g MiB (%d smaller not judged)",
                         f->min_bytes / (1 << 20), small);
            else snprintf(result, sizeof result, "NO DATA: no %s row in the filter", nv);
            add_line(c, fi, dev, (const char *[]){f->name, f->where && *f->where ? f->where : "every case",
                                                  "-", "-", "-", needed, result}, R_NODATA);
        }
    }
    free(covered);
    free(cases);
    free(fdev);
}

/* ------------------------------------------------------------------ output */

static const char *const heads[7] = {"floor", "case", "ms", "vs ms / ceiling", "ratio", "needed", "result"};

static void print_text(const ctx_t *c, FILE *out, int with_dev)
{
    size_t wd[8] = {0};
    const int ncol = 7 + with_dev;
    for (int j = 0; j < ncol; j++) {
        const char *h = with_dev ? (j == 0 ? "device" : heads[j - 1]) : heads[j];
        wd[j] = strlen(h);
    }
    for (int i = 0; i < c->nlines; i++)
        for (int j = 0; j < ncol; j++) {
            const line_t *l = &c->lines[i];
            const char *s = with_dev ? (j == 0 ? (l->dev >= 0 ? c->devs[l->dev] : "-") : l->cell[j - 1]) : l->cell[j];
            if (strlen(s) > wd[j]) wd[j] = strlen(s);
        }
    for (int i = -1; i < c->nlines; i++) {
        for (int j = 0; j < ncol; j++) {
            const line_t *l = i >= 0 ? &c->lines[i] : NULL;
            const int cj = with_dev ? j - 1 : j;
            const char *s = cj < 0 ? (l ? (l->dev >= 0 ? c->devs[l->dev] : "-") : "device")
                                   : l ? l->cell[cj] : heads[cj];
            const int right = cj >= 2 && cj <= 4;
            if (j == ncol - 1) fprintf(out, "%s\n", s);
            else if (right) fprintf(out, "%*s  ", (int)wd[j], s);
            else fprintf(out, "%-*s  ", (int)wd[j], s);
        }
    }
}

static void md_cell(FILE *f, const char *s)
{
    fputs(" ", f);
    for (const char *p = s; *p; p++) {
        if (*p == '|') fputs("\\|", f);
        else fputc(*p, f);
    }
    fputs(" |", f);
}

static void print_markdown(const ctx_t *c, FILE *f, int with_dev)
{
    fputs("|", f);
    if (with_dev) md_cell(f, "device");
    for (int j = 0; j < 7; j++) md_cell(f, heads[j]);
    fputs("\n|", f);
    for (int j = 0; j < 7 + with_dev; j++) fputs(j >= 2 + with_dev && j <= 4 + with_dev ? " ---: |" : " --- |", f);
    fputs("\n", f);
    for (int i = 0; i < c->nlines; i++) {
        fputs("|", f);
        if (with_dev) md_cell(f, c->lines[i].dev >= 0 ? c->devs[c->lines[i].dev] : "-");
        for (int j = 0; j < 7; j++) md_cell(f, c->lines[i].cell[j]);
        fputs("\n", f);
    }
}

static void print_legend(const attn_floor_t *floors, FILE *f, int md)
{
    fprintf(f, md ? "\nThe floors:\n\n" : "\nfloors:\n");
    for (int i = 0; floors[i].name; i++) {
        const attn_floor_t *x = &floors[i];
        char what[256];
        if (x->kind == ATTN_FLOOR_PCT)
            snprintf(what, sizeof what, "%s %s: %s >= %g%% of %s, at cases moving >= %g MiB", x->suite,
                     x->num.variant, x->pct_column, x->min, x->ceiling_column, x->min_bytes / (1 << 20));
        else
            snprintf(what, sizeof what, "%s %s >= %gx %s (time of %s / time of %s)", x->suite,
                     x->num.variant, x->min, x->den.variant, x->den.variant, x->num.variant);
        if (md && x->where && *x->where)
            fprintf(f, "- **%s**: %s, where `%s`: %s\n", x->name, what, x->where, x->why ? x->why : "");
        else if (md)
            fprintf(f, "- **%s**: %s, every case: %s\n", x->name, what, x->why ? x->why : "");
        else
            fprintf(f, "  %s: %s; where %s\n    %s\n", x->name, what,
                    x->where && *x->where ? x->where : "every case", x->why ? x->why : "");
    }
}

/* ------------------------------------------------------------------ the command */

static int usage(FILE *err, const char *msg)
{
    fprintf(err, "attnbench floors: %s\n"
                 "usage: attnbench floors [--device SUBSTRING] [--markdown FILE] CSV|DIR...\n", msg);
    return 2;
}

static int by_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The paths arg stands for: itself, or a directory's *.csv files, sorted. */
static int expand(const char *arg, char ***paths, int *np, char *err, size_t n)
{
    struct stat st;
    if (stat(arg, &st) || !S_ISDIR(st.st_mode)) {
        *paths = grow(*paths, (size_t)*np + 1, sizeof **paths);
        (*paths)[(*np)++] = dupstr(arg);
        return 0;
    }
    DIR *d = opendir(arg);
    if (!d) {
        snprintf(err, n, "cannot read directory '%s': %s", arg, strerror(errno));
        return -1;
    }
    const int first = *np;
    struct dirent *e;
    while ((e = readdir(d))) {
        const size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".csv")) continue;
        char *p = grow(NULL, strlen(arg) + l + 2, 1);
        sprintf(p, "%s/%s", arg, e->d_name);
        *paths = grow(*paths, (size_t)*np + 1, sizeof **paths);
        (*paths)[(*np)++] = p;
    }
    closedir(d);
    if (*np == first) {
        snprintf(err, n, "directory '%s' has no .csv file", arg);
        return -1;
    }
    qsort(*paths + first, (size_t)(*np - first), sizeof **paths, by_str);
    return 0;
}

int attn_floors_cli(const attn_floor_t *floors, int argc, char **argv, FILE *out, FILE *err)
{
    const char *device = NULL, *markdown = NULL;
    char msg[2048];
    char **args = NULL;
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fprintf(out,
                    "usage: attnbench floors [--device SUBSTRING] [--markdown FILE] CSV|DIR...\n"
                    "Judges the speed floors (each suite's floors in suites/<name>.c) on the rows of results CSVs (a\n"
                    "directory: its *.csv files): per floor and case, the numerator's time against\n"
                    "the other variant's (a ratio), or its percentage of a measured ceiling, and\n"
                    "PASS, MISS (by how much), NO DATA (which row is missing) or N/A (a variant\n"
                    "skips the case). Rows match by suite, device and every axis; the latest row\n"
                    "of a case (files in order, rows in file order) counts.\n"
                    "  --device SUBSTRING  only rows whose device contains it (any case)\n"
                    "  --markdown FILE     also write the table as Markdown to FILE\n"
                    "Exit status: 0 every floor with data passes and none lacks data, 1 a MISS or\n"
                    "a NO DATA, 2 bad usage or an unreadable file.\n");
            for (int j = 0; j < nargs; j++) free(args[j]);
            free(args);
            return 0;
        }
        if (!strncmp(a, "--", 2)) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
            if (strcmp(name, "--device") && strcmp(name, "--markdown")) {
                snprintf(msg, sizeof msg, "unknown option '%s'", name);
                goto bad_usage;
            }
            const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || !*v) {
                snprintf(msg, sizeof msg, "%s needs a value", name);
                goto bad_usage;
            }
            if (!strcmp(name, "--device")) device = v;
            else markdown = v;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            snprintf(msg, sizeof msg, "unknown option '%s'", a);
            goto bad_usage;
        }
        if (expand(a, &args, &nargs, msg, sizeof msg)) goto bad_usage;
    }
    if (!nargs) {
        snprintf(msg, sizeof msg, "give at least one results CSV");
        goto bad_usage;
    }
    for (int i = 0; floors[i].name; i++)
        if (attn_floor_check(&floors[i], msg, sizeof msg)) {
            fprintf(err, "attnbench floors: bad floor definition: %s\n", msg);
            for (int j = 0; j < nargs; j++) free(args[j]);
            free(args);
            return 2;
        }

    ctx_t c;
    memset(&c, 0, sizeof c);
    c.device = device;
    c.src = calloc((size_t)nargs, sizeof *c.src);
    if (!c.src) abort();
    int rc = 2;
    for (int i = 0; i < nargs; i++) {
        if (src_load(&c.src[i], args[i], msg, sizeof msg)) {
            fprintf(err, "attnbench floors: %s\n", msg);
            c.nsrc = i + 1;
            goto done;
        }
        c.nsrc = i + 1;
    }
    FILE *md = NULL;
    if (markdown && !(md = fopen(markdown, "w"))) {
        fprintf(err, "attnbench floors: cannot write --markdown '%s': %s\n", markdown, strerror(errno));
        goto done;
    }

    for (int i = 0; floors[i].name; i++) judge_floor(&c, &floors[i], i);
    if (device && !c.ndev)
        fprintf(err, "attnbench floors: no row of a floor's variants has a device matching '%s'\n", device);

    int count[4] = {0};
    for (int i = 0; i < c.nlines; i++) count[c.lines[i].result]++;
    const int with_dev = c.ndev > 1;
    if (c.ndev == 1) fprintf(out, "device: %s\n\n", c.devs[0]);
    print_text(&c, out, with_dev);
    print_legend(floors, out, 0);
    char summary[256];
    snprintf(summary, sizeof summary, "%d PASS, %d MISS, %d NO DATA, %d N/A (%d file%s)", count[R_PASS],
             count[R_MISS], count[R_NODATA], count[R_NA], nargs, nargs == 1 ? "" : "s");
    fprintf(out, "\nsummary: %s\n", summary);
    rc = count[R_MISS] || count[R_NODATA] ? 1 : 0;
    if (md) {
        if (c.ndev == 1) fprintf(md, "Device: %s\n\n", c.devs[0]);
        print_markdown(&c, md, with_dev);
        print_legend(floors, md, 1);
        fprintf(md, "\n%s\n", summary);
        if (fclose(md)) {
            fprintf(err, "attnbench floors: writing '%s' failed: %s\n", markdown, strerror(errno));
            rc = 2;
        } else fprintf(out, "markdown: %s\n", markdown);
    }
    fflush(out);
done:
    for (int i = 0; i < c.nsrc; i++) src_free(&c.src[i]);
    free(c.src);
    for (int i = 0; i < c.nlines; i++)
        for (int j = 0; j < 7; j++) free(c.lines[i].cell[j]);
    free(c.lines);
    for (int i = 0; i < c.ndev; i++) free(c.devs[i]);
    free(c.devs);
    for (int j = 0; j < nargs; j++) free(args[j]);
    free(args);
    return rc;

bad_usage:
    for (int j = 0; j < nargs; j++) free(args[j]);
    free(args);
    return usage(err, msg);
}

attn_floor_t *attn_floors_all(void)
{
    int n = 0;
    for (int i = 0; attn_suites[i]; i++) n += attn_suites[i]->nfloors;
    attn_floor_t *all = calloc((size_t)n + 1, sizeof *all);
    if (!all) return NULL;
    n = 0;
    for (int i = 0; attn_suites[i]; i++)
        for (int j = 0; j < attn_suites[i]->nfloors; j++) {
            all[n] = attn_suites[i]->floors[j];
            all[n++].suite = attn_suites[i]->name;
        }
    return all;
}

int attn_floors_main(int argc, char **argv)
{
    attn_floor_t *all = attn_floors_all();
    if (!all) {
        fprintf(stderr, "attnbench floors: out of memory\n");
        return 2;
    }
    const int rc = attn_floors_cli(all, argc, argv, stdout, stderr);
    free(all);
    return rc;
}
