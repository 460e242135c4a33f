#include "merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "table.h"

static int usage(const char *msg)
{
    fprintf(stderr, "attnbench merge: %s\nusage: attnbench merge OUT.csv IN.csv...\n", msg);
    return 2;
}

typedef struct item {
    const char *raw;
    int order;     /* rows already in OUT first, then the inputs' rows in order */
} item_t;

static int by_raw_then_order(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    int c = strcmp(x->raw, y->raw);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

int attn_merge_main(int argc, char **argv)
{
    char msg[2048];
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: attnbench merge OUT.csv IN.csv...\n"
               "Appends the rows of the IN files (which must share one header) to OUT.csv,\n"
               "created with that header if missing; rows equal to one already there or earlier\n"
               "are dropped. Exit status: 0, 2 bad usage or input (different headers: the\n"
               "message names the file and the columns).\n");
        return 0;
    }
    for (int i = 1; i < argc; i++)
        if (!strncmp(argv[i], "-", 1) && strcmp(argv[i], "-")) {
            snprintf(msg, sizeof msg, "unknown option '%s'", argv[i]);
            return usage(msg);
        }
    if (argc < 3) return usage("give the output CSV and at least one input CSV");
    const char *out = argv[1];
    const int nin = argc - 2;
    attn_table_t *in = calloc((size_t)nin + 1, sizeof *in), have;
    memset(&have, 0, sizeof have);
    item_t *items = NULL;
    char *text = NULL;
    int rc = 2, nhave = 0;
    struct stat so;
    const int out_exists = stat(out, &so) == 0;
    if (!in) return usage("out of memory");
    for (int k = 0; k < nin; k++) {
        struct stat si;
        if (out_exists && stat(argv[k + 2], &si) == 0 && si.st_dev == so.st_dev &&
            si.st_ino == so.st_ino) {
            fprintf(stderr, "attnbench merge: '%s' is both the output and an input\n", argv[k + 2]);
            goto done;
        }
        if (attn_table_read(&in[k], argv[k + 2], msg, sizeof msg) ||
            (k && attn_table_same_schema(&in[0], &in[k], msg, sizeof msg))) {
            fprintf(stderr, "attnbench merge: %s\n", msg);
            goto done;
        }
    }
    /* Rows OUT already holds take part in the duplicate check. */
    if (out_exists && so.st_size > 0) {
        if (attn_table_read(&have, out, msg, sizeof msg) ||
            attn_table_same_schema(&have, &in[0], msg, sizeof msg)) {
            fprintf(stderr, "attnbench merge: %s; refusing to append to it\n", msg);
            goto done;
        }
        nhave = have.nrows;
    }
    attn_csv_t csv;
    if (attn_csv_open(&csv, out, in[0].header, msg, sizeof msg)) {
        fprintf(stderr, "attnbench merge: %s\n", msg);
        goto done;
    }
    size_t total = (size_t)nhave, bytes = 1;
    int bad = 0, repeat = 0;
    for (int k = 0; k < nin; k++) {
        total += (size_t)in[k].nrows;
        bad += in[k].nbad, repeat += in[k].nrepeat;
        for (int r = 0; r < in[k].nrows; r++) bytes += strlen(in[k].raw[r]) + 1;
    }
    items = malloc((total + 1) * sizeof *items);
    text = malloc(bytes);
    if (!items || !text) {
        attn_csv_close(&csv);
        fprintf(stderr, "attnbench merge: out of memory\n");
        goto done;
    }
    size_t m = 0;
    for (int r = 0; r < nhave; r++) items[m] = (item_t){have.raw[r], (int)m}, m++;
    for (int k = 0; k < nin; k++)
        for (int r = 0; r < in[k].nrows; r++) items[m] = (item_t){in[k].raw[r], (int)m}, m++;
    /* Duplicates: every item equal to an earlier one. */
    item_t *sorted = malloc((total + 1) * sizeof *sorted);
    unsigned char *dup = calloc(total + 1, 1);
    if (!sorted || !dup) {
        free(sorted), free(dup);
        attn_csv_close(&csv);
        fprintf(stderr, "attnbench merge: out of memory\n");
        goto done;
    }
    memcpy(sorted, items, total * sizeof *sorted);
    qsort(sorted, total, sizeof *sorted, by_raw_then_order);
    for (size_t i = 1; i < total; i++)
        if (!strcmp(sorted[i].raw, sorted[i - 1].raw)) dup[sorted[i].order] = 1;
    size_t len = 0;
    int written = 0, ndup = 0;
    for (size_t i = (size_t)nhave; i < total; i++) {
        if (dup[i]) {
            ndup++;
            continue;
        }
        const size_t l = strlen(items[i].raw);
        memcpy(text + len, items[i].raw, l);
        text[len + l] = '\n';
        len += l + 1;
        written++;
    }
    free(sorted), free(dup);
    if (attn_csv_append_lines(&csv, text, len)) {
        fprintf(stderr, "attnbench merge: writing %s failed: %s\n", out, strerror(errno));
        attn_csv_close(&csv);
        goto done;
    }
    attn_csv_close(&csv);
    printf("merge: %d rows from %d files into %s (%d duplicates dropped", written, nin, out, ndup);
    if (bad) printf(", %d malformed rows skipped", bad);
    if (repeat) printf(", %d repeated header lines skipped", repeat);
    printf(")\n");
    rc = 0;
done:
    for (int k = 0; k < nin; k++) attn_table_free(&in[k]);
    attn_table_free(&have);
    free(in), free(items), free(text);
    return rc;
}
