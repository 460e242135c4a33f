#include <stdio.h>

#include "cli.h"
#include "refpool.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

void attn_opts_init(attn_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->suite = "all";
    o->backend = "all";
    o->seed = 42;
    o->warmup = 3;
    o->warmup_ms = 100;
    o->min_samples = 10;
    o->max_samples = 1000;
    o->max_time = 2.0;
    o->target_spread = 0.02;
    o->cpu_max_gflop = 20.0;
    o->emu_max_gflop = 2.0;
    o->ref_gflop = 2.0;
    o->ref_threads = attn_ref_threads_default();
    o->isolate = -1;
    o->timeout = 120.0;
    o->shard_n = 1;
}

/* ---------------------------------------------------------------- value readers */

int attn_parse_int(const char *s, int64_t *out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno) return -1;
    int64_t mul = 1;
    if (*end == 'k' || *end == 'K') mul = 1024, end++;
    else if (*end == 'm' || *end == 'M') mul = 1024 * 1024, end++;
    if (*end) return -1;
    if (v > INT64_MAX / mul || v < INT64_MIN / mul) return -1;
    *out = (int64_t)v * mul;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    if (!s || !*s) return -1;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !(v == v)) return -1;
    *out = v;
    return 0;
}

/* --backend: one of four names. */
static int parse_backend(const char *val, attn_opts_t *o, char *err, size_t n)
{
    if (strcmp(val, "cpu") && strcmp(val, "gpu") && strcmp(val, "all") && strcmp(val, "emu")) {
        snprintf(err, n, "--backend '%s': expected cpu, gpu, emu or all", val);
        return -1;
    }
    o->backend = val;
    return 0;
}

/* --shape: appended (read per suite by attn_build_cases). */
static int parse_shape(const char *val, attn_opts_t *o, char *err, size_t n)
{
    if (o->nshapes == ATTN_MAX_SHAPES) {
        snprintf(err, n, "more than %d --shape options", ATTN_MAX_SHAPES);
        return -1;
    }
    o->shapes[o->nshapes++] = val;
    return 0;
}

/* --axis k=a,b,c: appended, its values read now. */
static int parse_axis(const char *arg, attn_opts_t *o, char *err, size_t n)
{
    if (o->naxis == ATTN_MAX_AXES) {
        snprintf(err, n, "more than %d --axis options", ATTN_MAX_AXES);
        return -1;
    }
    attn_axis_override_t *a = &o->axis[o->naxis++];
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof a->name) {
        snprintf(err, n, "--axis '%s': expected NAME=v1,v2,...", arg);
        return -1;
    }
    memcpy(a->name, arg, (size_t)(eq - arg));
    a->name[eq - arg] = 0;
    /* a second --axis of the same name would silently replace the first */
    for (int k = 0; k < o->naxis - 1; k++)
        if (!strcmp(o->axis[k].name, a->name)) {
            snprintf(err, n, "--axis '%s': axis %s is given twice (list its values in one --axis)",
                     arg, a->name);
            return -1;
        }
    a->n = 0;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", eq + 1);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (a->n == ATTN_MAX_LIST) {
            snprintf(err, n, "--axis '%s': more than %d values", arg, ATTN_MAX_LIST);
            return -1;
        }
        if (attn_parse_int(t, &a->vals[a->n++])) {
            snprintf(err, n, "--axis '%s': '%s' is not an integer", arg, t);
            return -1;
        }
    }
    if (a->n == 0) {
        snprintf(err, n, "--axis '%s': no values", arg);
        return -1;
    }
    return 0;
}

/* --plugin PATH: kept in order; run.c loads them (bench/plugin.h). */
static int parse_plugin(const char *val, attn_opts_t *o, char *err, size_t n)
{
    if (!*val || o->nplugins == ATTN_MAX_PLUGIN_OPTS) {
        snprintf(err, n, "--plugin '%s': %s", val,
                 *val ? "more than 16 plugins" : "needs the path of a plugin library");
        return -1;
    }
    o->plugins[o->nplugins++] = val;
    return 0;
}

