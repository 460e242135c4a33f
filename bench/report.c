#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compare.h"
#include "csv.h"
#include "plots.h"
#include "results.h"
#include "summary.h"

#define REPORT_USAGE "usage: attnbench report [--out DIR] [--baseline CSV]... CSV...\n"
#define MAX_FILES 256

typedef struct ropts {
    const char *out;
    const char *files[MAX_FILES], *base[MAX_FILES];
    int nf, nb;
} ropts_t;

static int usage(const char *msg)
{
    fprintf(stderr, "attnbench report: %s\n" REPORT_USAGE, msg);
    return 2;
}

static void help(void)
{
    printf(REPORT_USAGE
           "One self-contained HTML page of results CSVs, DIR/index.html (no script, no network:\n"
           "it opens from a CI artifact): failures, the best variant per case with its TFLOP/s\n"
           "and %% of the measured peak, skips with their reasons, every picture of every\n"
           "suite (attnbench plots, inlined as SVG; the files stay in DIR/plots) and the\n"
           "provenance (device, driver, CUDA, commit, dates).\n"
           "  --out DIR         where to write (default: report/ beside the first CSV)\n"
           "  --baseline CSV    compare each CSV with the baseline of the same columns and\n"
           "                    show the verdicts (attnbench compare); repeatable\n"
           "Exit status: 0, 1 a picture failed to draw, 2 bad usage or input (a missing or\n"
           "unreadable CSV), 3 nothing read (no row in any CSV).\n");
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, ropts_t *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help();
            return 0;
        }
        if (strncmp(a, "--", 2)) {
            if (o->nf == MAX_FILES) return usage("too many CSVs");
            o->files[o->nf++] = a;
            continue;
        }
        char name[32], msg[300];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (strcmp(name, "--out") && strcmp(name, "--baseline")) {
            snprintf(msg, sizeof msg, "unknown option '%s'", name);
            return usage(msg);
        }
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v || !*v) {
            snprintf(msg, sizeof msg, "%s needs a %s", name, name[2] == 'o' ? "directory" : "CSV");
            return usage(msg);
        }
        if (name[2] == 'o') o->out = v;
        else if (o->nb == MAX_FILES) return usage("too many --baseline CSVs");
        else o->base[o->nb++] = v;
    }
    if (!o->nf) return usage("give at least one results CSV");
    return -1;
}

static const char STYLE[] =
    "body{font:14px/1.4 'DejaVu Sans',Arial,sans-serif;margin:1.5em auto;max-width:1250px;"
    "color:#222}\n"
    "h1{font-size:1.5em;margin:0 0 .3em}h2{font-size:1.2em;border-bottom:1px solid #ccc;"
    "margin-top:1.6em}\n"
    "table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ddd;padding:2px 6px;"
    "text-align:left}\n"
    "th{background:#f3f3f3}tbody tr:nth-child(even){background:#fafafa}\n"
    "#failures td{color:#a00}nav a{margin-right:1em}figure{margin:1em 0}"
    "figcaption{font-size:12px;color:#555}\n"
    "svg{max-width:100%;height:auto}.v-slower,.v-FAILS,.v-MISSING{color:#a00;font-weight:bold}"
    ".v-faster{color:#070;font-weight:bold}\n";

/* The SVG picture at path inlined as figure k: from its <svg element on (gnuplot's XML
 * declaration and doctype dropped), every id and reference to one (id='X', href='#X',
 * url(#X)) prefixed with "fK-": gnuplot names its markers alike in every file, and one page
 * must not hold an id twice. A picture with a script is refused (gnuplot writes one only with
 * its mouse option). 0, or -1. */
static int inline_svg(FILE *out, const char *path, int k)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);
    char buf[65536];
    size_t got;
    while (m && (got = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, got, m);
    fclose(f);
    if (!m || fclose(m)) return free(text), -1;
    const char *s = strstr(text, "<svg");
    const int ok = s && !strstr(s, "<script");
    static const char *const REF[] = {" id='", " id=\"", "href='#", "href=\"#", "url(#"};
    while (ok && *s) {
        const char *next = NULL, *after = NULL;
        for (size_t i = 0; i < sizeof REF / sizeof *REF; i++) {
            const char *p = strstr(s, REF[i]);
            if (p && (!next || p < next)) next = p, after = p + strlen(REF[i]);
        }
        if (!next) {
            fputs(s, out);
            break;
        }
        fwrite(s, 1, (size_t)(after - s), out);
        fprintf(out, "f%d-", k);
        s = after;
    }
    free(text);
    return ok ? 0 : -1;
}

