/* The fused launchers' grouped K/V heads, causal diagonal and window (mhsa_kernels.h), beside
 * the suite's check shapes: each launcher (bf16 and f16) is called directly under the host
 * emulator (bench/emu) at small awkward cases, under every schedule (the exact ones
 * bit-identical), and checked against a direct double-precision computation written here.
 * Compiled as host C++ with the emulator, never by nvcc; linked with kernels/mhsa/fused.cu,
 * clean (must pass) and with each ATTN_PLANT_FUSED_* bug (must fail: run with --planted, which
 * exits 0 only when a case differs from the reference, and no launch failed; `--planted TAG`:
 * every launcher whose name holds TAG differs somewhere and no other launcher differs). Compiled
 * with -DMASKS_WGMMA it calls fused-wgmma and fused-wgmma-tma instead (linked with
 * kernels/mhsa/fused_wgmma.cu, clean or with an ATTN_PLANT_WGMMA_* bug); `--planted-fault TEXT
 * [TAG]` then exits 0 only when every launcher (named with TAG) has a launch failing with TEXT
 * in the emulator's error (a wgmma accumulator read before its wait_group, a TMA overrun) and,
 * given TAG, no other launcher fails or differs.
 * With -DMHSA_MASKS_SPLITKV the same checks run fused-splitkv (linked with splitkv.cu, and its
 * ATTN_PLANT_SPLITKV_* bugs) at decode cases: Nq of 1, 2 and 16 rows packed per K/V head. */
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>
#include <vector>

#include "emu_api.h"
#include "mhsa_kernels.h"

typedef int (*launch_fn)(const mhsa_problem_t *, const mhsa_tensors_t *, void *, attn_stream_t);

struct Case {
    const char *what;
    int B, H, Hkv, Nq, Nk, d, causal, diag, window;
    int kv_len[2]; /* used when kv_len[0] >= 0 (B <= 2) */
    int splits;    /* fused-splitkv's key splits (0: its own choice) */
};

#ifndef MHSA_MASKS_SPLITKV

/* Cases with tiles at every edge: key tiles of 32, 64 and 128 keys, query tiles of 64 and 128
 * rows. */
static const Case cases[] = {
    {"GQA, Hkv = H/2", 2, 4, 2, 70, 130, 64, 0, 0, 0, {-1, 0}},
    {"MQA, causal bottom-right", 1, 2, 1, 40, 150, 128, 1, 110, 0, {-1, 0}},
    {"window, not causal", 1, 1, 1, 200, 200, 64, 0, 0, 37, {-1, 0}},
    {"window, causal, diag < 0 (first rows see nothing)", 1, 2, 2, 150, 140, 64, 1, -3, 50,
     {-1, 0}},
    {"GQA, causal, window, kv_len, a batch fully padded", 2, 2, 1, 130, 190, 128, 1, 60, 70,
     {100, 0}},
    {"window wider than every distance", 1, 1, 1, 33, 97, 64, 0, 20, 1 << 30, {-1, 0}},
    /* more key tiles than the wgmma kernels' two stages: each stage refilled twice or more */
    {"many key tiles, causal bottom-right, d = 128", 1, 2, 1, 130, 600, 128, 1, 470, 0, {-1, 0}},
    {"many key tiles, kv_len", 2, 1, 1, 70, 700, 64, 0, 0, 0, {650, 390}},
};
#define MHSA_MASKS_WORKSPACE(p) ((size_t)0)
#else
/* Decode: the G = H/Hkv heads' Nq rows of one K/V head packed into one row tile (4, 16 or 64
 * rows; 128 rows take two), key counts that are no multiple of the 32-key tile, one split and
 * several (forced, and chosen by the launcher). Each packed row has its own query position:
 * causal (both alignments) and windows differ from row to row within a head. */
