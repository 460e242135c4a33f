/* The emulation backend as bench/ sees it: the GPU variants of every suite, compiled a second
 * time for the host (bench/emu/), loaded from a shared module with its own registry. Rows run
 * there carry status and errors, never timings: emulation says nothing about speed. */
#ifndef ATTN_EMU_H
#define ATTN_EMU_H

#include <stddef.h>
#include <stdint.h>
#include "registry.h"

/* Load the module (ATTNBENCH_EMU_LIB, else the one this build made). 0; -1 with why not; -2
 * when the module was built from other sources than this program (its build id differs): a
 * stale module would check old kernels, so callers refuse to run (exit 2). */
int attn_emu_open(char *why, size_t n);

/* The module's own copy of suite `suite` (what its variants' callbacks get), or NULL. */
const attn_suite_t *attn_emu_suite(const char *suite);

/* The emulated twin of GPU variant `variant` of suite `suite`, or NULL. */
const attn_variant_t *attn_emu_variant(const char *suite, const char *variant);

/* Thread schedule of the next launches: 0 in order, 1 reversed, 2 seeded shuffle. */
void attn_emu_schedule(int mode, uint64_t seed);

/* Why the last emulated launch failed (deadlock, divergent barrier, ...), or NULL. */
const char *attn_emu_error(void);

#endif
