/* additive — Bahdanau attention vᵀ·tanh(W1·h_t + W2·h̄_s) (docs/suites.md "additive / luong"):
 * luong's concat score function as a suite of its own, over luong's functions and rows
 * (suites/luong.c) with the score fixed through ctx and the score axis left out. */
#include "luong.h"
#include "luong_ref.h"

/* The same axes as luong's without score (it is concat). */
static const attn_axis_t additive_axes[AX_SCORE] = {
    LUONG_SHARED_AXES,
    [AX_A] = {"A", "attention width of W1, W2, v", 128, 1, 1 << 16, 2, GRID_A, 2, {32, 64}},
};

static const int concat = LUONG_CONCAT;

/* Awkward cases every variant must pass (registry.h: check_shapes): the conformance test runs
 * every GPU variant at each under the emulator, and a lent GPU runs them with --check-shapes. */
static const char *const check_shapes[] = {
    "B=2,T=33,S=50,Dq=64,Dk=48,A=40",    /* Dq != Dk, no multiple of 16 */
    "B=1,T=16,S=16,Dq=512,A=256",        /* the widest projections */
    "B=2,T=1,S=19,Dq=24,A=8",            /* one query */
    NULL,
};

const attn_suite_t additive_suite = {
    .name = "additive",
    .title = "Bahdanau additive attention vᵀ·tanh(W1·h_t + W2·h̄_s)",
    .naxes = AX_SCORE,
    .axes = additive_axes,
    LUONG_SUITE_FNS,
    /* x = sequence length (S = T in the grid); a panel per (Dq, A). */
    .plot_axis = "T",
    .plot_panels = "Dq,A",
    .ctx = &concat,
    .check_shapes = check_shapes,
};
