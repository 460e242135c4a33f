#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "results.h"

#ifndef ATTN_SOURCE_ROOT
#define ATTN_SOURCE_ROOT "."
#endif

const char *attn_verdict_name(attn_verdict_t v)
{
    switch (v) {
    case ATTN_SAME: return "same";
    case ATTN_FASTER: return "faster";
    case ATTN_SLOWER: return "slower";
    case ATTN_AMBIGUOUS: return "ambiguous";
    }
    return "?";
}

attn_verdict_t attn_compare_verdict(attn_timing_t b, attn_timing_t w, double noise, double *ratio,
                                    double *u, const char **why)
{
    *ratio = w.median / b.median;
    const double eb = b.n > 0 ? 1.58 * b.iqr / (b.median * sqrt(b.n)) : INFINITY;
    const double ew = w.n > 0 ? 1.58 * w.iqr / (w.median * sqrt(w.n)) : INFINITY;
    *u = eb + ew;
    *why = NULL;
    const double L = log(*ratio), F = log1p(noise), A = log1p(noise > 0.05 ? noise : 0.05);
    if (b.n < ATTN_COMPARE_MIN_SAMPLES || w.n < ATTN_COMPARE_MIN_SAMPLES) {
        *why = "fewer than 5 samples";
        return ATTN_AMBIGUOUS;
    }
    if (fabs(L) > *u && fabs(L) > F) return L > 0 ? ATTN_SLOWER : ATTN_FASTER;
    if (fabs(L) <= F && *u <= A) return ATTN_SAME;
    *why = fabs(L) > F ? "change within the spread" : "spread too wide to call it the same";
    return ATTN_AMBIGUOUS;
}

/* ------------------------------------------------------------------ loading and matching */

/* One side: its results (the rule of results.h), and its keys' winners by case. */
typedef struct side {
    attn_results_t r;
    const char *name;
    int c_n, c_iqr;                  /* samples, iqr_ms */
    char **ckey;                     /* per key: its case (the key without the device) */
    int *bycase;                     /* key indices sorted by case */
    int ncase;                       /* distinct cases: the first ncase of bycase */
    int nmultidev;                   /* cases with winners on more than one device */
} side_t;

/* The case of a key (malloc'd): the key without its fifth field, the device. */
static char *case_of(const char *key)
{
    const char *p = key;
    for (int i = 0; i < 4 && p; i++) p = strchr(p, '\x1f') ? strchr(p, '\x1f') + 1 : NULL;
    const char *dev_end = p ? strchr(p, '\x1f') : NULL;
    char *c = malloc(strlen(key) + 1);
    if (c && p && dev_end) sprintf(c, "%.*s%s", (int)(p - key), key, dev_end + 1);
    else if (c) strcpy(c, key);
    return c;
}

static const side_t *sort_side;
static int by_case_then_first(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    const int c = strcmp(sort_side->ckey[x], sort_side->ckey[y]);
    return c ? c : (x > y) - (x < y);
}

/* The winner's timing, when it has one (a timing with a samples count). */
static int timing_of(const side_t *s, attn_rowref_t at, attn_timing_t *tm)
{
    if (attn_results_kind(&s->r, at, &tm->median) != ATTN_ROW_TIMED) return 0;
    const char *n = attn_results_at(&s->r, at, s->c_n), *iqr = attn_results_at(&s->r, at, s->c_iqr);
    char *e1, *e2 = "";
    tm->n = (int)strtol(n, &e1, 10);
    tm->iqr = iqr[0] ? strtod(iqr, &e2) : 0.0;
    return n[0] && !*e1 && !*e2 && isfinite(tm->iqr) && tm->iqr >= 0;
}

/* Read one side and index its keys by case; of one case on several devices the key whose
 * winner comes last counts. */
