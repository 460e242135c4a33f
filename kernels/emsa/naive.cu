/* emsa naive: the first rung, fp32 on CUDA cores, no shared memory.
 *
 *   emsa_reduce_kernel     Xr = LayerNorm(dwconv(x)) when r > 1 (common.cu)
 *   emsa_naive_gemm_kernel every GEMM (Q, K, V projections, S = Q·Kᵀ/√dk per head, P̂·V, output
 *                          projection): one thread per output element, A and B from global
 *   emsa_softmax_kernel, emsa_norm_*_kernel  transform, softmax, InstanceNorm (common.cu)
 * Workspace: emsa_bufs_take with S (common.cu). */
#include <cstdio>

#include "emsa_common.cuh"
#include "launch.cuh"

#define NAIVE_THREADS 128

/* Thread (m, n) of batch entry blockIdx.y. */
__global__ void __launch_bounds__(NAIVE_THREADS)
emsa_naive_gemm_kernel(emsa_gemm_t g)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= (long long)g.M * g.Nn) return;
    const int m = (int)(e / g.Nn), n = (int)(e % g.Nn);
    const int z1 = blockIdx.y / g.nb2, z2 = blockIdx.y % g.nb2;
    const float *A = g.A + z1 * g.sA1 + z2 * g.sA2 + (size_t)m * g.lda;
    const float *B = g.B + z1 * g.sB1 + z2 * g.sB2;
    float acc = 0.f;
    for (int k = 0; k < g.K; k++)
        acc = fmaf(A[k], g.transB ? B[(size_t)n * g.ldb + k] : B[(size_t)k * g.ldb + n], acc);
    acc *= g.alpha;
    if (g.bias) acc += g.bias[n];
    g.Cm[z1 * g.sC1 + z2 * g.sC2 + (size_t)m * g.ldc + n] = acc;
}

static int naive_gemm(const emsa_gemm_t *g, cudaStream_t stream)
{
    const long long blocks = ATTN_CEIL_DIV((long long)g->M * g->Nn, (long long)NAIVE_THREADS);
    if (blocks > 0x7fffffffLL || g->batch > 65535) return (int)cudaErrorInvalidConfiguration;
    return ATTN_LAUNCH(emsa_naive_gemm_kernel, dim3((unsigned)blocks, (unsigned)g->batch),
                       NAIVE_THREADS, 0, stream, *g);
}

extern "C" size_t emsa_naive_workspace(const emsa_problem_t *p)
{
    return emsa_workspace_bytes(p, 1);
}

extern "C" int emsa_naive_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    if (int e = attn_launch_check(emsa_problem_reason(p), ws, "emsa_naive_launch")) return e;
    return emsa_run_steps(p, t, ws, naive_gemm, stream);
}
