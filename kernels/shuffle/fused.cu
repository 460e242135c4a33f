/* shuffle fused: one pass, one warp per (b, k) channel plane.
 *
 * A plane of HW ≤ FUSED_NV·128 floats (56² = 3136 ≤ 3200: every plane of its grid) is read
 * once into registers: lane L holds r[4j + e], element
 *   vectorised (plane 16-byte aligned: HW % 4 == 0 and x, out aligned)  (32·j + L)·4 + e  (one
 *                                                                       float4 load per j)
 *   scalar                                                              128·j + 32·e + L
 * so every warp instruction touches consecutive addresses. Then, by warp shuffles:
 *   μ = Σx / HW;  σ² = Σ(x − μ)² / HW from the registers (two-pass variance, no cancellation);
 *   gate argument z = (x − μ)·A + D (channel branch: A = 0, D = cw·μ + cb; spatial branch:
 *   A = sw·γ/√(σ² + eps), D = sw·β + sb); out = x·σ(z), stored to output channel
 *   2·(k mod C/2) + k div C/2 (the channel shuffle is only this store index).
 * Larger planes (outside its grid) take the two-pass path: pass 1 streams the plane for Σ and
 * Σ(x − x₀)² around its first element x₀ (shifted sums: var = (S2 − S1²/n)/n without the
 * cancellation of raw moments when |μ| ≫ σ), pass 2 streams it again for the gated store: two
 * reads and one write instead of one and one. */
#include <cstdint>
#include <cstdio>

#include "launch.cuh"
#include "shuffle_kernels.h"
#include "warp.cuh"

#define FUSED_WARPS 4 /* planes per CTA */
#define FUSED_NV 25   /* float4s per lane held in registers: planes up to 3200 floats */

static __device__ __forceinline__ float gated(float v, float mu, float A, float D)
{
    return v / (1.f + expf(-((v - mu) * A + D)));
}

/* The gate's (A, D) of input channel k from its plane's μ and σ². */
static __device__ __forceinline__ void gate_coeffs(int k, int Cg, float mu, float var,
                                                   const float *__restrict__ cw,
                                                   const float *__restrict__ cb,
                                                   const float *__restrict__ sw,
                                                   const float *__restrict__ sb,
                                                   const float *__restrict__ gamma,
                                                   const float *__restrict__ beta, float &A,
                                                   float &D)
{
    const int i = k % (2 * Cg);
    if (i < Cg) {
        A = 0.f;
        D = cw[i] * mu + cb[i];
    } else {
        const int c = i - Cg;
        A = sw[c] * gamma[c] * rsqrtf(var + 1e-5f);
        D = sw[c] * beta[c] + sb[c];
    }
}

template <bool VEC>
__global__ void __launch_bounds__(FUSED_WARPS * 32)
shuffle_fused_kernel(const float *__restrict__ x, const float *__restrict__ cw,
                     const float *__restrict__ cb, const float *__restrict__ sw,
                     const float *__restrict__ sb, const float *__restrict__ gamma,
                     const float *__restrict__ beta, float *__restrict__ out, int C, int HW,
                     int Cg, long long planes)
{
    const int lane = threadIdx.x & 31;
    const long long plane = (long long)blockIdx.x * FUSED_WARPS + (threadIdx.x >> 5);
    if (plane >= planes) return; /* whole warps leave together */
    const int k = (int)(plane % C), half = C / 2;
    const float *xp = x + plane * HW;
    float *op = out + (plane - k + 2 * (k % half) + k / half) * HW;

    /* load the plane: one read of x */
    float r[4 * FUSED_NV];
    float s1 = 0.f;
#pragma unroll
    for (int j = 0; j < FUSED_NV; j++) {
        if (VEC) {
            const int q = (32 * j + lane) * 4;
            float4 v = make_float4(0.f, 0.f, 0.f, 0.f);
            if (q < HW) v = __ldg(reinterpret_cast<const float4 *>(xp + q));
            r[4 * j] = v.x, r[4 * j + 1] = v.y, r[4 * j + 2] = v.z, r[4 * j + 3] = v.w;
        } else {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int q = 128 * j + 32 * e + lane;
                r[4 * j + e] = q < HW ? __ldg(xp + q) : 0.f;
            }
        }
        s1 += (r[4 * j] + r[4 * j + 1]) + (r[4 * j + 2] + r[4 * j + 3]);
    }
    /* statistics: μ, then Σ(x − μ)² over the valid elements */
    const float mu = attn_warp_sum(s1) / (float)HW;
    float s2 = 0.f;
#pragma unroll
    for (int j = 0; j < FUSED_NV; j++)
