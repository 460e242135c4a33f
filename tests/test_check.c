/* attn_compare and its helpers: the tolerance boundary, unwritten (NaN-poisoned) elements,
 * the worst index, row selection, the bf16 conversions, row sampling, index strings, stats. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "stats.h"
#include "util.h"

#define N 64

/* ref[e] = sin-like values in [-2, 2] with max|ref| = 2 exactly (at element 10). */
static void make_ref(double *ref)
{
    for (int e = 0; e < N; e++) ref[e] = 1.5 * ((e * 37 % 17) / 8.0 - 1.0);
    ref[10] = -2.0;
}

static float fbits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}
static uint32_t bitsf(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* ------------------------------------------------------------------ attn_compare */

Test(compare, exact_copy_passes_every_dtype)
{
    double ref[N], od[N];
    float of[N];
    uint16_t ob[N];
    make_ref(ref);
    for (int e = 0; e < N; e++) {
        od[e] = ref[e];
        of[e] = (float)ref[e];              /* the values are exact in float ... */
        ob[e] = attn_f32_to_bf16(of[e]);    /* ... and in bf16 (multiples of 1/16 below 4) */
    }
    attn_check_t c = attn_compare(od, ATTN_F64, ref, N, 8, NULL, 0.0);
    cr_expect(c.ok && c.max_abs_err == 0 && c.checked == N && c.nonfinite == 0);
    cr_expect_eq(c.ref_scale, 2.0);
    c = attn_compare(of, ATTN_F32, ref, N, 8, NULL, 0.0);
    cr_expect(c.ok && c.max_abs_err == 0 && c.checked == N, "f32 copy: err %g", c.max_abs_err);
    c = attn_compare(ob, ATTN_BF16, ref, N, 8, NULL, 0.0);
    cr_expect(c.ok && c.max_abs_err == 0 && c.checked == N, "bf16 copy: err %g", c.max_abs_err);
}

/* tol_abs = tol_rel · max|ref| = 2^-10 · 2 = 2^-9. Element 3 perturbed by exactly 2^-9 passes
 * (the bound is inclusive), by 2^-9 + 2^-23 (one f32 ulp near 1 more) fails; f64 likewise with
 * a relative nudge of 1e-12 either side. */
Test(compare, tolerance_boundary)
{
    double ref[N];
    float of[N];
    make_ref(ref);
    ref[3] = 1.0;
    const double tol_rel = 0x1p-10, tol_abs = 0x1p-9;
    for (int e = 0; e < N; e++) of[e] = (float)ref[e];

    of[3] = 1.0f + 0x1p-9f;
    attn_check_t c = attn_compare(of, ATTN_F32, ref, N, 8, NULL, tol_rel);
    cr_expect_eq(c.tol_abs, tol_abs);
    cr_expect(c.ok, "error exactly at the tolerance must pass (err %a, tol %a)", c.max_abs_err,
              c.tol_abs);
    of[3] = 1.0f + 0x1p-9f + 0x1p-23f;
    c = attn_compare(of, ATTN_F32, ref, N, 8, NULL, tol_rel);
    cr_expect(!c.ok, "error one ulp above the tolerance must fail (err %a, tol %a)",
              c.max_abs_err, c.tol_abs);
    cr_expect_eq(c.worst, 3);
    of[3] = 1.0f - 0x1p-9f + 0x1p-24f; /* just below, other side */
    c = attn_compare(of, ATTN_F32, ref, N, 8, NULL, tol_rel);
    cr_expect(c.ok, "just below the tolerance (negative error) must pass");
    of[3] = 1.0f - 0x1p-9f - 0x1p-24f;
    c = attn_compare(of, ATTN_F32, ref, N, 8, NULL, tol_rel);
    cr_expect(!c.ok, "just above the tolerance (negative error) must fail");

    double od[N];
    memcpy(od, ref, sizeof od);
    od[40] = ref[40] + tol_abs * (1 - 1e-12);
    c = attn_compare(od, ATTN_F64, ref, N, 8, NULL, tol_rel);
    cr_expect(c.ok, "f64: just below passes");
    od[40] = ref[40] + tol_abs * (1 + 1e-12);
    c = attn_compare(od, ATTN_F64, ref, N, 8, NULL, tol_rel);
    cr_expect(!c.ok && c.worst == 40, "f64: just above fails at 40 (ok %d worst %lld)", c.ok,
              (long long)c.worst);
}

/* The tolerance is relative to max|ref|: scaling ref and out by 1000 keeps the verdict. */
Test(compare, tolerance_scales_with_reference)
{
    double ref[N], od[N];
    make_ref(ref);
    for (int e = 0; e < N; e++) ref[e] *= 1000, od[e] = ref[e];
    od[7] += 1000 * 0x1p-9 * 0.99;
    attn_check_t c = attn_compare(od, ATTN_F64, ref, N, 8, NULL, 0x1p-10);
    cr_expect(c.ok && c.ref_scale == 2000.0, "scale %g", c.ref_scale);
    od[7] += 1000 * 0x1p-9 * 0.02;
    cr_expect(!attn_compare(od, ATTN_F64, ref, N, 8, NULL, 0x1p-10).ok);
}

/* An element left unwritten keeps the 0xFF poison: NaN in f32 and bf16. It fails even with an
 * unbounded tolerance, is counted, and is reported as the worst element. */
Test(compare, unwritten_element_fails_f32_and_bf16)
{
    double ref[N];
    make_ref(ref);
    float of[N];
    uint16_t ob[N];
    memset(of, 0xFF, sizeof of);
    memset(ob, 0xFF, sizeof ob);
    cr_assert(isnan(attn_load(of, ATTN_F32, 0)) && isnan(attn_load(ob, ATTN_BF16, 0)),
              "0xFF bytes must read as NaN");
    for (int e = 0; e < N; e++)
        if (e != 21) of[e] = (float)ref[e], ob[e] = attn_f32_to_bf16((float)ref[e]);
    attn_check_t c = attn_compare(of, ATTN_F32, ref, N, 8, NULL, INFINITY);
    cr_expect(!c.ok && c.nonfinite == 1 && c.worst == 21, "f32: ok %d nonfinite %lld worst %lld",
              c.ok, (long long)c.nonfinite, (long long)c.worst);
    cr_expect(isnan(c.out_at_worst) && c.ref_at_worst == ref[21]);
    c = attn_compare(ob, ATTN_BF16, ref, N, 8, NULL, INFINITY);
    cr_expect(!c.ok && c.nonfinite == 1 && c.worst == 21, "bf16: ok %d nonfinite %lld worst %lld",
              c.ok, (long long)c.nonfinite, (long long)c.worst);
    /* an infinite output fails too */
    of[21] = INFINITY;
    c = attn_compare(of, ATTN_F32, ref, N, 8, NULL, INFINITY);
    cr_expect(!c.ok && c.nonfinite == 1);
}

/* The worst index is the element with the largest |out − ref|, with its values; once a
 * non-finite output is seen, the first non-finite one is reported instead. */
Test(compare, worst_index_and_rel_l2)
{
    double ref[N], od[N];
    make_ref(ref);
    memcpy(od, ref, sizeof od);
    od[5] += 0.01, od[50] -= 0.03, od[60] += 0.02;
    attn_check_t c = attn_compare(od, ATTN_F64, ref, N, 8, NULL, 1.0);
    cr_expect_eq(c.worst, 50);
    cr_expect_float_eq(c.max_abs_err, 0.03, 1e-15);
    cr_expect_eq(c.out_at_worst, od[50]);
    cr_expect_eq(c.ref_at_worst, ref[50]);
    double r2 = 0;
    for (int e = 0; e < N; e++) r2 += ref[e] * ref[e];
    cr_expect_float_eq(c.rel_l2_err, sqrt((1e-4 + 9e-4 + 4e-4) / r2), 1e-12);
    od[30] = NAN, od[40] = NAN;
    c = attn_compare(od, ATTN_F64, ref, N, 8, NULL, 1.0);
    cr_expect(!c.ok && c.worst == 30 && c.nonfinite == 2, "worst %lld", (long long)c.worst);

    /* a hand case for rel_l2: ref (3, 4), out (3, 4.5) → sqrt(0.25 / 25) = 0.1 */
    const double r[2] = {3, 4}, o[2] = {3, 4.5};
    c = attn_compare(o, ATTN_F64, r, 2, 1, NULL, 1.0);
    cr_expect_float_eq(c.rel_l2_err, 0.1, 1e-15);
    cr_expect_eq(c.worst, 1);
}

/* row_sel restricts the comparison to the selected rows (row = element / row_len): errors
 * and NaNs elsewhere — in the output or in the reference — do not count; an error in a selected
 * row does; comparing nothing never passes. */
Test(compare, row_sel_restricts)
{
    double ref[N], od[N];
    make_ref(ref);
    memcpy(od, ref, sizeof od);
    uint8_t sel[8] = {1, 0, 0, 1, 0, 0, 0, 1}; /* rows of 8 elements */
    od[9] = 100;                /* row 1: not selected */
    od[40] = NAN;               /* row 5 */
    ref[50] = NAN;              /* row 6: the harness leaves unsampled reference rows NaN */
    attn_check_t c = attn_compare(od, ATTN_F64, ref, N, 8, sel, 1e-12);
    cr_expect(c.ok, "errors outside the selected rows count (err %g, nonfinite %lld)",
              c.max_abs_err, (long long)c.nonfinite);
    cr_expect_eq(c.checked, 24);
    cr_expect(!isnan(c.ref_scale) && !isnan(c.rel_l2_err));
    od[3 * 8 + 2] += 0.5;       /* row 3: selected */
    c = attn_compare(od, ATTN_F64, ref, N, 8, sel, 1e-3);
    cr_expect(!c.ok && c.worst == 26, "ok %d worst %lld", c.ok, (long long)c.worst);
    uint8_t none[8] = {0};
    c = attn_compare(od, ATTN_F64, ref, N, 8, none, 1.0);
    cr_expect(!c.ok && c.checked == 0, "an empty comparison must not pass");
    c = attn_compare(od, ATTN_F64, ref, 0, 8, NULL, 1.0);
    cr_expect(!c.ok, "zero elements must not pass");
}

/* attn_compare_mapped: rows given by the suite's row_of (here channel-major, e % 4), so the
 * selected rows are strided through the buffer. */
static int64_t row_mod4(const attn_suite_t *s, const int64_t *v, int64_t e) { return e % v[0]; }
static const attn_suite_t mod4_suite = {.name = "mod4", .row_of = row_mod4};
Test(compare, mapped_rows)
{
    double ref[N], od[N];
    make_ref(ref);
    memcpy(od, ref, sizeof od);
    const int64_t v[1] = {4};
    uint8_t sel[4] = {0, 1, 0, 0};
    od[4] += 1.0;  /* row 0 */
    od[6] = NAN;   /* row 2 */
    attn_check_t c = attn_compare_mapped(od, ATTN_F64, ref, N, &mod4_suite, v, sel, 1e-12);
    cr_expect(c.ok && c.checked == N / 4, "ok %d checked %lld", c.ok, (long long)c.checked);
    od[9] += 1.0;  /* row 1 */
    c = attn_compare_mapped(od, ATTN_F64, ref, N, &mod4_suite, v, sel, 1e-3);
    cr_expect(!c.ok && c.worst == 9, "ok %d worst %lld", c.ok, (long long)c.worst);
    /* without a selection it is attn_compare */
    c = attn_compare_mapped(od, ATTN_F64, ref, N, &mod4_suite, v, NULL, 1e-3);
    cr_expect(!c.ok && c.checked == N && c.nonfinite == 1);
}

/* The bf16 path: out is bf16 bits, compared through attn_bf16_to_f32. Rounding ref to bf16
 * loses at most u = 2^-8 relative, so it passes 2^-8 and fails a tolerance 16× tighter. */
Test(compare, bf16_output)
{
    double ref[N];
    uint16_t ob[N];
    for (int e = 0; e < N; e++) ref[e] = sin(0.37 * e + 0.1);
    for (int e = 0; e < N; e++) ob[e] = attn_f32_to_bf16((float)ref[e]);
    attn_check_t c = attn_compare(ob, ATTN_BF16, ref, N, 8, NULL, 0x1p-8);
    cr_expect(c.ok, "bf16 rounding: err %g tol %g", c.max_abs_err, c.tol_abs);
    c = attn_compare(ob, ATTN_BF16, ref, N, 8, NULL, 0x1p-12);
    cr_expect(!c.ok, "bf16 rounding passed a tolerance of 2^-12");
}

/* ------------------------------------------------------------------ bf16 conversions */

Test(bf16, known_values_and_ties_to_even)
{
    cr_expect_eq(attn_f32_to_bf16(1.0f), 0x3F80);
    cr_expect_eq(attn_f32_to_bf16(-2.0f), 0xC000);
    cr_expect_eq(attn_f32_to_bf16(0.0f), 0x0000);
    cr_expect_eq(attn_f32_to_bf16(-0.0f), 0x8000);
    cr_expect_eq(attn_f32_to_bf16(INFINITY), 0x7F80);
    cr_expect_eq(attn_f32_to_bf16(-INFINITY), 0xFF80);
    /* 1 + 2^-8 lies exactly between 0x3F80 (1) and 0x3F81 (1 + 2^-7): tie → even (0x3F80) */
    cr_expect_eq(attn_f32_to_bf16(fbits(0x3F808000)), 0x3F80);
    /* between 0x3F81 and 0x3F82: tie → even (0x3F82) */
    cr_expect_eq(attn_f32_to_bf16(fbits(0x3F818000)), 0x3F82);
    cr_expect_eq(attn_f32_to_bf16(fbits(0xBF818000)), 0xBF82); /* negative tie */
    cr_expect_eq(attn_f32_to_bf16(fbits(0x3F808001)), 0x3F81); /* just above the tie: up */
    cr_expect_eq(attn_f32_to_bf16(fbits(0x3F807FFF)), 0x3F80); /* just below: down */
    cr_expect_eq(attn_f32_to_bf16(fbits(0x3F81FFFF)), 0x3F82);
    /* the largest finite float rounds up to infinity (as __float2bfloat16 does) */
    cr_expect_eq(attn_f32_to_bf16(fbits(0x7F7FFFFF)), 0x7F80);
    /* subnormals round too */
    cr_expect_eq(attn_f32_to_bf16(fbits(0x00018000)), 0x0002);
    cr_expect_eq(attn_bf16_to_f32(0x3F80), 1.0f);
    cr_expect_eq(attn_bf16_to_f32(0xC000), -2.0f);
    cr_expect_eq(bitsf(attn_bf16_to_f32(0x3F81)), 0x3F810000u);
}

/* NaN stays NaN, including NaNs whose payload sits only in the low 16 bits (plain truncation
 * or rounding would turn 0x7F800001 into infinity). */
Test(bf16, nan_stays_nan)
{
    const uint32_t nans[] = {0x7FC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF, 0xFFFFFFFF,
                             0x7F80FFFF};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = attn_f32_to_bf16(fbits(nans[i]));
        cr_expect(isnan(attn_bf16_to_f32(h)), "NaN 0x%08X → 0x%04X is not NaN", nans[i], h);
        cr_expect_eq(h >> 15, nans[i] >> 31, "NaN 0x%08X lost its sign", nans[i]);
    }
    cr_expect(isnan(attn_bf16_to_f32(0xFFFF)), "0xFFFF (the poison) must be NaN");
}

