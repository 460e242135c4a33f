/* Every GPU variant of the outlook suite, run through `attnbench --backend emu --check`: the
 * kernels as written, executed by the host emulator under three thread schedules, compared with
 * the reference (modelled on tests/test_emu.c's mhsa_all_variants). */
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


/* Shapes: odd sizes with ceil-mode edge cells (σ = 2, 3), partial 8×8 tiles, d < 32, d = 40
 * (two channel groups in fused), k = 7 (k² = 49: two logits per lane), k = 1 with σ = 2
 * (pixels no window covers: fold 0, y = bp), and k = 11 (tiled and fused skip it with their
 * supports() reason; naive and cublas run it). */
Test(emu, outlook_all_variants, .init = setup, .fini = teardown, .timeout = 900)
{
    const char *const *shapes = TST_SHAPES("B=2,H=7,W=9,C=24,heads=3,k=3,stride=2",
                                       "B=1,H=10,C=32,heads=2,k=5,stride=1",
                                       "B=1,H=9,W=11,C=40,heads=1,k=3,stride=3",
                                       "B=1,H=6,C=16,heads=2,k=7,stride=2",
                                       "B=1,H=5,W=4,C=8,heads=2,k=1,stride=2",
                                       "B=1,H=4,W=5,C=8,heads=2,k=11,stride=1");
    char *out = NULL;
    int rc = tst_emu_run(dir, "outlook", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    tst_emu_expect_all_ok(dir, "outlook", 6);
    free(out);
}
