/* luong's suite functions and rows, shared with the additive suite (suites/additive.c), which is
 * luong with the score fixed to concat through its ctx. */
#ifndef ATTN_SUITES_LUONG_H
#define ATTN_SUITES_LUONG_H

#include "registry.h"

enum { AX_B, AX_T, AX_S, AX_DQ, AX_DK, AX_A, AX_SCORE, NAXES };

/* GPU grid (docs/suites.md: B 1–64, T, S ∈ {32 … 1024}, Dq = Dk ∈ {128, 256, 512}, A ∈ {128, 256}):
 * B ∈ {1, 8, 64} (latency-bound single sequence, a typical decoding batch, the largest);
 * T ∈ {32, 128, 512, 1024} with S = T (derived): the cost is ∝ T·S, so one length axis spans
 * the 1000× range of its grid and keeps the plot a line per panel; T ≠ S is covered by the
 * tests and the emulator shapes. Dq ∈ {128, 256, 512} with Dk = Dq (derived), A ∈ {128, 256};
 * luong's dot/general ignore A and sweep A = 128 only (in_sweep). additive: 72 cases, luong 144.
 * CPU grid (no device): B = 2 (batch indexing), T = S ∈ {32, 96, 150} (150: not a multiple of
 * any tile), Dq ∈ {64, 128}, A = 64, every score: measured below, about a minute. */
#define GRID_B {1, 8, 64}
#define GRID_T {32, 128, 512, 1024}
#define GRID_D {128, 256, 512}
#define GRID_A {128, 256}

/* The axes luong and additive share, as designated initialisers of an axes array. */
#define LUONG_SHARED_AXES                                                                        \
    [AX_B] = {"B", "batch", 2, 1, 1 << 16, 3, GRID_B, 1, {2}},                                   \
    [AX_T] = {"T", "queries (decoder steps) per batch", 128, 1, 1 << 20,                         \
              4, GRID_T, 3, {32, 96, 150}},                                                      \
    [AX_S] = {"S", "keys = values (encoder steps) per batch (default T)", ATTN_UNSET, 1,        \
              1 << 20},                                                                          \
    [AX_DQ] = {"Dq", "query width (h)", 128, 1, 1 << 16, 3, GRID_D, 2, {64, 128}},               \
    [AX_DK] = {"Dk", "key/value width (h̄, c; default Dq)", ATTN_UNSET, 1, 1 << 16}

/* The registry fields of luong's functions and rows, for both suites' entries. */
#define LUONG_SUITE_FNS                                                                          \
    .derive = luong_derive, .layout = luong_layout, .generate = luong_generate,                  \
    .reference = luong_reference, .ref_unit = luong_ref_unit, .flops = luong_flops,              \
    .bytes = luong_bytes, .tolerance = luong_tolerance, .xtolerance = luong_xtolerance,       \
    .nvariants = LUONG_NVARIANTS,                                                                \
    .variants = luong_variants, .weights = luong_weights

int luong_derive(const attn_suite_t *suite, int64_t *v, char *err, size_t n);
void luong_layout(const attn_suite_t *suite, const int64_t *v, attn_layout_t *L);
void luong_generate(const attn_suite_t *suite, const int64_t *v, uint64_t seed, void *const *in);
void luong_reference(const attn_suite_t *suite, const int64_t *v, const void *const *in,
                     double *out, const uint8_t *sel);
int64_t luong_ref_unit(const attn_suite_t *suite, const int64_t *v);
double luong_flops(const attn_suite_t *suite, const int64_t *v);
double luong_bytes(const attn_suite_t *suite, const int64_t *v, int s);
double luong_tolerance(const attn_suite_t *suite, const int64_t *v, attn_dtype_t t);
double luong_xtolerance(const attn_suite_t *suite, const int64_t *v, int i, attn_dtype_t t);
double *luong_weights(const attn_suite_t *suite, const int64_t *v, const void *const *in,
                      attn_tensor_t *t);

#define LUONG_NVARIANTS 8
extern const attn_variant_t luong_variants[LUONG_NVARIANTS];

#endif
