/* The registry: what a suite and a variant are, as plain data.
 *
 * bench/ (CLI, sweep, timer, CSV) only ever talks to suites through these structs; it knows no
 * mechanism by name. A suite lives in suites/<name>.c and is listed once, in the top-level
 * meson.build's `attn_suite_names` (docs/adding-a-suite.md); adding one touches no file in bench/.
 *
 * Every callback gets the suite it belongs to (and a variant's callbacks the variant too), so
 * one function can serve several suites or rows through their `ctx`: additive is luong's
 * functions with a fixed score, and each suite's GPU rows share one adapter whose ctx names the
 * row's launchers.
 *
 * Every axis value is an int64. A case is one value per axis of its suite, in the suite's axis
 * order. ATTN_UNSET marks a value nobody gave yet: the suite's derive() fills it from the others
 * (e.g. mhsa derives B from tokens / N), and what is still unset afterwards takes its default.
 */
#ifndef ATTN_REGISTRY_H
#define ATTN_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#define ATTN_MAX_AXES 16
#define ATTN_MAX_TENSORS 8
#define ATTN_MAX_DIMS 6
#define ATTN_MAX_XOUT 2            /* further outputs beside the first (attn_layout_t) */
#define ATTN_UNSET INT64_MIN

typedef enum attn_backend { ATTN_CPU, ATTN_GPU } attn_backend_t;

/* Storage dtype of a variant's float inputs and output. ATTN_F16 is IEEE binary16 (cuda_fp16.h's
 * __half): bf16's width with 3 more mantissa bits and a range up to 65504. */
typedef enum attn_dtype { ATTN_F64, ATTN_F32, ATTN_BF16, ATTN_F16 } attn_dtype_t;

/* What a tensor holds: floats (stored in the variant's dtype) or int32 (stored as is). */
typedef enum attn_tkind { ATTN_T_FLOAT, ATTN_T_INT32 } attn_tkind_t;

typedef struct attn_tensor {
    const char *name;          /* file and manifest name, e.g. "q" */
    attn_tkind_t kind;
    int ndim;
    int64_t shape[ATTN_MAX_DIMS];
    const char *dims;          /* one letter per dim for messages, e.g. "bhnc" */
} attn_tensor_t;

/* The tensors of one case: inputs (parameters included) and the outputs: `out`, then nxout
 * further ones (e.g. additive's and luong's attention weights a beside the context c).
 * A variant's output buffer (and the reference's, in double) holds them one after the other:
 * output i (0: out, i >= 1: xout[i - 1]) at element attn_out_elem(L, i), each start rounded up
 * to 128 elements (256 bytes or more: device pointers as aligned as cudaMalloc's); run() writes
 * them all, reference() them all for the selected rows, and the check compares each with its
 * own tolerance (the suite's xtolerance). Further outputs have the same out_rows rows as `out`,
 * contiguous (row r of xout[k]: its elements [r·len, (r + 1)·len), len = numel / out_rows);
 * row_of applies to `out` only. */
typedef struct attn_layout {
    int nin;
    attn_tensor_t in[ATTN_MAX_TENSORS];
    attn_tensor_t out;
    /* The output seen as out_rows independent rows for sampled checking: element e belongs to
     * row e / (numel / out_rows) unless the suite's row_of says otherwise. A row is the unit the
     * reference can compute alone (mhsa: one query row; halo: one pixel's C outputs). */
    int64_t out_rows;
    int nxout;
    attn_tensor_t xout[ATTN_MAX_XOUT];
    /* 0, or i >= 1: output i is the attention weights (query rows × keys in its last two dims,
     * rows summing to 1), which --dump writes per variant for `attnbench plots --heatmap` */
    int weights_out;
} attn_layout_t;

/* One axis of a suite.
 *  name     as on the command line (--shape name=v) and as the CSV column header
 *  def      value when neither given nor derived (ATTN_UNSET: derive() must fill it)
 *  sweep    the suite's default grid on a GPU (NULL-free array of nsweep values; 0: not swept)
 *  sweep_cpu the grid used when only CPU variants can run (no device); 0 values: use `sweep`
 *  min,max  accepted range of a given value */
typedef struct attn_axis {
    const char *name;
    const char *help;
    int64_t def;
    int64_t min, max;
    int nsweep;
    int64_t sweep[12];
    int nsweep_cpu;
    int64_t sweep_cpu[12];
} attn_axis_t;

