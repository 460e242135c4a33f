/* luong fused: fp32 on CUDA cores, scores + online softmax + context in one kernel.
 *
 *   luong_project              cuBLAS projection GEMMs (common.cu); for concat that is W1·h_t
 *                              and W2·h̄_s once each, so the (B, T, S, A) sum W1·h_t + W2·h̄_s
 *                              only ever exists one term at a time inside the score loop
 *   luong_fused_kernel<CONCAT> one CTA per Br = 16 query rows of one batch, 256 threads; thread
 *                              (r, j) = (tid / 16, tid % 16). Per key tile of Bc = 16 keys:
 *     load tile   K' tile (Bc × Dp) and h̄ tile (Bc × Dk) into shared memory (Q' tile once)
 *     scores      thread (r, j): e = score(q'_r, k'_j), −∞ for keys past S
 *     online softmax  the 16 threads of row r (one half-warp) reduce the tile max by shuffles:
 *                 m_new = max(m, max_j e), p_j = exp(e − m_new), l = l·exp(m − m_new) + Σ p_j
 *     accumulate  acc[i] (column j + 16·i of row r) = acc·exp(m − m_new) + Σ_j p_j·h̄_j
 *   write back    c = acc / l for rows t < T.
 *   weights       a = exp(e − m) / l needs the final m and l: thread (r, j) stores its raw
 *                 score e of key s0 + j in a's row as the tiles go, and at the end turns the
 *                 keys j, j + 16, … of its row into weights: its own stores, read back, so no
 *                 barrier; the one extra pass over a is the price of a weights output.
 * The 16 threads of a row hold identical m and l (butterfly reductions give every lane the same
 * value). Every key tile holds at least one key < S, so m is finite after the first tile.
 * Register accumulator: Dk ≤ FUSED_DK_MAX (supports() says so otherwise). No workspace besides
 * the projections; E and P are never stored apart from a. */
#include "launch.cuh"
#include "luong_common.cuh"
#include "luong_score.cuh"

#define FUSED_BR 16
#define FUSED_BC 16
#define FUSED_THREADS (FUSED_BR * FUSED_BC)
#define FUSED_DK_MAX 512
#define FUSED_NACC (FUSED_DK_MAX / FUSED_BC)
#define FUSED_SMEM_CAP (163 * 1024) /* sm_80's opt-in limit, so every built arch runs it */

/* Shared memory (floats): Qs (Br × (Dp+1)), Ks (Bc × (Dp+1)), Hs (Bc × Dk), vs (Dp), Ps (Br × Bc);
 * rows of Qs and Ks padded by one so that the 16 keys of a half-warp fall in distinct banks. */
static size_t fused_smem(int Dp, int Dk)
{
    return sizeof(float) * ((size_t)(FUSED_BR + FUSED_BC) * (Dp + 1) + (size_t)FUSED_BC * Dk +
                            Dp + FUSED_BR * FUSED_BC);
}

