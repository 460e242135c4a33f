#include "merge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "results.h"

static int usage(const char *msg)
{
    fprintf(stderr, "attnbench merge: %s\nusage: attnbench merge [--skip-malformed] OUT.csv IN.csv...\n", msg);
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
}/* The inputs and what OUT already holds. */
typedef struct job {
    const char *out;
    int nin;
    char **paths;     /* the inputs */
    attn_table_t *in;
    attn_table_t have;  /* OUT's rows (none when it is missing or empty) */
    int skip_malformed; /* --skip-malformed: merge the readable rows of an input with bad ones */
} job_t;

/* Returns -1 to go on, else the exit status (0 after --help, 2 on bad usage). */
static int parse_args(int argc, char **argv, job_t *j)
{
    char msg[256];
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: attnbench merge [--skip-malformed] OUT.csv IN.csv...\n"
               "Appends the rows of the IN files (which must share one header) to OUT.csv,\n"
               "created with that header if missing; rows equal to one already there or earlier\n"
               "are dropped. An input with a malformed row (a wrong field count, broken quoting:\n"
               "a row cut short) is refused and nothing is written, unless --skip-malformed,\n"
               "which merges the readable rows and counts the skipped ones.\n"
               "Exit status: 0, 2 bad usage or input (different headers: the message names the\n"
               "file and the columns; a malformed row: the file and line).\n");
        return 0;
    }
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--skip-malformed")) j->skip_malformed = 1;
        else if (!strncmp(argv[i], "-", 1) && strcmp(argv[i], "-")) {
            snprintf(msg, sizeof msg, "unknown option '%.200s'", argv[i]);
            return usage(msg);
        }
    /* the files: every argument but the option */
    int nf = 0;
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--skip-malformed")) argv[1 + nf++] = argv[i];
    if (nf < 2) return usage("give the output CSV and at least one input CSV");
    j->out = argv[1], j->nin = nf - 1, j->paths = argv + 2;
    return -1;
}

