/* Isolated cases: each case in child processes (bench/isolate.h), so a crash, a hang or a lost
 * CUDA context costs one row, never the run. Only the parent writes the CSV, from the rows the
 * children send: a row is whole or absent. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "isolate.h"
#include "runner.h"
#include "util.h"

void run_child_send(run_t *r, char type, int idx, const char *text, size_t len)
{
    if (r->child_fd < 0) return;
    if (attn_msg_send(r->child_fd, type, idx, text, len)) {
        if (errno == EMSGSIZE)
            fprintf(stderr, "attnbench: a message of %zu bytes is over the 4 GiB a message can say\n",
                    len);
        _exit(4);
    }
    r->last_msg = attn_now();
}

void run_heartbeat(run_t *r)
{
    if (r->child_fd >= 0 && attn_now() - r->last_msg > 0.5) run_child_send(r, 'P', -1, NULL, 0);
}

void run_flush_manifest(run_t *r)
{
    if (r->child_fd < 0 || !r->manifest) return;
    fclose(r->manifest);
    if (r->mlen) run_child_send(r, 'M', -1, r->mbuf, r->mlen);
    free(r->mbuf);
    r->mbuf = NULL, r->mlen = 0;
    r->manifest = open_memstream(&r->mbuf, &r->mlen);
}

typedef struct case_job {
    run_t *r;
    const attn_suite_t *s;
    const int64_t *v;
    int index, pos, ncases, from;
    attn_csv_t *csv;
} case_job_t;

/* The child of one case: open the device if the case has device work, run the case from variant
 * `from`; exits 0, or CHILD_CONTEXT_LOST. */
static int case_child(void *arg, int fd)
{
    case_job_t *j = arg;
    run_t *r = j->r;
    r->child_fd = fd;
    r->last_msg = attn_now();
    if (r->manifest) r->manifest = open_memstream(&r->mbuf, &r->mlen);
    int device_work = 0;
    for (int k = j->from; k < j->s->nvariants; k++) {
        const attn_variant_t *x = &j->s->variants[k];
        device_work |= attn_selected(&r->sel, x) && attn_exec_of(&r->sel, x)->uses_device;
    }
    if (device_work && r->dev.usable) {
        const double gbps = r->dev.peak_gbps, tflops = r->dev.peak_tflops; /* the probe's */
        attn_gpu_open(&r->dev, r->o.device);
        r->dev.peak_gbps = gbps, r->dev.peak_tflops = tflops;
    }
    int rc = run_case(r, j->s, j->v, j->index, j->pos, j->ncases, j->csv, j->from);
    run_flush_manifest(r);
    return rc;
}

/* A row the parent writes itself, for a variant whose child died before writing it. */
static void parent_fail_row(run_t *r, attn_csv_t *csv, const attn_suite_t *s, int j,
                            const int64_t *v, const char *why)
{
    result_t res = {.status = "fail"};
    snprintf(res.reason, sizeof res.reason, "%s", why);
    run_write_row(r, csv, s, &s->variants[j], v, &res);
}

/* A row a child sent, "status\nCSV row\nstdout line", a NUL and its timing samples (run_row.c):
 * printed, counted and appended here. */
static void take_row(run_t *r, attn_csv_t *csv, const attn_msg_t *m)
{
    const size_t tl = strnlen(m->text, m->len);
    const char *nl = memchr(m->text, '\n', tl);
    const char *nl2 = nl ? memchr(nl + 1, '\n', tl - (size_t)(nl + 1 - m->text)) : NULL;
    /* the samples, copied out: doubles at any alignment in the message */
    const size_t sb = tl < m->len ? m->len - tl - 1 : 0;
    const int nms = (int)(sb / sizeof(double));
    double *ms = nms ? malloc(sb) : NULL;
    if (nms && !ms) abort();
    if (nms) memcpy(ms, m->text + tl + 1, (size_t)nms * sizeof *ms);
    char status[8] = "";
    if (nl2) snprintf(status, sizeof status, "%.*s", (int)(nl - m->text), m->text);
    run_count(r, status);
    if (nl2) {
        printf("%s\n", nl2 + 1);
        fflush(stdout);
    }
    if (csv && nl2 && nl2 > nl + 1) {
        attn_row_t row = {.buf = (char *)nl + 1, .len = (size_t)(nl2 - nl - 1)};
        if (attn_csv_append_timed(csv, &row, ms, nms))
            fprintf(stderr, "attnbench: writing a row to %s failed: %s\n", csv->path,
                    strerror(errno));
    }
    free(ms);
}

/* What one child did: the variant it was in when it ended (-1: none), rows it sent. */
typedef struct child_end {
    int running, nrows, timed_out, exited;
    char why[256];
} child_end_t;

