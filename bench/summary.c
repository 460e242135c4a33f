#include "summary.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char *xstrdup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d) abort();
    return d;
}

static void tab_init(attn_tab_t *t, const char *id, const char *title, int ncols,
                     const char *const *cols)
{
    memset(t, 0, sizeof *t);
    t->id = id, t->title = title, t->ncols = ncols, t->cols = cols;
}

/* A new row of t, its cells empty; returns them. */
static char **tab_row(attn_tab_t *t)
{
    char **c = realloc(t->cells, (size_t)(t->nrows + 1) * (size_t)t->ncols * sizeof *c);
    if (!c) abort();
    t->cells = c;
    char **row = c + (size_t)t->nrows++ * (size_t)t->ncols;
    for (int i = 0; i < t->ncols; i++) row[i] = NULL;
    return row;
}

static int number(const char *s, double *x)
{
    char *end;
    if (!s || !*s) return 0;
    *x = strtod(s, &end);
    return *end == 0 && isfinite(*x);
}

/* "B=1,H=16,N=4096" of row at. */
static char *case_str(const attn_results_t *r, attn_rowref_t at)
{
    const attn_results_file_t *f = &r->f[at.file];
    size_t len = 1;
    for (int c = f->ax0; c < f->ax1; c++)
        len += strlen(f->t.cols[c]) + strlen(f->t.rows[at.row][c]) + 2;
    char *s = malloc(len), *p = s;
    if (!s) abort();
    *p = 0;
    for (int c = f->ax0; c < f->ax1; c++)
        p += sprintf(p, "%s%s=%s", c > f->ax0 ? "," : "", f->t.cols[c], f->t.rows[at.row][c]);
    return s;
}

#define GET(at, col) attn_results_get(r, at, col)

static char *fmt(const char *f, double v)
{
    char b[64];
    snprintf(b, sizeof b, f, v);
    return xstrdup(b);
}

/* "12.4" for a CUDA version number 12040; "" when empty. */
static char *cuda_version(const char *v)
{
    double x;
    char b[64];
    if (!number(v, &x)) return xstrdup(v);
    snprintf(b, sizeof b, "%d.%d (%s)", (int)x / 1000, (int)x % 1000 / 10, v);
    return xstrdup(b);
}

static const char *const FAIL_COLS[] = {"suite", "variant", "backend", "dtype", "case", "reason"};
static const char *const BEST_COLS[] = {"suite", "case", "best variant", "backend", "dtype",
                                        "median ms", "TFLOP/s", "% of peak", "variants timed",
                                        "device"};
static const char *const SKIP_COLS[] = {"suite", "variant", "backend", "reason", "rows"};
static const char *const PROV_COLS[] = {"device", "sm", "driver", "CUDA runtime", "commit",
                                        "rows", "first", "last"};
#define NOF(a) ((int)(sizeof(a) / sizeof *(a)))

/* Whether winner a beats b as the case's best: more TFLOP/s, else (no tflops) a lower median. */
static int better(const attn_results_t *r, attn_rowref_t a, attn_rowref_t b)
{
    double ta, tb, ma = 0, mb = 0;
    if (number(GET(a, "tflops"), &ta) && number(GET(b, "tflops"), &tb)) return ta > tb;
    attn_results_kind(r, a, &ma), attn_results_kind(r, b, &mb);
    return ma < mb;
}

static void failures(const attn_results_t *r, attn_summary_t *s)
{
    attn_tab_t *t = &s->tab[ATTN_TAB_FAILURES];
    tab_init(t, "failures", "Failures", NOF(FAIL_COLS), FAIL_COLS);
    for (int i = 0; i < r->nkeys; i++) {
        const attn_rowref_t w = r->k[i].win;
        if (attn_results_kind(r, w, NULL) != ATTN_ROW_FAIL) continue;
        char **c = tab_row(t);
        c[0] = xstrdup(GET(w, "suite")), c[1] = xstrdup(GET(w, "variant"));
        c[2] = xstrdup(GET(w, "backend")), c[3] = xstrdup(GET(w, "dtype"));
        c[4] = case_str(r, w);
        char why[1200];
        snprintf(why, sizeof why, "%s%s", GET(w, "reason"),
                 attn_results_failed_after_timing(&r->k[i]) ? " (fails after an earlier timing)"
                                                            : "");
        c[5] = xstrdup(why);
    }
    t->note = xstrdup(t->nrows ? "Every case whose latest measurement fails its check (or "
                                 "crashed, or hung)."
                               : "None: no case fails.");
}

