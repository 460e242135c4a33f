#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "json.h"
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
    const double rv = (b.run_var > 0 ? b.run_var : 0) + (w.run_var > 0 ? w.run_var : 0);
    *u = eb + ew + 3 * sqrt(rv);
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

/* A number as any CSV tool writes it: "10", "10.0", "1e3" (quotes are gone by now). */
static int number(const char *s, double *x)
{
    if (!s || !*s) return 0;
    char *e;
    errno = 0;
    *x = strtod(s, &e);
    while (*e == ' ') e++;
    return !*e && !errno && isfinite(*x);
}

/* The winner's timing, when it has one: 1; 0 when it is no timing; -1 when it is a timing whose
 * samples or iqr_ms cannot be read (a malformed row). */
static int timing_of(const side_t *s, attn_rowref_t at, attn_timing_t *tm)
{
    memset(tm, 0, sizeof *tm);
    if (attn_results_kind(&s->r, at, &tm->median) != ATTN_ROW_TIMED) return 0;
    const char *n = attn_results_at(&s->r, at, s->c_n), *iqr = attn_results_at(&s->r, at, s->c_iqr);
    double x = 0, q = 0;
    if (!number(n, &x) || x != floor(x) || x < 0 || x > 1e9) return -1;
    if (iqr[0] && (!number(iqr, &q) || q < 0)) return -1;
    tm->n = (int)x, tm->iqr = q;
    return 1;
}

/* Whether the winner says ok with a median that is not a number (a malformed row, which the
 * reader takes for a --check row). */
