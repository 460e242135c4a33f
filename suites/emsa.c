/* emsa — ResT efficient multi-head self-attention with spatial reduction (docs/suites.md "emsa"):
 * depthwise-conv + LayerNorm reduction of the keys/values, per-head logits, the 1×1 head
 * transform, softmax, InstanceNorm of each head's map, P̂·V, output projection; end to end.
 *
 * Axes: B, C, heads (dk = dv = C/heads), r (reduction ratio; 1 = none), H, W (= H unless given),
 * N (tokens per image; must be H·W, derived when not given).
 * Decisions: the LayerNorm after the reduction is affine (γ, β: nn.LayerNorm's default, as in
 * ResT); the optional boolean mask is not part of this suite (no axis, no input: ResT
 * never passes one), so every row attends to all N' keys.
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive, tiled, fused (two-phase
 * attention) and the cuBLAS unfused baseline in f32, and tensor-core (WMMA GEMMs) in bf16.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "emsa_ref.h"
#include "cpu_adapters.h"
#include "suite_fields.h"
#include "registry.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "emsa_kernels.h"
#endif

enum { AX_B, AX_C, AX_HEADS, AX_R, AX_H, AX_W, AX_N, NAXES };

/* GPU grid: docs/suites.md's four ResT stages, (C, heads, r, H) paired by in_sweep, crossed with
 * B ∈ {1, 16, 128}: 1 is single-image inference (latency), 128 the per-GPU batch of ResT's
 * ImageNet training (1024 over 8 GPUs), 16 in between; 12 cases. Every stage has N' = 49 keys.
 * CPU grid (no device): the same four stages at B ∈ {1, 2} (B = 2 exercises batch indexing);
 * reference + cpu-f32 `--sweep` with default timing took 44 s wall (13 s CPU) on a 2-core Xeon
 * under a load average of 28; 8 cases of at most 0.05 GFLOP. */
static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch", 1, 1, 1 << 16, 3, {1, 16, 128}, 2, {1, 2}},
    [AX_C] = {"C", "channels (C = heads·dk)", 64, 1, 1 << 16,
              4, {64, 128, 256, 512}, 4, {64, 128, 256, 512}},
    [AX_HEADS] = {"heads", "heads h (must divide C; dk = dv = C/h; h > 1: head transform + "
                  "InstanceNorm)", 1, 1, 1024, 4, {1, 2, 4, 8}, 4, {1, 2, 4, 8}},
    [AX_R] = {"r", "spatial-reduction ratio (>= 1; 1: no reduction, K/V from x)", 8, -1024, 1024,
              4, {8, 4, 2, 1}, 4, {8, 4, 2, 1}},
    [AX_H] = {"H", "feature-map height", 56, 1, 1 << 14, 4, {56, 28, 14, 7}, 4, {56, 28, 14, 7}},
    [AX_W] = {"W", "feature-map width (default H)", ATTN_UNSET, 1, 1 << 14},
    [AX_N] = {"N", "tokens per image (default H·W; must equal H·W)", ATTN_UNSET, 1, 1 << 28},
};

/* W = H and N = H·W when unset. Errors name the values: heads must divide C; N must be H·W;
 * r >= 1; the reduced map must not be empty (H, W >= r + 1 − 2⌊r/2⌋); the per-image map
 * h·N·N' and the tensors the kernels index with int below 2^31. */
static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_W] == ATTN_UNSET) v[AX_W] = v[AX_H];
    const int64_t C = v[AX_C], h = v[AX_HEADS], r = v[AX_R], H = v[AX_H], W = v[AX_W];
    if (v[AX_N] == ATTN_UNSET) v[AX_N] = H * W;
    if (v[AX_N] != H * W) {
        snprintf(err, n, "N=%lld is not H·W = %lld·%lld = %lld", (long long)v[AX_N],
                 (long long)H, (long long)W, (long long)(H * W));
        return -1;
    }
    if (C % h) {
        snprintf(err, n, "C=%lld is not divisible by heads=%lld (dk = dv = C/heads)",
                 (long long)C, (long long)h);
        return -1;
    }
    if (r < 1) {
        snprintf(err, n, "r=%lld: the reduction ratio must be >= 1 (1: no reduction)",
                 (long long)r);
        return -1;
    }
    if (r > 1 && (H + 2 * (r / 2) < r + 1 || W + 2 * (r / 2) < r + 1)) {
        snprintf(err, n, "H=%lld, W=%lld are too small for r=%lld: the %lld×%lld conv with "
                 "padding %lld has no output", (long long)H, (long long)W, (long long)r,
                 (long long)(r + 1), (long long)(r + 1), (long long)(r / 2));
        return -1;
    }
    const int64_t Np = emsa_reduced_side(H, r) * emsa_reduced_side(W, r);
    if (h * H * W * Np > INT32_MAX || H * W * C > INT32_MAX || 3 * C * C > INT32_MAX) {
        snprintf(err, n, "C=%lld, heads=%lld, H=%lld, W=%lld, r=%lld: a per-image tensor would "
                 "have 2^31 or more elements (heads·N·N', N·C, 3·C²)", (long long)C,
                 (long long)h, (long long)H, (long long)W, (long long)r);
        return -1;
    }
    return 0;
}

