/* The CUDA runtime API as the emulated launchers see it: the real names and signatures (from the
 * toolkit's headers), operating on host memory. "Device" pointers are host pointers, streams are
 * ignored and everything is synchronous: a launch has finished when ATTN_LAUNCH returns. The
 * device the queries describe is an H100 (sm_90). Only what kernels and launchers need is here;
 * a launcher calling anything else fails to link, which the build reports (-Wl,--no-undefined). */
#include "emu_internal.h"

#include <atomic>
#include <cstdlib>

using namespace attn_emu;

namespace {

/* for cudaGetLastError / cudaPeekAtLastError (one for the process, not one per host thread) */
std::atomic<cudaError_t> g_last{cudaSuccess};

cudaError_t ret(cudaError_t e)
{
    if (e != cudaSuccess) g_last = e;
    return e;
}

/* An H100 SXM, for the attributes a launcher may query. */
constexpr int SM_COUNT = 132;
constexpr int SMEM_PER_BLOCK = 48 * 1024;
constexpr int SMEM_PER_BLOCK_OPTIN = 227 * 1024;
constexpr int SMEM_PER_SM = 228 * 1024;

struct ErrorText {
    cudaError_t code;
    const char *name, *text;
};

const ErrorText error_texts[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError", "initialization error"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorInvalidPitchValue, "cudaErrorInvalidPitchValue", "invalid pitch argument"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer", "invalid device pointer"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection",
     "invalid copy direction for memcpy"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidDeviceFunction, "cudaErrorInvalidDeviceFunction", "invalid device function"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress",
     "an illegal memory access was encountered"},
    {cudaErrorLaunchOutOfResources, "cudaErrorLaunchOutOfResources",
     "too many resources requested for launch"},
    {cudaErrorLaunchTimeout, "cudaErrorLaunchTimeout",
     "the launch timed out and was terminated"},
    {cudaErrorAssert, "cudaErrorAssert", "device-side assert triggered"},
    {cudaErrorMisalignedAddress, "cudaErrorMisalignedAddress", "misaligned address"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorNotSupported, "cudaErrorNotSupported", "operation not supported"},
    {cudaErrorNotReady, "cudaErrorNotReady", "device not ready"},
    {cudaErrorUnknown, "cudaErrorUnknown", "unknown error"},
};

const ErrorText *find_error(cudaError_t e)
{
    for (const ErrorText &t : error_texts)
        if (t.code == e) return &t;
    return nullptr;
}

} // namespace

void attn_emu::set_last_cuda_error(cudaError_t e) { ret(e); }

extern "C" {

cudaError_t cudaGetLastError(void) { return g_last.exchange(cudaSuccess); }

cudaError_t cudaPeekAtLastError(void) { return g_last; }

const char *cudaGetErrorString(cudaError_t error)
{
    const ErrorText *t = find_error(error);
    return error_string_with_detail((int)error, t ? t->text : "unrecognized error code");
}

const char *cudaGetErrorName(cudaError_t error)
{
    const ErrorText *t = find_error(error);
    return t ? t->name : "cudaErrorUnknown";
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    (void)stream;
    if (count && !devPtr) return ret(cudaErrorInvalidValue);
    if (count) std::memset(devPtr, value, count);
    return cudaSuccess;
}

cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    return cudaMemsetAsync(devPtr, value, count, nullptr);
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    (void)stream;
    if ((unsigned)kind > (unsigned)cudaMemcpyDefault) return ret(cudaErrorInvalidMemcpyDirection);
    if (count && (!dst || !src)) return ret(cudaErrorInvalidValue);
    if (count) std::memmove(dst, src, count);
    return cudaSuccess;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    return cudaMemcpyAsync(dst, src, count, kind, nullptr);
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              cudaStream_t stream)
{
    (void)stream;
    if ((unsigned)kind > (unsigned)cudaMemcpyDefault) return ret(cudaErrorInvalidMemcpyDirection);
    if (width > dpitch || width > spitch) return ret(cudaErrorInvalidPitchValue);
    for (size_t r = 0; r < height; r++)
        std::memmove(static_cast<char *>(dst) + r * dpitch,
                     static_cast<const char *>(src) + r * spitch, width);
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    if (!devPtr) return ret(cudaErrorInvalidValue);
    *devPtr = nullptr;
    if (!size) return cudaSuccess;
    if (posix_memalign(devPtr, 256, size) != 0) return ret(cudaErrorMemoryAllocation);
    return cudaSuccess;
}

