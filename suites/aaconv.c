/* aaconv — attention-augmented convolution with 2-D relative logits (docs/suites.md), end to
 * end: k×k conv branch, qkv conv, multi-head attention over all output pixels with relative
 * logits, 1×1 output conv, channel concat.
 *
 * Axes: B, Fin (= Fout unless given), Fout, H, W (= H unless given), k, stride, kq (1 or k),
 * Nh, dk, dv (derived from Fout as the contract's sweep says unless given).
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive, tiled and the cuBLAS
 * unfused baseline (f32); tensor-core and fused (bf16, wmma). The convolutions are one straightforward direct-conv kernel shared by
 * every GPU variant; the variants differ in the attention.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "aaconv_ref.h"
#include "cpu_adapters.h"
#include "suite_fields.h"
#include "registry.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "aaconv_kernels.h"
#endif

enum { AX_B, AX_FIN, AX_FOUT, AX_H, AX_W, AX_K, AX_STRIDE, AX_KQ, AX_NH, AX_DK, AX_DV, NAXES };

/* GPU grid: the contract's ranges at concrete points: Fout ∈ {64, 128, 256, 512} (both ends and the
 * doublings between: the widths of ResNet stages), H = W ∈ {7, 14, 32} and σ ∈ {1, 2} as its grid
 * lists them (σ = 2 gives Ho = 4, 7, 16: N from 16 to 1024 keys), B ∈ {1, 8, 64} (latency, a
 * middle, its largest batch): 72 cases. Fin = Fout (the AA block replaces a 3×3 conv of a
 * ResNet stage), k = 3, Nh = 8, kq = 1 (the paper's), dk and dv derived (0.2·Fout, 0.1·Fout).
 * CPU grid (no device): B = 2, Fout ∈ {32, 64}, H ∈ {7, 14}, σ ∈ {1, 2}, kq ∈ {1, 3} (the seed's
 * k×k qkv too): 16 cases; `--sweep` (reference and cpu-f32, default timing) takes about a
 * minute (68 s measured) on the 2-core build machine. */
static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch", 1, 1, 1 << 16, 3, {1, 8, 64}, 1, {2}},
    [AX_FIN] = {"Fin", "input channels (default Fout)", ATTN_UNSET, 1, 1 << 16},
    [AX_FOUT] = {"Fout", "output channels: Fout − dv conv + dv attention", 64, 2, 1 << 16,
                 4, {64, 128, 256, 512}, 2, {32, 64}},
    [AX_H] = {"H", "input height", 14, 1, 1 << 12, 3, {7, 14, 32}, 2, {7, 14}},
    [AX_W] = {"W", "input width (default H; the output map must be square)", ATTN_UNSET, 1,
              1 << 12},
    [AX_K] = {"k", "conv kernel size (odd; padding (k − 1)/2)", 3, 1, 15},
    [AX_STRIDE] = {"stride", "stride σ of both convolutions", 1, 1, 8, 2, {1, 2}, 2, {1, 2}},
    [AX_KQ] = {"kq", "qkv conv kernel: 1 (paper) or k (seed)", 1, 1, 15, 0, {0}, 2, {1, 3}},
    [AX_NH] = {"Nh", "heads (divides dk and dv)", 8, 1, 1024},
    [AX_DK] = {"dk", "key width (default 0.2·Fout rounded to a multiple of Nh)", ATTN_UNSET, 1,
               1 << 16},
    [AX_DV] = {"dv", "value width (default 0.1·Fout rounded to a multiple of Nh)", ATTN_UNSET,
               1, 1 << 16},
};

/* The nearest multiple of Nh to num/10 (halves up), at least Nh. */
static int64_t tenth_to_heads(int64_t num, int64_t Nh)
{
    const int64_t m = (num + 5 * Nh) / (10 * Nh);
    return (m < 1 ? 1 : m) * Nh;
}

/* Fin = Fout, W = H, dk = 0.2·Fout and dv = 0.1·Fout (multiples of Nh) when unset. Errors name
 * the values: k odd (padding (k − 1)/2 keeps the map), kq 1 or k, Nh dividing dk and dv,
 * dv < Fout (the conv branch has Fout − dv >= 1 channels), a square output map (the relative
 * tables are (2·Wo − 1) long and index rows and columns alike), and the per-image sizes the
 * kernels index with int (N², Fout·N, Fin·H·W) below 2^31. */
