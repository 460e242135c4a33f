/* The conformance test: every suite and every variant, so a new suite is checked the day it is
 * listed. The registry as data (axes, grids and defaults that build, layouts, tolerances,
 * variant rows, a deterministic generator, a reference whose rows are independent: row_sel
 * computes the same values for a row whatever else is selected, and touches nothing else);
 * then, at every check shape of the suite (attn_suite_t.check_shapes), the CPU variants against
 * the reference and every GPU variant under the host emulator (every schedule,
 * bit-identical, within tolerance), through the real `attnbench --check --check-shapes`. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"
#include "emu.h"

#define FOR_EACH_SUITE(s) \
    for (int si_ = 0; attn_suites[si_]; si_++) \
        for (const attn_suite_t *s = attn_suites[si_]; s; s = NULL)

Test(registry, suites_and_axes)
{
    int n = 0;
    FOR_EACH_SUITE(s) {
        n++;
        cr_assert(s->name && *s->name && s->title && s->derive && s->layout && s->generate &&
                  s->reference && s->flops && s->bytes && s->tolerance,
                  "suite %d has a missing field", n);
        for (int j = 0; attn_suites[j] != s; j++)
            cr_expect(strcmp(attn_suites[j]->name, s->name), "suite name %s twice", s->name);
        cr_assert(s->naxes > 0 && s->naxes <= ATTN_MAX_AXES, "%s: %d axes", s->name, s->naxes);
        for (int i = 0; i < s->naxes; i++) {
            const attn_axis_t *a = &s->axes[i];
            cr_expect(a->name && *a->name && strlen(a->name) < 32, "%s: axis %d name", s->name, i);
            cr_expect_eq(attn_axis_index(s, a->name), i, "%s: axis %s twice", s->name, a->name);
            cr_expect(a->min <= a->max, "%s.%s: empty range", s->name, a->name);
            if (a->def != ATTN_UNSET)
                cr_expect(a->def >= a->min && a->def <= a->max, "%s.%s: default %lld out of range",
                          s->name, a->name, (long long)a->def);
            for (int k = 0; k < a->nsweep; k++)
                cr_expect(a->sweep[k] >= a->min && a->sweep[k] <= a->max, "%s.%s: sweep value",
                          s->name, a->name);
            for (int k = 0; k < a->nsweep_cpu; k++)
                cr_expect(a->sweep_cpu[k] >= a->min && a->sweep_cpu[k] <= a->max,
                          "%s.%s: cpu sweep value", s->name, a->name);
        }
        if (s->plot_axis) cr_expect_geq(attn_axis_index(s, s->plot_axis), 0, "%s: plot_axis", s->name);
    }
    cr_expect(n > 0, "no suites");
}

/* The default case, and both sweep grids, build; every value is set and in range. */
Test(registry, default_and_sweep_cases_build)
{
    FOR_EACH_SUITE(s) {
        for (int mode = 0; mode < 3; mode++) {
            attn_opts_t o;
            attn_opts_init(&o);
            o.sweep = mode > 0;
            char err[512] = "";
            int64_t *c = NULL;
            int n = attn_build_cases(s, &o, mode == 2, &c, err, sizeof err);
            cr_expect(n >= 1, "%s %s: %d cases (%s)", s->name,
                      mode == 0 ? "default" : mode == 1 ? "GPU sweep" : "CPU sweep", n, err);
            for (int k = 0; k < n; k++)
                for (int i = 0; i < s->naxes; i++) {
                    const int64_t x = c[(size_t)k * s->naxes + i];
                    cr_expect(x >= s->axes[i].min && x <= s->axes[i].max, "%s case %d: %s=%lld",
                              s->name, k, s->axes[i].name, (long long)x);
                }
            free(c);
        }
    }
}

/* Variant rows: unique names, a way to run (or a reason not to), GPU rows name their kernel file
 * and a tensor-core rule, CPU rows none; the tolerance of every dtype in use is sane. */
