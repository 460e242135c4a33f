/* attnbench plugin ABI: your own variant of an existing attnbench suite, in a shared library
 * loaded with `attnbench --plugin PATH.so` (or ATTNBENCH_PLUGINS=a.so:b.so).
 *
 * A plugin's rows join the suite they name and are treated exactly like the built-in variants
 * of that suite: listed by --list, checked against the suite's double-precision reference
 * before they are timed, timed, written to the CSV (the `source` of a row names the plugin file
 * and its SHA-256), plotted, compared, dumped by --dump, and isolated in a child process when
 * they crash or hang. What each suite computes, its axes and its tensors: docs/suites.md; the
 * walk-through: docs/own-kernel.md.
 *
 * The ABI is C, and versioned: the harness refuses (exit 2) a plugin whose `abi` is not the
 * ATTNBENCH_PLUGIN_ABI it was built with. Fields are only ever added at the end of a struct in
 * a new version. The header is plain C99; a C++ or CUDA source may include it too.
 *
 * A plugin exports one function, extern "C" in C++ (ATTNBENCH_PLUGIN_ENTRY does both):
 *
 *     const attnbench_plugin_t *attnbench_plugin(void);
 *
 * returning a description that stays valid while the library is loaded. */
#ifndef ATTNBENCH_PLUGIN_H
#define ATTNBENCH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI. Bumped whenever a struct below changes. */
#define ATTNBENCH_PLUGIN_ABI 1

#define ATTNBENCH_MAX_DIMS 8
#define ATTNBENCH_MAX_TENSORS 8

/* Where a variant's run() executes: ATTNBENCH_CPU gets host pointers and no stream;
 * ATTNBENCH_GPU gets device pointers and a cudaStream_t to launch on, asynchronously. */
enum attnbench_backend { ATTNBENCH_CPU = 0, ATTNBENCH_GPU = 1 };

/* The variant's storage types. ATTNBENCH_F32: float32 inputs and output (CPU or GPU).
 * ATTNBENCH_BF16 (GPU only): bfloat16 inputs and output, as uint16 bit patterns (the upper 16
 * bits of a float32; cuda_bf16.h's __nv_bfloat16), the inputs rounded to nearest even.
 * ATTNBENCH_F16 (GPU only): IEEE binary16 inputs and output, as uint16 bit patterns
 * (cuda_fp16.h's __half), the inputs rounded to nearest even. Added within ABI 1: a plugin that
 * never names it is unaffected.
 * ATTNBENCH_F64 (CPU only): float32 inputs, float64 output (a reference-grade variant). int32
 * tensors (index and length tensors) are always int32. Other pairings are refused (exit 2). */
enum attnbench_dtype { ATTNBENCH_F64 = 0, ATTNBENCH_F32 = 1, ATTNBENCH_BF16 = 2, ATTNBENCH_F16 = 3 };

/* What a tensor holds: floats in the variant's dtype, or int32. */
enum attnbench_tensor_kind { ATTNBENCH_FLOAT = 0, ATTNBENCH_INT32 = 1 };

/* One tensor of a case, dense and row-major (the last dimension is contiguous).
 *  name   the suite's name for it ("q", "k", "v", "kv_len", "o" for mhsa: docs/suites.md)
 *  kind   ATTNBENCH_FLOAT or ATTNBENCH_INT32
 *  ndim   number of dimensions, at most ATTNBENCH_MAX_DIMS
 *  shape  its extents, shape[0] the slowest
 *  dims   one letter per dimension, for messages ("bhic") */
typedef struct attnbench_tensor {
    const char *name;
    int kind;
    int ndim;
    int64_t shape[ATTNBENCH_MAX_DIMS];
    const char *dims;
} attnbench_tensor_t;

/* One case of the suite, as the harness hands it to every callback. Valid during the call only.
 *  suite        the suite's name
 *  naxes        the number of axes; axis_names[i] and axis_values[i] are the suite's axes in its
 *               order, every value given, derived or defaulted (never unset). Read them by name
 *               with attnbench_axis(); the names are those of `attnbench --list --suite NAME`
 *  nin, in      the inputs, in the suite's order: run() gets in[i] pointing at tensor in[i]
 *  out          the one output tensor */
typedef struct attnbench_case {
    const char *suite;
    int naxes;
    const char *const *axis_names;
    const int64_t *axis_values;
    int nin;
    const attnbench_tensor_t *in;
    const attnbench_tensor_t *out;
} attnbench_case_t;

