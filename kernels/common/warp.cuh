/* Warp-level device helpers shared by the suites' kernels (all inline; the arithmetic and its order
 * are those of the copies they replace, so results are unchanged):
 *
 *   attn_warp_max, attn_warp_sum   a butterfly (__shfl_xor_sync, offsets 16, 8, 4, 2, 1) over the
 *                                  full warp: every lane gets the max / sum of the 32 values
 *   attn_online_fold               fold one finite logit x into a lane's running softmax state
 *                                  (m: max so far, l: Σ e^(x − m)); m = −∞, l = 0 to start
 *   attn_online_merge_warp         merge the 32 lanes' (m, l) by shuffles; every lane gets the
 *                                  row's; lane pairs that are both empty (m = −∞) stay empty
 *   attn_rel_logit                 q·k + q·rw + q·rh in one fmaf chain (c = 0..d−1, three terms
 *                                  per c): the logit of relative-position attention, computed
 *                                  identically wherever it is called, so that the row maximum
 *                                  gives e^0 = 1 exactly */
#ifndef ATTN_WARP_CUH
#define ATTN_WARP_CUH

#include <cmath>

static __device__ __forceinline__ float attn_warp_max(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

static __device__ __forceinline__ float attn_warp_sum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

static __device__ __forceinline__ void attn_online_fold(float &m, float &l, float x)
{
    const float m_new = fmaxf(m, x);
    l = l * expf(m - m_new) + expf(x - m_new); /* m = −∞ at first: e^−∞ = 0 */
    m = m_new;
}

static __device__ __forceinline__ void attn_online_merge_warp(float &m, float &l)
{
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        const float m2 = __shfl_xor_sync(0xffffffffu, m, off);
        const float l2 = __shfl_xor_sync(0xffffffffu, l, off);
        const float m_new = fmaxf(m, m2);
        if (m_new != -INFINITY) l = l * expf(m - m_new) + l2 * expf(m2 - m_new); /* no −∞ − −∞ */
        m = m_new;
    }
}

static __device__ __forceinline__ float attn_rel_logit(const float *__restrict__ q,
                                                       const float *__restrict__ k,
                                                       const float *__restrict__ rw,
                                                       const float *__restrict__ rh, int d)
{
    float s = 0.f;
    for (int c = 0; c < d; c++) {
        s = fmaf(q[c], k[c], s);
        s = fmaf(q[c], rw[c], s);
        s = fmaf(q[c], rh[c], s);
    }
    return s;
}

#endif
