/* shuffle — Shuffle Attention (SA-Net; docs/suites.md "shuffle"): per group, a channel gate on the
 * first Cg channels and a GroupNorm spatial gate on the last Cg, then a channel shuffle with two
 * groups. Memory-bound: ≈ 15 FLOPs per element against 2·s bytes.
 *
 * Axes: B, C, G, H, W (= H unless given).
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive (stats kernel +
 * elementwise kernel) and fused (one warp per channel plane, one read, shuffled store), f32.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "floors.h"
#include "cpu_adapters.h"
#include "suite_fields.h"
#include "registry.h"
#include "shuffle_ref.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "shuffle_kernels.h"
#endif

enum { AX_B, AX_C, AX_G, AX_H, AX_W, NAXES };

/* GPU grid: docs/suites.md's C ∈ {256 … 2048} as the powers of two 256, 512, 1024, 2048 (SA-Net's
 * ResNet stages), G ∈ {8, 64}, H = W ∈ {7, 14, 28, 56}, and B ∈ {1, 8, 64}: B = 1 is the
 * latency end (a few hundred planes, 25 KiB–25 MiB), B = 64 the bandwidth end (51 MiB–1.6 GiB
 * per tensor, far past L2), B = 8 between. 96 cases.
 * CPU grid (no device): B ∈ {1, 4}, C ∈ {64, 256}, G ∈ {2, 8}, H ∈ {7, 14, 28, 56}: 32 cases
 * of at most 3.2 M elements; the reference and cpu-f32 sweep takes about a minute at default
 * timing (68 s measured on the 2-core build machine). */
static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch", 1, 1, 1 << 16, 3, {1, 8, 64}, 2, {1, 4}},
    [AX_C] = {"C", "channels (divisible by 2·G)", 256, 2, 1 << 16, 4, {256, 512, 1024, 2048},
              2, {64, 256}},
    [AX_G] = {"G", "groups (Cg = C/(2G) channels per branch)", 8, 1, 1 << 15, 2, {8, 64},
              2, {2, 8}},
    [AX_H] = {"H", "map height", 14, 1, 1 << 14, 4, {7, 14, 28, 56}, 4, {7, 14, 28, 56}},
    [AX_W] = {"W", "map width (default H)", ATTN_UNSET, 1, 1 << 14},
};

/* W = H when unset. Errors name the values: C must split into G groups of two branches of Cg
 * channels; a plane (H·W) and a batch (C·H·W) are indexed with int in places (2^29, 2^31). */
static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_W] == ATTN_UNSET) v[AX_W] = v[AX_H];
    if (v[AX_C] % (2 * v[AX_G])) {
        snprintf(err, n, "C=%lld is not divisible by 2·G=%lld", (long long)v[AX_C],
                 (long long)(2 * v[AX_G]));
        return -1;
    }
    if (v[AX_H] * v[AX_W] > (1 << 29) || v[AX_C] * v[AX_H] * v[AX_W] > INT32_MAX) {
        snprintf(err, n, "C=%lld, H=%lld, W=%lld: a plane (H·W) must stay below 2^29 and an "
                 "image (C·H·W) below 2^31 elements", (long long)v[AX_C], (long long)v[AX_H],
                 (long long)v[AX_W]);
        return -1;
    }
    return 0;
}

enum { IN_X, IN_CW, IN_CB, IN_SW, IN_SB, IN_GAMMA, IN_BETA, NIN };

static shuffle_shape_t shape_of(const int64_t *v)
{
    return (shuffle_shape_t){v[AX_B], v[AX_C], v[AX_H], v[AX_W], v[AX_G]};
}

static shuffle_inputs_t inputs_of(const void *const *in)
{
    return (shuffle_inputs_t){in[IN_X], in[IN_CW], in[IN_CB], in[IN_SW],
                              in[IN_SB], in[IN_GAMMA], in[IN_BETA]};
}

