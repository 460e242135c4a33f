/* emsa fused: the two-phase attention of docs/suites.md, fp32 on CUDA cores, logits never stored.
 *
 *   emsa_reduce_kernel, emsa_tiled_gemm   Xr and the Q, K, V projections (common.cu, tiled.cu)
 *   emsa_fused_phase1_kernel  CTA per (b, query row i): q row in smem; the logits of every head
 *                             S[g][j] = q_g·k_{j,g}/√dk in smem; the head transform
 *                             S'_g = Σ_k T[g, k]·S_k + t_g; per head (one warp) softmax over j,
 *                             P row to global, and the row's Σ(p − 1/N')² (the one reduction
 *                             the InstanceNorm needs: the map mean is exactly 1/N')
 *   emsa_fused_phase2_kernel  CTA per (b, i): every head's inv = 1/√(Σ_rows / (N·N') + eps)
 *                             (a deterministic sum of the N row partials; no atomics), the
 *                             normalised row P̂ in smem, O[i, c] = Σ_j P̂[g(c)][j]·V[j, c]
 *   emsa_tiled_gemm           y = O·Woᵀ + bo
 * Both phases hold whole rows of all heads (h·N' floats) in shared memory: supported while that
 * fits in 48 KiB (the ResT stages need at most 8·49). */
#include <cmath>
#include <cstdio>

#include "emsa_common.cuh"
#include "launch.cuh"

#define FUSED_THREADS 128
#define FUSED_SMEM_CAP (48 * 1024)

static size_t phase1_smem(const emsa_problem_t *p)
{
    const emsa_sizes_t z = emsa_sizes(p);
    return ((size_t)p->C + 2 * (size_t)p->h * z.Np) * sizeof(float);
}

static size_t phase2_smem(const emsa_problem_t *p)
{
    const emsa_sizes_t z = emsa_sizes(p);
    return ((size_t)p->h * z.Np + p->h) * sizeof(float);
}

__global__ void __launch_bounds__(FUSED_THREADS)
emsa_fused_phase1_kernel(const float *__restrict__ Q, const float *__restrict__ K,
                         const float *__restrict__ tr, float *__restrict__ P,
                         float *__restrict__ rowsq, int C, int h, int N, int Np, float scale)
{
    ATTN_DYNAMIC_SMEM(smem);
    float *qs = (float *)smem;      /* (C) */
    float *Ss = qs + C;             /* (h, N') raw logits */
    float *Ts = Ss + h * Np;        /* (h, N') transformed logits, then exponentials */
    const int b = blockIdx.x / N, i = blockIdx.x % N, dk = C / h, hn = h * Np;
    const float *Kb = K + (size_t)b * Np * C;

    /* load the query row */
    for (int c = threadIdx.x; c < C; c += blockDim.x) qs[c] = Q[((size_t)b * N + i) * C + c];
    __syncthreads();

    /* logits of every head */
    for (int e = threadIdx.x; e < hn; e += blockDim.x) {
        const int g = e / Np, j = e % Np;
        const float *q = qs + g * dk, *k = Kb + (size_t)j * C + g * dk;
        float s = 0.f;
        for (int c = 0; c < dk; c++) s = fmaf(q[c], k[c], s);
        Ss[e] = s * scale;
    }
    __syncthreads();

    /* head transform (1×1 conv over heads) */
    for (int e = threadIdx.x; e < hn; e += blockDim.x) {
        const int g = e / Np, j = e % Np;
        float s = Ss[e];
        if (h > 1) {
            s = tr[g * (h + 1) + h];
            for (int k = 0; k < h; k++) s = fmaf(tr[g * (h + 1) + k], Ss[k * Np + j], s);
        }
        Ts[e] = s;
    }
    __syncthreads();

    /* softmax per head, one warp per head */
    const int lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    const float mu = 1.f / (float)Np;
    for (int g = threadIdx.x >> 5; g < h; g += nw) {
        float *t = Ts + g * Np;
        float m = -INFINITY;
        for (int j = lane; j < Np; j += 32) m = fmaxf(m, t[j]);
        for (int o = 16; o > 0; o >>= 1) m = fmaxf(m, __shfl_xor_sync(0xffffffffu, m, o));
        float l = 0.f;
        for (int j = lane; j < Np; j += 32) {
            const float e = expf(t[j] - m);
            t[j] = e;
            l += e;
        }
        for (int o = 16; o > 0; o >>= 1) l += __shfl_xor_sync(0xffffffffu, l, o);
        const float inv_l = 1.f / l; /* l >= 1 */
        float *prow = P + (((size_t)b * h + g) * N + i) * Np;
        float sq = 0.f;
        for (int j = lane; j < Np; j += 32) {
            const float pj = t[j] * inv_l;
            prow[j] = pj;
            sq = fmaf(pj - mu, pj - mu, sq);
        }
        for (int o = 16; o > 0; o >>= 1) sq += __shfl_xor_sync(0xffffffffu, sq, o);
        if (lane == 0) rowsq[((size_t)b * h + g) * N + i] = sq;
    }
}

