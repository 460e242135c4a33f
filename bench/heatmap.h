/* attnbench plots --heatmap DUMPDIR [--out DIR]: one heatmap of attention weights per dumped
 * case. `--dump DIR` writes the weights of the suites that provide them (registry.h: weights)
 * as <suite>-<case>-weights.npy; this draws the first matrix of each (the leading dims at 0:
 * batch 0, head 0) as DIR/<suite>-<case>-heatmap.png and .svg, keeping the gnuplot script that
 * holds the matrix beside them (-heatmap.gp). Every row of every matrix is checked first: its
 * weights in [0, 1] summing to 1 (or all 0, a row whose keys are all masked); a file that
 * breaks this is not drawn. Exit status: 0, 1 a weights file failed the check or drawing
 * failed, 2 bad usage or input (no manifest, no weights in it, an unreadable file). */
#ifndef ATTN_HEATMAP_H
#define ATTN_HEATMAP_H

#include <stddef.h>
#include <stdint.h>

#include "registry.h"

/* argv as `attnbench plots` got it (argv[0] = "plots"), one of them --heatmap. */
int attn_heatmap_main(int argc, char **argv);

/* 0 when every row of a (numel / cols rows of cols weights) is a distribution as above, each
 * weight in [0, 1 + tol] and each sum within tol of 1 (or 0); else -1 with the first bad row,
 * its index and sum, in err. tol: ATTN_WEIGHTS_TOL for weights computed in double. */
#define ATTN_WEIGHTS_TOL 1e-6
int attn_weights_check(const double *a, int64_t numel, int64_t cols, double tol, char *err,
                       size_t errlen);

/* The row-sum slack of weights a variant of storage dtype dt computed over `cols` keys: it
 * normalises in float32 (the row's sum of cols terms: relative error ≤ (cols − 1)·u32 in the
 * worst case) and then rounds every weight to dt (each by ≤ u(dt) relative, so the row's sum
 * by ≤ u(dt)·Σa = u(dt)) after a division (another u32): cols·u32 + u(dt) + u32 ≤ the
 * (cols + 2)·u32 + u(dt) returned; ATTN_WEIGHTS_TOL for f64. */
double attn_weights_sum_tol(attn_dtype_t dt, int64_t cols);

#endif
