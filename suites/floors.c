/* The project's speed floors, as data: what `attnbench floors` judges on results CSVs (see
 * bench/floors.h for what each field means and how rows are matched). No unit test times
 * anything; these are checked on the rows of real GPU runs.
 *
 * All are forward passes on one device. Ours are backend "gpu"; PyTorch's are backend "peer"
 * (sdpa-flash, sdpa-efficient, sdpa-cudnn, sdpa-math in mhsa; torch-halo in halo), bf16. Every
 * variant's dtype is written out so a row of another precision never stands in for it (the
 * tests check these against the registry). */
#include "floors.h"

#define OURS(v, dt) {v, "gpu", dt}
#define PEER(v) {v, "peer", "bf16"}

/* SPEC.md's mhsa sweep point: B·N = 16384 tokens, H·d = 2048, no key padding. */
#define MHSA_SWEEP "tokens=16384 D=2048 kvpad=0"
/* HaloNet's large setting: block 8, halo 3, 8 heads of 64 on a 64×64 map of 512 channels. */
#define HALO_BIG "B=8 C=512 H=64 W=64 block=8 halo=3 heads=8 d=64"
/* A case smaller than this may live in L2 (50 MiB on H100, 60 on H200) or be launch-bound:
 * its "bandwidth" says nothing about the memory system. */
#define STREAM_MIN_BYTES (256.0 * 1024 * 1024)

#define PCT_BW(v, dt) \
    .num = OURS(v, dt), .kind = ATTN_FLOOR_PCT, .pct_column = "pct_bw", \
    .ceiling_column = "peak_gbps", .ceiling_unit = "GB/s", .min_bytes = STREAM_MIN_BYTES

const attn_floor_t attn_floors[] = {
    {.name = "mhsa-fused/flash",
     .suite = "mhsa",
     .num = OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = PEER("sdpa-flash"),
     .where = "N=4096,8192 d=64,128 causal=0 " MHSA_SWEEP,
     .min = 1.0,
     .why = "a flash-style kernel on mma.sync must at least match PyTorch's FlashAttention "
            "backend on long non-causal sequences"},
    {.name = "mhsa-fused/flash-causal",
     .suite = "mhsa",
     .num = OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = PEER("sdpa-flash"),
     .where = "N=4096,8192 d=64,128 causal=1 " MHSA_SWEEP,
     .min = 0.9,
     .why = "causal: within 10 % of FlashAttention, whose causal tile scheduling is "
            "more refined than ours"},
    {.name = "mhsa-fused/cublas",
     .suite = "mhsa",
     .num = OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = OURS("cublas-bf16", "bf16"),
     .where = "N=4096 d=128 causal=0,1 " MHSA_SWEEP,
     .min = 3.0,
     .why = "fusion must pay: the cuBLAS baseline writes and reads the N x N logits in global "
            "memory, the fused kernel never does"},
    {.name = "mhsa-tc/tiled",
     .suite = "mhsa",
     .num = OURS("tensor-core", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = OURS("tiled", "f32"),
     .where = "N=4096 " MHSA_SWEEP,
     .min = 5.0,
     .why = "tensor cores must show: wmma bf16 GEMMs against CUDA-core fp32 tiles, every d "
            "and causal at N = 4096"},
    {.name = "halo-fused/cublas",
     .suite = "halo",
     .num = OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = OURS("cublas-bf16", "bf16"),
     .where = HALO_BIG,
     .min = 5.0,
     .why = "the headline: one kernel per block against window gather + batched GEMMs + "
            "softmax through global memory"},
    {.name = "halo-fused/torch",
     .suite = "halo",
     .num = OURS("fused", "bf16"),
     .kind = ATTN_FLOOR_SPEEDUP,
     .den = PEER("torch-halo"),
     .where = HALO_BIG,
     .min = 10.0,
     .why = "the headline against PyTorch's unfold-based HaloNet block, which materialises "
            "every window"},
    {.name = "sge-fused/bw",
     .suite = "sge",
     PCT_BW("fused", "f32"),
     .where = "",
     .min = 75.0,
     .why = "memory-bound: slab read once (twice above the shared-memory limit), so it must "
            "stream near copy speed"},
    {.name = "shuffle-fused/bw",
     .suite = "shuffle",
     PCT_BW("fused", "f32"),
     .where = "",
     .min = 75.0,
     .why = "memory-bound: each channel plane read once and written once, shuffled in the "
            "store index"},
    {.name = "aft-fused-simple/bw",
     .suite = "aft",
     PCT_BW("fused", "bf16"),
     .where = "form=1",
     .min = 75.0,
     .why = "AFT-simple is a reduction over T and an elementwise combine: memory-bound; n/a "
            "while fused implements the full form only"},
    {0},
};