static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_FIN] == ATTN_UNSET) v[AX_FIN] = v[AX_FOUT];
    if (v[AX_W] == ATTN_UNSET) v[AX_W] = v[AX_H];
    const int64_t Nh = v[AX_NH];
    if (v[AX_DK] == ATTN_UNSET) v[AX_DK] = tenth_to_heads(2 * v[AX_FOUT], Nh);
    if (v[AX_DV] == ATTN_UNSET) v[AX_DV] = tenth_to_heads(v[AX_FOUT], Nh);
    const long long k = v[AX_K], kq = v[AX_KQ], s = v[AX_STRIDE];
    if (k % 2 == 0) {
        snprintf(err, n, "k=%lld must be odd (padding (k−1)/2)", k);
        return -1;
    }
    if (kq != 1 && kq != k) {
        snprintf(err, n, "kq=%lld must be 1 or k=%lld", kq, k);
        return -1;
    }
    if (v[AX_DK] % Nh) {
        snprintf(err, n, "dk=%lld is not divisible by Nh=%lld", (long long)v[AX_DK],
                 (long long)Nh);
        return -1;
    }
    if (v[AX_DV] % Nh) {
        snprintf(err, n, "dv=%lld is not divisible by Nh=%lld", (long long)v[AX_DV],
                 (long long)Nh);
        return -1;
    }
    if (v[AX_DV] >= v[AX_FOUT]) {
        snprintf(err, n, "dv=%lld must be smaller than Fout=%lld (the conv branch has Fout − dv "
                 "channels)", (long long)v[AX_DV], (long long)v[AX_FOUT]);
        return -1;
    }
    const int64_t Ho = aaconv_out_side(v[AX_H], k, s), Wo = aaconv_out_side(v[AX_W], k, s);
    if (Ho < 1 || Wo < 1) {
        snprintf(err, n, "H=%lld, W=%lld are smaller than k=%lld", (long long)v[AX_H],
                 (long long)v[AX_W], k);
        return -1;
    }
    if (Ho != Wo) {
        snprintf(err, n, "the output map must be square: H=%lld, W=%lld, k=%lld, stride=%lld "
                 "give Ho=%lld != Wo=%lld", (long long)v[AX_H], (long long)v[AX_W], k, s,
                 (long long)Ho, (long long)Wo);
        return -1;
    }
    const int64_t N = Ho * Wo;
    if (N * N > INT32_MAX || v[AX_FOUT] * N > INT32_MAX ||
        (2 * v[AX_DK] + v[AX_DV]) * N > INT32_MAX || v[AX_FIN] * v[AX_H] * v[AX_W] > INT32_MAX) {
        snprintf(err, n, "Fin=%lld, Fout=%lld, H=%lld, W=%lld: a per-image size reaches 2^31 "
                 "(N², Fout·N, (2dk+dv)·N, Fin·H·W with N = %lld)", (long long)v[AX_FIN],
                 (long long)v[AX_FOUT], (long long)v[AX_H], (long long)v[AX_W], (long long)N);
        return -1;
    }
    return 0;
}

static int64_t out_side(const int64_t *v) { return aaconv_out_side(v[AX_H], v[AX_K], v[AX_STRIDE]); }

static aaconv_shape_t shape_of(const int64_t *v)
{
    return (aaconv_shape_t){v[AX_B], v[AX_FIN], v[AX_FOUT], v[AX_H], v[AX_W], v[AX_K],
                            v[AX_STRIDE], v[AX_KQ], v[AX_NH], v[AX_DK], v[AX_DV]};
}

enum { IN_X, IN_WC, IN_BC, IN_WQKV, IN_BQKV, IN_WO, IN_BO, IN_REL, NIN };

static aaconv_inputs_t inputs_of(const void *const *in)
{
    return (aaconv_inputs_t){in[IN_X], in[IN_WC], in[IN_BC], in[IN_WQKV],
                             in[IN_BQKV], in[IN_WO], in[IN_BO], in[IN_REL]};
}