/* --shard "I/N": two decimal integers, 0 <= I < N <= 1000000. */
static int parse_shard(const char *val, attn_opts_t *o, char *err, size_t n)
{
    const char *p = val;
    long v[2];
    for (int k = 0; k < 2; k++) {
        if (*p < '0' || *p > '9') goto bad;
        v[k] = 0;
        while (*p >= '0' && *p <= '9') {
            v[k] = v[k] * 10 + (*p++ - '0');
            if (v[k] > 1000000) goto bad;
        }
        if (k == 0 && *p++ != '/') goto bad;
    }
    if (*p || v[1] < 1 || v[0] >= v[1]) goto bad;
    o->shard_i = (int)v[0], o->shard_n = (int)v[1];
    return 0;
bad:
    snprintf(err, n,
             "--shard '%s': expected I/N with 0 <= I < N <= 1000000 (0-based: with a Slurm job "
             "array --array=0-(N-1), use $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)",
             val);
    return -1;
}

/* ---------------------------------------------------------------- the table */

/* The table's entries by kind, as designated initialisers (fields left out are 0 / NULL).
 * F: the attn_opts_t field filled. */
#define FIELD(F) .off = offsetof(attn_opts_t, F), .size = sizeof(((attn_opts_t *)0)->F)
#define SET(NAME, F, SEC, HELP)                                                                    \
    {.name = NAME, .kind = ATTN_OPT_SET, FIELD(F), .section = SEC, .help = HELP}
#define CLEAR(NAME, F, SEC, HELP)                                                                  \
    {.name = NAME, .kind = ATTN_OPT_CLEAR, FIELD(F), .section = SEC, .help = HELP}
#define INT(NAME, ARG, F, MIN, MAX, SEC, HELP)                                                     \
    {.name = NAME, .kind = ATTN_OPT_INT, FIELD(F), .min = MIN, .max = MAX, .section = SEC,         \
     .arg = ARG, .help = HELP}
#define DOUBLE(NAME, ARG, F, MIN, MAX, SEC, HELP)                                                  \
    {.name = NAME, .kind = ATTN_OPT_DOUBLE, FIELD(F), .min = MIN, .max = MAX, .section = SEC,      \
     .arg = ARG, .help = HELP}
#define STRING(NAME, ARG, F, MINLEN, NEEDS, SEC, HELP)                                             \
    {.name = NAME, .kind = ATTN_OPT_STRING, FIELD(F), .min = MINLEN, .expect = NEEDS,              \
     .section = SEC, .arg = ARG, .help = HELP}
#define CALL(NAME, ARG, F, FN, SEC, HELP)                                                          \
    {.name = NAME, .kind = ATTN_OPT_CALL, FIELD(F), .parse = FN, .section = SEC, .arg = ARG,       \
     .help = HELP}

