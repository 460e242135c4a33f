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
#include "results.h"

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

/* Which of the '|'-separated names of list `name` is (0, 1, ...), or -1. */
static int alt_index(const char *list, const char *name)
{
    const size_t nl = strlen(name);
    int k = 0;
    for (const char *p = list; p; k++) {
        const char *bar = strchr(p, '|');
        const size_t l = bar ? (size_t)(bar - p) : strlen(p);
        if (l == nl && !strncmp(p, name, nl)) return k;
        p = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* The k-th name of a '|'-separated list, into buf. */
static void alt_name(const char *list, int k, char *buf, size_t n)
{
    const char *p = list;
    while (k-- > 0 && p) p = strchr(p, '|') ? strchr(p, '|') + 1 : NULL;
    const char *bar = p ? strchr(p, '|') : NULL;
    snprintf(buf, n, "%.*s", p ? (int)(bar ? (size_t)(bar - p) : strlen(p)) : 0, p ? p : "");
}

static int nalts(const char *list)
{
    int n = 1;
    for (const char *p = list; (p = strchr(p, '|')); p++) n++;
    return n;
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
    else if (f->kind == ATTN_FLOOR_SPEEDUP &&
             (nalts(f->den.variant) > ATTN_FLOOR_MAX_ALTS || strstr(f->den.variant, "||") ||
              f->den.variant[0] == '|' || f->den.variant[strlen(f->den.variant) - 1] == '|'))
        snprintf(err, n, "floor '%s': '%s': at most %d variants to beat, joined by single '|'", nm,
                 f->den.variant, ATTN_FLOOR_MAX_ALTS);
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

/* The axes part of a results key (after suite, variant, backend, dtype and device):
 * "name=value" joined by '\x1f', values normalised (results.h). */
static const char *axes_of(const char *key)
{
    for (int i = 0; i < 5 && key; i++) key = strchr(key, '\x1f') ? strchr(key, '\x1f') + 1 : NULL;
    return key ? key : "";
}

/* Which combination of the filter's values row at is: -1 when it fails the filter. */
static long where_combo(const where_t *w, const attn_results_t *res, attn_rowref_t at)
{
    const attn_results_file_t *f = &res->f[at.file];
    long idx = 0;
    for (int a = 0; a < w->n; a++) {
        int c = attn_table_col(&f->t, w->axis[a]);
        double x;
        if (c < f->ax0 || c >= f->ax1 || !number(attn_results_at(res, at, c), &x)) return -1;
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

/* What one side has at one (device, case): its key's winner (results.h). */
typedef struct meas {
    int kind;
    attn_rowref_t at;     /* the winner */
    attn_rowref_t timed;  /* M_FAIL: the earlier timing it came after, or file -1 */
    double ms;
    int untimed;      /* M_NONE: there were ok rows, none of them timed (--check runs) */
} meas_t;

typedef struct kase {
    int dev;
    char *key;
    long combo;
    int judged;       /* passes the bytes bound (PCT), so it gets a line */
    meas_t side[2];   /* side[1]: the denominator, reduced from alt[] by den_of */
    meas_t alt[ATTN_FLOOR_MAX_ALTS]; /* each listed alternative of the denominator */
} kase_t;

enum { R_PASS, R_MISS, R_NODATA, R_NA };
static const char *const result_name[] = {"PASS", "MISS", "NO DATA", "N/A"};

typedef struct line {
    int floor, dev;   /* dev -1: no device */
    char *cell[7];    /* floor, case, ms, vs, ratio, needed, result */
    int result;
} line_t;

typedef struct ctx {
    attn_results_t res;
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

/* Which alternative of sd's variant the row at is (0 for a single name), or -1: not sd's. */
static int side_matches(const attn_floor_side_t *sd, const attn_results_t *res, attn_rowref_t at)
{
    const attn_results_file_t *f = &res->f[at.file];
    if (!sd->variant || (sd->backend && strcmp(attn_results_at(res, at, f->c_backend), sd->backend)) ||
        (sd->dtype && strcmp(attn_results_at(res, at, f->c_dtype), sd->dtype)))
        return -1;
    return alt_index(sd->variant, attn_results_at(res, at, f->c_variant));
}

/* A key's winner as a side's measurement: a timing, a fail (with the timing it came after), a
 * skip; M_NONE for an ok row without a time (a --check run) and any other status. */
static meas_t meas_of(const attn_results_t *res, const attn_result_t *k)
{
    meas_t m = {.kind = M_NONE, .at = k->win, .timed = {-1, -1}};
    const attn_row_kind_t kind = attn_results_kind(res, k->win, &m.ms);
    const char *st = attn_results_at(res, k->win, res->f[k->win.file].c_status);
    if (kind == ATTN_ROW_TIMED) m.kind = M_TIMED;
    else if (kind == ATTN_ROW_FAIL) m.kind = M_FAIL, m.timed = k->timed;
    else if (!strcmp(st, "skip")) m.kind = M_SKIP;
    else m.untimed = !strcmp(st, "ok");
    return m;
}

/* Of two keys of one side at one case (a side that takes any backend or dtype): a measurement
 * over none, then the later winner. */
static int replaces(const meas_t *now, const meas_t *was)
{
    const int mn = now->kind == M_TIMED || now->kind == M_FAIL, mw = was->kind == M_TIMED || was->kind == M_FAIL;
    if (was->at.file < 0 || mn != mw) return was->at.file < 0 || mn;
    return now->at.file != was->at.file ? now->at.file > was->at.file : now->at.row > was->at.row;
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
    const attn_results_t *res = &c->res;
    const char *reason = m->kind == M_NONE || m->at.file < 0 ? "" :
                         attn_results_at(res, m->at, res->f[m->at.file].c_reason);
    const char *what = m->kind == M_FAIL ? "%s failed" : m->kind == M_SKIP ? "%s skips" :
                       m->untimed ? "no timed %s row (only --check rows)" : "no %s row";
    char head[256];
    snprintf(head, sizeof head, what, variant);
    if (m->kind == M_FAIL && m->timed.file >= 0)
        snprintf(head + strlen(head), sizeof head - strlen(head), " after an earlier timing of %s ms",
                 attn_results_at(res, m->timed, res->f[m->timed.file].c_med));
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

/* One floor being judged: its filter, its sides, the devices and cases its rows are at. */
typedef struct fjob {
    const attn_floor_t *f;
    int fi, pct;
    where_t w;
    long ncombo;
    const attn_floor_side_t *sides[2];
    const char *nv, *dv;    /* the numerator's and the other variant's names */
    char needed[64];
    int *fdev, nfdev;       /* devices with any row of either side */
    kase_t *cases;
    int ncases;
} fjob_t;

/* The case of key k at device dev (added when new). */
static kase_t *case_at(fjob_t *j, int dev, const char *axes, long combo)
{
    for (int i = 0; i < j->ncases; i++)
        if (j->cases[i].dev == dev && !strcmp(j->cases[i].key, axes)) return &j->cases[i];
    j->cases = grow(j->cases, (size_t)j->ncases + 1, sizeof *j->cases);
    kase_t *ks = &j->cases[j->ncases++];
    memset(ks, 0, sizeof *ks);
    ks->dev = dev, ks->key = (char *)axes, ks->combo = combo;
    for (int s = 0; s < 2; s++) ks->side[s].at.file = ks->side[s].timed.file = -1;
    for (int a = 0; a < ATTN_FLOOR_MAX_ALTS; a++) ks->alt[a].at.file = ks->alt[a].timed.file = -1;
    return ks;
}

/* The devices with any row of either side, and the cases that pass the filter, each side's
 * measurement at each (the winner of its key: results.h). */
static void collect(ctx_t *c, fjob_t *j)
{
    const attn_results_t *res = &c->res;
    for (int i = 0; i < res->nkeys; i++) {
        const attn_result_t *k = &res->k[i];
        const attn_rowref_t at = k->win;
        const attn_results_file_t *fl = &res->f[at.file];
        if (strcmp(attn_results_at(res, at, fl->c_suite), j->f->suite)) continue;
        int side = -1, alt = 0;
        for (int s = 0; s < 2 && side < 0; s++)
            if (j->sides[s] && (alt = side_matches(j->sides[s], res, at)) >= 0) side = s;
        const char *dn = attn_results_at(res, at, fl->c_device);
        if (side < 0 || !dn[0] || (c->device && !contains_nocase(dn, c->device))) continue;
        const int dev = intern_dev(c, dn);
        int seen = 0;
        for (int d = 0; d < j->nfdev && !seen; d++) seen = j->fdev[d] == dev;
        if (!seen) {
            j->fdev = grow(j->fdev, (size_t)j->nfdev + 1, sizeof *j->fdev);
            j->fdev[j->nfdev++] = dev;
        }
        const long combo = where_combo(&j->w, res, at);
        if (combo < 0) continue;
        kase_t *ks = case_at(j, dev, axes_of(k->key), combo);
        const meas_t m = meas_of(res, k);
        meas_t *into = side == 0 ? &ks->side[0] : &ks->alt[alt];
        if (replaces(&m, into)) *into = m;
        double by;
        if (!j->pct) ks->judged = 1;
        else if (side == 0 && number(attn_results_get(res, at, "bytes"), &by) && by >= j->f->min_bytes)
            ks->judged = 1;
    }
}

/* The numbers of a case with both sides timed: ratio or percentage, and the result. */
static int judge_numbers(const ctx_t *c, const fjob_t *j, const kase_t *ks, char *vs, size_t nvs,
                         char *ratio, size_t nr, char *msg, size_t nm)
{
    const attn_floor_t *f = j->f;
    const meas_t *mn = &ks->side[0], *md = &ks->side[1];
    double got, ceil = NAN;
    if (j->pct) {
        const char *p = attn_results_get(&c->res, mn->at, f->pct_column);
        const int have_col = attn_table_col(&c->res.f[mn->at.file].t, f->pct_column) >= 0;
        number(attn_results_get(&c->res, mn->at, f->ceiling_column), &ceil);
        if (isfinite(ceil)) snprintf(vs, nvs, "%.4g %s", ceil, f->ceiling_unit ? f->ceiling_unit : "");
        if (!number(p, &got)) {
            snprintf(msg, nm, "%s has no %s (%s)", j->nv, f->pct_column,
                     have_col ? "the ceiling was not measured" : "no such column in its file");
            return R_NODATA;
        }
        snprintf(ratio, nr, "%.1f%%", got);
    } else {
        got = md->ms / mn->ms;
        snprintf(ratio, nr, "%.3gx", got);
    }
    if (got >= f->min * (1 - 1e-12)) return msg[0] = 0, R_PASS;
    if (j->pct) snprintf(msg, nm, "%.1f%% < %g%% (%.1f points short)", got, f->min, f->min - got);
    else snprintf(msg, nm, "%.3gx < %gx (%.1f%% short)", got, f->min, (1 - got / f->min) * 100);
    return R_MISS;
}

/* The denominator of a case from its alternatives: the fastest timed one, every one measured
 * (a failed or missing alternative is its NO DATA: the strongest baseline is unknown without
 * it), skips left out (all skip: N/A). Sets ks->side[1]; returns the alternative it is. */
static int den_of(const char *list, kase_t *ks)
{
    const int n = nalts(list);
    int best = -1;
    for (int a = 0; a < n; a++) {
        const meas_t *m = &ks->alt[a];
        if (m->kind != M_TIMED && m->kind != M_SKIP) {
            ks->side[1] = *m;
            return a;
        }
        if (m->kind == M_TIMED && (best < 0 || m->ms < ks->alt[best].ms)) best = a;
    }
    if (best < 0) best = 0;
    ks->side[1] = ks->alt[best];
    return best;
}

/* One judged case's line. Returns its result. */
static int judge_case(ctx_t *c, const fjob_t *j, int k, int dev)
{
    kase_t *ks = &j->cases[k];
    char dv[128];
    snprintf(dv, sizeof dv, "%s", j->dv);
    if (!j->pct) alt_name(j->dv, den_of(j->dv, ks), dv, sizeof dv);
    const meas_t *mn = &ks->side[0], *md = &ks->side[1];
    char label[1024], ms[64] = "-", vs[256] = "-", ratio[64] = "-", msg[512] = "", result[600];
    case_label(j->cases, j->ncases, k, &j->w, label, sizeof label);
    if (mn->kind == M_TIMED) fmt_ms(ms, sizeof ms, mn->ms);
    if (!j->pct && md->kind == M_TIMED) {
        fmt_ms(vs, sizeof vs, md->ms);
        if (nalts(j->dv) > 1) /* which baseline was the fastest */
            snprintf(vs + strlen(vs), sizeof vs - strlen(vs), " (%s)", dv);
    }
    int res;
    if (mn->kind != M_TIMED) {
        res = mn->kind == M_SKIP ? R_NA : R_NODATA;
        why_not(msg, sizeof msg, c, mn, j->nv);
    } else if (!j->pct && md->kind != M_TIMED) {
        res = md->kind == M_SKIP ? R_NA : R_NODATA;
        why_not(msg, sizeof msg, c, md, dv);
    } else res = judge_numbers(c, j, ks, vs, sizeof vs, ratio, sizeof ratio, msg, sizeof msg);
    if (res == R_PASS) snprintf(result, sizeof result, "PASS");
    else snprintf(result, sizeof result, "%s: %s", result_name[res], msg);
    add_line(c, j->fi, dev, (const char *[]){j->f->name, label, ms, vs, ratio, j->needed, result}, res);
    return res;
}

/* The lines of one device: every judged case, listed values no row covers, or why none. */
static void judge_device(ctx_t *c, fjob_t *j, int dev, unsigned char *covered)
{
    const attn_floor_t *f = j->f;
    char label[1024], result[512];
    memset(covered, 0, (size_t)j->ncombo);
    const int first = c->nlines;
    int judged = 0, small = 0, na = 0;
    for (int k = 0; k < j->ncases; k++) {
        if (j->cases[k].dev != dev) continue;
        covered[j->cases[k].combo] = 1;
        if (!j->cases[k].judged) {
            small++;
            continue;
        }
        judged++;
        na += judge_case(c, j, k, dev) == R_NA;
    }
    /* Every case a skip: one line says so. */
    if (judged > 1 && na == judged) {
        char keep[512], all[64];
        snprintf(keep, sizeof keep, "%s", c->lines[first].cell[6]);
        for (int i = first; i < c->nlines; i++)
            for (int m = 0; m < 7; m++) free(c->lines[i].cell[m]);
        c->nlines = first;
        snprintf(all, sizeof all, "all %d cases", judged);
        add_line(c, j->fi, dev, (const char *[]){f->name, all, "-", "-", "-", j->needed, keep}, R_NA);
    }
    /* Listed values no row covers. */
    for (long k = 0; k < j->ncombo; k++) {
        if (covered[k]) continue;
        combo_label(&j->w, k, label, sizeof label);
        if (j->pct) snprintf(result, sizeof result, "NO DATA: no %s row", j->nv);
        else snprintf(result, sizeof result, "NO DATA: no %s or %s row", j->nv, j->dv);
        add_line(c, j->fi, dev, (const char *[]){f->name, label, "-", "-", "-", j->needed, result}, R_NODATA);
        judged++;
    }
    if (judged) return;
    if (small)
        snprintf(result, sizeof result, "NO DATA: no case moves >= %g MiB (%d smaller not judged)",
                 f->min_bytes / (1 << 20), small);
    else snprintf(result, sizeof result, "NO DATA: no %s row in the filter", j->nv);
    add_line(c, j->fi, dev, (const char *[]){f->name, f->where && *f->where ? f->where : "every case",
                                             "-", "-", "-", j->needed, result}, R_NODATA);
}

static void judge_floor(ctx_t *c, const attn_floor_t *f, int fi)
{
    fjob_t j = {.f = f, .fi = fi, .pct = f->kind == ATTN_FLOOR_PCT};
    char msg[512];
    parse_where(f->where, &j.w, msg, sizeof msg); /* checked by attn_floor_check */
    j.sides[0] = &f->num, j.sides[1] = j.pct ? NULL : &f->den;
    j.ncombo = where_ncombos(&j.w);
    j.nv = f->num.variant, j.dv = j.pct ? "" : f->den.variant;
    if (j.pct) snprintf(j.needed, sizeof j.needed, ">= %g%%", f->min);
    else snprintf(j.needed, sizeof j.needed, ">= %gx", f->min);
    collect(c, &j);
    if (!j.nfdev) {
        char result[512];
        if (j.pct) snprintf(result, sizeof result, "NO DATA: no %s row of %s%s%s", j.nv, f->suite,
                            c->device ? " on a device matching " : "", c->device ? c->device : "");
        else snprintf(result, sizeof result, "NO DATA: no %s or %s row of %s%s%s", j.nv, j.dv, f->suite,
                      c->device ? " on a device matching " : "", c->device ? c->device : "");
        add_line(c, fi, -1, (const char *[]){f->name, f->where && *f->where ? f->where : "every case",
                                             "-", "-", "-", j.needed, result}, R_NODATA);
    }
    unsigned char *covered = calloc((size_t)j.ncombo + 1, 1);
    if (!covered) abort();
    for (int di = 0; di < j.nfdev; di++) judge_device(c, &j, j.fdev[di], covered);
    free(covered);
    free(j.cases);
    free(j.fdev);
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
            snprintf(what, sizeof what, "%s %s >= %gx %s%s (time of %s / time of %s)", x->suite,
                     x->num.variant, x->min, nalts(x->den.variant) > 1 ? "the fastest of " : "",
                     x->den.variant, x->den.variant, x->num.variant);
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

#define FLOORS_HELP                                                                              \
    "usage: attnbench floors [--device SUBSTRING] [--markdown FILE] CSV|DIR...\n"                   \
    "       attnbench floors --cases\n"                                                            \
    "Judges the speed floors (each suite's floors in suites/<name>.c) on the rows of results CSVs (a\n" \
    "directory: its *.csv files): per floor and case, the numerator's time against\n"              \
    "the other variant's (a ratio), or its percentage of a measured ceiling, and\n"                \
    "PASS, MISS (by how much), NO DATA (which row is missing) or N/A (a variant\n"                 \
    "skips the case). Rows match by suite, device and every axis; of the rows of a\n"              \
    "case (files in order, rows in file order) the latest measurement counts: a\n"                \
    "timing or a fail (a --check row or a skip never hides one; a fail after a timing\n"           \
    "is said so).\n"                                                                               \
    "  --device SUBSTRING  only rows whose device contains it (any case)\n"                         \
    "  --markdown FILE     also write the table as Markdown to FILE\n"                              \
    "  --cases             print the cases the floors judge, for timing them: one line\n"         \
    "                      per suite and case, SUITE TAB SHAPE (a --shape value) TAB\n"           \
    "                      our variants (a --variant regex) TAB the peers' (a regex, or\n"        \
    "                      empty); floors over every case (no where) list none\n"                  \
    "Exit status: 0 every floor with data passes and none lacks data, 1 a MISS or\n"               \
    "a NO DATA, 2 bad usage or an unreadable file.\n"

typedef struct fopts {
    int cases;
    const char *device, *markdown;
    char **paths;
    int npaths;
} fopts_t;

static void fopts_free(fopts_t *o)
{
    for (int j = 0; j < o->npaths; j++) free(o->paths[j]);
    free(o->paths);
    o->paths = NULL, o->npaths = 0;
}

/* The options and files. Returns -1 to go on, else the exit status (0 after --help, 2). */
static int parse_args(int argc, char **argv, fopts_t *o, FILE *out, FILE *err)
{
    char msg[2048];
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            fputs(FLOORS_HELP, out);
            return fopts_free(o), 0;
        }
        if (!strcmp(a, "--cases")) {
            o->cases = 1;
            continue;
        }
        if (!strncmp(a, "--", 2)) {
            char name[32];
            snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
            const char *v = eq ? eq + 1 : i + 1 < argc ? argv[i + 1] : NULL;
            if (strcmp(name, "--device") && strcmp(name, "--markdown"))
                snprintf(msg, sizeof msg, "unknown option '%s'", name);
            else if (!v || !*v) snprintf(msg, sizeof msg, "%s needs a value", name);
            else {
                *(strcmp(name, "--device") ? &o->markdown : &o->device) = v;
                i += !eq;
                continue;
            }
            return fopts_free(o), usage(err, msg);
        }
        if (a[0] == '-' && a[1]) {
            snprintf(msg, sizeof msg, "unknown option '%s'", a);
            return fopts_free(o), usage(err, msg);
        }
        if (expand(a, &o->paths, &o->npaths, msg, sizeof msg)) return fopts_free(o), usage(err, msg);
    }
    if (!o->npaths && !o->cases) return usage(err, "give at least one results CSV");
    if (o->npaths && o->cases) return fopts_free(o), usage(err, "--cases takes no results CSV");
    return -1;
}

/* ------------------------------------------------------------------ --cases */

#define MAX_CASES 1024

typedef struct fcase {
    const char *suite;
    char shape[512];
    char ours[256], peers[256]; /* "a|b" alternatives */
} fcase_t;

/* Add variant v to the alternatives list (no repeats). */
static void add_alt(char *list, size_t n, const char *v)
{
    char pad[300];
    snprintf(pad, sizeof pad, "|%s|", v);
    char have[300];
    snprintf(have, sizeof have, "|%s|", list);
    if (strstr(have, pad)) return;
    const size_t l = strlen(list);
    snprintf(list + l, n - l, "%s%s", l ? "|" : "", v);
}

static void add_side(fcase_t *c, const attn_floor_side_t *side)
{
    if (!side->variant) return;
    const int peer = side->backend && !strcmp(side->backend, "peer");
    if (peer) add_alt(c->peers, sizeof c->peers, side->variant);
    else add_alt(c->ours, sizeof c->ours, side->variant);
}

/* Every combination of floor f's listed values as a --shape value, merged into cases. */
static int floor_cases(const attn_floor_t *f, fcase_t *cases, int *ncases, char *err, size_t n)
{
    where_t w;
    if (parse_where(f->where, &w, err, n)) return -1;
    if (!w.n) return 0;
    int idx[MAX_WHERE] = {0};
    for (;;) {
        char shape[512] = "";
        for (int a = 0; a < w.n; a++) {
            const size_t l = strlen(shape);
            snprintf(shape + l, sizeof shape - l, "%s%s=%.0f", a ? "," : "", w.axis[a],
                     w.v[a][idx[a]]);
        }
        int k = 0;
        while (k < *ncases && (strcmp(cases[k].suite, f->suite) || strcmp(cases[k].shape, shape)))
            k++;
        if (k == *ncases) {
            if (k == MAX_CASES) {
                snprintf(err, n, "more than %d floor cases", MAX_CASES);
                return -1;
            }
            cases[k] = (fcase_t){.suite = f->suite};
            snprintf(cases[k].shape, sizeof cases[k].shape, "%s", shape);
            (*ncases)++;
        }
        add_side(&cases[k], &f->num);
        if (f->kind == ATTN_FLOOR_SPEEDUP) add_side(&cases[k], &f->den);
        int a = w.n - 1;
        while (a >= 0 && ++idx[a] == w.nv[a]) idx[a--] = 0;
        if (a < 0) return 0;
    }
}

/* --cases: one line per suite and case the floors judge. Exit status. */
static int print_cases(const attn_floor_t *floors, FILE *out, FILE *err)
{
    static fcase_t cases[MAX_CASES];
    int n = 0;
    char msg[256];
    for (int i = 0; floors[i].name; i++)
        if (floor_cases(&floors[i], cases, &n, msg, sizeof msg)) {
            fprintf(err, "attnbench floors: floor '%s': %s\n", floors[i].name, msg);
            return 2;
        }
    for (int k = 0; k < n; k++)
        fprintf(out, "%s\t%s\t^(%s)$\t%s%s%s\n", cases[k].suite, cases[k].shape, cases[k].ours,
                cases[k].peers[0] ? "^(" : "", cases[k].peers, cases[k].peers[0] ? ")$" : "");
    return 0;
}

/* Read the files (results.h: which row of a case counts). 0, or -1 with a message. */
static int load(ctx_t *c, const fopts_t *o, char *msg, size_t n)
{
    memset(c, 0, sizeof *c);
    c->device = o->device;
    if (attn_results_load(&c->res, (const char *const *)o->paths, o->npaths, msg, n)) return -1;
    for (int i = 0; i < c->res.nfiles; i++)
        if (c->res.f[i].c_device < 0) {
            snprintf(msg, n, "%s has no column 'device': not an attnbench results file",
                     c->res.f[i].t.name);
            return -1;
        }
    return 0;
}

static void ctx_free(ctx_t *c)
{
    attn_results_free(&c->res);
    for (int i = 0; i < c->nlines; i++)
        for (int j = 0; j < 7; j++) free(c->lines[i].cell[j]);
    free(c->lines);
    for (int i = 0; i < c->ndev; i++) free(c->devs[i]);
    free(c->devs);
}

/* The table, legend and summary to out (and md when given). Returns the exit status. */
static int print_all(const ctx_t *c, const attn_floor_t *floors, const fopts_t *o, FILE *md,
                     FILE *out, FILE *err)
{
    int count[4] = {0};
    for (int i = 0; i < c->nlines; i++) count[c->lines[i].result]++;
    const int with_dev = c->ndev > 1;
    if (c->ndev == 1) fprintf(out, "device: %s\n\n", c->devs[0]);
    print_text(c, out, with_dev);
    print_legend(floors, out, 0);
    char summary[256];
    snprintf(summary, sizeof summary, "%d PASS, %d MISS, %d NO DATA, %d N/A (%d file%s)", count[R_PASS],
             count[R_MISS], count[R_NODATA], count[R_NA], o->npaths, o->npaths == 1 ? "" : "s");
    fprintf(out, "\nsummary: %s\n", summary);
    if (c->res.nlate_fail)
        fprintf(out, "note: %d case%s of the files fail after an earlier timing (the failure counts)\n",
                c->res.nlate_fail, c->res.nlate_fail == 1 ? "" : "s");
    int rc = count[R_MISS] || count[R_NODATA] ? 1 : 0;
    if (md) {
        if (c->ndev == 1) fprintf(md, "Device: %s\n\n", c->devs[0]);
        print_markdown(c, md, with_dev);
        print_legend(floors, md, 1);
        fprintf(md, "\n%s\n", summary);
        if (fclose(md)) {
            fprintf(err, "attnbench floors: writing '%s' failed: %s\n", o->markdown, strerror(errno));
            rc = 2;
        } else fprintf(out, "markdown: %s\n", o->markdown);
    }
    fflush(out);
    return rc;
}

int attn_floors_cli(const attn_floor_t *floors, int argc, char **argv, FILE *out, FILE *err)
{
    fopts_t o;
    int rc = parse_args(argc, argv, &o, out, err);
    if (rc >= 0) return rc;
    char msg[2048];
    for (int i = 0; floors[i].name; i++)
        if (attn_floor_check(&floors[i], msg, sizeof msg)) {
            fprintf(err, "attnbench floors: bad floor definition: %s\n", msg);
            fopts_free(&o);
            return 2;
        }
    if (o.cases) return print_cases(floors, out, err);
    ctx_t c;
    FILE *md = NULL;
    rc = 2;
    if (load(&c, &o, msg, sizeof msg)) fprintf(err, "attnbench floors: %s\n", msg);
    else if (o.markdown && !(md = fopen(o.markdown, "w")))
        fprintf(err, "attnbench floors: cannot write --markdown '%s': %s\n", o.markdown, strerror(errno));
    else {
        for (int i = 0; floors[i].name; i++) judge_floor(&c, &floors[i], i);
        if (o.device && !c.ndev)
            fprintf(err, "attnbench floors: no row of a floor's variants has a device matching '%s'\n",
                    o.device);
        rc = print_all(&c, floors, &o, md, out, err);
    }
    ctx_free(&c);
    fopts_free(&o);
    return rc;
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
