/* The run: select suites, variants and cases; for each case generate inputs, compute the
 * reference, check each variant, time it, write its CSV row; render plots after a sweep.
 * Isolated runs (--isolate, the default for --sweep) do each case in a child process: see
 * run_case_isolated and bench/isolate.h. */
#include "run.h"

#include <errno.h>
#include <math.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "compare.h"
#include "csv.h"
#include "device.h"
#include "emu.h"
#include "emu/emu_api.h"
#include "isolate.h"
#include "floors.h"
#include "merge.h"
#include "plots.h"
#include "npy.h"
#include "refpool.h"
#include "stats.h"
#include "util.h"

#ifndef ATTN_SOURCE_ROOT
#define ATTN_SOURCE_ROOT "."
#endif

/* Everything a run shares across suites and cases. */
typedef struct run {
    attn_opts_t o;
    regex_t re;
    int have_re;
    attn_device_t dev;
    int emu;             /* --backend emu: GPU variants run in the host emulator */
    char emu_reason[256];
    char cpu_name[128], git[64], stamp[32], run_dir[64];
    FILE *manifest;      /* --dump: manifest.json entries (in a case's child: a memstream) */
    int manifest_n;
    char *mbuf;          /* child: the memstream's buffer */
    size_t mlen;
    int nfail, nok, nskip;
    int isolate;         /* each case in a child process (run_case_isolated) */
    int calibrate;       /* measure the device's ceilings when it is opened (probe or here) */
    int child_fd;        /* in a case's child: the message pipe to the parent; else -1 */
    double last_msg;     /* child: when it last sent a message */
} run_t;

/* The signal (SIGINT, SIGTERM) that asked the run to stop; 0 while it goes on. A second one
 * ends the process at once (rows are written whole, so the CSV stays valid either way). */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (stop_signal) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    stop_signal = sig;
}

/* A case's child exits with this status after a GPU error that poisons its CUDA context (its
 * row already sent): the parent goes on with the next variant in a fresh process. */
enum { CHILD_CONTEXT_LOST = 3 };

/* In a case's child: send a message to the parent (exit when the parent is gone). */
static void child_send(run_t *r, char type, int idx, const char *text, size_t len)
{
    if (r->child_fd < 0) return;
    if (attn_msg_send(r->child_fd, type, idx, text, len)) _exit(4);
    r->last_msg = attn_now();
}

/* In a case's child: tell the parent it is alive (at most every half second). The parent's
 * --timeout counts the time since the last message. */
static void heartbeat(run_t *r)
{
    if (r->child_fd >= 0 && attn_now() - r->last_msg > 0.5) child_send(r, 'P', -1, NULL, 0);
}

/* In a case's child: hand the manifest entries written so far to the parent. */
static void flush_manifest(run_t *r)
{
    if (r->child_fd < 0 || !r->manifest) return;
    fclose(r->manifest);
    if (r->mlen) child_send(r, 'M', -1, r->mbuf, r->mlen);
    free(r->mbuf);
    r->mbuf = NULL, r->mlen = 0;
    r->manifest = open_memstream(&r->mbuf, &r->mlen);
}

static void count(run_t *r, const char *status)
{
    if (!strcmp(status, "ok")) r->nok++;
    else if (!strcmp(status, "fail")) r->nfail++;
    else r->nskip++;
}

/* The implementation that runs for row x: its emulated twin under --backend emu. */
static const attn_variant_t *impl_of(const run_t *r, const attn_suite_t *s, const attn_variant_t *x)
{
    return r->emu ? attn_emu_variant(s->name, x->name) : x;
}

/* The suite an implementation's callbacks get: the emulator's own copy under --backend emu. */
static const attn_suite_t *impl_suite(const run_t *r, const attn_suite_t *s)
{
    return r->emu ? attn_emu_suite(s->name) : s;
}

/* Why variant x cannot run here at all (independent of the case), or NULL. */
static const char *unavailable(const run_t *r, const attn_suite_t *s, const attn_variant_t *x)
{
    if (r->emu) {
        if (r->emu_reason[0]) return r->emu_reason;
        const attn_variant_t *y = attn_emu_variant(s->name, x->name);
        if (!y) return "not in the emulator build";
        return y->available ? y->available : y->run ? NULL : "not implemented";
    }
    if (x->available) return x->available;
    if (!x->run) return "not implemented";
    if (x->backend == ATTN_GPU && !r->dev.usable) return r->dev.reason;
    return NULL;
}

static int selected(const run_t *r, const attn_variant_t *x)
{
    if (r->emu ? x->backend != ATTN_GPU
               : strcmp(r->o.backend, "all") && strcmp(r->o.backend, attn_backend_name(x->backend)))
        return 0;
    return !r->have_re || regexec(&r->re, x->name, 0, NULL, 0) == 0;
}

/* ---------------------------------------------------------------- provenance */

static void read_cmd(const char *cmd, char *out, size_t n)
{
    out[0] = 0;
    FILE *p = popen(cmd, "r");
    if (!p) return;
    if (fgets(out, (int)n, p)) out[strcspn(out, "\r\n")] = 0;
    pclose(p);
}

