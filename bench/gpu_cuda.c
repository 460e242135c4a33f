/* The device layer on the CUDA runtime (C API). */
#include "device.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <nvtx3/nvToolsExt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static cudaStream_t stream;
static cudaEvent_t ev_start, ev_stop;
static void *flush_buf;
static size_t flush_bytes;
static unsigned flush_count;
static cublasHandle_t flush_blas;  /* the read pass of the L2 clear */
static float *flush_sum;           /* its one-float result, on the device */
static char broken[256];

int attn_cuda_error_sticky(int e)
{
    switch ((cudaError_t)e) {
    case cudaErrorIllegalAddress: case cudaErrorLaunchFailure: case cudaErrorMisalignedAddress:
    case cudaErrorIllegalInstruction: case cudaErrorHardwareStackError: case cudaErrorInvalidPc:
    case cudaErrorAssert: case cudaErrorLaunchTimeout: case cudaErrorECCUncorrectable:
    case cudaErrorInvalidAddressSpace: case cudaErrorUnknown: case cudaErrorContextIsDestroyed:
        return 1;
    default: return 0;
    }
}

/* Record a failing call's text in err. An error that poisons the context makes every later
 * call fail (attn_gpu_broken); any other is cleared here, so that the next variant's first call
 * is not blamed for it (cudaGetLastError would report it again). */
static int fail(cudaError_t e, const char *what, char *err, size_t n)
{
    snprintf(err, n, "%s: %s (%s)", what, cudaGetErrorString(e), cudaGetErrorName(e));
    if (attn_cuda_error_sticky(e)) {
        if (!broken[0]) snprintf(broken, sizeof broken, "device unusable after %s", err);
    } else {
        (void)cudaGetLastError();
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
    if ((e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice) &&
        access("/proc/driver/nvidia/version", F_OK) != 0) {
        /* the runtime words a missing driver as "driver version is insufficient" */
        snprintf(d->reason, sizeof d->reason, "no CUDA device: no NVIDIA driver or GPU found");
        return -1;
    }
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
        (e = cudaMalloc(&flush_buf, flush_bytes)) ||
        (e = cudaMalloc((void **)&flush_sum, sizeof *flush_sum))) {
        snprintf(d->reason, sizeof d->reason, "CUDA device %d setup: %s", ordinal,
                 cudaGetErrorString(e));
        return -1;
    }
    if (cublasCreate(&flush_blas) != CUBLAS_STATUS_SUCCESS ||
        cublasSetStream(flush_blas, stream) != CUBLAS_STATUS_SUCCESS ||
        cublasSetPointerMode(flush_blas, CUBLAS_POINTER_MODE_DEVICE) != CUBLAS_STATUS_SUCCESS) {
        snprintf(d->reason, sizeof d->reason, "CUDA device %d setup: cuBLAS handle", ordinal);
        return -1;
    }
    d->usable = 1;
    return 0;
}

void attn_gpu_close(void)
{
    if (flush_blas) cublasDestroy(flush_blas);
    if (flush_sum) cudaFree(flush_sum);
    if (flush_buf) cudaFree(flush_buf);
    if (stream) cudaStreamDestroy(stream);
    flush_blas = NULL;
    flush_sum = NULL;
    flush_buf = NULL;
    stream = NULL;
}

/* ---------------------------------------------------------------- calibration */

enum { CAL_WARMUP = 3, CAL_SAMPLES = 15 };

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median_of(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : 0.5 * (t[n / 2 - 1] + t[n / 2]);
}

/* Random bf16 bits of N(0, 1)-like values (sum of four uniforms, centred, scaled), so a
 * multiply never sees zeros or a pattern that runs faster than real data. */