/* One variant (one row of the suite).
 *  suite      the suite it joins, by name ("mhsa"); an unknown suite is refused (exit 2)
 *  name       its name in the suite: matched by --variant REGEX, written in the CSV's `variant`
 *             column; must not be a built-in variant's name or another plugin's (exit 2)
 *  backend    ATTNBENCH_CPU or ATTNBENCH_GPU (see attnbench_backend)
 *  dtype      ATTNBENCH_F32, ATTNBENCH_BF16 or ATTNBENCH_F16 (GPU), ATTNBENCH_F64 (CPU), see
 *             attnbench_dtype: its inputs are rounded to it, and its tolerance is the suite's
 *             for that dtype
 *  about      one line for --list: what it does
 *  supports   NULL (every case), or returns NULL when it can run case c, else a reason (a
 *             string that outlives the call): the row is skipped with that reason
 *  workspace  NULL (none), or the scratch bytes it needs for case c: run() gets that many bytes
 *             at ws, device memory for GPU variants, uninitialised (poisoned when checked)
 *  run        computes the output of case c: in[i] points at c->in[i], out at c->out (which it
 *             must write whole), ws at the workspace. GPU: device pointers; launch on `stream`
 *             (a cudaStream_t) and return without synchronising. Returns 0, or an error code.
 *             It is called many times for the same case (check, warm-up, samples) and must not
 *             keep state between calls that changes its result
 *  error_string NULL, or text for a non-zero code of run() */
typedef struct attnbench_variant {
    const char *suite;
    const char *name;
    int backend;
    int dtype;
    const char *about;
    const char *(*supports)(const attnbench_case_t *c);
    size_t (*workspace)(const attnbench_case_t *c);
    int (*run)(const attnbench_case_t *c, const void *const *in, void *out, void *ws,
               void *stream);
    const char *(*error_string)(int err);
} attnbench_variant_t;

/* What attnbench_plugin() returns.
 *  abi        ATTNBENCH_PLUGIN_ABI as the plugin was compiled: the harness refuses another
 *  nvariants  how many rows it adds, at least 1
 *  variants   the rows */
typedef struct attnbench_plugin {
    int abi;
    int nvariants;
    const attnbench_variant_t *variants;
} attnbench_plugin_t;

/* The value of axis `name` of case c, or `dflt` when the suite has no such axis. */
static inline int64_t attnbench_axis(const attnbench_case_t *c, const char *name, int64_t dflt)
{
    for (int i = 0; i < c->naxes; i++)
        if (strcmp(c->axis_names[i], name) == 0) return c->axis_values[i];
    return dflt;
}

#if defined(__GNUC__) || defined(__clang__)
#define ATTNBENCH_EXPORT __attribute__((visibility("default")))
#else
#define ATTNBENCH_EXPORT
#endif

#ifdef __cplusplus
}
#define ATTNBENCH_PLUGIN_ENTRY extern "C" ATTNBENCH_EXPORT const attnbench_plugin_t *attnbench_plugin(void)
#else
#define ATTNBENCH_PLUGIN_ENTRY ATTNBENCH_EXPORT const attnbench_plugin_t *attnbench_plugin(void)
#endif

/* Launching a kernel from a CUDA plugin: ATTNBENCH_LAUNCH(kernel, grid, block, smem, stream,
 * args...) is kernel<<<grid, block, smem, stream>>>(args...) and evaluates to the launch's
 * cudaError_t (0: launched). Written this way, the same source also compiles for the host
 * emulator (tools/emu-cc), where the launch runs the grid under the emulator's schedules and
 * returns when it has finished. Shared memory: static __shared__ arrays (dynamic shared memory
 * is not supported by tools/emu-cc yet). */
#if defined(ATTN_EMU)
#define ATTNBENCH_LAUNCH(kernel, grid, block, smem, stream, ...)                                  \
    ((int)::attn_emu::launch(#kernel, (kernel), (grid), (block), (smem),                         \
                             (cudaStream_t)(stream), __VA_ARGS__))
#elif defined(__CUDACC__)
#define ATTNBENCH_LAUNCH(kernel, grid, block, smem, stream, ...)                                  \
    ((kernel)<<<(grid), (block), (smem), (cudaStream_t)(stream)>>>(__VA_ARGS__),                 \
     (int)cudaGetLastError())
#endif

#endif
