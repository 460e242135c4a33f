/* wgmma-probe: one wgmma or one TMA box load per mode, for the first minute of a lent Hopper GPU
 * (docs/gpu-lease.md).
 *
 *   wgmma-probe [--verbose]     one line per mode: "<mode> <hash of its 64 x N fp32 result>"
 *                               (a tma.* mode: of its box's shared memory, as 16-bit words)
 *   wgmma-probe --list          the modes' parameters (what tools/wgmma-probe/model.py reads)
 *
 * Built twice from this one file: for sm_90a by nvcc (tools/gpu_build.sh: the real instruction)
 * and for the host emulator (tests/meson.build: kernels/common/wgmma.cuh's emulated side). Each
 * mode is one single-block kernel of one warpgroup that fills shared memory with small integers
 * (-6..6, a hash of each 16-bit element's index in the buffer: exact in bf16, f16 and fp32, so
 * every result is bit-exact whatever the summation order), builds its descriptors with
 * wgmma_desc, issues ONE wgmma.mma_async m64nNk16 (SS: A and B through descriptors; RS: A from
 * registers), waits, and writes the accumulator out through the ISA's D layout. Whatever the
 * instruction reads through a descriptor decides the result, so a different reading of any
 * descriptor field, swizzle mode or transpose bit changes the hash: tools/wgmma-probe/compare.sh
 * names each mode whose hash differs from the emulator's stored answers (expected.txt).
 * `layout-map` reads the accumulator back register by register (D[m][n] = 256 m + n), so its
 * hash is that of the D fragment layout itself. --verbose adds to each line the first element
 * that differs from this program's own host computation of the ISA reading (model.py's, in C++).
 *
 * Modes: SS (A K- or MN-major) and RS (A in registers) x B K- or MN-major x swizzle none, 32B,
 * 64B, 128B x N = 64, 128 x scale-d 0 (the prior accumulator, nonzero, must be ignored) and 1 x
 * bf16, f16; then bf16 extras: K-major starts 32/64/96 bytes into a swizzled row (how a kernel
 * steps along K inside one 64- or 128-byte swizzle atom), doubled stride byte offsets, and
 * fused-wgmma's descriptors as it builds them: Q and K K-major 128B through SS (N = 128, start
 * stepped by 32 bytes), V MN-major 128B as B of an RS wgmma with N = 64 and 128 (64-column
 * atoms 16 KiB apart at LBO, a k16 step 2048 bytes on).
 *
 * TMA modes (tma.<rank>d.<swizzle>.<box>): one thread inits an mbarrier, announces the box's
 * bytes and issues one cp.async.bulk.tensor.{2,3}d (common/tma.cuh) of a bf16 tensor whose
 * elements are vhash of their index, into 1024-aligned shared memory; every thread waits, and
 * the box is written out as it lies there, so its hash depends on where each element lands (the
 * swizzle) and on which are zeros. Swizzle none, 32B, 64B, 128B (inner box = the span; none: 40
 * elements) x rank 2 boxes wholly inside, past the last row, past the row's end (into the row
 * padding a missing check would read) and at negative coordinates; rank 3 boxes over 2 or 3
 * heads; and fused-wgmma-tma's own map (d = 128, N = 200, 3 heads, box 64 x 128 x 1) at rows
 * 128..255 of head 2 (72 real, 56 zero), both 64-column blocks.
 *
 * Exit status: 0 every mode ran, 1 a mode failed (its launch, or a box that never landed), 2 bad
 * usage, 77 no sm_90 device (nothing ran: the reason is printed). */
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "launch.cuh"
#include "tma.cuh"
#include "wgmma.cuh"