static void fill_bf16(uint16_t *h, size_t n, uint64_t seed)
{
    uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
    for (size_t i = 0; i < n; i++) {
        float u = 0;
        for (int k = 0; k < 4; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            u += (float)(x >> 40) * (1.0f / 16777216.0f);
        }
        const float f = (u - 2.0f) * 1.7320508f;
        uint32_t b;
        memcpy(&b, &f, 4);
        h[i] = (uint16_t)((b + 0x7FFFu + ((b >> 16) & 1u)) >> 16);
    }
}

static int time_copy(size_t bytes, double *gbps, char *err, size_t errlen)
{
    void *a = NULL, *b = NULL;
    int rc = -1;
    double t[CAL_SAMPLES];
    cudaError_t e;
    if ((e = cudaMalloc(&a, bytes)) || (e = cudaMalloc(&b, bytes)) ||
        (e = cudaMemsetAsync(a, 0x5A, bytes, stream))) {
        fail(e, "calibration copy buffers", err, errlen);
        goto out;
    }
    for (int i = 0; i < CAL_WARMUP + CAL_SAMPLES; i++) {
        float ms = 0;
        if ((e = cudaEventRecord(ev_start, stream)) ||
            (e = cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice, stream)) ||
            (e = cudaEventRecord(ev_stop, stream)) || (e = cudaEventSynchronize(ev_stop)) ||
            (e = cudaEventElapsedTime(&ms, ev_start, ev_stop))) {
            fail(e, "calibration copy", err, errlen);
            goto out;
        }
        if (i >= CAL_WARMUP) t[i - CAL_WARMUP] = ms;
    }
    *gbps = 2.0 * (double)bytes / (median_of(t, CAL_SAMPLES) * 1e-3) / 1e9;
    rc = 0;
out:
    cudaFree(a);
    cudaFree(b);
    return rc;
}

static int time_gemm(int n, double *tflops, char *err, size_t errlen)
{
    const size_t elems = (size_t)n * (size_t)n, bytes = elems * 2;
    void *A = NULL, *B = NULL, *C = NULL;
    uint16_t *h = malloc(bytes);
    cublasHandle_t handle = NULL;
    int rc = -1;
    double t[CAL_SAMPLES];
    cudaError_t e = cudaSuccess;
    cublasStatus_t st;
    if (!h) {
        snprintf(err, errlen, "calibration: out of host memory");
        return -1;
    }
    if ((e = cudaMalloc(&A, bytes)) || (e = cudaMalloc(&B, bytes)) || (e = cudaMalloc(&C, bytes))) {
        fail(e, "calibration GEMM buffers", err, errlen);
        goto out;
    }
    fill_bf16(h, elems, 1);
    if ((e = cudaMemcpy(A, h, bytes, cudaMemcpyHostToDevice))) goto cuda_err;
    fill_bf16(h, elems, 2);
    if ((e = cudaMemcpy(B, h, bytes, cudaMemcpyHostToDevice))) goto cuda_err;
    if ((st = cublasCreate(&handle)) != CUBLAS_STATUS_SUCCESS ||
        (st = cublasSetStream(handle, stream)) != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "calibration: cuBLAS setup: %s", cublasGetStatusString(st));
        goto out;
    }
    const float one = 1.0f, zero = 0.0f;
    for (int i = 0; i < CAL_WARMUP + CAL_SAMPLES; i++) {
        float ms = 0;
        if ((e = cudaEventRecord(ev_start, stream))) goto cuda_err;
        st = cublasGemmEx(handle, CUBLAS_OP_N, CUBLAS_OP_N, n, n, n, &one, A, CUDA_R_16BF, n, B,
                          CUDA_R_16BF, n, &zero, C, CUDA_R_16BF, n, CUBLAS_COMPUTE_32F,
                          CUBLAS_GEMM_DEFAULT);
        if (st != CUBLAS_STATUS_SUCCESS) {
            snprintf(err, errlen, "calibration: cublasGemmEx: %s", cublasGetStatusString(st));
            goto out;
        }
        if ((e = cudaEventRecord(ev_stop, stream)) || (e = cudaEventSynchronize(ev_stop)) ||
            (e = cudaEventElapsedTime(&ms, ev_start, ev_stop)))
            goto cuda_err;
        if (i >= CAL_WARMUP) t[i - CAL_WARMUP] = ms;
    }
    *tflops = 2.0 * (double)n * (double)n * (double)n / (median_of(t, CAL_SAMPLES) * 1e-3) / 1e12;
    rc = 0;
    goto out;
