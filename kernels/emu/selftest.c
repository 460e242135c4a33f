/* attn_emu_selftest: the emulation module on its own, without the harness. It dlopens a module
 * (libattn_emu.so or a planted-bug build of it), and for each case runs every GPU variant of the
 * suite on host buffers under the three thread schedules, requiring bit-identical outputs that
 * match the suite's reference within its tolerance; it prints one row per case and variant
 * with the time each schedule took.
 *
 *   attn_emu_selftest [options] MODULE.so
 *     --suite NAME        suite to run (default mhsa)
 *     --shape k=v,...     a case (repeatable; default: a built-in list for mhsa)
 *     --quick             the short built-in list (plant tests)
 *     --seed N            input and schedule seed (default 1)
 *     --no-fork           run in this process (by default each case and variant runs in a child
 *                         process, so that a crash or an AddressSanitizer report is one failed row)
 *     --expect-fail L     L = comma-separated suite/variant names: succeed only when each of them
 *                         fails at least once and every other variant passes everywhere
 * Exit status 0 on success, 1 on failure, 2 on bad usage. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "registry.h"
#include "util.h"
#include "emu_api.h"

#define NSCHED ATTN_EMU_NSCHEDULES
#define MAX_SHAPES 64
#define MAX_TARGETS 16

static const char *const mhsa_full[] = {
    "B=1,H=4,N=1000,d=64",              /* the timing shape: B·H = 4 */
    "B=1,H=4,N=500,d=128",
    "B=2,H=2,N=1000,d=64,causal=1",
    "B=3,H=2,N=17,d=64,kvpad=1",        /* last batch has no keys: all-masked rows */
    "B=2,H=2,N=77,Nk=200,d=128,kvpad=1",
    "B=2,H=1,N=300,Nk=45,d=32,causal=1",
    "B=2,H=2,N=130,d=128,causal=1,kvpad=1",
    "B=1,H=1,N=1,d=64",
    NULL,
};

static const char *const mhsa_quick[] = {
    "B=1,H=2,N=200,d=64",
    "B=3,H=1,N=77,Nk=45,d=128,causal=1,kvpad=1",
    "B=2,H=2,N=33,d=32",
    NULL,
};

/* What a child reports about one case and variant (in shared memory). */
typedef struct result {
    int done;           /* the child got to the end */
    int failed;
    int skipped;
    double ms[NSCHED];
    int identical;      /* all schedules gave the same bytes */
    double max_err, tol_abs;
    uint64_t switches, warp_ops; /* per run (context switches, warp collectives) */
    char msg[600];
} result_t;

typedef struct module {
    const attn_suite_t *const *suites;
    void (*set_schedule)(int, uint64_t);
    const char *(*last_error)(void);
    const char *(*schedule_name)(int);
    void (*get_stats)(attn_emu_stats_t *);
} module_t;

static void die_usage(const char *msg)
{
    fprintf(stderr, "attn_emu_selftest: %s\n", msg);
    exit(2);
}

static void *xalloc(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, 256, n ? n : 1)) {
        fprintf(stderr, "attn_emu_selftest: out of memory (%zu bytes)\n", n);
        exit(1);
    }
    return p;
}

static double now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec * 1e-6;
}

/* Parse "k=v,k=v" into v (ATTN_UNSET elsewhere), derive, default the rest. */
static int build_case(const attn_suite_t *s, const char *shape, int64_t *v, char *err, size_t n)
{
    for (int i = 0; i < s->naxes; i++) v[i] = ATTN_UNSET;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", shape);
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq) {
            snprintf(err, n, "'%s' is not k=v", kv);
            return -1;
        }
        *eq = 0;
        const int a = attn_axis_index(s, kv);
        if (a < 0) {
            snprintf(err, n, "suite %s has no axis '%s'", s->name, kv);
            return -1;
        }
        v[a] = strtoll(eq + 1, NULL, 10);
    }
    if (s->derive(v, err, n)) return -1;
    for (int i = 0; i < s->naxes; i++)
        if (v[i] == ATTN_UNSET) v[i] = s->axes[i].def;
    return 0;
}

/* The inputs of one case in the two rounding classes, and their references. */
typedef struct inputs {
    attn_layout_t L;
    int64_t numel[ATTN_MAX_TENSORS], out_numel;
    void *in[2][ATTN_MAX_TENSORS];    /* class 0 as generated, class 1 bf16-rounded (floats) */
    uint16_t *bits[ATTN_MAX_TENSORS]; /* class 1 as bf16 bits */
    double *ref[2];                   /* NULL until needed */
} inputs_t;

