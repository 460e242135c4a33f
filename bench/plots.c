#include "plots.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.h"
#include "heatmap.h"
#include "registry.h"
#include "results.h"

/* ------------------------------------------------------------------ drawing one suite */

enum { K_TP = 1, K_SP = 2, K_ERR = 3, K_RATIO = 4, K_BW = 5 };
static const int KORDER[] = {K_TP, K_BW, K_SP, K_ERR, K_RATIO}; /* drawn and printed in this order */
static const char *const KNAME[] = {"", "throughput", "speedup", "error", "error-ratio", "bandwidth"};

/* Series styles, colour and point type cycled: ours solid with filled markers; peers (backend
 * peer) dashed with open markers and darker colours of their own. Ceiling lines: one colour per
 * device. */
static const char *const PAL[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                  "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
static const int PTS[] = {7, 5, 9, 13, 11, 15};
static const char *const PPAL[] = {"#000000", "#a50026", "#313695", "#006837", "#762a83", "#8c510a",
                                   "#01665e", "#4d4d4d"};
static const int PPTS[] = {6, 4, 8, 12, 10, 14};
static const char *const CPAL[] = {"#444444", "#b8860b", "#6a3d9a", "#1b7837"};
#define NOF(a) ((int)(sizeof(a) / sizeof *(a)))

#define MAX_PANEL_AXES 8

typedef struct point {
    const char *xs;   /* the x value as in the file */
    double x, y;
    double ylo, yhi;  /* the IQR's reach (throughput, bandwidth); 0: none */
    int fail, nf;     /* from a fail row; non-finite (drawn at the top) */
    attn_rowref_t at;
} point_t;

typedef struct plist {
    point_t *p;
    int n;
} plist_t;

typedef struct series {
    char *label;
    int peer, idx;    /* idx: 1-based among ours or among the peers */
} series_t;

typedef struct panel {
    char *title;
    const char *v[MAX_PANEL_AXES];
} panel_t;

typedef struct ceil_dev {
    char *name;
    double v[2];      /* peak_tflops (throughput), peak_gbps (bandwidth); 0: none */
} ceil_dev_t;

typedef struct bline {
    char *key;        /* dtype, device, every axis value */
    double ms;
} bline_t;

/* One suite's pictures being made. */
typedef struct pics {
    const attn_results_t *res;
    const char *suite, *xa, *panels, *csvname, *tmp, *outdir;
    int si;                      /* the suite's number */
    char tag[48];                /* the temporary files' names: the suite's number, and the
                                  * picture set's ("3", "3c2") */
    char fsuffix[512];           /* after the picture's kind in its file name: the values it
                                  * fixes of axes that vary in the suite ("-B=2-H=8"), or "" */
    char fixed[1024];            /* the title's line of the values every picture fixes */
    const char *filter;          /* only the keys whose varying axes' values are this (combo) */
    char **vary;                 /* axes neither on x nor panels with several values */
    int nvary;
    const char *bvariant;        /* --baseline: the speedup's baseline variant; NULL: cuBLAS */
    int ndrawn;                  /* pictures drawn */
    char fname[256];             /* the suite's name as the pictures' file names begin */
    int np;
    char pan[MAX_PANEL_AXES][64];
    char **oth;                  /* axes neither on x nor panels */
    int noth;
    int *keys, nkeys;            /* the suite's keys, in the order of their winners */
    series_t *ser;
    int nser, nours, npeer;
    int *kser, *kpan;            /* per key (index into keys): series, panel */
    panel_t *pan_;
    int npanel, *pord;
    ceil_dev_t *cd;
    int ncd, ndev;               /* ceiling devices; distinct devices of the suite's rows */
    char dlist[512];
    bline_t *base;
    int nbase, nbase_any, nbase_rows;
    plist_t *pts;                /* [(k - 1) * nser * npanel + ser * npanel + pan] */
    unsigned char *coll;         /* per other axis: rows differing in it fell on one point */
    int badx, late_fail, have_gbps;
    char stats[256];
    int linwarn;                 /* the warning about a linear x said */
} pics_t;

static void *xalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) {
        fprintf(stderr, "attnbench plots: out of memory\n");
        abort();
    }
    return p;
}

static void *xgrow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, (n ? n : 1) * size);
    if (!q) {
        fprintf(stderr, "attnbench plots: out of memory\n");
        abort();
    }
    return q;
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) abort();
    return d;
}

static int isnum(const char *s, double *x)
{
    if (!s || !*s) return 0;
    char *e;
    *x = strtod(s, &e);
    return !*e && isfinite(*x) && !isspace((unsigned char)*s);
}

static int isinf_text(const char *s)
{
    if (*s == '+') s++;
    return !strcasecmp(s, "inf") || !strcasecmp(s, "infinity");
}

static const char *get(const pics_t *P, attn_rowref_t at, const char *col)
{
    return attn_results_get(P->res, at, col);
}

static const char *std_col(const pics_t *P, attn_rowref_t at, int which)
{
    const attn_results_file_t *f = &P->res->f[at.file];
    const int c[] = {f->c_suite, f->c_variant, f->c_backend, f->c_dtype, f->c_status, f->c_med,
                     f->c_device};
    return attn_results_at(P->res, at, c[which]);
}
enum { C_SUITE, C_VARIANT, C_BACKEND, C_DTYPE, C_STATUS, C_MED, C_DEVICE };

/* gnuplot single-quoted string: a ' is doubled, backslashes are literal. */
void attn_gnuplot_quote(FILE *f, const char *s)
{
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        fputc(*s, f);
    }
    fputc('\'', f);
}

static void fmtnum(char *b, size_t n, double v)
{
    if (v == floor(v) && fabs(v) < 1e15) snprintf(b, n, "%.0f", v);
    else snprintf(b, n, "%g", v);
}

static int ispow2(double x)
{
    if (x <= 0 || x != floor(x)) return 0;
    const double k = floor(log2(x) + 0.5);
    return pow(2, k) == x;
}

static int is_peer(const pics_t *P, attn_rowref_t at) { return !strcasecmp(std_col(P, at, C_BACKEND), "peer"); }
/* Whether row at is the speedup's baseline: the --baseline variant (ours or a peer's), else our
 * cuBLAS variants. */
static int is_base(const pics_t *P, attn_rowref_t at)
{
    if (P->bvariant) return !strcmp(std_col(P, at, C_VARIANT), P->bvariant);
    return !strncmp(std_col(P, at, C_VARIANT), "cublas", 6) && !is_peer(P, at);
}

/* The baseline's name for labels: "cuBLAS" or the variant. */
static const char *base_name(const pics_t *P) { return P->bvariant ? P->bvariant : "cuBLAS"; }

/* ------------------------------------------------------------------ series, panels, ceilings */

static int find_series(pics_t *P, const char *label, int peer)
{
    for (int i = 0; i < P->nser; i++)
        if (!strcmp(P->ser[i].label, label)) return i;
    P->ser = xgrow(P->ser, (size_t)P->nser + 1, sizeof *P->ser);
    P->ser[P->nser] = (series_t){xstrdup(label), peer, peer ? ++P->npeer : ++P->nours};
    return P->nser++;
}

static int find_panel(pics_t *P, attn_rowref_t at)
{
    char title[1024] = "";
    size_t off = 0;
    for (int j = 0; j < P->np && off < sizeof title; j++) {
        const char *v = get(P, at, P->pan[j]);
        off += (size_t)snprintf(title + off, sizeof title - off, "%s%s=%s", j ? "  " : "", P->pan[j],
                                *v ? v : "?");
    }
    for (int i = 0; i < P->npanel; i++)
        if (!strcmp(P->pan_[i].title, title)) return i;
    P->pan_ = xgrow(P->pan_, (size_t)P->npanel + 1, sizeof *P->pan_);
    panel_t *p = &P->pan_[P->npanel];
    p->title = xstrdup(title);
    for (int j = 0; j < P->np; j++) p->v[j] = get(P, at, P->pan[j]);
    return P->npanel++;
}

/* The measured ceilings of one row (the highest per device when runs differ). */
static void note_ceiling(pics_t *P, attn_rowref_t at)
{
    const char *dev = std_col(P, at, C_DEVICE);
    const char *name = *dev ? dev : "device not recorded";
    double v[2];
    const int have[2] = {isnum(get(P, at, "peak_tflops"), &v[0]) && v[0] > 0,
                         isnum(get(P, at, "peak_gbps"), &v[1]) && v[1] > 0};
    if (!have[0] && !have[1]) return;
    int i = 0;
    while (i < P->ncd && strcmp(P->cd[i].name, name)) i++;
    if (i == P->ncd) {
        P->cd = xgrow(P->cd, (size_t)P->ncd + 1, sizeof *P->cd);
        P->cd[P->ncd++] = (ceil_dev_t){xstrdup(name), {0, 0}};
    }
    for (int k = 0; k < 2; k++)
        if (have[k] && v[k] > P->cd[i].v[k]) P->cd[i].v[k] = v[k];
}

static const pics_t *sort_pics;
static int panel_less(int a, int b)
{
    const panel_t *x = &sort_pics->pan_[a], *y = &sort_pics->pan_[b];
    for (int j = 0; j < sort_pics->np; j++) {
        double p, q;
        if (!strcmp(x->v[j], y->v[j])) continue;
        if (isnum(x->v[j], &p) && isnum(y->v[j], &q)) return p < q;
        return strcmp(x->v[j], y->v[j]) < 0;
    }
    return 0;
}

/* Panels in the order of their axis values, numbers as numbers (insertion sort: few panels). */
static void sort_panels(pics_t *P)
{
    P->pord = xalloc((size_t)P->npanel * sizeof *P->pord);
    sort_pics = P;
    for (int i = 0; i < P->npanel; i++) {
        int t = i, j = i - 1;
        for (; j >= 0 && panel_less(t, P->pord[j]); j--) P->pord[j + 1] = P->pord[j];
        P->pord[j + 1] = t;
    }
}