namespace {

constexpr int kSmemBytes = 49152;     /* A's region [0, 16 KiB), B's [16 KiB, 48 KiB) */
constexpr int kBRegion = 16384;
constexpr int kAlign = 1024;          /* the 128B swizzle pattern's repeat */

enum Kind { SS, RS, MAP };
enum Major { KMAJ = 0, MNMAJ = 1 };

struct ProbeArgs {
    uint32_t a_start, a_lbo, a_sbo, b_start, b_lbo, b_sbo; /* bytes, from the aligned buffer */
    int swizzle;                                           /* wgmma_swizzle_t */
    int scale_d;
    int map; /* the layout-map mode: A, B and the output as described at the top */
};

/* The operands' values: small integers, the same function as model.py's vhash. */
__host__ __device__ inline int vhash(uint32_t e)
{
    uint32_t h = e * 2654435761u;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return (int)(h % 13u) - 6;
}
__host__ __device__ inline int rs_a(int m, int k) { return vhash(0x10000u + m * 16 + k); }
__host__ __device__ inline int c_init(int m, int n) { return vhash(0x20000u + m * 256 + n); }

/* (row, col) of accumulator register i of warpgroup thread t (PTX ISA, wgmma .m64nNk16 D). */
__host__ __device__ inline void d_coord(int t, int i, int *row, int *col)
{
    const int w = t >> 5, g = (t & 31) >> 2, q = t & 3;
    *row = 16 * w + g + 8 * ((i >> 1) & 1);
    *col = 8 * (i >> 2) + 2 * q + (i & 1);
}

template <class T> __host__ __device__ inline uint16_t bits16(float v)
{
    if constexpr (std::is_same<T, __half>::value) return __half_as_ushort(__float2half(v));
    else return __bfloat16_as_ushort(__float2bfloat16(v));
}

/* The swizzle of shared byte address a (the async proxy's, wgmma's and TMA's alike): 16-byte chunk
 * bits [4, 4+b) XOR address bits [7, 7+b), b = 1, 2, 3 for 32B, 64B, 128B. */
__host__ __device__ inline uint32_t swizzled(uint32_t a, int swz)
{
    const int bits = swz == WGMMA_SWIZZLE_128B ? 3 : swz == WGMMA_SWIZZLE_64B ? 2
                   : swz == WGMMA_SWIZZLE_32B  ? 1 : 0;
    return a ^ (((a >> 7) & ((1u << bits) - 1)) << 4);
}

/* Byte offset of element (r, k) (r the M or N index) of a K- or MN-major operand in the ISA's
 * canonical layout, with the swizzle applied to the address itself (for the map mode's stores
 * and the host reference; model.py derives the same from the ISA text on its own). */
__host__ __device__ inline uint32_t operand_addr(int major, int swz, uint32_t start, uint32_t lbo,
                                                 uint32_t sbo, int r, int k)
{
    const int bits = swz == WGMMA_SWIZZLE_128B ? 3 : swz == WGMMA_SWIZZLE_64B ? 2
                   : swz == WGMMA_SWIZZLE_32B  ? 1 : 0;
    const uint32_t width = 16u << bits; /* bytes a row of the swizzle atom */
    uint32_t a;
    if (major == KMAJ)
        a = bits ? start + (r / 8) * sbo + (r % 8) * width + k * 2
                 : start + (r / 8) * sbo + (r % 8) * 16 + (k / 8) * lbo + (k % 8) * 2;
    else if (!bits)
        a = start + (r / 8) * sbo + (r % 8) * 2 + (k / 8) * lbo + (k % 8) * 16;
    else
        a = start + (r / (width / 2)) * lbo + (r % (width / 2)) * 2 + (k / 8) * sbo + (k % 8) * width;
    return swizzled(a, swz);
}

template <class T, int N, int TA, int TB, bool kRS>
__global__ void __launch_bounds__(128) wgmma_probe_kernel(ProbeArgs p, float *out)
{
    ATTN_DYNAMIC_SMEM(raw);
    /* The swizzle is a function of the shared-memory address: start at a 1024-byte boundary of
     * that address space (read back from a descriptor, so both builds agree on it). */
    const uint32_t addr = (uint32_t)(wgmma_desc(raw, 0, 0, WGMMA_SWIZZLE_NONE) & 0x3FFF) << 4;
    unsigned char *base = raw + ((kAlign - (addr & (kAlign - 1))) & (kAlign - 1));
    uint16_t *s = reinterpret_cast<uint16_t *>(base);
    const int t = threadIdx.x;

    for (int e = t; e < kSmemBytes / 2; e += 128) s[e] = bits16<T>(p.map ? 0.f : (float)vhash(e));
    if (p.map) { /* A[m][0] = m, A[m][1] = 1, B[0][n] = 256, B[1][n] = n: D[m][n] = 256 m + n */
        __syncthreads();
        if (t < 64) {
            s[operand_addr(KMAJ, 0, p.a_start, p.a_lbo, p.a_sbo, t, 0) / 2] = bits16<T>((float)t);
            s[operand_addr(KMAJ, 0, p.a_start, p.a_lbo, p.a_sbo, t, 1) / 2] = bits16<T>(1.f);
        }
        for (int n = t; n < N; n += 128) {
            s[operand_addr(KMAJ, 0, p.b_start, p.b_lbo, p.b_sbo, n, 0) / 2] = bits16<T>(256.f);
            s[operand_addr(KMAJ, 0, p.b_start, p.b_lbo, p.b_sbo, n, 1) / 2] = bits16<T>((float)n);
        }
    }
    /* each thread's generic-proxy stores before the async proxy reads them, then all threads' */
    fence_proxy_async_shared();
    __syncthreads();

    wgmma_acc<N> acc;
    for (int i = 0; i < N / 2; i++) {
        int r, c;
        d_coord(t, i, &r, &c);
        acc[i] = (float)c_init(r, c); /* with scale-d 0 the instruction must ignore these */
    }
    /* RS: the A fragment (the mma.m16n8k16 one per warp), a[i] = A[16w + g + 8(i%2)][2q +
     * 8(i/2) + {0, 1}], written before the fence as the accumulator is */
    uint32_t a[4];
    if constexpr (kRS) {
        const int w = t >> 5, g = (t & 31) >> 2, q = t & 3;
        for (int i = 0; i < 4; i++) {
            const int m = 16 * w + g + 8 * (i & 1), k = 2 * q + 8 * (i >> 1);
            a[i] = bits16<T>((float)rs_a(m, k)) | (uint32_t)bits16<T>((float)rs_a(m, k + 1)) << 16;
        }
    }
    const wgmma_swizzle_t swz = (wgmma_swizzle_t)p.swizzle;
    const uint64_t db = wgmma_desc(base + p.b_start, p.b_lbo, p.b_sbo, swz);
    constexpr bool f16 = std::is_same<T, __half>::value;
    wgmma_fence();
    if constexpr (kRS) {
        if constexpr (f16) wgmma_rs_f16<N, TB>(acc, a, db, p.scale_d);
        else wgmma_rs_bf16<N, TB>(acc, a, db, p.scale_d);
    } else {
        const uint64_t da = wgmma_desc(base + p.a_start, p.a_lbo, p.a_sbo, swz);
        if constexpr (f16) wgmma_ss_f16<N, TA, TB>(acc, da, db, p.scale_d);
        else wgmma_ss_bf16<N, TA, TB>(acc, da, db, p.scale_d);
    }
    wgmma_commit_group();
    wgmma_wait_group<0>();
    for (int i = 0; i < N / 2; i++) {
        int r, c;
        d_coord(t, i, &r, &c);
        out[p.map ? t * (N / 2) + i : r * N + c] = acc[i];
    }
}

struct Mode {
    std::string name;
    Kind kind;
    bool f16;
    int n, amaj, bmaj;
    ProbeArgs p;
};

const int swzs[] = {WGMMA_SWIZZLE_NONE, WGMMA_SWIZZLE_32B, WGMMA_SWIZZLE_64B, WGMMA_SWIZZLE_128B};

const char *swz_name(int s)
{
    return s == WGMMA_SWIZZLE_128B ? "128b" : s == WGMMA_SWIZZLE_64B ? "64b"
         : s == WGMMA_SWIZZLE_32B  ? "32b"  : "none";
}

/* Descriptor fields of a canonical operand at `region` + koff: K-major none: the K core matrix
 * at LBO = 128, 8-row groups at SBO = 256; K-major swizzled: rows a swizzle width apart, 8-row
 * groups at SBO = 8 rows (LBO unused: 16); MN-major none: 8-element MN groups at SBO = 256, the
 * K core matrix at LBO = 128; MN-major swizzled: 8-row K groups at SBO = one atom, MN atoms at
 * LBO = 2 atoms (after both K groups). `sbo2` doubles SBO (and MN-major's LBO with it). */
void operand_fields(int major, int swz, uint32_t region, uint32_t koff, bool sbo2, uint32_t *start,
                    uint32_t *lbo, uint32_t *sbo)
{
    const uint32_t width = swz == WGMMA_SWIZZLE_128B ? 128 : swz == WGMMA_SWIZZLE_64B ? 64
                         : swz == WGMMA_SWIZZLE_32B  ? 32  : 0;
    const uint32_t x = sbo2 ? 2 : 1;
    *start = region + koff;
    if (!width) *lbo = 128, *sbo = 256 * x;
    else if (major == KMAJ) *lbo = 16, *sbo = 8 * width * x;
    else *sbo = 8 * width * x, *lbo = 2 * *sbo;
}

std::vector<Mode> modes()
{
    std::vector<Mode> v;
    /* koff: both starts moved by koff bytes; sbo2: doubled SBO; `extra`: a name suffix for
     * the modes whose fields are then set by hand */
    auto add = [&](Kind kind, bool f16, int n, int swz, int amaj, int bmaj, int scale_d,
                   uint32_t koff, bool sbo2, const char *extra = "") -> Mode & {
        Mode m{"", kind, f16, n, amaj, bmaj, {}};
        operand_fields(amaj, swz, 0, koff, sbo2, &m.p.a_start, &m.p.a_lbo, &m.p.a_sbo);
        operand_fields(bmaj, swz, kBRegion, koff, sbo2, &m.p.b_start, &m.p.b_lbo, &m.p.b_sbo);
        m.p.swizzle = swz;
        m.p.scale_d = scale_d;
        char buf[128];
        std::snprintf(buf, sizeof buf, "%s.%s.n%d.%s.a-%s.b-%s.d%d%s%s%s", kind == SS ? "ss" : "rs",
                      f16 ? "f16" : "bf16", n, swz_name(swz),
                      kind == RS ? "reg" : amaj == KMAJ ? "k" : "mn", bmaj == KMAJ ? "k" : "mn",
                      scale_d, koff ? (".koff" + std::to_string(koff)).c_str() : "",
                      sbo2 ? ".sbo2x" : "", extra);
        m.name = buf;
        v.push_back(m);
        return v.back();
    };
    for (bool f16 : {false, true})
        for (int n : {64, 128})
            for (int swz : swzs)
                for (Kind kind : {SS, RS})
                    for (int amaj : {KMAJ, MNMAJ})
                        for (int bmaj : {KMAJ, MNMAJ})
                            for (int d : {0, 1})
                                if (kind == SS || amaj == KMAJ) add(kind, f16, n, swz, amaj, bmaj, d, 0, false);
    /* K steps inside a swizzled row (a 64B row holds 2 of them, a 128B row 4), as fused-wgmma
     * steps Q and K (SS, N = 128 keys) */
    for (int n : {64, 128})
        for (Kind kind : {SS, RS}) {
            add(kind, false, n, WGMMA_SWIZZLE_64B, KMAJ, KMAJ, 1, 32, false);
            for (uint32_t koff : {32u, 64u, 96u})
                add(kind, false, n, WGMMA_SWIZZLE_128B, KMAJ, KMAJ, 1, koff, false);
        }
    /* fused-wgmma's V: MN-major 128B with the 64-column blocks a whole 128-key tile apart (LBO
     * 16 KiB), and its second k16 step (16 keys = 2 atoms further) */
    for (int n : {64, 128})
        for (uint32_t step : {0u, 1u}) {
            Mode &m = add(RS, false, n, WGMMA_SWIZZLE_128B, KMAJ, MNMAJ, 1, 0, false,
                          step ? ".lbo16384.kblock1" : ".lbo16384");
            m.p.b_lbo = 16384;
            m.p.b_start += step * 2048;
        }
    for (int swz : swzs)
        for (int maj : {KMAJ, MNMAJ}) add(SS, false, 64, swz, maj, maj, 1, 0, true);
    Mode map{"layout-map", MAP, false, 128, KMAJ, KMAJ, {}};
    operand_fields(KMAJ, WGMMA_SWIZZLE_NONE, 0, 0, false, &map.p.a_start, &map.p.a_lbo, &map.p.a_sbo);
    operand_fields(KMAJ, WGMMA_SWIZZLE_NONE, kBRegion, 0, false, &map.p.b_start, &map.p.b_lbo, &map.p.b_sbo);
    map.p.map = 1;
    map.p.scale_d = 0;
    v.push_back(map);
    return v;
}

template <class T, int N, int TA, int TB, bool kRS> int launch_mode(const ProbeArgs &p, float *out)
{
    auto *wgmma_probe = wgmma_probe_kernel<T, N, TA, TB, kRS>; /* (a template's commas in a macro) */
    const cudaError_t e = cudaFuncSetAttribute(wgmma_probe, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                               kSmemBytes + kAlign);
    if (e != cudaSuccess) return (int)e;
    return ATTN_LAUNCH(wgmma_probe, dim3(1), dim3(128), kSmemBytes + kAlign, 0, p, out);
}

template <class T, int N> int launch_n(const Mode &m, float *out)
{
    if (m.kind == RS)
        return m.bmaj ? launch_mode<T, N, 0, 1, true>(m.p, out) : launch_mode<T, N, 0, 0, true>(m.p, out);
    switch (m.amaj * 2 + m.bmaj) {
    case 0: return launch_mode<T, N, 0, 0, false>(m.p, out);
    case 1: return launch_mode<T, N, 0, 1, false>(m.p, out);
    case 2: return launch_mode<T, N, 1, 0, false>(m.p, out);
    default: return launch_mode<T, N, 1, 1, false>(m.p, out);
    }
}

/* TMA modes: one cp.async.bulk.tensor box of a bf16 tensor in global memory whose 16-bit element
 * at byte offset o holds vhash(o / 2) (the same small integers, exact in bf16), into shared memory
 * at a 1024-byte boundary (the 128B swizzle's repeat), read back byte for byte. */
constexpr int kTmaBoxMax = 16384; /* the largest box (fused-wgmma-tma's 64 x 128 bf16); its mbarrier follows */

struct TmaMode {
    std::string name;
    int rank;                  /* 2 or 3 (a rank-2 mode's third entries: 1, 1, 0) */
    int swizzle;               /* the wgmma_swizzle_t of the same span, for the names */
    CUtensorMapSwizzle tswz;
    uint64_t dims[3];          /* elements, innermost first */
    uint64_t strides[2];       /* bytes, of dimensions 1 and 2 */
    uint32_t box[3];
    int coords[3];             /* the box's first element; may be negative or past the end */
    unsigned bytes() const { return 2u * box[0] * box[1] * box[2]; }
};

/* Byte offset in the box's shared memory of its element (i0, i1, i2): row-major in the box,
 * then the swizzle of that shared address (a 1024-aligned start: the same as of the offset). */
inline uint32_t tma_smem_offset(const TmaMode &m, int i0, int i1, int i2)
{
    return swizzled(2u * (i0 + m.box[0] * (i1 + m.box[1] * (uint32_t)i2)), m.swizzle);
}

/* One thread inits the mbarrier, announces the box's bytes and issues the copy; all wait (with
 * a bound: a copy that never completes its bytes reports *status = 1 instead of using up the
 * probe's minute) and write the box's shared memory out as it lies. */
__global__ void __launch_bounds__(128) tma_probe_kernel(const __grid_constant__ CUtensorMap map,
                                                        int rank, int c0, int c1, int c2,
                                                        unsigned bytes, uint16_t *out, int *status)
{
    ATTN_DYNAMIC_SMEM(raw);
    const uint32_t addr = (uint32_t)(wgmma_desc(raw, 0, 0, WGMMA_SWIZZLE_NONE) & 0x3FFF) << 4;
    unsigned char *base = raw + ((kAlign - (addr & (kAlign - 1))) & (kAlign - 1));
    uint16_t *s = reinterpret_cast<uint16_t *>(base);
    uint64_t *bar = reinterpret_cast<uint64_t *>(base + kTmaBoxMax);
    const int t = threadIdx.x;
    /* a byte the copy does not write reads 0xdead (never a bf16 of -6..6 or zero) */
    for (unsigned e = t; e < bytes / 2; e += 128) s[e] = 0xdead;
    fence_proxy_async_shared(); /* those stores before the async proxy's */
    if (t == 0) {
        mbar_init(bar, 1);
        fence_mbarrier_init();
    }
    __syncthreads();
    if (t == 0) {
        mbar_arrive_expect_tx(bar, bytes);
        if (rank == 2) tma_load_2d(base, &map, c0, c1, bar);
        else tma_load_3d(base, &map, c0, c1, c2, bar);
    }
    /* the bound: 2^28 SM clocks (~0.15 s) on a GPU, where each try_wait may suspend a while (a
     * count would bound no time); the emulator lands the copy at the first waits */
    bool done = false;
#ifdef ATTN_EMU
    for (int i = 0; i < (1 << 16) && !done; i++) done = mbar_try_wait(bar, 0);
#else
    for (const long long t0 = clock64(); !done && clock64() - t0 < (1ll << 28);)
        done = mbar_try_wait(bar, 0);
#endif
    if (!done) {
        if (t == 0) *status = 1;
        return;
    }
    for (unsigned e = t; e < bytes / 2; e += 128) out[e] = s[e];
}

std::vector<TmaMode> tma_modes()
{
    std::vector<TmaMode> v;
    auto add = [&](const char *what, int rank, int swz, std::initializer_list<uint64_t> dims,
                   std::initializer_list<uint64_t> strides, std::initializer_list<uint32_t> box,
                   std::initializer_list<int> coords) {
        TmaMode m{};
        m.name = "tma." + std::to_string(rank) + "d." + swz_name(swz) + "." + what;
        m.rank = rank;
        m.swizzle = swz;
        m.tswz = swz == WGMMA_SWIZZLE_128B ? CU_TENSOR_MAP_SWIZZLE_128B
               : swz == WGMMA_SWIZZLE_64B  ? CU_TENSOR_MAP_SWIZZLE_64B
               : swz == WGMMA_SWIZZLE_32B  ? CU_TENSOR_MAP_SWIZZLE_32B : CU_TENSOR_MAP_SWIZZLE_NONE;
        int i = 0;
        for (uint64_t d : dims) m.dims[i++] = d;
        i = 0;
        for (uint64_t s : strides) m.strides[i++] = s;
        i = 0;
        for (uint32_t b : box) m.box[i++] = b;
        i = 0;
        for (int c : coords) m.coords[i++] = c;
        if (rank == 2) m.dims[2] = 1, m.strides[1] = m.strides[0] * m.dims[1], m.box[2] = 1;
        v.push_back(m);
    };
    /* rank 2: 72 x 50 elements, rows 160 bytes apart (8 elements of padding a row, which a
     * missing bounds check would read); the inner box is the swizzle span (none: 40 elements,
     * not a power of two), 16 rows (two or more swizzle patterns) */
    for (int swz : swzs) {
        const uint32_t b0 = swz == WGMMA_SWIZZLE_128B ? 64 : swz == WGMMA_SWIZZLE_64B ? 32
                          : swz == WGMMA_SWIZZLE_32B  ? 16 : 40;
        const int past = (int)(72 - b0 / 2) / 8 * 8; /* about half the box past the row's end */
        add("inside", 2, swz, {72, 50}, {160}, {b0, 16}, {8, 5});
        add("rows-past-end", 2, swz, {72, 50}, {160}, {b0, 16}, {8, 40});
        add("inner-past-end", 2, swz, {72, 50}, {160}, {b0, 16}, {past, 5});
        add("negative", 2, swz, {72, 50}, {160}, {b0, 16}, {-8, -3});
    }
    /* rank 3: 72 x 50 x 3, heads 8192 bytes apart; boxes over 2 or 3 heads */
    add("inside", 3, WGMMA_SWIZZLE_128B, {72, 50, 3}, {160, 8192}, {64, 16, 2}, {8, 5, 1});
    add("rows-heads-past-end", 3, WGMMA_SWIZZLE_128B, {72, 50, 3}, {160, 8192}, {64, 16, 2}, {8, 40, 2});
    add("inner-past-end", 3, WGMMA_SWIZZLE_64B, {72, 50, 3}, {160, 8192}, {32, 8, 3}, {56, 20, 0});
    add("negative", 3, WGMMA_SWIZZLE_32B, {72, 50, 3}, {160, 8192}, {16, 16, 2}, {-8, -3, -1});
    /* fused-wgmma-tma's Q/K/V maps (d = 128, N = 200, 3 heads; 64-column boxes of 128 rows):
     * rows 128..255 of head 2, 72 real and 56 zero, both column blocks */
    for (int x : {0, 64})
        add(x ? "mhsa-d128-n200.x64-r128-h2" : "mhsa-d128-n200.x0-r128-h2", 3, WGMMA_SWIZZLE_128B,
            {128, 200, 3}, {256, 51200}, {64, 128, 1}, {x, 128, 2});
    return v;
}

/* The box as the ISA reads it: element (i0, i1, i2) of the box is tensor element (c0 + i0, ...),
 * zero outside the tensor, at tma_smem_offset. */
std::vector<uint16_t> tma_reference(const TmaMode &m)
{
    std::vector<uint16_t> r(m.bytes() / 2);
    for (uint32_t i2 = 0; i2 < m.box[2]; i2++)
        for (uint32_t i1 = 0; i1 < m.box[1]; i1++)
            for (uint32_t i0 = 0; i0 < m.box[0]; i0++) {
                const long long x[3] = {m.coords[0] + (long long)i0, m.coords[1] + (long long)i1,
                                        m.coords[2] + (long long)i2};
                bool in = true;
                for (int d = 0; d < 3; d++) in = in && x[d] >= 0 && x[d] < (long long)m.dims[d];
                const uint64_t off = x[0] * 2 + x[1] * m.strides[0] + x[2] * m.strides[1];
                r[tma_smem_offset(m, i0, i1, i2) / 2] =
                    in ? bits16<__nv_bfloat16>((float)vhash((uint32_t)(off / 2))) : 0;
            }
    return r;
}

uint64_t fnv_word(uint64_t h, uint32_t w)
{
    h = (h ^ w) * 0x100000001b3ull;
    return h ^ (h >> 32); /* fold: integers' low float bits are zero */
}

uint64_t fnv(const float *v, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        const float x = v[i] + 0.0f; /* -0 as +0: a zero's sign is the summation order's */
        uint32_t w;
        std::memcpy(&w, &x, 4);
        h = fnv_word(h, w);
    }
    return h;
}