static int bad_median(const side_t *s, attn_rowref_t at)
{
    const attn_results_file_t *f = &s->r.f[at.file];
    const char *m = attn_results_at(&s->r, at, f->c_med);
    double x;
    return !strcmp(attn_results_at(&s->r, at, f->c_status), "ok") && m[0] && !number(m, &x);
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

#define COMPARE_USAGE                                                                              \
    "usage: attnbench compare BASE.csv NEW.csv [options]\n"                                        \
    "       attnbench compare BASE.csv... -- NEW.csv... [options]\n"                               \
    "       attnbench compare --base BASE.csv... --new NEW.csv... [options]\n"                     \
    "options: [--fail-above PCT] [--allow-missing] [--noise PCT] [--plot FILE.png|FILE.svg]\n"   \
    "         [--json FILE]\n"

#define MAX_RUNS 64

typedef struct opts {
    const char *base[MAX_RUNS], *new_[MAX_RUNS], *pos[MAX_RUNS], *plot, *json;
    int nbase, nnew, npos, dashdash;   /* dashdash: positionals before "--" (-1: none) */
    int allow_missing;
    double fail_above, noise_pct;      /* fail_above < 0: not given */
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
           "Several files on a side are repeated runs: a case's time is the geometric mean of\n"
           "its runs' medians, and the spread between runs (pooled over the cases) widens\n"
           "every band (docs/faults-and-sharding.md).\n"
           "  --base FILE, --new FILE  a run of BASE or NEW (repeatable), instead of positions\n"
           "  --fail-above PCT  exit 1 when a row is slower by more than PCT percent\n"
           "                    (a verdict of slower: beyond the rows' spread), fails its\n"
           "                    check in NEW after passing in BASE, is timed in BASE but\n"
           "                    missing or untimed in NEW, or when a row is malformed\n"
           "  --allow-missing   rows timed in BASE and missing or untimed in NEW do not fail\n"
           "                    the gate (they are still counted)\n"
           "  --noise PCT       changes below PCT percent count as the same (default 2)\n"
           "  --plot FILE       draw the ratios with their spread (gnuplot)\n"
           "  --json FILE       also write every verdict and the summary as JSON\n"
           "                    (docs/json.md)\n"
           "Exit status: 0, 1 the gate failed (with --fail-above), 2 bad usage or input, or\n"
           "nothing to judge (no case timed in both).\n");
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

static int add_file(const char **list, int *n, const char *v, const char *what, char *msg, size_t mn)
{
    if (*n == MAX_RUNS) {
        snprintf(msg, mn, "at most %d %s files", MAX_RUNS, what);
        return -1;
    }
    list[(*n)++] = v;
    return 0;
}

/* One option (argv[*i], its value maybe the next argument) into o. 0, or -1 with a message. */
static int parse_option(int argc, char **argv, int *i, opts_t *o, char *msg, size_t n)
{
    const char *a = argv[*i], *eq = strchr(a, '=');
    char name[32];
    snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
    if (!strcmp(name, "--allow-missing") && !eq) {
        o->allow_missing = 1;
        return 0;
    }
    if (strcmp(name, "--fail-above") && strcmp(name, "--noise") && strcmp(name, "--plot") &&
        strcmp(name, "--base") && strcmp(name, "--new") && strcmp(name, "--json")) {
        snprintf(msg, n, "unknown option '%s'", name);
        return -1;
    }
    const char *v = eq ? eq + 1 : *i + 1 < argc ? argv[++*i] : NULL;
    if (!strcmp(name, "--fail-above")) return parse_pct(name, v, &o->fail_above, msg, n);
    if (!strcmp(name, "--noise")) return parse_pct(name, v, &o->noise_pct, msg, n);
    if (!v || !*v) {
        snprintf(msg, n, "%s needs a file name", name);
        return -1;
    }
    if (!strcmp(name, "--base")) return add_file(o->base, &o->nbase, v, "BASE", msg, n);
    if (!strcmp(name, "--new")) return add_file(o->new_, &o->nnew, v, "NEW", msg, n);
    if (!strcmp(name, "--json")) o->json = v;
    else o->plot = v;
    return 0;
}

/* Returns -1 to go on, else the exit status (0 after --help, 2 on bad usage). */
static int parse_args(int argc, char **argv, opts_t *o)
{
    char msg[2048];
    memset(o, 0, sizeof *o);
    o->fail_above = -1, o->noise_pct = 2, o->dashdash = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            help();
            return 0;
        }
        if (!strcmp(a, "--")) {
            if (o->dashdash >= 0) return usage("'--' given twice: BASE.csv... -- NEW.csv...");
            o->dashdash = o->npos;
            continue;
        }
        if (!strncmp(a, "--", 2)) {
            if (parse_option(argc, argv, &i, o, msg, sizeof msg)) return usage(msg);
            continue;
        }
        if (o->npos == MAX_RUNS) return usage("too many files");
        o->pos[o->npos++] = a;
    }
    if (o->nbase || o->nnew) {
        if (o->npos || o->dashdash >= 0) {
            snprintf(msg, sizeof msg, "unexpected argument '%s': with --base and --new, name every "
                     "file with one of them", o->npos ? o->pos[0] : "--");
            return usage(msg);
        }
        if (!o->nbase || !o->nnew) return usage("give at least one --base and one --new file");
        return -1;
    }
    if (o->dashdash >= 0) {
        if (!o->dashdash || o->dashdash == o->npos)
            return usage("give BASE CSVs before '--' and NEW CSVs after it");
        for (int i = 0; i < o->npos; i++)
            if (i < o->dashdash) o->base[o->nbase++] = o->pos[i];
            else o->new_[o->nnew++] = o->pos[i];
        return -1;
    }
    if (o->npos > 2) {
        snprintf(msg, sizeof msg, "unexpected argument '%s': give two CSVs, BASE and NEW (repeated "
                 "runs: BASE.csv... -- NEW.csv...)", o->pos[2]);
        return usage(msg);
    }
    if (o->npos < 2) return usage("give two CSVs, BASE and NEW");
    o->base[o->nbase++] = o->pos[0], o->new_[o->nnew++] = o->pos[1];
    return -1;
}

/* ------------------------------------------------------------------ runs of one side */

/* One side: its runs (one file each), and the spread between them. */
typedef struct group {
    const char *what;       /* "BASE" or "NEW" */
    side_t *run;
    int n;
    double pooled_var;      /* variance of ln(median) between runs, pooled over cases; */
    int pooled_df;          /* its degrees of freedom (0: fewer than two runs time any case) */
} group_t;

/* A case on one side: which runs have it, its combined timing. */
typedef struct presence {
    int last_run, last_key;          /* the latest run that has the case (-1: none), its key */
    int ntimed, nfail, nbad;         /* runs timing it, failing it, with a malformed timing row */
    double lm[MAX_RUNS];             /* ln(median) of each timing run */
    double e2sum;                    /* sum of the runs' squared relative notches */
    int nmin;                        /* the fewest samples of a timing run */
    attn_timing_t t;                 /* combined (when ntimed) */
    double own_var;                  /* the case's own between-run variance (ntimed >= 2), else 0 */
} presence_t;

