/* The results file: header columns, RFC 4180 quoting, the append-safety rules of csv.h (same
 * header or refuse, earlier rows kept byte for byte, a cut-off last line terminated), and
 * concurrent appends from several processes. The file validator used here is itself shown to
 * reject merged, cut-off, missing and duplicated rows. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "csv.h"

static char *dir;
static void setup(void) { dir = tst_tmpdir("csv"); }
static void teardown(void)
{
    tst_rmtree(dir);
    free(dir);
}

static char *header_of(const char *suite) { return tst_csv_header(suite); }

/* ------------------------------------------------------------------ header and quoting */

Test(csv_header, documented_columns)
{
    const attn_suite_t *s = tst_suite("mhsa");
    char *h = header_of("mhsa");
    cr_expect_str_eq(h, "suite,variant,backend,dtype,B,H,N,Nk,d,causal,kvpad,tokens,D,Hkv,align,"
                        "window,splits,"
                        "status,reason,samples,median_ms,min_ms,max_ms,iqr_ms,flops,bytes,"
                        "tflops,gbps,pct_peak,pct_bw,max_abs_err,rel_l2_err,tolerance_rel,"
                        "tolerance_abs,rows_checked,rows,seed,device,sm,driver,runtime,"
                        "sm_clock_max_mhz,sm_clock_mhz,clock_events,peak_tflops,peak_gbps,"
                        "git_commit,timestamp,source");
    /* and generically: four leading columns, then exactly the suite's axes in order */
    char *f[128];
    int n = tst_csv_split(h, f, 128);
    cr_assert_eq(n, 4 + s->naxes + 32);
    for (int i = 0; i < s->naxes; i++) cr_expect_str_eq(f[4 + i], s->axes[i].name);
    cr_expect_str_eq(f[4 + s->naxes], "status");
    cr_expect_str_eq(f[n - 1], "source");
    tst_csv_free(f, n);
    free(h);
}

static const char *row_of(attn_row_t *r, const char *const *fields, int n)
{
    attn_row_clear(r);
    for (int i = 0; i < n; i++) attn_row_str(r, fields[i]);
    return r->buf;
}

Test(csv_row, quoting)
{
    attn_row_t r;
    attn_row_init(&r);
    const char *plain[] = {"mhsa", "cpu-f32", "ok"};
    cr_expect_str_eq(row_of(&r, plain, 3), "mhsa,cpu-f32,ok");
    cr_expect_eq(r.nfields, 3);
    const char *comma[] = {"a,b"};
    cr_expect_str_eq(row_of(&r, comma, 1), "\"a,b\"");
    const char *quote[] = {"say \"hi\""};
    cr_expect_str_eq(row_of(&r, quote, 1), "\"say \"\"hi\"\"\"");
    const char *nl[] = {"line1\nline2", "cr\rx"};
    cr_expect_str_eq(row_of(&r, nl, 2), "\"line1 line2\",\"cr x\"", "a row must stay one line");
    const char *empty[] = {"x", NULL, "", "y"};
    cr_expect_str_eq(row_of(&r, empty, 4), "x,,,y");
    cr_expect_eq(r.nfields, 4);
    attn_row_clear(&r);
    attn_row_int(&r, -3);
    attn_row_num(&r, 1.5);
    attn_row_num(&r, 1e-7);
    attn_row_num(&r, 0.0 / 0.0);
    attn_row_num(&r, 123456789.0);
    cr_expect_str_eq(r.buf, "-3,1.5,1e-07,,1.23457e+08");
    /* round trip through an RFC 4180 parser */
    const char *nasty[] = {"max |err| 0.1 at (b=0,h=1), got \"x\"", ",", "\"", "", "a\"b,c"};
    char *f[8];
    int n = tst_csv_split(row_of(&r, nasty, 5), f, 8);
    cr_assert_eq(n, 5, "row %s parsed into %d fields", r.buf, n);
    for (int i = 0; i < 5; i++) cr_expect_str_eq(f[i], nasty[i]);
    tst_csv_free(f, n);
    attn_row_free(&r);
}

/* ------------------------------------------------------------------ a file validator */

