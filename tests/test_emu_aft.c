/* Every GPU variant of the aft suite, run through `attnbench --backend emu --check`: the kernels
 * as written, executed by the host emulator, compared with the reference (model:
 * tests/test_emu.c, mhsa_all_variants). Shapes: every form; T and Dh not multiples of the
 * 32-wide tiles; Tmax > T; a window wider than T; K ≈ ±100 (kshift), which overflows any
 * unstabilised e^K in float. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "emu.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("emu_aft"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}


Test(emu_aft, aft_all_variants, .init = setup, .fini = teardown, .timeout = 600)
{
    const char *const shapes[] = {
        "B=2,T=100,D=48,form=0",            /* T, Dh not multiples of 32 */
        "B=2,T=100,D=48,Dh=40,form=1",
        "B=2,T=100,D=48,Dh=40,form=2,s=7",  /* band crosses tile edges */
        "B=1,T=70,D=32,form=0,kshift=100",  /* K ≈ 100 */
        "B=1,T=70,D=32,form=1,kshift=-100",
        "B=1,T=70,D=32,form=2,s=9,kshift=100",
        "B=1,T=33,Tmax=50,D=16,Dh=24,form=2,s=40", /* Tmax > T, window wider than T */
        "B=3,T=1,D=8,form=0",                      /* one token */
    };
    const int ncases = (int)(sizeof shapes / sizeof shapes[0]);
    char *csv = tst_path(dir, "emu.csv");
    const char *args[64] = {"--suite", "aft", "--backend", "emu", "--check", "--csv", csv};
    int na = 7;
    for (int i = 0; i < ncases; i++) args[na++] = "--shape", args[na++] = shapes[i];
    args[na] = NULL;
    unsetenv("ATTNBENCH_EMU_LIB");
    char *out = NULL;
    int rc = tst_run_bin(dir, args, &out);
    cr_expect_eq(rc, 0, "exit %d:\n%s", rc, out);

    /* Every GPU row: ok within its tolerance, or skip with exactly the supports() reason. */
    const attn_suite_t *s = tst_suite("aft");
    char why[256];
    cr_assert_eq(attn_emu_open(why, sizeof why), 0, "%s", why);
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
    int ok = 0;
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_assert(k > c_tol, "line %d malformed", i + 1);
        int64_t v[ATTN_MAX_AXES];
        for (int a = 0; a < s->naxes; a++) v[a] = atoll(f[tst_csv_col(h, s->axes[a].name)]);
        /* The emulated twin: its supports() exists even in a build without CUDA. */
        const attn_variant_t *x = attn_emu_variant("aft", f[c_var]);
        cr_assert_not_null(x, "variant %s not in the emulator", f[c_var]);
        cr_expect_str_eq(f[c_be], "emu");
        const char *unsupported = x->supports ? x->supports(v) : NULL;
        if (unsupported) {
            cr_expect_str_eq(f[c_st], "skip", "%s: %s", x->name, f[c_why]);
            cr_expect_str_eq(f[c_why], unsupported);
        } else {
            cr_expect_str_eq(f[c_st], "ok", "%s line %d: %s (%s)", x->name, i + 1, f[c_st],
                             f[c_why]);
            cr_expect(atof(f[c_err]) <= atof(f[c_tol]) && atof(f[c_tol]) > 0);
            ok++;
        }
        tst_csv_free(f, k);
    }
    /* naive, tiled: 8 each; local-efficient: 3 local shapes; cublas: 3 full shapes */
    cr_expect_eq(ok, 8 + 8 + 3 + 3, "%d ok rows", ok);
    tst_lines_free(L, nl);
    free(text), free(csv), free(out);
}