static void provenance(run_t *r)
{
    const char *g = getenv("ATTNBENCH_GIT_COMMIT");
    if (g) snprintf(r->git, sizeof r->git, "%s", g);
    else {
        char dirty[8];
        read_cmd("git -C '" ATTN_SOURCE_ROOT "' rev-parse --short=12 HEAD 2>/dev/null", r->git,
                 sizeof r->git);
        read_cmd("git -C '" ATTN_SOURCE_ROOT "' status --porcelain --untracked-files=no "
                 "2>/dev/null | head -c 1",
                 dirty, sizeof dirty);
        if (!r->git[0]) snprintf(r->git, sizeof r->git, "unknown");
        else if (dirty[0]) strncat(r->git, "-dirty", sizeof r->git - strlen(r->git) - 1);
    }
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

/* ---------------------------------------------------------------- one result row */

typedef struct result {
    const char *status;   /* ok, fail, skip */
    char reason[512];
    attn_stats_t st;      /* st.n == 0: not timed */
    int checked;          /* err fields valid */
    attn_check_t chk;
    int64_t rows_checked, rows;
    int interrupted;      /* a stop signal cut it short: no row */
} result_t;

static void write_row(run_t *r, attn_csv_t *csv, const attn_suite_t *s, const attn_variant_t *x,
                      const int64_t *v, const result_t *res)
{
    char cs[512];
    attn_case_str(s, v, cs, sizeof cs);
    const double fl = s->flops(s, v), by = s->bytes(s, v, attn_dtype_size(x->dtype));
    const int gpu = x->backend == ATTN_GPU && !r->emu;
    /* stdout: one line per row, nvbench-like (printed by whoever writes the row) */
    char line[1200];
    if (res->st.n)
        snprintf(line, sizeof line, "%-6s %-12s %-4s %-4s %s  %.4f ms  %.3f TFLOP/s  %.1f GB/s  err %.2e",
                 s->name, x->name, attn_dtype_name(x->dtype), res->status, cs, res->st.median,
                 fl / (res->st.median * 1e-3) / 1e12, by / (res->st.median * 1e-3) / 1e9,
                 res->checked ? res->chk.max_abs_err : NAN);
    else if (res->checked && !strcmp(res->status, "ok"))
        snprintf(line, sizeof line, "%-6s %-12s %-4s %-4s %s  err %.2e (tolerance %.2e)", s->name,
                 x->name, attn_dtype_name(x->dtype), res->status, cs, res->chk.max_abs_err,
                 res->chk.tol_abs);
    else
        snprintf(line, sizeof line, "%-6s %-12s %-4s %-4s %s  %s", s->name, x->name,
                 attn_dtype_name(x->dtype), res->status, cs, res->reason);
    if (r->child_fd < 0) {
        printf("%s\n", line);
        fflush(stdout);
        if (!csv) {
            count(r, res->status);
            return;
        }
    }

    attn_row_t row;
    attn_row_init(&row);
    attn_row_str(&row, s->name);
    attn_row_str(&row, x->name);
    attn_row_str(&row, r->emu ? "emu" : attn_backend_name(x->backend));
    attn_row_str(&row, attn_dtype_name(x->dtype));
    for (int i = 0; i < s->naxes; i++) attn_row_int(&row, (long long)v[i]);
    attn_row_str(&row, res->status);
    attn_row_str(&row, res->reason);
    const int timed = res->st.n > 0;
    if (timed) {
        attn_row_int(&row, res->st.n);
        attn_row_num(&row, res->st.median);
        attn_row_num(&row, res->st.min);
        attn_row_num(&row, res->st.max);
        attn_row_num(&row, res->st.iqr);
    } else {
        for (int i = 0; i < 5; i++) attn_row_str(&row, NULL);
    }
    attn_row_num(&row, fl);
    attn_row_num(&row, by);
    attn_row_num(&row, timed ? fl / (res->st.median * 1e-3) / 1e12 : NAN);
    attn_row_num(&row, timed ? by / (res->st.median * 1e-3) / 1e9 : NAN);
    /* The share of the device's measured ceilings (GPU rows of a calibrated run). */
    const int peaks = gpu && timed && r->dev.usable;
    attn_row_num(&row, peaks && r->dev.peak_tflops > 0
                           ? 100.0 * fl / (res->st.median * 1e-3) / 1e12 / r->dev.peak_tflops
                           : NAN);
    attn_row_num(&row, peaks && r->dev.peak_gbps > 0
                           ? 100.0 * by / (res->st.median * 1e-3) / 1e9 / r->dev.peak_gbps
                           : NAN);
    if (res->checked) {
        attn_row_num(&row, res->chk.max_abs_err);
        attn_row_num(&row, res->chk.rel_l2_err);
        attn_row_num(&row, res->chk.tol_abs);
        char cr[64];
        snprintf(cr, sizeof cr, "%lld/%lld", (long long)res->rows_checked, (long long)res->rows);
        attn_row_str(&row, cr);
    } else {
        for (int i = 0; i < 4; i++) attn_row_str(&row, NULL);
    }
    attn_row_int(&row, (long long)r->o.seed);
    char emu_dev[160];
    snprintf(emu_dev, sizeof emu_dev, "emulator on %s", r->cpu_name);
    attn_row_str(&row, gpu ? (r->dev.usable ? r->dev.name : NULL) : r->emu ? emu_dev : r->cpu_name);
    if (gpu && r->dev.usable) {
        attn_row_int(&row, r->dev.sm);
        attn_row_int(&row, r->dev.driver);
        attn_row_int(&row, r->dev.runtime);
        if (r->dev.clock_mhz) attn_row_int(&row, r->dev.clock_mhz);
        else attn_row_str(&row, NULL);
        attn_row_num(&row, r->dev.peak_tflops > 0 ? r->dev.peak_tflops : NAN);
        attn_row_num(&row, r->dev.peak_gbps > 0 ? r->dev.peak_gbps : NAN);
    } else {
        for (int i = 0; i < 6; i++) attn_row_str(&row, NULL);
    }
    attn_row_str(&row, r->git);
    attn_row_str(&row, r->stamp);
    if (r->child_fd >= 0) { /* the parent prints and writes it: "status\nCSV row\nstdout line" */
        flush_manifest(r);
        const size_t sl = strlen(res->status), rl = csv ? row.len : 0, ll = strlen(line);
        char *msg = malloc(sl + rl + ll + 3);
        if (!msg) abort();
        memcpy(msg, res->status, sl);
        msg[sl] = '\n';
        memcpy(msg + sl + 1, row.buf, rl);
        msg[sl + 1 + rl] = '\n';
        memcpy(msg + sl + rl + 2, line, ll);
        child_send(r, 'R', (int)(x - s->variants), msg, sl + rl + ll + 2);
        free(msg);
    } else {
        count(r, res->status);
        if (attn_csv_append(csv, &row))
            fprintf(stderr, "attnbench: writing a row to %s failed: %s\n", csv->path,
                    strerror(errno));
    }
    attn_row_free(&row);
}

/* ---------------------------------------------------------------- per case */

/* The inputs in one rounding class (class 0: as generated, for f32/f64 variants; class 1:
 * rounded to bf16, for bf16 variants) and the reference computed from them. */
typedef struct rclass {
    int ready;
    void *in[ATTN_MAX_TENSORS];      /* float / int32 host arrays (class 1: bf16-rounded) */
    uint16_t *bits[ATTN_MAX_TENSORS]; /* class 1: the bf16 bits uploaded to bf16 variants */
    double *ref;
} rclass_t;

typedef struct casectx {
    const attn_suite_t *s;
    const int64_t *v;
    int index;
    attn_layout_t L;
    void *gen[ATTN_MAX_TENSORS];     /* generated inputs */
    rclass_t cls[2];
    uint8_t *row_sel;                /* NULL: every row checked */
    int64_t rows_checked;
} casectx_t;

static size_t elem_bytes(const attn_tensor_t *t, attn_dtype_t dt)
{
    return t->kind == ATTN_T_INT32 ? 4 : (size_t)attn_dtype_size(dt);
}

static int prepare_class(run_t *r, casectx_t *c, int k, char *err, size_t n)
{
    rclass_t *rc = &c->cls[k];
    if (rc->ready) return 0;
    for (int i = 0; i < c->L.nin; i++) {
        const attn_tensor_t *t = &c->L.in[i];
        const int64_t ne = attn_tensor_numel(t);
        if (k == 0 || t->kind == ATTN_T_INT32) {
            rc->in[i] = c->gen[i];
            continue;
        }
        float *f = malloc((size_t)ne * sizeof *f);
        uint16_t *b = malloc((size_t)ne * sizeof *b);
        if (!f || !b) {
            free(f), free(b);
            snprintf(err, n, "out of host memory rounding inputs");
            return -1;
        }
        const float *g = c->gen[i];
        for (int64_t e = 0; e < ne; e++) f[e] = attn_bf16_to_f32(b[e] = attn_f32_to_bf16(g[e]));
        rc->in[i] = f, rc->bits[i] = b;
    }
    const int64_t no = attn_tensor_numel(&c->L.out);
    rc->ref = malloc((size_t)no * sizeof *rc->ref);
    if (!rc->ref) {
        snprintf(err, n, "out of host memory for the reference output");
        return -1;
    }
    for (int64_t e = 0; e < no; e++) rc->ref[e] = NAN; /* rows not sampled stay NaN */
    const double t0 = attn_now();
    /* on --ref-threads threads, fewer when the selected rows are little work */
    const double est = c->s->flops(c->s, c->v) * (double)c->rows_checked /
                       (double)(c->L.out_rows > 0 ? c->L.out_rows : 1);
    const int nt = attn_ref_run(c->s, c->v, (const void *const *)rc->in, rc->ref, c->row_sel,
                                attn_ref_threads_for(est, r->o.ref_threads));
    heartbeat(r);
    if (isatty(2) || r->o.sweep)
        fprintf(stderr, "  reference (%s inputs, %lld/%lld rows, %d thread%s): %.2f s\n",
                k ? "bf16-rounded" : "f32", (long long)c->rows_checked,
                (long long)c->L.out_rows, nt, nt == 1 ? "" : "s", attn_now() - t0);
    rc->ready = 1;
    return 0;
}

static void free_case(casectx_t *c)
{
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < c->L.nin; i++) {
            if (k == 1 && c->cls[k].in[i] != c->gen[i]) free(c->cls[k].in[i]);
            free(c->cls[k].bits[i]);
        }
        free(c->cls[k].ref);
    }
    for (int i = 0; i < c->L.nin; i++) free(c->gen[i]);
    free(c->row_sel);
}