#pragma unroll
        for (int e = 0; e < 4; e++) {
            const int q = VEC ? (32 * j + lane) * 4 + e : 128 * j + 32 * e + lane;
            const float d = r[4 * j + e] - mu;
            s2 += q < HW ? d * d : 0.f;
        }
    const float var = attn_warp_sum(s2) / (float)HW;
    float A, D;
    gate_coeffs(k, Cg, mu, var, cw, cb, sw, sb, gamma, beta, A, D);

    /* gated store into the shuffled channel */
#pragma unroll
    for (int j = 0; j < FUSED_NV; j++) {
        if (VEC) {
            const int q = (32 * j + lane) * 4;
            if (q < HW)
                *reinterpret_cast<float4 *>(op + q) =
                    make_float4(gated(r[4 * j], mu, A, D), gated(r[4 * j + 1], mu, A, D),
                                gated(r[4 * j + 2], mu, A, D), gated(r[4 * j + 3], mu, A, D));
        } else {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                const int q = 128 * j + 32 * e + lane;
                if (q < HW) op[q] = gated(r[4 * j + e], mu, A, D);
            }
        }
    }
}

/* Planes too large for the registers: statistics by shifted sums, then a second read. */
__global__ void __launch_bounds__(FUSED_WARPS * 32)
shuffle_fused_2pass_kernel(const float *__restrict__ x, const float *__restrict__ cw,
                           const float *__restrict__ cb, const float *__restrict__ sw,
                           const float *__restrict__ sb, const float *__restrict__ gamma,
                           const float *__restrict__ beta, float *__restrict__ out, int C, int HW,
                           int Cg, long long planes)
{
    const int lane = threadIdx.x & 31;
    const long long plane = (long long)blockIdx.x * FUSED_WARPS + (threadIdx.x >> 5);
    if (plane >= planes) return;
    const int k = (int)(plane % C), half = C / 2;
    const float *xp = x + plane * HW;
    float *op = out + (plane - k + 2 * (k % half) + k / half) * HW;

    /* pass 1: S1 = Σ(x − x₀), S2 = Σ(x − x₀)² */
    const float x0 = __ldg(xp);
    float s1 = 0.f, s2 = 0.f;
    for (int q = lane; q < HW; q += 32) {
        const float d = __ldg(xp + q) - x0;
        s1 += d;
        s2 += d * d;
    }
    s1 = attn_warp_sum(s1), s2 = attn_warp_sum(s2);
    const float mu = x0 + s1 / (float)HW;
    const float var = fmaxf(0.f, (s2 - s1 * s1 / (float)HW) / (float)HW);
    float A, D;
    gate_coeffs(k, Cg, mu, var, cw, cb, sw, sb, gamma, beta, A, D);

    /* pass 2: gated store */
    for (int q = lane; q < HW; q += 32) op[q] = gated(__ldg(xp + q), mu, A, D);
}

extern "C" int shuffle_fused_launch(const shuffle_problem_t *p, const shuffle_tensors_t *t,
                                    void *ws, attn_stream_t stream)
{
    (void)ws;
    if (int e = attn_refuse(shuffle_problem_reason(p), "shuffle_fused_launch")) return e;
    const int HW = p->H * p->W, Cg = p->C / (2 * p->G);
    const long long planes = (long long)p->B * p->C;
    const long long grid = ATTN_CEIL_DIV(planes, (long long)FUSED_WARPS);
    if (grid > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    const float *x = (const float *)t->x, *cw = (const float *)t->cw, *cb = (const float *)t->cb,
                *sw = (const float *)t->sw, *sb = (const float *)t->sb,
                *ga = (const float *)t->gamma, *be = (const float *)t->beta;
    float *out = (float *)t->out;
    if (HW > 128 * FUSED_NV)
        return ATTN_LAUNCH(shuffle_fused_2pass_kernel, (unsigned)grid, FUSED_WARPS * 32, 0,
                           stream, x, cw, cb, sw, sb, ga, be, out, p->C, HW, Cg, planes);
    const bool vec = HW % 4 == 0 && ((uintptr_t)x | (uintptr_t)out) % 16 == 0;
    if (vec)
        return ATTN_LAUNCH(shuffle_fused_kernel<true>, (unsigned)grid, FUSED_WARPS * 32, 0,
                           stream, x, cw, cb, sw, sb, ga, be, out, p->C, HW, Cg, planes);
    return ATTN_LAUNCH(shuffle_fused_kernel<false>, (unsigned)grid, FUSED_WARPS * 32, 0, stream,
                       x, cw, cb, sw, sb, ga, be, out, p->C, HW, Cg, planes);
}
