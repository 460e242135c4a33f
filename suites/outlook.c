/* outlook — VOLO outlook attention, end to end (docs/suites.md "outlook"): v projection, attention
 * weights from the pooled input, softmax over k², aggregation, fold (sum), output projection.
 *
 * Axes: B, H, W (= H unless given), C, heads (default C/32), k (odd), stride.
 * v has no bias (VOLO's default qkv_bias = False); the attention-weight and output linears have.
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive, tiled, fused and the
 * cuBLAS unfused baseline, all f32; the three linear layers are cuBLAS GEMMs in every GPU variant.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "outlook_ref.h"
#include "cpu_adapters.h"
#include "suite_fields.h"
#include "registry.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "outlook_kernels.h"
#endif

enum { AX_B, AX_H, AX_W, AX_C, AX_HEADS, AX_K, AX_STRIDE, NAXES };

/* GPU grid: docs/suites.md's — VOLO's outlooker (k = 3, σ = 2) and the k = 5, σ = 1 variant
 * (in_sweep keeps these two pairs), H = W = 28, C ∈ {192, 256} with heads derived as C/32
 * (VOLO-D1's 192/6 and D2's 256/8, the pairs of the contract's Nh ∈ {6, 8}; 256 is not divisible by
 * 6), B ∈ {1, 8, 32, 64}: 16 cases.
 * CPU grid (no device): B ∈ {1, 2}, H = 14, C ∈ {64, 128}, both (k, σ) pairs: 8 cases, so
 * `--sweep` (reference and cpu-f32, default timing) takes about a minute (56 s measured on a
 * 2-core Xeon). */
static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch", 1, 1, 1 << 16, 4, {1, 8, 32, 64}, 2, {1, 2}},
    [AX_H] = {"H", "image height", 28, 1, 1 << 14, 1, {28}, 1, {14}},
    [AX_W] = {"W", "image width (default H)", ATTN_UNSET, 1, 1 << 14},
    [AX_C] = {"C", "channels", 192, 1, 1 << 14, 2, {192, 256}, 2, {64, 128}},
    [AX_HEADS] = {"heads", "heads Nh, dividing C (default C/32 when 32 divides C, else 1)",
                  ATTN_UNSET, 1, 1 << 14},
    [AX_K] = {"k", "kernel k, odd (padding (k-1)/2; k^4·heads attention logits per window)", 3,
              1, 15, 2, {3, 5}, 2, {3, 5}},
    [AX_STRIDE] = {"stride", "stride σ of the window grid and of the average pool", 2, 1, 64,
                   2, {2, 1}, 2, {2, 1}},
};

/* W = H and heads = C/32 (else 1) when unset. Errors name the values: k even (the padding
 * (k−1)/2 would not centre the window), heads not dividing C, sizes the kernels index with int
 * (B·H·W·C and B·h'·w'·k⁴·heads below 2^31). */
static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_W] == ATTN_UNSET) v[AX_W] = v[AX_H];
    if (v[AX_HEADS] == ATTN_UNSET) v[AX_HEADS] = v[AX_C] % 32 == 0 ? v[AX_C] / 32 : 1;
    const int64_t k = v[AX_K], C = v[AX_C], Nh = v[AX_HEADS], st = v[AX_STRIDE];
    if (k != ATTN_UNSET && k % 2 == 0) {
        snprintf(err, n, "k=%lld is even: outlook attention needs an odd kernel (padding "
                 "(k-1)/2 centres the window)", (long long)k);
        return -1;
    }
    if (C % Nh) {
        snprintf(err, n, "C=%lld is not divisible by heads=%lld", (long long)C, (long long)Nh);
        return -1;
    }
    const int64_t hp = (v[AX_H] + st - 1) / st, wp = (v[AX_W] + st - 1) / st;
    const int64_t pix = v[AX_B] * v[AX_H] * v[AX_W];
    if (pix * C > INT32_MAX || v[AX_B] * hp * wp * k * k * k * k * Nh > INT32_MAX) {
        snprintf(err, n, "B=%lld, H=%lld, W=%lld, C=%lld, k=%lld, heads=%lld: a tensor would have "
                 "2^31 or more elements (B·H·W·C, B·h'·w'·k^4·heads)", (long long)v[AX_B],
                 (long long)v[AX_H], (long long)v[AX_W], (long long)C, (long long)k,
                 (long long)Nh);
        return -1;
    }
    return 0;
}

/* the contract pairs (k, σ) = (3, 2) and (5, 1); other crossings of those grid values are left out,
 * values outside them (--axis k=7) still run. */
