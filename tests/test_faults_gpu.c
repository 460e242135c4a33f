/* A GPU variant that writes to an illegal address (tests/planted_gpu.cu, in attnbench-test): in
 * an isolated run it is recorded as failed with the CUDA error, and the GPU variant after it runs
 * in a fresh process with a fresh context and passes; in process, the context stays lost and the
 * GPU variants after it are skipped with that reason. A variant asking for a 1 PiB workspace is
 * skipped for device memory before anything is allocated.
 * Without a usable CUDA device the whole program exits 77, which Meson reports as skipped. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("faults-gpu"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

/* Rows of the CSV at path as "variant status reason" lines, in order, into buf. */
static int summary(const char *path, char *buf, size_t n)
{
    char *text = tst_read_file(path, NULL);
    cr_assert_not_null(text, "%s was not written", path);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    cr_assert(nl >= 1 && !tail);
    const int cv = tst_csv_col(L[0], "variant"), cs = tst_csv_col(L[0], "status"),
              cr = tst_csv_col(L[0], "reason");
    buf[0] = 0;
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_assert_gt(k, cr);
        snprintf(buf + strlen(buf), n - strlen(buf), "%s %s %s\n", f[cv], f[cs], f[cr]);
        tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    free(text);
    return nl - 1;
}

Test(gpu_faults, isolated_fault_does_not_poison_the_next_variant, .init = setup, .fini = teardown,
     .timeout = 240)
{
    char *csv = tst_path(dir, "g.csv"), *out = NULL, rows[4096];
    int rc = tst_run(tst_bin("ATTNBENCH_TEST_BIN"), dir,
                     (const char *[]){"--isolate", "--variant", "gpu-|after", "--shape", "n=2",
                                      "--csv", csv, "--min-samples", "3", NULL},
                     &out);
    cr_expect_eq(rc, 1, "exit %d; output:\n%s", rc, out);
    cr_assert_eq(summary(csv, rows, sizeof rows), 4, "%s", rows);
    char **L;
    int tail, n = tst_lines(rows, &L, &tail);
    cr_expect(!strncmp(L[0], "gpu-fault fail ", 15) && strstr(L[0], "illegal"), "%s", L[0]);
    cr_expect(!strncmp(L[1], "gpu-ok ok", 9), "the variant after the fault: %s\n%s", L[1], out);
    cr_expect(!strncmp(L[2], "gpu-huge skip needs ", 20) && strstr(L[2], "of device memory"),
              "a 1 PiB workspace: %s", L[2]);
    cr_expect(!strncmp(L[3], "after ok", 8), "%s", L[3]);
    tst_lines_free(L, n);
    free(out), free(csv);
}

Test(gpu_faults, in_process_fault_skips_later_gpu_variants, .init = setup, .fini = teardown,
     .timeout = 240)
{
    char *csv = tst_path(dir, "g.csv"), *out = NULL, rows[4096];
    int rc = tst_run(tst_bin("ATTNBENCH_TEST_BIN"), dir,
                     (const char *[]){"--no-isolate", "--variant", "gpu-fault|gpu-ok|after",
                                      "--shape", "n=2", "--csv", csv, "--min-samples", "3", NULL},
                     &out);
    cr_expect_eq(rc, 1, "exit %d; output:\n%s", rc, out);
    cr_assert_eq(summary(csv, rows, sizeof rows), 3, "%s", rows);
    char **L;
    int tail, n = tst_lines(rows, &L, &tail);
    cr_expect(!strncmp(L[0], "gpu-fault fail ", 15), "%s", L[0]);
    cr_expect(!strncmp(L[1], "gpu-ok skip device unusable", 27), "%s", L[1]);
    cr_expect(!strncmp(L[2], "after ok", 8), "%s", L[2]);
    tst_lines_free(L, n);
    free(out), free(csv);
}

int main(int argc, char *argv[])
{
    char reason[300];
    if (!tst_gpu_probe(reason, sizeof reason)) {
        printf("skipping the GPU fault tests: %s\n", reason);
        return 77;
    }
    printf("GPU fault tests on %s\n", reason);
    struct criterion_test_set *tests = criterion_initialize();
    int result = 0;
    if (criterion_handle_args(argc, argv, true)) result = !criterion_run_all_tests(tests);
    criterion_finalize(tests);
    return result;
}
