/* libFuzzer target: the command line and the shape parser, and the results-CSV reader.
 *
 * An input is a command line, one argument per line ('\n' separates them): attn_parse_args must
 * accept it or reject it with a message; when it accepts, attn_build_cases must, for every suite
 * and both grids (GPU and CPU), build the cases or reject them with a message, and every case
 * built must print (attn_case_str), and every number option of the table (attn_options) must hold
 * a value in its range. An input that starts with byte 0x01 is instead a results CSV
 * for attn_table_parse (what compare and merge read): parsed or refused with a message, every row
 * with the header's field count. A message must be non-empty text, and never an "internal
 * error". Crashes and undefined behaviour are caught by the sanitizers this target is built
 * with (-Db_sanitize=address,undefined), hangs by libFuzzer's -timeout.
 *
 * Run by tests/fuzz.sh (meson test --suite fuzz, in a -Dfuzz=enabled build made by clang). */
#define _GNU_SOURCE /* memmem */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "registry.h"
#include "results.h"

enum { MAX_ARGS = 64 };

static void require(int ok, const char *what, const char *err)
{
    if (ok) return;
    fprintf(stderr, "fuzz_cli: %s (message: '%s')\n", what, err ? err : "");
    abort();
}

static int input_says_internal; /* the input itself holds "internal" (messages echo input) */

/* A rejection's message: set, terminated within the buffer, no internal error. */
static void check_message(const char *err, size_t n)
{
    const size_t len = strnlen(err, n);
    require(len > 0, "a rejection without a message", err);
    require(len < n, "a message not terminated", "");
    require(input_says_internal || !strstr(err, "internal error"), "an internal error", err);
}

/* Every number option of the table (bench/cli.h), given or left at its default, holds a value
 * in the entry's range. */
static void check_ranges(const attn_opts_t *o)
{
    for (int i = 0; i < attn_noptions; i++) {
        const attn_option_t *op = &attn_options[i];
        const char *field = (const char *)o + op->off;
        double v;
        if (op->kind == ATTN_OPT_DOUBLE) v = *(const double *)(const void *)field;
        else if (op->kind != ATTN_OPT_INT) continue;
        else if (op->size == sizeof(int)) v = *(const int *)(const void *)field;
        else v = (double)*(const uint64_t *)(const void *)field;
        require(v >= op->min && v <= op->max && !(op->min_open && v == op->min),
                "a value out of its option's range accepted", op->name);
    }
}

static void fuzz_cli(const uint8_t *data, size_t size)
{
    /* argv[1..]: the lines of the input, NUL-terminated copies */
    char *text = malloc(size + 1);
    if (!text) return;
    memcpy(text, data, size);
    text[size] = 0;
    char *argv[MAX_ARGS + 2] = {"attnbench"};
    int argc = 1;
    for (char *p = text; argc <= MAX_ARGS;) {
        argv[argc++] = p;
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (!nl) break;
        *nl = 0;
        p = nl + 1;
    }
    argv[argc] = NULL;

    attn_opts_t o;
    char err[1024];
    err[0] = 0;
    attn_opts_init(&o);
    if (attn_parse_args(argc, argv, &o, err, sizeof err)) {
        check_message(err, sizeof err);
        free(text);
        return;
    }
    require(o.shard_n >= 1 && o.shard_i >= 0 && o.shard_i < o.shard_n, "a bad shard accepted", "");
    check_ranges(&o);
    for (int k = 0; attn_suites[k]; k++) {
        const attn_suite_t *s = attn_suites[k];
        for (int cpu_grid = 0; cpu_grid < 2; cpu_grid++) {
            int64_t *cases = NULL;
            err[0] = 0;
            const int n = attn_build_cases(s, &o, cpu_grid, &cases, err, sizeof err);
            if (n < 0) {
                check_message(err, sizeof err);
                continue;
            }
            char cs[512];
            for (int i = 0; i < n && i < 16; i++) {
                const int64_t *v = cases + (size_t)i * (size_t)s->naxes;
                for (int a = 0; a < s->naxes; a++)
                    require(v[a] >= s->axes[a].min && v[a] <= s->axes[a].max,
                            "a case value out of its axis range", s->axes[a].name);
                attn_case_str(s, v, cs, sizeof cs);
            }
            free(cases);
        }
    }
    free(text);
}

static void fuzz_table(const uint8_t *data, size_t size)
{
    attn_table_t t;
    char err[1024];
    err[0] = 0;
    if (attn_table_parse(&t, "fuzz.csv", (const char *)data, size, 0, err, sizeof err)) {
        check_message(err, sizeof err);
        return;
    }
    require(t.ncols > 0, "a header without columns", "");
    for (int r = 0; r < t.nrows; r++)
        for (int c = 0; c < t.ncols; c++) require(t.rows[r][c] != NULL, "a missing field", "");
    require(attn_table_same_schema(&t, &t, err, sizeof err) == 0, "a table unlike itself", err);
    attn_table_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    input_says_internal = memmem(data, size, "internal", 8) != NULL;
    if (size && data[0] == 1) fuzz_table(data + 1, size - 1);
    else fuzz_cli(data, size);
    return 0;
}
