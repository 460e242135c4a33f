/* attnbench floors: the floor data (each suite's floors) against the registry, then the engine on
 * constructed CSVs (test data written to a temporary directory, never to results/): a speed-up
 * that passes and one that misses (with the ratio reported), a missing row, rows of another
 * device, a failed row, the latest of repeated rows, the pct_bw floors with small cases left
 * out, skipped cases (n/a), listed values no row covers, and bad input exiting 2 naming it. The
 * engine is called in process over floors defined here (so one floor decides the exit status);
 * the real binary is run over the real floors once, end to end, with --markdown. */
#define _GNU_SOURCE /* open_memstream is POSIX 2008; fmemopen's sibling */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "csv.h"
#include "floors.h"

/* ------------------------------------------------------------------ the real floors */

static const char *const PEERS[] = {"sdpa-flash", "sdpa-efficient", "sdpa-cudnn", "sdpa-math",
                                    "torch-halo"};

static void check_side(const attn_floor_t *f, const attn_floor_side_t *sd)
{
    if (strchr(sd->variant, '|')) { /* the fastest of several: each a real variant */
        char *list = strdup(sd->variant), *save = NULL;
        for (char *v = strtok_r(list, "|", &save); v; v = strtok_r(NULL, "|", &save)) {
            const attn_floor_side_t one = {v, sd->backend, sd->dtype};
            check_side(f, &one);
        }
        free(list);
        return;
    }
    const attn_suite_t *s = tst_suite(f->suite);
    cr_assert_not_null(sd->backend, "floor %s: %s has no backend", f->name, sd->variant);
    cr_assert_not_null(sd->dtype, "floor %s: %s has no dtype", f->name, sd->variant);
    if (!strcmp(sd->backend, "peer")) {
        int known = 0;
        for (size_t i = 0; i < sizeof PEERS / sizeof *PEERS; i++) known |= !strcmp(PEERS[i], sd->variant);
        cr_expect(known, "floor %s: '%s' is not a peer variant", f->name, sd->variant);
        cr_expect_str_eq(sd->dtype, "bf16", "floor %s: peers are bf16", f->name);
        return;
    }
    const attn_variant_t *v = tst_variant(s, sd->variant);
    cr_expect_str_eq(sd->backend, attn_backend_name(v->backend), "floor %s: %s", f->name, sd->variant);
    cr_expect_str_eq(sd->dtype, attn_dtype_name(v->dtype), "floor %s: %s's dtype", f->name, sd->variant);
}