template <bool CONCAT>
__global__ void __launch_bounds__(FUSED_THREADS, 1)
luong_fused_kernel(const float *__restrict__ q, const float *__restrict__ k,
                   const float *__restrict__ v, const float *__restrict__ hb,
                   float *__restrict__ c, float *__restrict__ a, int T, int S, int Dp, int Dk)
{
    ATTN_DYNAMIC_SMEM(smem_raw);
    const int ld = Dp + 1;
    float *Qs = (float *)smem_raw, *Ks = Qs + FUSED_BR * ld, *Hs = Ks + FUSED_BC * ld;
    float *vs = Hs + FUSED_BC * Dk, *Ps = vs + Dp;
    const int tid = threadIdx.x, r = tid / FUSED_BC, j = tid % FUSED_BC;
    const int b = blockIdx.y, t0 = blockIdx.x * FUSED_BR;
    const float *qb = q + ((size_t)b * T + t0) * Dp, *kb = k + (size_t)b * S * Dp;
    const float *hbb = hb + (size_t)b * S * Dk;
    float *ar = a + ((size_t)b * T + t0 + r) * S; /* a's row of thread row r (t0 + r < T) */

    /* Q' tile (rows past T are zero: they compute finite garbage that is never stored) and v */
    for (int e = tid; e < FUSED_BR * Dp; e += FUSED_THREADS) {
        const int rr = e / Dp, d = e % Dp;
        Qs[rr * ld + d] = t0 + rr < T ? qb[(size_t)rr * Dp + d] : 0.f;
    }
    if (CONCAT)
        for (int d = tid; d < Dp; d += FUSED_THREADS) vs[d] = v[d];

    float acc[FUSED_NACC];
#pragma unroll
    for (int i = 0; i < FUSED_NACC; i++) acc[i] = 0.f;
    float m = -INFINITY, l = 0.f;

    for (int s0 = 0; s0 < S; s0 += FUSED_BC) {
        __syncthreads(); /* previous tile's Ks, Hs, Ps fully read (and Qs, vs written) */
        /* load tile: keys s0 .. s0 + Bc − 1 of K' and h̄, zero past S */
        for (int e = tid; e < FUSED_BC * Dp; e += FUSED_THREADS) {
            const int jj = e / Dp, d = e % Dp;
            Ks[jj * ld + d] = s0 + jj < S ? kb[(size_t)(s0 + jj) * Dp + d] : 0.f;
        }
        for (int e = tid; e < FUSED_BC * Dk; e += FUSED_THREADS) {
            const int jj = e / Dk, x = e % Dk;
            Hs[jj * Dk + x] = s0 + jj < S ? hbb[(size_t)(s0 + jj) * Dk + x] : 0.f;
        }
        __syncthreads();

        /* scores: row r, key j */
        float e = 0.f;
#pragma unroll 4
        for (int d = 0; d < Dp; d++)
            e = luong_score_term<CONCAT>(Qs[r * ld + d], Ks[j * ld + d], CONCAT ? vs[d] : 0.f, e);
        if (s0 + j >= S) e = -INFINITY;
        else if (t0 + r < T) ar[s0 + j] = e; /* raw score, a weight at the end */

        /* online softmax over the half-warp of row r */
        float tmax = e;
#pragma unroll
        for (int off = FUSED_BC / 2; off > 0; off >>= 1)
            tmax = fmaxf(tmax, __shfl_xor_sync(0xffffffffu, tmax, off));
        const float m_new = fmaxf(m, tmax); /* finite: key s0 < S is in the tile */
        const float pj = expf(e - m_new);  /* 0 past S */
        float psum = pj;
#pragma unroll
        for (int off = FUSED_BC / 2; off > 0; off >>= 1)
            psum += __shfl_xor_sync(0xffffffffu, psum, off);
        const float corr = expf(m - m_new); /* 0 on the first tile (m = −∞) */
        l = fmaf(l, corr, psum);
        m = m_new;
        Ps[r * FUSED_BC + j] = pj;
        __syncthreads();

        /* accumulate: columns j + 16·i of row r */
#pragma unroll
        for (int i = 0; i < FUSED_NACC; i++) {
            const int x = j + FUSED_BC * i;
            if (x < Dk) {
                float a = acc[i] * corr;
#pragma unroll
                for (int jj = 0; jj < FUSED_BC; jj++)
                    a = fmaf(Ps[r * FUSED_BC + jj], Hs[jj * Dk + x], a);
                acc[i] = a;
            }
        }
    }

    /* write back: l >= 1 (the row max contributes exp(0)) */
    if (t0 + r < T) {
        const float inv_l = 1.f / l;
        float *ct = c + ((size_t)b * T + t0 + r) * Dk;
#pragma unroll
        for (int i = 0; i < FUSED_NACC; i++) {
            const int x = j + FUSED_BC * i;
            if (x < Dk) ct[x] = acc[i] * inv_l;
        }
        for (int s = j; s < S; s += FUSED_BC)
#ifndef ATTN_PLANT_LUONG_WEIGHTS
            ar[s] = expf(ar[s] - m) * inv_l;
#else /* planted bug: the weights never divided by l, c still right */
            ar[s] = expf(ar[s] - m);
#endif
    }
}

static int fused_dp(const luong_problem_t *p)
{
    return p->score == LUONG_SCORE_CONCAT ? p->A : p->Dq;
}

extern "C" const char *luong_fused_supports(const luong_problem_t *p)
{
    static thread_local char why[160];
    if (const char *bad = luong_problem_reason(p)) return bad;
    if (p->Dk > FUSED_DK_MAX) {
        std::snprintf(why, sizeof why, "fused keeps the context row in registers: Dk=%d > %d",
                      p->Dk, FUSED_DK_MAX);
        return why;
    }
    const size_t smem = fused_smem(fused_dp(p), p->Dk);
    if (smem > FUSED_SMEM_CAP) {
        std::snprintf(why, sizeof why, "fused needs %zu bytes of shared memory (> %d) for "
                      "Dp=%d, Dk=%d", smem, FUSED_SMEM_CAP, fused_dp(p), p->Dk);
        return why;
    }
    return NULL;
}

extern "C" size_t luong_fused_workspace(const luong_problem_t *p)
{
    attn_ws_t w = {NULL, 0};
    luong_proj_take(&w, p, sizeof(float));
    return w.used ? w.used : 256;
}

extern "C" int luong_fused_launch(const luong_problem_t *p, const luong_tensors_t *t, void *ws,
                                  attn_stream_t stream)
{
    if (int e = attn_launch_check(luong_fused_supports(p), ws, "luong_fused_launch")) return e;
    attn_ws_t w = {(char *)ws, 0};
    luong_ops_t o = luong_proj_take(&w, p, sizeof(float));
    if (int e = luong_project(p, t, CUDA_R_32F, &o, stream)) return e;
    const size_t smem = fused_smem(o.Dp, p->Dk);
    const dim3 grid(ATTN_CEIL_DIV(p->T, FUSED_BR), p->B);
    const float *q = (const float *)o.q, *k = (const float *)o.k, *v = (const float *)o.v;
    float *a = luong_weights_out<float>(t);
    if (p->score == LUONG_SCORE_CONCAT) {
        ATTN_TRY(cudaFuncSetAttribute(luong_fused_kernel<true>,
                                      cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
        return ATTN_LAUNCH(luong_fused_kernel<true>, grid, FUSED_THREADS, smem, stream, q, k, v,
                           (const float *)t->hb, (float *)t->c, a, p->T, p->S, o.Dp, p->Dk);
    }
    ATTN_TRY(cudaFuncSetAttribute(luong_fused_kernel<false>,
                                  cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem));
    return ATTN_LAUNCH(luong_fused_kernel<false>, grid, FUSED_THREADS, smem, stream, q, k, v,
                       (const float *)t->hb, (float *)t->c, a, p->T, p->S, o.Dp, p->Dk);
}
