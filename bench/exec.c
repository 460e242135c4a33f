/* What every executor shares: a variant run's buffers, the timing policy, the selection. */
#include "exec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "util.h"

const attn_variant_t *attn_exec_variant(const attn_exec_t *e, const attn_suite_t *s,
                                        const attn_variant_t *x)
{
    return e->variant ? e->variant(e, s, x) : x;
}

const attn_suite_t *attn_exec_suite(const attn_exec_t *e, const attn_suite_t *s)
{
    return e->suite ? e->suite(e, s) : s;
}

int attn_xrun_open(attn_xrun_t *xr, const attn_exec_t *e, const attn_case_t *c,
                   const attn_variant_t *x, char *err, size_t n)
{
    const attn_rclass_t *rc = &c->cls[attn_class_of(x->dtype)];
    memset(xr, 0, sizeof *xr);
    xr->s = attn_exec_suite(e, c->s), xr->x = x, xr->c = c;
    xr->in = (const void *const *)rc->in;
    xr->bits = rc->bits;
    xr->osz = (size_t)attn_tensor_numel(&c->L.out) * (size_t)attn_dtype_size(x->dtype);
    xr->wsz = x->workspace ? x->workspace(xr->s, x, c->v) : 0;
    if (!(xr->out = malloc(xr->osz ? xr->osz : 1))) {
        snprintf(err, n, "out of host memory for the output");
        return -1;
    }
    return 0;
}

void attn_xrun_close(const attn_exec_t *e, attn_xrun_t *xr)
{
    e->release(e, xr);
    free(xr->out);
    xr->out = NULL;
}

int attn_host_workspace(attn_xrun_t *xr, char *err, size_t n)
{
    if (xr->wsz && !(xr->rws = aligned_alloc(256, (xr->wsz + 255) / 256 * 256))) {
        snprintf(err, n, "out of host memory for the workspace");
        return -1;
    }
    return 0;
}

static int stopping(const attn_xrun_t *xr)
{
    return xr->c->tick ? xr->c->tick(xr->c->arg) : 0;
}

int attn_exec_time(const attn_exec_t *e, attn_xrun_t *xr, attn_stats_t *st, char *err, size_t n)
{
    const attn_opts_t *o = e->o;
    if (!e->sample) return 0;
    for (int w = 0; w < o->warmup; w++) {
        if (stopping(xr)) return -2;
        if (e->warmup(e, xr, err, n)) return -1;
    }
    double *ms = malloc((size_t)o->max_samples * sizeof *ms);
    if (!ms) {
        snprintf(err, n, "out of host memory");
        return -1;
    }
    int k = 0, rc = 0;
    const double t0 = attn_now();
    while (k < o->max_samples) {
        if (stopping(xr)) {
            rc = -2;
            break;
        }
        if (e->sample(e, xr, &ms[k], err, n)) {
            rc = -1;
            break;
        }
        k++;
        if (k >= o->min_samples &&
            (attn_now() - t0 > o->max_time || attn_rel_spread(ms, k) < o->target_spread))
            break;
    }
    if (!rc) *st = attn_stats(ms, k);
    free(ms);
    return rc;
}

int attn_select_init(attn_select_t *sel, const attn_opts_t *o, const attn_device_t *dev,
                     char *err, size_t n)
{
    memset(sel, 0, sizeof *sel);
    const int all = !strcmp(o->backend, "all");
    if (!strcmp(o->backend, "emu")) sel->exec[ATTN_GPU] = attn_exec_emu(o);
    else {
        if (all || !strcmp(o->backend, "cpu")) sel->exec[ATTN_CPU] = attn_exec_cpu(o);
        if (all || !strcmp(o->backend, "gpu")) sel->exec[ATTN_GPU] = attn_exec_gpu(o, dev);
    }
    if (!o->variant_re) return 0;
    int rc = regcomp(&sel->re, o->variant_re, REG_EXTENDED | REG_NOSUB);
    if (rc) {
        char m[256];
        regerror(rc, &sel->re, m, sizeof m);
        snprintf(err, n, "--variant '%s': bad regular expression: %s", o->variant_re, m);
        return -1;
    }
    sel->have_re = 1;
    return 0;
}

int attn_selected(const attn_select_t *sel, const attn_variant_t *x)
{
    if (!sel->exec[x->backend]) return 0;
    return !sel->have_re || regexec(&sel->re, x->name, 0, NULL, 0) == 0;
}

const attn_exec_t *attn_exec_of(const attn_select_t *sel, const attn_variant_t *x)
{
    return sel->exec[x->backend];
}

const char *attn_unavailable(const attn_select_t *sel, const attn_suite_t *s,
                             const attn_variant_t *x)
{
    const attn_exec_t *e = sel->exec[x->backend];
    return e->unavailable(e, s, x);
}
