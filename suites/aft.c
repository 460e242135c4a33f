/* aft — Attention Free Transformer (docs/suites.md "aft"): full, simple and local, end to end:
 * Q/K/V projections, the AFT weighted average, output projection.
 *
 * Axes: B, T, D, Dh (= D unless given), form (0 full, 1 simple, 2 local), s (local window),
 * Tmax (position-bias table size, = T unless given), kshift (added to K's bias: K ≈ kshift).
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU in f32 naive and tiled for
 * every form, local-efficient (local: global sums + banded correction), and the cuBLAS baseline
 * for full (one GEMM of e^w with e^K⊙V and e^K, batches stacked along N); in bf16 for full only
 * tensor-core (the same two GEMMs in our own wmma kernel) and fused (num and den in one wmma
 * kernel, e^{w−r} tiles formed in shared memory).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aft_ref.h"
#include "floors.h"
#include "cpu_adapters.h"
#include "suite_fields.h"
#include "registry.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "aft_kernels.h"
#endif

enum { AX_B, AX_T, AX_D, AX_DH, AX_FORM, AX_S, AX_TMAX, AX_KSHIFT, NAXES };

#define AFT_S_DEFAULT 256 /* the seed's AFTLocal default window */

/* GPU grid: docs/suites.md's ranges at concrete points: B ∈ {1, 8, 32} (latency-bound, mid, full
 * machine), T ∈ {256, 512, 1024, 2048, 4096} (every power of two of its range: T is the plot
 * axis and full/local scale as T² vs T·s), D = Dh ∈ {64, 256, 512} (Dh follows D), all three
 * forms, s ∈ {32, 128, 256}; in_sweep keeps s only for local (full and simple ignore it), so
 * 3·5·3·(1 + 1 + 3) = 225 cases.
 * CPU grid (no device): B = 2, T ∈ {64, 256, 512}, D ∈ {32, 64}, the three forms, s ∈ {16, 256}
 * (s = 256 covers T ≤ 256 entirely: local = full there); 24 cases whose reference + cpu-f32
 * sweep takes about a minute on the 2-core machine (measured, see the report / README). */
static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch", 1, 1, 1 << 16, 3, {1, 8, 32}, 1, {2}},
    [AX_T] = {"T", "sequence length (T <= Tmax)", 256, 1, 1 << 15,
              5, {256, 512, 1024, 2048, 4096}, 3, {64, 256, 512}},
    [AX_D] = {"D", "model dim of x and out", 64, 1, 1 << 14, 3, {64, 256, 512}, 2, {32, 64}},
    [AX_DH] = {"Dh", "hidden dim of Q, K, V (default D)", ATTN_UNSET, 1, 1 << 14},
    [AX_FORM] = {"form", "form: 0 full, 1 simple, 2 local", 0, 0, 2, 3, {0, 1, 2}, 3, {0, 1, 2}},
    [AX_S] = {"s", "local window: w' = w where |t - t'| < s, else 0 (form 2 only)",
              AFT_S_DEFAULT, 1, 1 << 15, 3, {32, 128, 256}, 2, {16, 256}},
    [AX_TMAX] = {"Tmax", "position-bias table w is Tmax x Tmax (default T)", ATTN_UNSET, 1,
                 1 << 15},
    [AX_KSHIFT] = {"kshift", "added to every K bias: K ~ kshift + N(0, ~1); 100 checks that "
                   "e^K is computed stably (e^100 overflows float)", 0, -1000, 1000},
};

/* Dh = D and Tmax = T when unset. Errors name the values:
 *  - s >= 1 (the CLI's range check says so first; derive repeats it for direct callers);
 *  - T <= Tmax: w is a Tmax × Tmax table and AFT reads w[:T, :T];
 *  - the sizes the GPU launchers index with int (kernels/aft): B·T·3·Dh, B·T·D, Tmax², and
 *    T·2·B·Dh (the cuBLAS variant's stacked N) below 2^31. */
