/* attnbench compare: the verdict rule on hand-picked timings (same, faster, slower, ambiguous for
 * few samples and for a wide spread, a significant change below the noise floor), then the real
 * binary on constructed CSVs: the verdict of every row, rows in one file only, rows that fail in
 * NEW, the geometric mean, --fail-above exit codes, and every bad input exiting 2 with a message
 * that names it (different columns, a missing file, not a results file, bad options). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"
#include "compare.h"
#include "csv.h"

/* ------------------------------------------------------------------ the rule */

static attn_verdict_t verdict(int nb, double mb, double ib, int nn, double mn, double in_,
                              double noise)
{
    double ratio, u;
    const char *why;
    attn_verdict_t v = attn_compare_verdict((attn_timing_t){.n = nb, .median = mb, .iqr = ib},
                                            (attn_timing_t){.n = nn, .median = mn, .iqr = in_},
                                            noise, &ratio, &u, &why);
    cr_expect_float_eq(ratio, mn / mb, 1e-12);
    cr_expect((v == ATTN_AMBIGUOUS) == (why != NULL), "a reason exactly when ambiguous");
    return v;
}

Test(rule, verdicts)
{
    const double F = 0.02;
    /* 20 samples, IQR 2 %: notches ±0.7 % each */
    cr_expect_eq(verdict(20, 1.0, 0.02, 20, 1.01, 0.02, F), ATTN_SAME, "1 %% with tight rows");
    cr_expect_eq(verdict(20, 1.0, 0.02, 20, 1.10, 0.02, F), ATTN_SLOWER, "+10 %%");
    cr_expect_eq(verdict(20, 1.0, 0.02, 20, 0.80, 0.02, F), ATTN_FASTER, "-20 %%");
    /* fewer than 5 samples: nothing can be said, even of a large change */
    cr_expect_eq(verdict(3, 1.0, 0.0, 20, 2.0, 0.02, F), ATTN_AMBIGUOUS, "3 samples in base");
    cr_expect_eq(verdict(20, 1.0, 0.02, 4, 1.0, 0.0, F), ATTN_AMBIGUOUS, "4 samples in new");
    /* IQR 50 % with 10 samples: notches ±25 % each; +30 % is inside them, and so is 0 % */
    cr_expect_eq(verdict(10, 1.0, 0.5, 10, 1.3, 0.65, F), ATTN_AMBIGUOUS, "+30 %% in wide spread");
    cr_expect_eq(verdict(10, 1.0, 0.5, 10, 1.0, 0.5, F), ATTN_AMBIGUOUS, "equal medians, wide spread");
    /* ... but a doubling is beyond them */
    cr_expect_eq(verdict(10, 1.0, 0.5, 10, 3.0, 1.5, F), ATTN_SLOWER, "x3 in wide spread");
    /* 1000 samples make +1 % significant, but it is below the 2 % floor */
    cr_expect_eq(verdict(1000, 1.0, 0.01, 1000, 1.01, 0.01, F), ATTN_SAME, "+1 %% significant");
    cr_expect_eq(verdict(1000, 1.0, 0.01, 1000, 1.03, 0.01, F), ATTN_SLOWER, "+3 %% significant");
    /* the floor is an option: +30 % is the same under a 50 % floor */
    cr_expect_eq(verdict(20, 1.0, 0.02, 20, 1.3, 0.02, 0.5), ATTN_SAME, "+30 %% with a 50 %% floor");
    /* zero spread: any change above the floor counts */
    cr_expect_eq(verdict(5, 1.0, 0.0, 5, 1.021, 0.0, F), ATTN_SLOWER, "+2.1 %%, no spread");
    cr_expect_eq(verdict(5, 1.0, 0.0, 5, 1.019, 0.0, F), ATTN_SAME, "+1.9 %%, no spread");
}

/* ------------------------------------------------------------------ constructed CSVs */

