/* The run's shared state and the steps its files share (internal to bench/):
 *  run.c          attn_main: parse, load suites, variants and device, build cases, run, report
 *  run_case.c     one case: admission, inputs, each variant checked then timed
 *  run_row.c      the result row of a variant (stdout line, CSV row), the --plan rows
 *  run_isolated.c cases in child processes, and the messages between child and parent
 *  probe.c        the device probe of an isolated run, and calibration
 *  dump.c         --dump: .npy files and their manifest */
#ifndef ATTN_RUNNER_H
#define ATTN_RUNNER_H

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "cli.h"
#include "csv.h"
#include "device.h"
#include "exec.h"
#include "stats.h"

/* Everything a run shares across suites and cases. */
typedef struct run {
    attn_opts_t o;
    attn_select_t sel;   /* which variants, and the executor of each */
    attn_device_t dev;
    char cpu_name[128], git[64], stamp[32], run_dir[64];
    FILE *manifest;      /* --dump: manifest.json entries (in a case's child: a memstream) */
    int manifest_n;
    char *mbuf;          /* child: the memstream's buffer */
    size_t mlen;
    int nfail, nok, nskip;
    char first_skip[256]; /* the reason of the first skip row written in this process, or "" */
    int isolate;         /* each case in a child process (run_case_isolated) */
    int calibrate;       /* measure the device's ceilings when it is opened (probe or here) */
    int child_fd;        /* in a case's child: the message pipe to the parent; else -1 */
    double last_msg;     /* child: when it last sent a message */
} run_t;

/* A variant's result on a case. */
typedef struct result {
    const char *status;   /* ok, fail, skip */
    char reason[512];
    attn_stats_t st;      /* st.n == 0: not timed */
    double *samples_ms;   /* st.n samples in ms in the order taken (malloc'd; --json), or NULL */
    int checked;          /* chk valid */
    attn_check_t chk;
    int64_t rows_checked, rows;
    int interrupted;      /* a stop signal cut it short: no row */
    double clock_mhz;     /* the SM clock measured during the timed samples; 0: not measured */
    unsigned long long clock_events; /* NVML clock event reasons seen then, ORed */
} result_t;

/* The signal (SIGINT, SIGTERM) that asked the run to stop; 0 while it goes on. */
extern volatile sig_atomic_t attn_stop_signal;

/* A case's child exits with this status after a GPU error that poisons its CUDA context (its
 * row already sent): the parent goes on with the next variant in a fresh process. */
enum { CHILD_CONTEXT_LOST = 3 };

/* Run variants from..end of case v (index: its number in the suite's case list; pos/ncases: for
 * the progress line). Returns 0, or CHILD_CONTEXT_LOST in a case's child after a GPU error that
 * poisoned its context (the rest of the case then needs a fresh process). */
int run_case(run_t *r, const attn_suite_t *s, const int64_t *v, int index, int pos, int ncases,
             attn_csv_t *csv, int from);

/* The same in child processes, surviving crashes and hangs: see run_isolated.c. */
void run_case_isolated(run_t *r, const attn_suite_t *s, const int64_t *v, int index, int pos,
                       int ncases, attn_csv_t *csv);

/* Print the stdout line of variant x's result and write its row to csv (NULL: stdout only), or,
 * in a case's child, send both to the parent; counts it in the totals. */
void run_write_row(run_t *r, attn_csv_t *csv, const attn_suite_t *s, const attn_variant_t *x,
                   const int64_t *v, const result_t *res);

/* Count a row of status ok, fail or anything else (skipped) in the totals. */
void run_count(run_t *r, const char *status);

/* --plan: the rows a run would write for every selected variant at case v (see run_row.c),
 * into csv, or on stdout when csv is NULL. */
void run_plan_rows(run_t *r, const attn_suite_t *s, const int64_t *v, attn_csv_t *csv);

/* In a case's child: tell the parent it is alive (at most every half second); a no-op elsewhere.
 * The parent's --timeout counts the time since the last message. */
void run_heartbeat(run_t *r);

/* In a case's child: send a message to the parent (exit when the parent is gone); a no-op
 * elsewhere. */
void run_child_send(run_t *r, char type, int idx, const char *text, size_t len);

/* In a case's child: hand the manifest entries written so far to the parent. */
void run_flush_manifest(run_t *r);

/* What an isolated run's parent knows of the device (r->dev): asked of a child process, so that
 * the parent never creates a CUDA context (its case children could not use the device then). */
void run_probe_device(run_t *r);

/* Measure the ceilings of an open device, saying so on stderr; on failure the run goes on
 * without the percentage columns. */
void run_calibrate(attn_device_t *d);

/* --calibrate: open the device here, measure, print KEY=VALUE lines for scripts; the exit
 * status (1: no device or no measurement). */
int run_calibrate_main(run_t *r);

/* --dump: create DIR/manifest.json and start it (0, or -1 with a message on stderr); write one
 * tensor of case c as DIR/<suite>-<case>-<what>.npy with its manifest entry; end the manifest. */
int run_dump_open(run_t *r);
void run_dump(run_t *r, const attn_case_t *c, const char *what, const attn_tensor_t *t,
              const char *descr, const void *data, int64_t esize);
void run_dump_close(run_t *r);
/* --dump of a case whose reference was sampled: the checked rows' indices (int64, ascending) as
 * DIR/<suite>-<case>-rows-checked.npy; nothing when every row is checked. */
void run_dump_rows(run_t *r, const attn_case_t *c);
/* --dump of a case whose suite has weights (registry.h): DIR/<suite>-<case>-weights.npy (f8),
 * checked row by row first (a failure is said on stderr; the file is still written). */
void run_dump_weights(run_t *r, const attn_case_t *c);
/* --dump of the attention weights variant x output (tensor t of the layout, data w in x's
 * dtype): DIR/<suite>-<case>-weights-<variant>.npy, widened to f8, role "weights" with the
 * variant's name and the row-sum slack its dtype allows ("sum_tol", attn_weights_sum_tol). */
void run_dump_variant_weights(run_t *r, const attn_case_t *c, const attn_variant_t *x,
                              const attn_tensor_t *t, const void *w);

#endif
