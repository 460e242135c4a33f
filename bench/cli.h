/* Command-line options and the cases they select. */
#ifndef ATTN_CLI_H
#define ATTN_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "registry.h"

#define ATTN_MAX_SHAPES 64
#define ATTN_MAX_LIST 64

typedef struct attn_axis_override {
    char name[32];
    int n;
    int64_t vals[ATTN_MAX_LIST];
} attn_axis_override_t;

typedef struct attn_opts {
    int help, list, sweep, check_only, no_plots;
    int list_suites;            /* print the suites' names, one a line, and exit */
    int markdown;               /* --list as a Markdown table of suites and variants */
    int plan;                   /* print the rows a run would write (status planned), run nothing */
    int calibrate;              /* measure the device's ceilings, print them, exit */
    int no_calibrate;           /* timed GPU runs: do not measure the ceilings first */
    const char *suite;          /* a suite name or "all" */
    const char *variant_re;     /* POSIX extended regex over variant names; NULL: all */
    const char *backend;        /* "all" (cpu + gpu), "cpu", "gpu" or "emu" */
    int nshapes;
    const char *shapes[ATTN_MAX_SHAPES];
    int check_shapes;           /* the suite's check shapes (attn_suite_t.check_shapes) too */
    int naxis;
    attn_axis_override_t axis[ATTN_MAX_AXES];
    const char *csv, *dump;
    uint64_t seed;
    int warmup, min_samples, max_samples;
    double max_time;            /* seconds of timed samples per (variant, case) */
    double target_spread;       /* stop sampling once IQR / median is below this */
    double cpu_max_gflop;       /* CPU variants skip cases above this many GFLOP */
    double emu_max_gflop;       /* emulated variants skip cases above this many GFLOP */
    double ref_gflop;           /* reference budget per case; above it, rows are sampled */
    int ref_threads;            /* threads computing a case's reference (bench/refpool.h);
                                   default: the online CPUs, at most 64 */
    int device;
    int isolate;                /* 1 each case in a child process, 0 in process, -1 (default):
                                   isolated for --sweep, in process otherwise */
    double timeout;             /* isolated: kill a child after this many seconds without
                                   progress (a finished run, sample or row) */
    int shard_i, shard_n;       /* --shard I/N: cases whose index % N == I (default 0/1) */
} attn_opts_t;

/* Defaults for every option. */
void attn_opts_init(attn_opts_t *o);

/* Parse argv into o. Returns 0, or -1 with a message naming the bad argument in err. Option
 * values are kept as pointers into argv. */
int attn_parse_args(int argc, char **argv, attn_opts_t *o, char *err, size_t errlen);

/* Parse an integer with an optional k/m suffix (×1024, ×1024²) into *out; -1 on malformed or
 * out-of-range text. */
int attn_parse_int(const char *s, int64_t *out);

/* The cases of suite s selected by o: --shape strings, else the sweep grid (the CPU grid when
 * cpu_grid), else the default case; --axis lists multiply in. Each case is derived and range
 * checked. Returns the number of cases (malloc'd into *cases, naxes values each), or -1 with a
 * message in err naming the bad value. */
int attn_build_cases(const attn_suite_t *s, const attn_opts_t *o, int cpu_grid, int64_t **cases,
                     char *err, size_t errlen);

/* Whether case number `index` of a run (counted over all its suites' case lists, in order) belongs
 * to the shard --shard selects: index % N == I. Deterministic, device-independent. */
int attn_in_shard(const attn_opts_t *o, long index);

/* "B=1,H=16,N=4096,..." for a case, into buf. */
const char *attn_case_str(const attn_suite_t *s, const int64_t *v, char *buf, size_t n);

void attn_print_help(FILE *f);

#endif