static int in_sweep(const attn_suite_t *suite, const int64_t *v)
{
    const int64_t k = v[AX_K], st = v[AX_STRIDE];
    if ((k != 3 && k != 5) || (st != 1 && st != 2)) return 1;
    return k == 3 ? st == 2 : st == 1;
}

static outlook_shape_t shape_of(const int64_t *v)
{
    return (outlook_shape_t){v[AX_B], v[AX_H], v[AX_W], v[AX_C], v[AX_HEADS], v[AX_K],
                             v[AX_STRIDE]};
}

enum { IN_X, IN_WV, IN_WA, IN_BA, IN_WP, IN_BP, NIN };

static outlook_inputs_t inputs_of(const void *const *in)
{
    return (outlook_inputs_t){in[IN_X], in[IN_WV], in[IN_WA], in[IN_BA], in[IN_WP], in[IN_BP]};
}

static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], H = v[AX_H], W = v[AX_W], C = v[AX_C], k = v[AX_K];
    const int64_t R = k * k * k * k * v[AX_HEADS];
    *L = (attn_layout_t){
        .nin = NIN,
        .in = {[IN_X] = {"x", ATTN_T_FLOAT, 4, {B, H, W, C}, "byxc"},
               [IN_WV] = {"wv", ATTN_T_FLOAT, 2, {C, C}, "oc"},
               [IN_WA] = {"wa", ATTN_T_FLOAT, 2, {R, C}, "rc"},
               [IN_BA] = {"ba", ATTN_T_FLOAT, 1, {R}, "r"},
               [IN_WP] = {"wp", ATTN_T_FLOAT, 2, {C, C}, "oc"},
               [IN_BP] = {"bp", ATTN_T_FLOAT, 1, {C}, "c"}},
        .out = {"y", ATTN_T_FLOAT, 4, {B, H, W, C}, "byxc"},
        .out_rows = B * H * W, /* a row is one pixel's C outputs, contiguous */
    };
}

/* x ~ N(0, 1); Wv, Wp ~ N(0, 1/C) (fan-in: v and y are O(1)); bp ~ N(0, 1/C) (nn.Linear's bias
 * size). Wa ~ N(0, σ²·d/C) and ba ~ N(0, d/4): the pooled x has variance 1/σ² (a mean of σ²
 * pixels), so the logits d^-½·(Wa·pool + ba) are ~N(0, 1.25) — softmax rows far from uniform,
 * so that an error in the attention weights (a swapped m/m', a wrong head) moves y by O(1)
 * instead of hiding under near-uniform weights. */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t C = v[AX_C], k = v[AX_K], st = v[AX_STRIDE];
    const int64_t R = k * k * k * k * v[AX_HEADS], d = C / v[AX_HEADS];
    attn_fill_normal(in[IN_X], (size_t)(v[AX_B] * v[AX_H] * v[AX_W] * C), 1.0, seed, 1);
    attn_fill_normal(in[IN_WV], (size_t)(C * C), 1.0 / sqrt((double)C), seed, 2);
    attn_fill_normal(in[IN_WA], (size_t)(R * C), (double)st * sqrt((double)d / (double)C), seed,
                     3);
    attn_fill_normal(in[IN_BA], (size_t)R, 0.5 * sqrt((double)d), seed, 4);
    attn_fill_normal(in[IN_WP], (size_t)(C * C), 1.0 / sqrt((double)C), seed, 5);
    attn_fill_normal(in[IN_BP], (size_t)C, 1.0 / sqrt((double)C), seed, 6);
}

/* reference() and run_cpu_f32 (the cpu-f32 row) over outlook_ref and outlook_cpu_f32. */
ATTN_CPU_ADAPTERS(outlook)

/* FLOPs (docs/suites.md): 4·B·H·W·C² (v, proj) + 2·B·h'w'·C·k⁴·Nh (attention weights)
 * + 2·B·h'w'·k⁴·C (a·v) + B·h'w'·k²·C (fold adds). */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    const outlook_shape_t s = shape_of(v);
    const double B = (double)s.B, C = (double)s.C, k2 = (double)(s.k * s.k);
    const double win = (double)(outlook_hp(&s) * outlook_wp(&s));
    return 4 * B * (double)(s.H * s.W) * C * C + 2 * B * win * C * k2 * k2 * (double)s.Nh +
           2 * B * win * k2 * k2 * C + B * win * k2 * C;
}