static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], Fin = v[AX_FIN], Fout = v[AX_FOUT], k = v[AX_K], kq = v[AX_KQ];
    const int64_t dv = v[AX_DV], Cq = 2 * v[AX_DK] + dv, Ho = out_side(v);
    *L = (attn_layout_t){
        .nin = NIN,
        .in = {[IN_X] = {"x", ATTN_T_FLOAT, 4, {B, Fin, v[AX_H], v[AX_W]}, "bcyx"},
               [IN_WC] = {"wc", ATTN_T_FLOAT, 4, {Fout - dv, Fin, k, k}, "ocyx"},
               [IN_BC] = {"bc", ATTN_T_FLOAT, 1, {Fout - dv}, "o"},
               [IN_WQKV] = {"wqkv", ATTN_T_FLOAT, 4, {Cq, Fin, kq, kq}, "ocyx"},
               [IN_BQKV] = {"bqkv", ATTN_T_FLOAT, 1, {Cq}, "o"},
               [IN_WO] = {"wo", ATTN_T_FLOAT, 2, {dv, dv}, "oc"},
               [IN_BO] = {"bo", ATTN_T_FLOAT, 1, {dv}, "o"},
               [IN_REL] = {"rel", ATTN_T_FLOAT, 3, {2, 2 * Ho - 1, v[AX_DK] / v[AX_NH]}, "trc"}},
        .out = {"y", ATTN_T_FLOAT, 4, {B, Fout, Ho, Ho}, "bcyx"},
        .out_rows = B * Ho * Ho,
    };
}

/* Row of element e of y (B, Fout, Ho, Wo): its pixel, b·N + (oy·Wo + ox). */
static int64_t row_of(const attn_suite_t *suite, const int64_t *v, int64_t e)
{
    const int64_t Ho = out_side(v), N = Ho * Ho;
    return e / (v[AX_FOUT] * N) * N + e % N;
}

/* x ~ N(0, 1); each conv's weights and bias ~ N(0, 1/fan_in) (fan_in = Fin·k², Fin·kq², dv),
 * so every conv output channel is ~N(0, 1) and the logits q·k = dkh^−½·Σ q_c k_c ~N(0, 1);
 * rel_w, rel_h ~ N(0, 1/dkh), so each relative term is O(1) too (the seed draws them N(0, 1)
 * and its q·rel grows with √dkh). */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t Fin = v[AX_FIN], k = v[AX_K], kq = v[AX_KQ], dv = v[AX_DV];
    const int64_t Fc = v[AX_FOUT] - dv, Cq = 2 * v[AX_DK] + dv, dkh = v[AX_DK] / v[AX_NH];
    const double sc = 1.0 / sqrt((double)(Fin * k * k)), sq = 1.0 / sqrt((double)(Fin * kq * kq));
    attn_fill_normal(in[IN_X], (size_t)(v[AX_B] * Fin * v[AX_H] * v[AX_W]), 1.0, seed, 1);
    attn_fill_normal(in[IN_WC], (size_t)(Fc * Fin * k * k), sc, seed, 2);
    attn_fill_normal(in[IN_BC], (size_t)Fc, sc, seed, 3);
    attn_fill_normal(in[IN_WQKV], (size_t)(Cq * Fin * kq * kq), sq, seed, 4);
    attn_fill_normal(in[IN_BQKV], (size_t)Cq, sq, seed, 5);
    attn_fill_normal(in[IN_WO], (size_t)(dv * dv), 1.0 / sqrt((double)dv), seed, 6);
    attn_fill_normal(in[IN_BO], (size_t)dv, 1.0 / sqrt((double)dv), seed, 7);
    attn_fill_normal(in[IN_REL], (size_t)(2 * (2 * out_side(v) - 1) * dkh),
                     1.0 / sqrt((double)dkh), seed, 8);
}

/* reference() and run_cpu_f32 (the cpu-f32 row) over aaconv_ref and aaconv_cpu_f32. */
ATTN_CPU_ADAPTERS(aaconv)

