/* Plugins that attnbench must refuse or survive (tests/plugins.sh), one per macro:
 *   NO_ENTRY      no attnbench_plugin() entry point
 *   BAD_ABI       an ABI version this attnbench does not read
 *   BAD_SUITE     a variant of a suite that does not exist
 *   BUILTIN_NAME  a variant named like a built-in one (mhsa's cpu-f32)
 *   CRASH         a variant whose run() dereferences NULL: its row fails, the run goes on
 *   HANG          a variant whose run() never returns: killed after --timeout, its row fails
 *   SUITE=NAME    "zeros" joins suite NAME (default mhsa): any suite's layout reaches run()
 *   GPU_ROW       "zeros" is a GPU row of a library not compiled for the emulator
 *   CPU_BF16      "zeros" is a CPU row in bf16, a pairing the ABI refuses
 *   LUONG_DOT     a correct luong row ("dot", dot score only) that writes the context c and not
 *                 the weights a: a plugin writes the suite's first output only */
#include <attnbench/plugin.h>
#ifdef HANG
#include <unistd.h>
#endif
#ifdef LUONG_DOT
#include <math.h>
#include <stdlib.h>

static const char *dot_only(const attnbench_case_t *c)
{
    return attnbench_axis(c, "score", -1) == 0 ? NULL : "the dot score only";
}
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
#elif defined(LUONG_DOT)
    /* c_t = sum_s softmax_s(h_t . hbar_s) hbar_s, in float */
    const int64_t B = attnbench_axis(c, "B", 0), T = attnbench_axis(c, "T", 0),
                  S = attnbench_axis(c, "S", 0), D = attnbench_axis(c, "Dq", 0);
    const float *h = in[0], *hb = in[1];
    float *o = out, *p = malloc(sizeof *p * (size_t)S);
    if (!p) return 1;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            const float *q = h + (b * T + t) * D;
            float m = -INFINITY, l = 0;
            for (int64_t j = 0; j < S; j++) {
                float e = 0;
                for (int64_t x = 0; x < D; x++) e += q[x] * hb[(b * S + j) * D + x];
                p[j] = e, m = e > m ? e : m;
            }
            for (int64_t j = 0; j < S; j++) l += p[j] = expf(p[j] - m);
            for (int64_t x = 0; x < D; x++) {
                float acc = 0;
                for (int64_t j = 0; j < S; j++) acc += p[j] * hb[(b * S + j) * D + x];
                o[(b * T + t) * D + x] = acc / l;
            }
        }
    free(p);
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
#elif defined(LUONG_DOT)
    .name = "dot",
    .supports = dot_only,
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
