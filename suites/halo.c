/* halo — HaloNet blocked local self-attention with a halo and 2-D relative positions, end to end
 * (docs/suites.md "halo"): projections, windowed attention, output projection.
 *
 * Axes: B, C, H, W (= H unless given), block, halo, heads, d (Di = heads·d).
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive and tiled (f32),
 * tensor-core and fused (bf16), and the cuBLAS unfused baseline in f32 and bf16.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "halo_ref.h"
#include "floors.h"
#include "cpu_adapters.h"
#include "suite_fields.h"
#include "registry.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "halo_kernels.h"
#endif

enum { AX_B, AX_C, AX_H, AX_W, AX_BLOCK, AX_HALO, AX_HEADS, AX_D, NAXES };

/* GPU grid: docs/suites.md's (216 cases once in_sweep keeps the three (block, halo) pairs).
 * CPU grid (no device): 36 cases of at most 0.44 GFLOP, so `--sweep` (reference and cpu-f32,
 * default timing: 10 samples, 2 s cap) takes about a minute (57–65 s measured on a 2-core Xeon);
 * it keeps B = 2 (batch indexing), a single-block image (H = 8 with block 8) beside multi-block
 * ones with interior blocks (H = 32), all three (block, halo) pairs, two values of heads and of d. */
static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch", 1, 1, 1 << 16, 3, {1, 8, 32}, 1, {2}},
    [AX_C] = {"C", "channels of x and y", 64, 1, 1 << 16, 2, {256, 512}, 1, {64}},
    [AX_H] = {"H", "image height (a multiple of block)", 32, 1, 1 << 14,
              3, {16, 32, 64}, 3, {8, 16, 32}},
    [AX_W] = {"W", "image width (a multiple of block; default H)", ATTN_UNSET, 1, 1 << 14},
    [AX_BLOCK] = {"block", "block size b (query tile b×b)", 8, 1, 256, 2, {8, 4}, 2, {8, 4}},
    [AX_HALO] = {"halo", "halo h, 0 <= h <= block (window Wn = b + 2h)", 3, 0, 256,
                 3, {3, 4, 2}, 3, {3, 4, 2}},
    [AX_HEADS] = {"heads", "heads Nh", 8, 1, 1024, 2, {4, 8}, 2, {2, 4}},
    [AX_D] = {"d", "head dim (Di = heads·d)", 16, 1, 1024, 2, {16, 64}, 2, {16, 32}},
};

/* W = H when unset. Errors name the values:
 *  - H and W must be multiples of block (every block is whole, as in HaloNet);
 *  - halo <= block: the window then reaches at most into the 8 neighbouring blocks, which is
 *    what HaloNet uses (h ≤ b/2 in the paper) and what a kernel staging the window of a block in
 *    shared memory is written for; larger halos make every window mostly padding at the border
 *    and the relative tables grow past any configuration anyone trains;
 *  - the per-image sizes the launchers index with int (kernels/halo/common.cu):
 *    H·W·2·Di, C·H·W, 2·Di·C and Wn²·d below 2^31. */
static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_W] == ATTN_UNSET) v[AX_W] = v[AX_H];
    const int64_t b = v[AX_BLOCK];
    if (v[AX_H] % b) {
        snprintf(err, n, "H=%lld is not divisible by block=%lld", (long long)v[AX_H], (long long)b);
        return -1;
    }
    if (v[AX_W] % b) {
        snprintf(err, n, "W=%lld is not divisible by block=%lld", (long long)v[AX_W], (long long)b);
        return -1;
    }
    if (v[AX_HALO] > b) {
        snprintf(err, n, "halo=%lld is larger than block=%lld (the window would reach past the "
                 "neighbouring blocks)", (long long)v[AX_HALO], (long long)b);
        return -1;
    }
    const int64_t HW = v[AX_H] * v[AX_W], Di2 = 2 * v[AX_HEADS] * v[AX_D];
    const int64_t Wn = b + 2 * v[AX_HALO];
    if (HW * Di2 > INT32_MAX || v[AX_C] * HW > INT32_MAX || Di2 * v[AX_C] > INT32_MAX ||
        Wn * Wn * v[AX_D] > INT32_MAX) {
        snprintf(err, n, "C=%lld, H=%lld, W=%lld, heads=%lld, d=%lld: a per-image tensor would "
                 "have 2^31 or more elements (H·W·2·heads·d, C·H·W, 2·heads·d·C, Wn²·d)",
                 (long long)v[AX_C], (long long)v[AX_H], (long long)v[AX_W],
                 (long long)v[AX_HEADS], (long long)v[AX_D]);
        return -1;
    }
    return 0;
}

