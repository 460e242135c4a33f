/* attnbench compare BASE.csv NEW.csv (or BASE.csv... -- NEW.csv..., --base F --new F: repeated
 * runs per side): the rows of two sides matched by suite, variant, backend, dtype and every axis,
 * each pair given its time ratio NEW/BASE and a verdict that takes each row's spread, and the
 * spread between runs, into account.
 *
 * The verdict, for rows with a median m, an interquartile range iqr and n samples each:
 *   e = 1.58 · iqr / (m · √n)   each row's relative notch half-width (McGill, Tukey & Larsen
 *                               1978: two medians whose notches do not overlap differ at about
 *                               95 % confidence)
 *   u = e_base + e_new + 3·√(r_base + r_new)   the reach on the log-ratio: ln(ratio) ± u, where
 *                               r is the run-to-run variance of ln(median) of a side divided by
 *                               its number of runs: the larger of the variance pooled over every
 *                               case with two or more runs and the case's own; a side of one run
 *                               takes the other side's pooled variance; 0 when neither side has
 *                               repeated runs (then only each run's own spread counts)
 * A side of several runs: a case's median is the geometric mean of its runs' medians, its notch
 * √(Σ e_i²)/k over its k timed runs, its samples the fewest of one run.
 *   L = ln(m_new / m_base), F = ln(1 + noise) (--noise PCT, default 2 %: changes smaller than
 *   this are not worth a word), A = ln(1 + max(noise, 5 %)) (the widest ± for which "same" is
 *   still a statement)
 *   ambiguous  either row has fewer than 5 samples
 *   faster / slower  |L| > u and |L| > F: the notches are apart and the change is above noise
 *   same       |L| ≤ F and u ≤ A: no change above noise, and the data could have seen one
 *   ambiguous  otherwise: the spread is too wide to tell
 * Of the rows of one case in one file, the winner of results.h counts (the one rule floors and
 * plots use: the latest measurement, a timing or a fail; a --check row or a skip never hides
 * one; a fail after a timing is shown as such). Cases are matched without the device, so runs
 * on two GPUs compare; of one case on several devices in one file, the device measured last
 * counts (a note says how many). Rows not timed on both sides (skip, fail) get no verdict; a
 * row that was ok in BASE and fails its check in NEW (in any run) is reported as such. A case
 * timed in BASE and missing or untimed in NEW is MISSING; a row whose numbers cannot be read
 * (samples not a whole number, iqr_ms or median_ms not a number; numbers are read as any CSV
 * tool writes them: 10, 10.0, 1e3, quoted) or a record the reader skipped is malformed. */
#ifndef ATTN_COMPARE_H
#define ATTN_COMPARE_H

#include <stddef.h>

typedef enum attn_verdict { ATTN_SAME, ATTN_FASTER, ATTN_SLOWER, ATTN_AMBIGUOUS } attn_verdict_t;

typedef struct attn_timing {
    int n;             /* samples */
    double median, iqr;
    double run_var;    /* variance of ln(median) from run-to-run variation (a run-to-run variance
                        * divided by the number of runs combined); 0: not known */
} attn_timing_t;

#define ATTN_COMPARE_MIN_SAMPLES 5

/* The verdict for base → new with noise floor `noise` (a fraction: 0.02 = 2 %). *ratio gets
 * new/base, *u the half-width of ln(ratio) (see above), *why a few words when ambiguous (else
 * NULL). Both medians must be > 0. */
attn_verdict_t attn_compare_verdict(attn_timing_t base, attn_timing_t new_, double noise,
                                    double *ratio, double *u, const char **why);

const char *attn_verdict_name(attn_verdict_t v);

/* One row of a comparison, as compare --json writes it and the report shows it. verdict: same,
 * faster, slower, ambiguous (timed on both sides); FAILS (fails its check in NEW after passing in
 * BASE), MISSING (timed in BASE, missing or untimed in NEW), untimed (not timed on both sides),
 * only-base, only-new. */
typedef struct attn_compare_item {
    const char *verdict;
    char suite[64], variant[96], backend[16], dtype[16], cas[512];
    double ratio, band_pct;          /* NEW/BASE and its ± in percent; NaN without a verdict */
    double base_ms, new_ms;          /* the medians compared; NaN: not timed on that side */
    char base_status[600], new_status[600]; /* "ok", "fail — reason", "missing", ... */
    const char *why;                 /* ambiguous: why; else NULL */
    int regression;                  /* slower beyond --fail-above */
} attn_compare_item_t;

/* Compare the runs at base[0..nb) with those at new_[0..nn) (noise floor noise_pct percent): the
 * items, malloc'd, in compare's order. 0, or -1 with a message naming the file in err. */
int attn_compare_items(const char *const *base, int nb, const char *const *new_, int nn,
                       double noise_pct, attn_compare_item_t **items, int *n, char *err,
                       size_t en);

/* argv[0] = "compare". Exit status: 0; 1 with --fail-above: a regression beyond it, a row that
 * fails its check in NEW, a MISSING row (unless --allow-missing), or a malformed row; 2 bad usage
 * or input (an unreadable file, different columns: the message names them), or nothing to judge
 * (no case timed in both sides). --json FILE also writes the verdicts and the summary as one JSON
 * document (docs/json.md). */
int attn_compare_main(int argc, char **argv);

#endif
