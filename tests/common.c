#define _XOPEN_SOURCE 700 /* nftw */
#include "common.h"
#include "csv.h"
#include "emu.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "device.h"

const attn_suite_t *tst_suite(const char *name)
{
    const attn_suite_t *s = attn_suite_named(name);
    if (!s) cr_assert_fail("no suite '%s' in the registry", name);
    return s;
}

const attn_variant_t *tst_variant(const attn_suite_t *s, const char *name)
{
    for (int i = 0; i < s->nvariants; i++)
        if (!strcmp(s->variants[i].name, name)) return &s->variants[i];
    cr_assert_fail("suite %s has no variant '%s'", s->name, name);
    return NULL;
}

int64_t *tst_case(const attn_suite_t *s, const char *shape)
{
    attn_opts_t o;
    attn_opts_init(&o);
    o.shapes[o.nshapes++] = shape;
    char err[512] = "";
    int64_t *cases = NULL;
    int n = attn_build_cases(s, &o, 0, &cases, err, sizeof err);
    cr_assert_eq(n, 1, "--shape %s: %d cases (%s)", shape, n, err);
    return cases;
}

int64_t tst_axis(const attn_suite_t *s, const int64_t *v, const char *name)
{
    int i = attn_axis_index(s, name);
    cr_assert_geq(i, 0, "suite %s has no axis %s", s->name, name);
    return v[i];
}

char *tst_tmpdir(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(4096);
    cr_assert_not_null(p);
    snprintf(p, 4096, "%s/attnbench-test-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    cr_assert_not_null(mkdtemp(p), "mkdtemp %s: %s", p, strerror(errno));
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    remove(path);
    return 0;
}

void tst_rmtree(const char *path)
{
    if (path && *path) nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tst_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    cr_assert_not_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *tst_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *b = malloc(cap + 1);
    size_t got;
    while (b && (got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(b, 2 * cap + 1);
            if (!nb) { free(b); b = NULL; break; }
            b = nb, cap *= 2;
        }
    }
    fclose(f);
    cr_assert_not_null(b, "out of memory reading %s", path);
    b[n] = 0;
    if (len) *len = n;
    return b;
}

void tst_write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

int tst_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int tst_run_bin(const char *cwd, const char *const *args, char **output)
{
    const char *bin = getenv("ATTNBENCH_BIN");
    cr_assert(bin && *bin, "ATTNBENCH_BIN is not set (meson test sets it to the built binary)");
    cr_assert_eq(access(bin, X_OK), 0, "ATTNBENCH_BIN=%s is not executable", bin);
    int na = 0;
    while (args[na]) na++;
    const char **argv = calloc((size_t)na + 2, sizeof *argv);
    cr_assert_not_null(argv);
    argv[0] = bin;
    for (int i = 0; i < na; i++) argv[i + 1] = args[i];

    const char *base = getenv("TMPDIR");
    char capture[4096];
    snprintf(capture, sizeof capture, "%s/attnbench-test-out-XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(capture);
    cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if ((cwd && chdir(cwd)) || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    close(fd);
    char *out = tst_read_file(capture, NULL);
    unlink(capture);
    free(argv);
    if (output) *output = out;
    else free(out);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int tst_csv_split(const char *line, char **fields, int max)
{
    int n = 0;
    const char *p = line;
    size_t cap = strlen(line) + 1;
    for (;;) {
        char *f = malloc(cap);
        cr_assert_not_null(f);
        size_t k = 0;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p || *p == '\n' || *p == '\r') { free(f); goto bad; }
                if (*p == '"') {
                    if (p[1] == '"') { f[k++] = '"'; p += 2; continue; }
                    p++;
                    break;
                }
                f[k++] = *p++;
            }
            if (*p && *p != ',') { free(f); goto bad; }
        } else {
            while (*p && *p != ',') {
                if (*p == '"' || *p == '\n' || *p == '\r') { free(f); goto bad; }
                f[k++] = *p++;
            }
        }
        f[k] = 0;
        if (n == max) { free(f); goto bad; }
        fields[n++] = f;
        if (!*p) return n;
        p++; /* the comma */
    }
bad:
    tst_csv_free(fields, n);
    return -1;
}

void tst_csv_free(char **fields, int n)
{
    for (int i = 0; i < n; i++) free(fields[i]);
}

int tst_lines(const char *text, char ***lines, int *tail_incomplete)
{
    int cap = 64, n = 0;
    char **L = malloc((size_t)cap * sizeof *L);
    cr_assert_not_null(L);
    const char *p = text;
    *tail_incomplete = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (n == cap) {
            cap *= 2;
            L = realloc(L, (size_t)cap * sizeof *L);
            cr_assert_not_null(L);
        }
        L[n] = strndup(p, len);
        cr_assert_not_null(L[n]);
        n++;
        if (!nl) {
            *tail_incomplete = 1;
            break;
        }
        p = nl + 1;
    }
    *lines = L;
    return n;
}

void tst_lines_free(char **lines, int n)
{
    for (int i = 0; i < n; i++) free(lines[i]);
    free(lines);
}