Test(data, every_floor_names_real_suites_variants_and_axes)
{
    int n = 0;
    attn_floor_t *all = attn_floors_all();
    cr_assert_not_null(all);
    for (const attn_floor_t *f = all; f->name; f++, n++) {
        char err[512];
        cr_expect_eq(attn_floor_check(f, err, sizeof err), 0, "%s", err);
        for (const attn_floor_t *g = all; g < f; g++)
            cr_expect_str_neq(f->name, g->name, "two floors called %s", f->name);
        const attn_suite_t *s = tst_suite(f->suite);
        check_side(f, &f->num);
        if (f->kind == ATTN_FLOOR_SPEEDUP) check_side(f, &f->den);
        else cr_expect(f->min_bytes >= 0 && f->min <= 100, "floor %s: a percentage", f->name);
        cr_expect(f->why && *f->why, "floor %s says why", f->name);
        /* where: axes of the suite, values in their ranges */
        char *w = strdup(f->where), *save = NULL;
        for (char *tok = strtok_r(w, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
            char *eq = strchr(tok, '=');
            cr_assert_not_null(eq);
            *eq = 0;
            const int a = attn_axis_index(s, tok);
            cr_expect_geq(a, 0, "floor %s: suite %s has no axis '%s'", f->name, f->suite, tok);
            if (a < 0) continue;
            for (char *v = eq + 1; v; v = strchr(v, ',') ? strchr(v, ',') + 1 : NULL) {
                const long long x = strtoll(v, NULL, 10);
                cr_expect(x >= s->axes[a].min && x <= s->axes[a].max, "floor %s: %s=%lld out of range",
                          f->name, tok, x);
            }
        }
        free(w);
    }
    cr_expect_geq(n, 9, "the floors of the brief: %d", n);
    free(all);
}

Test(data, a_malformed_floor_is_refused_naming_it)
{
    char err[512];
    attn_floor_t f = {.name = "x", .suite = "mhsa", .num = {"fused", "gpu", "bf16"},
                      .kind = ATTN_FLOOR_SPEEDUP, .den = {"tiled", "gpu", "f32"}, .where = "N=4096", .min = 1};
    cr_expect_eq(attn_floor_check(&f, err, sizeof err), 0, "%s", err);
    const char *bad[] = {"N", "N=", "N=4k", "N=1,,2", "=3", "N=1 N=2",
                         "N=1,2,3,4,5,6,7,8,9 d=1,2,3,4,5,6,7,8,9 B=1,2,3,4,5,6,7,8,9 "
                         "H=1,2,3,4,5,6,7,8,9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        f.where = bad[i];
        cr_expect_eq(attn_floor_check(&f, err, sizeof err), -1, "where \"%s\" accepted", bad[i]);
        cr_expect(strstr(err, "'x'"), "the message names the floor: %s", err);
    }
    f.where = "N=4096";
    f.min = 0;
    cr_expect_eq(attn_floor_check(&f, err, sizeof err), -1, "min 0 accepted");
    f.min = 1;
    f.den.variant = NULL;
    cr_expect_eq(attn_floor_check(&f, err, sizeof err), -1, "a speed-up without a variant to beat");
    f.den.variant = "tiled|naive";
    cr_expect_eq(attn_floor_check(&f, err, sizeof err), 0, "the fastest of two: %s", err);
    const char *alts[] = {"tiled||naive", "|tiled", "tiled|", "a|b|c|d|e"};
    for (size_t i = 0; i < sizeof alts / sizeof *alts; i++) {
        f.den.variant = alts[i];
        cr_expect_eq(attn_floor_check(&f, err, sizeof err), -1, "'%s' accepted", alts[i]);
    }
}

/* ------------------------------------------------------------------ constructed CSVs */

static char *dir;
static void setup(void) { dir = tst_tmpdir("floors"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

static char *header_of(const char *suite) { return tst_csv_header(suite); }

#define H100 "NVIDIA H100 80GB HBM3"
#define H200 "NVIDIA H200"

/* One row: the case is `shape` as the CLI derives it; ms <= 0: untimed; bytes, pct < 0: empty. */
typedef struct spec {
    const char *variant, *backend, *dtype, *shape, *status;
    double ms;
    const char *device;
    double bytes, pct;
} spec_t;

static void add_row(attn_row_t *r, const char *suite, const char *header, const spec_t *s)
{
    const attn_suite_t *su = tst_suite(suite);
    int64_t *v = tst_case(su, s->shape);
    char *f[96];
    int nf = tst_csv_split(header, f, 96);
    cr_assert_gt(nf, 0);
    attn_row_clear(r);
    for (int c = 0; c < nf; c++) {
        const char *name = f[c];
        const int a = attn_axis_index(su, name);
        char b[128] = "";
        if (!strcmp(name, "suite")) snprintf(b, sizeof b, "%s", suite);
        else if (!strcmp(name, "variant")) snprintf(b, sizeof b, "%s", s->variant);
        else if (!strcmp(name, "backend")) snprintf(b, sizeof b, "%s", s->backend);
        else if (!strcmp(name, "dtype")) snprintf(b, sizeof b, "%s", s->dtype);
        else if (a >= 0) snprintf(b, sizeof b, "%lld", (long long)v[a]);
        else if (!strcmp(name, "status")) snprintf(b, sizeof b, "%s", s->status);
        else if (!strcmp(name, "reason"))
            snprintf(b, sizeof b, "%s", !strcmp(s->status, "fail") ? "max |err| 1, too big" :
                                        !strcmp(s->status, "skip") ? "full form only" : "");
        else if (s->ms > 0 && !strcmp(name, "samples")) snprintf(b, sizeof b, "20");
        else if (s->ms > 0 && (!strcmp(name, "median_ms") || !strcmp(name, "min_ms") ||
                               !strcmp(name, "max_ms")))
            snprintf(b, sizeof b, "%.9g", s->ms);
        else if (s->ms > 0 && !strcmp(name, "iqr_ms")) snprintf(b, sizeof b, "%.9g", s->ms / 100);
        else if (!strcmp(name, "bytes") && s->bytes >= 0) snprintf(b, sizeof b, "%.9g", s->bytes);
        else if (!strcmp(name, "pct_bw") && s->pct >= 0) snprintf(b, sizeof b, "%.9g", s->pct);
        else if (!strcmp(name, "peak_gbps") && s->pct >= 0) snprintf(b, sizeof b, "3000");
        else if (!strcmp(name, "device")) snprintf(b, sizeof b, "%s", s->device ? s->device : "");
        else if (!strcmp(name, "seed")) snprintf(b, sizeof b, "42");
        else if (!strcmp(name, "timestamp")) snprintf(b, sizeof b, "2026-01-01T00:00:00Z");
        attn_row_str(r, b);
    }
    tst_csv_free(f, nf);
    free(v);
}

static char *write_csv(const char *name, const char *suite, const spec_t *rows, int n)
{
    char *p = tst_path(dir, name), *h = header_of(suite);
    size_t cap = 1 << 20, len = 0;
    char *text = malloc(cap);
    len += (size_t)snprintf(text, cap, "%s\n", h);
    attn_row_t r;
    attn_row_init(&r);
    for (int i = 0; i < n; i++) {
        add_row(&r, suite, h, &rows[i]);
        len += (size_t)snprintf(text + len, cap - len, "%s\n", r.buf);
    }
    attn_row_free(&r);
    tst_write_file(p, text, len);
    free(text), free(h);
    return p;
}

/* The engine over `floors` with args (NULL-terminated, after "floors"): exit status, stdout
 * and stderr (both malloc'd). */
static int judge(const attn_floor_t *floors, const char *const *args, char **out, char **err)
{
    char *argv[32] = {"floors"};
    int argc = 1;
    for (int i = 0; args[i]; i++) argv[argc++] = (char *)args[i];
    size_t lo, le;
    FILE *o = open_memstream(out, &lo), *e = open_memstream(err, &le);
    cr_assert(o && e);
    int rc = attn_floors_cli(floors, argc, argv, o, e);
    fclose(o), fclose(e);
    return rc;
}

/* The output line (from the start of line) that contains all of the NULL-terminated needles. */
static char *line_with(const char *out, const char *const *needles)
{
    for (const char *l = out; l && *l;) {
        const char *nl = strchr(l, '\n');
        const size_t len = nl ? (size_t)(nl - l) : strlen(l);
        char *line = strndup(l, len);
        int all = 1;
        for (int i = 0; needles[i] && all; i++) all = strstr(line, needles[i]) != NULL;
        if (all) return line;
        free(line);
        l = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static void expect_line(const char *out, const char *const *needles)
{
    char *l = line_with(out, needles);
    cr_expect_not_null(l, "no line with '%s' '%s' '%s':\n%s", needles[0], needles[1] ? needles[1] : "",
                       needles[1] && needles[2] ? needles[2] : "", out);
    free(l);
}

static int count_of(const char *out, const char *what)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, what)); p++) n++;
    return n;
}

/* One speed-up floor: fused must at least match sdpa-flash at one case and two N. */
#define CASE_4K "N=4096,d=64,causal=0,tokens=16384,D=2048"
#define CASE_8K "N=8192,d=64,causal=0,tokens=16384,D=2048"
static const attn_floor_t FLASH[] = {
    {.name = "t-fused/flash", .suite = "mhsa", .num = {"fused", "gpu", "bf16"},
     .kind = ATTN_FLOOR_SPEEDUP, .den = {"sdpa-flash", "peer", "bf16"},
     .where = "N=4096 d=64 causal=0 tokens=16384 D=2048", .min = 1.0, .why = "test"},
    {0},
};
#define FUSED(shape, ms, dev) {"fused", "gpu", "bf16", shape, "ok", ms, dev, 1e9, -1}
#define FLASHROW(shape, ms, dev) {"sdpa-flash", "peer", "bf16", shape, "ok", ms, dev, 1e9, -1}

Test(speedup, faster_passes_slower_misses_with_the_ratio, .init = setup, .fini = teardown)
{
    const spec_t pass[] = {FUSED(CASE_4K, 1.2, H100), FLASHROW(CASE_4K, 1.3, H100)};
    const spec_t miss[] = {FUSED(CASE_4K, 1.5, H100), FLASHROW(CASE_4K, 1.3, H100)};
    char *a = write_csv("pass.csv", "mhsa", pass, 2), *b = write_csv("miss.csv", "mhsa", miss, 2);
    char *out, *err;
    int rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "1.3 / 1.2 >= 1: exit %d\n%s%s", rc, out, err);
    expect_line(out, (const char *[]){"t-fused/flash", "1.08x", "PASS", NULL});
    expect_line(out, (const char *[]){"t-fused/flash", "1.2", "1.3", NULL});
    cr_expect(strstr(out, "device: " H100), "the device is named:\n%s", out);
    cr_expect(strstr(out, "1 PASS, 0 MISS, 0 NO DATA, 0 N/A"), "%s", out);
    free(out), free(err);
    rc = judge(FLASH, (const char *[]){b, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "1.3 / 1.5 < 1: exit %d\n%s%s", rc, out, err);
    /* 1.3 / 1.5 = 0.867: 13.3 % short of 1x */
    expect_line(out, (const char *[]){"t-fused/flash", "0.867x", "MISS", "13.3% short", NULL});
    free(out), free(err);
    free(a), free(b);
}

Test(speedup, a_missing_row_is_no_data, .init = setup, .fini = teardown)
{
    const spec_t rows[] = {FUSED(CASE_4K, 1.2, H100)};
    char *a = write_csv("a.csv", "mhsa", rows, 1), *out, *err;
    int rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "no sdpa-flash row: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-fused/flash", "NO DATA", "sdpa-flash", NULL});
    cr_expect(!strstr(out, "PASS "), "%s", out);
    free(out), free(err), free(a);
    /* nothing of the floor at all: one line naming both */
    const spec_t other[] = {{"tiled", "gpu", "f32", CASE_4K, "ok", 9, H100, 1e9, -1}};
    a = write_csv("b.csv", "mhsa", other, 1);
    rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-fused/flash", "NO DATA", "no fused or sdpa-flash row", NULL});
    free(out), free(err), free(a);
    /* an sdpa-flash row from a --check run (ok, untimed) is no time either */
    const spec_t check[] = {FUSED(CASE_4K, 1.2, H100),
                            {"sdpa-flash", "peer", "bf16", CASE_4K, "ok", 0, H100, 1e9, -1}};
    a = write_csv("c.csv", "mhsa", check, 2);
    rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-fused/flash", "NO DATA", "no timed sdpa-flash row", NULL});
    free(out), free(err), free(a);
}