/* The baseline key of a row: dtype, device, every axis value. */
static char *base_key(const pics_t *P, attn_rowref_t at)
{
    const attn_results_file_t *f = &P->res->f[at.file];
    size_t len = strlen(std_col(P, at, C_DTYPE)) + strlen(std_col(P, at, C_DEVICE)) + 4;
    for (int c = f->ax0; c < f->ax1; c++) len += strlen(f->t.cols[c]) + strlen(f->t.rows[at.row][c]) + 2;
    char *k = xalloc(len), *p = k;
    p += sprintf(p, "%s\x1f%s", std_col(P, at, C_DTYPE), std_col(P, at, C_DEVICE));
    for (int c = f->ax0; c < f->ax1; c++) p += sprintf(p, "\x1f%s=%s", f->t.cols[c], f->t.rows[at.row][c]);
    return k;
}

static int by_bkey(const void *a, const void *b)
{
    return strcmp(((const bline_t *)a)->key, ((const bline_t *)b)->key);
}

/* The baseline's time at row at's case, or 0. */
static double baseline(const pics_t *P, attn_rowref_t at)
{
    bline_t want = {base_key(P, at), 0};
    const bline_t *b = P->nbase ? bsearch(&want, P->base, (size_t)P->nbase, sizeof *P->base, by_bkey) : NULL;
    free(want.key);
    return b ? b->ms : 0;
}

/* ------------------------------------------------------------------ the suite's keys */

static int by_win(const void *a, const void *b)
{
    const attn_result_t *x = &sort_pics->res->k[*(const int *)a], *y = &sort_pics->res->k[*(const int *)b];
    if (x->win.file != y->win.file) return x->win.file < y->win.file ? -1 : 1;
    return (x->win.row > y->win.row) - (x->win.row < y->win.row);
}

static int by_bkey_then_order(const void *a, const void *b)
{
    const bline_t *x = a, *y = b;
    const int c = strcmp(x->key, y->key);
    return c ? c : (x->ms > y->ms) - (x->ms < y->ms); /* ms holds the order until deduplicated */
}

/* The baselines: the baseline variant's timings (our cuBLAS by default), by dtype, device and
 * case; of one case the later winner. */
static void collect_baselines(pics_t *P)
{
    double *ms = xalloc(((size_t)P->nkeys + 1) * sizeof *ms);
    P->base = xalloc(((size_t)P->nkeys + 1) * sizeof *P->base);
    for (int i = 0; i < P->nkeys; i++) {
        const attn_rowref_t at = P->res->k[P->keys[i]].win;
        if (!is_base(P, at)) continue;
        P->nbase_any++;
        double m;
        if (attn_results_kind(P->res, at, &m) != ATTN_ROW_TIMED) continue;
        P->nbase_rows++;
        ms[P->nbase] = m;
        P->base[P->nbase] = (bline_t){base_key(P, at), (double)P->nbase};
        P->nbase++;
    }
    qsort(P->base, (size_t)P->nbase, sizeof *P->base, by_bkey_then_order);
    int n = 0;
    for (int i = 0; i < P->nbase; i++) {
        const bline_t b = {P->base[i].key, ms[(int)P->base[i].ms]};
        if (n && !strcmp(P->base[n - 1].key, b.key)) {
            free(P->base[n - 1].key);
            P->base[n - 1] = b;
        } else P->base[n++] = b;
    }
    P->nbase = n;
    free(ms);
}

static void combo_of(const pics_t *P, attn_rowref_t at, char *b, size_t n);

/* The suite's keys (in the order of their winners), series, panels, devices, ceilings, row
 * counts and baselines. */
static void select_keys(pics_t *P)
{
    const attn_results_t *res = P->res;
    P->keys = xalloc(((size_t)res->nkeys + 1) * sizeof *P->keys);
    for (int i = 0; i < res->nkeys; i++) {
        if (strcmp(std_col(P, res->k[i].win, C_SUITE), P->suite)) continue;
        if (P->filter) { /* one combination of the varying axes */
            char c[1024];
            combo_of(P, res->k[i].win, c, sizeof c);
            if (strcmp(c, P->filter)) continue;
        }
        P->keys[P->nkeys++] = i;
    }
}

static void scan(pics_t *P)
{
    const attn_results_t *res = P->res;
    char **devs = xalloc(((size_t)P->nkeys + 1) * sizeof *devs);
    for (int i = 0; i < P->nkeys; i++) {
        const char *d = std_col(P, res->k[P->keys[i]].win, C_DEVICE);
        int seen = !*d;
        for (int j = 0; j < P->ndev && !seen; j++) seen = !strcmp(devs[j], d);
        if (!seen) {
            devs[P->ndev++] = (char *)d;
            if (P->ndev <= 2)
                snprintf(P->dlist + strlen(P->dlist), sizeof P->dlist - strlen(P->dlist), "%s%s",
                         P->ndev > 1 ? ", " : "", d);
        }
    }
    free(devs);
    if (P->ndev > 2)
        snprintf(P->dlist + strlen(P->dlist), sizeof P->dlist - strlen(P->dlist), " (+%d more)", P->ndev - 2);
    if (!P->ndev) snprintf(P->dlist, sizeof P->dlist, "device not recorded");
    P->kser = xalloc(((size_t)res->nkeys + 1) * sizeof *P->kser); /* by key index of res */
    P->kpan = xalloc(((size_t)res->nkeys + 1) * sizeof *P->kpan);
    for (int i = 0; i < P->nkeys; i++) {
        const attn_rowref_t at = res->k[P->keys[i]].win;
        char label[1024];
        const char *dev = std_col(P, at, C_DEVICE);
        const int peer = is_peer(P, at);
        snprintf(label, sizeof label, "%s/%s%s%s%s", std_col(P, at, C_VARIANT), std_col(P, at, C_DTYPE),
                 P->ndev > 1 ? " @" : "", P->ndev > 1 ? (*dev ? dev : std_col(P, at, C_BACKEND)) : "",
                 peer ? " (peer)" : "");
        P->kser[P->keys[i]] = find_series(P, label, peer);
        P->kpan[P->keys[i]] = find_panel(P, at);
    }
    /* every row: the ceilings (the highest per device) and the counts of each status */
    int cnt[4] = {0};
    for (int fi = 0; fi < res->nfiles; fi++)
        for (int r = 0; r < res->f[fi].t.nrows; r++) {
            const attn_rowref_t at = {fi, r};
            if (strcmp(std_col(P, at, C_SUITE), P->suite)) continue;
            const char *st = std_col(P, at, C_STATUS);
            cnt[!strcmp(st, "ok") ? 0 : !strcmp(st, "fail") ? 1 : !strcmp(st, "skip") ? 2 : 3]++;
            note_ceiling(P, at);
        }
    snprintf(P->stats, sizeof P->stats, "%d ok, %d fail, %d skip", cnt[0], cnt[1], cnt[2]);
    if (cnt[3]) snprintf(P->stats + strlen(P->stats), sizeof P->stats - strlen(P->stats), ", %d other", cnt[3]);
    for (int fi = 0; fi < res->nfiles; fi++) P->have_gbps |= attn_table_col(&res->f[fi].t, "gbps") >= 0;
    sort_panels(P);
    collect_baselines(P);
}

/* ------------------------------------------------------------------ the points */

static plist_t *plist(const pics_t *P, int k, int ser, int pan)
{
    return &P->pts[((size_t)(k - 1) * (size_t)P->nser + (size_t)ser) * (size_t)P->npanel + (size_t)pan];
}

/* Set the point of series ser at x in panel pan of picture k: a later key's replaces an earlier
 * one's, and other axes in which they differ are noted. */
static point_t *point(pics_t *P, int k, int ser, int pan, const char *xs, double y, int fail, int nf,
                      attn_rowref_t at)
{
    plist_t *l = plist(P, k, ser, pan);
    int i = 0;
    while (i < l->n && strcmp(l->p[i].xs, xs)) i++;
    if (i == l->n) {
        l->p = xgrow(l->p, (size_t)l->n + 1, sizeof *l->p);
        l->n++;
    } else
        for (int a = 0; a < P->noth; a++)
            if (strcmp(get(P, l->p[i].at, P->oth[a]), get(P, at, P->oth[a]))) P->coll[a] = 1;
    double x = 0;
    isnum(xs, &x);
    l->p[i] = (point_t){xs, x, y, 0, 0, fail, nf, at};
    return &l->p[i];
}

/* The error pictures' point of one value (rel_l2_err, or max_abs_err / tolerance). */
static void error_point(pics_t *P, int k, int ser, int pan, const char *xs, const char *v, double div,
                        int fail, attn_rowref_t at)
{
    double y;
    if (isnum(v, &y)) point(P, k, ser, pan, xs, y / div > 0 ? y / div : 0, fail, 0, at);
    else if (isinf_text(v)) point(P, k, ser, pan, xs, 0, fail, 1, at);
}

/* Each key's winner on the pictures it qualifies for (plots/README.md's table). */
static void place(pics_t *P)
{
    P->pts = xalloc((size_t)5 * (size_t)P->nser * (size_t)P->npanel * sizeof *P->pts + 1);
    for (int i = 0; i < P->nkeys; i++) {
        const attn_result_t *key = &P->res->k[P->keys[i]];
        const attn_rowref_t at = key->win;
        const char *xs = get(P, at, P->xa), *st = std_col(P, at, C_STATUS);
        const int ser = P->kser[P->keys[i]], pan = P->kpan[P->keys[i]], ok = !strcmp(st, "ok"), fail = !strcmp(st, "fail");
        double x, y, ms;
        if (!isnum(xs, &x)) {
            P->badx += *xs || ok;
            continue;
        }
        P->late_fail += attn_results_failed_after_timing(key);
        /* the IQR of the time as the rate's reach: rate · m / (m ± iqr/2) */
        double m = 0, iqr = 0;
        const int bars = ok && attn_results_kind(P->res, at, &m) == ATTN_ROW_TIMED &&
                         isnum(get(P, at, "iqr_ms"), &iqr) && iqr > 0;
        const int kk[2] = {K_TP, K_BW};
        const char *col[2] = {"tflops", "gbps"};
        for (int j = 0; j < 2; j++) {
            if (!ok || !isnum(get(P, at, col[j]), &y) || !(y > 0)) continue;
            point_t *pt = point(P, kk[j], ser, pan, xs, y, 0, 0, at);
            if (!bars) continue;
            pt->ylo = y * m / (m + iqr / 2);
            pt->yhi = m > iqr / 2 ? y * m / (m - iqr / 2) : y * 2; /* a lower quartile near 0 */
        }
        /* speedup: the baseline series themselves are the line at 1, so they are not drawn */
        if (ok && !is_base(P, at) && attn_results_kind(P->res, at, &ms) == ATTN_ROW_TIMED) {
            const double b = baseline(P, at);
            if (b > 0) point(P, K_SP, ser, pan, xs, b / ms, 0, 0, at);
        }
        if (!ok && !fail) continue;
        error_point(P, K_ERR, ser, pan, xs, get(P, at, "rel_l2_err"), 1, fail, at);
        double tol; /* the absolute bound; "tolerance" in CSVs written before it was named so */
        if ((isnum(get(P, at, "tolerance_abs"), &tol) || isnum(get(P, at, "tolerance"), &tol)) &&
            tol > 0)
            error_point(P, K_RATIO, ser, pan, xs, get(P, at, "max_abs_err"), tol, fail, at);
    }
}

