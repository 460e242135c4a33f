/* The command line: attn_parse_args and attn_build_cases on the mhsa suite (defaults, derived
 * values, --axis and --sweep grids, and a message naming the bad value for every bad input),
 * then the real binary ($ATTNBENCH_BIN): exit codes, messages, CSV rows, --dump files. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "common.h"
#include "csv.h"
#include "device.h"
#include "util.h"

/* ------------------------------------------------------------------ parsing helpers */

#define ARGV(...) ((const char *[]){"attnbench", __VA_ARGS__, NULL})

static int argc_of(const char **argv)
{
    int n = 0;
    while (argv[n]) n++;
    return n;
}

static int parse(const char **argv, attn_opts_t *o, char *err, size_t n)
{
    attn_opts_init(o);
    err[0] = 0;
    return attn_parse_args(argc_of(argv), (char **)argv, o, err, n);
}

/* Parse argv and build the mhsa cases: the count (or -1), cases in *cases, message in err. */
static int cases_of(const char **argv, int cpu_grid, int64_t **cases, char *err, size_t n)
{
    attn_opts_t o;
    *cases = NULL;
    if (parse(argv, &o, err, n)) return -1;
    return attn_build_cases(tst_suite("mhsa"), &o, cpu_grid, cases, err, n);
}

static int64_t ax(const int64_t *v, const char *name) { return tst_axis(tst_suite("mhsa"), v, name); }

/* ------------------------------------------------------------------ parsing: good input */

