/* The reference on several threads: a case's selected output rows cut into contiguous chunks,
 * each computed by the suite's own reference on a thread of its own, with a row selection of its
 * own, into disjoint rows of the one output. The result is bit-identical to a single call: a
 * reference computes each row alone (registry.h), whatever else is selected.
 *
 * How rows are cut (attn_ref_plan): into at most `threads` chunks holding about equal numbers of
 * selected rows. A suite whose reference shares work among consecutive rows (ref_unit, e.g. the
 * K/V projections of one image) is cut only at multiples of its unit while there are at least as
 * many units with selected rows as threads, about equal numbers of units per chunk; with fewer
 * units, each unit gets threads in proportion to its selected rows and is split among them (each
 * then redoes the shared work: more CPU time, less wall time), unless the suite says
 * ref_unit_whole. A suite with ref_serial runs whole on one thread. */
#ifndef ATTN_REFPOOL_H
#define ATTN_REFPOOL_H

#include <stdint.h>

#include "registry.h"

#define ATTN_REF_MAX_THREADS 64

/* The default for --ref-threads: the online CPUs (sysconf), at most ATTN_REF_MAX_THREADS, at
 * least 1. */
int attn_ref_threads_default(void);

/* Threads worth starting for a case whose selected rows are estimated at `flop` FLOPs: at most
 * `threads`, and about one per ATTN_REF_MIN_CHUNK_FLOP (a thread's start and a reference call's
 * own set-up are then negligible), at least 1. */
#define ATTN_REF_MIN_CHUNK_FLOP 2e7
int attn_ref_threads_for(double flop, int threads);

/* Cut the selected rows (row_sel[r] != 0; every row when row_sel is NULL) of the `rows` output
 * rows of case v into at most `threads` chunks: chunk k is rows [bounds[k], bounds[k+1]) (bounds
 * has threads + 1 entries, bounds[0] = 0, bounds[threads] = rows, non-decreasing). A chunk may
 * hold no selected row (it is skipped). Returns the number of chunks that hold selected rows. */
int attn_ref_plan(const attn_suite_t *s, const int64_t *v, int64_t rows, const uint8_t *row_sel,
                  int threads, int64_t *bounds);

/* out = s->reference(s, v, in, ·, row_sel), computed on up to `threads` threads (1: exactly the
 * single call). Elements of unselected rows are not touched. Returns the number of threads that
 * computed chunks (1 when it ran as one call, 0 when no row is selected). When a thread cannot
 * be started, or its row selection cannot be allocated, its chunk runs on the calling thread. */
int attn_ref_run(const attn_suite_t *s, const int64_t *v, const void *const *in, double *out,
                 const uint8_t *row_sel, int threads);

#endif