static void presence_of(const group_t *g, const char *kc, presence_t *p)
{
    memset(p, 0, sizeof *p);
    p->last_run = p->last_key = -1;
    for (int r = 0; r < g->n; r++) {
        const side_t *s = &g->run[r];
        const int k = find(s, kc);
        if (k < 0) continue;
        p->last_run = r, p->last_key = k;
        attn_timing_t tm;
        const int st = timing_of(s, s->r.k[k].win, &tm);
        if (st < 0 || bad_median(s, s->r.k[k].win)) p->nbad++;
        if (attn_results_kind(&s->r, s->r.k[k].win, NULL) == ATTN_ROW_FAIL) p->nfail++;
        if (st <= 0) continue;
        const double e = tm.n > 0 ? 1.58 * tm.iqr / (tm.median * sqrt(tm.n)) : INFINITY;
        p->lm[p->ntimed++] = log(tm.median);
        p->e2sum += e * e;
        if (p->ntimed == 1 || tm.n < p->nmin) p->nmin = tm.n;
    }
    if (!p->ntimed) return;
    double mean = 0, ss = 0;
    for (int i = 0; i < p->ntimed; i++) mean += p->lm[i];
    mean /= p->ntimed;
    for (int i = 0; i < p->ntimed; i++) ss += (p->lm[i] - mean) * (p->lm[i] - mean);
    p->own_var = p->ntimed > 1 ? ss / (p->ntimed - 1) : 0;
    /* the geometric mean of the runs' medians, with the notch of a mean of k medians
     * (sqrt(sum e_i^2) / k) expressed as the iqr that gives it at the fewest samples */
    const double e = sqrt(p->e2sum) / p->ntimed;
    p->t.median = exp(mean);
    p->t.n = p->nmin;
    p->t.iqr = p->nmin > 0 && isfinite(e) ? e * p->t.median * sqrt(p->nmin) / 1.58 : 0;
}

/* Every case of every run of g (the first run's key of it): its pooled between-run variance. */
static void pool(group_t *g)
{
    double ss = 0;
    int df = 0;
    for (int r = 0; r < g->n; r++)
        for (int i = 0; i < g->run[r].r.nkeys; i++) {
            const side_t *s = &g->run[r];
            if (!counts(s, i)) continue;
            int first = 1; /* only the first run that has the case */
            for (int q = 0; q < r && first; q++) first = find(&g->run[q], s->ckey[i]) < 0;
            if (!first) continue;
            presence_t p;
            presence_of(g, s->ckey[i], &p);
            if (p.ntimed < 2) continue;
            ss += p.own_var * (p.ntimed - 1);
            df += p.ntimed - 1;
        }
    g->pooled_df = df;
    g->pooled_var = df ? ss / df : 0;
}

/* The between-run variance of ln(median) of a case on side g (a run-to-run variance divided by
 * its number of runs): the larger of the pooled and the case's own; a side with one run borrows
 * the other side's pooled variance (the runs of one machine); 0 when neither side has repeats. */
static double run_var(const group_t *g, const group_t *other, const presence_t *p)
{
    double v = g->pooled_df ? g->pooled_var : other->pooled_df ? other->pooled_var : 0;
    if (p->ntimed > 1 && p->own_var > v) v = p->own_var;
    return p->ntimed ? v / p->ntimed : 0;
}

/* ------------------------------------------------------------------ compute */

typedef struct pair {
    const char *kc;            /* the case */
    presence_t pb, pn;
    int hb, hn;                /* timed on each side */
    attn_verdict_t v;
    double ratio, u;
    const char *why;
    int broken, over, missing; /* fails in NEW; slower beyond --fail-above; timed in BASE only */
} pair_t;

typedef struct outcome {
    pair_t *p;
    int np;
    int count[4], untimed, ntimed, regress, broke, only_b, only_n, missing, malformed;
    double sum_log;
} outcome_t;

/* Whether run r of g is the first run of g that has case kc. */
static int first_run_of(const group_t *g, int r, const char *kc)
{
    for (int q = 0; q < r; q++)
        if (find(&g->run[q], kc) >= 0) return 0;
    return 1;
}