static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_DH] == ATTN_UNSET) v[AX_DH] = v[AX_D];
    if (v[AX_TMAX] == ATTN_UNSET) v[AX_TMAX] = v[AX_T];
    if (v[AX_S] < 1) {
        snprintf(err, n, "s=%lld: the local window must be >= 1", (long long)v[AX_S]);
        return -1;
    }
    if (v[AX_T] > v[AX_TMAX]) {
        snprintf(err, n, "T=%lld is larger than Tmax=%lld (the position-bias table w is Tmax x "
                 "Tmax)", (long long)v[AX_T], (long long)v[AX_TMAX]);
        return -1;
    }
    const int64_t BT = v[AX_B] * v[AX_T], Dh = v[AX_DH];
    if (BT * 3 * Dh > INT32_MAX || BT * v[AX_D] > INT32_MAX ||
        v[AX_TMAX] * v[AX_TMAX] > INT32_MAX || BT * 2 * Dh > INT32_MAX) {
        snprintf(err, n, "B=%lld, T=%lld, D=%lld, Dh=%lld, Tmax=%lld: a tensor would have 2^31 "
                 "or more elements (B·T·3·Dh, B·T·D, Tmax²)", (long long)v[AX_B],
                 (long long)v[AX_T], (long long)v[AX_D], (long long)Dh, (long long)v[AX_TMAX]);
        return -1;
    }
    return 0;
}

/* s only matters for local: full and simple keep one s (the default, 256) so they are not
 * repeated per window. s values outside the grids (--axis s=7) are not filtered. */
static int in_sweep(const attn_suite_t *suite, const int64_t *v)
{
    if (v[AX_FORM] == AFT_LOCAL) return 1;
    const int64_t s = v[AX_S];
    return !(s == 16 || s == 32 || s == 128);
}

static aft_shape_t shape_of(const int64_t *v)
{
    return (aft_shape_t){v[AX_B], v[AX_T], v[AX_D], v[AX_DH], v[AX_FORM], v[AX_S], v[AX_TMAX]};
}

enum { IN_X, IN_WQKV, IN_BQKV, IN_W, IN_WP, IN_BP, NIN };

static aft_inputs_t inputs_of(const void *const *in)
{
    return (aft_inputs_t){in[IN_X], in[IN_WQKV], in[IN_BQKV], in[IN_W], in[IN_WP], in[IN_BP]};
}

static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], T = v[AX_T], D = v[AX_D], Dh = v[AX_DH], Tm = v[AX_TMAX];
    *L = (attn_layout_t){
        .nin = NIN,
        .in = {[IN_X] = {"x", ATTN_T_FLOAT, 3, {B, T, D}, "btc"},
               [IN_WQKV] = {"wqkv", ATTN_T_FLOAT, 2, {3 * Dh, D}, "hc"},
               [IN_BQKV] = {"bqkv", ATTN_T_FLOAT, 1, {3 * Dh}, "h"},
               [IN_W] = {"w", ATTN_T_FLOAT, 2, {Tm, Tm}, "ts"},
               [IN_WP] = {"wp", ATTN_T_FLOAT, 2, {D, Dh}, "ch"},
               [IN_BP] = {"bp", ATTN_T_FLOAT, 1, {D}, "c"}},
        .out = {"out", ATTN_T_FLOAT, 3, {B, T, D}, "btc"},
        .out_rows = B * T,
    };
}

/* x ~ N(0, 1); Wq, Wk, Wv ~ N(0, 1/D) and their biases too (nn.Linear's fan-in scale), so
 * Q, K, V are ~N(0, 1); kshift is added to K's bias. w ~ N(0, 1), not the seed's xavier_uniform
 * (±√(3/Tmax), ±0.03 at 4096): with that, e^w ≈ 1 and a variant that ignored w (or its window)
 * would pass; N(0, 1) gives e^w a spread of ~e² that the check sees. Wp ~ N(0, 1/Dh). Y is a
 * weighted mean of T values of V, O(1/√T), so bp ~ N(0, 1/(Dh·T)) keeps the bias below the
 * attention's part of out, which then sets the check's scale max|out|. */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t B = v[AX_B], T = v[AX_T], D = v[AX_D], Dh = v[AX_DH], Tm = v[AX_TMAX];
    attn_fill_normal(in[IN_X], (size_t)(B * T * D), 1.0, seed, 1);
    attn_fill_normal(in[IN_WQKV], (size_t)(3 * Dh * D), 1.0 / sqrt((double)D), seed, 2);
    attn_fill_normal(in[IN_BQKV], (size_t)(3 * Dh), 1.0 / sqrt((double)D), seed, 3);
    float *bk = (float *)in[IN_BQKV] + Dh;
    for (int64_t c = 0; c < Dh; c++) bk[c] += (float)v[AX_KSHIFT];
    attn_fill_normal(in[IN_W], (size_t)(Tm * Tm), 1.0, seed, 4);
    attn_fill_normal(in[IN_WP], (size_t)(D * Dh), 1.0 / sqrt((double)Dh), seed, 5);
    attn_fill_normal(in[IN_BP], (size_t)D, 1.0 / sqrt((double)(Dh * T)), seed, 6);
}