/* The file must be the header, then `want` complete rows (newline-terminated) of nfields
 * fields each, where field 0 = "w<writer>" and field 1 = its row number, every (writer, row)
 * pair exactly once for writers [0, writers) and rows [0, per). Returns NULL or what is wrong
 * (static buffer). */
static const char *validate(const char *text, const char *header, int nfields, int writers,
                            int per)
{
    static char why[512];
    char **L;
    int tail, n = tst_lines(text, &L, &tail);
    unsigned char *seen = calloc((size_t)(writers * per), 1);
    const char *res = NULL;
    if (tail) {
        snprintf(why, sizeof why, "the last line is cut off: '%.60s'", L[n - 1]);
        res = why;
    } else if (n < 1 || strcmp(L[0], header)) {
        snprintf(why, sizeof why, "the first line is not the header");
        res = why;
    } else if (n - 1 != writers * per) {
        snprintf(why, sizeof why, "%d rows, want %d", n - 1, writers * per);
        res = why;
    }
    for (int i = 1; !res && i < n; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        int w = -1, j = -1;
        if (k == nfields) sscanf(f[0], "w%d", &w), sscanf(f[1], "%d", &j);
        if (k != nfields) {
            snprintf(why, sizeof why, "line %d has %d fields, want %d: '%.60s'", i + 1, k,
                     nfields, L[i]);
            res = why;
        } else if (w < 0 || w >= writers || j < 0 || j >= per) {
            snprintf(why, sizeof why, "line %d: bad writer/row '%s','%s'", i + 1, f[0], f[1]);
            res = why;
        } else if (seen[w * per + j]++) {
            snprintf(why, sizeof why, "line %d: row (%d, %d) twice", i + 1, w, j);
            res = why;
        }
        if (k > 0) tst_csv_free(f, k);
    }
    free(seen);
    tst_lines_free(L, n);
    return res;
}

/* A row for writer w, number j: fields "w<w>", j, then filler (with quoting) up to nfields. */
static void make_row(attn_row_t *r, int w, int j, int nfields)
{
    char b[64];
    attn_row_clear(r);
    snprintf(b, sizeof b, "w%d", w);
    attn_row_str(r, b);
    attn_row_int(r, j);
    attn_row_str(r, "a reason, with \"quotes\" and a comma");
    for (int i = 3; i < nfields; i++) attn_row_num(r, j * 1.25 + i);
}

/* The validator rejects a merged row, a cut-off last line, a missing row, a duplicated row, a
 * wrong field count and a wrong header — so the tests below that rely on it can fail. */
Test(csv_validator, rejects_planted_damage)
{
    const char *hdr = "a,b,c,d";
    attn_row_t r;
    attn_row_init(&r);
    char good[4096] = "a,b,c,d\n", rows[4][256];
    for (int j = 0; j < 4; j++) {
        make_row(&r, 0, j, 4);
        snprintf(rows[j], sizeof rows[j], "%s\n", r.buf);
        strcat(good, rows[j]);
    }
    cr_assert_null(validate(good, hdr, 4, 1, 4), "%s", validate(good, hdr, 4, 1, 4));
    char bad[4096];
    /* merged: row 1 without its newline */
    snprintf(bad, sizeof bad, "a,b,c,d\n%s%.*s%s%s", rows[0], (int)strlen(rows[1]) - 1, rows[1],
             rows[2], rows[3]);
    cr_expect_not_null(validate(bad, hdr, 4, 1, 4), "merged row accepted");
    /* cut off */
    snprintf(bad, sizeof bad, "%.*s", (int)strlen(good) - 5, good);
    cr_expect_not_null(validate(bad, hdr, 4, 1, 4), "cut-off line accepted");
    /* missing / duplicated */
    snprintf(bad, sizeof bad, "a,b,c,d\n%s%s%s", rows[0], rows[1], rows[2]);
    cr_expect_not_null(validate(bad, hdr, 4, 1, 4), "missing row accepted");
    snprintf(bad, sizeof bad, "a,b,c,d\n%s%s%s%s", rows[0], rows[1], rows[1], rows[3]);
    cr_expect_not_null(validate(bad, hdr, 4, 1, 4), "duplicated row accepted");
    /* interleaved half lines */
    snprintf(bad, sizeof bad, "a,b,c,d\n%.10s%s%s%s%s", rows[0], rows[1], rows[0] + 10, rows[2],
             rows[3]);
    cr_expect_not_null(validate(bad, hdr, 4, 1, 4), "interleaved rows accepted");
    cr_expect_not_null(validate(good, "a,b,c", 4, 1, 4), "wrong header accepted");
    cr_expect_not_null(validate(good, hdr, 5, 1, 4), "wrong field count accepted");
    attn_row_free(&r);
}

