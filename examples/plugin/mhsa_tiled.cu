/* An out-of-tree mhsa variant in CUDA: a small tiled kernel, as a plugin
 * (include/attnbench/plugin.h).
 *
 * Build for a GPU, against the installed header:
 *
 *     nvcc -O2 -shared -Xcompiler -fPIC -cudart shared -I PREFIX/include mhsa_tiled.cu \
 *         -o mhsa_tiled.so
 *
 * or for the host emulator, from an attnbench tree (no GPU, no nvcc):
 *
 *     tools/emu-cc examples/plugin/mhsa_tiled.cu -o mhsa_tiled.emu.so
 *
 * then attnbench --plugin ./mhsa_tiled.so --suite mhsa --variant my-tiled --check (add
 * --backend emu for the .emu.so).
 *
 * The kernel: one block of BR threads per (b, h, tile of BR query rows), one thread per query
 * row. Keys and values go through shared memory in tiles of BC rows (every thread loads part of
 * the tile), and each thread folds the tile into its row with an online softmax: running
 * maximum m, running sum l, unnormalised output acc, rescaled by e^(m_old − m_new) when the
 * maximum grows. Masks as in docs/suites.md: keys j < kv_len[b] (kvpad = 1) and j <= i
 * (causal = 1); a row with no key left is written as 0. */
#include <cmath>
#include <cstdint>
#include <cuda_runtime.h>

#include <attnbench/plugin.h>

#define BR 32    /* query rows (threads) per block */
#define BC 32    /* keys per shared-memory tile */
#define DMAX 128 /* largest head dim */

__global__ void mhsa_example_tiled_kernel(const float *q, const float *k, const float *v,
                                          float *o, int H, int Nq, int Nk, int d, int causal,
                                          const int32_t *kv_len, float scale)
{
    __shared__ float Ks[BC][DMAX];
    __shared__ float Vs[BC][DMAX];
    const long long bh = blockIdx.y;
    const int b = (int)(bh / H);
    const int i = blockIdx.x * BR + threadIdx.x; /* this thread's query row */
    const float *kb = k + bh * Nk * d, *vb = v + bh * Nk * d;

    int kend = Nk; /* keys j < kend are valid for the batch */
    if (kv_len) kend = min(max(kv_len[b], 0), Nk);
    /* the keys this block needs, and this row */
    const int klimit = causal ? min(kend, min((int)(blockIdx.x + 1) * BR, Nq)) : kend;
    const int nrow = causal ? min(kend, i + 1) : kend;

    float qr[DMAX], acc[DMAX];
    for (int c = 0; c < d; c++) {
        qr[c] = i < Nq ? q[(bh * Nq + i) * d + c] : 0.f;
        acc[c] = 0.f;
    }
    float m = -INFINITY, l = 0.f;

    for (int j0 = 0; j0 < klimit; j0 += BC) {
#ifndef PLANT_BUG
        __syncthreads(); /* every thread is done with the previous tile */
#endif
        for (int e = threadIdx.x; e < BC * d; e += BR) {
            const int jr = e / d, c = e % d;
            const bool in = j0 + jr < klimit;
            Ks[jr][c] = in ? kb[(long long)(j0 + jr) * d + c] : 0.f;
            Vs[jr][c] = in ? vb[(long long)(j0 + jr) * d + c] : 0.f;
        }
        __syncthreads(); /* the tile is loaded */
        if (i >= Nq) continue;
        for (int jr = 0; jr < BC && j0 + jr < nrow; jr++) {
            float s = 0.f;
            for (int c = 0; c < d; c++) s += qr[c] * Ks[jr][c];
            s *= scale;
            const float mnew = fmaxf(m, s);
            const float r = expf(m - mnew); /* 0 on the first key (m = −∞) */
            const float p = expf(s - mnew);
            l = l * r + p;
            for (int c = 0; c < d; c++) acc[c] = acc[c] * r + p * Vs[jr][c];
            m = mnew;
        }
    }
    if (i < Nq)
        for (int c = 0; c < d; c++) o[(bh * Nq + i) * d + c] = l > 0.f ? acc[c] / l : 0.f;
}

static const char *supports(const attnbench_case_t *c)
{
    if (attnbench_axis(c, "d", 0) > DMAX) return "head dim d above 128";
    if (attnbench_axis(c, "Hkv", 0) != attnbench_axis(c, "H", 0)) return "no grouped K/V heads";
    if (attnbench_axis(c, "align", 0)) return "causal top-left only";
    if (attnbench_axis(c, "window", 0)) return "no window";
    if (attnbench_axis(c, "B", 1) * attnbench_axis(c, "H", 1) > 65535)
        return "B·H above 65535 (the grid's y extent)";
    return NULL;
}

static int run(const attnbench_case_t *c, const void *const *in, void *out, void *ws, void *stream)
{
    (void)ws;
    const int64_t B = attnbench_axis(c, "B", 1), H = attnbench_axis(c, "H", 1);
    const int Nq = (int)attnbench_axis(c, "N", 1), Nk = (int)attnbench_axis(c, "Nk", 1);
    const int d = (int)attnbench_axis(c, "d", 1);
    const int32_t *kv_len = attnbench_axis(c, "kvpad", 0) ? (const int32_t *)in[3] : NULL;
    const dim3 grid((unsigned)((Nq + BR - 1) / BR), (unsigned)(B * H));
    return ATTNBENCH_LAUNCH(mhsa_example_tiled_kernel, grid, dim3(BR), 0, stream,
                            (const float *)in[0], (const float *)in[1], (const float *)in[2],
                            (float *)out, (int)H, Nq, Nk, d, (int)attnbench_axis(c, "causal", 0),
                            kv_len, 1.0f / std::sqrt((float)d));
}

static const char *error_string(int err) { return cudaGetErrorString((cudaError_t)err); }

static const attnbench_variant_t variants[] = {{
    "mhsa", "my-tiled", ATTNBENCH_GPU, ATTNBENCH_F32,
    "example plugin: K/V tiles in shared memory, a thread per query row, online softmax",
    supports, NULL, run, error_string,
}};

ATTNBENCH_PLUGIN_ENTRY
{
    static const attnbench_plugin_t plugin = {ATTNBENCH_PLUGIN_ABI, 1, variants};
    return &plugin;
}
