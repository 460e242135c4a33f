/* Small shared helpers: the seeded generator, bf16 rounding, unit roundoff, monotonic clock. */
#ifndef ATTN_UTIL_H
#define ATTN_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "registry.h"

/* splitmix64-seeded xoshiro256** stream; the same seed gives the same tensors everywhere. */
typedef struct attn_rng { uint64_t s[4]; } attn_rng_t;
void attn_rng_seed(attn_rng_t *r, uint64_t seed, uint64_t stream);
uint64_t attn_rng_u64(attn_rng_t *r);
double attn_rng_uniform(attn_rng_t *r);              /* [0, 1) */
double attn_rng_normal(attn_rng_t *r);               /* N(0, 1), Box–Muller */
/* Fill x[0..n) with N(0, sigma²) floats. */
void attn_fill_normal(float *x, size_t n, double sigma, uint64_t seed, uint64_t stream);

/* bf16 round-to-nearest-even of a float, as CUDA's __float2bfloat16 does (NaN stays NaN). */
uint16_t attn_f32_to_bf16(float f);
float attn_bf16_to_f32(uint16_t h);

/* IEEE binary16 round-to-nearest-even of a float, as CUDA's __float2half_rn does: subnormals
 * kept, beyond 65504 (after rounding) infinity, NaN stays NaN. The way back is exact. */
uint16_t attn_f32_to_f16(float f);
float attn_f16_to_f32(uint16_t h);

/* Unit roundoff u of a storage dtype: 2^-53 (f64), 2^-24 (f32), 2^-8 (bf16), 2^-11 (f16). */
double attn_unit_roundoff(attn_dtype_t t);

/* Seconds from a monotonic clock. */
double attn_now(void);

/* "12.3 MiB"-style formatting into buf. */
const char *attn_fmt_bytes(double bytes, char *buf, size_t n);

/* Host memory a new allocation can have without swapping: MemAvailable of /proc/meminfo (free
 * memory plus the page cache and buffers the kernel can drop), else the free pages. */
double attn_host_mem_available(void);
/* MemAvailable in bytes from a meminfo file (NULL: /proc/meminfo); -1 when absent. */
double attn_meminfo_available(const char *path);

/* Print to stderr and exit(2): for bad usage only. */
void attn_die_usage(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
#endif