/* The sweep crosses block ∈ {8, 4} with halo ∈ {3, 4, 2}; docs/suites.md's pairs are (8, 3), (8, 4)
 * and (4, 2). Only the other crossings of those grid values are left out, so `--axis` values
 * outside them (e.g. --axis halo=1) still run. */
static int in_sweep(const attn_suite_t *suite, const int64_t *v)
{
    const int64_t b = v[AX_BLOCK], h = v[AX_HALO];
    if ((b != 8 && b != 4) || h < 2 || h > 4) return 1;
    return b == 8 ? h != 2 : h == 2;
}

static halo_shape_t shape_of(const int64_t *v)
{
    return (halo_shape_t){v[AX_B], v[AX_C], v[AX_H], v[AX_W],
                          v[AX_BLOCK], v[AX_HALO], v[AX_HEADS], v[AX_D]};
}

enum { IN_X, IN_WQ, IN_WKV, IN_WO, IN_BO, IN_REL_W, IN_REL_H, NIN };

static halo_inputs_t inputs_of(const void *const *in)
{
    return (halo_inputs_t){in[IN_X], in[IN_WQ], in[IN_WKV], in[IN_WO],
                           in[IN_BO], in[IN_REL_W], in[IN_REL_H]};
}

static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], C = v[AX_C], H = v[AX_H], W = v[AX_W];
    const int64_t Di = v[AX_HEADS] * v[AX_D], R = 2 * (v[AX_BLOCK] + 2 * v[AX_HALO]) - 1;
    *L = (attn_layout_t){
        .nin = NIN,
        .in = {[IN_X] = {"x", ATTN_T_FLOAT, 4, {B, C, H, W}, "bcyx"},
               [IN_WQ] = {"wq", ATTN_T_FLOAT, 2, {Di, C}, "ic"},
               [IN_WKV] = {"wkv", ATTN_T_FLOAT, 2, {2 * Di, C}, "ic"},
               [IN_WO] = {"wo", ATTN_T_FLOAT, 2, {C, Di}, "ci"},
               [IN_BO] = {"bo", ATTN_T_FLOAT, 1, {C}, "c"},
               [IN_REL_W] = {"rel_w", ATTN_T_FLOAT, 2, {R, v[AX_D]}, "rc"},
               [IN_REL_H] = {"rel_h", ATTN_T_FLOAT, 2, {R, v[AX_D]}, "rc"}},
        .out = {"y", ATTN_T_FLOAT, 4, {B, C, H, W}, "bcyx"},
        .out_rows = B * H * W,
    };
}

/* Row of element e of y (B, C, H, W): its pixel (b, py, px), i.e. b·H·W + (py·W + px). */
static int64_t row_of(const attn_suite_t *suite, const int64_t *v, int64_t e)
{
    const int64_t HW = v[AX_H] * v[AX_W];
    return e / (v[AX_C] * HW) * HW + e % HW;
}

