/* The online-softmax step of a flash-style kernel on mma.m16n8 accumulators (FA2).
 *
 * A warp holds 16 query rows; lane (g = lane/4, t = lane%4) holds, for each n8 tile n of the
 * scores, s[n][0..1] of row g and s[n][2..3] of row g + 8 (mma.cuh's C layout), so a row is
 * spread over the 4 lanes of a quad. Per row r ∈ {g, g+8}: m (running max, log2 units) and l
 * (this lane's share of the running sum; the quad reduction of l waits until the end, since
 * alpha is quad-uniform). Scores are already scaled by scale·log2(e), masked keys are −∞. */
#ifndef ATTN_FLASH_CUH
#define ATTN_FLASH_CUH

#include <cmath>

#include "fastmath.cuh"

/* mx[r] = this lane's max of row r's scores (before the quad reduction). */
template <int NS>
__device__ __forceinline__ void flash_rowmax(const float (&s)[NS][4], float (&mx)[2])
{
    mx[0] = mx[1] = -INFINITY;
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        mx[0] = fmaxf(mx[0], fmaxf(s[n][0], s[n][1]));
        mx[1] = fmaxf(mx[1], fmaxf(s[n][2], s[n][3]));
    }
}

/* acc_o rows g and g + 8 times alpha[0], alpha[1]. */
template <int NO>
__device__ __forceinline__ void flash_rescale(float (&acc_o)[NO][4], const float (&alpha)[2])
{
#pragma unroll
    for (int n = 0; n < NO; ++n) {
        acc_o[n][0] *= alpha[0];
        acc_o[n][1] *= alpha[0];
        acc_o[n][2] *= alpha[1];
        acc_o[n][3] *= alpha[1];
    }
}

/* m_new = max(m, rowmax s); s = 2^(s − m_new); l = 2^(m − m_new)·l + rowsum s;
 * acc_o *= 2^(m − m_new). A row whose keys so far are all masked subtracts 0 instead of −∞, so
 * 2^(−∞ − 0) = 0 and nothing is NaN (acc_o and l are still 0 then). */
template <int NS, int NO>
__device__ __forceinline__ void flash_online_softmax(float (&s)[NS][4], float (&acc_o)[NO][4],
                                                     float (&m)[2], float (&l)[2])
{
    float mx[2];
    flash_rowmax(s, mx);
    float alpha[2], m_use[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        const float m_new = fmaxf(m[r], mx[r]);
        m_use[r] = (m_new == -INFINITY) ? 0.0f : m_new;
        alpha[r] = exp2f(m[r] - m_use[r]);
        m[r] = m_new;
    }
    float rs[2] = {0.0f, 0.0f};
#pragma unroll
    for (int n = 0; n < NS; ++n) {
        s[n][0] = exp2f(s[n][0] - m_use[0]);
        s[n][1] = exp2f(s[n][1] - m_use[0]);
        s[n][2] = exp2f(s[n][2] - m_use[1]);
        s[n][3] = exp2f(s[n][3] - m_use[1]);
        rs[0] += s[n][0] + s[n][1];
        rs[1] += s[n][2] + s[n][3];
    }
    l[0] = l[0] * alpha[0] + rs[0];
    l[1] = l[1] * alpha[1] + rs[1];
    flash_rescale(acc_o, alpha);
}

/* The same step as FlashAttention-2 issues it, on raw scores (not yet scaled; masked ones −∞):
 * m is the running max of the raw scores and c = scale·log2(e) > 0, so 2^(s·c − m·c) is one FFMA
 * (the scale and the max subtraction folded) and one MUFU.EX2 (attn_ex2) per score. O is not
 * touched: alpha is the factor it must still be multiplied by (a wgmma kernel's O may still be
 * being written by an asynchronous MMA meanwhile); flash_online_softmax_ex2 below applies it. */
template <int NS>
__device__ __forceinline__ void flash_softmax_ex2_alpha(float (&s)[NS][4], float (&m)[2],
                                                        float (&l)[2], float c, float (&alpha)[2])
{
    float mx[2];
    flash_rowmax(s, mx);
    float mc[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 1));
        mx[r] = fmaxf(mx[r], __shfl_xor_sync(0xffffffffu, mx[r], 2));
        const float m_new = fmaxf(m[r], mx[r]);
        mc[r] = (m_new == -INFINITY) ? 0.0f : m_new * c; /* all masked so far: 2^(−∞ − 0) = 0 */
        alpha[r] = attn_ex2(fmaf(m[r], c, -mc[r]));
        m[r] = m_new;
    }
    float rs[2] = {0.0f, 0.0f};
#pragma unroll
    for (int n = 0; n < NS; ++n) {
#pragma unroll
        for (int e = 0; e < 4; ++e) s[n][e] = attn_ex2(fmaf(s[n][e], c, -mc[e >> 1]));
        rs[0] += s[n][0] + s[n][1];
        rs[1] += s[n][2] + s[n][3];
    }
    l[0] = l[0] * alpha[0] + rs[0];
    l[1] = l[1] * alpha[1] + rs[1];
}

template <int NS, int NO>
__device__ __forceinline__ void flash_online_softmax_ex2(float (&s)[NS][4], float (&acc_o)[NO][4],
                                                         float (&m)[2], float (&l)[2], float c)
{
    float alpha[2];
    flash_softmax_ex2_alpha(s, m, l, c, alpha);
    flash_rescale(acc_o, alpha);
}

#endif
