/* luong tensor-core: bf16 storage, the two products on tensor cores (wmma m16n16k16, fp32
 * accumulate), dot and general scores only — the concat / additive score vᵀ·tanh(q' + k') is a
 * sum of tanh of sums, not a product of matrices, so it has no tensor-core form.
 *
 *   luong_project                    general: K' = h̄·Waᵀ (cuBLAS bf16 GEMM, common.cu)
 *   luong_tc_scores_kernel           E (B, T, S) fp32: one warp per 16×16 tile of (t, s);
 *                                    Q' and K' tiles of 16 columns staged in shared memory,
 *                                    zero-padded past T, S, Dp, then E += Q'·K'ᵀ by wmma
 *   mhsa_softmax_bf16                the row softmax of kernels/mhsa/softmax.cu → P (bf16),
 *                                    the weights output a itself
 *   luong_tc_context_kernel          c (B, T, Dk) bf16: one warp per 16×16 tile of (t, c),
 *                                    c += P·h̄ over 16-key tiles, zero-padded past S, Dk
 * Workspace: the K' projection (general), E (fp32). */
#include <mma.h>

#include "launch.cuh"
#include "luong_common.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

#define TC 16

__global__ void __launch_bounds__(32)
luong_tc_scores_kernel(const bf16 *__restrict__ q, const bf16 *__restrict__ k,
                       float *__restrict__ E, int T, int S, int Dp)
{
    __shared__ __align__(32) bf16 As[TC * TC], Bs[TC * TC];
    __shared__ __align__(32) float Cs[TC * TC];
    const int lane = threadIdx.x, b = blockIdx.z, t0 = blockIdx.y * TC, s0 = blockIdx.x * TC;
    const bf16 *qb = q + (size_t)b * T * Dp, *kb = k + (size_t)b * S * Dp;
    const bf16 zero = __float2bfloat16(0.f);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int d0 = 0; d0 < Dp; d0 += TC) {
        /* load tile: As[r][c] = Q'[t0 + r][d0 + c]; Bs[n][c] = K'[s0 + n][d0 + c], which is
         * K'ᵀ (c × n) in column-major order */
        for (int e = lane; e < TC * TC; e += 32) {
            const int r = e / TC, c = e % TC, d = d0 + c;
            As[e] = t0 + r < T && d < Dp ? qb[(size_t)(t0 + r) * Dp + d] : zero;
            Bs[e] = s0 + r < S && d < Dp ? kb[(size_t)(s0 + r) * Dp + d] : zero;
        }
        __syncwarp();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, As, TC);
        wmma::load_matrix_sync(fb, Bs, TC);
        wmma::mma_sync(acc, fa, fb, acc);
        __syncwarp(); /* the tiles are read before the next load overwrites them */
    }
    wmma::store_matrix_sync(Cs, acc, TC, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < TC * TC; e += 32) {
        const int r = e / TC, c = e % TC;
        if (t0 + r < T && s0 + c < S) E[((size_t)b * T + t0 + r) * S + s0 + c] = Cs[e];
    }
}

__global__ void __launch_bounds__(32)
luong_tc_context_kernel(const bf16 *__restrict__ P, const bf16 *__restrict__ hb,
                        bf16 *__restrict__ c, int T, int S, int Dk)
{
    __shared__ __align__(32) bf16 As[TC * TC], Bs[TC * TC];
    __shared__ __align__(32) float Cs[TC * TC];
    const int lane = threadIdx.x, b = blockIdx.z, t0 = blockIdx.y * TC, c0 = blockIdx.x * TC;
    const bf16 *Pb = P + (size_t)b * T * S, *hbb = hb + (size_t)b * S * Dk;
    const bf16 zero = __float2bfloat16(0.f);
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    for (int s0 = 0; s0 < S; s0 += TC) {
        /* load tile: As[r][j] = P[t0 + r][s0 + j]; Bs[j][x] = h̄[s0 + j][c0 + x] (row-major) */
        for (int e = lane; e < TC * TC; e += 32) {
            const int r = e / TC, x = e % TC;
            As[e] = t0 + r < T && s0 + x < S ? Pb[(size_t)(t0 + r) * S + s0 + x] : zero;
            Bs[e] = s0 + r < S && c0 + x < Dk ? hbb[(size_t)(s0 + r) * Dk + c0 + x] : zero;
        }
        __syncwarp();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, As, TC);
        wmma::load_matrix_sync(fb, Bs, TC);
        wmma::mma_sync(acc, fa, fb, acc);
        __syncwarp();
    }
    wmma::store_matrix_sync(Cs, acc, TC, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < TC * TC; e += 32) {
        const int r = e / TC, x = e % TC;
        if (t0 + r < T && c0 + x < Dk)
            c[((size_t)b * T + t0 + r) * Dk + c0 + x] = __float2bfloat16_rn(Cs[e]);
    }
}

extern "C" const char *luong_tensor_core_supports(const luong_problem_t *p)
{
    if (const char *bad = luong_problem_reason(p)) return bad;
    if (p->score == LUONG_SCORE_CONCAT)
        return "concat/additive score vᵀ·tanh(W1·h + W2·h̄) is not a matrix product: no "
               "tensor-core form (tensor cores for dot and general only)";
    return NULL;
}

static size_t tc_take(attn_ws_t *w, const luong_problem_t *p, luong_ops_t *o, float **E)
{
    *o = luong_proj_take(w, p, sizeof(bf16));
    const size_t n = (size_t)p->B * p->T * p->S;
    *E = (float *)attn_ws_take(w, n * sizeof(float));
    return w->used;
}

extern "C" size_t luong_tensor_core_workspace(const luong_problem_t *p)
{
    attn_ws_t w = {NULL, 0};
    luong_ops_t o;
    float *E;
    return tc_take(&w, p, &o, &E);
}

extern "C" int luong_tensor_core_launch(const luong_problem_t *p, const luong_tensors_t *t,
                                        void *ws, attn_stream_t stream)
{
    if (int e = attn_launch_check(luong_tensor_core_supports(p), ws,
                                  "luong_tensor_core_launch"))
        return e;
    attn_ws_t w = {(char *)ws, 0};
    luong_ops_t o;
    float *E;
    bf16 *P = luong_weights_out<bf16>(t);
    tc_take(&w, p, &o, &E);
    if (int e = luong_project(p, t, CUDA_R_16BF, &o, stream)) return e;
    const dim3 gs(ATTN_CEIL_DIV(p->S, TC), ATTN_CEIL_DIV(p->T, TC), p->B);
    if (int e = ATTN_LAUNCH(luong_tc_scores_kernel, gs, 32, 0, stream, (const bf16 *)o.q,
                            (const bf16 *)o.k, E, p->T, p->S, o.Dp))
        return e;
    const mhsa_problem_t sp = luong_softmax_problem(p);
    if (int e = mhsa_softmax_bf16(&sp, E, P, stream)) return e;
    const dim3 gc(ATTN_CEIL_DIV(p->Dk, TC), ATTN_CEIL_DIV(p->T, TC), p->B);
    return ATTN_LAUNCH(luong_tc_context_kernel, gc, 32, 0, stream, (const bf16 *)P,
                       (const bf16 *)t->hb, (bf16 *)t->c, p->T, p->S, p->Dk);
}