const attn_option_t attn_options[] = {
    /* Selection */
    SET("--list", list, ATTN_SEC_SELECT,
        "list suites, their axes and variants (with why a variant\n"
        "cannot run here), then exit"),
    SET("--markdown", markdown, ATTN_SEC_SELECT,
        "with --list: print a Markdown table of every suite and variant"),
    SET("--version", version, ATTN_SEC_SELECT,
        "print the version, the commit and the build id, then exit"),
    SET("--list-suites", list_suites, ATTN_SEC_SELECT,
        "print the suites' names, one a line, then exit"),
    SET("--list-check-shapes", list_check_shapes, ATTN_SEC_SELECT,
        "print the selected suites' check shapes (--check-shapes),\n"
        "one --shape value a line, then exit"),
    STRING("--suite", "NAME|all", suite, 0, NULL, ATTN_SEC_SELECT,
           "suite to run (default: all)"),
    STRING("--variant", "REGEX", variant_re, 0, NULL, ATTN_SEC_SELECT,
           "only variants whose name matches (POSIX extended regex)"),
    CALL("--backend", "B", backend, parse_backend, ATTN_SEC_SELECT,
         "cpu, gpu, all (cpu + gpu; the default) or emu: the GPU\n"
         "variants run in the host emulator (correctness and races,\n"
         "never timed)"),
    SET("--sweep", sweep, ATTN_SEC_SELECT,
        "the suite's default grid (the smaller CPU grid when no GPU\n"
        "variant can run, and for emu; never for --backend gpu)"),
    CALL("--shape", "k=v,...", shapes, parse_shape, ATTN_SEC_SELECT,
         "one case; axes not given take defaults or are derived;\n"
         "repeatable. Values take k/m suffixes (16k = 16384)"),
    CALL("--axis", "k=a,b,c", axis, parse_axis, ATTN_SEC_SELECT,
         "use these values for axis k (multiplies with the rest)"),
    SET("--check-shapes", check_shapes, ATTN_SEC_SELECT,
        "the suite's awkward cases (tile remainders, length 1, padding,\n"
        "borders) that every variant must pass; with --shape, added"),
    CALL("--plugin", "PATH.so", plugins, parse_plugin, ATTN_SEC_SELECT,
         "add the variants of a plugin library to their suites\n"
         "(include/attnbench/plugin.h, docs/own-kernel.md); repeatable,\n"
         "after those of ATTNBENCH_PLUGINS=a.so:b.so"),

    /* Checking and timing */
    SET("--check", check_only, ATTN_SEC_CHECK,
        "verify only, no timing; exit 1 if any variant fails"),
    INT("--seed", "N", seed, 0, ATTN_OPT_NO_LIMIT, ATTN_SEC_CHECK,
        "input seed (default 42)"),
    INT("--warmup", "N", warmup, 0, 1000000, ATTN_SEC_CHECK,
        "untimed runs before sampling (default 3)"),
    DOUBLE("--warmup-ms", "MS", warmup_ms, 0, 1e6, ATTN_SEC_CHECK,
           "GPU: also warm up until MS milliseconds of kernel time have\n"
           "run, so clocks have ramped up from idle (default 100)"),
    INT("--min-samples", "N", min_samples, 0, 1000000, ATTN_SEC_CHECK,
        "at least N timed samples (default 10)"),
    INT("--max-samples", "N", max_samples, 0, 1000000, ATTN_SEC_CHECK,
        "at most N timed samples (default 1000)"),
    DOUBLE("--max-time", "S", max_time, 0, INFINITY, ATTN_SEC_CHECK,
           "stop sampling after S seconds once --min-samples are in\n"
           "(default 2)"),
    DOUBLE("--target-spread", "F", target_spread, 0, INFINITY, ATTN_SEC_CHECK,
           "stop sampling once IQR/median < F (default 0.02)"),
    DOUBLE("--cpu-max-gflop", "G", cpu_max_gflop, 0, INFINITY, ATTN_SEC_CHECK,
           "CPU variants skip cases above G GFLOP (default 20)"),
    DOUBLE("--emu-max-gflop", "G", emu_max_gflop, 0, INFINITY, ATTN_SEC_CHECK,
           "emulated variants skip cases above G GFLOP (default 2)"),
    DOUBLE("--ref-gflop", "G", ref_gflop, 0, INFINITY, ATTN_SEC_CHECK,
           "reference budget per case: above it a deterministic sample\n"
           "of output rows is checked (default 2)"),
    INT("--ref-threads", "N", ref_threads, 1, ATTN_REF_MAX_THREADS, ATTN_SEC_CHECK,
        "threads computing a case's reference, 1 to 64 (default: the\n"
        "online CPUs, at most 64); 1: one call, on one thread"),
    INT("--device", "N", device, 0, 1000000, ATTN_SEC_CHECK,
        "CUDA device ordinal (default 0)"),
    SET("--calibrate", calibrate, ATTN_SEC_CHECK,
        "measure the device's ceilings (device-to-device copy GB/s,\n"
        "bf16 cuBLAS GEMM TFLOP/s), print them as peak_gbps=,\n"
        "peak_tflops= lines, and exit. A run that times GPU variants\n"
        "measures them first anyway (a few seconds) and adds\n"
        "pct_bw / pct_peak columns to its rows"),
    SET("--no-calibrate", no_calibrate, ATTN_SEC_CHECK,
        "do not measure the ceilings before timing"),

    /* Faults and many GPUs */
    SET("--isolate", isolate, ATTN_SEC_FAULTS,
        "run each case in a child process (the default for --sweep):\n"
        "a variant that crashes, hangs or loses the CUDA context is\n"
        "recorded as failed and the run goes on"),
    CLEAR("--no-isolate", isolate, ATTN_SEC_FAULTS,
          "run everything in this process (the default otherwise)"),
    {.name = "--timeout", .kind = ATTN_OPT_DOUBLE, FIELD(timeout), .min = 0, .min_open = 1,
     .max = 1e6, .expect = "a number of seconds above 0", .section = ATTN_SEC_FAULTS, .arg = "S",
     .help = "kill a case's process after S seconds without progress\n"
             "(no finished run, sample or row; default 120); implies\n"
             "--isolate (refused with --no-isolate)"},
    CALL("--shard", "I/N", shard_i, parse_shard, ATTN_SEC_FAULTS,
         "run only the cases whose index modulo N is I (0 <= I < N), e.g.\n"
         "--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with\n"
         "--array=0-(N-1); merge the outputs with attnbench merge"),

    /* Output */
    STRING("--csv", "PATH", csv, 1, "a path", ATTN_SEC_OUTPUT,
           "append rows to PATH ({suite} in PATH is replaced by the\n"
           "suite's name; missing directories are created, and said so;\n"
           "- is standard output, for one suite). Default: a new\n"
           "results/run-<time>/<suite>.csv for runs that time; none for\n"
           "--check"),
    STRING("--json", "PATH", json, 1, "a path", ATTN_SEC_OUTPUT,
           "also append every row to PATH as JSON Lines (docs/json.md)"),
    STRING("--md", "PATH", md, 1, "a path", ATTN_SEC_OUTPUT,
           "write a Markdown summary of the run to PATH at its end"),
    STRING("--dump", "DIR", dump, 1, "a directory", ATTN_SEC_OUTPUT,
           "write inputs, reference and outputs as .npy + manifest.json"),
    SET("--plan", plan, ATTN_SEC_OUTPUT,
        "print (or with --csv, write) the rows the run would write, with\n"
        "status 'planned', flops, bytes and the relative tolerance, and\n"
        "run nothing; a sweep plans the GPU grid (for peers scripts)"),
    SET("--no-plots", no_plots, ATTN_SEC_OUTPUT,
        "do not render plots after a sweep"),
    SET("--help", help, ATTN_SEC_OUTPUT,
        "this text"),
    SET("-h", help, ATTN_SEC_OUTPUT, NULL),
};
const int attn_noptions = (int)(sizeof attn_options / sizeof attn_options[0]);

