/* Tests of the wgmma emulation (bench/emu/emu_wgmma.cpp, kernels/common/wgmma.cuh): one
 * m64nNk16 per swizzle mode x transpose x SS/RS against a naive product, and the misuses it must
 * report. Built as attn_emu_wgmma_test (meson test emu-wgmma), like emu_test.cu: never by nvcc.
 *
 * The tiles are written by this file's own layout function, from the PTX ISA's canonical layouts
 * as wgmma.cuh documents them, with the swizzle drawn as the ISA's figures draw it (the 16-byte
 * chunk index XOR the row within the 8-row pattern: 128B every row, 64B row pairs, 32B row
 * quadruples), not with emu_swizzle.h. Values are multiples of 1/4 in [-1, 1]: every product
 * and sum is exact, so results are compared for equality. */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "emu_api.h"
#include "emu_check.h"
#include "launch.cuh"
#include "mma.cuh"
#include "wgmma.cuh"


/* ---- the tiles ------------------------------------------------------------------------------ */

static uint32_t swizzle_width(int mode) { return mode == 1 ? 128 : mode == 2 ? 64 : mode == 3 ? 32 : 16; }

/* Byte offset of element (mn, k) of a tile whose pattern-aligned start is offset 0. */
static uint32_t tile_offset(int mode, bool mn_major, int mn, int k, uint32_t lbo, uint32_t sbo)
{
    const uint32_t w = swizzle_width(mode);
    if (mode == 0) /* core matrices of 8 rows x 16 bytes */
        return mn_major ? (k / 8) * lbo + (mn / 8) * sbo + (k % 8) * 16 + (mn % 8) * 2
                        : (mn / 8) * sbo + (k / 8) * lbo + (mn % 8) * 16 + (k % 8) * 2;
    uint32_t row_base;
    int row, byte;
    if (!mn_major) {
        row_base = (mn / 8) * sbo + (mn % 8) * w;
        row = mn % 8;
        byte = 2 * k;
    } else {
        const int per_row = (int)w / 2;
        row_base = (k / 8) * sbo + (mn / per_row) * lbo + (k % 8) * w;
        row = k % 8;
        byte = 2 * (mn % per_row);
    }
    const int x = mode == 1 ? row : mode == 2 ? row / 2 : row / 4;
    return row_base + (uint32_t)((byte / 16) ^ x) * 16 + byte % 16;
}

/* The strides this file lays tiles out with (dense; pattern-aligned blocks). */
static void strides(int mode, bool mn_major, int rows, uint32_t *lbo, uint32_t *sbo)
{
    const uint32_t w = swizzle_width(mode);
    if (mode == 0) {
        *lbo = mn_major ? 128u * (uint32_t)rows / 8 : 128;
        *sbo = mn_major ? 128 : 256;
    } else {
        *lbo = mn_major ? 16 * w : 16; /* K-major swizzled: unused */
        *sbo = 8 * w;
    }
}

static uint16_t to_16(float v, bool f16)
{
    uint32_t u;
    std::memcpy(&u, &v, 4);
    if (!f16) return (uint16_t)(u >> 16); /* exact for the values used */
    if (v == 0.0f) return (uint16_t)(u >> 16 & 0x8000);
    const int e = (int)(u >> 23 & 0xff) - 127 + 15;
    return (uint16_t)((u >> 16 & 0x8000) | (uint32_t)e << 10 | (u >> 13 & 0x3ff));
}

static float aval(int m, int k) { return (float)((m * 7 + k * 3 + 2) % 9 - 4) / 4.0f; }
static float bval(int n, int k) { return (float)((n * 5 + k * 11 + 1) % 9 - 4) / 4.0f; }

/* ---- the kernel ----------------------------------------------------------------------------- */

struct WgParams {
    const unsigned char *img; /* the tiles, copied to a 1024-byte aligned shared base */
    int bytes;
    uint32_t off_a, lbo_a, sbo_a, off_b, lbo_b, sbo_b;
    int sw_a, sw_b;
    const uint32_t *afrag; /* RS: thread i's four A registers at afrag[4i] */
    float *out;            /* thread i's accumulator at out[i * N/2] */
    int use_static;        /* the tiles in a static __shared__ array, not dynamic memory */
};

constexpr int IMG_MAX = 40960, SMEM = IMG_MAX + 1024;

/* One static tile for every instantiation of wg_kernel (a static local of the kernel template
 * would be one per instantiation). */
static unsigned char *static_tile()
{
    __shared__ __align__(1024) unsigned char tile[IMG_MAX];
    return tile;
}

