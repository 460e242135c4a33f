/* The "reference" variant of a suite: its own reference() on every row (no row selection),
 * timed like any CPU variant. Expand ATTN_RUN_REFERENCE after the suite's static
 * reference(v, in, out, sel); the variant row then names .run = run_reference. */
#ifndef ATTN_REFERENCE_VARIANT_H
#define ATTN_REFERENCE_VARIANT_H

#define ATTN_RUN_REFERENCE                                                                       \
    static int run_reference(const int64_t *v, const void *const *in, void *out, void *ws,     \
                             void *st)                                                           \
    {                                                                                            \
        (void)ws, (void)st;                                                                      \
        reference(v, in, out, NULL);                                                             \
        return 0;                                                                                \
    }

#endif