/* Every non-NaN bf16 value converts to float and back unchanged. */
Test(bf16, every_value_round_trips)
{
    for (uint32_t h = 0; h <= 0xFFFF; h++) {
        float f = attn_bf16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        cr_assert_eq(attn_f32_to_bf16(f), h, "0x%04X → %g → 0x%04X", h, f, attn_f32_to_bf16(f));
    }
}

/* Against a brute-force nearest: of the two bf16 values around f (truncated and next), pick
 * the nearer in double, the even one on a tie. 2^20 seeded random bit patterns. */
Test(bf16, matches_brute_force_nearest_even)
{
    attn_rng_t r;
    attn_rng_seed(&r, 123, 0);
    for (int t = 0; t < (1 << 20); t++) {
        uint32_t u = (uint32_t)attn_rng_u64(&r);
        if (t & 1) u = (u & 0xFFFF0000u) | ((t & 2) ? 0x8000u : (u & 0xFFFFu)); /* many ties */
        float f = fbits(u);
        if (isnan(f) || isinf(f)) continue;
        uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1); /* toward ±inf in magnitude */
        /* past the largest finite bf16 the next value is ±2^128 (it then rounds to ±inf) */
        const double vhi = (hi & 0x7FFF) == 0x7F80 ? copysign(0x1p128, f) : attn_bf16_to_f32(hi);
        double dl = fabs((double)attn_bf16_to_f32(lo) - f);
        double dh = fabs(vhi - f);
        uint16_t want = dl < dh ? lo : dh < dl ? hi : (lo & 1) ? hi : lo;
        if ((u & 0xFFFFu) == 0) want = lo;
        cr_assert_eq(attn_f32_to_bf16(f), want, "f = %a (0x%08X): got 0x%04X, want 0x%04X", f, u,
                     attn_f32_to_bf16(f), want);
    }
}

