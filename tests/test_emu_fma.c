/* Every GPU variant of every suite, at its check shapes, under the emulator module whose kernels
 * are compiled with FMA contraction as nvcc compiles them ($ATTNBENCH_EMU_FMA): with the
 * GPU-math schedule (the GPU's exponentials) among its schedules, this is the nvcc-like
 * rounding of both, and every row must still pass within its tolerance. That the module does
 * round differently is shown on mhsa's naive variant: its errors differ from the plain
 * module's (where the host compiler can contract, $ATTNBENCH_EMU_FMA_CONTRACTS = 1). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "registry.h"

ParameterizedTestParameters(emu_fma, check_shapes)
{
    static tst_part_t parts[128];
    return cr_make_param_array(tst_part_t, parts, tst_suite_parts(parts, 128));
}

/* The max_abs_err column of the CSV the last run wrote, of variant's rows, joined. */
static char *errors(const char *dir, const char *variant)
{
    char *csv = tst_path(dir, "emu.csv");
    char *text = tst_read_file(csv, NULL);
    cr_assert_not_null(text, "no CSV %s", csv);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    const int c_err = tst_csv_col(L[0], "max_abs_err"), c_var = tst_csv_col(L[0], "variant");
    size_t cap = 64 * (size_t)nl + 1, len = 0;
    char *all = calloc(cap, 1);
    for (int i = 1; i < nl; i++) {
        char *f[64];
        const int k = tst_csv_split(L[i], f, 64);
        if (k > c_err && k > c_var && !strcmp(f[c_var], variant)) len += (size_t)snprintf(all + len, cap - len, "%.60s;", f[c_err]);
        tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    free(text);
    free(csv);
    return all;
}

/* One part of a suite's GPU variants (tst_suite_parts). */
ParameterizedTest(tst_part_t *pt, emu_fma, check_shapes, .timeout = 900)
{
    const attn_suite_t *s = attn_suites[pt->suite];
    const char *lib = getenv("ATTNBENCH_EMU_FMA");
    cr_assert(lib && tst_exists(lib), "$ATTNBENCH_EMU_FMA names no module");
    char re[1024];
    const int nv = tst_part_variants(pt, re, sizeof re);
    if (nv == 0) return; /* no GPU variant */
    int n = 0;
    while (s->check_shapes && s->check_shapes[n]) n++;
    char *dir = tst_tmpdir("emu_fma");
    char *out = NULL;
    int rc = tst_emu_run(dir, s->name, NULL, re, lib, &out);
    cr_expect_eq(rc, 0, "%s %s: exit %d:\n%s", s->name, re, rc, out);
    free(out);
    tst_emu_expect_all_ok(dir, s->name, n, nv);
    const char *contracts = getenv("ATTNBENCH_EMU_FMA_CONTRACTS");
    if (!strcmp(s->name, "mhsa") && pt->part == 0 && contracts && !strcmp(contracts, "1")) {
        char *fma = errors(dir, "naive");
        rc = tst_emu_run(dir, s->name, NULL, "^naive$", NULL, &out);
        cr_expect_eq(rc, 0, "%s, plain module: exit %d:\n%s", s->name, rc, out);
        free(out);
        char *plain = errors(dir, "naive");
        cr_expect(*fma && strcmp(fma, plain), "mhsa naive: the same errors with and without "
                  "FMA contraction (%s): is the module contracted?", fma);
        free(fma);
        free(plain);
    }
    tst_rmtree(dir);
    free(dir);
}
