/* The threaded reference (bench/refpool.c), for every suite:
 *  - at the suite's default case and the smallest case of its CPU grid, with every row and with
 *    a sampled selection, the reference on 1, 2, 3 and 7 threads is bit-identical to one call,
 *    and NaN exactly in the rows not selected;
 *  - every selected row is computed by exactly one chunk and no other row by any (a counting
 *    wrapper around the suite's reference sees each call's row selection), in at most as many
 *    calls as threads;
 *  - the plan: chunks in order, about equal in selected rows, cut at the suite's ref_unit while
 *    there are enough units, a unit split only among its own threads otherwise, a
 *    ref_unit_whole unit never split, a ref_serial suite never split;
 *  - the thread count: --ref-threads' default and the per-case reduction. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "cli.h"
#include "common.h"
#include "refpool.h"

#define FOR_EACH_SUITE(s) \
    for (int si_ = 0; attn_suites[si_]; si_++) \
        for (const attn_suite_t *s = attn_suites[si_]; s; s = NULL)

/* ------------------------------------------------------------------ a counting reference */

/* The suite under test is copied with its reference replaced by counting_reference, which counts
 * (atomically: it runs on the pool's threads) the calls and how often each row was selected,
 * then calls the real one. */
static const attn_suite_t *g_real;
static atomic_int *g_count;
static atomic_int g_calls;
static int64_t g_rows;

static void counting_reference(const attn_suite_t *s, const int64_t *v, const void *const *in, double *out,
                               const uint8_t *sel)
{
    atomic_fetch_add(&g_calls, 1);
    for (int64_t r = 0; r < g_rows; r++)
        if (!sel || sel[r]) atomic_fetch_add(&g_count[r], 1);
    g_real->reference(g_real, v, in, out, sel);
}

/* ------------------------------------------------------------------ cases */

typedef struct rcase {
    const attn_suite_t *s;
    int64_t *v; /* owned when own_v */
    attn_layout_t L;
    void *in[ATTN_MAX_TENSORS];
    int64_t no, rows;
} rcase_t;

static void open_case(rcase_t *c, const attn_suite_t *s, int64_t *v)
{
    c->s = s, c->v = v;
    s->layout(s, v, &c->L);
    for (int i = 0; i < c->L.nin; i++) {
        c->in[i] = calloc((size_t)attn_tensor_numel(&c->L.in[i]) * 4 + 4, 1);
        cr_assert_not_null(c->in[i]);
    }
    s->generate(s, v, 11, c->in);
    c->no = attn_tensor_numel(&c->L.out);
    c->rows = c->L.out_rows;
}

static void close_case(rcase_t *c)
{
    for (int i = 0; i < c->L.nin; i++) free(c->in[i]);
}

static int64_t row_of(const rcase_t *c, int64_t e)
{
    return c->s->row_of ? c->s->row_of(c->s, c->v, e) : e / (c->no / c->rows);
}

static double *nan_out(const rcase_t *c)
{
    /* room for every output the reference writes (registry.h: attn_layout_t); output 0 is
     * what is compared here */
    const size_t n = attn_out_bytes(&c->L, sizeof(double)) / sizeof(double);
    double *o = malloc(n * sizeof *o);
    cr_assert_not_null(o);
    for (size_t e = 0; e < n; e++) o[e] = NAN;
    return o;
}

/* The default case (mode 0) or the CPU grid's case with the fewest FLOPs (mode 1), malloc'd. */
static int64_t *pick_case(const attn_suite_t *s, int mode)
{
    attn_opts_t o;
    attn_opts_init(&o);
    o.sweep = mode;
    char err[256];
    int64_t *all = NULL;
    const int n = attn_build_cases(s, &o, 1, &all, err, sizeof err);
    cr_assert(n >= 1, "%s: %s", s->name, err);
    int best = 0;
    for (int k = 1; k < n; k++)
        if (s->flops(s, all + (size_t)k * s->naxes) < s->flops(s, all + (size_t)best * s->naxes)) best = k;
    int64_t *v = malloc((size_t)s->naxes * sizeof *v);
    cr_assert_not_null(v);
    memcpy(v, all + (size_t)best * s->naxes, (size_t)s->naxes * sizeof *v);
    free(all);
    return v;
}

