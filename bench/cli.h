/* Command-line options and the cases they select. */
#ifndef ATTN_CLI_H
#define ATTN_CLI_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include "registry.h"

#define ATTN_MAX_SHAPES 64
#define ATTN_MAX_LIST 64
#define ATTN_MAX_PLUGIN_OPTS 16

typedef struct attn_axis_override {
    char name[32];
    int n;
    int64_t vals[ATTN_MAX_LIST];
} attn_axis_override_t;

typedef struct attn_opts {
    int help, list, sweep, check_only, no_plots;
    int markdown;               /* with --list: a Markdown table of every suite and variant */
    int list_suites;            /* print the suites' names, one a line, and exit */
    int version;                /* print version, commit and build id, and exit */
    int list_check_shapes;      /* print the selected suites' check shapes and exit */
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
    const char *json, *md;      /* --json PATH (rows as JSON Lines), --md PATH (a summary) */
    uint64_t seed;
    int warmup, min_samples, max_samples;
    double warmup_ms;           /* GPU warm-up: at least this much kernel time, after `warmup` runs */
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
    int nplugins;               /* --plugin PATH.so, in order (bench/plugin.h loads them) */
    const char *plugins[ATTN_MAX_PLUGIN_OPTS];
} attn_opts_t;

/* ---------------------------------------------------------------- the option table
 *
 * Every option of `attnbench [options]` is one entry of attn_options (cli.c), in --help order.
 * The table drives attn_parse_args (name, kind, range, field), attn_print_help (section, arg,
 * help) and, through a test (tests/test_cli.c), the fuzz dictionary tests/fuzz_cli.dict: adding
 * an option is adding an entry (and, if it is new, the attn_opts_t field it fills). */

/* How an option's value is read, and what it stores in the field at attn_option_t.off. */
typedef enum attn_opt_kind {
    ATTN_OPT_SET,    /* a flag: stores 1 in an int; "--flag=value" is refused */
    ATTN_OPT_CLEAR,  /* a flag: stores 0 in an int (--no-isolate over isolate's default -1) */
    ATTN_OPT_INT,    /* attn_parse_int text (k/m suffixes) in [min, max], stored in an int or a
                        uint64_t (chosen by attn_option_t.size) */
    ATTN_OPT_DOUBLE, /* strtod text, NaN refused, in [min, max] (above min when min_open),
                        stored in a double */
    ATTN_OPT_STRING, /* the text itself, of at least min characters: a pointer into argv stored
                        in a const char * */
    ATTN_OPT_CALL,   /* read and stored by the entry's parse callback (lists, choices, I/N) */
} attn_opt_kind_t;

/* INT: a max this high (above every int64_t) is no upper limit. */
#define ATTN_OPT_NO_LIMIT 0x1p63

/* The --help sections, in order. */
typedef enum attn_opt_section {
    ATTN_SEC_SELECT, /* Selection */
    ATTN_SEC_CHECK,  /* Checking and timing */
    ATTN_SEC_FAULTS, /* Faults and many GPUs */
    ATTN_SEC_OUTPUT, /* Output */
    ATTN_SEC_COUNT
} attn_opt_section_t;

/* ATTN_OPT_CALL's reader: stores val in o, or returns -1 with a message naming val in err. */
typedef int attn_opt_parse_fn(const char *val, attn_opts_t *o, char *err, size_t errlen);

typedef struct attn_option {
    const char *name;           /* as typed: "--suite" ("-h" is the one short name) */
    attn_opt_kind_t kind;       /* how the value is read; SET and CLEAR take none */
    size_t off, size;           /* the attn_opts_t field filled: offsetof and sizeof of it */
    double min, max;            /* INT, DOUBLE: the accepted range, inclusive; STRING: min is
                                   the least length; unused by the other kinds */
    int min_open;               /* DOUBLE: min itself is refused (the value must be above it) */
    const char *expect;         /* the refusal's wording: INT, DOUBLE: what follows "expected "
                                   (NULL: said from min and max); STRING: what follows "needs "
                                   ("a path") when the text is shorter than min */
    attn_opt_parse_fn *parse;   /* CALL: the reader; NULL for the other kinds */
    attn_opt_section_t section; /* the --help section that lists it */
    const char *arg;            /* the value's name in --help ("NAME|all"); NULL for flags */
    const char *help;           /* --help text, '\n' between its lines (the printer indents
                                   them); NULL: not listed (the alias -h) */
} attn_option_t;

/* The table, attn_noptions entries. */
extern const attn_option_t attn_options[];
extern const int attn_noptions;

/* Defaults for every option. */
void attn_opts_init(attn_opts_t *o);

/* Parse argv into o by the table, then check the options together (--min-samples against
 * --max-samples, exclusive pairs). Returns 0, or -1 with a message naming the bad argument in
 * err. Option values are kept as pointers into argv. */
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