static char *dir;
static void setup(void) { dir = tst_tmpdir("compare"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

static char *header_of(const char *suite) { return tst_csv_header(suite); }

/* One mhsa row: variant, N, status, samples, median, iqr (samples 0: untimed); every other
 * column a plausible value. */
typedef struct spec {
    const char *variant;
    int N;
    const char *status;
    int n;
    double median, iqr;
} spec_t;

/* The field of column `name` for row s (a plausible value for every column). */
static void field_of(const char *name, const spec_t *s, char *b, size_t n)
{
    b[0] = 0;
    if (!strcmp(name, "suite")) snprintf(b, n, "mhsa");
    else if (!strcmp(name, "variant")) snprintf(b, n, "%s", s->variant);
    else if (!strcmp(name, "backend")) snprintf(b, n, "gpu");
    else if (!strcmp(name, "dtype")) snprintf(b, n, "f32");
    else if (!strcmp(name, "N") || !strcmp(name, "Nk")) snprintf(b, n, "%d", s->N);
    else if (!strcmp(name, "B")) snprintf(b, n, "%d", 16384 / s->N > 0 ? 16384 / s->N : 1);
    else if (!strcmp(name, "H")) snprintf(b, n, "32");
    else if (!strcmp(name, "d")) snprintf(b, n, "64");
    else if (!strcmp(name, "causal") || !strcmp(name, "kvpad")) snprintf(b, n, "0");
    else if (!strcmp(name, "tokens")) snprintf(b, n, "16384");
    else if (!strcmp(name, "D")) snprintf(b, n, "2048");
    else if (!strcmp(name, "status")) snprintf(b, n, "%s", s->status);
    else if (!strcmp(name, "reason"))
        snprintf(b, n, "%s", !strcmp(s->status, "fail") ? "max |err| 1, too big" :
                             !strcmp(s->status, "skip") ? "no CUDA device" : "");
    else if (s->n && !strcmp(name, "samples")) snprintf(b, n, "%d", s->n);
    else if (s->n && !strcmp(name, "median_ms")) snprintf(b, n, "%.9g", s->median);
    else if (s->n && !strcmp(name, "iqr_ms")) snprintf(b, n, "%.9g", s->iqr);
    else if (s->n && (!strcmp(name, "min_ms") || !strcmp(name, "max_ms")))
        snprintf(b, n, "%.9g", s->median);
    else if (!strcmp(name, "seed")) snprintf(b, n, "42");
    else if (!strcmp(name, "timestamp")) snprintf(b, n, "2026-01-01T00:00:00Z");
}

static void add_row(attn_row_t *r, const char *header, const spec_t *s)
{
    char *f[64];
    int nf = tst_csv_split(header, f, 64);
    cr_assert_gt(nf, 0);
    attn_row_clear(r);
    for (int c = 0; c < nf; c++) {
        char b[64];
        field_of(f[c], s, b, sizeof b);
        attn_row_str(r, b);
    }
    tst_csv_free(f, nf);
}

/* The row as pandas writes a results CSV back (read_csv, to_csv(quoting=QUOTE_NONNUMERIC)):
 * integers of a column with a gap as floats ("20.0"), small and large numbers in exponent form,
 * every text quoted, a missing number empty. */
static void pandas_line(char *line, size_t n, const char *header, const spec_t *s)
{
    char *f[64];
    int nf = tst_csv_split(header, f, 64);
    size_t off = 0;
    cr_assert_gt(nf, 0);
    for (int c = 0; c < nf && off < n; c++) {
        char b[64];
        field_of(f[c], s, b, sizeof b);
        char *e;
        const int num = b[0] && (strtod(b, &e), !*e);
        if (!strcmp(f[c], "samples") && num) snprintf(b, sizeof b, "%d.0", s->n);
        else if (!strcmp(f[c], "median_ms") && num) snprintf(b, sizeof b, "%.15e", s->median);
        else if (!strcmp(f[c], "iqr_ms") && num) snprintf(b, sizeof b, "%.3e", s->iqr);
        off += (size_t)snprintf(line + off, n - off, "%s%s%s%s", c ? "," : "", num ? "" : "\"", b,
                                num ? "" : "\"");
    }
    tst_csv_free(f, nf);
}

static char *write_csv(const char *name, const char *header, const spec_t *rows, int n)
{
    char *p = tst_path(dir, name);
    size_t cap = 65536 + (size_t)n * 512, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "%s\n", header);
    attn_row_t r;
    attn_row_init(&r);
    for (int i = 0; i < n; i++) {
        add_row(&r, header, &rows[i]);
        len += (size_t)snprintf(text + len, cap - len, "%s\n", r.buf);
    }
    attn_row_free(&r);
    tst_write_file(p, text, len);
    free(text);
    return p;
}

/* Like write_csv, the rows as pandas writes them back; `extra` (or NULL) appended as is. */
static char *write_pandas_csv(const char *name, const char *header, const spec_t *rows, int n,
                              const char *extra)
{
    char *p = tst_path(dir, name);
    size_t cap = 65536 + (size_t)n * 1024, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "%s\n", header);
    for (int i = 0; i < n; i++) {
        pandas_line(text + len, cap - len, header, &rows[i]);
        len += strlen(text + len);
        len += (size_t)snprintf(text + len, cap - len, "\n");
    }
    if (extra) len += (size_t)snprintf(text + len, cap - len, "%s", extra);
    tst_write_file(p, text, len);
    free(text);
    return p;
}