static int load_side(side_t *s, const char *path, char *err, size_t n)
{
    memset(s, 0, sizeof *s);
    s->name = path;
    if (attn_results_load(&s->r, &path, 1, err, n)) return -1;
    const attn_table_t *t = &s->r.f[0].t;
    const char *need[] = {"reason", "samples", "iqr_ms"};
    for (int i = 0; i < 3; i++)
        if (attn_table_col(t, need[i]) < 0) {
            snprintf(err, n, "%s has no column '%s': not an attnbench results file", path, need[i]);
            return -1;
        }
    s->c_n = attn_table_col(t, "samples"), s->c_iqr = attn_table_col(t, "iqr_ms");
    s->bycase = malloc(((size_t)s->r.nkeys + 1) * sizeof *s->bycase);
    s->ckey = calloc((size_t)s->r.nkeys + 1, sizeof *s->ckey);
    if (!s->bycase || !s->ckey) {
        snprintf(err, n, "out of memory");
        return -1;
    }
    for (int i = 0; i < s->r.nkeys; i++)
        if (!(s->ckey[s->bycase[i] = i] = case_of(s->r.k[i].key))) {
            snprintf(err, n, "out of memory");
            return -1;
        }
    sort_side = s;
    qsort(s->bycase, (size_t)s->r.nkeys, sizeof *s->bycase, by_case_then_first);
    for (int i = 0; i < s->r.nkeys;) {
        const char *ki = s->ckey[s->bycase[i]];
        int j = i + 1, last = s->bycase[i];
        for (; j < s->r.nkeys && !strcmp(s->ckey[s->bycase[j]], ki); j++) {
            const attn_result_t *a = &s->r.k[s->bycase[j]], *b = &s->r.k[last];
            if (a->win.file > b->win.file || (a->win.file == b->win.file && a->win.row > b->win.row))
                last = s->bycase[j];
        }
        s->nmultidev += j > i + 1;
        s->bycase[s->ncase++] = last;
        i = j;
    }
    return 0;
}

static void free_side(side_t *s)
{
    for (int i = 0; s->ckey && i < s->r.nkeys; i++) free(s->ckey[i]);
    free(s->ckey);
    free(s->bycase);
    attn_results_free(&s->r);
}

/* The key of s that counts at case kc, or -1 (binary search over bycase). */
static int find(const side_t *s, const char *kc)
{
    int lo = 0, hi = s->ncase - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2, c = strcmp(s->ckey[s->bycase[mid]], kc);
        if (!c) return s->bycase[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* Whether key i of s is the one its case counts (not a key of the case on another device that
 * came earlier). */
static int counts(const side_t *s, int i)
{
    return find(s, s->ckey[i]) == i;
}

/* "suite variant backend dtype  B=1,H=2,..." for a key's winner. */
static const char *label(const side_t *s, int key, char *buf, size_t n)
{
    const attn_rowref_t at = s->r.k[key].win;
    const attn_results_file_t *f = &s->r.f[at.file];
    char **v = attn_results_row(&s->r, at);
    size_t off = (size_t)snprintf(buf, n, "%s %s %s %s", v[f->c_suite], v[f->c_variant],
                                  v[f->c_backend], v[f->c_dtype]);
    for (int c = f->ax0; c < f->ax1 && off < n; c++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s=%s", c == f->ax0 ? "  " : ",",
                                f->t.cols[c], v[c]);
    return buf;
}

/* ------------------------------------------------------------------ the plot */

static int plot(const char *out, const char *data, int nrows, double noise)
{
    if (strchr(out, '\'') || strchr(data, '\'')) {
        fprintf(stderr, "attnbench compare: --plot '%s': a path with a quote (') cannot be "
                        "passed to gnuplot\n", out);
        return -1;
    }
    const char *dir = getenv("ATTNBENCH_PLOTS");
    char script[1200], expr[3000];
    snprintf(script, sizeof script, "%s/compare.gp", dir && *dir ? dir : ATTN_SOURCE_ROOT "/plots");
    const size_t ol = strlen(out);
    const int svg = ol > 4 && !strcmp(out + ol - 4, ".svg");
    snprintf(expr, sizeof expr, "datafile='%s'; outfile='%s'; nrows=%d; noise=%g; svg=%d", data,
             out, nrows, noise, svg);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", "-e", expr, script, (char *)NULL);
        fprintf(stderr, "attnbench compare: cannot run gnuplot: %s (apt-get install gnuplot-nox)\n",
                strerror(errno));
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
        fprintf(stderr, "attnbench compare: rendering %s with %s failed\n", out, script);
        return -1;
    }
    printf("plot: %s\n", out);
    return 0;
}

/* ------------------------------------------------------------------ the command: parse */

#define COMPARE_USAGE "usage: attnbench compare BASE.csv NEW.csv [--fail-above PCT] [--noise PCT] " \
                      "[--plot FILE.png|FILE.svg]\n"

typedef struct opts {
    const char *pos[2], *plot;
    int npos;
    double fail_above, noise_pct;   /* fail_above < 0: not given */
} opts_t;

static int usage(const char *msg)
{
    fprintf(stderr, "attnbench compare: %s\n" COMPARE_USAGE, msg);
    return 2;
}

static void help(void)
{
    printf(COMPARE_USAGE
           "Matches rows by suite, variant, backend, dtype and axes; prints NEW/BASE time\n"
           "ratios with verdicts (same, faster, slower, ambiguous) and a summary. Of rows\n"
           "repeating a case in one file, the latest measurement counts (a timing or a fail;\n"
           "a --check row or a skip never hides one; a fail after a timing is said so).\n"
           "  --fail-above PCT  exit 1 when a row is slower by more than PCT percent\n"
           "                    (a verdict of slower: beyond the rows' spread), or fails\n"
           "                    its check in NEW after passing in BASE\n"
           "  --noise PCT       changes below PCT percent count as the same (default 2)\n"
           "  --plot FILE       draw the ratios with their spread (gnuplot)\n"
           "Exit status: 0, 1 a regression (with --fail-above), 2 bad usage or input.\n");
}

static int parse_pct(const char *name, const char *v, double *out, char *msg, size_t n)
{
    char *e;
    errno = 0;
    double x = v ? strtod(v, &e) : 0;
    if (!v || !*v || *e || errno || !(x >= 0) || x > 1e6) {
        snprintf(msg, n, "%s '%s': expected a percentage >= 0", name, v ? v : "");
        return -1;
    }
    *out = x;
    return 0;
}

/* One option (argv[*i], its value maybe the next argument) into o. 0, or -1 with a message. */
static int parse_option(int argc, char **argv, int *i, opts_t *o, char *msg, size_t n)
{
    const char *a = argv[*i], *eq = strchr(a, '=');
    char name[32];
    snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
    if (strcmp(name, "--fail-above") && strcmp(name, "--noise") && strcmp(name, "--plot")) {
        snprintf(msg, n, "unknown option '%s'", name);
        return -1;
    }
    const char *v = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!strcmp(name, "--fail-above")) return parse_pct(name, v, &o->fail_above, msg, n);
    if (!strcmp(name, "--noise")) return parse_pct(name, v, &o->noise_pct, msg, n);
    if (!v || !*v) {
        snprintf(msg, n, "--plot needs a file name (.png or .svg)");
        return -1;
    }
    o->plot = v;
    return 0;
}

