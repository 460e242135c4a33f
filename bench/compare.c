#include "compare.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "table.h"

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

/* ------------------------------------------------------------------ matching rows */

typedef struct side {
    attn_table_t t;
    int kcols;                       /* key columns: everything before "status" */
    int c_status, c_reason, c_n, c_med, c_iqr;
    char **key;                      /* per row */
    int *pick;                       /* unique keys: the row chosen for each, in file order */
    int npick, ndup;
} side_t;

static const side_t *sort_side;
static int by_key_then_row(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    int c = strcmp(sort_side->key[x], sort_side->key[y]);
    return c ? c : (x > y) - (x < y);
}
static int by_row(const void *a, const void *b)
{
    const int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* The row's timing, when it has one (status ok, samples and a median > 0). */
static int timing_of(const side_t *s, int row, attn_timing_t *tm)
{
    char **f = s->t.rows[row];
    if (strcmp(f[s->c_status], "ok") || !f[s->c_med][0]) return 0;
    char *e1, *e2, *e3;
    tm->n = (int)strtol(f[s->c_n], &e1, 10);
    tm->median = strtod(f[s->c_med], &e2);
    tm->iqr = f[s->c_iqr][0] ? strtod(f[s->c_iqr], &e3) : 0.0;
    return !*e1 && !*e2 && tm->median > 0 && isfinite(tm->median) && isfinite(tm->iqr) &&
           tm->iqr >= 0;
}

static int load_side(side_t *s, const char *path, char *err, size_t n)
{
    memset(s, 0, sizeof *s);
    if (attn_table_read(&s->t, path, err, n)) return -1;
    const char *need[] = {"status", "reason", "samples", "median_ms", "iqr_ms"};
    int *at[] = {&s->c_status, &s->c_reason, &s->c_n, &s->c_med, &s->c_iqr};
    for (int i = 0; i < 5; i++)
        if ((*at[i] = attn_table_col(&s->t, need[i])) < 0) {
            snprintf(err, n, "%s has no column '%s': not an attnbench results file", path, need[i]);
            return -1;
        }
    s->kcols = s->c_status;
    const int nr = s->t.nrows;
    s->key = calloc((size_t)nr + 1, sizeof *s->key);
    s->pick = malloc(((size_t)nr + 1) * sizeof *s->pick);
    int *order = malloc(((size_t)nr + 1) * sizeof *order);
    if (!s->key || !s->pick || !order) {
        free(order);
        snprintf(err, n, "out of memory");
        return -1;
    }
    for (int r = 0; r < nr; r++) {
        size_t len = 1;
        for (int c = 0; c < s->kcols; c++) len += strlen(s->t.rows[r][c]) + 1;
        char *k = s->key[r] = malloc(len), *p = k;
        if (!k) {
            free(order);
            snprintf(err, n, "out of memory");
            return -1;
        }
        for (int c = 0; c < s->kcols; c++) p += sprintf(p, "%s\x1f", s->t.rows[r][c]);
        order[r] = r;
    }
    /* Several rows of one key (runs appended to one file): the last timed one, else the last. */
    sort_side = s;
    qsort(order, (size_t)nr, sizeof *order, by_key_then_row);
    for (int i = 0; i < nr;) {
        int j = i, pick = order[i];
        attn_timing_t tm;
        int timed = 0;
        for (; j < nr && !strcmp(s->key[order[j]], s->key[order[i]]); j++) {
            const int t = timing_of(s, order[j], &tm);
            if (t || !timed) pick = order[j];
            timed |= t;
        }
        s->ndup += j - i - 1;
        s->pick[s->npick++] = pick;
        i = j;
    }
    free(order);
    qsort(s->pick, (size_t)s->npick, sizeof *s->pick, by_row);
    return 0;
}

static void free_side(side_t *s)
{
    for (int r = 0; s->key && r < s->t.nrows; r++) free(s->key[r]);
    free(s->key);
    free(s->pick);
    attn_table_free(&s->t);
}

/* The row of s with the key of row r of o, or -1 (binary search over s->pick sorted by key). */
static int find(const side_t *s, const int *bykey, const char *key)
{
    int lo = 0, hi = s->npick - 1;
    while (lo <= hi) {
        const int mid = (lo + hi) / 2, c = strcmp(s->key[bykey[mid]], key);
        if (!c) return bykey[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

/* "suite variant backend dtype  B=1,H=2,..." for a row. */
static const char *label(const side_t *s, int row, char *buf, size_t n)
{
    char **f = s->t.rows[row];
    size_t off = 0;
    buf[0] = 0;
    for (int c = 0; c < s->kcols && off < n; c++)
        off += (size_t)snprintf(buf + off, n - off, "%s%s%s%s", c == 0 ? "" : c < 4 ? " " : c == 4 ? "  " : ",",
                                c >= 4 ? s->t.cols[c] : "", c >= 4 ? "=" : "", f[c]);
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

/* ------------------------------------------------------------------ the command */

static int usage(const char *msg)
{
    fprintf(stderr,
            "attnbench compare: %s\n"
            "usage: attnbench compare BASE.csv NEW.csv [--fail-above PCT] [--noise PCT] "
            "[--plot FILE.png|FILE.svg]\n",
            msg);
    return 2;
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

int attn_compare_main(int argc, char **argv)
{
    const char *pos[2] = {0}, *plot_out = NULL;
    int npos = 0;
    double fail_above = -1, noise_pct = 2;
    char msg[2048];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');
        char name[32];
        snprintf(name, sizeof name, "%.*s", eq ? (int)(eq - a) : (int)strlen(a), a);
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            printf("usage: attnbench compare BASE.csv NEW.csv [--fail-above PCT] [--noise PCT] "
                   "[--plot FILE.png|FILE.svg]\n"
                   "Matches rows by suite, variant, backend, dtype and axes; prints NEW/BASE time\n"
                   "ratios with verdicts (same, faster, slower, ambiguous) and a summary.\n"
                   "  --fail-above PCT  exit 1 when a row is slower by more than PCT percent\n"
                   "                    (a verdict of slower: beyond the rows' spread), or fails\n"
                   "                    its check in NEW after passing in BASE\n"
                   "  --noise PCT       changes below PCT percent count as the same (default 2)\n"
                   "  --plot FILE       draw the ratios with their spread (gnuplot)\n"
                   "Exit status: 0, 1 a regression (with --fail-above), 2 bad usage or input.\n");
            return 0;
        }
        if (strncmp(a, "--", 2)) {
            if (npos == 2) {
                snprintf(msg, sizeof msg, "unexpected argument '%s': give two CSVs, BASE and NEW", a);
                return usage(msg);
            }
            pos[npos++] = a;
            continue;
        }
        if (strcmp(name, "--fail-above") && strcmp(name, "--noise") && strcmp(name, "--plot")) {
            snprintf(msg, sizeof msg, "unknown option '%s'", name);
            return usage(msg);
        }
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!strcmp(name, "--fail-above")) {
            if (parse_pct(name, v, &fail_above, msg, sizeof msg)) return usage(msg);
        } else if (!strcmp(name, "--noise")) {
            if (parse_pct(name, v, &noise_pct, msg, sizeof msg)) return usage(msg);
        } else {
            if (!v || !*v) return usage("--plot needs a file name (.png or .svg)");
            plot_out = v;
        }
    }
    if (npos != 2) return usage("give two CSVs, BASE and NEW");

    side_t B, N;
    if (load_side(&B, pos[0], msg, sizeof msg)) {
        fprintf(stderr, "attnbench compare: %s\n", msg);
        free_side(&B);
        return 2;
    }
    if (load_side(&N, pos[1], msg, sizeof msg) || attn_table_same_schema(&B.t, &N.t, msg, sizeof msg)) {
        fprintf(stderr, "attnbench compare: %s\n", msg);
        free_side(&B), free_side(&N);
        return 2;
    }
    for (int k = 0; k < 2; k++) {
        const side_t *s = k ? &N : &B;
        if (s->ndup)
            fprintf(stderr, "attnbench compare: %s: %d rows repeat a case; the last timed row "
                            "of each is used\n", s->t.name, s->ndup);
    }

    /* NEW's rows by key, for the look-ups. */
    int *nkey = malloc(((size_t)N.npick + 1) * sizeof *nkey);
    unsigned char *matched = calloc((size_t)N.t.nrows + 1, 1);
    FILE *data = NULL;
    char data_path[1024] = "";
    if (plot_out) {
        const char *tmp = getenv("TMPDIR");
        snprintf(data_path, sizeof data_path, "%s/attnbench-compare-XXXXXX", tmp && *tmp ? tmp : "/tmp");
        int fd = mkstemp(data_path);
        data = fd >= 0 ? fdopen(fd, "w") : NULL;
        if (!data) {
            fprintf(stderr, "attnbench compare: cannot create %s: %s\n", data_path, strerror(errno));
            data_path[0] = 0;
        }
    }
    if (!nkey || !matched) {
        fprintf(stderr, "attnbench compare: out of memory\n");
        return 2;
    }
    memcpy(nkey, N.pick, (size_t)N.npick * sizeof *nkey);
    sort_side = &N;
    qsort(nkey, (size_t)N.npick, sizeof *nkey, by_key_then_row);

    const double noise = noise_pct / 100.0;
    int count[4] = {0}, untimed = 0, both = 0, ntimed = 0, regress = 0, broke = 0, only_b = 0;
    double sum_log = 0;
    char lb[1024];
    printf("%-9s %7s %7s %11s %11s  %s\n", "verdict", "ratio", "±", "base ms", "new ms",
           "suite variant backend dtype  axes");
    for (int i = 0; i < B.npick; i++) {
        const int rb = B.pick[i], rn = find(&N, nkey, B.key[rb]);
        if (rn < 0) {
            only_b++;
            continue;
        }
        matched[rn] = 1;
        both++;
        label(&B, rb, lb, sizeof lb);
        attn_timing_t tb, tn;
        const int hb = timing_of(&B, rb, &tb), hn = timing_of(&N, rn, &tn);
        if (!hb || !hn) {
            const char *sb = B.t.rows[rb][B.c_status], *sn = N.t.rows[rn][N.c_status];
            const int broken = !strcmp(sb, "ok") && !strcmp(sn, "fail");
            broke += broken;
            untimed++;
            printf("%-9s %7s %7s %11s %11s  %s  (%s%s: %s, new: %s%s%s)\n",
                   broken ? "FAILS" : "-", "-", "-", hb ? B.t.rows[rb][B.c_med] : "-",
                   hn ? N.t.rows[rn][N.c_med] : "-", lb, broken ? "fails its check in NEW; " : "",
                   "base", sb, sn, N.t.rows[rn][N.c_reason][0] ? " — " : "",
                   N.t.rows[rn][N.c_reason]);
            continue;
        }
        double ratio, u;
        const char *why;
        const attn_verdict_t v = attn_compare_verdict(tb, tn, noise, &ratio, &u, &why);
        count[v]++;
        ntimed++;
        sum_log += log(ratio);
        const int over = v == ATTN_SLOWER && fail_above >= 0 && (ratio - 1) * 100 > fail_above;
        regress += over;
        printf("%-9s %7.3f %6.1f%% %11.4g %11.4g  %s%s%s%s%s\n", attn_verdict_name(v), ratio,
               isfinite(u) ? (exp(u) - 1) * 100 : INFINITY, tb.median, tn.median, lb,
               why ? "  (" : "", why ? why : "", why ? ")" : "",
               over ? "  REGRESSION beyond --fail-above" : "");
        if (data)
            fprintf(data, "%d\t%s\t%g\t%g\t%g\t%d\n", ntimed - 1, lb, ratio,
                    ratio * exp(-(isfinite(u) ? u : 0)), ratio * exp(isfinite(u) ? u : 0), (int)v);
    }
    int only_n = 0;
    for (int i = 0; i < N.npick; i++) only_n += !matched[N.pick[i]];
    if (only_b) {
        printf("\nonly in %s (%d):\n", B.t.name, only_b);
        for (int i = 0; i < B.npick; i++)
            if (find(&N, nkey, B.key[B.pick[i]]) < 0) printf("  %s\n", label(&B, B.pick[i], lb, sizeof lb));
    }
    if (only_n) {
        printf("\nonly in %s (%d):\n", N.t.name, only_n);
        for (int i = 0; i < N.npick; i++)
            if (!matched[N.pick[i]]) printf("  %s\n", label(&N, N.pick[i], lb, sizeof lb));
    }
    printf("\nsummary: %d rows in both: %d same, %d faster, %d slower, %d ambiguous, %d not timed "
           "in both",
           both, count[ATTN_SAME], count[ATTN_FASTER], count[ATTN_SLOWER], count[ATTN_AMBIGUOUS],
           untimed);
    if (ntimed) printf("; geometric-mean ratio %.3f (new/base) over %d timed pairs", exp(sum_log / ntimed), ntimed);
    printf("; %d only in base, %d only in new\n", only_b, only_n);
    if (broke) printf("%d rows fail their check in NEW that passed in BASE\n", broke);
    int status = 0;
    if (fail_above >= 0) {
        if (regress || broke) {
            printf("FAIL: %d rows slower by more than %g %% (beyond their spread)%s\n", regress,
                   fail_above, broke ? ", and rows that now fail their check" : "");
            status = 1;
        } else {
            printf("ok: no row slower by more than %g %% beyond its spread\n", fail_above);
        }
    }
    if (data) {
        fclose(data);
        if (ntimed == 0) fprintf(stderr, "attnbench compare: no timed pairs to plot\n");
        if ((ntimed == 0 || plot(plot_out, data_path, ntimed, noise)) && !status) status = 2;
        unlink(data_path);
    }
    fflush(stdout);
    free(nkey), free(matched);
    free_side(&B), free_side(&N);
    return status;
}
