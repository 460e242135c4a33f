/* Robust statistics of timing samples. */
#ifndef ATTN_STATS_H
#define ATTN_STATS_H

typedef struct attn_stats {
    int n;
    double median, min, max, q1, q3, iqr; /* same unit as the samples */
} attn_stats_t;

/* Statistics of x[0..n) (sorted in place). Quartiles by linear interpolation (type 7). */
attn_stats_t attn_stats(double *x, int n);

/* IQR / median of x[0..n) without reordering x; +inf when n < 4 or the median is 0. */
double attn_rel_spread(const double *x, int n);

#endif
