/* Every GPU variant of every suite, run through `attnbench --backend emu --check`: the kernels
 * as written, executed by the host emulator under three thread schedules, compared with the
 * reference. Then the planted bugs (kernels built with -DATTN_PLANT_<NAME>, one module each,
 * paths in $ATTNBENCH_EMU_PLANT_<NAME>) must make exactly their variants fail. */
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


Test(emu, mhsa_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = TST_SHAPES(
        "N=1000,d=64,D=128,tokens=1000",            /* not a multiple of any tile */
        "N=17,d=128,D=128,tokens=34",                /* one partial tile */
        "N=1,d=64,D=64,tokens=2",
        "B=3,N=130,d=64,D=128,tokens=390,causal=1,kvpad=1", /* last batch fully padded */
        "N=70,Nk=200,d=64,D=64,tokens=140,causal=1", /* Nk != N */
        "N=200,Nk=33,d=32,D=64,tokens=200");
    char *out = NULL;
    int rc = tst_emu_run(dir, "mhsa", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    tst_emu_expect_all_ok(dir, "mhsa", 6);
    free(out);
}

Test(emu, halo_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = TST_SHAPES("B=2,C=32,H=16,block=8,halo=3,heads=2,d=16",
                                       "B=1,C=32,H=8,W=16,block=4,halo=2,heads=4,d=16",
                                       "B=1,C=32,H=16,block=8,halo=4,heads=2,d=64",
                                       "B=1,C=16,H=12,W=8,block=4,halo=0,heads=2,d=32");
    char *out = NULL;
    int rc = tst_emu_run(dir, "halo", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    tst_emu_expect_all_ok(dir, "halo", 4);
    free(out);
}

/* A planted bug: run `variants` under the module built with it; each must fail (exit 1, a
 * fail row whose reason contains `why`), and the same run on the clean module passes. */
static void planted(const char *name, const char *variants, const char *why, int nfail)
{
    char env[64];
    snprintf(env, sizeof env, "ATTNBENCH_EMU_PLANT_%s", name);
    const char *lib = getenv(env);
    cr_assert(lib && tst_exists(lib), "$%s names no module", env);
    const char *const *shapes = TST_SHAPES("B=2,N=200,d=64,D=64,tokens=400,causal=1");
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

/* A shuffle with the wrong lane in the softmax merge: the three variants using it fail. */
Test(emu, planted_shfl_lane, .init = setup, .fini = teardown, .timeout = 300)
{
    planted("SHFL_LANE", "^(tensor-core|cublas-f32|cublas-bf16)$", "max |err|", 3);
}
