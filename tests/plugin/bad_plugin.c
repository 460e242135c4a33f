/* Plugins that attnbench must refuse or survive (tests/plugins.sh), one per macro:
 *   NO_ENTRY      no attnbench_plugin() entry point
 *   BAD_ABI       an ABI version this attnbench does not read
 *   BAD_SUITE     a variant of a suite that does not exist
 *   BUILTIN_NAME  a variant named like a built-in one (mhsa's cpu-f32)
 *   CRASH         a variant whose run() dereferences NULL: its row fails, the run goes on
 *   HANG          a variant whose run() never returns: killed after --timeout, its row fails
 *   SUITE=NAME    "zeros" joins suite NAME (default mhsa): any suite's layout reaches run()
 *   GPU_ROW       "zeros" is a GPU row of a library not compiled for the emulator
 *   CPU_BF16      "zeros" is a CPU row in bf16, a pairing the ABI refuses */
#include <attnbench/plugin.h>
#ifdef HANG
#include <unistd.h>
#endif

static int run(const attnbench_case_t *c, const void *const *in, void *out, void *ws, void *stream)
{
    (void)in, (void)ws, (void)stream;
#ifdef CRASH
    (void)c, (void)out;
    *(volatile int *)(void *)0 = 1;
#elif defined(HANG)
    (void)c, (void)out;
    for (;;) pause();
#else
    int64_t n = 1;
    for (int i = 0; i < c->out->ndim; i++) n *= c->out->shape[i];
    for (int64_t i = 0; i < n; i++) ((float *)out)[i] = 0.0f;
#endif
    return 0;
}

static const attnbench_variant_t variants[] = {{
#ifdef BAD_SUITE
    .suite = "nosuch",
#elif defined(SUITE)
    .suite = SUITE,
#else
    .suite = "mhsa",
#endif
#ifdef BUILTIN_NAME
    .name = "cpu-f32",
#elif defined(CRASH)
    .name = "crashes",
#elif defined(HANG)
    .name = "hangs",
#else
    .name = "zeros",
#endif
#ifdef GPU_ROW
    .backend = ATTNBENCH_GPU,
#else
    .backend = ATTNBENCH_CPU,
#endif
#ifdef CPU_BF16
    .dtype = ATTNBENCH_BF16,
#else
    .dtype = ATTNBENCH_F32,
#endif
    .about = "writes zeros", .run = run,
}};

#ifndef NO_ENTRY
ATTNBENCH_PLUGIN_ENTRY
{
#ifdef BAD_ABI
    static const attnbench_plugin_t plugin = {999, 1, variants};
#else
    static const attnbench_plugin_t plugin = {ATTNBENCH_PLUGIN_ABI, 1, variants};
#endif
    return &plugin;
}
#else
int not_the_entry_point(void) { return variants[0].run != 0; }
#endif
