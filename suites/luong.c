/* luong — encoder–decoder attention scores (docs/suites.md "additive / luong"). The additive
 * suite (Bahdanau, suites/additive.c) is these functions with the score fixed to concat: every
 * function here reads the score through score_of(), which takes a suite's ctx before the axis.
 *
 * Axes: B, T (queries), S (keys = values), Dq, Dk (= Dq unless given), A (attention width of
 * W1, W2, v; concat only), and for luong the score function (0 dot, 1 general, 2 concat).
 * Outputs: the context c (B, T, Dk), one row per query, and the attention weights a (B, T, S),
 * a further output (registry.h: attn_layout_t) with the same rows, checked at its own tolerance
 * (luong_xtolerance) and dumped per variant for the heatmaps.
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive, tiled and fused (f32),
 * tensor-core (bf16, dot/general only) and the cuBLAS unfused baseline in f32 and bf16.
 * The projections (W1·h, W2·h̄, Wa·h̄) are cuBLAS GEMMs in every GPU variant.
 */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "luong.h"
#include "luong_ref.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "luong_kernels.h"
#endif

static const attn_axis_t luong_axes[NAXES] = {
    LUONG_SHARED_AXES,
    [AX_A] = {"A", "attention width of W1, W2, v (concat only)", 128, 1, 1 << 16,
              2, GRID_A, 1, {64}},
    [AX_SCORE] = {"score", "score: 0 dot, 1 general, 2 concat (= additive)", 1, 0, 2,
                  3, {0, 1, 2}, 3, {0, 1, 2}},
};

/* The score function of case v: the suite's fixed one (additive), else the score axis. */
static int score_of(const attn_suite_t *suite, const int64_t *v)
{
    return suite->ctx ? *(const int *)suite->ctx : (int)v[AX_SCORE];
}

static luong_shape_t shape_of(const int64_t *v, int score)
{
    return (luong_shape_t){v[AX_B], v[AX_T], v[AX_S], v[AX_DQ], v[AX_DK], v[AX_A], score};
}

/* S = T and Dk = Dq when unset. Errors name the values: dot needs Dq = Dk; the sizes the
 * launchers pass to cuBLAS as int (B·max(T, S) rows of up to max(Dq, Dk, A) columns, T·S) must
 * stay below 2^31. */
int luong_derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    const int score = score_of(suite, v);
    if (v[AX_S] == ATTN_UNSET) v[AX_S] = v[AX_T];
    if (v[AX_DK] == ATTN_UNSET) v[AX_DK] = v[AX_DQ];
    if (score == LUONG_DOT && v[AX_DQ] != v[AX_DK]) {
        snprintf(err, n, "score=dot needs Dq = Dk: Dq=%lld, Dk=%lld (use score=1 general for "
                 "different widths)", (long long)v[AX_DQ], (long long)v[AX_DK]);
        return -1;
    }
    const int64_t rows = v[AX_B] * (v[AX_T] > v[AX_S] ? v[AX_T] : v[AX_S]);
    int64_t wide = v[AX_DQ] > v[AX_DK] ? v[AX_DQ] : v[AX_DK];
    if (v[AX_A] > wide) wide = v[AX_A];
    if (rows * wide > INT32_MAX || v[AX_T] * v[AX_S] > INT32_MAX) {
        snprintf(err, n, "B=%lld, T=%lld, S=%lld, Dq=%lld, Dk=%lld, A=%lld: B·max(T, S)·max(Dq, "
                 "Dk, A) or T·S reaches 2^31", (long long)v[AX_B], (long long)v[AX_T],
                 (long long)v[AX_S], (long long)v[AX_DQ], (long long)v[AX_DK], (long long)v[AX_A]);
        return -1;
    }
    return 0;
}

/* Inputs: h, hb, then the parameters of the score function (general: wa; concat: w1, w2, v). */
enum { IN_H, IN_HB, IN_P0, IN_P1, IN_P2 };

