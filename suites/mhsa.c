/* mhsa — scaled dot-product multi-head attention, the core (docs/suites.md "mhsa").
 *
 * Axes: B, H, N (= Nq), Nk, d, causal, kvpad, the two sweep constants of docs/suites.md, tokens
 * (= B·N) and D (= H·d), from which B and H are derived when not given, and Hkv (grouped K/V
 * heads), align (the causal diagonal: top-left or bottom-right), window, and splits (fused-splitkv
 * only: its key split count).
 * Variants: the CPU reference (f64) and a CPU f32 pass; on the GPU naive and tiled (f32),
 * tensor-core and fused (bf16), the split-KV decode kernel (bf16), and the cuBLAS unfused
 * baseline in f32 and bf16.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mhsa_ref.h"
#include "floors.h"
#include "registry.h"
#include "suite_fields.h"
#include "util.h"

#ifdef ATTN_HAVE_CUDA
#include "mhsa_kernels.h"
#endif

enum {
    AX_B, AX_H, AX_N, AX_NK, AX_D, AX_CAUSAL, AX_KVPAD, AX_TOKENS, AX_DMODEL,
    AX_HKV, AX_ALIGN, AX_WINDOW, AX_SPLITS, NAXES
};

/* Decode: N <= DECODE_N queries against a longer K/V cache (Nk > N). tokens (= B·N) is a prefill
 * notion: a decode case takes B = max(1, DECODE_TOKENS / N) unless B is given (a serving batch,
 * 16 at N = 1, where tokens = 16384 would mean 16384 sequences), and tokens records B·N. */
#define DECODE_N 16
#define DECODE_TOKENS 16
#define DECODE_NK 32768 /* the GPU sweep's cache length */

static const attn_axis_t axes[NAXES] = {
    [AX_B] = {"B", "batch (default max(1, tokens / N))", ATTN_UNSET, 1, 1 << 16},
    [AX_H] = {"H", "heads (default max(1, D / d))", ATTN_UNSET, 1, 4096},
    [AX_N] = {"N", "query length Nq", 512, 1, 1 << 20,
              11, {1, 2, 4, 8, 16, 512, 1024, 2048, 4096, 8192, 16384},
              6, {1, 4, 128, 256, 512, 1000}},
    [AX_NK] = {"Nk", "key/value length (default and 0: N)", ATTN_UNSET, 0, 1 << 20,
               2, {0, DECODE_NK}, 2, {0, 2048}},
    [AX_D] = {"d", "head dim", 64, 1, 256, 2, {64, 128}, 2, {32, 64}},
    [AX_CAUSAL] = {"causal", "1: key j > query i + diag masked (align)", 0, 0, 1, 2, {0, 1}, 2,
                   {0, 1}},
    [AX_KVPAD] = {"kvpad", "1: per-batch key lengths, last batch 0", 0, 0, 1},
    [AX_TOKENS] = {"tokens", "target B·N when B is derived", ATTN_UNSET, 1, INT64_C(1) << 32,
                   1, {16384}, 1, {1024}},
    [AX_DMODEL] = {"D", "target H·d when H is derived", ATTN_UNSET, 1, 1 << 20, 1, {2048}, 1, {256}},
    [AX_HKV] = {"Hkv", "K/V heads, H % Hkv == 0 (default and 0: H)", ATTN_UNSET, 0, 4096,
                3, {0, 8, 1}, 1, {0}},
    [AX_ALIGN] = {"align", "causal diagonal: 0 top-left, 1 bottom-right (diag = Nk - N)", 0, 0, 1,
                  2, {0, 1}, 2, {0, 1}},
    [AX_WINDOW] = {"window", "0: none; w: keys within w - 1 of the diagonal", 0, 0, 1 << 20},
    [AX_SPLITS] = {"splits", "fused-splitkv key splits (0: chosen to fill the GPU)", 0, 0, 1024},
};

/* Default B·N and H·d of a case given neither B/tokens nor H/D: small enough for a CPU. */
#define DEFAULT_TOKENS 2048
#define DEFAULT_DMODEL 512

/* Derive one factor of `prod = a·b` (e.g. tokens = B·N). When a is unset it becomes
 * max(1, ⌊prod / b⌋) and prod is then recorded as the actual a·b (N = 1000 with tokens = 16384
 * gives B = 16, tokens = 16000); when a, b and prod are all given they must agree. */
