#include "util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

void attn_rng_seed(attn_rng_t *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xD1B54A32D192ED03ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t attn_rng_u64(attn_rng_t *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

double attn_rng_uniform(attn_rng_t *r) { return (double)(attn_rng_u64(r) >> 11) * 0x1.0p-53; }

double attn_rng_normal(attn_rng_t *r)
{
    double u1 = attn_rng_uniform(r), u2 = attn_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void attn_fill_normal(float *x, size_t n, double sigma, uint64_t seed, uint64_t stream)
{
    attn_rng_t r;
    attn_rng_seed(&r, seed, stream);
    for (size_t i = 0; i < n; i++) x[i] = (float)(sigma * attn_rng_normal(&r));
}

uint16_t attn_f32_to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float attn_bf16_to_f32(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t attn_f32_to_f16(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    const uint16_t sign = (uint16_t)(u >> 16 & 0x8000u);
    const uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u | (a >> 13 & 0x3ffu)); /* quiet NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u); /* rounds past 65504: infinity */
    if (a < 0x38800000u) {
        /* below 2^-14: a multiple of 2^-24, rounded to nearest even (exact in float arithmetic) */
        float m;
        memcpy(&m, &a, 4);
        return (uint16_t)(sign | (uint16_t)nearbyintf(m * 0x1p24f));
    }
    /* normal: rebias the exponent (127 -> 15), round the 23-bit mantissa to 10 bits; a carry
     * into the exponent is the correct rounding up to the next binade */
    const uint32_t r = a - 0x38000000u;
    return (uint16_t)(sign | ((r + 0xfffu + (r >> 13 & 1u)) >> 13));
}

float attn_f16_to_f32(uint16_t h)
{
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = h >> 10 & 0x1fu, m = h & 0x3ffu;
    if (e == 0) { /* zero or subnormal: m · 2^-24, exact */
        const float f = (float)m * 0x1p-24f;
        return sign ? -f : f;
    }
    const uint32_t u = sign | (e == 31 ? 0x7f800000u | m << 13 : (e + 112) << 23 | m << 13);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

double attn_unit_roundoff(attn_dtype_t t)
{
    switch (t) {
    case ATTN_F64: return 0x1.0p-53;
    case ATTN_F32: return 0x1.0p-24;
    case ATTN_BF16: return 0x1.0p-8;
    case ATTN_F16: return 0x1.0p-11;
    }
    return 1.0;
}

double attn_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

const char *attn_fmt_bytes(double b, char *buf, size_t n)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024.0 && i < 4) { b /= 1024.0; i++; }
    snprintf(buf, n, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
    return buf;
}

void attn_die_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("attnbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(see attnbench --help)\n", stderr);
    va_end(ap);
    exit(2);
}

double attn_meminfo_available(const char *path)
{
    FILE *f = fopen(path ? path : "/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    double kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) break;
    fclose(f);
    return kb >= 0 ? kb * 1024.0 : -1;
}

double attn_host_mem_available(void)
{
    const double b = attn_meminfo_available(NULL);
    if (b >= 0) return b;
    return (double)sysconf(_SC_AVPHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
}
