/* attnbench merge on constructed CSVs: an input with a malformed row (a row cut short) is refused
 * and nothing is written unless --skip-malformed, which merges the readable rows and counts the
 * skipped one; inputs with no rows at all are not a successful merge. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("merge"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}


#define HEADER "suite,variant,backend,dtype,N,status,median_ms\n"

static char *file(const char *name, const char *text)
{
    char *p = tst_path(dir, name);
    tst_write_file(p, text, strlen(text));
    return p;
}

/* The data lines of a file (after the header). */
static int rows_of(const char *path)
{
    char *t = tst_read_file(path, NULL), **l;
    int tail, n = t ? tst_lines(t, &l, &tail) : 0;
    if (t) tst_lines_free(l, n);
    free(t);
    return n ? n - 1 : 0;
}

Test(merge, a_truncated_row_fails_unless_skipped, .init = setup, .fini = teardown)
{
    char *good = file("good.csv", HEADER "mhsa,naive,cpu,f32,128,ok,1.5\n");
    /* the second row cut short by a crash: fewer fields than the header */
    char *cut = file("cut.csv", HEADER "mhsa,tiled,cpu,f32,128,ok,2.5\nmhsa,tiled,cpu,f32,256\n"
                                       "mhsa,fused,cpu,f32,128,ok,3.5\n");
    char *o = tst_path(dir, "out.csv"), *out;
    int rc = tst_subcommand(dir, "merge", (const char *[]){o, good, cut, NULL}, &out);
    cr_expect_eq(rc, 2, "a malformed row must not merge silently: exit %d\n%s", rc, out);
    cr_expect(strstr(out, cut) && strstr(out, "malformed") && strstr(out, "--skip-malformed"),
              "the message names neither the file nor the way out:\n%s", out);
    cr_expect(strstr(out, "line 3"), "the reader names the line:\n%s", out);
    cr_expect(!tst_exists(o), "the output was written anyway");
    free(out);
    rc = tst_subcommand(dir, "merge",
        (const char *[]){"--skip-malformed", o, good, cut, NULL}, &out);
    cr_expect_eq(rc, 0, "--skip-malformed: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "3 rows") && strstr(out, "1 malformed rows skipped"), "%s", out);
    cr_expect_eq(rows_of(o), 3, "the readable rows are merged");
    free(out);
    /* the option may come after the files too */
    char *o2 = tst_path(dir, "out2.csv");
    rc = tst_subcommand(dir, "merge", (const char *[]){o2, cut, "--skip-malformed", NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect_eq(rows_of(o2), 2);
    free(out);
    free(good), free(cut), free(o), free(o2);
}

Test(merge, nothing_to_merge_is_not_success, .init = setup, .fini = teardown)
{
    char *h1 = file("h1.csv", HEADER), *h2 = file("h2.csv", HEADER);
    char *empty = file("empty.csv", ""), *o = tst_path(dir, "out.csv"), *out;
    int rc = tst_subcommand(dir, "merge", (const char *[]){o, h1, h2, NULL}, &out);
    cr_expect_eq(rc, 2, "inputs with only a header: exit %d\n%s", rc, out);
    cr_expect(strstr(out, "no rows"), "%s", out);
    free(out);
    rc = tst_subcommand(dir, "merge", (const char *[]){o, empty, NULL}, &out);
    cr_expect_eq(rc, 2, "an empty input: exit %d\n%s", rc, out);
    cr_expect(strstr(out, empty), "%s", out);
    free(out);
    free(h1), free(h2), free(empty), free(o);
}
