/* The GPU as bench/ sees it: discovery, memory, the launch stream, event timing, NVTX.
 * Built from gpu_cuda.c with CUDA, from gpu_none.c without (every call then fails cleanly). */
#ifndef ATTN_DEVICE_H
#define ATTN_DEVICE_H

#include <stddef.h>
#include "registry.h"

typedef struct attn_device {
    int usable;               /* GPU variants can run */
    char reason[256];         /* why not, e.g. "no CUDA device (...)" */
    char name[256];
    int ordinal, sm;          /* sm = major·10 + minor */
    int driver, runtime;      /* e.g. 13000 */
    int clock_mhz;            /* nominal peak SM clock the runtime reports; 0 when unknown */
    size_t l2_bytes, total_mem;
    /* The device's own ceilings, measured by attn_gpu_calibrate (0: not measured). */
    double peak_gbps;         /* device-to-device copy, bytes read + written per second / 1e9 */
    double peak_tflops;       /* bf16 cuBLAS GEMM (fp32 accumulate) on random data */
} attn_device_t;

/* Open device `ordinal`: create the non-default launch stream, timing events and an L2 flush
 * buffer of 2× the L2 size. Always fills d; returns 0 when usable. */
int attn_gpu_open(attn_device_t *d, int ordinal);
void attn_gpu_close(void);

/* Measure the ceilings every row is compared with (d->peak_gbps, d->peak_tflops): the median of
 * timed device-to-device copies of a buffer far larger than L2 (bytes read + written), and the
 * median of timed bf16 GEMMs (m = n = k = 8192, fp32 accumulation, random operands, never zeros)
 * through cuBLAS. Needs an open device. Returns 0, or -1 with the reason in err (the fields then
 * stay 0 and rows carry no percentages). */
int attn_gpu_calibrate(attn_device_t *d, char *err, size_t errlen);

/* Free and total device memory now; 0 on success. */
int attn_gpu_meminfo(size_t *free_bytes, size_t *total_bytes);

/* Each returns 0, or -1 with the CUDA error text in err. */
int attn_gpu_malloc(void **p, size_t n, char *err, size_t errlen);
void attn_gpu_free(void *p);
int attn_gpu_upload(void *dst, const void *src, size_t n, char *err, size_t errlen);
int attn_gpu_download(void *dst, const void *src, size_t n, char *err, size_t errlen);
/* Fill with 0xFF bytes: NaN as f32 and as bf16, so an unwritten output element fails. */
int attn_gpu_poison(void *p, size_t n, char *err, size_t errlen);

/* Run the variant once on the stream and wait for it; reports launch and execution errors.
 * After an error that leaves the context unusable (illegal address, ...), attn_gpu_broken()
 * returns the reason and every later GPU call fails. */
int attn_gpu_run_sync(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, char *err, size_t errlen);
const char *attn_gpu_broken(void);

/* One timed sample: clear L2 (write 2× L2, then read it back, so no dirty line is written back
 * during the timed run), event, run, event, wait. */
int attn_gpu_sample(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                    const void *const *in, void *out, void *ws, double *ms, char *err,
                    size_t errlen);

/* Warm-up by time: run until at least min_runs runs and min_ms milliseconds of kernel time
 * (event-timed; at most 10 s), so that clocks have ramped up from idle before sampling. The
 * runs made go to *runs. */
int attn_gpu_warmup(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                    const void *const *in, void *out, void *ws, double min_ms, int min_runs,
                    int *runs, char *err, size_t errlen);

/* The SM clock now (MHz) and NVML's clock event (throttle) reasons bitmask, from the driver's
 * NVML when it can be opened; -1 (both 0) otherwise. */
int attn_gpu_clock(int ordinal, unsigned *sm_mhz, unsigned long long *reasons);

/* 1 when CUDA error code e leaves the context unusable (every later call fails), 0 when it is
 * cleared after being reported. */
int attn_cuda_error_sticky(int e);

/* NVTX range around a case, named suite/variant/shape. */
void attn_nvtx_push(const char *name);
void attn_nvtx_pop(void);

#endif
