/* sge — Spatial Group-wise Enhance (docs/suites.md "sge"): per (b, g) slab of Cg = C/G channels, a
 * spatial gate from the standardised similarity of every pixel's features to the slab's mean
 * feature. Memory-bound: a few FLOPs per element against 2·s bytes.
 *
 * Axes: B, C, G, H, W (= H unless given).
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive (four kernels, one
 * thread per value of each stage) and fused (one CTA per slab, slab read once into shared
 * memory), f32.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "floors.h"
#include "cpu_adapters.h"
#include "suite_fields.h"
#include "registry.h"
#include "sge_ref.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "sge_kernels.h"
#endif

enum { AX_B, AX_C, AX_G, AX_H, AX_W, NAXES };

/* GPU grid: docs/suites.md's C ∈ {256 … 2048} as 256, 512, 1024, 2048 (Cg = 4 … 32), G = 64 (SGE's
 * default), H = W ∈ {7, 14, 28, 56} (the ResNet stage maps), B ∈ {1, 8, 64}: the latency end, a
 * middle point and the bandwidth end. 48 cases. The slab (Cg·HW floats) ranges 0.8 KiB – 392 KiB,
 * so both fused paths run: in shared memory up to the opt-in limit (227 KiB on H100), three
 * global reads beyond (Cg = 32 at 56², Cg = 16 at 56² only on GPUs with less than 209 KiB).
 * CPU grid (no device): B ∈ {1, 8}, C ∈ {64, 256}, G ∈ {4, 16}, H ∈ {7, 14, 28, 56}: 32 cases
 * of at most 6.4 M elements; the reference and cpu-f32 sweep takes about a minute at default
 * timing (59 s measured on the 2-core build machine). */
static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch", 1, 1, 1 << 16, 3, {1, 8, 64}, 2, {1, 8}},
    [AX_C] = {"C", "channels (divisible by G)", 256, 1, 1 << 16, 4, {256, 512, 1024, 2048},
              2, {64, 256}},
    [AX_G] = {"G", "groups (Cg = C/G channels per slab)", 64, 1, 1 << 16, 1, {64}, 2, {4, 16}},
    [AX_H] = {"H", "map height", 14, 1, 1 << 14, 4, {7, 14, 28, 56}, 4, {7, 14, 28, 56}},
    [AX_W] = {"W", "map width (default H)", ATTN_UNSET, 1, 1 << 14},
};

/* W = H when unset. Errors name the values: G must divide C; a slab (Cg·H·W) is indexed with
 * int (below 2^29 elements), and the fused kernel keeps H·W floats of t in shared memory
 * (H·W ≤ 2^14 is far below any GPU's limit). */
static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_W] == ATTN_UNSET) v[AX_W] = v[AX_H];
    if (v[AX_C] % v[AX_G]) {
        snprintf(err, n, "C=%lld is not divisible by G=%lld", (long long)v[AX_C],
                 (long long)v[AX_G]);
        return -1;
    }
    const int64_t HW = v[AX_H] * v[AX_W];
    if (HW > (1 << 14) || v[AX_C] / v[AX_G] * HW > (1 << 29)) {
        snprintf(err, n, "C=%lld, G=%lld, H=%lld, W=%lld: H·W must be at most 2^14 and a slab "
                 "(C/G·H·W) at most 2^29 elements", (long long)v[AX_C], (long long)v[AX_G],
                 (long long)v[AX_H], (long long)v[AX_W]);
        return -1;
    }
    return 0;
}

enum { IN_X, IN_W, IN_B, NIN };

static sge_shape_t shape_of(const int64_t *v)
{
    return (sge_shape_t){v[AX_B], v[AX_C], v[AX_H], v[AX_W], v[AX_G]};
}

static sge_inputs_t inputs_of(const void *const *in)
{
    return (sge_inputs_t){in[IN_X], in[IN_W], in[IN_B]};
}

/* Output rows: one per (b, g) slab, Cg·H·W contiguous elements. */
static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], C = v[AX_C], H = v[AX_H], W = v[AX_W], G = v[AX_G];
    *L = (attn_layout_t){
        .nin = NIN,
        .in = {[IN_X] = {"x", ATTN_T_FLOAT, 4, {B, C, H, W}, "bcyx"},
               [IN_W] = {"w", ATTN_T_FLOAT, 1, {G}, "g"},
               [IN_B] = {"b", ATTN_T_FLOAT, 1, {G}, "g"}},
        .out = {"out", ATTN_T_FLOAT, 4, {B, C, H, W}, "bcyx"},
        .out_rows = B * G,
    };
}

/* x ~ N(0, 1) plus a per-plane offset μ ~ N(0, ½²) (channel means, as real activations have;
 * p_c would otherwise be ≈ ±1/√HW noise). w ~ N(0, 1), b ~ 1 + N(0, ½²) instead of SGE's init
 * (w = 0, b = 1, under which the gate is the constant σ(1)); none is zero. */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t planes = v[AX_B] * v[AX_C], HW = v[AX_H] * v[AX_W], G = v[AX_G];
    float *x = in[IN_X], *b = in[IN_B];
    attn_fill_normal(x, (size_t)(planes * HW), 1.0, seed, 1);
    attn_rng_t r;
    attn_rng_seed(&r, seed, 2);
    for (int64_t p = 0; p < planes; p++) {
        const float mu = (float)(0.5 * attn_rng_normal(&r));
        for (int64_t q = 0; q < HW; q++) x[p * HW + q] += mu;
    }
    attn_fill_normal(in[IN_W], (size_t)G, 1.0, seed, 3);
    attn_fill_normal(b, (size_t)G, 0.5, seed, 4);
    for (int64_t g = 0; g < G; g++) b[g] += 1.f;
}