template <int N, int TA, int TB, bool RS, bool F16>
static void issue(wgmma_acc<N> &d, uint64_t da, const uint32_t (&a)[4], uint64_t db, int scale_d)
{
    if constexpr (RS) {
        if constexpr (F16) wgmma_rs_f16<N, TB>(d, a, db, scale_d);
        else wgmma_rs_bf16<N, TB>(d, a, db, scale_d);
    } else {
        if constexpr (F16) wgmma_ss_f16<N, TA, TB>(d, da, db, scale_d);
        else wgmma_ss_bf16<N, TA, TB>(d, da, db, scale_d);
    }
}

/* D = A·B (over whatever the registers hold), then D += A·B while the first is in flight:
 * 2·A·B after one wait. */
template <int N, int TA, int TB, bool RS, bool F16>
__global__ void wg_kernel(WgParams p)
{
    ATTN_DYNAMIC_SMEM(dyn);
    unsigned char *base = p.use_static ? static_tile()
                                       : (unsigned char *)(((uintptr_t)dyn + 1023) & ~(uintptr_t)1023);
    for (int i = threadIdx.x; i < p.bytes; i += blockDim.x) base[i] = p.img[i];
    __syncthreads();
    fence_proxy_async_shared();
    const uint64_t da = wgmma_desc(base + p.off_a, p.lbo_a, p.sbo_a, (wgmma_swizzle_t)p.sw_a);
    const uint64_t db = wgmma_desc(base + p.off_b, p.lbo_b, p.sbo_b, (wgmma_swizzle_t)p.sw_b);
    const unsigned t = threadIdx.x % 128;
    const uint32_t a[4] = {p.afrag[4 * t], p.afrag[4 * t + 1], p.afrag[4 * t + 2],
                           p.afrag[4 * t + 3]};
    wgmma_acc<N> acc;
    wgmma_fence();
    issue<N, TA, TB, RS, F16>(acc, da, a, db, 0);
    issue<N, TA, TB, RS, F16>(acc, da, a, db, 1);
    wgmma_commit_group();
    wgmma_wait_group<0>();
    for (int i = 0; i < N / 2; i++) p.out[threadIdx.x * (N / 2) + i] = acc[i];
}

enum Plant { PLANT_NONE, PLANT_SWIZZLE, PLANT_STRIDE };
enum Setup { ONE_GROUP, TWO_GROUPS, STATIC_SMEM };

/* Lays out A and B in mode `mode` (transposes TA, TB), runs wg_kernel with one warpgroup (two,
 * or the tiles in static shared memory, as `setup` says) and returns whether every accumulator element is 2·A·B. A planted bug makes the
 * descriptor of B disagree with the tiles: 64B swizzle for 128B data, or half the SBO. */
template <int N, int TA, int TB, bool RS, bool F16>
static bool run_case(int mode, Plant plant = PLANT_NONE, Setup setup = ONE_GROUP)
{
    const int threads = setup == TWO_GROUPS ? 256 : 128;
    std::vector<unsigned char> img(IMG_MAX, 0);
    WgParams p{};
    p.off_a = 0;
    p.off_b = 8192;
    p.sw_a = p.sw_b = mode;
    strides(mode, TA, 64, &p.lbo_a, &p.sbo_a);
    strides(mode, TB, N, &p.lbo_b, &p.sbo_b);
    uint32_t bytes = 0;
    auto put = [&](uint32_t off, float v) {
        const uint16_t h = to_16(v, F16);
        std::memcpy(&img[off], &h, 2);
        if (off + 2 > bytes) bytes = off + 2;
    };
    for (int m = 0; m < 64; m++)
        for (int k = 0; k < 16; k++)
            put(p.off_a + tile_offset(mode, TA, m, k, p.lbo_a, p.sbo_a), aval(m, k));
    for (int n = 0; n < N; n++)
        for (int k = 0; k < 16; k++)
            put(p.off_b + tile_offset(mode, TB, n, k, p.lbo_b, p.sbo_b), bval(n, k));
    if (plant == PLANT_SWIZZLE) p.sw_b = WGMMA_SWIZZLE_64B;
    if (plant == PLANT_STRIDE) p.sbo_b /= 2;
    p.img = img.data();
    p.bytes = (int)bytes;
    /* the mma.m16n8k16 A fragment of warp w's rows 16w..16w+15 (wgmma.cuh) */
    std::vector<uint32_t> afrag(4 * 128);
    for (int i = 0; i < 128; i++) {
        const int row = 16 * (i / 32) + (i % 32) / 4, c = 2 * (i % 4);
        for (int r = 0; r < 4; r++) {
            const int m = row + 8 * (r & 1), k = c + 8 * (r >> 1);
            afrag[4 * i + r] = to_16(aval(m, k), F16) | (uint32_t)to_16(aval(m, k + 1), F16) << 16;
        }
    }
    p.afrag = afrag.data();
    p.use_static = setup == STATIC_SMEM;
    std::vector<float> out((size_t)threads * N / 2, -1.0f);
    p.out = out.data();
    const cudaError_t e = LAUNCH((wg_kernel<N, TA, TB, RS, F16>), 1, threads, SMEM, p);
    CHECK(e == cudaSuccess, "N=%d TA=%d TB=%d RS=%d mode %d: %s", N, TA, TB, RS, mode,
          last_error());
    if (e != cudaSuccess) return false;
    for (int i = 0; i < threads; i++) {
        const int w = (i % 128) / 32, g = (i % 32) / 4, t = i % 4;
        for (int r = 0; r < N / 2; r++) {
            const int m = 16 * w + g + 8 * (r >> 1 & 1), n = 8 * (r >> 2) + 2 * t + (r & 1);
            float want = 0;
            for (int k = 0; k < 16; k++) want += aval(m, k) * bval(n, k);
            if (out[(size_t)i * N / 2 + r] != 2 * want) {
                if (plant == PLANT_NONE)
                    CHECK(false, "N=%d TA=%d TB=%d RS=%d F16=%d mode %d: thread %d r[%d] = D[%d][%d] "
                          "= %g, want %g", N, TA, TB, RS, F16, mode, i, r, m, n,
                          out[(size_t)i * N / 2 + r], 2 * want);
                return false;
            }
        }
    }
    return true;
}

