/* The pictures: plots/render.sh (a shorthand for `attnbench plots --x --panels`) on constructed
 * CSVs (the bandwidth picture is drawn from the gbps column, the measured ceilings become
 * labelled lines, peer rows are series of their own, drawn dashed; CSVs from before the ceiling
 * columns still render; of repeated rows the one rule of bench/results.h decides what is drawn),
 * and `attnbench plots` through the real binary (two CSVs combined and drawn, the suite's plot
 * axis and panels from the registry, one file of two suites, every bad input exiting 2 with a
 * message that names it, a failed rendering exiting 1). The gnuplot scripts and data files are
 * read back (RENDER_KEEP_TMP / ATTNBENCH_PLOTS_KEEP keep them). */
#include <criterion/criterion.h>
#include <glob.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "csv.h"

#ifndef ATTN_SOURCE_ROOT
#define ATTN_SOURCE_ROOT "."
#endif

static char *dir;
static void setup(void)
{
    dir = tst_tmpdir("plots");
    setenv("TMPDIR", dir, 1); /* kept temporaries land here, removed with it */
}
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

static int have_gnuplot(void) { return system("command -v gnuplot >/dev/null 2>&1") == 0; }
#define NEED_GNUPLOT() \
    do { \
        if (!have_gnuplot()) cr_skip_test("gnuplot not installed"); \
    } while (0)

/* ------------------------------------------------------------------ constructed CSVs */

static char *header_of(const char *suite) { return tst_csv_header(suite); }

/* The header without the named columns (a CSV from before they existed). */
static char *header_without(const char *header, const char *const *drop)
{
    char *f[128];
    int nf = tst_csv_split(header, f, 128);
    cr_assert_gt(nf, 0);
    attn_row_t r;
    attn_row_init(&r);
    for (int c = 0; c < nf; c++) {
        int skip = 0;
        for (int i = 0; drop[i]; i++) skip |= !strcmp(f[c], drop[i]);
        if (!skip) attn_row_str(&r, f[c]);
    }
    char *s = strdup(r.buf);
    attn_row_free(&r);
    tst_csv_free(f, nf);
    return s;
}

/* One row for header: the columns named in spec ("name=value;name=value"), every axis column not
 * named 1, status ok, seed 42, every other column empty. */
static void add_row(attn_row_t *r, const char *header, const char *spec)
{
    char *f[128];
    int nf = tst_csv_split(header, f, 128);
    cr_assert_gt(nf, 0);
    const int dt = tst_csv_col(header, "dtype"), st = tst_csv_col(header, "status");
    attn_row_clear(r);
    for (int c = 0; c < nf; c++) {
        char v[256] = "";
        if (c > dt && c < st) snprintf(v, sizeof v, "1");
        if (!strcmp(f[c], "status")) snprintf(v, sizeof v, "ok");
        if (!strcmp(f[c], "seed")) snprintf(v, sizeof v, "42");
        const size_t l = strlen(f[c]);
        for (const char *p = spec; p && *p;) {
            const char *end = strchr(p, ';');
            if (!end) end = p + strlen(p);
            if ((size_t)(end - p) > l && !strncmp(p, f[c], l) && p[l] == '=')
                snprintf(v, sizeof v, "%.*s", (int)(end - p - (ptrdiff_t)l - 1), p + l + 1);
            p = *end ? end + 1 : end;
        }
        attn_row_str(r, v);
    }
    tst_csv_free(f, nf);
}

/* dir/name with header and one row per spec (NULL-terminated). */
static char *write_csv(const char *name, const char *header, const char *const *specs)
{
    char *p = tst_path(dir, name);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    len += (size_t)snprintf(text, cap, "%s\n", header);
    attn_row_t r;
    attn_row_init(&r);
    for (int i = 0; specs[i]; i++) {
        add_row(&r, header, specs[i]);
        len += (size_t)snprintf(text + len, cap - len, "%s\n", r.buf);
    }
    attn_row_free(&r);
    tst_write_file(p, text, len);
    free(text);
    return p;
}

#define DEV "device=NVIDIA H100 80GB HBM3"
#define PEAKS "peak_tflops=789.4;peak_gbps=3012"
/* mhsa rows of ours (backend gpu) at N = 1024, 4096 in two panels (d = 64, 128) */
#define OURS(N, d, med, tf, gb, peaks) \
    "suite=mhsa;variant=fused;backend=gpu;dtype=bf16;N=" #N ";d=" #d ";median_ms=" #med \
    ";tflops=" #tf ";gbps=" #gb ";max_abs_err=1e-3;rel_l2_err=2e-3;tolerance_abs=0.015;" DEV ";" peaks, \
    "suite=mhsa;variant=cublas-bf16;backend=gpu;dtype=bf16;N=" #N ";d=" #d ";median_ms=3" \
    ";tflops=100;gbps=400;max_abs_err=1e-3;rel_l2_err=2e-3;tolerance_abs=0.015;" DEV ";" peaks
#define PEER(N, d) \
    "suite=mhsa;variant=sdpa-flash;backend=peer;dtype=bf16;N=" #N ";d=" #d ";median_ms=0.8" \
    ";tflops=520;gbps=1234.5;max_abs_err=1e-3;rel_l2_err=2e-3;tolerance_abs=0.015;" DEV ";" PEAKS

