/* Every aaconv GPU variant through `attnbench --backend emu --check` (the kernels as written, run
 * by the host emulator under three thread schedules, compared with the reference): every row ok,
 * or skipped with exactly the variant's supports() reason. Modelled on tests/test_emu.c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    };
    const int ncases = (int)(sizeof shapes / sizeof *shapes);
    char *csv = tst_path(dir, "emu.csv");
    const char *args[32] = {"--suite", "aaconv", "--backend", "emu", "--check", "--csv", csv};
    int na = 7;
    for (int i = 0; i < ncases; i++) args[na++] = "--shape", args[na++] = shapes[i];
    args[na] = NULL;
    unsetenv("ATTNBENCH_EMU_LIB");
    char *out = NULL;
    int rc = tst_run_bin(dir, args, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);
    free(out);

    const attn_suite_t *s = tst_suite("aaconv");
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
              c_err = tst_csv_col(h, "max_abs_err"), c_tol = tst_csv_col(h, "tolerance");
    int skipped = 0;
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_assert(k > c_tol, "line %d malformed", i + 1);
        int64_t v[ATTN_MAX_AXES];
        for (int a = 0; a < s->naxes; a++) v[a] = atoll(f[tst_csv_col(h, s->axes[a].name)]);
        const attn_variant_t *x = tst_variant(s, f[c_var]);
        cr_expect_str_eq(f[c_be], "emu");
        const char *unsupported = x->supports ? x->supports(v) : NULL;
        if (unsupported) {
            cr_expect_str_eq(f[c_st], "skip", "%s: %s", x->name, f[c_why]);
            cr_expect_str_eq(f[c_why], unsupported);
            skipped++;
        } else {
            cr_expect_str_eq(f[c_st], "ok", "%s line %d: %s (%s)", x->name, i + 1, f[c_st],
                             f[c_why]);
            cr_expect(atof(f[c_err]) <= atof(f[c_tol]) && atof(f[c_tol]) > 0);
        }
        tst_csv_free(f, k);
    }
    /* fused and tensor-core skip dkh = 20 (case 4) and dkh = 40 (case 6); tiled dkh = 40 */
    cr_expect_eq(skipped, 5, "%d rows skipped, want 5", skipped);
    tst_lines_free(L, nl);
    free(text), free(csv);
}