/* One case, one selection (NULL: every row): the serial reference, then 1, 2, 3 and 7 threads
 * through the counting wrapper; outputs bit-identical, NaN exactly outside the selection, each
 * selected row computed once. */
static void check_threads(const rcase_t *c, const uint8_t *sel, const char *what)
{
    const attn_suite_t *s = c->s;
    double *ref = nan_out(c);
    s->reference(s, c->v, (const void *const *)c->in, ref, sel);
    for (int64_t e = 0; e < c->no; e++) {
        const int64_t r = row_of(c, e);
        const int want = !sel || sel[r];
        cr_assert(want ? isfinite(ref[e]) : isnan(ref[e]),
                  "%s (%s): serial reference, element %lld of row %lld is %g", s->name, what,
                  (long long)e, (long long)r, ref[e]);
    }

    attn_suite_t wrapped = *s;
    wrapped.reference = counting_reference;
    g_real = s;
    g_rows = c->rows;
    g_count = malloc((size_t)c->rows * sizeof *g_count);
    cr_assert_not_null(g_count);
    static const int T[] = {1, 2, 3, 7};
    for (size_t ti = 0; ti < sizeof T / sizeof T[0]; ti++) {
        for (int64_t r = 0; r < c->rows; r++) atomic_init(&g_count[r], 0);
        atomic_store(&g_calls, 0);
        double *out = nan_out(c);
        const int used = attn_ref_run(&wrapped, c->v, (const void *const *)c->in, out, sel, T[ti]);
        cr_assert(used >= 1 && used <= T[ti], "%s (%s), %d threads: %d used", s->name, what,
                  T[ti], used);
        cr_assert_eq(atomic_load(&g_calls), used, "%s (%s), %d threads: %d calls for %d chunks",
                     s->name, what, T[ti], atomic_load(&g_calls), used);
        for (int64_t r = 0; r < c->rows; r++) {
            const int n = atomic_load(&g_count[r]), want = !sel || sel[r];
            cr_assert_eq(n, want, "%s (%s), %d threads: row %lld computed %d times (%s)", s->name,
                         what, T[ti], (long long)r, n, want ? "selected" : "not selected");
        }
        for (int64_t e = 0; e < c->no; e++)
            cr_assert(!memcmp(&out[e], &ref[e], sizeof out[e]),
                      "%s (%s), %d threads: element %lld (row %lld) is %.17g, serial %.17g",
                      s->name, what, T[ti], (long long)e, (long long)row_of(c, e), out[e], ref[e]);
        free(out);
    }
    free(g_count), free(ref);
}

Test(refpool, every_suite_bit_identical_to_serial, .timeout = 120)
{
    FOR_EACH_SUITE(s) {
        for (int mode = 0; mode < 2; mode++) {
            rcase_t c;
            open_case(&c, s, pick_case(s, mode));
            const char *name = mode ? "smallest CPU-grid case" : "default case";
            check_threads(&c, NULL, name);
            /* a sample of rows, as --ref-gflop takes it: about a fifth, first and last */
            uint8_t *sel = malloc((size_t)c.rows);
            cr_assert_not_null(sel);
            const int64_t want = c.rows / 5 > 3 ? c.rows / 5 : 3;
            attn_sample_rows(sel, c.rows, want, 3);
            char what[64];
            snprintf(what, sizeof what, "%s, sampled", name);
            check_threads(&c, sel, what);
            free(sel);
            close_case(&c);
            free(c.v);
        }
    }
}

/* ------------------------------------------------------------------ the plan */

/* A suite for plans alone: nothing but ref_unit and the two flags matter. */
static int64_t g_unit;
static int64_t unit_of(const attn_suite_t *s, const int64_t *v) { (void)v; return g_unit; }

