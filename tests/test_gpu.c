/* The GPU variants, checked by the real binary at every suite's check shapes (the registry's
 * awkward cases: tile remainders, length 1, padding, borders), another seed and sampled
 * reference rows, plus the device path of the harness itself: a GPU output compared with the
 * wrong reference, or left unwritten (poisoned), must fail the check.
 * Without a usable CUDA device the whole program exits 77, which Meson reports as skipped. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "common.h"
#include "csv.h"
#include "device.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("gpu"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

/* ------------------------------------------------------------------ through the binary */

/* Runs `attnbench --suite SUITE --backend gpu --check` (plus extra) on the shapes (NULL: the
 * suite's check shapes), with a CSV;
 * requires exit 0, one row per GPU variant and case, every row ok with max_abs_err within its
 * tolerance — or skipped with exactly the reason the variant's supports() gives for the case. */
static void gpu_check(const char *suite, const char *const *shapes, const char *const *extra)
{
    const attn_suite_t *s = tst_suite(suite);
    char *csv = tst_path(dir, "gpu.csv");
    const char *args[64] = {"--suite", suite, "--backend", "gpu", "--check", "--csv", csv};
    int na = 7, ncases = 0;
    if (!shapes) { /* the suite's check shapes */
        args[na++] = "--check-shapes";
        while (s->check_shapes[ncases]) ncases++;
    }
    for (; shapes && shapes[ncases]; ncases++) args[na++] = "--shape", args[na++] = shapes[ncases];
    for (int i = 0; extra && extra[i]; i++) args[na++] = extra[i];
    args[na] = NULL;
    char *out = NULL;
    int rc = tst_run_bin(dir, args, &out);
    cr_expect_eq(rc, 0, "exit %d; output:\n%s", rc, out);

    char *text = tst_read_file(csv, NULL);
    cr_assert_not_null(text, "no CSV written; output:\n%s", out);
    attn_row_t h;
    attn_row_init(&h);
    attn_csv_header(s, &h);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    cr_assert(nl >= 1 && !tail && !strcmp(L[0], h.buf), "bad CSV header or last line");
    int ngpu = 0;
    for (int j = 0; j < s->nvariants; j++) ngpu += s->variants[j].backend == ATTN_GPU;
    cr_expect_eq(nl - 1, ngpu * ncases, "%d rows, want %d GPU variants × %d cases", nl - 1, ngpu,
                 ncases);
    const int c_var = tst_csv_col(h.buf, "variant"), c_st = tst_csv_col(h.buf, "status"),
              c_why = tst_csv_col(h.buf, "reason"), c_err = tst_csv_col(h.buf, "max_abs_err"),
              c_tol = tst_csv_col(h.buf, "tolerance_abs"),
              c_rows = tst_csv_col(h.buf, "rows_checked"), c_all = tst_csv_col(h.buf, "rows");
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_assert_eq(k, h.nfields, "line %d: %d fields", i + 1, k);
        /* the case of this row, from its axis columns */
        int64_t v[ATTN_MAX_AXES];
        char cs[256] = "";
        for (int a = 0; a < s->naxes; a++) {
            v[a] = atoll(f[tst_csv_col(h.buf, s->axes[a].name)]);
            snprintf(cs + strlen(cs), sizeof cs - strlen(cs), "%s%s=%lld", a ? "," : "",
                     s->axes[a].name, (long long)v[a]);
        }
        const attn_variant_t *x = tst_variant(s, f[c_var]);
        const char *unsupported = x->supports ? x->supports(s, x, v) : NULL;
        if (unsupported) {
            cr_expect_str_eq(f[c_st], "skip", "%s %s: status %s", x->name, cs, f[c_st]);
            cr_expect_str_eq(f[c_why], unsupported);
        } else {
            cr_expect_str_eq(f[c_st], "ok", "%s %s: %s (%s)", x->name, cs, f[c_st], f[c_why]);
            if (strcmp(f[c_st], "ok")) {
                tst_csv_free(f, k);
                continue;
            }
            const double err = atof(f[c_err]), tol = atof(f[c_tol]);
            cr_expect(f[c_err][0] && f[c_tol][0] && err <= tol && tol > 0,
                      "%s %s: max_abs_err '%s' vs tolerance_abs '%s'", x->name, cs, f[c_err],
                      f[c_tol]);
            const long long got = atoll(f[c_rows]), all = atoll(f[c_all]);
            cr_expect(got > 0 && got <= all, "%s %s: rows_checked '%s' of rows '%s'", x->name, cs,
                      f[c_rows], f[c_all]);
        }
        tst_csv_free(f, k);
    }
    cr_expect(!strstr(out, " fail "), "a row failed:\n%s", out);
    tst_lines_free(L, nl);
    attn_row_free(&h);
    free(text), free(out), free(csv);
}