/* Warnings about what is not drawn. */
static void warn_points(const pics_t *P)
{
    if (P->badx)
        fprintf(stderr, "attnbench plots: warning: suite %s: %d case(s) have no numeric %s value and are "
                        "not drawn\n", P->suite, P->badx, P->xa);
    if (P->late_fail)
        fprintf(stderr, "attnbench plots: warning: suite %s: %d case(s) fail after an earlier timing: "
                        "the failure counts, so their timing is not drawn (attnbench floors and "
                        "compare name them)\n", P->suite, P->late_fail);
    char list[512] = "";
    for (int a = 0; a < P->noth; a++)
        if (P->coll[a])
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", list[0] ? "," : "", P->oth[a]);
    if (list[0])
        fprintf(stderr, "attnbench plots: warning: suite %s: rows differing only in axis %s (neither "
                        "the x axis nor a panel axis) fell on the same point; the latest is drawn. "
                        "Add %s to the panels or filter the CSV.\n", P->suite, list, list);
}

/* ------------------------------------------------------------------ one picture's script */

/* log-scale tics between lo and hi, as a gnuplot tic list. */
static void logtics(FILE *gp, double lo, double hi)
{
    const int k0 = (int)ceil(log10(lo) - 1e-9), k1 = (int)floor(log10(hi) + 1e-9), D = k1 - k0 + 1;
    char num[64];
    fputs("set ytics (", gp);
    if (D >= 4) {
        const int step = (int)ceil(D / 9.0);
        int first = 1;
        for (int k = k0; k <= k1; k++)
            if ((k - k0) % step == 0) {
                const double v = pow(10, k);
                fmtnum(num, sizeof num, v);
                fprintf(gp, "%s\"%s\" %.17g", first ? "" : ", ", num, v);
                first = 0;
            }
        fputs(")\n", gp);
        return;
    }
    static const double sets[4][12] = {{1, 3}, {1, 2, 5}, {1, 1.5, 2, 3, 5, 7},
                                       {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 7, 8, 9}};
    static const int nm[4] = {2, 3, 6, 12};
    char best[2048] = "", out[2048];
    for (int si = 0; si < 4; si++) {
        int cnt = 0;
        size_t off = 0;
        out[0] = 0;
        for (int k = (int)floor(log10(lo)) - 1; k <= (int)ceil(log10(hi)) + 1; k++)
            for (int j = 0; j < nm[si]; j++) {
                char t[64];
                snprintf(t, sizeof t, "%ge%d", sets[si][j], k);
                const double v = strtod(t, NULL);
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9) && off < sizeof out) {
                    cnt++;
                    off += (size_t)snprintf(out + off, sizeof out - off, "%s\"%g\" %.17g", off ? ", " : "", v, v);
                }
            }
        if (cnt > 13 && best[0]) break;
        snprintf(best, sizeof best, "%s", out);
        if (cnt >= 4) break;
    }
    fprintf(gp, "%s)\n", best);
}

/* A ceiling for a label: 789 TFLOP/s, 3350 GB/s, 12.5, 0.734 */
static void ceil_label(const pics_t *P, int k, int c, int long_, char *b, size_t n)
{
    const double v = P->cd[c].v[k == K_BW];
    char num[32];
    if (v >= 100) snprintf(num, sizeof num, "%.0f", v);
    else if (v >= 10) snprintf(num, sizeof num, "%.1f", v);
    else snprintf(num, sizeof num, "%.3g", v);
    snprintf(b, n, "%s%s%s%s%s%s", long_ ? (k == K_TP ? "measured bf16 GEMM peak " : "measured copy bandwidth ") : "",
             num, k == K_TP ? " TFLOP/s" : " GB/s", P->ndev > 1 || P->ncd > 1 ? " (" : "",
             P->ndev > 1 || P->ncd > 1 ? P->cd[c].name : "", P->ndev > 1 || P->ncd > 1 ? ")" : "");
}

static void style(FILE *gp, const series_t *s)
{
    const int i = s->idx - 1;
    if (s->peer) fprintf(gp, "lc rgb '%s' pt %d dt (10,5)", PPAL[i % NOF(PPAL)], PPTS[i % NOF(PPTS)]);
    else fprintf(gp, "lc rgb '%s' pt %d dt solid", PAL[i % NOF(PAL)], PTS[i % NOF(PTS)]);
}

/* What one picture holds: its series (ours, then the peers), x values, y range, flags. */
typedef struct pic {
    int k, npts, nsers, *sers, nxd, allpos, allp2, anyfail, anynf, anyzero, anybar, nyf, nceil, *cl;
    double *xd, xmin, xmax, ymin, ymax, boty;
    char title1[1024], title2[1024];
    const char *ylab;
} pic_t;

static int by_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void gather(const pics_t *P, pic_t *q)
{
    q->sers = xalloc(((size_t)P->nser + 1) * sizeof *q->sers);
    q->allpos = q->allp2 = 1;
    for (int pass = 0; pass <= 1; pass++)
        for (int s = 0; s < P->nser; s++) {
            if (P->ser[s].peer != pass) continue;
            int any = 0;
            for (int p = 0; p < P->npanel; p++) any |= plist(P, q->k, s, p)->n > 0;
            if (!any) continue;
            q->sers[q->nsers++] = s;
            for (int p = 0; p < P->npanel; p++) {
                const plist_t *l = plist(P, q->k, s, p);
                for (int i = 0; i < l->n; i++) {
                    const point_t *pt = &l->p[i];
                    const double x = pt->x;
                    q->npts++;
                    int seen = 0;
                    for (int j = 0; j < q->nxd && !seen; j++) seen = q->xd[j] == x;
                    if (!seen) q->xd = xgrow(q->xd, (size_t)q->nxd + 1, sizeof *q->xd), q->xd[q->nxd++] = x;
                    if (q->npts == 1 || x < q->xmin) q->xmin = x;
                    if (q->npts == 1 || x > q->xmax) q->xmax = x;
                    if (x <= 0) q->allpos = 0;
                    if (!ispow2(x)) q->allp2 = 0;
                    q->anyfail |= pt->fail;
                    q->anybar |= pt->yhi > 0;
                    if (pt->nf) {
                        q->anynf = 1;
                        continue;
                    }
                    if ((q->k == K_ERR || q->k == K_RATIO) && !(pt->y > 0)) {
                        q->anyzero = 1; /* drawn at the bottom: no stretch of the y axis */
                        continue;
                    }
                    const double lo = pt->ylo > 0 && pt->ylo < pt->y ? pt->ylo : pt->y;
                    const double hi = pt->yhi > pt->y ? pt->yhi : pt->y;
                    if (!q->nyf++ || lo < q->ymin) q->ymin = lo;
                    if (q->nyf == 1 || hi > q->ymax) q->ymax = hi;
                }
            }
        }
    qsort(q->xd, (size_t)q->nxd, sizeof *q->xd, by_double);
}

/* The measured ceilings of the picture inside its y range, highest first. */
static void ceilings(const pics_t *P, pic_t *q)
{
    q->cl = xalloc(((size_t)P->ncd + 1) * sizeof *q->cl);
    if (q->k != K_TP && q->k != K_BW) return;
    const int w = q->k == K_BW;
    for (int i = 0; i < P->ncd; i++) {
        const double v = P->cd[i].v[w];
        if (!(v > 0)) continue;
        int j = q->nceil++;
        for (; j > 0 && P->cd[q->cl[j - 1]].v[w] < v; j--) q->cl[j] = q->cl[j - 1];
        q->cl[j] = i;
        if (v < q->ymin) q->ymin = v;
        if (v > q->ymax) q->ymax = v;
    }
}

/* Why picture q has no point (it is then not drawn). */
static void no_data_msg(const pics_t *P, const pic_t *q, char *msg, size_t n)
{
    const char *b = base_name(P);
    switch (q->k) {
    case K_TP: snprintf(msg, n, "no rows with status ok and a tflops value"); break;
    case K_SP:
        if (!P->nbase_any) snprintf(msg, n, "no %s baseline rows%s", b, P->bvariant ? "" : " (--baseline VARIANT names another)");
        else if (!P->nbase_rows) snprintf(msg, n, "no usable %s baseline rows (status ok with median_ms)", b);
        else snprintf(msg, n, "no ok row of another variant has a %s baseline of its dtype at the same case", b);
        break;
    case K_ERR: snprintf(msg, n, "no rows (status ok or fail) with rel_l2_err"); break;
    case K_RATIO: snprintf(msg, n, "no rows (status ok or fail) with max_abs_err and a tolerance"); break;
    default:
        snprintf(msg, n, "no rows with status ok and a gbps value%s", P->have_gbps ? "" : " (the CSV has no gbps column)");
    }
}

/* x and y ranges and tics, shared by every panel of the picture. Returns where non-finite
 * values are drawn (the top). */