/* Samples until min_samples are in and either the spread target or the time cap is met.
 * 0, -1 on an error (err), -2 when a stop signal came. */
static int time_variant(run_t *r, const attn_suite_t *s, const attn_variant_t *x,
                        const int64_t *v,
                        const void *const *in, void *out, void *ws, attn_stats_t *st, char *err,
                        size_t n)
{
    const attn_opts_t *o = &r->o;
    const int gpu = x->backend == ATTN_GPU;
    for (int w = 0; w < o->warmup; w++) {
        heartbeat(r);
        if (stop_signal) return -2;
        if (gpu) {
            if (attn_gpu_run_sync(s, x, v, in, out, ws, err, n)) return -1;
        } else if (x->run(s, x, v, in, out, ws, NULL)) {
            snprintf(err, n, "run failed");
            return -1;
        }
    }
    double *ms = malloc((size_t)o->max_samples * sizeof *ms);
    if (!ms) {
        snprintf(err, n, "out of host memory");
        return -1;
    }
    int k = 0;
    const double t0 = attn_now();
    while (k < o->max_samples) {
        heartbeat(r);
        if (stop_signal) {
            free(ms);
            return -2;
        }
        if (gpu) {
            if (attn_gpu_sample(s, x, v, in, out, ws, &ms[k], err, n)) {
                free(ms);
                return -1;
            }
        } else {
            const double a = attn_now();
            x->run(s, x, v, in, out, ws, NULL);
            ms[k] = (attn_now() - a) * 1e3;
        }
        k++;
        if (k >= o->min_samples &&
            (attn_now() - t0 > o->max_time || attn_rel_spread(ms, k) < o->target_spread))
            break;
    }
    *st = attn_stats(ms, k);
    free(ms);
    return 0;
}