/* ------------------------------------------------------------------ row sampling */

Test(sample_rows, first_last_count_spread_deterministic)
{
    static const int64_t rows_[] = {10, 1000, 4097, 100000};
    static const int64_t want_[] = {3, 50, 64, 1000};
    for (size_t t = 0; t < 4; t++) {
        const int64_t rows = rows_[t], want = want_[t];
        uint8_t *a = malloc((size_t)rows), *b = malloc((size_t)rows);
        cr_assert(a && b);
        int64_t n = attn_sample_rows(a, rows, want, 7);
        cr_expect(a[0] && a[rows - 1], "rows=%lld: first/last not selected", (long long)rows);
        int64_t cnt = 0, gap = 0, maxgap = 0;
        for (int64_t i = 0; i < rows; i++) {
            cr_assert(a[i] == 0 || a[i] == 1);
            cnt += a[i];
            gap = a[i] ? 0 : gap + 1;
            if (gap > maxgap) maxgap = gap;
        }
        cr_expect_eq(n, cnt, "returned %lld, selected %lld", (long long)n, (long long)cnt);
        cr_expect(cnt <= want && cnt >= want - (want / 20 + 1), "rows=%lld want=%lld: %lld selected",
                  (long long)rows, (long long)want, (long long)cnt);
        /* evenly spread: no gap longer than two strides */
        cr_expect(maxgap <= 2 * (rows / want + 1), "rows=%lld want=%lld: gap %lld",
                  (long long)rows, (long long)want, (long long)maxgap);
        attn_sample_rows(b, rows, want, 7);
        cr_expect(memcmp(a, b, (size_t)rows) == 0, "same seed, different rows");
        attn_sample_rows(b, rows, want, 8);
        if (rows / want > 4)
            cr_expect(memcmp(a, b, (size_t)rows) != 0, "rows=%lld: seed does not matter",
                      (long long)rows);
        free(a), free(b);
    }
}

