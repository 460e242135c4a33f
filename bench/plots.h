/* attnbench plots [--out DIR] CSV...: the pictures of results CSVs drawn together (a sweep's CSV
 * and the peers' CSV of the same suite, say), by plots/render.sh.
 *
 * Rows are grouped by their suite column; every file that holds rows of a suite must have the
 * same header as the first such file (else exit 2, naming both files and the columns). Each
 * suite is looked up by name in the registry (attn_suites[]) for its plot axis and panels.
 * Given more than one file, each suite's rows (the header, then the rows of every file in the
 * order given) are written to DIR/<suite>-combined.csv (replaced when it exists), and the
 * pictures are drawn from it; given one file, from that file. DIR defaults to the directory of
 * the first CSV. Exit status: 0, 1 rendering failed, 2 bad usage or input (the message names
 * the file or the value). */
#ifndef ATTN_PLOTS_H
#define ATTN_PLOTS_H

/* argv[0] = "plots". */
int attn_plots_main(int argc, char **argv);

/* Run plots/render.sh CSV OUTDIR AXIS PANELS (panels NULL: one panel) without a shell; the
 * script is $ATTNBENCH_PLOTS/render.sh, or the source tree's plots/render.sh. The paths it
 * writes go to stdout, its messages to stderr. Returns render.sh's exit status (0 on success),
 * or 127 when it could not be started (with a message). */
int attn_plots_render(const char *csv, const char *outdir, const char *axis, const char *panels);

#endif