static luong_inputs_t inputs_of(int score, const void *const *in)
{
    luong_inputs_t t = {in[IN_H], in[IN_HB], NULL, NULL, NULL, NULL};
    if (score == LUONG_GENERAL) t.wa = in[IN_P0];
    if (score == LUONG_CONCAT) t.w1 = in[IN_P0], t.w2 = in[IN_P1], t.v = in[IN_P2];
    return t;
}

void luong_layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int score = score_of(suite, v);
    const int64_t B = v[AX_B], T = v[AX_T], S = v[AX_S], Dq = v[AX_DQ], Dk = v[AX_DK];
    const int64_t A = v[AX_A];
    *L = (attn_layout_t){
        .nin = 2,
        .in = {[IN_H] = {"h", ATTN_T_FLOAT, 3, {B, T, Dq}, "btq"},
               [IN_HB] = {"hbar", ATTN_T_FLOAT, 3, {B, S, Dk}, "bsk"}},
        .out = {"c", ATTN_T_FLOAT, 3, {B, T, Dk}, "btk"},
        .out_rows = B * T,
        .nxout = 1,
        .xout = {{"a", ATTN_T_FLOAT, 3, {B, T, S}, "bts"}},
        .weights_out = 1,
    };
    if (score == LUONG_GENERAL) {
        L->in[IN_P0] = (attn_tensor_t){"wa", ATTN_T_FLOAT, 2, {Dq, Dk}, "qk"};
        L->nin = 3;
    } else if (score == LUONG_CONCAT) {
        L->in[IN_P0] = (attn_tensor_t){"w1", ATTN_T_FLOAT, 2, {A, Dq}, "aq"};
        L->in[IN_P1] = (attn_tensor_t){"w2", ATTN_T_FLOAT, 2, {A, Dk}, "ak"};
        L->in[IN_P2] = (attn_tensor_t){"v", ATTN_T_FLOAT, 1, {A}, "a"};
        L->nin = 5;
    }
}

/* h̄ ~ N(0, 1); weights N(0, 1/fan_in): Wa ~ N(0, 1/Dk), W1 ~ N(0, 1/Dq), W2 ~ N(0, 1/Dk),
 * v ~ N(0, 1/A). h ~ N(0, 1) for concat (W1·h_t + W2·h̄_s ~ N(0, 2) per unit, tanh in its
 * curved range, e ~ N(0, ≈0.4)); h ~ N(0, 1/Dq) for dot and general, so that e = h_t·h̄_s
 * (or h_t·Wa·h̄_s) is ~N(0, 1) instead of ~N(0, Dq): the softmax stays soft, as with trained
 * states, and the check sees the weights, not a one-hot arg-max. */
void luong_generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int score = score_of(suite, v);
    const int64_t B = v[AX_B], Dq = v[AX_DQ], Dk = v[AX_DK], A = v[AX_A];
    const double sh = score == LUONG_CONCAT ? 1.0 : 1.0 / sqrt((double)Dq);
    attn_fill_normal(in[IN_H], (size_t)(B * v[AX_T] * Dq), sh, seed, 1);
    attn_fill_normal(in[IN_HB], (size_t)(B * v[AX_S] * Dk), 1.0, seed, 2);
    if (score == LUONG_GENERAL)
        attn_fill_normal(in[IN_P0], (size_t)(Dq * Dk), 1.0 / sqrt((double)Dk), seed, 3);
    if (score == LUONG_CONCAT) {
        attn_fill_normal(in[IN_P0], (size_t)(A * Dq), 1.0 / sqrt((double)Dq), seed, 4);
        attn_fill_normal(in[IN_P1], (size_t)(A * Dk), 1.0 / sqrt((double)Dk), seed, 5);
        attn_fill_normal(in[IN_P2], (size_t)A, 1.0 / sqrt((double)A), seed, 6);
    }
}

/* Where a starts in a buffer of c then a (registry.h: attn_out_offset). */
static void *weights_at(const attn_suite_t *suite, const int64_t *v, void *out, size_t esize)
{
    attn_layout_t L;
    luong_layout(suite, v, &L);
    return (char *)out + attn_out_offset(&L, 1, esize);
}