static void inputs_make(const attn_suite_t *s, const int64_t *v, uint64_t seed, inputs_t *x)
{
    memset(x, 0, sizeof *x);
    s->layout(v, &x->L);
    for (int i = 0; i < x->L.nin; i++) {
        x->numel[i] = attn_tensor_numel(&x->L.in[i]);
        x->in[0][i] = xalloc((size_t)x->numel[i] * 4);
    }
    x->out_numel = attn_tensor_numel(&x->L.out);
    s->generate(v, seed, x->in[0]);
    for (int i = 0; i < x->L.nin; i++) {
        if (x->L.in[i].kind != ATTN_T_FLOAT) {
            x->in[1][i] = x->in[0][i];
            continue;
        }
        const float *g = x->in[0][i];
        float *f = xalloc((size_t)x->numel[i] * 4);
        uint16_t *b = xalloc((size_t)x->numel[i] * 2);
        for (int64_t e = 0; e < x->numel[i]; e++)
            f[e] = attn_bf16_to_f32(b[e] = attn_f32_to_bf16(g[e]));
        x->in[1][i] = f;
        x->bits[i] = b;
    }
}

static const double *inputs_ref(const attn_suite_t *s, const int64_t *v, inputs_t *x, int cls)
{
    if (!x->ref[cls]) {
        x->ref[cls] = xalloc((size_t)x->out_numel * sizeof(double));
        s->reference(v, (const void *const *)x->in[cls], x->ref[cls], NULL);
    }
    return x->ref[cls];
}

static void inputs_free(inputs_t *x)
{
    for (int i = 0; i < x->L.nin; i++) {
        if (x->in[1][i] != x->in[0][i]) free(x->in[1][i]);
        free(x->in[0][i]);
        free(x->bits[i]);
    }
    free(x->ref[0]);
    free(x->ref[1]);
}

/* Run variant x of case v under every schedule and check it; fills r. */
static void run_variant(const module_t *m, const attn_suite_t *s, const attn_variant_t *x,
                        const int64_t *v, inputs_t *in, uint64_t seed, result_t *r)
{
    const int cls = x->dtype == ATTN_BF16;
    const double *ref = inputs_ref(s, v, in, cls);
    const void *args[ATTN_MAX_TENSORS];
    for (int i = 0; i < in->L.nin; i++) /* bf16 variants read bf16 bits, as on the device */
        args[i] = cls && in->L.in[i].kind == ATTN_T_FLOAT ? (const void *)in->bits[i]
                                                          : in->in[0][i];
    const size_t osz = (size_t)in->out_numel * (size_t)attn_dtype_size(x->dtype);
    const size_t wsz = x->workspace ? x->workspace(v) : 0;
    void *out[NSCHED];
    void *ws = xalloc(wsz);
    attn_emu_stats_t st0, st1;
    m->get_stats(&st0);
    r->identical = 1;
    for (int k = 0; k < NSCHED; k++) {
        out[k] = xalloc(osz);
        memset(out[k], 0xff, osz); /* NaN: an element never written fails the check */
        memset(ws, 0xff, wsz);
        m->set_schedule(k, seed);
        const double t0 = now_ms();
        const int e = x->run(v, args, out[k], ws, NULL);
        r->ms[k] = now_ms() - t0;
        if (e) {
            const char *why = m->last_error();
            snprintf(r->msg, sizeof r->msg, "%s schedule: error %d (%s)%s%s",
                     m->schedule_name(k), e, x->error_string ? x->error_string(e) : "?",
                     why ? ": " : "", why ? why : "");
            r->failed = 1;
            for (int j = 0; j <= k; j++) free(out[j]);
            free(ws);
            return;
        }
        if (k && memcmp(out[k], out[0], osz)) {
            if (r->identical) {
                int64_t e0 = 0;
                const size_t es = (size_t)attn_dtype_size(x->dtype);
                while (!memcmp((char *)out[k] + e0 * es, (char *)out[0] + e0 * es, es)) e0++;
                char idx[96];
                attn_index_str(&in->L.out, e0, idx, sizeof idx);
                snprintf(r->msg, sizeof r->msg,
                         "%s and %s schedules differ, first at %s: %.9g vs %.9g",
                         m->schedule_name(0), m->schedule_name(k), idx,
                         attn_load(out[0], x->dtype, e0), attn_load(out[k], x->dtype, e0));
            }
            r->identical = 0;
            r->failed = 1;
        }
    }
    m->get_stats(&st1);
    r->switches = (st1.switches - st0.switches) / NSCHED; /* per run */
    r->warp_ops = (st1.warp_ops - st0.warp_ops) / NSCHED;
    const attn_check_t c = attn_compare(out[0], x->dtype, ref, in->out_numel, 1, NULL,
                                        s->tolerance(v, x->dtype));
    r->max_err = c.nonfinite ? INFINITY : c.max_abs_err;
    r->tol_abs = c.tol_abs;
    if (!c.ok && !r->failed) {
        char idx[96];
        attn_index_str(&in->L.out, c.worst, idx, sizeof idx);
        snprintf(r->msg, sizeof r->msg,
                 "wrong: max |out - ref| %.3g > %.3g (%lld non-finite); worst at %s: %.9g vs %.9g",
                 c.max_abs_err, c.tol_abs, (long long)c.nonfinite, idx, c.out_at_worst,
                 c.ref_at_worst);
    }
    if (!c.ok) r->failed = 1;
    for (int k = 0; k < NSCHED; k++) free(out[k]);
    free(ws);
}