/* Remove the pictures of an earlier report from DIR/plots (only its .png, .svg and .csv). */
static void clear_plots(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[2200];
    while (d && (e = readdir(d))) {
        const size_t l = strlen(e->d_name);
        if (l > 4 && (!strcmp(e->d_name + l - 4, ".png") || !strcmp(e->d_name + l - 4, ".svg") ||
                      !strcmp(e->d_name + l - 4, ".csv"))) {
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
    }
    if (d) closedir(d);
}

/* The plots section: attnbench plots into DIR/plots (the paths it prints read back from its
 * standard output), each SVG inlined. Returns plots' exit status (127: no gnuplot). */
static int plots(FILE *out, const ropts_t *o, const char *dir)
{
    char pdir[1200], list[1200];
    snprintf(pdir, sizeof pdir, "%s/plots", dir);
    snprintf(list, sizeof list, "%s/.plots-written", dir);
    attn_mkdirs(pdir, 1);
    clear_plots(pdir);
    const char *argv[MAX_FILES + 4] = {"plots", "--out", pdir};
    int argc = 3;
    for (int i = 0; i < o->nf; i++) argv[argc++] = o->files[i];
    argv[argc] = NULL;
    /* plots prints the paths it writes on stdout: into a file for the duration */
    fflush(stdout);
    const int saved = dup(STDOUT_FILENO);
    const int fd = open(list, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    int rc = 2;
    if (saved >= 0 && fd >= 0 && dup2(fd, STDOUT_FILENO) >= 0) {
        rc = attn_plots_for_report(argc, (char **)argv);
        fflush(stdout);
        dup2(saved, STDOUT_FILENO);
    }
    if (fd >= 0) close(fd);
    if (saved >= 0) close(saved);
    fputs("<section id=\"plots\">\n<h2>Plots</h2>\n", out);
    if (rc == 127) fputs("<p>No pictures: gnuplot (with its svg terminal) is not installed.</p>\n", out);
    else if (rc) fprintf(out, "<p>attnbench plots exited with status %d (stderr says why); the "
                              "pictures it drew are below.</p>\n", rc);
    FILE *l = fopen(list, "r");
    char line[1400];
    int n = 0;
    while (l && fgets(line, sizeof line, l)) {
        line[strcspn(line, "\r\n")] = 0;
        const size_t len = strlen(line);
        if (len < 5 || strcmp(line + len - 4, ".svg")) continue;
        const char *base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
        fprintf(out, "<figure id=\"plot-%d\">\n", ++n);
        if (inline_svg(out, line, n)) {
            fprintf(stderr, "attnbench report: cannot inline %s\n", line);
            if (!rc) rc = 1;
        }
        fputs("<figcaption>", out);
        attn_html_text(out, base);
        fputs(" (also as .png in plots/)</figcaption>\n</figure>\n", out);
    }
    if (l) fclose(l);
    unlink(list);
    if (!n && !rc) fputs("<p>No pictures: no row has a value a picture shows.</p>\n", out);
    fputs("</section>\n", out);
    return rc == 127 ? 0 : rc;
}

/* The verdicts of each CSV against the --baseline of the same columns. 0, or 2 (a bad file). */
static int verdicts(FILE *out, const ropts_t *o)
{
    static const char *const COLS[] = {"verdict", "suite", "variant", "backend", "dtype", "case",
                                       "NEW/BASE", "±", "base ms", "new ms", "note"};
    fputs("<section id=\"compare\">\n<h2>Compared with the baseline</h2>\n<p>Verdicts of "
          "<code>attnbench compare BASE NEW</code> (noise 2 %): same, faster, slower beyond the "
          "rows' spread, ambiguous; FAILS, MISSING when a case timed in the baseline fails or "
          "is gone.</p>\n", out);
    int rc = 0, shown = 0;
    for (int i = 0; i < o->nf; i++) {
        attn_table_t a;
        char err[2048];
        if (attn_table_read(&a, o->files[i], err, sizeof err)) continue; /* read before: cannot be */
        for (int b = 0; b < o->nb; b++) {
            attn_table_t t;
            if (attn_table_read(&t, o->base[b], err, sizeof err)) {
                fprintf(stderr, "attnbench report: --baseline: %s\n", err);
                rc = 2;
                continue;
            }
            const int same = !attn_table_same_schema(&t, &a, err, sizeof err);
            attn_table_free(&t);
            if (!same) continue;
            attn_compare_item_t *it;
            int n;
            if (attn_compare_items(&o->base[b], 1, &o->files[i], 1, 2.0, &it, &n, err, sizeof err)) {
                fprintf(stderr, "attnbench report: --baseline: %s\n", err);
                rc = 2;
                continue;
            }
            shown++;
            fputs("<h3>", out), attn_html_text(out, o->files[i]), fputs(" against ", out);
            attn_html_text(out, o->base[b]), fputs("</h3>\n<table>\n<thead><tr>", out);
            for (size_t c = 0; c < sizeof COLS / sizeof *COLS; c++)
                fputs("<th>", out), attn_html_text(out, COLS[c]), fputs("</th>", out);
            fputs("</tr></thead>\n<tbody>\n", out);
            for (int k = 0; k < n; k++) {
                char num[4][32];
                const double v[4] = {it[k].ratio, it[k].band_pct, it[k].base_ms, it[k].new_ms};
                for (int j = 0; j < 4; j++)
                    snprintf(num[j], sizeof num[j], isfinite(v[j]) ? "%.4g" : "", v[j]);
                char note[1400];
                snprintf(note, sizeof note, "%s%s", it[k].why ? it[k].why : "",
                         it[k].ratio == it[k].ratio ? "" : it[k].new_status);
                const char *cell[] = {it[k].verdict, it[k].suite, it[k].variant, it[k].backend,
                                      it[k].dtype, it[k].cas, num[0], num[1], num[2], num[3], note};
                fprintf(out, "<tr class=\"v-%s\">", it[k].verdict);
                for (size_t c = 0; c < sizeof cell / sizeof *cell; c++)
                    fputs("<td>", out), attn_html_text(out, cell[c]), fputs("</td>", out);
                fputs("</tr>\n", out);
            }
            fputs("</tbody>\n</table>\n", out);
            free(it);
        }
        attn_table_free(&a);
    }
    if (!shown) fputs("<p>No baseline has the columns of these CSVs: nothing compared.</p>\n", out);
    fputs("</section>\n", out);
    return rc;
}

int attn_report_main(int argc, char **argv)
{
    ropts_t o;
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) return rc;
    attn_results_t r;
    char err[2048], dir[1100], path[1200], tmp[1250];
    for (int b = 0; b < o.nb; b++) { /* a bad baseline refused before anything is written */
        attn_table_t t;
        if (attn_table_read(&t, o.base[b], err, sizeof err)) {
            fprintf(stderr, "attnbench report: --baseline: %s\n", err);
            return 2;
        }
        attn_table_free(&t);
    }
    if (attn_results_load(&r, o.files, o.nf, err, sizeof err)) {
        fprintf(stderr, "attnbench report: %s\n", err);
        return 2;
    }
    if (!r.nkeys) {
        fprintf(stderr, "attnbench report: nothing read: no row in %s%s (exit status 3)\n",
                o.files[0], o.nf > 1 ? " or the other CSVs" : "");
        attn_results_free(&r);
        return 3;
    }
    if (o.out) snprintf(dir, sizeof dir, "%s", o.out);
    else {
        const char *sl = strrchr(o.files[0], '/');
        snprintf(dir, sizeof dir, "%.*s%sreport", sl ? (int)(sl - o.files[0]) : 0, o.files[0],
                 sl ? "/" : "");
    }
    if (attn_mkdirs(dir, 1)) {
        fprintf(stderr, "attnbench report: cannot create '%s': %s\n", dir, strerror(errno));
        attn_results_free(&r);
        return 2;
    }
    attn_summary_t s;
    attn_summary_build(&r, &s);
    /* written beside, then renamed: a reader never sees half a page */
    snprintf(path, sizeof path, "%s/index.html", dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fprintf(stderr, "attnbench report: cannot write '%s': %s\n", tmp, strerror(errno));
        attn_summary_free(&s), attn_results_free(&r);
        return 2;
    }
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                 "<title>attnbench report</title>\n<style>\n%s</style>\n</head>\n<body>\n"
                 "<h1>attnbench report</h1>\n<p id=\"totals\">",
            STYLE);
    attn_summary_totals(out, &s, o.files, o.nf, "<code>", "</code>");
    fputs("</p>\n<nav><a href=\"#failures\">failures</a><a href=\"#summary\">best per case</a>"
          "<a href=\"#skips\">skips</a><a href=\"#provenance\">provenance</a>", out);
    if (o.nb) fputs("<a href=\"#compare\">compared</a>", out);
    fputs("<a href=\"#plots\">plots</a></nav>\n", out);
    for (int k = 0; k < ATTN_NTABS; k++) attn_summary_html_tab(out, &s.tab[k]);
    rc = o.nb ? verdicts(out, &o) : 0;
    const int prc = plots(out, &o, dir);
    if (prc > rc) rc = prc;
    fputs("</body>\n</html>\n", out);
    if (fclose(out) || rename(tmp, path)) {
        fprintf(stderr, "attnbench report: writing '%s' failed: %s\n", path, strerror(errno));
        unlink(tmp);
        rc = 2;
    } else printf("report: %s\n", path);
    attn_summary_free(&s);
    attn_results_free(&r);
    return rc;
}