/* docs/suites.md's stages pair C, heads, r and H index by index; only the other crossings of those
 * grid values are left out, so `--axis` values outside the grid still run. */
static int in_sweep(const attn_suite_t *suite, const int64_t *v)
{
    static const int64_t stage[4][4] = {{64, 1, 8, 56}, {128, 2, 4, 28}, {256, 4, 2, 14},
                                        {512, 8, 1, 7}};
    const int64_t x[4] = {v[AX_C], v[AX_HEADS], v[AX_R], v[AX_H]};
    int idx[4];
    for (int a = 0; a < 4; a++) {
        idx[a] = -1;
        for (int st = 0; st < 4; st++)
            if (stage[st][a] == x[a]) idx[a] = st;
        if (idx[a] < 0) return 1; /* off the grid */
    }
    return idx[0] == idx[1] && idx[1] == idx[2] && idx[2] == idx[3];
}

static emsa_shape_t shape_of(const int64_t *v)
{
    return (emsa_shape_t){v[AX_B], v[AX_C], v[AX_H], v[AX_W], v[AX_HEADS], v[AX_R]};
}

static int64_t n_keys(const int64_t *v)
{
    return emsa_reduced_side(v[AX_H], v[AX_R]) * emsa_reduced_side(v[AX_W], v[AX_R]);
}

enum { IN_X, IN_WQKV, IN_BQKV, IN_WO, IN_BO, IN_SRW, IN_SRP, IN_TR, NIN };

static emsa_inputs_t inputs_of(const void *const *in)
{
    return (emsa_inputs_t){in[IN_X], in[IN_WQKV], in[IN_BQKV], in[IN_WO],
                           in[IN_BO], in[IN_SRW], in[IN_SRP], in[IN_TR]};
}

/* Eight tensors (the registry's maximum), so related parameters are packed: Wq, Wk, Wv as one
 * (3C, C) matrix; conv bias, γ, β as (3, C); T and t as (h, h + 1). srw/srp are present but
 * unused at r = 1, tr at h = 1 (bytes() does not count them then). */
static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], C = v[AX_C], N = v[AX_N], h = v[AX_HEADS], k = v[AX_R] + 1;
    *L = (attn_layout_t){
        .nin = NIN,
        .in = {[IN_X] = {"x", ATTN_T_FLOAT, 3, {B, N, C}, "bnc"},
               [IN_WQKV] = {"wqkv", ATTN_T_FLOAT, 2, {3 * C, C}, "oc"},
               [IN_BQKV] = {"bqkv", ATTN_T_FLOAT, 1, {3 * C}, "o"},
               [IN_WO] = {"wo", ATTN_T_FLOAT, 2, {C, C}, "oc"},
               [IN_BO] = {"bo", ATTN_T_FLOAT, 1, {C}, "c"},
               [IN_SRW] = {"srw", ATTN_T_FLOAT, 2, {C, k * k}, "ck"},
               [IN_SRP] = {"srp", ATTN_T_FLOAT, 2, {3, C}, "pc"},
               [IN_TR] = {"tr", ATTN_T_FLOAT, 2, {h, h + 1}, "gk"}},
        .out = {"y", ATTN_T_FLOAT, 3, {B, N, C}, "bnc"},
        .out_rows = B * N,
    };
}

