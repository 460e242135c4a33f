/* The run: parse → load (suites, variants, device) → compute (cases) → print. What one case does
 * is in run_case.c, isolated cases in run_isolated.c; bench/runner.h lists the run's files.
 * The steps below return -1 to go on, else the exit status (attn_exit_t in run.h: 0 checked and
 * all ok, 1 a variant failed its check or no device, 2 bad usage, 3 nothing checked; 128 + signal
 * when stopped). */
#include "run.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compare.h"
#include "emu.h"
#include "floors.h"
#include "list.h"
#include "merge.h"
#include "outputs.h"
#include "plots.h"
#include "plugin.h"
#include "report.h"
#include "progress.h"
#include "runner.h"

#ifndef ATTN_SOURCE_ROOT
#define ATTN_SOURCE_ROOT "."
#endif

#define MAX_SUITES 64

volatile sig_atomic_t attn_stop_signal;

static attn_outputs_t outputs; /* --json, --md: fed by the CSVs' mirror */

/* A second SIGINT / SIGTERM ends the process at once (rows are written whole, so the CSV stays
 * valid either way). */
static void on_stop_signal(int sig)
{
    if (attn_stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    attn_stop_signal = sig;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "attnbench: %s\n(see attnbench --help)\n", msg);
    return ATTN_EXIT_USAGE;
}

/* ---------------------------------------------------------------- provenance */

extern const char attn_build_commit[]; /* generated: bench/version.c.in */
extern const char attn_build_id[];     /* generated: tools/build_id.py */

static void read_cmd(const char *cmd, char *out, size_t n)
{
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fgets(out, (int)n, p)) out[strcspn(out, "\r\n")] = 0;
    pclose(p);
}

static void git_commit(run_t *r)
{
    const char *g = getenv("ATTNBENCH_GIT_COMMIT");
    if (g) {
        snprintf(r->git, sizeof r->git, "%s", g);
        return;
    }
    char dirty[8];
    read_cmd("git -C '" ATTN_SOURCE_ROOT "' rev-parse --short=12 HEAD 2>/dev/null", r->git,
             sizeof r->git);
    read_cmd("git -C '" ATTN_SOURCE_ROOT "' status --porcelain --untracked-files=no "
             "2>/dev/null | head -c 1",
             dirty, sizeof dirty);
    if (!r->git[0]) /* no .git here (a carried copy): the commit it was built from */
        snprintf(r->git, sizeof r->git, "%s", attn_build_commit);
    else if (dirty[0]) strncat(r->git, "-dirty", sizeof r->git - strlen(r->git) - 1);
}

