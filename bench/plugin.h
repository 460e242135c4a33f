/* Out-of-tree variants: shared libraries that follow the public ABI of
 * include/attnbench/plugin.h, loaded by `--plugin PATH.so` and ATTNBENCH_PLUGINS. Their rows are
 * appended to the suites they name, as registry variants (attn_variant_t) whose callbacks call
 * the plugin: everything after loading (selection, checking, timing, CSV, isolation: forked
 * children inherit the loaded libraries) treats them like built-in rows. */
#ifndef ATTN_PLUGIN_H
#define ATTN_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include "registry.h"

#define ATTN_MAX_PLUGINS 16

/* Load the libraries of ATTNBENCH_PLUGINS (colon-separated), then paths[0 .. n-1]. 0, or -1
 * with a message naming the file in err (bad usage, exit 2): not loadable, no attnbench_plugin
 * entry point, another ABI version, an unknown suite, a variant name already taken. */
int attn_plugins_load(const char *const *paths, int n, char *err, size_t errlen);

/* Suite s with the loaded plugins' rows that join it after its own, or s itself when none does. */
const attn_suite_t *attn_plugin_suite(const attn_suite_t *s);

/* A plugin row's library, as the emulation executor needs it. */
typedef struct attn_plugin_lib {
    char path[1024];     /* as given */
    char sha256[65];     /* of the file, hex */
    char source[160];    /* "plugin NAME.so sha256:HEX12": the rows' `source` */
    void *handle;
    /* Compiled for the host emulator (tools/emu-cc): the library carries its own emulator
     * runtime, whose schedule and last error these are; NULL otherwise. */
    void (*emu_set_schedule)(int mode, uint64_t seed);
    const char *(*emu_last_error)(void);
} attn_plugin_lib_t;

/* The library row x comes from, or NULL for a built-in row. */
const attn_plugin_lib_t *attn_plugin_of(const attn_variant_t *x);

/* The `source` column of variant `variant` of suite `suite`: its plugin ("plugin NAME.so
 * sha256:HEX12"), or NULL for a built-in row (built from the commit in git_commit). */
const char *attn_plugin_source(const char *suite, const char *variant);

#endif
