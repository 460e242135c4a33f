/* The planted bugs of kernels/mhsa (built with -DATTN_PLANT_<NAME>, one emulator module each,
 * paths in $ATTNBENCH_EMU_PLANT_<NAME>): each must make exactly its variants fail under
 * `attnbench --backend emu --check`, and the clean module pass the same run. (Every variant at
 * every check shape: tests/test_conformance.c.) */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}


/* A planted bug: run `variants` at `shape` under the module built with it; each must fail
 * (exit 1, a fail row whose reason contains `why`), and the same run on the clean module
 * passes. */
static void planted_at(const char *name, const char *shape, const char *variants,
                       const char *why, int nfail)
{
    char env[64];
    snprintf(env, sizeof env, "ATTNBENCH_EMU_PLANT_%s", name);
    const char *lib = getenv(env);
    cr_assert(lib && tst_exists(lib), "$%s names no module", env);
    const char *const *shapes = TST_SHAPES(shape);
    char *out = NULL;
    int rc = tst_emu_run(dir, "mhsa", shapes, variants, lib, &out);
    cr_expect_eq(rc, 1, "planted %s: exit %d, want 1:\n%s", name, rc, out);
    int fails = 0;
    for (const char *p = out; (p = strstr(p, " fail ")); p++) fails++;
    cr_expect_eq(fails, nfail, "planted %s: %d failing rows, want %d:\n%s", name, fails, nfail,
                 out);
    cr_expect(strstr(out, why), "planted %s: no '%s' in:\n%s", name, why, out);
    free(out);
    rc = tst_emu_run(dir, "mhsa", shapes, variants, NULL, &out);
    cr_expect_eq(rc, 0, "clean module: exit %d:\n%s", rc, out);
    free(out);
}

static void planted(const char *name, const char *variants, const char *why, int nfail)
{
    planted_at(name, "B=2,N=200,d=64,D=64,tokens=400,causal=1", variants, why, nfail);
}

/* A needed __syncthreads dropped (tiled): the thread schedules disagree. */
Test(emu, planted_missing_sync, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("MISSING_SYNC", "^tiled$", "race: output differs between thread schedules", 1);
}

/* Wrong ldmatrix lanes for the K fragments (fused): wrong values. */
Test(emu, planted_mma_lane, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("MMA_LANE", "^fused$", "max |err|", 1);
}

/* A shuffle with the wrong lane in the softmax merge: the four variants using it fail. */
Test(emu, planted_shfl_lane, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("SHFL_LANE", "^(tensor-core|cublas-f32|cublas-bf16|cublas-bf16-bf16s)$", "max |err|", 4);
}

/* No barrier between an iteration's last reads of a K/V buffer and the next iteration's
 * cp.async refill of it (fused, both row tilings). Nk = 256 is a multiple of the key tile (64),
 * so every K/V row comes by cp.async, none by a plain store: where copies land only at their
 * covering wait (the first three schedules), the refill lands after the barrier that follows
 * that wait and nothing shows; the first schedule whose copies land at issue overwrites K_j,
 * V_j while other warps still read them, so the reason names that schedule. */
Test(emu, planted_consumed_sync, .init = setup, .fini = teardown, .timeout = 300)
{
    planted_at("CONSUMED_SYNC", "B=1,N=256,d=64,D=64,tokens=256,causal=0", "^(fused|fused-br64)$",
               "(in-order vs in-order, copies land at issue", 2);
}

/* One K/V row read past the tile bound (tiled): the read lands in valid host memory, so only
 * AddressSanitizer sees it; run in the ASan build (tests/run: build/asan), skipped elsewhere. */
Test(emu, planted_tile_bound, .init = setup, .fini = teardown, .timeout = 600)
{
    if (!getenv("ATTNBENCH_ASAN")) cr_skip_test("needs the AddressSanitizer build (build/asan)");
    const char *lib = getenv("ATTNBENCH_EMU_PLANT_TILE_BOUND");
    cr_assert(lib && tst_exists(lib), "$ATTNBENCH_EMU_PLANT_TILE_BOUND names no module");
    const char *const *shapes = TST_SHAPES("B=2,N=200,d=64,D=64,tokens=400,causal=1");
    char *out = NULL;
    int rc = tst_emu_run(dir, "mhsa", shapes, "^tiled$", lib, &out);
    cr_expect_neq(rc, 0, "planted tile_bound: exit 0:\n%s", out);
    cr_expect(strstr(out, "AddressSanitizer"), "planted tile_bound: no ASan report in:\n%s", out);
    free(out);
}

