/* emsa tensor-core: every GEMM on tensor cores (WMMA bf16 16×16×16 fragments, fp32 accumulate),
 * bf16 storage of the inputs and of y.
 *
 *   emsa_tc_widen_kernel   the bf16 inputs widened once to fp32 copies in the workspace (exact)
 *   emsa_run_steps         the pipeline of common.cu (reduction, softmax with head transform,
 *                          InstanceNorm in fp32) with emsa_tc_gemm_kernel for the projections,
 *                          the logits and P̂·V: a CTA of 4 warps computes a 32×32 output tile, each
 *                          warp one 16×16 accumulator; the A and op(B) tiles are staged in shared
 *                          memory as bf16 (rounded there: x and the weights are bf16 already; Xr,
 *                          Q, K, V, P̂ and O are rounded to bf16 as GEMM operands), zero-filled
 *                          outside the matrices, so any size works; the result goes back through
 *                          shared memory and only in-range elements are stored (alpha, bias in fp32)
 *   emsa_tc_narrow_kernel  y rounded to bf16 once, after the bias.
 * Workspace: fp32 copies of the eight inputs and of y, then emsa_bufs_take with S. */
#include <cstdio>
#include <cuda_bf16.h>
#include <mma.h>

#include "emsa_common.cuh"
#include "launch.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

#define TC_TILE 32     /* output tile side per CTA, and the k chunk staged per step */
#define TC_THREADS 128 /* 4 warps, 2×2 over the output tile */
#define TC_LD (TC_TILE + 8)  /* bf16 pitch: 80 B, rows 16 apart stay 32-byte aligned */
#define TC_LDC (TC_TILE + 4) /* fp32 pitch of the staged result */
#define CONV_THREADS 256

/* Operand tiles and the staged result are never live together, so they share storage. */
union TcSmem {
    struct {
        bf16 a[TC_TILE][TC_LD]; /* a[m][k] */
        bf16 b[TC_TILE][TC_LD]; /* b[k][n] = op(B)[k][n] */
    } in;
    float c[TC_TILE][TC_LDC];
};

__global__ void __launch_bounds__(TC_THREADS)
emsa_tc_gemm_kernel(emsa_gemm_t g)
{
    __shared__ __align__(128) TcSmem sm;
    const int warp = threadIdx.x / 32, wm = warp / 2, wn = warp % 2;
    const int m0 = blockIdx.y * TC_TILE, n0 = blockIdx.x * TC_TILE;
    const int z1 = blockIdx.z / g.nb2, z2 = blockIdx.z % g.nb2;
    const float *A = g.A + z1 * g.sA1 + z2 * g.sA2;
    const float *B = g.B + z1 * g.sB1 + z2 * g.sB2;

    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int k0 = 0; k0 < g.K; k0 += TC_TILE) {
        /* load tiles, rounding to bf16; consecutive threads read consecutive k (A, transposed B)
         * or consecutive n (plain B) */
        for (int e = threadIdx.x; e < TC_TILE * TC_TILE; e += TC_THREADS) {
            const int r = e / TC_TILE, c = e % TC_TILE;
            const int am = m0 + r, ak = k0 + c;
            sm.in.a[r][c] = __float2bfloat16(am < g.M && ak < g.K ? A[(size_t)am * g.lda + ak] : 0.f);
            if (g.transB) {
                const int bn = n0 + r, bk = k0 + c;
                sm.in.b[c][r] =
                    __float2bfloat16(bn < g.Nn && bk < g.K ? B[(size_t)bn * g.ldb + bk] : 0.f);
            } else {
                const int bk = k0 + r, bn = n0 + c;
                sm.in.b[r][c] =
                    __float2bfloat16(bn < g.Nn && bk < g.K ? B[(size_t)bk * g.ldb + bn] : 0.f);
            }
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < TC_TILE; kk += 16) {
            wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
            wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
            wmma::load_matrix_sync(fa, &sm.in.a[wm * 16][kk], TC_LD);
            wmma::load_matrix_sync(fb, &sm.in.b[kk][wn * 16], TC_LD);
            wmma::mma_sync(acc, fa, fb, acc);
        }
        __syncthreads(); /* before the next tiles (or the result) overwrite these */
    }
    wmma::store_matrix_sync(&sm.c[wm * 16][wn * 16], acc, TC_LDC, wmma::mem_row_major);
    __syncthreads();
    for (int e = threadIdx.x; e < TC_TILE * TC_TILE; e += TC_THREADS) {
        const int r = e / TC_TILE, c = e % TC_TILE, m = m0 + r, n = n0 + c;
        if (m < g.M && n < g.Nn) {
            float v = sm.c[r][c] * g.alpha;
            if (g.bias) v += g.bias[n];
            g.Cm[z1 * g.sC1 + z2 * g.sC2 + (size_t)m * g.ldc + n] = v;
        }
    }
}

