#include <stdio.h>

#include "cli.h"
#include "refpool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void attn_opts_init(attn_opts_t *o)
{
    memset(o, 0, sizeof *o);
    o->suite = "all";
    o->backend = "all";
    o->seed = 42;
    o->warmup = 3;
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

void attn_print_help(FILE *f)
{
    fputs(
        "usage: attnbench [options]\n"
        "       attnbench compare BASE.csv NEW.csv [--fail-above PCT] [--noise PCT] [--plot FILE]\n"
        "       attnbench merge OUT.csv IN.csv...\n"
        "       attnbench floors [--device SUBSTRING] [--markdown FILE] CSV|DIR...\n"
        "       attnbench plots [--out DIR] CSV...\n"
        "\n"
        "Checks every selected variant against the CPU reference, then times it.\n"
        "compare: per row (suite, variant, backend, dtype, axes) the time ratio NEW/BASE with a\n"
        "noise-aware verdict; --fail-above PCT exits 1 on a regression beyond PCT percent.\n"
        "merge: the rows of CSVs with the same header (e.g. --shard outputs) into OUT.csv.\n"
        "floors: whether the speed floors (each suite's floors in suites/<name>.c) are met by the rows of results CSVs;\n"
        "exits 1 on a floor missed or without data.\n"
        "plots: the pictures of CSVs drawn together (e.g. a sweep's and the peers' of one suite),\n"
        "per suite, with its plot axis and panels; several CSVs are first combined into\n"
        "DIR/<suite>-combined.csv.\n"
        "\n"
        "Selection\n"
        "  --list               list suites, their axes and variants (with why a variant\n"
        "                       cannot run here), then exit\n"
        "  --list --markdown    the variants as a Markdown table (suite, variant, backend,\n"
        "                       dtype, about, status), the same on every machine\n"
        "  --list-suites        print the suites' names, one a line, then exit\n"
        "  --suite NAME|all     suite to run (default: all)\n"
        "  --variant REGEX      only variants whose name matches (POSIX extended regex)\n"
        "  --backend B          cpu, gpu, all (cpu + gpu; the default) or emu: the GPU\n"
        "                       variants run in the host emulator (correctness and races,\n"
        "                       never timed)\n"
        "  --sweep              the suite's default grid (the smaller CPU grid when no GPU\n"
        "                       variant can run)\n"
        "  --shape k=v,...      one case; axes not given take defaults or are derived;\n"
        "                       repeatable. Values take k/m suffixes (16k = 16384)\n"
        "  --axis k=a,b,c       use these values for axis k (multiplies with the rest)\n"
        "  --check-shapes       the suite's awkward cases (tile remainders, length 1, padding,\n"
        "                       borders) that every variant must pass; with --shape, added\n"
        "\n"
        "Checking and timing\n"
        "  --check              verify only, no timing; exit 1 if any variant fails\n"
        "  --seed N             input seed (default 42)\n"
        "  --warmup N           untimed runs before sampling (default 3)\n"
        "  --min-samples N      at least N timed samples (default 10)\n"
        "  --max-samples N      at most N timed samples (default 1000)\n"
        "  --max-time S         stop sampling after S seconds once --min-samples are in\n"
        "                       (default 2)\n"
        "  --target-spread F    stop sampling once IQR/median < F (default 0.02)\n"
        "  --cpu-max-gflop G    CPU variants skip cases above G GFLOP (default 20)\n"
        "  --emu-max-gflop G    emulated variants skip cases above G GFLOP (default 2)\n"
        "  --ref-gflop G        reference budget per case: above it a deterministic sample\n"
        "                       of output rows is checked (default 2)\n"
        "  --ref-threads N      threads computing a case's reference, 1 to 64 (default: the\n"
        "                       online CPUs, at most 64); 1: one call, on one thread\n"
        "  --device N           CUDA device ordinal (default 0)\n"
        "  --calibrate          measure the device's ceilings (device-to-device copy GB/s,\n"
        "                       bf16 cuBLAS GEMM TFLOP/s), print them as peak_gbps=,\n"
        "                       peak_tflops= lines, and exit. A run that times GPU variants\n"
        "                       measures them first anyway (a few seconds) and adds\n"
        "                       pct_bw / pct_peak columns to its rows\n"
        "  --no-calibrate       do not measure the ceilings before timing\n"
        "\n"
        "Faults and many GPUs\n"
        "  --isolate            run each case in a child process (the default for --sweep):\n"
        "                       a variant that crashes, hangs or loses the CUDA context is\n"
        "                       recorded as failed and the run goes on\n"
        "  --no-isolate         run everything in this process (the default otherwise)\n"
        "  --timeout S          isolated: kill a case's process after S seconds without progress\n"
        "                       (no finished run, sample or row; default 120)\n"
        "  --shard I/N          run only the cases whose index modulo N is I (0 <= I < N), e.g.\n"
        "                       --shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT with\n"
        "                       --array=0-(N-1); merge the outputs with attnbench merge\n"
        "\n"
        "Output\n"
        "  --csv PATH           append rows to PATH ({suite} in PATH is replaced by the\n"
        "                       suite's name). Default: results/run-<time>/<suite>.csv for\n"
        "                       runs that time; none for --check\n"
        "  --dump DIR           write inputs, reference and outputs as .npy + manifest.json\n"
        "  --plan               print (or with --csv, write) the rows the run would write, with\n"
        "                       status 'planned', flops, bytes and the relative tolerance, and\n"
        "                       run nothing; a sweep plans the GPU grid (for peers scripts)\n"
        "  --no-plots           do not render plots after a sweep\n"
        "  --help               this text\n"
        "\n"
        "Exit status: 0 all ok, 1 a variant failed (its check, a crash or a hang), 2 bad usage,\n"
        "130/143 stopped by SIGINT/SIGTERM (the rows finished so far are in the CSV).\n",
        f);
}

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

/* "I/N": two decimal integers, 0 <= I < N <= 1000000. */
static int parse_shard(const char *s, int *i, int *nn)
{
    const char *p = s;
    long v[2];
    for (int k = 0; k < 2; k++) {
        if (*p < '0' || *p > '9') return -1;
        v[k] = 0;
        while (*p >= '0' && *p <= '9') {
            v[k] = v[k] * 10 + (*p++ - '0');
            if (v[k] > 1000000) return -1;
        }
        if (k == 0 && *p++ != '/') return -1;
    }
    if (*p || v[1] < 1 || v[0] >= v[1]) return -1;
    *i = (int)v[0], *nn = (int)v[1];
    return 0;
}

/* --axis k=a,b,c */
static int parse_axis(const char *arg, attn_axis_override_t *a, char *err, size_t n)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof a->name) {
        snprintf(err, n, "--axis '%s': expected NAME=v1,v2,...", arg);
        return -1;
    }
    memcpy(a->name, arg, (size_t)(eq - arg));
    a->name[eq - arg] = 0;
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

