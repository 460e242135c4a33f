/* Heatmaps of dumped attention weights (heatmap.h). The dump's manifest names the weights files;
 * each is read back (.npy, float64), checked row by row, averaged down to at most HM_MAX cells a
 * side and written into a gnuplot script as an inline matrix, which gnuplot draws. */
#include "heatmap.h"
#include "plots.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "csv.h"
#include "npy.h"
#include "registry.h"
#include "util.h"

#define HM_MAX 256   /* cells a side: a 1024² matrix is averaged in 4×4 blocks */

#define HM_USAGE "usage: attnbench plots --heatmap DUMPDIR [--out DIR]\n"

double attn_weights_sum_tol(attn_dtype_t dt, int64_t cols)
{
    if (dt == ATTN_F64) return ATTN_WEIGHTS_TOL;
    const double u32 = attn_unit_roundoff(ATTN_F32);
    return (double)(cols + 2) * u32 + attn_unit_roundoff(dt);
}

int attn_weights_check(const double *a, int64_t numel, int64_t cols, double tol, char *err,
                       size_t errlen)
{
    for (int64_t r = 0; cols > 0 && r < numel / cols; r++) {
        const double *w = a + r * cols;
        double sum = 0.0;
        int bad = 0;
        for (int64_t j = 0; j < cols; j++) {
            if (!(w[j] >= 0.0 && w[j] <= 1.0 + tol)) bad = 1;
            sum += w[j];
        }
        if (bad || !(fabs(sum - 1.0) <= tol || sum == 0.0)) {
            snprintf(err, errlen, "row %lld (of %lld keys) %s: sum %.9g, not 1 (or 0, all keys "
                     "masked)", (long long)r, (long long)cols,
                     bad ? "has a weight outside [0, 1]" : "is not normalised", sum);
            return -1;
        }
    }
    return 0;
}

static int usage(const char *msg)
{
    fprintf(stderr, "attnbench plots: %s\n" HM_USAGE, msg);
    return 2;
}

static void help(void)
{
    char names[512] = "";
    size_t l = 0;
    for (int i = 0; attn_suites[i]; i++)
        if (attn_suites[i]->weights && l + 1 < sizeof names)
            l += (size_t)snprintf(names + l, sizeof names - l, "%s%s", l ? ", " : "",
                                  attn_suites[i]->name);
    printf(HM_USAGE
           "Draws one heatmap per weights file of a --dump directory whose suite dumps its\n"
           "attention weights (%s): the first matrix of <suite>-<case>-weights.npy, the\n"
           "reference's (batch 0, head 0; query rows down, keys across), as\n"
           "DIR/<suite>-<case>-heatmap.png and .svg, with the gnuplot script (-heatmap.gp)\n"
           "beside them; a variant's own weights (-weights-<variant>.npy, suites whose variants\n"
           "output them) as -heatmap-<variant>. Matrices wider or taller than %d are averaged\n"
           "in blocks. Every row of every matrix must hold weights in [0, 1] summing to 1 (or\n"
           "all 0: every key masked; a variant's within the slack of its dtype, the manifest's\n"
           "sum_tol), else the file is not drawn.\n"
           "  --out DIR   where the pictures go (created if missing; default: DUMPDIR)\n"
           "Prints the path of every file written. Exit status: 0, 1 a weights file failed its\n"
           "check or gnuplot failed, 2 bad usage or input (no DUMPDIR/manifest.json, no weights\n"
           "in it, a file that is not a float64 .npy).\n", names, HM_MAX);
}

/* The value of "key": "..." in a manifest line, into out; 0 when absent. */
static int json_str(const char *line, const char *key, char *out, size_t n)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(line, pat);
    if (!p) return 0;
    p += strlen(pat);
    size_t k = 0;
    while (*p && *p != '"' && k + 1 < n) out[k++] = *p++;
    out[k] = 0;
    return 1;
}

/* The number of "key": 1.5e-05 in a manifest line; def when absent. */
static double json_num(const char *line, const char *key, double def)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    char *end;
    const double x = p ? strtod(p + strlen(pat), &end) : def;
    return p && end != p + strlen(pat) ? x : def;
}