static void run_isolated(const module_t *m, const attn_suite_t *s, const attn_variant_t *x,
                         const int64_t *v, inputs_t *in, uint64_t seed, int use_fork, result_t *r)
{
    if (!use_fork) {
        run_variant(m, s, x, v, in, seed, r);
        r->done = 1;
        return;
    }
    /* references are computed here, once, not in every child */
    inputs_ref(s, v, in, x->dtype == ATTN_BF16);
    fflush(NULL);
    const pid_t pid = fork();
    if (pid < 0) {
        snprintf(r->msg, sizeof r->msg, "fork: %s", strerror(errno));
        r->failed = 1;
        return;
    }
    if (pid == 0) {
        run_variant(m, s, x, v, in, seed, r);
        r->done = 1;
        fflush(NULL);
        _exit(0);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (!r->done) {
        r->failed = 1;
        if (WIFSIGNALED(status))
            snprintf(r->msg, sizeof r->msg, "crashed: %s", strsignal(WTERMSIG(status)));
        else
            snprintf(r->msg, sizeof r->msg, "died with exit status %d (sanitizer report above?)",
                     WEXITSTATUS(status));
    }
}

int main(int argc, char **argv)
{
    const char *suite_name = "mhsa", *module_path = NULL, *expect = NULL;
    const char *shapes[MAX_SHAPES];
    int nshapes = 0, quick = 0, use_fork = 1;
    uint64_t seed = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--suite") && i + 1 < argc) suite_name = argv[++i];
        else if (!strcmp(a, "--shape") && i + 1 < argc) {
            if (nshapes == MAX_SHAPES) die_usage("too many --shape");
            shapes[nshapes++] = argv[++i];
        } else if (!strcmp(a, "--quick")) quick = 1;
        else if (!strcmp(a, "--no-fork")) use_fork = 0;
        else if (!strcmp(a, "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(a, "--expect-fail") && i + 1 < argc) expect = argv[++i];
        else if (a[0] == '-') die_usage("usage: attn_emu_selftest [--suite S] [--shape k=v,...] "
                                        "[--quick] [--seed N] [--no-fork] [--expect-fail L] "
                                        "MODULE.so");
        else module_path = a;
    }
    if (!module_path) die_usage("no module given");

    void *lib = dlopen(module_path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "attn_emu_selftest: %s\n", dlerror());
        return 1;
    }
    module_t m;
    m.suites = (const attn_suite_t *const *)dlsym(lib, "attn_suites");
    *(void **)&m.set_schedule = dlsym(lib, "attn_emu_set_schedule");
    *(void **)&m.last_error = dlsym(lib, "attn_emu_last_error");
    *(void **)&m.schedule_name = dlsym(lib, "attn_emu_schedule_name");
    *(void **)&m.get_stats = dlsym(lib, "attn_emu_get_stats");
    if (!m.suites || !m.set_schedule || !m.last_error || !m.schedule_name || !m.get_stats) {
        fprintf(stderr, "attn_emu_selftest: %s lacks the registry or the emulator API\n",
                module_path);
        return 1;
    }
    const attn_suite_t *s = NULL;
    for (int i = 0; m.suites[i]; i++)
        if (!strcmp(m.suites[i]->name, suite_name)) s = m.suites[i];
    if (!s) die_usage("no such suite in the module");
    if (!nshapes) {
        if (strcmp(suite_name, "mhsa")) die_usage("give --shape for suites other than mhsa");
        for (const char *const *p = quick ? mhsa_quick : mhsa_full; *p; p++) shapes[nshapes++] = *p;
    }

    char targets[MAX_TARGETS][96];
    int ntargets = 0, target_failed[MAX_TARGETS] = {0};
    if (expect) {
        char buf[1024];
        snprintf(buf, sizeof buf, "%s", expect);
        for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
            if (ntargets < MAX_TARGETS) snprintf(targets[ntargets++], sizeof targets[0], "%s", t);
    }

    result_t *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (r == MAP_FAILED) return 1;
    printf("module %s, suite %s, seed %llu%s\n", module_path, s->name, (unsigned long long)seed,
           expect ? ", expecting failures" : "");
    printf("%-40s %-12s %-5s %9s %9s %9s %10s %10s  %s\n", "case", "variant", "dtype",
           "in-order", "reversed", "shuffled", "switches", "err/tol", "result");
    int unexpected = 0, passed = 0, failed = 0, skipped = 0;
    double total_ms = 0;
    for (int c = 0; c < nshapes; c++) {
        int64_t v[ATTN_MAX_AXES];
        char err[256];
        if (build_case(s, shapes[c], v, err, sizeof err)) {
            fprintf(stderr, "attn_emu_selftest: case '%s': %s\n", shapes[c], err);
            return 2;
        }
        inputs_t in;
        inputs_make(s, v, seed, &in);
        for (int j = 0; j < s->nvariants; j++) {
            const attn_variant_t *x = &s->variants[j];
            if (x->backend != ATTN_GPU) continue;
            char name[96];
            snprintf(name, sizeof name, "%s/%s", s->name, x->name);
            int target = -1;
            for (int t = 0; t < ntargets; t++)
                if (!strcmp(targets[t], name)) target = t;
            const char *why = x->available ? x->available : x->supports ? x->supports(v) : NULL;
            if (why) {
                printf("%-40s %-12s %-5s %9s %9s %9s %10s %10s  skip: %s\n", shapes[c], x->name,
                       attn_dtype_name(x->dtype), "-", "-", "-", "-", "-", why);
                skipped++;
                continue;
            }
            memset(r, 0, sizeof *r);
            run_isolated(&m, s, x, v, &in, seed, use_fork, r);
            char ms[NSCHED][16], ratio[16], sw[16];
            for (int k = 0; k < NSCHED; k++) {
                if (r->ms[k] > 0) snprintf(ms[k], sizeof ms[k], "%.0f ms", r->ms[k]);
                else snprintf(ms[k], sizeof ms[k], "-");
                total_ms += r->ms[k];
            }
            if (r->tol_abs > 0) snprintf(ratio, sizeof ratio, "%.3f", r->max_err / r->tol_abs);
            else snprintf(ratio, sizeof ratio, "-");
            snprintf(sw, sizeof sw, "%.1fM", (double)r->switches / 1e6);
            const char *verdict = r->failed ? (target >= 0 ? "FAIL (expected)" : "FAIL") : "ok";
            printf("%-40s %-12s %-5s %9s %9s %9s %10s %10s  %s%s%s\n", shapes[c], x->name,
                   attn_dtype_name(x->dtype), ms[0], ms[1], ms[2], sw, ratio, verdict,
                   r->msg[0] ? ": " : "", r->msg);
            fflush(stdout);
            if (r->failed) {
                failed++;
                if (target >= 0) target_failed[target] = 1;
                else unexpected++;
            } else {
                passed++;
            }
        }
        inputs_free(&in);
    }
    int missing = 0;
    for (int t = 0; t < ntargets; t++)
        if (!target_failed[t]) {
            printf("expected %s to fail, but it passed every case\n", targets[t]);
            missing++;
        }
    printf("%d passed, %d failed, %d skipped; %.1f s emulated\n", passed, failed, skipped,
           total_ms / 1e3);
    if (expect) {
        printf("%s\n", !missing && !unexpected ? "every planted bug was caught, nothing else failed"
                                               : "FAILED");
        return !missing && !unexpected ? 0 : 1;
    }
    return failed ? 1 : 0;
}
