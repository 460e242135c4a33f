/* --shard I/N and attnbench merge: the option's parsing; shards 0..N-1 of a sweep are disjoint and
 * together hold exactly the unsharded sweep's rows (by suite, variant, backend, dtype and axes);
 * merging their CSVs gives that same set, again and again (duplicates dropped); merge refuses an
 * input with another header, naming the file and the column, and an output that is an input. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "common.h"

/* ------------------------------------------------------------------ parsing */

static int parse(const char *shard, attn_opts_t *o, char *err, size_t n)
{
    const char *argv[] = {"attnbench", "--shard", shard, NULL};
    attn_opts_init(o);
    err[0] = 0;
    return attn_parse_args(3, (char **)argv, o, err, n);
}

Test(shard, parse_good_and_bad)
{
    attn_opts_t o;
    char err[512];
    attn_opts_init(&o);
    cr_expect(o.shard_i == 0 && o.shard_n == 1, "default: all cases");
    cr_expect_eq(parse("0/1", &o, err, sizeof err), 0, "%s", err);
    cr_expect_eq(parse("2/3", &o, err, sizeof err), 0, "%s", err);
    cr_expect(o.shard_i == 2 && o.shard_n == 3);
    cr_expect_eq(parse("999/1000", &o, err, sizeof err), 0, "%s", err);
    const char *bad[] = {"3/3", "1/0", "0/0", "-1/2", "a/b", "1", "1/", "/2", "1/2/3", "1/2x",
                         " 1/2", "1 /2", "0/1000001", "99999999999999999999/2", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        cr_expect_eq(parse(bad[i], &o, err, sizeof err), -1, "--shard '%s' accepted", bad[i]);
        char want[64];
        snprintf(want, sizeof want, "'%s'", bad[i]);
        cr_expect(strstr(err, want) && strstr(err, "SLURM_ARRAY_TASK_ID"),
                  "message for '%s': %s", bad[i], err);
    }
}

Test(shard, every_index_in_exactly_one_shard)
{
    attn_opts_t o;
    attn_opts_init(&o);
    for (int n = 1; n <= 7; n++)
        for (long g = 0; g < 50; g++) {
            int hits = 0;
            for (int i = 0; i < n; i++) {
                o.shard_i = i, o.shard_n = n;
                hits += attn_in_shard(&o, g);
            }
            cr_expect_eq(hits, 1, "case %ld is in %d of %d shards", g, hits, n);
        }
}

/* ------------------------------------------------------------------ through the binary */

static char *dir;
static void setup(void) { dir = tst_tmpdir("shard"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

/* The keys (suite..axes, i.e. the fields before "status") of the rows of a CSV, sorted, one
 * per line, into a malloc'd string; *n gets the row count. The file must be whole. */
static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }
static char *keys_of(const char *path, int *n)
{
    char *text = tst_read_file(path, NULL);
    cr_assert_not_null(text, "%s was not written", path);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    cr_assert(nl >= 1 && !tail, "%s: empty or cut off", path);
    const int cs = tst_csv_col(L[0], "status");
    cr_assert_gt(cs, 0);
    char **k = calloc((size_t)nl, sizeof *k);
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int nf = tst_csv_split(L[i], f, 64);
        cr_assert_gt(nf, cs, "%s line %d", path, i + 1);
        char buf[1024] = "";
        for (int c = 0; c < cs; c++) snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s,", f[c]);
        k[i - 1] = strdup(buf);
        tst_csv_free(f, nf);
    }
    *n = nl - 1;
    qsort(k, (size_t)*n, sizeof *k, cmp_str);
    size_t len = 1;
    for (int i = 0; i < *n; i++) len += strlen(k[i]) + 1;
    char *all = calloc(len, 1);
    for (int i = 0; i < *n; i++) {
        strcat(all, k[i]);
        strcat(all, "\n");
        free(k[i]);
    }
    free(k);
    tst_lines_free(L, nl);
    free(text);
    return all;
}

#define SWEEP "--suite", "mhsa", "--sweep", "--backend", "cpu", "--check", "--axis", "N=64,128", \
              "--axis", "d=16,32"

static void run_ok(const char *const *args)
{
    char *out = NULL;
    int rc = tst_run(tst_bin("ATTNBENCH_BIN"), dir, args, &out);
    cr_assert_eq(rc, 0, "exit %d:\n%s", rc, out);
    free(out);
}