static void best(const attn_results_t *r, attn_summary_t *s)
{
    attn_tab_t *t = &s->tab[ATTN_TAB_BEST];
    tab_init(t, "summary", "Best variant per case", NOF(BEST_COLS), BEST_COLS);
    char **keys = calloc((size_t)r->nkeys + 1, sizeof *keys); /* suite + case of each key */
    unsigned char *done = calloc((size_t)r->nkeys + 1, 1);
    if (!keys || !done) abort();
    for (int i = 0; i < r->nkeys; i++) {
        char *cs = case_str(r, r->k[i].win);
        const char *su = GET(r->k[i].win, "suite");
        keys[i] = malloc(strlen(su) + strlen(cs) + 2);
        if (!keys[i]) abort();
        sprintf(keys[i], "%s\x1f%s", su, cs);
        free(cs);
    }
    for (int i = 0; i < r->nkeys; i++) {
        if (done[i]) continue;
        s->ncases++;
        attn_rowref_t top = {-1, -1};
        int ntimed = 0;
        for (int j = i; j < r->nkeys; j++) {
            if (strcmp(keys[i], keys[j])) continue;
            done[j] = 1;
            const attn_rowref_t w = r->k[j].win;
            if (attn_results_kind(r, w, NULL) != ATTN_ROW_TIMED) continue;
            ntimed++;
            if (top.file < 0 || better(r, w, top)) top = w;
        }
        if (top.file < 0) continue; /* a case nothing timed: its rows are in the other tables */
        char **c = tab_row(t);
        double x;
        c[0] = xstrdup(GET(top, "suite")), c[1] = case_str(r, top);
        c[2] = xstrdup(GET(top, "variant")), c[3] = xstrdup(GET(top, "backend"));
        c[4] = xstrdup(GET(top, "dtype"));
        c[5] = number(GET(top, "median_ms"), &x) ? fmt("%.4g", x) : xstrdup("");
        c[6] = number(GET(top, "tflops"), &x) ? fmt("%.3g", x) : xstrdup("");
        c[7] = number(GET(top, "pct_peak"), &x) ? fmt("%.1f", x) : xstrdup("–");
        c[8] = fmt("%.0f", ntimed);
        c[9] = xstrdup(GET(top, "device"));
    }
    for (int i = 0; i < r->nkeys; i++) free(keys[i]);
    free(keys), free(done);
    char note[256];
    snprintf(note, sizeof note,
             "%d of %d cases timed. %% of peak: TFLOP/s over the bf16 GEMM peak measured at the "
             "start of the run (GPU rows of a calibrated run; – otherwise).",
             t->nrows, s->ncases);
    t->note = xstrdup(note);
}

static void skips(const attn_results_t *r, attn_summary_t *s)
{
    attn_tab_t *t = &s->tab[ATTN_TAB_SKIPS];
    tab_init(t, "skips", "Skipped", NOF(SKIP_COLS), SKIP_COLS);
    for (int i = 0; i < r->nkeys; i++) {
        const attn_rowref_t w = r->k[i].win;
        if (attn_results_kind(r, w, NULL) != ATTN_ROW_NONE || strcmp(GET(w, "status"), "skip"))
            continue;
        s->nskip++;
        const char *v[4] = {GET(w, "suite"), GET(w, "variant"), GET(w, "backend"), GET(w, "reason")};
        int row = -1;
        for (int k = 0; k < t->nrows && row < 0; k++) {
            char **c = t->cells + (size_t)k * (size_t)t->ncols;
            if (!strcmp(c[0], v[0]) && !strcmp(c[1], v[1]) && !strcmp(c[2], v[2]) &&
                !strcmp(c[3], v[3]))
                row = k;
        }
        if (row >= 0) {
            char **c = t->cells + (size_t)row * (size_t)t->ncols;
            const int n = atoi(c[4]) + 1;
            free(c[4]);
            c[4] = fmt("%.0f", n);
            continue;
        }
        char **c = tab_row(t);
        for (int k = 0; k < 4; k++) c[k] = xstrdup(v[k]);
        c[4] = xstrdup("1");
    }
    char note[128];
    snprintf(note, sizeof note, "%d cases skipped, grouped by variant and reason.", s->nskip);
    t->note = xstrdup(s->nskip ? note : "None: no case skipped.");
}

