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

Test(emu, shuffle_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = SHAPES(
        "B=2,C=32,G=4,H=7",        /* HW = 49: scalar loads */
        "B=1,C=64,G=8,H=56",       /* HW = 3136: float4, all 25 register slots */
        "B=1,C=8,G=1,H=4,W=6",     /* HW = 24: float4, G = 1 */
        "B=1,C=16,G=2,H=60,W=61",  /* HW = 3660 > 3200: the two-pass path */
        "B=3,C=6,G=3,H=1,W=1");    /* Cg = 1, one pixel: σ² = 0 */
    char *out = NULL;
    int rc = emu_check("shuffle", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    expect_all_ok("shuffle", 5);
    free(out);
}

Test(emu, sge_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = SHAPES(
        "B=2,C=16,G=4,H=7",        /* Cg = 4, HW = 49: slab in shared memory, cp.async */
        "B=1,C=12,G=4,H=5",        /* Cg·HW = 75: scalar staging and store */
        "B=2,C=8,G=2,H=1,W=1",     /* one pixel: std defined 0 */
        "B=1,C=32,G=2,H=30",       /* 57.6 KiB slab: shared memory above 48 KiB (opt-in) */
        "B=1,C=64,G=2,H=56");      /* 392 KiB slab: three reads from global memory */
    char *out = NULL;
    int rc = emu_check("sge", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    expect_all_ok("sge", 5);
    free(out);
}