static int derive_product(int64_t *prod, int64_t *a, int64_t b, int64_t dflt, const char *pn,
                          const char *an, const char *bn, char *err, size_t n)
{
    if (*a != ATTN_UNSET && *prod != ATTN_UNSET && *a * b != *prod) {
        snprintf(err, n, "%s·%s mismatch: %s=%lld × %s=%lld = %lld but %s=%lld", an, bn, an,
                 (long long)*a, bn, (long long)b, (long long)(*a * b), pn, (long long)*prod);
        return -1;
    }
    if (*a == ATTN_UNSET) {
        const int64_t p = *prod != ATTN_UNSET ? *prod : dflt;
        *a = p / b > 0 ? p / b : 1;
    }
    *prod = *a * b;
    return 0;
}

static int derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n)
{
    if (v[AX_NK] == 0) v[AX_NK] = ATTN_UNSET; /* 0: Nk = N (the sweep's prefill) */
    if (v[AX_NK] != ATTN_UNSET && v[AX_N] <= DECODE_N && v[AX_NK] > v[AX_N]) /* decode */
        v[AX_TOKENS] = v[AX_B] != ATTN_UNSET ? v[AX_B] * v[AX_N] : DECODE_TOKENS;
    if (derive_product(&v[AX_TOKENS], &v[AX_B], v[AX_N], DEFAULT_TOKENS, "tokens", "B", "N", err,
                       n) ||
        derive_product(&v[AX_DMODEL], &v[AX_H], v[AX_D], DEFAULT_DMODEL, "D", "H", "d", err, n))
        return -1;
    if (v[AX_NK] == ATTN_UNSET) v[AX_NK] = v[AX_N];
    if (v[AX_HKV] == ATTN_UNSET || v[AX_HKV] == 0) v[AX_HKV] = v[AX_H]; /* 0: the sweep's MHA */
    if (v[AX_H] % v[AX_HKV]) {
        snprintf(err, n, "H=%lld is not a multiple of Hkv=%lld (each K/V head serves H/Hkv query "
                 "heads)", (long long)v[AX_H], (long long)v[AX_HKV]);
        return -1;
    }
    return 0;
}

/* The sweep: decode (N <= DECODE_N) against the long cache only, prefill (Nk = N) otherwise;
 * bottom-right alignment only where it differs from top-left and means something, for causal
 * decode, where it is the only alignment swept (a top-left decode query sees key 0 alone). */
static int in_sweep(const attn_suite_t *suite, const int64_t *v)
{
    const int decode = v[AX_N] <= DECODE_N;
    if (decode != (v[AX_NK] != v[AX_N])) return 0;
    if (decode && v[AX_CAUSAL]) return v[AX_ALIGN] == 1;
    return v[AX_ALIGN] == 0;
}

/* The causal diagonal of a case: query i sits on key i + diag. */
static int64_t diag_of(const int64_t *v) { return v[AX_ALIGN] ? v[AX_NK] - v[AX_N] : 0; }

static mhsa_shape_t shape_of(const int64_t *v)
{
    return (mhsa_shape_t){v[AX_B], v[AX_H], v[AX_N], v[AX_NK], v[AX_D], (int)v[AX_CAUSAL],
                          v[AX_HKV], diag_of(v), v[AX_WINDOW]};
}

enum { IN_Q, IN_K, IN_V, IN_KVLEN };

static void layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L)
{
    const int64_t B = v[AX_B], H = v[AX_H], Nq = v[AX_N], Nk = v[AX_NK], d = v[AX_D];
    const int64_t Hkv = v[AX_HKV];
    *L = (attn_layout_t){
        .nin = 4,
        .in = {{"q", ATTN_T_FLOAT, 4, {B, H, Nq, d}, "bhic"},
               {"k", ATTN_T_FLOAT, 4, {B, Hkv, Nk, d}, "bgjc"},
               {"v", ATTN_T_FLOAT, 4, {B, Hkv, Nk, d}, "bgjc"},
               {"kv_len", ATTN_T_INT32, 1, {B}, "b"}},
        .out = {"o", ATTN_T_FLOAT, 4, {B, H, Nq, d}, "bhic"},
        .out_rows = B * H * Nq,
    };
}

/* q, k, v ~ N(0, 1), so logits q·k/√d are ~N(0, 1). kvpad: batch b keeps a seeded length in
 * [1, Nk], and the last batch (B ≥ 2) keeps none, so fully masked rows are always exercised. */
