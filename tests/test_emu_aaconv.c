/* Every aaconv GPU variant through `attnbench --backend emu --check` (the kernels as written, run
 * by the host emulator under three thread schedules, compared with the reference): every row ok,
 * or skipped with exactly the variant's supports() reason. Modelled on tests/test_emu.c. */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu-aaconv"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

Test(emu_aaconv, all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    static const char *const shapes[] = {
        "B=2,Fout=32,H=7",                                     /* N = 49: partial tiles */
        "B=1,Fin=6,Fout=40,H=9,stride=2,kq=3,Nh=2",            /* k×k qkv, stride 2, dvh = 2 */
        "B=1,Fin=4,Fout=24,H=6,W=5,stride=2,k=5,Nh=2,dk=6,dv=4", /* H != W, square output */
        "B=1,Fin=8,Fout=64,H=11,Nh=4,dk=80,dv=40",             /* dkh = 20, dvh = 10, N = 121 */
        "B=1,Fin=8,Fout=64,H=11,Nh=4,dk=48,dv=40",             /* dkh = 12, dvh = 10: fused runs */
        "B=1,Fin=4,Fout=48,H=5,Nh=1,dk=40,dv=8",               /* dkh = 40: tiled skips */
        NULL};
    char *out = NULL;
    int rc = tst_emu_run(dir, "aaconv", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    free(out);
    const int skipped = tst_emu_expect_all_ok(dir, "aaconv", 6);
    /* fused and tensor-core skip dkh = 20 (case 4) and dkh = 40 (case 6); tiled dkh = 40 */
    cr_expect_eq(skipped, 5, "%d rows skipped, want 5", skipped);
}