static void provenance(run_t *r)
{
    git_commit(r);
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(r->stamp, sizeof r->stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    strftime(r->run_dir, sizeof r->run_dir, "results/run-%Y%m%d-%H%M%S", &tm);
    snprintf(r->cpu_name, sizeof r->cpu_name, "CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10)) continue;
        char *c = strchr(line, ':');
        if (c) {
            c += 1 + (c[1] == ' ');
            c[strcspn(c, "\n")] = 0;
            snprintf(r->cpu_name, sizeof r->cpu_name, "CPU %s", c);
        }
        break;
    }
    if (f) fclose(f);
}

/* ---------------------------------------------------------------- parse and load */

/* The options; the modes that need nothing more (--help, --calibrate, --list-suites) end here. */
static int parse(run_t *r, int argc, char **argv)
{
    char err[1024];
    r->child_fd = -1;
    attn_opts_init(&r->o);
    if (attn_parse_args(argc, argv, &r->o, err, sizeof err)) return usage_error(err);
    if (r->o.help) {
        attn_print_help(stdout);
        return 0;
    }
    if (r->o.calibrate) return run_calibrate_main(r);
    if (r->o.version) {
        printf("attnbench %s commit %s build-id %s\n", ATTN_VERSION, attn_build_commit, attn_build_id);
        return 0;
    }
    /* before anything lists or runs a suite: plugin rows join their suites (bench/plugin.h) */
    if (attn_plugins_load(r->o.plugins, r->o.nplugins, err, sizeof err)) return usage_error(err);
    if (r->o.list_suites) { /* for scripts: one name a line, in --list order */
        for (int i = 0; attn_suites[i]; i++) printf("%s\n", attn_suites[i]->name);
        return 0;
    }
    if (r->o.markdown && !r->o.list) return usage_error("--markdown goes with --list");
    r->isolate = r->o.isolate < 0 ? r->o.sweep : r->o.isolate;
    return -1;
}

static int load_suites(run_t *r, const attn_suite_t **suites, int *ns)
{
    *ns = 0;
    for (int i = 0; attn_suites[i] && *ns < MAX_SUITES; i++)
        if (!strcmp(r->o.suite, "all") || !strcmp(r->o.suite, attn_suites[i]->name))
            suites[(*ns)++] = attn_plugin_suite(attn_suites[i]);
    if (*ns) return -1;
    char err[1024];
    int off = snprintf(err, sizeof err, "unknown suite '%s' (known: all", r->o.suite);
    for (int i = 0; attn_suites[i]; i++)
        off += snprintf(err + off, sizeof err - (size_t)off, ", %s", attn_suites[i]->name);
    snprintf(err + off, sizeof err - (size_t)off, ")");
    return usage_error(err);
}

/* The selection and its executors. want_gpu: a GPU variant is selected; want_device: one whose
 * executor needs the device. */
static int load_variants(run_t *r, const attn_suite_t *const *suites, int ns, int *want_gpu,
                         int *want_device)
{
    char err[1024];
    if (attn_select_init(&r->sel, &r->o, &r->dev, err, sizeof err)) return usage_error(err);
    int nsel = 0;
    *want_gpu = *want_device = 0;
    for (int k = 0; k < ns; k++)
        for (int j = 0; j < suites[k]->nvariants; j++) {
            const attn_variant_t *x = &suites[k]->variants[j];
            if (!attn_selected(&r->sel, x)) continue;
            nsel++;
            *want_gpu |= x->backend == ATTN_GPU;
            *want_device |= attn_exec_of(&r->sel, x)->uses_device;
        }
    if (nsel) return -1;
    int off = snprintf(err, sizeof err, "no variant matches --variant '%s' --backend %s (variants:",
                       r->o.variant_re ? r->o.variant_re : "", r->o.backend);
    for (int k = 0; k < ns; k++)
        for (int j = 0; j < suites[k]->nvariants && off < (int)sizeof err; j++)
            off += snprintf(err + off, sizeof err - (size_t)off, " %s", suites[k]->variants[j].name);
    if (off < (int)sizeof err) snprintf(err + off, sizeof err - (size_t)off, ")");
    return usage_error(err);
}

/* Open (or, isolated, probe) the device when a selected variant needs it; else say why not. */
static void load_device(run_t *r, int want_device)
{
    r->calibrate = want_device && !r->o.check_only && !r->o.no_calibrate && !r->o.list;
    if (r->o.plan) {
        snprintf(r->dev.reason, sizeof r->dev.reason, "GPU not used (--plan)");
    } else if (want_device) {
        if (r->isolate) run_probe_device(r);
        else if (attn_gpu_open(&r->dev, r->o.device) == 0 && r->calibrate) run_calibrate(&r->dev);
    } else {
        snprintf(r->dev.reason, sizeof r->dev.reason, "GPU not used (--backend %s)",
                 strcmp(r->o.backend, "emu") ? "cpu" : "emu");
    }
}

/* A stale emulator module (built from other sources than this program) is refused outright:
 * it would check old kernels (bench/emu.h). A module that cannot be loaded leaves nothing to
 * check under --backend emu (every selected variant is emulated): exit 3, saying why. Returns -1
 * to go on, else the exit status. */
static int load_emulator(run_t *r)
{
    char why[512];
    if (strcmp(r->o.backend, "emu") || r->o.plan || r->o.list) return -1;
    const int rc = attn_emu_open(why, sizeof why);
    if (rc == -2) return usage_error(why);
    if (rc == 0) return -1;
    fprintf(stderr, "attnbench: nothing checked: --backend emu runs only emulated variants, and "
                    "the emulator module cannot be loaded (%s)\n", why);
    return ATTN_EXIT_UNCHECKED;
}

/* ---------------------------------------------------------------- compute */

/* The cases of every suite, built (and rejected) before anything runs, on the GPU grid only when
 * some selected GPU variant can run here (a plan: whenever one is selected). With --shard, case g
 * (counted over the suites in order) is this run's when g % N == I: nmine[k] of suite k's. */
static int build_cases(run_t *r, const attn_suite_t *const *suites, int ns, int want_gpu,
                       int64_t **cases, int *ncases, int *nmine)
{
    char err[1024];
    int gpu_runnable = 0, total = 0, mine = 0;
    for (int k = 0; k < ns; k++)
        for (int j = 0; j < suites[k]->nvariants; j++) {
            const attn_variant_t *x = &suites[k]->variants[j];
            gpu_runnable |= attn_selected(&r->sel, x) && attn_exec_of(&r->sel, x)->uses_device &&
                            !attn_unavailable(&r->sel, suites[k], x);
        }
    /* --backend gpu asks for the GPU grid: without a device its rows are skips on that grid
     * (the exit status says nothing was checked), never a quiet run of the CPU grid with another
     * shard split. Emulation runs the CPU grid: the emulator is slow. */
    const int gpu_only = !strcmp(r->o.backend, "gpu");
    const int cpu_grid = r->o.plan ? !want_gpu : !gpu_only && !gpu_runnable;
    if (r->o.sweep && !r->o.plan) {
        if (!strcmp(r->o.backend, "emu"))
            fprintf(stderr, "attnbench: --backend emu: running the smaller CPU sweep grid (the "
                            "GPU variants run in the host emulator, checked and never timed)\n");
        else if (gpu_only && !gpu_runnable)
            fprintf(stderr, "attnbench: --backend gpu: %s: the GPU sweep grid is recorded as "
                            "skipped (no fallback to the CPU grid)\n", r->dev.reason);
        else if (cpu_grid && want_gpu)
            fprintf(stderr, "attnbench: %s: running the smaller CPU sweep grid (CPU variants "
                            "only; GPU variants are recorded as skipped)\n", r->dev.reason);
        else if (cpu_grid)
            fprintf(stderr, "attnbench: running the smaller CPU sweep grid (CPU variants only)\n");
    }
    for (int k = 0; k < ns; k++) {
        ncases[k] = attn_build_cases(suites[k], &r->o, cpu_grid, &cases[k], err, sizeof err);
        if (ncases[k] < 0) return usage_error(err);
        nmine[k] = 0;
        for (int i = 0; i < ncases[k]; i++) nmine[k] += attn_in_shard(&r->o, total++);
        mine += nmine[k];
    }
    if (r->o.shard_n > 1)
        fprintf(stderr, "attnbench: shard %d/%d: %d of %d cases\n", r->o.shard_i, r->o.shard_n,
                mine, total);
    return -1;
}

/* --csv PATH for suite s of ns: {suite} replaced, else -<suite> before the extension when several
 * suites run; "-" (standard output) as it is; without --csv, results/run-<time>/<suite>.csv. */
static void csv_path(const run_t *r, const attn_suite_t *s, int ns, char *out, size_t n)
{
    const char *p = r->o.csv;
    const char *at = p ? strstr(p, "{suite}") : NULL;
    if (!p) snprintf(out, n, "%s/%s.csv", r->run_dir, s->name);
    else if (!strcmp(p, "-")) snprintf(out, n, "-");
    else if (at) snprintf(out, n, "%.*s%s%s", (int)(at - p), p, s->name, at + 7);
    else if (ns > 1) {
        const char *dot = strrchr(p, '.');
        const char *sl = strrchr(p, '/');
        if (dot && (!sl || dot > sl)) snprintf(out, n, "%.*s-%s%s", (int)(dot - p), p, s->name, dot);
        else snprintf(out, n, "%s-%s", p, s->name);
    } else snprintf(out, n, "%s", p);
}

/* Results files and the --dump manifest: opened (and refused) before anything runs. */
static int open_outputs(run_t *r, const attn_suite_t *const *suites, int ns, attn_csv_t *csv,
                        char (*paths)[1024])
{
    char err[1024];
    const int want_csv = r->o.csv || (!r->o.check_only && !r->o.plan);
    const int to_stdout = r->o.csv && !strcmp(r->o.csv, "-");
    if (to_stdout && ns > 1)
        return usage_error("--csv -: standard output takes the rows of one suite (their headers "
                           "differ); name one with --suite, or use --csv 'DIR/{suite}.csv'");
    /* a run directory of its own, even for runs started in the same second */
    if (want_csv && !r->o.csv && attn_mkdir_unique(r->run_dir, sizeof r->run_dir)) {
        fprintf(stderr, "attnbench: cannot create the run directory %s: %s\n", r->run_dir,
                strerror(errno));
        return ATTN_EXIT_USAGE;
    }
    for (int k = 0; k < ns; k++) {
        csv[k].fd = -1;
        if (!want_csv) continue;
        csv_path(r, suites[k], ns, paths[k], sizeof paths[k]);
        attn_row_t h;
        attn_row_init(&h);
        attn_csv_header(suites[k], &h);
        int rc = attn_csv_open(&csv[k], paths[k], h.buf, err, sizeof err);
        attn_row_free(&h);
        if (rc) {
            for (int j = 0; j < k; j++) attn_csv_close(&csv[j]);
            fprintf(stderr, "attnbench: %s\n", err);
            return ATTN_EXIT_USAGE;
        }
        if (csv[k].created_dir && r->o.csv)
            fprintf(stderr, "attnbench: --csv: created the missing directories of %s\n",
                    paths[k]);
    }
    /* --csv -: standard output carries the rows alone; the lines printed per row go to stderr */
    if (to_stdout && want_csv) {
        fflush(stdout);
        dup2(STDERR_FILENO, STDOUT_FILENO);
    }
    if (r->o.dump && run_dump_open(r)) return ATTN_EXIT_USAGE;
    /* --json, --md: every row the CSV gets, also when a --check run writes none */
    if (!r->o.json && !r->o.md) return -1;
    if (attn_outputs_open(&outputs, r->o.json, r->o.md, err, sizeof err)) {
        for (int k = 0; k < ns; k++) attn_csv_close(&csv[k]);
        fprintf(stderr, "attnbench: %s\n", err);
        return ATTN_EXIT_USAGE;
    }
    for (int k = 0; k < ns; k++) {
        attn_row_t h;
        attn_row_init(&h);
        attn_csv_header(suites[k], &h);
        csv[k].header = h.buf; /* kept for the run */
        csv[k].mirror = attn_outputs_row;
        csv[k].mirror_ctx = &outputs;
    }
    return -1;
}

/* --json closed, --md written (naming the run's CSV files), the CSVs' copies of their headers
 * freed; the exit status rc, or 2 when --md failed and rc was 0. Call before closing the CSVs. */
static int close_outputs(attn_csv_t *csv, int ns, int rc)
{
    if (!outputs.use_json && !outputs.md) return rc;
    const char *names[MAX_SUITES];
    int nn = 0;
    for (int k = 0; k < ns; k++) {
        if (csv[k].fd >= 0 && !csv[k].to_stdout) names[nn++] = csv[k].path;
        free(csv[k].header);
        csv[k].header = NULL, csv[k].mirror = NULL;
    }
    const int st = attn_outputs_close(&outputs, names, nn);
    return rc ? rc : st;
}

/* --plan: per suite the header (on stdout without --csv) and the planned rows of its cases. */
static int plan(run_t *r, const attn_suite_t *const *suites, int ns, int64_t **cases,
                const int *ncases, attn_csv_t *csv)
{
    long g = 0;
    for (int k = 0; k < ns; k++) {
        attn_csv_t *c = attn_csv_active(&csv[k]) ? &csv[k] : NULL;
        if (csv[k].fd < 0) {
            attn_row_t h;
            attn_row_init(&h);
            attn_csv_header(suites[k], &h);
            printf("%s\n", h.buf);
            attn_row_free(&h);
        }
        for (int i = 0; i < ncases[k]; i++) {
            if (!attn_in_shard(&r->o, g++)) continue;
            run_plan_rows(r, suites[k], cases[k] + (size_t)i * (size_t)suites[k]->naxes, c);
        }
        free(cases[k]);
        if (csv[k].fd >= 0) {
            fprintf(stderr, "plan: %s\n", c->path);
            attn_csv_close(c);
        }
    }
    fflush(stdout);
    return close_outputs(csv, ns, 0);
}

/* Every case of this shard, in process or isolated, until done or a stop signal. */
static void compute(run_t *r, const attn_suite_t *const *suites, int ns, int64_t **cases,
                    const int *ncases, const int *nmine, attn_csv_t *csv)
{
    if (r->dev.usable)
        fprintf(stderr, "device: %s (sm_%d, driver %d, runtime %d)\n", r->dev.name, r->dev.sm,
                r->dev.driver, r->dev.runtime);
    if (r->isolate)
        fprintf(stderr, "isolated: each case runs in a child process (--timeout %g s)\n",
                r->o.timeout);
    /* SIGINT / SIGTERM: stop after the row being written; rows are whole, the CSV stays valid. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int total = 0;
    for (int k = 0; k < ns; k++) total += nmine[k];
    attn_progress_start(stderr, total);
    long g = 0;
    for (int k = 0; k < ns; k++) {
        for (int i = 0, pos = 0; i < ncases[k] && !attn_stop_signal; i++) {
            if (!attn_in_shard(&r->o, g++)) continue;
            const int64_t *v = cases[k] + (size_t)i * (size_t)suites[k]->naxes;
            attn_csv_t *c = attn_csv_active(&csv[k]) ? &csv[k] : NULL;
            if (r->isolate) run_case_isolated(r, suites[k], v, i, ++pos, nmine[k], c);
            else run_case(r, suites[k], v, i, ++pos, nmine[k], c, 0);
            if (!attn_stop_signal) attn_progress_step();
        }
        free(cases[k]);
    }
    attn_progress_end();
}

/* ---------------------------------------------------------------- print */

static void render_plots(const attn_suite_t *s, const char *csv)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0) {
        fprintf(stderr, "attnbench: gnuplot not found, plots not rendered "
                        "(apt-get install gnuplot-nox)\n");
        return;
    }
    char outdir[1024];
    snprintf(outdir, sizeof outdir, "%s", csv);
    char *slash = strrchr(outdir, '/');
    if (slash) *slash = 0;
    else snprintf(outdir, sizeof outdir, ".");
    fprintf(stderr, "rendering plots of %s:\n", csv);
    const int st = attn_plots_render(csv, outdir, s->plot_axis, s->plot_panels);
    if (st)
        fprintf(stderr, "attnbench: rendering plots failed (attnbench plots --out '%s' '%s': exit "
                        "status %d)\n", outdir, csv, st);
}

