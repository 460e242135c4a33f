/* Element loads and stores for kernels templated on a storage type, float or __nv_bfloat16:
 * the arithmetic stays in fp32, bf16 is widened exactly on load and rounded to nearest (even)
 * on store.
 *
 *   attn_ld(p, i)     p[i] as a float
 *   attn_st(p, i, x)  p[i] = x (bf16: __float2bfloat16_rn) */
#ifndef ATTN_BF16_CUH
#define ATTN_BF16_CUH

#include <cstddef>
#include <cuda_bf16.h>

static __host__ __device__ __forceinline__ float attn_ld(const float *p, size_t i) { return p[i]; }
static __host__ __device__ __forceinline__ float attn_ld(const __nv_bfloat16 *p, size_t i)
{
    return __bfloat162float(p[i]);
}

static __device__ __forceinline__ void attn_st(float *p, size_t i, float x) { p[i] = x; }
static __device__ __forceinline__ void attn_st(__nv_bfloat16 *p, size_t i, float x)
{
    p[i] = __float2bfloat16_rn(x);
}

#endif
