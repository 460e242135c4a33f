/* The masked row softmax between the two GEMMs of the unfused mhsa variants (mhsa_softmax.cuh).
 *
 * mhsa_softmax_kernel<InT, OutT, VEC>: one warp per row of S (B·H·Nq rows of Nk), 8 rows per
 * block; S is fp32, or bf16 (InT: the bf16-S baseline, PyTorch's math path).
 * The unmasked keys of row i are exactly jlo <= j < jend (mhsa_mask.cuh: key padding, the
 * causal diagonal, the window), so
 *   pass 1  reads S[jlo, jend) once, each lane keeping an online (max m, sum l) of
 *           exp(scale·S − m); the 32 lane states are merged by shuffles;
 *   pass 2  writes P[j] = exp(scale·S[j] − m) / l for jlo <= j < jend and 0 for the masked
 *           rest, reading S only where it is needed.
 * A row with no unmasked key is written as zeros without reading S. Rows of any length work (the
 * lanes loop); VEC uses 4-wide loads and stores when Nk % 4 == 0 and the pointers allow it.
 * OutT is float (P fp32), __nv_bfloat16 (P bf16) or __half (P f16), rounded to nearest.
 * mhsa_softmax_f32 / _bf16 / _bf16s / _f16: the launchers. */
#include "bf16.cuh"
#include "launch.cuh"
#include "mhsa_mask.cuh"
#include "mhsa_softmax.cuh"

#define SOFTMAX_WARPS 8 /* rows per block */

/* Fold one logit x into the running (m, l); x is finite (only unmasked logits are folded). */
static __device__ __forceinline__ void softmax_fold(float &m, float &l, float x)
{
    const float m_new = fmaxf(m, x);
    l = fmaf(l, expf(m - m_new), expf(x - m_new)); /* m = −∞ at first: exp(−∞) = 0 */
    m = m_new;
}

/* Four consecutive logits j4·4 .. j4·4 + 3 of S as floats: one 16-byte load (fp32 S) or one
 * 8-byte load (bf16 S). */
static __device__ __forceinline__ float4 softmax_load4(const float *S, int j4)
{
    return reinterpret_cast<const float4 *>(S)[j4];
}

static __device__ __forceinline__ float4 softmax_load4(const __nv_bfloat16 *S, int j4)
{
    union { uint2 u; __nv_bfloat162 h[2]; } t;
    t.u = reinterpret_cast<const uint2 *>(S)[j4];
    const float2 a = __bfloat1622float2(t.h[0]), b = __bfloat1622float2(t.h[1]);
    return make_float4(a.x, a.y, b.x, b.y);
}

static __device__ __forceinline__ void softmax_store4(float *P, int j, float a, float b, float c,
                                                      float d)
{
    *reinterpret_cast<float4 *>(P + j) = make_float4(a, b, c, d);
}

static __device__ __forceinline__ void softmax_store4(__nv_bfloat16 *P, int j, float a, float b,
                                                      float c, float d)
{
    union { __nv_bfloat162 h[2]; uint2 u; } t;
    t.h[0] = __floats2bfloat162_rn(a, b); /* .x = a (lower address), .y = b */
    t.h[1] = __floats2bfloat162_rn(c, d);
    *reinterpret_cast<uint2 *>(P + j) = t.u;
}

static __device__ __forceinline__ void softmax_store4(__half *P, int j, float a, float b, float c,
                                                      float d)
{
    union { __half2 h[2]; uint2 u; } t;
    t.h[0] = __floats2half2_rn(a, b);
    t.h[1] = __floats2half2_rn(c, d);
    *reinterpret_cast<uint2 *>(P + j) = t.u;
}

