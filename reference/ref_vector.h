/* VECTOR_CLONES: compile a function for AVX-512, AVX2 and baseline x86-64 and pick one at run
 * time (GCC/clang target_clones); nothing elsewhere. The references stay bit-identical across
 * clones because they are built in ISO C mode (no contraction to FMA) and keep their order of
 * operations. */
#ifndef ATTN_REF_VECTOR_H
#define ATTN_REF_VECTOR_H

#if defined(__x86_64__) && defined(__GNUC__) && defined(__has_attribute)
#if __has_attribute(target_clones)
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef VECTOR_CLONES
#define VECTOR_CLONES
#endif

#endif