/* Output rows: one per output channel plane (b, o), H·W contiguous elements. */
static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], C = v[AX_C], H = v[AX_H], W = v[AX_W];
    const int64_t Cg = C / (2 * v[AX_G]);
    *L = (attn_layout_t){
        .nin = NIN,
        .in = {[IN_X] = {"x", ATTN_T_FLOAT, 4, {B, C, H, W}, "bcyx"},
               [IN_CW] = {"cw", ATTN_T_FLOAT, 1, {Cg}, "c"},
               [IN_CB] = {"cb", ATTN_T_FLOAT, 1, {Cg}, "c"},
               [IN_SW] = {"sw", ATTN_T_FLOAT, 1, {Cg}, "c"},
               [IN_SB] = {"sb", ATTN_T_FLOAT, 1, {Cg}, "c"},
               [IN_GAMMA] = {"gamma", ATTN_T_FLOAT, 1, {Cg}, "c"},
               [IN_BETA] = {"beta", ATTN_T_FLOAT, 1, {Cg}, "c"}},
        .out = {"out", ATTN_T_FLOAT, 4, {B, C, H, W}, "bcyx"},
        .out_rows = B * C,
    };
}

/* Fill x[0..n) with N(0, 1) plus a per-plane offset μ ~ N(0, ½²): real activations have channel
 * means, and without them the channel branch's mean_HW(x) ≈ ±1/√HW would leave its gate at
 * σ(cb) whatever the mean, and a wrong plane's mean would go unnoticed. */
static void fill_x(float *x, int64_t planes, int64_t HW, uint64_t seed)
{
    attn_fill_normal(x, (size_t)(planes * HW), 1.0, seed, 1);
    attn_rng_t r;
    attn_rng_seed(&r, seed, 2);
    for (int64_t p = 0; p < planes; p++) {
        const float mu = (float)(0.5 * attn_rng_normal(&r));
        for (int64_t q = 0; q < HW; q++) x[p * HW + q] += mu;
    }
}

/* The parameters, random instead of SA-Net's init (cw = sw = 0, cb = sb = 1, γ = 1, β = 0, under
 * which both gates are the constant σ(1) and nothing but the shuffle would be tested):
 * cw, sw ~ N(0, 1); cb, sb ~ 1 + N(0, ½²); γ ~ 1 + N(0, ½²); β ~ N(0, ½²). None is zero (a
 * normal draw is 0 with probability 0). */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t Cg = v[AX_C] / (2 * v[AX_G]);
    fill_x(in[IN_X], v[AX_B] * v[AX_C], v[AX_H] * v[AX_W], seed);
    attn_fill_normal(in[IN_CW], (size_t)Cg, 1.0, seed, 3);
    attn_fill_normal(in[IN_SW], (size_t)Cg, 1.0, seed, 4);
    attn_fill_normal(in[IN_CB], (size_t)Cg, 0.5, seed, 5);
    attn_fill_normal(in[IN_SB], (size_t)Cg, 0.5, seed, 6);
    attn_fill_normal(in[IN_GAMMA], (size_t)Cg, 0.5, seed, 7);
    attn_fill_normal(in[IN_BETA], (size_t)Cg, 0.5, seed, 8);
    float *cb = in[IN_CB], *sb = in[IN_SB], *ga = in[IN_GAMMA];
    for (int64_t c = 0; c < Cg; c++) cb[c] += 1.f, sb[c] += 1.f, ga[c] += 1.f;
}

/* reference() and run_cpu_f32 (the cpu-f32 row) over shuffle_ref and shuffle_cpu_f32. */
ATTN_CPU_ADAPTERS(shuffle)

/* FLOPs (docs/suites.md): ≈ 15 per element (mean and variance sums, normalise, affine, gate affine,
 * sigmoid, product). */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    return 15.0 * (double)v[AX_B] * (double)v[AX_C] * (double)v[AX_H] * (double)v[AX_W];
}

/* Minimum bytes (docs/suites.md): x read once and out written once; the 6·Cg parameters are
 * negligible and not counted. */
