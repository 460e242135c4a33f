/* Every GPU variant of the aft suite, run through `attnbench --backend emu --check`: the kernels
 * as written, executed by the host emulator, compared with the reference (model:
 * tests/test_emu.c, mhsa_all_variants). Shapes: every form; T and Dh not multiples of the
 * 32-wide tiles; Tmax > T; a window wider than T; K ≈ ±100 (kshift), which overflows any
 * unstabilised e^K in float. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu-aft"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

Test(emu_aft, aft_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    static const char *const shapes[] = {
        "B=2,T=100,D=48,form=0",            /* T, Dh not multiples of 32 */
        "B=2,T=100,D=48,Dh=40,form=1",
        "B=2,T=100,D=48,Dh=40,form=2,s=7",  /* band crosses tile edges */
        "B=1,T=70,D=32,form=0,kshift=100",  /* K ≈ 100 */
        "B=1,T=70,D=32,form=1,kshift=-100",
        "B=1,T=70,D=32,form=2,s=9,kshift=100",
        "B=1,T=33,Tmax=50,D=16,Dh=24,form=2,s=40", /* Tmax > T, window wider than T */
        "B=3,T=1,D=8,form=0",                      /* one token */
        NULL};
    char *out = NULL;
    int rc = tst_emu_run(dir, "aft", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    free(out);
    const int skipped = tst_emu_expect_all_ok(dir, "aft", 8);
    /* ok: naive, tiled 8 each; local-efficient the 3 local shapes; cublas, tensor-core and
     * fused the 3 full ones: skipped 5 + 5 + 5 + 5 = 20 */
    cr_expect_eq(skipped, 20, "%d rows skipped, want 20", skipped);
}
