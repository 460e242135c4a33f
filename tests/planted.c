/* attnbench-test: the real program (bench/ unchanged) over a registry that holds one planted
 * suite, built only by tests/meson.build and never installed. Its variants fault on purpose, so
 * the tests can show that an isolated sweep records each fault as a failed row and goes on:
 *
 *   before     CPU, correct (y = 2x)
 *   segv       CPU, writes through a wild pointer: SIGSEGV
 *   abort      CPU, abort(): SIGABRT (a failed assert)
 *   hang       CPU, never returns (killed after --timeout)
 *   gpu-fault  GPU, a kernel that writes to an illegal address: the CUDA context is lost
 *   gpu-ok     GPU, correct: must pass in the fresh process that follows gpu-fault
 *   gpu-huge   GPU, asks for a 1 PiB workspace: skipped for device memory before allocating
 *   after      CPU, correct: must pass after all of the above
 *
 * Axis n (1..4, swept 1,2): the case has 64·n elements.
 *
 * For the tests of --json's timing samples (tests/json_samples_test.sh): PLANTED_FALLING set,
 * before and after sleep 10 ms less on each call after their checked run (50, 40, 30, 20, then
 * 10 ms), so their samples fall in the order taken; PLANTED_SAMPLES=drop-last|sorted|lost makes
 * a case's child send a row's samples without the last one, sorted, or none (attn_child_samples). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isolate.h"
#include "registry.h"
#include "run.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
int planted_gpu_fault_launch(const float *x, float *y, int64_t n, void *stream);
int planted_gpu_double_launch(const float *x, float *y, int64_t n, void *stream);
const char *planted_gpu_strerror(int e);
#endif

static const attn_axis_t axes[] = {
    {"n", "elements / 64", 1, 1, 4, 2, {1, 2}, 2, {1, 2}},
};

static int64_t numel(const int64_t *v) { return 64 * v[0]; }

static void layout(const attn_suite_t *s, const int64_t *v, attn_layout_t *L)
{
    *L = (attn_layout_t){.nin = 1, .out_rows = v[0]};
    L->in[0] = (attn_tensor_t){"x", ATTN_T_FLOAT, 1, {numel(v)}, "e"};
    L->out = (attn_tensor_t){"y", ATTN_T_FLOAT, 1, {numel(v)}, "e"};
}

static void generate(const attn_suite_t *s, const int64_t *v, uint64_t seed, void *const *in)
{
    attn_fill_normal(in[0], (size_t)numel(v), 1.0, seed, 1);
}

static void reference(const attn_suite_t *s, const int64_t *v, const void *const *in, double *out, const uint8_t *sel)
{
    const float *x = in[0];
    for (int64_t e = 0; e < numel(v); e++)
        if (!sel || sel[e / 64]) out[e] = 2.0 * x[e];
}

static double flops(const attn_suite_t *s, const int64_t *v) { return (double)numel(v); }
static double bytes(const attn_suite_t *s, const int64_t *v, int es) { return 2.0 * (double)numel(v) * es; }
/* y = 2x is exact in float */
static double tolerance(const attn_suite_t *s, const int64_t *v, attn_dtype_t t) { (void)v, (void)t; return 1e-6; }

/* PLANTED_FALLING: the calls since the checked run, whose output the executor poisoned (NaN) */
static void falling(const float *y)
{
    static int calls;
    if (!getenv("PLANTED_FALLING")) return;
    calls = isnan(y[0]) ? 0 : calls + 1;
    const int ms = calls >= 1 && calls < 5 ? 50 - 10 * (calls - 1) : 10;
    struct timespec t = {0, ms * 1000000L};
    while (nanosleep(&t, &t) && errno == EINTR) {
    }
}

static int run_double(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, void *st)
{
    (void)ws, (void)st;
    const float *x = in[0];
    float *y = out;
    falling(y);
    for (int64_t e = 0; e < numel(v); e++) y[e] = 2.0f * x[e];
    return 0;
}