Test(sample_rows, edge_cases)
{
    uint8_t s[16];
    cr_expect_eq(attn_sample_rows(s, 16, 16, 1), 16, "want == rows: all");
    cr_expect_eq(attn_sample_rows(s, 16, 100, 1), 16, "want > rows: all");
    for (int i = 0; i < 16; i++) cr_expect_eq(s[i], 1);
    cr_expect_eq(attn_sample_rows(s, 16, 1, 1), 2, "want 1: first and last");
    cr_expect(s[0] && s[15]);
    cr_expect_eq(attn_sample_rows(s, 1, 1, 1), 1);
}

/* ------------------------------------------------------------------ index strings */

Test(index_str, flat_to_named_coordinates)
{
    const attn_tensor_t t = {"o", ATTN_T_FLOAT, 4, {2, 3, 4, 5}, "bhic"};
    char buf[64];
    /* ((1·3 + 2)·4 + 3)·5 + 4 = 119 */
    cr_expect_str_eq(attn_index_str(&t, 119, buf, sizeof buf), "(b=1,h=2,i=3,c=4)");
    cr_expect_str_eq(attn_index_str(&t, 0, buf, sizeof buf), "(b=0,h=0,i=0,c=0)");
    cr_expect_str_eq(attn_index_str(&t, 5, buf, sizeof buf), "(b=0,h=0,i=1,c=0)");
    const attn_tensor_t l = {"kv_len", ATTN_T_INT32, 1, {7}, "b"};
    cr_expect_str_eq(attn_index_str(&l, 6, buf, sizeof buf), "(b=6)");
    /* a short buffer is truncated, NUL-terminated, and nothing beyond it is written */
    char small[12];
    memset(small, 'Z', sizeof small);
    attn_index_str(&t, 119, small, 8);
    cr_expect(memchr(small, 0, 8) != NULL, "not NUL-terminated");
    cr_expect(small[8] == 'Z' && small[11] == 'Z', "wrote past the buffer");
}