#define SHAPES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Every suite at its check shapes (attn_suite_t.check_shapes, the cases the emulator runs in CI
 * and tools/gpu_session.sh runs on a lent GPU). */
ParameterizedTestParameters(gpu_binary, check_shapes)
{
    static int idx[64];
    int n = 0;
    while (attn_suites[n] && n < 64) idx[n] = n, n++;
    return cr_make_param_array(int, idx, (size_t)n);
}

ParameterizedTest(int *i, gpu_binary, check_shapes, .init = setup, .fini = teardown,
                  .timeout = 600)
{
    gpu_check(attn_suites[*i]->name, NULL, NULL);
}

Test(gpu_binary, other_seed, .init = setup, .fini = teardown, .timeout = 300)
{
    gpu_check("mhsa", SHAPES("N=1000,d=64,D=128,causal=1,kvpad=1,B=2,tokens=2000"),
              SHAPES("--seed", "12345"));
}

/* A case above --ref-gflop: the reference computes a sample of rows only. */
Test(gpu_binary, sampled_reference_rows, .init = setup, .fini = teardown, .timeout = 300)
{
    gpu_check("mhsa", SHAPES("N=4096,d=64,D=1024,tokens=8192,causal=1"), SHAPES("--ref-gflop", "0.5"));
}

/* A timed run: rows carry samples, a median, the device name and its sm. */
Test(gpu_binary, timed_rows_have_device_fields, .init = setup, .fini = teardown, .timeout = 300)
{
    char *csv = tst_path(dir, "t.csv");
    const char *args[] = {"--suite", "mhsa", "--backend", "gpu", "--shape", "N=256,d=64",
                          "--csv", csv, "--warmup", "1", "--min-samples", "3", "--max-time",
                          "0.1", NULL};
    char *out = NULL;
    int rc = tst_run_bin(dir, args, &out);
    cr_expect_eq(rc, 0, "%s", out);
    char *text = tst_read_file(csv, NULL);
    cr_assert_not_null(text);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    cr_assert(nl >= 2);
    const int c_st = tst_csv_col(L[0], "status"), c_n = tst_csv_col(L[0], "samples"),
              c_med = tst_csv_col(L[0], "median_ms"), c_dev = tst_csv_col(L[0], "device"),
              c_sm = tst_csv_col(L[0], "sm");
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_assert(k > 0);
        if (!strcmp(f[c_st], "ok")) {
            cr_expect(atoi(f[c_n]) >= 3 && atof(f[c_med]) > 0, "%s", L[i]);
            cr_expect(f[c_dev][0] && atoi(f[c_sm]) >= 70, "%s", L[i]);
        }
        tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    free(text), free(out), free(csv);
}

/* ------------------------------------------------------------------ the device path */

/* Run GPU variant `name` once through the device API on case `shape` (inputs from the suite's
 * generator, f32 variants only), returning the host copy of its output; with run = 0 the
 * poisoned output is fetched without running anything. */