static void test_layouts()
{
    for (int mode = 0; mode < 4; mode++) {
        run_case<64, 0, 0, false, false>(mode);
        run_case<64, 0, 1, false, false>(mode);
        run_case<64, 1, 0, false, false>(mode);
        run_case<64, 1, 1, false, false>(mode);
        run_case<64, 0, 0, true, false>(mode);
        run_case<64, 0, 1, true, false>(mode);
        run_case<128, 0, 1, false, true>(mode); /* f16 */
        run_case<32, 1, 0, true, true>(mode);
    }
    run_case<256, 0, 0, true, false>(1);
    run_case<256, 1, 1, false, false>(2);
    run_case<16, 0, 1, false, false>(3);
    run_case<64, 0, 1, false, false>(1, PLANT_NONE, TWO_GROUPS); /* two warpgroups, one each */
    run_case<64, 1, 0, false, false>(1, PLANT_NONE, STATIC_SMEM);
}

/* Planted layout bugs give wrong answers, which the comparison sees. */
static void test_planted_layouts()
{
    CHECK(!(run_case<64, 0, 0, false, false>(1, PLANT_SWIZZLE)),
          "128B-swizzled data read as 64B went unnoticed (K-major)");
    CHECK(!(run_case<64, 0, 1, true, false>(1, PLANT_SWIZZLE)),
          "128B-swizzled data read as 64B went unnoticed (MN-major)");
    CHECK(!(run_case<64, 0, 0, false, false>(0, PLANT_STRIDE)), "half the SBO went unnoticed");
    CHECK(!(run_case<64, 0, 1, false, false>(2, PLANT_STRIDE)),
          "half the SBO went unnoticed (MN-major, 64B)");
}

/* ---- misuse --------------------------------------------------------------------------------- */

enum Misuse {
    READ_IN_FLIGHT, NO_WAIT, WAIT_TOO_FEW, NO_COMMIT, NO_FENCE, WRITE_THEN_NO_FENCE,
    WARP_EXITS, WARP_AT_BARRIER, TWO_SITES, OUTSIDE_SMEM, RS_NO_FENCE, COPY_IN_FLIGHT,
    COPY_AFTER_WAIT, /* (not a misuse: the control of COPY_IN_FLIGHT) */
    NMISUSE
};

static int g_line_read, g_line_final; /* where misuse_kernel reads its accumulator */
static int g_line_copy;               /* where it copies into its operands */

