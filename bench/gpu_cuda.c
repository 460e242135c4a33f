/* The device layer on the CUDA runtime (C API). */
#include "device.h"

#include <cuda_runtime_api.h>
#include <nvtx3/nvToolsExt.h>
#include <stdio.h>
#include <string.h>

static cudaStream_t stream;
static cudaEvent_t ev_start, ev_stop;
static void *flush_buf;
static size_t flush_bytes;
static unsigned flush_count;
static char broken[256];

/* Record a failing call's text in err; remember errors that poison the context. */
static int fail(cudaError_t e, const char *what, char *err, size_t n)
{
    snprintf(err, n, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    switch (e) {
    case cudaErrorIllegalAddress: case cudaErrorLaunchFailure: case cudaErrorMisalignedAddress:
    case cudaErrorIllegalInstruction: case cudaErrorHardwareStackError: case cudaErrorInvalidPc:
    case cudaErrorAssert: case cudaErrorLaunchTimeout: case cudaErrorECCUncorrectable:
        if (!broken[0]) snprintf(broken, sizeof broken, "device unusable after %s", err);
        break;
    default: break;
    }
    return -1;
}

#define TRY(call, what)                                                                          \
    do {                                                                                         \
        if (broken[0]) { snprintf(err, errlen, "%s", broken); return -1; }                      \
        cudaError_t e_ = (call);                                                                 \
        if (e_ != cudaSuccess) return fail(e_, what, err, errlen);                               \
    } while (0)

int attn_gpu_open(attn_device_t *d, int ordinal)
{
    memset(d, 0, sizeof *d);
    d->ordinal = ordinal;
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess || count == 0) {
        snprintf(d->reason, sizeof d->reason, "no CUDA device (%s)",
                 e != cudaSuccess ? cudaGetErrorString(e) : "none found");
        return -1;
    }
    if (ordinal >= count) {
        snprintf(d->reason, sizeof d->reason, "no CUDA device %d (%d present)", ordinal, count);
        return -1;
    }
    struct cudaDeviceProp p;
    if ((e = cudaSetDevice(ordinal)) || (e = cudaGetDeviceProperties(&p, ordinal))) {
        snprintf(d->reason, sizeof d->reason, "CUDA device %d: %s", ordinal, cudaGetErrorString(e));
        return -1;
    }
    snprintf(d->name, sizeof d->name, "%s", p.name);
    d->sm = p.major * 10 + p.minor;
    d->l2_bytes = (size_t)p.l2CacheSize;
    d->total_mem = p.totalGlobalMem;
    cudaDriverGetVersion(&d->driver);
    cudaRuntimeGetVersion(&d->runtime);
    int khz = 0;
    if (cudaDeviceGetAttribute(&khz, cudaDevAttrClockRate, ordinal) == cudaSuccess)
        d->clock_mhz = khz / 1000;
    flush_bytes = 2 * d->l2_bytes > (size_t)(8 << 20) ? 2 * d->l2_bytes : (size_t)(8 << 20);
    if ((e = cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking)) ||
        (e = cudaEventCreate(&ev_start)) || (e = cudaEventCreate(&ev_stop)) ||
        (e = cudaMalloc(&flush_buf, flush_bytes))) {
        snprintf(d->reason, sizeof d->reason, "CUDA device %d setup: %s", ordinal,
                 cudaGetErrorString(e));
        return -1;
    }
    d->usable = 1;
    return 0;
}

void attn_gpu_close(void)
{
    if (flush_buf) cudaFree(flush_buf);
    if (stream) cudaStreamDestroy(stream);
    flush_buf = NULL;
    stream = NULL;
}

int attn_gpu_meminfo(size_t *f, size_t *t)
{
    return cudaMemGetInfo(f, t) == cudaSuccess ? 0 : -1;
}

int attn_gpu_malloc(void **p, size_t n, char *err, size_t errlen)
{
    *p = NULL;
    TRY(cudaMalloc(p, n ? n : 1), "cudaMalloc");
    return 0;
}

void attn_gpu_free(void *p)
{
    if (p) cudaFree(p);
}

int attn_gpu_upload(void *dst, const void *src, size_t n, char *err, size_t errlen)
{
    TRY(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, stream), "cudaMemcpy H2D");
    TRY(cudaStreamSynchronize(stream), "cudaMemcpy H2D");
    return 0;
}

int attn_gpu_download(void *dst, const void *src, size_t n, char *err, size_t errlen)
{
    TRY(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, stream), "cudaMemcpy D2H");
    TRY(cudaStreamSynchronize(stream), "cudaMemcpy D2H");
    return 0;
}

int attn_gpu_poison(void *p, size_t n, char *err, size_t errlen)
{
    TRY(cudaMemsetAsync(p, 0xFF, n, stream), "cudaMemset (poison)");
    TRY(cudaStreamSynchronize(stream), "cudaMemset (poison)");
    return 0;
}

static int launch(const attn_variant_t *var, const int64_t *v, const void *const *in, void *out,
                  void *ws, char *err, size_t errlen)
{
    int rc = var->run(v, in, out, ws, stream);
    if (rc) {
        snprintf(err, errlen, "launch failed: %s (code %d)",
                 var->error_string ? var->error_string(rc) : "error", rc);
        cudaError_t e = cudaGetLastError();
        if (e != cudaSuccess) fail(e, "launch", err, errlen);
        return -1;
    }
    return 0;
}

int attn_gpu_run_sync(const attn_variant_t *var, const int64_t *v, const void *const *in,
                      void *out, void *ws, char *err, size_t errlen)
{
    if (broken[0]) { snprintf(err, errlen, "%s", broken); return -1; }
    if (launch(var, v, in, out, ws, err, errlen)) return -1;
    TRY(cudaStreamSynchronize(stream), "kernel execution");
    return 0;
}

const char *attn_gpu_broken(void) { return broken[0] ? broken : NULL; }

int attn_gpu_sample(const attn_variant_t *var, const int64_t *v, const void *const *in, void *out,
                    void *ws, double *ms, char *err, size_t errlen)
{
    /* A fresh byte value each time, so nothing can short-cut the writes. */
    TRY(cudaMemsetAsync(flush_buf, (int)(++flush_count & 0xff), flush_bytes, stream), "L2 flush");
    TRY(cudaEventRecord(ev_start, stream), "cudaEventRecord");
    if (launch(var, v, in, out, ws, err, errlen)) return -1;
    TRY(cudaEventRecord(ev_stop, stream), "cudaEventRecord");
    TRY(cudaEventSynchronize(ev_stop), "kernel execution");
    float t = 0;
    TRY(cudaEventElapsedTime(&t, ev_start, ev_stop), "cudaEventElapsedTime");
    *ms = t;
    return 0;
}

void attn_nvtx_push(const char *name) { nvtxRangePushA(name); }
void attn_nvtx_pop(void) { nvtxRangePop(); }