Test(registry, variant_rows)
{
    FOR_EACH_SUITE(s) {
        cr_assert(s->nvariants > 0 && s->variants, "%s: no variants", s->name);
        attn_opts_t o;
        attn_opts_init(&o);
        char err[256];
        int64_t *c = NULL;
        cr_assert_eq(attn_build_cases(s, &o, 0, &c, err, sizeof err), 1, "%s", err);
        for (int j = 0; j < s->nvariants; j++) {
            const attn_variant_t *x = &s->variants[j];
            cr_expect(x->name && *x->name && x->about, "%s: variant %d", s->name, j);
            for (int k = 0; k < j; k++)
                cr_expect(strcmp(s->variants[k].name, x->name), "%s: variant %s twice", s->name, x->name);
            cr_expect(x->run || x->available, "%s/%s: neither run nor a reason", s->name, x->name);
            cr_expect(x->kernel_file && *x->kernel_file, "%s/%s: no kernel_file", s->name, x->name);
            if (x->backend == ATTN_GPU) {
                cr_expect(x->tensor_cores >= -1 && x->tensor_cores <= 1, "%s/%s", s->name, x->name);
                cr_expect(x->dtype != ATTN_F64, "%s/%s: f64 GPU variants are not supported",
                          s->name, x->name);
                if (x->run) cr_expect(x->error_string != NULL, "%s/%s: no error_string", s->name, x->name);
            } else {
                cr_expect_eq(x->tensor_cores, -1, "%s/%s: a CPU variant with a SASS rule", s->name, x->name);
            }
            const double t = s->tolerance(s, c, x->dtype);
            cr_expect(t > 0 && t < 0.1 && isfinite(t), "%s/%s: tolerance %g", s->name, x->name, t);
        }
        free(c);
    }
}

/* Layout, generator and reference of the default case: sizes agree, the same seed gives the
 * same inputs, and row_sel computes rows independently and leaves unselected rows untouched. */
Test(registry, layout_generator_reference_rows, .timeout = 60)
{
    FOR_EACH_SUITE(s) {
        attn_opts_t o;
        attn_opts_init(&o);
        char err[256];
        int64_t *v = NULL;
        cr_assert_eq(attn_build_cases(s, &o, 1, &v, err, sizeof err), 1, "%s", err);
        attn_layout_t L;
        s->layout(s, v, &L);
        cr_assert(L.nin >= 1 && L.nin <= ATTN_MAX_TENSORS, "%s: %d inputs", s->name, L.nin);
        const int64_t no = attn_tensor_numel(&L.out);
        cr_assert(no > 0 && L.out_rows > 0 && L.out_rows <= no, "%s: %lld outputs in %lld rows",
                  s->name, (long long)no, (long long)L.out_rows);
        if (!s->row_of) cr_expect_eq(no % L.out_rows, 0, "%s: rows of unequal length", s->name);
        cr_expect(s->flops(s, v) > 0 && s->bytes(s, v, 4) > 0, "%s: flops/bytes", s->name);

        void *a[ATTN_MAX_TENSORS], *b[ATTN_MAX_TENSORS];
        for (int i = 0; i < L.nin; i++) {
            const size_t nb = (size_t)attn_tensor_numel(&L.in[i]) * 4 + 4;
            a[i] = calloc(nb, 1), b[i] = calloc(nb, 1);
            cr_assert(a[i] && b[i], "%s: input %s too large", s->name, L.in[i].name);
        }
        s->generate(s, v, 5, a);
        s->generate(s, v, 5, b);
        for (int i = 0; i < L.nin; i++)
            cr_expect(!memcmp(a[i], b[i], (size_t)attn_tensor_numel(&L.in[i]) * 4),
                      "%s: input %s is not deterministic", s->name, L.in[i].name);

        /* rows {0, last} and {0, middle, last}: rows 0 and last identical, the rest untouched */
        const int64_t R = L.out_rows, mid = R / 2;
        uint8_t *sel = calloc((size_t)R, 1);
        /* room for every output (attn_layout_t); rows are checked on output 0 */
        const int64_t nall = (int64_t)(attn_out_bytes(&L, sizeof(double)) / sizeof(double));
        double *o1 = malloc((size_t)nall * sizeof *o1), *o2 = malloc((size_t)nall * sizeof *o2);
        cr_assert(sel && o1 && o2);
        for (int64_t e = 0; e < nall; e++) o1[e] = o2[e] = NAN;
        sel[0] = sel[R - 1] = 1;
        s->reference(s, v, (const void *const *)a, o1, sel);
        sel[mid] = 1;
        s->reference(s, v, (const void *const *)a, o2, sel);
        const int64_t row_len = no / R;
        for (int64_t e = 0; e < no; e++) {
            const int64_t r = s->row_of ? s->row_of(s, v, e) : e / row_len;
            if (r == 0 || r == R - 1) {
                cr_assert(isfinite(o1[e]) && o1[e] == o2[e], "%s: row %lld element %lld: %g vs %g",
                          s->name, (long long)r, (long long)e, o1[e], o2[e]);
            } else if (r == mid) {
                cr_assert(isfinite(o2[e]), "%s: selected row %lld not computed", s->name, (long long)r);
                cr_assert(isnan(o1[e]), "%s: unselected row %lld written", s->name, (long long)r);
            } else {
                cr_assert(isnan(o1[e]) && isnan(o2[e]), "%s: unselected row %lld written", s->name,
                          (long long)r);
            }
        }
        for (int i = 0; i < L.nin; i++) free(a[i]), free(b[i]);
        free(sel), free(o1), free(o2), free(v);
    }
}