/* Pair every case of BASE with NEW's and judge each pair. 0, or -1 out of memory. */
static int compute(const group_t *B, const group_t *N, const opts_t *o, outcome_t *out)
{
    memset(out, 0, sizeof *out);
    size_t cap = 1;
    for (int r = 0; r < B->n; r++) cap += (size_t)B->run[r].r.nkeys;
    out->p = calloc(cap, sizeof *out->p);
    if (!out->p) return -1;
    const double noise = o->noise_pct / 100.0;
    for (int r = 0; r < B->n; r++)
        for (int i = 0; i < B->run[r].r.nkeys; i++) {
            const side_t *s = &B->run[r];
            if (!counts(s, i) || !first_run_of(B, r, s->ckey[i])) continue;
            pair_t *p = &out->p[out->np++];
            p->kc = s->ckey[i];
            presence_of(B, p->kc, &p->pb);
            presence_of(N, p->kc, &p->pn);
            out->malformed += p->pb.nbad + p->pn.nbad;
            p->hb = p->pb.ntimed > 0, p->hn = p->pn.ntimed > 0;
            const side_t *lb = p->pb.last_run >= 0 ? &B->run[p->pb.last_run] : NULL;
            p->broken = p->pn.nfail > 0 &&
                        (p->hb || (lb && !strcmp(attn_results_at(&lb->r, lb->r.k[p->pb.last_key].win,
                                                                 lb->r.f[0].c_status), "ok")));
            out->broke += p->broken;
            if (p->pn.last_run < 0) out->only_b++;
            if (p->hb && !p->hn && !p->broken) {
                p->missing = 1;
                out->missing++;
            }
            if (p->broken || !p->hb || !p->hn) {
                if (p->pn.last_run >= 0) out->untimed++;
                continue;
            }
            p->pb.t.run_var = run_var(B, N, &p->pb);
            p->pn.t.run_var = run_var(N, B, &p->pn);
            p->v = attn_compare_verdict(p->pb.t, p->pn.t, noise, &p->ratio, &p->u, &p->why);
            out->count[p->v]++;
            out->ntimed++;
            out->sum_log += log(p->ratio);
            p->over = p->v == ATTN_SLOWER && o->fail_above >= 0 && (p->ratio - 1) * 100 > o->fail_above;
            out->regress += p->over;
        }
    for (int r = 0; r < N->n; r++)
        for (int i = 0; i < N->run[r].r.nkeys; i++) {
            const side_t *s = &N->run[r];
            if (!counts(s, i) || !first_run_of(N, r, s->ckey[i])) continue;
            presence_t pb;
            presence_of(B, s->ckey[i], &pb);
            if (pb.last_run >= 0) continue;
            presence_t pn;
            presence_of(N, s->ckey[i], &pn);
            out->malformed += pn.nbad;
            out->only_n++;
        }
    for (int r = 0; r < B->n; r++) out->malformed += B->run[r].r.f[0].t.nbad;
    for (int r = 0; r < N->n; r++) out->malformed += N->run[r].r.f[0].t.nbad;
    return 0;
}

/* ------------------------------------------------------------------ print */

/* "fail, after a timing of 1.2 ms — reason" for an untimed winner (the latest run's). */
static void status_text(const group_t *g, const presence_t *p, char *buf, size_t n)
{
    if (p->last_run < 0) {
        snprintf(buf, n, "missing");
        return;
    }
    const side_t *s = &g->run[p->last_run];
    const attn_result_t *k = &s->r.k[p->last_key];
    const attn_results_file_t *f = &s->r.f[0];
    const char *reason = attn_results_at(&s->r, k->win, f->c_reason);
    size_t off = (size_t)snprintf(buf, n, "%s", attn_results_at(&s->r, k->win, f->c_status));
    if (p->nbad && off < n) off += (size_t)snprintf(buf + off, n - off, " (malformed)");
    if (p->nfail && g->n > 1 && off < n)
        off += (size_t)snprintf(buf + off, n - off, ", fails in %d of %d runs", p->nfail, g->n);
    if (attn_results_failed_after_timing(k) && off < n)
        off += (size_t)snprintf(buf + off, n - off, " after an earlier timing of %s ms",
                                attn_results_at(&s->r, k->timed, f->c_med));
    if (reason[0] && off < n) snprintf(buf + off, n - off, " — %s", reason);
}

/* The label of a pair: from the BASE run that has the case. */
static const char *pair_label(const group_t *B, const pair_t *p, char *buf, size_t n)
{
    return label(&B->run[p->pb.last_run], p->pb.last_key, buf, n);
}