static int run_segv(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, void *st)
{
    (void)v, (void)in, (void)out, (void)ws, (void)st;
    float *volatile wild = (float *)(uintptr_t)16;
    *wild = 1.0f;   /* a write to an address no allocation has */
    raise(SIGSEGV); /* in case that page was mapped after all */
    return 1;
}

static int run_abort(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, void *st)
{
    (void)v, (void)in, (void)out, (void)ws, (void)st;
    abort();
}

static int run_hang(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, void *st)
{
    (void)v, (void)in, (void)out, (void)ws, (void)st;
    volatile int forever = 1;
    while (forever) pause();
    return 1;
}

#ifdef ATTN_HAVE_CUDA
static int run_gpu_fault(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, void *st)
{
    (void)ws;
    return planted_gpu_fault_launch(in[0], out, numel(v), st);
}
static int run_gpu_double(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, void *st)
{
    (void)ws;
    return planted_gpu_double_launch(in[0], out, numel(v), st);
}
#define GPU(fn) .run = fn, .error_string = planted_gpu_strerror
#else
#define GPU(fn) .available = "built without CUDA"
#endif

static size_t ws_huge(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v)
{
    return (size_t)1 << 50;
}

static const attn_variant_t variants[] = {
    {"before", ATTN_CPU, ATTN_F32, -1, "tests/planted.c", "correct", .run = run_double},
    {"segv", ATTN_CPU, ATTN_F32, -1, "tests/planted.c", "SIGSEGV", .run = run_segv},
    {"abort", ATTN_CPU, ATTN_F32, -1, "tests/planted.c", "SIGABRT", .run = run_abort},
    {"hang", ATTN_CPU, ATTN_F32, -1, "tests/planted.c", "never returns", .run = run_hang},
    {"gpu-fault", ATTN_GPU, ATTN_F32, -1, "tests/planted_gpu.cu", "illegal address",
     GPU(run_gpu_fault)},
    {"gpu-ok", ATTN_GPU, ATTN_F32, -1, "tests/planted_gpu.cu", "correct", GPU(run_gpu_double)},
    {"gpu-huge", ATTN_GPU, ATTN_F32, -1, "tests/planted_gpu.cu", "a 1 PiB workspace",
     GPU(run_gpu_double), .workspace = ws_huge},
    {"after", ATTN_CPU, ATTN_F32, -1, "tests/planted.c", "correct", .run = run_double},
};

static const attn_suite_t planted_suite = {
    .name = "planted",
    .title = "faults planted for the isolation tests",
    .naxes = 1,
    .axes = axes,
    .layout = layout,
    .generate = generate,
    .reference = reference,
    .flops = flops,
    .bytes = bytes,
    .tolerance = tolerance,
    .plot_axis = "n",
    .nvariants = sizeof variants / sizeof variants[0],
    .variants = variants,
};

const attn_suite_t *const attn_suites[] = {&planted_suite, NULL};

/* PLANTED_FORK_FAILS set: every child process fails to start, as fork() does when the process
 * table is full (root ignores RLIMIT_NPROC, so it cannot be provoked for real here). */
int attn_child_start(attn_child_t *c, int (*fn)(void *arg, int fd), void *arg)
{
    if (getenv("PLANTED_FORK_FAILS")) {
        errno = EAGAIN;
        return -1;
    }
    return attn_child_spawn(c, fn, arg);
}

static int cmp_ms(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* PLANTED_SAMPLES: a child's row message that drops the last sample, sorts them, or loses them */
int attn_child_samples(double *ms, int n)
{
    const char *how = getenv("PLANTED_SAMPLES");
    if (!how) return n;
    if (!strcmp(how, "drop-last")) return n - 1;
    if (!strcmp(how, "sorted")) qsort(ms, (size_t)n, sizeof *ms, cmp_ms);
    if (!strcmp(how, "lost")) return 0;
    return n;
}

int main(int argc, char **argv) { return attn_main(argc, argv); }