static double ranges(pics_t *P, pic_t *q, FILE *gp)
{
    if (q->nyf == 0) q->ymin = q->ymax = 1; /* only non-finite values */
    if (q->k == K_SP || q->k == K_RATIO) {
        if (q->ymin > 1) q->ymin = 1;
        if (q->ymax < 1) q->ymax = 1;
    }
    if (q->anynf && q->ymax < 1) q->ymax = 1; /* non-finite errors are drawn at the top */
    ceilings(P, q);
    double f;
    if (q->allpos) {
        f = q->xmax > q->xmin ? exp(0.05 * log(q->xmax / q->xmin)) : 2;
        if (q->xmax > q->xmin && f < 1.15) f = 1.15;
        fprintf(gp, "set logscale x %d\nset xrange [%.17g:%.17g]\n", q->allp2 ? 2 : 10, q->xmin / f, q->xmax * f);
    } else {
        if (!P->linwarn++)
            fprintf(stderr, "attnbench plots: warning: suite %s: %s has values <= 0, so x is drawn on a "
                            "linear scale\n", P->suite, P->xa);
        f = q->xmax > q->xmin ? 0.05 * (q->xmax - q->xmin) : 1;
        fprintf(gp, "unset logscale x\nset xrange [%.17g:%.17g]\n", q->xmin - f, q->xmax + f);
    }
    if (q->nxd <= 16) {
        fputs("set xtics (", gp);
        for (int i = 0; i < q->nxd; i++) {
            char num[64];
            fmtnum(num, sizeof num, q->xd[i]);
            fprintf(gp, "%s\"%s\" %.17g", i ? ", " : "", num, q->xd[i]);
        }
        fputs(")\n", gp);
    } else fputs("set xtics\nset format x '%g'\n", gp);
    double pad = exp(0.08 * log(q->ymax / q->ymin));
    if (pad < 1.35) pad = 1.35;
    const double lo = q->ymin / pad, hi = q->ymax * pad;
    fprintf(gp, "set logscale y 10\nset yrange [%.17g:%.17g]\n", lo, hi);
    logtics(gp, lo, hi);
    fputs("unset mytics\n", gp);
    q->boty = q->ymin / (pad > 1.2 ? pad / 1.12 : pad); /* exact zeros (error pictures) */
    return q->ymax * (pad > 1.2 ? pad / 1.12 : pad);
}

/* The layout in pixels (the picture is W x H; png and svg share it). */
typedef struct layout {
    int cols, rows, legC, legH, H;
    double topH, gapy, colw, rowh;
} layout_t;

static layout_t lay_out(const pics_t *P, const pic_t *q)
{
    layout_t L;
    if (P->npanel <= 3) L.cols = P->npanel;
    else {
        L.cols = (int)sqrt(P->npanel);
        if (L.cols * L.cols < P->npanel) L.cols++;
    }
    L.rows = (P->npanel + L.cols - 1) / L.cols;
    size_t maxlen = 0;
    for (int i = 0; i < q->nsers; i++)
        if (strlen(P->ser[q->sers[i]].label) > maxlen) maxlen = strlen(P->ser[q->sers[i]].label);
    const int errk = q->k == K_ERR || q->k == K_RATIO;
    if (errk && q->anyfail && maxlen < 26) maxlen = 26;
    if (q->k == K_RATIO && maxlen < 37) maxlen = 37;
    if (q->k == K_SP && maxlen < 25) maxlen = 25;
    for (int i = 0; i < q->nceil; i++) {
        char lab[512];
        ceil_label(P, q->k, q->cl[i], 1, lab, sizeof lab);
        if (strlen(lab) > maxlen) maxlen = strlen(lab);
    }
    const int n = q->nsers + (errk && q->anyfail) + q->anynf + q->anyzero + q->anybar + (q->k == K_SP || q->k == K_RATIO) + q->nceil;
    L.legC = (int)(1100 / (maxlen * 8.5 + 85));
    if (L.legC < 1) L.legC = 1;
    if (L.legC > n) L.legC = n;
    const int legR = (n + L.legC - 1) / L.legC;
    L.legH = legR * 19 + 14;
    L.topH = (P->np ? 104 : 78) + (P->fixed[0] ? 22 : 0);
    const double botH = 10 + L.legH + 66, gapx = 62, left = 96, right = 30;
    L.gapy = P->np ? 78 : 50;
    L.H = (int)(L.topH + L.rows * 210 + (L.rows - 1) * L.gapy + botH);
    if (L.H < 800) L.H = 800;
    L.colw = (1200 - left - right - (L.cols - 1) * gapx) / L.cols;
    L.rowh = (L.H - L.topH - botH - (L.rows - 1) * L.gapy) / L.rows;
    return L;
}

static int by_x(const void *a, const void *b)
{
    const double x = ((const point_t *)a)->x, y = ((const point_t *)b)->x;
    return (x > y) - (x < y);
}

/* One panel: its margins, labels, reference lines and plot command with its data files. */
static void panel(const pics_t *P, const pic_t *q, const layout_t *L, int pidx, double topy, FILE *gp)
{
    const int p = P->pord[pidx], r_ = pidx / L->cols, c_ = pidx % L->cols;
    const double W = 1200, pl = 96 + c_ * (L->colw + 62), pr = pl + L->colw;
    const double pt = L->H - L->topH - r_ * (L->rowh + L->gapy), pb = pt - L->rowh;
    fprintf(gp, "set lmargin at screen %.5f; set rmargin at screen %.5f; set tmargin at screen %.5f; "
                "set bmargin at screen %.5f\n", pl / W, pr / W, pt / L->H, pb / L->H);
    fputs("set title ", gp), attn_gnuplot_quote(gp, P->np ? P->pan_[p].title : ""), fputs(" font ',13'\n", gp);
    fputs("set xlabel ", gp), attn_gnuplot_quote(gp, r_ == L->rows - 1 || pidx + L->cols >= P->npanel ? P->xa : "");
    fputs(" font ',12'\nset ylabel ", gp), attn_gnuplot_quote(gp, c_ == 0 ? q->ylab : ""), fputs(" font ',12' offset YLOFF, 0\n", gp);
    fputs("unset arrow; unset label\n", gp);
    if (q->k == K_SP) fputs("set arrow from graph 0, first 1 to graph 1, first 1 nohead back lc rgb '#333333' lw 1.5 dt 2\n", gp);
    if (q->k == K_RATIO) fputs("set arrow from graph 0, first 1 to graph 1, first 1 nohead back lc rgb '#cc0000' lw 1.5 dt 2\n", gp);
    for (int i = 0; i < q->nceil; i++) {
        const double cv = P->cd[q->cl[i]].v[q->k == K_BW];
        const char *cc = CPAL[q->cl[i] % NOF(CPAL)];
        fprintf(gp, "set arrow from graph 0, first %.10g to graph 1, first %.10g nohead back lc rgb '%s' lw 1.8 dt (8,4,2,4)\n", cv, cv, cc);
        if (i) continue;
        char lab[512];
        ceil_label(P, q->k, q->cl[i], q->nceil == 1, lab, sizeof lab);
        fputs("set label 11 ", gp), attn_gnuplot_quote(gp, lab);
        fprintf(gp, " at graph 0.012, first %.10g left offset 0, 0.6 font ',9' tc rgb '%s' front\n", cv, cc);
    }
    char fdat[1200], dat[1200];
    snprintf(fdat, sizeof fdat, "%s/f%s_%d_%d.dat", P->tmp, P->tag, q->k, p + 1);
    FILE *ff = NULL;
    int npan = 0;
    for (int i = 0; i < q->nsers; i++) npan += plist(P, q->k, q->sers[i], p)->n;
    if (!npan) {
        fputs("set label 2 'no data in this panel' at graph 0.5, 0.5 center font ',12' tc rgb '#555555'\n"
              "plot NaN notitle\n", gp);
        return;
    }
    npan = 0;
    fputs("plot ", gp);
    for (int i = 0; i < q->nsers; i++) {
        const int s = q->sers[i];
        const plist_t *l = plist(P, q->k, s, p);
        if (!l->n) continue;
        point_t *xo = xalloc((size_t)l->n * sizeof *xo);
        memcpy(xo, l->p, (size_t)l->n * sizeof *xo);
        qsort(xo, (size_t)l->n, sizeof *xo, by_x);
        snprintf(dat, sizeof dat, "%s/d%s_%d_%d_%d.dat", P->tmp, P->tag, q->k, p + 1, s + 1);
        FILE *d = fopen(dat, "w"), *e = NULL;
        char edat[1200];
        snprintf(edat, sizeof edat, "%s/e%s_%d_%d_%d.dat", P->tmp, P->tag, q->k, p + 1, s + 1);
        const int errk = q->k == K_ERR || q->k == K_RATIO;
        for (int j = 0; d && j < l->n; j++) {
            const double y = xo[j].nf ? topy : errk && !(xo[j].y > 0) ? q->boty : xo[j].y;
            fprintf(d, "%s %.10g\n", xo[j].xs, y);
            if (xo[j].yhi > 0 && (e || (e = fopen(edat, "w"))))
                fprintf(e, "%s %.10g %.10g %.10g\n", xo[j].xs, y, xo[j].ylo, xo[j].yhi);
            if (!xo[j].fail && !xo[j].nf) continue;
            if (!ff) ff = fopen(fdat, "w");
            if (ff) fprintf(ff, "%s %.10g\n", xo[j].xs, y);
        }
        if (d) fclose(d);
        free(xo);
        if (npan) fputs(", ", gp);
        attn_gnuplot_quote(gp, dat);
        fprintf(gp, " using 1:2 with linespoints ls %d notitle", s + 1);
        if (e) { /* the IQR as error bars */
            fclose(e);
            fputs(", ", gp), attn_gnuplot_quote(gp, edat);
            fprintf(gp, " using 1:2:3:4 with yerrorbars ls %d ps 0 notitle", s + 1);
        }
        npan += l->n;
    }
    if (ff) {
        fclose(ff);
        fputs(", ", gp), attn_gnuplot_quote(gp, fdat), fputs(" using 1:2 with points ls 100 notitle", gp);
    }
    fputs("\n", gp);
}

