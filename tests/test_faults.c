/* Surviving faults, losing nothing: through the real binaries.
 *  - attnbench-test ($ATTNBENCH_TEST_BIN, tests/planted.c): an isolated sweep over variants that
 *    crash, abort and hang records each as failed with its reason and finishes, with the correct
 *    variant after them ok in every case; without isolation the first crash ends the run.
 *  - attnbench ($ATTNBENCH_BIN): SIGINT to the process group in the middle of an isolated CPU
 *    sweep, and SIGTERM to an in-process one, stop it with 130 / 143 and leave a CSV whose every
 *    line is a whole row, one for every row the run printed; two runs appending to one CSV at
 *    the same time lose no row and interleave none. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "csv.h"
#include "util.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("faults"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

#define FAST "--warmup", "0", "--min-samples", "2", "--max-samples", "3", "--max-time", "0.05"

/* A results CSV read back strictly: header as given, every line terminated and split into
 * exactly the header's field count (the test fails otherwise). */
typedef struct table {
    int n, nf;
    char ***row;
    char *header;
} table_t;

static void load(const char *path, const char *header, table_t *t)
{
    char *text = tst_read_file(path, NULL);
    cr_assert_not_null(text, "%s was not written", path);
    char **L;
    int tail, n = tst_lines(text, &L, &tail);
    cr_assert(!tail, "%s: the last line is cut off: '%s'", path, n ? L[n - 1] : "");
    cr_assert(n >= 1, "%s is empty", path);
    if (header) cr_assert_str_eq(L[0], header, "%s: wrong header", path);
    char *hf[256];
    t->nf = tst_csv_split(L[0], hf, 256);
    cr_assert_gt(t->nf, 0);
    tst_csv_free(hf, t->nf);
    t->header = strdup(L[0]);
    t->n = n - 1;
    t->row = calloc((size_t)n, sizeof *t->row);
    for (int i = 1; i < n; i++) {
        t->row[i - 1] = calloc((size_t)t->nf, sizeof(char *));
        int k = tst_csv_split(L[i], t->row[i - 1], t->nf);
        cr_assert_eq(k, t->nf, "%s line %d: %d fields, the header has %d: '%s'", path, i + 1, k,
                     t->nf, L[i]);
    }
    tst_lines_free(L, n);
    free(text);
}

static const char *cell(const table_t *t, int r, const char *col)
{
    int c = tst_csv_col(t->header, col);
    cr_assert_geq(c, 0, "no column %s", col);
    return t->row[r][c];
}

static void unload(table_t *t)
{
    for (int r = 0; r < t->n; r++) {
        tst_csv_free(t->row[r], t->nf);
        free(t->row[r]);
    }
    free(t->row);
    free(t->header);
}

static char *header_of(const char *suite) { return tst_csv_header(suite); }

/* ------------------------------------------------------------------ options */

static int parse(const char *const *args, attn_opts_t *o, char *err, size_t n)
{
    const char *argv[16] = {"attnbench"};
    int argc = 1;
    while (args[argc - 1]) argv[argc] = args[argc - 1], argc++;
    attn_opts_init(o);
    err[0] = 0;
    return attn_parse_args(argc, (char **)argv, o, err, n);
}

