/* The shuffle and sge GPU variants under the host emulator: `attnbench --backend emu --check`
 * on shapes that reach every kernel path (scalar and float4 loads, registers and two-pass for
 * shuffle; shared-memory slab with and without opt-in, and the three-read global path for sge;
 * one-pixel maps), every row ok (or skipped with its supports() reason). The helpers are
 * tests/test_emu.c's, copied (they are static there). */
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


Test(emu, shuffle_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = TST_SHAPES(
        "B=2,C=32,G=4,H=7",        /* HW = 49: scalar loads */
        "B=1,C=64,G=8,H=56",       /* HW = 3136: float4, all 25 register slots */
        "B=1,C=8,G=1,H=4,W=6",     /* HW = 24: float4, G = 1 */
        "B=1,C=16,G=2,H=60,W=61",  /* HW = 3660 > 3200: the two-pass path */
        "B=3,C=6,G=3,H=1,W=1");    /* Cg = 1, one pixel: σ² = 0 */
    char *out = NULL;
    int rc = tst_emu_run(dir, "shuffle", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    tst_emu_expect_all_ok(dir, "shuffle", 5);
    free(out);
}

Test(emu, sge_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = TST_SHAPES(
        "B=2,C=16,G=4,H=7",        /* Cg = 4, HW = 49: slab in shared memory, cp.async */
        "B=1,C=12,G=4,H=5",        /* Cg·HW = 75: scalar staging and store */
        "B=2,C=8,G=2,H=1,W=1",     /* one pixel: std defined 0 */
        "B=1,C=32,G=2,H=30",       /* 57.6 KiB slab: shared memory above 48 KiB (opt-in) */
        "B=1,C=64,G=2,H=56");      /* 392 KiB slab: three reads from global memory */
    char *out = NULL;
    int rc = tst_emu_run(dir, "sge", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    tst_emu_expect_all_ok(dir, "sge", 5);
    free(out);
}