/* Returns -1 to go on, else the exit status (0 after --help, 2 on bad usage). */
static int parse_args(int argc, char **argv, opts_t *o)
{
    char msg[2048];
    *o = (opts_t){.fail_above = -1, .noise_pct = 2};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help();
            return 0;
        }
        if (!strncmp(a, "--", 2)) {
            if (parse_option(argc, argv, &i, o, msg, sizeof msg)) return usage(msg);
            continue;
        }
        if (o->npos == 2) {
            snprintf(msg, sizeof msg, "unexpected argument '%s': give two CSVs, BASE and NEW", a);
            return usage(msg);
        }
        o->pos[o->npos++] = a;
    }
    return o->npos == 2 ? -1 : usage("give two CSVs, BASE and NEW");
}

/* ------------------------------------------------------------------ compute */

typedef struct pair {
    int b, n;                  /* keys of BASE and NEW */
    int hb, hn;                /* timed on each side */
    attn_timing_t tb, tn;
    attn_verdict_t v;
    double ratio, u;
    const char *why;
    int broken, over;          /* ok in BASE, fails in NEW; slower beyond --fail-above */
} pair_t;

typedef struct outcome {
    pair_t *p;
    int np;
    int count[4], untimed, ntimed, regress, broke, only_b, only_n;
    double sum_log;
} outcome_t;

