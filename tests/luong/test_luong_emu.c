/* The weights output a of additive and luong, under the emulator: the planted bug of
 * kernels/luong (module $ATTNBENCH_EMU_PLANT_LUONG_WEIGHTS, -DATTN_PLANT_LUONG_WEIGHTS) keeps
 * the context c right and gets a wrong in two ways, naive writing a[b] transposed (S, T) and
 * fused never dividing a by l. Each must fail for a alone ("a: max |err| ...": c, checked
 * first, passed) in both suites, every score of luong, and the clean module pass the same run.
 * (Every variant, a included, at every check shape: tests/test_conformance.c.) */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("luong-emu"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

/* T ≠ S, neither a multiple of 16: a transposed a misplaces every weight off the diagonal. */
static void planted(const char *suite, const char *const *shapes, int nfail)
{
    const char *lib = getenv("ATTNBENCH_EMU_PLANT_LUONG_WEIGHTS");
    cr_assert(lib && tst_exists(lib), "$ATTNBENCH_EMU_PLANT_LUONG_WEIGHTS names no module");
    char *out = NULL;
    int rc = tst_emu_run(dir, suite, shapes, "^(naive|fused)$", lib, &out);
    cr_expect_eq(rc, 1, "%s planted: exit %d, want 1:\n%s", suite, rc, out);
    int fails = 0, on_a = 0;
    for (const char *p = out; (p = strstr(p, " fail ")); p++) fails++;
    for (const char *p = out; (p = strstr(p, "a: max |err|")); p++) on_a++;
    cr_expect_eq(fails, nfail, "%s planted: %d failing rows, want %d:\n%s", suite, fails, nfail,
                 out);
    cr_expect_eq(on_a, nfail, "%s planted: %d failures on a, want %d (c must pass):\n%s", suite,
                 on_a, nfail, out);
    free(out);
    rc = tst_emu_run(dir, suite, shapes, "^(naive|fused)$", NULL, &out);
    cr_expect_eq(rc, 0, "%s, clean module: exit %d:\n%s", suite, rc, out);
    free(out);
}

Test(luong_emu, planted_weights_additive, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("additive", TST_SHAPES("B=2,T=9,S=31,Dq=32,A=16"), 2);
}

Test(luong_emu, planted_weights_luong, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("luong", TST_SHAPES("B=2,T=9,S=31,Dq=32,score=0", "B=2,T=9,S=31,Dq=32,score=1",
                                "B=2,T=9,S=31,Dq=32,A=16,score=2"), 6);
}