/* ------------------------------------------------------------------ stats */

Test(stats, median_quartiles_type7)
{
    double x[] = {9, 1, 8, 2, 7, 3, 6, 4, 5};
    attn_stats_t s = attn_stats(x, 9);
    cr_expect(s.n == 9 && s.median == 5 && s.min == 1 && s.max == 9);
    cr_expect(s.q1 == 3 && s.q3 == 7 && s.iqr == 4, "q1 %g q3 %g iqr %g", s.q1, s.q3, s.iqr);
    /* even n: numpy.percentile([1, 2, 3, 4], [25, 50, 75]) = 1.75, 2.5, 3.25 */
    double y[] = {4, 3, 2, 1};
    s = attn_stats(y, 4);
    cr_expect(s.median == 2.5 && s.q1 == 1.75 && s.q3 == 3.25 && s.iqr == 1.5,
              "median %g q1 %g q3 %g", s.median, s.q1, s.q3);
    double z[] = {42};
    s = attn_stats(z, 1);
    cr_expect(s.median == 42 && s.iqr == 0 && s.min == 42 && s.max == 42);
    s = attn_stats(z, 0);
    cr_expect(s.n == 0 && isnan(s.median));
}

Test(stats, rel_spread)
{
    double x[] = {4, 3, 2, 1};
    cr_expect_float_eq(attn_rel_spread(x, 4), 1.5 / 2.5, 1e-15);
    cr_expect(x[0] == 4 && x[3] == 1, "attn_rel_spread reordered its input");
    cr_expect(isinf(attn_rel_spread(x, 3)), "n < 4 must give +inf");
    double zero[] = {0, 0, 0, 0};
    cr_expect(isinf(attn_rel_spread(zero, 4)), "median 0 must give +inf");
}

