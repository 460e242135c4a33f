/* Every GPU variant of the outlook suite, run through `attnbench --backend emu --check`: the
 * kernels as written, executed by the host emulator under three thread schedules, compared with
 * the reference (modelled on tests/test_emu.c's mhsa_all_variants). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "csv.h"

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
        const attn_variant_t *x = tst_variant(s, f[c_var]);
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

/* Shapes: odd sizes with ceil-mode edge cells (σ = 2, 3), partial 8×8 tiles, d < 32, d = 40
 * (two channel groups in fused), k = 7 (k² = 49: two logits per lane), k = 1 with σ = 2
 * (pixels no window covers: fold 0, y = bp), and k = 11 (tiled and fused skip it with their
 * supports() reason; naive and cublas run it). */
Test(emu, outlook_all_variants, .init = setup, .fini = teardown, .timeout = 900)
{
    const char *const *shapes = SHAPES("B=2,H=7,W=9,C=24,heads=3,k=3,stride=2",
                                       "B=1,H=10,C=32,heads=2,k=5,stride=1",
                                       "B=1,H=9,W=11,C=40,heads=1,k=3,stride=3",
                                       "B=1,H=6,C=16,heads=2,k=7,stride=2",
                                       "B=1,H=5,W=4,C=8,heads=2,k=1,stride=2",
                                       "B=1,H=4,W=5,C=8,heads=2,k=11,stride=1");
    char *out = NULL;
    int rc = emu_check("outlook", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    expect_all_ok("outlook", 6);
    free(out);
}
