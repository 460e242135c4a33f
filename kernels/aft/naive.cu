/* aft naive: the first rung, fp32 on CUDA cores, no shared memory.
 *
 *   aft_project_qkv         QKV = x·Wqkvᵀ + bqkv (common.cu, cuBLAS)
 *   aft_colmax, aft_rowmax  m = max over t of K per (b, c); r = max over t' of w'[t, ·]
 *   full/local:
 *     aft_naive_kernel      one thread per (b, t, c), straight from the definition:
 *                           num = Σ_t' e^{w'[t,t'] − r_t}·e^{K[t',c] − m_c}·V[t',c], den alike,
 *                           Y = σ(Q)·num/den — O(T) exps per output, w' read per (t, t')
 *   simple:
 *     aft_naive_simple_kernel  one thread per (b, c): m, then Σ e^{K−m}·V / Σ e^{K−m} over T,
 *                              then Y[b, t, c] = σ(Q)·that for every t
 *   aft_project_out         out = Y·Wpᵀ + bp (common.cu, cuBLAS)
 * Workspace: the common regions (QKV, Y, m, r). */
#include <cstdio>

#include "aft_common.cuh"
#include "launch.cuh"

#define NAIVE_THREADS 128

/* Thread (b·T + t)·Dh + c: a warp covers consecutive channels of one token. */
__global__ void __launch_bounds__(NAIVE_THREADS)
aft_naive_kernel(const float *__restrict__ qkv, const float *__restrict__ w,
                 const float *__restrict__ m, const float *__restrict__ r, float *__restrict__ Y,
                 int B, int T, int Dh, int Tmax, int form, int s)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= (long long)B * T * Dh) return;
    const int c = (int)(i % Dh);
    const int t = (int)((i / Dh) % T), b = (int)(i / ((long long)Dh * T));
    const int H3 = 3 * Dh;
    const float *K = qkv + (size_t)b * T * H3 + Dh + c, *V = K + Dh;
    const float mc = m[b * Dh + c], rt = r[t];
    float num = 0.f, den = 0.f;
    for (int tp = 0; tp < T; tp++) {
        /* both exponents <= 0: no overflow whatever K and w are */
        const float e = expf(aft_bias_dev(w, Tmax, form, s, t, tp) - rt) *
                        expf(K[(size_t)tp * H3] - mc);
        num = fmaf(e, V[(size_t)tp * H3], num);
        den += e;
    }
    /* den > 0: the t' of max K has e^{K−m} = 1, times e^{w'−r} >= e^{−(max w' − min w')} */
    Y[i] = aft_sigmoid(qkv[((size_t)b * T + t) * H3 + c]) * (num / den);
}

/* One thread per (b, c): the softmax of K over t for channel c, applied to V, for every t. */
__global__ void __launch_bounds__(NAIVE_THREADS)
aft_naive_simple_kernel(const float *__restrict__ qkv, float *__restrict__ Y, int B, int T,
                        int Dh)
{
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= B * Dh) return;
    const int b = i / Dh, c = i % Dh, H3 = 3 * Dh;
    const float *Q = qkv + (size_t)b * T * H3 + c, *K = Q + Dh, *V = Q + 2 * Dh;
    float mc = -INFINITY;
    for (int t = 0; t < T; t++) mc = fmaxf(mc, K[(size_t)t * H3]);
    float num = 0.f, den = 0.f;
    for (int t = 0; t < T; t++) {
        const float e = expf(K[(size_t)t * H3] - mc);
        num = fmaf(e, V[(size_t)t * H3], num);
        den += e;
    }
    const float a = num / den; /* den >= 1 */
    for (int t = 0; t < T; t++)
        Y[((size_t)b * T + t) * Dh + c] = aft_sigmoid(Q[(size_t)t * H3]) * a;
}

extern "C" size_t aft_naive_workspace(const aft_problem_t *p)
{
    if (aft_problem_reason(p)) return 0;
    attn_ws_t w = {NULL, 0};
    aft_common_take(&w, p);
    return w.used;
}

extern "C" int aft_naive_launch(const aft_problem_t *p, const aft_tensors_t *t, void *ws,
                                attn_stream_t stream)
{
    if (int e = attn_launch_check(aft_problem_reason(p), ws, "aft_naive_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    const aft_common_t cm = aft_common_take(&w, p);

    if (int e = aft_project_qkv(p, t, cm.qkv, stream)) return e;
    int err;
    if (p->form == AFT_K_SIMPLE) {
        err = ATTN_LAUNCH(aft_naive_simple_kernel, ATTN_CEIL_DIV(p->B * p->Dh, NAIVE_THREADS),
                          NAIVE_THREADS, 0, stream, (const float *)cm.qkv, cm.y, p->B, p->T,
                          p->Dh);
        if (err) return err;
    } else {
        if (int e = aft_colmax(p, cm.qkv, cm.m, stream)) return e;
        if (int e = aft_rowmax(p, (const float *)t->w, cm.r, stream)) return e;
        const long long n = (long long)p->B * p->T * p->Dh;
        const long long blocks = ATTN_CEIL_DIV(n, (long long)NAIVE_THREADS);
        if (blocks > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
        err = ATTN_LAUNCH(aft_naive_kernel, (unsigned)blocks, NAIVE_THREADS, 0, stream,
                          (const float *)cm.qkv, (const float *)t->w, (const float *)cm.m,
                          (const float *)cm.r, cm.y, p->B, p->T, p->Dh, p->Tmax, p->form, p->s);
        if (err) return err;
    }
    return aft_project_out(p, t, cm.y, stream);
}