static void generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in)
{
    const int64_t B = v[AX_B], nq = B * v[AX_H] * v[AX_N] * v[AX_D];
    const int64_t nk = B * v[AX_HKV] * v[AX_NK] * v[AX_D];
    attn_fill_normal(in[IN_Q], (size_t)nq, 1.0, seed, 1);
    attn_fill_normal(in[IN_K], (size_t)nk, 1.0, seed, 2);
    attn_fill_normal(in[IN_V], (size_t)nk, 1.0, seed, 3);
    int32_t *len = in[IN_KVLEN];
    attn_rng_t r;
    attn_rng_seed(&r, seed, 4);
    for (int64_t b = 0; b < B; b++) {
        len[b] = (int32_t)v[AX_NK];
        if (v[AX_KVPAD]) len[b] = (b == B - 1 && B > 1) ? 0 : 1 + (int32_t)(attn_rng_u64(&r) % (uint64_t)v[AX_NK]);
    }
}

static const int32_t *kv_len_of(const int64_t *v, const void *const *in)
{
    return v[AX_KVPAD] ? in[IN_KVLEN] : NULL;
}

static void reference(const attn_suite_t *suite, const int64_t *v, const void *const *in, double *out, const uint8_t *sel)
{
    mhsa_shape_t s = shape_of(v);
    mhsa_ref(&s, in[IN_Q], in[IN_K], in[IN_V], kv_len_of(v, in), out, sel);
}

/* The heatmaps' weights (--dump): P of one head, batch 0 and head 0, (Nq, Nk); a full sweep case
 * holds B·H of them, and one shows the masks (causal, padding) as well as all. */
static double *weights(const attn_suite_t *suite, const int64_t *v, const void *const *in,
                       attn_tensor_t *t)
{
    const mhsa_shape_t s = shape_of(v);
    *t = (attn_tensor_t){.name = "p", .kind = ATTN_T_FLOAT, .ndim = 2, .shape = {s.Nq, s.Nk},
                         .dims = "ij"};
    double *p = malloc((size_t)(s.Nq * s.Nk) * sizeof *p);
    for (int64_t i = 0; p && i < s.Nq; i++)
        mhsa_ref_probs(&s, in[IN_Q], in[IN_K], kv_len_of(v, in), 0, 0, i, p + i * s.Nk);
    return p;
}

/* The (query, key) pairs the causal and window masks leave visible (key padding aside). */
static double visible_pairs(const int64_t *v)
{
    const mhsa_shape_t s = shape_of(v);
    if (!s.causal && !s.window) return (double)s.Nq * (double)s.Nk;
    double n = 0;
    for (int64_t i = 0; i < s.Nq; i++) {
        int64_t lo, hi;
        mhsa_ref_keys(&s, NULL, 0, i, &lo, &hi);
        n += (double)(hi - lo);
    }
    return n;
}

/* FLOPs: 4·B·H·d per visible (query, key) pair (QKᵀ and PV): 4·B·H·Nq·Nk·d without a mask;
 * causal square, Nq(Nq+1)/2 pairs, is the usual halving; a window counts its band only. */
static double flops(const attn_suite_t *suite, const int64_t *v)
{
    return 4.0 * (double)v[AX_B] * (double)v[AX_H] * (double)v[AX_D] * visible_pairs(v);
}

/* Minimum bytes: Q and O (Nq·d per query head) and K, V (Nk·d per K/V head), once. */
static double bytes(const attn_suite_t *suite, const int64_t *v, int s)
{
    return (double)s * (double)v[AX_B] * (double)v[AX_D] *
           (2.0 * (double)v[AX_H] * (double)v[AX_N] + 2.0 * (double)v[AX_HKV] * (double)v[AX_NK]);
}

