/* Executors: who runs a variant and how. One per backend of a run, chosen once (attn_select_init):
 * the CPU executor runs CPU variants on host buffers, the GPU executor runs GPU variants on the
 * device, the emulation executor runs the host-compiled twins of GPU variants under three thread
 * schedules. The runner (bench/run_case.c) goes through this interface only. */
#ifndef ATTN_EXEC_H
#define ATTN_EXEC_H

#include <regex.h>
#include <stddef.h>
#include <stdint.h>
#include "case.h"
#include "cli.h"
#include "device.h"
#include "stats.h"

/* One variant's run on one case. attn_xrun_open fills the first block; the executor's
 * checked_run fills the rest, which its timing uses and its release frees. */
typedef struct attn_xrun {
    const attn_suite_t *s;            /* the suite the implementation's callbacks get */
    const attn_variant_t *x;          /* the implementation */
    const attn_case_t *c;
    const void *const *in;            /* host inputs of the variant's rounding class */
    uint16_t *const *bits;            /* bf16 bits of its float inputs (bf16 variants), or NULLs */
    void *out;                        /* host copy of the output, in the variant's dtype */
    size_t osz, wsz;                  /* output and workspace bytes */
    const void *rin[ATTN_MAX_TENSORS]; /* what run() gets when timed: inputs, output, workspace */
    void *rout, *rws;
    void *dev_in[ATTN_MAX_TENSORS];   /* the GPU executor's device inputs */
    /* The SM clock read after each timed GPU sample (NVML): its sum over clock_n readings, and
     * the clock event (throttle) reasons seen, ORed; clock_n 0: not measured. */
    double clock_sum;
    int clock_n;
    unsigned long long clock_events;
} attn_xrun_t;

typedef struct attn_exec attn_exec_t;
struct attn_exec {
    const char *backend;              /* the rows' backend column */
    const attn_opts_t *o;
    const attn_device_t *dev;         /* the GPU its rows name (columns, ceilings); NULL: none */
    int uses_device;                  /* its buffers are device memory; it needs the GPU open */
    /* Why x cannot run here at all (independent of the case), or NULL. */
    const char *(*unavailable)(const attn_exec_t *e, const attn_suite_t *s, const attn_variant_t *x);
    /* NULL when it cannot lose its context; else why nothing more can run in this process (a
     * GPU error poisoned the context), or NULL. */
    const char *(*lost)(const attn_exec_t *e);
    /* The implementation of row x of suite s, and the suite its callbacks get (attn_exec_variant,
     * attn_exec_suite); NULL: the row and the suite themselves. */
    const attn_variant_t *(*variant)(const attn_exec_t *e, const attn_suite_t *s,
                                     const attn_variant_t *x);
    const attn_suite_t *(*suite)(const attn_exec_t *e, const attn_suite_t *s);
    /* NULL, or why a case of `flops` FLOPs is too big for it (text in buf), or NULL. */
    const char *(*over_budget)(const attn_exec_t *e, double flops, char *buf, size_t n);
    /* The device column of its rows (in buf, or a string of its own), or NULL. */
    const char *(*where)(const attn_exec_t *e, const char *cpu_name, char *buf, size_t n);
    /* Run once on poisoned output into xr->out. 0, or -1 with why in err. */
    int (*checked_run)(const attn_exec_t *e, attn_xrun_t *xr, char *err, size_t n);
    /* NULL: its runs are never timed. Else one untimed run, and one timed sample in ms;
     * each 0, or -1 with why in err. */
    int (*warmup)(const attn_exec_t *e, attn_xrun_t *xr, char *err, size_t n);
    int (*sample)(const attn_exec_t *e, attn_xrun_t *xr, double *ms, char *err, size_t n);
    /* Free what checked_run allocated (also after it failed halfway). */
    void (*release)(const attn_exec_t *e, attn_xrun_t *xr);
};

/* The executors; each call returns the same one, set to o (and the GPU's to dev, read when
 * used, so it may be opened later). The emulator's module is loaded on first use. */
const attn_exec_t *attn_exec_cpu(const attn_opts_t *o);
const attn_exec_t *attn_exec_gpu(const attn_opts_t *o, const attn_device_t *dev);
const attn_exec_t *attn_exec_emu(const attn_opts_t *o);

/* Start the run of x (the implementation e runs) on case c, whose rounding class for x's dtype
 * is ready: the host output buffer. 0, or -1 with why in err; attn_xrun_close in either case. */
/* What executor e runs for row x of suite s, and the suite its callbacks get. */
const attn_variant_t *attn_exec_variant(const attn_exec_t *e, const attn_suite_t *s,
                                        const attn_variant_t *x);
const attn_suite_t *attn_exec_suite(const attn_exec_t *e, const attn_suite_t *s);

int attn_xrun_open(attn_xrun_t *xr, const attn_exec_t *e, const attn_case_t *c,
                   const attn_variant_t *x, char *err, size_t n);
void attn_xrun_close(const attn_exec_t *e, attn_xrun_t *xr);

/* Time a checked run: o->warmup runs, then samples until o->min_samples are in and either the
 * spread target or o->max_time is met. Leaves st alone when e never times. samples (may be
 * NULL): on 0, the st->n samples in ms in the order they were taken (the caller frees them), or
 * NULL when none were taken. 0, -1 on an error (err), -2 when the case's tick reported a stop
 * signal. */
int attn_exec_time(const attn_exec_t *e, attn_xrun_t *xr, attn_stats_t *st, double **samples,
                   char *err, size_t n);

/* Host workspace as cudaMalloc would align it: 0, or -1 with why in err. */
int attn_host_workspace(attn_xrun_t *xr, char *err, size_t n);

/* Which variants a run selects and which executor runs each: --backend picks the executor of
 * each registry backend (NULL: that backend's variants are not selected), --variant filters. */
typedef struct attn_select {
    const attn_exec_t *exec[2];       /* indexed by attn_backend_t */
    regex_t re;
    int have_re;
} attn_select_t;

/* From o->backend and o->variant_re. 0, or -1 with a usage message in err (bad regex). */
int attn_select_init(attn_select_t *sel, const attn_opts_t *o, const attn_device_t *dev,
                     char *err, size_t n);
int attn_selected(const attn_select_t *sel, const attn_variant_t *x);
/* The executor of a selected variant x. */
const attn_exec_t *attn_exec_of(const attn_select_t *sel, const attn_variant_t *x);
/* Why selected variant x of suite s cannot run here at all, or NULL. */
const char *attn_unavailable(const attn_select_t *sel, const attn_suite_t *s,
                             const attn_variant_t *x);

#endif