static int tc_gemm(const emsa_gemm_t *g, cudaStream_t stream)
{
    const long long gy = ATTN_CEIL_DIV((long long)g->M, (long long)TC_TILE);
    const long long gx = ATTN_CEIL_DIV((long long)g->Nn, (long long)TC_TILE);
    if (gx > 0x7fffffffLL || gy > 65535 || g->batch > 65535)
        return (int)cudaErrorInvalidConfiguration;
    return ATTN_LAUNCH(emsa_tc_gemm_kernel, dim3((unsigned)gx, (unsigned)gy, (unsigned)g->batch),
                       TC_THREADS, 0, stream, *g);
}

__global__ void __launch_bounds__(CONV_THREADS)
emsa_tc_widen_kernel(const bf16 *__restrict__ in, float *__restrict__ out, long long n)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x)
        out[e] = __bfloat162float(in[e]);
}

__global__ void __launch_bounds__(CONV_THREADS)
emsa_tc_narrow_kernel(const float *__restrict__ in, bf16 *__restrict__ out, long long n)
{
    for (long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x; e < n;
         e += (long long)gridDim.x * blockDim.x)
        out[e] = __float2bfloat16(in[e]);
}

static unsigned conv_grid(long long n)
{
    const long long blocks = ATTN_CEIL_DIV(n, (long long)CONV_THREADS);
    return (unsigned)(blocks < (1 << 20) ? (blocks > 0 ? blocks : 1) : (1 << 20));
}

/* Element counts of the eight inputs (emsa_kernels.h order) and of y. */
static void tc_counts(const emsa_problem_t *p, long long n[9])
{
    const emsa_sizes_t z = emsa_sizes(p);
    const long long C = p->C, k = p->r + 1;
    n[0] = (long long)p->B * z.N * C, n[1] = 3 * C * C, n[2] = 3 * C, n[3] = C * C, n[4] = C;
    n[5] = C * k * k, n[6] = 3 * C, n[7] = (long long)p->h * (p->h + 1), n[8] = n[0];
}

extern "C" size_t emsa_tensor_core_workspace(const emsa_problem_t *p)
{
    if (emsa_problem_reason(p)) return 0;
    long long n[9];
    tc_counts(p, n);
    attn_ws_t w = {NULL, 0};
    for (int i = 0; i < 9; i++) attn_ws_take(&w, (size_t)n[i] * sizeof(float));
    emsa_bufs_take(&w, p, 1);
    return w.used;
}

extern "C" int emsa_tensor_core_launch(const emsa_problem_t *p, const emsa_tensors_t *t,
                                       void *ws, attn_stream_t stream)
{
    if (int e = attn_launch_check(emsa_problem_reason(p), ws, "emsa_tensor_core_launch")) return e;
    long long n[9];
    tc_counts(p, n);
    attn_ws_t w = {(char *)ws, 0};
    float *f[9];
    for (int i = 0; i < 9; i++) f[i] = (float *)attn_ws_take(&w, (size_t)n[i] * sizeof(float));
    const void *src[8] = {t->x, t->wqkv, t->bqkv, t->wo, t->bo, t->srw, t->srp, t->tr};
    for (int i = 0; i < 8; i++)
        if (int e = ATTN_LAUNCH(emsa_tc_widen_kernel, conv_grid(n[i]), CONV_THREADS, 0, stream,
                                (const bf16 *)src[i], f[i], n[i]))
            return e;
    const emsa_tensors_t t32 = {f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]};
    if (int e = emsa_run_steps(p, &t32, w.base + w.used, tc_gemm, stream)) return e;
    return ATTN_LAUNCH(emsa_tc_narrow_kernel, conv_grid(n[8]), CONV_THREADS, 0, stream,
                       (const float *)f[8], (bf16 *)t->y, n[8]);
}
