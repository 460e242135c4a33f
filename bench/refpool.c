/* The reference on several threads; see refpool.h. */
#include "refpool.h"

#include <stdlib.h>
#include <string.h>
#include <threads.h>
#include <unistd.h>

int attn_ref_threads_default(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    if (n > ATTN_REF_MAX_THREADS) n = ATTN_REF_MAX_THREADS;
    return (int)n;
}

int attn_ref_threads_for(double flop, int threads)
{
    if (threads < 1) threads = 1;
    const double t = flop / ATTN_REF_MIN_CHUNK_FLOP;
    if (!(t < (double)threads)) return threads; /* also NaN and infinities */
    return t < 1.0 ? 1 : (int)t;
}

static int64_t count_sel(const uint8_t *sel, int64_t a, int64_t b)
{
    if (!sel) return b - a;
    int64_t n = 0;
    for (int64_t r = a; r < b; r++) n += sel[r] != 0;
    return n;
}

static int is_sel(const uint8_t *sel, int64_t r) { return !sel || sel[r]; }

int attn_ref_plan(const attn_suite_t *s, const int64_t *v, int64_t rows, const uint8_t *row_sel,
                  int threads, int64_t *bounds)
{
    if (threads < 1) threads = 1;
    bounds[0] = 0;
    for (int k = 1; k <= threads; k++) bounds[k] = rows;
    const int64_t nsel = count_sel(row_sel, 0, rows);
    if (!nsel) return 0;
    if (threads == 1 || s->ref_serial) return 1;
    int64_t unit = s->ref_unit ? s->ref_unit(s, v) : 1;
    if (unit < 1) unit = 1;
    if (unit > rows) unit = rows;

    int64_t U = 0; /* units that hold selected rows */
    if (unit == 1) U = nsel;
    else
        for (int64_t r0 = 0; r0 < rows; r0 += unit)
            U += count_sel(row_sel, r0, r0 + unit < rows ? r0 + unit : rows) > 0;

    int k = 0, used = 1; /* the chunk being filled; chunks holding selected rows */
    if (unit == 1 || U >= threads || s->ref_unit_whole) {
        /* Whole units: the unit that comes after `before` units with selected rows goes to chunk
         * ⌊before·threads/U⌋, so chunks hold about U/threads units each (rows, when the unit is
         * one row). Units, not rows, are balanced: a unit's shared work is what makes it one,
         * and with sampled rows it is most of the unit's cost. */
        int64_t before = 0;
        for (int64_t r0 = 0; r0 < rows; r0 += unit) {
            if (!count_sel(row_sel, r0, r0 + unit < rows ? r0 + unit : rows)) continue;
            const int g = (int)(before * threads / U); /* < threads: before < U */
            if (g > k) used++;
            while (k < g) bounds[++k] = r0;
            before++;
        }
        return used;
    }

    /* Fewer units than threads: unit j gets t[j] >= 1 threads, about in proportion to its
     * selected rows n[j], and its rows are split evenly among them. */
    int64_t *first = malloc((size_t)U * sizeof *first), *n = malloc((size_t)U * sizeof *n);
    int *t = malloc((size_t)U * sizeof *t);
    if (!first || !n || !t) { /* no memory for the plan: one chunk */
        free(first), free(n), free(t);
        return 1;
    }
    int64_t j = 0;
    for (int64_t r0 = 0; r0 < rows; r0 += unit) {
        const int64_t c = count_sel(row_sel, r0, r0 + unit < rows ? r0 + unit : rows);
        if (c) first[j] = r0, n[j] = c, j++;
    }
    int sum = 0;
    for (j = 0; j < U; j++) {
        const int64_t share = n[j] * threads / nsel;
        t[j] = share < 1 ? 1 : (int)share;
        sum += t[j];
    }
    while (sum > threads) { /* a unit forced up to 1 pushed the sum over: take from the largest */
        int64_t big = 0;
        for (j = 1; j < U; j++) if (t[j] > t[big]) big = j;
        t[big]--, sum--;
    }
    while (sum < threads) { /* give the rest to the units with the most rows per thread */
        int64_t most = 0;
        for (j = 1; j < U; j++)
            if (n[j] * t[most] > n[most] * t[j]) most = j;
        t[most]++, sum++;
    }
    int base = 0;
    for (j = 0; j < U; j++) {
        const int64_t end = first[j] + unit < rows ? first[j] + unit : rows;
        int64_t i = 0; /* selected rows of unit j seen so far */
        for (int64_t r = first[j]; r < end; r++) {
            if (!is_sel(row_sel, r)) continue;
            const int g = base + (int)(i * t[j] / n[j]);
            if (g > k) used++;
            while (k < g) bounds[++k] = r;
            i++;
        }
        base += t[j];
    }
    free(first), free(n), free(t);
    return used;
}

typedef struct job {
    const attn_suite_t *s;
    const int64_t *v;
    const void *const *in;
    double *out;
    uint8_t *sel;
} job_t;

static int job_main(void *p)
{
    const job_t *j = p;
    j->s->reference(j->s, j->v, j->in, j->out, j->sel);
    return 0;
}

int attn_ref_run(const attn_suite_t *s, const int64_t *v, const void *const *in, double *out,
                 const uint8_t *row_sel, int threads)
{
    if (threads > ATTN_REF_MAX_THREADS) threads = ATTN_REF_MAX_THREADS;
    if (threads <= 1 || s->ref_serial) {
        s->reference(s, v, in, out, row_sel);
        return 1;
    }
    attn_layout_t L;
    s->layout(s, v, &L);
    const int64_t rows = L.out_rows;
    int64_t bounds[ATTN_REF_MAX_THREADS + 1];
    const int used = attn_ref_plan(s, v, rows, row_sel, threads, bounds);
    if (used == 0) return 0;
    if (used == 1) {
        s->reference(s, v, in, out, row_sel);
        return 1;
    }

    /* One row selection per chunk that holds selected rows: its part of row_sel, zero elsewhere.
     * Allocated up front: without them the work cannot be split, and it runs as one call. */
    job_t jobs[ATTN_REF_MAX_THREADS];
    int nj = 0;
    for (int k = 0; k < threads; k++) {
        const int64_t a = bounds[k], b = bounds[k + 1];
        if (count_sel(row_sel, a, b) == 0) continue;
        uint8_t *m = calloc((size_t)rows, 1);
        if (!m) {
            for (int i = 0; i < nj; i++) free(jobs[i].sel);
            s->reference(s, v, in, out, row_sel);
            return 1;
        }
        if (row_sel) memcpy(m + a, row_sel + a, (size_t)(b - a));
        else memset(m + a, 1, (size_t)(b - a));
        jobs[nj++] = (job_t){s, v, in, out, m};
    }

    /* Chunks 1…nj−1 on threads of their own, chunk 0 on this one; a chunk whose thread cannot
     * start runs here too. Each writes only its own rows' elements (ref_serial == 0). */
    thrd_t th[ATTN_REF_MAX_THREADS];
    int started[ATTN_REF_MAX_THREADS] = {0};
    for (int i = 1; i < nj; i++) started[i] = thrd_create(&th[i], job_main, &jobs[i]) == thrd_success;
    job_main(&jobs[0]);
    for (int i = 1; i < nj; i++)
        if (!started[i]) job_main(&jobs[i]);
    for (int i = 1; i < nj; i++)
        if (started[i]) thrd_join(th[i], NULL);
    for (int i = 0; i < nj; i++) free(jobs[i].sel);
    return nj;
}
