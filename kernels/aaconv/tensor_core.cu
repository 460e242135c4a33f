/* aaconv tensor-core: bf16 storage, the attention as three kernels with both products on tensor
 * cores (wmma m16n16k16, fp32 accumulate) and the logits materialised in fp32.
 *
 *   aaconv_front             conv branch (bf16 y) and qkv conv (fp32 Q, K, V) (common.cu)
 *   aaconv_tc_logits_kernel  one warp per (image·head, 16 × 16 tile of S): Q and K tiles rounded
 *                            to bf16 (dkh zero-padded to 16), S = Q·Kᵀ, valid entries stored
 *   aaconv_rel_softmax       relative terms by index + softmax in place (common.cu)
 *   aaconv_tc_pv_kernel      one warp per (image·head, 16 queries): P (rounded to bf16) · V over
 *                            key tiles of 16, zero-padded past N and dvh
 *   aaconv_back              1×1 output conv into the bf16 y (common.cu)
 * One MMA k-step covers a head: dkh, dvh <= 16 (supports(); the contract's sweep has dkh <= 13). */
#include <cstdio>
#include <cuda_bf16.h>
#include <mma.h>

#include "aaconv_common.cuh"
#include "launch.cuh"

using namespace nvcuda;
typedef __nv_bfloat16 bf16;

#define TC 16 /* tile side and padded head width */

__global__ void __launch_bounds__(32)
aaconv_tc_logits_kernel(const float *__restrict__ Q, const float *__restrict__ K,
                        float *__restrict__ S, int N, int dkh)
{
    __shared__ __align__(32) bf16 Qs[TC * TC], Ks[TC * TC];
    __shared__ __align__(32) float St[TC * TC];
    const long long bn = blockIdx.z;
    const int i0 = blockIdx.y * TC, j0 = blockIdx.x * TC, lane = threadIdx.x;
    for (int e = lane; e < TC * TC; e += 32) {
        const int r = e / TC, c = e % TC;
        Qs[e] = __float2bfloat16(i0 + r < N && c < dkh ? Q[(bn * N + i0 + r) * dkh + c] : 0.f);
        Ks[e] = __float2bfloat16(j0 + r < N && c < dkh ? K[(bn * N + j0 + r) * dkh + c] : 0.f);
    }
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fq;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::col_major> fk; /* Kᵀ */
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fs;
    wmma::fill_fragment(fs, 0.f);
    wmma::load_matrix_sync(fq, Qs, TC);
    wmma::load_matrix_sync(fk, Ks, TC);
    wmma::mma_sync(fs, fq, fk, fs);
    wmma::store_matrix_sync(St, fs, TC, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < TC * TC; e += 32) {
        const int r = e / TC, c = e % TC;
        if (i0 + r < N && j0 + c < N) S[(bn * N + i0 + r) * N + j0 + c] = St[e];
    }
}

__global__ void __launch_bounds__(32)
aaconv_tc_pv_kernel(const float *__restrict__ P, const float *__restrict__ V,
                    float *__restrict__ O, int N, int dvh)
{
    __shared__ __align__(32) bf16 Ps[TC * TC], Vs[TC * TC];
    __shared__ __align__(32) float Ot[TC * TC];
    const long long bn = blockIdx.y;
    const int i0 = blockIdx.x * TC, lane = threadIdx.x;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> fo;
    wmma::fill_fragment(fo, 0.f);
    for (int j0 = 0; j0 < N; j0 += TC) {
        for (int e = lane; e < TC * TC; e += 32) {
            const int r = e / TC, c = e % TC;
            Ps[e] = __float2bfloat16(i0 + r < N && j0 + c < N ? P[(bn * N + i0 + r) * N + j0 + c]
                                                              : 0.f);
            Vs[e] = __float2bfloat16(j0 + r < N && c < dvh ? V[(bn * N + j0 + r) * dvh + c] : 0.f);
        }
        __syncwarp();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, bf16, wmma::row_major> fp;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, bf16, wmma::row_major> fv;
        wmma::load_matrix_sync(fp, Ps, TC);
        wmma::load_matrix_sync(fv, Vs, TC);
        wmma::mma_sync(fo, fp, fv, fo);
        __syncwarp(); /* Ps, Vs are overwritten next */
    }
    wmma::store_matrix_sync(Ot, fo, TC, wmma::mem_row_major);
    __syncwarp();
    for (int e = lane; e < TC * TC; e += 32) {
        const int r = e / TC, c = e % TC;
        if (i0 + r < N && c < dvh) O[(bn * N + i0 + r) * dvh + c] = Ot[e];
    }
}

extern "C" const char *aaconv_tensor_core_supports(const aaconv_problem_t *p)
{
    static thread_local char why[160];
    if (const char *r = aaconv_problem_reason(p)) return r;
    const aaconv_sizes_t z = aaconv_sizes(p);
    if (z.dkh > TC || z.dvh > TC) {
        std::snprintf(why, sizeof why, "tensor-core covers a head with one 16×16×16 MMA: dkh=%d "
                      "and dvh=%d must be <= %d", z.dkh, z.dvh, TC);
        return why;
    }
    return NULL;
}

extern "C" size_t aaconv_tensor_core_workspace(const aaconv_problem_t *p)
{
    return aaconv_workspace_bytes(p, true);
}

extern "C" int aaconv_tensor_core_launch(const aaconv_problem_t *p, const aaconv_tensors_t *t,
                                         void *ws, attn_stream_t stream)
{
    if (int e = attn_launch_check(aaconv_tensor_core_supports(p), ws,
                                  "aaconv_tensor_core_launch"))
        return e;
    attn_ws_t w = {(char *)ws, 0};
    const aaconv_qkvo_t b = aaconv_qkvo_take(&w, p);
    float *S = aaconv_s_take(&w, p);
    const aaconv_sizes_t z = aaconv_sizes(p);
    const unsigned nt = ATTN_CEIL_DIV(z.N, TC), batch = (unsigned)(p->B * p->Nh);

    if (int e = aaconv_front(p, t, &b, true, stream)) return e;
    if (int e = ATTN_LAUNCH(aaconv_tc_logits_kernel, dim3(nt, nt, batch), 32, 0, stream,
                            (const float *)b.q, (const float *)b.k, S, z.N, z.dkh))
        return e;
    if (int e = aaconv_rel_softmax(p, S, b.q, t->rel, true, stream)) return e;
    if (int e = ATTN_LAUNCH(aaconv_tc_pv_kernel, dim3(nt, batch), 32, 0, stream, (const float *)S,
                            (const float *)b.v, b.o, z.N, z.dvh))
        return e;
    return aaconv_back(p, t, &b, true, stream);
}
