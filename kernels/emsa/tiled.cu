/* emsa tiled: the second rung, fp32, every GEMM through shared-memory tiles.
 *
 *   emsa_tiled_gemm_kernel  a TILE×TILE block of C per CTA (one output per thread); A and op(B)
 *                           staged TILE×TILE at a time in shared memory, so each global element
 *                           is read once per tile instead of once per output; edges are guarded,
 *                           so no size needs to be a multiple of TILE
 *   the rest as naive (common.cu): reduction, softmax with transform, InstanceNorm.
 * emsa_tiled_gemm is also the projection GEMM of the fused variant. */
#include <cstdio>

#include "emsa_common.cuh"
#include "launch.cuh"

#define TILE 16

__global__ void __launch_bounds__(TILE * TILE)
emsa_tiled_gemm_kernel(emsa_gemm_t g)
{
    __shared__ float As[TILE][TILE + 1]; /* As[m][k] */
    __shared__ float Bs[TILE][TILE + 1]; /* Bs[k][n] */
    const int tx = threadIdx.x % TILE, ty = threadIdx.x / TILE;
    const int m0 = blockIdx.y * TILE, n0 = blockIdx.x * TILE;
    const int z1 = blockIdx.z / g.nb2, z2 = blockIdx.z % g.nb2;
    const float *A = g.A + z1 * g.sA1 + z2 * g.sA2;
    const float *B = g.B + z1 * g.sB1 + z2 * g.sB2;
    float acc = 0.f;
    for (int k0 = 0; k0 < g.K; k0 += TILE) {
        /* load tiles: thread (ty, tx) loads A[m0 + ty, k0 + tx] and op(B)[k0 + ty, n0 + tx]
         * (transposed B: read B[n0 + ty, k0 + tx] so consecutive threads read consecutive k) */
        const int am = m0 + ty, ak = k0 + tx;
        As[ty][tx] = (am < g.M && ak < g.K) ? A[(size_t)am * g.lda + ak] : 0.f;
        if (g.transB) {
            const int bn = n0 + ty, bk = k0 + tx;
            Bs[tx][ty] = (bn < g.Nn && bk < g.K) ? B[(size_t)bn * g.ldb + bk] : 0.f;
        } else {
            const int bk = k0 + ty, bn = n0 + tx;
            Bs[ty][tx] = (bn < g.Nn && bk < g.K) ? B[(size_t)bk * g.ldb + bn] : 0.f;
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TILE; kk++) acc = fmaf(As[ty][kk], Bs[kk][tx], acc);
        __syncthreads(); /* before the next tiles overwrite these */
    }
    const int m = m0 + ty, n = n0 + tx;
    if (m < g.M && n < g.Nn) {
        acc *= g.alpha;
        if (g.bias) acc += g.bias[n];
        g.Cm[z1 * g.sC1 + z2 * g.sC2 + (size_t)m * g.ldc + n] = acc;
    }
}

int emsa_tiled_gemm(const emsa_gemm_t *g, cudaStream_t stream)
{
    const long long gy = ATTN_CEIL_DIV((long long)g->M, (long long)TILE);
    const long long gx = ATTN_CEIL_DIV((long long)g->Nn, (long long)TILE);
    if (gx > 0x7fffffffLL || gy > 65535 || g->batch > 65535)
        return (int)cudaErrorInvalidConfiguration;
    return ATTN_LAUNCH(emsa_tiled_gemm_kernel, dim3((unsigned)gx, (unsigned)gy, (unsigned)g->batch),
                       TILE * TILE, 0, stream, *g);
}

extern "C" size_t emsa_tiled_workspace(const emsa_problem_t *p)
{
    return emsa_workspace_bytes(p, 1);
}

extern "C" int emsa_tiled_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    if (int e = attn_launch_check(emsa_problem_reason(p), ws, "emsa_tiled_launch")) return e;
    return emsa_run_steps(p, t, ws, emsa_tiled_gemm, stream);
}