/* ------------------------------------------------------------------ append safety */

static void open_ok(attn_csv_t *c, const char *path, const char *header)
{
    char err[512] = "";
    cr_assert_eq(attn_csv_open(c, path, header, err, sizeof err), 0, "open %s: %s", path, err);
}

static void append_rows(const char *path, const char *header, int w, int from, int to, int nf)
{
    attn_csv_t c;
    attn_row_t r;
    attn_row_init(&r);
    open_ok(&c, path, header);
    for (int j = from; j < to; j++) {
        make_row(&r, w, j, nf);
        cr_assert_eq(attn_csv_append(&c, &r), 0, "append: %s", strerror(errno));
    }
    attn_csv_close(&c);
    attn_row_free(&r);
}

Test(csv_file, new_file_gets_header_and_dirs, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    char *p = tst_path(dir, "new/sub/dir/r.csv");
    append_rows(p, h, 0, 0, 2, 36);
    size_t len;
    char *text = tst_read_file(p, &len);
    cr_assert_not_null(text, "%s not created", p);
    cr_expect_null(validate(text, h, 36, 1, 2), "%s", validate(text, h, 36, 1, 2));
    free(text), free(p), free(h);
}

Test(csv_file, append_keeps_earlier_rows, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    char *p = tst_path(dir, "r.csv");
    append_rows(p, h, 0, 0, 3, 36);
    size_t len0, len1;
    char *before = tst_read_file(p, &len0);
    append_rows(p, h, 0, 3, 5, 36);
    char *after = tst_read_file(p, &len1);
    cr_assert(len1 > len0);
    cr_expect(memcmp(before, after, len0) == 0, "earlier bytes changed");
    cr_expect_null(validate(after, h, 36, 1, 5), "%s", validate(after, h, 36, 1, 5));
    /* an empty existing file is treated as new */
    char *e = tst_path(dir, "empty.csv");
    tst_write_file(e, "", 0);
    append_rows(e, h, 0, 0, 1, 36);
    char *t = tst_read_file(e, NULL);
    cr_expect_null(validate(t, h, 36, 1, 1), "%s", validate(t, h, 36, 1, 1));
    free(before), free(after), free(p), free(h), free(e), free(t);
}

/* A different header (another suite or schema, a longer header with the same prefix, a file
 * shorter than the header) is refused: -1, a message naming the path, the file unchanged. */
Test(csv_file, different_header_refused, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    char *p = tst_path(dir, "other.csv");
    char longer[4096];
    snprintf(longer, sizeof longer, "%s,extra\n1,2\n", h);
    char shorter[4096];
    snprintf(shorter, sizeof shorter, "%.20s", h);
    char crlf[4096];
    snprintf(crlf, sizeof crlf, "%s\r\n", h);
    char same_len[4096]; /* one column renamed, same length: Nk → NK */
    snprintf(same_len, sizeof same_len, "%s\n", h);
    char *nk = strstr(same_len, ",Nk,");
    cr_assert_not_null(nk);
    nk[2] = 'K';
    const char *contents[] = {"a,b,c\n1,2,3\n", longer, shorter, "suite,variant\n", crlf,
                              same_len};
    for (size_t i = 0; i < sizeof contents / sizeof contents[0]; i++) {
        tst_write_file(p, contents[i], strlen(contents[i]));
        attn_csv_t c;
        char err[512] = "";
        cr_expect_eq(attn_csv_open(&c, p, h, err, sizeof err), -1, "content %zu accepted", i);
        cr_expect(strstr(err, p) != NULL, "message does not name the path: %s", err);
        size_t len;
        char *now = tst_read_file(p, &len);
        cr_expect(len == strlen(contents[i]) && !memcmp(now, contents[i], len),
                  "content %zu was modified", i);
        free(now);
    }
    free(p), free(h);
}