__global__ void misuse_kernel(int what, float *out)
{
    ATTN_DYNAMIC_SMEM(dyn);
    unsigned char *base = (unsigned char *)(((uintptr_t)dyn + 1023) & ~(uintptr_t)1023);
    uint64_t d = wgmma_desc(base, 128, 256, WGMMA_SWIZZLE_NONE);
    if (what == OUTSIDE_SMEM) d = wgmma_desc(base, 128, 0x3FFF0, WGMMA_SWIZZLE_NONE);
    const unsigned warp = threadIdx.x / 32;
    wgmma_acc<64> acc;
    float x = 0;
    if (what == WARP_EXITS && warp == 3) return;
    if (what == WARP_AT_BARRIER && warp == 3) __syncthreads();
    if (what == TWO_SITES && warp < 2) wgmma_fence();
    else if (what != NO_FENCE) wgmma_fence();
    if (what == WRITE_THEN_NO_FENCE) acc[0] = 0.0f;
    if (what == RS_NO_FENCE) {
        wgmma_ss_bf16<64, 0, 0>(acc, d, d, 0);
        wgmma_commit_group();
        wgmma_wait_group<0>();
        const uint32_t a[4] = {(uint32_t)acc[0], 0, 0, 0}; /* A built from an accumulator */
        wgmma_acc<64> o;
        wgmma_rs_bf16<64, 0>(o, a, d, 0);
    }
    wgmma_ss_bf16<64, 0, 0>(acc, d, d, what == WRITE_THEN_NO_FENCE);
    if (what == READ_IN_FLIGHT) { g_line_read = __LINE__; x = acc[1]; }
    if (what != NO_COMMIT) wgmma_commit_group();
    /* a copy into the operands (row 5 of B) while the wgmma may still read them */
    if (what == COPY_IN_FLIGHT && threadIdx.x == 7) { g_line_copy = __LINE__; cp_async_16(base + 5 * 16, out); }
    if (what == WAIT_TOO_FEW) wgmma_wait_group<1>();
    else if (what != NO_WAIT) wgmma_wait_group<0>();
    g_line_final = __LINE__; x += acc[2];
    if (what == COPY_AFTER_WAIT && threadIdx.x == 7) cp_async_16(base + 5 * 16, out + 64);
    cp_async_wait<0>();
    out[threadIdx.x] = x;
}

static void test_misuse()
{
    std::vector<float> out(128);
    auto run = [&](Misuse m) {
        const cudaError_t e = LAUNCH(misuse_kernel, 1, 128, 32768, (int)m, out.data());
        CHECK(e == cudaErrorLaunchFailure, "misuse %d was not reported", (int)m);
    };
    char at[64];
    run(READ_IN_FLIGHT);
    std::snprintf(at, sizeof at, "emu_wgmma_test.cu:%d", g_line_read);
    CHECK(error_has("in flight", at), "%s (want %s)", last_error(), at);
    run(NO_WAIT);
    std::snprintf(at, sizeof at, "emu_wgmma_test.cu:%d", g_line_final);
    CHECK(error_has("in flight", at), "%s (want %s)", last_error(), at);
    run(WAIT_TOO_FEW);
    CHECK(error_has("in flight", at), "%s (want %s)", last_error(), at);
    run(NO_COMMIT);
    CHECK(error_has("in flight", "nor a wgmma_commit_group"), "%s", last_error());
    run(NO_FENCE);
    CHECK(error_has("no wgmma_fence before it"), "%s", last_error());
    run(WRITE_THEN_NO_FENCE);
    CHECK(error_has("accumulator accessed at", "wgmma_fence must come between"), "%s",
          last_error());
    run(RS_NO_FENCE);
    CHECK(error_has("takes A from registers", "wgmma_fence must come between"), "%s",
          last_error());
    run(WARP_EXITS);
    CHECK(error_has("wgmma.fence.sync.aligned", "exited"), "%s", last_error());
    run(WARP_AT_BARRIER);
    CHECK(error_has("deadlock", "wgmma.fence.sync.aligned"), "%s", last_error());
    run(TWO_SITES);
    CHECK(error_has("warpgroup divergence", "wgmma.fence.sync.aligned"), "%s", last_error());
    run(OUTSIDE_SMEM);
    CHECK(error_has("outside shared memory", "descriptor"), "%s", last_error());
    run(COPY_IN_FLIGHT);
    std::snprintf(at, sizeof at, "emu_wgmma_test.cu:%d) writes", g_line_copy);
    CHECK(error_has(at, "while the wgmma of"), "%s (want cp.async (...%s)", last_error(), at);
    CHECK(LAUNCH(misuse_kernel, 1, 128, 32768, (int)COPY_AFTER_WAIT, out.data()) == cudaSuccess,
          "a copy into the operands after the wait_group was reported: %s", last_error());
    /* a block that is not whole warpgroups */
    CHECK(LAUNCH(misuse_kernel, 1, 96, 32768, (int)NO_WAIT, out.data()) == cudaErrorLaunchFailure,
          "a 96-thread warpgroup was not reported");
    CHECK(error_has("warpgroup", "96"), "%s", last_error());
}

int main()
{
    for (int k = 0; k < ATTN_EMU_NSCHEDULES; k++) {
        g_sched = k;
        attn_emu_set_schedule(k, 12345);
        test_layouts();
        test_planted_layouts();
        test_misuse();
    }
    std::printf("%d checks, %d failed\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