static const char *const OURS_ROWS[] = {
    OURS(1024, 64, 1, 300, 987.25, PEAKS), OURS(4096, 64, 1.5, 310, 900, PEAKS),
    OURS(1024, 128, 1.2, 320, 880, PEAKS), OURS(4096, 128, 1.4, 330, 870, PEAKS), NULL};
static const char *const PEER_ROWS[] = {PEER(1024, 64), PEER(4096, 64), PEER(1024, 128),
                                        PEER(4096, 128), NULL};
static const char *const NO_PEAK_ROWS[] = {
    OURS(1024, 64, 1, 300, 987.25, ""), OURS(4096, 64, 1.5, 310, 900, ""), NULL};

static const char *const PICTURES[] = {"throughput", "bandwidth", "speedup", "error", "error-ratio"};

static const char *bash_path(void)
{
    return access("/bin/bash", X_OK) == 0 ? "/bin/bash" : "/usr/bin/bash";
}

#define KEPT "attnbench plots: kept "

/* The directory of the scripts named by the last "kept" line of out (malloc'd), or NULL. */
static char *kept_dir(const char *out)
{
    const char *k = NULL;
    for (const char *p = out; p && (p = strstr(p, KEPT)); p += strlen(KEPT)) k = p;
    if (!k) return NULL;
    k += strlen(KEPT);
    return strndup(k, strcspn(k, "\n"));
}

/* plots/render.sh csv outdir axis panels with RENDER_KEEP_TMP=1; *kept gets the directory of
 * its scripts (malloc'd) when it printed one. Returns the exit status; output in *out. */
static int render(const char *csv, const char *outdir, const char *axis, const char *panels,
                  char **out, char **kept)
{
    setenv("RENDER_KEEP_TMP", "1", 1);
    int rc = tst_run(bash_path(), dir,
                     (const char *[]){ATTN_SOURCE_ROOT "/plots/render.sh", csv, outdir, axis, panels, NULL},
                     out);
    unsetenv("RENDER_KEEP_TMP");
    *kept = kept_dir(*out);
    return rc;
}

/* The gnuplot script of picture kind k (1 throughput, 2 speedup, 3 error, 4 error-ratio,
 * 5 bandwidth) of the first suite, from the kept directory. */
static char *script(const char *kept, int k)
{
    char p[4096];
    snprintf(p, sizeof p, "%s/p1_%d.gp", kept, k);
    char *s = tst_read_file(p, NULL);
    cr_assert_not_null(s, "no gnuplot script %s", p);
    return s;
}

/* The pictures of suite in outdir whose kinds are in `only` (" throughput error ", NULL: every
 * kind) exist and were printed; the others were not drawn (a picture with no point is not). */
static void expect_only(const char *outdir, const char *suite, const char *out, const char *only)
{
    for (size_t i = 0; i < sizeof PICTURES / sizeof *PICTURES; i++)
        for (int svg = 0; svg <= 1; svg++) {
            char name[256], word[64];
            snprintf(name, sizeof name, "%s-%s.%s", suite, PICTURES[i], svg ? "svg" : "png");
            snprintf(word, sizeof word, " %s ", PICTURES[i]);
            char *p = tst_path(outdir, name);
            if (only && !strstr(only, word)) {
                cr_expect(!tst_exists(p), "%s drawn without a point\n%s", p, out ? out : "");
                free(p);
                continue;
            }
            size_t len = 0;
            char *data = tst_read_file(p, &len);
            cr_expect(data && len > 1000 && (svg ? strstr(data, "<svg") != NULL : !memcmp(data, "\x89PNG", 4)),
                      "%s missing or not a %s\n%s", p, svg ? "SVG" : "PNG", out ? out : "");
            cr_expect(out && strstr(out, p), "path %s not printed:\n%s", p, out ? out : "");
            free(data), free(p);
        }
}

static void expect_pictures(const char *outdir, const char *suite, const char *out)
{
    expect_only(outdir, suite, out, NULL);
}

/* The style line of the series titled title in a picture's script ("lc rgb ... pt P dt D"), or
 * NULL. */
static char *series_style(const char *gp, const char *title)
{
    char want[512];
    snprintf(want, sizeof want, " title '%s'", title);
    const char *t = strstr(gp, want);
    if (!t) return NULL;
    const char *ls = t;
    while (ls > gp && strncmp(ls, " ls ", 4)) ls--;
    int n = atoi(ls + 4);
    char def[64];
    snprintf(def, sizeof def, "set style line %d ", n);
    const char *d = strstr(gp, def);
    return d ? strndup(d, strcspn(d, "\n")) : NULL;
}

/* The contents of every data file of picture kind k, concatenated. */
static char *data_of(const char *kept, int k)
{
    char pat[4096];
    snprintf(pat, sizeof pat, "%s/d1_%d_*.dat", kept, k);
    glob_t g;
    size_t cap = 1 << 16, len = 0;
    char *all = calloc(1, cap);
    cr_assert_not_null(all);
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            char *s = tst_read_file(g.gl_pathv[i], NULL);
            if (s) len += (size_t)snprintf(all + len, cap - len, "%s", s);
            free(s);
        }
        globfree(&g);
    }
    return all;
}

