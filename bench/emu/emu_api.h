/* The C API of the emulation module libattn_emu.so (bench/emu), for the harness.
 *
 * The module holds every GPU kernel compiled for the host (bench/emu/emu.h), emulated CUDA
 * runtime and cuBLAS entry points operating on host memory, and its own copy of the suites
 * registry, `const attn_suite_t *const attn_suites[]` (bench/registry.h), whose GPU variants call
 * the emulated launchers: "device" pointers are host pointers, the stream is ignored, and every
 * launch has finished when its launcher returns. Load it with dlopen(RTLD_NOW | RTLD_LOCAL) and
 * look these functions up with dlsym. The module is linked -Bsymbolic, so its definitions of
 * the CUDA runtime and cuBLAS functions never interpose on a real libcudart or libcublas in the
 * same process, nor the reverse.
 *
 * Launches are serialised by a lock; a process may use the module from any thread. */
#ifndef ATTN_EMU_API_H
#define ATTN_EMU_API_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A schedule: the order in which ready emulated threads of a block run between
 * synchronisation points, when cp.async copies land in shared memory, and the bytes shared
 * memory is poisoned with at every block start. A correct kernel gives bit-identical output
 * under every schedule.
 *
 *  mode  threads   cp.async copies land                       shared memory poison
 *  0     in order  at the cp.async.wait_group covering them   0xFF bytes (NaN, int -1)
 *  1     reversed  at the covering wait                       0xFF
 *  2     shuffled  at the covering wait                       0xFF
 *  3     in order  at issue                                   0x7F bytes (3.4e38, a large int)
 *  4     shuffled  each at a seeded random synchronisation    seeded random bytes
 *                  point of its thread between issue and wait
 *  5     in order  at the covering wait                       0xFF
 *
 * Schedule 5 also computes exp2f, expf, __expf and ex2.approx (kernels/common/fastmath.cuh)
 * as the GPU may: within its documented error bounds of the exact value instead of libm's
 * result (emu.h). Its output is checked against the reference within the tolerance, not for
 * bit-identity with the others (ATTN_EMU_SCHEDULE_EXACT).
 */
enum attn_emu_schedule {
    ATTN_EMU_IN_ORDER = 0, /* lowest thread index first: warp 0 runs ahead to each barrier */
    ATTN_EMU_REVERSED = 1, /* highest thread index first */
    ATTN_EMU_SHUFFLED = 2, /* a seeded random priority order, redrawn at every block barrier */
    ATTN_EMU_COPY_AT_ISSUE = 3, /* in order; copies land at once; poison 0x7F */
    ATTN_EMU_COPY_RANDOM = 4,   /* shuffled; copies land at random points; random poison */
    ATTN_EMU_GPU_MATH = 5       /* in order; exp2f/expf/__expf/ex2.approx as the GPU's */
};
#define ATTN_EMU_NSCHEDULES 6
/* Whether a correct kernel's output under `mode` is bit-identical to its output under mode 0. */
#define ATTN_EMU_SCHEDULE_EXACT(mode) ((mode) != ATTN_EMU_GPU_MATH)
/* attn_emu_schedule_name(mode) for mode 0 .. ATTN_EMU_NSCHEDULES - 1, for a harness that
 * loads the module at run time (bench/run.c) and cannot call it before. */
#define ATTN_EMU_SCHEDULE_NAMES                                                                  \
    { "in-order", "reversed", "shuffled", "in-order, copies land at issue, poison 0x7f",         \
      "shuffled, copies land at random points, random poison",                                \
      "in-order, exp as the GPU's (within its ulp bounds)" }

/* Select the schedule of the following launches, and clear the error state (below). The
 * random choices of ATTN_EMU_SHUFFLED and ATTN_EMU_COPY_RANDOM (permutations, landing points,
 * poison bytes) depend on seed, on the number of launches since this call and on the block,
 * so a run repeats exactly after the same call. */
void attn_emu_set_schedule(int mode, uint64_t seed);

/* The names above; NULL for another mode. */
const char *attn_emu_schedule_name(int mode);

/* Why the most recent failing emulated launch (or emulated cuBLAS call) failed since the last
 * attn_emu_set_schedule() / attn_emu_clear_error(), e.g. "mhsa_tiled_kernel<64>: block (3,0,0),
 * thread (5,0,0) (warp 0, lane 5): deadlock: ..."; NULL when none failed. The launcher itself
 * returned the error code (cudaErrorLaunchFailure for a failure inside the kernel:
 * deadlock, barrier or warp divergence, bad operand of a warp instruction; the usual codes for
 * a bad launch configuration). Valid until the next call into the module. */
const char *attn_emu_last_error(void);
void attn_emu_clear_error(void);

/* Counters since the module was loaded, for reports. */
typedef struct attn_emu_stats {
    uint64_t launches;    /* kernel launches (including failed ones) */
    uint64_t blocks;      /* blocks run */
    uint64_t threads;     /* emulated threads run */
    uint64_t switches;    /* fiber context switches */
    uint64_t barriers;    /* completed block barriers */
    uint64_t warp_ops;    /* completed warp collectives */
} attn_emu_stats_t;
void attn_emu_get_stats(attn_emu_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
