/* Element loads and stores for kernels templated on a storage type, float, __nv_bfloat16 or
 * __half (f16): the arithmetic stays in fp32, 16-bit types are widened exactly on load and
 * rounded to nearest (even) on store.
 *
 *   attn_ld(p, i)     p[i] as a float
 *   attn_st(p, i, x)  p[i] = x (bf16: __float2bfloat16_rn, f16: __float2half_rn) */
#ifndef ATTN_BF16_CUH
#define ATTN_BF16_CUH

#include <cstddef>
#include <cuda_bf16.h>
#include <cuda_fp16.h>

static __host__ __device__ __forceinline__ float attn_ld(const float *p, size_t i) { return p[i]; }
static __host__ __device__ __forceinline__ float attn_ld(const __nv_bfloat16 *p, size_t i)
{
    return __bfloat162float(p[i]);
}

static __host__ __device__ __forceinline__ float attn_ld(const __half *p, size_t i)
{
    return __half2float(p[i]);
}

static __device__ __forceinline__ void attn_st(float *p, size_t i, float x) { p[i] = x; }
static __device__ __forceinline__ void attn_st(__nv_bfloat16 *p, size_t i, float x)
{
    p[i] = __float2bfloat16_rn(x);
}
static __device__ __forceinline__ void attn_st(__half *p, size_t i, float x)
{
    p[i] = __float2half_rn(x);
}

#endif
