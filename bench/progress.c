/* The progress line (progress.h). The estimate is the mean time of a finished case times the
 * cases left: sweeps grow their cases along an axis, so it runs short early on and is honest
 * by the end; it is a hint for a person waiting, never a number any test or gate reads. */
#include "progress.h"

#include <stdio.h>
#include <unistd.h>

#include "util.h"

static struct {
    FILE *f;
    int total, done, tty, shown;
    double t0;
} P;

/* "0:07", "12:34", "1:02:03" */
static void fmt_time(char *buf, size_t n, double s)
{
    long t = s > 0 ? (long)(s + 0.5) : 0;
    if (t >= 3600) snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(buf, n, "%ld:%02ld", t / 60, t % 60);
}

void attn_progress_format(char *buf, size_t n, int done, int total, double elapsed)
{
    char el[32], eta[32] = "-";
    fmt_time(el, sizeof el, elapsed);
    if (done > 0) fmt_time(eta, sizeof eta, elapsed / done * (total - done));
    snprintf(buf, n, "progress: %d/%d cases, %s elapsed, ETA %s", done, total, el, eta);
}

void attn_progress_start(FILE *f, int total)
{
    P.f = total > 1 ? f : NULL;
    P.total = total, P.done = 0, P.shown = 0, P.t0 = attn_now();
    P.tty = P.f && isatty(fileno(P.f));
}

void attn_progress_show(void)
{
    if (!P.f || !P.tty || P.shown) return;
    char line[160];
    attn_progress_format(line, sizeof line, P.done, P.total, attn_now() - P.t0);
    fflush(stdout); /* rows on stdout share the terminal: theirs first */
    fprintf(P.f, "\r%s\033[K", line);
    fflush(P.f);
    P.shown = 1;
}

void attn_progress_hide(void)
{
    if (!P.f || !P.tty || !P.shown) return;
    fputs("\r\033[K", P.f);
    fflush(P.f);
    P.shown = 0;
}

void attn_progress_step(void)
{
    if (!P.f) return;
    P.done++;
    if (P.tty) {
        P.shown = 0; /* redrawn in place: \r then the line */
        attn_progress_show();
        return;
    }
    char line[160];
    attn_progress_format(line, sizeof line, P.done, P.total, attn_now() - P.t0);
    fprintf(P.f, "%s\n", line);
    fflush(P.f);
}

void attn_progress_end(void)
{
    if (P.f && P.tty && P.shown) fputc('\n', P.f), fflush(P.f);
    P.f = NULL;
}