/* The shared key, in its own strip at the bottom. */
static void key_strip(const pics_t *P, const pic_t *q, const layout_t *L, FILE *gp)
{
    fputs("unset arrow; unset label; unset title; unset xlabel; unset ylabel; unset grid; unset border\n"
          "unset logscale; unset xtics; unset ytics; set xrange [0:1]; set yrange [0:1]\n", gp);
    fprintf(gp, "set lmargin at screen 0.01; set rmargin at screen 0.99; set bmargin at screen %.5f; "
                "set tmargin at screen %.5f\n", 8.0 / L->H, (8.0 + L->legH) / L->H);
    fprintf(gp, "set key inside center center horizontal reverse Left maxcols %d samplen 3 spacing 1.15 "
                "width 1 box lc rgb '#aaaaaa' font ',11'\nplot ", L->legC);
    for (int i = 0; i < q->nsers; i++) {
        fprintf(gp, "%sNaN with linespoints ls %d title ", i ? ", " : "", q->sers[i] + 1);
        attn_gnuplot_quote(gp, P->ser[q->sers[i]].label);
    }
    if (q->k == K_SP) {
        char t[600];
        snprintf(t, sizeof t, "%s, same dtype (= 1)", base_name(P));
        fputs(", NaN with lines lc rgb '#333333' lw 1.5 dt 2 title ", gp), attn_gnuplot_quote(gp, t);
    }
    if (q->k == K_RATIO)
        fputs(", NaN with lines lc rgb '#cc0000' lw 1.5 dt 2 title 'fails above: max_abs_err > tolerance'", gp);
    for (int i = 0; i < q->nceil; i++) {
        char lab[512];
        ceil_label(P, q->k, q->cl[i], 1, lab, sizeof lab);
        fprintf(gp, ", NaN with lines lc rgb '%s' lw 1.8 dt (8,4,2,4) title ", CPAL[q->cl[i] % NOF(CPAL)]);
        attn_gnuplot_quote(gp, lab);
    }
    if ((q->k == K_ERR || q->k == K_RATIO) && q->anyfail) fputs(", NaN with points ls 100 title 'circled: status fail'", gp);
    if (q->anynf) fputs(", NaN with points lc rgb 'white' pt 1 ps 0 title 'non-finite (inf): drawn at the top'", gp);
    if (q->anyzero) fputs(", NaN with points lc rgb 'white' pt 1 ps 0 title 'exactly 0: drawn at the bottom'", gp);
    if (q->anybar) fputs(", NaN with points lc rgb 'white' pt 1 ps 0 title 'error bars: the IQR of the time'", gp);
    fputs("\nunset multiplot\n", gp);
}

/* The script of picture k (tmp/p<tag>_<k>.gp); *H gets its height. Returns 0, or -1 when the
 * picture has no point (no script: it is not drawn; msg says why). */