Test(options, isolate_and_timeout)
{
    attn_opts_t o;
    char err[512];
    cr_assert_eq(parse((const char *[]){NULL}, &o, err, sizeof err), 0, "%s", err);
    cr_expect(o.isolate == -1 && o.timeout == 120, "defaults: isolate %d, timeout %g", o.isolate,
              o.timeout);
    cr_expect_eq(parse((const char *[]){"--isolate", "--timeout", "2.5", NULL}, &o, err, sizeof err), 0);
    cr_expect(o.isolate == 1 && o.timeout == 2.5);
    cr_expect_eq(parse((const char *[]){"--no-isolate", NULL}, &o, err, sizeof err), 0);
    cr_expect_eq(o.isolate, 0);
    /* --timeout alone implies --isolate (it used to be ignored in process) */
    cr_expect_eq(parse((const char *[]){"--timeout", "7", NULL}, &o, err, sizeof err), 0, "%s", err);
    cr_expect(o.isolate == 1 && o.timeout == 7, "isolate %d", o.isolate);
    cr_expect_eq(parse((const char *[]){"--timeout", "7", "--no-isolate", NULL}, &o, err, sizeof err), -1);
    cr_expect(strstr(err, "--timeout") && strstr(err, "--no-isolate"), "%s", err);
    const char *const *bad[] = {(const char *[]){"--timeout", "0", NULL},
                                (const char *[]){"--timeout", "-1", NULL},
                                (const char *[]){"--timeout=x", NULL},
                                (const char *[]){"--timeout", NULL},
                                (const char *[]){"--isolate=1", NULL},
                                (const char *[]){"--isolate", "--no-isolate", NULL}};
    const char *names[] = {"'0'", "'-1'", "'x'", "--timeout", "--isolate", "--no-isolate"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(parse(bad[i], &o, err, sizeof err), -1, "case %zu accepted", i);
        cr_expect(strstr(err, names[i]), "case %zu: message does not name %s: %s", i, names[i], err);
    }
}

/* ------------------------------------------------------------------ planted faults */

/* Every case of the planted sweep has one row per variant, in registry order: the crash, the
 * abort and the hang failed with their reasons, the correct variants ok — the sweep went on. */
Test(planted, isolated_sweep_records_faults_and_finishes, .init = setup, .fini = teardown,
     .timeout = 90)
{
    const char *bin = tst_bin("ATTNBENCH_TEST_BIN");
    char *csv = tst_path(dir, "planted.csv"), *out = NULL, reason[256];
    const int gpu = tst_gpu_probe(reason, sizeof reason);
    const double t0 = attn_now();
    int rc = tst_run(bin, dir, (const char *[]){"--sweep", "--timeout", "2", "--csv", csv,
                                                "--no-plots", FAST, NULL}, &out);
    const double took = attn_now() - t0;
    cr_expect_eq(rc, 1, "exit %d, want 1 (variants failed); output:\n%s", rc, out);
    cr_expect(strstr(out, "isolated"), "a --sweep is not isolated by default:\n%s", out);

    static const char *const name[] = {"before", "segv", "abort", "hang", "gpu-fault", "gpu-ok",
                                       "gpu-huge", "after"};
    enum { NV = 8, NCASES = 2 };
    table_t t;
    load(csv, NULL, &t);
    cr_assert_eq(t.n, NV * NCASES, "%d rows, want %d (every variant of both cases); output:\n%s",
                 t.n, NV * NCASES, out);
    for (int r = 0; r < t.n; r++) {
        const char *var = cell(&t, r, "variant"), *st = cell(&t, r, "status"),
                   *why = cell(&t, r, "reason");
        cr_expect_str_eq(var, name[r % NV], "row %d", r + 1);
        cr_expect_eq(atoi(cell(&t, r, "n")), 1 + r / NV, "row %d: case n=%s", r + 1, cell(&t, r, "n"));
        const int k = r % NV;
        if (k == 0 || k == 7) {
            cr_expect_str_eq(st, "ok", "%s: %s (%s)", var, st, why);
        } else if (k == 1) {
            cr_expect_str_eq(st, "fail", "segv: %s", st);
            cr_expect(strstr(why, "crashed: signal 11"), "segv reason: %s", why);
        } else if (k == 2) {
            cr_expect_str_eq(st, "fail", "abort: %s", st);
            cr_expect(strstr(why, "crashed: signal 6"), "abort reason: %s", why);
        } else if (k == 3) {
            cr_expect_str_eq(st, "fail", "hang: %s", st);
            cr_expect(strstr(why, "killed after 2 s without progress"), "hang reason: %s", why);
        } else if (k == 4) {
            if (gpu) cr_expect(!strcmp(st, "fail") && strstr(why, "illegal"), "gpu-fault: %s %s", st, why);
            else cr_expect(!strcmp(st, "skip") && strstr(why, reason), "gpu-fault: %s %s", st, why);
        } else if (k == 5) {
            cr_expect_str_eq(st, gpu ? "ok" : "skip", "gpu-ok: %s %s", st, why);
        } else {
            cr_expect(!strcmp(st, "skip") && strstr(why, gpu ? "of device memory" : reason),
                      "gpu-huge: %s %s", st, why);
        }
    }
    cr_expect(strstr(out, gpu ? "6 ok, 8 failed, 2 skipped" : "4 ok, 6 failed, 6 skipped"),
              "summary line:\n%s", out);
    /* two hangs of 2 s each; the rest is quick */
    cr_expect(took < 40, "the sweep took %.1f s", took);
    unload(&t);
    free(out), free(csv);
}