static void dump_entry(run_t *r, const char *file, const attn_tensor_t *t, const char *descr,
                       const char *role, const casectx_t *c)
{
    if (!r->manifest) return;
    fprintf(r->manifest, "%s\n  {\"file\": \"%s\", \"role\": \"%s\", \"dtype\": \"%s\", \"shape\": [",
            r->manifest_n++ ? "," : "", file, role, descr);
    for (int i = 0; i < t->ndim; i++) fprintf(r->manifest, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    fprintf(r->manifest, "], \"suite\": \"%s\", \"case\": %d, \"axes\": {", c->s->name, c->index);
    for (int i = 0; i < c->s->naxes; i++)
        fprintf(r->manifest, "%s\"%s\": %lld", i ? ", " : "", c->s->axes[i].name,
                (long long)c->v[i]);
    fputs("}}", r->manifest);
}

static void dump(run_t *r, const casectx_t *c, const char *what, const attn_tensor_t *t,
                 const char *descr, const void *data, int64_t esize)
{
    char file[256], path[1280];
    snprintf(file, sizeof file, "%s-%03d-%s.npy", c->s->name, c->index, what);
    snprintf(path, sizeof path, "%s/%s", r->o.dump, file);
    if (attn_npy_write(path, descr, t->ndim, t->shape, data, esize))
        fprintf(stderr, "attnbench: cannot write %s: %s\n", path, strerror(errno));
    else
        dump_entry(r, file, t, descr, what, c);
}

/* Run an emulated variant under each schedule of the emulator (thread order, cp.async landing,
 * poison: bench/emu/emu_api.h) into out, the workspace poisoned differently from one schedule
 * to the next; the outputs must be bit-identical, else a barrier is missing, a result depends
 * on timing or on memory never written. */
static int emu_schedules(run_t *r, const casectx_t *c, const attn_variant_t *x,
                         const void *const *in, void *out, size_t osz, void *ws, size_t wsz,
                         char *err, size_t n)
{
    static const char *const name[ATTN_EMU_NSCHEDULES] = ATTN_EMU_SCHEDULE_NAMES;
    unsigned char *first = malloc(osz ? osz : 1);
    if (!first) {
        snprintf(err, n, "out of host memory");
        return -1;
    }
    int rc = 0;
    for (int sched = 0; sched < ATTN_EMU_NSCHEDULES && !rc; sched++) {
        heartbeat(r);
        attn_emu_schedule(sched, r->o.seed);
        memset(out, 0xFF, osz); /* NaN poison */
        if (ws) memset(ws, sched & 1 ? 0x7F : 0xFF, wsz); /* NaN, or 3.4e38: read before written? */
        if (x->run(impl_suite(r, c->s), x, c->v, in, out, ws, NULL)) {
            const char *e = attn_emu_error();
            snprintf(err, n, "emulated run failed (%s schedule): %s", name[sched],
                     e ? e : "launch error");
            rc = -1;
        } else if (sched == 0) {
            memcpy(first, out, osz);
        } else if (memcmp(first, out, osz)) {
            const int es = attn_dtype_size(x->dtype);
            size_t at = 0;
            while (at < osz && ((unsigned char *)out)[at] == first[at]) at++;
            char idx[160];
            attn_index_str(&c->L.out, (int64_t)(at / (size_t)es), idx, sizeof idx);
            snprintf(err, n,
                     "race: output differs between thread schedules (%s vs %s) at %s: "
                     "%g vs %g — a missing barrier, or memory read before written?",
                     name[0], name[sched], idx,
                     attn_load(first, x->dtype, (int64_t)(at / (size_t)es)),
                     attn_load(out, x->dtype, (int64_t)(at / (size_t)es)));
            rc = -1;
        }
    }
    attn_emu_schedule(0, r->o.seed);
    free(first);
    return rc;
}

/* Check, then (unless --check) time, one variant on one case. */
static void run_variant(run_t *r, casectx_t *c, const attn_variant_t *x, result_t *res)
{
    char err[384] = "";
    const int gpu = x->backend == ATTN_GPU && !r->emu;
    const int k = x->dtype == ATTN_BF16;
    rclass_t *rc = &c->cls[k];
    const attn_tensor_t *ot = &c->L.out;
    const int64_t no = attn_tensor_numel(ot);
    const size_t osz = (size_t)no * (size_t)attn_dtype_size(x->dtype);
    const attn_suite_t *is = impl_suite(r, c->s);
    const size_t wsz = x->workspace ? x->workspace(is, x, c->v) : 0;
    void *host_out = NULL, *host_ws = NULL;
    void *d_in[ATTN_MAX_TENSORS] = {0}, *d_out = NULL, *d_ws = NULL;

    if (x->backend == ATTN_GPU && x->dtype == ATTN_F64) {
        res->status = "skip";
        snprintf(res->reason, sizeof res->reason, "f64 GPU variants are not supported");
        return;
    }
    if (prepare_class(r, c, k, err, sizeof err)) goto failed;
    host_out = malloc(osz ? osz : 1);
    if (!host_out) {
        snprintf(err, sizeof err, "out of host memory for the output");
        goto failed;
    }
    const void *const *in = (const void *const *)rc->in;
    if (gpu) { /* device memory was checked before the case allocated anything (run_case) */
        for (int i = 0; i < c->L.nin; i++) {
            const attn_tensor_t *t = &c->L.in[i];
            const size_t nb = (size_t)attn_tensor_numel(t) * elem_bytes(t, x->dtype);
            const void *src = (k && t->kind == ATTN_T_FLOAT) ? (const void *)rc->bits[i] : rc->in[i];
            if (attn_gpu_malloc(&d_in[i], nb, err, sizeof err) ||
                attn_gpu_upload(d_in[i], src, nb, err, sizeof err))
                goto failed;
        }
        if (attn_gpu_malloc(&d_out, osz, err, sizeof err) ||
            (wsz && attn_gpu_malloc(&d_ws, wsz, err, sizeof err)))
            goto failed;
        in = (const void *const *)d_in;
        /* Poison, run once, fetch: the checked run. */
        if (attn_gpu_poison(d_out, osz, err, sizeof err) ||
            attn_gpu_run_sync(is, x, c->v, in, d_out, d_ws, err, sizeof err) ||
            attn_gpu_download(host_out, d_out, osz, err, sizeof err))
            goto failed;
    } else if (r->emu) {
        if (wsz && !(host_ws = aligned_alloc(256, (wsz + 255) / 256 * 256))) { /* as cudaMalloc */
            snprintf(err, sizeof err, "out of host memory for the workspace");
            goto failed;
        }
        /* bf16 variants read bf16 bits, as on the device. */
        const void *ein[ATTN_MAX_TENSORS];
        for (int i = 0; i < c->L.nin; i++)
            ein[i] = (k && c->L.in[i].kind == ATTN_T_FLOAT) ? (const void *)rc->bits[i] : rc->in[i];
        in = ein;
        if (emu_schedules(r, c, x, ein, host_out, osz, host_ws, wsz, err, sizeof err)) goto failed;
    } else {
        if (wsz && !(host_ws = aligned_alloc(256, (wsz + 255) / 256 * 256))) { /* as cudaMalloc */
            snprintf(err, sizeof err, "out of host memory for the workspace");
            goto failed;
        }
        memset(host_out, 0xFF, osz); /* NaN in every float dtype */
        int rc_run = x->run(is, x, c->v, in, host_out, host_ws, NULL);
        if (rc_run) {
            snprintf(err, sizeof err, "run failed with code %d", rc_run);
            goto failed;
        }
    }

    /* Compare with the reference. */
    const int64_t row_len = c->L.out_rows ? no / c->L.out_rows : 1;
    const double tol = c->s->tolerance(c->s, c->v, x->dtype);
    res->chk = c->s->row_of ? attn_compare_mapped(host_out, x->dtype, rc->ref, no, c->s, c->v,
                                                  c->row_sel, tol)
                            : attn_compare(host_out, x->dtype, rc->ref, no,
                                           row_len > 0 ? row_len : 1, c->row_sel, tol);
    res->checked = 1;
    res->rows_checked = c->rows_checked;
    res->rows = c->L.out_rows;
    if (r->o.dump) {
        char what[96];
        snprintf(what, sizeof what, "out-%s", x->name);
        if (x->dtype == ATTN_BF16) { /* widen to f32 so NumPy reads it directly */
            float *f = malloc((size_t)no * sizeof *f);
            if (f) {
                for (int64_t e = 0; e < no; e++) f[e] = (float)attn_load(host_out, x->dtype, e);
                dump(r, c, what, ot, "<f4", f, 4);
                free(f);
            }
        } else {
            dump(r, c, what, ot, x->dtype == ATTN_F64 ? "<f8" : "<f4", host_out,
                 attn_dtype_size(x->dtype));
        }
    }
    if (!res->chk.ok) {
        char idx[160];
        attn_index_str(ot, res->chk.worst, idx, sizeof idx);
        res->status = "fail";
        if (res->chk.nonfinite)
            snprintf(res->reason, sizeof res->reason,
                     "%lld non-finite outputs (unwritten or NaN), first at %s: got %g, ref %g",
                     (long long)res->chk.nonfinite, idx, res->chk.out_at_worst,
                     res->chk.ref_at_worst);
        else
            snprintf(res->reason, sizeof res->reason,
                     "max |err| %.3g at %s (got %.6g, ref %.6g) > tolerance %.3g", res->chk.max_abs_err,
                     idx, res->chk.out_at_worst, res->chk.ref_at_worst, res->chk.tol_abs);
        goto out;
    }
    res->status = "ok";
    if (!r->o.check_only && !r->emu) {
        void *o_ = gpu ? d_out : host_out, *w_ = gpu ? d_ws : host_ws;
        const int t = time_variant(r, is, x, c->v, in, o_, w_, &res->st, err, sizeof err);
        res->interrupted = t == -2;
        if (t == -1) goto failed;
    }
    goto out;

failed:
    res->status = "fail";
    snprintf(res->reason, sizeof res->reason, "%s", err);
out:
    for (int i = 0; i < c->L.nin; i++) attn_gpu_free(d_in[i]);
    attn_gpu_free(d_out);
    attn_gpu_free(d_ws);
    free(host_out);
    free(host_ws);
}

/* Host bytes a case needs: generated inputs, the bf16 class, two references, one output. */
static double host_bytes(const attn_layout_t *L)
{
    double b = 0;
    for (int i = 0; i < L->nin; i++) b += 10.0 * (double)attn_tensor_numel(&L->in[i]);
    return b + 24.0 * (double)attn_tensor_numel(&L->out);
}

/* Device bytes variant x needs for case c: its inputs in its dtype, the output, the workspace. */
static double device_bytes(const casectx_t *c, const attn_suite_t *is, const attn_variant_t *x)
{
    double b = (double)attn_tensor_numel(&c->L.out) * attn_dtype_size(x->dtype);
    for (int i = 0; i < c->L.nin; i++)
        b += (double)attn_tensor_numel(&c->L.in[i]) * (double)elem_bytes(&c->L.in[i], x->dtype);
    return b + (x->workspace ? (double)x->workspace(is, x, c->v) : 0.0);
}

/* Run variants from..end of case v (index: its number in the suite's case list; pos/ncases: for
 * the progress line). Returns 0, or CHILD_CONTEXT_LOST in a case's child after a GPU error that
 * poisoned its context (the rest of the case then needs a fresh process). */
static int run_case(run_t *r, const attn_suite_t *s, const int64_t *v, int index, int pos,
                    int ncases, attn_csv_t *csv, int from)
{
    casectx_t c = {.s = s, .v = v, .index = index};
    s->layout(s, v, &c.L);
    char cs[512];
    attn_case_str(s, v, cs, sizeof cs);
    if (from) fprintf(stderr, "[%d/%d] %s %s (from variant %s, in a new process)\n", pos, ncases,
                      s->name, cs, s->variants[from].name);
    else fprintf(stderr, "[%d/%d] %s %s\n", pos, ncases, s->name, cs);

    /* Reasons that need no inputs, host and device memory among them: decided first, so a
     * case nobody can run allocates nothing. Rows are then written in registry order. */
    static result_t res[64];
    int nrun = 0, rc = 0;
    const double fl = s->flops(s, v);
    const double avail = (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    const double need = host_bytes(&c.L);
    size_t dev_free = 0, dev_total = 0;
    int dev_known = -1; /* device memory asked for yet? */
    const int nv = s->nvariants < 64 ? s->nvariants : 64;
    for (int j = 0; j < nv; j++) {
        const attn_variant_t *x = &s->variants[j];
        res[j] = (result_t){.status = j >= from && selected(r, x) ? NULL : "-"};
        if (res[j].status) continue;
        const char *why = unavailable(r, s, x);
        if (!why && x->backend == ATTN_GPU && !r->emu) why = attn_gpu_broken();
        if (!why) x = impl_of(r, s, x);
        const attn_suite_t *is = impl_suite(r, s);
        if (!why && x->supports) why = x->supports(is, x, v);
        const int on_gpu = x->backend == ATTN_GPU && !r->emu;
        const double host_need =
            need + (!on_gpu && !why && x->workspace ? (double)x->workspace(is, x, v) : 0);
        if (!why && on_gpu && dev_known < 0)
            dev_known = attn_gpu_meminfo(&dev_free, &dev_total) == 0;
        /* 256 MiB beyond the buffers: the context, cuBLAS handles, allocator slack */
        const double dev_need = on_gpu ? device_bytes(&c, is, x) + 256.0 * (1 << 20) : 0;
        if (why) snprintf(res[j].reason, sizeof res[j].reason, "%s", why);
        else if (x->backend == ATTN_CPU && fl > r->o.cpu_max_gflop * 1e9)
            snprintf(res[j].reason, sizeof res[j].reason,
                     "%.1f GFLOP is above the CPU budget (--cpu-max-gflop %g)", fl / 1e9,
                     r->o.cpu_max_gflop);
        else if (r->emu && fl > r->o.emu_max_gflop * 1e9)
            snprintf(res[j].reason, sizeof res[j].reason,
                     "%.2f GFLOP is above the emulation budget (--emu-max-gflop %g)", fl / 1e9,
                     r->o.emu_max_gflop);
        else if (avail > 0 && host_need > 0.8 * avail) {
            char a[32], b[32];
            snprintf(res[j].reason, sizeof res[j].reason, "needs %s of host memory, %s available",
                     attn_fmt_bytes(host_need, a, sizeof a), attn_fmt_bytes(avail, b, sizeof b));
        } else if (on_gpu && dev_known == 1 && dev_need > (double)dev_free) {
            char a[32], b[32];
            snprintf(res[j].reason, sizeof res[j].reason, "needs %s of device memory, %s free",
                     attn_fmt_bytes(dev_need - 256.0 * (1 << 20), a, sizeof a),
                     attn_fmt_bytes((double)dev_free, b, sizeof b));
        } else {
            nrun++;
            continue;
        }
        res[j].status = "skip";
    }
    if (!nrun) {
        for (int j = 0; j < nv; j++)
            if (res[j].status && res[j].status[0] != '-')
                write_row(r, csv, s, &s->variants[j], v, &res[j]);
        return 0;
    }

    /* Inputs, and which output rows the reference computes. */
    int inputs = 1;
    for (int i = 0; i < c.L.nin && inputs; i++)
        inputs = (c.gen[i] = malloc((size_t)attn_tensor_numel(&c.L.in[i]) * 4 + 4)) != NULL;
    if (!inputs) /* every variant still gets its row */
        for (int j = 0; j < nv; j++)
            if (!res[j].status) {
                res[j].status = "fail";
                snprintf(res[j].reason, sizeof res[j].reason, "out of host memory for the inputs");
            }
    if (inputs) {
        s->generate(s, v, r->o.seed, c.gen);
        heartbeat(r);
    }
    c.rows_checked = c.L.out_rows;
    if (fl > r->o.ref_gflop * 1e9 && c.L.out_rows > 64) {
        int64_t want = (int64_t)((double)c.L.out_rows * r->o.ref_gflop * 1e9 / fl);
        c.row_sel = malloc((size_t)c.L.out_rows);
        if (c.row_sel)
            c.rows_checked = attn_sample_rows(c.row_sel, c.L.out_rows, want < 64 ? 64 : want,
                                              r->o.seed);
    }
    if (r->o.dump && inputs) {
        for (int i = 0; i < c.L.nin; i++)
            dump(r, &c, c.L.in[i].name, &c.L.in[i],
                 c.L.in[i].kind == ATTN_T_INT32 ? "<i4" : "<f4", c.gen[i], 4);
    }

    for (int j = 0; j < nv; j++) {
        const attn_variant_t *x = &s->variants[j];
        if (res[j].status && res[j].status[0] == '-') continue; /* not selected */
        if (stop_signal) goto done;                             /* no row for what did not run */
        /* a GPU error earlier in this case lost the context (in process): skip, with why */
        const char *lost = !res[j].status && x->backend == ATTN_GPU && !r->emu ? attn_gpu_broken()
                                                                              : NULL;
        if (lost) {
            res[j].status = "skip";
            snprintf(res[j].reason, sizeof res[j].reason, "%s", lost);
        }
        if (!res[j].status) {
            char label[640];
            snprintf(label, sizeof label, "%s/%s/%s", s->name, x->name, cs);
            res[j].status = "skip";
            child_send(r, 'B', j, NULL, 0);
            attn_nvtx_push(label);
            run_variant(r, &c, impl_of(r, s, x), &res[j]);
            attn_nvtx_pop();
            if (res[j].interrupted) goto done;
        }
        write_row(r, csv, s, x, v, &res[j]);
        if (r->child_fd >= 0 && r->dev.usable && x->backend == ATTN_GPU && !r->emu &&
            attn_gpu_broken()) {
            rc = CHILD_CONTEXT_LOST;
            goto done;
        }
    }
    if (r->o.dump)
        for (int k = 0; k < 2; k++)
            if (c.cls[k].ready)
                dump(r, &c, k ? "ref-bf16in" : "ref", &c.L.out, "<f8", c.cls[k].ref, 8);
done:
    free_case(&c);
    return rc;
}

/* ---------------------------------------------------------------- isolated cases */

typedef struct case_job {
    run_t *r;
    const attn_suite_t *s;
    const int64_t *v;
    int index, pos, ncases, from;
    attn_csv_t *csv;
} case_job_t;

/* The child of one case: open the device if the case has GPU work, run the case from variant
 * `from`; exits 0, or CHILD_CONTEXT_LOST. */
static int case_child(void *arg, int fd)
{
    case_job_t *j = arg;
    run_t *r = j->r;
    r->child_fd = fd;
    r->last_msg = attn_now();
    if (r->manifest) r->manifest = open_memstream(&r->mbuf, &r->mlen);
    int gpu_work = 0;
    for (int k = j->from; k < j->s->nvariants; k++)
        gpu_work |= j->s->variants[k].backend == ATTN_GPU && selected(r, &j->s->variants[k]);
    if (gpu_work && !r->emu && r->dev.usable) {
        const double gbps = r->dev.peak_gbps, tflops = r->dev.peak_tflops; /* the probe's */
        attn_gpu_open(&r->dev, r->o.device);
        r->dev.peak_gbps = gbps, r->dev.peak_tflops = tflops;
    }
    int rc = run_case(r, j->s, j->v, j->index, j->pos, j->ncases, j->csv, j->from);
    flush_manifest(r);
    return rc;
}

/* A row the parent writes itself, for a variant whose child died before writing it. */
static void parent_fail_row(run_t *r, attn_csv_t *csv, const attn_suite_t *s, int j,
                            const int64_t *v, const char *why)
{
    result_t res = {.status = "fail"};
    snprintf(res.reason, sizeof res.reason, "%s", why);
    write_row(r, csv, s, &s->variants[j], v, &res);
}

/* One case in child processes: the first runs every selected variant; when it dies in the middle
 * of variant j (a crash, a hang past --timeout, an exit), j is recorded as failed with the reason
 * and a fresh child goes on from j + 1; after a GPU error that poisoned the CUDA context (the
 * child wrote j's row and exited CHILD_CONTEXT_LOST) likewise. Only this process writes the CSV,
 * from the rows the children send: a row is whole or absent. */
static void run_case_isolated(run_t *r, const attn_suite_t *s, const int64_t *v, int index,
                              int pos, int ncases, attn_csv_t *csv)
{
    const int nv = s->nvariants < 64 ? s->nvariants : 64;
    unsigned char done[64] = {0};
    int from = 0;
    while (from < nv && !stop_signal) {
        case_job_t job = {r, s, v, index, pos, ncases, from, csv};
        attn_child_t ch;
        if (attn_child_start(&ch, case_child, &job)) {
            fprintf(stderr, "attnbench: cannot start a process for the case (%s); running it in "
                            "this one\n", strerror(errno));
            run_case(r, s, v, index, pos, ncases, csv, from);
            return;
        }
        int running = -1, nrows = 0, timed_out = 0;
        attn_msg_t m;
        for (;;) {
            const int k = attn_child_next(&ch, r->o.timeout, &m);
            if (k == ATTN_CHILD_END) break;
            if (k == ATTN_CHILD_TIMEOUT) {
                timed_out = 1;
                attn_child_kill(&ch); /* then read what it sent before, up to the end */
            } else if (k == ATTN_CHILD_SIGNAL) {
                if (stop_signal) attn_child_kill(&ch);
            } else if (m.type == 'B' && m.idx >= 0 && m.idx < nv) {
                running = m.idx;
            } else if (m.type == 'R' && m.idx >= 0 && m.idx < nv && !done[m.idx]) {
                /* "status\nCSV row\nstdout line" */
                const char *nl = memchr(m.text, '\n', m.len);
                const char *nl2 = nl ? memchr(nl + 1, '\n', m.len - (size_t)(nl + 1 - m.text)) : NULL;
                char status[8] = "";
                if (nl2) snprintf(status, sizeof status, "%.*s", (int)(nl - m.text), m.text);
                count(r, status);
                if (nl2) {
                    printf("%s\n", nl2 + 1);
                    fflush(stdout);
                }
                if (csv && nl2 && nl2 > nl + 1) {
                    attn_row_t row = {.buf = (char *)nl + 1, .len = (size_t)(nl2 - nl - 1)};
                    if (attn_csv_append(csv, &row))
                        fprintf(stderr, "attnbench: writing a row to %s failed: %s\n", csv->path,
                                strerror(errno));
                }
                done[m.idx] = 1;
                nrows++;
                running = -1;
            } else if (m.type == 'M' && r->manifest && m.len) {
                fwrite(m.text, 1, m.len, r->manifest);
                r->manifest_n++;
            }
        }
        const int exited = WIFEXITED(ch.status) ? WEXITSTATUS(ch.status) : -1;
        char how[160], why[256];
        attn_child_status_str(&ch, how, sizeof how);
        attn_child_free(&ch);
        if (stop_signal) return; /* what did not finish gets no row */
        if (timed_out) snprintf(why, sizeof why, "killed after %g s without progress (hang?)",
                                r->o.timeout);
        else snprintf(why, sizeof why, "%s", how);

        int next = -1; /* the first selected variant still without a row */
        for (int j = from; j < nv && next < 0; j++)
            if (!done[j] && selected(r, &s->variants[j])) next = j;
        if (next < 0) {
            if (exited != 0 && exited != CHILD_CONTEXT_LOST)
                fprintf(stderr, "attnbench: the case's process %s after its last row\n", why);
            return;
        }
        if (running >= 0) {
            fprintf(stderr, "attnbench: %s/%s %s; the case goes on in a new process\n", s->name,
                    s->variants[running].name, why);
            parent_fail_row(r, csv, s, running, v, why);
            done[running] = 1;
            from = running + 1;
        } else if (exited == CHILD_CONTEXT_LOST && nrows) {
            fprintf(stderr, "attnbench: CUDA context lost; the case goes on in a new process\n");
            from = next;
        } else { /* died outside any variant: making the inputs, or between variants */
            char w2[400];
            snprintf(w2, sizeof w2, "the case's process %s outside any variant (making inputs?)",
                     why);
            for (int j = next; j < nv; j++)
                if (!done[j] && selected(r, &s->variants[j])) parent_fail_row(r, csv, s, j, v, w2);
            return;
        }
    }
}

/* ---------------------------------------------------------------- plots */

static void render_plots(const run_t *r, const attn_suite_t *s, const char *csv)
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
    (void)r;
    fprintf(stderr, "rendering plots of %s:\n", csv);
    const int st = attn_plots_render(csv, outdir, s->plot_axis, s->plot_panels);
    if (st)
        fprintf(stderr, "attnbench: rendering plots failed (plots/render.sh '%s' '%s' '%s' '%s': exit "
                        "status %d)\n", csv, outdir, s->plot_axis, s->plot_panels ? s->plot_panels : "", st);
}

/* ---------------------------------------------------------------- --list */

static void list(const run_t *r, const attn_suite_t *const *suites, int ns)
{
    printf("device: %s\n\n", r->dev.usable ? r->dev.name : r->dev.reason);
    for (int k = 0; k < ns; k++) {
        const attn_suite_t *s = suites[k];
        printf("suite %s — %s\n  axes:\n", s->name, s->title);
        for (int i = 0; i < s->naxes; i++) {
            const attn_axis_t *a = &s->axes[i];
            printf("    %-8s %-50s default ", a->name, a->help);
            if (a->def == ATTN_UNSET) printf("derived");
            else printf("%lld", (long long)a->def);
            if (a->nsweep) {
                printf("; sweep");
                for (int j = 0; j < a->nsweep; j++) printf("%c%lld", j ? ',' : ' ', (long long)a->sweep[j]);
            }
            if (a->nsweep_cpu) {
                printf("; cpu sweep");
                for (int j = 0; j < a->nsweep_cpu; j++) printf("%c%lld", j ? ',' : ' ', (long long)a->sweep_cpu[j]);
            }
            printf("\n");
        }
        printf("  variants:\n");
        for (int j = 0; j < s->nvariants; j++) {
            const attn_variant_t *x = &s->variants[j];
            if (!selected(r, x)) continue;
            const char *why = unavailable(r, s, x);
            printf("    %-12s %-3s %-4s %-8s %s%s%s\n", x->name, attn_backend_name(x->backend),
                   attn_dtype_name(x->dtype), why ? "skipped" : "runnable", x->about,
                   why ? " — " : "", why ? why : "");
        }
        printf("\n");
    }
}

/* ---------------------------------------------------------------- main */

static void calibrate(attn_device_t *d);

/* --calibrate: open the device here, measure, print KEY=VALUE lines for scripts. */
static int calibrate_main(run_t *r)
{
    if (attn_gpu_open(&r->dev, r->o.device)) {
        fprintf(stderr, "attnbench: --calibrate: %s\n", r->dev.reason);
        return 1;
    }
    calibrate(&r->dev);
    attn_gpu_close();
    if (!(r->dev.peak_gbps > 0)) return 1;
    printf("device=%s\nsm=%d\npeak_gbps=%.1f\npeak_tflops=%.1f\n", r->dev.name, r->dev.sm,
           r->dev.peak_gbps, r->dev.peak_tflops);
    return 0;
}

/* --plan: the rows a run would write for every selected variant at case v, status "planned",
 * with flops, bytes (at the variant's dtype) and the RELATIVE tolerance (max|out - ref| /
 * max|ref|) filled and nothing measured; reason says when the variant cannot take the case.
 * Peers scripts fill in the rest and write rows of the same schema. */
static void plan_rows(run_t *r, const attn_suite_t *s, const int64_t *v, attn_csv_t *csv)
{
    attn_row_t row;
    attn_row_init(&row);
    for (int j = 0; j < s->nvariants; j++) {
        const attn_variant_t *x = &s->variants[j];
        if (!selected(r, x)) continue;
        attn_row_clear(&row);
        attn_row_str(&row, s->name);
        attn_row_str(&row, x->name);
        attn_row_str(&row, attn_backend_name(x->backend));
        attn_row_str(&row, attn_dtype_name(x->dtype));
        for (int i = 0; i < s->naxes; i++) attn_row_int(&row, (long long)v[i]);
        attn_row_str(&row, "planned");
        attn_row_str(&row, x->supports ? x->supports(s, x, v) : NULL);
        for (int i = 0; i < 5; i++) attn_row_str(&row, NULL);  /* samples .. iqr_ms */
        attn_row_num(&row, s->flops(s, v));
        attn_row_num(&row, s->bytes(s, v, attn_dtype_size(x->dtype)));
        for (int i = 0; i < 6; i++) attn_row_str(&row, NULL);  /* tflops .. rel_l2_err */
        attn_row_num(&row, s->tolerance(s, v, x->dtype));
        attn_row_str(&row, NULL);                             /* checked_rows */
        attn_row_int(&row, (long long)r->o.seed);
        for (int i = 0; i < 7; i++) attn_row_str(&row, NULL);  /* device .. peak_gbps */
        attn_row_str(&row, r->git);
        attn_row_str(&row, r->stamp);
        if (csv) {
            if (attn_csv_append(csv, &row))
                fprintf(stderr, "attnbench: writing a row to %s failed: %s\n", csv->path,
                        strerror(errno));
        } else {
            printf("%s\n", row.buf);
        }
    }
    attn_row_free(&row);
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "attnbench: %s\n(see attnbench --help)\n", msg);
    return 2;
}