struct attn_suite;
struct attn_variant;
typedef struct attn_suite attn_suite_t;
typedef struct attn_variant attn_variant_t;

/* One implementation of a suite.
 *  name        unique within the suite; matched by --variant REGEX
 *  backend     ATTN_CPU (host pointers) or ATTN_GPU (device pointers, async on `stream`)
 *  dtype       storage dtype of its float inputs and output
 *  tensor_cores 1 when its built sm_90 code must contain tensor-core instructions, 0 when it must
 *              contain none (checked by tests/sass_check.sh); -1: not checked (CPU variants,
 *              and variants whose matrix work is a library's, e.g. cuBLAS)
 *  kernel_file source file of its kernels, relative to the repository root (for the SASS check)
 *  about       one line for --list
 *  available   NULL when this build can run it; else why not (e.g. "built without CUDA")
 *  supports    NULL, or returns NULL / a reason the case is not supported (the row is skipped)
 *  workspace   NULL, or the device/host scratch bytes it needs for a case
 *  run         compute the output for case v: in[i] and out point to the layout's tensors in
 *              `dtype` (int32 tensors as int32), ws to workspace bytes; returns 0 or an error
 *              code, and error_string() turns that into text
 *  ctx         the row's own data for its callbacks (e.g. its launchers), or NULL
 *  sass_budget NULL, or the limits its kernels' sm_90 code must keep, checked by the `sass`
 *              tests (tools/sass_report.py, docs/testing.md): clauses "PATTERN: item ...;" where
 *              PATTERN is a regular expression on the demangled kernel name, so each template
 *              instantiation gets its own (e.g. "mhsa_fused_kernel<64, 1>: threads=128
 *              instr/mma<=5.5 spills=0; mhsa_fused_kernel<128, 1>: instr/mma<=4.5")
 *  in_sweep    NULL, or 0 for a case of the sweep (--sweep, --plan) this row sits out, writing
 *              no row: e.g. a second dtype of a kernel, timed at a few grid points only
 *  outputs     0: it writes every output of the suite's layout; n: the first n only (a plugin:
 *              the ABI has one), and only those are checked and dumped
 * supports, workspace, run and in_sweep get the suite the row is run in and the row itself. */
struct attn_variant {
    const char *name;
    attn_backend_t backend;
    attn_dtype_t dtype;
    int tensor_cores;
    const char *kernel_file;
    const char *about;
    const char *available;
    const char *(*supports)(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v);
    size_t (*workspace)(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v);
    int (*run)(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v,
               const void *const *in, void *out, void *ws, void *stream);
    const char *(*error_string)(int err);
    const void *ctx;
    const char *sass_budget;
    int (*in_sweep)(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v);
    int outputs;
};

/* One attention mechanism.
 *  derive     fill ATTN_UNSET values from the others and check constraints; returns 0, or -1
 *             with a message naming the offending values in err (bad usage: exit 2)
 *  layout     shapes of the inputs and output of a case
 *  generate   fill the host inputs of a case deterministically from seed (floats as float)
 *  reference  the output in double from float inputs (already rounded to the variant's dtype),
 *             computing only the rows with row_sel[r] != 0 (all rows when row_sel is NULL)
 *  row_of     NULL, or the row (see attn_layout_t) of output element e, for outputs whose rows
 *             are not contiguous
 *  ref_serial 1: bench/refpool.c must run the reference as one call, never split across threads
 *             (a reference with mutable static state, or one that writes elements of rows it was
 *             not asked for). 0, every suite today: it is thread safe and, given a row_sel, writes
 *             only the selected rows' elements, so chunks of rows run on threads of their own
 *  ref_unit   NULL, or the number of consecutive rows (from row 0) that share per-call work of
 *             the reference, e.g. one image whose keys every query row needs: the threaded
 *             reference cuts chunks at its multiples while there are at least as many units with
 *             selected rows as threads (see bench/refpool.h)
 *  ref_unit_whole 1: never split a ref_unit across threads, even when there are fewer units than
 *             threads (the unit's shared work is most of its cost: a split would redo it, wall
 *             time unchanged)
 *  in_sweep   NULL, or 0 for a grid point the sweep leaves out (e.g. halo pairs block and halo)
 *  flops      algorithmic FLOPs (docs/suites.md) — also the reference's cost estimate
 *  bytes      minimum bytes moved for an element size in bytes
 *  tolerance  the largest accepted max|out − ref| relative to max(|ref|) for a dtype, with the
 *             derivation written beside it in the suite
 *  xtolerance the same for further output i >= 1 (attn_layout_t); NULL: tolerance()
 *  plot_axis  the axis the plots put on x
 *  plot_panels comma-separated axes that get one plot panel per value combination
 *  check_shapes NULL-terminated list of awkward cases ("--shape" strings: tile remainders,
 *             length 1, padding, borders) that every variant must pass: the conformance test
 *             runs every GPU variant at each under the emulator, and a lent GPU at each
 *             (`attnbench --check --check-shapes`)
 *  floors     the speed floors `attnbench floors` judges (bench/floors.h), nfloors of them
 *  weights    NULL, or the attention weights of case v for heatmaps, in double from the case's
 *             inputs as generated (floats as float): sets *t to their shape (the last two dims
 *             query rows × keys, the leading ones index the matrices) and returns a malloc'd
 *             array the caller frees (NULL: out of memory). A masked key weighs 0 and every row
 *             sums to 1 (0 when all its keys are masked). --dump writes them, `attnbench plots
 *             --heatmap DIR` draws them (bench/heatmap.c). A suite whose variants output the
 *             weights (layout's weights_out) has each variant's own dumped and drawn beside
 *             these; mhsa's kernels never store P, so its heatmap is the reference's alone
 *  ctx        the suite's own data for its callbacks, or NULL
 * Every callback gets the suite first. */