/* Read the inputs (one header) and OUT's rows. 0, or -1 with a message on stderr. */
static int load(job_t *j)
{
    char msg[2048];
    struct stat so;
    const int out_exists = stat(j->out, &so) == 0;
    if (!(j->in = calloc((size_t)j->nin + 1, sizeof *j->in))) {
        fprintf(stderr, "attnbench merge: out of memory\n");
        return -1;
    }
    for (int k = 0; k < j->nin; k++) {
        struct stat si;
        if (out_exists && stat(j->paths[k], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
            fprintf(stderr, "attnbench merge: '%s' is both the output and an input\n", j->paths[k]);
            return -1;
        }
        if (attn_table_read(&j->in[k], j->paths[k], msg, sizeof msg) ||
            (k && attn_table_same_schema(&j->in[0], &j->in[k], msg, sizeof msg))) {
            fprintf(stderr, "attnbench merge: %s\n", msg);
            return -1;
        }
        if (j->in[k].nbad && !j->skip_malformed) {
            fprintf(stderr, "attnbench merge: '%s' has %d malformed row(s) (named above); nothing "
                            "written. --skip-malformed merges its readable rows without them\n",
                    j->paths[k], j->in[k].nbad);
            return -1;
        }
    }
    /* Rows OUT already holds take part in the duplicate check. */
    if (out_exists && so.st_size > 0 &&
        (attn_table_read(&j->have, j->out, msg, sizeof msg) ||
         attn_table_same_schema(&j->have, &j->in[0], msg, sizeof msg))) {
        fprintf(stderr, "attnbench merge: %s; refusing to append to it\n", msg);
        return -1;
    }
    return 0;
}

/* The inputs' rows not equal to an earlier one (in OUT or the inputs), as lines in *text
 * (malloc'd). 0, or -1 out of memory. */
static int compute(const job_t *j, char **text, size_t *len, int *written, int *ndup)
{
    const size_t nhave = (size_t)j->have.nrows;
    size_t total = nhave, bytes = 1, m = 0;
    for (int k = 0; k < j->nin; k++) {
        total += (size_t)j->in[k].nrows;
        for (int r = 0; r < j->in[k].nrows; r++) bytes += strlen(j->in[k].raw[r]) + 1;
    }
    item_t *items = malloc((total + 1) * sizeof *items), *sorted = malloc((total + 1) * sizeof *sorted);
    unsigned char *dup = calloc(total + 1, 1);
    *text = malloc(bytes);
    if (!items || !sorted || !dup || !*text) {
        free(items), free(sorted), free(dup), free(*text);
        return -1;
    }
    for (size_t r = 0; r < nhave; r++) items[m] = (item_t){j->have.raw[r], (int)m}, m++;
    for (int k = 0; k < j->nin; k++)
        for (int r = 0; r < j->in[k].nrows; r++) items[m] = (item_t){j->in[k].raw[r], (int)m}, m++;
    /* Duplicates: every item equal to an earlier one. */
    memcpy(sorted, items, total * sizeof *sorted);
    qsort(sorted, total, sizeof *sorted, by_raw_then_order);
    for (size_t i = 1; i < total; i++)
        if (!strcmp(sorted[i].raw, sorted[i - 1].raw)) dup[sorted[i].order] = 1;
    *len = 0, *written = 0, *ndup = 0;
    for (size_t i = nhave; i < total; i++) {
        if (dup[i]) {
            ++*ndup;
            continue;
        }
        const size_t l = strlen(items[i].raw);
        memcpy(*text + *len, items[i].raw, l);
        (*text)[*len + l] = '\n';
        *len += l + 1;
        ++*written;
    }
    free(items), free(sorted), free(dup);
    return 0;
}

static void print_summary(const job_t *j, int written, int ndup)
{
    int bad = 0, repeat = 0;
    for (int k = 0; k < j->nin; k++) bad += j->in[k].nbad, repeat += j->in[k].nrepeat;
    printf("merge: %d rows from %d files into %s (%d duplicates dropped", written, j->nin, j->out, ndup);
    if (bad) printf(", %d malformed rows skipped (--skip-malformed)", bad);
    if (repeat) printf(", %d repeated header lines skipped", repeat);
    printf(")\n");
}

/* Append the new rows to OUT through the safe writer. 0, or -1 with a message. */
static int append(const job_t *j, const char *text, size_t len)
{
    char msg[2048];
    attn_csv_t csv;
    if (attn_csv_open(&csv, j->out, j->in[0].header, msg, sizeof msg)) {
        fprintf(stderr, "attnbench merge: %s\n", msg);
        return -1;
    }
    const int rc = attn_csv_append_lines(&csv, text, len);
    if (rc) fprintf(stderr, "attnbench merge: writing %s failed: %s\n", j->out, strerror(errno));
    attn_csv_close(&csv);
    return rc;
}

int attn_merge_main(int argc, char **argv)
{
    job_t j;
    memset(&j, 0, sizeof j);
    int rc = parse_args(argc, argv, &j);
    if (rc >= 0) return rc;
    char *text = NULL;
    size_t len = 0;
    int written = 0, ndup = 0;
    rc = 2;
    if (load(&j)) goto done;
    int total = 0;
    for (int k = 0; k < j.nin; k++) total += j.in[k].nrows;
    if (!total) {
        fprintf(stderr, "attnbench merge: no rows in %s: nothing to merge\n",
                j.nin > 1 ? "any input" : j.paths[0]);
        goto done;
    }
    if (compute(&j, &text, &len, &written, &ndup)) {
        fprintf(stderr, "attnbench merge: out of memory\n");
        goto done;
    }
    if (append(&j, text, len)) goto done;
    print_summary(&j, written, ndup);
    rc = 0;
done:
    for (int k = 0; j.in && k < j.nin; k++) attn_table_free(&j.in[k]);
    attn_table_free(&j.have);
    free(j.in), free(text);
    return rc;
}