/* Host memory admission reads MemAvailable (free memory plus what the kernel can drop), not
 * MemFree: on a machine whose page cache holds most memory, MemFree alone would skip cases that
 * fit. */
Test(util, meminfo_available_not_memfree)
{
    char path[] = "/tmp/attn-meminfo-XXXXXX";
    const int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    fputs("MemTotal:       24000000 kB\nMemFree:          500000 kB\n"
          "MemAvailable:   20000000 kB\nBuffers:          100000 kB\n", f);
    fclose(f);
    cr_expect_float_eq(attn_meminfo_available(path), 20000000.0 * 1024, 1.0);
    f = fopen(path, "w");
    fputs("MemTotal:       24000000 kB\nMemFree:          500000 kB\n", f);
    fclose(f);
    cr_expect_eq(attn_meminfo_available(path), -1, "no MemAvailable line: -1");
    remove(path);
    cr_expect_eq(attn_meminfo_available(path), -1, "no file: -1");
    cr_expect_gt(attn_host_mem_available(), 0);
}

#ifdef ATTN_HAVE_CUDA
#include "device.h"
/* Which CUDA errors poison the context (every later call fails: the case's process must end)
 * and which are cleared after being reported, so that the next variant is not blamed for them
 * (a failed cudaMalloc of a huge workspace must not fail the next variant's launch). Codes as
 * the CUDA runtime numbers them. */
Test(util, cuda_error_attribution)
{
    static const int sticky[] = {700 /* illegal address */, 719 /* launch failure */,
                                 716 /* misaligned */, 710 /* assert */,
                                 717 /* invalid address space */, 999 /* unknown */,
                                 709 /* context is destroyed */};
    static const int cleared[] = {2 /* out of memory */, 1 /* invalid value */,
                                  98 /* invalid device function */, 9 /* invalid configuration */};
    for (size_t i = 0; i < sizeof sticky / sizeof *sticky; i++)
        cr_expect(attn_cuda_error_sticky(sticky[i]), "error %d must poison the context", sticky[i]);
    for (size_t i = 0; i < sizeof cleared / sizeof *cleared; i++)
        cr_expect(!attn_cuda_error_sticky(cleared[i]), "error %d must be cleared", cleared[i]);
}
#endif

/* ------------------------------------------------------------------ f16 conversions */

