#include "registry.h"

#include <string.h>

const char *attn_dtype_name(attn_dtype_t t)
{
    switch (t) {
    case ATTN_F64: return "f64";
    case ATTN_F32: return "f32";
    case ATTN_BF16: return "bf16";
    case ATTN_F16: return "f16";
    }
    return "?";
}

const char *attn_backend_name(attn_backend_t b) { return b == ATTN_GPU ? "gpu" : "cpu"; }

int attn_dtype_size(attn_dtype_t t) { return t == ATTN_F64 ? 8 : t == ATTN_F32 ? 4 : 2; }

const attn_suite_t *attn_suite_named(const char *name)
{
    for (int i = 0; attn_suites[i]; i++)
        if (!strcmp(attn_suites[i]->name, name)) return attn_suites[i];
    return NULL;
}

int attn_axis_index(const attn_suite_t *s, const char *name)
{
    for (int i = 0; i < s->naxes; i++)
        if (strcmp(s->axes[i].name, name) == 0) return i;
    return -1;
}

int64_t attn_tensor_numel(const attn_tensor_t *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->shape[i];
    return n;
}

int attn_nout(const attn_layout_t *L) { return 1 + L->nxout; }

int attn_variant_nout(const attn_layout_t *L, const attn_variant_t *x)
{
    return x->outputs > 0 && x->outputs < attn_nout(L) ? x->outputs : attn_nout(L);
}

const attn_tensor_t *attn_out_tensor(const attn_layout_t *L, int i)
{
    return i ? &L->xout[i - 1] : &L->out;
}

/* Each output starts at a multiple of 128 elements: 256 bytes and more for every dtype, so a
 * further output's device pointer is as aligned as cudaMalloc's, and its place in elements is
 * the same whatever the dtype (a launcher finds it from the first output's pointer). */
int64_t attn_out_elem(const attn_layout_t *L, int i)
{
    int64_t at = 0;
    for (int k = 0; k < i; k++) at += (attn_tensor_numel(attn_out_tensor(L, k)) + 127) / 128 * 128;
    return at;
}

size_t attn_out_offset(const attn_layout_t *L, int i, size_t esize)
{
    return (size_t)attn_out_elem(L, i) * esize;
}

size_t attn_out_bytes(const attn_layout_t *L, size_t esize)
{
    const int n = attn_nout(L);
    return (size_t)(attn_out_elem(L, n - 1) + attn_tensor_numel(attn_out_tensor(L, n - 1))) *
           esize;
}

int attn_run_reference(const attn_suite_t *s, const attn_variant_t *x, const int64_t *v,
                       const void *const *in, void *out, void *ws, void *stream)
{
    (void)x, (void)ws, (void)stream;
    s->reference(s, v, in, out, NULL);
    return 0;
}