/* "axes": {"B": 2, "T": 32} as B=2,T=32 */
static void json_axes(const char *line, char *out, size_t n)
{
    const char *p = strstr(line, "\"axes\": {");
    size_t k = 0;
    out[0] = 0;
    if (!p) return;
    for (p += 9; *p && *p != '}' && k + 1 < n; p++) {
        if (*p == '"' || *p == ' ') continue;
        out[k++] = *p == ':' ? '=' : *p;
    }
    out[k] = 0;
}

/* The script drawing matrix m (rows × cols, averaged to at most HM_MAX a side) into stem.png and
 * stem.svg. */
static int write_script(const char *gp, const char *stem, const char *title, const char *axes,
                        const double *m, int64_t rows, int64_t cols)
{
    FILE *f = fopen(gp, "w");
    if (!f) return -1;
    const int64_t br = (rows + HM_MAX - 1) / HM_MAX, bc = (cols + HM_MAX - 1) / HM_MAX;
    const int64_t R = (rows + br - 1) / br, C = (cols + bc - 1) / bc;
    char png[1600], svg[1600];
    snprintf(png, sizeof png, "%s.png", stem);
    snprintf(svg, sizeof svg, "%s.svg", stem);
    fputs("set terminal pngcairo size 900,800 noenhanced\nset output ", f);
    attn_gnuplot_quote(f, png);
    fputs("\nset title ", f);
    attn_gnuplot_quote(f, title);
    fputs(" . \"\\n\" . ", f); /* the case on a second line */
    attn_gnuplot_quote(f, axes);
    fprintf(f, "\nset xlabel 'key%s'\nset ylabel 'query%s'\n", bc > 1 ? " (block means)" : "",
            br > 1 ? " (block means)" : "");
    /* in key and query indices (a block at its centre), row 0 on top as the matrix reads */
    fprintf(f, "set xrange [-0.5:%lld.5]\nset yrange [%lld.5:-0.5]\n", (long long)(C * bc) - 1,
            (long long)(R * br) - 1);
    fputs("set cblabel 'attention weight'\nset cbrange [0:*]\nset palette rgb 7,5,15\n"
          "$weights << EOD\n", f);
    for (int64_t i = 0; i < R; i++) {
        for (int64_t j = 0; j < C; j++) {
            double acc = 0.0;
            int64_t k = 0;
            for (int64_t a = i * br; a < (i + 1) * br && a < rows; a++)
                for (int64_t b = j * bc; b < (j + 1) * bc && b < cols; b++, k++)
                    acc += m[a * cols + b];
            fprintf(f, "%s%.6g", j ? " " : "", acc / (double)k);
        }
        fputc('\n', f);
    }
    fprintf(f, "EOD\nplot $weights matrix using ($1*%lld+%g):($2*%lld+%g):3 with image notitle\n"
            "set terminal svg size 900,800 noenhanced\nset output ", (long long)bc,
            (double)(bc - 1) / 2, (long long)br, (double)(br - 1) / 2);
    attn_gnuplot_quote(f, svg);
    fputs("\nreplot\n", f);
    return fclose(f);
}

