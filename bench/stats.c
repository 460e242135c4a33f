#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double quantile(const double *sorted, int n, double p)
{
    double h = (n - 1) * p;
    int lo = (int)floor(h);
    int hi = lo + 1 < n ? lo + 1 : lo;
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

attn_stats_t attn_stats(double *x, int n)
{
    attn_stats_t s = {0};
    s.n = n;
    if (n <= 0) {
        s.median = s.min = s.max = s.q1 = s.q3 = s.iqr = NAN;
        return s;
    }
    qsort(x, (size_t)n, sizeof *x, cmp_double);
    s.min = x[0];
    s.max = x[n - 1];
    s.median = quantile(x, n, 0.5);
    s.q1 = quantile(x, n, 0.25);
    s.q3 = quantile(x, n, 0.75);
    s.iqr = s.q3 - s.q1;
    return s;
}

double attn_rel_spread(const double *x, int n)
{
    if (n < 4) return INFINITY;
    double *tmp = malloc((size_t)n * sizeof *tmp);
    if (!tmp) return INFINITY;
    memcpy(tmp, x, (size_t)n * sizeof *tmp);
    attn_stats_t s = attn_stats(tmp, n);
    free(tmp);
    return s.median > 0 ? s.iqr / s.median : INFINITY;
}