/* reference() and run_cpu_f32 (the cpu-f32 row) over aft_ref and aft_cpu_f32. */
ATTN_CPU_ADAPTERS(aft)

/* Threaded reference (bench/refpool.h): a sequence's T rows are one unit. Before its first row
 * the reference projects K and V of all T tokens, takes m = max over t' of K and e^{K−m}:
 * 2·T·D·Dh multiply-adds and T·Dh exponentials, about D rows' work (a row: 2·T·Dh
 * multiply-adds for the two sums, 2·D·Dh for Q and the output), more than a sampled sequence's
 * few rows. */
static int64_t ref_unit(const attn_suite_t *suite, const int64_t *v) { return v[AX_T]; }

/* FLOPs (docs/suites.md): full 4·B·T²·Dh + 8·B·T·D·Dh; local 8·B·T·s·Dh + 8·B·T·D·Dh;
 * simple 6·B·T·Dh + 8·B·T·D·Dh (8·B·T·D·Dh: the four projections). One departure: local with
 * s >= T is full (every pair is in the window) and counts as full, 4·B·T²·Dh, where the local
 * formula would credit up to twice the work of the whole T × T table. */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    const double B = (double)v[AX_B], T = (double)v[AX_T], D = (double)v[AX_D];
    const double Dh = (double)v[AX_DH], s = (double)v[AX_S];
    const double proj = 8 * B * T * D * Dh;
    switch (v[AX_FORM]) {
    case AFT_SIMPLE: return 6 * B * T * Dh + proj;
    case AFT_LOCAL:
        if (v[AX_S] < v[AX_T]) return 8 * B * T * s * Dh + proj;
        return 4 * B * T * T * Dh + proj;
    default: return 4 * B * T * T * Dh + proj;
    }
}

/* Minimum bytes: x and out, Wqkv, bqkv, Wp, bp once, and the part of w the form reads:
 * w[:T, :T] (full), its band |t − t'| < s (local: T·(2s − 1) − s·(s − 1) entries when s < T),
 * nothing (simple). */
