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
#include "csv.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu-luong"); }
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

Test(emu_luong, luong_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = SHAPES(
        "B=2,T=37,S=45,Dq=40,score=0",                /* dot: no multiple of 16 */
        "B=3,T=1,S=1,Dq=8,score=0",                   /* one query, one key */
        "B=2,T=20,S=70,Dq=48,Dk=33,score=1",          /* general, Dq != Dk */
        "B=1,T=17,S=33,Dq=72,Dk=520,score=1",         /* Dk > 512: fused skips */
        "B=1,T=16,S=20,Dq=512,score=0",               /* fused's largest shared-memory use */
        "B=2,T=23,S=50,Dq=30,Dk=20,A=17,score=2");    /* concat */
    char *out = NULL;
    int rc = emu_check("luong", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    expect_all_ok("luong", 6);
    free(out);
}

Test(emu_luong, additive_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const *shapes = SHAPES("B=2,T=33,S=50,Dq=64,Dk=48,A=40",
                                       "B=1,T=16,S=16,Dq=512,A=256",
                                       "B=2,T=1,S=19,Dq=24,A=8");
    char *out = NULL;
    int rc = emu_check("additive", shapes, NULL, NULL, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    expect_all_ok("additive", 3);
    free(out);
}