static void provenance(const attn_results_t *r, attn_summary_t *s)
{
    attn_tab_t *t = &s->tab[ATTN_TAB_PROVENANCE];
    tab_init(t, "provenance", "Provenance", NOF(PROV_COLS), PROV_COLS);
    for (int fi = 0; fi < r->nfiles; fi++)
        for (int ri = 0; ri < r->f[fi].t.nrows; ri++) {
            const attn_rowref_t at = {fi, ri};
            char *dr = cuda_version(GET(at, "driver")), *rt = cuda_version(GET(at, "runtime"));
            const char *dev = GET(at, "device");
            const char *v[5] = {*dev ? dev : "– (not run)", GET(at, "sm"), dr, rt,
                                GET(at, "git_commit")};
            const char *stamp = GET(at, "timestamp");
            char **c = NULL;
            for (int k = 0; k < t->nrows && !c; k++) {
                char **d = t->cells + (size_t)k * (size_t)t->ncols;
                int same = 1;
                for (int j = 0; j < 5 && same; j++) same = !strcmp(d[j], v[j]);
                if (same) c = d;
            }
            if (!c) {
                c = tab_row(t);
                for (int j = 0; j < 5; j++) c[j] = xstrdup(v[j]);
                c[5] = xstrdup("0"), c[6] = xstrdup(stamp), c[7] = xstrdup(stamp);
            }
            const int n = atoi(c[5]) + 1;
            free(c[5]);
            c[5] = fmt("%.0f", n);
            /* ISO 8601 UTC stamps order as text */
            if (*stamp && (!*c[6] || strcmp(stamp, c[6]) < 0)) free(c[6]), c[6] = xstrdup(stamp);
            if (*stamp && strcmp(stamp, c[7]) > 0) free(c[7]), c[7] = xstrdup(stamp);
            free(dr), free(rt);
            s->nrows++;
        }
    t->note = xstrdup("Where and from what the rows come: the device, its compute capability, the "
                      "CUDA driver and runtime, the source commit and the UTC times of the rows.");
}

int attn_summary_build(const attn_results_t *r, attn_summary_t *s)
{
    memset(s, 0, sizeof *s);
    s->nkeys = r->nkeys;
    for (int i = 0; i < r->nkeys; i++) {
        const attn_row_kind_t k = attn_results_kind(r, r->k[i].win, NULL);
        s->ntimed += k == ATTN_ROW_TIMED;
        s->nfail += k == ATTN_ROW_FAIL;
        s->nchecked += k == ATTN_ROW_NONE && !strcmp(GET(r->k[i].win, "status"), "ok");
    }
    failures(r, s);
    best(r, s);
    skips(r, s);
    provenance(r, s);
    s->nother = s->nkeys - s->ntimed - s->nchecked - s->nfail - s->nskip;
    return 0;
}

void attn_summary_free(attn_summary_t *s)
{
    for (int k = 0; k < ATTN_NTABS; k++) {
        attn_tab_t *t = &s->tab[k];
        for (size_t i = 0; i < (size_t)t->nrows * (size_t)t->ncols; i++) free(t->cells[i]);
        free(t->cells), free(t->note);
    }
    memset(s, 0, sizeof *s);
}

/* A Markdown table cell: one line, pipes escaped. */
static void md_cell(FILE *f, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++)
        if (*p == '|') fputs("\\|", f);
        else if (*p == '\n' || *p == '\r') fputc(' ', f);
        else fputc(*p, f);
}