static int picture(pics_t *P, int k, int *H, char *msg, size_t mn)
{
    static const char *const quant[] = {
        "", "throughput (higher is better)",
        "speedup = median_ms(BASELINE, same dtype and case) / median_ms(variant)",
        "relative L2 error vs the reference (lower is better)", "max abs error / tolerance (fails above 1)",
        "bandwidth = minimum bytes / median_ms (higher is better)"};
    static const char *const ylab[] = {"", "throughput [TFLOP/s]", "speedup vs BASELINE  [x]",
                                       "rel. L2 error  ||out - ref|| / ||ref||  [1]",
                                       "max_abs_err / tolerance  [1]", "bandwidth [GB/s]"};
    char yl[600], qt[600];
    snprintf(yl, sizeof yl, "speedup vs %s  [x]", base_name(P));
    snprintf(qt, sizeof qt, "speedup = median_ms(%s, same dtype and case) / median_ms(variant)", base_name(P));
    pic_t q = {.k = k, .ylab = k == K_SP ? yl : ylab[k]};
    snprintf(q.title1, sizeof q.title1, "attnbench %s: %s", P->suite, k == K_SP ? qt : quant[k]);
    snprintf(q.title2, sizeof q.title2, "device: %s    x: %s%s%s", P->dlist, P->xa, P->np ? "    panels: " : "",
             P->np ? P->panels : "");
    gather(P, &q);
    int rc = 0;
    *H = 800;
    if (!q.npts) {
        no_data_msg(P, &q, msg, mn);
        rc = -1;
        free(q.sers), free(q.xd);
        return rc;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/p%s_%d.gp", P->tmp, P->tag, k);
    FILE *gp = fopen(path, "w");
    if (!gp) {
        fprintf(stderr, "attnbench plots: cannot write %s: %s\n", path, strerror(errno));
        goto done;
    }
    fputs("reset\nset termoption noenhanced\nset encoding utf8\n", gp);
    const double topy = ranges(P, &q, gp);
    fputs("set grid xtics ytics lc rgb '#c4c4c4' lw 1 dt 1\nset border 3 lw 1.2\nset xtics nomirror\n"
          "set ytics nomirror\nunset key\nset tics out\nset style line 100 lc rgb 'black' pt 6 ps 2.4 lw 1.5\n", gp);
    for (int i = 0; i < q.nsers; i++) {
        fprintf(gp, "set style line %d ", q.sers[i] + 1);
        style(gp, &P->ser[q.sers[i]]);
        fputs(" lw 2 ps 1.3\n", gp);
    }
    const layout_t L = lay_out(P, &q);
    *H = L.H;
    fputs("set multiplot title ", gp), attn_gnuplot_quote(gp, q.title1), fputs(".\"\\n\".", gp), attn_gnuplot_quote(gp, q.title2);
    if (P->fixed[0]) fputs(".\"\\n\".", gp), attn_gnuplot_quote(gp, P->fixed);
    fputs(" font ',15'\n", gp);
    for (int pidx = 0; pidx < P->npanel; pidx++) panel(P, &q, &L, pidx, topy, gp);
    key_strip(P, &q, &L, gp);
done:
    if (gp) fclose(gp);
    free(q.sers), free(q.xd), free(q.cl);
    return rc;
}

/* ------------------------------------------------------------------ running gnuplot */

/* Run gnuplot on script with its output into log. Its exit status, or 127 when it cannot start. */
int attn_gnuplot(const char *script, const char *log)
{
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) return 127;
    if (pid == 0) {
        const int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        fprintf(stderr, "cannot run gnuplot: %s\n", strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void print_file(const char *path)
{
    FILE *f = fopen(path, "r");
    char buf[4096];
    size_t n;
    while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
    if (f) fclose(f);
}

/* Draw picture k's script as png and svg into the output directory, printing each path. */
static int draw(const pics_t *P, int k, int H)
{
    char run[1200], log[1200], script[1200], png[1200], svg[1200];
    snprintf(run, sizeof run, "%s/run_%s_%d.gp", P->tmp, P->tag, k);
    snprintf(log, sizeof log, "%s/gnuplot.log", P->tmp);
    snprintf(script, sizeof script, "%s/p%s_%d.gp", P->tmp, P->tag, k);
    snprintf(png, sizeof png, "%s/%s-%s%s.png", P->outdir, P->fname, KNAME[k], P->fsuffix);
    snprintf(svg, sizeof svg, "%s/%s-%s%s.svg", P->outdir, P->fname, KNAME[k], P->fsuffix);
    FILE *f = fopen(run, "w");
    if (!f) {
        fprintf(stderr, "attnbench plots: cannot write %s: %s\n", run, strerror(errno));
        return 1;
    }
    fprintf(f, "set terminal pngcairo size 1200,%d font \"DejaVu Sans,11\" linewidth 1 noenhanced "
               "background rgb \"white\"\nYLOFF = 0\nset output ", H);
    attn_gnuplot_quote(f, png), fputs("\nload ", f), attn_gnuplot_quote(f, script);
    fprintf(f, "\nunset output\nset terminal svg size 1200,%d fixed font \"DejaVu Sans,11\" fontscale 1.2 "
               "linewidth 1 noenhanced background rgb \"white\"\nYLOFF = -0.6\nset output ", H);
    attn_gnuplot_quote(f, svg), fputs("\nload ", f), attn_gnuplot_quote(f, script), fputs("\nunset output\n", f);
    fclose(f);
    const int st = attn_gnuplot(run, log);
    if (st) {
        fprintf(stderr, "attnbench plots: gnuplot failed drawing %s (exit status %d):\n", png, st);
        print_file(log);
        return 1;
    }
    const char *out[2] = {png, svg};
    for (int i = 0; i < 2; i++) {
        struct stat sb;
        if (stat(out[i], &sb) || sb.st_size == 0) {
            fprintf(stderr, "attnbench plots: gnuplot wrote no '%s'\n", out[i]);
            return 1;
        }
        printf("%s\n", out[i]);
    }
    fflush(stdout);
    return 0;
}

/* ------------------------------------------------------------------ one suite, every picture */

static void pics_free(pics_t *P)
{
    for (int i = 0; i < P->nser; i++) free(P->ser[i].label);
    for (int i = 0; i < P->npanel; i++) free(P->pan_[i].title);
    for (int i = 0; i < P->ncd; i++) free(P->cd[i].name);
    for (int i = 0; i < P->nbase; i++) free(P->base[i].key);
    for (size_t i = 0; P->pts && i < (size_t)5 * (size_t)P->nser * (size_t)P->npanel; i++) free(P->pts[i].p);
    free(P->ser), free(P->pan_), free(P->pord), free(P->cd), free(P->base), free(P->pts);
    free(P->keys), free(P->kser), free(P->kpan), free(P->oth), free(P->coll);
}

/* x and the panels: axis columns of the suite (of the file of its first row), x not a panel.
 * 0, or -1 with a message. */
static int axes(pics_t *P, char *err, size_t n)
{
    const attn_results_file_t *f = &P->res->f[P->res->k[P->keys[0]].first.file];
    char list[1024];
    snprintf(list, sizeof list, "%s", P->panels ? P->panels : "");
    for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (*t == ' ') t++;
        size_t l = strlen(t);
        while (l && t[l - 1] == ' ') t[--l] = 0;
        int dup = !*t;
        for (int j = 0; j < P->np && !dup; j++) dup = !strcmp(P->pan[j], t);
        if (dup) continue;
        if (P->np == MAX_PANEL_AXES || l >= sizeof P->pan[0]) {
            snprintf(err, n, "panels '%s': at most %d axes", P->panels, MAX_PANEL_AXES);
            return -1;
        }
        if (!strcmp(t, P->xa)) {
            snprintf(err, n, "panels '%s' contain the x axis '%s': an axis cannot be both on x and split "
                             "into panels", P->panels, P->xa);
            return -1;
        }
        snprintf(P->pan[P->np++], sizeof P->pan[0], "%s", t);
    }
    char axl[1024] = "";
    for (int c = f->ax0; c < f->ax1; c++)
        snprintf(axl + strlen(axl), sizeof axl - strlen(axl), "%s%s", c > f->ax0 ? "," : "", f->t.cols[c]);
    for (int j = -1; j < P->np; j++) {
        const char *a = j < 0 ? P->xa : P->pan[j];
        const int c = attn_table_col(&f->t, a);
        if (c < f->ax0 || c >= f->ax1) {
            snprintf(err, n, "%s '%s' is not an axis column of suite %s in '%s' (its axes: %s)",
                     j < 0 ? "the x axis" : "the panel axis", a, P->suite, f->t.name, axl);
            return -1;
        }
    }
    P->oth = xalloc((size_t)(f->ax1 - f->ax0 + 1) * sizeof *P->oth);
    P->coll = xalloc((size_t)(f->ax1 - f->ax0 + 1));
    for (int c = f->ax0; c < f->ax1; c++) {
        int on = !strcmp(f->t.cols[c], P->xa);
        for (int j = 0; j < P->np; j++) on |= !strcmp(f->t.cols[c], P->pan[j]);
        if (!on) P->oth[P->noth++] = f->t.cols[c];
    }
    return 0;
}

/* The values of the varying axes at row at: "B=2-H=8" (numbers as numbers). */
static void combo_of(const pics_t *P, attn_rowref_t at, char *b, size_t n)
{
    size_t off = 0;
    b[0] = 0;
    for (int a = 0; a < P->nvary && off < n; a++) {
        const char *v = get(P, at, P->vary[a]);
        char num[64];
        double x;
        if (isnum(v, &x)) {
            snprintf(num, sizeof num, "%.10g", x);
            v = num;
        }
        off += (size_t)snprintf(b + off, n - off, "%s%s=%s", a ? "-" : "", P->vary[a], v);
    }
}

/* A value for grouping: numbers as numbers. */
static void norm(const char *v, char *b, size_t n)
{
    double x;
    if (isnum(v, &x)) snprintf(b, n, "%.10g", x);
    else snprintf(b, n, "%s", v);
}

typedef struct gv {
    char *g, *v;
} gv_t;

static int by_g_then_v(const void *a, const void *b)
{
    const gv_t *x = a, *y = b;
    const int c = strcmp(x->g, y->g);
    return c ? c : strcmp(x->v, y->v);
}

/* Whether axis `ax` splits P's keys: two keys with the same series (variant, backend, dtype,
 * device), x, panel values and values of P's varying axes differ in it. */
static int splits(const pics_t *P, const char *ax)
{
    gv_t *e = xalloc(((size_t)P->nkeys + 1) * sizeof *e);
    for (int i = 0; i < P->nkeys; i++) {
        const attn_rowref_t at = P->res->k[P->keys[i]].win;
        char g[4096], c[1024], v[256];
        size_t off = (size_t)snprintf(g, sizeof g, "%s\x1f%s\x1f%s\x1f%s", std_col(P, at, C_VARIANT),
                                      std_col(P, at, C_BACKEND), std_col(P, at, C_DTYPE),
                                      std_col(P, at, C_DEVICE));
        for (int j = -1; j < P->np && off < sizeof g; j++) {
            norm(get(P, at, j < 0 ? P->xa : P->pan[j]), v, sizeof v);
            off += (size_t)snprintf(g + off, sizeof g - off, "\x1f%s", v);
        }
        combo_of(P, at, c, sizeof c);
        if (off < sizeof g) snprintf(g + off, sizeof g - off, "\x1f%s", c);
        norm(get(P, at, ax), v, sizeof v);
        e[i] = (gv_t){xstrdup(g), xstrdup(v)};
    }
    qsort(e, (size_t)P->nkeys, sizeof *e, by_g_then_v);
    int split = 0;
    for (int i = 1; i < P->nkeys && !split; i++) split = !strcmp(e[i].g, e[i - 1].g) && strcmp(e[i].v, e[i - 1].v);
    for (int i = 0; i < P->nkeys; i++) free(e[i].g), free(e[i].v);
    free(e);
    return split;
}

/* Remove a picture of an earlier run that this one does not draw (it would be stale). */
static void drop_stale(const pics_t *P, int k)
{
    const char *ext[2] = {"png", "svg"};
    for (int i = 0; i < 2; i++) {
        char path[1400];
        snprintf(path, sizeof path, "%s/%s-%s%s.%s", P->outdir, P->fname, KNAME[k], P->fsuffix, ext[i]);
        if (!unlink(path)) fprintf(stderr, "attnbench plots: removed %s of an earlier run\n", path);
    }
}

/* One set of pictures: P's keys (all of its suite's, or those of one combination of the varying
 * axes). Returns 0, 1 a drawing failed, 2 bad axes. */
static int render_set(pics_t *P)
{
    char msg[2048];
    int rc = 0;
    select_keys(P);
    if (!P->nkeys) return 0;
    if (axes(P, msg, sizeof msg)) {
        fprintf(stderr, "attnbench plots: %s\n", msg);
        return 2;
    }
    /* the title names the value of every axis neither on x nor a panel that is one here, and
     * those that follow x or the panels */
    const attn_rowref_t w0 = P->res->k[P->keys[0]].win;
    size_t off = 0;
    char follow[512] = "";
    for (int a = 0; a < P->noth && off < sizeof P->fixed; a++) {
        char v0[256], v[256];
        norm(get(P, w0, P->oth[a]), v0, sizeof v0);
        int one = 1;
        for (int i = 1; i < P->nkeys && one; i++) {
            norm(get(P, P->res->k[P->keys[i]].win, P->oth[a]), v, sizeof v);
            one = !strcmp(v, v0);
        }
        if (one)
            off += (size_t)snprintf(P->fixed + off, sizeof P->fixed - off, "%s%s=%s",
                                    off ? "  " : "fixed: ", P->oth[a], get(P, w0, P->oth[a]));
        else
            snprintf(follow + strlen(follow), sizeof follow - strlen(follow), "%s%s",
                     follow[0] ? "," : "", P->oth[a]);
    }
    if (follow[0] && off < sizeof P->fixed)
        snprintf(P->fixed + off, sizeof P->fixed - off, "%s%s: follow x and the panels",
                 off ? "    " : "", follow);
    scan(P); /* series and panels in the order of the keys' first rows */
    sort_pics = P;
    qsort(P->keys, (size_t)P->nkeys, sizeof *P->keys, by_win); /* a later winner's point replaces */
    place(P);
    warn_points(P);
    for (int i = 0; i < NOF(KORDER) && !rc; i++) {
        int H;
        if (picture(P, KORDER[i], &H, msg, sizeof msg)) {
            fprintf(stderr, "attnbench plots: suite %s%s%s: no %s picture: %s\n", P->suite,
                    P->filter ? " " : "", P->filter ? P->filter : "", KNAME[KORDER[i]], msg);
            drop_stale(P, KORDER[i]);
            continue;
        }
        rc = draw(P, KORDER[i], H);
        P->ndrawn += !rc;
    }
    return rc;
}

/* Whether a suite with nothing to draw fails (attnbench plots: yes; the pictures at the end of a
 * sweep, whose rows may all be skips on a machine without the device: a note only). */
static int nothing_is_an_error = 1;

/* Every picture of one suite of res into outdir. An axis that is neither x nor a panel and has
 * several values splits the pictures: one set per combination of such values, named after them
 * (S-throughput-B=2-H=8.png), so that every row is on a picture. Returns 0, 1 a drawing failed,
 * 2 bad axes or nothing to draw. */
static int render_suite(const attn_results_t *res, const char *suite, int si, const char *csvname,
                        const char *outdir, const char *tmp, const char *xa, const char *panels,
                        const char *baseline)
{
    const pics_t base = {.res = res, .suite = suite, .si = si, .csvname = csvname, .outdir = outdir,
                         .tmp = tmp, .xa = xa, .panels = panels && *panels ? panels : NULL,
                         .bvariant = baseline && *baseline ? baseline : NULL};
    pics_t P0 = base;
    char msg[2048];
    select_keys(&P0);
    if (!P0.nkeys) {
        pics_free(&P0);
        return 0;
    }
    if (axes(&P0, msg, sizeof msg)) {
        fprintf(stderr, "attnbench plots: %s\n", msg);
        pics_free(&P0);
        return 2;
    }
    /* The axes that split: taken in column order, an axis neither on x nor a panel splits when
     * two rows of one series, panel and x value (and equal values of the axes chosen so far)
     * differ in it; an axis that follows x or the panels (W = H, say) does not. */
    char **vary = xalloc(((size_t)P0.noth + 1) * sizeof *vary);
    int nvary = 0;
    for (int a = 0; a < P0.noth; a++) {
        P0.vary = vary, P0.nvary = nvary;
        if (splits(&P0, P0.oth[a])) vary[nvary++] = P0.oth[a];
    }
    char **combo = NULL;
    int ncombo = 0, rc = 0, drawn = 0;
    P0.vary = vary, P0.nvary = nvary;
    for (int i = 0; nvary && i < P0.nkeys; i++) {
        char c[1024];
        combo_of(&P0, res->k[P0.keys[i]].win, c, sizeof c);
        int seen = 0;
        for (int j = 0; j < ncombo && !seen; j++) seen = !strcmp(combo[j], c);
        if (seen) continue;
        combo = xgrow(combo, (size_t)ncombo + 1, sizeof *combo);
        combo[ncombo++] = xstrdup(c);
    }
    if (nvary) {
        char list[512] = "";
        for (int a = 0; a < nvary; a++)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", a ? "," : "", vary[a]);
        fprintf(stderr, "attnbench plots: suite %s: %s neither on x nor a panel but with several values: "
                        "%d sets of pictures, one per value%s (%s-<picture>-%s...)\n",
                suite, list, ncombo, nvary > 1 ? " combination" : "", suite, combo[0]);
    }
    if (nvary) { /* the unsplit pictures of an earlier run would be stale */
        snprintf(P0.fname, sizeof P0.fname, "%s", suite);
        for (char *c = P0.fname; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') *c = '_';
        for (int i = 0; i < NOF(KORDER); i++) drop_stale(&P0, KORDER[i]);
    }
    pics_free(&P0);
    for (int ci = 0; ci < (nvary ? ncombo : 1) && rc != 2; ci++) {
        pics_t P = base;
        snprintf(P.fname, sizeof P.fname, "%s", suite);
        for (char *c = P.fname; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '.' && *c != '_' && *c != '-') *c = '_';
        if (ci) snprintf(P.tag, sizeof P.tag, "%dc%d", si, ci + 1);
        else snprintf(P.tag, sizeof P.tag, "%d", si);
        if (nvary) {
            P.vary = vary, P.nvary = nvary, P.filter = combo[ci];
            snprintf(P.fsuffix, sizeof P.fsuffix, "-%s", combo[ci]);
            for (char *c = P.fsuffix; *c; c++)
                if (!isalnum((unsigned char)*c) && !strchr("._-=", *c)) *c = '_';
        }
        const int st = render_set(&P);
        if (st > rc) rc = st;
        drawn += P.ndrawn;
        pics_free(&P);
    }
    for (int j = 0; j < ncombo; j++) free(combo[j]);
    free(combo), free(vary);
    if (!rc && !drawn) {
        fprintf(stderr, "attnbench plots: suite %s: nothing to draw: no row has a value any picture "
                        "shows (%s)\n", suite, csvname);
        rc = nothing_is_an_error ? 2 : 0;
    }
    return rc;
}

/* ------------------------------------------------------------------ rendering */

/* A temporary directory for the scripts and data files (malloc'd path), or NULL. */
static char *make_tmp(void)
{
    const char *td = getenv("TMPDIR");
    char tpl[1100];
    snprintf(tpl, sizeof tpl, "%s/attnbench-plots.XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tpl)) {
        fprintf(stderr, "attnbench plots: cannot create a temporary directory %s: %s\n", tpl, strerror(errno));
        return NULL;
    }
    return xstrdup(tpl);
}

/* Remove the temporary directory, or keep it and say so (ATTNBENCH_PLOTS_KEEP set). */
static void drop_tmp(char *tmp)
{
    if (!tmp) return;
    const char *keep = getenv("ATTNBENCH_PLOTS_KEEP");
    if (keep && *keep) fprintf(stderr, "attnbench plots: kept %s\n", tmp);
    else {
        DIR *d = opendir(tmp);
        struct dirent *e;
        char p[1400];
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(p, sizeof p, "%s/%s", tmp, e->d_name);
                unlink(p);
            }
        if (d) closedir(d);
        rmdir(tmp);
    }
    free(tmp);
}

/* 0 when gnuplot runs and has the pngcairo and svg terminals; else 127 with a message. */
static int gnuplot_ready(void)
{
    FILE *p = popen("gnuplot -e 'set terminal' 2>&1", "r");
    char line[512];
    int png = 0, svg = 0;
    while (p && fgets(line, sizeof line, p)) {
        const char *t = line + strspn(line, " \t");
        png |= !strncmp(t, "pngcairo ", 9);
        svg |= !strncmp(t, "svg ", 4);
    }
    const int st = p ? pclose(p) : -1;
    if (st != 0 && !png) {
        fprintf(stderr, "attnbench plots: cannot run gnuplot (apt-get install gnuplot-nox)\n");
        return 127;
    }
    if (!png || !svg) {
        fprintf(stderr, "attnbench plots: this gnuplot has no '%s' terminal (needs a cairo build, e.g. "
                        "Debian gnuplot-nox)\n", png ? "svg" : "pngcairo");
        return 127;
    }
    return 0;
}

/* Draw suite (NULL: every suite of res, in the order of their first rows) with x axis xa and
 * panels. Returns 0, 1 a drawing failed, 2 bad axes, 127 no usable gnuplot. */
static int render_results(const attn_results_t *res, const char *suite, const char *csvname,
                          const char *outdir, const char *xa, const char *panels, const char *baseline)
{
    if (!xa || !*xa) {
        fprintf(stderr, "attnbench plots: no x axis: name an axis column, e.g. N\n");
        return 2;
    }
    int rc = gnuplot_ready();
    if (rc) return rc;
    if (attn_mkdirs(outdir, 1)) {
        fprintf(stderr, "attnbench plots: cannot create the output directory '%s': %s\n", outdir, strerror(errno));
        return 2;
    }
    char *tmp = make_tmp();
    if (!tmp) return 2;
    const char **done = xalloc(((size_t)res->nkeys + 1) * sizeof *done);
    int ndone = 0;
    for (int i = 0; i < res->nkeys && rc != 2; i++) {
        const char *s = attn_results_at(res, res->k[i].win, res->f[res->k[i].win.file].c_suite);
        int seen = suite && strcmp(s, suite);
        for (int j = 0; j < ndone && !seen; j++) seen = !strcmp(done[j], s);
        if (seen) continue;
        done[ndone++] = s;
        const int st = render_suite(res, s, ndone, csvname, outdir, tmp, xa, panels, baseline);
        if (st > rc) rc = st;
    }
    free(done);
    drop_tmp(tmp);
    return rc;
}

int attn_plots_render(const char *csv, const char *outdir, const char *axis, const char *panels)
{
    attn_results_t res;
    char msg[2048];
    if (attn_results_load(&res, &csv, 1, msg, sizeof msg)) {
        fprintf(stderr, "attnbench plots: %s\n", msg);
        return 2;
    }
    if (!res.nkeys) fprintf(stderr, "attnbench plots: note: '%s' has no rows: nothing to draw\n", csv);
    nothing_is_an_error = 0;
    const int rc = res.nkeys ? render_results(&res, NULL, csv, outdir, axis, panels, NULL) : 0;
    nothing_is_an_error = 1;
    attn_results_free(&res);
    return rc;
}

/* ------------------------------------------------------------------ attnbench plots */

#define PLOTS_USAGE "usage: attnbench plots [--out DIR] CSV...\n" \
                    "       attnbench plots [--out DIR] [--x AXIS --panels AXES] [--baseline VARIANT] CSV...\n" \
                    "       attnbench plots --heatmap DUMPDIR [--out DIR]   (attnbench plots --heatmap --help)\n"

typedef struct popts {
    const char *out, *x, *panels;   /* x, panels: NULL: the registry's */
    const char *baseline;           /* --baseline VARIANT: the speedup's; NULL: cuBLAS */
    const char **files;
    int nf;
} popts_t;

typedef struct group {
    const attn_suite_t *s;
    int first;    /* the first file with rows of the suite: its header is the suite's */
    int nrows;
    int nfiles;   /* files holding rows of it */
} group_t;

static int usage(const char *msg)
{
    fprintf(stderr, "attnbench plots: %s\n" PLOTS_USAGE, msg);
    return 2;
}

static void help(void)
{
    printf(PLOTS_USAGE
           "Draws the pictures of results CSVs together (e.g. a sweep's CSV and the peers' CSV of\n"
           "the same suite): per suite S, S-throughput, S-bandwidth, S-speedup, S-error and\n"
           "S-error-ratio as .png and .svg (gnuplot), with the suite's plot axis and panels from\n"
           "the registry. Rows are grouped by their suite column; the files holding rows of one\n"
           "suite must share its header. Of the rows of one case (suite, variant, backend, dtype,\n"
           "device, axes; files in the order given) the latest measurement is drawn: a timing or\n"
           "a fail; a --check row or a skip never hides one. Given more than one CSV, each\n"
           "suite's rows are also written (header, then every file's rows in the order given)\n"
           "to DIR/<suite>-combined.csv, replacing it. Every row is on a picture: an axis\n"
           "that is neither x nor a panel and has several values gives one set of pictures per\n"
           "value (S-throughput-B=2-H=8.png...), and each title names the values it fixes. A\n"
           "picture with no point is not drawn (stderr says why; an old file of it is removed).\n"
           "Throughput and bandwidth points carry the IQR of the time as error bars.\n"
           "  --out DIR      where the pictures and combined CSVs go (created if missing; default:\n"
           "                 the directory of the first CSV)\n"
           "  --x AXIS       the axis on x instead of the suite's (by hand, any axis)\n"
           "  --baseline VARIANT  the speedup picture's baseline (ours or a peer's; default:\n"
           "                 our cuBLAS variants)\n"
           "  --panels AXES  comma-separated axes, one panel per value combination, instead of\n"
           "                 the suite's (\"\": one panel)\n"
           "ATTNBENCH_PLOTS_KEEP=1 keeps the gnuplot scripts and data files (directory on stderr).\n"
           "Prints the path of every file written. Exit status: 0, 1 rendering failed, 2 bad\n"
           "usage or input (a missing or unreadable file, one that is not a results CSV, an\n"
           "unknown suite, files of one suite with different headers, an axis the suite lacks,\n"
           "nothing any picture can show).\n");
}

/* Returns -1 to go on, else the exit status (0 after --help, 2 on bad usage). */
static int parse_args(int argc, char **argv, popts_t *o)
{
    char msg[1200];
    memset(o, 0, sizeof *o);
    o->files = xalloc(((size_t)argc + 1) * sizeof *o->files);
    int files_only = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (files_only || (a[0] != '-' || !a[1])) {
            o->files[o->nf++] = a;
            continue;
        }
        if (!strcmp(a, "--")) {
            files_only = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return help(), 0;
        const char *names[] = {"--out", "--x", "--panels", "--baseline"};
        const char **dst[] = {&o->out, &o->x, &o->panels, &o->baseline};
        int opt = -1;
        for (int k = 0; k < 4 && opt < 0; k++) {
            const size_t l = strlen(names[k]);
            if (!strncmp(a, names[k], l) && (!a[l] || a[l] == '=')) opt = k;
        }
        if (opt >= 0) {
            const size_t l = strlen(names[opt]);
            const char *v = a[l] == '=' ? a + l + 1 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || (!*v && opt != 2)) {
                snprintf(msg, sizeof msg, "%s needs a %s", names[opt], opt ? "value" : "directory");
                return usage(msg);
            }
            *dst[opt] = v;
            continue;
        }
        snprintf(msg, sizeof msg, "unknown option '%.1000s'", a);
        return usage(msg);
    }
    return o->nf ? -1 : usage("give at least one results CSV");
}

/* The names of the registry's suites, ", "-separated, into buf. */
static void suite_names(char *buf, size_t n)
{
    size_t l = 0;
    buf[0] = 0;
    for (int i = 0; attn_suites[i] && l + 1 < n; i++)
        l += (size_t)snprintf(buf + l, n - l, "%s%s", i ? ", " : "", attn_suites[i]->name);
}

/* 0 when table t has the columns suite s is drawn with (its plot axis and panels, or the given
 * ones); else -1 with a message naming the file and the column. */
static int has_plot_columns(const attn_table_t *t, const attn_suite_t *s, const popts_t *o, char *err, size_t n)
{
    const char *xa = o->x ? o->x : s->plot_axis ? s->plot_axis : "";
    const char *pn = o->panels ? o->panels : s->plot_panels ? s->plot_panels : "";
    char list[512];
    snprintf(list, sizeof list, "%s%s%s", xa, *pn ? "," : "", pn);
    for (char *save = NULL, *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
        if (*c && attn_table_col(t, c) < 0) {
            snprintf(err, n, "'%s' has rows of suite %s but no column '%s' (one of its plot axes "
                             "%s%s%s): not a results CSV of that suite?",
                     t->name, s->name, c, xa, *pn ? "," : "", pn);
            return -1;
        }
    return 0;
}

/* Every input a readable file, then read through the one reader. 0, or 2 with a message. */
static int load(const popts_t *o, attn_results_t *res)
{
    char msg[2048];
    for (int k = 0; k < o->nf; k++) {
        struct stat st;
        if (stat(o->files[k], &st)) {
            fprintf(stderr, "attnbench plots: cannot read '%s': %s\n", o->files[k], strerror(errno));
            return 2;
        }
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "attnbench plots: '%s' is a directory, not a results CSV\n", o->files[k]);
            return 2;
        }
    }
    if (attn_results_load(res, o->files, o->nf, msg, sizeof msg)) {
        fprintf(stderr, "attnbench plots: %s\n", msg);
        return 2;
    }
    for (int k = 0; k < o->nf; k++)
        if (!res->f[k].t.nrows) fprintf(stderr, "attnbench plots: note: '%s' has no rows\n", o->files[k]);
    return 0;
}

