/* The CPU executor: CPU variants on host buffers, wall-clock timed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "util.h"

static const char *unavailable(const attn_exec_t *e, const attn_suite_t *s, const attn_variant_t *x)
{
    (void)e, (void)s;
    if (x->available) return x->available;
    return x->run ? NULL : "not implemented";
}

static const char *over_budget(const attn_exec_t *e, double flops, char *buf, size_t n)
{
    if (flops <= e->o->cpu_max_gflop * 1e9) return NULL;
    snprintf(buf, n, "%.1f GFLOP is above the CPU budget (--cpu-max-gflop %g)", flops / 1e9,
             e->o->cpu_max_gflop);
    return buf;
}

static const char *where(const attn_exec_t *e, const char *cpu_name, char *buf, size_t n)
{
    (void)e, (void)buf, (void)n;
    return cpu_name;
}

static int checked_run(const attn_exec_t *e, attn_xrun_t *xr, char *err, size_t n)
{
    (void)e;
    if (attn_host_workspace(xr, err, n)) return -1;
    for (int i = 0; i < xr->c->L.nin; i++) xr->rin[i] = xr->in[i];
    xr->rout = xr->out;
    memset(xr->out, 0xFF, xr->osz); /* NaN in every float dtype */
    const int rc = xr->x->run(xr->s, xr->x, xr->c->v, xr->rin, xr->out, xr->rws, NULL);
    if (rc) snprintf(err, n, "run failed with code %d", rc);
    return rc ? -1 : 0;
}

static int warmup(const attn_exec_t *e, attn_xrun_t *xr, char *err, size_t n)
{
    (void)e;
    if (!xr->x->run(xr->s, xr->x, xr->c->v, xr->rin, xr->rout, xr->rws, NULL)) return 0;
    snprintf(err, n, "run failed");
    return -1;
}

static int sample(const attn_exec_t *e, attn_xrun_t *xr, double *ms, char *err, size_t n)
{
    (void)e, (void)err, (void)n;
    const double a = attn_now();
    xr->x->run(xr->s, xr->x, xr->c->v, xr->rin, xr->rout, xr->rws, NULL);
    *ms = (attn_now() - a) * 1e3;
    return 0;
}

static void release(const attn_exec_t *e, attn_xrun_t *xr)
{
    (void)e;
    free(xr->rws);
    xr->rws = NULL;
}

static attn_exec_t cpu = {
    .backend = "cpu", .unavailable = unavailable,
    .over_budget = over_budget, .where = where, .checked_run = checked_run, .warmup = warmup,
    .sample = sample, .release = release,
};

const attn_exec_t *attn_exec_cpu(const attn_opts_t *o)
{
    cpu.o = o;
    return &cpu;
}
