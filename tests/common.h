/* Helpers shared by the Criterion tests: registry look-ups, temporary directories, files, CSV
 * lines, and running the attnbench binary (path in $ATTNBENCH_BIN). Failures inside a helper
 * fail the calling test with a message (cr_assert). */
#ifndef ATTN_TEST_COMMON_H
#define ATTN_TEST_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "registry.h"

/* The suite called name (the test fails when there is none). */
const attn_suite_t *tst_suite(const char *name);
/* Its variant called name. */
const attn_variant_t *tst_variant(const attn_suite_t *s, const char *name);

/* The single case selected by `--shape shape` (derived and range-checked as the CLI does);
 * malloc'd, naxes values. */
int64_t *tst_case(const attn_suite_t *s, const char *shape);
/* Value of axis `name` in case v. */
int64_t tst_axis(const attn_suite_t *s, const int64_t *v, const char *name);

/* A fresh private directory under $TMPDIR (or /tmp), and rm -rf of one. */
char *tst_tmpdir(const char *tag);
void tst_rmtree(const char *path);
char *tst_path(const char *dir, const char *name); /* malloc'd "dir/name" */

/* The whole file (NUL-terminated; *len without the NUL), or NULL when it cannot be read. */
char *tst_read_file(const char *path, size_t *len);
void tst_write_file(const char *path, const char *data, size_t len);
int tst_exists(const char *path);

/* Run $ATTNBENCH_BIN with args (NULL-terminated, without argv[0]) in directory cwd, stdout and
 * stderr together captured into *output (malloc'd; may be NULL). Returns the exit status, or
 * 128 + signal. */
int tst_run_bin(const char *cwd, const char *const *args, char **output);

/* The path in environment variable env (ATTNBENCH_BIN, ATTNBENCH_TEST_BIN), checked to be an
 * executable (the test fails otherwise). */
const char *tst_bin(const char *env);

/* n zeroed doubles or floats (at least one), never NULL (the test fails instead). */
double *tst_dalloc(int64_t n);
float *tst_falloc(int64_t n);

/* `attnbench SUB args...` ($ATTNBENCH_BIN) in cwd, like tst_run_bin. */
int tst_subcommand(const char *cwd, const char *sub, const char *const *args, char **output);

/* Like tst_run_bin, for any binary. */
int tst_run(const char *bin, const char *cwd, const char *const *args, char **output);

/* Start bin with args in cwd, stdout and stderr into the file `capture`, stdin from /dev/null,
 * in a process group of its own (so that a signal can go to the group, as a terminal's Ctrl-C
 * does). Returns its pid; tst_wait gives its exit status, or 128 + signal. */
pid_t tst_spawn(const char *bin, const char *cwd, const char *const *args, const char *capture);
int tst_wait(pid_t pid);

/* Whether CUDA device 0 is usable, asked in a child process so that the test process and
 * Criterion's workers never hold a CUDA context; *reason gets the name or why not. */
int tst_gpu_probe(char *reason, size_t n);

/* Split one CSV line (RFC 4180 quoting, no newline) into at most max fields, each malloc'd.
 * Returns the field count, or -1 when the line is malformed (an unterminated quote, text after
 * a closing quote, a bare quote inside an unquoted field, or a raw newline). */
int tst_csv_split(const char *line, char **fields, int max);
void tst_csv_free(char **fields, int n);

/* Lines of a text (split on '\n'): the count of complete lines; *lines gets malloc'd copies.
 * *tail_incomplete is set when the text does not end with '\n' (the last entry is then the
 * cut-off remainder, included in the count). */
int tst_lines(const char *text, char ***lines, int *tail_incomplete);
void tst_lines_free(char **lines, int n);

/* Index of header field `name` in a CSV header line, or -1. */
int tst_csv_col(const char *header, const char *name);

/* attn_build_cases for suite `name` with at most one --shape (NULL: none) and --sweep when
 * sweep; *cases is NULL and err empty before the call. */
int tst_build_cases(const char *name, const char *shape, int sweep, int cpu_grid, int64_t **cases,
                    char *err, size_t n);

/* A --shape the suite must refuse, and a part of the message that must name the bad value. */
typedef struct tst_bad_shape {
    const char *shape, *msg;
} tst_bad_shape_t;

/* Expects every shape of bad[0..n) refused by suite `name`'s case builder with its message. */
void tst_expect_bad_shapes(const char *name, const tst_bad_shape_t *bad, size_t n);

/* The results CSV header attnbench writes for suite `name` (malloc'd, no newline). */
char *tst_csv_header(const char *name);

/* The emulation backend, end to end: run `attnbench --suite suite --backend emu --check` on the
 * NULL-terminated shapes (NULL: --check-shapes, the suite's own) and --variant variant_re when
 * not NULL, with its CSV at dir/emu.csv and $ATTNBENCH_EMU_LIB = lib when lib is not NULL;
 * returns the exit status, output in *out. */
int tst_emu_run(const char *dir, const char *suite, const char *const *shapes,
                const char *variant_re, const char *lib, char **out);
/* Check that run's CSV: one row per GPU variant (nvariants of them, or all of the suite's when
 * negative) and case, backend emu, never timed, each ok with max_abs_err within its tolerance,
 * or skipped with exactly the reason the emulated variant's supports() gives (present even in a
 * build without CUDA). Returns the number of skipped rows. */
int tst_emu_expect_all_ok(const char *dir, const char *suite, int ncases, int nvariants);

/* A suite's emulated run cut in parts of at most TST_PART_VARIANTS GPU variants, so that the
 * parameterized tests running every suite (conformance, emu_fma) share the cores evenly. */
#define TST_PART_VARIANTS 6
typedef struct {
    int suite, part, nparts; /* index in attn_suites; this part of nparts */
} tst_part_t;
/* Every suite's parts into out (cap entries); how many. */
size_t tst_suite_parts(tst_part_t *out, size_t cap);
/* Part p's variants, every nparts-th GPU variant from the part-th: an anchored regex of their
 * names into re (n bytes); how many. */
int tst_part_variants(const tst_part_t *p, char *re, size_t n);

#define TST_SHAPES(...) ((const char *const[]){__VA_ARGS__, NULL})

#endif