/* The TMA modes hash each 16-bit element of the box as one word. */
uint64_t fnv16(const uint16_t *v, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) h = fnv_word(h, v[i]);
    return h;
}

/* The ISA reading on the host: the mode's result as this program expects it, for --verbose. */
std::vector<float> reference(const Mode &m)
{
    const int n = m.n;
    std::vector<float> d((size_t)64 * n);
    auto operand = [&](int major, uint32_t start, uint32_t lbo, uint32_t sbo, int r, int k) {
        return vhash(operand_addr(major, m.p.swizzle, start, lbo, sbo, r, k) / 2);
    };
    for (int t = 0; t < 128; t++)
        for (int i = 0; i < n / 2; i++) {
            int r, c;
            d_coord(t, i, &r, &c);
            if (m.kind == MAP) {
                d[(size_t)t * (n / 2) + i] = (float)(256 * r + c);
                continue;
            }
            int acc = m.p.scale_d ? c_init(r, c) : 0;
            for (int k = 0; k < 16; k++)
                acc += (m.kind == RS ? rs_a(r, k)
                                     : operand(m.amaj, m.p.a_start, m.p.a_lbo, m.p.a_sbo, r, k)) *
                       operand(m.bmaj, m.p.b_start, m.p.b_lbo, m.p.b_sbo, c, k);
            d[(size_t)r * n + c] = (float)acc;
        }
    return d;
}