/* x ~ N(0, 1); Wq, Wk, Wv, Wo ~ N(0, 1/C) (fan-in: q, k, v ~ N(0, 1) per channel, so the logits
 * q·k/√dk are ~N(0, 1)), their biases ~ N(0, 1/C); conv taps and bias ~ N(0, 1/(r+1)²) (fan-in of
 * a depthwise tap set); γ = 1 + N(0, 0.1²), β ~ N(0, 0.1²) (near nn.LayerNorm's 1 and 0 but not
 * equal, so a missing γ or β is visible); T, t ~ N(0, 1/h) (the transformed logits stay ~N(0, 1)). */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t C = v[AX_C], h = v[AX_HEADS], k = v[AX_R] + 1;
    attn_fill_normal(in[IN_X], (size_t)(v[AX_B] * v[AX_N] * C), 1.0, seed, 1);
    attn_fill_normal(in[IN_WQKV], (size_t)(3 * C * C), 1.0 / sqrt((double)C), seed, 2);
    attn_fill_normal(in[IN_BQKV], (size_t)(3 * C), 1.0 / sqrt((double)C), seed, 3);
    attn_fill_normal(in[IN_WO], (size_t)(C * C), 1.0 / sqrt((double)C), seed, 4);
    attn_fill_normal(in[IN_BO], (size_t)C, 1.0 / sqrt((double)C), seed, 5);
    attn_fill_normal(in[IN_SRW], (size_t)(C * k * k), 1.0 / (double)k, seed, 6);
    float *srp = in[IN_SRP];
    attn_fill_normal(srp, (size_t)C, 1.0 / (double)k, seed, 7);
    attn_fill_normal(srp + C, (size_t)(2 * C), 0.1, seed, 8);
    for (int64_t c = 0; c < C; c++) srp[C + c] += 1.0f;
    attn_fill_normal(in[IN_TR], (size_t)(h * (h + 1)), 1.0 / sqrt((double)h), seed, 9);
}

/* reference() and run_cpu_f32 (the cpu-f32 row) over emsa_ref and emsa_cpu_f32. */
ATTN_CPU_ADAPTERS(emsa)

/* Threaded reference (bench/refpool.h): an image's N rows are one unit, never split. Before its
 * first row the reference computes Q of all N tokens, K and V, and the whole attention map P̂
 * (its InstanceNorm over heads needs every query row): N·C² + N·N'·C multiply-adds, as much as
 * the N rows' own P̂·V and output projection. A second thread on the same image would redo it. */
static int64_t ref_unit(const attn_suite_t *suite, const int64_t *v) { return v[AX_N]; }

/* FLOPs (none given for emsa; this is the algorithmic count of its formula, multiply-add
 * = 2, the matrix terms only, as flash-attention counts): Q 2·B·N·C², K and V 4·B·N'·C², logits
 * and P̂·V 4·B·N·N'·C (h heads of dk = C/h), the head transform 2·B·h²·N·N' (h > 1), the output
 * projection 2·B·N·C², the reduction conv 2·B·N'·C·(r+1)² (r > 1). Softmax, norms and biases are
 * O(B·h·N·N') element work and not counted. */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    const double B = (double)v[AX_B], C = (double)v[AX_C], h = (double)v[AX_HEADS];
    const double N = (double)v[AX_N], Np = (double)n_keys(v), k = (double)(v[AX_R] + 1);
    double f = 4 * B * N * C * C + 4 * B * Np * C * C + 4 * B * N * Np * C;
    if (v[AX_HEADS] > 1) f += 2 * B * h * h * N * Np;
    if (v[AX_R] > 1) f += 2 * B * Np * C * k * k;
    return f;
}

/* Minimum bytes: x and y, Wqkv, Wo and the four biases once; the conv taps, its bias, γ and β
 * when r > 1; T and t when h > 1. */