Test(parse, defaults)
{
    attn_opts_t o;
    char err[256];
    cr_assert_eq(parse((const char *[]){"attnbench", NULL}, &o, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(o.suite, "all");
    cr_expect_str_eq(o.backend, "all");
    cr_expect(!o.help && !o.list && !o.sweep && !o.check_only && !o.nshapes && !o.naxis);
    cr_expect(o.csv == NULL && o.dump == NULL && o.variant_re == NULL);
    cr_expect_eq(o.seed, 42);
    cr_expect(o.min_samples >= 1 && o.max_samples >= o.min_samples && o.max_time > 0);
    /* --ref-threads: the online CPUs, capped at 64 */
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cpus = cpus < 1 ? 1 : cpus > 64 ? 64 : cpus;
    cr_expect_eq(o.ref_threads, (int)cpus, "ref_threads %d, %ld CPUs", o.ref_threads, cpus);

    int64_t *c;
    int n = cases_of((const char *[]){"attnbench", NULL}, 0, &c, err, sizeof err);
    cr_assert_eq(n, 1, "%s", err);
    /* N = 512, d = 64 by default; B = 2048 / 512, H = 512 / 64 (the CPU-sized defaults) */
    cr_expect(ax(c, "N") == 512 && ax(c, "Nk") == 512 && ax(c, "d") == 64);
    cr_expect(ax(c, "B") == 4 && ax(c, "H") == 8, "B=%lld H=%lld", (long long)ax(c, "B"),
              (long long)ax(c, "H"));
    cr_expect(ax(c, "causal") == 0 && ax(c, "kvpad") == 0);
    cr_expect(ax(c, "tokens") == 2048 && ax(c, "D") == 512);
    free(c);
}

Test(parse, options_and_values)
{
    attn_opts_t o;
    char err[256];
    const char **a = ARGV("--suite", "mhsa", "--variant=^c", "--backend", "cpu", "--check",
                          "--seed", "7", "--warmup=0", "--min-samples", "2", "--max-samples",
                          "5", "--max-time", "0.5", "--csv", "x.csv", "--dump", "d", "--list",
                          "--no-plots", "--device", "1", "--ref-gflop", "0.25", "--shape",
                          "N=4", "--shape", "N=8", "--axis", "d=8,16", "--ref-threads=3");
    cr_assert_eq(parse(a, &o, err, sizeof err), 0, "%s", err);
    cr_expect_str_eq(o.suite, "mhsa");
    cr_expect_str_eq(o.variant_re, "^c");
    cr_expect_str_eq(o.backend, "cpu");
    cr_expect(o.check_only && o.list && o.no_plots);
    cr_expect(o.seed == 7 && o.warmup == 0 && o.min_samples == 2 && o.max_samples == 5);
    cr_expect(o.max_time == 0.5 && o.ref_gflop == 0.25 && o.device == 1);
    cr_expect_eq(o.ref_threads, 3);
    cr_expect_str_eq(o.csv, "x.csv");
    cr_expect_str_eq(o.dump, "d");
    cr_expect_eq(o.nshapes, 2);
    cr_expect_eq(o.naxis, 1);
    cr_expect(o.axis[0].n == 2 && o.axis[0].vals[0] == 8 && o.axis[0].vals[1] == 16);
}

/* cli.c means "-h" as --help (attn_parse_args maps it to o->help), but rejects it first as
 * "unexpected argument" because it does not start with "--". */
Test(parse, dash_h_is_help)
{
    attn_opts_t o;
    char err[256];
    cr_expect_eq(parse(ARGV("-h"), &o, err, sizeof err), 0, "-h rejected: %s", err);
    cr_expect(o.help, "-h does not set help");
}

/* --shape: B = ⌊tokens / N⌋ (tokens then recorded as B·N), H = D / d, Nk = N; k suffixes. */
Test(parse, shape_derived_values)
{
    int64_t *c;
    char err[256];
    int n = cases_of(ARGV("--shape", "N=1000,d=64,tokens=16384,D=2048"), 0, &c, err, sizeof err);
    cr_assert_eq(n, 1, "%s", err);
    cr_expect_eq(ax(c, "B"), 16);
    cr_expect_eq(ax(c, "tokens"), 16000);
    cr_expect_eq(ax(c, "H"), 32);
    cr_expect_eq(ax(c, "D"), 2048);
    cr_expect_eq(ax(c, "Nk"), 1000);
    free(c);
    n = cases_of(ARGV("--shape", "N=16k,Nk=77,d=128,tokens=1k,D=256"), 0, &c, err, sizeof err);
    cr_assert_eq(n, 1, "%s", err);
    cr_expect_eq(ax(c, "N"), 16384);
    cr_expect_eq(ax(c, "B"), 1, "tokens < N gives B = 1");
    cr_expect_eq(ax(c, "Nk"), 77);
    cr_expect_eq(ax(c, "H"), 2);
    free(c);
    /* explicit B and H that agree with tokens and D */
    n = cases_of(ARGV("--shape", "B=3,N=10,tokens=30,H=4,d=8,D=32"), 0, &c, err, sizeof err);
    cr_assert_eq(n, 1, "%s", err);
    cr_expect(ax(c, "B") == 3 && ax(c, "H") == 4);
    free(c);
}

/* --axis lists multiply (with each other and with each --shape); the first axis varies slowest. */
Test(parse, axis_lists_multiply)
{
    int64_t *c;
    char err[256];
    int n = cases_of(ARGV("--shape", "N=128", "--axis", "causal=0,1", "--axis", "d=32,64"), 0,
                     &c, err, sizeof err);
    cr_assert_eq(n, 4, "%d cases (%s)", n, err);
    const int64_t want[4][2] = {{32, 0}, {32, 1}, {64, 0}, {64, 1}}; /* d before causal */
    for (int i = 0; i < 4; i++) {
        const int64_t *v = c + i * tst_suite("mhsa")->naxes;
        cr_expect(ax(v, "d") == want[i][0] && ax(v, "causal") == want[i][1] && ax(v, "N") == 128,
                  "case %d: d=%lld causal=%lld", i, (long long)ax(v, "d"), (long long)ax(v, "causal"));
    }
    free(c);
    n = cases_of(ARGV("--shape", "N=8", "--shape", "N=16", "--axis", "d=8,16,32"), 0, &c, err,
                 sizeof err);
    cr_expect_eq(n, 6, "2 shapes × 3 values: %d (%s)", n, err);
    free(c);
}

/* --sweep: the GPU grid is prefill, N 6 × d 2 × causal 2 × Hkv 3 = 72 cases with B = 16384 / N,
 * and decode, N 5 × d 2 × (non-causal, causal bottom-right) × Hkv 3 = 60 with B = 16 / N, each
 * with H = 2048 / d; the CPU grid is 4 × 2 × 2 + 2 × 2 × 2 = 24 (Hkv = H only); --axis
 * overrides a swept axis. */
Test(parse, sweep_grids)
{
    int64_t *c;
    char err[256];
    const attn_suite_t *s = tst_suite("mhsa");
    int n = cases_of(ARGV("--sweep"), 0, &c, err, sizeof err);
    cr_assert_eq(n, 132, "GPU grid: %d cases (%s)", n, err);
    for (int i = 0; i < n; i++) {
        const int64_t *v = c + i * s->naxes;
        const int64_t tokens = ax(v, "N") <= 16 ? 16 : 16384;
        cr_expect(ax(v, "B") * ax(v, "N") == tokens && ax(v, "H") * ax(v, "d") == 2048,
                  "case %d: B=%lld N=%lld H=%lld d=%lld", i, (long long)ax(v, "B"),
                  (long long)ax(v, "N"), (long long)ax(v, "H"), (long long)ax(v, "d"));
    }
    free(c);
    n = cases_of(ARGV("--sweep"), 1, &c, err, sizeof err);
    cr_expect_eq(n, 24, "CPU grid: %d cases (%s)", n, err);
    free(c);
    n = cases_of(ARGV("--sweep", "--axis", "causal=1"), 0, &c, err, sizeof err);
    cr_expect_eq(n, 66, "sweep with causal=1 only: %d cases (%s)", n, err);
    free(c);
}

/* ------------------------------------------------------------------ parsing: bad input */

/* Every bad input: -1 and a message that contains `names` (each of the '|'-separated parts). */
typedef struct bad {
    const char *argv[8];
    const char *names;
} bad_t;

static void expect_bad(const bad_t *b, int build)
{
    const char *argv[10] = {"attnbench"};
    for (int i = 0; b->argv[i]; i++) argv[i + 1] = b->argv[i];
    char err[1024], what[256] = "";
    for (int i = 0; b->argv[i]; i++)
        snprintf(what + strlen(what), sizeof what - strlen(what), " %s", b->argv[i]);
    int64_t *c = NULL;
    int rc = build ? cases_of(argv, 0, &c, err, sizeof err) : parse(argv, &(attn_opts_t){0}, err, sizeof err);
    free(c);
    cr_expect_eq(rc, -1, "accepted:%s", what);
    cr_expect(err[0], "no message for:%s", what);
    char names[256];
    snprintf(names, sizeof names, "%s", b->names);
    char *save = NULL;
    for (char *t = strtok_r(names, "|", &save); t; t = strtok_r(NULL, "|", &save))
        cr_expect(strstr(err, t) != NULL, "message for%s does not name '%s': %s", what, t, err);
}

Test(parse, bad_options_named)
{
    static const bad_t bad[] = {
        {{"--frobnicate"}, "--frobnicate"},
        {{"--frob=1"}, "--frob"},
        {{"stray"}, "stray"},
        {{"--shape"}, "--shape"},
        {{"--suite"}, "--suite"},
        {{"--csv", ""}, "--csv"},
        {{"--backend", "tpu"}, "tpu"},
        {{"--backend=CPU"}, "CPU"},
        {{"--seed", "-1"}, "-1"},
        {{"--warmup=-3"}, "-3"},
        {{"--min-samples", "x"}, "x"},
        {{"--max-samples", "1k5"}, "1k5"},
        {{"--max-time", "-0.5"}, "-0.5"},
        {{"--target-spread", "nan"}, "nan"},
        {{"--ref-gflop", "1e"}, "1e"},
        {{"--ref-threads", "0"}, "--ref-threads|'0'|64"},
        {{"--ref-threads", "65"}, "'65'"},
        {{"--ref-threads=-2"}, "'-2'"},
        {{"--ref-threads", "four"}, "four"},
        {{"--ref-threads"}, "--ref-threads"},
        {{"--device", "99999999"}, "99999999"},
        {{"--check=yes"}, "--check"},
        {{"--min-samples", "9", "--max-samples", "3"}, "3|9"},
        {{"--sweep", "--shape", "N=64"}, "--sweep|--shape"},
        {{"--axis", "d"}, "d"},
        {{"--axis", "d="}, "d="},
        {{"--axis", "d=8,x"}, "x"},
        {{"--dump", ""}, "--dump"},
        {{"--markdown=yes"}, "--markdown"},
        {{"--timeout", "0"}, "--timeout|'0'"},
        {{"--timeout", "nan"}, "nan"},
        {{"--shard", "2/2"}, "2/2"},
        {{"--isolate", "--no-isolate"}, "--isolate|--no-isolate"},
        {{"--sweep", "--check-shapes"}, "--sweep|--check-shapes"},
        {{"--timeout", "5", "--no-isolate"}, "--timeout|--no-isolate"},
        {{"--axis", "N=64", "--axis", "N=128"}, "N=128|axis N|twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_bad(&bad[i], 0);
}

Test(parse, bad_shapes_named)
{
    static const bad_t bad[] = {
        {{"--shape", "N"}, "'N'"},                     /* no '=' */
        {{"--shape", "=64"}, "=64"},
        {{"--shape", ""}, "empty"},
        {{"--shape", ","}, "empty"},
        {{"--shape", "N=abc"}, "abc"},                 /* not an integer */
        {{"--shape", "N=1.5"}, "1.5"},
        {{"--shape", "N=64x"}, "64x"},
        {{"--shape", "N=99999999999999999999"}, "99999999999999999999"},
        {{"--shape", "N=9223372036854775807k"}, "9223372036854775807k"},
        {{"--shape", "Q=4"}, "'Q'"},                   /* unknown axis */
        {{"--shape", "n=4"}, "'n'"},
        {{"--shape", "d=0"}, "d=0"},                   /* out of range */
        {{"--shape", "d=257"}, "d=257"},
        {{"--shape", "causal=2"}, "causal=2"},
        {{"--shape", "kvpad=-1"}, "kvpad=-1"},
        {{"--shape", "N=-5"}, "-5"},
        {{"--shape", "N=0"}, "N=0"},
        {{"--shape", "Nk=-1"}, "Nk=-1"},              /* (Nk=0 means N) */
        {{"--shape", "H=16,d=64,D=1000"}, "16|64|1000"}, /* H·d mismatch */
        {{"--shape", "B=2,N=10,tokens=30"}, "2|10|30"},  /* B·N mismatch */
        {{"--shape", "N=1,tokens=4294967296"}, "B="},   /* derived B out of range */
        {{"--shape", "N=64", "--axis", "d=0,64"}, "d=0"},
        {{"--shape", "N=64", "--axis", "Z=1"}, "Z"},
        {{"--shape", "N=64", "--axis", "causal=0,3"}, "causal=3"},
        {{"--shape", "N=64,N=128"}, "N=64,N=128|axis N|twice"}, /* the last value won */
        {{"--shape", "d=64,N=64,d=128"}, "axis d|twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) expect_bad(&bad[i], 1);
}

Test(parse, parse_int)
{
    int64_t x;
    cr_expect(attn_parse_int("16k", &x) == 0 && x == 16384);
    cr_expect(attn_parse_int("2M", &x) == 0 && x == 2097152);
    cr_expect(attn_parse_int("-7", &x) == 0 && x == -7);
    cr_expect_eq(attn_parse_int("", &x), -1);
    cr_expect_eq(attn_parse_int("k", &x), -1);
    cr_expect_eq(attn_parse_int("1kk", &x), -1);
    cr_expect_eq(attn_parse_int("1 ", &x), -1);
    cr_expect_eq(attn_parse_int("0x10", &x), -1);
    cr_expect_eq(attn_parse_int("9223372036854775807m", &x), -1);
}

/* ------------------------------------------------------------------ the option table */

static const attn_option_t *option(const char *name)
{
    for (int i = 0; i < attn_noptions; i++)
        if (!strcmp(attn_options[i].name, name)) return &attn_options[i];
    return NULL;
}

/* Each entry is one a parser can follow: a unique name, a field of the size its kind stores, a
 * range that holds a value, a reader for CALL, an argument name in --help for valued options. */
Test(options, table_entries_are_sound)
{
    cr_assert(attn_noptions > 30, "%d options", attn_noptions);
    for (int i = 0; i < attn_noptions; i++) {
        const attn_option_t *op = &attn_options[i];
        cr_assert_not_null(op->name, "entry %d has no name", i);
        cr_expect(op->name[0] == '-', "%s", op->name);
        for (int j = 0; j < i; j++)
            cr_expect(strcmp(op->name, attn_options[j].name), "%s twice", op->name);
        cr_expect(op->off + op->size <= sizeof(attn_opts_t), "%s: field beyond attn_opts_t",
                  op->name);
        cr_expect((int)op->section >= 0 && op->section < ATTN_SEC_COUNT, "%s", op->name);
        const int flag = op->kind == ATTN_OPT_SET || op->kind == ATTN_OPT_CLEAR;
        if (op->help) cr_expect(flag == !op->arg, "%s: arg '%s'", op->name, op->arg ? op->arg : "");
        switch (op->kind) {
        case ATTN_OPT_SET:
        case ATTN_OPT_CLEAR:
            cr_expect_eq(op->size, sizeof(int), "%s", op->name);
            break;
        case ATTN_OPT_INT:
            cr_expect(op->size == sizeof(int) || op->size == sizeof(uint64_t), "%s", op->name);
            cr_expect(op->min <= op->max && op->min == floor(op->min), "%s", op->name);
            cr_expect(op->size != sizeof(int) || op->max <= 2147483647.0, "%s", op->name);
            break;
        case ATTN_OPT_DOUBLE:
            cr_expect_eq(op->size, sizeof(double), "%s", op->name);
            cr_expect(op->min < op->max, "%s", op->name);
            break;
        case ATTN_OPT_STRING:
            cr_expect_eq(op->size, sizeof(const char *), "%s", op->name);
            cr_expect(op->min == 0 || op->expect, "%s: a least length, no wording", op->name);
            break;
        case ATTN_OPT_CALL:
            cr_expect_not_null(op->parse, "%s", op->name);
            break;
        }
    }
    cr_expect_not_null(option("--markdown"));
    cr_expect(option("-h") && !option("-h")->help, "-h: an alias, not listed in --help");
}

/* --help lists every entry with help under its section's title: the name, its argument, then
 * each line of its text. */
Test(options, help_lists_every_option)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    cr_assert_not_null(f);
    attn_print_help(f);
    fclose(f);
    const char *titles[ATTN_SEC_COUNT] = {"\nSelection\n", "\nChecking and timing\n",
                                          "\nFaults and many GPUs\n", "\nOutput\n"};
    for (int i = 0; i < attn_noptions; i++) {
        const attn_option_t *op = &attn_options[i];
        if (!op->help) continue;
        const char *sec = strstr(text, titles[op->section]);
        cr_assert_not_null(sec, "no section %s", titles[op->section]);
        const char *end = strstr(sec + 1, "\n\n");
        char head[128];
        snprintf(head, sizeof head, "\n  %s%s%s ", op->name, op->arg ? " " : "",
                 op->arg ? op->arg : "");
        const char *at = strstr(sec, head);
        cr_expect(at && (!end || at < end), "%s not listed in its section:\n%s", head + 1, text);
        char line[256];
        for (const char *p = op->help; *p;) {
            const size_t l = strcspn(p, "\n");
            snprintf(line, sizeof line, "%.*s\n", (int)l, p);
            cr_expect(strstr(text, line), "%s: '%s' not in --help", op->name, line);
            p += l + (p[l] == '\n');
        }
    }
    cr_expect(strstr(text, "usage: attnbench") && strstr(text, "Exit status:"), "%s", text);
    free(text);
}

/* INT and DOUBLE options: their range's ends are accepted and stored, values beyond them and
 * text are refused with a message naming the option and the value. */
Test(options, ranges_accepted_and_refused)
{
    for (int i = 0; i < attn_noptions; i++) {
        const attn_option_t *op = &attn_options[i];
        if (op->kind != ATTN_OPT_INT && op->kind != ATTN_OPT_DOUBLE) continue;
        attn_opts_t o;
        char err[512], val[64];
        const double ends[2] = {op->min_open ? op->min + 0.5 : op->min,
                                op->max >= ATTN_OPT_NO_LIMIT ? 1e9 : op->max};
        for (int e = 0; e < 2; e++) {
            snprintf(val, sizeof val, "%.17g", ends[e]);
            /* samples: room for either end (--max-samples 0 is below the least --min-samples) */
            if (!strcmp(op->name, "--max-samples") && ends[e] < 1) continue;
            const char *argv[] = {"attnbench", "--min-samples", "0", "--max-samples", "1000000",
                                  op->name, val, NULL};
            cr_expect_eq(parse(argv, &o, err, sizeof err), 0, "%s %s: %s", op->name, val, err);
            const char *field = (const char *)&o + op->off;
            double got;
            if (op->kind == ATTN_OPT_DOUBLE) got = *(const double *)(const void *)field;
            else if (op->size == sizeof(int)) got = *(const int *)(const void *)field;
            else got = (double)*(const uint64_t *)(const void *)field;
            if (strcmp(op->name, "--min-samples") || ends[e] >= 1) /* 0 becomes 1 */
                cr_expect_eq(got, ends[e], "%s %s stored %g", op->name, val, got);
        }
        const char *bad[3] = {"x", NULL, NULL};
        char below[64], above[64];
        snprintf(below, sizeof below, "%.17g", op->min_open ? op->min : op->min - 1);
        bad[1] = below;
        if (op->max < ATTN_OPT_NO_LIMIT && op->max < INFINITY) {
            snprintf(above, sizeof above, "%.17g", op->max + 1);
            bad[2] = above;
        }
        for (int b = 0; b < 3 && bad[b]; b++) {
            const char *argv[] = {"attnbench", op->name, bad[b], NULL};
            cr_expect_eq(parse(argv, &o, err, sizeof err), -1, "%s %s accepted", op->name, bad[b]);
            char quoted[80];
            snprintf(quoted, sizeof quoted, "'%s'", bad[b]);
            cr_expect(strstr(err, op->name) && strstr(err, quoted), "%s %s: %s", op->name,
                      bad[b], err);
        }
    }
}

Test(options, flags_set_and_clear)
{
    attn_opts_t o;
    char err[256];
    cr_assert_eq(parse(ARGV("--list", "--markdown"), &o, err, sizeof err), 0, "%s", err);
    cr_expect(o.list && o.markdown);
    cr_assert_eq(parse(ARGV("--list"), &o, err, sizeof err), 0, "%s", err);
    cr_expect(!o.markdown && o.isolate == -1, "isolate %d", o.isolate);
    cr_assert_eq(parse(ARGV("--isolate"), &o, err, sizeof err), 0, "%s", err);
    cr_expect_eq(o.isolate, 1);
    cr_assert_eq(parse(ARGV("--no-isolate", "--no-isolate"), &o, err, sizeof err), 0, "%s", err);
    cr_expect_eq(o.isolate, 0);
    cr_assert_eq(parse(ARGV("--timeout=0.5", "--shard", "2/3"), &o, err, sizeof err), 0, "%s", err);
    cr_expect(o.timeout == 0.5 && o.shard_i == 2 && o.shard_n == 3);
}

/* tests/fuzz_cli.dict ($ATTNBENCH_FUZZ_DICT) holds every option's name, as a line "NAME", and
 * no option that the table does not have. */
Test(options, fuzz_dict_matches_the_table)
{
    const char *path = getenv("ATTNBENCH_FUZZ_DICT");
    cr_assert(path && *path, "ATTNBENCH_FUZZ_DICT is not set (meson test sets it)");
    char *dict = tst_read_file(path, NULL);
    cr_assert_not_null(dict, "cannot read %s", path);
    char want[96];
    for (int i = 0; i < attn_noptions; i++) {
        snprintf(want, sizeof want, "\n\"%s\"\n", attn_options[i].name);
        cr_expect(strstr(dict, want), "%s lacks the option %s: add the line \"%s\"", path,
                  attn_options[i].name, attn_options[i].name);
    }
    char **L;
    int tail, n = tst_lines(dict, &L, &tail);
    for (int i = 0; i < n; i++) {
        char name[96];
        /* an option's name: "-" then a letter or "-" (not a number such as "-9...") */
        if (sscanf(L[i], "\"%95[^\"]\"", name) == 1 && name[0] == '-' &&
            (name[1] == '-' || (name[1] >= 'a' && name[1] <= 'z')))
            cr_expect(option(name), "%s line %d: %s is not an option of the table", path, i + 1,
                      name);
    }
    tst_lines_free(L, n);
    free(dict);
}

/* ------------------------------------------------------------------ the binary */

static char *dir;
static void setup(void) { dir = tst_tmpdir("cli"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

/* Run in the test's private directory; print the output when the status is unexpected. */
static char *run_expect(int want, const char *const *args)
{
    char *out = NULL;
    int rc = tst_run_bin(dir, args, &out);
    char cmd[1024] = "attnbench";
    for (int i = 0; args[i]; i++) snprintf(cmd + strlen(cmd), sizeof cmd - strlen(cmd), " %s", args[i]);
    cr_expect_eq(rc, want, "`%s` exited %d, want %d; output:\n%s", cmd, rc, want, out ? out : "");
    return out ? out : strdup("");
}
#define RUN(want, ...) run_expect(want, (const char *[]){__VA_ARGS__, NULL})

static int no_device(char *reason, size_t n)
{
    attn_device_t d;
    int usable = attn_gpu_open(&d, 0) == 0;
    snprintf(reason, n, "%s", d.reason);
    if (usable) attn_gpu_close();
    return !usable;
}

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    cr_assert_not_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
    closedir(d);
    return n == 0;
}

Test(binary, usage_errors_exit_2_naming_the_value, .init = setup, .fini = teardown)
{
    char *o;
    o = RUN(2, "--suite", "nosuch");
    cr_expect(strstr(o, "nosuch") && strstr(o, "mhsa"), "%s", o); free(o);
    o = RUN(2, "--variant", "zzz_no_match");
    cr_expect(strstr(o, "zzz_no_match"), "%s", o); free(o);
    o = RUN(2, "--variant", "(unclosed");
    cr_expect(strstr(o, "(unclosed") && strstr(o, "regular expression"), "%s", o); free(o);
    o = RUN(2, "--backend", "cpu", "--variant", "naive");
    cr_expect(strstr(o, "naive"), "%s", o); free(o);
    o = RUN(2, "--suite", "mhsa", "--shape", "N=abc");
    cr_expect(strstr(o, "abc"), "%s", o); free(o);
    o = RUN(2, "--suite", "mhsa", "--shape", "N");
    cr_expect(strstr(o, "'N'"), "%s", o); free(o);
    o = RUN(2, "--suite", "mhsa", "--shape", "H=16,d=64,D=1000");
    cr_expect(strstr(o, "16") && strstr(o, "64") && strstr(o, "1000"), "%s", o); free(o);
    o = RUN(2, "--bogus");
    cr_expect(strstr(o, "--bogus"), "%s", o); free(o);
    o = RUN(2, "--seed", "-4");
    cr_expect(strstr(o, "-4"), "%s", o); free(o);
    cr_expect(dir_is_empty(dir), "a usage error left files behind");
}

Test(binary, help_and_list, .init = setup, .fini = teardown)
{
    char *o = RUN(0, "--help");
    cr_expect(strstr(o, "usage: attnbench") && strstr(o, "--shape") && strstr(o, "--csv") &&
              strstr(o, "--ref-threads"), "%s", o);
    free(o);
    o = RUN(0, "--list");
    const attn_suite_t *s = tst_suite("mhsa");
    char reason[256];
    const int nodev = no_device(reason, sizeof reason);
    char **L;
    int tail, n = tst_lines(o, &L, &tail);
    /* only mhsa's section: other suites may have variants of the same name in another dtype */
    int first = 0, last = n;
    while (first < n && strncmp(L[first], "suite mhsa ", 11)) first++;
    for (int i = first + 1; i < n; i++)
        if (!strncmp(L[i], "suite ", 6)) {
            last = i;
            break;
        }
    cr_expect(first < n, "--list has no 'suite mhsa' line:\n%s", o);
    for (int j = 0; j < s->nvariants; j++) {
        const attn_variant_t *x = &s->variants[j];
        int found = 0;
        for (int i = first; i < last; i++) {
            char name[64];
            if (sscanf(L[i], " %63s", name) != 1 || strcmp(name, x->name)) continue;
            found = 1;
            cr_expect(strstr(L[i], attn_backend_name(x->backend)) &&
                          strstr(L[i], attn_dtype_name(x->dtype)), "%s", L[i]);
            if (x->backend == ATTN_GPU && nodev)
                cr_expect(strstr(L[i], "skipped") && strstr(L[i], reason),
                          "GPU variant without a device not listed as skipped with the reason "
                          "'%s': %s", reason, L[i]);
            if (x->backend == ATTN_CPU)
                cr_expect(strstr(L[i], "runnable"), "%s", L[i]);
        }
        cr_expect(found, "--list does not list variant %s:\n%s", x->name, o);
    }
    for (int i = 0; i < s->naxes; i++)
        cr_expect(strstr(o, s->axes[i].name), "axis %s not listed", s->axes[i].name);
    tst_lines_free(L, n);
    free(o);
    cr_expect(dir_is_empty(dir), "--list wrote files");
}

/* The rows of a results CSV: header checked against attn_csv_header, every row parsed with
 * the header's field count. Returns the row count; fields in rows[r][c]. */
#define MAXROWS 64
typedef struct table {
    int n, nf;
    char *row[MAXROWS][64];
    char header[2048];
} table_t;

static void load_table(const char *path, table_t *t)
{
    char *text = tst_read_file(path, NULL);
    cr_assert_not_null(text, "%s was not written", path);
    attn_row_t h;
    attn_row_init(&h);
    attn_csv_header(tst_suite("mhsa"), &h);
    snprintf(t->header, sizeof t->header, "%s", h.buf);
    attn_row_free(&h);
    char **L;
    int tail, n = tst_lines(text, &L, &tail);
    cr_assert(!tail, "%s: last line not terminated", path);
    cr_assert(n >= 1 && !strcmp(L[0], t->header), "%s: wrong header: %s", path, L[0]);
    char *hf[64];
    t->nf = tst_csv_split(t->header, hf, 64);
    tst_csv_free(hf, t->nf);
    t->n = n - 1;
    cr_assert(t->n <= MAXROWS);
    for (int i = 1; i < n; i++) {
        int k = tst_csv_split(L[i], t->row[i - 1], 64);
        cr_assert_eq(k, t->nf, "%s line %d: %d fields, header has %d: %s", path, i + 1, k, t->nf, L[i]);
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

static void free_table(table_t *t)
{
    for (int r = 0; r < t->n; r++) tst_csv_free(t->row[r], t->nf);
}

#define TINY "N=37,d=8,D=16,tokens=74"
#define FAST "--warmup", "0", "--min-samples", "2", "--max-samples", "3", "--max-time", "0.05"

/* A tiny CPU run: exit 0, header + 2 rows (reference, cpu-f32), status ok, the case's values,
 * timings, errors within the tolerance, every row checked. A second run appends 2 more rows and
 * keeps the first ones byte for byte. */
Test(binary, tiny_cpu_run_writes_csv, .init = setup, .fini = teardown)
{
    char *csv = tst_path(dir, "out/r.csv");
    char *o = RUN(0, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--csv", csv, FAST);
    cr_expect(strstr(o, "created the missing directories"), "out/ was created silently:\n%s", o);
    free(o);
    table_t t;
    load_table(csv, &t);
    cr_assert_eq(t.n, 2, "%d rows", t.n);
    const char *names[2] = {"reference", "cpu-f32"};
    for (int r = 0; r < 2; r++) {
        cr_expect_str_eq(cell(&t, r, "suite"), "mhsa");
        cr_expect_str_eq(cell(&t, r, "variant"), names[r]);
        cr_expect_str_eq(cell(&t, r, "backend"), "cpu");
        cr_expect_str_eq(cell(&t, r, "status"), "ok", "reason: %s", cell(&t, r, "reason"));
        cr_expect_str_eq(cell(&t, r, "B"), "2");
        cr_expect_str_eq(cell(&t, r, "H"), "2");
        cr_expect_str_eq(cell(&t, r, "N"), "37");
        cr_expect_str_eq(cell(&t, r, "Nk"), "37");
        cr_expect_str_eq(cell(&t, r, "d"), "8");
        cr_expect_str_eq(cell(&t, r, "rows_checked"), "148");
        cr_expect_str_eq(cell(&t, r, "rows"), "148");
        cr_expect_str_eq(cell(&t, r, "seed"), "42");
        cr_expect(atoi(cell(&t, r, "samples")) >= 2, "samples %s", cell(&t, r, "samples"));
        cr_expect(atof(cell(&t, r, "median_ms")) > 0);
        cr_expect(atof(cell(&t, r, "max_abs_err")) <= atof(cell(&t, r, "tolerance_abs")));
        cr_expect(atof(cell(&t, r, "tolerance_abs")) > 0);
        /* relative, as in --plan rows: the suite's tolerance for the dtype */
        const attn_variant_t *x = tst_variant(tst_suite("mhsa"), names[r]);
        int64_t *v = tst_case(tst_suite("mhsa"), TINY);
        cr_expect_float_eq(atof(cell(&t, r, "tolerance_rel")),
                           tst_suite("mhsa")->tolerance(tst_suite("mhsa"), v, x->dtype), 1e-9);
        free(v);
        /* flops = 4·B·H·N·Nk·d */
        cr_expect_float_eq(atof(cell(&t, r, "flops")), 4.0 * 2 * 2 * 37 * 37 * 8, 1.0);
        cr_expect(strlen(cell(&t, r, "timestamp")) == 20, "timestamp %s", cell(&t, r, "timestamp"));
    }
    free_table(&t);

    size_t len0, len1;
    char *before = tst_read_file(csv, &len0);
    free(RUN(0, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--csv", csv, FAST,
             "--seed", "3"));
    char *after = tst_read_file(csv, &len1);
    cr_expect(len1 > len0 && !memcmp(before, after, len0), "the second run changed earlier rows");
    load_table(csv, &t);
    cr_expect_eq(t.n, 4);
    if (t.n == 4) cr_expect_str_eq(cell(&t, 3, "seed"), "3");
    free_table(&t);
    free(before), free(after), free(csv);
}

/* --check without --csv writes no file at all (not even results/). */
Test(binary, check_without_csv_writes_nothing, .init = setup, .fini = teardown)
{
    char *o = RUN(0, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--check");
    cr_expect(strstr(o, "ok"), "%s", o);
    cr_expect(dir_is_empty(dir), "--check without --csv left files in the working directory");
    free(o);
}

/* Unwritable CSV paths: exit 2, a message naming the path, nothing run. An existing CSV of
 * another schema is refused and kept byte for byte. */
Test(binary, unwritable_csv_refused, .init = setup, .fini = teardown)
{
    const char *procpath = "/proc/nope/x.csv";
    char *o = RUN(2, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--csv", procpath);
    cr_expect(strstr(o, procpath), "message does not name %s: %s", procpath, o);
    cr_expect(!strstr(o, "[1/1]"), "cases ran before the CSV was refused: %s", o);
    free(o);

    char *file = tst_path(dir, "plain");
    tst_write_file(file, "x\n", 2);
    char *under = tst_path(file, "r.csv");
    o = RUN(2, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--csv", under);
    cr_expect(strstr(o, under), "message does not name %s: %s", under, o);
    free(o);

    char *other = tst_path(dir, "other.csv");
    const char *content = "suite,variant,x\nmhsa,old,1\nmhsa,old,2";
    tst_write_file(other, content, strlen(content));
    o = RUN(2, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--csv", other);
    cr_expect(strstr(o, other), "%s", o);
    size_t len;
    char *now = tst_read_file(other, &len);
    cr_expect(len == strlen(content) && !memcmp(now, content, len), "refused CSV was modified");
    free(o), free(now);

    /* a usage error after --csv: the existing file is untouched, a new one is not created */
    char *fresh = tst_path(dir, "fresh.csv");
    free(RUN(2, "--suite", "mhsa", "--shape", "N=x", "--csv", fresh));
    cr_expect(!tst_exists(fresh), "a usage error created %s", fresh);
    free(RUN(2, "--suite", "mhsa", "--shape", "d=0", "--csv", other));
    now = tst_read_file(other, &len);
    cr_expect(len == strlen(content) && !memcmp(now, content, len), "CSV modified by a usage error");
    free(now), free(file), free(under), free(other), free(fresh);
}

/* GPU variants in a run without a usable device: status skip, with the reason. */
Test(binary, gpu_variants_skipped_without_device, .init = setup, .fini = teardown)
{
    char reason[256];
    if (!no_device(reason, sizeof reason)) cr_skip_test("a CUDA device is present");
    cr_expect(strstr(reason, "no CUDA device") || strstr(reason, "built without CUDA"), "%s", reason);
    char *csv = tst_path(dir, "r.csv");
    free(RUN(0, "--suite", "mhsa", "--shape", "N=16,d=8,D=16,tokens=32", "--check", "--csv", csv));
    table_t t;
    load_table(csv, &t);
    const attn_suite_t *s = tst_suite("mhsa");
    cr_expect_eq(t.n, s->nvariants, "%d rows for %d variants", t.n, s->nvariants);
    int ngpu = 0;
    for (int r = 0; r < t.n; r++) {
        const char *backend = cell(&t, r, "backend");
        if (strcmp(backend, "gpu")) {
            cr_expect_str_eq(cell(&t, r, "status"), "ok");
            continue;
        }
        ngpu++;
        cr_expect_str_eq(cell(&t, r, "status"), "skip", "%s", cell(&t, r, "variant"));
        const char *why = cell(&t, r, "reason");
        cr_expect(strstr(why, "no CUDA device") || strstr(why, "built without CUDA"),
                  "%s: reason '%s'", cell(&t, r, "variant"), why);
    }
    cr_expect(ngpu > 0, "no GPU rows");
    free_table(&t);
    free(csv);
}

/* --plan: one row per selected variant and case of the GPU sweep grid, device or not, in the
 * results schema, with flops, bytes and the relative tolerance the suite defines; nothing runs. */
Test(binary, plan_lists_the_gpu_sweep, .init = setup, .fini = teardown)
{
    const attn_suite_t *s = tst_suite("mhsa");
    const attn_variant_t *x = tst_variant(s, "cublas-bf16");
    char *out = RUN(0, "--suite", "mhsa", "--sweep", "--variant", "^cublas-bf16$", "--plan");
    char **lines;
    int nl, cut;
    nl = tst_lines(out, &lines, &cut);
    cr_assert(nl > 1, "no plan rows:\n%s", out);
    attn_row_t h;
    attn_row_init(&h);
    attn_csv_header(s, &h);
    cr_expect_str_eq(lines[0], h.buf);
    attn_row_free(&h);
    /* The GPU grid of docs/suites.md: prefill 6 N × 2 d × 2 causal × 3 Hkv, decode 5 N × 2 d ×
     * 2 causal × 3 Hkv. */
    attn_opts_t o;
    attn_opts_init(&o);
    o.sweep = 1;
    int64_t *cases;
    char err[256];
    const int nc = attn_build_cases(s, &o, 0, &cases, err, sizeof err);
    cr_assert_eq(nc, 132, "%s", err);
    cr_expect_eq(nl - 1, nc, "%d plan rows for %d cases", nl - 1, nc);
    for (int i = 1; i < nl && i <= nc; i++) {
        char *f[128];
        const int n = tst_csv_split(lines[i], f, 128);
        const int64_t *v = cases + (size_t)(i - 1) * (size_t)s->naxes;
        cr_expect_str_eq(f[tst_csv_col(lines[0], "status")], "planned");
        cr_expect_str_eq(f[tst_csv_col(lines[0], "variant")], "cublas-bf16");
        for (int a = 0; a < s->naxes; a++)
            cr_expect_eq(atoll(f[4 + a]), v[a], "row %d axis %s", i, s->axes[a].name);
        const double fl = atof(f[tst_csv_col(lines[0], "flops")]);
        const double by = atof(f[tst_csv_col(lines[0], "bytes")]);
        const double tol = atof(f[tst_csv_col(lines[0], "tolerance_rel")]);
        cr_expect_str_empty(f[tst_csv_col(lines[0], "tolerance_abs")]);
        cr_expect(fabs(fl / s->flops(s, v) - 1) < 1e-5, "row %d flops %g", i, fl);
        cr_expect(fabs(by / s->bytes(s, v, attn_dtype_size(x->dtype)) - 1) < 1e-5, "row %d bytes", i);
        cr_expect(fabs(tol / s->tolerance(s, v, x->dtype) - 1) < 1e-5, "row %d tolerance %g", i, tol);
        cr_expect_str_empty(f[tst_csv_col(lines[0], "median_ms")]);
        cr_expect_str_empty(f[tst_csv_col(lines[0], "device")]);
        tst_csv_free(f, n);
    }
    free(cases);
    tst_lines_free(lines, nl);
    free(out);
    cr_expect(dir_is_empty(dir), "--plan wrote files");
}

/* A row's in_sweep (attn_variant_t): the sweep plans mhsa's f16 rows at their few grid points
 * only (d = 64, non-causal, MHA prefill: 6 N), beside every case of the bf16 row; outside a
 * sweep the row takes any case. */
Test(binary, plan_honours_a_rows_sweep_points, .init = setup, .fini = teardown)
{
    char *out = RUN(0, "--suite", "mhsa", "--sweep", "--variant", "^fused(-f16)?$", "--plan");
    char **lines;
    int cut;
    const int nl = tst_lines(out, &lines, &cut);
    const int cv = tst_csv_col(lines[0], "variant"), cd = tst_csv_col(lines[0], "d"),
              cc = tst_csv_col(lines[0], "causal"), cn = tst_csv_col(lines[0], "N"),
              ck = tst_csv_col(lines[0], "Nk"), ch = tst_csv_col(lines[0], "H"),
              chk = tst_csv_col(lines[0], "Hkv"), ct = tst_csv_col(lines[0], "dtype");
    int nb = 0, nh = 0;
    for (int i = 1; i < nl; i++) {
        char *f[128];
        const int n = tst_csv_split(lines[i], f, 128);
        if (!strcmp(f[cv], "fused")) nb++;
        if (!strcmp(f[cv], "fused-f16")) {
            nh++;
            cr_expect_str_eq(f[ct], "f16");
            cr_expect(!strcmp(f[cd], "64") && !strcmp(f[cc], "0") && !strcmp(f[cn], f[ck]) &&
                          !strcmp(f[ch], f[chk]),
                      "f16 row outside its sweep points: %s", lines[i]);
        }
        tst_csv_free(f, n);
    }
    cr_expect_eq(nb, 132, "%d bf16 rows", nb);
    cr_expect_eq(nh, 6, "%d f16 rows", nh);
    tst_lines_free(lines, nl);
    free(out);
    out = RUN(0, "--suite", "mhsa", "--variant", "^fused-f16$", "--plan", "--shape",
              "N=300,d=128,causal=1");
    cr_expect(strstr(out, "fused-f16,gpu,f16,"), "no f16 row outside a sweep:\n%s", out);
    free(out);
}

/* --calibrate without a device: a clear reason and exit 1, nothing printed for scripts. */
Test(binary, calibrate_without_device_fails_clearly, .init = setup, .fini = teardown)
{
    char reason[256];
    if (!no_device(reason, sizeof reason)) cr_skip_test("a CUDA device is present");
    char *out = RUN(1, "--calibrate");
    cr_expect(strstr(out, "--calibrate: ") != NULL, "%s", out);
    cr_expect(strstr(out, "peak_gbps=") == NULL, "%s", out);
    free(out);
}

/* ------------------------------------------------------------------ --dump */

/* Checks one .npy file: NumPy format 1.0 (magic, version, little-endian header length), data
 * starting at a multiple of 64, the header dict with descr, fortran_order False and the shape,
 * and the file size matching. Returns the data offset. */
static size_t check_npy(const char *path, const char *descr, const attn_tensor_t *t, int esize,
                        const char **data)
{
    size_t len;
    char *b = tst_read_file(path, &len);
    cr_assert_not_null(b, "%s missing", path);
    cr_assert(len >= 10 && !memcmp(b, "\x93NUMPY", 6), "%s: bad magic", path);
    cr_assert(b[6] == 1 && b[7] == 0, "%s: version %d.%d, want 1.0", path, b[6], b[7]);
    const size_t hlen = (unsigned char)b[8] | (size_t)(unsigned char)b[9] << 8;
    const size_t off = 10 + hlen;
    cr_assert(off <= len, "%s: header length %zu beyond the file", path, hlen);
    cr_expect_eq(off % 64, 0, "%s: data starts at %zu, not a multiple of 64", path, off);
    cr_expect_eq(b[off - 1], '\n', "%s: header does not end with a newline", path);
    char dict[512];
    snprintf(dict, sizeof dict, "%.*s", (int)hlen, b + 10);
    char want[256];
    snprintf(want, sizeof want, "'descr': '%s'", descr);
    cr_expect(strstr(dict, want), "%s: %s not in %s", path, want, dict);
    cr_expect(strstr(dict, "'fortran_order': False"), "%s: %s", path, dict);
    char shape[128] = "'shape': (";
    for (int i = 0; i < t->ndim; i++)
        snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", i ? ", " : "",
                 (long long)t->shape[i]);
    strcat(shape, t->ndim == 1 ? ",)" : ")");
    cr_expect(strstr(dict, shape), "%s: %s not in %s", path, shape, dict);
    cr_expect(dict[0] == '{' && strchr(dict, '}'), "%s: %s", path, dict);
    for (size_t i = 10; i < off; i++)
        cr_assert((unsigned char)b[i] >= 0x20 || b[i] == '\n', "%s: control byte in header", path);
    const size_t want_len = off + (size_t)attn_tensor_numel(t) * (size_t)esize;
    cr_expect_eq(len, want_len, "%s: %zu bytes, want %zu", path, len, want_len);
    *data = b;
    return off;
}

/* A small JSON syntax check (objects, arrays, strings, numbers, literals). */
static const char *json_value(const char *p);
static const char *json_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') p++;
    return p;
}
static const char *json_string(const char *p)
{
    if (*p++ != '"') return NULL;
    while (*p && *p != '"') {
        if ((unsigned char)*p < 0x20) return NULL;
        if (*p == '\\' && !*++p) return NULL;
        p++;
    }
    return *p == '"' ? p + 1 : NULL;
}
static const char *json_value(const char *p)
{
    p = json_ws(p);
    if (*p == '{' || *p == '[') {
        const char close = *p == '{' ? '}' : ']';
        const int obj = *p == '{';
        p = json_ws(p + 1);
        if (*p == close) return p + 1;
        for (;;) {
            if (obj) {
                if (!(p = json_string(json_ws(p)))) return NULL;
                p = json_ws(p);
                if (*p++ != ':') return NULL;
            }
            if (!(p = json_value(p))) return NULL;
            p = json_ws(p);
            if (*p == close) return p + 1;
            if (*p++ != ',') return NULL;
        }
    }
    if (*p == '"') return json_string(p);
    if (!strncmp(p, "true", 4) || !strncmp(p, "null", 4)) return p + 4;
    if (!strncmp(p, "false", 5)) return p + 5;
    char *end;
    strtod(p, &end);
    return end > p ? end : NULL;
}

Test(json_check, rejects_bad_json)
{
    cr_expect_not_null(json_value("{\"a\": [1, 2, {\"b\": \"c\"}], \"d\": null}"));
    cr_expect(!json_value("{\"a\": [1, 2,]}"), "trailing comma accepted");
    cr_expect(!json_value("{\"a\" 1}"), "missing colon accepted");
    cr_expect(!json_value("{\"a\": [1, 2}"), "unclosed array accepted");
}

/* --dump DIR: every input, output and reference as .npy (NumPy 1.0, 64-byte aligned data),
 * and a valid manifest.json naming each file once; the q file holds the generator's data. */
Test(binary, dump_writes_npy_and_manifest, .init = setup, .fini = teardown)
{
    char *dd = tst_path(dir, "dump/x");
    free(RUN(0, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--check", "--dump", dd));
    const attn_suite_t *s = tst_suite("mhsa");
    int64_t *v = tst_case(s, TINY);
    attn_layout_t L;
    s->layout(s, v, &L);
    /* the attention weights of the suite's weights callback: P of batch 0, head 0 (Nq, Nk) */
    const attn_tensor_t wt = {.ndim = 2, .shape = {L.in[0].shape[2], L.in[1].shape[2]}};
    struct { const char *file, *descr; const attn_tensor_t *t; int es; } files[] = {
        {"mhsa-000-q.npy", "<f4", &L.in[0], 4},      {"mhsa-000-k.npy", "<f4", &L.in[1], 4},
        {"mhsa-000-v.npy", "<f4", &L.in[2], 4},      {"mhsa-000-kv_len.npy", "<i4", &L.in[3], 4},
        {"mhsa-000-out-reference.npy", "<f8", &L.out, 8},
        {"mhsa-000-out-cpu-f32.npy", "<f4", &L.out, 4}, {"mhsa-000-ref.npy", "<f8", &L.out, 8},
        {"mhsa-000-weights.npy", "<f8", &wt, 8},
    };
    const int nfiles = sizeof files / sizeof files[0];
    char *mpath = tst_path(dd, "manifest.json");
    char *manifest = tst_read_file(mpath, NULL);
    cr_assert_not_null(manifest, "%s missing", mpath);
    const char *end = json_value(manifest);
    cr_expect(end && !*json_ws(end), "manifest.json is not valid JSON:\n%s", manifest);
    for (int i = 0; i < nfiles; i++) {
        char *p = tst_path(dd, files[i].file);
        const char *data;
        size_t off = check_npy(p, files[i].descr, files[i].t, files[i].es, &data);
        char key[256];
        snprintf(key, sizeof key, "\"file\": \"%s\"", files[i].file);
        const char *at = strstr(manifest, key);
        cr_expect(at && !strstr(at + 1, key), "manifest names %s %s", files[i].file,
                  at ? "twice" : "not at all");
        if (i == 0) { /* q = the generator's stream for seed 42 */
            void *in[ATTN_MAX_TENSORS];
            for (int k = 0; k < L.nin; k++) in[k] = malloc((size_t)attn_tensor_numel(&L.in[k]) * 4 + 4);
            s->generate(s, v, 42, in);
            cr_expect(!memcmp(data + off, in[0], (size_t)attn_tensor_numel(&L.in[0]) * 4),
                      "q.npy does not hold the generated q");
            for (int k = 0; k < L.nin; k++) free(in[k]);
        }
        free((void *)data), free(p);
    }
    /* every .npy in the directory is in the manifest, and nothing else is there */
    DIR *d = opendir(dd);
    cr_assert_not_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || !strcmp(e->d_name, "manifest.json"))
            continue;
        n++;
        char key[512];
        snprintf(key, sizeof key, "\"file\": \"%s\"", e->d_name);
        cr_expect(strstr(manifest, key), "%s is not in the manifest", e->d_name);
    }
    closedir(d);
    cr_expect_eq(n, nfiles, "%d files in the dump directory, want %d", n, nfiles);
    free(manifest), free(mpath), free(dd), free(v);
}

/* --list --markdown: the header, then each variant of each suite exactly once, with its backend,
 * dtype and the status its backend gets; nothing that depends on the machine. */
Test(binary, list_markdown_names_every_variant_once, .init = setup, .fini = teardown)
{
    char *o = RUN(0, "--list", "--markdown");
    const char *header = "| suite | variant | backend | dtype | about | status |\n";
    cr_expect(!strncmp(o, header, strlen(header)), "--list --markdown starts:\n%.200s", o);
    cr_expect(!strstr(o, "device"), "--list --markdown names the device:\n%s", o);
    int rows = 0, want = 0;
    for (const char *l = o; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        rows += l[0] == '|' && l[1] == ' ';
    for (int k = 0; attn_suites[k]; k++)
        for (int j = 0; j < attn_suites[k]->nvariants; j++, want++) {
            const attn_variant_t *x = &attn_suites[k]->variants[j];
            char row[512];
            snprintf(row, sizeof row, "\n| %s | %s | %s | %s | ", attn_suites[k]->name, x->name,
                     attn_backend_name(x->backend), attn_dtype_name(x->dtype));
            const char *at = strstr(o, row);
            cr_expect(at && !strstr(at + 1, row), "row '%s' appears %s", row + 1,
                      at ? "twice" : "not at all");
            const char *status = x->backend == ATTN_CPU ? " | checked in CI against the reference |\n"
                                                        : " | emulated in CI; untested on GPU |\n";
            const char *eol = at ? strchr(at + 1, '\n') : NULL;
            cr_expect(eol && !strncmp(eol - strlen(status) + 1, status, strlen(status)),
                      "row '%s' lacks status '%s'", row + 1, status);
        }
    cr_expect_eq(rows - 1, want, "%d table rows, want %d:\n%s", rows - 1, want, o);
    free(o);
    o = RUN(2, "--markdown");
    cr_expect(strstr(o, "--markdown goes with --list"), "%s", o);
    free(o);
}

/* ------------------------------------------------------------------ no verdict without evidence */

/* Nothing checked is not ok: when every selected variant skips every case, exit 3 with a line
 * saying why; one variant checked is enough for 0. */
Test(binary, nothing_checked_exits_3, .init = setup, .fini = teardown)
{
    /* fused takes d in {64, 128} only (and needs a device): on any machine, nothing is checked */
    char *o = RUN(3, "--suite", "mhsa", "--check", "--variant", "^fused$", "--shape", "d=48");
    cr_expect(strstr(o, "nothing checked"), "%s", o);
    free(o);
    o = RUN(0, "--suite", "mhsa", "--check", "--variant", "^(fused|cpu-f32)$", "--shape", TINY);
    cr_expect(!strstr(o, "nothing checked"), "%s", o);
    free(o);
    char reason[256];
    if (no_device(reason, sizeof reason)) {
        o = RUN(3, "--suite", "mhsa", "--check", "--backend", "gpu", "--shape", TINY);
        cr_expect(strstr(o, "nothing checked") && strstr(o, reason), "%s", o);
        free(o);
    }
    cr_expect(dir_is_empty(dir), "--check wrote files");
}

/* --backend gpu never falls back to the CPU grid: without a device a sweep records the GPU
 * grid's cases as skipped (the same cases, and shard split, as on a GPU machine) and exits 3. */
Test(binary, gpu_sweep_keeps_the_gpu_grid, .init = setup, .fini = teardown, .timeout = 60)
{
    char reason[256];
    if (!no_device(reason, sizeof reason)) cr_skip_test("a CUDA device is present");
    const attn_suite_t *s = tst_suite("mhsa");
    attn_opts_t opts;
    attn_opts_init(&opts);
    opts.sweep = 1;
    int64_t *cases;
    char err[256];
    const int ngpu = attn_build_cases(s, &opts, 0, &cases, err, sizeof err);
    cr_assert_gt(ngpu, 0, "%s", err);
    free(cases);
    char *o = RUN(3, "--suite", "mhsa", "--sweep", "--backend", "gpu", "--variant", "^naive$",
                  "--csv", "-", "--no-plots");
    int rows = 0;
    for (const char *p = o; (p = strstr(p, "\nmhsa,naive,gpu,")); p++) rows++;
    cr_expect_eq(rows, ngpu, "%d rows for the %d cases of the GPU grid:\n%s", rows, ngpu, o);
    cr_expect(strstr(o, "no fallback to the CPU grid") && !strstr(o, "CPU sweep grid"), "%s", o);
    cr_expect(strstr(o, "nothing checked"), "%s", o);
    free(o);
    /* the default backend still runs the CPU grid without a device, says so, and is ok when its
     * CPU variants pass (one case of it here) */
    o = RUN(0, "--suite", "mhsa", "--sweep", "--variant", "^(reference|naive)$", "--check",
            "--shard", "0/1000000", "--no-plots");
    cr_expect(strstr(o, "smaller CPU sweep grid") && strstr(o, "GPU variants are recorded as skipped"),
              "%s", o);
    free(o);
}

/* Under --backend emu every selected variant is emulated: no module, nothing checked (exit 3). */
Test(binary, emu_without_module_exits_3, .init = setup, .fini = teardown)
{
    setenv("ATTNBENCH_EMU_LIB", "/nonexistent/libattn_emu.so", 1);
    char *o = RUN(3, "--suite", "mhsa", "--backend", "emu", "--check", "--shape", TINY);
    cr_expect(strstr(o, "nothing checked") && strstr(o, "/nonexistent/libattn_emu.so"), "%s", o);
    free(o);
    unsetenv("ATTNBENCH_EMU_LIB");
}

/* An emulated sweep says what it does: the GPU variants run emulated (on the CPU grid). */
Test(binary, emulated_sweep_says_what_it_runs, .init = setup, .fini = teardown, .timeout = 60)
{
    char *out = NULL;
    const int rc = tst_run_bin(dir, (const char *[]){"--suite", "mhsa", "--sweep", "--backend",
                                                     "emu", "--variant", "^tiled$", "--check",
                                                     "--shard", "0/1000000", "--no-plots", NULL},
                               &out);
    if (rc == 3 && strstr(out, "cannot be loaded")) cr_skip_test("no emulator: %s", out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "host emulator") && !strstr(out, "recorded as skipped"), "%s", out);
    free(out);
}

/* --csv - writes the header and rows to standard output (the per-row lines go to stderr), never
 * a file named "-"; with several suites (several headers) it is refused. */
Test(binary, csv_dash_is_standard_output, .init = setup, .fini = teardown)
{
    char *o = RUN(0, "--suite", "mhsa", "--backend", "cpu", "--shape", TINY, "--check", "--csv", "-");
    attn_row_t h;
    attn_row_init(&h);
    attn_csv_header(tst_suite("mhsa"), &h);
    cr_expect(strstr(o, h.buf), "no header in the output:\n%s", o);
    attn_row_free(&h);
    cr_expect(strstr(o, "\nmhsa,cpu-f32,cpu,f32,"), "no row in the output:\n%s", o);
    cr_expect(dir_is_empty(dir), "--csv - created a file");
    free(o);
    o = RUN(2, "--backend", "cpu", "--check", "--csv", "-");
    cr_expect(strstr(o, "--csv -"), "%s", o);
    free(o);
}

/* Two timed runs started together (the same second, likely) get run directories of their own. */
Test(binary, run_directories_are_unique, .init = setup, .fini = teardown, .timeout = 60)
{
    const char *args[] = {"--suite", "mhsa", "--backend", "cpu", "--shape", TINY, FAST, NULL};
    char *c1 = tst_path(dir, "c1.txt"), *c2 = tst_path(dir, "c2.txt");
    const pid_t p1 = tst_spawn(tst_bin("ATTNBENCH_BIN"), dir, args, c1);
    const pid_t p2 = tst_spawn(tst_bin("ATTNBENCH_BIN"), dir, args, c2);
    cr_expect_eq(tst_wait(p1), 0);
    cr_expect_eq(tst_wait(p2), 0);
    char *results = tst_path(dir, "results");
    DIR *d = opendir(results);
    cr_assert_not_null(d, "no results/");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        n++;
        char *csv = tst_path(results, e->d_name), *f = tst_path(csv, "mhsa.csv");
        table_t t;
        load_table(f, &t);
        cr_expect_eq(t.n, 2, "%s: %d rows: two runs in one directory?", f, t.n);
        free_table(&t);
        free(f), free(csv);
    }
    closedir(d);
    cr_expect_eq(n, 2, "%d run directories for two runs", n);
    free(results), free(c1), free(c2);
}

/* --dump of a sampled reference: the checked rows' indices (and how many) in the manifest, the
 * reference NaN exactly outside them; the bf16-rounded inputs a bf16 variant saw. */
Test(binary, dump_names_sampled_rows_and_bf16_inputs, .init = setup, .fini = teardown)
{
    char *dd = tst_path(dir, "dump"), *out = NULL;
    const int rc = tst_run_bin(dir, (const char *[]){"--suite", "mhsa", "--backend", "emu",
                                                     "--variant", "^cublas-bf16$", "--shape", TINY,
                                                     "--check", "--ref-gflop", "0", "--dump", dd,
                                                     NULL},
                               &out);
    if (rc == 3 && strstr(out, "cannot be loaded")) cr_skip_test("no emulator: %s", out);
    cr_assert_eq(rc, 0, "%s", out);
    free(out);
    const attn_suite_t *s = tst_suite("mhsa");
    int64_t *v = tst_case(s, TINY);
    attn_layout_t L;
    s->layout(s, v, &L);
    char *mpath = tst_path(dd, "manifest.json");
    char *manifest = tst_read_file(mpath, NULL);
    cr_assert_not_null(manifest);
    const char *end = json_value(manifest);
    cr_expect(end && !*json_ws(end), "manifest.json is not valid JSON:\n%s", manifest);
    const char *ref = strstr(manifest, "\"file\": \"mhsa-000-ref-bf16in.npy\"");
    cr_assert_not_null(ref, "%s", manifest);
    cr_expect(strstr(ref, "\"rows_checked_file\": \"mhsa-000-rows-checked.npy\""), "%s", manifest);
    const char *k = strstr(ref, "\"rows_checked\": ");
    cr_assert_not_null(k, "%s", manifest);
    const long long nk = atoll(k + 16);
    cr_expect(nk > 0 && nk < L.out_rows, "rows_checked %lld of %lld", nk, (long long)L.out_rows);
    cr_expect(strstr(manifest, "\"file\": \"mhsa-000-rows-checked.npy\""), "%s", manifest);

    attn_tensor_t it = {.name = "rows_checked", .ndim = 1, .shape = {nk}};
    char *ip = tst_path(dd, "mhsa-000-rows-checked.npy"), *rp = tst_path(dd, "mhsa-000-ref-bf16in.npy");
    const char *idata, *rdata;
    const size_t ioff = check_npy(ip, "<i8", &it, 8, &idata);
    const size_t roff = check_npy(rp, "<f8", &L.out, 8, &rdata);
    const int64_t *idx = (const int64_t *)(const void *)(idata + ioff);
    const double *r = (const double *)(const void *)(rdata + roff);
    const int64_t row_len = attn_tensor_numel(&L.out) / L.out_rows;
    unsigned char *in = calloc((size_t)L.out_rows, 1);
    for (long long i = 0; i < nk; i++) {
        cr_assert(idx[i] >= 0 && idx[i] < L.out_rows && (i == 0 || idx[i] > idx[i - 1]),
                  "index %lld: %lld", i, (long long)idx[i]);
        in[idx[i]] = 1;
    }
    for (int64_t row = 0; row < L.out_rows; row++)
        cr_expect(isnan(r[row * row_len]) == !in[row], "row %lld: ref %g, %s the sample",
                  (long long)row, r[row * row_len], in[row] ? "in" : "not in");
    free(in), free((void *)idata), free((void *)rdata), free(ip), free(rp);

    /* q-bf16: q rounded to bf16, as the variant read it */
    char *qp = tst_path(dd, "mhsa-000-q.npy"), *qb = tst_path(dd, "mhsa-000-q-bf16.npy");
    const char *qd, *bd;
    const size_t qo = check_npy(qp, "<f4", &L.in[0], 4, &qd), bo = check_npy(qb, "<f4", &L.in[0], 4, &bd);
    const float *q = (const float *)(const void *)(qd + qo), *b = (const float *)(const void *)(bd + bo);
    int bad = 0;
    for (int64_t e = 0; e < attn_tensor_numel(&L.in[0]); e++)
        bad += b[e] != attn_bf16_to_f32(attn_f32_to_bf16(q[e]));
    cr_expect_eq(bad, 0, "%d elements of q-bf16.npy are not q rounded to bf16", bad);
    cr_expect(strstr(manifest, "\"file\": \"mhsa-000-q-bf16.npy\""), "%s", manifest);
    cr_expect(!tst_exists(tst_path(dd, "mhsa-000-kv_len-bf16.npy")), "int32 input rounded");
    free((void *)qd), free((void *)bd), free(qp), free(qb);
    free(manifest), free(mpath), free(dd), free(v);
}

/* Provenance without a .git (a tree carried to a lent GPU): the git_commit column is the commit
 * the binary was built from (--version), not "unknown"; ATTNBENCH_GIT_COMMIT still wins. */
Test(binary, commit_without_git_is_the_built_one, .init = setup, .fini = teardown)
{
    char *out = NULL;
    cr_assert_eq(tst_run_bin(dir, (const char *[]){"--version", NULL}, &out), 0, "%s", out);
    char built[128] = "";
    const char *c = strstr(out, " commit ");
    cr_assert_not_null(c, "--version: %s", out);
    sscanf(c + 8, "%127s", built);
    cr_expect(strcmp(built, "unknown") && *built, "--version: %s", out);
    free(out);
    char *csv = tst_path(dir, "c.csv");
    const char *args[] = {"--suite", "mhsa", "--variant", "^reference$", "--shape",
                          "B=1,H=1,N=8,d=4", "--min-samples", "1", "--max-time", "0",
                          "--csv", csv, NULL};
    for (int env = 0; env < 2; env++) {
        remove(csv);
        setenv("GIT_DIR", "/nonexistent/.git", 1); /* the run-time git finds no repository */
        if (env) setenv("ATTNBENCH_GIT_COMMIT", "abc123", 1);
        const int rc = tst_run_bin(dir, args, &out);
        unsetenv("GIT_DIR");
        unsetenv("ATTNBENCH_GIT_COMMIT");
        cr_expect_eq(rc, 0, "%s", out);
        free(out);
        char *text = tst_read_file(csv, NULL);
        cr_assert_not_null(text);
        char **L;
        int tail, nl = tst_lines(text, &L, &tail);
        cr_assert_geq(nl, 2);
        char *f[128];
        const int k = tst_csv_split(L[1], f, 128), col = tst_csv_col(L[0], "git_commit");
        cr_assert(col >= 0 && k > col);
        cr_expect_str_eq(f[col], env ? "abc123" : built);
        tst_csv_free(f, k);
        tst_lines_free(L, nl);
        free(text);
    }
    free(csv);
}

/* --list-check-shapes prints a suite's check shapes, one a line; an unknown suite is bad usage
 * (exit 2), never an empty list that exits 0. */
Test(binary, list_check_shapes_of_a_suite, .init = setup, .fini = teardown)
{
    char *out = NULL;
    int rc = tst_run_bin(dir, (const char *[]){"--suite", "sge", "--list-check-shapes", NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    const attn_suite_t *s = tst_suite("sge");
    for (int i = 0; s->check_shapes[i]; i++)
        cr_expect(strstr(out, s->check_shapes[i]), "no '%s' in:\n%s", s->check_shapes[i], out);
    free(out);
    rc = tst_run_bin(dir, (const char *[]){"--suite", "nope", "--list-check-shapes", NULL}, &out);
    cr_expect_eq(rc, 2, "unknown suite: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "unknown suite 'nope'"), "%s", out);
    free(out);
}