/* fused and sdpa-flash on H100 pass; an sdpa-flash row on H200, later in the file, must not
 * stand in for H100's (it would make H100 miss). */
Test(speedup, rows_of_another_device_are_not_matched, .init = setup, .fini = teardown)
{
    const spec_t rows[] = {FUSED(CASE_4K, 1.2, H100), FLASHROW(CASE_4K, 1.3, H100),
                           FLASHROW(CASE_4K, 1.0, H200),
                           /* a GPU row without a device (no GPU on that machine) */
                           {"fused", "gpu", "bf16", CASE_4K, "skip", 0, NULL, 1e9, -1}};
    char *a = write_csv("a.csv", "mhsa", rows, 4), *out, *err;
    int rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "H200 has no fused row: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){H100, "t-fused/flash", "1.08x", "PASS", NULL});
    expect_line(out, (const char *[]){H200, "t-fused/flash", "NO DATA", "fused", NULL});
    cr_expect_eq(count_of(out, "t-fused/flash  "), 2, "one line per device:\n%s", out);
    free(out), free(err);
    rc = judge(FLASH, (const char *[]){"--device", "h100", a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "--device h100: exit %d\n%s", rc, out);
    cr_expect(!strstr(out, H200), "H200 judged under --device h100:\n%s", out);
    free(out), free(err);
    rc = judge(FLASH, (const char *[]){"--device=A100", a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "no device matches: exit %d\n%s", rc, out);
    cr_expect(strstr(err, "'A100'"), "the message names the device: %s", err);
    expect_line(out, (const char *[]){"t-fused/flash", "NO DATA", NULL});
    free(out), free(err), free(a);
}

Test(speedup, a_failed_row_is_not_used, .init = setup, .fini = teardown)
{
    /* A failed row with a time in it: never a measurement. */
    const spec_t failed[] = {{"fused", "gpu", "bf16", CASE_4K, "fail", 1.0, H100, 1e9, -1},
                             FLASHROW(CASE_4K, 1.3, H100)};
    char *a = write_csv("a.csv", "mhsa", failed, 2), *out, *err;
    int rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "fused failed: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-fused/flash", "NO DATA", "fused failed", "too big", NULL});
    free(out), free(err), free(a);
    /* failed, then fixed and re-run: the latest row counts */
    const spec_t fixed[] = {{"fused", "gpu", "bf16", CASE_4K, "fail", 0, H100, 1e9, -1},
                            FUSED(CASE_4K, 1.2, H100), FLASHROW(CASE_4K, 1.3, H100)};
    a = write_csv("b.csv", "mhsa", fixed, 3);
    rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "%s", out);
    expect_line(out, (const char *[]){"t-fused/flash", "PASS", NULL});
    free(out), free(err), free(a);
}