static int compare(const char *const *args, char **out)
{
    const char *a[16] = {"compare"};
    int n = 1;
    for (int i = 0; args[i]; i++) a[n++] = args[i];
    a[n] = NULL;
    return tst_run(tst_bin("ATTNBENCH_BIN"), dir, a, out);
}

/* The output line of the row whose variant is v (" v gpu f32 "), or NULL. */
static const char *line_of(const char *out, const char *v)
{
    char pat[64];
    snprintf(pat, sizeof pat, " %s gpu f32 ", v);
    const char *at = strstr(out, pat);
    if (!at) return NULL;
    while (at > out && at[-1] != '\n') at--;
    return at;
}

static void expect_verdict(const char *out, const char *v, const char *want)
{
    const char *l = line_of(out, v);
    cr_assert_not_null(l, "no line for %s:\n%s", v, out);
    cr_expect(!strncmp(l, want, strlen(want)) && l[strlen(want)] == ' ',
              "%s: want verdict '%s', line: %.160s", v, want, l);
}

static const spec_t BASE[] = {
    {"reference", 128, "ok", 20, 1.000, 0.010},
    {"cpu-f32", 128, "ok", 20, 1.000, 0.010},
    {"naive", 128, "ok", 20, 2.000, 0.020},
    {"tiled", 128, "ok", 3, 1.000, 0.010},
    {"fused", 128, "skip", 0, 0, 0},
    {"tensor-core", 128, "ok", 20, 1.000, 0.010},
    {"cublas-f32", 128, "ok", 20, 1.000, 0.010},
};
static const spec_t NEW[] = {
    {"reference", 128, "ok", 20, 1.005, 0.010},   /* +0.5 %: same */
    {"cpu-f32", 128, "ok", 20, 1.250, 0.010},     /* +25 %: slower */
    {"naive", 128, "ok", 20, 1.000, 0.010},       /* half the time: faster */
    {"tiled", 128, "ok", 20, 1.000, 0.010},       /* base had 3 samples: ambiguous */
    {"fused", 128, "skip", 0, 0, 0},              /* not timed in both */
    {"tensor-core", 128, "fail", 0, 0, 0},        /* passed before, fails now */
    {"cublas-bf16", 128, "ok", 20, 1.000, 0.010}, /* only in NEW */
};

Test(binary, verdicts_summary_and_one_sided_rows, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    char *b = write_csv("base.csv", h, BASE, 7), *n = write_csv("new.csv", h, NEW, 7), *out;
    int rc = compare((const char *[]){b, n, NULL}, &out);
    cr_expect_eq(rc, 0, "exit %d without --fail-above; output:\n%s", rc, out);
    expect_verdict(out, "reference", "same");
    expect_verdict(out, "cpu-f32", "slower");
    expect_verdict(out, "naive", "faster");
    expect_verdict(out, "tiled", "ambiguous");
    expect_verdict(out, "fused", "-");
    expect_verdict(out, "tensor-core", "FAILS");
    const char *l = line_of(out, "cpu-f32");
    cr_expect(l && strstr(l, "1.250"), "the ratio of cpu-f32: %.120s", l);
    cr_expect(strstr(out, "N=128"), "the axes are shown:\n%s", out);
    /* one-sided rows, listed under their file */
    const char *ob = strstr(out, "only in "), *cb = strstr(out, " cublas-f32 ");
    const char *cn = strstr(out, " cublas-bf16 ");
    cr_expect(ob && cb && cb > ob && cn && cn > cb, "one-sided rows not listed:\n%s", out);
    cr_expect(strstr(out, "6 rows in both: 1 same, 1 faster, 1 slower, 1 ambiguous, 2 not timed"),
              "summary:\n%s", out);
    /* geometric mean of 1.005, 1.25, 0.5, 1.0 */
    char gm[64];
    snprintf(gm, sizeof gm, "geometric-mean ratio %.3f", pow(1.005 * 1.25 * 0.5 * 1.0, 0.25));
    cr_expect(strstr(out, gm), "want '%s':\n%s", gm, out);
    cr_expect(strstr(out, "1 only in base, 1 only in new"), "%s", out);
    free(out), free(b), free(n), free(h);
}

