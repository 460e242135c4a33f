/* Every GPU variant of every suite, run through `attnbench --backend emu --check`: the kernels
 * as written, executed by the host emulator under three thread schedules, compared with the
 * reference. Then the planted bugs (kernels built with -DATTN_PLANT_<NAME>, one module each,
 * paths in $ATTNBENCH_EMU_PLANT_<NAME>) must make exactly their variants fail. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "csv.h"
#include "emu.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

/* Runs the suite's GPU variants under emulation on the shapes (with the emulator module in
 * $ATTNBENCH_EMU_LIB when lib is not NULL); returns the exit status and fills status[v] with
 * the row status of each variant (last row wins), checking every row is ok or skipped for the
 * variant's own supports() reason unless expect_fail. */
static int emu_check(const char *suite, const char *const *shapes, const char *variant_re,
                     const char *lib, char **out)
{
    char *csv = tst_path(dir, "emu.csv");
    remove(csv);
    const char *args[64] = {"--suite", suite, "--backend", "emu", "--check", "--csv", csv};
    int na = 7;
    for (int i = 0; shapes[i]; i++) args[na++] = "--shape", args[na++] = shapes[i];
    if (variant_re) args[na++] = "--variant", args[na++] = variant_re;
    args[na] = NULL;
    if (lib) setenv("ATTNBENCH_EMU_LIB", lib, 1);
    else unsetenv("ATTNBENCH_EMU_LIB");
    int rc = tst_run_bin(dir, args, out);
    unsetenv("ATTNBENCH_EMU_LIB");
    free(csv);
    return rc;
}

/* Every row of the last run's CSV: status ok, or skip with exactly the variant's supports()
 * reason; and backend "emu" with no timing. */
static void expect_all_ok(const char *suite, int ncases)
{
    const attn_suite_t *s = tst_suite(suite);
    char why[256];
    cr_assert_eq(attn_emu_open(why, sizeof why), 0, "%s", why);
    char *csv = tst_path(dir, "emu.csv");
    char *text = tst_read_file(csv, NULL);
    cr_assert_not_null(text, "no CSV");
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    int ngpu = 0;
    for (int j = 0; j < s->nvariants; j++) ngpu += s->variants[j].backend == ATTN_GPU;
    cr_expect_eq(nl - 1, ngpu * ncases, "%d rows, want %d", nl - 1, ngpu * ncases);
    const char *h = L[0];
    const int c_var = tst_csv_col(h, "variant"), c_st = tst_csv_col(h, "status"),
              c_why = tst_csv_col(h, "reason"), c_be = tst_csv_col(h, "backend"),
              c_med = tst_csv_col(h, "median_ms"), c_err = tst_csv_col(h, "max_abs_err"),
              c_tol = tst_csv_col(h, "tolerance");
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_assert(k > c_tol, "line %d malformed", i + 1);
        int64_t v[ATTN_MAX_AXES];
        for (int a = 0; a < s->naxes; a++) v[a] = atoll(f[tst_csv_col(h, s->axes[a].name)]);
        /* The emulated twin: its supports() exists even in a build without CUDA. */
        const attn_variant_t *x = attn_emu_variant(suite, f[c_var]);
        cr_assert_not_null(x, "variant %s not in the emulator", f[c_var]);
        cr_expect_str_eq(f[c_be], "emu");
        cr_expect_str_eq(f[c_med], "", "emulated rows are never timed");
        const char *unsupported = x->supports ? x->supports(v) : NULL;
        if (unsupported) {
            cr_expect_str_eq(f[c_st], "skip", "%s: %s", x->name, f[c_why]);
        } else {
            cr_expect_str_eq(f[c_st], "ok", "%s line %d: %s (%s)", x->name, i + 1, f[c_st],
                             f[c_why]);
            cr_expect(atof(f[c_err]) <= atof(f[c_tol]) && atof(f[c_tol]) > 0);
        }
        tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    free(text), free(csv);
}

#define SHAPES(...) ((const char *const[]){__VA_ARGS__, NULL})

Test(emu, mhsa_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = SHAPES(
        "N=1000,d=64,D=128,tokens=1000",            /* not a multiple of any tile */
        "N=17,d=128,D=128,tokens=34",                /* one partial tile */
        "N=1,d=64,D=64,tokens=2",
        "B=3,N=130,d=64,D=128,tokens=390,causal=1,kvpad=1", /* last batch fully padded */
        "N=70,Nk=200,d=64,D=64,tokens=140,causal=1", /* Nk != N */
        "N=200,Nk=33,d=32,D=64,tokens=200");
    char *out = NULL;
    int rc = emu_check("mhsa", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    expect_all_ok("mhsa", 6);
    free(out);
}

Test(emu, halo_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = SHAPES("B=2,C=32,H=16,block=8,halo=3,heads=2,d=16",
                                       "B=1,C=32,H=8,W=16,block=4,halo=2,heads=4,d=16",
                                       "B=1,C=32,H=16,block=8,halo=4,heads=2,d=64",
                                       "B=1,C=16,H=12,W=8,block=4,halo=0,heads=2,d=32");
    char *out = NULL;
    int rc = emu_check("halo", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    expect_all_ok("halo", 4);
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
    const char *const *shapes = SHAPES("B=2,N=200,d=64,D=64,tokens=400,causal=1");
    char *out = NULL;
    int rc = emu_check("mhsa", shapes, variants, lib, &out);
    cr_expect_eq(rc, 1, "planted %s: exit %d, want 1:\n%s", name, rc, out);
    int fails = 0;
    for (const char *p = out; (p = strstr(p, " fail ")); p++) fails++;
    cr_expect_eq(fails, nfail, "planted %s: %d failing rows, want %d:\n%s", name, fails, nfail,
                 out);
    cr_expect(strstr(out, why), "planted %s: no '%s' in:\n%s", name, why, out);
    free(out);
    rc = emu_check("mhsa", shapes, variants, NULL, &out);
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