#define MAX_OPTIONS 64 /* attn_parse_args' record of the options seen */
_Static_assert(sizeof attn_options / sizeof attn_options[0] <= MAX_OPTIONS, "raise MAX_OPTIONS");

/* ---------------------------------------------------------------- --help */

static const char *const section_title[ATTN_SEC_COUNT] = {
    [ATTN_SEC_SELECT] = "Selection",
    [ATTN_SEC_CHECK] = "Checking and timing",
    [ATTN_SEC_FAULTS] = "Faults and many GPUs",
    [ATTN_SEC_OUTPUT] = "Output",
};

enum { HELP_COL = 23 }; /* where an option's text starts */

/* "  --name ARG         text", its further lines indented to HELP_COL. */
static void print_option(FILE *f, const attn_option_t *op)
{
    int w = fprintf(f, "  %s%s%s", op->name, op->arg ? " " : "", op->arg ? op->arg : "");
    if (w >= HELP_COL) fputc('\n', f), w = 0; /* a long name: the text starts below it */
    fprintf(f, "%*s", HELP_COL - w, "");
    for (const char *p = op->help; *p; p++) {
        fputc(*p, f);
        if (*p == '\n') fprintf(f, "%*s", HELP_COL, "");
    }
    fputc('\n', f);
}

void attn_print_help(FILE *f)
{
    fputs(
        "usage: attnbench [options]\n"
        "       attnbench compare BASE.csv... [--] NEW.csv... [--fail-above PCT] [--allow-missing]\n"
        "                         [--noise PCT] [--plot FILE] [--json FILE]\n"
        "       attnbench merge [--skip-malformed] OUT.csv IN.csv...\n"
        "       attnbench floors [--device SUBSTRING] [--markdown FILE] CSV|DIR...\n"
        "       attnbench floors --cases\n"
        "       attnbench plots [--out DIR] CSV... [--baseline VARIANT]\n"
        "       attnbench report [--out DIR] [--baseline CSV]... CSV...\n"
        "       attnbench plots --heatmap DUMPDIR [--out DIR]\n"
        "\n"
        "Checks every selected variant against the CPU reference, then times it.\n"
        "compare: per row (suite, variant, backend, dtype, axes) the time ratio NEW/BASE with a\n"
        "noise-aware verdict (several files a side: repeated runs, their spread widens the band);\n"
        "--fail-above PCT exits 1 on a regression beyond PCT percent or a case timed in BASE and\n"
        "missing in NEW. Each command has its own --help.\n"
        "merge: the rows of CSVs with the same header (e.g. --shard outputs) into OUT.csv.\n"
        "floors: whether the speed floors (each suite's floors in suites/<name>.c) are met by\n"
        "the rows of results CSVs; exits 1 on a floor missed or without data.\n"
        "plots: the pictures of CSVs drawn together (e.g. a sweep's and the peers' of one suite),\n"
        "per suite, with its plot axis and panels; several CSVs are first combined into\n"
        "DIR/<suite>-combined.csv.\n"
        "report: one self-contained HTML page of CSVs (summary, failures, skips, every plot,\n"
        "provenance; with --baseline, compare's verdicts) as DIR/index.html.\n",
        f);
    for (int s = 0; s < ATTN_SEC_COUNT; s++) {
        fprintf(f, "\n%s\n", section_title[s]);
        for (int i = 0; i < attn_noptions; i++)
            if (attn_options[i].section == (attn_opt_section_t)s && attn_options[i].help)
                print_option(f, &attn_options[i]);
    }
    fputs("\n"
          "Exit status: 0 checked and all ok, 1 a variant failed (its check, a crash or a hang),\n"
          "2 bad usage, 3 nothing checked (every selected variant skipped: no device for\n"
          "--backend gpu, no emulator module for --backend emu, no case a variant takes),\n"
          "130/143 stopped by SIGINT/SIGTERM (the rows finished so far are in the CSV).\n",
          f);
}