void luong_reference(const attn_suite_t *suite, const int64_t *v, const void *const *in,
                     double *out, const uint8_t *sel)
{
    const int score = score_of(suite, v);
    const luong_shape_t s = shape_of(v, score);
    const luong_inputs_t t = inputs_of(score, in);
    luong_ref(&s, &t, out, weights_at(suite, v, out, sizeof *out), sel);
}

/* a (B, T, S), every row from the inputs as generated, for --dump's heatmaps: the reference's
 * weights beside each variant's own (its further output a). */
double *luong_weights(const attn_suite_t *suite, const int64_t *v, const void *const *in,
                      attn_tensor_t *t)
{
    const int score = score_of(suite, v);
    const luong_shape_t s = shape_of(v, score);
    const luong_inputs_t i = inputs_of(score, in);
    *t = (attn_tensor_t){.name = "a", .kind = ATTN_T_FLOAT, .ndim = 3,
                         .shape = {s.B, s.T, s.S}, .dims = "bts"};
    double *a = malloc((size_t)(s.B * s.T * s.S) * sizeof *a);
    if (a) luong_ref_attention(&s, &i, a);
    return a;
}

/* FLOPs (docs/suites.md; a multiply-add is 2, tanh and the softmax are not counted):
 *  concat  2B(T·Dq + S·Dk)·A (W1·h, W2·h̄) + 3B·T·S·A (add, v·tanh) + 2B·T·S·Dk (context)
 *  dot     2B·T·S·Dq (scores) + 2B·T·S·Dk (context)
 *  general 2B·S·Dq·Dk (Wa·h̄_s once per key) + dot's. */
double luong_flops(const attn_suite_t *suite, const int64_t *v)
{
    const int score = score_of(suite, v);
    const double B = (double)v[AX_B], T = (double)v[AX_T], S = (double)v[AX_S];
    const double Dq = (double)v[AX_DQ], Dk = (double)v[AX_DK], A = (double)v[AX_A];
    const double ctx = 2 * B * T * S * Dk;
    if (score == LUONG_CONCAT) return 2 * B * (T * Dq + S * Dk) * A + 3 * B * T * S * A + ctx;
    const double dot = 2 * B * T * S * Dq + ctx;
    return score == LUONG_GENERAL ? dot + 2 * B * S * Dq * Dk : dot;
}

/* Minimum bytes: h, h̄, the score function's parameters, c and a (B·T·S), once. */
double luong_bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    const int score = score_of(suite, v);
    const double B = (double)v[AX_B], T = (double)v[AX_T], S = (double)v[AX_S];
    const double Dq = (double)v[AX_DQ], Dk = (double)v[AX_DK], A = (double)v[AX_A];
    double params = 0;
    if (score == LUONG_GENERAL) params = Dq * Dk;
    if (score == LUONG_CONCAT) params = A * Dq + A * Dk + A;
    return (double)s * (B * T * Dq + B * S * Dk + params + B * T * Dk + B * T * S);
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees exactly the (rounded) inputs the variant saw, so input rounding does not
 * count; what remains is the variant's own arithmetic along the chain: projections (Dq- or
 * Dk-term sums: W1·h, W2·h̄, Wa·h̄), the score (a Dq- or A-term sum; the scores are O(1) by
 * construction, so an absolute score error is a relative error of its weight), then the softmax
 * sum and the context (S-term sums, relative to |c| ≤ max|h̄|).
 *  f32: rounding errors of an n-term sum grow like √n·u (a random walk, not the n·u worst
 *  case); expf, tanhf and the division add a few ulps. We accept 16·u·(Σ√n over the chain + 8),
 *  the 16× margin of mhsa and halo: dot √Dq + √S; general √Dk + √Dq + √S; concat √Dq + √Dk + √A
 *  + √S. 1.1e-4 at the largest sweep point (concat, Dq = Dk = 512, A = 256, S = 1024).
 *  bf16: the bf16 GPU variants round the projections (Q', K'), P before P·h̄ and c once (fp32
 *  scores and accumulation, negligible beside these), each a relative error ≤ u = 2^-8; the
 *  projection roundings reach the scores as O(u) absolute errors (sums of random sign), hence
 *  O(u) relative errors of the weights, and c's own rounding is ≤ u·max|c|. Three to four
 *  roundings of ≤ u each, as in halo: 8·u = 2^-5 ≈ 3.1%. */