template <typename InT, typename OutT, bool VEC>
__global__ void __launch_bounds__(SOFTMAX_WARPS * 32)
mhsa_softmax_kernel(const InT *__restrict__ S, OutT *__restrict__ P, const mhsa_problem_t pr_,
                    long long rows)
{
    const int Nq = pr_.Nq, Nk = pr_.Nk;
    const float scale = pr_.scale;
    const long long row = (long long)blockIdx.x * SOFTMAX_WARPS + (threadIdx.x >> 5);
    if (row >= rows) return; /* warp-uniform */
    const int lane = threadIdx.x & 31;
    const int i = (int)(row % Nq);
    const int b = (int)(row / ((long long)pr_.H * Nq));

    int jlo, jend;
    mhsa_row_keys(pr_, b, i, jlo, jend);

    const InT *s = S + (size_t)row * Nk;
    OutT *pr = P + (size_t)row * Nk;

    /* pass 1: online max and exp-sum over the unmasked keys; scale·S by __fmul_rn in both passes
     * so that the row max gives exp(0) = 1 exactly (l >= 1 whenever a key is unmasked) */
    float m = -INFINITY, l = 0.f;
    int j_scalar = jlo + lane; /* first scalar element of this lane */
    if (VEC) {
        const int n4 = jend >> 2;
        for (int j4 = (jlo >> 2) + lane; j4 < n4; j4 += 32) {
            /* the group holds a key >= jlo (its first group holds jlo itself): m_new is finite */
            const float4 t = softmax_load4(s, j4);
            const int j = 4 * j4;
            const float x0 = j >= jlo ? __fmul_rn(t.x, scale) : -INFINITY;
            const float x1 = j + 1 >= jlo ? __fmul_rn(t.y, scale) : -INFINITY;
            const float x2 = j + 2 >= jlo ? __fmul_rn(t.z, scale) : -INFINITY;
            const float x3 = __fmul_rn(t.w, scale);
            const float m_new = fmaxf(m, fmaxf(fmaxf(x0, x1), fmaxf(x2, x3)));
            l = l * expf(m - m_new) + (expf(x0 - m_new) + expf(x1 - m_new)) +
                (expf(x2 - m_new) + expf(x3 - m_new));
            m = m_new;
        }
        j_scalar = max(4 * n4, jlo) + lane; /* the < 4 leftover keys */
    }
    for (int j = j_scalar; j < jend; j += 32) softmax_fold(m, l, __fmul_rn(attn_ld(s, j), scale));

    /* merge the lanes' (m, l); skip pairs that are both empty (−∞ − −∞ would be NaN) */
#pragma unroll
    for (int off = 16; off > 0; off >>= 1) {
        const float m2 = __shfl_xor_sync(0xffffffffu, m, off);
#ifndef ATTN_PLANT_SHFL_LANE
        const float l2 = __shfl_xor_sync(0xffffffffu, l, off);
#else
        const float l2 = __shfl_xor_sync(0xffffffffu, l, off >> 1); /* planted bug: wrong lane */
#endif
        const float m_new = fmaxf(m, m2);
        if (m_new != -INFINITY) l = l * expf(m - m_new) + l2 * expf(m2 - m_new);
        m = m_new;
    }
    const float inv_l = l > 0.f ? 1.f / l : 0.f;

    /* pass 2: P = exp(x − m)/l on unmasked keys, 0 on masked ones */
    if (VEC) {
        const int nk4 = Nk >> 2; /* VEC: Nk % 4 == 0 */
        for (int j4 = lane; j4 < nk4; j4 += 32) {
            const int j = 4 * j4;
            if (j >= jend || j + 3 < jlo) { /* fully masked group: S not read */
                softmax_store4(pr, j, 0.f, 0.f, 0.f, 0.f);
                continue;
            }
            const float4 t = softmax_load4(s, j4);
#define SOFTMAX_P(e, x) (j + e >= jlo && j + e < jend ? expf(__fmul_rn(x, scale) - m) * inv_l : 0.f)
            const float p0 = SOFTMAX_P(0, t.x), p1 = SOFTMAX_P(1, t.y);
            const float p2 = SOFTMAX_P(2, t.z), p3 = SOFTMAX_P(3, t.w);
#undef SOFTMAX_P
            softmax_store4(pr, j, p0, p1, p2, p3);
        }
    } else {
        for (int j = lane; j < Nk; j += 32)
            attn_st(pr, j, j >= jlo && j < jend ? expf(__fmul_rn(attn_ld(s, j), scale) - m) * inv_l
                                                : 0.f);
    }
}

template <typename InT, typename OutT>
static int softmax_launch(const mhsa_problem_t *p, const InT *S, OutT *P, cudaStream_t stream)
{
    const long long rows = (long long)p->B * p->H * p->Nq;
    if (rows <= 0 || p->Nk <= 0) return 0;
    const long long blocks = ATTN_CEIL_DIV(rows, (long long)SOFTMAX_WARPS);
    if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    /* 4-wide loads need 4·sizeof(InT)-byte rows of S, 4-wide stores 4·sizeof(OutT)-byte rows
     * of P */
    const bool vec = p->Nk % 4 == 0 && (uintptr_t)S % (4 * sizeof(InT)) == 0 &&
                     (uintptr_t)P % (4 * sizeof(OutT)) == 0;
    const unsigned grid = (unsigned)blocks, block = SOFTMAX_WARPS * 32;
    if (vec)
        return ATTN_LAUNCH((mhsa_softmax_kernel<InT, OutT, true>), grid, block, 0, stream, S, P,
                           *p, rows);
    return ATTN_LAUNCH((mhsa_softmax_kernel<InT, OutT, false>), grid, block, 0, stream, S, P, *p,
                       rows);
}

int mhsa_softmax_f32(const mhsa_problem_t *p, const float *S, float *P, cudaStream_t stream)
{
    return softmax_launch<float, float>(p, S, P, stream);
}

int mhsa_softmax_bf16(const mhsa_problem_t *p, const float *S, __nv_bfloat16 *P,
                      cudaStream_t stream)
{
    return softmax_launch<float, __nv_bfloat16>(p, S, P, stream);
}

int mhsa_softmax_f16(const mhsa_problem_t *p, const float *S, __half *P, cudaStream_t stream)
{
    return softmax_launch<float, __half>(p, S, P, stream);
}

int mhsa_softmax_bf16s(const mhsa_problem_t *p, const __nv_bfloat16 *S, __nv_bfloat16 *P,
                       cudaStream_t stream)
{
    return softmax_launch<__nv_bfloat16, __nv_bfloat16>(p, S, P, stream);
}