/* The TMA modes, one line each as the wgmma modes; 1 if any failed. */
int run_tma(const std::vector<TmaMode> &tmas, bool verbose)
{
    /* one global tensor for all: element e (16-bit) holds vhash(e), as far as the largest mode
     * reaches */
    size_t n = 0;
    for (const TmaMode &m : tmas) n = std::max<size_t>(n, m.strides[1] * m.dims[2] / 2);
    std::vector<uint16_t> host(n), got(kTmaBoxMax / 2);
    for (size_t e = 0; e < n; e++) host[e] = bits16<__nv_bfloat16>((float)vhash((uint32_t)e));
    void *dglobal = nullptr;
    uint16_t *dbox = nullptr;
    int *dstatus = nullptr;
    if (cudaMalloc(&dglobal, n * 2) != cudaSuccess || cudaMalloc(&dbox, kTmaBoxMax) != cudaSuccess ||
        cudaMalloc(&dstatus, sizeof(int)) != cudaSuccess ||
        cudaMemcpy(dglobal, host.data(), n * 2, cudaMemcpyHostToDevice) != cudaSuccess) {
        std::printf("wgmma-probe: cudaMalloc or cudaMemcpy of the TMA modes' tensor failed\n");
        return 1;
    }
    int rc = 0;
    for (const TmaMode &m : tmas) {
        CUtensorMap map;
        int e = tma_encode(&map, CU_TENSOR_MAP_DATA_TYPE_BFLOAT16, (unsigned)m.rank, dglobal, m.dims,
                           m.strides, m.box, m.tswz, m.name.c_str());
        const int smem = kTmaBoxMax + kAlign + 16; /* the box, its mbarrier, the alignment */
        if (!e) e = (int)cudaFuncSetAttribute(tma_probe_kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
        if (!e) e = (int)cudaMemset(dstatus, 0, sizeof(int));
        if (!e) e = ATTN_LAUNCH(tma_probe_kernel, dim3(1), dim3(128), smem, 0, map, m.rank,
                                m.coords[0], m.coords[1], m.coords[2], m.bytes(), dbox, dstatus);
        if (!e) e = (int)cudaDeviceSynchronize();
        int status = 0;
        if (!e) e = (int)cudaMemcpy(&status, dstatus, sizeof(int), cudaMemcpyDeviceToHost);
        if (!e) e = (int)cudaMemcpy(got.data(), dbox, m.bytes(), cudaMemcpyDeviceToHost);
        if (e || status) {
            std::printf("%s FAILED: %s\n", m.name.c_str(),
                        e ? cudaGetErrorString((cudaError_t)e)
                          : "the mbarrier's phase never completed (fewer bytes landed than the box's)");
            rc = 1;
            continue;
        }
        const size_t words = m.bytes() / 2;
        std::printf("%s %016llx", m.name.c_str(), (unsigned long long)fnv16(got.data(), words));
        if (verbose) {
            const std::vector<uint16_t> want = tma_reference(m);
            size_t i = 0;
            while (i < words && got[i] == want[i]) i++;
            if (i == words) std::printf("  as the ISA reads");
            else
                std::printf("  first difference: shared byte %zu holds 0x%04x, the ISA reading gives 0x%04x",
                            2 * i, got[i], want[i]);
        }
        std::printf("\n");
    }
    cudaFree(dglobal);
    cudaFree(dbox);
    cudaFree(dstatus);
    return rc;
}

int usage(const char *why)
{
    std::fprintf(stderr, "wgmma-probe: %s\nusage: wgmma-probe [--verbose | --list]\n", why);
    return 2;
}

} // namespace

