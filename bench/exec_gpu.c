/* The GPU executor: GPU variants on the device, inputs uploaded in the variant's dtype,
 * timed with events after an L2 flush (bench/device.h). */
#include <stdio.h>

#include "exec.h"

static const char *unavailable(const attn_exec_t *e, const attn_suite_t *s, const attn_variant_t *x)
{
    (void)s;
    if (x->available) return x->available;
    if (!x->run) return "not implemented";
    return e->dev->usable ? NULL : e->dev->reason;
}

/* After an error that poisoned the context, every later GPU call fails. */
static const char *lost(const attn_exec_t *e)
{
    return e->dev->usable ? attn_gpu_broken() : NULL;
}

static const char *where(const attn_exec_t *e, const char *cpu_name, char *buf, size_t n)
{
    (void)cpu_name, (void)buf, (void)n;
    return e->dev->usable ? e->dev->name : NULL;
}

/* Device memory was admitted before the case allocated anything (attn_case_room). */
static int checked_run(const attn_exec_t *e, attn_xrun_t *xr, char *err, size_t n)
{
    (void)e;
    const attn_layout_t *L = &xr->c->L;
    for (int i = 0; i < L->nin; i++) {
        const attn_tensor_t *t = &L->in[i];
        const size_t nb = (size_t)attn_tensor_numel(t) * attn_elem_bytes(t, xr->x->dtype);
        const void *src = xr->bits[i] ? (const void *)xr->bits[i] : xr->in[i];
        if (attn_gpu_malloc(&xr->dev_in[i], nb, err, n) ||
            attn_gpu_upload(xr->dev_in[i], src, nb, err, n))
            return -1;
        xr->rin[i] = xr->dev_in[i];
    }
    if (attn_gpu_malloc(&xr->rout, xr->osz, err, n) ||
        (xr->wsz && attn_gpu_malloc(&xr->rws, xr->wsz, err, n)))
        return -1;
    /* Poison, run once, fetch: the checked run. */
    return attn_gpu_poison(xr->rout, xr->osz, err, n) ||
                   attn_gpu_run_sync(xr->s, xr->x, xr->c->v, xr->rin, xr->rout, xr->rws, err, n) ||
                   attn_gpu_download(xr->out, xr->rout, xr->osz, err, n)
               ? -1
               : 0;
}

/* One of --warmup untimed runs: each lasts at least its share of --warmup-ms of kernel time,
 * so that clocks idle while the CPU prepared the case have ramped up before the first sample
 * (a count of runs says nothing for a 10 µs kernel). */
static int warmup(const attn_exec_t *e, attn_xrun_t *xr, char *err, size_t n)
{
    const double ms = e->o->warmup > 0 ? e->o->warmup_ms / e->o->warmup : 0;
    int runs = 0;
    return attn_gpu_warmup(xr->s, xr->x, xr->c->v, xr->rin, xr->rout, xr->rws, ms, 1, &runs, err,
                           n);
}

/* One timed sample, then the SM clock it ran at and any clock event (throttle) reasons, so a
 * row says whether its device was throttled rather than the nominal clock alone. */
static int sample(const attn_exec_t *e, attn_xrun_t *xr, double *ms, char *err, size_t n)
{
    if (attn_gpu_sample(xr->s, xr->x, xr->c->v, xr->rin, xr->rout, xr->rws, ms, err, n)) return -1;
    unsigned mhz;
    unsigned long long events;
    if (attn_gpu_clock(e->dev->ordinal, &mhz, &events) == 0 && mhz) {
        xr->clock_sum += mhz;
        xr->clock_n++;
        xr->clock_events |= events;
    }
    return 0;
}

static void release(const attn_exec_t *e, attn_xrun_t *xr)
{
    (void)e;
    for (int i = 0; i < ATTN_MAX_TENSORS; i++) attn_gpu_free(xr->dev_in[i]);
    attn_gpu_free(xr->rout);
    attn_gpu_free(xr->rws);
    xr->rout = xr->rws = NULL;
}

static attn_exec_t gpu = {
    .backend = "gpu", .uses_device = 1, .unavailable = unavailable, .lost = lost,
    .where = where, .checked_run = checked_run,
    .warmup = warmup, .sample = sample, .release = release,
};

const attn_exec_t *attn_exec_gpu(const attn_opts_t *o, const attn_device_t *dev)
{
    gpu.o = o, gpu.dev = dev;
    return &gpu;
}