/* The denominator is the fastest of several baselines: judging against the first listed (or the
 * slowest) would pass where the strongest baseline makes the floor a miss. */
static const attn_floor_t FASTEST[] = {
    {.name = "t-fused/cublas", .suite = "mhsa", .num = {"fused", "gpu", "bf16"},
     .kind = ATTN_FLOOR_SPEEDUP, .den = {"cublas-bf16|cublas-bf16-bf16s", "gpu", "bf16"},
     .where = "N=4096 d=64 causal=0 tokens=16384 D=2048", .min = 3.0, .why = "test"},
    {0},
};
#define CUB(v, ms, st) {v, "gpu", "bf16", CASE_4K, st, ms, H100, 1e9, -1}

Test(speedup, the_fastest_of_several_baselines_is_the_denominator, .init = setup, .fini = teardown)
{
    /* fp32-S 9 ms, bf16-S 5 ms, fused 2 ms: 9/2 = 4.5x would pass, 5/2 = 2.5x is the verdict */
    const spec_t miss[] = {FUSED(CASE_4K, 2.0, H100), CUB("cublas-bf16", 9.0, "ok"),
                           CUB("cublas-bf16-bf16s", 5.0, "ok")};
    char *a = write_csv("a.csv", "mhsa", miss, 3), *out, *err;
    int rc = judge(FASTEST, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "2.5x < 3x: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-fused/cublas", "2.5x", "MISS", "5 (cublas-bf16-bf16s)", NULL});
    cr_expect(strstr(out, "the fastest of cublas-bf16|cublas-bf16-bf16s"), "legend:\n%s", out);
    free(out), free(err), free(a);
    /* the other order of speeds: the other baseline is the denominator, and passes */
    const spec_t pass[] = {FUSED(CASE_4K, 2.0, H100), CUB("cublas-bf16", 7.0, "ok"),
                           CUB("cublas-bf16-bf16s", 9.0, "ok")};
    a = write_csv("b.csv", "mhsa", pass, 3);
    rc = judge(FASTEST, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "7/2 = 3.5x: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-fused/cublas", "3.5x", "PASS", "7 (cublas-bf16)", NULL});
    free(out), free(err), free(a);
    /* a baseline that failed or has no row: the strongest is unknown, NO DATA naming it */
    const spec_t failed[] = {FUSED(CASE_4K, 2.0, H100), CUB("cublas-bf16", 9.0, "ok"),
                             CUB("cublas-bf16-bf16s", 0, "fail")};
    a = write_csv("c.csv", "mhsa", failed, 3);
    rc = judge(FASTEST, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-fused/cublas", "NO DATA", "cublas-bf16-bf16s failed", NULL});
    free(out), free(err), free(a);
    const spec_t missing[] = {FUSED(CASE_4K, 2.0, H100), CUB("cublas-bf16", 9.0, "ok")};
    a = write_csv("d.csv", "mhsa", missing, 2);
    rc = judge(FASTEST, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-fused/cublas", "NO DATA", "no cublas-bf16-bf16s row", NULL});
    free(out), free(err), free(a);
    /* one that skips the case is left out */
    const spec_t skip[] = {FUSED(CASE_4K, 2.0, H100), CUB("cublas-bf16", 7.0, "ok"),
                           CUB("cublas-bf16-bf16s", 0, "skip")};
    a = write_csv("e.csv", "mhsa", skip, 3);
    rc = judge(FASTEST, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "%s", out);
    expect_line(out, (const char *[]){"t-fused/cublas", "3.5x", "PASS", NULL});
    free(out), free(err), free(a);
}

Test(speedup, the_latest_row_of_a_case_wins, .init = setup, .fini = teardown)
{
    /* 1.5 then 1.2 in one file: 1.2 counts; an ok row without a time (a --check run) after it
     * is no measurement */
    const spec_t rows[] = {FUSED(CASE_4K, 1.5, H100), FUSED(CASE_4K, 1.2, H100),
                           {"fused", "gpu", "bf16", CASE_4K, "ok", 0, H100, 1e9, -1},
                           FLASHROW(CASE_4K, 1.3, H100)};
    char *a = write_csv("a.csv", "mhsa", rows, 4), *out, *err;
    int rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "%s", out);
    expect_line(out, (const char *[]){"t-fused/flash", "1.2", "1.08x", "PASS", NULL});
    free(out), free(err);
    /* across files: the later file's row counts, whichever way round */
    const spec_t fast[] = {FUSED(CASE_4K, 1.2, H100)}, slow[] = {FUSED(CASE_4K, 1.5, H100)};
    const spec_t peer[] = {FLASHROW(CASE_4K, 1.3, H100)};
    char *f = write_csv("fast.csv", "mhsa", fast, 1), *s = write_csv("slow.csv", "mhsa", slow, 1);
    char *p = write_csv("peer.csv", "mhsa", peer, 1);
    rc = judge(FLASH, (const char *[]){p, f, s, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "slow.csv last: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-fused/flash", "MISS", NULL});
    free(out), free(err);
    rc = judge(FLASH, (const char *[]){s, p, f, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "fast.csv last: exit %d\n%s", rc, out);
    free(out), free(err);
    free(a), free(f), free(s), free(p);
}

/* The one rule (results.h): a fail after a timing counts, and says so; a skip after a timing
 * does not hide it. */
Test(speedup, a_fail_after_a_timing_counts_and_says_so, .init = setup, .fini = teardown)
{
    const spec_t late_fail[] = {FUSED(CASE_4K, 1.2, H100),
                                {"fused", "gpu", "bf16", CASE_4K, "fail", 0, H100, 1e9, -1},
                                FLASHROW(CASE_4K, 1.3, H100)};
    char *a = write_csv("a.csv", "mhsa", late_fail, 3), *out, *err;
    int rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-fused/flash", "NO DATA", "fused failed after an earlier timing of 1.2 ms",
                                      NULL});
    cr_expect(strstr(out, "1 case of the files fail after an earlier timing"), "%s", out);
    free(out), free(err), free(a);
    const spec_t late_skip[] = {FUSED(CASE_4K, 1.2, H100),
                                {"fused", "gpu", "bf16", CASE_4K, "skip", 0, H100, 1e9, -1},
                                FLASHROW(CASE_4K, 1.3, H100)};
    a = write_csv("b.csv", "mhsa", late_skip, 3);
    rc = judge(FLASH, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "%s", out);
    expect_line(out, (const char *[]){"t-fused/flash", "1.08x", "PASS", NULL});
    free(out), free(err), free(a);
}