int main(int argc, char **argv)
{
    bool verbose = false, list = false;
    for (int i = 1; i < argc; i++) {
        if (!std::strcmp(argv[i], "--verbose")) verbose = true;
        else if (!std::strcmp(argv[i], "--list")) list = true;
        else if (!std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help")) {
            std::printf("usage: wgmma-probe [--verbose | --list] (tools/wgmma-probe/probe.cu says more)\n");
            return 0;
        } else {
            return usage(("unknown argument '" + std::string(argv[i]) + "'").c_str());
        }
    }
    const std::vector<Mode> all = modes();
    const std::vector<TmaMode> tmas = tma_modes();
    if (list) {
        std::printf("# smem-bytes %d\n# name kind dtype N swizzle A-major B-major A-start A-LBO "
                    "A-SBO B-start B-LBO B-SBO scale-d\n", kSmemBytes);
        for (const Mode &m : all)
            std::printf("%s %s %s %d %s %s %s %u %u %u %u %u %u %d\n", m.name.c_str(),
                        m.kind == SS ? "ss" : m.kind == RS ? "rs" : "map", m.f16 ? "f16" : "bf16",
                        m.n, swz_name(m.p.swizzle), m.kind == RS ? "reg" : m.amaj ? "mn" : "k",
                        m.bmaj ? "mn" : "k", m.p.a_start, m.p.a_lbo, m.p.a_sbo, m.p.b_start,
                        m.p.b_lbo, m.p.b_sbo, m.p.scale_d);
        std::printf("# name tma rank swizzle dim0 dim1 dim2 stride1 stride2 box0 box1 box2 c0 c1 c2 "
                    "(bf16 elements, strides in bytes, destination 1024-aligned)\n");
        for (const TmaMode &m : tmas)
            std::printf("%s tma %d %s %llu %llu %llu %llu %llu %u %u %u %d %d %d\n", m.name.c_str(),
                        m.rank, swz_name(m.swizzle), (unsigned long long)m.dims[0],
                        (unsigned long long)m.dims[1], (unsigned long long)m.dims[2],
                        (unsigned long long)m.strides[0], (unsigned long long)m.strides[1],
                        m.box[0], m.box[1], m.box[2], m.coords[0], m.coords[1], m.coords[2]);
        return 0;
    }
#ifndef ATTN_EMU
    int count = 0;
    cudaDeviceProp prop;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        std::printf("wgmma-probe: no CUDA device: nothing probed\n");
        return 77;
    }
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess || prop.major != 9) {
        std::printf("wgmma-probe: %s is sm_%d%d; wgmma needs sm_90: nothing probed\n", prop.name,
                    prop.major, prop.minor);
        return 77;
    }
    std::printf("# wgmma-probe on %s (sm_%d%d)\n", prop.name, prop.major, prop.minor);
