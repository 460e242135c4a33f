/* The device layer of a build without CUDA: there is never a usable GPU. */
#include "device.h"

#include <stdio.h>
#include <string.h>

static const char why[] = "built without CUDA";

int attn_gpu_open(attn_device_t *d, int ordinal)
{
    memset(d, 0, sizeof *d);
    d->ordinal = ordinal;
    snprintf(d->reason, sizeof d->reason, "%s", why);
    return -1;
}
void attn_gpu_close(void) {}
int attn_gpu_calibrate(attn_device_t *d, char *err, size_t n)
{
    (void)d;
    snprintf(err, n, "%s", why);
    return -1;
}
int attn_gpu_meminfo(size_t *f, size_t *t) { *f = *t = 0; return -1; }
static int fail(char *err, size_t n) { snprintf(err, n, "%s", why); return -1; }
int attn_gpu_malloc(void **p, size_t n, char *err, size_t l) { (void)n; *p = NULL; return fail(err, l); }
void attn_gpu_free(void *p) { (void)p; }
int attn_gpu_upload(void *d, const void *s, size_t n, char *err, size_t l) { (void)d, (void)s, (void)n; return fail(err, l); }
int attn_gpu_download(void *d, const void *s, size_t n, char *err, size_t l) { (void)d, (void)s, (void)n; return fail(err, l); }
int attn_gpu_poison(void *p, size_t n, char *err, size_t l) { (void)p, (void)n; return fail(err, l); }
int attn_gpu_run_sync(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, char *err, size_t l)
{
    (void)s, (void)var, (void)v, (void)in, (void)out, (void)ws;
    return fail(err, l);
}
const char *attn_gpu_broken(void) { return why; }
int attn_gpu_sample(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                    const void *const *in, void *out, void *ws, double *ms, char *err, size_t l)
{
    (void)s, (void)var, (void)v, (void)in, (void)out, (void)ws, (void)ms;
    return fail(err, l);
}
int attn_gpu_warmup(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                    const void *const *in, void *out, void *ws, double min_ms, int min_runs,
                    int *runs, char *err, size_t l)
{
    (void)s, (void)var, (void)v, (void)in, (void)out, (void)ws, (void)min_ms, (void)min_runs;
    *runs = 0;
    return fail(err, l);
}
int attn_gpu_clock(int ordinal, unsigned *sm_mhz, unsigned long long *reasons)
{
    (void)ordinal;
    *sm_mhz = 0;
    *reasons = 0;
    return -1;
}
int attn_cuda_error_sticky(int e) { (void)e; return 0; }
void attn_nvtx_push(const char *name) { (void)name; }
void attn_nvtx_pop(void) {}