int tst_build_cases(const char *name, const char *shape, int sweep, int cpu_grid, int64_t **cases,
                    char *err, size_t n)
{
    attn_opts_t o;
    attn_opts_init(&o);
    if (shape) o.shapes[o.nshapes++] = shape;
    o.sweep = sweep;
    *cases = NULL;
    err[0] = 0;
    return attn_build_cases(tst_suite(name), &o, cpu_grid, cases, err, n);
}

void tst_expect_bad_shapes(const char *name, const tst_bad_shape_t *bad, size_t nbad)
{
    char err[512];
    int64_t *cases;
    for (size_t t = 0; t < nbad; t++) {
        const int n = tst_build_cases(name, bad[t].shape, 0, 0, &cases, err, sizeof err);
        cr_expect_eq(n, -1, "--shape %s was accepted", bad[t].shape);
        cr_expect(strstr(err, bad[t].msg) != NULL, "--shape %s: message '%s' lacks '%s'",
                  bad[t].shape, err, bad[t].msg);
        free(cases);
    }
}

char *tst_csv_header(const char *name)
{
    attn_row_t h;
    attn_row_init(&h);
    attn_csv_header(tst_suite(name), &h);
    char *s = strdup(h.buf);
    attn_row_free(&h);
    return s;
}

int tst_csv_col(const char *header, const char *name)
{
    char *f[256];
    int n = tst_csv_split(header, f, 256);
    int at = -1;
    for (int i = 0; i < n; i++)
        if (at < 0 && !strcmp(f[i], name)) at = i;
    tst_csv_free(f, n > 0 ? n : 0);
    return at;
}

const char *tst_bin(const char *env)
{
    const char *bin = getenv(env);
    cr_assert(bin && *bin, "%s is not set (meson test sets it to the built binary)", env);
    cr_assert_eq(access(bin, X_OK), 0, "%s=%s is not executable", env, bin);
    return bin;
}