/* The contrast: in process, the first crash takes the whole run with it (128 + SIGSEGV); the
 * CSV still holds the row finished before it, whole. */
Test(planted, without_isolation_a_crash_ends_the_run, .init = setup, .fini = teardown)
{
    const char *bin = tst_bin("ATTNBENCH_TEST_BIN");
    char *csv = tst_path(dir, "planted.csv"), *out = NULL;
    int rc = tst_run(bin, dir, (const char *[]){"--sweep", "--no-isolate", "--variant",
                                                "before|segv|after", "--csv", csv, "--no-plots",
                                                FAST, NULL}, &out);
    cr_expect_eq(rc, 128 + SIGSEGV, "exit %d; output:\n%s", rc, out);
    table_t t;
    load(csv, NULL, &t);
    cr_expect_eq(t.n, 1, "%d rows; output:\n%s", t.n, out);
    if (t.n) cr_expect_str_eq(cell(&t, 0, "variant"), "before");
    unload(&t);
    free(out), free(csv);
}

/* A case's process that hangs in a variant selected alone is killed and the next case runs:
 * --timeout is about silence, and the parent's own time limit covers nothing else. */
Test(planted, hang_alone_is_killed_per_case, .init = setup, .fini = teardown, .timeout = 60)
{
    const char *bin = tst_bin("ATTNBENCH_TEST_BIN");
    char *csv = tst_path(dir, "hang.csv"), *out = NULL;
    int rc = tst_run(bin, dir, (const char *[]){"--isolate", "--variant", "^hang$", "--shape",
                                                "n=1", "--shape", "n=3", "--timeout", "1",
                                                "--csv", csv, NULL}, &out);
    cr_expect_eq(rc, 1, "exit %d; output:\n%s", rc, out);
    table_t t;
    load(csv, NULL, &t);
    cr_assert_eq(t.n, 2, "%d rows; output:\n%s", t.n, out);
    for (int r = 0; r < 2; r++)
        cr_expect(!strcmp(cell(&t, r, "status"), "fail") &&
                      strstr(cell(&t, r, "reason"), "killed after 1 s"),
                  "row %d: %s %s", r + 1, cell(&t, r, "status"), cell(&t, r, "reason"));
    cr_expect_str_eq(cell(&t, 1, "n"), "3");
    unload(&t);
    free(out), free(csv);
}

/* ------------------------------------------------------------------ memory */

/* A case far beyond host memory (864 GiB of tensors) is skipped with the reason, decided before
 * anything is allocated: under an 8 GiB address-space limit an allocation attempt would fail
 * instead ("out of host memory"), and so would this test. */
