/* One GPU adapter per suite. Every GPU row of a suite runs through gpu_run, gpu_workspace and
 * gpu_supports below; the row's ctx, filled by GPU(launch, workspace, supports), names its
 * launchers. The including suite defines ATTN_PROBLEM_T and ATTN_TENSORS_T (its kernels' typed
 * problem and tensors) and, before including this header,
 *     static ATTN_PROBLEM_T problem_of(const attn_suite_t *s, const int64_t *v,
 *                                      const void *const *in);     (in is NULL for ws/supports)
 *     static ATTN_TENSORS_T tensors_of(const attn_suite_t *s, const int64_t *v,
 *                                      const void *const *in, void *out);
 * Launchers have the kernels' common form (kernels/common/attn_kernel.h):
 *     int         <fn>(const P *p, const T *t, void *ws, attn_stream_t stream)
 *     size_t      <fn>(const P *p)          workspace bytes (NULL: none)
 *     const char *<fn>(const P *p)          NULL, or why p is not supported (NULL: every case)
 * Without CUDA, GPU(...) marks the row unavailable. */
#ifndef ATTN_GPU_ADAPTERS_H
#define ATTN_GPU_ADAPTERS_H

#ifdef ATTN_HAVE_CUDA
typedef struct gpu_fns {
    int (*launch)(const ATTN_PROBLEM_T *p, const ATTN_TENSORS_T *t, void *ws, attn_stream_t st);
    size_t (*workspace)(const ATTN_PROBLEM_T *p);
    const char *(*supports)(const ATTN_PROBLEM_T *p);
} gpu_fns_t;

static int gpu_run(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v,
                   const void *const *in, void *out, void *ws, void *stream)
{
    const gpu_fns_t *f = x->ctx;
    const ATTN_PROBLEM_T p = problem_of(s, v, in);
    const ATTN_TENSORS_T t = tensors_of(s, v, in, out);
    return f->launch(&p, &t, ws, (attn_stream_t)stream);
}

static size_t gpu_workspace(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v)
{
    const gpu_fns_t *f = x->ctx;
    const ATTN_PROBLEM_T p = problem_of(s, v, NULL);
    return f->workspace ? f->workspace(&p) : 0;
}

static const char *gpu_supports(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v)
{
    const gpu_fns_t *f = x->ctx;
    const ATTN_PROBLEM_T p = problem_of(s, v, NULL);
    return f->supports ? f->supports(&p) : NULL;
}

#define GPU(launch_, ws_, supports_)                                                            \
    .run = gpu_run, .workspace = gpu_workspace, .supports = gpu_supports,                       \
    .error_string = attn_kernel_strerror, .ctx = &(const gpu_fns_t){launch_, ws_, supports_}
#else
#define GPU(launch_, ws_, supports_) .available = "built without CUDA"
#endif

#endif