/* ---------------------------------------------------------------- parsing */

static const attn_option_t *find_option(const char *name)
{
    for (int i = 0; i < attn_noptions; i++)
        if (!strcmp(attn_options[i].name, name)) return &attn_options[i];
    return NULL;
}

/* The refusal of an INT or DOUBLE value: "NAME 'VAL': expected ...", in the entry's words or
 * said from its range. */
static int out_of_range(const attn_option_t *op, const char *val, char *err, size_t n)
{
    const char *what = op->kind == ATTN_OPT_DOUBLE ? "number" : "integer";
    if (op->expect) snprintf(err, n, "%s '%s': expected %s", op->name, val, op->expect);
    else if (op->min == 0 && op->max >= ATTN_OPT_NO_LIMIT)
        snprintf(err, n, "%s '%s': expected a non-negative %s", op->name, val, what);
    else if (op->min == 0)
        snprintf(err, n, "%s '%s': expected a non-negative %s up to %.15g", op->name, val, what,
                 op->max);
    else
        snprintf(err, n, "%s '%s': expected %s from %.15g to %.15g", op->name, val,
                 op->kind == ATTN_OPT_DOUBLE ? "a number" : "an integer", op->min, op->max);
    return -1;
}

/* Reads val as op says and stores it in o. */
static int store_value(const attn_option_t *op, const char *val, attn_opts_t *o, char *err,
                       size_t n)
{
    char *field = (char *)o + op->off;
    int64_t iv;
    double dv;
    switch (op->kind) {
    case ATTN_OPT_INT:
        if (attn_parse_int(val, &iv) || (double)iv < op->min || (double)iv > op->max)
            return out_of_range(op, val, err, n);
        if (op->size == sizeof(uint64_t)) *(uint64_t *)(void *)field = (uint64_t)iv;
        else *(int *)(void *)field = (int)iv;
        return 0;
    case ATTN_OPT_DOUBLE:
        if (parse_double(val, &dv) || dv < op->min || (op->min_open && dv == op->min) ||
            dv > op->max)
            return out_of_range(op, val, err, n);
        *(double *)(void *)field = dv;
        return 0;
    case ATTN_OPT_STRING:
        if ((double)strlen(val) < op->min) {
            snprintf(err, n, "%s needs %s", op->name, op->expect);
            return -1;
        }
        *(const char **)(void *)field = val;
        return 0;
    case ATTN_OPT_CALL:
        return op->parse(val, o, err, n);
    case ATTN_OPT_SET:
    case ATTN_OPT_CLEAR:
        break;
    }
    snprintf(err, n, "%s: not an option with a value (internal error)", op->name);
    return -1;
}