Test(memory, too_big_for_the_host_is_skipped_before_allocating, .init = setup, .fini = teardown)
{
    struct rlimit lim = {(rlim_t)8 << 30, (rlim_t)8 << 30};
    cr_assert_eq(setrlimit(RLIMIT_AS, &lim), 0); /* this test's process and its children */
    char *csv = tst_path(dir, "big.csv"), *out = NULL;
    for (int iso = 0; iso < 2; iso++) {
        int rc = tst_run(tst_bin("ATTNBENCH_BIN"), dir,
                         (const char *[]){"--suite", "mhsa", "--backend", "cpu", "--check",
                                          iso ? "--isolate" : "--no-isolate", "--shape",
                                          "B=64,H=16,N=64k,d=256", "--cpu-max-gflop", "1e9",
                                          "--csv", csv, NULL}, &out);
        /* every row a skip: nothing was checked, which is not ok (exit 3) */
        cr_expect_eq(rc, 3, "exit %d:\n%s", rc, out);
        cr_expect(strstr(out, "nothing checked"), "%s", out);
        free(out);
    }
    char *h = header_of("mhsa");
    table_t t;
    load(csv, h, &t);
    cr_assert_eq(t.n, 4, "%d rows", t.n);
    for (int r = 0; r < t.n; r++) {
        const char *why = cell(&t, r, "reason");
        cr_expect(!strcmp(cell(&t, r, "status"), "skip") && !strncmp(why, "needs ", 6) &&
                      strstr(why, "of host memory"),
                  "row %d: %s %s", r + 1, cell(&t, r, "status"), why);
    }
    unload(&t);
    free(h), free(csv);
}

/* ------------------------------------------------------------------ signals */

/* Data rows in the file at path (complete lines after the header); 0 when it is not there. */
static int rows_in(const char *path)
{
    char *text = tst_read_file(path, NULL);
    if (!text) return 0;
    int n = 0;
    for (char *p = text; *p; p++) n += *p == '\n';
    free(text);
    return n > 0 ? n - 1 : 0;
}

/* Lines of the run's output that are result rows ("mhsa   variant ..."). */
static int printed_rows(const char *out, const char *suite)
{
    char **L;
    int tail, n = tst_lines(out, &L, &tail), k = 0;
    for (int i = 0; i < n; i++) k += !strncmp(L[i], suite, strlen(suite)) && L[i][strlen(suite)] == ' ';
    tst_lines_free(L, n);
    return k;
}

/* Start the mhsa CPU sweep, wait for `after` rows in its CSV, send sig (to the process group
 * when group is set, as a terminal's Ctrl-C does), and check what is left. */
static void interrupt_sweep(const char *isolation, int sig, int group)
{
    const char *bin = tst_bin("ATTNBENCH_BIN");
    char *csv = tst_path(dir, "sweep.csv"), *log = tst_path(dir, "sweep.log");
    /* The full CPU grid with the default timing takes about a minute: far longer than this. */
    pid_t pid = tst_spawn(bin, dir, (const char *[]){"--suite", "mhsa", "--sweep", "--backend",
                                                     "cpu", isolation, "--csv", csv, "--no-plots",
                                                     NULL}, log);
    const int after = 3, full = 16 * 2; /* 16 cases, 2 CPU variants */
    const double t0 = attn_now();
    int seen = 0;
    while ((seen = rows_in(csv)) < after && attn_now() - t0 < 60) usleep(20000);
    cr_assert_geq(seen, after, "no %d rows within 60 s", after);
    cr_assert_eq(kill(group ? -pid : pid, sig), 0);
    const int rc = tst_wait(pid);
    const double took = attn_now() - t0;
    char *out = tst_read_file(log, NULL);
    cr_expect_eq(rc, 128 + sig, "exit %d, want %d; output:\n%s", rc, 128 + sig, out);
    cr_expect(strstr(out, sig == SIGINT ? "stopped by SIGINT" : "stopped by SIGTERM"), "%s", out);
    char *h = header_of("mhsa");
    table_t t;
    load(csv, h, &t); /* every line whole and parseable */
    cr_expect_geq(t.n, seen, "%d rows after the signal, %d before", t.n, seen);
    cr_expect_lt(t.n, full, "the sweep was not interrupted (%d rows)", t.n);
    cr_expect_eq(t.n, printed_rows(out, "mhsa"),
                 "%d rows in the CSV but %d printed: a finished row is missing", t.n,
                 printed_rows(out, "mhsa"));
    cr_expect(took < 30, "stopping took too long (%.1f s)", took);
    unload(&t);
    free(h), free(out), free(csv), free(log);
}

Test(signals, sigint_to_group_stops_isolated_sweep_with_valid_csv, .init = setup,
     .fini = teardown, .timeout = 100)
{
    interrupt_sweep("--isolate", SIGINT, 1);
}

