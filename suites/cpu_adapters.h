/* The CPU side of a suite whose reference and CPU f32 pass take its (shape, inputs) structs:
 * ATTN_CPU_ADAPTERS(P) defines the suite's reference() callback and run_cpu_f32, the cpu-f32
 * row's run, over
 *     void P_ref(const P_shape_t *, const P_inputs_t *, double *out, const uint8_t *row_sel);
 *     void P_cpu_f32(const P_shape_t *, const P_inputs_t *, float *out);
 * given the suite's own static P_shape_t shape_of(const int64_t *v) and
 * P_inputs_t inputs_of(const void *const *in). */
#ifndef ATTN_CPU_ADAPTERS_H
#define ATTN_CPU_ADAPTERS_H

#define ATTN_CPU_ADAPTERS(P)                                                                     \
    static void reference(const attn_suite_t *suite, const int64_t *v, const void *const *in,  \
                          double *out, const uint8_t *sel)                                       \
    {                                                                                            \
        const P##_shape_t s = shape_of(v);                                                       \
        const P##_inputs_t t = inputs_of(in);                                                    \
        P##_ref(&s, &t, out, sel);                                                               \
    }                                                                                            \
    static int run_cpu_f32(const attn_suite_t *suite, const attn_variant_t *var,                \
                           const int64_t *v, const void *const *in, void *out, void *ws,        \
                           void *st)                                                             \
    {                                                                                            \
        const P##_shape_t s = shape_of(v);                                                       \
        const P##_inputs_t t = inputs_of(in);                                                    \
        P##_cpu_f32(&s, &t, out);                                                                \
        return 0;                                                                                \
    }

#endif
