/* sge fused: one CTA per (b, g) slab (Cg channels × HW pixels, contiguous), one kernel.
 *
 * Shared memory (dynamic, floats): t[HW] (t, then the gate), p[Cg] (channel means), red[32]
 * (block-reduction partials), then, on the one-read path, the slab itself (16-byte aligned).
 *   stage     slab → shared memory with cp.async 16-byte copies (when Cg·HW % 4 == 0 and x is
 *             16-byte aligned; plain loads otherwise): the only read of x
 *   means     p_c = mean_HW(x_c): one warp per channel, warp shuffles
 *   t         t[q] = Σ_c x_c[q]·p_c: one thread per pixel (consecutive q, no bank conflicts)
 *   stats     mean(t), then Σ(t − mean)² (two block reductions; unbiased std, 0 at HW = 1)
 *   gate      t[q] ← σ(w_g·(t[q] − mean)/(std + eps) + b_g)
 *   store     out = x·gate: float4 stores when aligned, coalesced
 * When the slab exceeds the opt-in shared memory (e.g. Cg = 32, HW = 56², 392 KiB) the same
 * kernel (SMEM = false) reads x from global memory in `means`, `t` and `store`: three reads of
 * the slab (the later two mostly from L2) and one write. */
#include <cstdint>
#include <cstdio>

#include "launch.cuh"
#include "mma.cuh"
#include "sge_kernels.h"
#include "warp.cuh"

#define FUSED_THREADS 512
#define FUSED_WARPS (FUSED_THREADS / 32)

/* Σ v over the CTA, returned to every thread; red is reusable when it returns. */
static __device__ __forceinline__ float block_sum(float v, float *red)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = attn_warp_sum(v);
    if (lane == 0) red[warp] = v;
    __syncthreads();
    float s = lane < FUSED_WARPS ? red[lane] : 0.f;
    s = attn_warp_sum(s);
    __syncthreads();
    return s;
}

/* Floats of shared memory before the slab, rounded up to a multiple of 4 (16 bytes). */
static __host__ __device__ __forceinline__ int sge_head_floats(int HW, int Cg)
{
    return (HW + Cg + 32 + 3) & ~3;
}

template <bool SMEM>
__global__ void __launch_bounds__(FUSED_THREADS)
sge_fused_kernel(const float *__restrict__ x, const float *__restrict__ w,
                 const float *__restrict__ bias, float *__restrict__ out, int G, int Cg, int HW,
                 int vec)
{
    ATTN_DYNAMIC_SMEM(smem);
    float *t = reinterpret_cast<float *>(smem), *p = t + HW, *red = p + Cg;
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int n = Cg * HW;
    const long long base = (long long)blockIdx.x * n;
    const float *xs = x + base;
    float *os = out + base;

    /* stage: the slab's one read */
    const float *src = xs;
    if (SMEM) {
        float *slab = t + sge_head_floats(HW, Cg);
        if (vec) {
            for (int i = tid; i < n / 4; i += FUSED_THREADS) cp_async_16(slab + 4 * i, xs + 4 * i);
            cp_async_commit();
            cp_async_wait<0>();
        } else {
            for (int i = tid; i < n; i += FUSED_THREADS) slab[i] = __ldg(xs + i);
        }
        __syncthreads();
        src = slab;
    }

    /* means: p_c, one warp per channel */
    for (int c = warp; c < Cg; c += FUSED_WARPS) {
        float s = 0.f;
        for (int q = lane; q < HW; q += 32) s += src[c * HW + q];
        s = attn_warp_sum(s);
        if (lane == 0) p[c] = s / (float)HW;
    }
    __syncthreads();

    /* t per pixel, and Σt over this thread's pixels */
    float s1 = 0.f;
    for (int q = tid; q < HW; q += FUSED_THREADS) {
        float a = 0.f;
        for (int c = 0; c < Cg; c++) a += src[c * HW + q] * p[c];
        t[q] = a;
        s1 += a;
    }
    const float mean = block_sum(s1, red) / (float)HW;
    float s2 = 0.f;
    for (int q = tid; q < HW; q += FUSED_THREADS) s2 += (t[q] - mean) * (t[q] - mean);
    const float ss = block_sum(s2, red);
    const float sd = HW > 1 ? sqrtf(ss / (float)(HW - 1)) : 0.f;
    const int g = (int)(blockIdx.x % G);
    const float a = w[g] / (sd + 1e-5f), b = bias[g];

    /* gate (each thread rewrites the t[q] it wrote) */
    for (int q = tid; q < HW; q += FUSED_THREADS)
        t[q] = 1.f / (1.f + expf(-(a * (t[q] - mean) + b)));
    __syncthreads();

    /* store: out = x·gate */
    if (vec) {
        for (int i = tid; i < n / 4; i += FUSED_THREADS) {
            const float4 v = SMEM ? *reinterpret_cast<const float4 *>(src + 4 * i)
                                  : __ldg(reinterpret_cast<const float4 *>(src + 4 * i));
            int q = (4 * i) % HW;
            float4 o;
            o.x = v.x * t[q];
            q = q + 1 == HW ? 0 : q + 1;
            o.y = v.y * t[q];
            q = q + 1 == HW ? 0 : q + 1;
            o.z = v.z * t[q];
            q = q + 1 == HW ? 0 : q + 1;
            o.w = v.w * t[q];
            *reinterpret_cast<float4 *>(os + 4 * i) = o;
        }
    } else {
        for (int i = tid; i < n; i += FUSED_THREADS) os[i] = src[i] * t[i % HW];
    }
}

static int sge_smem_optin(int *bytes)
{
    static int cached = -1;
    if (cached < 0) {
        int dev = 0;
        ATTN_TRY(cudaGetDevice(&dev));
        ATTN_TRY(cudaDeviceGetAttribute(&cached, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
    }
    *bytes = cached;
    return 0;
}

extern "C" int sge_fused_launch(const sge_problem_t *p, const sge_tensors_t *t, void *ws,
                                attn_stream_t stream)
{
    (void)ws;
    if (int e = attn_refuse(sge_problem_reason(p), "sge_fused_launch")) return e;
    const int HW = p->H * p->W, Cg = p->C / p->G;
    const long long slabs = (long long)p->B * p->G;
    if (slabs > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    const float *x = (const float *)t->x;
    float *out = (float *)t->out;
    const int vec = (long long)Cg * HW % 4 == 0 && ((uintptr_t)x | (uintptr_t)out) % 16 == 0;
    int optin = 0;
    if (int e = sge_smem_optin(&optin)) return e;
    const size_t head = sizeof(float) * (size_t)sge_head_floats(HW, Cg);
    const size_t full = head + sizeof(float) * (size_t)Cg * HW;
    if (full <= (size_t)optin) {
        ATTN_TRY(cudaFuncSetAttribute(sge_fused_kernel<true>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, (int)full));
        return ATTN_LAUNCH(sge_fused_kernel<true>, (unsigned)slabs, FUSED_THREADS, full, stream,
                           x, (const float *)t->w, (const float *)t->b, out, p->G, Cg, HW, vec);
    }
    if (head > (size_t)optin) {
        std::fprintf(stderr, "sge_fused_launch: H·W=%d pixels do not fit in shared memory\n", HW);
        return (int)cudaErrorInvalidValue;
    }
    ATTN_TRY(cudaFuncSetAttribute(sge_fused_kernel<false>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize, (int)head));
    return ATTN_LAUNCH(sge_fused_kernel<false>, (unsigned)slabs, FUSED_THREADS, head, stream, x,
                       (const float *)t->w, (const float *)t->b, out, p->G, Cg, HW, vec);
}