/* Follow child ch to its end: take its rows (done[j] set), manifest entries, heartbeats. */
static void follow(run_t *r, attn_child_t *ch, attn_csv_t *csv, int nv, unsigned char *done,
                   child_end_t *end)
{
    *end = (child_end_t){.running = -1};
    attn_msg_t m;
    for (;;) {
        const int k = attn_child_next(ch, r->o.timeout, &m);
        if (k == ATTN_CHILD_END) break;
        if (k == ATTN_CHILD_TIMEOUT) {
            end->timed_out = 1;
            attn_child_kill(ch); /* then read what it sent before, up to the end */
        } else if (k == ATTN_CHILD_SIGNAL) {
            if (attn_stop_signal) attn_child_kill(ch);
        } else if (m.type == 'B' && m.idx >= 0 && m.idx < nv) {
            end->running = m.idx;
        } else if (m.type == 'R' && m.idx >= 0 && m.idx < nv && !done[m.idx]) {
            take_row(r, csv, &m);
            done[m.idx] = 1;
            end->nrows++;
            end->running = -1;
        } else if (m.type == 'M' && r->manifest && m.len) {
            fwrite(m.text, 1, m.len, r->manifest);
            r->manifest_n++;
        }
    }
    end->exited = WIFEXITED(ch->status) ? WEXITSTATUS(ch->status) : -1;
    char how[160];
    attn_child_status_str(ch, how, sizeof how);
    if (end->timed_out)
        snprintf(end->why, sizeof end->why, "killed after %g s without progress (hang?)",
                 r->o.timeout);
    else snprintf(end->why, sizeof end->why, "%s", how);
}

/* After a child ended early: record what it left and say where the next child starts (-1: the
 * case is over). */
static int next_from(run_t *r, const attn_suite_t *s, const int64_t *v, attn_csv_t *csv, int from,
                     int nv, unsigned char *done, const child_end_t *end)
{
    int next = -1; /* the first selected variant still without a row */
    for (int j = from; j < nv && next < 0; j++)
        if (!done[j] && attn_selected(&r->sel, &s->variants[j])) next = j;
    if (next < 0) {
        if (end->exited != 0 && end->exited != CHILD_CONTEXT_LOST)
            fprintf(stderr, "attnbench: the case's process %s after its last row\n", end->why);
        return -1;
    }
    if (end->running >= 0) {
        fprintf(stderr, "attnbench: %s/%s %s; the case goes on in a new process\n", s->name,
                s->variants[end->running].name, end->why);
        parent_fail_row(r, csv, s, end->running, v, end->why);
        done[end->running] = 1;
        return end->running + 1;
    }
    if (end->exited == CHILD_CONTEXT_LOST && end->nrows) {
        fprintf(stderr, "attnbench: CUDA context lost; the case goes on in a new process\n");
        return next;
    }
    /* died outside any variant: making the inputs, or between variants */
    char w2[400];
    snprintf(w2, sizeof w2, "the case's process %s outside any variant (making inputs?)", end->why);
    for (int j = next; j < nv; j++)
        if (!done[j] && attn_selected(&r->sel, &s->variants[j])) parent_fail_row(r, csv, s, j, v, w2);
    return -1;
}

/* The first child runs every selected variant; when it dies in the middle of variant j (a crash,
 * a hang past --timeout, an exit), j is recorded as failed with the reason and a fresh child
 * goes on from j + 1; after a GPU error that poisoned the CUDA context (the child wrote j's row
 * and exited CHILD_CONTEXT_LOST) likewise. */
void run_case_isolated(run_t *r, const attn_suite_t *s, const int64_t *v, int index, int pos,
                       int ncases, attn_csv_t *csv)
{
    const int nv = s->nvariants < 64 ? s->nvariants : 64;
    unsigned char done[64] = {0};
    int from = 0;
    while (from >= 0 && from < nv && !attn_stop_signal) {
        case_job_t job = {r, s, v, index, pos, ncases, from, csv};
        attn_child_t ch;
        if (attn_child_start(&ch, case_child, &job)) {
            /* Never run it here instead: this process has not opened the device (it must not,
             * children could not use it then), so GPU rows would fail for the wrong reason. */
            char why[160];
            snprintf(why, sizeof why, "cannot start a process for the case: %s", strerror(errno));
            fprintf(stderr, "attnbench: %s\n", why);
            for (int j = from; j < nv; j++)
                if (!done[j] && attn_selected(&r->sel, &s->variants[j]))
                    parent_fail_row(r, csv, s, j, v, why);
            return;
        }
        child_end_t end;
        follow(r, &ch, csv, nv, done, &end);
        attn_child_free(&ch);
        if (attn_stop_signal) return; /* what did not finish gets no row */
        from = next_from(r, s, v, csv, from, nv, done, &end);
    }
}