static void print_pair(const group_t *B, const group_t *N, const pair_t *p)
{
    char lb[1024], sb[1024], sn[1024];
    pair_label(B, p, lb, sizeof lb);
    if (p->broken || !p->hb || !p->hn) {
        if (p->pn.last_run < 0) return; /* listed under "only in" */
        status_text(B, &p->pb, sb, sizeof sb);
        status_text(N, &p->pn, sn, sizeof sn);
        char mb[32] = "-", mn[32] = "-";
        if (p->hb) snprintf(mb, sizeof mb, "%.4g", p->pb.t.median);
        if (p->hn) snprintf(mn, sizeof mn, "%.4g", p->pn.t.median);
        printf("%-9s %7s %7s %11s %11s  %s  (%s%sbase: %s, new: %s)\n",
               p->broken ? "FAILS" : p->missing ? "MISSING" : "-", "-", "-", mb, mn, lb,
               p->broken ? "fails its check in NEW; " : "",
               p->missing ? "timed in BASE, not in NEW; " : "", sb, sn);
        return;
    }
    printf("%-9s %7.3f %6.1f%% %11.4g %11.4g  %s%s%s%s%s\n", attn_verdict_name(p->v), p->ratio,
           isfinite(p->u) ? (exp(p->u) - 1) * 100 : INFINITY, p->pb.t.median, p->pn.t.median, lb,
           p->why ? "  (" : "", p->why ? p->why : "", p->why ? ")" : "",
           p->over ? "  REGRESSION beyond --fail-above" : "");
}

/* The cases of `one` that the other side lacks. */
static void print_only(const group_t *one, const group_t *other, int count)
{
    char lb[1024];
    if (!count) return;
    if (one->n == 1) printf("\nonly in %s (%d):\n", one->run[0].name, count);
    else printf("\nonly in %s (%d of its %d runs' cases):\n", one->what, count, one->n);
    for (int r = 0; r < one->n; r++)
        for (int i = 0; i < one->run[r].r.nkeys; i++) {
            const side_t *s = &one->run[r];
            if (!counts(s, i) || !first_run_of(one, r, s->ckey[i])) continue;
            presence_t p;
            presence_of(other, s->ckey[i], &p);
            if (p.last_run >= 0) continue;
            presence_of(one, s->ckey[i], &p);
            printf("  %s%s\n", label(s, i, lb, sizeof lb),
                   one->what[0] == 'B' && p.ntimed ? "  (timed in BASE: MISSING in NEW)" : "");
        }
}

/* The spread between runs, and the change it lets a gate see. */
static void print_noise(const group_t *B, const group_t *N, double fail_above)
{
    if (!B->pooled_df && !N->pooled_df) {
        printf("run-to-run spread: not measured (one run per side); the bands hold each run's own "
               "spread only. Give repeated runs (BASE1.csv BASE2.csv -- NEW1.csv NEW2.csv) to "
               "measure it; see docs/faults-and-sharding.md\n");
        return;
    }
    const group_t *g[2] = {B, N};
    printf("run-to-run spread of a median (pooled SD between runs):");
    for (int i = 0; i < 2; i++) {
        if (g[i]->pooled_df)
            printf(" %s %.1f %% (%d runs, %d degrees of freedom)%s", g[i]->what,
                   (exp(sqrt(g[i]->pooled_var)) - 1) * 100, g[i]->n, g[i]->pooled_df, i ? "" : ",");
        else printf(" %s one run (taken as the other side's)%s", g[i]->what, i ? "" : ",");
    }
    const double vb = B->pooled_df ? B->pooled_var : N->pooled_var;
    const double vn = N->pooled_df ? N->pooled_var : B->pooled_var;
    const double least = (exp(3 * sqrt(vb / B->n + vn / N->n)) - 1) * 100;
    printf("\nsmallest change these runs can tell from noise (3 SD of the ratio): %.1f %%; a "
           "--fail-above below it gates on noise\n", least);
    if (fail_above >= 0 && fail_above < least)
        printf("note: --fail-above %g %% is below it: a pass says only that no row changed by more "
               "than about %.0f %%\n", fail_above, least);
}