/* Threaded reference (bench/refpool.h): an image's N = Ho·Wo rows are one unit. Before its first
 * row the reference computes q, k, v of all N pixels (every query needs every key):
 * N·(2dk + dv)·Fin·kq² multiply-adds, about 60 rows' work at Fout = Fin = 512 (a row: the conv
 * branch's (Fout − dv)·Fin·k², the attention and the output conv). A sampled image has fewer
 * rows than that, so images go whole to threads while there are enough of them. */
static int64_t ref_unit(const attn_suite_t *suite, const int64_t *v) { const int64_t Ho = out_side(v); return Ho * Ho; }

/* FLOPs (docs/suites.md): 2·B·N·[(Fout − dv)·Fin·k² + (2dk + dv)·Fin·kq²] (convs)
 * + 2·B·N²·(dk + dv) (q·k, P·v) + 2·B·Nh·N·(Ho + Wo)·dkh·2 (relative terms)
 * + 2·B·N·dv² (output conv), N = Ho·Wo. */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    const double B = (double)v[AX_B], Fin = (double)v[AX_FIN], Fout = (double)v[AX_FOUT];
    const double k = (double)v[AX_K], kq = (double)v[AX_KQ], dk = (double)v[AX_DK];
    const double dv = (double)v[AX_DV], Nh = (double)v[AX_NH], Ho = (double)out_side(v);
    const double N = Ho * Ho, dkh = dk / Nh;
    return 2 * B * N * ((Fout - dv) * Fin * k * k + (2 * dk + dv) * Fin * kq * kq) +
           2 * B * N * N * (dk + dv) + 2 * B * Nh * N * (Ho + Ho) * dkh * 2 + 2 * B * N * dv * dv;
}

/* Minimum bytes (the contract's convention): every input, parameter and output once. */
static double bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    attn_layout_t L;
    layout(suite, v, &L);
    double n = 0.0;
    for (int i = 0; i <= L.nin; i++) { /* the inputs, then (i = nin) the output */
        const attn_tensor_t *t = i < L.nin ? &L.in[i] : &L.out;
        double e = 1.0;
        for (int d = 0; d < t->ndim; d++) e *= (double)t->shape[d];
        n += e;
    }
    return (double)s * n;
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees exactly the inputs the variant saw; what remains is the variant's own
 * arithmetic along the chain x → conv outputs (Fin·k² and Fin·kq²-term sums) → logits (dkh-term
 * sums; O(1), so an absolute logit error is a relative error of its weight) → softmax and P·v
 * (N-term sums) → 1×1 conv (dv-term sums). Rounding errors of an n-term sum grow like √n·u (a
 * random walk), so the error relative to max|y| is about u·(√(Fin·k²) + √(Fin·kq²) + √dkh + √N
 * + √dv); expf and the division add a few ulps. f32: 16·u·(that + 8), mhsa's and halo's 16×
 * margin: 5.5e-5 at the default case, 1.3e-4 at the sweep's largest (Fin = 512, N = 1024).
 * cpu-f32 and the f32 GPU variants under emulation measure 1–2% of it; the planted bugs in
 * tests/test_aaconv.c exceed it by more than 100×.
 * bf16 (tensor-core, fused): x, the parameters and y are stored in bf16 (input rounding does not count: the
 * reference sees the rounded inputs); the variant rounds Q, K, V to bf16 when it stages them for
 * the MMAs, P before P·V (tensor-core: S stays fp32), and y once after the bias (fp32 accumulation everywhere else, and the
 * relative logits in fp32). Each rounding is a relative error <= u = 2^-8 that reaches y through
 * sums of random sign (dkh, N, dv terms), so it stays near u per stage: about 3·u relative to
 * max|y|. Measured under emulation: 0.4–0.9·u on the check shapes (tests/test_conformance.c). We accept
 * 8·u = 2^-5 ≈ 3.1% (halo's bound for the same roundings), 8× the worst measured.
 * f64 (the reference as a variant): 64·u. */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_F64) return 64.0 * u;
    if (t == ATTN_BF16) return 8.0 * u;
    const double Fin = (double)v[AX_FIN], k = (double)v[AX_K], kq = (double)v[AX_KQ];
    const double Ho = (double)out_side(v);
    return 16.0 * u * (sqrt(Fin * k * k) + sqrt(Fin * kq * kq) +
                       sqrt((double)(v[AX_DK] / v[AX_NH])) + Ho + sqrt((double)v[AX_DV]) + 8.0);
}

