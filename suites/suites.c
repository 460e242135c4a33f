/* The list of suites bench/ iterates over. Adding a suite: write suites/<name>.c defining
 * `const attn_suite_t <name>_suite`, add it to suites/meson.build and to this list. */
#include "registry.h"

extern const attn_suite_t mhsa_suite;
extern const attn_suite_t halo_suite;
extern const attn_suite_t outlook_suite;
extern const attn_suite_t emsa_suite;
extern const attn_suite_t aaconv_suite;
extern const attn_suite_t shuffle_suite;
extern const attn_suite_t sge_suite;
extern const attn_suite_t additive_suite;
extern const attn_suite_t luong_suite;
extern const attn_suite_t aft_suite;

const attn_suite_t *const attn_suites[] = {
    &mhsa_suite,
    &halo_suite,
    &outlook_suite,
    &emsa_suite,
    &aaconv_suite,
    &shuffle_suite,
    &sge_suite,
    &additive_suite,
    &luong_suite,
    &aft_suite,
    NULL,
};