struct attn_floor;
struct attn_suite {
    const char *name;
    const char *title;
    int naxes;
    const attn_axis_t *axes;
    int (*derive)(const attn_suite_t *s, int64_t *v, char *err, size_t errlen);
    void (*layout)(const attn_suite_t *s, const int64_t *v, attn_layout_t *out);
    void (*generate)(const attn_suite_t *s, const int64_t *v, uint64_t seed, void *const *in);
    void (*reference)(const attn_suite_t *s, const int64_t *v, const void *const *in,
                      double *out, const uint8_t *row_sel);
    int64_t (*row_of)(const attn_suite_t *s, const int64_t *v, int64_t e);
    int ref_serial;
    int64_t (*ref_unit)(const attn_suite_t *s, const int64_t *v);
    int ref_unit_whole;
    int (*in_sweep)(const attn_suite_t *s, const int64_t *v);
    double (*flops)(const attn_suite_t *s, const int64_t *v);
    double (*bytes)(const attn_suite_t *s, const int64_t *v, int elem_size);
    double (*tolerance)(const attn_suite_t *s, const int64_t *v, attn_dtype_t dtype);
    double (*xtolerance)(const attn_suite_t *s, const int64_t *v, int i, attn_dtype_t dtype);
    const char *plot_axis;
    const char *plot_panels;
    int nvariants;
    const attn_variant_t *variants;
    const char *const *check_shapes;
    int nfloors;
    const struct attn_floor *floors;
    double *(*weights)(const attn_suite_t *s, const int64_t *v, const void *const *in,
                       attn_tensor_t *t);
    const void *ctx;
};

/* The list of suites, NULL-terminated; generated from attn_suite_names (suites/meson.build). */
extern const attn_suite_t *const attn_suites[];

/* Helpers every layer may use. */
const char *attn_dtype_name(attn_dtype_t t);
const char *attn_backend_name(attn_backend_t b);
int attn_dtype_size(attn_dtype_t t);
int attn_axis_index(const attn_suite_t *s, const char *name);
/* The suite of attn_suites called name, or NULL. */
const attn_suite_t *attn_suite_named(const char *name);
int64_t attn_tensor_numel(const attn_tensor_t *t);
/* The outputs of a layout (attn_layout_t): how many (1 + nxout), output i (0: out), where
 * output i starts in elements (the same for every dtype) and in bytes for elements of esize
 * bytes, and the buffer's size in bytes. */
int attn_nout(const attn_layout_t *L);
const attn_tensor_t *attn_out_tensor(const attn_layout_t *L, int i);
int64_t attn_out_elem(const attn_layout_t *L, int i);
size_t attn_out_offset(const attn_layout_t *L, int i, size_t esize);
size_t attn_out_bytes(const attn_layout_t *L, size_t esize);
/* How many of the layout's outputs variant x writes (its `outputs`, at most attn_nout). */
int attn_variant_nout(const attn_layout_t *L, const attn_variant_t *x);

/* The "reference" row of every suite: the suite's reference() on every row (no row selection),
 * timed like any CPU variant. */
int attn_run_reference(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v,
                       const void *const *in, void *out, void *ws, void *stream);

#endif