#else
    std::printf("# wgmma-probe on the host emulator\n");
#endif
    float *dout = nullptr;
    if (cudaMalloc(&dout, sizeof(float) * 64 * 128) != cudaSuccess) {
        std::printf("wgmma-probe: cudaMalloc failed\n");
        return 1;
    }
    std::vector<float> out((size_t)64 * 128);
    int rc = 0;
    for (const Mode &m : all) {
        cudaMemset(dout, 0xFF, sizeof(float) * 64 * 128);
        int e = m.f16 ? (m.n == 64 ? launch_n<__half, 64>(m, dout) : launch_n<__half, 128>(m, dout))
                      : (m.n == 64 ? launch_n<__nv_bfloat16, 64>(m, dout)
                                   : launch_n<__nv_bfloat16, 128>(m, dout));
        if (!e) e = (int)cudaDeviceSynchronize();
        if (!e) e = (int)cudaMemcpy(out.data(), dout, sizeof(float) * 64 * m.n, cudaMemcpyDeviceToHost);
        if (e) { /* (after a sticky error on a GPU, every later mode fails the same way) */
            std::printf("%s FAILED: %s\n", m.name.c_str(), cudaGetErrorString((cudaError_t)e));
            rc = 1;
            continue;
        }
        std::printf("%s %016llx", m.name.c_str(), (unsigned long long)fnv(out.data(), (size_t)64 * m.n));
        if (verbose) {
            const std::vector<float> want = reference(m);
            size_t i = 0;
            while (i < want.size() && out[i] + 0.0f == want[i]) i++;
            if (i == want.size()) std::printf("  as the ISA reads");
            else if (m.kind == MAP)
                std::printf("  first difference: thread %zu register %zu holds %g, (row %d, col %d) by the ISA",
                            i / (m.n / 2), i % (m.n / 2), out[i], (int)want[i] / 256, (int)want[i] % 256);
            else
                std::printf("  first difference: D[%zu][%zu] = %g, the ISA reading gives %g",
                            i / m.n, i % m.n, out[i], want[i]);
        }
        std::printf("\n");
    }
    if (run_tma(tmas, verbose)) rc = 1;
    cudaFree(dout);
    return rc;
}