Test(speedup, listed_values_without_rows_are_no_data, .init = setup, .fini = teardown)
{
    const attn_floor_t two[] = {
        {.name = "t-two", .suite = "mhsa", .num = {"fused", "gpu", "bf16"},
         .kind = ATTN_FLOOR_SPEEDUP, .den = {"sdpa-flash", "peer", "bf16"},
         .where = "N=4096,8192 d=64 causal=0 tokens=16384 D=2048", .min = 1.0, .why = "test"},
        {0}};
    const spec_t rows[] = {FUSED(CASE_4K, 1.2, H100), FLASHROW(CASE_4K, 1.3, H100),
                           /* outside the filter: not judged */
                           FUSED("N=1024,d=64,causal=0,tokens=16384,D=2048", 9.0, H100)};
    char *a = write_csv("a.csv", "mhsa", rows, 3), *out, *err;
    int rc = judge(two, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "N=8192 has no rows: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-two", "N=4096", "PASS", NULL});
    expect_line(out, (const char *[]){"t-two", "N=8192", "NO DATA", NULL});
    cr_expect(!strstr(out, "N=1024"), "a case outside the filter judged:\n%s", out);
    free(out), free(err);
    /* with N=8192 measured, both pass */
    const spec_t more[] = {FUSED(CASE_8K, 2.0, H100), FLASHROW(CASE_8K, 2.5, H100)};
    char *b = write_csv("b.csv", "mhsa", more, 2);
    rc = judge(two, (const char *[]){a, b, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "%s", out);
    expect_line(out, (const char *[]){"t-two", "N=8192", "1.25x", "PASS", NULL});
    free(out), free(err), free(a), free(b);
}