double luong_tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const int score = score_of(suite, v);
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_BF16) return 8.0 * u;
    if (t == ATTN_F64) return 64.0 * u;
    const double Dq = (double)v[AX_DQ], Dk = (double)v[AX_DK], A = (double)v[AX_A];
    double chain = sqrt((double)v[AX_S]) + sqrt(Dq);
    if (score == LUONG_GENERAL) chain += sqrt(Dk);
    if (score == LUONG_CONCAT) chain += sqrt(Dk) + sqrt(A);
    return 16.0 * u * (chain + 8.0);
}

/* Accepted max|a − a_ref| / max|a_ref| for the weights a (further output i = 1).
 * A weight is a = exp(e − m)/l: an absolute error δ of the score e is a relative error δ of a,
 * and l's relative error is one of every weight of the row; so each weight's error is relative
 * to itself, at most (relative error)·a ≤ (relative error)·max|a|, and the bound is the
 * relative error along a's chain, which is c's without its last step:
 *  f32: the projections and the score (√Dq, √Dk, √A as for c), expf and the S-term sum l (√S);
 *  c's chain adds Σ_s a·h̄ (another S-term sum) on top, which its single √S term already
 *  under-counts, so c's 16·u·(Σ√n + 8) bounds a with that sum to spare: we keep it.
 *  bf16: the projection roundings (Q', K': O(u) absolute score errors, O(u) relative errors of
 *  the weights) and a's own rounding to bf16 (≤ u: the variants' P, rounded once): three
 *  roundings of ≤ u each; c's 8·u counts one more (c's own rounding), which we keep as margin. */
double luong_xtolerance(const attn_suite_t *suite, const int64_t *v, int i, attn_dtype_t t)
{
    (void)i; /* a is the only further output */
    return luong_tolerance(suite, v, t);
}

static int run_cpu_f32(const attn_suite_t *suite, const attn_variant_t *var, const int64_t *v,
                       const void *const *in, void *out, void *ws, void *st)
{
    const int score = score_of(suite, v);
    const luong_shape_t s = shape_of(v, score);
    const luong_inputs_t t = inputs_of(score, in);
    luong_cpu_f32(&s, &t, out, weights_at(suite, v, out, sizeof(float)));
    return 0;
}

#ifdef ATTN_HAVE_CUDA
static luong_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                  const void *const *in)
{
    const int score = score_of(suite, v);
    return (luong_problem_t){(int)v[AX_B], (int)v[AX_T], (int)v[AX_S], (int)v[AX_DQ],
                             (int)v[AX_DK], (int)v[AX_A], score};
}