void attn_summary_md(FILE *f, const attn_summary_t *s, const char *const *names, int n)
{
    fputs("# attnbench results\n\n", f);
    attn_summary_totals(f, s, names, n, "`", "`");
    fputc('\n', f);
    for (int k = 0; k < ATTN_NTABS; k++) {
        const attn_tab_t *t = &s->tab[k];
        fprintf(f, "\n## %s\n\n%s\n", t->title, t->note);
        if (!t->nrows) continue;
        fputs("\n|", f);
        for (int c = 0; c < t->ncols; c++) fputc(' ', f), md_cell(f, t->cols[c]), fputs(" |", f);
        fputs("\n|", f);
        for (int c = 0; c < t->ncols; c++) fputs(" --- |", f);
        for (int i = 0; i < t->nrows; i++) {
            fputs("\n|", f);
            for (int c = 0; c < t->ncols; c++)
                fputc(' ', f), md_cell(f, t->cells[(size_t)i * (size_t)t->ncols + (size_t)c]),
                    fputs(" |", f);
        }
        fputc('\n', f);
    }
}

void attn_summary_totals(FILE *f, const attn_summary_t *s, const char *const *names, int n,
                         const char *q0, const char *q1)
{
    fprintf(f, "%d row%s of", s->nrows, s->nrows == 1 ? "" : "s");
    for (int i = 0; i < n; i++) {
        fprintf(f, "%s %s", i ? "," : "", q0);
        if (*q0 == '<') attn_html_text(f, names[i]);
        else fputs(names[i], f);
        fputs(q1, f);
    }
    fprintf(f, ": %d cases of a variant; %d timed, %d checked only, %d failed, %d skipped", s->nkeys,
            s->ntimed, s->nchecked, s->nfail, s->nskip);
    if (s->nother) fprintf(f, ", %d neither (planned)", s->nother);
    fputc('.', f);
}

void attn_html_text(FILE *f, const char *text)
{
    for (const char *p = text ? text : ""; *p; p++)
        switch (*p) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default: fputc(*p, f);
        }
}

void attn_summary_html_tab(FILE *f, const attn_tab_t *t)
{
    fprintf(f, "<section id=\"%s\">\n<h2>", t->id);
    attn_html_text(f, t->title);
    fputs("</h2>\n<p>", f);
    attn_html_text(f, t->note);
    fputs("</p>\n", f);
    if (t->nrows) {
        fputs("<table>\n<thead><tr>", f);
        for (int c = 0; c < t->ncols; c++)
            fputs("<th>", f), attn_html_text(f, t->cols[c]), fputs("</th>", f);
        fputs("</tr></thead>\n<tbody>\n", f);
        for (int i = 0; i < t->nrows; i++) {
            fputs("<tr>", f);
            for (int c = 0; c < t->ncols; c++)
                fputs("<td>", f), attn_html_text(f, t->cells[(size_t)i * (size_t)t->ncols + (size_t)c]),
                    fputs("</td>", f);
            fputs("</tr>\n", f);
        }
        fputs("</tbody>\n</table>\n", f);
    }
    fputs("</section>\n", f);
}

int attn_summary_md_files(const char *out, const char *const *paths, int n,
                          const char *const *names, int nn)
{
    attn_results_t r;
    char err[2048];
    if (attn_results_load(&r, paths, n, err, sizeof err)) {
        fprintf(stderr, "attnbench: --md: %s\n", err);
        return 2;
    }
    attn_summary_t s;
    attn_summary_build(&r, &s);
    FILE *f = fopen(out, "w");
    int rc = 0;
    if (!f) {
        fprintf(stderr, "attnbench: --md: cannot write '%s': %s\n", out, strerror(errno));
        rc = 2;
    } else {
        attn_summary_md(f, &s, names, nn);
        if (fclose(f)) {
            fprintf(stderr, "attnbench: --md: writing '%s' failed: %s\n", out, strerror(errno));
            rc = 2;
        }
    }
    attn_summary_free(&s);
    attn_results_free(&r);
    return rc;
}