static const Case cases[] = {
    {"MQA, Nq = 1, G = 8, causal bottom-right, splits chosen (3)", 2, 8, 1, 1, 1100, 64, 1,
     1099, 0, {-1, 0}, 0},
    {"Hkv = H, Nq = 2, causal top-left, 1 split, d = 128", 1, 4, 4, 2, 197, 128, 1, 0, 0,
     {-1, 0}, 1},
    {"G = 4, Nq = 16 (64 rows), causal bottom-right, window 50, 4 splits", 1, 8, 2, 16, 517, 64,
     1, 501, 50, {-1, 0}, 4},
    {"G = 8, Nq = 16 (128 rows: two tiles), kv_len, splits chosen", 2, 8, 1, 16, 450, 64, 0, 0,
     0, {300, 77}, 0},
    {"G = 4, Nq = 2, two-sided window, 5 splits", 1, 4, 1, 2, 250, 64, 0, 120, 30, {-1, 0}, 5},
    {"Hkv = H, Nq = 1, no mask, 2 splits, d = 128", 2, 2, 2, 1, 95, 128, 0, 0, 0, {-1, 0}, 2},
    {"G = 2, Nq = 16, causal bottom-right past kv_len, a batch fully padded, 2 splits", 2, 4, 2,
     16, 70, 64, 1, 54, 0, {40, 0}, 2},
    {"G = 4, Nq = 2, causal top-left, 1 split", 1, 8, 2, 2, 45, 64, 1, 0, 0, {-1, 0}, 1},
    {"G = 2, Nq = 16 (32 rows), d = 128, causal bottom-right, 3 splits", 1, 4, 2, 16, 300, 128,
     1, 284, 0, {-1, 0}, 3},
    {"G = 3, Nq = 3, d = 40 (columns past d), window 9 top-left, 2 splits", 2, 6, 2, 3, 77, 40,
     1, 0, 9, {-1, 0}, 2},
};
#define MHSA_MASKS_WORKSPACE(p) mhsa_splitkv_workspace(p)
#endif

/* The storage type E as a float and back: round to nearest even. */
static float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }
static float to_float(__half x) { return __half2float(x); }
template <typename E> static E from_float(float x);
template <> __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }
template <> __half from_float<__half>(float x) { return __float2half_rn(x); }

/* Query i of a row sees key j (the rule of mhsa_kernels.h, written out separately). */
static bool visible(const Case &c, int kvlen, int i, int j)
{
    if (j >= kvlen) return false;
    const long long a = (long long)i + c.diag; /* the aligned diagonal */
    if (c.causal && j > a) return false;
    if (c.window > 0 && j < a - (c.window - 1)) return false;
    if (c.window > 0 && !c.causal && j > a + (c.window - 1)) return false;
    return true;
}

/* O in double from the rounded inputs; rows with no visible key are 0. */
static void reference(const Case &c, const std::vector<float> &q, const std::vector<float> &k,
                      const std::vector<float> &v, std::vector<double> &o)
{
    const int d = c.d, group = c.H / c.Hkv;
    const double scale = 1.0 / std::sqrt((double)d);
    std::vector<double> s(c.Nk);
    for (int b = 0; b < c.B; b++)
        for (int h = 0; h < c.H; h++) {
            const int kvlen = c.kv_len[0] >= 0 ? c.kv_len[b] : c.Nk;
            const size_t kvb = ((size_t)b * c.Hkv + h / group) * c.Nk * d;
            for (int i = 0; i < c.Nq; i++) {
                const size_t qi = (((size_t)b * c.H + h) * c.Nq + i) * d;
                double m = -INFINITY, l = 0;
                for (int j = 0; j < c.Nk; j++) {
                    if (!visible(c, kvlen, i, j)) continue;
                    double dot = 0;
                    for (int x = 0; x < d; x++)
                        dot += (double)q[qi + x] * k[kvb + (size_t)j * d + x];
                    s[j] = dot * scale;
                    if (s[j] > m) m = s[j];
                }
                for (int x = 0; x < d; x++) o[qi + x] = 0;
                for (int j = 0; j < c.Nk; j++) {
                    if (!visible(c, kvlen, i, j)) continue;
                    const double p = std::exp(s[j] - m);
                    l += p;
                    for (int x = 0; x < d; x++) o[qi + x] += p * v[kvb + (size_t)j * d + x];
                }
                if (l > 0)
                    for (int x = 0; x < d; x++) o[qi + x] /= l;
            }
        }
}