/* Add row r of file k to its suite's group (a new group: the suite known, its columns there;
 * a new file of a group: the group's header). 0, or 2 with a message. */
static int group_row(const attn_results_t *res, const popts_t *o, int k, int r, group_t **g, int *ng,
                     unsigned char **seen)
{
    char msg[2048];
    const attn_table_t *t = &res->f[k].t;
    const char *name = t->rows[r][res->f[k].c_suite];
    int gi = 0;
    while (gi < *ng && strcmp((*g)[gi].s->name, name)) gi++;
    if (gi == *ng) {
        const attn_suite_t *s = attn_suite_named(name);
        if (!s) {
            char names[512];
            suite_names(names, sizeof names);
            fprintf(stderr, "attnbench plots: '%s' line %d: %s '%s' (this attnbench knows: %s)\n",
                    o->files[k], t->line[r], *name ? "unknown suite" : "no suite name", name, names);
            return 2;
        }
        if (has_plot_columns(t, s, o, msg, sizeof msg)) {
            fprintf(stderr, "attnbench plots: %s\n", msg);
            return 2;
        }
        *g = xgrow(*g, (size_t)*ng + 1, sizeof **g);
        (*g)[(*ng)++] = (group_t){s, k, 0, 0};
        *seen = xgrow(*seen, (size_t)*ng * (size_t)o->nf, 1);
        memset(*seen + (size_t)gi * (size_t)o->nf, 0, (size_t)o->nf);
    }
    group_t *gr = &(*g)[gi];
    if (!(*seen)[(size_t)gi * (size_t)o->nf + (size_t)k]) {
        (*seen)[(size_t)gi * (size_t)o->nf + (size_t)k] = 1;
        gr->nfiles++;
        if (k != gr->first && attn_table_same_schema(&res->f[gr->first].t, t, msg, sizeof msg)) {
            fprintf(stderr, "attnbench plots: rows of suite %s in files with different headers: %s\n", name, msg);
            return 2;
        }
    }
    gr->nrows++;
    return 0;
}