/* ------------------------------------------------------------------ the pictures */

Test(render, bandwidth_picture_from_gbps, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *csv = write_csv("ours.csv", h, OURS_ROWS), *out, *kept;
    char *od = tst_path(dir, "out");
    int rc = render(csv, od, "N", "d", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    expect_pictures(od, "mhsa", out);
    cr_assert_not_null(kept, "RENDER_KEEP_TMP: no kept directory printed\n%s", out);
    char *gp = script(kept, 5), *data = data_of(kept, 5);
    cr_expect(strstr(gp, "bandwidth [GB/s]"), "bandwidth script has no GB/s axis:\n%s", gp);
    cr_expect(!strstr(gp, "no data"), "bandwidth picture says no data:\n%s", gp);
    /* the points are the gbps column, not another one */
    cr_expect(strstr(data, "1024 987.25\n") && strstr(data, "4096 900\n") && strstr(data, "1024 400\n"),
              "bandwidth data is not the gbps values:\n%s", data);
    free(gp), free(data), free(kept), free(out), free(od), free(csv), free(h);
}

Test(render, ceiling_lines_labelled, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *csv = write_csv("ours.csv", h, OURS_ROWS), *out, *kept;
    char *od = tst_path(dir, "out");
    int rc = render(csv, od, "N", "d", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(kept, "%s", out);
    char *tp = script(kept, 1), *bw = script(kept, 5), *sp = script(kept, 2);
    cr_expect(strstr(tp, "measured bf16 GEMM peak 789 TFLOP/s"), "no peak_tflops line label:\n%s", tp);
    cr_expect(strstr(tp, "first 789.4 to graph 1, first 789.4"), "no line at 789.4:\n%s", tp);
    cr_expect(strstr(bw, "measured copy bandwidth 3012 GB/s"), "no peak_gbps line label:\n%s", bw);
    cr_expect(strstr(bw, "first 3012 to graph 1, first 3012"), "no line at 3012:\n%s", bw);
    cr_expect(!strstr(tp, "copy bandwidth") && !strstr(bw, "GEMM peak"), "ceilings swapped");
    cr_expect(!strstr(sp, "measured"), "the speedup picture has no ceiling:\n%s", sp);
    free(tp), free(bw), free(sp), free(kept), free(out), free(csv);

    /* rows without ceilings: no line, no label */
    csv = write_csv("nopeak.csv", h, NO_PEAK_ROWS);
    rc = render(csv, od, "N", "d", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(kept, "%s", out);
    tp = script(kept, 1), bw = script(kept, 5);
    cr_expect(!strstr(tp, "measured") && !strstr(bw, "measured"), "a ceiling without peak_* values");
    free(tp), free(bw), free(kept), free(out), free(csv), free(od), free(h);
}

Test(render, two_devices_two_ceilings, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *out, *kept, *od = tst_path(dir, "out");
    char *csv = write_csv("two.csv", h, (const char *[]){
        "suite=mhsa;variant=fused;backend=gpu;dtype=bf16;N=1024;tflops=300;gbps=900;median_ms=1;"
        "device=GPU A;peak_tflops=700;peak_gbps=3000",
        "suite=mhsa;variant=fused;backend=gpu;dtype=bf16;N=1024;tflops=350;gbps=950;median_ms=1;"
        "device=GPU B;peak_tflops=900;peak_gbps=4500", NULL});
    int rc = render(csv, od, "N", "", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(kept, "%s", out);
    char *tp = script(kept, 1);
    cr_expect(strstr(tp, "measured bf16 GEMM peak 700 TFLOP/s (GPU A)") &&
              strstr(tp, "measured bf16 GEMM peak 900 TFLOP/s (GPU B)"), "one line per device:\n%s", tp);
    free(tp), free(kept), free(out), free(csv), free(od), free(h);
}

Test(render, peers_are_series_of_their_own, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *out, *kept, *od = tst_path(dir, "out");
    const char *rows[16];
    int n = 0;
    for (int i = 0; OURS_ROWS[i]; i++) rows[n++] = OURS_ROWS[i];
    for (int i = 0; PEER_ROWS[i]; i++) rows[n++] = PEER_ROWS[i];
    /* a peer called like one of ours is still its own series */
    rows[n++] = "suite=mhsa;variant=fused;backend=peer;dtype=bf16;N=1024;d=64;median_ms=2;tflops=150;"
                "gbps=500;" DEV;
    rows[n] = NULL;
    char *csv = write_csv("both.csv", h, rows);
    int rc = render(csv, od, "N", "d", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(kept, "%s", out);
    const int kinds[] = {1, 5, 2};
    for (int i = 0; i < 3; i++) {
        char *gp = script(kept, kinds[i]);
        char *peer = series_style(gp, "sdpa-flash/bf16 (peer)"), *twin = series_style(gp, "fused/bf16 (peer)");
        char *ours = series_style(gp, "fused/bf16");
        cr_expect(peer && strstr(peer, "dt (10,5)"), "kind %d: peer series not dashed: %s\n%s", kinds[i],
                  peer ? peer : "(no series)", gp);
        cr_expect(twin && strstr(twin, "dt (10,5)"), "kind %d: the peer 'fused' is not a peer series: %s",
                  kinds[i], twin ? twin : "(no series)");
        cr_expect(ours && strstr(ours, "dt solid"), "kind %d: our series not solid: %s", kinds[i],
                  ours ? ours : "(no series)");
        cr_expect(peer && ours && strcmp(peer, ours), "kind %d: peer and ours share a style", kinds[i]);
        free(peer), free(twin), free(ours), free(gp);
    }
    /* the peer's speedup is over our cuBLAS of its dtype: 3 / 0.8 */
    char *sp = data_of(kept, 2);
    cr_expect(strstr(sp, "1024 3.75\n"), "no peer speedup 3.75:\n%s", sp);
    free(sp), free(kept), free(out), free(csv), free(od), free(h);
}

Test(render, csv_without_new_columns_still_renders, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa");
    char *old = header_without(h, (const char *[]){"gbps", "pct_peak", "pct_bw", "peak_tflops",
                                                   "peak_gbps", NULL});
    char *csv = write_csv("old.csv", old, OURS_ROWS), *out, *kept, *od = tst_path(dir, "out");
    int rc = render(csv, od, "N", "d", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    /* no bandwidth picture: no gbps column, and stderr says so */
    expect_only(od, "mhsa", out, " throughput speedup error error-ratio ");
    cr_expect(strstr(out, "no bandwidth picture") && strstr(out, "no gbps column"), "%s", out);
    cr_assert_not_null(kept, "%s", out);
    char *tp = script(kept, 1);
    cr_expect(!strstr(tp, "measured") && strstr(tp, "fused/bf16"), "throughput of an old CSV:\n%s", tp);
    free(tp), free(kept), free(out), free(csv), free(od), free(old), free(h);
}

/* Repeated rows of one case: the rule of bench/results.h (the latest measurement: a timing or a
 * fail), the same one compare and floors use. */
Test(render, repeated_rows_follow_the_one_rule, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *out, *kept, *od = tst_path(dir, "out");
#define ROW(N, rest) "suite=mhsa;variant=fused;backend=gpu;dtype=bf16;N=" #N ";tolerance_abs=0.015;" DEV ";" rest
    char *csv = write_csv("rep.csv", h, (const char *[]){
        /* N=1024: timed twice, then a --check row (no time): the later timing and its errors */
        ROW(1024, "median_ms=2;tflops=100;gbps=400;rel_l2_err=1e-3;max_abs_err=1e-4"),
        ROW(1024, "median_ms=1;tflops=200;gbps=800;rel_l2_err=2e-3;max_abs_err=2e-4"),
        ROW(1024, "rel_l2_err=9e-3;max_abs_err=9e-4"),
        /* N=4096: timed, then a skip: the timing */
        ROW(4096, "median_ms=4;tflops=300;gbps=900;rel_l2_err=3e-3;max_abs_err=3e-4"),
        ROW(4096, "status=skip;reason=not enough device memory"),
        /* N=8192: timed, then a fail: the failure (circled), no timing, and a warning */
        ROW(8192, "median_ms=8;tflops=350;gbps=950;rel_l2_err=4e-3;max_abs_err=4e-4"),
        ROW(8192, "status=fail;reason=mismatch;rel_l2_err=0.5;max_abs_err=0.1"), NULL});
#undef ROW
    int rc = render(csv, od, "N", "", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(kept, "%s", out);
    char *tp = data_of(kept, 1), *er = data_of(kept, 3);
    cr_expect(strstr(tp, "1024 200\n") && strstr(tp, "4096 300\n") && !strstr(tp, "8192"),
              "throughput: the latest timing; none after a fail:\n%s", tp);
    cr_expect(strstr(er, "1024 0.002\n") && strstr(er, "4096 0.003\n") && strstr(er, "8192 0.5\n"),
              "error: the winner's values:\n%s", er);
    cr_expect(strstr(out, "1 case(s) fail after an earlier timing"), "no warning:\n%s", out);
    free(tp), free(er), free(kept), free(out), free(csv), free(od), free(h);
}

/* ------------------------------------------------------------------ attnbench plots */

static int plots(const char *const *args, char **out)
{
    const char *argv[16] = {"plots"};
    int n = 1;
    for (int i = 0; args[i]; i++) argv[n++] = args[i];
    argv[n] = NULL;
    return tst_run_bin(dir, argv, out);
}

/* Lines of a file (0 when it cannot be read). */
static int count_lines(const char *path)
{
    char *s = tst_read_file(path, NULL);
    int n = 0;
    for (const char *p = s; p && *p; p++) n += *p == '\n';
    free(s);
    return n;
}

Test(plots_cmd, two_csvs_combined_and_drawn, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *out;
    char *a = write_csv("mhsa.csv", h, OURS_ROWS), *b = write_csv("peers.csv", h, PEER_ROWS);
    char *od = tst_path(dir, "pics");
    int rc = plots((const char *[]){"--out", od, a, b, NULL}, &out);
    cr_assert_eq(rc, 0, "%s", out);
    char *comb = tst_path(od, "mhsa-combined.csv");
    char *text = tst_read_file(comb, NULL);
    cr_assert_not_null(text, "no %s\n%s", comb, out);
    cr_expect(!strncmp(text, h, strlen(h)) && text[strlen(h)] == '\n', "combined CSV header:\n%s", text);
    cr_expect_eq(count_lines(comb), 1 + 8 + 4, "header + 8 rows of ours + 4 of the peers:\n%s", text);
    cr_expect(strstr(text, "mhsa,fused,gpu,bf16") && strstr(text, "mhsa,sdpa-flash,peer,bf16"),
              "rows of both files:\n%s", text);
    /* ours first, then the peers: the order given */
    cr_expect(strstr(text, "mhsa,fused,gpu") < strstr(text, "mhsa,sdpa-flash,peer"), "order");
    cr_expect(strstr(out, comb), "combined CSV path not printed:\n%s", out);
    expect_pictures(od, "mhsa", out);
    free(text), free(comb), free(out);

    /* default DIR: the first CSV's directory; an existing combined CSV is replaced */
    rc = plots((const char *[]){a, b, NULL}, &out);
    cr_assert_eq(rc, 0, "%s", out);
    comb = tst_path(dir, "mhsa-combined.csv");
    cr_expect_eq(count_lines(comb), 13, "%s", out);
    free(out);
    rc = plots((const char *[]){a, b, NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect_eq(count_lines(comb), 13, "a second run appended to the combined CSV");
    expect_pictures(dir, "mhsa", out);
    free(out), free(comb);

    /* one file: drawn from it, no combined CSV */
    char *od1 = tst_path(dir, "one");
    rc = plots((const char *[]){"--out", od1, a, NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    comb = tst_path(od1, "mhsa-combined.csv");
    cr_expect(!tst_exists(comb), "a combined CSV from one file");
    expect_pictures(od1, "mhsa", out);
    free(out), free(comb), free(od1), free(od), free(a), free(b), free(h);
}

/* A stand-in gnuplot that exits 3, first in PATH (malloc'd: the old PATH, to restore). */
static char *failing_gnuplot(void)
{
    char *fd = tst_path(dir, "fakebin"), cmd[8192];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s' && printf '#!/bin/sh\\nexit 3\\n' > '%s/gnuplot' && "
                              "chmod +x '%s/gnuplot'", fd, fd, fd);
    cr_assert_eq(system(cmd), 0);
    char *old = strdup(getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
    snprintf(cmd, sizeof cmd, "%s:%s", fd, old);
    setenv("PATH", cmd, 1);
    free(fd);
    return old;
}

Test(plots_cmd, suite_axes_from_the_registry, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *out, *od = tst_path(dir, "pics");
    /* sge and shuffle have the same axes, so one file may hold both */
    char *h = header_of("sge");
    char *one = write_csv("mix.csv", h, (const char *[]){
        "suite=sge;variant=cpu-f32;backend=cpu;dtype=f32;H=7;median_ms=1;tflops=1",
        "suite=shuffle;variant=cpu-f32;backend=cpu;dtype=f32;H=7;median_ms=2;tflops=2",
        "suite=sge;variant=cpu-f32;backend=cpu;dtype=f32;H=14;median_ms=3;tflops=3", NULL});
    setenv("ATTNBENCH_PLOTS_KEEP", "1", 1);
    int rc = plots((const char *[]){"--out", od, one, NULL}, &out);
    unsetenv("ATTNBENCH_PLOTS_KEEP");
    cr_assert_eq(rc, 0, "%s", out);
    /* the rows have a time and tflops only: the throughput pictures alone */
    expect_only(od, "sge", out, " throughput ");
    expect_only(od, "shuffle", out, " throughput ");
    /* each suite alone, with its own axis and panels */
    const char *names[] = {"sge", "shuffle"};
    const char *p = out;
    for (int i = 0; i < 2; i++) {
        const attn_suite_t *s = tst_suite(names[i]);
        char want[512];
        snprintf(want, sizeof want, "rendering suite %s (x: %s, panels: %s)", names[i], s->plot_axis,
                 s->plot_panels && *s->plot_panels ? s->plot_panels : "none");
        cr_expect(strstr(out, want), "want '%s':\n%s", want, out);
        const char *k = p ? strstr(p, KEPT) : NULL;
        cr_assert_not_null(k, "%s", out);
        k += strlen(KEPT);
        char *kept = strndup(k, strcspn(k, "\n")), *gp = script(kept, 1);
        p = k;
        snprintf(want, sizeof want, "attnbench %s: throughput", names[i]);
        cr_expect(strstr(gp, want), "suite %s: %s", names[i], gp);
        snprintf(want, sizeof want, "x: %s", s->plot_axis);
        cr_expect(strstr(gp, want), "suite %s: x is not %s:\n%s", names[i], s->plot_axis, gp);
        char *tp = data_of(kept, 1);
        cr_expect(i ? !strcmp(tp, "7 2\n") : strstr(tp, "7 1\n") && strstr(tp, "14 3\n"),
                  "suite %s drew another suite's rows:\n%s", names[i], tp);
        free(tp), free(gp), free(kept);
    }
    free(out);

    /* rendering fails: exit 1, and the other suites are still drawn */
    char *path = failing_gnuplot();
    rc = plots((const char *[]){"--out", od, one, NULL}, &out);
    setenv("PATH", path, 1);
    cr_expect_eq(rc, 1, "%s", out);
    cr_expect(strstr(out, "rendering suite sge failed") && strstr(out, "rendering suite shuffle failed"),
              "%s", out);
    free(path), free(out), free(one), free(h), free(od);
}

Test(plots_cmd, bad_input_exits_2_naming_it, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa"), *out;
    char *a = write_csv("mhsa.csv", h, OURS_ROWS);
    char *old = header_without(h, (const char *[]){"peak_tflops", "peak_gbps", NULL});
    char *b = write_csv("peers-old.csv", old, PEER_ROWS);
    char *gone = tst_path(dir, "gone.csv");
    char *junk = tst_path(dir, "junk.csv");
    tst_write_file(junk, "a,b,c\n1,2,3\n", 12);
    char *alien = write_csv("alien.csv", h, (const char *[]){"suite=nosuch;variant=x", NULL});
    char *sge = header_of("sge");
    char *wrong = write_csv("wrong.csv", sge, (const char *[]){"suite=mhsa;variant=x", NULL});
    char *od = tst_path(dir, "pics");

    struct {
        const char *args[6];
        const char *names[3];
    } bad[] = {
        {{a, b}, {"peers-old.csv", "peak_tflops", "mhsa.csv"}}, /* one suite, two headers */
        {{a, gone}, {"gone.csv"}},
        {{junk}, {"junk.csv", "not an attnbench results CSV"}},
        {{alien}, {"nosuch", "alien.csv"}},
        {{wrong}, {"wrong.csv", "'N'"}},                 /* mhsa rows without mhsa's axes */
        {{dir}, {dir, "directory"}},
        {{NULL}, {"at least one"}},
        {{"--bogus", a}, {"--bogus"}},
        {{a, "--out"}, {"--out"}},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *args[8] = {0};
        int n = 0;
        args[n++] = "--out";
        args[n++] = od;
        for (int j = 0; bad[i].args[j]; j++) args[n++] = bad[i].args[j];
        args[n] = NULL;
        int rc = plots(args, &out);
        cr_expect_eq(rc, 2, "case %zu: %s", i, out);
        for (int j = 0; j < 3 && bad[i].names[j]; j++)
            cr_expect(strstr(out, bad[i].names[j]), "case %zu: message does not name '%s': %s", i,
                      bad[i].names[j], out);
        free(out);
    }
    /* nothing written by a refused run */
    char *comb = tst_path(od, "mhsa-combined.csv");
    cr_expect(!tst_exists(comb), "a refused run wrote %s", comb);
    free(comb);

    /* the combined CSV given back as an input would grow at every run */
    char *c2 = tst_path(dir, "mhsa-combined.csv");
    tst_write_file(c2, h, strlen(h));
    int rc = plots((const char *[]){c2, a, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "mhsa-combined.csv") && strstr(out, "combined CSV"), "%s", out);
    free(out);

    rc = plots((const char *[]){"--help", NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "usage: attnbench plots [--out DIR] CSV..."), "%s", out);
    free(out);
    rc = tst_run_bin(dir, (const char *[]){"--help", NULL}, &out);
    cr_expect_eq(rc, 0);
    cr_expect(strstr(out, "attnbench plots [--out DIR] CSV..."), "attnbench --help lacks plots:\n%s", out);
    free(out);
    free(c2), free(od), free(wrong), free(sge), free(alien), free(junk), free(gone), free(b), free(old),
        free(a), free(h);
}

/* ------------------------------------------------------------------ no row hidden */

/* The lines of the data files of picture kind k of every picture set (d<tag>_<k>_<p>_<s>.dat). */
static int points_of(const char *kept, int k)
{
    char pat[4096];
    snprintf(pat, sizeof pat, "%s/d*_%d_*_*.dat", kept, k);
    glob_t g;
    int n = 0;
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            /* d<tag>_<k>_<p>_<s>.dat: exactly three '_' after the tag */
            const char *b = strrchr(g.gl_pathv[i], '/') + 1;
            int us = 0;
            for (const char *c = b; *c; c++) us += *c == '_';
            char want[16];
            snprintf(want, sizeof want, "_%d_", k);
            if (us != 3 || !strstr(b, want) || strstr(b, want) != strchr(b, '_')) continue;
            n += count_lines(g.gl_pathv[i]);
        }
        globfree(&g);
    }
    return n;
}

/* The halo GPU grid (its rows from --plan, then given times): axes that are neither x nor a
 * panel (B, C, heads) used to collapse to the last row; every row must be on a picture, and
 * every picture's title names the values it fixes. */
Test(plots_cmd, every_row_of_the_halo_grid_is_drawn, .init = setup, .fini = teardown, .timeout = 240)
{
    NEED_GNUPLOT();
    char *plan = tst_path(dir, "plan.csv"), *csv = tst_path(dir, "halo.csv"), *out;
    int rc = tst_run_bin(dir, (const char *[]){"--suite", "halo", "--sweep", "--plan", "--csv", plan,
                                               NULL}, &out);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    char *text = tst_read_file(plan, NULL), **lines;
    int tail, nl = tst_lines(text, &lines, &tail), nrows = 0;
    cr_assert_gt(nl, 1);
    const char *h = lines[0];
    const int c_var = tst_csv_col(h, "variant"), c_be = tst_csv_col(h, "backend");
    const int c_st = tst_csv_col(h, "status"), c_med = tst_csv_col(h, "median_ms");
    const int c_iqr = tst_csv_col(h, "iqr_ms"), c_tf = tst_csv_col(h, "tflops"), c_n = tst_csv_col(h, "samples");
    size_t cap = 1 << 22, len = 0;
    char *all = malloc(cap);
    len += (size_t)snprintf(all, cap, "%s\n", h);
    attn_row_t r;
    attn_row_init(&r);
    for (int i = 1; i < nl; i++) {
        char *f[128];
        int nf = tst_csv_split(lines[i], f, 128);
        cr_assert_gt(nf, c_tf);
        if (strcmp(f[c_var], "fused") || strcmp(f[c_be], "gpu")) {
            tst_csv_free(f, nf);
            continue;
        }
        attn_row_clear(&r);
        for (int c = 0; c < nf; c++) {
            char v[64];
            if (c == c_st) attn_row_str(&r, "ok");
            else if (c == c_med) attn_row_str(&r, "1.5");
            else if (c == c_iqr) attn_row_str(&r, "0.1");
            else if (c == c_n) attn_row_str(&r, "20");
            else if (c == c_tf) snprintf(v, sizeof v, "%d", 100 + nrows), attn_row_str(&r, v);
            else attn_row_str(&r, f[c]);
        }
        len += (size_t)snprintf(all + len, cap - len, "%s\n", r.buf);
        nrows++;
        tst_csv_free(f, nf);
    }
    attn_row_free(&r);
    tst_lines_free(lines, nl);
    free(text);
    cr_assert_eq(nrows, 216, "the halo GPU grid has 216 cases of variant fused");
    tst_write_file(csv, all, len);
    free(all);
    char *od = tst_path(dir, "pics");
    setenv("ATTNBENCH_PLOTS_KEEP", "1", 1);
    rc = plots((const char *[]){"--out", od, csv, NULL}, &out);
    unsetenv("ATTNBENCH_PLOTS_KEEP");
    cr_assert_eq(rc, 0, "%s", out);
    char *kept = kept_dir(out);
    cr_assert_not_null(kept, "%s", out);
    cr_expect_eq(points_of(kept, 1), 216, "throughput points of 216 rows:\n%s", out);
    cr_expect(!strstr(out, "fell on the same point"), "%s", out);
    /* every picture set's throughput title names what it fixes; files are named after it */
    char pat[4096];
    snprintf(pat, sizeof pat, "%s/p*_1.gp", kept);
    glob_t g;
    cr_assert_eq(glob(pat, 0, NULL, &g), 0);
    cr_expect_gt(g.gl_pathc, 1, "one set of pictures for 216 rows of several B, C, heads");
    for (size_t i = 0; i < g.gl_pathc; i++) {
        char *gp = tst_read_file(g.gl_pathv[i], NULL);
        cr_expect(gp && strstr(gp, "fixed: B=") && strstr(gp, "heads="), "%s: title names no fixed "
                  "values:\n%.2000s", g.gl_pathv[i], gp);
        free(gp);
    }
    globfree(&g);
    char *one = tst_path(od, "halo-throughput-B=1-C=256-heads=4.png");
    cr_expect(tst_exists(one), "no %s:\n%s", one, out);
    free(one), free(kept), free(out), free(od), free(csv), free(plan);
}

/* A small case of the same: H is neither x nor a panel and has two values; B follows N. */
Test(render, an_axis_off_x_and_panels_splits_the_pictures, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *out, *kept, *od = tst_path(dir, "out");
#define R(N, B, H, tf) "suite=mhsa;variant=fused;backend=gpu;dtype=bf16;N=" #N ";B=" #B ";H=" #H \
    ";median_ms=1;tflops=" #tf ";" DEV
    char *csv = write_csv("h.csv", h, (const char *[]){R(1024, 16, 16, 100), R(4096, 4, 16, 200),
                                                       R(1024, 16, 32, 300), R(4096, 4, 32, 400), NULL});
    /* first one H: one set of pictures, not split */
    char *one = write_csv("one.csv", h, (const char *[]){R(1024, 16, 16, 100), R(4096, 4, 16, 200), NULL});
#undef R
    char *unsplit = tst_path(od, "mhsa-throughput.svg");
    int rc = render(one, od, "N", "", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_expect(tst_exists(unsplit), "%s", out);
    free(out), free(kept), free(one);
    rc = render(csv, od, "N", "", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(kept, "%s", out);
    cr_expect(!tst_exists(unsplit), "the unsplit picture of the earlier run is left:\n%s", out);
    free(unsplit);
    cr_expect_eq(points_of(kept, 1), 4, "every row drawn:\n%s", out);
    char *a = tst_path(od, "mhsa-throughput-H=16.svg"), *b = tst_path(od, "mhsa-throughput-H=32.svg");
    cr_expect(tst_exists(a) && tst_exists(b), "one picture per H:\n%s", out);
    char *gp = script(kept, 1);
    cr_expect(strstr(gp, "fixed: ") && strstr(gp, "H=16") && strstr(gp, "B: follow x and the panels"),
              "the title names what it fixes:\n%s", gp);
    free(gp), free(a), free(b), free(kept), free(out), free(csv), free(od), free(h);
}

/* The reference's exact zero error is drawn at the bottom, not at 1e-17; throughput points carry
 * the IQR as error bars. */
Test(render, zero_error_at_the_bottom_and_iqr_bars, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *out, *kept, *od = tst_path(dir, "out");
#define R(v, N, err) "suite=mhsa;variant=" v ";backend=gpu;dtype=bf16;N=" #N ";median_ms=1;iqr_ms=0.2;" \
    "samples=20;tflops=300;max_abs_err=" #err ";rel_l2_err=" #err ";tolerance_abs=0.01;" DEV
    char *csv = write_csv("z.csv", h, (const char *[]){R("reference", 1024, 0), R("reference", 4096, 0),
                                                       R("fused", 1024, 1e-3), R("fused", 4096, 2e-3), NULL});
#undef R
    int rc = render(csv, od, "N", "", &out, &kept);
    cr_assert_eq(rc, 0, "%s", out);
    cr_assert_not_null(kept, "%s", out);
    for (int k = 3; k <= 4; k++) {
        char *gp = script(kept, k);
        const char *yr = strstr(gp, "set yrange [");
        cr_assert_not_null(yr, "%s", gp);
        const double lo = strtod(yr + strlen("set yrange ["), NULL);
        cr_expect(lo > 1e-6, "kind %d: exact zeros stretch the y axis down to %g:\n%s", k, lo, gp);
        cr_expect(strstr(gp, "exactly 0: drawn at the bottom"), "kind %d: %s", k, gp);
        free(gp);
    }
    char *tp = script(kept, 1);
    cr_expect(strstr(tp, "yerrorbars"), "no error bars:\n%s", tp);
    free(tp);
    /* 300 TFLOP/s at 1 ms, IQR 0.2 ms: 300/1.1 .. 300/0.9 */
    char p[4096];
    snprintf(p, sizeof p, "%s/e1_1_1_1.dat", kept);
    char *e = tst_read_file(p, NULL);
    cr_expect(e && strstr(e, "1024 300 272.727272") && strstr(e, " 333.33333"), "error bars:\n%s", e);
    free(e), free(kept), free(out), free(csv), free(od), free(h);
}

/* --baseline: the speedup over any variant (a peer's too); no picture without a point; nothing
 * drawable at all is not a success. */
Test(plots_cmd, baseline_and_no_empty_pictures, .init = setup, .fini = teardown)
{
    NEED_GNUPLOT();
    char *h = header_of("mhsa"), *out;
    const char *rows[16];
    int n = 0;
    for (int i = 0; OURS_ROWS[i]; i++) rows[n++] = OURS_ROWS[i];
    for (int i = 0; PEER_ROWS[i]; i++) rows[n++] = PEER_ROWS[i];
    rows[n] = NULL;
    char *csv = write_csv("both.csv", h, rows), *od = tst_path(dir, "pics");
    setenv("ATTNBENCH_PLOTS_KEEP", "1", 1);
    int rc = plots((const char *[]){"--out", od, "--baseline", "sdpa-flash", csv, NULL}, &out);
    unsetenv("ATTNBENCH_PLOTS_KEEP");
    cr_assert_eq(rc, 0, "%s", out);
    char *kept = kept_dir(out), *gp = script(kept, 2), *sp = data_of(kept, 2);
    cr_expect(strstr(gp, "speedup vs sdpa-flash") && !strstr(gp, "cuBLAS"), "%s", gp);
    /* fused at N=1024, d=64: 0.8 / 1 */
    cr_expect(strstr(sp, "1024 0.8\n") && !strstr(sp, "1024 1\n"), "speedups over the peer:\n%s", sp);
    free(gp), free(sp), free(kept), free(out);
    /* render.sh passes its fifth argument on as --baseline */
    char *od3 = tst_path(dir, "bysh");
    rc = tst_run(bash_path(), dir, (const char *[]){ATTN_SOURCE_ROOT "/plots/render.sh", csv, od3, "N",
                                                    "d", "sdpa-flash", NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "mhsa-speedup.png") && strstr(out, "baseline") == NULL, "%s", out);
    free(out), free(od3);
    /* a baseline no row has: no speedup picture, and the old one is removed */
    char *spf = tst_path(od, "mhsa-speedup.png");
    cr_assert(tst_exists(spf));
    rc = plots((const char *[]){"--out", od, "--baseline", "nosuch", csv, NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "no speedup picture") && strstr(out, "nosuch"), "%s", out);
    cr_expect(!tst_exists(spf), "an empty or stale speedup picture is left:\n%s", out);
    free(out);
    /* only skips: nothing any picture shows */
    char *sk = write_csv("skip.csv", h, (const char *[]){
        "suite=mhsa;variant=fused;backend=gpu;dtype=bf16;N=1024;status=skip;reason=no device", NULL});
    char *od2 = tst_path(dir, "skips");
    rc = plots((const char *[]){"--out", od2, sk, NULL}, &out);
    cr_expect_eq(rc, 2, "a CSV of skips drew nothing and exited %d:\n%s", rc, out);
    cr_expect(strstr(out, "nothing to draw"), "%s", out);
    free(out), free(od2), free(sk), free(spf), free(od), free(csv), free(h);
}