static double bytes(const attn_suite_t *suite, const int64_t *v, int es)
{
    const double B = (double)v[AX_B], T = (double)v[AX_T], D = (double)v[AX_D];
    const double Dh = (double)v[AX_DH], s = (double)v[AX_S];
    double w = T * T;
    if (v[AX_FORM] == AFT_SIMPLE) w = 0;
    if (v[AX_FORM] == AFT_LOCAL && v[AX_S] < v[AX_T]) w = T * (2 * s - 1) - s * (s - 1);
    return (double)es * (2 * B * T * D + 3 * Dh * D + 3 * Dh + D * Dh + D + w);
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees exactly the inputs the variant saw, so what remains is the variant's own
 * float arithmetic along x → Q, K, V (D-term sums) → e^{w'−r}·e^{K−m} (expf: a few ulps) → the
 * two T-term sums and their ratio → out = Wp·Y + bp (Dh-term sums).
 *  f32: an n-term sum's rounding errors grow like √n·u (random signs), so relative to max|out|
 *  the error is about u·(√D + √T + √Dh) plus a few ulps for expf, σ and the division. We accept
 *  16·u·(√D + √T + √Dh + 8), mhsa's and halo's 16× margin: 3.8e-5 at the default case, 1.1e-4
 *  at the contract's largest (D = Dh = 512, T = 4096).
 *  K itself is rounded to float at its size: an absolute error of about u·|K| ≈ u·|kshift| in
 *  the exponent, i.e. a relative error u·|kshift| of each weight e^{K−m} (K − m is exact,
 *  Sterbenz), of random sign across t', so Y moves by a fraction of it. We add 2·u·|kshift|
 *  (1.2e-5 at kshift = 100); emulated GPU variants and cpu-f32 measure an increase of
 *  0.1–0.2·u·|kshift| (1.2e-6 total at T = 70, kshift = 100).
 *  Measured at kshift = 0: cpu-f32 and the GPU variants under emulation reach 1–2% of the bound;
 *  the planted bugs in tests/test_aft.c (w ignored, the window off by one, w transposed, −∞
 *  outside the window, no σ, no max subtraction) exceed it by orders of magnitude.
 *  bf16 (tensor-core, fused; u = 2^-8): x and the parameters are bf16 and the reference sees them
 *  as such. The projections are fp32 (bf16 operands, fp32 output), m = max over t' of K is taken
 *  from the fp32 K, and K − m is formed in fp32 before it is rounded to bf16 with Q and V
 *  (kernels/aft/tensor_core.cu, aft_bf16_project_qkv). What remains are the roundings to bf16 of
 *  the intermediates, relative u each:
 *    Q: σ(Q) moves by σ'(Q)·u·|Q| <= u (σ' <= 1/4, |Q| a few);
 *    V: u per term of the weighted mean, so at most u of Y;
 *    K − m: an absolute u·|K − m| in the exponent, a relative u·|K − m| of each weight e^{K−m};
 *       K − m <= 0 spans the spread of K over t' (a few units: K ~ N(kshift, 1)), and the
 *       weights that count have K − m near 0: up to ~4u per weight, of random sign over t',
 *       moving Y by Σ p·ε·(V − Y) (p the normalised weights): at most ~4u of max|out|,
 *       whatever kshift is;
 *    the e^{...} operands of the two GEMMs: E = e^{w−r} (u) is the same number in num and den
 *       and cancels in the ratio up to the reweighting (u); e^{K−m}·V (num) and e^{K−m} (den)
 *       are rounded separately: u each, partly cancelling;
 *    Y (u) and out (u) once each.
 *  Summed worst-case that is 1 + 1 + 4 + 1 + 2 + 1 + 1 = 11u; the T-term sums are fp32 (their
 *  √T·u_f32 is negligible here but kept), and the independent roundings of the T terms average
 *  down with T, so the bound is no looser at large T than at T = 1. We accept 12u plus the
 *  fp32 part. K itself is fp32, rounded at its size as in f32: we add f32's 2·u_f32·|kshift|
 *  (1.2e-5 at kshift = 100). (Rounding K to bf16 before subtracting m, as the variants once
 *  did, costs up to u·|kshift| = 0.39 in the exponent at kshift = 100: 0.2–0.25·u·|kshift|
 *  measured, 20× the error at kshift = 0, which this bound rejects.)
 *  Measured under emulation: 0.7–1.2u at kshift = 0 (T = 1, 37, 100) and 0.9–1.2u at kshift
 *  = ±100 (T = 37, 45, 70, 130; 0.2–0.25·u·|kshift| = 20u before the shift moved ahead of the
 *  rounding), against 12u; both variants give identical outputs (the same roundings).
 *  f64: 64·u. */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_BF16) {
        const double u32 = attn_unit_roundoff(ATTN_F32);
        return 12.0 * u + 2.0 * u32 * fabs((double)v[AX_KSHIFT]) +
               16.0 * u32 * (sqrt((double)v[AX_D]) + sqrt((double)v[AX_T]) +
                             sqrt((double)v[AX_DH]) + 8.0);
    }
    if (t == ATTN_F64) return 64.0 * u;
    return 16.0 * u * (sqrt((double)v[AX_D]) + sqrt((double)v[AX_T]) + sqrt((double)v[AX_DH]) +
                       8.0) +
           2.0 * u * fabs((double)v[AX_KSHIFT]);
}

#ifdef ATTN_HAVE_CUDA
static aft_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                const void *const *in)
{
    return (aft_problem_t){(int)v[AX_B], (int)v[AX_T], (int)v[AX_D], (int)v[AX_DH],
                           (int)v[AX_FORM], (int)v[AX_S], (int)v[AX_TMAX]};
}

