/* The additive and luong suites' GPU variants under the host emulator (kernels/emu): every
 * variant through `attnbench --backend emu --check` on shapes that are multiples of no tile, with
 * T != S, Dq != Dk (general, concat), Dk past the fused kernel's register row (skipped with its
 * reason), and a single query / key; every row must be ok, or skipped for the variant's own
 * supports() reason (tensor-core on concat). Modelled on tests/test_emu.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu-luong"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}


Test(emu_luong, luong_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = TST_SHAPES(
        "B=2,T=37,S=45,Dq=40,score=0",                /* dot: no multiple of 16 */
        "B=3,T=1,S=1,Dq=8,score=0",                   /* one query, one key */
        "B=2,T=20,S=70,Dq=48,Dk=33,score=1",          /* general, Dq != Dk */
        "B=1,T=17,S=33,Dq=72,Dk=520,score=1",         /* Dk > 512: fused skips */
        "B=1,T=16,S=20,Dq=512,score=0",               /* fused's largest shared-memory use */
        "B=2,T=23,S=50,Dq=30,Dk=20,A=17,score=2");    /* concat */
    char *out = NULL;
    int rc = tst_emu_run(dir, "luong", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    tst_emu_expect_all_ok(dir, "luong", 6);
    free(out);
}

Test(emu_luong, additive_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = TST_SHAPES("B=2,T=33,S=50,Dq=64,Dk=48,A=40",
                                       "B=1,T=16,S=16,Dq=512,A=256",
                                       "B=2,T=1,S=19,Dq=24,A=8");
    char *out = NULL;
    int rc = tst_emu_run(dir, "additive", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    tst_emu_expect_all_ok(dir, "additive", 3);
    free(out);
}