/* ------------------------------------------------------------------ pct_bw floors */

static const attn_floor_t BW[] = {
    {.name = "t-sge/bw", .suite = "sge", .num = {"fused", "gpu", "f32"}, .kind = ATTN_FLOOR_PCT,
     .pct_column = "pct_bw", .ceiling_column = "peak_gbps", .ceiling_unit = "GB/s",
     .min_bytes = 256.0 * 1024 * 1024, .where = "", .min = 75, .why = "test"},
    {0},
};
#define MiB (1024.0 * 1024)
#define SGE(shape, bytes, pct) {"fused", "gpu", "f32", shape, "ok", 1.0, H100, bytes, pct}

Test(pct, small_cases_are_not_judged, .init = setup, .fini = teardown)
{
    const spec_t rows[] = {SGE("B=1,C=256,H=7", 1 * MiB, 10),     /* in cache: ignored */
                           SGE("B=64,C=2048,H=56", 3000 * MiB, 82.5),
                           SGE("B=64,C=1024,H=56", 1500 * MiB, 75),
                           SGE("B=8,C=2048,H=56", 255 * MiB, 20)}; /* just below 256 MiB */
    char *a = write_csv("a.csv", "sge", rows, 4), *out, *err;
    int rc = judge(BW, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "the cases >= 256 MiB pass: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-sge/bw", "C=2048", "82.5%", "3000 GB/s", "PASS", NULL});
    expect_line(out, (const char *[]){"t-sge/bw", "C=1024", "75.0%", "PASS", NULL});
    cr_expect(!strstr(out, "10.0%") && !strstr(out, "20.0%"), "a small case judged:\n%s", out);
    cr_expect(strstr(out, "2 PASS, 0 MISS"), "%s", out);
    free(out), free(err), free(a);
    /* one big case under 75 % misses, by how much */
    const spec_t slow[] = {SGE("B=64,C=2048,H=56", 3000 * MiB, 70)};
    a = write_csv("b.csv", "sge", slow, 1);
    rc = judge(BW, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-sge/bw", "70.0%", "MISS", "5.0 points short", NULL});
    free(out), free(err), free(a);
    /* only small cases: nothing to judge */
    const spec_t tiny[] = {SGE("B=1,C=256,H=7", 1 * MiB, 90)};
    a = write_csv("c.csv", "sge", tiny, 1);
    rc = judge(BW, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-sge/bw", "NO DATA", "256 MiB", NULL});
    free(out), free(err), free(a);
    /* the copy bandwidth not measured: pct_bw empty */
    const spec_t unmeasured[] = {SGE("B=64,C=2048,H=56", 3000 * MiB, -1)};
    a = write_csv("d.csv", "sge", unmeasured, 1);
    rc = judge(BW, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 1, "%s", out);
    expect_line(out, (const char *[]){"t-sge/bw", "NO DATA", "pct_bw", NULL});
    free(out), free(err), free(a);
}

Test(pct, a_variant_that_skips_every_case_is_na, .init = setup, .fini = teardown)
{
    const attn_floor_t aft[] = {
        {.name = "t-aft/bw", .suite = "aft", .num = {"fused", "gpu", "bf16"}, .kind = ATTN_FLOOR_PCT,
         .pct_column = "pct_bw", .ceiling_column = "peak_gbps", .ceiling_unit = "GB/s",
         .min_bytes = 256 * MiB, .where = "form=1", .min = 75, .why = "test"},
        {0}};
    const spec_t rows[] = {
        {"fused", "gpu", "bf16", "B=32,T=4096,D=512,form=1", "skip", 0, H100, 600 * MiB, -1},
        {"fused", "gpu", "bf16", "B=32,T=2048,D=512,form=1", "skip", 0, H100, 300 * MiB, -1},
        /* the full form is not this floor's */
        {"fused", "gpu", "bf16", "B=32,T=4096,D=512,form=0", "ok", 5.0, H100, 600 * MiB, 10}};
    char *a = write_csv("a.csv", "aft", rows, 3), *out, *err;
    int rc = judge(aft, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "n/a is not a miss: exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"t-aft/bw", "all 2 cases", "N/A", "fused skips", "full form only", NULL});
    cr_expect(!strstr(out, "10.0%"), "form=0 judged:\n%s", out);
    free(out), free(err), free(a);
}

/* ------------------------------------------------------------------ usage and input */

Test(input, bad_input_exits_2_naming_it, .init = setup, .fini = teardown)
{
    const spec_t rows[] = {FUSED(CASE_4K, 1.2, H100)};
    char *a = write_csv("a.csv", "mhsa", rows, 1), *gone = tst_path(dir, "gone.csv");
    char *x = tst_path(dir, "x.csv"), *empty = tst_path(dir, "empty"), *out, *err;
    tst_write_file(x, "suite,variant,backend,dtype,status\nmhsa,fused,gpu,bf16,ok\n", 55);
    cr_assert_eq(mkdir(empty, 0700), 0);
    const char *const *bad[] = {
        (const char *[]){a, gone, NULL},
        (const char *[]){x, NULL},
        (const char *[]){empty, NULL},
        (const char *[]){NULL},
        (const char *[]){a, "--device", NULL},
        (const char *[]){a, "--markdown=", NULL},
        (const char *[]){a, "--bogus", NULL},
        (const char *[]){"-x", a, NULL},
    };
    const char *names[] = {gone, "median_ms", empty, "CSV", "--device", "--markdown", "--bogus", "-x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = judge(FLASH, bad[i], &out, &err);
        cr_expect_eq(rc, 2, "case %zu: exit %d\n%s%s", i, rc, out, err);
        cr_expect(strstr(err, names[i]), "case %zu: the message does not name '%s': %s", i, names[i], err);
        free(out), free(err);
    }
    /* an unwritable --markdown */
    char *md = tst_path(dir, "no/such/dir/f.md");
    int rc = judge(FLASH, (const char *[]){"--markdown", md, a, NULL}, &out, &err);
    cr_expect_eq(rc, 2, "%s", err);
    cr_expect(strstr(err, md), "%s", err);
    free(out), free(err);
    /* a bad floor definition is refused, not judged */
    const attn_floor_t broken[] = {{.name = "t-broken", .suite = "mhsa", .num = {"fused", "gpu", "bf16"},
                                    .kind = ATTN_FLOOR_SPEEDUP, .den = {"tiled", "gpu", "f32"},
                                    .where = "N=big", .min = 1},
                                   {0}};
    rc = judge(broken, (const char *[]){a, NULL}, &out, &err);
    cr_expect_eq(rc, 2, "%s", err);
    cr_expect(strstr(err, "t-broken") && strstr(err, "N=big"), "%s", err);
    free(out), free(err);
    free(a), free(gone), free(x), free(empty), free(md);
}

/* A directory stands for its *.csv files. */
Test(input, a_directory_is_its_csv_files, .init = setup, .fini = teardown)
{
    const spec_t f[] = {FUSED(CASE_4K, 1.2, H100)}, p[] = {FLASHROW(CASE_4K, 1.3, H100)};
    free(write_csv("fused.csv", "mhsa", f, 1));
    free(write_csv("peer.csv", "mhsa", p, 1));
    char *notes = tst_path(dir, "notes.txt"), *out, *err;
    tst_write_file(notes, "not a csv\n", 10);
    int rc = judge(FLASH, (const char *[]){dir, NULL}, &out, &err);
    cr_expect_eq(rc, 0, "%s%s", out, err);
    expect_line(out, (const char *[]){"t-fused/flash", "PASS", NULL});
    cr_expect(strstr(out, "(2 files)"), "%s", out);
    free(out), free(err), free(notes);
}

/* ------------------------------------------------------------------ the real program */

Test(binary, real_floors_judged_end_to_end, .init = setup, .fini = teardown)
{
    const spec_t rows[] = {FUSED(CASE_4K, 1.2, H100), FLASHROW(CASE_4K, 1.3, H100)};
    char *a = write_csv("mhsa.csv", "mhsa", rows, 2), *md = tst_path(dir, "floors.md"), *out;
    int rc = tst_run_bin(dir, (const char *[]){"floors", "--markdown", md, a, NULL}, &out);
    /* every other floor has no data here */
    cr_expect_eq(rc, 1, "exit %d\n%s", rc, out);
    expect_line(out, (const char *[]){"mhsa-fused/flash ", "N=4096", "1.08x", "PASS", NULL});
    expect_line(out, (const char *[]){"mhsa-fused/flash ", "N=8192", "NO DATA", NULL});
    expect_line(out, (const char *[]){"halo-fused/torch", "NO DATA", "torch-halo", NULL});
    char *text = tst_read_file(md, NULL);
    cr_assert_not_null(text, "no %s:\n%s", md, out);
    cr_expect(strstr(text, "| floor | case |"), "%s", text);
    char *l = line_with(text, (const char *[]){"| mhsa-fused/flash |", "N=4096", "PASS", NULL});
    cr_expect_not_null(l, "%s", text);
    free(l), free(text), free(out);
    rc = tst_run_bin(dir, (const char *[]){"floors", "--help", NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "--markdown"), "%s", out);
    free(out);
    rc = tst_run_bin(dir, (const char *[]){"--help", NULL}, &out);
    cr_expect(strstr(out, "attnbench floors"), "attnbench --help lists floors:\n%s", out);
    free(out);
    char *gone = tst_path(dir, "gone.csv");
    rc = tst_run_bin(dir, (const char *[]){"floors", a, gone, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, gone), "%s", out);
    free(out), free(gone), free(a), free(md);
}