/* Every suite declares check shapes, and each is a valid case of the suite. */
Test(registry, check_shapes_build)
{
    FOR_EACH_SUITE(s) {
        int n = 0;
        while (s->check_shapes && s->check_shapes[n]) n++;
        cr_expect(n > 0, "%s: no check shapes", s->name);
        attn_opts_t o;
        attn_opts_init(&o);
        o.check_shapes = 1;
        char err[512] = "";
        int64_t *c = NULL;
        cr_expect_eq(attn_build_cases(s, &o, 0, &c, err, sizeof err), n, "%s: %s", s->name, err);
        free(c);
    }
}

/* The parts the emulated runs are cut in name every GPU variant exactly once, in a regex that
 * matches its name alone. */
Test(registry, parts_cover_every_gpu_variant)
{
    tst_part_t parts[128];
    const size_t np = tst_suite_parts(parts, 128);
    cr_assert(np < 128, "more parts than the tests' arrays hold");
    for (int i = 0; attn_suites[i]; i++) {
        const attn_suite_t *s = attn_suites[i];
        for (int j = 0; j < s->nvariants; j++) {
            if (s->variants[j].backend != ATTN_GPU) continue;
            char want[96];
            int seen = 0;
            for (size_t k = 0; k < np; k++) {
                if (parts[k].suite != i) continue;
                char re[1024];
                tst_part_variants(&parts[k], re, sizeof re);
                for (const char *sep = "(|"; *sep; sep++)
                    for (const char *end = "|)"; *end; end++) {
                        snprintf(want, sizeof want, "%c%s%c", *sep, s->variants[j].name, *end);
                        seen += strstr(re, want) != NULL;
                    }
            }
            cr_expect_eq(seen, 1, "%s %s: in %d parts' variant lists", s->name,
                         s->variants[j].name, seen);
        }
    }
}

ParameterizedTestParameters(conformance, check_shapes)
{
    static tst_part_t parts[128];
    return cr_make_param_array(tst_part_t, parts, tst_suite_parts(parts, 128));
}

/* The suite's CPU variants at every check shape: every row ok (none skipped, none failed). */
static void cpu_rows_ok(const char *dir, const attn_suite_t *s, int ncases)
{
    char *csv = tst_path(dir, "cpu.csv");
    const char *args[] = {"--suite", s->name, "--backend", "cpu", "--check", "--check-shapes",
                          "--csv", csv, NULL};
    char *out = NULL;
    const int rc = tst_run_bin(dir, args, &out);
    cr_expect_eq(rc, 0, "%s: exit %d:\n%s", s->name, rc, out);
    free(out);
    char *text = tst_read_file(csv, NULL);
    cr_assert_not_null(text, "%s: no CSV", s->name);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    int ncpu = 0;
    for (int j = 0; j < s->nvariants; j++) ncpu += s->variants[j].backend == ATTN_CPU;
    cr_expect_eq(nl - 1, ncpu * ncases, "%s: %d rows, want %d", s->name, nl - 1, ncpu * ncases);
    const int c_st = tst_csv_col(L[0], "status"), c_var = tst_csv_col(L[0], "variant");
    for (int i = 1; i < nl; i++) {
        char *f[64];
        const int k = tst_csv_split(L[i], f, 64);
        cr_assert(k > c_st && k > c_var, "%s: line %d malformed", s->name, i + 1);
        cr_expect_str_eq(f[c_st], "ok", "%s %s: line %d", s->name, f[c_var], i + 1);
        tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    free(text);
    free(csv);
}

/* One part of a suite (tst_suite_parts): its CPU rows (part 0), then its part of the GPU
 * variants under the emulator. */
ParameterizedTest(tst_part_t *pt, conformance, check_shapes, .timeout = 900)
{
    const attn_suite_t *s = attn_suites[pt->suite];
    int n = 0;
    while (s->check_shapes && s->check_shapes[n]) n++;
    cr_assert(n > 0, "%s: no check shapes", s->name);
    char *dir = tst_tmpdir("conformance");
    if (pt->part == 0) cpu_rows_ok(dir, s, n);
    char why[256], re[1024];
    const int nv = tst_part_variants(pt, re, sizeof re);
    if (nv == 0) {
        /* a suite without GPU variants: its CPU rows were all */
    } else if (attn_emu_open(why, sizeof why) == 0) {
        char *out = NULL;
        const int rc = tst_emu_run(dir, s->name, NULL, re, NULL, &out);
        cr_expect_eq(rc, 0, "%s %s: exit %d:\n%s", s->name, re, rc, out);
        free(out);
        tst_emu_expect_all_ok(dir, s->name, n, nv);
    } else {
        cr_log_warn("%s: GPU variants not emulated: %s", s->name, why);
    }
    tst_rmtree(dir);
    free(dir);
}