Test(binary, shards_partition_the_sweep_and_merge_back, .init = setup, .fini = teardown,
     .timeout = 100)
{
    enum { N = 3 };
    char *all = tst_path(dir, "all.csv"), *part[N], *merged = tst_path(dir, "merged.csv");
    run_ok((const char *[]){SWEEP, "--csv", all, NULL});
    int nall;
    char *kall = keys_of(all, &nall);
    cr_assert_eq(nall, 8 * 2, "the unsharded sweep: %d rows (8 cases, 2 CPU variants)", nall);

    char *keys[N];
    int total = 0;
    for (int i = 0; i < N; i++) {
        char name[32], shard[16];
        snprintf(name, sizeof name, "shard-%d.csv", i);
        snprintf(shard, sizeof shard, "%d/%d", i, N);
        part[i] = tst_path(dir, name);
        run_ok((const char *[]){SWEEP, "--shard", shard, "--csv", part[i], NULL});
        int n;
        keys[i] = keys_of(part[i], &n);
        cr_expect_gt(n, 0, "shard %d is empty", i);
        total += n;
    }
    cr_expect_eq(total, nall, "the shards hold %d rows, the sweep %d", total, nall);
    /* disjoint: no key of one shard in another */
    for (int i = 0; i < N; i++)
        for (int j = i + 1; j < N; j++) {
            char *save = NULL, *copy = strdup(keys[i]);
            for (char *k = strtok_r(copy, "\n", &save); k; k = strtok_r(NULL, "\n", &save)) {
                char pat[1100];
                snprintf(pat, sizeof pat, "%s\n", k);
                cr_expect(!strstr(keys[j], pat), "shards %d and %d share %s", i, j, k);
            }
            free(copy);
        }

    char *out;
    int rc = tst_subcommand(dir, "merge",
        (const char *[]){merged, part[0], part[1], part[2], NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    free(out);
    int nm;
    char *km = keys_of(merged, &nm);
    cr_expect_str_eq(km, kall, "the merged shards are not the unsharded sweep");
    free(km);
    /* merging again drops every row as a duplicate */
    rc = tst_subcommand(dir, "merge", (const char *[]){merged, part[2], part[0], NULL}, &out);
    cr_expect_eq(rc, 0, "%s", out);
    cr_expect(strstr(out, "0 rows") && strstr(out, "duplicates dropped"), "%s", out);
    free(out);
    km = keys_of(merged, &nm);
    cr_expect_str_eq(km, kall, "a second merge changed the file");
    free(km);
    for (int i = 0; i < N; i++) free(part[i]), free(keys[i]);
    free(kall), free(all), free(merged);
}

Test(binary, merge_refuses_mismatched_schemas, .init = setup, .fini = teardown, .timeout = 60)
{
    char *a = tst_path(dir, "a.csv"), *b = tst_path(dir, "b.csv"), *o = tst_path(dir, "o.csv");
    run_ok((const char *[]){"--suite", "mhsa", "--backend", "cpu", "--check", "--shape",
                            "N=37,d=8,D=16,tokens=74", "--csv", a, NULL});
    /* b: the same rows under a header that lacks the column kvpad */
    char *text = tst_read_file(a, NULL), *h = strstr(text, ",kvpad");
    memmove(h, h + 6, strlen(h + 6) + 1);
    tst_write_file(b, text, strlen(text));
    char *out;
    int rc = tst_subcommand(dir, "merge", (const char *[]){o, a, b, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, b) && strstr(out, "kvpad"), "the message names neither the file nor "
                                                      "the column: %s", out);
    cr_expect(!tst_exists(o), "the output was written anyway");
    free(out);
    /* an existing output with another header is refused too */
    rc = tst_subcommand(dir, "merge", (const char *[]){b, a, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "kvpad") && strstr(out, "refusing"), "%s", out);
    free(out);
    /* the output among the inputs */
    rc = tst_subcommand(dir, "merge", (const char *[]){a, a, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    cr_expect(strstr(out, "both the output and an input"), "%s", out);
    free(out);
    /* usage */
    rc = tst_subcommand(dir, "merge", (const char *[]){o, NULL}, &out);
    cr_expect_eq(rc, 2, "%s", out);
    free(out);
    rc = tst_subcommand(dir, "merge", (const char *[]){"--bogus", o, a, NULL}, &out);
    cr_expect(rc == 2 && strstr(out, "--bogus"), "%s", out);
    free(out);
    free(text), free(a), free(b), free(o);
}