/* reference() and run_cpu_f32 (the cpu-f32 row) over sge_ref and sge_cpu_f32. */
ATTN_CPU_ADAPTERS(sge)

/* FLOPs of the formula: per element 1 (mean sum) + 2 (t's multiply-add) + 1 (x·gate) = 4; per
 * pixel of a slab 1 (mean of t) + 3 (deviation squared, summed) + 2 (subtract, divide)
 * + 2 (w·t̂ + b) + 4 (sigmoid: negate, exp, add, divide) = 12. */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    const double HW = (double)v[AX_H] * (double)v[AX_W], B = (double)v[AX_B];
    return 4.0 * B * (double)v[AX_C] * HW + 12.0 * B * (double)v[AX_G] * HW;
}

/* Minimum bytes (docs/suites.md): x read once, out written once (w, b: 2·G floats, not counted). */
static double bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    return 2.0 * s * (double)v[AX_B] * (double)v[AX_C] * (double)v[AX_H] * (double)v[AX_W];
}

/* Accepted max|out − ref| / max|ref|.
 * out = x·σ(z), z = w·(t − m)/(sd + eps) + b; σ' ≤ ¼, so δz moves out by ≤ |x|·δz/4.
 * t = Σ_c x_c·p_c: p_c is an HW-term sum (error ≈ √HW·u relative to its partial sums, which
 * carry the offsets μ_c), t a Cg-term sum: t has a relative error ≈ u·(√HW + √Cg), and so has
 * t − m; sd the same. t̂ = (t − m)/sd reaches ≈ 4 in magnitude, so δẑ ≈ 4·u·(√HW + √Cg + 4)
 * (the last term: the divisions, the square root), and δz = |w|·δẑ with |w| ≤ ≈ 3 (64 draws).
 * Relative to max|out| (≈ max|x|·σ(z), σ(z) ≳ ½ where |x| is largest, mostly): ≈ 6·u·(√HW +
 * √Cg + 4). We accept 16·u·(√HW + √Cg + 8): 7.0e-5 at HW = 56², Cg = 32; 2.3e-5 at 7², 4.
 * cpu-f32 and the GPU variants under emulation measure a few % of it (tests/test_sge.c logs
 * it); the planted bugs there exceed it > 100×. */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_F64) return 64.0 * u;
    return 16.0 * u * (sqrt((double)(v[AX_H] * v[AX_W])) + sqrt((double)(v[AX_C] / v[AX_G])) +
                       8.0);
}

#ifdef ATTN_HAVE_CUDA
static sge_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                const void *const *in)
{
    return (sge_problem_t){(int)v[AX_B], (int)v[AX_C], (int)v[AX_H], (int)v[AX_W], (int)v[AX_G]};
}

static sge_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                const void *const *in, void *out)
{
    return (sge_tensors_t){in[IN_X], in[IN_W], in[IN_B], out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T sge_problem_t
#define ATTN_TENSORS_T sge_tensors_t
#endif
#include "gpu_adapters.h"

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/sge/sge_ref.c",
     "CPU reference in double (the check's ground truth), timed", .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/sge/sge_ref.c",
     "CPU float32, slab by slab", .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/sge/naive.cu",
     "four kernels (channel means, t per pixel, t statistics, elementwise gate); no cuBLAS",
     GPU(sge_naive_launch, sge_naive_workspace, NULL)},
    {"fused", ATTN_GPU, ATTN_F32, 0, "kernels/sge/fused.cu",
     "one CTA per (b, g) slab, slab read once into shared memory (3 reads when it does not fit)",
     GPU(sge_fused_launch, NULL, NULL)},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,C=16,G=4,H=7",       /* Cg = 4, HW = 49: slab in shared memory, cp.async */
    "B=1,C=12,G=4,H=5",       /* Cg·HW = 75: scalar staging and store */
    "B=2,C=8,G=2,H=1,W=1",    /* one pixel: std defined 0 */
    "B=1,C=32,G=2,H=30",      /* 57.6 KiB slab: shared memory above 48 KiB (opt-in) */
    "B=1,C=64,G=2,H=56",      /* 392 KiB slab: three reads from global memory */
    NULL,
};

/* Speed floors (bench/floors.h), judged by `attnbench floors` on the rows of GPU runs. */
static const attn_floor_t floors[] = {
    {.name = "sge-fused/bw",
     ATTN_FLOOR_PCT_BW("fused", "f32"),
     .where = "",
     .min = 75.0,
     .why = "memory-bound: slab read once (twice above the shared-memory limit), so it must "
            "stream near copy speed"},
};

const attn_suite_t sge_suite = {
    .name = "sge",
    .title = "Spatial Group-wise Enhance",
    ATTN_SUITE_FIELDS,
    ATTN_SUITE_FLOORS,
    /* x = map size; one panel per C (slab size Cg·HW decides the fused path). B is not a panel:
     * each B gets its own set of pictures (docs/plots.md). */
    .plot_axis = "H",
    .plot_panels = "C",
};