/* Close the outputs, render a sweep's plots, print the totals; the exit status: 1 when a variant
 * failed, 3 when nothing was checked (every row a skip: no device for --backend gpu, a variant
 * that takes none of the cases), else 0. */
static int report_run(run_t *r, const attn_suite_t *const *suites, int ns, attn_csv_t *csv,
                      char (*paths)[1024], int want_device)
{
    int to_stdout = 0;
    for (int k = 0; k < ns; k++)
        if (csv[k].fd >= 0) {
            to_stdout |= csv[k].to_stdout;
            fprintf(stderr, "results: %s\n", csv[k].path);
            attn_csv_close(&csv[k]);
        }
    run_dump_close(r);
    attn_gpu_close();
    if (attn_stop_signal) {
        fprintf(stderr, "%d ok, %d failed, %d skipped\n", r->nok, r->nfail, r->nskip);
        fprintf(stderr, "attnbench: stopped by %s; every row finished before it is in the "
                        "results\n", attn_stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        return 128 + attn_stop_signal;
    }
    const int want_csv = r->o.csv || !r->o.check_only;
    if (r->o.sweep && want_csv && !r->o.no_plots && !to_stdout) {
        if (r->o.shard_n > 1)
            fprintf(stderr, "attnbench: shard %d/%d: no plots of a part; render them after "
                            "`attnbench merge` (plots/render.sh)\n", r->o.shard_i, r->o.shard_n);
        else
            for (int k = 0; k < ns; k++) render_plots(suites[k], paths[k]);
    }
    fprintf(stderr, "%d ok, %d failed, %d skipped\n", r->nok, r->nfail, r->nskip);
    if (r->nfail) return ATTN_EXIT_FAILED;
    if (r->nok || !r->nskip) return ATTN_EXIT_OK;
    const char *why = want_device && !r->dev.usable ? r->dev.reason
                      : r->first_skip[0]           ? r->first_skip
                                                   : "see the rows' reasons";
    fprintf(stderr, "attnbench: nothing checked: every selected variant skipped every case (%s); "
                    "exit status %d\n", why, ATTN_EXIT_UNCHECKED);
    return ATTN_EXIT_UNCHECKED;
}

/* --json and --md first (--md names the CSVs, still open), then the rest (report_run). */
static int report(run_t *r, const attn_suite_t *const *suites, int ns, attn_csv_t *csv,
                  char (*paths)[1024], int want_device)
{
    const int md = close_outputs(csv, ns, 0);
    const int rc = report_run(r, suites, ns, csv, paths, want_device);
    return rc ? rc : md;
}

int attn_main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "compare")) return attn_compare_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "merge")) return attn_merge_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "floors")) return attn_floors_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "plots")) return attn_plots_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "report")) return attn_report_main(argc - 1, argv + 1);
    static run_t R;
    run_t *r = &R;
    int rc = parse(r, argc, argv);
    if (rc >= 0) return rc;

    /* load */
    const attn_suite_t *suites[MAX_SUITES];
    int ns, want_gpu, want_device;
    if ((rc = load_suites(r, suites, &ns)) >= 0) return rc; /* an unknown suite: exit 2 */
    if (r->o.list_check_shapes) { /* for scripts: the --shape values of --check-shapes */
        for (int k = 0; k < ns; k++)
            for (int i = 0; suites[k]->check_shapes && suites[k]->check_shapes[i]; i++)
                printf("%s\n", suites[k]->check_shapes[i]);
        return 0;
    }
    if ((rc = load_variants(r, suites, ns, &want_gpu, &want_device)) >= 0) return rc;
    if (r->o.markdown) { /* independent of the machine: no device asked */
        attn_list_markdown(&r->sel, suites, ns);
        return 0;
    }
    load_device(r, want_device);
    if ((rc = load_emulator(r)) >= 0) return rc;
    if (r->o.list) {
        attn_list(&r->sel, r->dev.usable ? r->dev.name : r->dev.reason, suites, ns);
        return 0;
    }

    /* compute */
    int64_t *cases[MAX_SUITES];
    int ncases[MAX_SUITES], nmine[MAX_SUITES];
    if ((rc = build_cases(r, suites, ns, want_gpu, cases, ncases, nmine)) >= 0) return rc;
    provenance(r);
    static attn_csv_t csv[MAX_SUITES];
    static char paths[MAX_SUITES][1024];
    if ((rc = open_outputs(r, suites, ns, csv, paths)) >= 0) return rc;
    if (r->o.plan) return plan(r, suites, ns, cases, ncases, csv);
    compute(r, suites, ns, cases, ncases, nmine, csv);

    /* print */
    return report(r, suites, ns, csv, paths, want_device);
}