/* The suites of the rows, each known with its columns, files of one suite with one header. */
static int group(const attn_results_t *res, const popts_t *o, group_t **g, int *ng)
{
    unsigned char *seen = NULL;
    int rc = 0;
    for (int k = 0; k < o->nf && !rc; k++)
        for (int r = 0; r < res->f[k].t.nrows && !rc; r++) rc = group_row(res, o, k, r, g, ng, &seen);
    free(seen);
    if (!rc && !*ng) {
        fprintf(stderr, "attnbench plots: no rows in %s%s: nothing to draw\n", o->nf > 1 ? "any of " : "",
                o->nf > 1 ? "the CSVs" : o->files[0]);
        rc = 2;
    }
    return rc;
}

/* Where the pictures go; a combined CSV that is one of the inputs is refused (writing it would
 * double that file's rows on every run). 0, or 2 with a message. */
static int out_dir(const popts_t *o, const group_t *g, int ng, char *outdir, size_t n)
{
    if (o->out) snprintf(outdir, n, "%s", o->out);
    else {
        snprintf(outdir, n, "%s", o->files[0]);
        char *slash = strrchr(outdir, '/');
        if (!slash) snprintf(outdir, n, ".");
        else if (slash == outdir) slash[1] = 0;
        else *slash = 0;
    }
    for (int gi = 0; o->nf > 1 && gi < ng; gi++) {
        char path[1200];
        struct stat so, si;
        snprintf(path, sizeof path, "%s/%s-combined.csv", outdir, g[gi].s->name);
        if (stat(path, &so)) continue;
        for (int k = 0; k < o->nf; k++)
            if (!stat(o->files[k], &si) && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
                fprintf(stderr, "attnbench plots: '%s' is the combined CSV this command writes for suite "
                                "%s; give the CSVs it was made from instead\n", o->files[k], g[gi].s->name);
                return 2;
            }
    }
    if (attn_mkdirs(outdir, 1)) {
        fprintf(stderr, "attnbench plots: cannot create --out directory '%s': %s\n", outdir, strerror(errno));
        return 2;
    }
    return 0;
}

/* Write the header of file `first` and the rows of suite of every file to path, through a
 * temporary file renamed over it. 0, or -1 with a message. */
static int write_suite_csv(const char *path, const attn_results_t *res, int first, const char *suite,
                           char *err, size_t n)
{
    char tmp[1300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, n, "cannot write '%s': %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", res->f[first].t.header);
    for (int k = 0; k < res->nfiles; k++)
        for (int r = 0; r < res->f[k].t.nrows; r++)
            if (!strcmp(res->f[k].t.rows[r][res->f[k].c_suite], suite)) fprintf(f, "%s\n", res->f[k].t.raw[r]);
    const int bad = ferror(f);
    if (fclose(f) || bad) {
        snprintf(err, n, "writing '%s' failed: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        snprintf(err, n, "cannot replace '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* One suite: its combined CSV (several files), then its pictures. Returns 0, 1, or 2. */
static int render_group(const attn_results_t *res, const popts_t *o, const group_t *g, const char *outdir)
{
    const attn_suite_t *s = g->s;
    char path[1200], msg[2048];
    const char *name = o->files[0];
    if (o->nf > 1) {
        snprintf(path, sizeof path, "%s/%s-combined.csv", outdir, s->name);
        if (write_suite_csv(path, res, g->first, s->name, msg, sizeof msg)) {
            fprintf(stderr, "attnbench plots: %s\n", msg);
            return 2;
        }
        printf("%s\n", path);
        fprintf(stderr, "attnbench plots: suite %s: %d rows from %d of %d files in %s\n", s->name, g->nrows,
                g->nfiles, o->nf, path);
        name = path;
    }
    const char *xa = o->x ? o->x : s->plot_axis, *pn = o->panels ? o->panels : s->plot_panels;
    fprintf(stderr, "attnbench plots: rendering suite %s (x: %s, panels: %s) into %s\n", s->name, xa,
            pn && *pn ? pn : "none", outdir);
    const int st = render_results(res, s->name, name, outdir, xa, pn, o->baseline);
    if (st == 1 || st == 127)
        fprintf(stderr, "attnbench plots: rendering suite %s failed (exit status %d)\n", s->name, st);
    return st == 127 ? 1 : st;
}

int attn_plots_main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) /* --heatmap DUMPDIR: the weights of a dump (heatmap.c) */
        if (!strncmp(argv[i], "--heatmap", 9) && (!argv[i][9] || argv[i][9] == '='))
            return attn_heatmap_main(argc, argv);
    popts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) {
        free(o.files);
        return rc;
    }
    attn_results_t res;
    memset(&res, 0, sizeof res);
    group_t *g = NULL;
    int ng = 0;
    char outdir[1024];
    if (!(rc = load(&o, &res)) && !(rc = group(&res, &o, &g, &ng)) &&
        !(rc = out_dir(&o, g, ng, outdir, sizeof outdir)))
        for (int gi = 0; gi < ng && rc != 2; gi++) {
            const int st = render_group(&res, &o, &g[gi], outdir);
            if (st > rc) rc = st;
        }
    attn_results_free(&res);
    free(g), free(o.files);
    return rc;
}

int attn_plots_for_report(int argc, char **argv)
{
    nothing_is_an_error = 0;
    const int rc = attn_plots_main(argc, argv);
    nothing_is_an_error = 1;
    return rc;
}
