/* The progress of a run's cases on stderr: cases done of the total, time elapsed, an estimate of
 * the time left. On a terminal one line rewritten in place (\r) that steps aside for the run's
 * other output; otherwise (a file, a pipe, a CI log) one plain line per finished case. A run of
 * one case shows none. One run per process: the state is this file's. */
#ifndef ATTN_PROGRESS_H
#define ATTN_PROGRESS_H

#include <stddef.h>
#include <stdio.h>

/* Start counting `total` cases, drawing on `f` (stderr); terminal form when f is a terminal. */
void attn_progress_start(FILE *f, int total);
/* One case finished: count it and draw. */
void attn_progress_step(void);
/* Terminal form: erase the line before other output, redraw it after; no-ops otherwise. */
void attn_progress_hide(void);
void attn_progress_show(void);
/* The run ended: on a terminal the last line is kept (newline). */
void attn_progress_end(void);

/* The line's text: "progress: 3/12 cases, 0:12 elapsed, ETA 0:36" ("ETA -" before the first
 * case has finished). */
void attn_progress_format(char *buf, size_t n, int done, int total, double elapsed);

#endif
