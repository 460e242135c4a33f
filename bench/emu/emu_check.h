/* The scaffolding of the emulator's own tests (emu_test.cu, emu_wgmma_test.cu): a CHECK that
 * counts and reports without stopping, a LAUNCH without ATTN_LAUNCH's stderr report (failures
 * there are usually the expected outcome), and the last launch's report. Host C++ only. */
#ifndef ATTN_EMU_CHECK_H
#define ATTN_EMU_CHECK_H

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "emu_api.h"

static int g_checks, g_failures;
static int g_sched; /* schedule of the current run, for messages */

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        g_checks++;                                                                              \
        if (!(cond)) {                                                                           \
            std::fprintf(stderr, "%s:%d: [schedule %d] CHECK(%s) failed: ", __FILE__, __LINE__,  \
                         g_sched, #cond);                                                        \
            std::fprintf(stderr, __VA_ARGS__);                                                   \
            std::fputc('\n', stderr);                                                            \
            g_failures++;                                                                        \
        }                                                                                        \
    } while (0)

#define LAUNCH(kernel, grid, block, smem, ...)                                                   \
    ::attn_emu::launch(#kernel, (kernel), (grid), (block), (smem), nullptr, __VA_ARGS__)

static const char *last_error() { return attn_emu_last_error() ? attn_emu_last_error() : "(none)"; }

/* Whether the last launch failed with a report containing `what` (and `also`, when given).
 * ATTN_EMU_TEST_VERBOSE=1 prints the reports the expected failures produce. */
static bool error_has(const char *what, const char *also = nullptr)
{
    const char *e = attn_emu_last_error();
    static const bool verbose = std::getenv("ATTN_EMU_TEST_VERBOSE") != nullptr;
    if (verbose && g_sched == 0) std::printf("expected failure: %s\n", e ? e : "(none)");
    return e && std::strstr(e, what) && (!also || std::strstr(e, also));
}

#endif