Test(signals, sigterm_stops_in_process_sweep_with_valid_csv, .init = setup, .fini = teardown,
     .timeout = 100)
{
    interrupt_sweep("--no-isolate", SIGTERM, 0);
}

/* ------------------------------------------------------------------ concurrent appends */

/* Two real runs (seeds 1 and 2) append to one CSV at the same time: the header once, then every
 * row of both, each whole, each (seed, variant, case) exactly once. */
Test(concurrent, two_runs_append_to_one_csv, .init = setup, .fini = teardown, .timeout = 100)
{
    const char *bin = tst_bin("ATTNBENCH_BIN");
    char *csv = tst_path(dir, "both.csv");
    const char *seeds[2] = {"1", "2"};
    pid_t pid[2];
    char *log[2];
    for (int k = 0; k < 2; k++) {
        char name[32];
        snprintf(name, sizeof name, "run%d.log", k);
        log[k] = tst_path(dir, name);
        pid[k] = tst_spawn(bin, dir, (const char *[]){"--suite", "mhsa", "--sweep", "--backend",
                                                      "cpu", "--axis", "N=64,128", "--axis",
                                                      "d=16,32", "--seed", seeds[k], "--csv", csv,
                                                      "--no-plots", FAST, NULL}, log[k]);
    }
    for (int k = 0; k < 2; k++) {
        int rc = tst_wait(pid[k]);
        char *out = tst_read_file(log[k], NULL);
        cr_expect_eq(rc, 0, "run %d exited %d:\n%s", k, rc, out);
        free(out);
    }
    enum { PER = 8 * 2 }; /* 2 N × 2 d × 2 causal cases, 2 CPU variants */
    char *h = header_of("mhsa");
    table_t t;
    load(csv, h, &t);
    cr_expect_eq(t.n, 2 * PER, "%d rows, want %d", t.n, 2 * PER);
    for (int a = 0; a < t.n; a++) {
        const char *seed = cell(&t, a, "seed");
        cr_expect(!strcmp(seed, "1") || !strcmp(seed, "2"), "row %d: seed %s", a + 2, seed);
        for (int b = a + 1; b < t.n; b++) {
            int same = !strcmp(seed, cell(&t, b, "seed"));
            for (int c = 0; same && c < 13; c++) same = !strcmp(t.row[a][c], t.row[b][c]);
            cr_expect(!same, "rows %d and %d are the same (seed, variant, case)", a + 2, b + 2);
        }
    }
    unload(&t);
    free(h), free(csv), free(log[0]), free(log[1]);
}

/* When a case's process cannot be started (fork fails), the case is never run in the parent,
 * which has not opened the device: its variants get failed rows naming why, and the run says a
 * variant failed. (tests/planted.c fails every process start under PLANTED_FORK_FAILS.) */
Test(planted, failed_fork_fails_the_rows_never_runs_in_the_parent, .init = setup,
     .fini = teardown)
{
    const char *bin = tst_bin("ATTNBENCH_TEST_BIN");
    char *csv = tst_path(dir, "planted.csv"), *out = NULL;
    setenv("PLANTED_FORK_FAILS", "1", 1);
    int rc = tst_run(bin, dir, (const char *[]){"--sweep", "--isolate", "--variant", "before|after",
                                                "--csv", csv, "--no-plots", FAST, NULL}, &out);
    unsetenv("PLANTED_FORK_FAILS");
    cr_expect_eq(rc, 1, "exit %d; output:\n%s", rc, out);
    table_t t;
    load(csv, NULL, &t);
    cr_expect_eq(t.n, 4, "%d rows (2 cases x 2 variants); output:\n%s", t.n, out);
    for (int i = 0; i < t.n; i++) {
        cr_expect_str_eq(cell(&t, i, "status"), "fail", "row %d ran after all", i);
        cr_expect(strstr(cell(&t, i, "reason"), "cannot start a process for the case"),
                  "row %d: reason '%s'", i, cell(&t, i, "reason"));
    }
    unload(&t);
    free(out), free(csv);
}