/* "--name=value" or "--name": the name (cut at namelen - 1) and the value (NULL: none). */
static const char *split_arg(const char *a, char *name, size_t namelen)
{
    const char *eq = strchr(a, '=');
    size_t len = eq ? (size_t)(eq - a) : strlen(a);
    if (len >= namelen) len = namelen - 1;
    memcpy(name, a, len);
    name[len] = 0;
    return eq ? eq + 1 : NULL;
}

/* ---------------------------------------------------------------- validation */

/* Options that cannot be given together (each is checked only when both were seen). */
static const struct {
    const char *a, *b, *why;
} exclusive[] = {
    {"--sweep", "--check-shapes", ": a sweep runs the suite's grid"},
    {"--sweep", "--shape", ": a sweep runs the suite's grid"},
    {"--isolate", "--no-isolate", ""},
    {"--timeout", "--no-isolate", ": the timeout kills an isolated case's process"},
};

static int seen_option(const unsigned char *seen, const char *name)
{
    const attn_option_t *op = find_option(name);
    return op && seen[op - attn_options];
}

/* The options together, once all are read; seen[i]: attn_options[i] was given. */
static int validate(attn_opts_t *o, const unsigned char *seen, char *err, size_t n)
{
    if (o->min_samples < 1) o->min_samples = 1;
    if (o->max_samples < o->min_samples) {
        snprintf(err, n, "--max-samples %d is below --min-samples %d", o->max_samples,
                 o->min_samples);
        return -1;
    }
    for (size_t k = 0; k < sizeof exclusive / sizeof exclusive[0]; k++)
        if (seen_option(seen, exclusive[k].a) && seen_option(seen, exclusive[k].b)) {
            snprintf(err, n, "%s and %s are exclusive%s", exclusive[k].a, exclusive[k].b,
                     exclusive[k].why);
            return -1;
        }
    /* --timeout is only kept by an isolated run (the parent kills a silent child): it implies
     * --isolate rather than being ignored */
    if (seen_option(seen, "--timeout")) o->isolate = 1;
    return 0;
}