/* fused-splitkv merging its key splits by their sums alone, not rescaled to the common max:
 * N = 1 against 4000 keys gives it 8 splits of its own choosing, whose maxes differ. */
Test(emu, planted_split_rescale, .init = setup, .fini = teardown, .timeout = 300)
{
    planted_at("SPLIT_RESCALE", "B=1,N=1,Nk=4000,d=64,D=64,tokens=1", "^fused-splitkv$",
               "max |err|", 1);
}

/* The output of `variant` at the first case of a --dump directory, as float (bf16 widened). */
static float *dumped_out(const char *ddir, const char *variant, int64_t n)
{
    char name[128];
    snprintf(name, sizeof name, "mhsa-000-out-%s.npy", variant);
    char *path = tst_path(ddir, name);
    size_t len = 0;
    char *raw = tst_read_file(path, &len);
    cr_assert(raw && len >= (size_t)n * 4, "no %s", path);
    float *f = malloc((size_t)n * sizeof *f);
    memcpy(f, raw + len - (size_t)n * 4, (size_t)n * 4); /* the data ends the file */
    free(raw), free(path);
    return f;
}

/* Run `variants` at `shape` under the emulator with --dump into dir/sub; each must pass. */
static char *dump_run(const char *shape, const char *variants, const char *sub)
{
    char *ddir = tst_path(dir, sub);
    const char *args[] = {"--suite", "mhsa", "--backend", "emu", "--check", "--shape", shape,
                          "--variant", variants, "--dump", ddir, NULL};
    char *out = NULL;
    unsetenv("ATTNBENCH_EMU_LIB");
    const int rc = tst_run_bin(dir, args, &out);
    cr_assert_eq(rc, 0, "%s at %s: exit %d:\n%s", variants, shape, rc, out);
    free(out);
    return ddir;
}

static double max_abs(const float *a, int64_t n)
{
    double m = 0;
    for (int64_t e = 0; e < n; e++) m = fmax(m, fabs((double)a[e]));
    return m;
}

static double max_diff(const float *a, const float *b, int64_t n)
{
    double m = 0;
    for (int64_t e = 0; e < n; e++) m = fmax(m, fabs((double)a[e] - (double)b[e]));
    return m;
}

/* Split-KV with one split is the fused kernel's single pass: the same output up to the bf16
 * rounding of P that fused makes before P·V and one rounding of O (2⁻⁷ of max|O|; measured
 * 2⁻⁸, one bf16 step); and five splits merged by their log-sum-exp equal one split up to one
 * rounding of O to bf16 (2⁻⁸ of max|O|; measured 1.5e-5: all but 0.05 % of the elements are
 * bit-identical). Plain attention: bottom-right and GQA are not fused's yet. */
Test(emu, splitkv_one_split_equals_fused, .init = setup, .fini = teardown, .timeout = 300)
{
    const int64_t n = 1 * 2 * 16 * 64; /* B·H·N·d */
    char *d1 = dump_run("B=1,N=16,Nk=1000,d=64,D=128,splits=1", "^(fused|fused-splitkv)$", "one");
    char *d5 = dump_run("B=1,N=16,Nk=1000,d=64,D=128,splits=5", "^fused-splitkv$", "five");
    float *fused = dumped_out(d1, "fused", n), *one = dumped_out(d1, "fused-splitkv", n);
    float *five = dumped_out(d5, "fused-splitkv", n);
    const double scale = max_abs(fused, n);
    cr_assert_gt(scale, 0.0);
    const double e1 = max_diff(fused, one, n) / scale, e5 = max_diff(one, five, n) / scale;
    cr_expect_leq(e1, 0x1p-7, "one split vs fused: %.3g of max|O|", e1);
    cr_expect_leq(e5, 0x1p-8, "five splits vs one: %.3g of max|O|", e5);
    cr_expect_gt(max_diff(fused, one, n), 0.0, "bit-identical to fused: suspicious (a copy?)");
    free(fused), free(one), free(five), free(d1), free(d5);
}