cuda_err:
    fail(e, "calibration GEMM", err, errlen);
out:
    if (handle) cublasDestroy(handle);
    cudaFree(A);
    cudaFree(B);
    cudaFree(C);
    free(h);
    return rc;
}

int attn_gpu_calibrate(attn_device_t *d, char *err, size_t errlen)
{
    d->peak_gbps = d->peak_tflops = 0;
    if (!d->usable || !stream) {
        snprintf(err, errlen, "no open device to calibrate");
        return -1;
    }
    size_t free_b = 0, total_b = 0;
    cudaMemGetInfo(&free_b, &total_b);
    /* Copy: 1 GiB each way (≥ 16× any L2 so far), less on a small device. */
    size_t copy = (size_t)1 << 30;
    while (copy > ((size_t)64 << 20) && 2 * copy > free_b / 2) copy /= 2;
    int n = 8192;
    while (n > 1024 && (size_t)n * (size_t)n * 6 > free_b / 2) n /= 2;
    double gbps = 0, tflops = 0;
    if (time_copy(copy, &gbps, err, errlen) || time_gemm(n, &tflops, err, errlen)) return -1;
    d->peak_gbps = gbps;
    d->peak_tflops = tflops;
    return 0;
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

/* The launcher's own code decides (it names what failed); a CUDA error pending after it is
 * added to the message and, when it poisons the context, recorded. A launcher that returned 0
 * with a launch error pending (one it did not check) fails too. */
static int launch(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                  const void *const *in, void *out, void *ws, char *err, size_t errlen)
{
    const int rc = var->run(s, var, v, in, out, ws, stream);
    const cudaError_t e = cudaGetLastError();
    if (!rc && e == cudaSuccess) return 0;
    char cuda[192] = "";
    if (e != cudaSuccess) fail(e, "pending CUDA error", cuda, sizeof cuda);
    if (rc)
        snprintf(err, errlen, "launch failed: %s (code %d)%s%s",
                 var->error_string ? var->error_string(rc) : "error", rc, cuda[0] ? "; " : "",
                 cuda);
    else
        snprintf(err, errlen, "launcher returned 0 with a launch error: %s", cuda);
    return -1;
}

int attn_gpu_run_sync(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                      const void *const *in, void *out, void *ws, char *err, size_t errlen)
{
    if (broken[0]) { snprintf(err, errlen, "%s", broken); return -1; }
    if (launch(s, var, v, in, out, ws, err, errlen)) return -1;
    TRY(cudaStreamSynchronize(stream), "kernel execution");
    return 0;
}

const char *attn_gpu_broken(void) { return broken[0] ? broken : NULL; }

/* Clear L2 before a timed run: write 2× L2 (a fresh byte value each time, so nothing can
 * short-cut the writes), then read it all back (a sum), so that the lines L2 holds afterwards
 * are clean: none of the writes is written back to memory during the timed kernel. */
static int clear_l2(char *err, size_t errlen)
{
    TRY(cudaMemsetAsync(flush_buf, (int)(++flush_count & 0x7f), flush_bytes, stream), "L2 flush");
    if (cublasSasum(flush_blas, (int)(flush_bytes / sizeof(float)), flush_buf, 1, flush_sum) !=
        CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "L2 flush: the read pass (cublasSasum) failed");
        return -1;
    }
    return 0;
}