/* Pair every case of BASE with NEW's and judge each pair. 0, or -1 out of memory. */
static int compute(const side_t *B, const side_t *N, const opts_t *o, outcome_t *out)
{
    memset(out, 0, sizeof *out);
    out->p = calloc((size_t)B->ncase + 1, sizeof *out->p);
    if (!out->p) return -1;
    const double noise = o->noise_pct / 100.0;
    for (int i = 0; i < B->r.nkeys; i++) {
        if (!counts(B, i)) continue;
        const int n = find(N, B->ckey[i]);
        if (n < 0) {
            out->only_b++;
            continue;
        }
        pair_t *p = &out->p[out->np++];
        p->b = i, p->n = n;
        p->hb = timing_of(B, B->r.k[i].win, &p->tb);
        p->hn = timing_of(N, N->r.k[n].win, &p->tn);
        if (!p->hb || !p->hn) {
            const char *sb = attn_results_at(&B->r, B->r.k[i].win, B->r.f[0].c_status);
            const char *sn = attn_results_at(&N->r, N->r.k[n].win, N->r.f[0].c_status);
            p->broken = !strcmp(sb, "ok") && !strcmp(sn, "fail");
            out->broke += p->broken;
            out->untimed++;
            continue;
        }
        p->v = attn_compare_verdict(p->tb, p->tn, noise, &p->ratio, &p->u, &p->why);
        out->count[p->v]++;
        out->ntimed++;
        out->sum_log += log(p->ratio);
        p->over = p->v == ATTN_SLOWER && o->fail_above >= 0 && (p->ratio - 1) * 100 > o->fail_above;
        out->regress += p->over;
    }
    for (int i = 0; i < N->r.nkeys; i++) out->only_n += counts(N, i) && find(B, N->ckey[i]) < 0;
    return 0;
}

/* ------------------------------------------------------------------ print */

/* "fail, after a timing of 1.2 ms — reason" for an untimed winner. */
static void status_text(const side_t *s, int key, char *buf, size_t n)
{
    const attn_result_t *k = &s->r.k[key];
    const attn_results_file_t *f = &s->r.f[0];
    const char *reason = attn_results_at(&s->r, k->win, f->c_reason);
    size_t off = (size_t)snprintf(buf, n, "%s", attn_results_at(&s->r, k->win, f->c_status));
    if (attn_results_failed_after_timing(k) && off < n)
        off += (size_t)snprintf(buf + off, n - off, " after an earlier timing of %s ms",
                                attn_results_at(&s->r, k->timed, f->c_med));
    if (reason[0] && off < n) snprintf(buf + off, n - off, " — %s", reason);
}

static void print_pair(const side_t *B, const side_t *N, const pair_t *p)
{
    char lb[1024], sb[1024], sn[1024];
    label(B, p->b, lb, sizeof lb);
    if (!p->hb || !p->hn) {
        status_text(B, p->b, sb, sizeof sb);
        status_text(N, p->n, sn, sizeof sn);
        printf("%-9s %7s %7s %11s %11s  %s  (%sbase: %s, new: %s)\n", p->broken ? "FAILS" : "-", "-",
               "-", p->hb ? attn_results_at(&B->r, B->r.k[p->b].win, B->r.f[0].c_med) : "-",
               p->hn ? attn_results_at(&N->r, N->r.k[p->n].win, N->r.f[0].c_med) : "-", lb,
               p->broken ? "fails its check in NEW; " : "", sb, sn);
        return;
    }
    printf("%-9s %7.3f %6.1f%% %11.4g %11.4g  %s%s%s%s%s\n", attn_verdict_name(p->v), p->ratio,
           isfinite(p->u) ? (exp(p->u) - 1) * 100 : INFINITY, p->tb.median, p->tn.median, lb,
           p->why ? "  (" : "", p->why ? p->why : "", p->why ? ")" : "",
           p->over ? "  REGRESSION beyond --fail-above" : "");
}

/* The cases of `one` that the other side lacks. */
static void print_only(const side_t *one, const side_t *other, int count)
{
    char lb[1024];
    if (!count) return;
    printf("\nonly in %s (%d):\n", one->name, count);
    for (int i = 0; i < one->r.nkeys; i++)
        if (counts(one, i) && find(other, one->ckey[i]) < 0) printf("  %s\n", label(one, i, lb, sizeof lb));
}

