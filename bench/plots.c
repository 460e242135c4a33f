#include "plots.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.h"
#include "registry.h"
#include "table.h"

#ifndef ATTN_SOURCE_ROOT
#define ATTN_SOURCE_ROOT "."
#endif

#define PLOTS_USAGE "usage: attnbench plots [--out DIR] CSV...\n"

int attn_plots_render(const char *csv, const char *outdir, const char *axis, const char *panels)
{
    const char *dir = getenv("ATTNBENCH_PLOTS");
    char script[1100];
    snprintf(script, sizeof script, "%s/render.sh", dir && *dir ? dir : ATTN_SOURCE_ROOT "/plots");
    if (access(script, R_OK)) {
        fprintf(stderr, "attnbench: cannot read the plot script %s: %s\n", script, strerror(errno));
        return 127;
    }
    fflush(stdout);
    fflush(stderr);
    const pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "attnbench: cannot start %s: %s\n", script, strerror(errno));
        return 127;
    }
    if (pid == 0) {
        execlp("bash", "bash", script, csv, outdir, axis, panels ? panels : "", (char *)NULL);
        fprintf(stderr, "attnbench: cannot run bash %s: %s\n", script, strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return 127;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ------------------------------------------------------------------ attnbench plots */

typedef struct group {
    const attn_suite_t *s;
    int first;    /* the first file with rows of the suite: its header is the suite's */
    int nrows;
    int nfiles;   /* files holding rows of it */
} group_t;

static int usage(const char *msg)
{
    fprintf(stderr, "attnbench plots: %s\n" PLOTS_USAGE, msg);
    return 2;
}

static void help(void)
{
    printf(PLOTS_USAGE
           "Draws the pictures of results CSVs together (e.g. a sweep's CSV and the peers' CSV of\n"
           "the same suite), with plots/render.sh: per suite S, S-throughput, S-bandwidth,\n"
           "S-speedup, S-error and S-error-ratio as .png and .svg, with the suite's plot axis and\n"
           "panels from the registry. Rows are grouped by their suite column; the files holding\n"
           "rows of one suite must share its header. Given more than one CSV, each suite's rows\n"
           "are first written (header, then every file's rows in the order given) to\n"
           "DIR/<suite>-combined.csv, replacing it, and drawn from there.\n"
           "  --out DIR   where the pictures and combined CSVs go (created if missing; default:\n"
           "              the directory of the first CSV)\n"
           "Prints the path of every file written. Exit status: 0, 1 rendering failed, 2 bad\n"
           "usage or input (a missing or unreadable file, one that is not a results CSV, an\n"
           "unknown suite, files of one suite with different headers).\n");
}

static const attn_suite_t *find_suite(const char *name)
{
    for (int i = 0; attn_suites[i]; i++)
        if (!strcmp(attn_suites[i]->name, name)) return attn_suites[i];
    return NULL;
}

/* The names of the registry's suites, ", "-separated, into buf. */
static void suite_names(char *buf, size_t n)
{
    size_t l = 0;
    buf[0] = 0;
    for (int i = 0; attn_suites[i] && l + 1 < n; i++)
        l += (size_t)snprintf(buf + l, n - l, "%s%s", i ? ", " : "", attn_suites[i]->name);
}

/* 0 when table t has the columns render.sh draws suite s with (its plot axis and panels); else
 * -1 with a message naming the file and the column. */
static int has_plot_columns(const attn_table_t *t, const attn_suite_t *s, char *err, size_t n)
{
    char list[512];
    snprintf(list, sizeof list, "%s%s%s", s->plot_axis ? s->plot_axis : "",
             s->plot_panels && *s->plot_panels ? "," : "", s->plot_panels ? s->plot_panels : "");
    for (char *save = NULL, *c = strtok_r(list, ",", &save); c; c = strtok_r(NULL, ",", &save))
        if (*c && attn_table_col(t, c) < 0) {
            snprintf(err, n, "'%s' has rows of suite %s but no column '%s' (one of its plot axes "
                             "%s%s%s): not a results CSV of that suite?",
                     t->name, s->name, c, s->plot_axis, s->plot_panels && *s->plot_panels ? "," : "",
                     s->plot_panels ? s->plot_panels : "");
            return -1;
        }
    return 0;
}

/* Write the header of t[first] and the rows of suite (column scol[k] of each table) of every
 * table to path, through a temporary file renamed over it. Returns 0 or -1 with a message. */
static int write_suite_csv(const char *path, const attn_table_t *t, const int *scol, int nt,
                           int first, const char *suite, char *err, size_t n)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, n, "cannot write '%s': %s", tmp, strerror(errno));
        return -1;
    }
    fprintf(f, "%s\n", t[first].header);
    for (int k = 0; k < nt; k++)
        for (int r = 0; r < t[k].nrows; r++)
            if (!strcmp(t[k].rows[r][scol[k]], suite)) fprintf(f, "%s\n", t[k].raw[r]);
    const int bad = ferror(f);
    if (fclose(f) || bad) {
        snprintf(err, n, "writing '%s' failed: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path)) {
        snprintf(err, n, "cannot rename '%s' to '%s': %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

int attn_plots_main(int argc, char **argv)
{
    char msg[2048];
    const char *out = NULL;
    int nf = 0;
    const char **files = calloc((size_t)argc + 1, sizeof *files);
    if (!files) return usage("out of memory");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help();
            free(files);
            return 0;
        }
        if (!strcmp(a, "--out") || !strncmp(a, "--out=", 6)) {
            out = a[5] == '=' ? a + 6 : i + 1 < argc ? argv[++i] : NULL;
            if (!out || !*out) {
                free(files);
                return usage("--out needs a directory");
            }
            continue;
        }
        if (a[0] == '-' && a[1]) {
            snprintf(msg, sizeof msg, "unknown option '%s'", a);
            free(files);
            return usage(msg);
        }
        files[nf++] = a;
    }
    if (!nf) {
        free(files);
        return usage("give at least one results CSV");
    }

    int rc = 2, ng = 0;
    attn_table_t *t = calloc((size_t)nf, sizeof *t);
    int *scol = calloc((size_t)nf, sizeof *scol);
    int gcap = 8;
    group_t *g = malloc((size_t)gcap * sizeof *g); /* grown below when needed */
    unsigned char *seen = NULL; /* seen[gi * nf + k]: file k has rows of group gi */
    char *tmpdir = NULL;
    if (!t || !scol || !g) {
        fprintf(stderr, "attnbench plots: out of memory\n");
        goto done;
    }

    /* Read every file, group the rows by suite, check the headers: all before writing anything. */
    for (int k = 0; k < nf; k++) {
        struct stat st;
        if (stat(files[k], &st)) {
            fprintf(stderr, "attnbench plots: cannot read '%s': %s\n", files[k], strerror(errno));
            goto done;
        }
        if (S_ISDIR(st.st_mode)) {
            fprintf(stderr, "attnbench plots: '%s' is a directory, not a results CSV\n", files[k]);
            goto done;
        }
        if (attn_table_read(&t[k], files[k], msg, sizeof msg)) {
            fprintf(stderr, "attnbench plots: %s\n", msg);
            goto done;
        }
        if ((scol[k] = attn_table_col(&t[k], "suite")) < 0 || attn_table_col(&t[k], "variant") < 0 ||
            attn_table_col(&t[k], "status") < 0) {
            fprintf(stderr, "attnbench plots: '%s' has no suite, variant and status columns: not "
                            "an attnbench results CSV\n", files[k]);
            goto done;
        }
        if (!t[k].nrows) fprintf(stderr, "attnbench plots: note: '%s' has no rows\n", files[k]);
    }
    for (int k = 0; k < nf; k++)
        for (int r = 0; r < t[k].nrows; r++) {
            const char *name = t[k].rows[r][scol[k]];
            int gi = 0;
            while (gi < ng && strcmp(g[gi].s->name, name)) gi++;
            if (gi == ng) {
                const attn_suite_t *s = find_suite(name);
                if (!s) {
                    char names[512];
                    suite_names(names, sizeof names);
                    fprintf(stderr, "attnbench plots: '%s' line %d: %s '%s' (this attnbench knows: "
                                    "%s)\n", files[k], t[k].line[r],
                            *name ? "unknown suite" : "no suite name", name, names);
                    goto done;
                }
                if (has_plot_columns(&t[k], s, msg, sizeof msg)) {
                    fprintf(stderr, "attnbench plots: %s\n", msg);
                    goto done;
                }
                if (ng == gcap) {
                    group_t *ng_ = realloc(g, (size_t)gcap * 2 * sizeof *g);
                    if (!ng_) {
                        fprintf(stderr, "attnbench plots: out of memory\n");
                        goto done;
                    }
                    g = ng_, gcap *= 2;
                }
                g[ng++] = (group_t){s, k, 0, 0};
                unsigned char *sn = realloc(seen, (size_t)ng * (size_t)nf);
                if (!sn) {
                    fprintf(stderr, "attnbench plots: out of memory\n");
                    goto done;
                }
                seen = sn;
                memset(seen + (size_t)gi * (size_t)nf, 0, (size_t)nf);
            }
            if (!seen[(size_t)gi * (size_t)nf + (size_t)k]) {
                seen[(size_t)gi * (size_t)nf + (size_t)k] = 1;
                g[gi].nfiles++;
                if (k != g[gi].first && attn_table_same_schema(&t[g[gi].first], &t[k], msg, sizeof msg)) {
                    fprintf(stderr, "attnbench plots: rows of suite %s in files with different "
                                    "headers: %s\n", name, msg);
                    goto done;
                }
            }
            g[gi].nrows++;
        }
    if (!ng) {
        fprintf(stderr, "attnbench plots: no rows in %s%s: nothing to draw\n", nf > 1 ? "any of " : "",
                nf > 1 ? "the CSVs" : files[0]);
        goto done;
    }

    /* Where the pictures (and combined CSVs) go. */
    char outdir[1024];
    if (out) snprintf(outdir, sizeof outdir, "%s", out);
    else {
        snprintf(outdir, sizeof outdir, "%s", files[0]);
        char *slash = strrchr(outdir, '/');
        if (!slash) snprintf(outdir, sizeof outdir, ".");
        else if (slash == outdir) slash[1] = 0;
        else *slash = 0;
    }
    /* A combined CSV must not be one of the inputs: writing it would double that file's rows
     * on every run. */
    if (nf > 1)
        for (int gi = 0; gi < ng; gi++) {
            char path[1200];
            struct stat so, si;
            snprintf(path, sizeof path, "%s/%s-combined.csv", outdir, g[gi].s->name);
            if (stat(path, &so)) continue;
            for (int k = 0; k < nf; k++)
                if (!stat(files[k], &si) && si.st_dev == so.st_dev && si.st_ino == so.st_ino) {
                    fprintf(stderr, "attnbench plots: '%s' is the combined CSV this command writes "
                                    "for suite %s; give the CSVs it was made from instead\n",
                            files[k], g[gi].s->name);
                    goto done;
                }
        }
    if (attn_mkdirs(outdir, 1)) {
        fprintf(stderr, "attnbench plots: cannot create --out directory '%s': %s\n", outdir,
                strerror(errno));
        goto done;
    }

    rc = 0;
    for (int gi = 0; gi < ng; gi++) {
        const attn_suite_t *s = g[gi].s;
        char path[1200];
        const char *csv = files[0];
        if (nf > 1) {
            snprintf(path, sizeof path, "%s/%s-combined.csv", outdir, s->name);
            if (write_suite_csv(path, t, scol, nf, g[gi].first, s->name, msg, sizeof msg)) {
                fprintf(stderr, "attnbench plots: %s\n", msg);
                rc = 2;
                goto done;
            }
            printf("%s\n", path);
            fprintf(stderr, "attnbench plots: suite %s: %d rows from %d of %d files in %s\n", s->name,
                    g[gi].nrows, g[gi].nfiles, nf, path);
            csv = path;
        } else if (ng > 1) {
            /* one file of several suites: each suite's rows alone, since render.sh draws every
             * suite of a file with one x axis and one set of panels */
            if (!tmpdir) {
                const char *td = getenv("TMPDIR");
                char tpl[1100];
                snprintf(tpl, sizeof tpl, "%s/attnbench-plots.XXXXXX", td && *td ? td : "/tmp");
                if (!mkdtemp(tpl)) {
                    fprintf(stderr, "attnbench plots: cannot create a temporary directory %s: %s\n",
                            tpl, strerror(errno));
                    rc = 2;
                    goto done;
                }
                tmpdir = strdup(tpl);
                if (!tmpdir) {
                    rmdir(tpl);
                    fprintf(stderr, "attnbench plots: out of memory\n");
                    rc = 2;
                    goto done;
                }
            }
            snprintf(path, sizeof path, "%s/%s.csv", tmpdir, s->name);
            if (write_suite_csv(path, t, scol, nf, g[gi].first, s->name, msg, sizeof msg)) {
                fprintf(stderr, "attnbench plots: %s\n", msg);
                rc = 2;
                goto done;
            }
            csv = path;
        }
        fprintf(stderr, "attnbench plots: rendering suite %s (x: %s, panels: %s) into %s\n", s->name,
                s->plot_axis, s->plot_panels && *s->plot_panels ? s->plot_panels : "none", outdir);
        const int st = attn_plots_render(csv, outdir, s->plot_axis, s->plot_panels);
        if (tmpdir) unlink(path);
        if (st) {
            fprintf(stderr, "attnbench plots: rendering suite %s failed (render.sh exit status %d)\n",
                    s->name, st);
            rc = 1;
        }
    }
done:
    if (tmpdir) {
        for (int gi = 0; gi < ng; gi++) {
            char path[1200];
            snprintf(path, sizeof path, "%s/%s.csv", tmpdir, g[gi].s->name);
            unlink(path);
        }
        rmdir(tmpdir);
        free(tmpdir);
    }
    if (t)
        for (int k = 0; k < nf; k++) attn_table_free(&t[k]);
    free(t), free(scol), free(g), free(seen), free(files);
    return rc;
}