/* Accepted max|out − ref| / max|ref|.
 * The reference sees exactly the (rounded) inputs the variant saw, so input rounding does not
 * count; what remains is the variant's own arithmetic.
 *  f32: the logits are d-term dot products, the softmax sum and P·V are Nk-term sums, all in
 *  fp32. Rounding errors of an n-term sum grow like √n·u in practice (a random walk, not the
 *  n·u worst case), so the error is ≈ u·(√d + √Nk) relative to |O| ≤ max|v|; exp/expf and the
 *  division add a few ulps. We accept 16·u·(√d + √Nk + 8): a 16× margin over the typical error,
 *  still ~1e-4 at Nk = 16k, far below any indexing or masking bug.
 *  bf16, f16: P is rounded to the 16-bit type before P·V (relative error ≤ u per term) and O
 *  is stored in it (≤ u relative); fp32 accumulation is negligible beside these. Two roundings
 *  of ≤ u each, with a 2× margin for the worst element: 4·u, i.e. 2^-6 ≈ 1.6% for bf16
 *  (u = 2^-8) and 2^-9 ≈ 0.2% for f16 (u = 2^-11). fp32's u = 2^-24 stays 2^13 below f16's,
 *  so f16's margin is bf16's.
 *  f16 only, its range: P entries below 2^-14 are subnormal and err by up to 2^-25 absolute, not
 *  relative. The unfused rows store the normalised P (entries ~1/Nk), so most are subnormal
 *  once Nk > 2^14: with these N(0, 1) logits, ~Nk errors of spread 2^-25/√3 times v ~ N(0, 1)
 *  sum to ≈ 1.7e-8·√Nk, against |O| ~ √(e/Nk): ≈ 1.0e-8·Nk relative. We add 6× that, 2^-24·Nk
 *  (1.8e-4 at Nk = 3000, 1e-3 at 16k; beyond Nk ≈ 230k f16 is looser than bf16). The fused rows
 *  keep P unnormalised (row max 1, an entry subnormal only when its scaled logit lies 9.7 below the max) and need none of it.
 *  Overflow cannot happen at any shape: inputs are N(0, 1) (far below f16's 65504), S and the
 *  softmax stay fp32, P is in [0, 1] and O is a convex combination of V rows. */
static double tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t)
{
    const double u = attn_unit_roundoff(t);
    if (t == ATTN_BF16) return 4.0 * u;
    if (t == ATTN_F16) return 4.0 * u + 0x1p-24 * (double)v[AX_NK];
    if (t == ATTN_F64) return 64.0 * u;
    return 16.0 * u * (sqrt((double)v[AX_D]) + sqrt((double)v[AX_NK]) + 8.0);
}

/* CPU variants. */
static int run_cpu_f32(const attn_suite_t *suite, const attn_variant_t *var, const int64_t *v,
                       const void *const *in, void *out, void *ws, void *st)
{
    (void)ws, (void)st;
    mhsa_shape_t s = shape_of(v);
    mhsa_cpu_f32(&s, in[IN_Q], in[IN_K], in[IN_V], kv_len_of(v, in), out);
    return 0;
}

#ifdef ATTN_HAVE_CUDA
static mhsa_problem_t problem_of(const attn_suite_t *suite, const int64_t *v,
                                 const void *const *in)
{
    return (mhsa_problem_t){.B = (int)v[AX_B], .H = (int)v[AX_H], .Nq = (int)v[AX_N],
                            .Nk = (int)v[AX_NK], .d = (int)v[AX_D], .causal = (int)v[AX_CAUSAL],
                            .scale = (float)(1.0 / sqrt((double)v[AX_D])),
                            .kv_len = in ? kv_len_of(v, in) : NULL, .Hkv = (int)v[AX_HKV],
                            .diag = (int)diag_of(v), .window = (int)v[AX_WINDOW],
                            .splits = (int)v[AX_SPLITS]};
}

static mhsa_tensors_t tensors_of(const attn_suite_t *suite, const int64_t *v,
                                 const void *const *in, void *out)
{
    return (mhsa_tensors_t){in[IN_Q], in[IN_K], in[IN_V], out};
}

/* One adapter for every GPU row (suites/gpu_adapters.h). */
#define ATTN_PROBLEM_T mhsa_problem_t
#define ATTN_TENSORS_T mhsa_tensors_t
#endif
#include "gpu_adapters.h"

/* The f16 rows in a sweep: one (d, causal) panel, d = 64 non-causal MHA prefill, every N of the
 * grid (GPU: 512 .. 16384; CPU grid: 128 .. 1000), beside the bf16 rows it repeats on f16. */
static int f16_in_sweep(const attn_suite_t *suite, const attn_variant_t *x, const int64_t *v)
{
    (void)suite, (void)x;
    return v[AX_D] == 64 && !v[AX_CAUSAL] && v[AX_HKV] == v[AX_H] && v[AX_NK] == v[AX_N];
}

/* The SASS budgets of the fused kernel's instantiations for element type E (the bf16 and f16
 * rows: the same code but for the mma's type and the conversions, so the same limits).
 * fused: the floors of the steady (full-tile) loop, per warp: instr/mma <= 5.5 at d = 64 and
 * <= 4.5 at d = 128, ldsm/mma <= 0.35, no spills (bf16: 4.71 / 4.20 and 0.25 / 0.34 measured) */
#define E_bf16 "__nv_bfloat16"
#define E_f16 "__half"
#define BR64_BUDGET(e)                                                                          \
    "mhsa_fused_kernel<" E_##e ", 64, 1, 64, 4>: threads=128 dsmem=46080 spills=0; "            \
    "mhsa_fused_kernel<" E_##e ", 128, 1, 64, 8>: threads=128 dsmem=87040 spills=0"