/* Plan `rows` rows (selection sel) on `threads`; check the bounds and return the chunks' selected
 * row counts in cnt (threads entries). */
static int plan(const attn_suite_t *s, int64_t rows, const uint8_t *sel, int threads,
                int64_t *bounds, int64_t *cnt)
{
    const int used = attn_ref_plan(s, NULL, rows, sel, threads, bounds);
    cr_assert_eq(bounds[0], 0);
    cr_assert_eq(bounds[threads], rows);
    int nonempty = 0;
    for (int k = 0; k < threads; k++) {
        cr_assert(bounds[k] <= bounds[k + 1], "bounds not in order at %d", k);
        cnt[k] = 0;
        for (int64_t r = bounds[k]; r < bounds[k + 1]; r++) cnt[k] += !sel || sel[r];
        nonempty += cnt[k] > 0;
    }
    cr_assert_eq(used, nonempty, "returned %d chunks, %d hold rows", used, nonempty);
    return used;
}

Test(refpool, plan_rows_balanced)
{
    attn_suite_t s = {.name = "plan"};
    int64_t b[65], cnt[64];
    /* every row: 100 rows on 7 threads, 14 or 15 each */
    cr_assert_eq(plan(&s, 100, NULL, 7, b, cnt), 7);
    for (int k = 0; k < 7; k++) cr_expect(cnt[k] == 14 || cnt[k] == 15, "chunk %d: %lld", k, (long long)cnt[k]);
    /* a sample: 1000 rows, every 10th selected, 3 threads: 33 or 34 each */
    uint8_t sel[1000] = {0};
    for (int r = 0; r < 1000; r += 10) sel[r] = 1;
    cr_assert_eq(plan(&s, 1000, sel, 3, b, cnt), 3);
    for (int k = 0; k < 3; k++) cr_expect(cnt[k] == 33 || cnt[k] == 34, "chunk %d: %lld", k, (long long)cnt[k]);
    /* fewer selected rows than threads: one chunk per row */
    memset(sel, 0, sizeof sel);
    sel[5] = sel[500] = 1;
    cr_assert_eq(plan(&s, 1000, sel, 7, b, cnt), 2);
    /* none selected: no chunk; one thread, or ref_serial: one chunk */
    memset(sel, 0, sizeof sel);
    cr_expect_eq(plan(&s, 1000, sel, 4, b, cnt), 0);
    cr_expect_eq(plan(&s, 1000, NULL, 1, b, cnt), 1);
    s.ref_serial = 1;
    cr_expect_eq(plan(&s, 1000, NULL, 8, b, cnt), 1);
    cr_expect_eq(cnt[0], 1000);
}

