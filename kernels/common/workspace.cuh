/* A launcher's workspace, and the checks every launcher makes before it touches it.
 *
 *   attn_align256     n rounded up to a multiple of 256
 *   attn_ws_t         a bump allocator over the workspace: regions are taken in a fixed order, each
 *                     256-byte aligned; a workspace-size function runs the same takes on a NULL
 *                     base (which only counts), so the byte count and the layout cannot disagree
 *   attn_ws_take      the next region of `bytes` (NULL when counting)
 *   attn_ws_check     ws present (cudaErrorInvalidValue) and 256-byte aligned, as cudaMalloc's is
 *                     (cudaErrorMisalignedAddress); names `who` on stderr when it fails
 *   attn_launch_check attn_refuse(why, who) (launch.cuh: a problem refused when `why` is not
 *                     NULL), then attn_ws_check */
#ifndef ATTN_WORKSPACE_CUH
#define ATTN_WORKSPACE_CUH

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cuda_runtime.h>

#include "launch.cuh"

static inline size_t attn_align256(size_t n) { return (n + 255) & ~(size_t)255; }

typedef struct attn_ws {
    char *base;  /* NULL: only count */
    size_t used; /* bytes taken so far */
} attn_ws_t;

/* The next region of `bytes` (NULL when counting). The base must be 256-byte aligned. */
static inline void *attn_ws_take(attn_ws_t *w, size_t bytes)
{
    void *ptr = w->base ? (void *)(w->base + w->used) : NULL;
    w->used += attn_align256(bytes);
    return ptr;
}

static inline int attn_ws_check(const void *ws, const char *who)
{
    if (ws == NULL) {
        std::fprintf(stderr, "%s: workspace is NULL\n", who);
        return (int)cudaErrorInvalidValue;
    }
    if ((uintptr_t)ws & 255) {
        std::fprintf(stderr, "%s: workspace must be 256-byte aligned\n", who);
        return (int)cudaErrorMisalignedAddress;
    }
    return 0;
}

static inline int attn_launch_check(const char *why, const void *ws, const char *who)
{
    if (int e = attn_refuse(why, who)) return e;
    return attn_ws_check(ws, who);
}

#endif