#define FUSED_BUDGET(e)                                                                         \
    "mhsa_fused_kernel<" E_##e ", 64, 2, 64, 4>: threads=128 dsmem=55296 instr/mma<=5.5 "      \
    "ldsm/mma<=0.35 spills=0; "                                                                 \
    "mhsa_fused_kernel<" E_##e ", 128, 2, 32, 2>: threads=128 dsmem=69632 instr/mma<=4.5 "     \
    "ldsm/mma<=0.35 spills=0"

/* fused-splitkv, both element types (the same code but for the mma's type): instructions per
 * K/V byte. One m16 tile's loop does 32 MMAs per 8 KiB tile at d = 64 and 64 per 16 KiB at
 * d = 128, so instr/mma <= 13 is <= 0.051 instruction a byte (bf16: 12.06 / 9.78 measured on the
 * steady, mask-free path; the CUDA-core kernel before took ~0.37 at G = 4); no spills. */
#define SPLITKV_BUDGET                                                                          \
    "mhsa_splitkv_kernel<[^,]+, 1, 64>: threads=32 instr/mma<=13 spills=0; "                   \
    "mhsa_splitkv_kernel<[^,]+, 1, 128>: threads=32 instr/mma<=10.5 spills=0; "                \
    "mhsa_splitkv_kernel<[^,]+, 4, 64>: threads=128 instr/mma<=9 spills=0; "                   \
    "mhsa_splitkv_kernel<[^,]+, 4, 128>: threads=128 instr/mma<=6.5 spills=0; "                \
    "mhsa_splitkv_combine_kernel: spills=0"

