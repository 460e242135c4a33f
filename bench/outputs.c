#include "outputs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "summary.h"

int attn_outputs_open(attn_outputs_t *o, const char *json, const char *md, char *err, size_t n)
{
    memset(o, 0, sizeof *o);
    o->json.fd = -1;
    /* standard output carries the lines printed per row */
    if ((json && !strcmp(json, "-")) || (md && !strcmp(md, "-"))) {
        snprintf(err, n, "%s -: standard output carries the run's lines; give a file path",
                 json && !strcmp(json, "-") ? "--json" : "--md");
        return -1;
    }
    if (json) {
        if (attn_json_open(&o->json, json, err, n)) return -1;
        o->use_json = 1;
    }
    if (md) {
        FILE *f = attn_mkdirs(md, 0) ? NULL : fopen(md, "w");
        if (!f || fclose(f)) {
            snprintf(err, n, "cannot write --md path '%s': %s", md, strerror(errno));
            attn_json_close(&o->json);
            return -1;
        }
        o->md = md;
    }
    return 0;
}

void attn_outputs_row(void *ctx, const char *header, const char *row, const double *samples_ms,
                      int n)
{
    attn_outputs_t *o = ctx;
    if (o->use_json && attn_json_append(&o->json, header, row, samples_ms, n)) {
        if (!o->nbad++)
            fprintf(stderr, "attnbench: writing a row to --json %s failed: %s\n", o->json.path,
                    strerror(errno));
    }
    if (!o->md) return;
    int k = 0;
    while (k < o->nsuites && strcmp(o->header[k], header)) k++;
    if (k == o->nsuites) {
        if (k == ATTN_OUTPUTS_MAX_SUITES) return;
        o->header[o->nsuites++] = strdup(header);
        if (!o->header[k]) abort();
        attn_buf_puts(&o->text[k], header), attn_buf_puts(&o->text[k], "\n");
    }
    attn_buf_puts(&o->text[k], row), attn_buf_puts(&o->text[k], "\n");
}

/* The rows of each suite into a temporary CSV (the summary reads files: results.h), summarised. */
static int write_md(attn_outputs_t *o, const char *const *names, int nn)
{
    const char *td = getenv("TMPDIR");
    char paths[ATTN_OUTPUTS_MAX_SUITES][1100];
    const char *pp[ATTN_OUTPUTS_MAX_SUITES];
    int np = 0, rc = 0;
    for (int k = 0; k < o->nsuites && !rc; k++) {
        snprintf(paths[k], sizeof paths[k], "%s/attnbench-md.XXXXXX", td && *td ? td : "/tmp");
        const int fd = mkstemp(paths[k]);
        if (fd < 0 || write(fd, o->text[k].p, o->text[k].len) != (ssize_t)o->text[k].len) {
            fprintf(stderr, "attnbench: --md: cannot write a temporary file %s: %s\n", paths[k],
                    strerror(errno));
            rc = 2;
        }
        if (fd >= 0) close(fd), pp[np++] = paths[k];
    }
    const char *self = "this run";
    if (!rc) rc = attn_summary_md_files(o->md, pp, np, nn ? names : &self, nn ? nn : 1);
    for (int k = 0; k < np; k++) unlink(pp[k]);
    return rc;
}

int attn_outputs_close(attn_outputs_t *o, const char *const *names, int nn)
{
    int rc = 0;
    if (o->use_json) {
        fprintf(stderr, "json: %s\n", o->json.path);
        attn_json_close(&o->json);
    }
    if (o->md) {
        rc = write_md(o, names, nn);
        if (!rc) fprintf(stderr, "markdown: %s\n", o->md);
    }
    for (int k = 0; k < o->nsuites; k++) free(o->header[k]), attn_buf_free(&o->text[k]);
    o->nsuites = 0;
    return rc;
}