/* One weights file of the manifest: check, script, draw. 0, 1 or 2 (heatmap.h). */
static int draw(const char *dump, const char *out, const char *file, const char *line)
{
    char path[2048], err[1400], suite[64] = "?", axes[512], variant[64] = "";
    snprintf(path, sizeof path, "%s/%s", dump, file);
    json_str(line, "suite", suite, sizeof suite);
    json_str(line, "variant", variant, sizeof variant); /* absent: the reference's weights */
    /* a variant's weights carry the row-sum slack of its dtype (attn_weights_sum_tol) */
    const double tol = json_num(line, "sum_tol", ATTN_WEIGHTS_TOL);
    json_axes(line, axes, sizeof axes);
    int nd;
    int64_t shape[ATTN_MAX_DIMS];
    double *a;
    if (attn_npy_read_f8(path, ATTN_MAX_DIMS, &nd, shape, &a, err, sizeof err)) {
        fprintf(stderr, "attnbench plots: %s\n", err);
        return 2;
    }
    if (nd < 2) {
        fprintf(stderr, "attnbench plots: %s: %d dims, a heatmap needs rows × keys\n", path, nd);
        free(a);
        return 2;
    }
    int64_t numel = 1;
    for (int i = 0; i < nd; i++) numel *= shape[i];
    const int64_t rows = shape[nd - 2], cols = shape[nd - 1];
    char cerr[512];
    if (attn_weights_check(a, numel, cols, tol, cerr, sizeof cerr)) {
        fprintf(stderr, "attnbench plots: %s: not attention weights: %s\n", path, cerr);
        free(a);
        return 1;
    }
    char stem[1500], gp[1600], log[1600], title[1200];
    /* <suite>-<case>-weights[-<variant>].npy draws as <suite>-<case>-heatmap[-<variant>] */
    const char *w = strstr(file, "-weights");
    size_t l = strlen(file);
    if (l > 4 && !strcmp(file + l - 4, ".npy")) l -= 4;
    const size_t at = w ? (size_t)(w - file) : l, tail = w ? at + strlen("-weights") : l;
    snprintf(stem, sizeof stem, "%s/%.*s-heatmap%.*s", out, (int)at, file,
             (int)(l > tail ? l - tail : 0), file + tail);
    snprintf(gp, sizeof gp, "%s.gp", stem);
    snprintf(log, sizeof log, "%s.log", stem);
    snprintf(title, sizeof title, "%s attention weights (%s), %lld queries x %lld keys%s", suite,
             variant[0] ? variant : "reference", (long long)rows, (long long)cols,
             nd > 2 ? " (first matrix)" : "");
    int rc = 0;
    if (rows < 1 || cols < 1) {
        fprintf(stderr, "attnbench plots: %s: an empty matrix, not drawn\n", path);
    } else if (write_script(gp, stem, title, axes, a, rows, cols)) {
        fprintf(stderr, "attnbench plots: cannot write %s: %s\n", gp, strerror(errno));
        rc = 1;
    } else {
        const int st = attn_gnuplot(gp, log);
        if (st) {
            fprintf(stderr, "attnbench plots: gnuplot failed on %s (exit status %d; %s)\n", gp, st,
                    st == 127 ? "apt-get install gnuplot-nox" : log);
            rc = 1;
        } else {
            unlink(log);
            printf("%s.png\n%s.svg\n%s\n", stem, stem, gp);
        }
    }
    free(a);
    return rc;
}

int attn_heatmap_main(int argc, char **argv)
{
    const char *dump = NULL, *out = NULL;
    char msg[1200];
    for (int i = 1; i < argc; i++) /* plots --heatmap --help */
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return help(), 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = !strncmp(a, "--heatmap", 9) && (!a[9] || a[9] == '=') ? &dump
                           : !strncmp(a, "--out", 5) && (!a[5] || a[5] == '=')   ? &out
                                                                                  : NULL;
        if (!dst) {
            snprintf(msg, sizeof msg, "--heatmap: unexpected '%.1000s'", a);
            return usage(msg);
        }
        const char *eq = strchr(a, '=');
        const char *v = eq ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
        if (!v || !*v) return usage(dst == &dump ? "--heatmap needs a dump directory"
                                                 : "--out needs a directory");
        *dst = v;
    }
    if (!out) out = dump;
    char mpath[1100];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", dump);
    FILE *m = fopen(mpath, "r");
    if (!m) {
        fprintf(stderr, "attnbench plots: --heatmap '%s': cannot read %s: %s (a directory "
                        "written by --dump)\n", dump, mpath, strerror(errno));
        return 2;
    }
    if (attn_mkdirs(out, 1)) {
        fprintf(stderr, "attnbench plots: cannot create --out directory '%s': %s\n", out,
                strerror(errno));
        fclose(m);
        return 2;
    }
    char line[8192], file[1024], role[64];
    int rc = 0, n = 0;
    while (fgets(line, sizeof line, m))
        if (json_str(line, "role", role, sizeof role) && !strcmp(role, "weights") &&
            json_str(line, "file", file, sizeof file)) {
            n++;
            const int st = draw(dump, out, file, line);
            if (st > rc) rc = st;
        }
    fclose(m);
    if (!n) {
        fprintf(stderr, "attnbench plots: --heatmap '%s': %s names no weights (dump a case of a "
                        "suite with weights: attnbench plots --heatmap --help)\n", dump, mpath);
        return 2;
    }
    return rc;
}