static double bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    return 2.0 * s * (double)v[AX_B] * (double)v[AX_C] * (double)v[AX_H] * (double)v[AX_W];
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees the same inputs, so only the variant's arithmetic counts. out = x·σ(z) with
 * σ' ≤ ¼, so an absolute error δz in the gate's argument moves out by ≤ |x|·δz/4, and the
 * product and σ itself (expf, the division) add a few ulps of |out|.
 *  channel branch: z = cw·μ + cb; μ is an HW-term sum, whose rounding error in float grows like
 *  √HW·u·rms(partial sums) ≈ √HW·u·(|μ| + 1) for these inputs: δz ≈ |cw|·u·√HW·(|μ| + 1).
 *  spatial branch: z = sw·(γ·(x − μ)/σ + β) + sb; μ and σ² are HW-term sums (σ² from exact
 *  deviations, two-pass), so (x − μ)/σ carries a relative error ≈ u·(√HW + 4) on values up to
 *  ≈ 4 (the largest of ~3000 normal deviates): δz ≈ |sw·γ|·4·u·(√HW + 4).
 * With |cw|, |sw·γ| up to ≈ 3 (Cg ≤ 128 draws) and max|x| ≈ max|out|·(1/σ(z) ≈ 1–2), the error
 * relative to max|out| is ≈ 3·u·(√HW + 4)·(1–2). We accept 16·u·(√HW + 8): 6.1e-5 at HW = 56²,
 * 1.4e-5 at 7². cpu-f32 and the GPU variants under emulation measure a few % of it
 * (tests/test_shuffle.c logs the ratios); every planted bug there exceeds it > 100×. */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_F64) return 64.0 * u;
    return 16.0 * u * (sqrt((double)(v[AX_H] * v[AX_W])) + 8.0);
}

#ifdef ATTN_HAVE_CUDA
static shuffle_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                    const void *const *in)
{
    return (shuffle_problem_t){(int)v[AX_B], (int)v[AX_C], (int)v[AX_H], (int)v[AX_W],
                               (int)v[AX_G]};
}

static shuffle_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                    const void *const *in, void *out)
{
    return (shuffle_tensors_t){in[IN_X], in[IN_CW], in[IN_CB], in[IN_SW],
                               in[IN_SB], in[IN_GAMMA], in[IN_BETA], out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T shuffle_problem_t
#define ATTN_TENSORS_T shuffle_tensors_t
#endif
#include "gpu_adapters.h"

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/shuffle/shuffle_ref.c",
     "CPU reference in double (the check's ground truth), timed", .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/shuffle/shuffle_ref.c",
     "CPU float32: two passes per plane (statistics, gated shuffled store)", .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/shuffle/naive.cu",
     "stats kernel (thread per plane, serial loops) + elementwise gate/shuffle kernel; no cuBLAS",
     GPU(shuffle_naive_launch, shuffle_naive_workspace, NULL)},
    {"fused", ATTN_GPU, ATTN_F32, 0, "kernels/shuffle/fused.cu",
     "one warp per channel plane in registers, read once (float4), shuffle in the store index",
     GPU(shuffle_fused_launch, NULL, NULL)},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,C=32,G=4,H=7",          /* HW = 49: scalar loads */
    "B=1,C=64,G=8,H=56",         /* HW = 3136: float4, all 25 register slots */
    "B=1,C=8,G=1,H=4,W=6",       /* HW = 24: float4, G = 1 */
    "B=1,C=16,G=2,H=60,W=61",    /* HW = 3660 > 3200: the two-pass path */
    "B=3,C=6,G=3,H=1,W=1",       /* Cg = 1, one pixel: σ² = 0 */
    NULL,
};

/* Speed floors (bench/floors.h), judged by `attnbench floors` on the rows of GPU runs. */
static const attn_floor_t floors[] = {
    {.name = "shuffle-fused/bw",
     ATTN_FLOOR_PCT_BW("fused", "f32"),
     .where = "",
     .min = 75.0,
     .why = "memory-bound: each channel plane read once and written once, shuffled in the "
            "store index"},
};

const attn_suite_t shuffle_suite = {
    .name = "shuffle",
    .title = "Shuffle Attention (SA-Net): channel and spatial gates, channel shuffle",
    ATTN_SUITE_FIELDS,
    ATTN_SUITE_FLOORS,
    /* x = map size (bytes per plane: the fused kernel's unit of work); one panel per (C, G).
     * B is not a panel: each B gets its own set of pictures (docs/plots.md). */
    .plot_axis = "H",
    .plot_panels = "C,G",
};