/* One launcher on E data at one case under every schedule: 0 when it matches the reference, 1
 * when it differs (or differs between schedules), 2 when a launch failed. */
template <typename E>
static int run_case(const char *name, launch_fn fn, const Case &c)
{
    const size_t nq = (size_t)c.B * c.H * c.Nq * c.d, nkv = (size_t)c.B * c.Hkv * c.Nk * c.d;
    std::vector<float> q(nq), k(nkv), v(nkv);
    std::vector<E> qb(nq), kb(nkv), vb(nkv);
    unsigned seed = 12345u;
    auto rnd = [&seed]() { /* uniform in [-1, 1), deterministic */
        seed = seed * 1664525u + 1013904223u;
        return (float)((seed >> 8) * (1.0 / 8388608.0)) - 1.0f;
    };
    /* scores of a few units, so that the softmax is far from uniform */
    auto put = [](E &e, float &f, float x) { f = to_float(e = from_float<E>(x)); };
    for (size_t x = 0; x < nq; x++) put(qb[x], q[x], 2.0f * rnd());
    for (size_t x = 0; x < nkv; x++) put(kb[x], k[x], 2.0f * rnd());
    for (size_t x = 0; x < nkv; x++) put(vb[x], v[x], rnd());
    std::vector<double> ref(nq);
    reference(c, q, k, v, ref);
    double refmax = 0;
    for (double x : ref) refmax = std::fmax(refmax, std::fabs(x));

    const mhsa_problem_t p = {c.B, c.H, c.Nq, c.Nk, c.d, c.causal,
                              (float)(1.0 / std::sqrt((double)c.d)),
                              c.kv_len[0] >= 0 ? c.kv_len : nullptr, c.Hkv, c.diag, c.window,
                              c.splits};
    std::vector<char> ws(MHSA_MASKS_WORKSPACE(&p) + 1);
    std::vector<E> o(nq), first(nq);
    const mhsa_tensors_t t = {qb.data(), kb.data(), vb.data(), o.data()};
    /* P rounded before P·V and O stored as E, u each: the suite's 4·u (bf16 2^-6, f16 2^-9;
     * f16's term for a subnormal normalised P is the unfused rows', not needed here) */
    const bool f16 = std::is_same<E, __half>::value;
    const double tol = std::ldexp(1.0, f16 ? -9 : -6) * refmax;
    double err = 0;
    size_t worst = 0;
    for (int mode = 0; mode < ATTN_EMU_NSCHEDULES; mode++) {
        attn_emu_set_schedule(mode, 7);
        std::memset((void *)o.data(), 0xff, nq * sizeof o[0]); /* NaN: all must be written */
        std::memset(ws.data(), 0x7f, ws.size()); /* the splits' partial state too */
        if (int e = fn(&p, &t, ws.data(), nullptr)) {
            std::printf("FAIL %s, %s: launch error %d (%s)\n", name, c.what, e,
                        attn_emu_last_error() ? attn_emu_last_error() : "-");
            return 2;
        }
        /* the exact schedules agree bit for bit; the GPU-math one is held to the tolerance */
        if (mode == 0) {
            first = o;
        } else if (ATTN_EMU_SCHEDULE_EXACT(mode) &&
                   std::memcmp(first.data(), o.data(), nq * sizeof o[0])) {
            std::printf("FAIL %s, %s: output differs between schedules 0 and %d\n", name, c.what,
                        mode);
            return 1;
        }
        for (size_t x = 0; x < nq; x++) {
            const double e = std::fabs((double)to_float(o[x]) - ref[x]);
            if (!(e <= err)) err = e, worst = x; /* NaN counts as worst */
        }
    }
    const bool ok = err <= tol;
    std::printf("%s %s, %s: max |err| %.3g (tolerance %.3g) at element %zu\n", ok ? "ok  " : "FAIL",
                name, c.what, err, tol, worst);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    const bool planted = argc > 1 && !std::strcmp(argv[1], "--planted");
    const char *tag = planted && argc > 2 ? argv[2] : nullptr;
    const char *fault = argc > 2 && !std::strcmp(argv[1], "--planted-fault") ? argv[2] : nullptr;
    const char *ftag = fault && argc > 3 ? argv[3] : nullptr;
    const struct {
        const char *name;
        launch_fn fn;
        bool f16;
    } launchers[] = {
#if defined(MASKS_WGMMA)
        {"fused-wgmma", mhsa_fused_wgmma_launch, false},
        {"fused-wgmma-tma", mhsa_fused_wgmma_tma_launch, false},
        {"fused-wgmma-tma-pp", mhsa_fused_wgmma_tma_pp_launch, false}
#elif defined(MHSA_MASKS_SPLITKV)
        {"fused-splitkv", mhsa_splitkv_launch, false},
        {"fused-splitkv-f16", mhsa_splitkv_f16_launch, true}
#else
        {"fused", mhsa_fused_launch, false},
        {"fused-br64", mhsa_fused_br64_launch, false},
        {"fused-f16", mhsa_fused_f16_launch, true},
        {"fused-br64-f16", mhsa_fused_br64_f16_launch, true}
#endif
    };
    int differ = 0, failed = 0, wrong = 0, faulted = 0, unfaulted = 0;
    for (const auto &l : launchers) {
        int d = 0, f = 0, fl = 0;
        for (const Case &c : cases) {
            const int r = l.f16 ? run_case<__half>(l.name, l.fn, c)
                                : run_case<__nv_bfloat16>(l.name, l.fn, c);
            d += r == 1;
            fl += r == 2;
            failed += r == 2;
            f += r == 2 && fault && attn_emu_last_error() &&
                 std::strstr(attn_emu_last_error(), fault);
        }
        differ += d;
        faulted += f;
        /* --planted-fault TEXT [TAG]: every launcher (named with TAG) fails with TEXT */
        if (fault && !f && (!ftag || std::strstr(l.name, ftag))) {
            std::printf("%s: no launch failed with '%s'\n", l.name, fault);
            unfaulted++;
        }
        if (fault && ftag && !std::strstr(l.name, ftag) && (fl || d)) {
            std::printf("%s: %d launches failed, %d cases differ, but the planted bug should not "
                        "break it\n", l.name, fl, d);
            unfaulted++;
        }
        /* --planted TAG: exactly the launchers named with TAG are broken */
        if (tag && (std::strstr(l.name, tag) != nullptr) != (d > 0)) {
            std::printf("%s: %d cases differ, but the planted bug should %sbreak it\n", l.name, d,
                        std::strstr(l.name, tag) ? "" : "not ");
            wrong++;
        }
    }
    if (fault) {
        std::printf(faulted && !unfaulted
                        ? "the planted bug is caught (%d launches fail with '%s')\n"
                        : "the planted bug is NOT caught (%d launches fail with '%s')\n",
                    faulted, fault);
        return faulted && !unfaulted ? 0 : 1;
    }
    if (failed) return 1;
    if (planted) {
        const bool caught = differ && !wrong;
        std::printf(caught ? "the planted bug is caught (%d cases differ)\n"
                           : "the planted bug is NOT caught as expected (%d cases differ)\n",
                    differ);
        return caught ? 0 : 1;
    }
    return differ ? 1 : 0;
}
