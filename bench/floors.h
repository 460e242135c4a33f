/* attnbench floors CSV...: whether the speed floors are met by the rows of results CSVs.
 *
 * A floor is data (each suite's `floors` in suites/<name>.c: the layer that knows mechanisms;
 * nothing here names a suite or a variant): a numerator variant of one suite, a case filter, and either
 *   ATTN_FLOOR_SPEEDUP  another variant (ours, or a peer's) whose time at the same case, divided
 *                       by the numerator's, must be at least `min`; or
 *   ATTN_FLOOR_PCT      a column of the numerator's row holding a percentage of a measured
 *                       ceiling (pct_bw: % of the device-to-device copy bandwidth) that must be
 *                       at least `min`, judged only at cases moving at least `min_bytes`.
 *
 * Matching. Every file is read by column name (any column order, extra columns ignored; the
 * axes are the columns between `dtype` and `status`). A side's rows are those of the floor's
 * suite with the side's variant, backend and dtype (NULL: any) and a device. Two rows are the
 * same case when suite, device and every axis value agree (axis values compared as numbers when
 * they are numbers). Of a side's rows at one case the winner of results.h decides (the one rule
 * compare and plots use: files in the order given, rows in file order, the latest measurement,
 * a timing or a fail; a --check row or a skip never hides one): ok with a median → its time;
 * fail → no data (the reason is shown, and "after an earlier timing of X ms" when it follows
 * one); skip, with no measurement → the case is not applicable (n/a, the reason is shown).
 * Rows with an empty device (a GPU variant on a machine without one) match no device.
 *
 * Cases judged, per device that has any row of either side of the floor: every case of either
 * side that passes the filter (and, for ATTN_FLOOR_PCT, moves at least min_bytes by the row's
 * `bytes`), and every combination of the filter's listed values that no row covers (reported as
 * NO DATA). A device with rows of neither side is not reported; a floor with no rows at all on
 * any device is one NO DATA line.
 *
 * Results per case: PASS, MISS (the ratio or percentage achieved vs needed, and how far short),
 * NO DATA (which row is missing or failed), N/A (a side skips the case). Exit status: 0 when no
 * case is MISS or NO DATA, 1 otherwise, 2 on bad usage or an unreadable file. */
#ifndef ATTN_FLOORS_H
#define ATTN_FLOORS_H

#include <stddef.h>
#include <stdio.h>

typedef enum attn_floor_kind { ATTN_FLOOR_SPEEDUP, ATTN_FLOOR_PCT } attn_floor_kind_t;

#define ATTN_FLOOR_MAX_ALTS 4 /* variants a speed-up floor's denominator may list */

/* Which rows are a side of a floor. backend and dtype: NULL matches any. */
typedef struct attn_floor_side {
    const char *variant;
    const char *backend;
    const char *dtype;
} attn_floor_side_t;

typedef struct attn_floor {
    const char *name;          /* short and unique, shown in every output line */
    const char *suite;
    attn_floor_side_t num;     /* the variant the floor is about */
    attn_floor_kind_t kind;
    attn_floor_side_t den;     /* SPEEDUP: the variant it must beat (den ms / num ms >= min);
                                * several joined by '|' (at most ATTN_FLOOR_MAX_ALTS): the
                                * fastest of them at each case, the strongest baseline, every
                                * one measured (a failed or missing one is NO DATA; one that
                                * skips the case is left out, all skip: N/A) */
    const char *pct_column;    /* PCT: the numerator's column that must be >= min (a percentage) */
    const char *ceiling_column; /* PCT: the measured ceiling it is a percentage of (shown) */
    const char *ceiling_unit;  /* PCT: the ceiling's unit, e.g. "GB/s" */
    double min_bytes;          /* PCT: cases whose `bytes` is below this are not judged */
    /* The cases: space-separated axis=value[,value...] (integers), e.g.
     * "N=4096,8192 d=64,128 causal=0"; every listed axis must take one of its values. An empty
     * string selects every case. */
    const char *where;
    double min;                /* SPEEDUP: a ratio (1.0 = as fast); PCT: a percentage */
    const char *why;           /* one line: why this floor */
} attn_floor_t;

/* Building blocks for a suite's floors: our GPU row, a PyTorch peer's row (bf16), and a floor
 * on the percentage of the measured copy bandwidth (judged only at cases of at least 256 MiB:
 * a smaller one may live in L2, 50 MiB on H100, 60 on H200, or be launch-bound). */
#define ATTN_FLOOR_OURS(v, dt) {v, "gpu", dt}
#define ATTN_FLOOR_PEER(v) {v, "peer", "bf16"}
#define ATTN_FLOOR_PCT_BW(v, dt)                                                                \
    .num = ATTN_FLOOR_OURS(v, dt), .kind = ATTN_FLOOR_PCT, .pct_column = "pct_bw",            \
    .ceiling_column = "peak_gbps", .ceiling_unit = "GB/s", .min_bytes = 256.0 * 1024 * 1024

/* Every suite's floors (attn_suite_t.floors, with .suite set to the suite's name), terminated
 * by an entry with name NULL; free() it. */
attn_floor_t *attn_floors_all(void);

/* 0 when f is well formed (a name, a suite, variants, a parsable where, min > 0, the columns of
 * its kind); else -1 with a message naming the floor and what is wrong. */
int attn_floor_check(const attn_floor_t *f, char *err, size_t n);

/* The command over a floor list (terminated by name NULL): argv[0] = "floors", then
 * [--device SUBSTRING] [--markdown FILE] CSV|DIR... (a directory: its *.csv files, sorted).
 * The table goes to out, messages to err. Returns the exit status (see above). */
int attn_floors_cli(const attn_floor_t *floors, int argc, char **argv, FILE *out, FILE *err);

/* attn_floors_cli over attn_floors_all(), stdout and stderr. */
int attn_floors_main(int argc, char **argv);

#endif