/* Measure the ceilings of an open device, saying so on stderr; on failure the run goes on
 * without the percentage columns. */
static void calibrate(attn_device_t *d)
{
    char err[512];
    const double t0 = attn_now();
    if (attn_gpu_calibrate(d, err, sizeof err))
        fprintf(stderr, "attnbench: calibration failed, rows carry no pct_peak/pct_bw: %s\n", err);
    else
        fprintf(stderr, "calibration: device-to-device copy %.1f GB/s (read + write), bf16 cuBLAS "
                        "GEMM %.1f TFLOP/s (%.1f s)\n",
                d->peak_gbps, d->peak_tflops, attn_now() - t0);
}

static int probe_child(void *arg, int fd)
{
    const run_t *r = arg;
    attn_device_t d;
    if (attn_gpu_open(&d, r->o.device) == 0 && r->calibrate) calibrate(&d);
    return attn_msg_send(fd, 'D', 0, &d, sizeof d) ? 1 : 0;
}

/* What an isolated run's parent knows of the device: asked of a child process, so that the
 * parent never creates a CUDA context (its case children could not use the device then). */
static void probe_device(run_t *r)
{
    memset(&r->dev, 0, sizeof r->dev);
    attn_child_t ch;
    if (attn_child_start(&ch, probe_child, r)) {
        snprintf(r->dev.reason, sizeof r->dev.reason, "cannot start the device probe: %s",
                 strerror(errno));
        return;
    }
    attn_msg_t m;
    int k, got = 0;
    while ((k = attn_child_next(&ch, r->o.timeout, &m)) != ATTN_CHILD_END) {
        if (k == ATTN_CHILD_TIMEOUT) attn_child_kill(&ch);
        if (k == ATTN_CHILD_MSG && m.type == 'D' && m.len == sizeof r->dev) {
            memcpy(&r->dev, m.text, sizeof r->dev);
            got = 1;
        }
    }
    char how[160];
    if (!got)
        snprintf(r->dev.reason, sizeof r->dev.reason, "the device probe %s",
                 ch.killed ? "hung (killed after --timeout)" : attn_child_status_str(&ch, how, sizeof how));
    attn_child_free(&ch);
}