/* x ~ N(0, 1); Wq, Wkv ~ N(0, 1/C) and Wo ~ N(0, 1/Di) (fan-in scaling: q, k, v are ~N(0, 1) per
 * channel and the logits q·k = d^-½·Σ q_c k_c are ~N(0, 1)); rel_w, rel_h ~ N(0, 1/d), the seed's
 * own initialisation; bo ~ N(0, 1/Di), the size of nn.Linear's default bias, which keeps the bias
 * comparable to the attention output (~0.1) instead of dwarfing it: the check's scale max|y| is
 * then set by the attention, so an error in the attention is not diluted by the bias. */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t C = v[AX_C], d = v[AX_D], Di = v[AX_HEADS] * d;
    const int64_t R = 2 * (v[AX_BLOCK] + 2 * v[AX_HALO]) - 1;
    attn_fill_normal(in[IN_X], (size_t)(v[AX_B] * C * v[AX_H] * v[AX_W]), 1.0, seed, 1);
    attn_fill_normal(in[IN_WQ], (size_t)(Di * C), 1.0 / sqrt((double)C), seed, 2);
    attn_fill_normal(in[IN_WKV], (size_t)(2 * Di * C), 1.0 / sqrt((double)C), seed, 3);
    attn_fill_normal(in[IN_WO], (size_t)(C * Di), 1.0 / sqrt((double)Di), seed, 4);
    attn_fill_normal(in[IN_BO], (size_t)C, 1.0 / sqrt((double)Di), seed, 5);
    attn_fill_normal(in[IN_REL_W], (size_t)(R * d), 1.0 / sqrt((double)d), seed, 6);
    attn_fill_normal(in[IN_REL_H], (size_t)(R * d), 1.0 / sqrt((double)d), seed, 7);
}

/* reference() and run_cpu_f32 (the cpu-f32 row) over halo_ref and halo_cpu_f32. */
ATTN_CPU_ADAPTERS(halo)

/* FLOPs (docs/suites.md): per pixel 2·C·Di (q) + 4·C·Di (k, v once) + 4·Wn²·Di (q·k, a·v)
 * + 4·(2Wn − 1)·Di (relative terms) + 2·Di·C (output projection). */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    const double C = (double)v[AX_C], Di = (double)(v[AX_HEADS] * v[AX_D]);
    const double Wn = (double)(v[AX_BLOCK] + 2 * v[AX_HALO]);
    const double pix = (double)v[AX_B] * (double)v[AX_H] * (double)v[AX_W];
    return pix * (2 * C * Di + 4 * C * Di + 4 * Wn * Wn * Di + 4 * (2 * Wn - 1) * Di + 2 * Di * C);
}

/* Minimum bytes (docs/suites.md): x and y, the four projection matrices (Di·C each, Wkv counting
 * twice), bo, and the two relative tables, once. */
static double bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    const double C = (double)v[AX_C], Di = (double)(v[AX_HEADS] * v[AX_D]);
    const double Wn = (double)(v[AX_BLOCK] + 2 * v[AX_HALO]);
    const double x = (double)v[AX_B] * C * (double)v[AX_H] * (double)v[AX_W];
    return (double)s * (2 * x + 4 * C * Di + C + 2 * (2 * Wn - 1) * (double)v[AX_D]);
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees exactly the (rounded) inputs the variant saw, so input rounding does not
 * count; what remains is the variant's own arithmetic along the chain x → q, k, v (C-term sums)
 * → logits (d-term sums; they are O(1), so an absolute logit error is a relative error of its
 * weight) → softmax and a·v (Wn²-term sums) → y = Wo·o + bo (Di-term sums).
 *  f32: rounding errors of an n-term sum grow like √n·u (a random walk, not the n·u worst case),
 *  so the error relative to max|y| is about u·(√C + √d + Wn + √Di); expf and the division add a
 *  few ulps. We accept 16·u·(√C + √d + Wn + √Di + 8), mhsa's 16× margin: 4.7e-5 at the default
 *  case, 7.4e-5 at the contract's largest. cpu-f32 measures 1–2% of it, and each planted bug in
 *  tests/test_halo.c (the seed's inverted mask, no mask, kx − qx swapped, rel_w/rel_h swapped, a
 *  missing head, no d^-½, a wrong head merge or batch, no halo shift) exceeds it > 5000×.
 *  bf16: the bf16 GPU variants round Q, K, V after the projections, P before P·V, O before Wo,
 *  and y once after the bias (fp32 accumulation everywhere, negligible beside these), each a
 *  relative error ≤ u = 2^-8. y's own rounding is ≤ u·max|y|; each earlier one reaches y through
 *  sums of d, Wn² or Di terms of random sign, which keep it near u·|o| per stage rather than
 *  growing with the length. An emulation of exactly these roundings (tests/test_halo.c) measures
 *  1.0–2.2·u relative to max|y| over ten shapes (2.5·u if the logits were stored in bf16 too).
 *  We accept 8·u = 2^-5 ≈ 3.1%, 3× the worst measured. The planted bugs move y by 7–90× that:
 *  they fail, but by one order of magnitude, not several — a bound that must admit the rounding
 *  of y itself (0.4% of max|y|) cannot separate them further. */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    const double Wn = (double)(v[AX_BLOCK] + 2 * v[AX_HALO]);
    if (t == ATTN_BF16) return 8.0 * u;
    if (t == ATTN_F64) return 64.0 * u;
    return 16.0 * u * (sqrt((double)v[AX_C]) + sqrt((double)v[AX_D]) + Wn +
                       sqrt((double)(v[AX_HEADS] * v[AX_D])) + 8.0);
}