Test(f16, known_values_ties_range_and_nan)
{
    cr_expect_eq(attn_f32_to_f16(1.0f), 0x3C00);
    cr_expect_eq(attn_f32_to_f16(-2.0f), 0xC000);
    cr_expect_eq(attn_f32_to_f16(-0.0f), 0x8000);
    cr_expect_eq(attn_f32_to_f16(65504.0f), 0x7BFF);     /* the largest finite f16 */
    cr_expect_eq(attn_f32_to_f16(65519.996f), 0x7BFF);   /* below the tie with 2^16: down */
    cr_expect_eq(attn_f32_to_f16(65520.0f), 0x7C00);     /* the tie: even, i.e. infinity */
    cr_expect_eq(attn_f32_to_f16(-1e6f), 0xFC00);
    cr_expect_eq(attn_f32_to_f16(1.0f + 0x1p-11f), 0x3C00);     /* tie → even */
    cr_expect_eq(attn_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3C02); /* tie → even (up) */
    cr_expect_eq(attn_f32_to_f16(0x1p-14f), 0x0400);            /* smallest normal */
    cr_expect_eq(attn_f32_to_f16(0x1p-24f), 0x0001);            /* smallest subnormal */
    cr_expect_eq(attn_f32_to_f16(0x1p-25f), 0x0000);            /* tie with 0 → even */
    cr_expect_eq(attn_f32_to_f16(0x1.8p-24f), 0x0002);          /* 1.5 ulp: tie → even */
    cr_expect_eq(attn_f32_to_f16(0x1.ffcp-15f), 0x0400);        /* rounds up into the normals */
    cr_expect_eq(attn_f16_to_f32(0x0001), 0x1p-24f);
    cr_expect_eq(attn_f16_to_f32(0x7BFF), 65504.0f);
    cr_expect(isinf(attn_f16_to_f32(0x7C00)));
    const uint32_t nans[] = {0x7FC00000, 0x7F800001, 0xFF800001, 0x7FFFFFFF};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = attn_f32_to_f16(fbits(nans[i]));
        cr_expect(isnan(attn_f16_to_f32(h)), "NaN 0x%08X → 0x%04X is not NaN", nans[i], h);
    }
    cr_expect(isnan(attn_f16_to_f32(0xFFFF)), "0xFFFF (the poison) must be NaN");
}

/* Every non-NaN f16 converts to float and back unchanged, and every float between two
 * neighbouring f16 values goes to the nearer, the even one on the tie: the midpoint (exact in
 * float) and the floats on either side of it, for every pair of neighbours. */
Test(f16, every_value_round_trips_and_rounds_to_nearest_even)
{
    for (uint32_t h = 0; h <= 0xFFFF; h++) {
        const float f = attn_f16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        cr_assert_eq(attn_f32_to_f16(f), h, "0x%04X → %g → 0x%04X", h, f, attn_f32_to_f16(f));
        if ((h & 0x7FFF) >= 0x7C00) continue;
        /* the next value away from zero; past 65504 it is 2^16 (rounds to infinity) */
        const uint16_t n = (uint16_t)(h + 1);
        const float fn = (n & 0x7FFF) == 0x7C00 ? copysignf(0x1p16f, f) : attn_f16_to_f32(n);
        const float mid = (f + fn) / 2;
        cr_assert_eq(attn_f32_to_f16(mid), (h & 1) ? n : h, "tie %a", mid);
        cr_assert_eq(attn_f32_to_f16(nextafterf(mid, 0.0f)), h, "below tie %a", mid);
        cr_assert_eq(attn_f32_to_f16(nextafterf(mid, fn)), n, "above tie %a", mid);
    }
}

/* The f16 output path: rounding ref to f16 loses at most 2^-11 relative, so it passes 2^-11 and
 * fails 2^-15; read as bf16 (the wrong conversion) the same bits fail any sane tolerance. */
Test(compare, f16_output)
{
    double ref[N];
    uint16_t oh[N];
    for (int e = 0; e < N; e++) ref[e] = sin(0.37 * e + 0.1);
    for (int e = 0; e < N; e++) oh[e] = attn_f32_to_f16((float)ref[e]);
    attn_check_t c = attn_compare(oh, ATTN_F16, ref, N, 8, NULL, 0x1p-11);
    cr_expect(c.ok, "f16 rounding: err %g tol %g", c.max_abs_err, c.tol_abs);
    c = attn_compare(oh, ATTN_F16, ref, N, 8, NULL, 0x1p-15);
    cr_expect(!c.ok, "f16 rounding passed a tolerance of 2^-15");
    c = attn_compare(oh, ATTN_BF16, ref, N, 8, NULL, 0.1);
    cr_expect(!c.ok, "f16 bits read as bf16 passed");
    cr_expect_eq(attn_unit_roundoff(ATTN_F16), 0x1p-11);
    cr_expect_str_eq(attn_dtype_name(ATTN_F16), "f16");
    cr_expect_eq(attn_dtype_size(ATTN_F16), 2);
}