int attn_parse_args(int argc, char **argv, attn_opts_t *o, char *err, size_t n)
{
    unsigned char seen[MAX_OPTIONS] = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 && strcmp(a, "-h") != 0) {
            snprintf(err, n, "unexpected argument '%s'", a);
            return -1;
        }
        char name[64];
        const char *val = split_arg(a, name, sizeof name);
        const attn_option_t *op = find_option(name);
        if (!op) {
            snprintf(err, n, "unknown option '%s'", name);
            return -1;
        }
        seen[op - attn_options] = 1;
        if (op->kind == ATTN_OPT_SET || op->kind == ATTN_OPT_CLEAR) {
            if (val) {
                snprintf(err, n, "%s takes no value (got '%s')", name, a);
                return -1;
            }
            *(int *)(void *)((char *)o + op->off) = op->kind == ATTN_OPT_SET;
            continue;
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, n, "%s needs a value", name);
                return -1;
            }
            val = argv[++i];
        }
        if (store_value(op, val, o, err, n)) return -1;
    }
    return validate(o, seen, err, n);
}

int attn_in_shard(const attn_opts_t *o, long index)
{
    return o->shard_n <= 1 || index % o->shard_n == o->shard_i;
}

const char *attn_case_str(const attn_suite_t *s, const int64_t *v, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = 0;
    for (int i = 0; i < s->naxes && off < n; i++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s=%lld", i ? "," : "", s->axes[i].name,
                                (long long)v[i]);
    return buf;
}

static int check_range(const attn_suite_t *s, int i, int64_t x, const char *what, char *err,
                       size_t n)
{
    const attn_axis_t *a = &s->axes[i];
    if (x < a->min || x > a->max) {
        snprintf(err, n, "%s %s=%lld: %s must be in [%lld, %lld] (%s)", what, a->name,
                 (long long)x, a->name, (long long)a->min, (long long)a->max, a->help);
        return -1;
    }
    return 0;
}

/* "k=v,k=v" onto v (values range-checked). */
static int apply_shape(const attn_suite_t *s, const char *shape, int64_t *v, char *err, size_t n)
{
    char buf[1024];
    if (strlen(shape) >= sizeof buf) {
        snprintf(err, n, "--shape '%.40s...': too long", shape);
        return -1;
    }
    strcpy(buf, shape);
    char *save = NULL;
    int count = 0;
    unsigned char given[ATTN_MAX_AXES] = {0};
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save), count++) {
        char *eq = strchr(t, '=');
        if (!eq || eq == t) {
            snprintf(err, n, "--shape '%s': '%s' is not NAME=VALUE", shape, t);
            return -1;
        }
        *eq = 0;
        int i = attn_axis_index(s, t);
        if (i < 0) {
            int off = snprintf(err, n, "--shape '%s': suite %s has no axis '%s' (axes:", shape,
                               s->name, t);
            for (int k = 0; k < s->naxes && off > 0 && (size_t)off < n; k++)
                off += snprintf(err + off, n - (size_t)off, " %s", s->axes[k].name);
            if (off > 0 && (size_t)off < n) snprintf(err + off, n - (size_t)off, ")");
            return -1;
        }
        if (given[i]++) { /* the last value would silently win */
            snprintf(err, n, "--shape '%s': axis %s is given twice", shape, t);
            return -1;
        }
        int64_t x;
        if (attn_parse_int(eq + 1, &x)) {
            snprintf(err, n, "--shape '%s': %s='%s' is not an integer", shape, t, eq + 1);
            return -1;
        }
        if (check_range(s, i, x, "--shape", err, n)) return -1;
        v[i] = x;
    }
    if (count == 0) {
        snprintf(err, n, "--shape '%s': empty", shape);
        return -1;
    }
    return 0;
}

/* Defaults, then the suite's derivation, then every value range-checked. */
static int finish_case(const attn_suite_t *s, int64_t *v, char *err, size_t n)
{
    for (int i = 0; i < s->naxes; i++)
        if (v[i] == ATTN_UNSET && s->axes[i].def != ATTN_UNSET) v[i] = s->axes[i].def;
    if (s->derive && s->derive(s, v, err, n)) return -1;
    char cs[512];
    for (int i = 0; i < s->naxes; i++) {
        if (v[i] == ATTN_UNSET) {
            snprintf(err, n, "suite %s: axis %s has no value (internal error)", s->name,
                     s->axes[i].name);
            return -1;
        }
        if (check_range(s, i, v[i], "derived", err, n)) {
            size_t l = strlen(err);
            snprintf(err + l, n - l, " in case %s", attn_case_str(s, v, cs, sizeof cs));
            return -1;
        }
    }
    return 0;
}