static const attn_variant_t variants[] = {
    {"reference", ATTN_CPU, ATTN_F64, -1, "reference/mhsa/mhsa_ref.c",
     "CPU reference in double (the check's ground truth), timed", .run = attn_run_reference},
    {"cpu-f32", ATTN_CPU, ATTN_F32, -1, "reference/mhsa/mhsa_ref.c",
     "CPU float32, one pass, online softmax", .run = run_cpu_f32},
    {"naive", ATTN_GPU, ATTN_F32, 0, "kernels/mhsa/naive.cu",
     "one thread per query row, all from global memory",
     GPU(mhsa_naive_launch, NULL, NULL)},
    {"tiled", ATTN_GPU, ATTN_F32, 0, "kernels/mhsa/tiled.cu",
     "K/V tiles in shared memory, online softmax, CUDA cores",
     GPU(mhsa_tiled_launch, NULL, mhsa_tiled_supports)},
    {"tensor-core", ATTN_GPU, ATTN_BF16, 1, "kernels/mhsa/tensor_core.cu",
     "wmma S = QKᵀ, softmax, wmma O = PV: three kernels",
     GPU(mhsa_tensor_core_launch, mhsa_tensor_core_workspace,
         mhsa_tensor_core_supports)},
    {"fused-br64", ATTN_GPU, ATTN_BF16, 1, "kernels/mhsa/fused.cu",
     "flash-style single pass, mma.sync: 64-row query tiles, 16 rows a warp, Q in registers",
     GPU(mhsa_fused_br64_launch, NULL, mhsa_fused_supports), .sass_budget = BR64_BUDGET(bf16)},
    {"fused", ATTN_GPU, ATTN_BF16, 1, "kernels/mhsa/fused.cu",
     "fused at FlashAttention-2's shape: 128-row tiles, each K/V fragment feeds two m16 tiles",
     GPU(mhsa_fused_launch, NULL, mhsa_fused_supports), .sass_budget = FUSED_BUDGET(bf16)},
    {"fused-wgmma", ATTN_GPU, ATTN_BF16, 1, "kernels/mhsa/fused_wgmma.cu",
     "Hopper wgmma: two warpgroups x 64 rows, 128-key tiles in 128B-swizzled smem, S = QKᵀ "
     "overlapping the softmax; sm_90a only",
     GPU(mhsa_fused_wgmma_launch, NULL, mhsa_fused_wgmma_supports),
     /* per HGMMA (a warp's quarter of a wgmma) in the steady loop: both wgmmas in it, no
      * spills (40.9 / 36.1 instr per HGMMA measured at d = 64 / 128) */
     .sass_budget = "mhsa_fused_wgmma_kernel<64, 128>: threads=256 dsmem=82944 mma>=12 "
                    "instr/mma<=43 spills=0; "
                    "mhsa_fused_wgmma_kernel<128, 128>: threads=256 dsmem=164864 mma>=16 "
                    "instr/mma<=38 spills=0"},
    {"fused-wgmma-tma", ATTN_GPU, ATTN_BF16, 1, "kernels/mhsa/fused_wgmma.cu",
     "fused-wgmma fed by TMA: a producer warpgroup (setmaxnreg 24) loads Q, K, V into mbarrier "
     "stages for two consumer warpgroups (setmaxnreg 240); sm_90a only",
     GPU(mhsa_fused_wgmma_tma_launch, NULL, mhsa_fused_wgmma_supports),
     /* the consumers' steady loop, per HGMMA: no copy addressing left in it (32.8 / 38.5
      * instr per HGMMA measured at d = 128 / 64); 168 registers at entry, 384 threads */
     .sass_budget = "mhsa_fused_wgmma_tma_kernel<64, 128, false>: threads=384 dsmem=83032 "
                    "mma>=12 instr/mma<=40 spills=0; "
                    "mhsa_fused_wgmma_tma_kernel<128, 128, false>: threads=384 dsmem=164952 "
                    "mma>=16 instr/mma<=34 spills=0"},
    {"fused-wgmma-tma-pp", ATTN_GPU, ATTN_BF16, 1, "kernels/mhsa/fused_wgmma.cu",
     "fused-wgmma-tma with the consumer warpgroups issuing their wgmmas in turn (FA3's "
     "ping-pong: one's softmax under the other's S and P·V); sm_90a only",
     GPU(mhsa_fused_wgmma_tma_pp_launch, NULL, mhsa_fused_wgmma_supports),
     /* the turn's wait and arrival on top of fused-wgmma-tma's loop (34.0 / 40.0 measured) */
     .sass_budget = "mhsa_fused_wgmma_tma_kernel<64, 128, true>: threads=384 dsmem=83032 "
                    "mma>=12 instr/mma<=41 spills=0; "
                    "mhsa_fused_wgmma_tma_kernel<128, 128, true>: threads=384 dsmem=164952 "
                    "mma>=16 instr/mma<=35 spills=0"},
    {"fused-splitkv", ATTN_GPU, ATTN_BF16, 1, "kernels/mhsa/splitkv.cu",
     "decode: a K/V head's G·Nq query rows packed in m16 tiles (K/V read once per group), "
     "mma.sync, keys split across CTAs, log-sum-exp combine",
     GPU(mhsa_splitkv_launch, mhsa_splitkv_workspace, mhsa_splitkv_supports),
     .sass_budget = SPLITKV_BUDGET},
    {"fused-splitkv-f16", ATTN_GPU, ATTN_F16, 1, "kernels/mhsa/splitkv.cu",
     "fused-splitkv on f16 data: mma.sync .f16, the same packing and splits",
     GPU(mhsa_splitkv_f16_launch, mhsa_splitkv_workspace, mhsa_splitkv_supports),
     .sass_budget = SPLITKV_BUDGET},
    {"cublas-f32", ATTN_GPU, ATTN_F32, -1, "kernels/mhsa/cublas.cu",
     "unfused baseline: cuBLAS fp32 GEMMs + softmax kernel",
     GPU(mhsa_cublas_f32_launch, mhsa_cublas_f32_workspace, NULL)},
    {"cublas-bf16", ATTN_GPU, ATTN_BF16, -1, "kernels/mhsa/cublas.cu",
     "unfused baseline: cuBLAS bf16 GEMMs (fp32 S) + softmax kernel",
     GPU(mhsa_cublas_bf16_launch, mhsa_cublas_bf16_workspace, NULL)},
    {"cublas-bf16-bf16s", ATTN_GPU, ATTN_BF16, -1, "kernels/mhsa/cublas.cu",
     "unfused baseline: cuBLAS bf16 GEMMs with bf16 S (PyTorch's math path) + softmax kernel",
     GPU(mhsa_cublas_bf16s_launch, mhsa_cublas_bf16s_workspace, NULL)},
    /* f16: the same kernels on IEEE binary16 data (mma/wmma .f16, CUDA_R_16F), a few sweep
     * points each (f16_in_sweep) */
    {"tensor-core-f16", ATTN_GPU, ATTN_F16, 1, "kernels/mhsa/tensor_core.cu",
     "tensor-core on f16 data: wmma f16 S = QKᵀ, softmax (f16 P), wmma O = PV",
     GPU(mhsa_tensor_core_f16_launch, mhsa_tensor_core_workspace, mhsa_tensor_core_supports),
     .in_sweep = f16_in_sweep},
    {"fused-br64-f16", ATTN_GPU, ATTN_F16, 1, "kernels/mhsa/fused.cu",
     "fused-br64 on f16 data: mma.sync .f16, 64-row query tiles",
     GPU(mhsa_fused_br64_f16_launch, NULL, mhsa_fused_supports), .sass_budget = BR64_BUDGET(f16),
     .in_sweep = f16_in_sweep},
    {"fused-f16", ATTN_GPU, ATTN_F16, 1, "kernels/mhsa/fused.cu",
     "fused on f16 data: mma.sync .f16, FlashAttention-2's 128-row tiles",
     GPU(mhsa_fused_f16_launch, NULL, mhsa_fused_supports), .sass_budget = FUSED_BUDGET(f16),
     .in_sweep = f16_in_sweep},
    {"cublas-f16", ATTN_GPU, ATTN_F16, -1, "kernels/mhsa/cublas.cu",
     "unfused baseline: cuBLAS f16 GEMMs (fp32 S) + softmax kernel (f16 P)",
     GPU(mhsa_cublas_f16_launch, mhsa_cublas_bf16_workspace, NULL), .in_sweep = f16_in_sweep},
};

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "N=1000,d=64,D=128,tokens=1000",                       /* not a multiple of any tile */
    "N=17,d=128,D=128,tokens=34",                          /* one partial tile */
    "N=1,d=64,D=64,tokens=2",                              /* one query */
    "B=3,N=130,d=64,D=128,tokens=390,causal=1,kvpad=1",    /* last batch fully padded */
    "N=70,Nk=200,d=64,D=64,tokens=140,causal=1",           /* Nk > N, causal */
    "N=200,Nk=33,d=32,D=64,tokens=200",                    /* Nk < N */
    "N=65,Nk=63,d=64,D=128,tokens=130",                    /* one past and one short of a tile */
    "B=4,N=129,d=128,D=256,tokens=516,kvpad=1",            /* d = 128 with key padding */
    "N=1,d=64,D=64,tokens=2,causal=1",                     /* one causal query */
    "N=256,d=32,D=256,tokens=256",                         /* d = 32: fused does not take it */
    "N=256,d=128,D=512,tokens=256",                        /* d = 128, four heads */
    "N=1000,d=128,D=256,tokens=1000,causal=1",             /* d = 128, long and causal */
    "B=2,N=300,Nk=1000,d=64,D=128,tokens=600,kvpad=1,causal=1", /* padding, causal, Nk > N */
    "N=77,Nk=1000,d=128,D=256,tokens=77,causal=1",         /* few queries, many keys */
    "N=1000,Nk=77,d=64,D=128,tokens=1000",                 /* many queries, few keys */
    "B=2,N=1,Nk=1000,d=64,D=256,Hkv=1,causal=1,align=1",   /* MQA decode, bottom-right */
    "B=2,N=5,Nk=333,d=128,D=512,Hkv=2,causal=1,align=1",   /* GQA groups of 2, Nq = 5 */
    "B=3,N=16,Nk=700,d=64,D=256,Hkv=1,causal=1,align=1,kvpad=1", /* decode, padded */
    "N=100,Nk=60,d=64,D=128,tokens=100,causal=1,align=1",  /* bottom-right, Nq > Nk: rows 0..39
                                                              see no key */
    "N=200,d=64,D=128,tokens=200,causal=1,window=37",      /* causal window */
    "N=90,Nk=150,d=32,D=128,tokens=90,Hkv=2,align=1,window=20", /* two-sided window off the
                                                                  main diagonal, d = 32 */
    "B=2,N=3,Nk=3000,d=64,D=64,splits=7",                  /* a split count that does not
                                                              divide the keys */
    NULL,
};

