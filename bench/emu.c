#include "emu.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ATTN_EMU_LIB
#define ATTN_EMU_LIB ""
#endif

extern const char attn_build_id[]; /* generated: tools/build_id.py */

static void *lib;
static const attn_suite_t *const *emu_suites;
static void (*set_schedule)(int, uint64_t);
static const char *(*last_error)(void);

int attn_emu_open(char *why, size_t n)
{
    if (emu_suites) return 0;
    const char *path = getenv("ATTNBENCH_EMU_LIB");
    if (!path || !*path) path = ATTN_EMU_LIB;
    if (!*path) {
        snprintf(why, n, "built without the emulator (needs the CUDA headers and a C++ compiler)");
        return -1;
    }
    /* RTLD_LOCAL (and -Bsymbolic in the module): its CUDA runtime stand-ins never meet ours. */
    lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(why, n, "cannot load the emulator %s: %s", path, dlerror());
        return -1;
    }
    const char *(*module_id)(void) = NULL;
    *(void **)&module_id = dlsym(lib, "attn_emu_build_id");
    if (!module_id || strcmp(module_id(), attn_build_id)) {
        snprintf(why, n,
                 "the emulator %s was built from other sources than this program (build id %s, "
                 "this program %s): rebuild it (ninja -C build bench/emu/libattn_emu.so; "
                 "./attnbench --backend emu does)",
                 path, module_id ? module_id() : "none", attn_build_id);
        dlclose(lib);
        lib = NULL;
        return -2;
    }
    emu_suites = (const attn_suite_t *const *)dlsym(lib, "attn_suites");
    *(void **)&set_schedule = dlsym(lib, "attn_emu_set_schedule");
    *(void **)&last_error = dlsym(lib, "attn_emu_last_error");
    if (!emu_suites || !set_schedule || !last_error) {
        snprintf(why, n, "emulator %s lacks its registry or API", path);
        dlclose(lib);
        lib = NULL;
        emu_suites = NULL;
        return -1;
    }
    return 0;
}

const attn_suite_t *attn_emu_suite(const char *suite)
{
    if (!emu_suites) return NULL;
    for (int i = 0; emu_suites[i]; i++)
        if (!strcmp(emu_suites[i]->name, suite)) return emu_suites[i];
    return NULL;
}

const attn_variant_t *attn_emu_variant(const char *suite, const char *variant)
{
    if (!emu_suites) return NULL;
    for (int i = 0; emu_suites[i]; i++) {
        const attn_suite_t *s = emu_suites[i];
        if (strcmp(s->name, suite)) continue;
        for (int j = 0; j < s->nvariants; j++)
            if (!strcmp(s->variants[j].name, variant) && s->variants[j].backend == ATTN_GPU)
                return &s->variants[j];
    }
    return NULL;
}

void attn_emu_schedule(int mode, uint64_t seed)
{
    if (set_schedule) set_schedule(mode, seed);
}

const char *attn_emu_error(void) { return last_error ? last_error() : NULL; }