int attn_main(int argc, char **argv)
{
    static run_t R;
    run_t *r = &R;
    char err[1024];
    if (argc > 1 && !strcmp(argv[1], "compare")) return attn_compare_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "merge")) return attn_merge_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "floors")) return attn_floors_main(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "plots")) return attn_plots_main(argc - 1, argv + 1);
    r->child_fd = -1;
    attn_opts_init(&r->o);
    if (attn_parse_args(argc, argv, &r->o, err, sizeof err)) return usage_error(err);
    if (r->o.help) {
        attn_print_help(stdout);
        return 0;
    }
    if (r->o.calibrate) return calibrate_main(r);
    if (r->o.list_suites) { /* for scripts: one name a line, in --list order */
        for (int i = 0; attn_suites[i]; i++) printf("%s\n", attn_suites[i]->name);
        return 0;
    }
    r->emu = !strcmp(r->o.backend, "emu");
    r->isolate = r->o.isolate < 0 ? r->o.sweep : r->o.isolate;

    /* Suites. */
    const attn_suite_t *suites[64];
    int ns = 0;
    for (int i = 0; attn_suites[i]; i++)
        if (!strcmp(r->o.suite, "all") || !strcmp(r->o.suite, attn_suites[i]->name))
            suites[ns++] = attn_suites[i];
    if (!ns) {
        int off = snprintf(err, sizeof err, "unknown suite '%s' (known: all", r->o.suite);
        for (int i = 0; attn_suites[i]; i++)
            off += snprintf(err + off, sizeof err - (size_t)off, ", %s", attn_suites[i]->name);
        snprintf(err + off, sizeof err - (size_t)off, ")");
        return usage_error(err);
    }

    /* Variants. */
    if (r->o.variant_re) {
        int rc = regcomp(&r->re, r->o.variant_re, REG_EXTENDED | REG_NOSUB);
        if (rc) {
            char m[256];
            regerror(rc, &r->re, m, sizeof m);
            snprintf(err, sizeof err, "--variant '%s': bad regular expression: %s",
                     r->o.variant_re, m);
            return usage_error(err);
        }
        r->have_re = 1;
    }
    int nsel = 0, want_gpu = 0;
    for (int k = 0; k < ns; k++)
        for (int j = 0; j < suites[k]->nvariants; j++)
            if (selected(r, &suites[k]->variants[j])) {
                nsel++;
                want_gpu |= suites[k]->variants[j].backend == ATTN_GPU;
            }
    if (!nsel) {
        int off = snprintf(err, sizeof err, "no variant matches --variant '%s' --backend %s (variants:",
                           r->o.variant_re ? r->o.variant_re : "", r->o.backend);
        for (int k = 0; k < ns; k++)
            for (int j = 0; j < suites[k]->nvariants && off < (int)sizeof err; j++)
                off += snprintf(err + off, sizeof err - (size_t)off, " %s", suites[k]->variants[j].name);
        if (off < (int)sizeof err) snprintf(err + off, sizeof err - (size_t)off, ")");
        return usage_error(err);
    }

    r->calibrate = want_gpu && !r->emu && !r->o.check_only && !r->o.no_calibrate && !r->o.list;
    if (r->o.plan) {
        snprintf(r->dev.reason, sizeof r->dev.reason, "GPU not used (--plan)");
    } else if (r->emu) {
        snprintf(r->dev.reason, sizeof r->dev.reason, "GPU not used (--backend emu)");
        if (attn_emu_open(r->emu_reason, sizeof r->emu_reason) == -2)
            return usage_error(r->emu_reason); /* a stale module: never check old kernels */
    } else if (want_gpu) {
        if (r->isolate) probe_device(r);
        else if (attn_gpu_open(&r->dev, r->o.device) == 0 && r->calibrate) calibrate(&r->dev);
    } else {
        snprintf(r->dev.reason, sizeof r->dev.reason, "GPU not used (--backend cpu)");
    }
    if (r->o.list) {
        list(r, suites, ns);
        return 0;
    }

    /* Which grid: the GPU one only when some selected GPU variant can run here. */
    int gpu_runnable = 0;
    for (int k = 0; k < ns; k++)
        for (int j = 0; j < suites[k]->nvariants; j++) {
            const attn_variant_t *x = &suites[k]->variants[j];
            gpu_runnable |= x->backend == ATTN_GPU && !r->emu && selected(r, x) &&
                            !unavailable(r, suites[k], x);
        }
    /* A plan is of the GPU grid whenever a GPU variant is selected, device or not. */
    const int cpu_grid = r->o.plan ? !want_gpu : !gpu_runnable;
    if (r->o.sweep && cpu_grid && !r->o.plan)
        fprintf(stderr, "attnbench: %s: running the smaller CPU sweep grid (CPU variants only; "
                        "GPU variants are recorded as skipped)\n",
                r->dev.reason);

    /* Every case of every suite is built (and rejected) before anything runs. With --shard,
     * case g (counted over the suites in order) runs when g % N == I. */
    int64_t *cases[64];
    int ncases[64], nmine[64], total = 0, mine = 0;
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

    provenance(r);
    /* Results files: opened (and refused) before anything runs. */
    attn_csv_t csv[64];
    char paths[64][1024];
    const int want_csv = r->o.csv || (!r->o.check_only && !r->o.plan);
    for (int k = 0; k < ns; k++) {
        csv[k].fd = -1;
        if (!want_csv) continue;
        const char *p = r->o.csv;
        char *out = paths[k];
        if (!p) snprintf(out, 1024, "%s/%s.csv", r->run_dir, suites[k]->name);
        else {
            const char *at = strstr(p, "{suite}");
            if (at)
                snprintf(out, 1024, "%.*s%s%s", (int)(at - p), p, suites[k]->name, at + 7);
            else if (ns > 1) {
                const char *dot = strrchr(p, '.');
                const char *sl = strrchr(p, '/');
                if (dot && (!sl || dot > sl))
                    snprintf(out, 1024, "%.*s-%s%s", (int)(dot - p), p, suites[k]->name, dot);
                else snprintf(out, 1024, "%s-%s", p, suites[k]->name);
            } else snprintf(out, 1024, "%s", p);
        }
        attn_row_t h;
        attn_row_init(&h);
        attn_csv_header(suites[k], &h);
        int rc = attn_csv_open(&csv[k], out, h.buf, err, sizeof err);
        attn_row_free(&h);
        if (rc) {
            for (int j = 0; j < k; j++) attn_csv_close(&csv[j]);
            fprintf(stderr, "attnbench: %s\n", err);
            return 2;
        }
    }
    if (r->o.dump) {
        char mpath[1280];
        snprintf(mpath, sizeof mpath, "%s/manifest.json", r->o.dump);
        if (attn_mkdirs(r->o.dump, 1) || !(r->manifest = fopen(mpath, "w"))) {
            fprintf(stderr, "attnbench: --dump '%s': cannot create %s: %s\n", r->o.dump, mpath,
                    strerror(errno));
            return 2;
        }
        fprintf(r->manifest, "{\"seed\": %llu, \"git_commit\": \"%s\", \"files\": [",
                (unsigned long long)r->o.seed, r->git);
    }

    if (r->o.plan) {
        long pg = 0;
        for (int k = 0; k < ns; k++) {
            attn_csv_t *c = csv[k].fd >= 0 ? &csv[k] : NULL;
            if (!c) {
                attn_row_t h;
                attn_row_init(&h);
                attn_csv_header(suites[k], &h);
                printf("%s\n", h.buf);
                attn_row_free(&h);
            }
            for (int i = 0; i < ncases[k]; i++) {
                if (!attn_in_shard(&r->o, pg++)) continue;
                plan_rows(r, suites[k], cases[k] + (size_t)i * (size_t)suites[k]->naxes, c);
            }
            free(cases[k]);
            if (c) {
                attn_csv_close(c);
                fprintf(stderr, "plan: %s\n", paths[k]);
            }
        }
        fflush(stdout);
        return 0;
    }
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
    long g = 0;
    for (int k = 0; k < ns; k++) {
        for (int i = 0, pos = 0; i < ncases[k] && !stop_signal; i++) {
            if (!attn_in_shard(&r->o, g++)) continue;
            const int64_t *v = cases[k] + (size_t)i * (size_t)suites[k]->naxes;
            attn_csv_t *c = csv[k].fd >= 0 ? &csv[k] : NULL;
            if (r->isolate) run_case_isolated(r, suites[k], v, i, ++pos, nmine[k], c);
            else run_case(r, suites[k], v, i, ++pos, nmine[k], c, 0);
        }
        free(cases[k]);
    }
    for (int k = 0; k < ns; k++)
        if (csv[k].fd >= 0) {
            attn_csv_close(&csv[k]);
            fprintf(stderr, "results: %s\n", paths[k]);
        }
    if (r->manifest) {
        fputs("\n]}\n", r->manifest);
        fclose(r->manifest);
        fprintf(stderr, "dump: %s/manifest.json\n", r->o.dump);
    }
    attn_gpu_close();
    if (stop_signal) {
        fprintf(stderr, "%d ok, %d failed, %d skipped\n", r->nok, r->nfail, r->nskip);
        fprintf(stderr, "attnbench: stopped by %s; every row finished before it is in the "
                        "results\n", stop_signal == SIGINT ? "SIGINT" : "SIGTERM");
        return 128 + stop_signal;
    }
    if (r->o.sweep && want_csv && !r->o.no_plots) {
        if (r->o.shard_n > 1)
            fprintf(stderr, "attnbench: shard %d/%d: no plots of a part; render them after "
                            "`attnbench merge` (plots/render.sh)\n", r->o.shard_i, r->o.shard_n);
        else
            for (int k = 0; k < ns; k++) render_plots(r, suites[k], paths[k]);
    }
    fprintf(stderr, "%d ok, %d failed, %d skipped\n", r->nok, r->nfail, r->nskip);
    return r->nfail ? 1 : 0;
}