static double bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    const double B = (double)v[AX_B], C = (double)v[AX_C], h = (double)v[AX_HEADS];
    const double N = (double)v[AX_N], k = (double)(v[AX_R] + 1);
    double e = 2 * B * N * C + 4 * C * C + 4 * C;
    if (v[AX_R] > 1) e += C * k * k + 3 * C;
    if (v[AX_HEADS] > 1) e += h * (h + 1);
    return (double)s * e;
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees the same (rounded) inputs, so only the variant's own arithmetic counts,
 * along x → conv ((r+1)²-term sums) → LayerNorm (C-term mean and variance) → Q, K, V (C-term
 * sums) → logits (dk-term sums, O(1): an absolute logit error is a relative error of its weight)
 * → head transform (h terms) → softmax (N'-term sum) → Σ(p − 1/N')² (N·N' terms) → P̂ → P̂·V
 * (N'-term sums) → y (C-term sums). Rounding errors of an n-term sum of random-sign terms grow
 * like √n·u, so the error relative to max|y| is about u·((r+1) + 3√C + √dk + h + 2√N'); the
 * InstanceNorm divides by σ ≈ 1/N', which is also the size of p, so it amplifies no relative
 * error. expf, the divisions and 1/√ add a few ulps. f32: 16·u·((r+1) + 3√C + √dk + h + 2√N' + 8),
 * the 16× margin of mhsa and halo: 6.1e-5 at stage 1 (the default), 1.0e-4 at stage 4.
 * cpu-f32 measures 1.2–2.1% of it over the CPU grid (the GPU variants under emulation 0.5–1.5%),
 * and each planted bug of tests/test_emsa.c (no transform, no InstanceNorm, no 1/√dk, padding 0,
 * no LayerNorm affine, K/V from x, an uncentred norm) exceeds it more than 100×.
 * f64 (the reference against itself): 64·u.
 * bf16 (tensor-core): inputs and y are bf16, and every GEMM rounds its operands to bf16 (x and
 * the weights are bf16 already; Xr, Q, K, V, P̂ and O are rounded there), fp32 accumulation
 * (negligible beside these). Each rounding is a relative error ≤ u = 2^-8 that reaches y through
 * sums of random-sign terms, staying near u·|y| per stage rather than growing with the length
 * (halo's argument and bound); y's own rounding is ≤ u·max|y|. We accept 8·u = 2^-5 ≈ 3.1%:
 * the variant measures 10–18% of it (0.8–1.5·u) under emulation on the tests' shapes. */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_BF16) return 8.0 * u;
    if (t == ATTN_F64) return 64.0 * u;
    const double C = (double)v[AX_C], h = (double)v[AX_HEADS];
    return 16.0 * u * ((double)(v[AX_R] + 1) + 3 * sqrt(C) + sqrt(C / h) + h +
                       2 * sqrt((double)n_keys(v)) + 8.0);
}

#ifdef ATTN_HAVE_CUDA
static emsa_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                 const void *const *in)
{
    return (emsa_problem_t){(int)v[AX_B], (int)v[AX_C], (int)v[AX_H], (int)v[AX_W],
                            (int)v[AX_HEADS], (int)v[AX_R]};
}

static emsa_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                 const void *const *in, void *out)
{
    return (emsa_tensors_t){in[IN_X], in[IN_WQKV], in[IN_BQKV], in[IN_WO], in[IN_BO],
                            in[IN_SRW], in[IN_SRP], in[IN_TR], out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T emsa_problem_t
#define ATTN_TENSORS_T emsa_tensors_t
#endif
#include "gpu_adapters.h"

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/emsa/emsa_ref.c",
     "CPU reference in double (the check's ground truth), timed; full map per selected batch",
     .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/emsa/emsa_ref.c",
     "CPU float32: straightforward loops, the map materialised per image", .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/emsa/naive.cu",
     "every step a kernel; GEMMs (projections, logits, P̂·V) one thread per output, no smem",
     GPU(emsa_naive_launch, emsa_naive_workspace, NULL)},
    {"tiled", ATTN_GPU, ATTN_F32, 0, "kernels/emsa/tiled.cu",
     "as naive with shared-memory tiled GEMMs (16×16 tiles) for projections, logits and P̂·V",
     GPU(emsa_tiled_launch, emsa_tiled_workspace, NULL)},
    {"tensor-core", ATTN_GPU, ATTN_BF16, 1, "kernels/emsa/tensor_core.cu",
     "bf16 in/out; every GEMM on tensor cores (WMMA bf16, fp32 accumulate, 32×32 CTA tiles), "
     "reduction/softmax/norm in fp32",
     GPU(emsa_tensor_core_launch, emsa_tensor_core_workspace, NULL)},
    {"fused", ATTN_GPU, ATTN_F32, 0, "kernels/emsa/fused.cu",
     "tiled-GEMM projections; two-phase attention: (logits, transform, softmax, Σ(p−μ)²), then "
     "(normalise, P̂·V), one CTA per query row",
     GPU(emsa_fused_launch, emsa_fused_workspace, emsa_fused_supports)},
    {"cublas-f32", ATTN_GPU, ATTN_F32, -1, "kernels/emsa/cublas.cu",
     "unfused baseline: every GEMM (projections, logits, P̂·V) in cuBLAS fp32, softmax/norm kernels",
     GPU(emsa_cublas_launch, emsa_cublas_workspace, NULL)},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,C=32,heads=1,r=4,H=9,W=7",    /* h = 1 (plain softmax), reduction, odd sides */
    "B=1,C=48,heads=2,r=2,H=6",        /* transform + InstanceNorm, even r */
    "B=2,C=40,heads=4,r=3,H=5,W=8",    /* odd r (padding 1, 4×4 taps), dk = 10 */
    "B=1,C=24,heads=8,r=1,H=5",        /* no reduction: N' = N = 25, dk = 3 */
    "B=1,C=20,heads=1,r=1,H=3,W=4",    /* no reduction, h = 1 */
    NULL,
};

const attn_suite_t emsa_suite = {
    .name = "emsa",
    .title = "ResT efficient multi-head self-attention with spatial reduction",
    ATTN_SUITE_FIELDS,
    .ref_unit = ref_unit,
    .ref_unit_whole = 1,
    .in_sweep = in_sweep,
    /* x = batch; one panel per ResT stage (its C identifies it once in_sweep pairs the axes). */
    .plot_axis = "B",
    .plot_panels = "C",
};