static aft_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                const void *const *in, void *out)
{
    return (aft_tensors_t){in[IN_X], in[IN_WQKV], in[IN_BQKV], in[IN_W], in[IN_WP], in[IN_BP],
                           out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T aft_problem_t
#define ATTN_TENSORS_T aft_tensors_t
#endif
#include "gpu_adapters.h"

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/aft/aft_ref.c",
     "CPU reference in double (the check's ground truth), timed; every form by its definition",
     .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/aft/aft_ref.c",
     "CPU float32: the same stabilised formula, w' by definition (O(T²) for every form)",
     .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/aft/naive.cu",
     "projections: cuBLAS GEMMs; full/local: one thread per (b, t, c) over all t' with w' "
     "(definition); simple: one thread per (b, c) reduction",
     GPU(aft_naive_launch, aft_naive_workspace, NULL)},
    {"tiled", ATTN_GPU, ATTN_F32, 0, "kernels/aft/tiled.cu",
     "projections: cuBLAS GEMMs; full/local: smem tiles of e^{w'} x e^K, e^K.V (local: w read "
     "only in the band); simple: block reduction over T",
     GPU(aft_tiled_launch, aft_tiled_workspace, NULL)},
    {"local-efficient", ATTN_GPU, ATTN_F32, 0, "kernels/aft/tiled.cu",
     "projections: cuBLAS GEMMs; local by the efficient form: global sums (w' = 0) plus the "
     "banded correction (e^w - 1).e^K.V over |t - t'| < s only",
     GPU(aft_local_efficient_launch, aft_local_efficient_workspace,
         aft_local_efficient_supports)},
    {"cublas", ATTN_GPU, ATTN_F32, -1, "kernels/aft/cublas.cu",
     "unfused baseline, full: cuBLAS projections, E = e^{w-r} (T x T), one GEMM E.[e^K.V | e^K] "
     "with the batches stacked along N, a combine kernel",
     GPU(aft_cublas_launch, aft_cublas_workspace, aft_cublas_supports)},
    {"tensor-core", ATTN_GPU, ATTN_BF16, 1, "kernels/aft/tensor_core.cu",
     "full only, bf16: projections: cuBLAS GEMMs (bf16, fp32 compute); E = e^{w-r} (T x T) "
     "times [e^K.V | e^K] (batches stacked along N) in our own wmma GEMM, combine kernel",
     GPU(aft_tensor_core_launch, aft_tensor_core_workspace,
         aft_tensor_core_supports)},
    {"fused", ATTN_GPU, ATTN_BF16, 1, "kernels/aft/fused.cu",
     "full only, bf16: projections: cuBLAS GEMMs (bf16); num and den in one wmma kernel, one "
     "pass over key tiles, e^{w-r} tiles formed in smem (no T x T in global memory)",
     GPU(aft_fused_launch, aft_fused_workspace, aft_fused_supports)},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,T=100,D=48,form=0",                      /* T, Dh not multiples of 32 */
    "B=2,T=100,D=48,Dh=40,form=1",                /* AFT-simple */
    "B=2,T=100,D=48,Dh=40,form=2,s=7",            /* band crosses tile edges */
    "B=1,T=70,D=32,form=0,kshift=100",            /* K ≈ 100 */
    "B=1,T=70,D=32,form=1,kshift=-100",           /* K ≈ −100 */
    "B=1,T=70,D=32,form=2,s=9,kshift=100",        /* local window, K ≈ 100 */
    "B=1,T=33,Tmax=50,D=16,Dh=24,form=2,s=40",    /* Tmax > T, window wider than T */
    "B=3,T=1,D=8,form=0",                         /* one token */
    NULL,
};

/* Speed floors (bench/floors.h), judged by `attnbench floors` on the rows of GPU runs. */
static const attn_floor_t floors[] = {
    {.name = "aft-fused-simple/bw",
     ATTN_FLOOR_PCT_BW("fused", "bf16"),
     .where = "form=1",
     .min = 75.0,
     .why = "AFT-simple is a reduction over T and an elementwise combine: memory-bound; n/a "
            "while fused implements the full form only"},
};

const attn_suite_t aft_suite = {
    .name = "aft",
    .title = "Attention Free Transformer: full, simple, local",
    ATTN_SUITE_FIELDS,
    ATTN_SUITE_FLOORS,
    .ref_unit = ref_unit,
    .in_sweep = in_sweep,
    /* x = T (full scales as T², local as T·s, simple as T); one panel per form, window and
     * D (= Dh in the grid): 3 + 3 + 9 = 15 panels on the GPU grid; each B gets its own set of
     * pictures (docs/plots.md). */
    .plot_axis = "T",
    .plot_panels = "form,s,D",
};