pid_t tst_spawn(const char *bin, const char *cwd, const char *const *args, const char *capture)
{
    int na = 0;
    while (args[na]) na++;
    const char **argv = calloc((size_t)na + 2, sizeof *argv);
    cr_assert_not_null(argv);
    argv[0] = bin;
    for (int i = 0; i < na; i++) argv[i + 1] = args[i];
    int fd = open(capture, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
    cr_assert_geq(fd, 0, "cannot create %s: %s", capture, strerror(errno));
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        setpgid(0, 0);
        if ((cwd && chdir(cwd)) || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    setpgid(pid, pid); /* also here: no race with a signal sent to the group right away */
    close(fd);
    free(argv);
    return pid;
}

int tst_wait(pid_t pid)
{
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

int tst_run(const char *bin, const char *cwd, const char *const *args, char **output)
{
    const char *base = getenv("TMPDIR");
    char capture[4096];
    snprintf(capture, sizeof capture, "%s/attnbench-test-out-XXXXXX", base && *base ? base : "/tmp");
    int fd = mkstemp(capture);
    cr_assert_geq(fd, 0, "mkstemp: %s", strerror(errno));
    close(fd);
    int rc = tst_wait(tst_spawn(bin, cwd, args, capture));
    char *out = tst_read_file(capture, NULL);
    unlink(capture);
    if (output) *output = out;
    else free(out);
    return rc;
}

int tst_gpu_probe(char *reason, size_t n)
{
    int fd[2];
    if (pipe(fd)) return snprintf(reason, n, "pipe failed"), 0;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        attn_device_t d;
        const int ok = attn_gpu_open(&d, 0) == 0;
        char msg[300];
        int len = snprintf(msg, sizeof msg, "%d%s", ok, ok ? d.name : d.reason);
        if (write(fd[1], msg, (size_t)len) < 0) _exit(1);
        _exit(0);
    }
    close(fd[1]);
    char msg[300] = "";
    ssize_t got = pid > 0 ? read(fd[0], msg, sizeof msg - 1) : -1;
    close(fd[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    if (got <= 0) return snprintf(reason, n, "device probe failed"), 0;
    msg[got] = 0;
    snprintf(reason, n, "%s", msg + 1);
    return msg[0] == '1';
}

int tst_emu_run(const char *dir, const char *suite, const char *const *shapes,
                const char *variant_re, const char *lib, char **out)
{
    char *csv = tst_path(dir, "emu.csv");
    remove(csv);
    const char *args[96] = {"--suite", suite, "--backend", "emu", "--check", "--csv", csv};
    int na = 7;
    if (!shapes) args[na++] = "--check-shapes"; /* the suite's own check shapes */
    for (int i = 0; shapes && shapes[i] && na < 90; i++)
        args[na++] = "--shape", args[na++] = shapes[i];
    if (variant_re) args[na++] = "--variant", args[na++] = variant_re;
    args[na] = NULL;
    if (lib) setenv("ATTNBENCH_EMU_LIB", lib, 1);
    else unsetenv("ATTNBENCH_EMU_LIB");
    int rc = tst_run_bin(dir, args, out);
    unsetenv("ATTNBENCH_EMU_LIB");
    free(csv);
    return rc;
}

size_t tst_suite_parts(tst_part_t *out, size_t cap)
{
    size_t k = 0;
    for (int i = 0; attn_suites[i]; i++) {
        int ngpu = 0;
        for (int j = 0; j < attn_suites[i]->nvariants; j++)
            ngpu += attn_suites[i]->variants[j].backend == ATTN_GPU;
        const int np = ngpu ? (ngpu + TST_PART_VARIANTS - 1) / TST_PART_VARIANTS : 1;
        for (int p = 0; p < np && k < cap; p++) out[k++] = (tst_part_t){i, p, np};
    }
    return k;
}

int tst_part_variants(const tst_part_t *p, char *re, size_t n)
{
    const attn_suite_t *s = attn_suites[p->suite];
    int count = 0, g = 0;
    size_t len = (size_t)snprintf(re, n, "^(");
    for (int j = 0; j < s->nvariants; j++) {
        if (s->variants[j].backend != ATTN_GPU) continue;
        if (g++ % p->nparts != p->part) continue;
        len += (size_t)snprintf(re + len, len < n ? n - len : 0, "%s%s", count ? "|" : "",
                                s->variants[j].name);
        count++;
    }
    len += (size_t)snprintf(re + len, len < n ? n - len : 0, ")$");
    cr_assert(len < n, "%s part %d: the variant regex does not fit %zu bytes", s->name, p->part, n);
    return count;
}

int tst_emu_expect_all_ok(const char *dir, const char *suite, int ncases, int nvariants)
{
    const attn_suite_t *s = tst_suite(suite);
    char why[256];
    cr_assert_eq(attn_emu_open(why, sizeof why), 0, "%s", why);
    char *csv = tst_path(dir, "emu.csv");
    char *text = tst_read_file(csv, NULL);
    cr_assert_not_null(text, "no CSV %s", csv);
    char **L;
    int tail, nl = tst_lines(text, &L, &tail);
    int ngpu = 0, skipped = 0;
    for (int j = 0; j < s->nvariants; j++) ngpu += s->variants[j].backend == ATTN_GPU;
    if (nvariants >= 0) ngpu = nvariants;
    cr_expect_eq(nl - 1, ngpu * ncases, "%s: %d rows, want %d", suite, nl - 1, ngpu * ncases);
    const char *h = L[0];
    const int c_var = tst_csv_col(h, "variant"), c_st = tst_csv_col(h, "status"),
              c_why = tst_csv_col(h, "reason"), c_be = tst_csv_col(h, "backend"),
              c_med = tst_csv_col(h, "median_ms"), c_err = tst_csv_col(h, "max_abs_err"),
              c_tol = tst_csv_col(h, "tolerance_abs");
    for (int i = 1; i < nl; i++) {
        char *f[64];
        int k = tst_csv_split(L[i], f, 64);
        cr_assert(k > c_tol, "line %d malformed", i + 1);
        int64_t v[ATTN_MAX_AXES];
        for (int a = 0; a < s->naxes; a++) v[a] = atoll(f[tst_csv_col(h, s->axes[a].name)]);
        const attn_variant_t *x = attn_emu_variant(suite, f[c_var]);
        cr_assert_not_null(x, "variant %s not in the emulator", f[c_var]);
        cr_expect_str_eq(f[c_be], "emu");
        cr_expect_str_eq(f[c_med], "", "emulated rows are never timed");
        const char *unsupported = x->supports ? x->supports(attn_emu_suite(suite), x, v) : NULL;
        if (unsupported) {
            cr_expect_str_eq(f[c_st], "skip", "%s %s: %s", suite, x->name, f[c_why]);
            cr_expect_str_eq(f[c_why], unsupported);
            skipped++;
        } else {
            cr_expect_str_eq(f[c_st], "ok", "%s %s line %d: %s (%s)", suite, x->name, i + 1,
                             f[c_st], f[c_why]);
            cr_expect(f[c_err][0] && atof(f[c_err]) <= atof(f[c_tol]) && atof(f[c_tol]) > 0,
                      "%s %s line %d: error '%s' vs tolerance_abs '%s'", suite, x->name, i + 1,
                      f[c_err], f[c_tol]);
        }
        tst_csv_free(f, k);
    }
    tst_lines_free(L, nl);
    free(text), free(csv);
    return skipped;
}

double *tst_dalloc(int64_t n)
{
    double *p = calloc((size_t)(n > 0 ? n : 1), sizeof *p);
    cr_assert_not_null(p);
    return p;
}

float *tst_falloc(int64_t n)
{
    float *p = calloc((size_t)(n > 0 ? n : 1), sizeof *p);
    cr_assert_not_null(p);
    return p;
}

int tst_subcommand(const char *cwd, const char *sub, const char *const *args, char **output)
{
    const char *a[64] = {sub};
    int n = 1;
    for (int i = 0; args[i] && n < 63; i++) a[n++] = args[i];
    a[n] = NULL;
    return tst_run(tst_bin("ATTNBENCH_BIN"), cwd, a, output);
}
