/* attnbench report [--out DIR] [--baseline CSV]... CSV...: one self-contained HTML page of results
 * CSVs, DIR/index.html, that opens from a CI artifact with no server and no network: the summary
 * (summary.h: failures first, the best variant per case, skips with their reasons, provenance),
 * every picture `attnbench plots` draws of the CSVs (its SVG output inlined; the files stay in
 * DIR/plots), and, given --baseline CSVs, compare's verdicts of each CSV against the baseline of
 * the same columns (compare.h). No script, no external stylesheet, font or image.
 * Exit status: 0; 1 a picture failed to draw; 2 bad usage or input (a missing or unreadable CSV,
 * named); 3 nothing read (no row in any CSV). */
#ifndef ATTN_REPORT_H
#define ATTN_REPORT_H

/* argv[0] = "report". */
int attn_report_main(int argc, char **argv);

#endif
