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

/* The order in which ready emulated threads of a block run between synchronisation points.
 * A correct kernel gives bit-identical output under every schedule. */
enum attn_emu_schedule {
    ATTN_EMU_IN_ORDER = 0, /* lowest thread index first: warp 0 runs ahead to each barrier */
    ATTN_EMU_REVERSED = 1, /* highest thread index first */
    ATTN_EMU_SHUFFLED = 2  /* a seeded random priority order, redrawn at every block barrier */
};
#define ATTN_EMU_NSCHEDULES 3

/* Select the schedule of the following launches, and clear the error state (below). The
 * permutations of ATTN_EMU_SHUFFLED depend on seed, on the number of launches since this call
 * and on the block, so a run repeats exactly after the same call. */
void attn_emu_set_schedule(int mode, uint64_t seed);

/* "in-order", "reversed", "shuffled"; NULL for another mode. */
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