int attn_build_cases(const attn_suite_t *s, const attn_opts_t *o, int cpu_grid, int64_t **out,
                     char *err, size_t n)
{
    const int na = s->naxes;
    /* Per axis: the list of values to take (count 0: leave unset). */
    int cnt[ATTN_MAX_AXES] = {0};
    const int64_t *vals[ATTN_MAX_AXES] = {0};
    for (int i = 0; i < na; i++) {
        const attn_axis_t *a = &s->axes[i];
        if (o->sweep) {
            if (cpu_grid && a->nsweep_cpu) cnt[i] = a->nsweep_cpu, vals[i] = a->sweep_cpu;
            else cnt[i] = a->nsweep, vals[i] = a->sweep;
        }
    }
    for (int k = 0; k < o->naxis; k++) {
        int i = attn_axis_index(s, o->axis[k].name);
        if (i < 0) {
            snprintf(err, n, "--axis %s: suite %s has no axis '%s'", o->axis[k].name, s->name,
                     o->axis[k].name);
            return -1;
        }
        for (int j = 0; j < o->axis[k].n; j++)
            if (check_range(s, i, o->axis[k].vals[j], "--axis", err, n)) return -1;
        cnt[i] = o->axis[k].n, vals[i] = o->axis[k].vals;
    }
    /* Bases: each --shape and, with --check-shapes, each of the suite's check shapes; else one
     * all-unset case. */
    const char *bases[ATTN_MAX_SHAPES + 64];
    int nbase = 0;
    for (int k = 0; k < o->nshapes; k++) bases[nbase++] = o->shapes[k];
    if (o->check_shapes) {
        if (!s->check_shapes || !s->check_shapes[0]) {
            snprintf(err, n, "--check-shapes: suite %s declares no check shapes", s->name);
            return -1;
        }
        for (int k = 0; s->check_shapes[k]; k++) {
            if (nbase == (int)(sizeof bases / sizeof bases[0])) {
                snprintf(err, n, "--check-shapes: suite %s has more than %d check shapes",
                         s->name, (int)(sizeof bases / sizeof bases[0]) - o->nshapes);
                return -1;
            }
            bases[nbase++] = s->check_shapes[k];
        }
    }
    const int given = nbase > 0;
    if (!given) nbase = 1;
    size_t total = (size_t)nbase;
    for (int i = 0; i < na; i++)
        if (cnt[i]) total *= (size_t)cnt[i];
    if (total > 100000) {
        snprintf(err, n, "%zu cases selected: more than 100000", total);
        return -1;
    }
    int64_t *cases = malloc(total * (size_t)na * sizeof *cases);
    if (!cases) {
        snprintf(err, n, "out of memory building %zu cases", total);
        return -1;
    }
    size_t c = 0;
    for (int b = 0; b < nbase; b++) {
        int64_t base[ATTN_MAX_AXES];
        for (int i = 0; i < na; i++) base[i] = ATTN_UNSET;
        if (given && apply_shape(s, bases[b], base, err, n)) goto fail;
        /* Odometer over the listed axes; the first axis varies slowest. */
        int idx[ATTN_MAX_AXES] = {0};
        for (;;) {
            int64_t *v = cases + c * (size_t)na;
            for (int i = 0; i < na; i++) v[i] = cnt[i] ? vals[i][idx[i]] : base[i];
            if (finish_case(s, v, err, n)) goto fail;
            if (!o->sweep || !s->in_sweep || s->in_sweep(s, v)) c++; /* else: overwritten next */
            int i = na - 1;
            for (; i >= 0; i--) {
                if (!cnt[i]) continue;
                if (++idx[i] < cnt[i]) break;
                idx[i] = 0;
            }
            if (i < 0) break;
        }
    }
    *out = cases;
    return (int)c;
fail:
    free(cases);
    return -1;
}