/* Each option: name, whether it takes a value, and where it goes. */
int attn_parse_args(int argc, char **argv, attn_opts_t *o, char *err, size_t n)
{
    int isolate_on = 0, isolate_off = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 && strcmp(a, "-h") != 0) {
            snprintf(err, n, "unexpected argument '%s'", a);
            return -1;
        }
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, a, len);
        name[len] = 0;
        if (eq) val = eq + 1;

        /* flags */
        int *flag = !strcmp(name, "--help")    ? &o->help
                    : !strcmp(name, "--list")  ? &o->list
                    : !strcmp(name, "--sweep") ? &o->sweep
                    : !strcmp(name, "--check") ? &o->check_only
                    : !strcmp(name, "--no-plots") ? &o->no_plots
                    : !strcmp(name, "--plan") ? &o->plan
                    : !strcmp(name, "--check-shapes") ? &o->check_shapes
                    : !strcmp(name, "--list-suites") ? &o->list_suites
                    : !strcmp(name, "--markdown") ? &o->markdown
                    : !strcmp(name, "--calibrate") ? &o->calibrate
                    : !strcmp(name, "--no-calibrate") ? &o->no_calibrate
                    : !strcmp(name, "--isolate") ? &isolate_on
                    : !strcmp(name, "--no-isolate") ? &isolate_off
                                                 : NULL;
        if (!strcmp(name, "-h")) flag = &o->help;
        if (flag) {
            if (val) {
                snprintf(err, n, "%s takes no value (got '%s')", name, a);
                return -1;
            }
            *flag = 1;
            continue;
        }
        static const char *const with_value[] = {
            "--suite", "--variant", "--backend", "--shape", "--axis", "--csv", "--dump",
            "--seed", "--warmup", "--min-samples", "--max-samples", "--max-time",
            "--target-spread", "--cpu-max-gflop", "--emu-max-gflop", "--ref-gflop", "--device",
            "--timeout", "--shard", "--ref-threads", NULL};
        int known = 0;
        for (int k = 0; with_value[k]; k++) known |= !strcmp(name, with_value[k]);
        if (!known) {
            snprintf(err, n, "unknown option '%s'", name);
            return -1;
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, n, "%s needs a value", name);
                return -1;
            }
            val = argv[++i];
        }
        int64_t iv;
        double dv;
        if (!strcmp(name, "--suite")) o->suite = val;
        else if (!strcmp(name, "--variant")) o->variant_re = val;
        else if (!strcmp(name, "--backend")) {
            if (strcmp(val, "cpu") && strcmp(val, "gpu") && strcmp(val, "all") && strcmp(val, "emu")) {
                snprintf(err, n, "--backend '%s': expected cpu, gpu, emu or all", val);
                return -1;
            }
            o->backend = val;
        } else if (!strcmp(name, "--shape")) {
            if (o->nshapes == ATTN_MAX_SHAPES) {
                snprintf(err, n, "more than %d --shape options", ATTN_MAX_SHAPES);
                return -1;
            }
            o->shapes[o->nshapes++] = val;
        } else if (!strcmp(name, "--axis")) {
            if (o->naxis == ATTN_MAX_AXES) {
                snprintf(err, n, "more than %d --axis options", ATTN_MAX_AXES);
                return -1;
            }
            if (parse_axis(val, &o->axis[o->naxis++], err, n)) return -1;
        } else if (!strcmp(name, "--csv")) {
            if (!*val) { snprintf(err, n, "--csv needs a path"); return -1; }
            o->csv = val;
        } else if (!strcmp(name, "--dump")) {
            if (!*val) { snprintf(err, n, "--dump needs a directory"); return -1; }
            o->dump = val;
        } else if (!strcmp(name, "--shard")) {
            if (parse_shard(val, &o->shard_i, &o->shard_n)) {
                snprintf(err, n,
                         "--shard '%s': expected I/N with 0 <= I < N <= 1000000 (0-based: with a "
                         "Slurm job array --array=0-(N-1), use "
                         "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT)",
                         val);
                return -1;
            }
        } else if (!strcmp(name, "--ref-threads")) {
            if (attn_parse_int(val, &iv) || iv < 1 || iv > ATTN_REF_MAX_THREADS) {
                snprintf(err, n, "--ref-threads '%s': expected an integer from 1 to %d", val,
                         ATTN_REF_MAX_THREADS);
                return -1;
            }
            o->ref_threads = (int)iv;
        } else if (!strcmp(name, "--timeout")) {
            if (parse_double(val, &dv) || !(dv > 0) || dv > 1e6) {
                snprintf(err, n, "--timeout '%s': expected a number of seconds above 0", val);
                return -1;
            }
            o->timeout = dv;
        } else if (!strcmp(name, "--max-time") || !strcmp(name, "--target-spread") ||
                   !strcmp(name, "--cpu-max-gflop") || !strcmp(name, "--emu-max-gflop") ||
                   !strcmp(name, "--ref-gflop")) {
            if (parse_double(val, &dv) || dv < 0) {
                snprintf(err, n, "%s '%s': expected a non-negative number", name, val);
                return -1;
            }
            if (!strcmp(name, "--max-time")) o->max_time = dv;
            else if (!strcmp(name, "--target-spread")) o->target_spread = dv;
            else if (!strcmp(name, "--cpu-max-gflop")) o->cpu_max_gflop = dv;
            else if (!strcmp(name, "--emu-max-gflop")) o->emu_max_gflop = dv;
            else o->ref_gflop = dv;
        } else { /* integer options */
            if (attn_parse_int(val, &iv) || iv < 0 || (strcmp(name, "--seed") && iv > 1000000)) {
                snprintf(err, n, "%s '%s': expected a non-negative integer%s", name, val,
                         strcmp(name, "--seed") ? " up to 1000000" : "");
                return -1;
            }
            if (!strcmp(name, "--seed")) o->seed = (uint64_t)iv;
            else if (!strcmp(name, "--warmup")) o->warmup = (int)iv;
            else if (!strcmp(name, "--min-samples")) o->min_samples = (int)iv;
            else if (!strcmp(name, "--max-samples")) o->max_samples = (int)iv;
            else o->device = (int)iv;
        }
    }
    if (o->min_samples < 1) o->min_samples = 1;
    if (o->max_samples < o->min_samples) {
        snprintf(err, n, "--max-samples %d is below --min-samples %d", o->max_samples,
                 o->min_samples);
        return -1;
    }
    if (o->sweep && o->check_shapes) {
        snprintf(err, n, "--sweep and --check-shapes are exclusive: a sweep runs the suite's grid");
        return -1;
    }
    if (o->sweep && o->nshapes) {
        snprintf(err, n, "--sweep and --shape are exclusive: a sweep runs the suite's grid");
        return -1;
    }
    if (isolate_on && isolate_off) {
        snprintf(err, n, "--isolate and --no-isolate are exclusive");
        return -1;
    }
    if (isolate_on || isolate_off) o->isolate = isolate_on;
    return 0;
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
