/* halo's fused kernel under the emulator, beyond the suite's check shapes (every variant at
 * those: tests/test_conformance.c):
 *  - the windows its main loop treats differently: a whole interior window (Wn = 14 rows: three
 *    full chunks of 4 rows and one whose last 2 rows are masked), windows past every image edge,
 *    head groups that are not powers of two (blockIdx.z divided by 3), HG = 3 at block 4, d = 128;
 *  - the shapes it refuses, with the reason named (exit 3: nothing checked);
 *  - kernels/halo/fused.cu's planted bugs (the emulator modules built with -DATTN_PLANT_<NAME>,
 *    paths in $ATTNBENCH_EMU_PLANT_<NAME>, hooks shared with kernels/mhsa): each makes fused
 *    fail, and the clean module passes the same run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("halo-emu"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

/* Rows of `out` that failed. */
static int count_fails(const char *out)
{
    int n = 0;
    for (const char *p = out; (p = strstr(p, " fail ")); p++) n++;
    return n;
}

Test(halo_fused_emu, awkward_windows_pass, .init = setup, .fini = teardown, .timeout = 300)
{
    const char *const *shapes = TST_SHAPES(
        "B=1,C=16,H=24,W=24,block=8,halo=3,heads=1,d=16",  /* an interior window: 14 rows */
        "B=1,C=8,H=8,W=8,block=8,halo=4,heads=1,d=16",     /* one block, window past all edges */
        "B=3,C=16,H=24,W=16,block=8,halo=4,heads=3,d=32",  /* 3 head groups per image */
        "B=2,C=16,H=12,W=20,block=4,halo=1,heads=6,d=16",  /* block 4, HG = 3 */
        "B=1,C=16,H=16,W=24,block=8,halo=2,heads=1,d=128", /* d = 128 */
        "B=1,C=16,H=24,W=8,block=8,halo=0,heads=2,d=64");  /* no halo: Wn = 8 */
    char *out = NULL;
    const int rc = tst_emu_run(dir, "halo", shapes, "^fused$", NULL, &out);
    cr_expect_eq(rc, 0, "fused at its awkward windows: exit %d:\n%s", rc, out);
    cr_expect_eq(count_fails(out), 0, "%s", out);
    free(out);
}

Test(halo_fused_emu, unsupported_shapes_name_the_reason, .init = setup, .fini = teardown)
{
    static const struct {
        const char *shape, *why;
    } cases[] = {
        {"B=1,C=8,H=12,W=12,block=6,halo=2,heads=1,d=16",
         "fused is compiled for block 4 and 8 (block=6)"},
        {"B=1,C=8,H=16,W=16,block=8,halo=5,heads=1,d=16",
         "needs block + 2·halo <= 16 (block=8, halo=5)"},
        {"B=1,C=8,H=16,W=16,block=8,halo=3,heads=1,d=8", "fused supports d in {16, 32, 64, 128} (d=8)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        const int rc = tst_emu_run(dir, "halo", TST_SHAPES(cases[i].shape), "^fused$", NULL, &out);
        cr_expect_eq(rc, 3, "%s: exit %d, want 3 (nothing checked):\n%s", cases[i].shape, rc, out);
        cr_expect(strstr(out, cases[i].why), "%s: no '%s' in:\n%s", cases[i].shape, cases[i].why,
                  out);
        free(out);
    }
}

/* A planted bug: fused at the suite's check shapes under the module built with it fails
 * `nfail` of them (exit 1), each reason containing `why`; the clean module passes. */
static void planted(const char *name, const char *why, int nfail)
{
    char env[64];
    snprintf(env, sizeof env, "ATTNBENCH_EMU_PLANT_%s", name);
    const char *lib = getenv(env);
    cr_assert(lib && tst_exists(lib), "$%s names no module", env);
    char *out = NULL;
    int rc = tst_emu_run(dir, "halo", NULL, "^fused$", lib, &out);
    cr_expect_eq(rc, 1, "planted %s: exit %d, want 1:\n%s", name, rc, out);
    cr_expect_eq(count_fails(out), nfail, "planted %s: want %d failing rows:\n%s", name, nfail,
                 out);
    cr_expect(strstr(out, why), "planted %s: no '%s' in:\n%s", name, why, out);
    free(out);
    rc = tst_emu_run(dir, "halo", NULL, "^fused$", NULL, &out);
    cr_expect_eq(rc, 0, "clean module: exit %d:\n%s", rc, out);
    free(out);
}

/* K fragments from the wrong ldmatrix lanes: wrong values at every check shape. */
Test(halo_fused_emu, planted_mma_lane, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("MMA_LANE", "max |err|", 4);
}

/* The next chunk's cp.async issued before the barrier that ends every warp's reads of the
 * buffer it refills (the previous chunk's, or the rel rows at the first chunk): only copies
 * landing at issue show it, and only where a window has two chunks or more — three of the four
 * check shapes (block 4, halo 0 has one). */
Test(halo_fused_emu, planted_consumed_sync, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("CONSUMED_SYNC", "(in-order vs in-order, copies land at issue", 3);
}