/* Speed floors (bench/floors.h), judged by `attnbench floors` on the rows of GPU runs. */
/* The sweep point of the mhsa grid: B·N = 16384 tokens, H·d = 2048, no key padding. */
#define MHSA_SWEEP "tokens=16384 D=2048 kvpad=0"
static const attn_floor_t floors[] = {
    {.name = "mhsa-fused/flash",
     .num = ATTN_FLOOR_OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("sdpa-flash"),
     .where = "N=4096,8192 d=64,128 causal=0 " MHSA_SWEEP,
     .min = 1.0,
     .why = "a flash-style kernel on mma.sync must at least match PyTorch's FlashAttention "
            "backend on long non-causal sequences"},
    {.name = "mhsa-fused/flash-causal",
     .num = ATTN_FLOOR_OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("sdpa-flash"),
     .where = "N=4096,8192 d=64,128 causal=1 " MHSA_SWEEP,
     .min = 0.9,
     .why = "causal: within 10 % of FlashAttention, whose causal tile scheduling is "
            "more refined than ours"},
    {.name = "mhsa-wgmma/flash",
     .num = ATTN_FLOOR_OURS("fused-wgmma", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("sdpa-flash"),
     .where = "N=4096,8192,16384 d=128 causal=0 " MHSA_SWEEP,
     .min = 1.3,
     .why = "on Hopper, wgmma runs at twice mma.sync's rate: the wgmma kernel must beat "
            "PyTorch's FlashAttention-2 backend (mma.sync) by 30 % at d = 128 (>= 480 TFLOP/s "
            "on an H100)"},
    {.name = "mhsa-wgmma-tma/flash",
     .num = ATTN_FLOOR_OURS("fused-wgmma-tma", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("sdpa-flash"),
     .where = "N=4096,8192,16384 d=128 causal=0 " MHSA_SWEEP,
     .min = 1.3,
     .why = "the TMA-fed wgmma kernel keeps fused-wgmma's floor: 30 % past PyTorch's "
            "FlashAttention-2 backend at d = 128"},
    {.name = "mhsa-wgmma-tma-pp/flash",
     .num = ATTN_FLOOR_OURS("fused-wgmma-tma-pp", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("sdpa-flash"),
     .where = "N=4096,8192,16384 d=128 causal=0 " MHSA_SWEEP,
     .min = 1.3,
     .why = "the ping-pong variant too, so that the first GPU session times it beside "
            "fused-wgmma-tma at the same cases"},
    {.name = "mhsa-wgmma/cudnn",
     .num = ATTN_FLOOR_OURS("fused-wgmma-tma", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("sdpa-cudnn"),
     .where = "N=4096,8192,16384 d=128 causal=0 " MHSA_SWEEP,
     .min = 0.8,
     .why = "the moonshot: within 20 % of cuDNN's Hopper attention (wgmma, TMA, warp "
            "specialisation), by the variant built the same way; it lacks cuDNN's ping-pong "
            "of the two warpgroups' softmaxes"},
    {.name = "mhsa-fused/cublas",
     .num = ATTN_FLOOR_OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_OURS("cublas-bf16|cublas-bf16-bf16s", "bf16"),
     .where = "N=4096 d=128 causal=0,1 " MHSA_SWEEP,
     .min = 3.0,
     .why = "fusion must pay: the cuBLAS baseline writes and reads the N x N logits in global "
            "memory, the fused kernel never does; judged against the faster of its fp32-S and "
            "bf16-S (PyTorch's math path) forms"},
    {.name = "mhsa-tc/tiled",
     .num = ATTN_FLOOR_OURS("tensor-core", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_OURS("tiled", "f32"),
     .where = "N=4096 " MHSA_SWEEP,
     .min = 5.0,
     .why = "tensor cores must show: wmma bf16 GEMMs against CUDA-core fp32 tiles, every d "
            "and causal at N = 4096"},
    /* Decode: N = 1 against a 32k cache, K/V of B·Hkv = 16·8 (1 GiB in bf16) or 16·32 heads. */
    {.name = "mhsa-splitkv/bandwidth",
     ATTN_FLOOR_PCT_BW("fused-splitkv", "bf16"),
     .where = "N=1 Nk=32768 causal=0 Hkv=8,16,32 tokens=16 D=2048",
     .min = 70.0,
     .why = "decode reads every K/V byte once and does little else: it must stream them at "
            "70 % of the copy bandwidth"},
    {.name = "mhsa-splitkv/sdpa",
     .num = ATTN_FLOOR_OURS("fused-splitkv", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = ATTN_FLOOR_PEER("sdpa-flash"),
     .where = "N=1 Nk=32768 causal=0 Hkv=8,16,32 tokens=16 D=2048",
     .min = 1.0,
     .why = "flash-decoding must at least match PyTorch's SDPA (flash backend, enable_gqa) on the "
            "same decode step"},
};

const attn_suite_t mhsa_suite = {
    .name = "mhsa",
    .title = "scaled dot-product multi-head attention",
    ATTN_SUITE_FIELDS,
    ATTN_SUITE_FLOORS,
    .in_sweep = in_sweep,
    .plot_axis = "N",
    .plot_panels = "d,causal",
    .weights = weights,
};
