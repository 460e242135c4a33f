/* The emsa GPU variants under the host emulator: `attnbench --backend emu --check --suite emsa`
 * on shapes with and without the spatial reduction, one and several heads, sizes that are no
 * multiple of any tile; every GPU row must be ok, or skipped with its supports() reason
 * (modelled on tests/test_emu.c, mhsa_all_variants). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    const int ncases = 5;
    char *csv = tst_path(dir, "emu.csv");
    const char *args[64] = {"--suite", "emsa", "--backend", "emu", "--check", "--csv", csv};
    int na = 7;
    for (int i = 0; shapes[i]; i++) args[na++] = "--shape", args[na++] = shapes[i];
    args[na] = NULL;
    char *out = NULL;
    int rc = tst_run_bin(dir, args, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);

    const attn_suite_t *s = tst_suite("emsa");
    char *text = tst_read_file(csv, NULL);
    cr_assert_not_null(text, "no CSV:\n%s", out);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    int ngpu = 0;
    for (int j = 0; j < s->nvariants; j++) ngpu += s->variants[j].backend == ATTN_GPU;
    cr_expect_eq(nl - 1, ngpu * ncases, "%d rows, want %d", nl - 1, ngpu * ncases);
    const char *h = L[0];
    const int c_var = tst_csv_col(h, "variant"), c_st = tst_csv_col(h, "status"),
              c_why = tst_csv_col(h, "reason"), c_be = tst_csv_col(h, "backend"),
              c_err = tst_csv_col(h, "max_abs_err"), c_tol = tst_csv_col(h, "tolerance");
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
        } else {
            cr_expect_str_eq(f[c_st], "ok", "%s line %d: %s (%s)", x->name, i + 1, f[c_st],
                             f[c_why]);
            cr_expect(atof(f[c_err]) <= atof(f[c_tol]) && atof(f[c_tol]) > 0);
        }
        tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    free(text), free(csv), free(out);
}
