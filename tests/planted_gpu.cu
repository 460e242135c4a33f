// The planted suite's GPU variants (tests/planted.c): one that writes to an illegal address, so
// the CUDA context is lost, and one that is correct (y = 2x), run after it in a fresh process.
#include <cuda_runtime.h>
#include <stdint.h>

__global__ void planted_gpu_fault_kernel(const float *x, int64_t n)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    // A wild pointer: no allocation lives at this address.
    if (i < n) reinterpret_cast<float *>(uintptr_t(0x10))[i] = x[i];
}

__global__ void planted_gpu_double_kernel(const float *x, float *y, int64_t n)
{
    int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = 2.0f * x[i];
}

extern "C" int planted_gpu_fault_launch(const float *x, float *y, int64_t n, void *stream)
{
    (void)y;
    planted_gpu_fault_kernel<<<(unsigned)((n + 255) / 256), 256, 0, (cudaStream_t)stream>>>(x, n);
    return (int)cudaGetLastError();
}

extern "C" int planted_gpu_double_launch(const float *x, float *y, int64_t n, void *stream)
{
    planted_gpu_double_kernel<<<(unsigned)((n + 255) / 256), 256, 0, (cudaStream_t)stream>>>(x, y, n);
    return (int)cudaGetLastError();
}

extern "C" const char *planted_gpu_strerror(int e) { return cudaGetErrorString((cudaError_t)e); }