/* The summary; returns the exit status --fail-above asks for (0 or 1). */
static int print_summary(const outcome_t *o, const opts_t *op)
{
    printf("\nsummary: %d rows in both: %d same, %d faster, %d slower, %d ambiguous, %d not timed "
           "in both",
           o->np, o->count[ATTN_SAME], o->count[ATTN_FASTER], o->count[ATTN_SLOWER],
           o->count[ATTN_AMBIGUOUS], o->untimed);
    if (o->ntimed)
        printf("; geometric-mean ratio %.3f (new/base) over %d timed pairs", exp(o->sum_log / o->ntimed),
               o->ntimed);
    printf("; %d only in base, %d only in new\n", o->only_b, o->only_n);
    if (o->broke) printf("%d rows fail their check in NEW that passed in BASE\n", o->broke);
    if (op->fail_above < 0) return 0;
    if (o->regress || o->broke) {
        printf("FAIL: %d rows slower by more than %g %% (beyond their spread)%s\n", o->regress,
               op->fail_above, o->broke ? ", and rows that now fail their check" : "");
        return 1;
    }
    printf("ok: no row slower by more than %g %% beyond its spread\n", op->fail_above);
    return 0;
}

static void print_all(const side_t *B, const side_t *N, const outcome_t *o)
{
    printf("%-9s %7s %7s %11s %11s  %s\n", "verdict", "ratio", "±", "base ms", "new ms",
           "suite variant backend dtype  axes");
    for (int i = 0; i < o->np; i++) print_pair(B, N, &o->p[i]);
    print_only(B, N, o->only_b);
    print_only(N, B, o->only_n);
}

/* The timed pairs as plot data, drawn to o->plot. 0, or -1 (with a message). */
static int draw(const side_t *B, const outcome_t *o, const opts_t *op)
{
    if (!o->ntimed) {
        fprintf(stderr, "attnbench compare: no timed pairs to plot\n");
        return -1;
    }
    const char *tmp = getenv("TMPDIR");
    char path[1024], lb[1024];
    snprintf(path, sizeof path, "%s/attnbench-compare-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    const int fd = mkstemp(path);
    FILE *data = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!data) {
        fprintf(stderr, "attnbench compare: cannot create %s: %s\n", path, strerror(errno));
        if (fd >= 0) close(fd), unlink(path);
        return -1;
    }
    int row = 0;
    for (int i = 0; i < o->np; i++) {
        const pair_t *p = &o->p[i];
        if (!p->hb || !p->hn) continue;
        const double u = isfinite(p->u) ? p->u : 0;
        fprintf(data, "%d\t%s\t%g\t%g\t%g\t%d\n", row++, label(B, p->b, lb, sizeof lb), p->ratio,
                p->ratio * exp(-u), p->ratio * exp(u), (int)p->v);
    }
    fclose(data);
    const int rc = plot(op->plot, path, o->ntimed, op->noise_pct / 100.0);
    unlink(path);
    return rc;
}

/* Notes about repeated cases, on stderr. */
static void notes(const side_t *s)
{
    if (s->r.ndup)
        fprintf(stderr, "attnbench compare: %s: %d rows repeat a case; of each case the latest "
                        "measurement counts (a timing or a fail)\n", s->name, s->r.ndup);
    if (s->r.nlate_fail)
        fprintf(stderr, "attnbench compare: %s: %d cases fail after an earlier timing\n", s->name,
                s->r.nlate_fail);
    if (s->nmultidev)
        fprintf(stderr, "attnbench compare: %s: %d cases have rows of several devices; the device "
                        "measured last counts\n", s->name, s->nmultidev);
}

/* ------------------------------------------------------------------ the command */

int attn_compare_main(int argc, char **argv)
{
    opts_t o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    side_t B, N;
    char msg[2048];
    memset(&N, 0, sizeof N);
    if (load_side(&B, o.pos[0], msg, sizeof msg) || load_side(&N, o.pos[1], msg, sizeof msg) ||
        attn_table_same_schema(&B.r.f[0].t, &N.r.f[0].t, msg, sizeof msg)) {
        fprintf(stderr, "attnbench compare: %s\n", msg);
        free_side(&B), free_side(&N);
        return 2;
    }
    notes(&B), notes(&N);
    outcome_t out;
    if (compute(&B, &N, &o, &out)) {
        fprintf(stderr, "attnbench compare: out of memory\n");
        free_side(&B), free_side(&N);
        return 2;
    }
    print_all(&B, &N, &out);
    status = print_summary(&out, &o);
    fflush(stdout);
    if (o.plot && draw(&B, &out, &o) && !status) status = 2;
    fflush(stdout);
    free(out.p);
    free_side(&B), free_side(&N);
    return status;
}