cudaError_t cudaFree(void *devPtr)
{
    std::free(devPtr);
    return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t size) { return cudaMalloc(ptr, size); }
cudaError_t cudaFreeHost(void *ptr) { return cudaFree(ptr); }

cudaError_t cudaMallocAsync(void **devPtr, size_t size, cudaStream_t hStream)
{
    (void)hStream;
    return cudaMalloc(devPtr, size);
}

cudaError_t cudaFreeAsync(void *devPtr, cudaStream_t hStream)
{
    (void)hStream;
    return cudaFree(devPtr);
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    (void)stream;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void) { return cudaSuccess; }

cudaError_t cudaGetDevice(int *device)
{
    if (!device) return ret(cudaErrorInvalidValue);
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    return device == 0 ? cudaSuccess : ret(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDeviceCount(int *count)
{
    if (!count) return ret(cudaErrorInvalidValue);
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    if (!value) return ret(cudaErrorInvalidValue);
    if (device != 0) return ret(cudaErrorInvalidDevice);
    switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = 1024; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = 0x7fffffff; break;
    case cudaDevAttrMaxGridDimY: *value = 65535; break;
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = SMEM_PER_BLOCK; break;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: *value = SMEM_PER_BLOCK_OPTIN; break;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: *value = SMEM_PER_SM; break;
    case cudaDevAttrWarpSize: *value = 32; break;
    case cudaDevAttrMultiProcessorCount: *value = SM_COUNT; break;
    case cudaDevAttrComputeCapabilityMajor: *value = 9; break;
    case cudaDevAttrComputeCapabilityMinor: *value = 0; break;
    case cudaDevAttrMaxThreadsPerMultiProcessor: *value = 2048; break;
    case cudaDevAttrMaxRegistersPerBlock: *value = 65536; break;
    case cudaDevAttrL2CacheSize: *value = 50 * 1024 * 1024; break;
    default:
        record_error(cudaErrorInvalidValue,
                     "cudaDeviceGetAttribute: attribute %d is not emulated", (int)attr);
        return ret(cudaErrorInvalidValue);
    }
    return cudaSuccess;
}

cudaError_t cudaFuncSetAttribute(const void *func, enum cudaFuncAttribute attr, int value)
{
    if (!func) return ret(cudaErrorInvalidDeviceFunction);
    if (attr == cudaFuncAttributeMaxDynamicSharedMemorySize) {
        if (value < 0 || value > SMEM_PER_BLOCK_OPTIN) {
            record_error(cudaErrorInvalidValue,
                         "cudaFuncSetAttribute: %d bytes of dynamic shared memory exceed the "
                         "opt-in limit of %d",
                         value, SMEM_PER_BLOCK_OPTIN);
            return ret(cudaErrorInvalidValue);
        }
        set_max_dynamic_smem(func, value);
    }
    return cudaSuccess; /* other attributes are performance hints */
}

cudaError_t cudaFuncGetAttributes(struct cudaFuncAttributes *attr, const void *func)
{
    if (!attr || !func) return ret(cudaErrorInvalidValue);
    std::memset(attr, 0, sizeof *attr);
    attr->maxThreadsPerBlock = 1024;
    attr->maxDynamicSharedSizeBytes = SMEM_PER_BLOCK;
    attr->ptxVersion = attr->binaryVersion = 90;
    return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
    if (!pStream) return ret(cudaErrorInvalidValue);
    *pStream = nullptr; /* every stream is the (synchronous) default stream */
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    (void)flags;
    return cudaStreamCreate(pStream);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    (void)stream;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
{
    if (!runtimeVersion) return ret(cudaErrorInvalidValue);
    *runtimeVersion = CUDART_VERSION;
    return cudaSuccess;
}

} // extern "C"
