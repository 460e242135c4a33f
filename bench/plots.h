/* attnbench plots [--out DIR] [--x AXIS --panels AXES] CSV...: the pictures of results CSVs
 * drawn together (a sweep's CSV and the peers' CSV of the same suite, say). The CSVs are read by
 * the one results reader (results.h: of the rows of one case the latest measurement is drawn);
 * this file writes gnuplot's data files and scripts and runs gnuplot (plots/README.md says what
 * each picture shows).
 *
 * Rows are grouped by their suite column; every file that holds rows of a suite must have the
 * same header as the first such file (else exit 2, naming both files and the columns). Each
 * suite is looked up by name in the registry (attn_suites[]) for its plot axis and panels
 * (--x and --panels override them). Given more than one file, each suite's rows (the header,
 * then the rows of every file in the order given) are also written to DIR/<suite>-combined.csv
 * (replaced when it exists). DIR defaults to the directory of the first CSV. Every row is on
 * a picture: an axis neither on x nor a panel with several values (not following x and the
 * panels) splits the pictures into one set per value combination, named after it
 * (S-throughput-B=2-H=8.png), and every title names the values it fixes. A picture with no
 * point is not drawn (stderr says why; an old file of it is removed). --baseline VARIANT: the
 * speedup's baseline (default: our cuBLAS variants). Exit status: 0, 1 rendering failed, 2 bad
 * usage or input (the message names the file or the value), or nothing to draw.
 * ATTNBENCH_PLOTS_KEEP=1 keeps the temporary scripts and data files (the directory is named on
 * stderr). */
#ifndef ATTN_PLOTS_H
#define ATTN_PLOTS_H

#include <stdio.h>

/* argv[0] = "plots". */
int attn_plots_main(int argc, char **argv);

/* attnbench plots for the report (bench/report.c): the same, except that a suite with nothing to
 * draw is a note and exit status 0, as in a sweep: its rows may all be skips. */
int attn_plots_for_report(int argc, char **argv);

/* Draw every suite of the results CSV at csv into outdir (created if missing) with x axis `axis`
 * and panels `panels` (comma-separated axes; NULL or "": one panel). The paths written go to
 * stdout, messages to stderr (a suite with nothing to draw: a note, and 0: a sweep's rows may
 * all be skips). Returns 0, 1 a drawing failed, 2 bad input (an unreadable file,
 * an axis the suite lacks), or 127 when gnuplot (with its pngcairo and svg terminals) cannot be
 * run (with a message). */
int attn_plots_render(const char *csv, const char *outdir, const char *axis, const char *panels);

/* Run gnuplot on script, its output into log: its exit status, or 127 when it cannot start. */
int attn_gnuplot(const char *script, const char *log);
/* s as a gnuplot single-quoted string: a ' is doubled, backslashes are literal. */
void attn_gnuplot_quote(FILE *f, const char *s);

#endif
