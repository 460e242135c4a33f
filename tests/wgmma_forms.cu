/* One kernel per form of kernels/common/wgmma.cuh's real (sm_90a) side, for tests/wgmma_sass.sh:
 * wgf_<ss|rs>_<bf16|f16>_<N>_<transA>_<transB> holds one wgmma of that form, whose HGMMA the
 * script finds in the SASS with the shape, type, transposes and A operand the name says. Built
 * for sm_90a only, never run. */
#include <cstdint>
#include "wgmma.cuh"

#define WGF_BODY(CALL, N)                                                                        \
    {                                                                                            \
        extern __shared__ __align__(1024) unsigned char smem[];                                  \
        const uint64_t da = wgmma_desc(smem, 16, 1024, WGMMA_SWIZZLE_128B);                      \
        const uint64_t db = wgmma_desc(smem + 8192, 16, 1024, WGMMA_SWIZZLE_128B);               \
        const uint32_t a[4] = {in[0], in[1], in[2], in[3]};                                      \
        (void)da;                                                                                \
        (void)a;                                                                                 \
        wgmma_acc<N> d;                                                                          \
        for (int i = 0; i < N / 2; i++) d[i] = 0.0f;                                             \
        wgmma_fence();                                                                           \
        CALL;                                                                                    \
        wgmma_commit_group();                                                                    \
        wgmma_wait_group<0>();                                                                   \
        wgmma_fence_operand(d);                                                                  \
        float s = 0.0f;                                                                          \
        for (int i = 0; i < N / 2; i++) s += d[i];                                               \
        out[threadIdx.x] = s;                                                                    \
    }
#define WGF_SS(TY, N, TA, TB)                                                                    \
    extern "C" __global__ void wgf_ss_##TY##_##N##_##TA##_##TB(float *out, const uint32_t *in,  \
                                                                int scale_d)                     \
        WGF_BODY((wgmma_ss_##TY<N, TA, TB>(d, da, db, scale_d)), N)
#define WGF_RS(TY, N, TB)                                                                        \
    extern "C" __global__ void wgf_rs_##TY##_##N##_0_##TB(float *out, const uint32_t *in,       \
                                                           int scale_d)                          \
        WGF_BODY((wgmma_rs_##TY<N, TB>(d, a, db, scale_d)), N)

WGF_SS(bf16, 64, 0, 0)
WGF_SS(bf16, 64, 0, 1)
WGF_SS(bf16, 64, 1, 0)
WGF_SS(bf16, 64, 1, 1)
WGF_SS(f16, 64, 1, 0)
WGF_SS(bf16, 16, 0, 1)
WGF_SS(f16, 32, 0, 0)
WGF_SS(bf16, 128, 0, 1)
WGF_SS(f16, 256, 1, 1)
WGF_RS(bf16, 64, 0)
WGF_RS(bf16, 64, 1)
WGF_RS(f16, 128, 1)
WGF_RS(bf16, 256, 0)
WGF_RS(f16, 16, 0)