/* A last line cut off by a crash (no newline) is terminated before new rows go in: it stays as
 * it was, on its own line, and no new row merges with it. */
Test(csv_file, cut_off_last_line_terminated, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    char *p = tst_path(dir, "cut.csv");
    char start[8192];
    attn_row_t r;
    attn_row_init(&r);
    make_row(&r, 0, 0, 36);
    int n = snprintf(start, sizeof start, "%s\n%s\nw0,1,cut off her", h, r.buf);
    tst_write_file(p, start, (size_t)n);
    append_rows(p, h, 0, 2, 4, 36);
    size_t len;
    char *text = tst_read_file(p, &len);
    cr_assert(len > (size_t)n && !memcmp(text, start, (size_t)n), "earlier bytes changed");
    cr_expect_eq(text[n], '\n', "no newline after the cut-off line");
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    cr_expect(!tail && nl == 5, "%d lines", nl);
    cr_expect_str_eq(L[2], "w0,1,cut off her");
    for (int i = 3; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_expect_eq(k, 36, "new line %d: %d fields", i, k);
        if (k > 0) tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    attn_row_free(&r);
    free(text), free(p), free(h);
}

/* attn_csv_open writes the header and its newline in two write() calls, so a crash between
 * them leaves a file holding exactly the header with no newline. By csv.h's rules (the file
 * starts with the same header; a cut-off last line is terminated) it must be accepted and
 * terminated; attn_csv_open refuses it as "a different header" instead. */
Test(csv_file, header_without_newline_is_terminated, .init = setup, .fini = teardown)
{
    char *h = header_of("mhsa");
    char *p = tst_path(dir, "header-only.csv");
    tst_write_file(p, h, strlen(h));
    attn_csv_t c;
    char err[512] = "";
    cr_assert_eq(attn_csv_open(&c, p, h, err, sizeof err), 0, "refused: %s", err);
    attn_csv_close(&c);
    append_rows(p, h, 0, 0, 1, 36);
    char *text = tst_read_file(p, NULL);
    cr_expect_null(validate(text, h, 36, 1, 1), "%s", validate(text, h, 36, 1, 1));
    free(text), free(p), free(h);
}

/* Paths that cannot be a CSV: a directory, a path under a regular file. */
Test(csv_file, bad_paths_refused, .init = setup, .fini = teardown)
{
    attn_csv_t c;
    char err[512] = "";
    cr_expect_eq(attn_csv_open(&c, dir, "a,b", err, sizeof err), -1, "a directory accepted");
    cr_expect(strstr(err, dir) != NULL, "%s", err);
    char *f = tst_path(dir, "file");
    tst_write_file(f, "x", 1);
    char *under = tst_path(f, "x.csv");
    cr_expect_eq(attn_csv_open(&c, under, "a,b", err, sizeof err), -1);
    cr_expect(strstr(err, under) != NULL, "%s", err);
    free(f), free(under);
}

/* 4 processes append 200 rows each to one file, each through its own attn_csv_open (racing on
 * the header too): exactly the header plus 800 complete, parseable rows, none lost or torn. */
/* "-" is standard output: the header, then the rows, on whatever fd 1 is; no file named "-". */
Test(csv_file, dash_is_standard_output, .init = setup, .fini = teardown)
{
    char *path = tst_path(dir, "stdout.txt");
    fflush(stdout);
    const int saved = dup(STDOUT_FILENO);
    const int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(saved >= 0 && fd >= 0);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    attn_csv_t c;
    char err[256] = "";
    const int rc = attn_csv_open(&c, "-", "a,b", err, sizeof err);
    attn_row_t r;
    attn_row_init(&r);
    attn_row_str(&r, "1"), attn_row_str(&r, "2");
    const int rc2 = rc ? -1 : attn_csv_append(&c, &r);
    attn_row_free(&r);
    attn_csv_close(&c);
    dup2(saved, STDOUT_FILENO);
    close(saved);
    cr_assert_eq(rc, 0, "%s", err);
    cr_expect_eq(rc2, 0);
    cr_expect(c.to_stdout && !c.created_dir);
    char *got = tst_read_file(path, NULL);
    cr_expect_str_eq(got, "a,b\n1,2\n");
    cr_expect(!tst_exists("-"), "a file named - was created");
    free(got), free(path);
}

/* A missing directory is created, and the open says so (created_dir); an existing one is not. */
Test(csv_file, created_directory_is_reported, .init = setup, .fini = teardown)
{
    char *p = tst_path(dir, "new/sub/r.csv"), *q = tst_path(dir, "new/sub/s.csv");
    attn_csv_t c;
    char err[256];
    cr_assert_eq(attn_csv_open(&c, p, "a,b", err, sizeof err), 0, "%s", err);
    cr_expect(c.created_dir, "the new directory was not reported");
    attn_csv_close(&c);
    cr_assert_eq(attn_csv_open(&c, q, "a,b", err, sizeof err), 0, "%s", err);
    cr_expect(!c.created_dir, "an existing directory was reported as created");
    attn_csv_close(&c);
    free(p), free(q);
}

/* Run directories: a second (and third) of the same name become NAME-2, NAME-3, each new. */
Test(csv_file, run_directories_are_unique, .init = setup, .fini = teardown)
{
    char stem[512], a[1024], b[1024], c[1024];
    snprintf(stem, sizeof stem, "%s/results/run-20260101-000000", dir);
    snprintf(a, sizeof a, "%s", stem), snprintf(b, sizeof b, "%s", stem), snprintf(c, sizeof c, "%s", stem);
    cr_assert_eq(attn_mkdir_unique(a, sizeof a), 0, "%s", strerror(errno));
    cr_assert_eq(attn_mkdir_unique(b, sizeof b), 0, "%s", strerror(errno));
    cr_assert_eq(attn_mkdir_unique(c, sizeof c), 0, "%s", strerror(errno));
    cr_expect_str_eq(a, stem);
    cr_expect(strcmp(a, b) && strcmp(b, c) && strcmp(a, c), "shared: %s %s %s", a, b, c);
    char want[1024];
    snprintf(want, sizeof want, "%s-2", stem);
    cr_expect_str_eq(b, want);
    struct stat st;
    cr_expect(!stat(b, &st) && S_ISDIR(st.st_mode) && !stat(c, &st) && S_ISDIR(st.st_mode));
}

Test(csv_file, concurrent_appends, .init = setup, .fini = teardown, .timeout = 60)
{
    enum { W = 4, PER = 200, NF = 36 };
    char *h = header_of("mhsa");
    char *p = tst_path(dir, "concurrent.csv");
    pid_t pid[W];
    int go[2];
    cr_assert_eq(pipe(go), 0);
    for (int w = 0; w < W; w++) {
        pid[w] = fork();
        cr_assert_geq(pid[w], 0);
        if (pid[w] == 0) {
            char c;
            close(go[1]);
            if (read(go[0], &c, 1) < 0) _exit(3); /* all start together */
            attn_csv_t f;
            char err[512];
            if (attn_csv_open(&f, p, h, err, sizeof err)) _exit(1);
            attn_row_t r;
            attn_row_init(&r);
            for (int j = 0; j < PER; j++) {
                make_row(&r, w, j, NF);
                if (attn_csv_append(&f, &r)) _exit(2);
            }
            attn_csv_close(&f);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]); /* EOF releases every child at once */
    for (int w = 0; w < W; w++) {
        int st;
        cr_assert_eq(waitpid(pid[w], &st, 0), pid[w]);
        cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer %d exited with %d", w,
                  WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    char *text = tst_read_file(p, NULL);
    cr_assert_not_null(text);
    const char *why = validate(text, h, NF, W, PER);
    cr_expect_null(why, "%s", why);
    free(text), free(p), free(h);
}
