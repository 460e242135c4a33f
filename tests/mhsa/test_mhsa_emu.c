/* The planted bugs of kernels/mhsa (built with -DATTN_PLANT_<NAME>, one emulator module each,
 * paths in $ATTNBENCH_EMU_PLANT_<NAME>): each must make exactly its variants fail under
 * `attnbench --backend emu --check`, and the clean module pass the same run. (Every variant at
 * every check shape: tests/test_conformance.c.) */
#include <criterion/criterion.h>
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
    planted_at("CONSUMED_SYNC", "B=1,N=256,d=64,D=64,tokens=256,causal=0", "^(fused|fused-br128)$",
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