#ifdef ATTN_HAVE_CUDA
static halo_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                 const void *const *in)
{
    return (halo_problem_t){(int)v[AX_B], (int)v[AX_C], (int)v[AX_H], (int)v[AX_W],
                            (int)v[AX_BLOCK], (int)v[AX_HALO], (int)v[AX_HEADS], (int)v[AX_D]};
}

static halo_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                 const void *const *in, void *out)
{
    return (halo_tensors_t){in[IN_X], in[IN_WQ], in[IN_WKV], in[IN_WO], in[IN_BO],
                            in[IN_REL_W], in[IN_REL_H], out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T halo_problem_t
#define ATTN_TENSORS_T halo_tensors_t
#endif
#include "gpu_adapters.h"

/* The baseline's element-wise kernels, per element written (issue 16: no per-element division,
 * <= ~20 SASS instructions; the 16-byte paths well under, the scalar fallbacks, for rows that
 * are not whole 16-byte vectors, 24 and 31, the softmax 24-26 with its exp and (ky, kx) walk).
 * T: the instantiation's type, E: its bytes. */
#define HALO_CUBLAS_BUDGET(T, E)                                                                \
    "halo_cublas_.*<" T "|halo_bias_kernel<" T ": elem_bytes=" E " spills=0; "                  \
    "gather_kernel<" T ", false>: instr/elem<=24; scatter_kernel<" T ", false>: instr/elem<=31; " \
    "bias_kernel<" T ", false>: instr/elem<=1.5; "

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/halo/halo_ref.c",
     "CPU reference in double (the check's ground truth), timed; K/V once per pixel",
     .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/halo/halo_ref.c",
     "CPU float32: Q/K/V once per pixel, two-pass softmax per window", .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/halo/naive.cu",
     "projections: cuBLAS GEMMs; attention: one thread per (pixel, head), K/V from global",
     GPU(halo_naive_launch, halo_naive_workspace, NULL)},
    {"tiled", ATTN_GPU, ATTN_F32, 0, "kernels/halo/tiled.cu",
     "projections: cuBLAS GEMMs; attention: one CTA per (block, head group), window in smem",
     GPU(halo_tiled_launch, halo_tiled_workspace, halo_tiled_supports)},
    {"tensor-core", ATTN_GPU, ATTN_BF16, 1, "kernels/halo/tensor_core.cu",
     "projections: cuBLAS GEMMs; attention: wmma logits, softmax, wmma PV (three kernels)",
     GPU(halo_tensor_core_launch, halo_tensor_core_workspace,
         halo_tensor_core_supports)},
    {"fused", ATTN_GPU, ATTN_BF16, 1, "kernels/halo/fused.cu",
     "projections: cuBLAS GEMMs; attention: one mma.sync kernel per block, online softmax",
     GPU(halo_fused_launch, halo_fused_workspace, halo_fused_supports),
     /* the floors: steady loop instr/mma <= 20 at d = 16 and <= 10 at d = 64 (15.8 and 6.0 at
      * block 8, 18.2 and 8.2 at block 4), no spills at any d */
     .sass_budget = "halo_fused_kernel<16, 8>: threads=128 dsmem=24576 spills=0 instr/mma<=20; "
                    "halo_fused_kernel<16, 4>: spills=0 instr/mma<=20; "
                    "halo_fused_kernel<64, 8>: threads=128 dsmem=55296 spills=0 instr/mma<=10; "
                    "halo_fused_kernel<64, 4>: spills=0 instr/mma<=10; "
                    "halo_fused_kernel<(32|128), [48]>: spills=0"},
    {"cublas-f32", ATTN_GPU, ATTN_F32, -1, "kernels/halo/cublas.cu",
     "unfused baseline: cuBLAS fp32 projections, window gather, batched GEMMs, softmax kernel",
     GPU(halo_cublas_f32_launch, halo_cublas_f32_workspace, NULL),
     .sass_budget = HALO_CUBLAS_BUDGET("float", "4") "gather_kernel<float, true>: instr/elem<=7; "
                    "scatter_kernel<float, true>: instr/elem<=8; "
                    "softmax_kernel<float>: instr/elem<=24; bias_kernel<float, true>: "
                    "instr/elem<=0.5"},
    {"cublas-bf16", ATTN_GPU, ATTN_BF16, -1, "kernels/halo/cublas.cu",
     "unfused baseline: cuBLAS bf16 projections, window gather, batched GEMMs, softmax kernel",
     GPU(halo_cublas_bf16_launch, halo_cublas_bf16_workspace, NULL),
     .sass_budget = HALO_CUBLAS_BUDGET("__nv_bfloat16", "2")
                    "gather_kernel<__nv_bfloat16, true>: instr/elem<=3.5; "
                    "scatter_kernel<__nv_bfloat16, true>: instr/elem<=4; "
                    "softmax_kernel<__nv_bfloat16>: instr/elem<=26; "
                    "bias_kernel<__nv_bfloat16, true>: instr/elem<=0.25"},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,C=32,H=16,block=8,halo=3,heads=2,d=16",        /* several blocks, the usual halo */
    "B=1,C=32,H=8,W=16,block=4,halo=2,heads=4,d=16",    /* H != W */
    "B=1,C=32,H=16,block=8,halo=4,heads=2,d=64",        /* d = 64 */
    "B=1,C=16,H=12,W=8,block=4,halo=0,heads=2,d=32",    /* no halo */
    /* d = 20 and HW = 150: cublas's scalar (not 16-byte) paths, Wn = 9 walks with carries */
    "B=2,C=8,H=10,W=15,block=5,halo=2,heads=3,d=20",
    NULL,
};