static luong_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                  const void *const *in, void *out)
{
    const int score = score_of(suite, v);
    const luong_inputs_t i = inputs_of(score, in);
    /* out holds c, then a from element a_at on, whatever the dtype (attn_out_elem) */
    attn_layout_t L;
    luong_layout(suite, v, &L);
    return (luong_tensors_t){i.h, i.hb, i.wa, i.w1, i.w2, i.v, out, attn_out_elem(&L, 1)};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T luong_problem_t
#define ATTN_TENSORS_T luong_tensors_t
#endif
#include "gpu_adapters.h"


/* The rows of luong and additive (the same kernels: additive runs them with score = concat). */
const attn_variant_t luong_variants[LUONG_NVARIANTS] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/luong/luong_ref.c",
     "CPU reference in double (the check's ground truth), timed", .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/luong/luong_ref.c",
     "CPU float32: key projection per batch, two-pass softmax per row",
     .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/luong/naive.cu",
     "projections: cuBLAS GEMMs; one thread per query row, keys from global, two passes",
     GPU(luong_naive_launch, luong_naive_workspace, NULL)},
    {"tiled", ATTN_GPU, ATTN_F32, 0, "kernels/luong/tiled.cu",
     "projections: cuBLAS GEMMs; 16×16 smem score tiles → E, softmax, 16×16 context tiles",
     GPU(luong_tiled_launch, luong_tiled_workspace, NULL)},
    {"fused", ATTN_GPU, ATTN_F32, 0, "kernels/luong/fused.cu",
     "projections: cuBLAS GEMMs; scores + online softmax + context in one kernel, CUDA cores",
     GPU(luong_fused_launch, luong_fused_workspace, luong_fused_supports)},
    {"tensor-core", ATTN_GPU, ATTN_BF16, 1, "kernels/luong/tensor_core.cu",
     "projections: cuBLAS GEMMs; wmma scores (dot/general), softmax, wmma context",
     GPU(luong_tensor_core_launch, luong_tensor_core_workspace, luong_tensor_core_supports)},
    {"cublas-f32", ATTN_GPU, ATTN_F32, -1, "kernels/luong/cublas.cu",
     "unfused baseline: cuBLAS fp32 projections + score GEMM (concat: score kernel), softmax "
     "kernel, context GEMM",
     GPU(luong_cublas_f32_launch, luong_cublas_f32_workspace, NULL)},
    {"cublas-bf16", ATTN_GPU, ATTN_BF16, -1, "kernels/luong/cublas.cu",
     "unfused baseline: cuBLAS bf16 projections + score GEMM (concat: score kernel; fp32 E), "
     "softmax kernel, context GEMM",
     GPU(luong_cublas_bf16_launch, luong_cublas_bf16_workspace, NULL)}
};

/* Threaded reference (bench/refpool.h): for concat the reference projects every key of a batch
 * (W2·h̄_s, S·A·Dk multiply-adds, about S/2 rows' work) before the batch's first row, so a
 * batch's T rows are one unit; dot and general only copy h̄ (half a row's work): rows go to
 * threads one by one. */
int64_t luong_ref_unit(const attn_suite_t *suite, const int64_t *v)
{
    return score_of(suite, v) == LUONG_CONCAT ? v[AX_T] : 1;
}

/* dot and general do not use A: the sweep keeps only the first A of its grid for them (128 on
 * a GPU, 64 on the CPU grid, which has no other); `--axis` values outside the grids still run. */
static int in_sweep(const attn_suite_t *suite, const int64_t *v)
{
    return v[AX_SCORE] == LUONG_CONCAT || (v[AX_A] != 256);
}

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,T=37,S=45,Dq=40,score=0",               /* dot: no multiple of 16 */
    "B=3,T=1,S=1,Dq=8,score=0",                  /* one query, one key */
    "B=2,T=20,S=70,Dq=48,Dk=33,score=1",         /* general, Dq != Dk */
    "B=1,T=17,S=33,Dq=72,Dk=520,score=1",        /* Dk > 512: fused skips */
    "B=1,T=16,S=20,Dq=512,score=0",              /* fused's largest shared-memory use */
    "B=2,T=23,S=50,Dq=30,Dk=20,A=17,score=2",    /* concat */
    NULL,
};

const attn_suite_t luong_suite = {
    .name = "luong",
    .title = "Luong encoder–decoder attention: dot, general or concat scores",
    .naxes = NAXES,
    .axes = luong_axes,
    LUONG_SUITE_FNS,
    .in_sweep = in_sweep,
    /* x = sequence length (S = T in the grid); a panel per (score, Dq): the axes that change
     * the kernels' inner loops. Each (B, A) gets its own set of pictures (docs/plots.md). */
    .plot_axis = "T",
    .plot_panels = "score,Dq",
    .check_shapes = check_shapes,
};