/* The summary; returns the exit status --fail-above asks for (0 or 1). */
static int print_summary(const group_t *B, const group_t *N, const outcome_t *o, const opts_t *op)
{
    printf("\nsummary: %d rows in both: %d same, %d faster, %d slower, %d ambiguous, %d not timed "
           "in both",
           o->np - o->only_b, o->count[ATTN_SAME], o->count[ATTN_FASTER], o->count[ATTN_SLOWER],
           o->count[ATTN_AMBIGUOUS], o->untimed);
    if (o->ntimed)
        printf("; geometric-mean ratio %.3f (new/base) over %d timed pairs", exp(o->sum_log / o->ntimed),
               o->ntimed);
    printf("; %d only in base, %d only in new\n", o->only_b, o->only_n);
    print_noise(B, N, op->fail_above);
    if (o->broke) printf("%d rows fail their check in NEW that passed in BASE\n", o->broke);
    if (o->missing)
        printf("%d rows timed in BASE are missing or untimed in NEW%s\n", o->missing,
               op->allow_missing ? " (allowed: --allow-missing)" : "");
    if (o->malformed) printf("%d malformed rows (unreadable, skipped)\n", o->malformed);
    if (op->fail_above < 0) return 0;
    const int missing = o->missing && !op->allow_missing;
    if (o->regress || o->broke || missing || o->malformed) {
        printf("FAIL: %d rows slower by more than %g %% (beyond their spread)", o->regress, op->fail_above);
        if (o->broke) printf(", %d rows that now fail their check", o->broke);
        if (missing) printf(", %d rows timed in BASE missing or untimed in NEW (--allow-missing "
                            "accepts them)", o->missing);
        if (o->malformed) printf(", %d malformed rows", o->malformed);
        printf("\n");
        return 1;
    }
    printf("ok: no row slower by more than %g %% beyond its spread\n", op->fail_above);
    return 0;
}

static void print_all(const group_t *B, const group_t *N, const outcome_t *o)
{
    printf("%-9s %7s %7s %11s %11s  %s\n", "verdict", "ratio", "±", "base ms", "new ms",
           "suite variant backend dtype  axes");
    for (int i = 0; i < o->np; i++) print_pair(B, N, &o->p[i]);
    print_only(B, N, o->only_b);
    print_only(N, B, o->only_n);
}