__global__ void __launch_bounds__(FUSED_THREADS)
emsa_fused_phase2_kernel(const float *__restrict__ P, const float *__restrict__ rowsq,
                         const float *__restrict__ V, float *__restrict__ O, int C, int h, int N,
                         int Np)
{
    ATTN_DYNAMIC_SMEM(smem);
    float *Ps = (float *)smem;  /* (h, N') the normalised row */
    float *invs = Ps + h * Np;  /* (h) */
    const int b = blockIdx.x / N, i = blockIdx.x % N, dk = C / h, hn = h * Np;
    const int lane = threadIdx.x & 31, nw = blockDim.x >> 5;
    const float mu = 1.f / (float)Np;

    /* InstanceNorm statistics of every head's map (h > 1): a fixed-order warp sum */
    if (h > 1) {
        for (int g = threadIdx.x >> 5; g < h; g += nw) {
            const float *r = rowsq + ((size_t)b * h + g) * N;
            float s = 0.f;
            for (int k = lane; k < N; k += 32) s += r[k];
            for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
            if (lane == 0) invs[g] = 1.f / sqrtf(s / ((float)N * (float)Np) + EMSA_EPS);
        }
        __syncthreads();
    }

    /* the normalised row of every head */
    for (int e = threadIdx.x; e < hn; e += blockDim.x) {
        const int g = e / Np, j = e % Np;
        const float pj = P[(((size_t)b * h + g) * N + i) * Np + j];
        Ps[e] = h > 1 ? (pj - mu) * invs[g] : pj;
    }
    __syncthreads();

    /* O row: channel c of head g = c / dk; consecutive threads read consecutive V channels */
    const float *Vb = V + (size_t)b * Np * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x) {
        const float *pr = Ps + (c / dk) * Np;
        float acc = 0.f;
        for (int j = 0; j < Np; j++) acc = fmaf(pr[j], Vb[(size_t)j * C + c], acc);
        O[((size_t)b * N + i) * C + c] = acc;
    }
}

extern "C" const char *emsa_fused_supports(const emsa_problem_t *p)
{
    if (const char *why = emsa_problem_reason(p)) return why;
    static thread_local char why[160];
    const size_t s1 = phase1_smem(p), s2 = phase2_smem(p);
    if (s1 > FUSED_SMEM_CAP || s2 > FUSED_SMEM_CAP) {
        const emsa_sizes_t z = emsa_sizes(p);
        std::snprintf(why, sizeof why, "fused keeps C + 2·h·N' = %d + 2·%d·%d floats of a row in "
                      "shared memory: more than 48 KiB", p->C, p->h, z.Np);
        return why;
    }
    return NULL;
}

extern "C" size_t emsa_fused_workspace(const emsa_problem_t *p)
{
    return emsa_workspace_bytes(p, 0);
}

extern "C" int emsa_fused_launch(const emsa_problem_t *p, const emsa_tensors_t *t, void *ws,
                                 attn_stream_t stream)
{
    if (int e = attn_launch_check(emsa_fused_supports(p), ws, "emsa_fused_launch")) return e;
    const emsa_sizes_t z = emsa_sizes(p);
    attn_ws_t w = {(char *)ws, 0};
    const emsa_bufs_t b = emsa_bufs_take(&w, p, 0);

    if (p->r > 1)
        if (int e = emsa_reduce(p, t, b.xr, stream)) return e;
    if (int e = emsa_project_qkv(p, t, &b, emsa_tiled_gemm, stream)) return e;

    const long long rows = (long long)p->B * z.N;
    if (rows > 0x7fffffffLL) return (int)cudaErrorInvalidConfiguration;
    const float scale = (float)(1.0 / std::sqrt((double)z.dk));
    if (int e = ATTN_LAUNCH(emsa_fused_phase1_kernel, (unsigned)rows, FUSED_THREADS,
                            phase1_smem(p), stream, (const float *)b.q, (const float *)b.k,
                            (const float *)t->tr, b.pm, b.rowsq, p->C, p->h, z.N, z.Np, scale))
        return e;
    if (int e = ATTN_LAUNCH(emsa_fused_phase2_kernel, (unsigned)rows, FUSED_THREADS,
                            phase2_smem(p), stream, (const float *)b.pm, (const float *)b.rowsq,
                            (const float *)b.v, b.o, p->C, p->h, z.N, z.Np))
        return e;
    return emsa_project_out(p, t, &b, emsa_tiled_gemm, stream);
}
