/* One case's host data: the generated inputs, their bf16- and f16-rounded classes, the reference computed
 * from each class, which output rows are checked; and whether host and device have room for it. */
#ifndef ATTN_CASE_H
#define ATTN_CASE_H

#include <stddef.h>
#include <stdint.h>
#include "check.h"
#include "registry.h"

/* The inputs in one rounding class (class 0: as generated, for f32/f64 variants; class 1:
 * rounded to bf16, for bf16 variants; class 2: rounded to f16, for f16 variants) and the
 * reference computed from them. */
#define ATTN_NCLASSES 3

/* The rounding class of a variant of dtype dt: 0 (f64, f32), 1 (bf16) or 2 (f16). */
int attn_class_of(attn_dtype_t dt);

typedef struct attn_rclass {
    int ready;
    void *in[ATTN_MAX_TENSORS];       /* float / int32 host arrays (classes 1, 2: rounded) */
    uint16_t *bits[ATTN_MAX_TENSORS]; /* classes 1, 2: the 16-bit patterns; else NULL */
    double *ref;                      /* NaN outside the checked rows */
} attn_rclass_t;

typedef struct attn_case {
    const attn_suite_t *s;
    const int64_t *v;
    int index;                        /* its number in the suite's case list (dump names) */
    attn_layout_t L;
    void *gen[ATTN_MAX_TENSORS];      /* generated inputs */
    attn_rclass_t cls[ATTN_NCLASSES];
    uint8_t *row_sel;                 /* NULL: every row checked */
    int64_t rows_checked;
    /* Called between long steps (the isolated child's heartbeat); nonzero: a stop signal came. */
    int (*tick)(void *arg);
    void *arg;
} attn_case_t;

/* An empty case v of suite s with its layout; nothing allocated yet. */
void attn_case_init(attn_case_t *c, const attn_suite_t *s, const int64_t *v, int index);

/* Allocate and generate the inputs from seed, and choose the checked rows: all, unless the
 * reference would cost more than ref_gflop GFLOP, then a seeded sample of at least 64 rows.
 * Returns 0, or -1 when the inputs do not fit in host memory. */
int attn_case_inputs(attn_case_t *c, uint64_t seed, double ref_gflop);

/* Make rounding class k (0, 1 or 2) ready: round the inputs (classes 1, 2) and compute the reference of
 * the checked rows on up to ref_threads threads, saying how long it took on stderr when verbose.
 * Does nothing when it is ready. Returns 0, or -1 with why in err. */
int attn_case_class(attn_case_t *c, int k, int ref_threads, int verbose, char *err, size_t n);

/* Compare the outputs (a variant's buffer of dtype dt: every output of the layout, as
 * attn_out_offset lays them out), computed from class k, with that class's reference at the
 * suite's tolerance for dt (xtolerance for further outputs). The first output that fails, or
 * output 0's check when all pass (chk.output says which). Outputs from nout on are not
 * compared (a variant that writes fewer: attn_variant_nout). */
attn_check_t attn_case_compare(const attn_case_t *c, int k, attn_dtype_t dt, const void *out,
                               int nout);

void attn_case_free(attn_case_t *c);

/* Bytes of one element of tensor t for a variant of dtype dt (int32 tensors stay 4). */
size_t attn_elem_bytes(const attn_tensor_t *t, attn_dtype_t dt);

/* Room for a case, asked once per case: available host memory now, device memory on demand. */
typedef struct attn_room {
    double host_avail;                /* bytes; 0: unknown */
    int dev_known;                    /* -1: not asked yet, 0: unknown, 1: dev_free is valid */
    size_t dev_free, dev_total;
} attn_room_t;

void attn_room_init(attn_room_t *room);

/* Why case c cannot take variant x (the implementation that runs, with the suite its
 * callbacks get) for lack of memory, or NULL: the host must have 80% of what it needs free
 * (inputs, the 16-bit classes, three references, the output, and x's workspace unless on_device),
 * and, on_device, the device its inputs, output, workspace and 256 MiB of slack. The text goes
 * into buf. */
const char *attn_case_room(const attn_case_t *c, attn_room_t *room, const attn_suite_t *is,
                           const attn_variant_t *x, int on_device, char *buf, size_t n);

#endif