Test(refpool, plan_cuts_at_units)
{
    attn_suite_t s = {.name = "plan", .ref_unit = unit_of};
    int64_t b[65], cnt[64];
    g_unit = 50; /* 20 units of 50 rows */
    /* at least as many units as threads: every cut on a unit boundary, 20 units on 6 threads →
     * 3 or 4 units each */
    cr_assert_eq(plan(&s, 1000, NULL, 6, b, cnt), 6);
    for (int k = 0; k <= 6; k++) cr_expect_eq(b[k] % 50, 0, "cut %d at row %lld", k, (long long)b[k]);
    for (int k = 0; k < 6; k++) cr_expect(cnt[k] == 150 || cnt[k] == 200, "chunk %d: %lld", k, (long long)cnt[k]);
    /* a sample that leaves 4 units with rows (1, 3, 10 and 11), 4 threads: one unit each */
    uint8_t sel[1000] = {0};
    sel[60] = sel[170] = sel[171] = sel[520] = sel[549] = sel[560] = 1;
    cr_assert_eq(plan(&s, 1000, sel, 4, b, cnt), 4);
    for (int k = 0; k < 4; k++) {
        cr_expect(cnt[k] >= 1, "chunk %d empty", k);
        for (int64_t r = b[k]; r < b[k + 1]; r++)
            cr_expect(!sel[r] || r / 50 == b[k] / 50 || b[k] % 50 == 0, "chunk %d straddles", k);
    }
    cr_expect(b[1] % 50 == 0 && b[2] % 50 == 0 && b[3] % 50 == 0);
    /* fewer units than threads: 2 units (rows 0..99 all selected) on 6 threads, 3 each; a
     * chunk never holds rows of two units */
    cr_assert_eq(plan(&s, 100, NULL, 6, b, cnt), 6);
    for (int k = 0; k < 6; k++) {
        cr_expect(cnt[k] >= 16 && cnt[k] <= 17, "chunk %d: %lld", k, (long long)cnt[k]);
        cr_expect_eq(b[k] / 50, (b[k + 1] - 1) / 50, "chunk %d [%lld, %lld) spans two units", k,
                     (long long)b[k], (long long)b[k + 1]);
    }
    cr_expect_eq(b[3], 50);
    /* unequal units: unit 0 has 40 selected rows, unit 1 has 2; 5 threads: unit 1 keeps one */
    memset(sel, 0, sizeof sel);
    for (int r = 0; r < 40; r++) sel[r] = 1;
    sel[70] = sel[90] = 1;
    cr_assert_eq(plan(&s, 100, sel, 5, b, cnt), 5);
    cr_expect(b[4] > 40 && b[4] <= 70 && cnt[4] == 2, "last chunk [%lld, %lld) %lld rows",
              (long long)b[4], (long long)b[5], (long long)cnt[4]);
    /* whole units: 2 units on 6 threads stay 2 chunks */
    s.ref_unit_whole = 1;
    cr_assert_eq(plan(&s, 100, NULL, 6, b, cnt), 2);
    for (int k = 0; k <= 6; k++) cr_expect_eq(b[k] % 50, 0, "cut %d at row %lld", k, (long long)b[k]);
}

/* ------------------------------------------------------------------ thread counts */

Test(refpool, thread_counts)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cpus = cpus < 1 ? 1 : cpus > ATTN_REF_MAX_THREADS ? ATTN_REF_MAX_THREADS : cpus;
    cr_expect_eq(attn_ref_threads_default(), (int)cpus);
    cr_expect_eq(attn_ref_threads_for(1e12, 16), 16);
    cr_expect_eq(attn_ref_threads_for(1e3, 16), 1);
    cr_expect_eq(attn_ref_threads_for(3.5 * ATTN_REF_MIN_CHUNK_FLOP, 16), 3);
    cr_expect_eq(attn_ref_threads_for(NAN, 4), 4);
    cr_expect_eq(attn_ref_threads_for(1e12, 0), 1);
}

/* A ref_unit, when a suite gives one, is at least 1 and divides the rows; a suite that says
 * ref_serial runs as one call whatever the threads. */
Test(refpool, suite_declarations)
{
    FOR_EACH_SUITE(s) {
        if (!s->ref_unit) continue;
        int64_t *v = pick_case(s, 0);
        attn_layout_t L;
        s->layout(s, v, &L);
        const int64_t u = s->ref_unit(s, v);
        cr_expect(u >= 1 && L.out_rows % u == 0, "%s: ref_unit %lld, %lld rows", s->name,
                  (long long)u, (long long)L.out_rows);
        free(v);
    }
    rcase_t c;
    const attn_suite_t *s = tst_suite("mhsa");
    open_case(&c, s, pick_case(s, 1));
    attn_suite_t wrapped = *s;
    wrapped.reference = counting_reference;
    wrapped.ref_serial = 1;
    g_real = s;
    g_rows = c.rows;
    g_count = calloc((size_t)c.rows, sizeof *g_count);
    cr_assert_not_null(g_count);
    atomic_store(&g_calls, 0);
    double *out = nan_out(&c);
    cr_expect_eq(attn_ref_run(&wrapped, c.v, (const void *const *)c.in, out, NULL, 7), 1);
    cr_expect_eq(atomic_load(&g_calls), 1);
    free(out), free(g_count), close_case(&c), free(c.v);
}