static float *gpu_output(const char *name, const char *shape, int run, int64_t *numel)
{
    const attn_suite_t *s = tst_suite("mhsa");
    const attn_variant_t *x = tst_variant(s, name);
    cr_assert_eq(x->dtype, ATTN_F32);
    attn_device_t dev;
    cr_assert_eq(attn_gpu_open(&dev, 0), 0, "%s", dev.reason);
    int64_t *v = tst_case(s, shape);
    attn_layout_t L;
    s->layout(s, v, &L);
    void *in[ATTN_MAX_TENSORS], *d_in[ATTN_MAX_TENSORS], *d_out = NULL, *d_ws = NULL;
    char err[256];
    for (int i = 0; i < L.nin; i++) {
        const size_t nb = (size_t)attn_tensor_numel(&L.in[i]) * 4;
        in[i] = malloc(nb + 4);
        cr_assert_not_null(in[i]);
    }
    s->generate(s, v, 42, in);
    for (int i = 0; i < L.nin; i++) {
        const size_t nb = (size_t)attn_tensor_numel(&L.in[i]) * 4;
        cr_assert_eq(attn_gpu_malloc(&d_in[i], nb, err, sizeof err), 0, "%s", err);
        cr_assert_eq(attn_gpu_upload(d_in[i], in[i], nb, err, sizeof err), 0, "%s", err);
    }
    *numel = attn_tensor_numel(&L.out);
    const size_t osz = (size_t)*numel * 4, wsz = x->workspace ? x->workspace(s, x, v) : 0;
    cr_assert_eq(attn_gpu_malloc(&d_out, osz, err, sizeof err), 0, "%s", err);
    if (wsz) cr_assert_eq(attn_gpu_malloc(&d_ws, wsz, err, sizeof err), 0, "%s", err);
    cr_assert_eq(attn_gpu_poison(d_out, osz, err, sizeof err), 0, "%s", err);
    if (run)
        cr_assert_eq(attn_gpu_run_sync(s, x, v, (const void *const *)d_in, d_out, d_ws, err, sizeof err),
                     0, "%s", err);
    float *out = malloc(osz);
    cr_assert_not_null(out);
    cr_assert_eq(attn_gpu_download(out, d_out, osz, err, sizeof err), 0, "%s", err);
    for (int i = 0; i < L.nin; i++) attn_gpu_free(d_in[i]), free(in[i]);
    attn_gpu_free(d_out), attn_gpu_free(d_ws);
    attn_gpu_close();
    free(v);
    return out;
}

static double *reference_of(const char *shape)
{
    const attn_suite_t *s = tst_suite("mhsa");
    int64_t *v = tst_case(s, shape);
    attn_layout_t L;
    s->layout(s, v, &L);
    void *in[ATTN_MAX_TENSORS];
    for (int i = 0; i < L.nin; i++) in[i] = malloc((size_t)attn_tensor_numel(&L.in[i]) * 4 + 4);
    s->generate(s, v, 42, in);
    double *ref = malloc((size_t)attn_tensor_numel(&L.out) * sizeof *ref);
    cr_assert_not_null(ref);
    s->reference(s, v, (const void *const *)in, ref, NULL);
    for (int i = 0; i < L.nin; i++) free(in[i]);
    free(v);
    return ref;
}

/* The naive and tiled outputs of a causal case pass against the causal reference and fail
 * against the non-causal one (a kernel that ignored the mask would be caught); the last key
 * dropped (via a kv_len reference) is caught too. */
Test(gpu_device, wrong_reference_rejected, .timeout = 120)
{
    const char *causal = "N=200,d=64,D=128,tokens=400,causal=1";
    const char *plain = "N=200,d=64,D=128,tokens=400";
    const attn_suite_t *s = tst_suite("mhsa");
    int64_t *v = tst_case(s, causal);
    const double tol = s->tolerance(s, v, ATTN_F32);
    double *ref_c = reference_of(causal), *ref_p = reference_of(plain);
    const char *const names[] = {"naive", "tiled"};
    for (int k = 0; k < 2; k++) {
        int64_t n;
        float *out = gpu_output(names[k], causal, 1, &n);
        attn_check_t good = attn_compare(out, ATTN_F32, ref_c, n, 64, NULL, tol);
        cr_expect(good.ok, "%s vs its reference: err %g tol %g", names[k], good.max_abs_err,
                  good.tol_abs);
        attn_check_t bad = attn_compare(out, ATTN_F32, ref_p, n, 64, NULL, tol);
        cr_expect(!bad.ok, "%s causal output passed against the non-causal reference", names[k]);
        free(out);
    }
    free(ref_c), free(ref_p), free(v);
}

/* An output the kernel never wrote keeps the device poison (0xFF bytes, NaN) and fails. */
Test(gpu_device, unwritten_output_rejected, .timeout = 120)
{
    const char *shape = "N=64,d=64,D=64,tokens=64";
    int64_t n;
    float *out = gpu_output("naive", shape, 0, &n);
    double *ref = reference_of(shape);
    attn_check_t c = attn_compare(out, ATTN_F32, ref, n, 64, NULL, INFINITY);
    cr_expect(!c.ok && c.nonfinite == n, "poisoned output: ok %d, %lld of %lld non-finite", c.ok,
              (long long)c.nonfinite, (long long)n);
    free(out), free(ref);
}

/* ------------------------------------------------------------------ main: skip without a GPU */

int main(int argc, char *argv[])
{
    char reason[300];
    if (!tst_gpu_probe(reason, sizeof reason)) {
        printf("skipping the GPU tests: %s\n", reason);
        return 77;
    }
    printf("GPU tests on %s\n", reason);
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;
    if (criterion_handle_args(argc, argv, true)) result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}