Test(binary, fail_above_gates_on_regressions, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    const spec_t base[] = {{"cpu-f32", 128, "ok", 20, 1.0, 0.01}, {"naive", 128, "ok", 20, 1.0, 0.01}};
    const spec_t slow[] = {{"cpu-f32", 128, "ok", 20, 1.25, 0.01}, {"naive", 128, "ok", 20, 1.0, 0.01}};
    const spec_t noisy[] = {{"cpu-f32", 128, "ok", 4, 1.5, 0.01}, {"naive", 128, "ok", 20, 1.0, 0.01}};
    const spec_t broken[] = {{"cpu-f32", 128, "ok", 20, 1.0, 0.01}, {"naive", 128, "fail", 0, 0, 0}};
    char *b = write_csv("b.csv", h, base, 2), *s = write_csv("s.csv", h, slow, 2);
    char *z = write_csv("z.csv", h, noisy, 2), *k = write_csv("k.csv", h, broken, 2), *out;
    int rc = compare((const char *[]){b, s, "--fail-above", "10", NULL}, &out);
    cr_expect_eq(rc, 1, "+25 %% with --fail-above 10: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "REGRESSION"), "%s", out);
    free(out);
    rc = compare((const char *[]){b, s, "--fail-above=30", NULL}, &out);
    cr_expect_eq(rc, 0, "+25 %% with --fail-above 30: exit %d\n%s", rc, out);
    free(out);
    rc = compare((const char *[]){b, z, "--fail-above", "10", NULL}, &out);
    cr_expect_eq(rc, 0, "+50 %% with 4 samples is ambiguous, not a regression: exit %d\n%s", rc, out);
    free(out);
    rc = compare((const char *[]){b, k, "--fail-above", "10", NULL}, &out);
    cr_expect_eq(rc, 1, "a row that now fails its check: exit %d\n%s", rc, out);
    free(out);
    rc = compare((const char *[]){b, b, "--fail-above", "0", NULL}, &out);
    cr_expect_eq(rc, 0, "a file against itself: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "2 same"), "%s", out);
    free(out);
    free(b), free(s), free(z), free(k), free(h);
}

/* A file with runs appended: the last timed row of a case is the one compared. */
Test(binary, repeated_rows_use_the_last_timed, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    const spec_t base[] = {{"naive", 128, "ok", 20, 5.0, 0.01},
                           {"naive", 128, "ok", 20, 1.0, 0.01},
                           {"naive", 128, "skip", 0, 0, 0}};
    const spec_t nw[] = {{"naive", 128, "ok", 20, 1.0, 0.01}};
    char *b = write_csv("b.csv", h, base, 3), *n = write_csv("n.csv", h, nw, 1), *out;
    int rc = compare((const char *[]){b, n, NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    expect_verdict(out, "naive", "same");
    cr_expect(strstr(out, "2 rows repeat a case"), "%s", out);
    free(out), free(b), free(n), free(h);
}

/* The one rule (results.h): a fail after a timing in NEW counts, and the line says so. */
Test(binary, a_fail_after_a_timing_is_reported, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    const spec_t base[] = {{"naive", 128, "ok", 20, 1.0, 0.01}};
    const spec_t nw[] = {{"naive", 128, "ok", 20, 1.0, 0.01}, {"naive", 128, "fail", 0, 0, 0}};
    char *b = write_csv("b.csv", h, base, 1), *n = write_csv("n.csv", h, nw, 2), *out;
    int rc = compare((const char *[]){b, n, "--fail-above", "5", NULL}, &out);
    cr_expect_eq(rc, 1, "%s", out);
    expect_verdict(out, "naive", "FAILS");
    cr_expect(strstr(out, "fail after an earlier timing of 1 ms"), "%s", out);
    cr_expect(strstr(out, "1 cases fail after an earlier timing"), "%s", out);
    free(out), free(b), free(n), free(h);
}

/* Bad input: exit 2 and a message naming what is wrong. */
Test(binary, bad_input_exits_2_naming_it, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    char *b = write_csv("base.csv", h, BASE, 2), *out;
    /* a column missing */
    char *h2 = strdup(h), *at = strstr(h2, ",kvpad");
    memmove(at, at + 6, strlen(at + 6) + 1);
    char *n = tst_path(dir, "nokvpad.csv");
    tst_write_file(n, h2, strlen(h2));
    int rc = compare((const char *[]){b, n, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "kvpad") && strstr(out, "different columns"), "%s", out);
    free(out);
    /* the same columns in another order */
    char *h3 = strdup(h), *pb = strstr(h3, ",B,H,");
    memcpy(pb, ",H,B,", 5);
    char *o = tst_path(dir, "order.csv");
    tst_write_file(o, h3, strlen(h3));
    rc = compare((const char *[]){b, o, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "another order") && strstr(out, "'B'") && strstr(out, "'H'"), "%s", out);
    free(out);
    /* a file that is not there */
    char *gone = tst_path(dir, "gone.csv");
    rc = compare((const char *[]){b, gone, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, gone), "%s", out);
    free(out);
    /* not a results file */
    char *x = tst_path(dir, "x.csv");
    tst_write_file(x, "a,b\n1,2\n", 8);
    rc = compare((const char *[]){x, x, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "status"), "%s", out);
    free(out);
    /* usage */
    const char *const *bad[] = {
        (const char *[]){b, NULL},
        (const char *[]){b, b, b, NULL},
        (const char *[]){b, b, "--fail-above", "x", NULL},
        (const char *[]){b, b, "--fail-above", NULL},
        (const char *[]){b, b, "--noise", "-1", NULL},
        (const char *[]){b, b, "--bogus", NULL},
    };
    const char *names[] = {"two CSVs", "unexpected argument", "'x'", "--fail-above", "'-1'",
                           "--bogus"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        rc = compare(bad[i], &out);
        cr_expect_eq(rc, 2, "case %zu: %s", i, out);
        cr_expect(strstr(out, names[i]), "case %zu: message does not name '%s': %s", i, names[i], out);
        free(out);
    }
    free(b), free(n), free(o), free(gone), free(x), free(h), free(h2), free(h3);
}

Test(binary, plot_is_rendered, .init = setup, .fini = teardown)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) cr_skip_test("gnuplot not installed");
    char *h = header_of("mhsa");
    char *b = write_csv("base.csv", h, BASE, 7), *n = write_csv("new.csv", h, NEW, 7), *out;
    char *png = tst_path(dir, "cmp.png"), *svg = tst_path(dir, "cmp.svg");
    int rc = compare((const char *[]){b, n, "--plot", png, NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    size_t len = 0;
    char *data = tst_read_file(png, &len);
    cr_expect(data && len > 1000 && !memcmp(data, "\x89PNG", 4), "%s is not a PNG\n%s", png, out);
    free(data), free(out);
    rc = compare((const char *[]){b, n, "--plot", svg, NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    data = tst_read_file(svg, &len);
    cr_expect(data && strstr(data, "<svg"), "%s is not an SVG", svg);
    free(data), free(out);
    free(b), free(n), free(png), free(svg), free(h);
}

/* ------------------------------------------------------------------ no verdict without evidence */

/* Rows timed in BASE and missing or untimed in NEW fail the gate, counted, unless
 * --allow-missing; a NEW with nothing timed is nothing to judge (never exit 0). */
Test(binary, missing_or_untimed_in_new_fails_the_gate, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    const spec_t base[] = {{"naive", 128, "ok", 20, 1.0, 0.01}, {"tiled", 128, "ok", 20, 1.0, 0.01}};
    const spec_t skips[] = {{"naive", 128, "skip", 0, 0, 0}, {"tiled", 128, "skip", 0, 0, 0}};
    const spec_t half[] = {{"naive", 128, "ok", 20, 1.0, 0.01}, {"tiled", 128, "skip", 0, 0, 0}};
    char *b = write_csv("b.csv", h, base, 2), *e = write_csv("e.csv", h, NULL, 0);
    char *s = write_csv("s.csv", h, skips, 2), *p = write_csv("p.csv", h, half, 2), *out;
    int rc = compare((const char *[]){b, e, "--fail-above", "5", NULL}, &out);
    cr_expect_eq(rc, 1, "NEW with only a header passed the gate: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "2 rows timed in BASE are missing or untimed in NEW"), "%s", out);
    cr_expect(!strstr(out, "ok: no row"), "%s", out);
    free(out);
    rc = compare((const char *[]){b, s, "--fail-above", "5", NULL}, &out);
    cr_expect_eq(rc, 1, "NEW with only skips passed the gate: exit %d\n%s", rc, out);
    expect_verdict(out, "naive", "MISSING");
    free(out);
    /* nothing timed in NEW is nothing to judge: not 0 even when missing rows are allowed or
     * there is no gate */
    rc = compare((const char *[]){b, s, "--fail-above", "5", "--allow-missing", NULL}, &out);
    cr_expect_eq(rc, 2, "exit %d\n%s", rc, out);
    cr_expect(strstr(out, "nothing to judge"), "%s", out);
    free(out);
    rc = compare((const char *[]){b, e, NULL}, &out);
    cr_expect_eq(rc, 2, "exit %d\n%s", rc, out);
    free(out);
    /* one of two untimed: the gate fails with the count; --allow-missing accepts it */
    rc = compare((const char *[]){b, p, "--fail-above", "5", NULL}, &out);
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, out);
    cr_expect(strstr(out, "1 rows timed in BASE are missing or untimed in NEW"), "%s", out);
    free(out);
    rc = compare((const char *[]){b, p, "--fail-above", "5", "--allow-missing", NULL}, &out);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, out);
    cr_expect(strstr(out, "1 rows timed in BASE are missing or untimed in NEW (allowed"), "%s", out);
    free(out);
    free(b), free(e), free(s), free(p), free(h);
}

/* A CSV read and written back by pandas ("20.0" samples, exponents, quoted texts) compares like
 * the original; a malformed row is counted and fails the gate. */
Test(binary, numbers_as_csv_tools_write_them, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    const spec_t rows[] = {{"naive", 128, "ok", 20, 1.0, 0.01},
                           {"tiled", 128, "ok", 20, 2.0, 0.02},
                           {"fused", 128, "skip", 0, 0, 0}};
    char *b = write_csv("b.csv", h, rows, 3), *pd = write_pandas_csv("pd.csv", h, rows, 3, NULL), *out;
    char *text = tst_read_file(pd, NULL);
    cr_assert(text && strstr(text, ",20.0,") && strstr(text, "e+00") && strstr(text, "\"naive\""),
              "not written as pandas does:\n%s", text);
    free(text);
    int rc = compare((const char *[]){b, pd, "--fail-above", "5", NULL}, &out);
    cr_expect_eq(rc, 0, "exit %d\n%s", rc, out);
    expect_verdict(out, "naive", "same");
    expect_verdict(out, "tiled", "same");
    cr_expect(strstr(out, "2 same"), "%s", out);
    free(out);
    /* samples that are not a whole number, and a record cut short */
    const spec_t odd[] = {{"naive", 128, "ok", 20, 1.0, 0.01}};
    char *m = write_pandas_csv("m.csv", h, odd, 1, NULL);
    text = tst_read_file(m, NULL);
    char *at = strstr(text, ",20.0,");
    cr_assert(at);
    memcpy(at, ",2x.5,", 6);
    tst_write_file(m, text, strlen(text));
    free(text);
    rc = compare((const char *[]){b, m, "--fail-above", "5", "--allow-missing", NULL}, &out);
    cr_expect_eq(rc, 1, "a malformed row passed the gate: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "1 malformed rows"), "%s", out);
    free(out);
    char *t = write_pandas_csv("t.csv", h, rows, 2, "\"mhsa\",\"naive\",\"gpu\"\n");
    rc = compare((const char *[]){b, t, "--fail-above", "5", NULL}, &out);
    cr_expect_eq(rc, 1, "a truncated row passed the gate: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "1 malformed rows"), "%s", out);
    free(out);
    free(b), free(pd), free(m), free(t), free(h);
}

/* Repeated runs. A deterministic generator: each run shifts each row's median by a log-normal
 * factor (SD `sigma`, the run-to-run variation of a real machine: clocks, placement, other
 * load), while each run's own spread is tight (IQR 1 %, 50 samples: a notch of ±0.22 %). */
static double gauss(unsigned long long *st)
{
    double u[2];
    for (int i = 0; i < 2; i++) {
        *st = *st * 6364136223846793005ULL + 1442695040888963407ULL;
        u[i] = ((double)(*st >> 11) + 0.5) / 9007199254740992.0;
    }
    return sqrt(-2 * log(u[0])) * cos(2 * M_PI * u[1]);
}

#define NCASES 40

static char *run_csv(const char *name, const char *header, unsigned long long *st, double sigma,
                     double slow_first)
{
    static char vn[NCASES][16];
    spec_t rows[NCASES];
    for (int i = 0; i < NCASES; i++) {
        snprintf(vn[i], sizeof vn[i], "v%d", i);
        const double m = (1.0 + 0.1 * i) * exp(sigma * gauss(st)) * (i ? 1 : slow_first);
        rows[i] = (spec_t){vn[i], 128, "ok", 50, m, 0.01 * m};
    }
    return write_csv(name, header, rows, NCASES);
}

Test(binary, repeated_runs_carry_the_run_to_run_spread, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa"), *out;
    int flagged_single = 0;
    for (unsigned long long seed = 1; seed <= 5; seed++) {
        unsigned long long st = seed * 7919;
        const double sigma = 0.03;
        char *b1 = run_csv("b1.csv", h, &st, sigma, 1), *b2 = run_csv("b2.csv", h, &st, sigma, 1);
        char *n1 = run_csv("n1.csv", h, &st, sigma, 1), *n2 = run_csv("n2.csv", h, &st, sigma, 1);
        /* one run per side: the band is each run's own spread; run-to-run variation is not in it
         * and an A/A pair shows "regressions" */
        int rc = compare((const char *[]){b1, n1, "--fail-above", "5", NULL}, &out);
        flagged_single += rc == 1;
        cr_expect(strstr(out, "run-to-run spread: not measured"), "%s", out);
        free(out);
        /* two runs per side: the A/A pair passes */
        rc = compare((const char *[]){b1, b2, "--", n1, n2, "--fail-above", "5", NULL}, &out);
        cr_expect_eq(rc, 0, "seed %llu: an A/A pair of two runs each failed the gate:\n%s", seed, out);
        cr_expect(strstr(out, "40 rows in both") && strstr(out, "run-to-run spread of a median"),
                  "%s", out);
        /* 3 % between runs, two runs a side: 3 SD of the ratio is about 9.5 %, above the gate */
        cr_expect(strstr(out, "note: --fail-above 5 % is below it"), "%s", out);
        free(out);
        rc = compare((const char *[]){"--base", b1, "--new", n1, "--base", b2, "--new", n2,
                                      "--fail-above", "5", NULL}, &out);
        cr_expect_eq(rc, 0, "seed %llu: --base/--new: exit %d\n%s", seed, rc, out);
        free(out);
        /* a real 20 % regression of one row in both NEW runs fails, on that row only */
        char *s1 = run_csv("s1.csv", h, &st, sigma, 1.2), *s2 = run_csv("s2.csv", h, &st, sigma, 1.2);
        rc = compare((const char *[]){b1, b2, "--", s1, s2, "--fail-above", "5", NULL}, &out);
        cr_expect_eq(rc, 1, "seed %llu: +20 %% was not caught:\n%s", seed, out);
        const char *l = line_of(out, "v0");
        cr_expect(l && !strncmp(l, "slower", 6) && strstr(l, "REGRESSION") < strchr(l, '\n') &&
                  strstr(l, "REGRESSION"), "seed %llu: v0: %.200s", seed, l ? l : "(none)");
        cr_expect(strstr(out, "FAIL: 1 rows slower"), "seed %llu:\n%s", seed, out);
        free(out);
        free(b1), free(b2), free(n1), free(n2), free(s1), free(s2);
    }
    cr_expect_gt(flagged_single, 0, "the single-run A/A pairs never flagged noise: the test's "
                                    "noise is not realistic");
    /* usage of the several-file forms */
    char *b = write_csv("b.csv", h, BASE, 2);
    const char *const *bad[] = {
        (const char *[]){b, "--", NULL},
        (const char *[]){"--", b, NULL},
        (const char *[]){"--base", b, NULL},
        (const char *[]){"--base", b, "--new", b, b, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = compare(bad[i], &out);
        cr_expect_eq(rc, 2, "case %zu: %s", i, out);
        free(out);
    }
    free(b), free(h);
}
