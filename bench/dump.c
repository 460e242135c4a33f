/* --dump DIR: each tensor of a case as DIR/<suite>-<case>-<what>.npy, and manifest.json naming
 * every file with its role, dtype, shape and case. Entries of output-shaped tensors (outputs,
 * references) say how many rows were checked; when the reference was sampled, its rows outside
 * the sample are NaN and the checked rows' indices are in <suite>-<case>-rows-checked.npy
 * (int64), which those entries name as "rows_checked_file". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heatmap.h"
#include "check.h"
#include "npy.h"
#include "runner.h"

int run_dump_open(run_t *r)
{
    char mpath[1280];
    snprintf(mpath, sizeof mpath, "%s/manifest.json", r->o.dump);
    if (attn_mkdirs(r->o.dump, 1) || !(r->manifest = fopen(mpath, "w"))) {
        fprintf(stderr, "attnbench: --dump '%s': cannot create %s: %s\n", r->o.dump, mpath,
                strerror(errno));
        return -1;
    }
    fprintf(r->manifest, "{\"seed\": %llu, \"git_commit\": \"%s\", \"files\": [",
            (unsigned long long)r->o.seed, r->git);
    return 0;
}

void run_dump_close(run_t *r)
{
    if (!r->manifest) return;
    fputs("\n]}\n", r->manifest);
    fclose(r->manifest);
    fprintf(stderr, "dump: %s/manifest.json\n", r->o.dump);
}

/* extra: NULL, or more members for the entry (", \"key\": value"). */
static void dump_entry(run_t *r, const char *file, const attn_tensor_t *t, const char *descr,
                       const char *role, const attn_case_t *c, const char *extra)
{
    if (!r->manifest) return;
    fprintf(r->manifest, "%s\n  {\"file\": \"%s\", \"role\": \"%s\", \"dtype\": \"%s\", \"shape\": [",
            r->manifest_n++ ? "," : "", file, role, descr);
    for (int i = 0; i < t->ndim; i++) fprintf(r->manifest, "%s%lld", i ? ", " : "", (long long)t->shape[i]);
    fprintf(r->manifest, "], \"suite\": \"%s\", \"case\": %d, \"axes\": {", c->s->name, c->index);
    for (int i = 0; i < c->s->naxes; i++)
        fprintf(r->manifest, "%s\"%s\": %lld", i ? ", " : "", c->s->axes[i].name,
                (long long)c->v[i]);
    fputs("}", r->manifest);
    if (extra) fputs(extra, r->manifest);
    /* an output (the first or a further one): its rows, as the check saw them */
    if (t == &c->L.out || (t >= c->L.xout && t < c->L.xout + c->L.nxout)) {
        fprintf(r->manifest, ", \"rows_checked\": %lld, \"rows\": %lld",
                (long long)c->rows_checked, (long long)c->L.out_rows);
        if (c->row_sel)
            fprintf(r->manifest, ", \"rows_checked_file\": \"%s-%03d-rows-checked.npy\"",
                    c->s->name, c->index);
    }
    fputs("}", r->manifest);
}

void run_dump_rows(run_t *r, const attn_case_t *c)
{
    if (!c->row_sel) return;
    int64_t *idx = malloc((size_t)(c->rows_checked > 0 ? c->rows_checked : 1) * sizeof *idx);
    if (!idx) {
        fprintf(stderr, "attnbench: --dump: out of host memory for the checked rows\n");
        return;
    }
    int64_t k = 0;
    for (int64_t i = 0; i < c->L.out_rows && k < c->rows_checked; i++)
        if (c->row_sel[i]) idx[k++] = i;
    const attn_tensor_t t = {.name = "rows_checked", .kind = ATTN_T_INT32, .ndim = 1,
                             .shape = {k}, .dims = "r"};
    run_dump(r, c, "rows-checked", &t, "<i8", idx, 8);
    free(idx);
}

static void dump_as(run_t *r, const attn_case_t *c, const char *what, const char *role,
                    const char *extra, const attn_tensor_t *t, const char *descr,
                    const void *data, int64_t esize)
{
    char file[256], path[1280];
    snprintf(file, sizeof file, "%s-%03d-%s.npy", c->s->name, c->index, what);
    snprintf(path, sizeof path, "%s/%s", r->o.dump, file);
    if (attn_npy_write(path, descr, t->ndim, t->shape, data, esize))
        fprintf(stderr, "attnbench: cannot write %s: %s\n", path, strerror(errno));
    else
        dump_entry(r, file, t, descr, role, c, extra);
}

void run_dump(run_t *r, const attn_case_t *c, const char *what, const attn_tensor_t *t,
              const char *descr, const void *data, int64_t esize)
{
    dump_as(r, c, what, what, NULL, t, descr, data, esize);
}

void run_dump_weights(run_t *r, const attn_case_t *c)
{
    if (!c->s->weights) return;
    attn_tensor_t t;
    double *a = c->s->weights(c->s, c->v, (const void *const *)c->gen, &t);
    if (!a) {
        fprintf(stderr, "attnbench: --dump: out of host memory for the attention weights\n");
        return;
    }
    char err[512];
    if (t.ndim >= 2 && attn_weights_check(a, attn_tensor_numel(&t), t.shape[t.ndim - 1],
                                          ATTN_WEIGHTS_TOL, err, sizeof err))
        fprintf(stderr, "attnbench: --dump: %s case %d: attention weights %s\n", c->s->name,
                c->index, err);
    run_dump(r, c, "weights", &t, "<f8", a, 8);
    free(a);
}

void run_dump_variant_weights(run_t *r, const attn_case_t *c, const attn_variant_t *x,
                              const attn_tensor_t *t, const void *w)
{
    const int64_t n = attn_tensor_numel(t), cols = t->ndim ? t->shape[t->ndim - 1] : 1;
    double *a = malloc((size_t)(n ? n : 1) * sizeof *a);
    if (!a) {
        fprintf(stderr, "attnbench: --dump: out of host memory for %s's weights\n", x->name);
        return;
    }
    for (int64_t e = 0; e < n; e++) a[e] = attn_load(w, x->dtype, e);
    /* a wrong variant's weights are dumped all the same (its check said why): the file is
     * what it computed; `plots --heatmap` refuses to draw what is no distribution */
    const double tol = attn_weights_sum_tol(x->dtype, cols);
    char what[96], extra[192];
    snprintf(what, sizeof what, "weights-%s", x->name);
    snprintf(extra, sizeof extra, ", \"variant\": \"%s\", \"sum_tol\": %.17g", x->name, tol);
    dump_as(r, c, what, "weights", extra, t, "<f8", a, 8);
    free(a);
}