/* Minimum bytes (docs/suites.md): x and y, Wv, Wa, ba, Wp, bp, once each. */
static double bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    const double C = (double)v[AX_C], k = (double)v[AX_K];
    const double R = k * k * k * k * (double)v[AX_HEADS];
    const double x = (double)v[AX_B] * (double)v[AX_H] * (double)v[AX_W] * C;
    return (double)s * (2 * x + 2 * C * C + R * C + R + C);
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees the inputs the variant saw; what remains is the variant's own f32
 * arithmetic along v = Wv·x (C-term sums), pool (σ² terms) and logits (C-term sums; the logits
 * are O(1), so their absolute error is the relative error of the weights), softmax (k² terms),
 * O = a·v (k² terms), the fold (at most ⌈k/σ⌉² terms) and y = Wp·fold + bp (C-term sums).
 * Rounding errors of an n-term sum grow like √n·u (random signs), so the error relative to
 * max|y| is about u·(3√C + σ + 2k); expf and the divisions add a few ulps. We accept
 * 16·u·(3√C + σ + 2k + 8), mhsa's and halo's 16× margin: 5.3e-5 at the default case
 * (C = 192, k = 3, σ = 2), 6.4e-5 at C = 256, k = 5. cpu-f32 and the emulated GPU variants
 * measure a few % of it; each planted bug in tests/test_outlook.c exceeds it by orders of
 * magnitude. (f64: 64·u. bf16: no variant is bf16; 8·u, halo's bound, if one is added.) */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_BF16) return 8.0 * u;
    if (t == ATTN_F64) return 64.0 * u;
    return 16.0 * u * (3.0 * sqrt((double)v[AX_C]) + (double)v[AX_STRIDE] + 2.0 * (double)v[AX_K] +
                       8.0);
}

#ifdef ATTN_HAVE_CUDA
static outlook_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                    const void *const *in)
{
    return (outlook_problem_t){(int)v[AX_B], (int)v[AX_H], (int)v[AX_W], (int)v[AX_C],
                               (int)v[AX_HEADS], (int)v[AX_K], (int)v[AX_STRIDE]};
}

static outlook_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                    const void *const *in, void *out)
{
    return (outlook_tensors_t){in[IN_X], in[IN_WV], in[IN_WA], in[IN_BA], in[IN_WP], in[IN_BP],
                               out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T outlook_problem_t
#define ATTN_TENSORS_T outlook_tensors_t
#endif
#include "gpu_adapters.h"

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/outlook/outlook_ref.c",
     "CPU reference in double (the check's ground truth), timed; gather fold",
     .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/outlook/outlook_ref.c",
     "CPU float32: v once per pixel, softmax per window row, gather fold", .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/outlook/naive.cu",
     "linears: cuBLAS GEMMs; softmax kernel; one thread per (pixel, channel) gathers the fold, "
     "v from global",
     GPU(outlook_naive_launch, outlook_naive_workspace, NULL)},
    {"tiled", ATTN_GPU, ATTN_F32, 0, "kernels/outlook/tiled.cu",
     "linears: cuBLAS GEMMs; softmax kernel; one CTA per 8×8 pixel tile, v tile + halo in smem, "
     "deterministic gather fold",
     GPU(outlook_tiled_launch, outlook_tiled_workspace, outlook_tiled_supports)},
    {"fused", ATTN_GPU, ATTN_F32, 0, "kernels/outlook/fused.cu",
     "linears: cuBLAS GEMMs; one kernel: softmax over k² (warp shuffles), a·v and fold, one "
     "warp per (pixel, head)",
     GPU(outlook_fused_launch, outlook_fused_workspace, outlook_fused_supports)},
    {"cublas", ATTN_GPU, ATTN_F32, -1, "kernels/outlook/cublas.cu",
     "unfused baseline: cuBLAS linears, softmax kernel, unfold, batched GEMM a·v, fold kernel",
     GPU(outlook_cublas_launch, outlook_cublas_workspace, NULL)},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,H=7,W=9,C=24,heads=3,k=3,stride=2",     /* odd sides, stride 2 */
    "B=1,H=10,C=32,heads=2,k=5,stride=1",        /* stride 1 */
    "B=1,H=9,W=11,C=40,heads=1,k=3,stride=3",    /* stride 3 */
    "B=1,H=6,C=16,heads=2,k=7,stride=2",         /* window larger than the pooled map */
    "B=1,H=5,W=4,C=8,heads=2,k=1,stride=2",      /* k = 1 */
    "B=1,H=4,W=5,C=8,heads=2,k=11,stride=1",     /* window wider than the image */
    NULL,
};

const attn_suite_t outlook_suite = {
    .name = "outlook",
    .title = "VOLO outlook attention",
    ATTN_SUITE_FIELDS,
    .in_sweep = in_sweep,
    /* x = batch; one panel per window shape k (σ paired with it) and width C (heads follow C):
     * four panels of four points on the GPU grid. */
    .plot_axis = "B",
    .plot_panels = "k,C",
};
