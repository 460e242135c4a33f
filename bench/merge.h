/* attnbench merge [--skip-malformed] OUT.csv IN.csv...: the rows of results CSVs that share one header (the outputs
 * of a sweep's --shard runs, say) appended to OUT.csv through the safe CSV writer (created with
 * that header, or appended to when it has the same one). An input with another header is
 * refused, naming the file and the differing columns. Rows are written as they stand in their
 * files, in input order; a row equal byte for byte to one already in OUT.csv or earlier in the
 * inputs is dropped, so merging again changes nothing. An input with a malformed record (a wrong
 * field count or broken quoting, e.g. a row cut short) is refused and nothing is written (exit
 * 2, naming the file; the reader names the line), unless --skip-malformed: then its readable rows
 * are merged and the skipped ones counted. */
#ifndef ATTN_MERGE_H
#define ATTN_MERGE_H

/* argv[0] = "merge". Exit status: 0, 2 bad usage or input (a malformed row included). */
int attn_merge_main(int argc, char **argv);

#endif
