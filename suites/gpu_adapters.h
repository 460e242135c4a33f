/* Adapters from the registry's generic variant signatures (bench/registry.h) to launchers of
 * the common typed form
 *     int         <fn>(const P *p, const T *t, void *ws, attn_stream_t stream)
 *     size_t      <fn>(const P *p)          (workspace bytes)
 *     const char *<fn>(const P *p)          (supports: NULL or why not)
 * GPU_RUN(fn), GPU_WS(fn) and GPU_SUPPORTS(fn) define run_<fn>, ws_<fn> and sup_<fn>; the
 * including suite defines ATTN_PROBLEM_T (P), ATTN_TENSORS_T (T), problem_of(v) and
 * tensors_of(in, out) before using them. GPU(run, ws, supports) fills a variant row: the
 * adapters in a CUDA build, the reason it cannot run otherwise. */
#ifndef ATTN_GPU_ADAPTERS_H
#define ATTN_GPU_ADAPTERS_H

#define GPU_RUN(fn)                                                                              \
    static int run_##fn(const int64_t *v, const void *const *in, void *out, void *ws, void *st) \
    {                                                                                            \
        const ATTN_PROBLEM_T p = problem_of(v);                                                  \
        const ATTN_TENSORS_T t = tensors_of(in, out);                                            \
        return fn(&p, &t, ws, (attn_stream_t)st);                                                \
    }
#define GPU_WS(fn)                                                                               \
    static size_t ws_##fn(const int64_t *v)                                                      \
    {                                                                                            \
        const ATTN_PROBLEM_T p = problem_of(v);                                                  \
        return fn(&p);                                                                           \
    }
#define GPU_SUPPORTS(fn)                                                                         \
    static const char *sup_##fn(const int64_t *v)                                                \
    {                                                                                            \
        const ATTN_PROBLEM_T p = problem_of(v);                                                  \
        return fn(&p);                                                                           \
    }

#ifdef ATTN_HAVE_CUDA
#define GPU(r_, w_, s_) .run = r_, .workspace = w_, .supports = s_, \
                        .error_string = attn_kernel_strerror
#else
#define GPU(r_, w_, s_) .available = "built without CUDA"
#endif

#endif