#ifdef ATTN_HAVE_CUDA
static aaconv_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                   const void *const *in)
{
    return (aaconv_problem_t){(int)v[AX_B], (int)v[AX_FIN], (int)v[AX_FOUT], (int)v[AX_H],
                              (int)v[AX_W], (int)v[AX_K], (int)v[AX_STRIDE], (int)v[AX_KQ],
                              (int)v[AX_NH], (int)v[AX_DK], (int)v[AX_DV]};
}

static aaconv_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                   const void *const *in, void *out)
{
    return (aaconv_tensors_t){in[IN_X], in[IN_WC], in[IN_BC], in[IN_WQKV], in[IN_BQKV],
                              in[IN_WO], in[IN_BO], in[IN_REL], out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T aaconv_problem_t
#define ATTN_TENSORS_T aaconv_tensors_t
#endif
#include "gpu_adapters.h"

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/aaconv/aaconv_ref.c",
     "CPU reference in double (the check's ground truth), timed; q, k, v once per pixel",
     .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/aaconv/aaconv_ref.c",
     "CPU float32: direct convs, relative logits per offset, two-pass softmax per query",
     .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/aaconv/naive.cu",
     "convs: direct-conv kernels; attention: one thread per (head, query), K/V from global",
     GPU(aaconv_naive_launch, aaconv_naive_workspace, NULL)},
    {"tiled", ATTN_GPU, ATTN_F32, 0, "kernels/aaconv/tiled.cu",
     "convs: direct-conv kernels; attention: K/V tiles in smem, online softmax, rel per offset",
     GPU(aaconv_tiled_launch, aaconv_tiled_workspace, aaconv_tiled_supports)},
    {"tensor-core", ATTN_GPU, ATTN_BF16, 1, "kernels/aaconv/tensor_core.cu",
     "convs: direct-conv kernels; attention: wmma QKᵀ, rel + softmax kernel, wmma PV",
     GPU(aaconv_tensor_core_launch, aaconv_tensor_core_workspace,
         aaconv_tensor_core_supports)},
    {"fused", ATTN_GPU, ATTN_BF16, 1, "kernels/aaconv/fused.cu",
     "convs: direct-conv kernels; attention: one wmma kernel, rel added by index, online softmax",
     GPU(aaconv_fused_launch, aaconv_fused_workspace, aaconv_fused_supports)},
    {"cublas-f32", ATTN_GPU, ATTN_F32, -1, "kernels/aaconv/cublas.cu",
     "convs: direct-conv kernels; attention: cuBLAS QKᵀ and PV GEMMs, rel + softmax row kernel",
     GPU(aaconv_cublas_f32_launch, aaconv_cublas_f32_workspace, NULL)},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,Fout=32,H=7",                                          /* N = 49: partial tiles */
    "B=1,Fin=6,Fout=40,H=9,stride=2,kq=3,Nh=2",                 /* k×k qkv, stride 2, dvh = 2 */
    "B=1,Fin=4,Fout=24,H=6,W=5,stride=2,k=5,Nh=2,dk=6,dv=4",    /* H != W, square output */
    "B=1,Fin=8,Fout=64,H=11,Nh=4,dk=80,dv=40",                  /* dkh = 20, dvh = 10, N = 121 */
    "B=1,Fin=8,Fout=64,H=11,Nh=4,dk=48,dv=40",                  /* dkh = 12, dvh = 10: fused runs */
    "B=1,Fin=4,Fout=48,H=5,Nh=1,dk=40,dv=8",                    /* dkh = 40: tiled skips */
    NULL,
};

const attn_suite_t aaconv_suite = {
    .name = "aaconv",
    .title = "Attention-augmented convolution with 2-D relative logits",
    ATTN_SUITE_FIELDS,
    .row_of = row_of,
    .ref_unit = ref_unit,
    /* x = input side H (N = Ho² keys grows with it); one panel per stride and Fout (the width of
     * every GEMM-like loop). B is not a panel: rows differing only in B fall on one point and
     * the last in grid order (B = 64) is drawn. */
    .plot_axis = "H",
    .plot_panels = "stride,Fout",
};