int attn_gpu_sample(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                    const void *const *in, void *out, void *ws, double *ms, char *err,
                    size_t errlen)
{
    if (clear_l2(err, errlen)) return -1;
    TRY(cudaEventRecord(ev_start, stream), "cudaEventRecord");
    if (launch(s, var, v, in, out, ws, err, errlen)) return -1;
    TRY(cudaEventRecord(ev_stop, stream), "cudaEventRecord");
    TRY(cudaEventSynchronize(ev_stop), "kernel execution");
    float t = 0;
    TRY(cudaEventElapsedTime(&t, ev_start, ev_stop), "cudaEventElapsedTime");
    *ms = t;
    return 0;
}

int attn_gpu_warmup(const attn_suite_t *s, const attn_variant_t *var, const int64_t *v,
                    const void *const *in, void *out, void *ws, double min_ms, int min_runs,
                    int *runs, char *err, size_t errlen)
{
    double total = 0;
    *runs = 0;
    /* at most 10 s of runs whatever the kernel: min_ms is met long before on any real case */
    while (*runs < min_runs || (total < min_ms && total < 10000.0)) {
        TRY(cudaEventRecord(ev_start, stream), "cudaEventRecord");
        if (launch(s, var, v, in, out, ws, err, errlen)) return -1;
        TRY(cudaEventRecord(ev_stop, stream), "cudaEventRecord");
        TRY(cudaEventSynchronize(ev_stop), "kernel execution");
        float t = 0;
        TRY(cudaEventElapsedTime(&t, ev_start, ev_stop), "cudaEventElapsedTime");
        total += t;
        ++*runs;
    }
    return 0;
}

/* ---------------------------------------------------------------- clocks (NVML, if present) */

/* NVML is the driver's library: opened at run time, so that a machine without the driver still
 * starts this program. Only the four calls used here are declared. */
typedef int (*nvml_init_fn)(void);
typedef int (*nvml_by_pci_fn)(const char *bus_id, void **device);
typedef int (*nvml_clock_fn)(void *device, int type, unsigned *mhz);
typedef int (*nvml_reasons_fn)(void *device, unsigned long long *reasons);
static struct {
    int tried;
    void *dev;
    nvml_clock_fn clock;
    nvml_reasons_fn reasons;
} nvml;
enum { NVML_CLOCK_SM = 1 };

static void nvml_open(int ordinal)
{
    nvml.tried = 1;
    void *lib = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return;
    nvml_init_fn init = (nvml_init_fn)dlsym(lib, "nvmlInit_v2");
    nvml_by_pci_fn by_pci = (nvml_by_pci_fn)dlsym(lib, "nvmlDeviceGetHandleByPciBusId_v2");
    nvml.clock = (nvml_clock_fn)dlsym(lib, "nvmlDeviceGetClockInfo");
    nvml.reasons = (nvml_reasons_fn)dlsym(lib, "nvmlDeviceGetCurrentClocksEventReasons");
    if (!nvml.reasons)
        nvml.reasons = (nvml_reasons_fn)dlsym(lib, "nvmlDeviceGetCurrentClocksThrottleReasons");
    char bus[64];
    if (!init || !by_pci || !nvml.clock || init() != 0 ||
        cudaDeviceGetPCIBusId(bus, sizeof bus, ordinal) != cudaSuccess ||
        by_pci(bus, &nvml.dev) != 0)
        nvml.dev = NULL;
}

int attn_gpu_clock(int ordinal, unsigned *sm_mhz, unsigned long long *reasons)
{
    if (!nvml.tried) nvml_open(ordinal);
    *sm_mhz = 0;
    *reasons = 0;
    if (!nvml.dev || nvml.clock(nvml.dev, NVML_CLOCK_SM, sm_mhz) != 0) return -1;
    if (nvml.reasons) nvml.reasons(nvml.dev, reasons);
    return 0;
}

void attn_nvtx_push(const char *name) { nvtxRangePushA(name); }
void attn_nvtx_pop(void) { nvtxRangePop(); }
