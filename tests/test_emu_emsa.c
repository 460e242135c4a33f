/* The emsa GPU variants under the host emulator: `attnbench --backend emu --check --suite emsa`
 * on shapes with and without the spatial reduction, one and several heads, sizes that are no
 * multiple of any tile; every GPU row must be ok, or skipped with its supports() reason
 * (modelled on tests/test_emu.c, mhsa_all_variants). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu-emsa"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

Test(emu_emsa, all_variants, .init = setup, .fini = teardown, .timeout = 900)
{
    static const char *const shapes[] = {
        "B=2,C=32,heads=1,r=4,H=9,W=7",  /* h = 1 (plain softmax), reduction, odd sides */
        "B=1,C=48,heads=2,r=2,H=6",      /* transform + InstanceNorm, even r */
        "B=2,C=40,heads=4,r=3,H=5,W=8",  /* odd r (padding 1, 4×4 taps), dk = 10 */
        "B=1,C=24,heads=8,r=1,H=5",      /* no reduction: N' = N = 25, dk = 3 */
        "B=1,C=20,heads=1,r=1,H=3,W=4",  /* no reduction, h = 1 */
        NULL};
    char *out = NULL;
    int rc = tst_emu_run(dir, "emsa", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    free(out);
    tst_emu_expect_all_ok(dir, "emsa", 5);
}