/* Speed floors (bench/floors.h), judged by `attnbench floors` on the rows of GPU runs. */
/* HaloNet's large setting: block 8, halo 3, 8 heads of 64 on a 64×64 map of 512 channels. */
#define HALO_BIG "B=8 C=512 H=64 W=64 block=8 halo=3 heads=8 d=64"
static const attn_floor_t floors[] = {
    {.name = "halo-fused/cublas",
     .num = ATTN_FLOOR_OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_OURS("cublas-bf16", "bf16"),
     .where = HALO_BIG,
     .min = 5.0,
     .why = "the headline: one kernel per block against window gather + batched GEMMs + "
            "softmax through global memory"},
    {.name = "halo-fused/torch",
     .num = ATTN_FLOOR_OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("torch-halo"),
     .where = HALO_BIG,
     .min = 10.0,
     .why = "the headline against PyTorch's unfold-based HaloNet block, which materialises "
            "every window"},
};

const attn_suite_t halo_suite = {
    .name = "halo",
    .title = "HaloNet blocked local self-attention with halo and relative positions",
    ATTN_SUITE_FIELDS,
    ATTN_SUITE_FLOORS,
    .row_of = row_of,
    .in_sweep = in_sweep,
    /* x = image size; one panel per window shape (block, halo) and head dim d: the axes that
     * change the attention's shape (Wn², the MMA tile in d). B, C and heads are not panels (the
     * GPU grid would need 72): each combination of theirs gets its own set of pictures
     * (docs/plots.md). */
    .plot_axis = "H",
    .plot_panels = "block,halo,d",
};