/* The timed pairs as plot data, drawn to o->plot. 0, or -1 (with a message). */
static int draw(const group_t *B, const outcome_t *o, const opts_t *op)
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
        if (p->broken || !p->hb || !p->hn) continue;
        const double u = isfinite(p->u) ? p->u : 0;
        fprintf(data, "%d\t%s\t%g\t%g\t%g\t%d\n", row++, pair_label(B, p, lb, sizeof lb), p->ratio,
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

/* ------------------------------------------------------------------ items and --json */

/* The fields of the winner at key of s that name its row. */
static void item_names(const side_t *s, int key, attn_compare_item_t *it)
{
    const attn_rowref_t at = s->r.k[key].win;
    const attn_results_file_t *f = &s->r.f[at.file];
    char **v = attn_results_row(&s->r, at);
    snprintf(it->suite, sizeof it->suite, "%s", v[f->c_suite]);
    snprintf(it->variant, sizeof it->variant, "%s", v[f->c_variant]);
    snprintf(it->backend, sizeof it->backend, "%s", v[f->c_backend]);
    snprintf(it->dtype, sizeof it->dtype, "%s", v[f->c_dtype]);
    size_t off = 0;
    it->cas[0] = 0;
    for (int c = f->ax0; c < f->ax1 && off < sizeof it->cas; c++)
        off += (size_t)snprintf(it->cas + off, sizeof it->cas - off, "%s%s=%s",
                                c == f->ax0 ? "" : ",", f->t.cols[c], v[c]);
}

static void item_init(attn_compare_item_t *it)
{
    memset(it, 0, sizeof *it);
    it->ratio = it->band_pct = it->base_ms = it->new_ms = NAN;
}

/* Every pair, then the cases only NEW has: what print_all prints, as items. */
static attn_compare_item_t *items_of(const group_t *B, const group_t *N, const outcome_t *o, int *n)
{
    attn_compare_item_t *items = calloc((size_t)o->np + (size_t)o->only_n + 1, sizeof *items);
    if (!items) return NULL;
    *n = 0;
    for (int i = 0; i < o->np; i++) {
        const pair_t *p = &o->p[i];
        attn_compare_item_t *it = &items[(*n)++];
        item_init(it);
        item_names(&B->run[p->pb.last_run], p->pb.last_key, it);
        status_text(B, &p->pb, it->base_status, sizeof it->base_status);
        status_text(N, &p->pn, it->new_status, sizeof it->new_status);
        if (p->hb) it->base_ms = p->pb.t.median;
        if (p->hn) it->new_ms = p->pn.t.median;
        if (p->broken) it->verdict = "FAILS";
        else if (p->missing) it->verdict = "MISSING";
        else if (p->pn.last_run < 0) it->verdict = "only-base";
        else if (!p->hb || !p->hn) it->verdict = "untimed";
        else {
            it->verdict = attn_verdict_name(p->v);
            it->ratio = p->ratio;
            it->band_pct = isfinite(p->u) ? (exp(p->u) - 1) * 100 : NAN;
            it->why = p->why;
            it->regression = p->over;
        }
    }
    for (int r = 0; r < N->n; r++)
        for (int i = 0; i < N->run[r].r.nkeys; i++) {
            const side_t *s = &N->run[r];
            if (!counts(s, i) || !first_run_of(N, r, s->ckey[i])) continue;
            presence_t pb, pn;
            presence_of(B, s->ckey[i], &pb);
            if (pb.last_run >= 0) continue;
            presence_of(N, s->ckey[i], &pn);
            attn_compare_item_t *it = &items[(*n)++];
            item_init(it);
            item_names(s, i, it);
            it->verdict = "only-new";
            snprintf(it->base_status, sizeof it->base_status, "missing");
            status_text(N, &pn, it->new_status, sizeof it->new_status);
            if (pn.ntimed) it->new_ms = pn.t.median;
        }
    return items;
}

static void json_files(attn_buf_t *b, const char *key, const char *const *f, int n)
{
    attn_buf_printf(b, ",\"%s\":[", key);
    for (int i = 0; i < n; i++) {
        if (i) attn_buf_puts(b, ",");
        attn_json_str(b, f[i]);
    }
    attn_buf_puts(b, "]");
}

/* --json FILE: one document, the verdicts and the summary, with the exit status compare gives. */
static int write_json(const opts_t *op, const attn_compare_item_t *it, int n, const outcome_t *o,
                      int status)
{
    attn_buf_t b = {0};
    attn_buf_printf(&b, "{\"schema\":\"attnbench-compare\",\"schema_version\":%d",
                    ATTN_JSON_SCHEMA_VERSION);
    json_files(&b, "base", op->base, op->nbase);
    json_files(&b, "new", op->new_, op->nnew);
    attn_buf_puts(&b, ",\"noise_pct\":"), attn_json_num(&b, op->noise_pct);
    attn_buf_puts(&b, ",\"fail_above_pct\":"), attn_json_num(&b, op->fail_above < 0 ? NAN : op->fail_above);
    attn_buf_printf(&b, ",\"allow_missing\":%s,\"rows\":[", op->allow_missing ? "true" : "false");
    for (int i = 0; i < n; i++) {
        attn_buf_puts(&b, i ? ",\n{\"verdict\":" : "\n{\"verdict\":");
        attn_json_str(&b, it[i].verdict);
        const char *k[5] = {"suite", "variant", "backend", "dtype", "case"};
        const char *v[5] = {it[i].suite, it[i].variant, it[i].backend, it[i].dtype, it[i].cas};
        for (int j = 0; j < 5; j++) attn_buf_printf(&b, ",\"%s\":", k[j]), attn_json_str(&b, v[j]);
        const char *nk[4] = {"ratio", "band_pct", "base_ms", "new_ms"};
        const double nv[4] = {it[i].ratio, it[i].band_pct, it[i].base_ms, it[i].new_ms};
        for (int j = 0; j < 4; j++) attn_buf_printf(&b, ",\"%s\":", nk[j]), attn_json_num(&b, nv[j]);
        attn_buf_puts(&b, ",\"base_status\":"), attn_json_str(&b, it[i].base_status);
        attn_buf_puts(&b, ",\"new_status\":"), attn_json_str(&b, it[i].new_status);
        attn_buf_puts(&b, ",\"why\":"), attn_json_str(&b, it[i].why);
        attn_buf_printf(&b, ",\"regression\":%s}", it[i].regression ? "true" : "false");
    }
    attn_buf_printf(&b, "],\n\"summary\":{\"same\":%d,\"faster\":%d,\"slower\":%d,"
                        "\"ambiguous\":%d,\"untimed\":%d,\"only_base\":%d,\"only_new\":%d,"
                        "\"fails\":%d,\"missing\":%d,\"malformed\":%d,\"regressions\":%d,"
                        "\"geomean_ratio\":",
                    o->count[ATTN_SAME], o->count[ATTN_FASTER], o->count[ATTN_SLOWER],
                    o->count[ATTN_AMBIGUOUS], o->untimed, o->only_b, o->only_n, o->broke,
                    o->missing, o->malformed, o->regress);
    attn_json_num(&b, o->ntimed ? exp(o->sum_log / o->ntimed) : NAN);
    attn_buf_printf(&b, "},\"exit_status\":%d}\n", status);
    FILE *f = fopen(op->json, "w");
    int rc = !f || fwrite(b.p, 1, b.len, f) != b.len;
    if (f && fclose(f)) rc = 1;
    if (rc) fprintf(stderr, "attnbench compare: cannot write --json '%s': %s\n", op->json, strerror(errno));
    else printf("json: %s\n", op->json);
    attn_buf_free(&b);
    return rc ? -1 : 0;
}

/* ------------------------------------------------------------------ the command */

static void free_group(group_t *g)
{
    for (int r = 0; g->run && r < g->n; r++) free_side(&g->run[r]);
    free(g->run);
    memset(g, 0, sizeof *g);
}

/* Read the runs of one side, each with the header of `ref` (the first file). 0, or -1. */
static int load_group(group_t *g, const char *what, const char *const *paths, int n,
                      const attn_table_t *ref, char *msg, size_t mn)
{
    memset(g, 0, sizeof *g);
    g->what = what;
    if (!(g->run = calloc((size_t)n, sizeof *g->run))) {
        snprintf(msg, mn, "out of memory");
        return -1;
    }
    for (int r = 0; r < n; r++) {
        g->n = r + 1;
        if (load_side(&g->run[r], paths[r], msg, mn)) return -1;
        if (!ref) ref = &g->run[0].r.f[0].t;
        if (attn_table_same_schema(ref, &g->run[r].r.f[0].t, msg, mn)) return -1;
    }
    pool(g);
    return 0;
}

int attn_compare_main(int argc, char **argv)
{
    opts_t o;
    int status = parse_args(argc, argv, &o);
    if (status >= 0) return status;
    group_t B, N;
    char msg[2048];
    memset(&B, 0, sizeof B), memset(&N, 0, sizeof N);
    if (load_group(&B, "BASE", o.base, o.nbase, NULL, msg, sizeof msg) ||
        load_group(&N, "NEW", o.new_, o.nnew, &B.run[0].r.f[0].t, msg, sizeof msg)) {
        fprintf(stderr, "attnbench compare: %s\n", msg);
        free_group(&B), free_group(&N);
        return 2;
    }
    for (int r = 0; r < B.n; r++) notes(&B.run[r]);
    for (int r = 0; r < N.n; r++) notes(&N.run[r]);
    outcome_t out;
    if (compute(&B, &N, &o, &out)) {
        fprintf(stderr, "attnbench compare: out of memory\n");
        free_group(&B), free_group(&N);
        return 2;
    }
    print_all(&B, &N, &out);
    status = print_summary(&B, &N, &out, &o);
    fflush(stdout);
    if (!out.ntimed && !out.broke) {
        fprintf(stderr, "attnbench compare: nothing to judge: no case is timed in both BASE and NEW "
                        "(%d cases in BASE, %d in NEW)\n", out.np, out.np - out.only_b + out.only_n);
        if (!status) status = 2;
    } else if (out.ntimed && out.ntimed == out.count[ATTN_AMBIGUOUS])
        printf("note: all %d timed pairs are ambiguous: a pass says no row is beyond its spread, "
               "not that none changed\n", out.ntimed);
    if (o.plot && out.ntimed && draw(&B, &out, &o) && !status) status = 2;
    if (o.json) {
        int n = 0;
        attn_compare_item_t *it = items_of(&B, &N, &out, &n);
        if (!it || write_json(&o, it, n, &out, status)) status = 2;
        free(it);
    }
    fflush(stdout);
    free(out.p);
    free_group(&B), free_group(&N);
    return status;
}

int attn_compare_items(const char *const *base, int nb, const char *const *new_, int nn,
                       double noise_pct, attn_compare_item_t **items, int *n, char *err, size_t en)
{
    opts_t o;
    memset(&o, 0, sizeof o);
    o.fail_above = -1, o.noise_pct = noise_pct;
    group_t B, N;
    memset(&B, 0, sizeof B), memset(&N, 0, sizeof N);
    *items = NULL, *n = 0;
    if (nb > MAX_RUNS || nn > MAX_RUNS) {
        snprintf(err, en, "at most %d runs a side", MAX_RUNS);
        return -1;
    }
    int rc = load_group(&B, "BASE", base, nb, NULL, err, en) ||
             load_group(&N, "NEW", new_, nn, &B.run[0].r.f[0].t, err, en) ? -1 : 0;
    outcome_t out;
    if (!rc && compute(&B, &N, &o, &out)) {
        snprintf(err, en, "out of memory");
        rc = -1;
    } else if (!rc) {
        if (!(*items = items_of(&B, &N, &out, n))) {
            snprintf(err, en, "out of memory");
            rc = -1;
        }
        free(out.p);
    }
    free_group(&B), free_group(&N);
    return rc;
}
